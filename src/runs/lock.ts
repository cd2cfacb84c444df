/**
 * One sweep folder, one running sweep. Two copies of a sweep in the same folder would clear and
 * train the same trial folders at once, so a sweep holds <sweep folder>/sweep.lock while it runs:
 * a small JSON file {pid, host, started}, made whole in a temporary file and then hard-linked to
 * its name (exclusive.ts), so taking it is atomic and it is never half-written.
 *
 * A lock whose pid is no longer running on this host was left by a killed sweep (SIGKILL, Ctrl-C,
 * a crash) and is taken over with a note. A lock from another host cannot be checked: it stands,
 * and the message says how to remove it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { tempFileOf } from './atomic.js';
import { RunIoError } from './errors.js';
import { readHolderJson, takeExclusive } from './exclusive.js';
import { isAlive } from '../io/process.js';
import { sweepFile } from './layout.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/** The holder of a sweep folder's lock, or null when there is none (or it cannot be read). */
export function readSweepLock(sweepDir: string): LockInfo | null {
  try {
    return readLock(sweepFile(sweepDir, 'lock')) ?? null;
  } catch {
    return null;
  }
}

/** The lock's holder; null when it is not one (torn), undefined when there is none. */
function readLock(file: string): LockInfo | null | undefined {
  const v = readHolderJson(file, 'a sweep lock') as LockInfo | null | undefined;
  if (v === undefined) return undefined;
  return v !== null && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string' ? v : null;
}

const sameLock = (a: LockInfo | null, b: LockInfo | null) => a !== null && b !== null && a.pid === b.pid && a.host === b.host && a.started === b.started;

/**
 * Take the sweep folder's lock, or throw a RunIoError saying which process holds it and where.
 * `note` receives the line about a stale lock taken over. `gone`, when given, is a holder known
 * to be gone by other means (a queue coordinator on another host whose heartbeat in Redis
 * expired, queue.ts): its lock is taken over too, and no other.
 */
export function acquireSweepLock(sweepDir: string, name: string, note: (line: string) => void, gone?: LockInfo): { release(): void } {
  const file = sweepFile(sweepDir, 'lock');
  const me: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const stale = (l: LockInfo | null) => l !== null && ((l.host === os.hostname() && !isAlive(l.pid)) || (gone !== undefined && sameLock(l, gone)));
  takeExclusive(file, tempFileOf(file), me, {
    read: readLock,
    goneWhy: (l) => (stale(l) ? `left by process ${l!.pid}${l!.host === os.hostname() ? '' : ` on host ${l!.host}`} (started ${l!.started}), which is no longer running` : null),
    same: sameLock,
    standing: (l) => alreadyRunning(name, sweepDir, file, l),
    note: (why) => note(`note: took over ${file}, ${why}`),
  });
  return {
    release() {
      try {
        if (sameLock(readLock(file) ?? null, me)) fs.rmSync(file, { force: true });
      } catch {
        /* a lock left behind is taken over next time (its pid is gone) */
      }
    },
  };
}

function alreadyRunning(name: string, sweepDir: string, file: string, held: LockInfo | null): RunIoError {
  const who = held ? `process ${held.pid} on ${held.host === os.hostname() ? 'this host' : `host ${held.host}`}, started ${held.started}` : 'a process whose lock file cannot be read';
  return new RunIoError(`sweep ${name} is already running in ${sweepDir} (${who}); wait for it to finish, or if it is not running, delete ${file}`);
}
