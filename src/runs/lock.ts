/**
 * One sweep folder, one running sweep. Two copies of a sweep in the same folder would clear and
 * train the same trial folders at once, so a sweep holds <sweep folder>/sweep.lock while it runs:
 * a small JSON file {pid, host, started}, made whole in a temporary file and then hard-linked to
 * its name, so taking it is atomic (link fails when the name exists) and it is never half-written.
 *
 * A lock whose pid is no longer running on this host was left by a killed sweep (SIGKILL, Ctrl-C,
 * a crash) and is taken over with a note. A lock from another host cannot be checked: it stands,
 * and the message says how to remove it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { tempFileOf } from './atomic.js';
import { ioErrorMessage, RunIoError } from './errors.js';
import { isAlive } from '../io/process.js';
import { sweepFile } from './layout.js';
import { readJsonOrNull } from './read.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

/** The holder of a sweep folder's lock, or null when there is none (or it cannot be read). */
export function readSweepLock(sweepDir: string): LockInfo | null {
  return readLock(sweepFile(sweepDir, 'lock'));
}

function readLock(file: string): LockInfo | null {
  const v = readJsonOrNull(file) as LockInfo | null;
  return v !== null && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string' ? v : null;
}

/**
 * Take the sweep folder's lock, or throw a RunIoError saying which process holds it and where.
 * `note` receives the line about a stale lock taken over. `gone`, when given, is a holder known
 * to be gone by other means (a queue coordinator on another host whose heartbeat in Redis
 * expired, queue.ts): its lock is taken over too, and no other.
 */
export function acquireSweepLock(sweepDir: string, name: string, note: (line: string) => void, gone?: LockInfo): { release(): void } {
  const isStale = (l: LockInfo) => (l.host === os.hostname() && !isAlive(l.pid)) || (gone !== undefined && l.pid === gone.pid && l.host === gone.host && l.started === gone.started);
  const file = sweepFile(sweepDir, 'lock');
  const me: LockInfo = { pid: process.pid, host: os.hostname(), started: new Date().toISOString() };
  const tmp = tempFileOf(file);
  try {
    fs.writeFileSync(tmp, JSON.stringify(me) + '\n');
  } catch (e) {
    throw new RunIoError(ioErrorMessage('write the lock file', tmp, e));
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RunIoError(ioErrorMessage('create the lock file', file, e));
      }
      const held = readLock(file);
      if (held && isStale(held) && attempt < 3) {
        // Move the stale lock aside first, then check that what moved is the stale one: a copy
        // that took it over in between is put back and wins.
        const aside = `${file}.stale-${process.pid}`;
        try {
          fs.renameSync(file, aside);
        } catch {
          continue; // gone already: try again
        }
        const moved = readLock(aside);
        if (moved && isStale(moved)) {
          fs.rmSync(aside, { force: true });
          note(`note: took over ${file}, left by process ${moved.pid}${moved.host === os.hostname() ? '' : ` on host ${moved.host}`} (started ${moved.started}), which is no longer running`);
          continue;
        }
        try {
          fs.linkSync(aside, file);
        } catch {
          /* a third copy holds it now */
        }
        fs.rmSync(aside, { force: true });
        throw alreadyRunning(name, sweepDir, file, moved);
      }
      throw alreadyRunning(name, sweepDir, file, held);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return {
    release() {
      const l = readLock(file);
      try {
        if (l && l.pid === me.pid && l.host === me.host && l.started === me.started) fs.rmSync(file, { force: true });
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
