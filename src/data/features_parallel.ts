/**
 * Features of many images on every core: the main thread and one worker thread per other core
 * (features_worker.ts) take runs of CHUNK images in turn from a shared counter until none are
 * left, all writing into one SharedArrayBuffer, so a worker that starts late or a core that is
 * busy elsewhere just takes fewer runs. The numbers are those of featuresOfRows, image by image.
 */
import * as os from 'node:os';
import { startWorker } from '../linalg/worker_threads.js';
import { type FeatureParams, featureDim, featuresOfRows } from './features.js';

/** Below this many images a worker costs more than it saves. */
const MIN_PER_THREAD = 2000;
/** Images per run taken from the counter. */
const CHUNK = 500;

export interface FeatureJob {
  /** n images of h·w·c bytes. */
  pixels: SharedArrayBuffer;
  n: number;
  shape: [number, number, number];
  params: FeatureParams;
  /** n × dim float64. */
  out: SharedArrayBuffer;
  /** Int32 [next run]. */
  counter: SharedArrayBuffer;
}

/** Take runs from the job's counter until none are left. */
export function workOn(job: FeatureJob): void {
  const dim = featureDim(job.shape, job.params);
  const px = job.shape[0] * job.shape[1] * job.shape[2];
  const x = new Uint8Array(job.pixels);
  const out = new Float64Array(job.out);
  const next = new Int32Array(job.counter);
  for (let c = Atomics.add(next, 0, 1); c * CHUNK < job.n; c = Atomics.add(next, 0, 1)) {
    const start = c * CHUNK;
    const count = Math.min(CHUNK, job.n - start);
    featuresOfRows(x.subarray(start * px, (start + count) * px), 0, count, job.shape, job.params, out.subarray(start * dim, (start + count) * dim));
  }
}

/** Features of the `n` images in `x` (rows of h·w·c bytes): n × featureDim numbers, float64. */
export async function computeFeatures(x: Uint8Array, n: number, shape: [number, number, number], params: FeatureParams, opts: { threads?: number } = {}): Promise<Float64Array> {
  const dim = featureDim(shape, params);
  const px = shape[0] * shape[1] * shape[2];
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), Math.floor(n / MIN_PER_THREAD)));
  if (threads === 1) return featuresOfRows(x, 0, n, shape, params);
  let pixels: SharedArrayBuffer;
  if (x.buffer instanceof SharedArrayBuffer && x.byteOffset === 0 && x.length === n * px) pixels = x.buffer;
  else {
    pixels = new SharedArrayBuffer(n * px);
    new Uint8Array(pixels).set(x.subarray(0, n * px));
  }
  const job: FeatureJob = { pixels, n, shape, params, out: new SharedArrayBuffer(n * dim * 8), counter: new SharedArrayBuffer(4) };
  const running: Promise<void>[] = [];
  for (let t = 1; t < threads; t++) {
    const w = startWorker(import.meta.url, 'features_worker', job);
    running.push(
      new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
        w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a features worker exited with code ${code}`))));
      }).finally(() => void w.terminate()),
    );
  }
  workOn(job);
  await Promise.all(running);
  return new Float64Array(job.out);
}
