/**
 * Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
 * target, fsync the folder. A run that dies mid-write leaves the previous file intact, never a
 * half-written one. Write failures become a RunIoError that names the file and what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class RunIoError extends Error {}

/** Explain a filesystem error code in words a user can act on. */
export function ioErrorMessage(action: string, file: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full. Free some space, or pass --runs-dir on another disk',
    EDQUOT: 'the disk quota is used up. Free some space, or pass --runs-dir elsewhere',
    EACCES: 'permission denied. Make the folder writable, or pass --runs-dir to a writable folder',
    EPERM: 'operation not permitted. Make the folder writable, or pass --runs-dir to a writable folder',
    EROFS: 'the file system is read-only. Pass --runs-dir to a writable folder',
    ENOENT: 'the folder does not exist (was it deleted during the run?)',
  };
  const detail = why[code] ?? (err instanceof Error ? err.message : String(err));
  return `cannot ${action} ${file}: ${detail}${code && !why[code] ? '' : code ? ` (${code})` : ''}`;
}

/** Write `data` to `file` atomically (temp file, fsync, rename, fsync folder). */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
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
