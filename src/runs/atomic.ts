/**
 * Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
 * target, fsync the folder. A run that dies mid-write leaves the previous file intact, never a
 * half-written one. A target that is not a regular file (a device such as /dev/null, a FIFO, a
 * folder) is refused, never replaced by one. Write failures become a RunIoError that names the
 * file and what to do; its hints name the flag that chose the path (--runs-dir unless told).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kindOf } from '../io/files.js';
import { ioErrorMessage, RunIoError } from './errors.js';
import { checkRunWrite } from './owner.js';

export { RunIoError };

/** The temporary file an atomic write of `file` goes through: beside it, hidden, named by the writing process. */
export function tempFileOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
}

/** Whether a file name is such a temporary file (one a kill during an atomic write left behind). */
export function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/**
 * Refuse to write over `file` when it is there and not a regular file (a device, a FIFO, a
 * socket, a folder; a symbolic link is followed): a rename would put a regular file in its place,
 * and as root destroy /dev/null. Nothing is written to it either.
 */
export function checkWritableTarget(file: string, flag = '--runs-dir'): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // not there (or a dangling link): the write says what is wrong
  }
  if (!st.isFile()) throw new RunIoError(`cannot write ${file}: it is ${kindOf(st)}, not a regular file, so it is left alone. Pass ${flag} a path to a new or regular file`);
}

/**
 * Write `data` to `file` atomically (temp file, fsync, rename, fsync folder); `flag` names the
 * option that chose the path, for the hints. `sync: false` leaves out both fsyncs: the write is
 * still whole or absent for any reader and after any process's death, but a crash of the machine
 * may lose it; only for a file rebuilt from others (a sweep's results.json while it runs).
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, flag = '--runs-dir', opts: { sync?: boolean } = {}): void {
  const sync = opts.sync ?? true;
  checkWritableTarget(file, flag);
  checkRunWrite(file); // a run folder is written by the process that holds it (owner.ts)
  const dir = path.dirname(file);
  const tmp = tempFileOf(file);
  let fd: number | null = null;
  try {
    // O_NONBLOCK: a FIFO put at the temporary name fails at once (ENXIO) instead of blocking the open.
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NONBLOCK, 0o666);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    if (sync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    checkWritableTarget(file, flag);
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      /* best effort */
    }
    if (err instanceof RunIoError) throw err;
    throw new RunIoError(ioErrorMessage('write', file, err, flag));
  }
  if (sync) fsyncDir(dir);
}

/** fsync a folder so a rename in it is durable; ignored where folders cannot be opened. */
function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    /* some file systems refuse fsync on folders; the rename itself is still atomic */
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** JSON with a trailing newline, written atomically. */
export function writeJsonAtomic(file: string, value: unknown, opts: { sync?: boolean } = {}): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n', '--runs-dir', opts);
}
