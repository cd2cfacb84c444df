/**
 * Console output of a run: readable lines, a cli-progress bar when the stream is a TTY, and plain
 * periodic progress lines when it is not (CI, pipes, log files).
 *
 * One bar lives for the whole run: a line printed meanwhile clears the bar's line, prints, and
 * the bar draws itself again below it, so its clock and ETA carry on across epochs. The ETA is the
 * steps left at the rate of the whole run so far (validation passes included, so it does not
 * jump at every epoch line); the bar shows the epoch k/N, it/s and the elapsed time, and shrinks
 * to the terminal's width. `notice` prints a message (Ctrl-C's) in order with the bar, on stderr.
 */
import cliProgress from 'cli-progress';
import type { RunUi } from '../train/run.js';
import type { EpochEvent, IterationEvent } from '../train/trainer.js';
import { writeLines } from './output.js';
import { DEFAULT_METRIC, showBest } from '../sweep/metric.js';
import type { SweepProgress } from '../sweep/sweep.js';

export interface UiOptions {
  tty: boolean;
  logEvery: number;
  /** Log lines and the bar (stderr under --json). */
  out?: NodeJS.WriteStream;
  /** Messages that belong on stderr whatever `out` is (Ctrl-C's). */
  err?: NodeJS.WriteStream;
  /** --quiet: no lines, no bar; warnings still go to `err`. */
  quiet?: boolean;
}

export interface ConsoleUi extends RunUi {
  /** A message on stderr, printed above the bar (never overdrawn by it). */
  notice(line: string): void;
}

/** Seconds in words, as the bar shows them: 42s, 3m05s, 1h02m. */
export function fmtDuration(secs: number): string {
  if (!Number.isFinite(secs) || secs < 0) return '?';
  const s = Math.round(secs);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The progress text of a bar of `width` columns: `bar` stretches (down to 5 cells) or goes when
 * nothing else fits; the fields are dropped from the right when even that is too wide.
 */
export function fitBar(width: number, value: number, total: number, fields: string[], prefix = ''): string {
  const frac = total > 0 ? Math.min(1, value / total) : 0;
  const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
  const tail = fields.length ? ' | ' + fields.join(' | ') : '';
  const fixed = `${prefix} ${pct}${tail}`.length + 1;
  const cells = Math.min(40, width - fixed - 1);
  if (cells >= 5) {
    const done = Math.round(frac * cells);
    return `${prefix}${'█'.repeat(done)}${'░'.repeat(cells - done)} ${pct}${tail}`;
  }
  let s = `${prefix}${pct}${tail}`;
  const fs = [...fields];
  while (s.length > width - 1 && fs.length > 0) {
    fs.pop();
    s = `${prefix}${pct}${fs.length ? ' | ' + fs.join(' | ') : ''}`;
  }
  return s.slice(0, Math.max(0, width - 1));
}

/**
 * A cli-progress bar on `out` whose text is `text(width)`. A line printed meanwhile stops the bar
 * (which clears its line and puts the cursor back where the bar started), prints, and starts a
 * new bar below it: cli-progress restores the cursor position it saved at start, so one bar kept
 * across printed lines would jump back over them. The text's clock and ETA are the caller's, so
 * they carry on across the new bars.
 */
export function liveBar(out: NodeJS.WriteStream, total: number, text: (width: number) => string) {
  let value = 0;
  const make = () => {
    const b = new cliProgress.SingleBar(
      {
        format: (_o: unknown, p: { maxWidth: number }) => text(p.maxWidth),
        hideCursor: true,
        clearOnComplete: true,
        stream: out,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    b.start(total, value);
    return b;
  };
  let bar = make();
  // A process that exits while the bar is up (a second Ctrl-C quits at once, from the signal
  // handler) clears it and gives the terminal back its cursor and line wrap, which the bar hides
  // and turns off: no stale bar under the messages, and the shell prompt on a clean line.
  let up = true;
  const onExit = () => {
    if (up) bar.stop();
  };
  process.on('exit', onExit);
  return {
    update: (v: number) => {
      value = v;
      bar.update(v);
    },
    /** Write `s` where the bar is (on `stream`); the bar comes back below it. */
    print: (s: string, stream: NodeJS.WriteStream = out) => {
      bar.stop();
      writeLines(stream, s);
      bar = make();
    },
    stop: () => {
      up = false;
      bar.stop();
      process.off('exit', onExit);
    },
  };
}

/**
 * A run's progress as the bar and the plain lines show it: steps done of the total, the epoch,
 * the smoothed loss, and the rate of the steps this process ran (a resume starts past step 0).
 */
function runProgress(logEvery: number) {
  const p = { total: 0, perEpoch: 0, epochs: 0, every: 1, t0: 0, it0: 0, lastIt: 0, epochNow: 0, lastLoss: NaN, smooth: NaN };
  const rate = () => {
    const secs = (performance.now() - p.t0) / 1000;
    return { secs, perSec: p.it0 >= 0 && p.lastIt > p.it0 && secs > 0 ? (p.lastIt - p.it0) / secs : NaN };
  };
  return {
    p,
    rate,
    start(n: number, stepsPerEpoch?: number) {
      p.total = n;
      p.perEpoch = stepsPerEpoch ?? 0;
      p.epochs = p.perEpoch > 0 ? Math.ceil(n / p.perEpoch) : 0;
      p.every = logEvery > 0 ? logEvery : Math.max(1, Math.round(n / 20));
      p.t0 = performance.now();
      p.it0 = -1;
    },
    step(e: IterationEvent) {
      if (p.it0 < 0) p.it0 = e.it - 1; // a resume starts past step 0: the rate counts the steps done here
      p.lastIt = e.it;
      p.epochNow = e.epoch;
      p.lastLoss = e.loss;
      p.smooth = Number.isNaN(p.smooth) ? e.loss : 0.98 * p.smooth + 0.02 * e.loss;
    },
    barText(width: number): string {
      const { secs, perSec } = rate();
      const eta = Number.isFinite(perSec) ? fmtDuration((p.total - p.lastIt) / perSec) : '?';
      const fields = [
        ...(p.epochs > 0 ? [`epoch ${Math.min(p.epochNow + 1, p.epochs)}/${p.epochs}`] : []),
        `iter ${p.lastIt}/${p.total}`,
        `loss ${fmtLoss(p.smooth)}`,
        `${Number.isFinite(perSec) ? perSec.toFixed(perSec < 10 ? 1 : 0) : '–'} it/s`,
        `${fmtDuration(secs)} elapsed`,
        `${eta} left`,
      ];
      return fitBar(width, p.lastIt, p.total, fields, '  ');
    },
  };
}

export function createUi(opts: UiOptions): ConsoleUi {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const quiet = opts.quiet === true;
  const run = runProgress(opts.logEvery);
  const { p } = run;
  let bar: ReturnType<typeof liveBar> | null = null;
  const write = (s: string, stream: NodeJS.WriteStream = out) => {
    if (bar) bar.print(s, stream);
    else writeLines(stream, s);
  };
  return {
    info: (s) => {
      if (!quiet) write(s);
    },
    warn: (s) => write(`warning: ${s}`, quiet ? err : out),
    notice: (s) => write(s, err),
    startTraining(n, stepsPerEpoch?: number) {
      run.start(n, stepsPerEpoch);
      if (opts.tty && !quiet) bar = liveBar(out, n, run.barText);
    },
    iteration(e: IterationEvent) {
      run.step(e);
      if (bar) {
        bar.update(e.it);
      } else if (!quiet && (e.it % p.every === 0 || e.it === p.total)) {
        writeLines(out, `iter ${String(e.it).padStart(String(p.total).length)}/${p.total}  loss ${fmtLoss(p.lastLoss)}  lr ${e.lr.toExponential(2)}  ${run.rate().perSec.toFixed(0)} it/s`);
      }
    },
    epoch(e: EpochEvent) {
      p.epochNow = e.epoch;
      if (!quiet)
        write(`epoch ${e.epoch} (iter ${e.it}): train acc ${e.trainAcc.toFixed(3)}  val acc ${e.valAcc.toFixed(3)}${e.best ? '  (best)' : ''}  lr ${e.lr.toExponential(2)}  ${e.seconds.toFixed(1)} s`);
    },
    endTraining() {
      bar?.stop();
      bar = null;
    },
  };
}

/**
 * A sweep's bar: trials done of all, an ETA from the trials' pace so far, the best value of the
 * sweep's metric so far ("best val loss (min) 0.3412"); a trial's line prints above it. On a
 * non-TTY it draws nothing (the trial lines say it all).
 */
export function createSweepUi(opts: { tty: boolean; out?: NodeJS.WriteStream }) {
  const out = opts.out ?? process.stdout;
  let bar: ReturnType<typeof liveBar> | null = null;
  let state: SweepProgress = { done: 0, total: 0, toRun: 0, ran: 0, metric: DEFAULT_METRIC, best: null };
  let t0 = 0;
  const text = (width: number) => {
    const secs = (performance.now() - t0) / 1000;
    const left = state.ran > 0 ? fmtDuration(((state.toRun - state.ran) * secs) / state.ran) : '?';
    return fitBar(width, state.done, state.total, [`trials ${state.done}/${state.total}`, showBest(state.metric, state.best), `${fmtDuration(secs)} elapsed`, `${left} left`], '  ');
  };
  return {
    line: (s: string) => {
      if (bar) bar.print(s);
      else writeLines(out, s);
    },
    /** Trials done (earlier ones included) of `total`; `ran` of `toRun` were run by this invocation. */
    progress(p: SweepProgress) {
      state = p;
      if (!opts.tty) return;
      if (!bar && p.ran < p.toRun) {
        t0 = performance.now();
        bar = liveBar(out, p.total, text);
      }
      bar?.update(p.done);
      if (bar && p.ran >= p.toRun) {
        bar.stop();
        bar = null;
      }
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

function fmtLoss(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}
