/**
 * Minibatches gathered into buffers allocated once: each step draws B row indices into the same
 * index array and copies those rows of X into the same (B,D) matrix (blas1 gatherRows), so
 * steady-state training allocates no batch.
 *
 * 'replacement': each row index drawn uniformly (cs231n's np.random.choice(N, B, replace=True)).
 * 'shuffle': a permutation per epoch, consumed B at a time (the last partial batch is dropped).
 */
import { gatherRows } from '../linalg/blas1.js';
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import type { Mat } from '../linalg/mat.js';
import type { Rng } from '../linalg/rng.js';
import type { Sampling } from '../config/config.js';
import type { LabeledRows } from '../models/evaluate.js';
import type { BatcherState } from '../runs/checkpoint.js';

export class Batcher {
  readonly X: Mat<Float32Array>;
  readonly y: Int32Array;
  /** Which rows of the split the current batch holds. */
  private readonly rows: Int32Array;
  private perm: Int32Array | null = null;
  private pos = 0;

  constructor(
    private readonly src: LabeledRows,
    readonly batchSize: number,
    private readonly sampling: Sampling,
    /** The memory the batch goes in: the engine's (engine.alloc), whose threads may gather into it. */
    alloc: Allocator = PLAIN,
  ) {
    if (batchSize > src.X.rows) throw new Error(`Batcher: batch size ${batchSize} is larger than the split (${src.X.rows} rows)`);
    this.X = { rows: batchSize, cols: src.X.cols, data: alloc.float(Float32Array, batchSize * src.X.cols) };
    this.y = new Int32Array(batchSize);
    this.rows = alloc.int32(batchSize);
  }

  /** Where the shuffled order stands, for a checkpoint (null perm: no epoch shuffled yet). */
  getState(): BatcherState {
    return { perm: this.perm ? Array.from(this.perm) : null, pos: this.pos };
  }

  setState(st: BatcherState): void {
    if (st.perm !== null && st.perm.length !== this.src.X.rows) throw new Error(`Batcher: saved order has ${st.perm.length} rows, the split has ${this.src.X.rows}`);
    this.perm = st.perm ? Int32Array.from(st.perm) : null;
    this.pos = st.pos;
  }

  /** Fill this.X / this.y with the next minibatch. */
  next(rng: Rng): void {
    const N = this.src.X.rows;
    const rows = this.rows;
    for (let i = 0; i < this.batchSize; i++) {
      if (this.sampling === 'replacement') {
        rows[i] = rng.int(N);
      } else {
        if (this.perm === null || this.pos + this.batchSize - i > N) {
          this.perm ??= Int32Array.from({ length: N }, (_, k) => k);
          rng.shuffle(this.perm);
          this.pos = 0;
        }
        rows[i] = this.perm[this.pos++];
      }
      this.y[i] = this.src.y[rows[i]];
    }
    gatherRows(this.src.X, rows, this.X);
  }
}
