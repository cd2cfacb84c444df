import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { readJsonl } from '../src/train/rundir.js';
import { writeFileAtomic, RunIoError } from '../src/train/atomic.js';
import { sampleCheckpoint as sample } from './helpers.js';


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
    assert.throws(() => writeFileAtomic(file, 'bad'), (e: Error) => e instanceof RunIoError && /permission denied/.test(e.message));
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
  assert.throws(() => writeFileAtomic('/nonexistent-dir/x/summary.json', 'x'), (e: Error) => e instanceof RunIoError && /summary.json/.test(e.message));
});

test('readJsonl skips a torn last line but not a corrupt middle line', () => {
  const dir = tmp();
  const f = path.join(dir, 'm.jsonl');
  fs.writeFileSync(f, '{"a":1}\n{"a":2}\n{"a":');
  assert.deepEqual(readJsonl(f), [{ a: 1 }, { a: 2 }]);
  fs.writeFileSync(f, '{"a":1}\n{"a"\n{"a":3}\n');
  assert.throws(() => readJsonl(f), /line 2/);
});
