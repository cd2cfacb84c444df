/**
 * The one way a holder file is taken (lock.ts's sweep.lock, owner.ts's run.lease): the holder's
 * record is written whole to a temporary file and hard-linked to its name, so taking it is atomic
 * (link fails when the name exists) and it is never half-written. A holder its owner judges gone
 * is taken over: its file is moved aside, checked to be the very one judged (a taker that came in
 * between is put back and wins), and removed; then the link is tried again. A live holder, or
 * one still standing after three takeovers, is the caller's error.
 */
import * as fs from 'node:fs';
import { FileError, MAX_BYTES, readRegularText } from '../io/files.js';
import { ioErrorMessage, RunIoError } from './errors.js';

/** What a holder file says: its record, or null when it is there but cannot be read as one (torn, not JSON). */
export type Held<T> = T | null;

export interface TakeRules<T> {
  /** The holder file's record; null when unreadable; undefined when there is no file (released just now). */
  read(file: string): Held<T> | undefined;
  /** Why the holder is taken for gone (it is then taken over), or null when it stands. */
  goneWhy(held: Held<T>): string | null;
  /** Whether two readings are the same holder. */
  same(a: Held<T>, b: Held<T>): boolean;
  /** The error for a holder that stands. */
  standing(held: Held<T>): Error;
  /** A takeover, said: `why` is goneWhy's words. */
  note(why: string): void;
}

/**
 * A holder file's JSON (bounded, regular files only): undefined when there is none, null when it
 * is not JSON (torn). Anything else there (a folder, a FIFO, a device, a link to one, a huge file)
 * is a RunIoError saying to remove it: it is no holder, and taking it over would delete it.
 */
export function readHolderJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = readRegularText(file, MAX_BYTES.runJson, what);
  } catch (e) {
    if ((e as FileError).code === 'ENOENT') return undefined;
    throw new RunIoError(`${(e as Error).message}: remove it, then run again`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Takeovers (and files that vanish between link and read) before a holder is said to stand. */
const ATTEMPTS = 3;

/** Make `file` hold `record` as JSON (written first to `tmp`), taking over a gone holder by `rules`. */
export function takeExclusive<T>(file: string, tmp: string, record: object, rules: TakeRules<T>): void {
  try {
    fs.writeFileSync(tmp, JSON.stringify(record) + '\n');
  } catch (e) {
    throw new RunIoError(ioErrorMessage('write', tmp, e));
  }
  try {
    for (let attempt = 0; ; attempt++) {
      if (linked(tmp, file)) return;
      const held = rules.read(file);
      if (held === undefined && attempt < ATTEMPTS) continue;
      const why = held === undefined ? null : rules.goneWhy(held);
      if (why === null || attempt >= ATTEMPTS) throw rules.standing(held ?? null);
      if (moveAsideIfSame(file, `${tmp}.aside`, held, rules)) rules.note(why);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Whether linking `tmp` to `file` made it (false: the name exists). */
function linked(tmp: string, file: string): boolean {
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new RunIoError(ioErrorMessage('create', file, e));
  }
}

/** Remove holder file `file` if it is still the holder `judged` (true); a different one is put back (false). */
function moveAsideIfSame<T>(file: string, aside: string, judged: Held<T>, rules: TakeRules<T>): boolean {
  try {
    fs.renameSync(file, aside);
  } catch {
    return false; // gone already: try again
  }
  const moved = rules.read(aside);
  if (moved !== undefined && rules.same(moved, judged)) {
    fs.rmSync(aside, { force: true });
    return true;
  }
  try {
    fs.linkSync(aside, file);
  } catch {
    /* a third taker holds it now */
  }
  fs.rmSync(aside, { force: true });
  return false;
}
