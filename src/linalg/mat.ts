/**
 * The matrix record used everywhere: row-major `{ rows, cols, data }`.
 *
 * `data[i * cols + j]` is element (i, j). Training uses Float32Array; gradient checks use
 * Float64Array. Kernels produce outputs of the same array type as their inputs, so one kernel
 * serves both precisions. A vector of length M is a Mat with rows = 1, or a bare typed array
 * where only its length matters (biases).
 */

export type FloatArray = Float32Array | Float64Array;
export type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

export interface Mat<T extends FloatArray = FloatArray> {
  rows: number;
  cols: number;
  data: T;
}

/** A new zero-filled (rows, cols) matrix whose data has the array type `Ctor`. */
export function zeros<T extends FloatArray>(rows: number, cols: number, like: T): Mat<T>;
export function zeros(rows: number, cols: number, like?: FloatArray | FloatArrayCtor): Mat;
export function zeros(rows: number, cols: number, like: FloatArray | FloatArrayCtor = Float32Array): Mat {
  const Ctor = typeof like === 'function' ? like : like instanceof Float64Array ? Float64Array : Float32Array;
  return { rows, cols, data: new Ctor(rows * cols) };
}

/** "(rows,cols)" for error messages. */
export function shapeStr(m: Mat): string {
  return `(${m.rows},${m.cols})`;
}

/** Throw unless `m` is (rows, cols); `rows`/`cols` of -1 match anything. */
export function checkShape(where: string, name: string, m: Mat, rows: number, cols: number): void {
  if ((rows >= 0 && m.rows !== rows) || (cols >= 0 && m.cols !== cols) || m.data.length !== m.rows * m.cols) {
    const want = `(${rows < 0 ? '*' : rows},${cols < 0 ? '*' : cols})`;
    throw new Error(`${where}: ${name} has shape ${shapeStr(m)} (data length ${m.data.length}), expected ${want}`);
  }
}

/** Index of the largest entry of each row: (N,C) → N labels. */
export function argmaxRows(m: Mat): Int32Array {
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const row = i * m.cols;
    let best = 0;
    let bestVal = m.data[row];
    for (let j = 1; j < m.cols; j++) {
      const v = m.data[row + j];
      if (v > bestVal) {
        bestVal = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}
