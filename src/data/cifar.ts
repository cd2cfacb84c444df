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
import { openRegularFile, readRegularFile } from './files.js';

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

/** Records in each batch file of CIFAR-10, and so the largest a batch file can be. */
export const CIFAR_BATCH_RECORDS = 10000;
export const CIFAR_BATCH_BYTES = CIFAR_BATCH_RECORDS * CIFAR_RECORD; // 30,730,000
/** Largest batches.meta.txt accepted (CIFAR-10's is 61 bytes: ten short names, one per line). */
export const CIFAR_META_BYTES = 4096;
/** Longest class name accepted. */
export const CIFAR_CLASS_NAME_MAX = 64;
const BATCH_WHAT = `a CIFAR-10 batch file (at most ${CIFAR_BATCH_RECORDS.toLocaleString('en-US')} records of 3,073 bytes)`;

/** The error for a batch of `length` bytes that is not a whole number of records. */
function lengthError(name: string, length: number): DataError {
  const whole = Math.floor(length / CIFAR_RECORD);
  return new DataError(
    `${name}: ${length} bytes is not a whole number of 3,073-byte CIFAR-10 records ` +
      `(${whole} records and ${length - whole * CIFAR_RECORD} bytes over); the file is truncated or not a CIFAR-10 batch. Unpack the archive again.`,
  );
}

/**
 * Decode `n` records of `buf` into rows `at`.. of `x` (HWC) and `y`; `first` is the index of
 * the first record in its file, for messages.
 */
function decodeRecords(buf: Uint8Array, n: number, x: Uint8Array, y: Uint8Array, at: number, name: string, first: number): void {
  const plane = CIFAR_SIDE * CIFAR_SIDE;
  for (let i = 0; i < n; i++) {
    const rec = i * CIFAR_RECORD;
    const label = buf[rec];
    if (label > 9) throw new DataError(`${name}: record ${first + i} has label ${label}; CIFAR-10 labels are 0-9, so the file is corrupt`);
    y[at + i] = label;
    const src = rec + 1;
    const dst = (at + i) * CIFAR_PIXELS;
    for (let p = 0; p < plane; p++) {
      x[dst + 3 * p] = buf[src + p];
      x[dst + 3 * p + 1] = buf[src + plane + p];
      x[dst + 3 * p + 2] = buf[src + 2 * plane + p];
    }
  }
}

/** Parse one batch file's bytes. `name` is used in error messages. */
export function parseCifarBatch(buf: Uint8Array, name: string): CifarBatch {
  if (buf.length === 0 || buf.length % CIFAR_RECORD !== 0) throw lengthError(name, buf.length);
  const n = buf.length / CIFAR_RECORD;
  const x = new Uint8Array(n * CIFAR_PIXELS);
  const y = new Uint8Array(n);
  decodeRecords(buf, n, x, y, 0, name, 0);
  return { x, y, n };
}

/**
 * Read and concatenate batch files from `dir`. Each must be a regular file of whole records and
 * at most one CIFAR-10 batch long; all are checked before anything is read, and the records are
 * decoded straight into the one output array, a thousand at a time.
 */
export function readCifarBatches(dir: string, files: string[]): CifarBatch {
  const opened: { file: string; fd: number; n: number }[] = [];
  try {
    for (const f of files) {
      const file = path.join(dir, f);
      if (!fs.existsSync(file)) {
        throw new DataError(`cannot read ${file}: it does not exist. A cifar-10-batches-bin folder holds ${[...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].join(', ')}.`);
      }
      const { fd, size } = openRegularFile(file, CIFAR_BATCH_BYTES, BATCH_WHAT);
      opened.push({ file, fd, n: size / CIFAR_RECORD });
      if (size === 0 || size % CIFAR_RECORD !== 0) throw lengthError(file, size);
    }
    const n = opened.reduce((s, o) => s + o.n, 0);
    const x = new Uint8Array(n * CIFAR_PIXELS);
    const y = new Uint8Array(n);
    const chunk = Buffer.alloc(1000 * CIFAR_RECORD);
    let at = 0;
    for (const o of opened) {
      for (let done = 0; done < o.n;) {
        const k = Math.min(1000, o.n - done);
        const want = k * CIFAR_RECORD;
        let got = 0;
        let r: number;
        while (got < want && (r = fs.readSync(o.fd, chunk, got, want - got, done * CIFAR_RECORD + got)) > 0) got += r;
        if (got < want) throw new DataError(`${o.file} shrank while it was read; read it again when nothing is writing to it`);
        decodeRecords(chunk, k, x, y, at, o.file, done);
        done += k;
        at += k;
      }
    }
    return { x, y, n };
  } finally {
    for (const o of opened) fs.closeSync(o.fd);
  }
}

/**
 * Class names from batches.meta.txt, or the standard ones if the file is absent. The names are
 * shown in the console and the reports, so each must be printable text (no control or escape
 * characters), at most 64 characters, and all ten different.
 */
export function readCifarClasses(dir: string): string[] {
  const file = path.join(dir, 'batches.meta.txt');
  if (!fs.existsSync(file)) return CIFAR_CLASSES.slice();
  return parseCifarClasses(readRegularFile(file, CIFAR_META_BYTES, 'batches.meta.txt, the ten CIFAR-10 class names one per line').toString('utf8'), file);
}

/** Class names from the text of batches.meta.txt (`file` names it in messages), checked as readCifarClasses says. */
export function parseCifarClasses(text: string, file: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length !== 10) throw new DataError(`${file}: expected 10 class names, one per line; found ${names.length}`);
  names.forEach((name, i) => {
    // \p{C}: control, format (bidi overrides, zero-width), unassigned and private-use characters, and lone surrogates (a decoding error's U+FFFD is refused too).
    if (/[\p{C}\uFFFD]/u.test(name)) {
      throw new DataError(
        `${file}: class name ${i + 1}, ${JSON.stringify(name)}, holds a control or invisible character; class names are printable text, one per line (CIFAR-10's are airplane, automobile, …)`,
      );
    }
    if ([...name].length > CIFAR_CLASS_NAME_MAX) {
      throw new DataError(
        `${file}: class name ${i + 1} is ${[...name].length} characters long; class names are at most ${CIFAR_CLASS_NAME_MAX} (it starts ${JSON.stringify([...name].slice(0, 20).join(''))})`,
      );
    }
  });
  const dups = [...new Set(names.filter((n, i) => names.indexOf(n) !== i))];
  if (dups.length > 0) {
    throw new DataError(`${file}: class names must all differ, but ${dups.map((d) => JSON.stringify(d)).join(', ')} ${dups.length > 1 ? 'appear' : 'appears'} more than once`);
  }
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
