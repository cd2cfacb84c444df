import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { type Checkpoint, CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/runs/checkpoint.js';
import { readJsonl } from '../src/runs/jsonl.js';
import { writeFileAtomic, RunIoError } from '../src/runs/atomic.js';
import { metricRows, quietUi, runIn as runInProcess, sampleCheckpoint as sample } from './helpers.js';
import { type Config, resolveConfig } from '../src/config/config.js';
import type { Summary } from '../src/runs/summary.js';
import { RunFinishedError, loadRunData, runTraining, startRun } from '../src/train/run.js';
import { initEngine } from '../src/linalg/engine.js';
import { CIFAR_PIXELS, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } from '../src/data/cifar.js';
import { DataError } from '../src/data/errors.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));

test('checkpoint round-trips bit for bit', () => {
  const ck = sample();
  const back = decodeCheckpoint(encodeCheckpoint(ck), 'mem');
  assert.deepEqual(back.params, ck.params);
  assert.deepEqual(back.mean, ck.mean);
  assert.deepEqual(back.header.params, ck.header.params);
  assert.equal(back.header.valAcc, 0.5);
});

test('a truncated checkpoint names expected and found sizes', () => {
  const bytes = encodeCheckpoint(sample());
  const cut = bytes.subarray(0, bytes.length - 4);
  assert.throws(
    () => decodeCheckpoint(cut, 'best.ckpt'),
    (e: Error) => e instanceof CheckpointError && e.message.includes('best.ckpt') && e.message.includes(`expected ${bytes.length} bytes`) && e.message.includes(`found ${cut.length}`),
  );
});

test('a flipped payload byte is caught by the hash', () => {
  const bytes = Buffer.from(encodeCheckpoint(sample()));
  bytes[bytes.length - 1] ^= 0x40;
  assert.throws(() => decodeCheckpoint(bytes, 'x.ckpt'), /hash does not match/);
});

test('bad magic, bad version and a huge header length are refused', () => {
  const bytes = Buffer.from(encodeCheckpoint(sample()));
  const m = Buffer.from(bytes);
  m[0] = 0x58;
  assert.throws(() => decodeCheckpoint(m, 'x'), /magic/);
  const v = Buffer.from(bytes);
  v.writeUInt32LE(99, 8);
  assert.throws(() => decodeCheckpoint(v, 'x'), /version 99/);
  const h = Buffer.from(bytes);
  h.writeUInt32LE(0xffffffff, 12);
  assert.throws(() => decodeCheckpoint(h, 'x'), /header length/);
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, 10), 'x'), /shorter than/);
});

test('a missing checkpoint says what to pass', () => {
  assert.throws(() => loadCheckpoint('/nonexistent/best.ckpt'), /checkpoint not found: \/nonexistent\/best.ckpt/);
});

test('saveCheckpoint writes atomically and leaves no temp files', () => {
  const dir = tmp();
  const file = path.join(dir, 'best.ckpt');
  saveCheckpoint(file, sample());
  saveCheckpoint(file, sample());
  assert.deepEqual(fs.readdirSync(dir), ['best.ckpt']);
  assert.deepEqual(loadCheckpoint(file).mean, sample().mean);
});

test('a failed atomic write keeps the previous file and names the problem', { skip: process.getuid?.() === 0 && 'root ignores folder permissions' }, () => {
  const dir = tmp();
  const file = path.join(dir, 'summary.json');
  writeFileAtomic(file, 'good');
  fs.chmodSync(dir, 0o500);
  try {
    assert.throws(
      () => writeFileAtomic(file, 'bad'),
      (e: Error) => e instanceof RunIoError && /permission denied/.test(e.message),
    );
  } finally {
    fs.chmodSync(dir, 0o700);
  }
  assert.equal(fs.readFileSync(file, 'utf8'), 'good');
});

test('a full disk mid-write keeps the previous file, leaves no temp file, and says the disk is full', { skip: !fs.existsSync('/dev/full') && '/dev/full is absent' }, () => {
  const dir = tmp();
  const file = path.join(dir, 'best.ckpt');
  saveCheckpoint(file, sample());
  // The temp file's name is fixed per process; pointing it at /dev/full makes every write fail with ENOSPC.
  fs.symlinkSync('/dev/full', path.join(dir, `.best.ckpt.${process.pid}.tmp`));
  assert.throws(
    () => saveCheckpoint(file, sample()),
    (e: Error) => e instanceof RunIoError && /best\.ckpt/.test(e.message) && /disk is full/.test(e.message) && /ENOSPC/.test(e.message),
  );
  assert.deepEqual(fs.readdirSync(dir), ['best.ckpt']);
  assert.deepEqual(loadCheckpoint(file).mean, sample().mean);
});

test('a failed atomic write into a missing folder names the file', () => {
  assert.throws(
    () => writeFileAtomic('/nonexistent-dir/x/summary.json', 'x'),
    (e: Error) => e instanceof RunIoError && /summary.json/.test(e.message),
  );
});

test('readJsonl skips a torn last line but not a corrupt middle line', () => {
  const dir = tmp();
  const f = path.join(dir, 'm.jsonl');
  fs.writeFileSync(f, '{"a":1}\n{"a":2}\n{"a":');
  assert.deepEqual(readJsonl(f), [{ a: 1 }, { a: 2 }]);
  fs.writeFileSync(f, '{"a":1}\n{"a"\n{"a":3}\n');
  assert.throws(() => readJsonl(f), /line 2/);
});

// ---------------------------------------------------------------- resuming a run folder (in process)

/** A small MNIST MLP on the reference engine: 6 steps an epoch, 4 epochs, momentum and shuffled batches. */
const RUN = { model: 'mlp', hidden: [8], numTrain: 300, numVal: 50, numTest: 50, numDev: 20, batchSize: 50, epochs: 4, backend: 'js', seed: 3 } as const;

/** Train RUN with `flags` over it, in process (helpers.ts runIn). */
const runIn = (dir: string, flags: Partial<Config>, opts: Parameters<typeof runInProcess>[2] = {}) => runInProcess(dir, { ...RUN, ...flags } as Partial<Config>, opts);

const bestBits = (dir: string) => Buffer.from(loadCheckpoint(path.join(dir, 'best.ckpt')).params.buffer);

test('resume: metrics.jsonl and train.log keep every line written after a resume, through resumes, a finished run resumed and longer runs (defect 1)', async () => {
  const ref = tmp();
  const want = await runIn(ref, { momentum: 0.9, sampling: 'shuffle' });
  assert.notEqual(want, 'interrupted');
  const wantRows = metricRows(ref);
  assert.equal(wantRows.length, 24 + 4);
  const dir = tmp();
  // Stopped after 4 steps (no last.ckpt yet but the stop writes one), then after 8 more, 3 more, then to the end.
  assert.equal(await runIn(dir, { momentum: 0.9, sampling: 'shuffle' }, { stopAfter: 4 }), 'interrupted');
  let log = fs.readFileSync(path.join(dir, 'train.log'), 'utf8');
  for (const k of [8, 3]) {
    assert.equal(await runIn(dir, { momentum: 0.9, sampling: 'shuffle' }, { resume: true, stopAfter: k }), 'interrupted');
    const now = fs.readFileSync(path.join(dir, 'train.log'), 'utf8');
    assert.ok(now.startsWith(log) && now.length > log.length, 'train.log keeps every line and grows');
    log = now;
    const rows = metricRows(dir);
    assert.deepEqual(rows, wantRows.slice(0, rows.length), "metrics.jsonl is the uninterrupted run's, row for row, so far");
  }
  assert.deepEqual(metricRows(dir).length, 4 + 8 + 3 + 2, 'every step and the two epochs so far');
  const got = await runIn(dir, { momentum: 0.9, sampling: 'shuffle' }, { resume: true });
  assert.notEqual(got, 'interrupted');
  assert.deepEqual(metricRows(dir), wantRows, 'one row per step and per epoch of the whole run, in order');
  assert.equal((got as Summary).finalLoss, (want as Summary).finalLoss);
  assert.ok(bestBits(dir).equals(bestBits(ref)));
  // A finished run resumed (its last.ckpt is its end: issue 24) trains nothing and keeps its metrics whole.
  const warnings: string[] = [];
  await runIn(dir, { momentum: 0.9, sampling: 'shuffle' }, { resume: true, warnings });
  assert.deepEqual(metricRows(dir), wantRows);
  assert.deepEqual(warnings, []);
  assert.ok(fs.readFileSync(path.join(dir, 'train.log'), 'utf8').startsWith(log));
});

test("resume: a momentum run's resumable state is last.ckpt alone, one atomic write (defect 2)", async () => {
  const ref = tmp();
  const want = (await runIn(ref, { momentum: 0.9 })) as Summary;
  const dir = tmp();
  assert.equal(await runIn(dir, { momentum: 0.9 }, { stopAfter: 9 }), 'interrupted');
  // Whatever a kill left beside last.ckpt, no other file is needed to carry on: a kill between two
  // writes can no longer leave them a checkpoint apart.
  for (const f of fs.readdirSync(dir)) if (!['last.ckpt', 'config.json', 'metrics.jsonl'].includes(f)) fs.rmSync(path.join(dir, f));
  const last = loadCheckpoint(path.join(dir, 'last.ckpt'));
  const got = (await runIn(dir, { momentum: 0.9 }, { resume: true })) as Summary;
  assert.equal(last.header.trainer?.it, 9);
  assert.equal(last.blocks?.['optim.velocity'].length, last.params.length, 'the velocity is a block of last.ckpt');
  assert.equal(got.finalLoss, want.finalLoss);
  assert.equal(got.testAcc, want.testAcc);
  assert.ok(bestBits(dir).equals(bestBits(ref)), 'the best parameters are bit-identical');
});

test("resume: best.ckpt is put back to the resumed state's best when a kill left a newer one (best.ckpt and last.ckpt agree)", async () => {
  const ref = tmp();
  const want = (await runIn(ref, {})) as Summary;
  const refBest = loadCheckpoint(path.join(ref, 'best.ckpt'));
  assert.ok(refBest.header.epoch > 2, `the reference run's best epoch is ${refBest.header.epoch}`);
  const dir = tmp();
  assert.equal(await runIn(dir, {}, { stopAfter: 13 }), 'interrupted'); // last.ckpt at step 13, in epoch 2
  const bestThen = bestBits(dir);
  // As if the run had gone on, written a new best.ckpt at a later epoch, and died before its next last.ckpt:
  fs.copyFileSync(path.join(ref, 'best.ckpt'), path.join(dir, 'best.ckpt'));
  assert.equal(await runIn(dir, {}, { resume: true, stopAfter: 0 }), 'interrupted'); // one step, then stop
  const st = loadCheckpoint(path.join(dir, 'last.ckpt')).header.trainer!;
  const best = loadCheckpoint(path.join(dir, 'best.ckpt'));
  assert.equal(best.header.epoch, st.bestEpoch);
  assert.equal(best.header.valAcc, st.bestValAcc);
  assert.ok(bestBits(dir).equals(bestThen), 'best.ckpt holds the best parameters of the state resumed from');
  const got = (await runIn(dir, {}, { resume: true })) as Summary;
  assert.equal(got.testAcc, want.testAcc);
  assert.ok(bestBits(dir).equals(bestBits(ref)));
});

test('resume: a longer run and another config are honoured and recorded in config.json (defect 15 hook)', async () => {
  const ref = tmp();
  const want = (await runIn(ref, { epochs: 6 })) as Summary;
  const dir = tmp();
  assert.equal(await runIn(dir, {}, { stopAfter: 10 }), 'interrupted');
  const got = (await runIn(dir, { epochs: 6 }, { resume: true })) as Summary;
  assert.equal(got.iterations, 36);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).epochs, 6);
  assert.equal(got.finalLoss, want.finalLoss);
  assert.ok(bestBits(dir).equals(bestBits(ref)));
  assert.deepEqual(metricRows(dir), metricRows(ref));
  // Shorter than the checkpoint's step: refused, naming the folder and what would work.
  const short = tmp();
  assert.equal(await runIn(short, {}, { stopAfter: 20 }), 'interrupted');
  await assert.rejects(
    () => runIn(short, { epochs: 2 }, { resume: true }),
    (e: Error) => e instanceof CheckpointError && e.message.startsWith(`cannot resume ${short}: `) && /step 20, past the 12 steps/.test(e.message) && /longer, never shorter/.test(e.message),
  );
});

test('resume: a last.ckpt that does not fit the run, or is damaged, is refused naming the folder and what to do', async () => {
  const dir = tmp();
  assert.equal(await runIn(dir, { momentum: 0.9 }, { stopAfter: 8 }), 'interrupted');
  const cases: [string, Partial<Config>, RegExp][] = [
    ['no momentum now', { momentum: 0 }, /optimizer state \[velocity\].*keeps \[\]/],
    ['another hidden size', { momentum: 0.9, hidden: [9] }, /has model .*config\.json and the data give/],
    ['another lr', { momentum: 0.9, lr: 0.123 }, /learning rate .* config\.json's lr and lrDecay give/],
  ];
  for (const [what, flags, re] of cases) {
    await assert.rejects(
      () => runIn(dir, flags, { resume: true }),
      (e: Error) => e instanceof CheckpointError && e.message.startsWith(`cannot resume ${dir}: `) && re.test(e.message),
      what,
    );
  }
  const f = path.join(dir, 'last.ckpt');
  const b = fs.readFileSync(f);
  b[20] ^= 1;
  fs.writeFileSync(f, b);
  await assert.rejects(
    () => runIn(dir, { momentum: 0.9 }, { resume: true }),
    (e: Error) => e instanceof CheckpointError && e.message.startsWith(`cannot resume ${dir}: ${f}: not a valid checkpoint`) && /start the run again/.test(e.message),
  );
  fs.rmSync(f);
  await assert.rejects(
    () => runIn(dir, { momentum: 0.9 }, { resume: true }),
    (e: Error) => e instanceof CheckpointError && /cannot resume .*: it has no last\.ckpt/.test(e.message) && !/pass a run folder/i.test(e.message),
  );
});

test('a dataset whose class names repeat is refused before any run folder exists (its checkpoints would be unreadable)', async () => {
  const data = path.join(tmp(), 'cifar-10-batches-bin');
  fs.mkdirSync(data);
  const batch = (n: number) =>
    encodeCifarBatch(
      new Uint8Array(n * CIFAR_PIXELS).fill(7),
      Array.from({ length: n }, (_, i) => i % 10),
    );
  for (const f of CIFAR_TRAIN_FILES) fs.writeFileSync(path.join(data, f), batch(4));
  fs.writeFileSync(path.join(data, CIFAR_TEST_FILE), batch(4));
  fs.writeFileSync(path.join(data, 'batches.meta.txt'), ['cat', 'cat', 'bird', 'dog', 'deer', 'frog', 'horse', 'ship', 'truck', 'plane'].join('\n') + '\n');
  const runsDir = path.join(path.dirname(data), 'runs');
  const cfg = resolveConfig({}, { dataset: 'cifar', dataDir: data, numTrain: 10, numVal: 2, numTest: 3, numDev: 2, batchSize: 5, iterations: 4, backend: 'js', runsDir });
  await assert.rejects(
    async () => startRun(cfg, await initEngine(cfg.backend)),
    (e: Error) => e instanceof DataError && /batches\.meta\.txt: class names must all differ, but "cat" appears more than once/.test(e.message),
  );
  assert.equal(fs.existsSync(runsDir), false);
});

/** A version-1 file, as tsnn-trainer 0.1 wrote them: the sha256 of the floats in the header, no trailer. */
function encodeV1(ck: Checkpoint): Buffer {
  const floats = Buffer.from(Float32Array.from([...ck.params, ...ck.mean]).buffer);
  const { blocks: _b, ...header } = ck.header;
  const json = Buffer.from(JSON.stringify({ ...header, payloadSha256: createHash('sha256').update(floats).digest('hex') }), 'utf8');
  const head = Buffer.alloc(16 + json.length + ((4 - ((16 + json.length) % 4)) % 4));
  head.write('TSNNCKPT', 0, 'ascii');
  head.writeUInt32LE(1, 8);
  head.writeUInt32LE(json.length, 12);
  json.copy(head, 16);
  return Buffer.concat([head, floats]);
}

/** The one line a version-1 file gets, wherever it is read. */
const V1_LINE = /^\S+: checkpoint format version 1, written by tsnn-trainer 0\.1, which this build does not read; train the run again/;

test('a version-1 checkpoint (tsnn-trainer 0.1) is refused with one line saying to train the run again, read whole or from its file', () => {
  const dir = tmp();
  const file = path.join(dir, 'best.ckpt');
  const bytes = encodeV1(sample());
  fs.writeFileSync(file, bytes);
  for (const read of [() => loadCheckpoint(file), () => decodeCheckpoint(bytes, file)]) {
    assert.throws(read, (e: Error) => e instanceof CheckpointError && e.message.startsWith(`${file}: `) && V1_LINE.test(e.message) && !e.message.includes('\n'));
  }
});

test('resume: a run folder whose last.ckpt is version 1 is refused with that line and what to do', async () => {
  const dir = tmp();
  assert.equal(await runIn(dir, { momentum: 0.9 }, { stopAfter: 9 }), 'interrupted');
  const last = loadCheckpoint(path.join(dir, 'last.ckpt'));
  fs.writeFileSync(path.join(dir, 'last.ckpt'), encodeV1(last));
  await assert.rejects(
    () => runIn(dir, { momentum: 0.9 }, { resume: true }),
    (e: Error) =>
      e instanceof CheckpointError && e.message.startsWith(`cannot resume ${dir}: `) && /version 1, written by tsnn-trainer 0\.1.*train the run again/.test(e.message) && !e.message.includes('\n'),
  );
});

// ---------------------------------------------------------------- issue 24: last.ckpt is the end, finished runs, seconds

/** What a resumed run must reproduce bit for bit: every file but its timings (metrics.jsonl without them; summary.json without seconds, rate and memory, its checkpoint relative to the folder). */
function runRecord(dir: string) {
  const { seconds: _s, examplesPerSecond: _e, peakRssMB: _p, checkpoint, ...summary } = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  const bytes = (f: string) => fs.readFileSync(path.join(dir, f)).toString('base64');
  return { config: bytes('config.json'), best: bytes('best.ckpt'), last: bytes('last.ckpt'), metrics: metricRows(dir), summary: { ...summary, checkpoint: path.relative(dir, checkpoint) } };
}

/** Every file of a folder, byte for byte. */
const allBytes = (dir: string) => Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));

test("issue 24 #24: last.ckpt is the final state of a finished run (a 1-epoch run has one), and a run stopped in its last epoch then resumed ends with every file as the uninterrupted run's", async () => {
  const ref = tmp();
  await runIn(ref, { momentum: 0.9 });
  const st = loadCheckpoint(path.join(ref, 'last.ckpt')).header.trainer!;
  assert.deepEqual([st.it, st.epoch], [24, 4], 'last.ckpt is at the last step');
  const one = tmp();
  await runIn(one, { epochs: 1 });
  assert.ok(fs.existsSync(path.join(one, 'last.ckpt')), 'a 1-epoch run has a last.ckpt');
  assert.equal(loadCheckpoint(path.join(one, 'last.ckpt')).header.trainer!.it, 6);
  const dir = tmp();
  assert.equal(await runIn(dir, { momentum: 0.9 }, { stopAfter: 20 }), 'interrupted'); // at step 20, in the last epoch (steps 19–24)
  await runIn(dir, { momentum: 0.9 }, { resume: true });
  assert.deepEqual(runRecord(dir), runRecord(ref));
});

test("issue 24 #23: a finished run resumed with no more steps is refused as finished and left untouched; with more (whole or fractional epochs) it carries on from its end to the longer run's files, bit for bit", async () => {
  const cases: [Partial<Config>, Partial<Config>][] = [
    [{ epochs: 2 }, { epochs: 4 }], //          whole epochs: 12 steps, then 24
    [{ iterations: 15 }, { iterations: 40 }], // 2.5 epochs (its last one evaluated at step 15), then 6.67
  ];
  for (const [short, long] of cases) {
    const ref = tmp();
    await runIn(ref, { momentum: 0.9, ...long });
    const dir = tmp();
    await runIn(dir, { momentum: 0.9, ...short });
    const before = allBytes(dir);
    await assert.rejects(
      async () => startRun(resolveConfig({}, { ...RUN, momentum: 0.9, ...short } as unknown as Partial<Config>), await initEngine('js'), { resumeDir: dir }),
      (e: Error) => e instanceof RunFinishedError && e.message.startsWith(`${dir} is finished (`) && /nothing to do\. To train it longer: npx train --resume .* --epochs <more than/.test(e.message),
    );
    assert.deepEqual(allBytes(dir), before, 'a finished run resumed without more steps is left as it was');
    const got = (await runIn(dir, { momentum: 0.9, ...long }, { resume: true })) as Summary;
    assert.deepEqual(runRecord(dir), runRecord(ref), JSON.stringify(long));
    assert.equal(got.seconds.segments?.length, 2, 'the summary lists both segments');
  }
});

test("resume: a run killed after the checkpoint of the epoch its patience ran out at, before its summary, stops there when resumed, with the uninterrupted run's files", async () => {
  const flags = { lr: 1e-12, patience: 2, epochs: 10 }; // lr 1e-12 moves no float32 weight: epoch 1's val accuracy is never beaten
  const ref = tmp();
  const whole = (await runIn(ref, flags)) as Summary;
  assert.deepEqual(whole.stoppedEarly, { epoch: 3, it: 18, patience: 2 }, 'the run this test needs: patience runs out at epoch 3');
  const dir = tmp();
  await runIn(dir, flags);
  fs.rmSync(path.join(dir, 'summary.json')); // the kill: last.ckpt of epoch 3 is written, the summary is not
  const resumed = (await runIn(dir, flags, { resume: true })) as Summary;
  assert.deepEqual(resumed.stoppedEarly, whole.stoppedEarly);
  assert.deepEqual(runRecord(dir), runRecord(ref));
});

test("issue 24 #12: a resumed run's seconds are the sums over its segments, each listed; a process that died without its last word counts to its last log line", async () => {
  const ref = tmp();
  const fresh = (await runIn(ref, {})) as Summary;
  assert.deepEqual(Object.keys(fresh.seconds), ['load', 'train', 'total'], 'a run of one segment: its seconds as before, no list');
  const dir = tmp();
  assert.equal(await runIn(dir, {}, { stopAfter: 8 }), 'interrupted');
  const first = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).seconds;
  // A process that dies mid-run (here its listener throws, as a crash would) writes no summary and logs no end.
  const cfg = resolveConfig({}, RUN as unknown as Partial<Config>);
  const sel = await initEngine(cfg.backend);
  let steps = 0;
  const crash = { ...quietUi(), iteration: () => void (++steps === 7 && fail()) };
  const fail = () => {
    throw new Error('crash');
  };
  const runData = await loadRunData(cfg);
  await assert.rejects(() => runTraining({ cfg, runData, dir, engine: sel, resume: true }, crash), /crash/);
  const got = (await runIn(dir, {}, { resume: true })) as Summary;
  const segs = got.seconds.segments!;
  assert.deepEqual(
    segs.map((x) => x.ended),
    ['interrupted', 'killed', 'ok'],
  );
  assert.deepEqual(segs[0], { ...first, ended: 'interrupted' }, 'the first segment as its own summary gave it');
  assert.ok(segs[1].total >= segs[1].load && segs[1].train >= 0, JSON.stringify(segs[1]));
  for (const k of ['load', 'train', 'total'] as const) assert.equal(got.seconds[k], Math.round(segs.reduce((a, x) => a + x[k], 0) * 1000) / 1000, k);
  assert.deepEqual(metricRows(dir), metricRows(ref));
});
