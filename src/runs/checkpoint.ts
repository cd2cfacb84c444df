/**
 * Checkpoint file format (`*.ckpt`), version 2. Everything `eval` needs to rebuild the model and
 * preprocess data exactly as training did, and for last.ckpt everything a resume needs, in one
 * file (one atomic write commits it whole):
 *
 *   offset  size  content
 *   0       8     magic "TSNNCKPT" (ASCII)
 *   8       4     format version, uint32 little-endian (2)
 *   12      4     header length H in bytes, uint32 little-endian
 *   16      H     header: UTF-8 JSON (CheckpointHeader below)
 *   16+H    pad   zero bytes up to a multiple of 4
 *   …       4·P   parameters, float32 little-endian, in header.params order, each row-major
 *   …       4·D   mean image of the training split (raw pixel units), float32 little-endian
 *   …       4·Σ   the extra blocks header.blocks lists, in its order (last.ckpt: the optimizer's
 *                 state such as the momentum velocity, and the best parameters so far), float32
 *   end−32  32    sha256 of every byte before it
 *
 * The hash covers the preamble, the header and the padding as well as the floats, so no flipped
 * bit anywhere is read as a value. A version 1 file (tsnn-trainer 0.1's) is refused with one line
 * that says to train the run again. Readers check the magic, version, every size, the hash and
 * every header field's type and range before trusting anything.
 */
import * as crypto from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { paramSpecsFor } from '../models/index.js';
import type { ModelSpec } from '../models/model.js';
import type { ParamSpec } from '../models/params.js';
import type { RngState } from '../linalg/rng.js';
import { writeFileAtomic } from './atomic.js';
import { FileError, openRegularFile, readAt, readOpened } from '../io/files.js';
import { isObj } from '../config/keys.js';
import { featureDim } from '../data/features.js';
import { RULE_BLOCKS, UPDATE_RULES, type UpdateRule } from '../optim/rules.js';

export const CKPT_MAGIC = 'TSNNCKPT';
export const CKPT_VERSION = 2;
/** The version tsnn-trainer 0.1 wrote (no trailer, a header no hash covered): refused, with what to do. */
const CKPT_VERSION_0_1 = 1;
/** Headers larger than this are refused (a corrupt length field must not drive an allocation). */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
const HASH_BYTES = 32;
/** The longest class name a checkpoint may hold: names are words (airplane, 7), printed on every prediction line. */
export const MAX_CLASS_NAME = 100;

/** Where the minibatch draw is: the epoch's row order (null when sampling with replacement) and the next position in it. */
export interface BatcherState {
  perm: number[] | null;
  pos: number;
}

/** Everything the loop needs to carry on exactly where it stopped (besides the parameters), as last.ckpt keeps it. */
export interface TrainerState {
  /** Steps done. */
  it: number;
  epoch: number;
  lr: number;
  bestValAcc: number;
  bestEpoch: number;
  trainAccHistory: number[];
  valAccHistory: number[];
  rng: RngState;
  batcher: BatcherState;
  /**
   * The update rule whose state the optim.* blocks hold, and its step count (Adam's t: the steps it
   * has taken, equal to `it`). Absent: sgd_momentum if the file holds optim.velocity, else sgd.
   */
  optimizer?: { rule: UpdateRule; t: number };
}

export interface CheckpointHeader {
  model: ModelSpec;
  params: ParamSpec[];
  dataset: 'mnist' | 'cifar';
  classes: string[];
  imageShape: [number, number, number];
  /** `features`: the rows were image features (data/feature_data.ts), (f − mean)/std. */
  preprocess: { bias: boolean; scale: number; features?: { kind: 'hog+hue'; hueBins: number; std: number[] } };
  /** Split counts, resolved to numbers. */
  split: { numTrain: number; numVal: number; numTest: number };
  meanLength: number;
  /** Where in training these parameters were taken. */
  epoch: number;
  iteration: number;
  /** Accuracies measured at that point (null before the first evaluation). */
  trainAcc: number | null;
  valAcc: number | null;
  /** The resolved run config, for the record. */
  config: Record<string, unknown>;
  /** last.ckpt only: the training loop's state, for a resume. */
  trainer?: TrainerState;
  /** The extra float32 blocks after the mean, in file order (set by the encoder from Checkpoint.blocks). */
  blocks?: { name: string; length: number }[];
}

export interface Checkpoint {
  header: CheckpointHeader;
  params: Float32Array;
  mean: Float32Array;
  /** Extra named float32 blocks (optimizer state, best parameters), committed with the rest. */
  blocks?: Record<string, Float32Array>;
}

export class CheckpointError extends Error {}

/** Encode a checkpoint to bytes (always the current version). */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const total = ck.header.params.reduce((s, p) => s + p.rows * p.cols, 0);
  if (total !== ck.params.length) {
    throw new CheckpointError(`checkpoint: header lists ${total} parameters but ${ck.params.length} were given`);
  }
  if (ck.mean.length !== ck.header.meanLength) {
    throw new CheckpointError(`checkpoint: meanLength is ${ck.header.meanLength} but the mean has ${ck.mean.length} values`);
  }
  const extra = Object.entries(ck.blocks ?? {});
  const floats = ck.params.length + ck.mean.length + extra.reduce((s, [, v]) => s + v.length, 0);
  const { blocks: _b, ...rest } = ck.header;
  const header: CheckpointHeader = { ...rest, ...(extra.length ? { blocks: extra.map(([name, v]) => ({ name, length: v.length })) } : {}) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((16 + json.length) % 4)) % 4;
  const at = 16 + json.length + pad;
  const out = Buffer.alloc(at + 4 * floats + HASH_BYTES);
  out.write(CKPT_MAGIC, 0, 'ascii');
  out.writeUInt32LE(CKPT_VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, 16);
  const f = new Float32Array(out.buffer, out.byteOffset + at, floats);
  f.set(ck.params, 0);
  f.set(ck.mean, ck.params.length);
  let off = ck.params.length + ck.mean.length;
  for (const [, v] of extra) {
    f.set(v, off);
    off += v.length;
  }
  if (!littleEndian()) out.subarray(at, at + 4 * floats).swap32();
  crypto
    .createHash('sha256')
    .update(out.subarray(0, out.length - HASH_BYTES))
    .digest()
    .copy(out, out.length - HASH_BYTES);
  return out;
}

/** Where a checkpoint's parts lie, from its preamble and header alone. */
interface Framing {
  hlen: number;
  header: CheckpointHeader;
  total: number;
  blocks: { name: string; length: number }[];
  /** Where the floats start (after the header's padding), and how many there are. */
  start: number;
  floats: number;
}

/**
 * The framing of a checkpoint of `size` bytes whose first bytes (at least its preamble and
 * header, when the file has them) are `head`: magic, version, header length, the header's JSON
 * and the sizes it gives, which must add up to `size` exactly. Nothing else of the header is
 * trusted yet. So a checkpoint is bounded by what its header says before its floats are read.
 */
function framingOf(head: Buffer, size: number, file: string): Framing {
  const bad = badCheckpoint(file);
  if (size < 16) bad(`file is ${size} bytes, shorter than the 16-byte preamble`);
  // Compared as bytes: Buffer's 'ascii' decoding drops the high bit, so 0xD4 would read as 'T'.
  if (!head.subarray(0, 8).equals(Buffer.from(CKPT_MAGIC, 'ascii'))) bad(`magic is not ${CKPT_MAGIC}`);
  const version = head.readUInt32LE(8);
  if (version === CKPT_VERSION_0_1) {
    throw new CheckpointError(`${file}: checkpoint format version 1, written by tsnn-trainer 0.1, which this build does not read; train the run again`);
  }
  if (version !== CKPT_VERSION) bad(`format version ${version}; this build reads version ${CKPT_VERSION}`);
  const hlen = head.readUInt32LE(12);
  if (hlen > MAX_HEADER_BYTES || 16 + hlen + HASH_BYTES > size) bad(`header length ${hlen} does not fit in a ${size}-byte file`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(head.toString('utf8', 16, 16 + hlen)) as CheckpointHeader;
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header is not a JSON object');
  // The sizes first, to say how a truncated file falls short; nothing else of the header is used
  // before the hash over every byte has vouched for it.
  const { total, blocks } = sizesOf(header, bad);
  const extraTotal = blocks.reduce((s, x) => s + x.length, 0);
  const start = 16 + hlen + ((4 - ((16 + hlen) % 4)) % 4);
  const floats = total + header.meanLength + extraTotal;
  const expected = start + 4 * floats + HASH_BYTES;
  if (size !== expected) {
    bad(
      `expected ${expected} bytes (${total} parameters, a ${header.meanLength}-value mean${extraTotal ? ` and ${extraTotal} values of ${blocks.map((x) => x.name).join(', ')}` : ''}), found ${size} — the file is truncated or corrupt`,
    );
  }
  return { hlen, header, total, blocks, start, floats };
}

/** Decode and validate checkpoint bytes; `file` names the source in errors. */
export function decodeCheckpoint(buf: Uint8Array, file: string): Checkpoint {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = badCheckpoint(file);
  const { hlen, header, total, blocks, start, floats } = framingOf(b, b.length, file);
  const got = crypto
    .createHash('sha256')
    .update(b.subarray(0, b.length - HASH_BYTES))
    .digest();
  if (!got.equals(b.subarray(b.length - HASH_BYTES))) bad('its sha256 hash does not match its contents (the file is corrupt or was edited)');
  if (b.subarray(16 + hlen, start).some((x) => x !== 0)) bad('the padding after the header is not zero');
  checkHeaderFields(header, bad);
  const payload = Buffer.from(b.subarray(start, start + 4 * floats)); // copy: aligned, and safe to byte-swap
  if (!littleEndian()) payload.swap32();
  const all = new Float32Array(payload.buffer, payload.byteOffset, floats);
  const params = all.slice(0, total);
  const out: Checkpoint = { header, params, mean: all.slice(total, total + header.meanLength) };
  if (blocks.length) {
    out.blocks = {};
    let off = total + header.meanLength;
    for (const x of blocks) {
      out.blocks[x.name] = all.slice(off, off + x.length);
      off += x.length;
    }
  }
  return out;
}

/** Write a checkpoint atomically. */
export function saveCheckpoint(file: string, ck: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(ck));
}

/** The refusal of checkpoint `file`: a CheckpointError naming it and what is wrong. */
function badCheckpoint(file: string): (what: string) => never {
  return (what) => {
    throw new CheckpointError(`${file}: not a valid checkpoint: ${what}`);
  };
}

/**
 * The most bytes any checkpoint can have: it is encoded as one Buffer (encodeCheckpoint), and its
 * floats are a model's, which must fit in memory; a larger file is not a checkpoint. (A function:
 * the browser's bundle of this module has neither Node's buffer constants nor os.)
 */
const maxCheckpointBytes = (): number => Math.min(bufferConstants.MAX_LENGTH, os.totalmem());

/**
 * Read and validate a checkpoint file, by the safe reader: a regular file only (not a FIFO, nor
 * /dev/zero behind a symlink), whose size is exactly what its header says, checked before its
 * floats are read.
 */
export function loadCheckpoint(file: string): Checkpoint {
  let fd: number;
  let size: number;
  try {
    ({ fd, size } = openRegularFile(file, maxCheckpointBytes(), "a checkpoint (.ckpt) written by 'train'"));
  } catch (e) {
    const f = e as FileError;
    throw new CheckpointError(f.code === 'ENOENT' ? `checkpoint not found: ${file}. Pass a run folder (runs/<id>) or a .ckpt file written by 'train'` : f.message);
  }
  try {
    const preamble = readAt(fd, file, 0, 16);
    const hlen = preamble.length === 16 ? Math.min(preamble.readUInt32LE(12), MAX_HEADER_BYTES) : 0;
    framingOf(readAt(fd, file, 0, Math.min(size, 16 + hlen)), size, file);
    return decodeCheckpoint(readOpened(fd, file, size), file);
  } catch (e) {
    throw e instanceof FileError ? new CheckpointError(e.message) : e;
  } finally {
    fs.closeSync(fd);
  }
}

/** The float counts the header gives (parameters, extra blocks), checked for type only: enough to frame the file. */
function sizesOf(h: CheckpointHeader, bad: (what: string) => never): { total: number; blocks: { name: string; length: number }[] } {
  const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  if (!Array.isArray(h.params) || !isCount(h.meanLength)) bad('header lacks params or meanLength');
  let total = 0;
  for (const p of h.params) {
    if (!p || typeof p !== 'object' || typeof p.name !== 'string' || !isCount(p.rows) || !isCount(p.cols)) bad(`bad parameter entry ${JSON.stringify(p)}`);
    total += p.rows * p.cols;
  }
  const blocks = h.blocks ?? [];
  if (!Array.isArray(blocks) || !blocks.every((x) => x && typeof x === 'object' && typeof x.name === 'string' && isCount(x.length))) bad(`bad blocks ${JSON.stringify(h.blocks)?.slice(0, 200)}`);
  return { total, blocks };
}

/**
 * Every header field, checked for type and range before anything uses it, so a corrupt or
 * tampered header is refused here rather than surfacing later as a TypeError, a wrong accuracy
 * or a resume that trains nothing. Returns the number of parameters the header lists.
 */
function checkHeaderFields(h: CheckpointHeader, bad: (what: string) => never): number {
  const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  const isPos = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
  const isFrac = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 1;
  const show = (v: unknown) => JSON.stringify(v)?.slice(0, 200);
  const m = h.model as unknown;
  if (!isObj(m) || (m.kind !== 'softmax' && m.kind !== 'mlp') || !isPos(m.inputDim) || !isPos(m.numClasses) || !Array.isArray(m.hidden) || !m.hidden.every(isPos)) {
    bad(`bad model ${show(m)}`);
  }
  // loss: absent means softmax (models/loss.ts lossOf).
  if (isObj(m) && m.loss !== undefined && m.loss !== 'softmax' && m.loss !== 'svm') bad(`bad model ${show(m)}: loss must be softmax or svm`);
  // normalization and dropoutKeep: absent means no norm, no dropout; mlp only.
  if (isObj(m) && m.normalization !== undefined && (m.kind !== 'mlp' || (m.normalization !== 'batchnorm' && m.normalization !== 'layernorm')))
    bad(`bad model ${show(m)}: normalization must be batchnorm or layernorm, on an mlp`);
  if (isObj(m) && m.dropoutKeep !== undefined && (m.kind !== 'mlp' || !(typeof m.dropoutKeep === 'number' && m.dropoutKeep > 0 && m.dropoutKeep <= 1)))
    bad(`bad model ${show(m)}: dropoutKeep must be a number in (0, 1], on an mlp`);
  const spec = h.model;
  if ((spec.kind === 'softmax') !== (spec.hidden.length === 0)) bad(`bad model ${show(m)}: a softmax has no hidden layers, an mlp at least one`);
  if (!Array.isArray(h.params)) bad('header lacks params');
  // The parameters must be exactly the layout the model spec needs (names, shapes, order).
  let want: ParamSpec[];
  try {
    want = paramSpecsFor(spec);
  } catch (e) {
    return bad(`bad model ${show(m)}: ${(e as Error).message}`);
  }
  const same =
    h.params.length === want.length &&
    want.every((p, i) => isObj(h.params[i]) && h.params[i].name === p.name && h.params[i].rows === p.rows && h.params[i].cols === p.cols && h.params[i].stat === p.stat);
  if (!same) bad(`the parameters ${show(h.params)} do not fit the model ${show(m)}, which needs ${show(want)}`);
  const total = want.reduce((s, p) => s + p.rows * p.cols, 0);
  if (h.dataset !== 'mnist' && h.dataset !== 'cifar') bad(`bad dataset ${show(h.dataset)}`);
  if (!Array.isArray(h.classes) || !h.classes.every((c) => typeof c === 'string' && c.length > 0)) bad('classes is not a list of names');
  const long = h.classes.find((c) => c.length > MAX_CLASS_NAME);
  if (long !== undefined) bad(`a class name of ${long.length} characters (${show(long.slice(0, 40))}…), more than the ${MAX_CLASS_NAME} a name may have`);
  if (new Set(h.classes).size !== h.classes.length) bad(`the class names ${show(h.classes)} are not all different`);
  if (h.classes.length !== spec.numClasses) bad(`${h.classes.length} class names for a model of ${spec.numClasses} classes`);
  if (!Array.isArray(h.imageShape) || h.imageShape.length !== 3 || !h.imageShape.every(isPos)) bad(`bad imageShape ${show(h.imageShape)}`);
  const pre = h.preprocess as unknown;
  const feat = isObj(pre) ? pre.features : undefined;
  const hueBins = isObj(feat) && Number.isInteger(feat.hueBins) && (feat.hueBins as number) > 0 ? (feat.hueBins as number) : 0;
  if (feat !== undefined) {
    if (!isCount(h.meanLength) || !hueBins || h.meanLength !== featureDim(h.imageShape, { hueBins }))
      bad(`meanLength ${show(h.meanLength)} is not the feature count of an image of shape ${show(h.imageShape)}`);
  } else if (!isCount(h.meanLength) || h.meanLength !== h.imageShape[0] * h.imageShape[1] * h.imageShape[2])
    bad(`meanLength ${show(h.meanLength)} is not the size of an image of shape ${show(h.imageShape)}`);
  if (!isObj(pre) || typeof pre.bias !== 'boolean' || typeof pre.scale !== 'number' || !Number.isFinite(pre.scale) || pre.scale <= 0)
    bad(`bad preprocess ${show(pre)} (bias true or false, scale a finite number > 0)`);
  if (
    feat !== undefined &&
    (!isObj(feat) ||
      feat.kind !== 'hog+hue' ||
      !Number.isInteger(feat.hueBins) ||
      !Array.isArray(feat.std) ||
      feat.std.length !== h.meanLength ||
      !feat.std.every((v) => typeof v === 'number' && v > 0))
  ) {
    bad(`bad preprocess.features ${show(feat)} (kind hog+hue, an integer hueBins, and a std > 0 for each of the ${h.meanLength} features)`);
  }
  if (spec.inputDim !== h.meanLength + (h.preprocess.bias ? 1 : 0)) bad(`model inputDim ${spec.inputDim} does not match ${h.meanLength} pixels${h.preprocess.bias ? ' and a bias column' : ''}`);
  const sp = h.split as unknown;
  if (!isObj(sp) || !isPos(sp.numTrain) || !isCount(sp.numVal) || !isCount(sp.numTest)) bad(`bad split ${show(sp)}`);
  if (!isCount(h.epoch) || !isCount(h.iteration)) bad(`bad epoch ${show(h.epoch)} or iteration ${show(h.iteration)} (whole numbers ≥ 0)`);
  for (const k of ['trainAcc', 'valAcc'] as const) if (h[k] !== null && !isFrac(h[k])) bad(`bad ${k} ${show(h[k])} (an accuracy in [0, 1])`);
  if (!isObj(h.config)) bad('config is not an object');
  if (h.blocks !== undefined) {
    if (!Array.isArray(h.blocks) || !h.blocks.every((x) => isObj(x) && typeof x.name === 'string' && isCount(x.length))) bad(`bad blocks ${show(h.blocks)}`);
    if (new Set(h.blocks.map((x) => x.name)).size !== h.blocks.length) bad(`block names ${show(h.blocks)} repeat`);
    // The optimizer's state (optim.*) is one value per trainable parameter (those without `stat`,
    // which come first); every other block (the best parameters) one value per parameter.
    const trainable = h.params.reduce((n, p) => n + ((p as { stat?: unknown }).stat ? 0 : p.rows * p.cols), 0);
    for (const x of h.blocks) {
      const want = x.name.startsWith('optim.') ? trainable : total;
      if (x.length !== want) bad(`block ${x.name} has ${x.length} values for ${want}${want === total ? '' : ' trainable'} parameters`);
    }
  }
  if (h.trainer !== undefined) checkTrainerState(h, bad);
  return total;
}

/** The resumable state of last.ckpt: every field of the right type, in range, and consistent with the header. */
function checkTrainerState(h: CheckpointHeader, bad: (what: string) => never): void {
  const t = h.trainer as unknown as Record<string, unknown>;
  const fail = (what: string): never => bad(`trainer state: ${what}`);
  const show = (v: unknown) => JSON.stringify(v)?.slice(0, 200);
  const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  if (typeof t !== 'object' || t === null || Array.isArray(t)) return fail('not an object');
  if (!isCount(t.it)) fail(`step ${show(t.it)} is not a whole number ≥ 0`);
  if (!isCount(t.epoch)) fail(`epoch ${show(t.epoch)} is not a whole number ≥ 0`);
  if (t.it !== h.iteration || t.epoch !== h.epoch) fail(`step ${show(t.it)} and epoch ${show(t.epoch)} differ from the header's ${h.iteration} and ${h.epoch}`);
  if (typeof t.lr !== 'number' || !Number.isFinite(t.lr) || t.lr < 0) fail(`learning rate ${show(t.lr)} is not a finite number ≥ 0`);
  const epoch = t.epoch as number;
  for (const k of ['trainAccHistory', 'valAccHistory']) {
    const a = t[k];
    if (!Array.isArray(a) || a.length !== epoch || !a.every((v) => typeof v === 'number' && v >= 0 && v <= 1)) fail(`${k} is not ${epoch} accuracies in [0, 1]`);
  }
  const hist = t.valAccHistory as number[];
  if (!isCount(t.bestEpoch) || t.bestEpoch > epoch) fail(`best epoch ${show(t.bestEpoch)} is not a whole number in [0, ${epoch}]`);
  const bestEpoch = t.bestEpoch as number;
  if (bestEpoch === 0 ? t.bestValAcc !== -1 || epoch > 0 : t.bestValAcc !== hist[bestEpoch - 1] || hist.some((v) => v > (t.bestValAcc as number))) {
    fail(`best val accuracy ${show(t.bestValAcc)} at epoch ${bestEpoch} does not match the val accuracies ${show(hist)}`);
  }
  const rng = t.rng as Record<string, unknown> | null;
  const words = rng && typeof rng === 'object' ? rng.s : undefined;
  if (
    !Array.isArray(words) ||
    words.length !== 4 ||
    !words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) ||
    words.every((w) => w === 0) ||
    !(rng!.spare === null || (typeof rng!.spare === 'number' && Number.isFinite(rng!.spare)))
  ) {
    fail(`random generator state ${show(rng)} is not four uint32 words (not all 0) and a spare (null or a number)`);
  }
  const bt = t.batcher as Record<string, unknown> | null;
  const n = h.split.numTrain;
  if (!bt || typeof bt !== 'object') return fail('no batcher state');
  if (bt.perm === null) {
    if (bt.pos !== 0) fail(`batch position ${show(bt.pos)} without a batch order`);
  } else {
    const perm = bt.perm;
    if (!Array.isArray(perm) || perm.length !== n) fail(`the batch order is not a list of the ${n} training rows`);
    const seen = new Uint8Array(n);
    for (const r of perm as unknown[]) {
      if (!Number.isInteger(r) || (r as number) < 0 || (r as number) >= n || seen[r as number]) fail(`the batch order is not a permutation of the ${n} training rows`);
      seen[r as number] = 1;
    }
    if (!isCount(bt.pos) || bt.pos > n) fail(`batch position ${show(bt.pos)} is not in [0, ${n}]`);
  }
  const o = t.optimizer as Record<string, unknown> | undefined;
  if (o !== undefined) {
    if (!o || typeof o !== 'object' || !(UPDATE_RULES as readonly unknown[]).includes(o.rule) || !isCount(o.t)) {
      fail(`optimizer ${show(o)} is not an update rule (${UPDATE_RULES.join(', ')}) and a step count`);
    }
    if (o.t !== t.it) fail(`the optimizer's step count ${show(o.t)} differs from the steps done, ${show(t.it)}`);
    const want = RULE_BLOCKS[o.rule as UpdateRule].map((b) => `optim.${b}`);
    const got = (h.blocks ?? [])
      .map((x) => x.name)
      .filter((x) => x.startsWith('optim.'))
      .sort();
    if (got.join(',') !== want.join(',')) fail(`update rule ${o.rule as string} keeps [${want.join(', ')}], but the file holds [${got.join(', ')}]`);
  }
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
