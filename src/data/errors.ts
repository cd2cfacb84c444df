/**
 * A dataset that is missing, truncated or not what it claims to be. The message names the file,
 * what was expected, what was found, and what to do about it.
 */
export class DataError extends Error {
  override name = 'DataError';
}
