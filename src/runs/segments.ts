/**
 * The segments of a run: every process that trained in its folder (the first, then each resume) is
 * one, and a run's seconds are theirs summed. train.log keeps them all, since it only grows: each
 * segment's first line is its 'config' line, its 'data' line gives its load time, and a segment
 * that ended by itself (finished, interrupted, diverged) logged a 'segment' line with its seconds.
 * A killed one has none: it counts from its start to its last line.
 */
import { MAX_BYTES, readLogText } from '../io/files.js';

/** The pino messages (train.log's `msg`) that frame a segment. */
export const SEGMENT_LOG = { start: 'config', data: 'data', end: 'segment' } as const;

export type SegmentEnd = 'ok' | 'interrupted' | 'diverged' | 'killed';

/** One process's time on a run, in seconds: loading the data, training, and all of it. */
export interface SegmentSeconds {
  load: number;
  train: number;
  total: number;
  ended: SegmentEnd;
}

/** A run's seconds: the sums over its segments, and (a resumed run only) the segments, first to last. */
export interface RunSeconds {
  load: number;
  train: number;
  total: number;
  segments?: SegmentSeconds[];
}

interface LogLine {
  msg?: unknown;
  time?: unknown;
  seconds?: unknown;
  ended?: unknown;
  status?: unknown;
}

/** The segments train.log `file` records (none when it is missing); a torn or foreign line is passed over. */
export function readSegments(file: string): SegmentSeconds[] {
  let text: string;
  try {
    text = readLogText(file, MAX_BYTES.jsonl, 'a JSON-lines log');
  } catch {
    return []; // missing (or not a regular file: a FIFO or device is never read)
  }
  const out: SegmentSeconds[] = [];
  let cur: { start: number; last: number; load: number; end: SegmentSeconds | null } | null = null;
  const close = () => {
    if (cur) out.push(cur.end ?? { load: cur.load, train: round((cur.last - cur.start) / 1000), total: round(cur.load + (cur.last - cur.start) / 1000), ended: 'killed' });
  };
  for (const line of text.split('\n')) {
    let l: LogLine;
    try {
      l = JSON.parse(line) as LogLine;
    } catch {
      continue;
    }
    if (typeof l !== 'object' || l === null || typeof l.time !== 'number') continue;
    if (l.msg === SEGMENT_LOG.start) {
      close();
      cur = { start: l.time, last: l.time, load: 0, end: null };
      continue;
    }
    if (!cur) continue;
    cur.last = l.time;
    if (l.msg === SEGMENT_LOG.data && typeof l.seconds === 'number') cur.load = round(l.seconds);
    // A log without 'segment' lines: a run that ended by itself logged its summary (ok, diverged).
    const ended = l.msg === SEGMENT_LOG.end ? l.ended : l.msg === 'summary' && !cur.end ? l.status : undefined;
    if (typeof ended === 'string' && isSeconds(l.seconds)) cur.end = { load: l.seconds.load, train: l.seconds.train, total: l.seconds.total, ended: ended as SegmentEnd };
  }
  close();
  return out;
}

/** A run's seconds from its earlier segments and this one: this one's alone when there were none. */
export function runSeconds(earlier: SegmentSeconds[], now: SegmentSeconds): RunSeconds {
  if (earlier.length === 0) return { load: now.load, train: now.train, total: now.total };
  const all = [...earlier, now];
  const sum = (k: 'load' | 'train' | 'total') => round(all.reduce((s, x) => s + x[k], 0));
  return { load: sum('load'), train: sum('train'), total: sum('total'), segments: all };
}

function isSeconds(v: unknown): v is { load: number; train: number; total: number } {
  const o = v as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && ['load', 'train', 'total'].every((k) => typeof o[k] === 'number');
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
