/**
 * The error of the run folder's files: a write or read that failed, said in words a user can act on
 * (ioErrorMessage). Its own module, importing nothing of the project, so that every runs/ module
 * can use it whatever order they are loaded in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class RunIoError extends Error {}

/**
 * What is actually missing when a path gives ENOENT: an empty path, a symbolic link to nowhere,
 * or the first folder on the way that does not exist.
 */
function whatIsMissing(file: string, flag: string): string {
  if (file === '') return flag === '--runs-dir' ? 'the path is empty. Give a folder name (e.g. --runs-dir runs)' : `the path is empty. Give a path (e.g. ${flag} model.onnx)`;
  const parts = path.resolve(file).split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(path.sep) || path.sep;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return p === path.resolve(file) ? `the folder ${path.dirname(p)} holds no ${path.basename(p)}` : `${p} does not exist (was it deleted or moved?)`;
    }
    if (st.isSymbolicLink() && !fs.existsSync(p)) return `${p} is a symbolic link to ${fs.readlinkSync(p)}, which does not exist. Fix or remove the link, or pass ${flag} elsewhere`;
  }
  return 'no such file or folder';
}

/** The first part of `file` that is a file where a folder is needed (ENOTDIR, EEXIST). */
function whatIsNotAFolder(file: string, flag: string): string {
  const parts = path.resolve(file).split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(path.sep);
    try {
      if (!fs.statSync(p).isDirectory()) return `${p} is a file, not a folder. Pass ${flag} ${flag === '--runs-dir' ? 'to a folder' : 'a path in a folder'}`;
    } catch {
      break;
    }
  }
  return 'a part of the path is a file, not a folder';
}

/**
 * Explain a filesystem error code in words a user can act on: what is wrong, and what to do.
 * `flag` is the option that chose the path (--runs-dir for run folders, --out for an export).
 */
export function ioErrorMessage(action: string, file: string, err: unknown, flag = '--runs-dir'): string {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const why: Record<string, () => string> = {
    ENOSPC: () => `the disk is full. Free some space, or pass ${flag} on another disk`,
    EDQUOT: () => `the disk quota is used up. Free some space, or pass ${flag} elsewhere`,
    EACCES: () => `permission denied. Make the folder writable, or pass ${flag} to a writable folder`,
    EPERM: () => `operation not permitted. Make the folder writable, or pass ${flag} to a writable folder`,
    EROFS: () => `the file system is read-only. Pass ${flag} to a writable folder`,
    ENOENT: () => whatIsMissing(file, flag),
    ENOTDIR: () => whatIsNotAFolder(file, flag),
    EEXIST: () => whatIsNotAFolder(file, flag),
    EISDIR: () => `${file} is a folder, not a file`,
  };
  const detail = why[code]?.() ?? (err instanceof Error ? err.message : String(err));
  return `cannot ${action} ${file === '' ? '""' : file}: ${detail}${code && why[code] ? ` (${code})` : ''}`;
}
