/** The bounds of a queue worker's own options, for the CLI's flags and runQueueWorker alike (no queue library loaded). */
import * as os from 'node:os';

/**
 * The bounds of a worker's own numbers. A lock longer than an hour leaves a killed worker's trial
 * waiting that long (and past 2³¹ ms Node's timers overflow to 1 ms, renewing in a busy loop);
 * more engine threads than 64 (or the host's cores, when more) only oversubscribe the host.
 */
export function workerLimits() {
  return {
    lockSeconds: { min: 1, max: 3600 },
    threads: { min: 1, max: Math.max(64, os.availableParallelism()) },
  } as const;
}
