/**
 * What a notebook's page says about how its numbers were made: the engine, the machine (CPU
 * model, cores) and the seeds, written to <out>/<notebook>/notebook.json when its experiments
 * have run, and the files of the pages.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic } from '../runs/atomic.js';
import { readJsonOrNull } from '../runs/read.js';
import type { Notebook } from './types.js';

export interface NotebookRecord {
  notebook: string;
  engine: { name: string; detail: string };
  machine: { cpu: string; cores: number; platform: string };
  seeds: number[];
  quick: boolean;
  /** Seconds the invocation that last ran or resumed any of its experiments spent on this notebook (a rerun that reuses every folder keeps the record). */
  seconds: number;
  finishedAt: string;
}

/** This machine: its CPU model and the cores it has. */
export function thisMachine(): NotebookRecord['machine'] {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model.trim() || 'unknown CPU', cores: os.availableParallelism(), platform: `${os.platform()} ${os.arch()}` };
}

const RECORD = 'notebook.json';

/** The notebook's page: <out>/<notebook>/notebook.html. */
export const pageFile = (out: string, nb: Notebook) => path.join(out, nb.id, 'notebook.html');

/** The index over the notebooks: <out>/cs231n.html (not index.html, which `train runs <out>` writes). */
export const indexFile = (out: string) => path.join(out, 'cs231n.html');

/** The figures' markdown table: <out>/figures.md. */
export const figuresFile = (out: string) => path.join(out, 'figures.md');

export function writeRecord(out: string, rec: NotebookRecord): void {
  fs.mkdirSync(path.join(out, rec.notebook), { recursive: true });
  writeJsonAtomic(path.join(out, rec.notebook, RECORD), rec);
}

/** The notebook's record, or null when its experiments have not run into `out`. */
export function readRecord(out: string, nb: Notebook): NotebookRecord | null {
  const r = readJsonOrNull(path.join(out, nb.id, RECORD)) as NotebookRecord | null;
  return r && Array.isArray(r.seeds) && r.engine && r.machine ? r : null;
}
