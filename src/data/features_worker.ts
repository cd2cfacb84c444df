/** A worker thread of features_parallel.ts: one run of images' features into the shared output. */
import { parentPort, workerData } from 'node:worker_threads';
import { featureDim, featuresOfRows } from './features.js';
import type { FeatureJob } from './features_parallel.js';

const job = workerData as FeatureJob;
const dim = featureDim(job.shape, job.params);
featuresOfRows(new Uint8Array(job.pixels), 0, job.count, job.shape, job.params, new Float64Array(job.out, job.outOffset * 8, job.count * dim));
parentPort!.postMessage('done');
