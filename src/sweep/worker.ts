/**
 * A sweep worker thread. It receives the preprocessed data once (its rows live in
 * SharedArrayBuffers, so every worker reads the one copy the main thread made), starts its own
 * matmul engine, then trains one trial per message, each into an ordinary run folder. The local
 * pool (sweep.ts) and a queue worker process (queue_worker.ts) both train through this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as fs from 'node:fs';
import { EngineError, initEngine, type BackendChoice, type EngineSelection } from '../linalg/engine.js';
import type { Config } from '../config/config.js';
import { DataError } from '../data/errors.js';
import { readJsonl } from '../runs/jsonl.js';
import { runFile } from '../runs/layout.js';
import { loadRunData, runTraining, type RunData, type RunUi } from '../train/run.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { buildRunReport } from '../report/run_report.js';
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

/** A resumed trial's val accuracies of the epochs before `epoch`, from its folder's metrics.jsonl (cut back to its checkpoint by the resume). */
function valHistoryOf(dir: string, epoch: number): number[] {
  const f = runFile(dir, 'metrics');
  const rows = fs.existsSync(f) ? (readJsonl(f) as { type?: unknown; epoch?: unknown; valAcc?: unknown }[]) : [];
  return rows.filter((r) => r.type === 'epoch' && typeof r.epoch === 'number' && r.epoch < epoch).map((r) => r.valAcc as number);
}

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
    if (valHistory.length < e.epoch - 1) valHistory.splice(0, valHistory.length, ...valHistoryOf(dir, e.epoch)); // resumed: the epochs before it
    valHistory.push(e.valAcc);
    if (!msg.scheduled) return port.postMessage({ type: 'epoch', index, epoch: e.epoch, valAcc: e.valAcc, valHistory: [] } satisfies FromWorker);
    Atomics.store(cell, 0, DECISION.pending);
    port.postMessage({ type: 'epoch', index, epoch: e.epoch, valAcc: e.valAcc, valHistory: [...valHistory] } satisfies FromWorker);
    Atomics.wait(cell, 0, DECISION.pending);
    stopAsked = Atomics.load(cell, 0) === DECISION.stop;
  };
  try {
    const run = { cfg, runData, dir, engine: selection, resume: msg.resume };
    const { summary } = await runTraining(run, quiet, {
      evaluateTest: false,
      afterEpoch: onEpoch,
      claim: msg.claim,
      clear: msg.clear,
      // Asked after every step: the scheduler's stop, or the stop cell (the sweep cancelled or signalled; a queue worker that lost the trial's job).
      shouldStop: () => stopAsked || Atomics.load(cell, STOP_CELL) !== 0,
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
    } else if (e instanceof InterruptedError && Atomics.load(cell, STOP_CELL) !== 0) {
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
port.postMessage({ type: 'ready', engine: selection.engine.name, numTrain: runData.data.train.n } satisfies FromWorker);
