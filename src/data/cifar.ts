/**
 * The CIFAR-10 binary layout (https://www.cs.toronto.edu/~kriz/cifar.html):
 *
 *   cifar-10-batches-bin/data_batch_{1..5}.bin, test_batch.bin   10,000 records each
 *   record = 1 label byte (0-9) + 3,072 pixel bytes: the 32×32 red plane, then green, then blue
 *   cifar-10-batches-bin/batches.meta.txt                        the class names, one per line
 *
 * Rows are returned in height × width × channel order (r,g,b of pixel 0, then of pixel 1, …), the
 * order cs231n's loader produces with `X.reshape(N, 3, 32, 32).transpose(0, 2, 3, 1)`, so a row
 * or a weight column reshapes straight into a 32×32×3 image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors.js';

export const CIFAR_SIDE = 32;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE * 3; // 3072
export const CIFAR_RECORD = 1 + CIFAR_PIXELS; // 3073
export const CIFAR_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export interface CifarBatch {
  /** n × 3072 pixels, HWC order. */
  x: Uint8Array;
  y: Uint8Array;
  n: number;
}

/** Parse one batch file's bytes. `name` is used in error messages. */
export function parseCifarBatch(buf: Uint8Array, name: string): CifarBatch {
  if (buf.length === 0 || buf.length % CIFAR_RECORD !== 0) {
    const whole = Math.floor(buf.length / CIFAR_RECORD);
    throw new DataError(
      `${name}: ${buf.length} bytes is not a whole number of 3,073-byte CIFAR-10 records ` +
        `(${whole} records and ${buf.length - whole * CIFAR_RECORD} bytes over); the file is truncated or not a CIFAR-10 batch. Unpack the archive again.`,
    );
  }
  const n = buf.length / CIFAR_RECORD;
  const x = new Uint8Array(n * CIFAR_PIXELS);
  const y = new Uint8Array(n);
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR_RECORD;
    const label = buf[rec];
    if (label > 9) throw new DataError(`${name}: record ${i} has label ${label}; CIFAR-10 labels are 0-9, so the file is corrupt`);
    y[i] = label;
    const src = rec + 1;
    const dst = i * CIFAR_PIXELS;
    for (let p = 0; p < plane; p++) {
      x[dst + 3 * p] = buf[src + p];
      x[dst + 3 * p + 1] = buf[src + plane + p];
      x[dst + 3 * p + 2] = buf[src + 2 * plane + p];
    }
  }
  return { x, y, n };
}

/** Read and concatenate batch files from `dir`. */
export function readCifarBatches(dir: string, files: string[]): CifarBatch {
  const parts = files.map((f) => {
    const file = path.join(dir, f);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      throw new DataError(`cannot read ${file}: ${(e as Error).message}. A cifar-10-batches-bin folder holds ${[...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].join(', ')}.`);
    }
    return parseCifarBatch(buf, file);
  });
  const n = parts.reduce((s, p) => s + p.n, 0);
  const x = new Uint8Array(n * CIFAR_PIXELS);
  const y = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * CIFAR_PIXELS);
    y.set(p.y, at);
    at += p.n;
  }
  return { x, y, n };
}

/** Class names from batches.meta.txt, or the standard ones if the file is absent. */
export function readCifarClasses(dir: string): string[] {
  const file = path.join(dir, 'batches.meta.txt');
  if (!fs.existsSync(file)) return CIFAR_CLASSES.slice();
  const names = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== 10) throw new DataError(`${file}: expected 10 class names, one per line; found ${names.length}`);
  return names;
}

/** True if `dir` looks like a cifar-10-batches-bin folder. */
export function isCifarBatchDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, CIFAR_TEST_FILE)) && fs.existsSync(path.join(dir, CIFAR_TRAIN_FILES[0]));
}

/** Encode records in the file layout (used by tests to write fixtures). `x` is HWC like parse output. */
export function encodeCifarBatch(x: Uint8Array, y: ArrayLike<number>): Buffer {
  const n = y.length;
  const out = Buffer.alloc(n * CIFAR_RECORD);
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR_RECORD;
    out[rec] = y[i];
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) out[rec + 1 + c * plane + p] = x[i * CIFAR_PIXELS + 3 * p + c];
    }
  }
  return out;
}
