/**
 * A sweep's training thread. It receives the preprocessed data once (its rows live in
 * SharedArrayBuffers, so every thread reads the one copy the main thread made) or prepares it
 * (a queue worker's), chooses its own matmul engine once, here at its entry, then trains one
 * trial per message, each into an ordinary run folder. The local pool (pool.ts) and a queue
 * worker process (queue_worker.ts) both train through this thread and follow its messages with
 * trial.ts trainOnThread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EngineError, initEngine, type BackendChoice, type EngineSelection } from '../linalg/engine.js';
import type { Config } from '../config/config.js';
import { DataError } from '../data/errors.js';
import { loadRunData, runTraining, type RunData, type RunUi } from '../train/run.js';
import { DivergedError, InterruptedError, type EpochEvent } from '../train/trainer.js';
import { buildRunReport } from '../report/run_report.js';
import { DEFAULT_METRIC, epochRows, type Metric, ofEpochRow } from './metric.js';
import { DECISION, STOP_CELL, type FromWorker, type StoppedInfo, type ToWorker } from './protocol.js';

/** The local pool hands over the data it prepared; a queue worker's thread prepares it itself, off the process's event loop, once. */
const init = workerData as { runData?: RunData; dataConfig?: Config; backend: BackendChoice; threads: number; decision: SharedArrayBuffer };
const port = parentPort!;
const cell = new Int32Array(init.decision);
/** The engine and the data, or (a queue worker's thread) why this host cannot have them: a missing dataset or engine is about the host, not the trial. */
async function prepare(): Promise<{ selection: EngineSelection; runData: RunData }> {
  try {
    // The thread's engine, chosen once; the workers share the cores instead of each engine taking all of them.
    const selection = await initEngine(init.backend, init.threads);
    return { selection, runData: init.runData ?? (await loadRunData(init.dataConfig!, { shared: true })) };
  } catch (e) {
    // Said on the error itself (its own fields cross to the 'error' event), so it arrives with it.
    if (e instanceof DataError || e instanceof EngineError) Object.assign(e, { aboutHost: true });
    throw e;
  }
}
const { selection, runData } = await prepare();

/** A resumed trial's values of metric `m` in the epochs before `epoch`, from its folder's metrics.jsonl (cut back to its checkpoint by the resume). */
function valHistoryOf(dir: string, epoch: number, m: Metric): number[] {
  return epochRows(dir)
    .filter((r) => typeof r.epoch === 'number' && r.epoch < epoch)
    .map((r) => ofEpochRow(m, r));
}

/** Trials print nothing: the main thread reports each finished trial as a table row. */
const quiet: RunUi = { info() {}, warn() {}, startTraining() {}, iteration() {}, epoch() {}, endTraining() {} };

/** One trial's exchange with the scheduler: its values of the sweep's metric so far, and whether it was told to stop. */
interface Asked {
  valHistory: number[];
  stop: boolean;
}

/**
 * After each epoch: report it (a queue worker shows it as the job's progress) and, for a scheduled
 * trial, wait for the scheduler's word, so the stop lands on that epoch's end.
 */
function reportEpoch(msg: ToWorker, asked: Asked, e: EpochEvent): void {
  const h = asked.valHistory;
  const m = msg.metric ?? DEFAULT_METRIC;
  if (h.length < e.epoch - 1) h.splice(0, h.length, ...valHistoryOf(msg.dir, e.epoch, m)); // resumed: the epochs before it
  h.push(ofEpochRow(m, { ...e }));
  askScheduler(msg, asked, e.epoch, e.valAcc);
}

/**
 * A scheduled trial resumed at the end of epoch `epoch` asks about that epoch again: it may have
 * been killed before the word came. The rungs are keyed by the trial, so the word is the one it
 * got before, or the one it would have got.
 */
function reaskEpoch(msg: ToWorker, asked: Asked, epoch: number, valAcc: number): void {
  if (!msg.scheduled) return;
  asked.valHistory = valHistoryOf(msg.dir, epoch + 1, msg.metric ?? DEFAULT_METRIC);
  askScheduler(msg, asked, epoch, valAcc);
}

/** Post epoch `epoch`'s message; a scheduled trial waits for the word in its decision cell. */
function askScheduler(msg: ToWorker, asked: Asked, epoch: number, valAcc: number): void {
  const { index } = msg;
  if (!msg.scheduled) return port.postMessage({ type: 'epoch', index, epoch, valAcc, valHistory: [] } satisfies FromWorker);
  Atomics.store(cell, 0, DECISION.pending);
  port.postMessage({ type: 'epoch', index, epoch, valAcc, valHistory: [...asked.valHistory] } satisfies FromWorker);
  Atomics.wait(cell, 0, DECISION.pending);
  asked.stop = Atomics.load(cell, 0) === DECISION.stop;
}

/** Train `msg`'s trial into its folder; the reply says how it ended. */
async function trainTrial(msg: ToWorker): Promise<FromWorker> {
  const { index, dir } = msg;
  const t0 = performance.now();
  const asked: Asked = { valHistory: [], stop: false };
  try {
    const run = { cfg: msg.config, runData, dir, engine: selection, resume: msg.resume };
    const { summary } = await runTraining(run, quiet, {
      evaluateTest: false,
      afterEpoch: (e) => reportEpoch(msg, asked, e),
      afterEpochResumed: (epoch, valAcc) => reaskEpoch(msg, asked, epoch, valAcc),
      claim: msg.claim,
      clear: msg.clear,
      // Asked after every step: the scheduler's stop, or the stop cell (the sweep cancelled or signalled; a queue worker that lost the trial's job).
      shouldStop: () => asked.stop || Atomics.load(cell, STOP_CELL) !== 0,
    });
    return { type: 'done', index, summary };
  } catch (e) {
    return failureReply(index, e, asked.stop, t0);
  }
}

/** The reply for a trial that threw: stopped by the scheduler, cancelled, or failed (diverged or not). */
function failureReply(index: number, e: unknown, stopAsked: boolean, t0: number): FromWorker {
  if (e instanceof InterruptedError && stopAsked) {
    // Stopped by the scheduler at an epoch's end: last.ckpt and the summary are written. The
    // main thread, which knows the reason, writes stopped.json (that the stop is final).
    const st = e.point.state;
    const stopped: StoppedInfo = {
      lastEpoch: st.epoch,
      bestValAcc: st.bestValAcc >= 0 ? st.bestValAcc : null,
      bestTrainAcc: st.bestEpoch > 0 ? st.trainAccHistory[st.bestEpoch - 1] : null,
      bestEpoch: st.bestEpoch || null,
      reason: '',
      seconds: Math.round(performance.now() - t0) / 1000,
    };
    return { type: 'stopped', index, stopped };
  }
  if (e instanceof InterruptedError && Atomics.load(cell, STOP_CELL) !== 0) {
    return { type: 'failed', index, diverged: false, reason: `cancelled: stopped at step ${e.point.state.it}; its last checkpoint resumes it when the sweep runs again` };
  }
  // A diverged trial has written its summary; either way the sweep records the reason and goes on.
  return { type: 'failed', index, diverged: e instanceof DivergedError, reason: e instanceof Error ? e.message : String(e) };
}

/** A trial that trained (finished, stopped, or diverged) gets its report when asked for it; the reply goes back after it. */
async function onTrial(msg: ToWorker): Promise<void> {
  const reply = await trainTrial(msg);
  if (!msg.report) return port.postMessage(reply);
  if (reply.type === 'done' || reply.type === 'stopped' || (reply.type === 'failed' && reply.diverged)) {
    try {
      await buildRunReport(msg.dir, runData.data.test);
    } catch {
      /* the trial's numbers stand without its pictures; `train report` can rebuild them */
    }
  }
  port.postMessage(reply);
}

port.on('message', (msg: ToWorker) => void onTrial(msg));
port.postMessage({ type: 'ready', engine: selection.engine.name, numTrain: runData.data.train.n } satisfies FromWorker);
