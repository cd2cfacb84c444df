/**
 * `train cs231n [notebook…]`: run the chosen notebooks' experiments over the seeds (execute.ts),
 * record how (record.ts), write each notebook's page and the index (pages.ts) and the figures'
 * table (figures.ts). The CLI's file (cli/commands/cs231n.ts) reads the flags into a Cs231nOptions.
 */
import * as path from 'node:path';
import { type Config, ConfigError, resolveConfig } from '../config/config.js';
import { initEngine, type EngineSelection } from '../linalg/engine.js';
import { clock, jobsOf, runJobs, StoppedError, type Stop } from './execute.js';
import { figuresTable, writeFigures } from './figures.js';
import { NOTEBOOKS, notebookOf } from './notebooks.js';
import { writeIndex, writeNotebookPage } from './pages.js';
import { figuresFile, readRecord, thisMachine, writeRecord } from './record.js';
import type { RunPlan } from './run.js';
import type { Notebook } from './types.js';
import { writeFileAtomic } from '../runs/atomic.js';

/** knn.ipynb's loop forms are timed on this many of its 500 test rows by default (the two loops take seconds a row block). */
export const KNN_LOOP_ROWS = 50;

export interface Cs231nOptions {
  notebooks: Notebook[];
  plan: RunPlan;
  /** A markdown file whose marked section gets the figures' table. */
  writeFigures?: string;
}

/** The notebooks named on the command line (all when none), each once, in the course's order; an unknown name is refused in one line. */
export function chooseNotebooks(names: string[]): Notebook[] {
  if (!names.length) return [...NOTEBOOKS];
  const chosen = names.map((n) => {
    const nb = notebookOf(n);
    if (!nb) throw new ConfigError(`unknown notebook "${n}": choose from ${NOTEBOOKS.map((x) => x.id).join(', ')} (or none for all)`);
    return nb;
  });
  return NOTEBOOKS.filter((nb) => chosen.includes(nb));
}

/** --seeds: a count N (seeds 0…N−1) or a comma-separated list of seeds; refused in one line otherwise. */
export function parseSeeds(text: string): number[] {
  const t = text.trim();
  const bad = () => new ConfigError(`--seeds ${JSON.stringify(text)} is not allowed: give a count (--seeds 3: seeds 0, 1, 2) or a list of whole numbers (--seeds 0,5,7)`);
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 100) throw bad();
    return Array.from({ length: n }, (_, i) => i);
  }
  const parts = t.split(',').map((s) => s.trim());
  if (parts.length < 2 || !parts.every((p) => /^\d+$/.test(p))) throw bad();
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new ConfigError(`--seeds ${text}: a seed is given twice; give each seed once`);
  return seeds;
}

/** Ctrl-C, SIGTERM, SIGHUP: stop after the current step; a second: at once. */
function stopOnSignals(line: (l: string) => void): Stop {
  const ac = new AbortController();
  const stop: Stop = { stopped: false, signal: ac.signal };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (stop.stopped) process.exit(130);
      stop.stopped = true;
      line(`stopping after this step (${sig === 'SIGINT' ? 'Ctrl-C' : sig}; again to quit at once)`);
      ac.abort();
    });
  }
  return stop;
}

/** Run one notebook's jobs and record how. */
async function runNotebook(nb: Notebook, plan: RunPlan, engine: EngineSelection, stop: Stop, io: { line: (l: string) => void; warn: (l: string) => void }, start: number): Promise<void> {
  const t0 = performance.now();
  const outcomes = await runJobs(jobsOf([nb], plan), plan, engine, stop, io, start);
  // Every folder reused for the same seeds: the record keeps saying when, and in how long, they were made.
  const before = readRecord(plan.out, nb);
  if (before && outcomes.every((o) => o === 'reused') && before.seeds.join() === plan.seeds.join() && before.quick === plan.quick) return;
  writeRecord(plan.out, {
    notebook: nb.id,
    engine: { name: engine.engine.name, detail: engine.engine.detail },
    machine: thisMachine(),
    seeds: plan.seeds,
    quick: plan.quick,
    seconds: (performance.now() - t0) / 1000,
    finishedAt: new Date().toISOString(),
  });
}

/** The pages, the index and the figures of the chosen notebooks; their files. */
async function writeOutputs(o: Cs231nOptions): Promise<string[]> {
  const out = o.plan.out;
  const files: string[] = [];
  for (const nb of o.notebooks) files.push(await writeNotebookPage(out, nb));
  files.push(writeIndex(out));
  const table = figuresTable(out, NOTEBOOKS);
  writeFileAtomic(figuresFile(out), table + '\n');
  files.push(figuresFile(out));
  if (o.writeFigures !== undefined) {
    writeFigures(o.writeFigures, table);
    files.push(o.writeFigures);
  }
  return files;
}

/**
 * `warn`, saying each warning once: one that differs from an earlier one only in its numbers (the
 * same initial-loss warning for every seed of softmax.ipynb's runs) is left out.
 */
export function onceEach(warn: (l: string) => void): (l: string) => void {
  const said = new Set<string>();
  return (l) => {
    const shape = l.replace(/\d+(\.\d+)?/g, '#');
    if (said.has(shape)) return;
    said.add(shape);
    warn(l);
  };
}

/** The command: run, then write. A stop keeps everything finished and says how to carry on. */
export async function cs231nCommand(o: Cs231nOptions, out: { line: (l: string) => void; warn: (l: string) => void }): Promise<void> {
  const io = { ...out, warn: onceEach(out.warn) };
  const backend = resolveConfig({}, o.plan.flags as Partial<Config>).backend;
  const engine = await initEngine(backend);
  const stop = stopOnSignals(io.warn);
  const t0 = performance.now();
  io.line(`cs231n: ${o.notebooks.map((n) => n.id).join(', ')}; seeds ${o.plan.seeds.join(', ')}${o.plan.quick ? ' (--quick)' : ''}; engine ${engine.engine.name}; into ${path.resolve(o.plan.out)}`);
  try {
    for (const nb of o.notebooks) await runNotebook(nb, o.plan, engine, stop, io, t0);
  } catch (err) {
    if (!(err instanceof StoppedError)) throw err;
    io.warn(`stopped: finished folders are kept and the run in flight keeps its last.ckpt; run the same command again to carry on`);
    process.exit(130);
  }
  for (const f of await writeOutputs(o)) io.line(`wrote ${f}`);
  io.line(`done in ${clock((performance.now() - t0) / 1000)}`);
}
