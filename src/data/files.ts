/**
 * Opening a data file without trusting it: it must be a regular file (not a folder, a FIFO, a
 * device such as /dev/zero behind a symlink, or a socket), and no larger than the dataset can
 * be. The file is opened with O_NONBLOCK, so even a FIFO put there between the check and the
 * open cannot hang the open, and it is checked again on the open descriptor (fstat).
 */
import * as fs from 'node:fs';
import { DataError } from './errors.js';

/** What a non-regular file is, in words. */
function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Open `file` for reading if it is a regular file of at most `maxBytes` bytes; `what` says what
 * it should be ("an IDX file", "a CIFAR-10 batch file") for the message. The caller closes `fd`.
 */
export function openRegularFile(file: string, maxBytes: number, what: string): { fd: number; size: number } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new DataError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new DataError(`${file} is ${kindOf(st)}, not a regular file; it should be ${what}`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new DataError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const now = fs.fstatSync(fd);
    if (!now.isFile()) throw new DataError(`${file} is ${kindOf(now)}, not a regular file; it should be ${what}`);
    if (now.size > maxBytes) {
      throw new DataError(`${file} has ${now.size} bytes, more than ${what} can have (at most ${maxBytes}); it is not what it claims to be`);
    }
    return { fd, size: now.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The whole of a regular file of at most `maxBytes` bytes (see openRegularFile). */
export function readRegularFile(file: string, maxBytes: number, what: string): Buffer {
  const { fd, size } = openRegularFile(file, maxBytes, what);
  try {
    // Read at most one byte past the size fstat gave, so a file that grows meanwhile is noticed, not followed.
    const buf = Buffer.alloc(size + 1);
    let at = 0;
    let n: number;
    while (at < buf.length && (n = fs.readSync(fd, buf, at, buf.length - at, at)) > 0) at += n;
    if (at > size) throw new DataError(`${file} grew while it was read; read it again when nothing is writing to it`);
    return buf.subarray(0, at);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot read ${file}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
}
