/**
 * Opening a data file without trusting it, for the dataset readers: io/files.ts's safe reader
 * (regular files only, O_NONBLOCK, a size bound), with its refusals as DataErrors.
 */
import { FileError, openRegularFile as openIo, readRegularFile as readIo } from '../io/files.js';
import { DataError } from './errors.js';

export { kindOf } from '../io/files.js';

/** Run `f`, turning a FileError into a DataError of the same message. */
function asDataError<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FileError) throw new DataError(e.message);
    throw e;
  }
}

/**
 * Open `file` for reading if it is a regular file of at most `maxBytes` bytes; `what` says what
 * it should be ("an IDX file", "a CIFAR-10 batch file") for the message. The caller closes `fd`.
 */
export function openRegularFile(file: string, maxBytes: number, what: string): { fd: number; size: number } {
  return asDataError(() => openIo(file, maxBytes, what));
}

/** The whole of a regular file of at most `maxBytes` bytes (see openRegularFile). */
export function readRegularFile(file: string, maxBytes: number, what: string): Buffer {
  return asDataError(() => readIo(file, maxBytes, what));
}
