/**
 * Property-based fuzzing (fast-check, fixed seed) of the three binary readers: the IDX parser, the
 * CIFAR-10 batch parser and the checkpoint decoder. Every input must either parse to something
 * consistent with its bytes or be refused with the reader's own error type (DataError,
 * CheckpointError): never a RangeError/TypeError/SyntaxError, never a hang, never an allocation
 * sized by an unchecked header field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CIFAR_PIXELS, CIFAR_RECORD, encodeCifarBatch, parseCifarBatch } from '../src/data/cifar.js';
import { DataError } from '../src/data/errors.js';
import { encodeIdx, parseIdx } from '../src/data/idx.js';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../src/config/config.js';
import { initEngine } from '../src/linalg/engine.js';
import { modelFromCheckpoint } from '../src/models/index.js';
import { type Checkpoint, CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../src/runs/checkpoint.js';
import { loadRunData, runTraining, type RunUi } from '../src/train/run.js';
import { sampleCheckpoint as sample } from './helpers.js';

const SEED = 42;
let totalCases = 0;

/** Run one fast-check property, counting its cases. */
function run<T>(arb: fc.Arbitrary<T>, check: (v: T) => void, numRuns: number): void {
  fc.assert(
    fc.property(arb, (v) => {
      totalCases++;
      check(v);
    }),
    { seed: SEED, numRuns },
  );
}

/** Cheap deterministic bytes (fast-check arrays of thousands of bytes are slow to generate and shrink). */
function bytesOf(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

/** Runs `f`, requiring it either to return or to throw an instance of `E`. */
function parsesOrRefuses<R>(f: () => R, E: new (...a: never[]) => Error): R | undefined {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof E)) throw new Error(`expected a ${E.name} or success, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.ok((e as Error).message.length > 0);
    return undefined;
  }
}

type Mutation = { kind: 'flip'; at: number; mask: number } | { kind: 'truncate'; to: number } | { kind: 'extend'; len: number; seed: number } | { kind: 'set32'; field: number; value: number };

const mutation = (maxAt: number): fc.Arbitrary<Mutation> =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: maxAt }), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), to: fc.nat({ max: maxAt }) }),
    fc.record({ kind: fc.constant('extend' as const), len: fc.integer({ min: 1, max: 40 }), seed: fc.nat() }),
    fc.record({
      kind: fc.constant('set32' as const),
      field: fc.nat({ max: 7 }),
      value: fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 24, 2 ** 16)),
    }),
  );

/** Apply a mutation; `set32` writes a uint32 at 4 + 4·field (IDX dims) or at `offsets[field]`. */
function mutate(buf: Uint8Array, m: Mutation, set32At: (field: number) => number, littleEndian: boolean): Uint8Array {
  const out = Buffer.from(buf);
  switch (m.kind) {
    case 'flip':
      if (out.length > 0) out[m.at % out.length] ^= m.mask;
      return out;
    case 'truncate':
      return out.subarray(0, m.to % (out.length + 1));
    case 'extend':
      return Buffer.concat([out, bytesOf(m.len, m.seed)]);
    case 'set32': {
      const at = set32At(m.field);
      if (at + 4 > out.length) return out;
      if (littleEndian) out.writeUInt32LE(m.value >>> 0, at);
      else out.writeUInt32BE(m.value >>> 0, at);
      return out;
    }
  }
}

// ---------------------------------------------------------------- IDX

function checkIdx(buf: Uint8Array): void {
  const r = parsesOrRefuses(() => parseIdx(buf, 'fuzz.idx'), DataError);
  if (!r) return;
  const ndim = buf[3];
  const headerBytes = 4 + 4 * ndim;
  assert.equal(buf[0], 0);
  assert.equal(buf[1], 0);
  assert.equal(buf[2], 0x08);
  assert.equal(r.dims.length, ndim);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  r.dims.forEach((d, i) => assert.equal(d, view.getUint32(4 + 4 * i, false)));
  assert.equal(
    r.dims.reduce((p, d) => p * d, 1),
    r.data.length,
  );
  assert.equal(headerBytes + r.data.length, buf.length);
  assert.deepEqual(Buffer.from(r.data), Buffer.from(buf.subarray(headerBytes)));
}

const validIdx = fc.record({ dims: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }), seed: fc.nat() }).map(({ dims, seed }) =>
  encodeIdx(
    dims,
    bytesOf(
      dims.reduce((p, d) => p * d, 1),
      seed,
    ),
  ),
);

test('fuzz: parseIdx on random bytes parses consistently or throws DataError', () => {
  const random = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    // Random bytes behind a plausible IDX prefix, so the dims/size checks are reached.
    fc.record({ ndim: fc.integer({ min: 0, max: 6 }), rest: fc.uint8Array({ maxLength: 64 }) }).map(({ ndim, rest }) => Uint8Array.from([0, 0, 8, ndim, ...rest])),
  );
  run(random, checkIdx, 3000);
});

test('fuzz: parseIdx on mutated valid files parses consistently or throws DataError', () => {
  run(
    fc.tuple(validIdx, fc.array(mutation(300), { minLength: 1, maxLength: 3 })),
    ([buf, ms]) => {
      checkIdx(buf); // the unmutated file parses
      assert.ok(parseIdx(buf, 'ok.idx'));
      let b: Uint8Array = buf;
      for (const m of ms) b = mutate(b, m, (f) => 4 + 4 * (f % 4), false);
      checkIdx(b);
    },
    3000,
  );
});

test('fuzz: an IDX header claiming huge dims throws quickly without allocating', () => {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  run(
    fc.tuple(fc.array(fc.oneof(fc.nat({ max: 0xffffffff }), fc.constantFrom(0x80000000, 0x7fffffff, 0xffffffff, 65536)), { minLength: 1, maxLength: 4 }), fc.nat({ max: 16 })),
    ([dims, extra]) => {
      const head = encodeIdx(dims, bytesOf(extra, 7));
      checkIdx(head);
      if (dims.every((d) => d > 1) && dims.reduce((p, d) => p * d, 1) > 64) assert.throws(() => parseIdx(head, 'huge.idx'), DataError);
    },
    1000,
  );
  // The brief's example: 2^31 elements declared in a 20-byte file.
  const claim = Buffer.alloc(20);
  claim[2] = 8;
  claim[3] = 2;
  claim.writeUInt32BE(2 ** 16, 4);
  claim.writeUInt32BE(2 ** 15, 8);
  assert.throws(() => parseIdx(claim, 'claim.idx'), DataError);
  totalCases++;
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.ok(grew < 64 * 1024 * 1024, `arrayBuffers grew by ${grew} bytes`);
  assert.ok(performance.now() - t0 < 5000);
});

// ---------------------------------------------------------------- CIFAR

function checkCifar(buf: Uint8Array): void {
  const r = parsesOrRefuses(() => parseCifarBatch(buf, 'fuzz.bin'), DataError);
  if (!r) return;
  assert.ok(buf.length > 0 && buf.length % CIFAR_RECORD === 0);
  assert.equal(r.n, buf.length / CIFAR_RECORD);
  assert.equal(r.y.length, r.n);
  assert.equal(r.x.length, r.n * CIFAR_PIXELS);
  for (const l of r.y) assert.ok(l < 10);
  // The parse is exactly the inverse of the file layout.
  assert.ok(Buffer.from(encodeCifarBatch(r.x, r.y)).equals(Buffer.from(buf)));
}

test('fuzz: parseCifarBatch on random lengths and bytes parses with n = len/3073 or throws DataError', () => {
  const arb = fc.record({
    len: fc.oneof(fc.nat({ max: 3 * CIFAR_RECORD + 10 }), fc.constantFrom(0, 1, CIFAR_RECORD - 1, CIFAR_RECORD, CIFAR_RECORD + 1, 2 * CIFAR_RECORD, 3 * CIFAR_RECORD)),
    seed: fc.nat(),
    labelsOk: fc.boolean(),
  });
  run(
    arb,
    ({ len, seed, labelsOk }) => {
      const buf = bytesOf(len, seed);
      if (labelsOk) for (let i = 0; i < len; i += CIFAR_RECORD) buf[i] %= 10;
      checkCifar(buf);
    },
    400,
  );
});

test('fuzz: parseCifarBatch on mutated valid batches parses or throws DataError', () => {
  const valid = fc.record({ n: fc.integer({ min: 1, max: 3 }), seed: fc.nat() }).map(({ n, seed }) => {
    const x = bytesOf(n * CIFAR_PIXELS, seed);
    const y = Array.from(bytesOf(n, seed + 1), (b) => b % 10);
    return encodeCifarBatch(x, y);
  });
  run(
    fc.tuple(valid, fc.array(mutation(3 * CIFAR_RECORD), { minLength: 1, maxLength: 3 })),
    ([buf, ms]) => {
      checkCifar(buf);
      let b: Uint8Array = buf;
      // set32 hits a label (record start) to push it out of 0-9.
      for (const m of ms) b = mutate(b, m, (f) => (f % 3) * CIFAR_RECORD, true);
      checkCifar(b);
    },
    400,
  );
});

// ---------------------------------------------------------------- checkpoint

const CK = sample();
const CK_BYTES = Buffer.from(encodeCheckpoint(CK));
const HLEN = CK_BYTES.readUInt32LE(12);
const PAYLOAD_AT = 16 + HLEN + ((4 - ((16 + HLEN) % 4)) % 4);

function decodes(buf: Uint8Array): Checkpoint | undefined {
  return parsesOrRefuses(() => decodeCheckpoint(buf, 'fuzz.ckpt'), CheckpointError);
}

function assertSamePayload(got: Checkpoint): void {
  assert.deepEqual(got.params, CK.params);
  assert.deepEqual(got.mean, CK.mean);
}

test('fuzz: decodeCheckpoint on single-byte flips anywhere: every flip is refused (the hash covers every byte)', () => {
  run(
    fc.record({ at: fc.nat({ max: CK_BYTES.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) }),
    ({ at, mask }) => {
      const b = Buffer.from(CK_BYTES);
      b[at] ^= mask;
      assert.equal(decodes(b), undefined, `a flip at ${at} (of ${CK_BYTES.length} bytes; the payload starts at ${PAYLOAD_AT}) must be refused`);
    },
    2000,
  );
});

/** A real last.ckpt: a small MLP with momentum and shuffled batches, trained by the run code itself. */
async function realLastCheckpoint(): Promise<{ file: string; bytes: Buffer }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-ckpt-'));
  const cfg = resolveConfig(
    {},
    { model: 'mlp', hidden: [8], numTrain: 300, numVal: 50, numTest: 50, numDev: 20, batchSize: 50, epochs: 3, momentum: 0.9, sampling: 'shuffle', backend: 'js', runsDir: dir },
  );
  const selection = await initEngine('js');
  const quiet: RunUi = { info() {}, warn() {}, startTraining() {}, iteration() {}, epoch() {}, endTraining() {} };
  await runTraining({ cfg, runData: await loadRunData(cfg), dir, engine: selection }, quiet, { evaluateTest: false });
  const file = path.join(dir, 'last.ckpt');
  return { file, bytes: fs.readFileSync(file) };
}

test('fuzz: every byte of a real last.ckpt header (preamble, JSON, padding) flipped in turn, with four bit patterns: each flip is a CheckpointError naming the file', async () => {
  const { file, bytes } = await realLastCheckpoint();
  try {
    const real = decodeCheckpoint(bytes, file);
    const hlen = bytes.readUInt32LE(12);
    const end = 16 + hlen + ((4 - ((16 + hlen) % 4)) % 4);
    let flips = 0;
    for (let at = 0; at < end; at++) {
      for (const mask of [0x01, 0x02, 0x80, 0xff]) {
        const b = Buffer.from(bytes);
        b[at] ^= mask;
        assert.throws(
          () => decodeCheckpoint(b, file),
          (e: Error) => e instanceof CheckpointError && e.message.startsWith(`${file}: `),
          `a flip of byte ${at} by 0x${mask.toString(16)} must be refused`,
        );
        flips++;
      }
    }
    totalCases += flips;
    assert.ok(hlen > 500 && flips === 4 * end);
    assert.ok(real.header.trainer && real.blocks?.['optim.velocity'], 'the checkpoint holds trainer state and the momentum velocity');
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});

test('fuzz: decodeCheckpoint on truncations, extensions, huge header lengths and chained mutations throws CheckpointError', () => {
  const before = process.memoryUsage().arrayBuffers;
  run(
    fc.array(mutation(CK_BYTES.length + 40), { minLength: 1, maxLength: 4 }),
    (ms) => {
      let b: Uint8Array = CK_BYTES;
      // set32 fields: 0 magic, 1 magic, 2 version, 3+ header length.
      for (const m of ms) b = mutate(b, m, (f) => [0, 4, 8, 12][Math.min(f, 3)], true);
      const got = decodes(b);
      if (got) {
        assertSamePayload(got);
        if (Buffer.from(b).equals(CK_BYTES)) assert.deepEqual(got.header, CK.header);
      }
    },
    3000,
  );
  for (const h of [0, 1, HLEN - 1, HLEN + 1, HLEN + 4, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff, 16 * 1024 * 1024]) {
    const b = Buffer.from(CK_BYTES);
    b.writeUInt32LE(h, 12);
    assert.equal(decodes(b), undefined, `header length ${h}`);
    totalCases++;
  }
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.ok(grew < 64 * 1024 * 1024, `arrayBuffers grew by ${grew} bytes`);
});

/**
 * Re-frame an arbitrary header object with a correct length and padding and the real floats; as
 * version 2 with a correct sha256 at the end (so the field checks are what is tested), or as
 * version 1 (tsnn-trainer 0.1's: no trailer), which is refused whatever its header.
 */
function frame(header: unknown, floats?: Uint8Array, version = 2): Buffer {
  return frameJson(JSON.stringify(header) ?? 'null', floats, version);
}

function frameJson(text: string, floats: Uint8Array = CK_BYTES.subarray(PAYLOAD_AT, CK_BYTES.length - 32), version = 2): Buffer {
  const json = Buffer.from(text, 'utf8');
  const pad = (4 - ((16 + json.length) % 4)) % 4;
  const head = Buffer.alloc(16 + json.length + pad);
  head.write('TSNNCKPT', 0, 'ascii');
  head.writeUInt32LE(version, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  const body = Buffer.concat([head, floats]);
  return version === 1 ? body : Buffer.concat([body, crypto.createHash('sha256').update(body).digest()]);
}

test('fuzz: decodeCheckpoint on well-framed but hostile headers throws CheckpointError or returns a well-typed header', () => {
  const good = JSON.parse(CK_BYTES.toString('utf8', 16, 16 + HLEN)) as Record<string, unknown>;
  const keys = Object.keys(good);
  const weird = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, -1, 1.5, 1e300, 2 ** 40, '', 'x', [], {}, [null], [{}], [{ name: 'W', rows: 2 ** 30, cols: 2 ** 30 }], [{ name: 'W', rows: -1, cols: -1 }]),
  );
  run(
    fc.oneof(
      // The whole header replaced by random JSON.
      fc.jsonValue({ maxDepth: 2 }).map((h) => frame(h)),
      // One field of a valid header replaced, or deleted.
      fc.record({ key: fc.constantFrom(...keys), value: weird, del: fc.boolean() }).map(({ key, value, del }) => {
        const h: Record<string, unknown> = { ...good };
        if (del) delete h[key];
        else h[key] = value;
        return frame(h);
      }),
    ),
    (b) => {
      const got = decodes(b);
      if (!got) return;
      assertSamePayload(got);
      const h = got.header;
      // Whatever decodes is safe for the readers of a checkpoint (eval, report) to use.
      assert.ok(Array.isArray(h.params) && Array.isArray(h.classes) && h.classes.every((c) => typeof c === 'string'));
      assert.ok(h.model !== null && typeof h.model === 'object' && Array.isArray(h.model.hidden));
      assert.ok(Array.isArray(h.imageShape) && h.imageShape.length === 3);
      assert.ok(h.preprocess !== null && typeof h.preprocess === 'object' && typeof h.preprocess.scale === 'number');
      assert.ok(h.split !== null && typeof h.split === 'object' && Number.isInteger(h.split.numTest));
      // ... and consistent: classes fit the model, the scale is usable, the parameters fit the spec.
      assert.equal(new Set(h.classes).size, h.model.numClasses);
      assert.equal(h.classes.length, h.model.numClasses);
      assert.ok(Number.isFinite(h.preprocess.scale) && h.preprocess.scale > 0);
      assert.doesNotThrow(() => modelFromCheckpoint(got));
    },
    2000,
  );
  // Version 1 (tsnn-trainer 0.1's, no trailer): refused whatever its header, with or without its payload hash.
  const v1: Record<string, unknown> = {
    ...good,
    payloadSha256: crypto
      .createHash('sha256')
      .update(CK_BYTES.subarray(PAYLOAD_AT, CK_BYTES.length - 32))
      .digest('hex'),
  };
  assert.equal(decodes(frame(v1, undefined, 1)), undefined);
  assert.equal(decodes(frame({ ...good }, undefined, 1)), undefined);
  totalCases += 2;
});

test('checkpoint fields are checked for range and consistency, not only type (each refusal names the file)', () => {
  // Framed with a correct sha256 over the tampered bytes: the field checks alone must refuse.
  const floats = Buffer.from(Float32Array.from([...CK.params, ...CK.mean]).buffer);
  const good = { ...CK.header };
  const frame = (h: unknown) => frameJson(JSON.stringify(h), floats);
  const trainer = { it: 5, epoch: 1, lr: 0.1, bestValAcc: 0.5, bestEpoch: 1, trainAccHistory: [0.5], valAccHistory: [0.5], rng: { s: [1, 2, 3, 4], spare: null }, batcher: { perm: null, pos: 0 } };
  assert.ok(decodes(frame({ ...good, trainer })), 'a consistent trainer state decodes');
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a changed scale digit to 0', { preprocess: { bias: false, scale: 0 } }, /preprocess/],
    ['a scale that is a string', { preprocess: { bias: false, scale: '1' } }, /preprocess/],
    ['duplicate class names', { classes: ['a', 'a'] }, /not all different/],
    ['more class names than classes', { classes: ['a', 'b', 'c'] }, /3 class names for a model of 2/],
    ['a model spec that does not fit its parameters', { model: { kind: 'mlp', inputDim: 3, hidden: [3], numClasses: 2 } }, /do not fit the model/],
    ['a softmax with hidden layers', { model: { kind: 'softmax', inputDim: 3, hidden: [2], numClasses: 2 } }, /softmax has no hidden/],
    ['a mean of the wrong image size', { imageShape: [1, 2, 3] }, /meanLength/],
    ['an accuracy above 1', { valAcc: 1.5 }, /valAcc/],
    ['a negative epoch', { epoch: -1 }, /epoch/],
    ['trainer.it "abc"', { trainer: { ...trainer, it: 'abc' } }, /step "abc"/],
    ['trainer.it not the header iteration', { trainer: { ...trainer, it: 4 } }, /differ from the header/],
    ['a negative step', { iteration: -3, trainer: { ...trainer, it: -3 } }, /iteration|step/],
    ['an infinite lr', { trainer: { ...trainer, lr: null } }, /learning rate/],
    ['histories of the wrong length', { trainer: { ...trainer, valAccHistory: [0.5, 0.4] } }, /valAccHistory/],
    ['a history of strings', { trainer: { ...trainer, trainAccHistory: ['x'] } }, /trainAccHistory/],
    ['a best accuracy not in the history', { trainer: { ...trainer, bestValAcc: 0.9 } }, /best val accuracy/],
    ['a best epoch past the epochs', { trainer: { ...trainer, bestEpoch: 2 } }, /best epoch/],
    ['an RNG state of three words', { trainer: { ...trainer, rng: { s: [1, 2, 3], spare: null } } }, /random generator/],
    ['an RNG word past uint32', { trainer: { ...trainer, rng: { s: [1, 2, 3, 2 ** 32], spare: null } } }, /random generator/],
    ['an all-zero RNG state', { trainer: { ...trainer, rng: { s: [0, 0, 0, 0], spare: null } } }, /random generator/],
    ['a batch order of the wrong length', { trainer: { ...trainer, batcher: { perm: [0, 1, 2], pos: 0 } } }, /batch order/],
    ['a batch order that is not a permutation', { trainer: { ...trainer, batcher: { perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 8], pos: 0 } } }, /permutation/],
    ['a batch position past the rows', { trainer: { ...trainer, batcher: { perm: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], pos: 11 } } }, /batch position/],
  ];
  // JSON.stringify cannot write an infinite number, but JSON.parse reads 1e999 as Infinity.
  const inf = frameJson(JSON.stringify({ ...good, preprocess: { bias: false, scale: 7 } }).replace('"scale":7', '"scale":1e999'), floats);
  assert.throws(
    () => decodeCheckpoint(inf, 'tampered.ckpt'),
    (e: Error) => e instanceof CheckpointError && /tampered\.ckpt: .*preprocess.*finite/.test(e.message),
  );
  // A block must be one value per parameter.
  const block = frameJson(JSON.stringify({ ...CK.header, blocks: [{ name: 'optim.velocity', length: 3 }] }), Buffer.concat([floats, Buffer.alloc(12)]));
  assert.throws(
    () => decodeCheckpoint(block, 'tampered.ckpt'),
    (e: Error) => e instanceof CheckpointError && /tampered\.ckpt: .*block optim\.velocity has 3 values for 14 parameters/.test(e.message),
  );
  for (const [what, change, re] of cases) {
    assert.throws(
      () => decodeCheckpoint(frame({ ...good, ...change }), 'tampered.ckpt'),
      (e: Error) => e instanceof CheckpointError && e.message.startsWith('tampered.ckpt: ') && re.test(e.message),
      what,
    );
    totalCases++;
  }
});

test('fuzz: total cases', (t) => {
  t.diagnostic(`fuzz cases run: ${totalCases}`);
  assert.ok(totalCases > 10000);
});
