/**
 * Reading a file without trusting it: the one reader every file the program reads goes through
 * (checkpoints, configs and sweep files, run-folder JSON and JSON lines, datasets, images). It
 * must be a regular file (not a folder, a FIFO, a device such as /dev/zero behind a symlink, or
 * a socket), and no larger than what it claims to be can be. The file is opened with O_NONBLOCK,
 * so even a FIFO put there between the check and the open cannot hang the open, and it is checked
 * again on the open descriptor (fstat). Nothing is read past the size fstat gave.
 *
 * The bottom layer: it imports nothing of the project, so config/, data/, runs/ and predict/ all
 * use it. Each caller turns a FileError into its own kind (ConfigError, CheckpointError,
 * DataError, ...), whose message is the FileError's.
 */
import * as fs from 'node:fs';

/**
 * A file that could not be read, or is not what it should be. `code` is the system's error code
 * (ENOENT, EACCES, EISDIR for a folder, ...) or ENOTREG (not a regular file nor a folder), EFBIG (larger than it can be), EGREW
 * (it grew while it was read).
 */
export class FileError extends Error {
  override name = 'FileError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** What a non-regular file is, in words. */
export function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Wrap a system error as a FileError naming the file. */
function osError(file: string, e: unknown): FileError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  const why: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a folder, not a file', ELOOP: 'too many symbolic links' };
  return new FileError(`cannot read ${file}: ${why[code] ?? (e as Error).message}`, code);
}

function notRegular(file: string, st: fs.Stats, what: string): FileError {
  return new FileError(`${file} is ${kindOf(st)}, not a regular file; it should be ${what}`, st.isDirectory() ? 'EISDIR' : 'ENOTREG');
}

/**
 * Open `file` for reading if it is a regular file of at most `maxBytes` bytes; `what` says what
 * it should be ("an IDX file", "a checkpoint") for the message. The caller closes `fd`.
 */
export function openRegularFile(file: string, maxBytes: number, what: string): { fd: number; size: number } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw osError(file, e);
  }
  if (!st.isFile()) throw notRegular(file, st, what);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw osError(file, e);
  }
  try {
    const now = fs.fstatSync(fd);
    if (!now.isFile()) throw notRegular(file, now, what);
    if (now.size > maxBytes) {
      throw new FileError(`${file} has ${now.size} bytes, more than ${what} can have (at most ${maxBytes}); it is not what it claims to be`, 'EFBIG');
    }
    return { fd, size: now.size };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Bytes [at, at + length) of an open file (fewer at its end). */
export function readAt(fd: number, file: string, at: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  let n: number;
  try {
    while (got < length && (n = fs.readSync(fd, buf, got, length - got, at + got)) > 0) got += n;
  } catch (e) {
    throw osError(file, e);
  }
  return buf.subarray(0, got);
}

/** The whole of a file opened by openRegularFile, of `size` bytes as fstat gave; a file that grows meanwhile is noticed, not followed. */
export function readOpened(fd: number, file: string, size: number): Buffer {
  const buf = readAt(fd, file, 0, size + 1); // one byte past the size, to notice growth
  if (buf.length > size) throw new FileError(`${file} grew while it was read; read it again when nothing is writing to it`, 'EGREW');
  return buf;
}

/** The whole of a regular file of at most `maxBytes` bytes (see openRegularFile). */
export function readRegularFile(file: string, maxBytes: number, what: string): Buffer {
  const { fd, size } = openRegularFile(file, maxBytes, what);
  try {
    return readOpened(fd, file, size);
  } finally {
    fs.closeSync(fd);
  }
}

/** The whole of a regular text file of at most `maxBytes` bytes, as UTF-8. */
export function readRegularText(file: string, maxBytes: number, what: string): string {
  return readRegularFile(file, maxBytes, what).toString('utf8');
}

/**
 * An append-only log (train.log, metrics.jsonl) as it stood when opened: its first `size` bytes,
 * as fstat gave them. A run may be appending to it meanwhile; what it adds is left for the next
 * read, and a torn last line is the caller's to skip, as after a kill.
 */
export function readLogText(file: string, maxBytes: number, what: string): string {
  const { fd, size } = openRegularFile(file, maxBytes, what);
  try {
    return readAt(fd, file, 0, size).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A kernel's text file (/proc/self/status, /sys/fs/cgroup/memory.max): these stat as empty regular
 * files, so it is read to its end, at most `maxBytes` bytes.
 */
export function readKernelText(file: string, maxBytes: number): string {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    return readAt(fd, file, 0, maxBytes).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** What one file of each kind the program reads may hold, at most: the bound each reader passes. */
export const MAX_BYTES = {
  /** A config, sweep or base file, or a run's config.json: a page of JSON a person could write. */
  config: 4 << 20,
  /** A run or sweep folder's JSON (summary.json, results.json, sweep.json, a lock): the results of many trials. */
  runJson: 64 << 20,
  /** A JSON-lines file (metrics.jsonl, train.log): the longest string V8 can hold. */
  jsonl: 0x1fffffe8,
  /** A JavaScript library inlined into the reports (Chart.js). */
  libraryScript: 16 << 20,
  /** A figure a run wrote (a PNG). */
  image: 64 << 20,
} as const;
