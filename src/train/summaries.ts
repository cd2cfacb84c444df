/**
 * How a run ended, as its summary.json says: finished (ok, perhaps stopped early), interrupted
 * (a stop request: last.ckpt resumes it) or diverged (the loss was no longer finite). The error
 * a failed run throws is mapped here to its summary, written before the error goes on up.
 */
import { makeSummary, type RunFacts, type Summary } from '../runs/summary.js';
import type { Notes, RunRecorder } from './recorder.js';
import { DivergedError, InterruptedError, type TrainResult } from './trainer.js';
import { readKernelText } from '../io/files.js';

/**
 * Peak resident memory of this process so far, in MB. On Linux it is VmHWM from /proc/self/status:
 * getrusage's maxRSS of a process started by another carries over the parent's resident size at
 * the fork (a 1.6 GB benchmark made its 0.9 GB child report 1.6 GB).
 */
export function peakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readKernelText('/proc/self/status', 64 << 10));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    /* not Linux */
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/**
 * The summary of a run that threw `err`, written (an interrupted run's last.ckpt first), when
 * `err` is a stop or a divergence; any other error leaves the folder without one.
 */
export function recordFailure(err: unknown, rec: RunRecorder, facts: RunFacts): void {
  const { dir, log } = rec;
  if (err instanceof InterruptedError) {
    rec.saveLast(err.point);
    const st = err.point.state;
    rec.summary(
      makeSummary(facts, {
        status: 'interrupted',
        error: `stopped at step ${st.it} of ${facts.iterations}; resume with: npx train --resume ${dir}`,
        bestValAcc: st.bestValAcc >= 0 ? st.bestValAcc : null,
        bestEpoch: st.bestEpoch || null,
        seconds: rec.seconds('interrupted'),
        checkpoint: rec.savedCheckpoint,
      }),
    );
    log.warn({ it: st.it }, 'interrupted');
    err.dir = dir;
  }
  if (err instanceof DivergedError) {
    rec.summary(makeSummary(facts, { status: 'diverged', error: err.message, finalLoss: err.loss, seconds: rec.seconds('diverged'), checkpoint: rec.savedCheckpoint }));
    log.error({ it: err.it, loss: err.loss, lr: err.lr }, err.message);
  }
}

/**
 * The summary of a finished run: the last losses, the accuracies, the test accuracy of the best
 * parameters (null when not measured), the speed of this process's steps (from step `startIt`).
 * A run stopped by its patience says at which epoch, in the summary and the log.
 */
export function recordSuccess(rec: RunRecorder, facts: RunFacts, result: TrainResult, end: { testAcc: number | null; startIt: number; trainSeconds: number; ui: Notes }): Summary {
  const { testAcc, startIt, trainSeconds } = end;
  const steps = result.stoppedEarly?.it ?? facts.iterations;
  const last = result.lossHistory.subarray(Math.max(0, steps - 10), steps);
  const summary = makeSummary(facts, {
    status: 'ok',
    finalLoss: last.reduce((s, v) => s + v, 0) / last.length,
    finalTrainAcc: result.finalTrainAcc,
    finalValAcc: result.finalValAcc,
    bestValAcc: result.bestValAcc,
    bestTrainAcc: result.trainAccHistory[result.bestEpoch - 1] ?? null,
    bestEpoch: result.bestEpoch,
    testAcc,
    ...(result.stoppedEarly ? { stoppedEarly: { ...result.stoppedEarly, patience: rec.cfg.patience! } } : {}),
    seconds: rec.seconds('ok'),
    examplesPerSecond: steps > startIt ? Math.round(((steps - startIt) * rec.cfg.batchSize) / trainSeconds) : null,
    peakRssMB: peakRssMB(),
    checkpoint: rec.savedCheckpoint,
  });
  if (result.stoppedEarly) {
    const { epoch, it } = result.stoppedEarly;
    rec.log.info({ epoch, it, patience: rec.cfg.patience, bestEpoch: result.bestEpoch }, 'stopped early');
    end.ui.info(`stopped early after epoch ${epoch} of ${facts.epochs} (step ${it}): no better val acc for ${rec.cfg.patience} epochs since epoch ${result.bestEpoch}`);
  }
  rec.summary(summary);
  rec.log.info(summary, 'summary');
  return summary;
}
