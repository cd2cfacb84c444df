/**
 * A dataset that is missing, truncated or not what it claims to be. The message names the file,
 * what was expected, what was found, and what to do about it.
 */
export class DataError extends Error {
  override name = 'DataError';
}

/** The signals that stop a download or an unpack (which then removes what it wrote): Ctrl-C, SIGTERM, a closed terminal. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Work on data (a download, an unpack) stopped by a signal, after removing what it had written; the CLI exits 128+signal. */
export class StoppedBySignal extends DataError {
  constructor(
    message: string,
    readonly signal: NodeJS.Signals,
  ) {
    super(message);
  }
}
