/**
 * Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
 * target, fsync the folder. A run that dies mid-write leaves the previous file intact, never a
 * half-written one. Write failures become a RunIoError that names the file and what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunIoError } from './errors.js';
import { checkRunWrite } from './owner.js';

export { RunIoError };

/**
 * What is actually missing when a path gives ENOENT: an empty path, a symbolic link to nowhere,
 * or the first folder on the way that does not exist.
 */
function whatIsMissing(file: string): string {
  if (file === '') return 'the path is empty. Give a folder name (e.g. --runs-dir runs)';
  const parts = path.resolve(file).split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(path.sep) || path.sep;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return p === path.resolve(file) ? `the folder ${path.dirname(p)} holds no ${path.basename(p)}` : `${p} does not exist (was it deleted or moved?)`;
    }
    if (st.isSymbolicLink() && !fs.existsSync(p)) return `${p} is a symbolic link to ${fs.readlinkSync(p)}, which does not exist. Fix or remove the link, or pass --runs-dir elsewhere`;
  }
  return 'no such file or folder';
}

/** The first part of `file` that is a file where a folder is needed (ENOTDIR, EEXIST). */
function whatIsNotAFolder(file: string): string {
  const parts = path.resolve(file).split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(path.sep);
    try {
      if (!fs.statSync(p).isDirectory()) return `${p} is a file, not a folder. Pass --runs-dir to a folder`;
    } catch {
      break;
    }
  }
  return 'a part of the path is a file, not a folder';
}

/** Explain a filesystem error code in words a user can act on: what is wrong, and what to do. */
export function ioErrorMessage(action: string, file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const why: Record<string, () => string> = {
    ENOSPC: () => 'the disk is full. Free some space, or pass --runs-dir on another disk',
    EDQUOT: () => 'the disk quota is used up. Free some space, or pass --runs-dir elsewhere',
    EACCES: () => 'permission denied. Make the folder writable, or pass --runs-dir to a writable folder',
    EPERM: () => 'operation not permitted. Make the folder writable, or pass --runs-dir to a writable folder',
    EROFS: () => 'the file system is read-only. Pass --runs-dir to a writable folder',
    ENOENT: () => whatIsMissing(file),
    ENOTDIR: () => whatIsNotAFolder(file),
    EEXIST: () => whatIsNotAFolder(file),
    EISDIR: () => `${file} is a folder, not a file`,
  };
  const detail = why[code]?.() ?? (err instanceof Error ? err.message : String(err));
  return `cannot ${action} ${file === '' ? '""' : file}: ${detail}${code && why[code] ? ` (${code})` : ''}`;
}

/** The temporary file an atomic write of `file` goes through: beside it, hidden, named by the writing process. */
export function tempFileOf(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
}

/** Whether a file name is such a temporary file (one a kill during an atomic write left behind). */
export function isTempFile(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/** Write `data` to `file` atomically (temp file, fsync, rename, fsync folder). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  checkRunWrite(file); // a run folder is written by the process that holds it (owner.ts)
  const dir = path.dirname(file);
  const tmp = tempFileOf(file);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w');
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
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
    throw new RunIoError(ioErrorMessage('write', file, err));
  }
  fsyncDir(dir);
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
export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}
