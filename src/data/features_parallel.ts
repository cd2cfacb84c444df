/**
 * Features of many images on every core: the rows are cut into equal runs, the main thread
 * computes the first and one worker thread (features_worker.ts) each of the others, all writing
 * into one SharedArrayBuffer. The numbers are those of featuresOfRows, image by image.
 */
import * as os from 'node:os';
import { startWorker } from '../linalg/worker_threads.js';
import { type FeatureParams, featureDim, featuresOfRows } from './features.js';

/** Below this many images a worker costs more than it saves. */
const MIN_PER_THREAD = 2000;

export interface FeatureJob {
  pixels: SharedArrayBuffer;
  count: number;
  shape: [number, number, number];
  params: FeatureParams;
  out: SharedArrayBuffer;
  outOffset: number;
}

/** Features of the `n` images in `x` (rows of h·w·c bytes): n × featureDim numbers, float64. */
export async function computeFeatures(x: Uint8Array, n: number, shape: [number, number, number], params: FeatureParams, opts: { threads?: number } = {}): Promise<Float64Array> {
  const dim = featureDim(shape, params);
  const px = shape[0] * shape[1] * shape[2];
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), Math.floor(n / MIN_PER_THREAD)));
  if (threads === 1) return featuresOfRows(x, 0, n, shape, params);
  const out = new SharedArrayBuffer(n * dim * 8);
  const cuts = Array.from({ length: threads + 1 }, (_, t) => Math.round((t * n) / threads));
  const running: Promise<void>[] = [];
  for (let t = 1; t < threads; t++) {
    const [a, b] = [cuts[t], cuts[t + 1]];
    const pixels = new SharedArrayBuffer((b - a) * px);
    new Uint8Array(pixels).set(x.subarray(a * px, b * px));
    const job: FeatureJob = { pixels, count: b - a, shape, params, out, outOffset: a * dim };
    const w = startWorker(import.meta.url, 'features_worker', job);
    running.push(
      new Promise<void>((resolve, reject) => {
        w.once('message', () => resolve());
        w.once('error', reject);
        w.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`a features worker exited with code ${code}`))));
      }).finally(() => void w.terminate()),
    );
  }
  featuresOfRows(x, 0, cuts[1], shape, params, new Float64Array(out, 0, cuts[1] * dim));
  await Promise.all(running);
  return new Float64Array(out);
}
