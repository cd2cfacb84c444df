/** `train data <dataset>`: fetch and unpack if needed, then verify and print what is there. */
import { describeDataset, loadDataset, type DatasetName } from '../data/datasets.js';
import * as os from 'node:os';
import { StoppedBySignal } from '../data/errors.js';
import type { DownloadProgress } from '../data/fetch.js';
import { shown, writeLines } from './output.js';

const MB = 1e6;

/** 95 s → "1 min 35 s". */
function fmtSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** One progress line: bytes (of the total), rate, time left. */
export function formatDownloadProgress(p: DownloadProgress): string {
  const got = `${(p.bytes / MB).toFixed(1)} MB`;
  const of = p.total !== null ? ` of ${(p.total / MB).toFixed(1)} MB (${Math.floor((100 * p.bytes) / p.total)}%)` : '';
  const rate = `${(p.rate / MB).toFixed(2)} MB/s`;
  const eta = p.done ? `done in ${fmtSeconds(p.seconds)}` : p.etaSeconds !== null ? `${fmtSeconds(p.etaSeconds)} left` : 'size unknown';
  return `downloading ${p.url}: ${got}${of}, ${rate}, ${eta}`;
}

/**
 * A download progress printer for `out`: on a TTY one line redrawn in place, otherwise a plain
 * line every `everyMs` (and one when done), so logs and CI show that bytes are still arriving.
 */
export function downloadProgressPrinter(out: NodeJS.WriteStream = process.stderr, everyMs = 5000): (p: DownloadProgress) => void {
  let last = -Infinity;
  return (p) => {
    const line = formatDownloadProgress(p);
    if (out.isTTY) {
      out.write(`\r${shown(line)}\x1b[K${p.done ? '\n' : ''}`);
      return;
    }
    const now = performance.now();
    if (p.done || now - last >= everyMs) {
      last = now;
      writeLines(out, line);
    }
  };
}

export async function dataCommand(args: { dataset: DatasetName; source?: string; verify?: boolean }): Promise<void> {
  let raw;
  try {
    raw = await loadDataset(args.dataset, args.source, { verify: args.verify, onDownload: downloadProgressPrinter(process.stderr) });
  } catch (e) {
    // Ctrl-C, SIGTERM or SIGHUP during the download or the unpack: what it had written is removed; exit 128+signal.
    if (e instanceof StoppedBySignal) {
      process.stderr.write('\n'); // off the progress line
      writeLines(process.stderr, e.message);
      process.exit(128 + os.constants.signals[e.signal]);
    }
    throw e;
  }
  const d = describeDataset(raw);
  const w = (s: string) => writeLines(process.stdout, s);
  w(`${args.dataset}: ${raw.source}`);
  w(`  records: train ${d.records.train}, test ${d.records.test}; ${d.dim} pixels each (${raw.imageShape.join('×')})`);
  w(`  classes (${d.classes.length}): ${d.classes.join(', ')}`);
  w(`  train labels per class: ${d.labelCounts.train.join(' ')}`);
  w(`  test labels per class:  ${d.labelCounts.test.join(' ')}`);
  w('  verified: file sizes match the record counts, every label is in range');
}
