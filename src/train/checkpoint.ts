/**
 * Checkpoint file format (`*.ckpt`), version 1. Everything `eval` needs to rebuild the model and
 * preprocess data exactly as training did:
 *
 *   offset  size  content
 *   0       8     magic "TSNNCKPT" (ASCII)
 *   8       4     format version, uint32 little-endian (1)
 *   12      4     header length H in bytes, uint32 little-endian
 *   16      H     header: UTF-8 JSON (CheckpointHeader below)
 *   16+H    pad   zero bytes up to a multiple of 4
 *   …       4·P   parameters, float32 little-endian, in header.params order, each row-major
 *   …       4·D   mean image of the training split (raw pixel units), float32 little-endian
 *
 * header.payloadSha256 is the sha256 of those two float blocks, so a corrupt file is detected.
 * Readers check the magic, version, header, every size and the hash before trusting anything.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { allocParamFlat } from '../models/params.js';
import type { ModelSpec } from '../models/model.js';
import type { ParamSpec } from '../models/params.js';
import { writeFileAtomic } from './atomic.js';

export const CKPT_MAGIC = 'TSNNCKPT';
export const CKPT_VERSION = 1;
/** Headers larger than this are refused (a corrupt length field must not drive an allocation). */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export interface CheckpointHeader {
  model: ModelSpec;
  params: ParamSpec[];
  dataset: 'mnist' | 'cifar';
  classes: string[];
  imageShape: [number, number, number];
  preprocess: { bias: boolean; scale: number };
  /** Split counts, resolved to numbers. */
  split: { numTrain: number; numVal: number; numTest: number };
  meanLength: number;
  /** Where in training these parameters were taken. */
  epoch: number;
  iteration: number;
  trainAcc: number;
  valAcc: number;
  /** The resolved run config, for the record. */
  config: Record<string, unknown>;
  payloadSha256?: string;
}

export interface Checkpoint {
  header: CheckpointHeader;
  params: Float32Array;
  mean: Float32Array;
}

export class CheckpointError extends Error {}

/** Encode a checkpoint to bytes. */
export function encodeCheckpoint(ck: Checkpoint): Uint8Array {
  const total = ck.header.params.reduce((s, p) => s + p.rows * p.cols, 0);
  if (total !== ck.params.length) {
    throw new CheckpointError(`checkpoint: header lists ${total} parameters but ${ck.params.length} were given`);
  }
  if (ck.mean.length !== ck.header.meanLength) {
    throw new CheckpointError(`checkpoint: meanLength is ${ck.header.meanLength} but the mean has ${ck.mean.length} values`);
  }
  const payload = Buffer.alloc(4 * (ck.params.length + ck.mean.length));
  const f = new Float32Array(payload.buffer, payload.byteOffset, ck.params.length + ck.mean.length);
  f.set(ck.params, 0);
  f.set(ck.mean, ck.params.length);
  if (!littleEndian()) payload.swap32();
  const header = { ...ck.header, payloadSha256: crypto.createHash('sha256').update(payload).digest('hex') };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((16 + json.length) % 4)) % 4;
  const head = Buffer.alloc(16 + json.length + pad);
  head.write(CKPT_MAGIC, 0, 'ascii');
  head.writeUInt32LE(CKPT_VERSION, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  return Buffer.concat([head, payload]);
}

/** Decode and validate checkpoint bytes; `file` names the source in errors. */
export function decodeCheckpoint(buf: Uint8Array, file: string): Checkpoint {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const bad = (what: string): never => {
    throw new CheckpointError(`${file}: not a valid checkpoint: ${what}`);
  };
  if (b.length < 16) bad(`file is ${b.length} bytes, shorter than the 16-byte preamble`);
  if (b.toString('ascii', 0, 8) !== CKPT_MAGIC) bad(`magic is not ${CKPT_MAGIC}`);
  const version = b.readUInt32LE(8);
  if (version !== CKPT_VERSION) bad(`format version ${version}; this build reads version ${CKPT_VERSION}`);
  const hlen = b.readUInt32LE(12);
  if (hlen > MAX_HEADER_BYTES || 16 + hlen > b.length) bad(`header length ${hlen} does not fit in a ${b.length}-byte file`);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(b.toString('utf8', 16, 16 + hlen)) as CheckpointHeader;
  } catch (e) {
    return bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || !Array.isArray(header.params) || typeof header.meanLength !== 'number') {
    bad('header lacks params or meanLength');
  }
  let total = 0;
  for (const p of header.params) {
    if (!p || typeof p.name !== 'string' || !Number.isInteger(p.rows) || !Number.isInteger(p.cols) || p.rows < 0 || p.cols < 0) {
      bad(`bad parameter entry ${JSON.stringify(p)}`);
    }
    total += p.rows * p.cols;
  }
  if (!Number.isInteger(header.meanLength) || header.meanLength < 0) bad(`bad meanLength ${header.meanLength}`);
  checkHeaderFields(header, bad);
  const start = 16 + hlen + ((4 - ((16 + hlen) % 4)) % 4);
  const expected = start + 4 * (total + header.meanLength);
  if (b.length !== expected) {
    bad(`expected ${expected} bytes (${total} parameters and a ${header.meanLength}-value mean), found ${b.length} — the file is truncated or corrupt`);
  }
  const payload = Buffer.from(b.subarray(start)); // copy: aligned, and safe to byte-swap
  // The encoder always writes the hash; a header without one is corrupt (else one flipped byte in
  // the key name would switch verification off).
  if (typeof header.payloadSha256 !== 'string') bad('header lacks payloadSha256');
  const got = crypto.createHash('sha256').update(payload).digest('hex');
  if (got !== header.payloadSha256) bad('payload hash does not match the header (the file is corrupt)');
  if (!littleEndian()) payload.swap32();
  const all = new Float32Array(payload.buffer, payload.byteOffset, total + header.meanLength);
  const params = allocParamFlat(Float32Array, total) as Float32Array; // in the memory the engine wants, as a new model's parameters are
  params.set(all.subarray(0, total));
  return { header, params, mean: all.slice(total) };
}

/** Write a checkpoint atomically. */
export function saveCheckpoint(file: string, ck: Checkpoint): void {
  writeFileAtomic(file, encodeCheckpoint(ck));
}

/** Read and validate a checkpoint file. */
export function loadCheckpoint(file: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      code === 'ENOENT' ? `checkpoint not found: ${file}. Pass a run folder (runs/<id>) or a .ckpt file written by 'train'` : `cannot read ${file}: ${(e as Error).message}`,
    );
  }
  return decodeCheckpoint(buf, file);
}

/** The header fields readers (eval, report) use, checked for type so a corrupt header cannot surface later as a TypeError. */
function checkHeaderFields(h: CheckpointHeader, bad: (what: string) => never): void {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isCount = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const m = h.model as unknown;
  if (!isObj(m) || (m.kind !== 'softmax' && m.kind !== 'mlp') || !isCount(m.inputDim) || !isCount(m.numClasses) || !Array.isArray(m.hidden) || !m.hidden.every(isCount)) {
    bad(`bad model ${JSON.stringify(m)}`);
  }
  if (h.dataset !== 'mnist' && h.dataset !== 'cifar') bad(`bad dataset ${JSON.stringify(h.dataset)}`);
  if (!Array.isArray(h.classes) || !h.classes.every((c) => typeof c === 'string')) bad('classes is not a list of names');
  if (!Array.isArray(h.imageShape) || h.imageShape.length !== 3 || !h.imageShape.every(isCount)) bad(`bad imageShape ${JSON.stringify(h.imageShape)}`);
  const pre = h.preprocess as unknown;
  if (!isObj(pre) || typeof pre.bias !== 'boolean' || typeof pre.scale !== 'number') bad(`bad preprocess ${JSON.stringify(pre)}`);
  const sp = h.split as unknown;
  if (!isObj(sp) || !isCount(sp.numTrain) || !isCount(sp.numVal) || !isCount(sp.numTest)) bad(`bad split ${JSON.stringify(sp)}`);
  for (const k of ['epoch', 'iteration', 'trainAcc', 'valAcc'] as const) if (typeof h[k] !== 'number' && h[k] !== null) bad(`bad ${k} ${JSON.stringify(h[k])}`);
  if (!isObj(h.config)) bad('config is not an object');
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
