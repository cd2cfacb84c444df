/**
 * linalg/rows.ts: each unrolled or fused row pass gives its plain loop's result bit for bit
 * (compared as raw bytes), on shapes whose rows and columns are not multiples of 4, in float32
 * and float64, with signed zeros and NaN among the inputs. And bias + ReLU fused in one pass is
 * the bias add then ReLU, bit for bit, the fact the affine → ReLU sandwich rests on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FloatArray, Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { addRowVector, addRowVectorRelu, columnSums, float64Scratch, reluBackwardMask, reluInto } from '../src/linalg/rows.js';

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;
const SHAPES: [number, number][] = [
  [0, 3],
  [1, 1],
  [3, 5],
  [4, 4],
  [7, 9],
  [13, 6],
  [200, 10],
];

/** A (rows, cols) matrix of N(0,1) draws with a few −0, +0 and NaN entries mixed in. */
function randMat(C: Ctor, rows: number, cols: number, rng: Rng): Mat {
  const data = new C(rows * cols);
  rng.fillNormal(data, 1);
  for (let k = 0; k < data.length; k += 5) data[k] = [-0, 0, NaN, -data[k]][(k / 5) % 4];
  return { rows, cols, data };
}

const bytes = (a: FloatArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBits = (got: FloatArray, want: FloatArray, what: string) =>
  assert.ok(bytes(got).equals(bytes(want)), `${what}: not bit for bit the plain loop (first values ${Array.from(got.slice(0, 4))} vs ${Array.from(want.slice(0, 4))})`);
const copy = (m: Mat): Mat => ({ rows: m.rows, cols: m.cols, data: m.data.slice() });

for (const C of [Float32Array, Float64Array]) {
  test(`rows (${C.name}): columnSums, addRowVector, reluInto, reluBackwardMask and addRowVectorRelu equal their plain loops bit for bit`, () => {
    const rng = new Rng(16);
    for (const [N, M] of SHAPES) {
      const m = randMat(C, N, M, rng);
      const v = randMat(C, 1, M, rng).data;
      const at = `(${N},${M})`;

      // columnSums: float64 sums, one row at a time, in row order.
      const sums = new Float64Array(M);
      for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) sums[j] += m.data[i * M + j];
      const want = new C(M);
      for (let j = 0; j < M; j++) want[j] = sums[j];
      float64Scratch(M + 3).fill(123); // stale scratch must not leak into the sums
      const got = new C(M);
      columnSums(m, got);
      sameBits(got, want, `columnSums ${at}`);

      // addRowVector
      const plainAdd = copy(m);
      for (let i = 0; i < N; i++) for (let j = 0; j < M; j++) plainAdd.data[i * M + j] += v[j];
      const added = copy(m);
      addRowVector(added, v);
      sameBits(added.data, plainAdd.data, `addRowVector ${at}`);

      // reluInto, into a fresh array and in place
      const plainRelu = new C(N * M);
      for (let k = 0; k < N * M; k++) plainRelu[k] = (m.data[k] + Math.abs(m.data[k])) * 0.5;
      const r = new C(N * M);
      reluInto(m.data, r);
      sameBits(r, plainRelu, `reluInto ${at}`);
      const inPlace = copy(m);
      reluInto(inPlace.data, inPlace.data);
      sameBits(inPlace.data, plainRelu, `reluInto in place ${at}`);

      // reluBackwardMask
      const dout = randMat(C, N, M, rng).data;
      const plainMask = new C(N * M);
      for (let k = 0; k < N * M; k++) plainMask[k] = dout[k] * +(m.data[k] > 0);
      const dx = new C(N * M);
      reluBackwardMask(dout, m.data, dx);
      sameBits(dx, plainMask, `reluBackwardMask ${at}`);

      // addRowVectorRelu: the plain one-pass loop, and the two passes addRowVector then reluInto.
      const plainFused = copy(m);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < M; j++) {
          const a = plainFused.data[i * M + j] + v[j];
          plainFused.data[i * M + j] = (a + Math.abs(a)) * 0.5;
        }
      }
      const fused = copy(m);
      addRowVectorRelu(fused, v);
      sameBits(fused.data, plainFused.data, `addRowVectorRelu ${at}`);
      const twoPass = copy(m);
      addRowVector(twoPass, v);
      reluInto(twoPass.data, twoPass.data);
      sameBits(fused.data, twoPass.data, `addRowVectorRelu vs addRowVector then reluInto ${at}`);
    }
  });
}

test('rows: max(0, ·) as (v + |v|)/2 gives +0 for −0 and for negatives, v for positives, NaN for NaN (float64, exact)', () => {
  const out = new Float64Array(5);
  reluInto(Float64Array.of(-0, -2.5, 3.25, NaN, 0), out);
  assert.ok(Object.is(out[0], 0) && Object.is(out[1], 0) && out[2] === 3.25 && Number.isNaN(out[3]) && Object.is(out[4], 0), `${Array.from(out)}`);
});
