/** `train worker`: pull sweep trials from a Redis queue and train them, until stopped. */
import * as os from 'node:os';
import type { Argv } from 'yargs';
import { keyKinds } from '../../config/keys.js';
import { workerLimits } from '../../sweep/worker_limits.js';
import { writeLines } from '../output.js';
import { configFlags, configOption, flagValues, optionsOf } from '../options.js';
import { queueUrlOptions, requireQueueUrl } from '../queue_url.js';

const { int, num } = keyKinds();

/** The worker's own number flags, with their bounds (made when the worker command is used: they ask the host for its cores). */
const workerFlags = () => ({
  lockSeconds: num({ ...workerLimits().lockSeconds, default: 30, doc: 'a worker silent this long is taken for dead and its trial handed to another' }),
  threads: int({ ...workerLimits().threads, doc: 'engine threads (openblas, simd, wasm)', defaultText: `the cores (${os.availableParallelism()}) / the worker processes on this host` }),
});

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const builder = (y: Argv) =>
  y
    .options(queueUrlOptions('the Redis of the sweep'))
    .options(optionsOf(workerFlags()))
    .options(configOption('dataDir', { describe: "dataset location on this host (a job's own is never used)", defaultDescription: 'the data root' }))
    .options(configOption('verify', { describe: "check a downloaded archive's hash (a job's own setting is never used)" }))
    .options(configOption('runsDir', { describe: 'the runs folder this worker writes into (shared with the coordinator); a job for a sweep folder outside it is refused' }))
    .options(configOption('backend'));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  // Every flag is read and checked first, as every command's are, before the queue is looked for.
  const { lockSeconds, threads } = flagValues(argv, workerFlags());
  const { dataDir, backend, runsDir, verify } = configFlags(argv, ['dataDir', 'backend', 'runsDir', 'verify']);
  const url = requireQueueUrl(argv, (l) => writeLines(process.stderr, l), 'worker');
  // cli/errors.ts comes now, not on failure: a connection that fails for good may have sockets that
  // say so again while it would load, and those must find the process already on its way out.
  const [{ runQueueWorker }] = await Promise.all([import('../../sweep/queue_worker.js'), import('../errors.js')]);
  const w = await runQueueWorker({
    url,
    out: (l) => writeLines(process.stdout, l),
    lockSeconds,
    ...(threads !== undefined ? { threads } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(verify !== undefined ? { verify } : {}),
    ...(runsDir !== undefined ? { runsDir } : {}),
    ...(backend !== undefined ? { backend } : {}),
  });
  // A worker that cannot train here (its runs folder, its data) has said why and put its job back: it leaves, exit 1.
  void w.unfit.then(() => w.close().then(() => process.exit(1)));
  // SIGINT/SIGTERM: stop taking trials and leave; a trial in flight carries on from its checkpoint on another worker.
  for (const sig of STOP_SIGNALS) process.once(sig, () => void w.close().then(() => process.exit(128 + os.constants.signals[sig])));
  // Until then; a permanent connection error (a wrong password, an untrusted certificate) ends it with its reason.
  await w.done;
}
