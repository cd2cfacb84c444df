/**
 * The files a report is built from, read and checked. A report can be rebuilt from any folder,
 * long after the run, from files a user may have edited or a crash may have torn; whatever is
 * wrong is refused with one line naming the file and the field (a DataError, exit 1), before any
 * of it reaches a chart, a table or a link. Only the fields the reports use are checked.
 */
import { type Config, withAliases } from '../config/config.js';
import { isObj } from '../config/keys.js';
import { DataError } from '../data/errors.js';
import { MAX_BYTES, readRegularText } from '../io/files.js';
import { ioErrorMessage, RunIoError } from './errors.js';
import { readJsonl } from './jsonl.js';
import type { SweepResults } from './results.js';
import type { Summary } from './summary.js';
import { METRIC_NAMES, MODES } from '../sweep/metric.js';

type Obj = Record<string, unknown>;
const show = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/** Field checks for one file: each throws a DataError naming the file, the field and the value. */
class Fields {
  constructor(
    readonly file: string,
    readonly prefix = '',
  ) {}

  bad(field: string, v: unknown, want: string): never {
    if (field === '')
      throw new DataError(`${this.file}: ${this.prefix.replace(/[.:] ?$/, '')} = ${show(v)} is not valid: expected ${want}; rebuild the file (rerun the run or sweep) or fix it by hand`);
    throw new DataError(`${this.file}: ${this.prefix}${field} = ${show(v)} is not valid: expected ${want}; rebuild the file (rerun the run or sweep) or fix it by hand`);
  }
  string(o: Obj, k: string): string {
    if (typeof o[k] !== 'string') this.bad(k, o[k], 'a string');
    return o[k] as string;
  }
  optString(o: Obj, k: string): void {
    if (o[k] !== undefined && o[k] !== null && typeof o[k] !== 'string') this.bad(k, o[k], 'a string');
  }
  num(o: Obj, k: string, lo = -Infinity, hi = Infinity): number {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) this.bad(k, v, lo === -Infinity && hi === Infinity ? 'a number' : `a number in [${lo}, ${hi}]`);
    return v;
  }
  numOrNull(o: Obj, k: string, lo = -Infinity, hi = Infinity): void {
    if (o[k] !== null && o[k] !== undefined) this.num(o, k, lo, hi);
  }
  int(o: Obj, k: string, lo: number): number {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo) this.bad(k, v, `a whole number ≥ ${lo}`);
    return v;
  }
  oneOf(o: Obj, k: string, values: readonly string[]): void {
    if (!values.includes(o[k] as string)) this.bad(k, o[k], `one of ${values.join(', ')}`);
  }
  object(o: Obj, k: string): Obj {
    if (!isObj(o[k])) this.bad(k, o[k], 'an object');
    return o[k] as Obj;
  }
  in(k: string): Fields {
    return new Fields(this.file, `${this.prefix}${k}.`);
  }
}

/** The text of a run or sweep folder's JSON file, by the safe reader (a regular file, bounded); unreadable is a RunIoError saying why. */
function readRunText(file: string): string {
  try {
    return readRegularText(file, MAX_BYTES.runJson, 'a JSON file');
  } catch (e) {
    throw new RunIoError(ioErrorMessage('read', file, e));
  }
}

/** Parsed JSON of `file`, or null when it is missing, unreadable (a FIFO, a device, too large) or not JSON (for files that may be absent or torn). */
export function readJsonOrNull(file: string): unknown {
  try {
    return JSON.parse(readRunText(file));
  } catch {
    return null;
  }
}

/** Parsed JSON of `file`; unreadable is a RunIoError, not JSON or not an object a DataError. */
export function readJsonObject(file: string): Obj {
  const text = readRunText(file);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new DataError(`${file} is not valid JSON (${(e as Error).message}); rebuild it (rerun the run or sweep) or fix it by hand`);
  }
  if (!isObj(v)) throw new DataError(`${file} holds ${show(v)}, not a JSON object; rebuild it (rerun the run or sweep) or fix it by hand`);
  return v;
}

const ACC: [number, number] = [0, 1];

/** A run folder's config.json: the fields the run report shows or uses. */
export function readRunConfig(file: string): Config {
  const o = readJsonObject(file);
  const f = new Fields(file);
  f.string(o, 'name');
  f.int(o, 'trainAccSamples', 0);
  f.optString(o, 'dataDir');
  return withAliases(o) as unknown as Config; // one written before the linear model's rename says model softmax
}

/** A run folder's summary.json. */
export function readSummary(file: string): Summary {
  const o = readJsonObject(file);
  const f = new Fields(file);
  f.oneOf(o, 'status', ['ok', 'diverged', 'interrupted']);
  f.optString(o, 'error');
  f.string(o, 'dataset');
  f.string(o, 'engine');
  f.optString(o, 'engineDetail');
  const model = f.object(o, 'model');
  const fm = f.in('model');
  fm.oneOf(model, 'kind', ['softmax', 'mlp', 'knn']);
  if (model.loss !== undefined) fm.oneOf(model, 'loss', ['softmax', 'svm']); // absent: softmax
  if (model.kind === 'mlp' && (!Array.isArray(model.hidden) || model.hidden.length === 0 || !model.hidden.every((h) => Number.isInteger(h) && h > 0))) {
    fm.bad('hidden', model.hidden, 'a list of hidden sizes (whole numbers ≥ 1)');
  }
  for (const k of ['bestValAcc', 'bestTrainAcc', 'testAcc', 'finalValAcc', 'finalTrainAcc']) f.numOrNull(o, k, ...ACC);
  for (const k of ['finalLoss', 'initialLoss', 'expectedInitialLoss', 'examplesPerSecond']) f.numOrNull(o, k);
  for (const k of ['bestEpoch', 'iterations', 'epochs']) f.numOrNull(o, k, 0);
  f.in('seconds').num(f.object(o, 'seconds'), 'total', 0);
  return o as unknown as Summary;
}

export interface MetricRow {
  type: string;
  [k: string]: unknown;
}

/**
 * metrics.jsonl: one JSON object a line. A torn last line (a killed run) is skipped, as
 * everywhere it is read; anything else that is not a metric row is refused by its line.
 */
export function readMetrics(file: string): MetricRow[] {
  return readJsonl(file, (v, line) => {
    const f = new Fields(file, `line ${line}: `);
    if (!isObj(v)) return f.bad('', v, 'a JSON object');
    f.string(v, 'type');
    if (v.type === 'iter') {
      f.int(v, 'it', 0);
      if (v.loss !== null) f.num(v, 'loss'); // null: the loss was NaN or infinite (JSON cannot hold those)
    } else if (v.type === 'epoch') {
      f.num(v, 'epoch', 0);
      f.num(v, 'trainAcc', ...ACC);
      f.num(v, 'valAcc', ...ACC);
    }
  }) as MetricRow[];
}

/** A checkpoint's class names: one string per model output. */
export function checkClasses(file: string, classes: unknown, outputs: number): string[] {
  if (!Array.isArray(classes) || classes.length !== outputs || !classes.every((c) => typeof c === 'string')) {
    throw new DataError(`${file}: the class list ${show(classes)} is not valid: expected ${outputs} class names (one per model output), as strings`);
  }
  return classes as string[];
}

const STATUS = ['ok', 'diverged', 'failed', 'stopped'] as const;

/** A sweep folder's results.json. */
export function readSweepResults(file: string): SweepResults {
  const o = readJsonObject(file);
  const f = new Fields(file);
  f.string(o, 'name');
  f.num(o, 'workers', 0);
  f.num(o, 'seconds', 0);
  if (!Array.isArray(o.trials)) f.bad('trials', o.trials, 'a list of trials');
  const seen = new Set<number>();
  (o.trials as unknown[]).forEach((t, i) => {
    const ft = f.in(`trials[${i}]`);
    if (!isObj(t)) return ft.bad('', t, 'an object');
    const index = ft.int(t, 'index', 1);
    if (seen.has(index)) ft.bad('index', index, 'an index no other trial has');
    seen.add(index);
    ft.string(t, 'dir'); // checked again before it becomes a link
    ft.oneOf(t, 'status', STATUS);
    ft.optString(t, 'reason');
    const params = ft.object(t, 'params');
    for (const [k, v] of Object.entries(params)) {
      if (!(typeof v === 'number' && Number.isFinite(v)) && typeof v !== 'string' && typeof v !== 'boolean' && !(Array.isArray(v) && v.every((x) => typeof x === 'number')))
        ft.in('params').bad(k, v, 'a number, string, or list of numbers');
    }
    ft.numOrNull(t, 'trainAcc', ...ACC);
    ft.numOrNull(t, 'valAcc', ...ACC);
    ft.numOrNull(t, 'bestEpoch', 0);
    ft.numOrNull(t, 'seconds', 0);
    ft.numOrNull(t, 'value');
  });
  // Absent in results written before sweeps had a metric: val accuracy, max (sweep/metric.ts metricOfResults).
  if (o.metric !== undefined) {
    const m = f.object(o, 'metric');
    f.in('metric').oneOf(m, 'name', METRIC_NAMES);
    f.in('metric').oneOf(m, 'mode', MODES);
  }
  if (o.best !== null && o.best !== undefined) {
    const b = f.object(o, 'best');
    const fb = f.in('best');
    fb.int(b, 'index', 1);
    fb.num(b, 'valAcc', ...ACC);
    fb.numOrNull(b, 'testAcc', ...ACC);
  } else o.best = null;
  return o as unknown as SweepResults;
}

/** A sweep folder's sweep.json: each trial's config, of which the report plots lr, reg and hidden. */
export function readSweepTrials(file: string): { index: number; config: Config }[] {
  const o = readJsonObject(file);
  const f = new Fields(file);
  if (!Array.isArray(o.trials)) f.bad('trials', o.trials, 'a list of trials');
  return (o.trials as unknown[]).map((t, i) => {
    const ft = f.in(`trials[${i}]`);
    if (!isObj(t)) return ft.bad('', t, 'an object');
    ft.int(t, 'index', 1);
    const c = ft.object(t, 'config');
    const fc = ft.in('config');
    fc.num(c, 'lr', Number.MIN_VALUE);
    fc.num(c, 'reg', 0);
    if (c.hidden !== undefined && !(Array.isArray(c.hidden) && c.hidden.every((h) => Number.isInteger(h) && h > 0))) fc.bad('hidden', c.hidden, 'a list of hidden sizes');
    return t as unknown as { index: number; config: Config };
  });
}

/** How a sweep chose its trials. */
export type SearchKind = 'tpe' | 'random' | 'grid' | 'list';
const SEARCH_KINDS: readonly SearchKind[] = ['tpe', 'random', 'grid', 'list'];

/** sweep.json's kind of search and its seed (null for a grid or list), checked. */
export function readSweepKind(file: string): { kind: SearchKind; seed: number | null } {
  const f = new Fields(file);
  const spec = f.object(readJsonObject(file), 'spec');
  const kind = SEARCH_KINDS.find((k) => spec[k] !== undefined && spec[k] !== null);
  if (kind === undefined) return f.bad('spec', spec, `a sweep spec with one of ${SEARCH_KINDS.join(', ')}`);
  if (kind === 'grid' || kind === 'list') return { kind, seed: null };
  return { kind, seed: f.in('spec').in(kind).int(f.in('spec').object(spec, kind), 'seed', 0) };
}

/** A random or TPE search as sweep.json records it (its `spec`): the keys' distributions, for the sweep report's figures. */
export interface SweepSearch {
  kind: 'random' | 'tpe';
  seed: number;
  /** A TPE sweep's random trials before its suggested ones (0 for a random search). */
  startup: number;
  params: Record<string, { logUniform: [number, number] } | { uniform: [number, number] } | { choice: unknown[] }>;
}

/** sweep.json's search, checked; null for a grid or list sweep, or a sweep.json without one. */
export function readSweepSearch(file: string): SweepSearch | null {
  const o = readJsonObject(file);
  if (!isObj(o.spec)) return null;
  const kind = isObj(o.spec.tpe) ? 'tpe' : isObj(o.spec.random) ? 'random' : null;
  if (kind === null) return null;
  const s = o.spec[kind] as Obj;
  const f = new Fields(file).in(`spec.${kind}`);
  const seed = f.int(s, 'seed', 0);
  const startup = kind === 'tpe' ? f.int(s, 'startupTrials', 0) : 0;
  const params = f.object(s, 'params');
  const fp = f.in('params');
  for (const [k, d] of Object.entries(params)) {
    // A layers key (hidden from a depth and widths, sweep/space.ts) has no one axis to draw: left out.
    if (isObj(d) && isObj(d.layers)) {
      delete params[k];
      continue;
    }
    const range = isObj(d) ? (d.logUniform ?? d.uniform) : undefined;
    const okRange =
      Array.isArray(range) &&
      range.length === 2 &&
      range.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
      range[0] <= range[1] &&
      (!isObj(d) || d.logUniform === undefined || range[0] > 0);
    if (!okRange && !(isObj(d) && Array.isArray(d.choice) && d.choice.length > 0)) fp.bad(k, d, '{"logUniform": [low, high]}, {"uniform": [low, high]} or {"choice": [...]}');
  }
  return { kind, seed, startup, params: params as SweepSearch['params'] };
}
