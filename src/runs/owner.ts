/**
 * One writer per run folder. Whoever starts or resumes a run (train/run.ts runTraining: the CLI,
 * the library, a local sweep's trial, a queue worker's trial) first takes the folder's lease,
 * <run folder>/run.lease: a small JSON file {pid, host, token, claim, started}, made whole in a
 * temporary file and hard-linked to its name, so taking it is atomic (link fails when the name
 * exists) and it is never half-written. The holder renews it (the file's mtime) every RENEW_MS,
 * and at every write it checks; it removes it when the run ends.
 *
 * Every write of a run folder's files goes through checkRunWrite (atomic.ts writeFileAtomic for
 * the checkpoints, config, summary and report; jsonl.ts for metrics.jsonl): in the thread that
 * holds the folder, the lease must still be its own (same token), or the write is refused with
 * RunFolderLostError and the run stops without writing; anywhere else, a folder whose lease has a
 * live holder is refused with RunFolderHeldError, naming the process and host.
 *
 * A lease is taken over when its holder is gone: on this host, its pid no longer runs; on another
 * host, it was not renewed for LEASE_MS. A live holder is taken over only by a taker with the same
 * claim: a queue worker that BullMQ has handed the trial's job (the holder's job lock expired, so
 * the holder no longer has the job, whatever it believes); the holder then finds on its next write
 * that it no longer holds the folder, and stops.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isAlive } from '../io/process.js';
import { RunIoError } from './errors.js';
import { readHolderJson, takeExclusive } from './exclusive.js';
import { runFile } from './layout.js';

/** A lease not renewed for this long, held on another host, is taken for dead. */
export const LEASE_MS = 60_000;
/** How often a holder renews its lease (while its event loop turns, and at every write). */
const RENEW_MS = 10_000;

interface LeaseInfo {
  pid: number;
  host: string;
  token: string;
  /** What the holder holds the folder for (a queue job's id): a taker with the same claim supersedes it. */
  claim: string | null;
  started: string;
}

/** Another process holds the folder: a second writer is refused. */
export class RunFolderHeldError extends RunIoError {}

/** This process held the folder, and another has taken it over: it stops without writing. */
export class RunFolderLostError extends RunIoError {}

/** The leases this thread holds, by resolved folder. */
const held = new Map<string, Lease>();

/** The lease file's holder and when it was last renewed; info null when it is torn; null when there is none. */
function readLease(file: string): { info: LeaseInfo | null; mtimeMs: number } | null {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
  const v = readHolderJson(file, 'a run folder lease') as LeaseInfo | null | undefined;
  if (v === undefined) return null;
  const ok = v !== null && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string' && typeof v.token === 'string';
  return { info: ok ? v : null, mtimeMs };
}

/** The lease's holder, or null when there is none or it cannot be read (for letting go, which must not throw). */
function leaseHolder(file: string): LeaseInfo | null {
  try {
    return readLease(file)?.info ?? null;
  } catch {
    return null;
  }
}

/** Why the holder is taken for gone, or null when it may still be writing. */
function goneWhy(l: { info: LeaseInfo | null; mtimeMs: number }): string | null {
  if (!l.info) return 'a lease file that cannot be read';
  const { pid, host } = l.info;
  if (host === os.hostname()) return isAlive(pid) ? null : `process ${pid}, which is no longer running`;
  const idle = Date.now() - l.mtimeMs;
  return idle > LEASE_MS ? `process ${pid} on host ${host}, whose lease was last renewed ${Math.round(idle / 1000)} s ago` : null;
}

function holderOf(l: LeaseInfo): string {
  const where = l.host === os.hostname() ? 'this host' : `host ${l.host}`;
  return `process ${l.pid} on ${where}${l.claim ? ` (${l.claim})` : ''}, since ${l.started}`;
}

function heldError(dir: string, l: LeaseInfo, mtimeMs: number): RunFolderHeldError {
  const expiry =
    l.host === os.hostname()
      ? 'stop it, or wait for it to end'
      : `wait for it to end; if that host is gone, its lease expires ${Math.round(LEASE_MS / 1000)} s after its last renewal (${Math.round((Date.now() - mtimeMs) / 1000)} s ago)`;
  return new RunFolderHeldError(`${dir} is being written by ${holderOf(l)}: one process writes a run folder at a time; ${expiry}`);
}

/** A folder this thread holds. */
export class Lease {
  private timer: NodeJS.Timeout;
  private renewed = Date.now();
  lost: string | null = null;

  constructor(
    readonly dir: string,
    private readonly me: LeaseInfo,
  ) {
    this.timer = setInterval(() => {
      try {
        this.check();
      } catch {
        /* the next write says it */
      }
    }, RENEW_MS);
    this.timer.unref();
  }

  private get file(): string {
    return runFile(this.dir, 'lease');
  }

  /** Throws RunFolderLostError unless the folder's lease is still this one; renews it when due. */
  check(): void {
    if (this.lost === null) {
      const now = readLease(this.file)?.info ?? null;
      if (now?.token !== this.me.token) this.lost = now ? `${holderOf(now)} took it over` : 'its lease was removed';
    }
    if (this.lost !== null) {
      clearInterval(this.timer); // still this thread's entry, so every later write says why, until release
      throw new RunFolderLostError(`stopped writing ${this.dir}: this process no longer holds it (${this.lost}); nothing more is written there`);
    }
    if (Date.now() - this.renewed >= RENEW_MS) {
      this.renewed = Date.now();
      try {
        const t = new Date();
        fs.utimesSync(this.file, t, t); // should a taker have replaced it just now, this renews the taker's: harmless
      } catch {
        /* checked again at the next write */
      }
    }
  }

  /** The run is over: the lease file goes (when it is still this one), and the folder is free. */
  release(): void {
    clearInterval(this.timer);
    if (held.get(path.resolve(this.dir)) === this) held.delete(path.resolve(this.dir));
    if (leaseHolder(this.file)?.token === this.me.token) fs.rmSync(this.file, { force: true });
  }
}

/**
 * Take run folder `dir` (it exists) for this thread, or throw RunFolderHeldError naming its live
 * holder. A holder that is gone, or (with `claim`) one that held it for the same claim, is taken
 * over, with a line to `note`. `clear`: the folder then loses everything but the lease (a start
 * afresh of a folder that holds no results).
 */
export function takeRunFolder(dir: string, opts: { claim?: string; clear?: boolean; note?: (line: string) => void } = {}): Lease {
  const file = runFile(dir, 'lease');
  const me: LeaseInfo = { pid: process.pid, host: os.hostname(), token: randomUUID(), claim: opts.claim ?? null, started: new Date().toISOString() };
  const sameClaim = (l: LeaseInfo | null): l is LeaseInfo => opts.claim !== undefined && l?.claim === opts.claim;
  takeExclusive(file, path.join(dir, `.${path.basename(file)}.${me.token}.tmp`), me, {
    read: (f) => readLease(f) ?? undefined,
    goneWhy: (l) => (l === null ? null : (goneWhy(l) ?? (sameClaim(l.info) ? `${holderOf(l.info)}, whose ${opts.claim} this process has now` : null))),
    same: (a, b) => a?.info?.token === b?.info?.token,
    standing: (l) => (l?.info ? heldError(dir, l.info, l.mtimeMs) : new RunFolderHeldError(`${dir}: its lease file cannot be read; if no run is writing there, delete ${file}`)),
    note: (why) => opts.note?.(`note: took over ${dir} from ${why}`),
  });
  const lease = new Lease(dir, me);
  held.set(path.resolve(dir), lease);
  if (opts.clear) clearRunFolder(dir, lease);
  return lease;
}

/** Empty a held folder that holds no results (no summary, no checkpoint), keeping its lease. */
function clearRunFolder(dir: string, lease: Lease): void {
  if (fs.existsSync(runFile(dir, 'summary')) || fs.existsSync(runFile(dir, 'last'))) {
    lease.release();
    throw new RunIoError(`${dir} changed while the trial was starting (it now holds results); it is left as it is: run the sweep again`);
  }
  for (const name of fs.readdirSync(dir)) if (path.join(dir, name) !== runFile(dir, 'lease')) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

/**
 * Let go of `dir` for this process, whichever of its threads held it (a training thread that
 * crashed, or one told to stop because its job was lost): the lease goes if this process holds it.
 */
export function dropRunFolder(dir: string): void {
  const l = leaseHolder(runFile(dir, 'lease'));
  if (l && l.pid === process.pid && l.host === os.hostname()) fs.rmSync(runFile(dir, 'lease'), { force: true });
}

/**
 * The check before any write of `file`: in a folder this thread holds, the lease must still be
 * its own (else RunFolderLostError); in a folder held by a live process, none (RunFolderHeldError).
 */
export function checkRunWrite(file: string): void {
  const dir = path.dirname(file);
  const mine = held.get(path.resolve(dir));
  if (mine) return mine.check();
  const l = readLease(runFile(dir, 'lease'));
  if (l?.info && goneWhy(l) === null) throw heldError(dir, l.info, l.mtimeMs);
}
