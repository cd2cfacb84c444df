/**
 * Console output of a run: readable lines, a cli-progress bar when stdout is a TTY, and plain
 * periodic progress lines when it is not (CI, pipes, log files).
 */
import cliProgress from 'cli-progress';
import type { RunUi } from '../train/run.js';
import type { EpochEvent, IterationEvent } from '../train/trainer.js';

export function createUi(opts: { tty: boolean; logEvery: number; out?: NodeJS.WriteStream }): RunUi {
  const out = opts.out ?? process.stdout;
  const line = (s: string) => out.write(s + '\n');
  let bar: cliProgress.SingleBar | null = null;
  let total = 0;
  let every = 1;
  let t0 = 0;
  let lastLoss = NaN;
  let smooth = NaN;

  const print = (s: string) => {
    if (bar) bar.stop();
    line(s);
    if (bar) {
      bar = makeBar();
      bar.start(total, lastIt, { loss: fmtLoss(smooth), lr: '' });
    }
  };
  let lastIt = 0;
  const makeBar = () =>
    new cliProgress.SingleBar(
      {
        format: '  {bar} {percentage}% | iter {value}/{total} | loss {loss} | {eta_formatted} left',
        hideCursor: true,
        clearOnComplete: true,
        stream: out,
        etaBuffer: 200,
      },
      cliProgress.Presets.shades_classic,
    );

  return {
    info: (s) => print(s),
    warn: (s) => print(`warning: ${s}`),
    startTraining(n) {
      total = n;
      every = opts.logEvery > 0 ? opts.logEvery : Math.max(1, Math.round(n / 20));
      t0 = performance.now();
      if (opts.tty) {
        bar = makeBar();
        bar.start(n, 0, { loss: '-', lr: '' });
      }
    },
    iteration(e: IterationEvent) {
      lastIt = e.it;
      lastLoss = e.loss;
      smooth = Number.isNaN(smooth) ? e.loss : 0.98 * smooth + 0.02 * e.loss;
      if (bar) {
        bar.update(e.it, { loss: fmtLoss(smooth) });
      } else if (e.it % every === 0 || e.it === total) {
        const secs = (performance.now() - t0) / 1000;
        line(`iter ${String(e.it).padStart(String(total).length)}/${total}  loss ${fmtLoss(lastLoss)}  lr ${e.lr.toExponential(2)}  ${(e.it / secs).toFixed(0)} it/s`);
      }
    },
    epoch(e: EpochEvent) {
      print(`epoch ${e.epoch} (iter ${e.it}): train acc ${e.trainAcc.toFixed(3)}  val acc ${e.valAcc.toFixed(3)}${e.best ? '  (best)' : ''}  lr ${e.lr.toExponential(2)}  ${e.seconds.toFixed(1)} s`);
    },
    endTraining() {
      if (bar) {
        bar.stop();
        bar = null;
      }
    },
  };
}

function fmtLoss(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}
