/**
 * The runs of a runs folder, side by side: one row per run folder (name, dataset, model, engine,
 * best val, test, time, status), read from what the folder records, and runs/index.html with the
 * same table, sortable as the sweep report's, each row linking the run's report.html. Sweep
 * folders get a row each, linking their sweep report.
 *
 * Status: summary.json's (ok → finished, interrupted, diverged). A folder with no summary.json is
 * running while the process its train.log names (the "process" line, pid) is alive, and killed
 * otherwise (SIGKILL, power cut: it can still be resumed from last.ckpt when it has one).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_BYTES, readLogText } from '../io/files.js';
import { isAlive } from '../io/process.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { readJsonl } from '../runs/jsonl.js';
import { RUNS_INDEX, RUN_FILES, SWEEP_FILES, runFile, sweepFile } from '../runs/layout.js';
import { readJsonObject, readJsonOrNull } from '../runs/read.js';
import { type PageBlock, esc, fmt, page, relativeHref } from './html.js';
import { SORT_JS } from './sweep_report.js';

export type RunStatus = 'running' | 'finished' | 'interrupted' | 'diverged' | 'killed' | 'unreadable';

export interface RunRow {
  /** The run folder's name (<time>-<name>). */
  folder: string;
  name: string;
  dataset: string | null;
  model: string | null;
  engine: string | null;
  bestValAcc: number | null;
  /** kNN's mean cross-validation accuracy of its best k: not a val accuracy, so in its own column. */
  cvAcc: number | null;
  testAcc: number | null;
  /** Seconds the run took (so far, for a running one). */
  seconds: number | null;
  status: RunStatus;
  /** report.html, relative to the runs folder, when there is one. */
  report: string | null;
  /** Why the row is unreadable (a file that is not a regular file, too large, not JSON); null otherwise. */
  reason: string | null;
}

export interface SweepRow {
  folder: string;
  trials: number | null;
  bestValAcc: number | null;
  testAcc: number | null;
  report: string | null;
}

const obj = (v: unknown): Record<string, unknown> | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** A model in words: softmax, svm, mlp 100, mlp 500,100 svm, knn k=10. */
function modelText(m: Record<string, unknown> | null, cfg: Record<string, unknown> | null): string | null {
  const kind = str(m?.kind) ?? str(cfg?.model);
  if (!kind) return null;
  const loss = str(m?.loss) ?? str(cfg?.loss);
  const hidden = (Array.isArray(m?.hidden) ? m!.hidden : cfg?.hidden) as unknown;
  if (kind === 'knn') return `knn k=${num(m?.k) ?? num(cfg?.k) ?? '?'}`;
  if (kind === 'mlp') return `mlp ${Array.isArray(hidden) ? hidden.join(',') : ''}${loss === 'svm' ? ' svm' : ''}`;
  return loss === 'svm' ? 'linear svm' : kind;
}

/** The lines of train.log, parsed (a torn or unparsable line skipped); read by the safe reader, so a FIFO or a device there is refused (thrown). */
function logLines(dir: string): Record<string, unknown>[] {
  const f = runFile(dir, 'log');
  if (!fs.existsSync(f)) return [];
  return readLogText(f, MAX_BYTES.jsonl, 'a JSON-lines log')
    .split('\n')
    .flatMap((l) => {
      try {
        const v = obj(JSON.parse(l));
        return v ? [v] : [];
      } catch {
        return [];
      }
    });
}

/** A run folder's JSON object file, or why it cannot be read (a FIFO, a device, too large, not JSON). */
function readOrWhy(file: string): { v: Record<string, unknown> | null; why: string | null } {
  try {
    return { v: readJsonObject(file), why: null };
  } catch (e) {
    return { v: null, why: (e as Error).message };
  }
}

/** The row of a run whose summary.json is there. */
function finishedRow(
  base: Omit<RunRow, 'dataset' | 'model' | 'engine' | 'bestValAcc' | 'cvAcc' | 'testAcc' | 'seconds' | 'status'>,
  s: Record<string, unknown>,
  cfg: Record<string, unknown> | null,
): RunRow {
  const cv = obj(s.cv);
  return {
    ...base,
    name: str(s.name) ?? base.name,
    dataset: str(s.dataset),
    model: modelText(obj(s.model), cfg),
    engine: str(s.engine),
    bestValAcc: num(s.bestValAcc),
    cvAcc: num(cv?.bestMeanAcc),
    testAcc: num(s.testAcc),
    seconds: num(obj(s.seconds)?.total),
    status: s.status === 'ok' ? 'finished' : s.status === 'interrupted' || s.status === 'diverged' ? s.status : 'unreadable',
    reason: s.status === 'ok' || s.status === 'interrupted' || s.status === 'diverged' ? null : `${RUN_FILES.summary} has no known status`,
  };
}

/** The row of a run with no summary yet: running, or killed. The log names the process and the engine. */
function unfinishedRow(
  dir: string,
  base: Omit<RunRow, 'dataset' | 'model' | 'engine' | 'bestValAcc' | 'cvAcc' | 'testAcc' | 'seconds' | 'status'>,
  cfg: Record<string, unknown> | null,
  now: number,
): RunRow {
  const log = logLines(dir);
  const pid = num(log.filter((l) => l.msg === 'process').at(-1)?.pid);
  const engine = str(log.filter((l) => l.msg === 'engine').at(-1)?.engine);
  const metricsFile = runFile(dir, 'metrics');
  let best: number | null = null;
  if (fs.existsSync(metricsFile)) {
    for (const m of readJsonl(metricsFile) as Record<string, unknown>[]) if (m?.type === 'epoch' && num(m.valAcc) !== null && (best === null || (m.valAcc as number) > best)) best = m.valAcc as number;
  }
  const t0 = typeof log[0]?.time === 'number' ? (log[0].time as number) : null;
  return {
    ...base,
    dataset: str(cfg?.dataset),
    model: modelText(null, cfg),
    engine,
    bestValAcc: best,
    cvAcc: null,
    testAcc: null,
    seconds: t0 !== null ? Math.round((now - t0) / 1000) : null,
    status: pid !== null && isAlive(pid) ? 'running' : 'killed',
  };
}

/**
 * One run folder's row, from its files; null for a folder that is not a run folder. A file that
 * cannot be read (a FIFO, /dev/zero behind a symlink, torn) makes the row unreadable, with the
 * reason; the other rows go on.
 */
export function runRow(runsDir: string, folder: string, now = Date.now()): RunRow | null {
  const dir = path.join(runsDir, folder);
  if (!fs.existsSync(runFile(dir, 'config'))) return null;
  const c = readOrWhy(runFile(dir, 'config'));
  const cfg = c.v;
  const report = fs.existsSync(runFile(dir, 'report')) ? relativeHref(runsDir, `${folder}/${RUN_FILES.report}`) : null;
  const base = { folder, name: str(cfg?.name) ?? folder, report, reason: null };
  const unreadable = (why: string | null): RunRow => ({
    ...base,
    dataset: str(cfg?.dataset),
    model: modelText(null, cfg),
    engine: null,
    bestValAcc: null,
    cvAcc: null,
    testAcc: null,
    seconds: null,
    status: 'unreadable',
    reason: why,
  });
  if (!cfg) return unreadable(c.why);
  const summaryFile = runFile(dir, 'summary');
  if (fs.existsSync(summaryFile)) {
    const s = readOrWhy(summaryFile);
    return s.v ? finishedRow(base, s.v, cfg) : unreadable(s.why);
  }
  try {
    return unfinishedRow(dir, base, cfg, now);
  } catch (e) {
    return unreadable((e as Error).message);
  }
}

/** Every run folder of `runsDir` (newest first) and every sweep folder. */
export function listRuns(runsDir: string): { runs: RunRow[]; sweeps: SweepRow[] } {
  if (!fs.existsSync(runsDir)) return { runs: [], sweeps: [] };
  const names = fs
    .readdirSync(runsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .reverse();
  const runs = names.map((n) => runRow(runsDir, n)).filter((r): r is RunRow => r !== null);
  const sweeps: SweepRow[] = [];
  for (const n of names) {
    const dir = path.join(runsDir, n);
    if (!fs.existsSync(sweepFile(dir, 'spec'))) continue;
    const r = obj(readJsonOrNull(sweepFile(dir, 'results')));
    const best = obj(r?.best);
    const report = fs.existsSync(sweepFile(dir, 'report')) ? relativeHref(runsDir, `${n}/${SWEEP_FILES.report}`) : null;
    sweeps.push({ folder: n, trials: Array.isArray(r?.trials) ? (r!.trials as unknown[]).length : null, bestValAcc: num(best?.valAcc), testAcc: num(best?.testAcc), report });
  }
  return { runs, sweeps };
}

const acc = (v: number | null) => (v === null ? null : Number(v.toFixed(3)));

/** The table's columns: heading, a row's value (for sorting) and text, and whether it is a number (right-aligned). */
export const RUN_COLUMNS: [string, (r: RunRow) => unknown, (r: RunRow) => string, boolean][] = [
  ['run', (r) => r.folder, (r) => r.folder, false],
  ['dataset', (r) => r.dataset, (r) => fmt(r.dataset), false],
  ['model', (r) => r.model, (r) => fmt(r.model), false],
  ['engine', (r) => r.engine, (r) => fmt(r.engine), false],
  ['best val', (r) => r.bestValAcc, (r) => fmt(acc(r.bestValAcc)), true],
  ['test', (r) => r.testAcc, (r) => fmt(acc(r.testAcc)), true],
  ['seconds', (r) => r.seconds, (r) => (r.seconds === null ? '–' : r.seconds.toFixed(1)), true],
  ['status', (r) => r.status, (r) => r.status, false],
  ['cv acc (kNN)', (r) => r.cvAcc, (r) => fmt(acc(r.cvAcc)), true],
];

/** Write <runsDir>/index.html; returns its path. */
export function writeRunsIndex(runsDir: string, list = listRuns(runsDir)): string {
  const { runs, sweeps } = list;
  const head = [...RUN_COLUMNS.map((c) => c[0]), 'report'];
  const rows = runs.map((r) => {
    const tds = RUN_COLUMNS.map(([, v, t, isNum]) => `<td${isNum ? ' class="num"' : ''} data-v="${esc(v(r) ?? '')}">${esc(t(r))}</td>`).join('');
    const link = r.report ? `<a href="${esc(r.report)}">report</a>` : '–';
    return `<tr class="status-${esc(r.status)}">${tds}<td data-v="">${link}</td></tr>`;
  });
  const blocks: PageBlock[] = [
    {
      kind: 'html',
      title: `Runs (${runs.length})`,
      html: `<p class="note">Click a column to sort. Status: finished, interrupted (Ctrl-C; resumable), diverged, running, or killed (no summary and its process is gone; resumable from ${RUN_FILES.last} if it has one). Rebuild with <code>npx train runs</code>.</p><table class="trials"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`,
    },
  ];
  if (sweeps.length > 0) {
    const srows = sweeps.map(
      (s) =>
        `<tr><td data-v="${esc(s.folder)}">${esc(s.folder)}</td><td class="num" data-v="${esc(s.trials ?? '')}">${esc(fmt(s.trials))}</td><td class="num" data-v="${esc(s.bestValAcc ?? '')}">${esc(fmt(acc(s.bestValAcc)))}</td><td class="num" data-v="${esc(s.testAcc ?? '')}">${esc(fmt(acc(s.testAcc)))}</td><td data-v="">${s.report ? `<a href="${esc(s.report)}">sweep report</a>` : '–'}</td></tr>`,
    );
    blocks.push({
      kind: 'html',
      title: `Sweeps (${sweeps.length})`,
      html: `<table class="trials"><thead><tr>${['sweep', 'trials', 'best val', 'test of best', 'report'].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${srows.join('')}</tbody></table>`,
    });
  }
  const out = path.join(runsDir, RUNS_INDEX);
  writeFileAtomic(out, page(`Runs in ${path.basename(path.resolve(runsDir))}`, `${runs.length} runs, ${sweeps.length} sweeps · ${path.resolve(runsDir)}`, blocks, SORT_JS));
  return out;
}
