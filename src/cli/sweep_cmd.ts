/**
 * `train sweep`'s parts beyond starting one: `sweep status` and `sweep cancel`, and a sweep
 * stopped by Ctrl-C, SIGTERM or SIGHUP, which says what it leaves behind and the commands that
 * resume or cancel it, then exits 128+signal.
 */
import * as os from 'node:os';
import { type Config, ConfigError } from '../config/config.js';
import { redactUrl } from '../sweep/queue_url.js';
import { cancelLocalSweep, runSweep, SweepStoppedError, type SweepOptions } from '../sweep/sweep.js';
import type { SweepResults } from '../runs/results.js';
import { QUEUE_URL_ENV } from './queue_url.js';
import { shown, writeLines } from './output.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How the queue was given on this command line, to repeat in a suggested command (never the password). */
export function queueFlagsText(argv: Record<string, unknown>): string {
  if (typeof argv['queue-file'] === 'string') return `--queue-file ${argv['queue-file']}`;
  if (typeof argv.queue === 'string') return `--queue ${redactUrl(argv.queue)}`;
  return `(with ${QUEUE_URL_ENV} set)`;
}

/** `sweep status F [--watch]` and `sweep cancel F` (`sub`); the file from the positional or --config. */
export async function sweepSubcommand(sub: string, file: string | undefined, queue: string | undefined, flags: Partial<Config>, warn: (l: string) => void, watch = false): Promise<void> {
  const out = (l: string) => writeLines(process.stdout, l);
  if (sub === 'cancel') {
    if (file === undefined) throw new ConfigError('sweep cancel needs the sweep file: train sweep cancel <file> [--queue redis://host:6379]');
    if (queue !== undefined) await (await import('../sweep/queue.js')).sweepCancel(file, queue, flags, out, warn);
    else await cancelLocalSweep(file, flags, out);
    return;
  }
  if (sub !== 'status') throw new ConfigError(`sweep ${sub}: unknown; use train sweep --config <file>, train sweep status <file> [--queue <redis URL>] [--watch], or train sweep cancel <file>`);
  if (file === undefined) throw new ConfigError('sweep status needs the sweep file: train sweep status <file> [--queue redis://host:6379] [--watch]');
  const snapshot = () => statusLines(file, queue, flags, warn);
  if (watch) return watchStatus(snapshot, process.stdout);
  for (const l of await snapshot()) out(l);
}

/** `sweep status F`'s lines: the queue's counts and every worker on it (--queue), or a local sweep's from its folder (sweep/workers.ts). */
async function statusLines(file: string, queue: string | undefined, flags: Partial<Config>, warn: (l: string) => void): Promise<string[]> {
  const workers = await import('../sweep/workers.js');
  if (queue === undefined) return workers.localSweepStatus(file, flags);
  const lines: string[] = [];
  await (await import('../sweep/queue.js')).sweepStatus(file, queue, flags, (l) => lines.push(l), warn);
  return [...lines, ...(await workers.queueWorkerLines(queue, warn))];
}

/** How often `sweep status --watch` refreshes. */
export const WATCH_MS = 2000;

/**
 * `sweep status --watch`: the status again every WATCH_MS, redrawn in place on a TTY, else as
 * plain lines under a line with the time; Ctrl-C ends it with exit code 0.
 */
async function watchStatus(snapshot: () => Promise<string[]>, stream: NodeJS.WriteStream): Promise<void> {
  process.once('SIGINT', () => process.exit(0));
  let drawn = 0;
  for (;;) {
    const lines = await snapshot();
    if (stream.isTTY) {
      stream.write(redraw(drawn, lines, stream.columns || 80));
      drawn = lines.length;
    } else writeLines(stream, `--- ${new Date().toISOString()}`, ...lines);
    await new Promise((r) => setTimeout(r, WATCH_MS));
  }
}

/** What redraws `lines` over the `drawn` lines before them on a TTY: the cursor up, the old lines cleared, each line (its controls shown as escapes) cut to the width so none wraps. */
export function redraw(drawn: number, lines: string[], columns: number): string {
  const cut = lines.map(shown).map((l) => (l.length >= columns ? `${l.slice(0, Math.max(0, columns - 2))}…` : l));
  return `${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ''}${cut.join('\n')}\n`;
}

/**
 * Run the sweep; the first stop signal stops it (a local pool's running trials after their step,
 * each with its checkpoint; a coordinator leaves its jobs queued), takes its progress bar off the
 * screen, prints what is left and how to go on as the last line, and exits 128+signal. A second
 * signal exits at once. `ui` is the sweep's console (createSweepUi): lines above its bar.
 */
export async function runSweepStoppable(opts: SweepOptions, ui: { line(l: string): void; stop(): void }, queueText: string | null): Promise<SweepResults> {
  const ac = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const codeOf = (sig: NodeJS.Signals) => 128 + os.constants.signals[sig];
  for (const sig of STOP_SIGNALS) {
    process.on(sig, () => {
      if (stoppedBy !== null) process.exit(codeOf(sig));
      stoppedBy = sig;
      ui.line(`stopping (${sig === 'SIGINT' ? 'Ctrl-C' : sig}; again to quit at once)`);
      ac.abort();
    });
  }
  try {
    return await runSweep({ ...opts, signal: ac.signal });
  } catch (e) {
    if (!(e instanceof SweepStoppedError) || stoppedBy === null) throw e;
    ui.stop(); // the bar cleared first: the last words stay the last thing on the screen
    writeLines(process.stdout, stoppedLine(e, opts.file, queueText));
    process.exit(codeOf(stoppedBy));
  }
}

function stoppedLine(e: SweepStoppedError, file: string, queueText: string | null): string {
  const left = `${e.left} of ${e.total} trials are not finished`;
  if (queueText === null) {
    return `sweep ${e.sweep} stopped: ${left}; the running ones stopped after their step, each keeping its last checkpoint. Resume: train sweep --config ${file}`;
  }
  return (
    `stopped following sweep ${e.sweep}: ${left}; they stay on the queue, and workers go on training them into their folders. ` +
    `Resume following: train sweep --config ${file} ${queueText}. Withdraw them: train sweep cancel ${file} ${queueText}`
  );
}
