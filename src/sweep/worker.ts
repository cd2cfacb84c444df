/**
 * A sweep worker thread. It receives the preprocessed data once (its rows live in
 * SharedArrayBuffers, so every worker reads the one copy the main thread made), starts its own
 * matmul engine, then trains one trial per message, each into an ordinary run folder. The local
 * pool (sweep.ts) and a queue worker process (queue_worker.ts) both train through this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import type { Config } from '../config/config.js';
import { loadRunData, trainOnData, type RunData, type RunUi } from '../train/run.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { buildRunReport } from '../report/run_report.js';
import { CANCEL_CELL, DECISION, type FromWorker, type StoppedInfo, type ToWorker } from './protocol.js';

/** The local pool hands over the data it prepared; a queue worker's thread prepares it itself, off the process's event loop, once. */
const init = workerData as { runData?: RunData; dataConfig?: Config; backend: BackendChoice; threads: number; decision: SharedArrayBuffer };
const port = parentPort!;
const cell = new Int32Array(init.decision);
/** The sweep was cancelled (or its process signalled): stop after this step, resumable. */
const cancelled = (): boolean => cell.length > CANCEL_CELL && Atomics.load(cell, CANCEL_CELL) === 1;
// The workers share the cores instead of each engine taking all of them.
const { engine, skipped } = await initEngine(init.backend, init.threads);
const runData: RunData = init.runData ?? (await loadRunData(init.dataConfig!, { shared: true }));

/** Trials print nothing: the main thread reports each finished trial as a table row. */
const quiet: RunUi = { info() {}, warn() {}, startTraining() {}, iteration() {}, epoch() {}, endTraining() {} };

port.on('message', async (msg: ToWorker) => {
  const { index, dir } = msg;
  const cfg: Config = msg.config;
  const t0 = performance.now();
  let reply: FromWorker;
  // The scheduler's word after each epoch: asked and waited for here, so the stop lands on that epoch's end.
  let stopAsked = false;
  const valHistory: number[] = [];
  // Every epoch is reported (a queue worker shows it as the job's progress); only a scheduled trial waits for the answer.
  const onEpoch = (e: { epoch: number; valAcc: number }) => {
    valHistory.push(e.valAcc);
    if (!msg.scheduled) return port.postMessage({ type: 'epoch', index, epoch: e.epoch, valAcc: e.valAcc, valHistory: [] } satisfies FromWorker);
    Atomics.store(cell, 0, DECISION.pending);
    port.postMessage({ type: 'epoch', index, epoch: e.epoch, valAcc: e.valAcc, valHistory: [...valHistory] } satisfies FromWorker);
    Atomics.wait(cell, 0, DECISION.pending);
    stopAsked = Atomics.load(cell, 0) === DECISION.stop;
  };
  try {
    const { summary } = await trainOnData(cfg, runData, quiet, {
      dir,
      engine,
      skipped,
      evaluateTest: false,
      resume: msg.resume,
      afterEpoch: onEpoch,
      shouldStop: () => stopAsked || cancelled(),
    });
    reply = { type: 'done', index, summary };
  } catch (e) {
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
      reply = { type: 'stopped', index, stopped };
    } else if (e instanceof InterruptedError && cancelled()) {
      reply = { type: 'failed', index, diverged: false, reason: `cancelled: stopped at step ${e.point.state.it}; its last checkpoint resumes it when the sweep runs again` };
    } else {
      // A diverged trial has written its summary; either way the sweep records the reason and goes on.
      reply = { type: 'failed', index, diverged: e instanceof DivergedError, reason: e instanceof Error ? e.message : String(e) };
    }
  }
  if (reply.type === 'done' || reply.type === 'stopped' || (reply.type === 'failed' && reply.diverged)) {
    try {
      await buildRunReport(dir, runData.data.test);
    } catch {
      /* the trial's numbers stand without its pictures; `train report` can rebuild them */
    }
  }
  port.postMessage(reply);
});
port.postMessage({ type: 'ready', engine: engine.name, numTrain: runData.data.train.n } satisfies FromWorker);
