/** A worker thread of features_parallel.ts: runs of images' features into the shared output until none are left. */
import { parentPort, workerData } from 'node:worker_threads';
import { type FeatureJob, workOn } from './features_parallel.js';

workOn(workerData as FeatureJob);
parentPort!.postMessage('done');
