/**
 * A sweep worker thread. It receives the preprocessed data once (its rows live in
 * SharedArrayBuffers, so every worker reads the one copy the main thread made), starts its own
 * matmul engine, then trains one trial per message, each into an ordinary run folder.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import type { Config } from '../config/config.js';
import { trainOnData, type RunData, type RunUi } from '../train/run.js';
import { DivergedError } from '../train/trainer.js';
import { buildRunReport } from '../report/run_report.js';
import type { FromWorker, ToWorker } from './protocol.js';

const init = workerData as { runData: RunData; backend: BackendChoice; threads: number };
const port = parentPort!;
// The workers share the cores instead of each engine taking all of them.
const { engine, skipped } = await initEngine(init.backend, init.threads);

/** Trials print nothing: the main thread reports each finished trial as a table row. */
const quiet: RunUi = { info() {}, warn() {}, startTraining() {}, iteration() {}, epoch() {}, endTraining() {} };

port.on('message', async (msg: ToWorker) => {
  const { index, dir } = msg;
  const cfg: Config = msg.config;
  let reply: FromWorker;
  try {
    const { summary } = await trainOnData(cfg, init.runData, quiet, { dir, engine, skipped, evaluateTest: false, resume: msg.resume });
    reply = { type: 'done', index, summary };
  } catch (e) {
    // A diverged trial has written its summary; either way the sweep records the reason and goes on.
    reply = { type: 'failed', index, diverged: e instanceof DivergedError, reason: e instanceof Error ? e.message : String(e) };
  }
  if (reply.type === 'done' || (reply.type === 'failed' && reply.diverged)) {
    try {
      await buildRunReport(dir, init.runData.data.test);
    } catch {
      /* the trial's numbers stand without its pictures; `train report` can rebuild them */
    }
  }
  port.postMessage(reply);
});
port.postMessage({ type: 'ready', engine: engine.name } satisfies FromWorker);
