/**
 * Starting a worker thread from a module beside the caller, both from the build (dist/*.js) and
 * from src/ through tsx (the tests and benchmarks run the .ts files). Node 20 does not apply the
 * main thread's `--import tsx` hooks to worker threads, so there the worker registers tsx first.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';

/**
 * A worker running module `name` (without extension) from the folder of `callerUrl`, the caller's
 * import.meta.url.
 */
export function startWorker(callerUrl: string, name: string, workerData: unknown, transferList: TransferListItem[] = []): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), { workerData, transferList });
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { eval: true, workerData, transferList });
}
