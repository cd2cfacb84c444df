/** Messages between the sweep's main thread and its workers. */
import type { Config } from '../config/config.js';
import type { Summary } from '../runs/summary.js';

export interface ToWorker {
  index: number;
  dir: string;
  config: Config;
  /** Carry on from the trial folder's last.ckpt (a trial killed mid-way). */
  resume: boolean;
}

export type FromWorker =
  | { type: 'ready'; engine: string }
  | { type: 'done'; index: number; summary: Summary }
  | { type: 'failed'; index: number; diverged: boolean; reason: string };
