/**
 * One writer per run folder (runs/owner.ts): the lease taken by whoever starts or resumes a run,
 * checked at every write. Unit cases on literal lease files (a live holder, a dead one on this
 * host, a renewed and an expired one on another host, a claim that supersedes), then the CLI: a
 * `--resume` of a run still training in another process is refused in one line naming that
 * process and host, and the run ends with one metrics row per step and per epoch.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../src/runs/atomic.js';
import { JsonlWriter } from '../src/runs/jsonl.js';
import { LEASE_MS, RunFolderHeldError, RunFolderLostError, takeRunFolder } from '../src/runs/owner.js';
import { metricRows, TRAIN_BIN } from './helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'owner-'));
  dirs.push(d);
  return d;
}
const lease = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'run.lease'), 'utf8')) as { pid: number; host: string; token: string; claim: string | null };
/** A lease file as another process would leave it, its mtime `ageMs` ago. */
function foreignLease(dir: string, l: { pid: number; host: string; claim?: string }, ageMs = 0): void {
  const f = path.join(dir, 'run.lease');
  fs.writeFileSync(f, JSON.stringify({ token: 'other', claim: null, started: '2026-01-01T00:00:00.000Z', ...l }));
  const t = new Date(Date.now() - ageMs);
  fs.utimesSync(f, t, t);
}
/** A pid that runs no process here: a child that has exited. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid!;

test('a held run folder: the holder writes; a second taker and any other writer are refused naming the process and host; released, it is free', () => {
  const dir = tmp();
  const l = takeRunFolder(dir);
  assert.equal(lease(dir).pid, process.pid);
  writeFileAtomic(path.join(dir, 'summary.json'), '{}\n'); // the holder writes
  assert.throws(
    () => takeRunFolder(dir),
    (e: Error) => e instanceof RunFolderHeldError && e.message.includes(`${dir} is being written by process ${process.pid} on this host`),
  );
  l.release();
  assert.ok(!fs.existsSync(path.join(dir, 'run.lease')));
  takeRunFolder(dir).release();

  // A folder held by another live process (this test's parent, say) cannot be written from here.
  foreignLease(dir, { pid: process.ppid, host: os.hostname() });
  assert.throws(
    () => writeFileAtomic(path.join(dir, 'report.html'), 'x'),
    (e: Error) => e instanceof RunFolderHeldError && e.message.includes(`process ${process.ppid} on this host`),
  );
  assert.throws(() => new JsonlWriter(path.join(dir, 'metrics.jsonl')), RunFolderHeldError);
  assert.ok(!fs.existsSync(path.join(dir, 'report.html')) && !fs.existsSync(path.join(dir, 'metrics.jsonl')));
});

test('a holder that is gone is taken over: on this host its pid no longer runs; on another host its lease was not renewed for LEASE_MS', () => {
  const dir = tmp();
  const notes: string[] = [];
  const dead = deadPid();
  foreignLease(dir, { pid: dead, host: os.hostname() });
  takeRunFolder(dir, { note: (n) => notes.push(n) }).release();
  assert.match(notes[0], new RegExp(`took over .* from process ${dead}, which is no longer running`));

  foreignLease(dir, { pid: 12345, host: 'elsewhere' }, 5_000); // renewed 5 s ago: held
  assert.throws(
    () => takeRunFolder(dir),
    (e: Error) => e instanceof RunFolderHeldError && /process 12345 on host elsewhere.*its lease expires 60 s after its last renewal \(5 s ago\)/.test(e.message),
  );
  foreignLease(dir, { pid: 12345, host: 'elsewhere' }, LEASE_MS + 5_000);
  takeRunFolder(dir, { note: (n) => notes.push(n) }).release();
  assert.match(notes[1], /from process 12345 on host elsewhere, whose lease was last renewed 65 s ago/);
});

test("a taker with the holder's claim (the same queue job, handed over) supersedes a live holder, which then writes nothing more", () => {
  // A live holder (this test's parent process) that holds the folder for job a.
  const dir = tmp();
  foreignLease(dir, { pid: process.ppid, host: os.hostname(), claim: 'job a' });
  assert.throws(() => takeRunFolder(dir, { claim: 'job b' }), RunFolderHeldError); // another job: refused
  assert.throws(() => takeRunFolder(dir), RunFolderHeldError);
  const notes: string[] = [];
  const mine = takeRunFolder(dir, { claim: 'job a', note: (n) => notes.push(n) });
  assert.match(notes[0], new RegExp(`took over .* from process ${process.ppid} on this host \\(job a\\), since .*, whose job a this process has now`));
  const rows = new JsonlWriter(path.join(dir, 'metrics.jsonl'));
  rows.write({ it: 1 });
  rows.flush();
  // Now another worker is handed job a in turn and takes the folder over (its lease replaces this one).
  foreignLease(dir, { pid: process.ppid, host: os.hostname(), claim: 'job a' });
  rows.write({ it: 2 });
  assert.throws(
    () => rows.flush(),
    (e: Error) => e instanceof RunFolderLostError && new RegExp(`no longer holds it \\(process ${process.ppid} on this host \\(job a\\), since .* took it over\\)`).test(e.message),
  );
  assert.throws(() => writeFileAtomic(path.join(dir, 'last.ckpt'), 'x'), RunFolderLostError);
  assert.throws(() => mine.check(), RunFolderLostError);
  assert.equal(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8'), '{"it":1}\n');
  assert.ok(!fs.existsSync(path.join(dir, 'last.ckpt')));
  mine.release(); // not its own any more: the new holder's lease stays
  assert.equal(lease(dir).token, 'other');
});

test('train --resume of a run that is still training in another process is refused in one line naming it; the run ends with one row per step and per epoch', { timeout: 180_000 }, async () => {
  const runs = tmp();
  const args = [
    '--model',
    'mlp',
    '--hidden',
    '64',
    '--num-train',
    '2000',
    '--num-val',
    '200',
    '--num-test',
    '300',
    '--num-dev',
    '50',
    '--batch-size',
    '100',
    '--epochs',
    '12',
    '--backend',
    'js',
    '--seed',
    '3',
    '--runs-dir',
    runs,
  ];
  const first = spawn(process.execPath, [TRAIN_BIN, ...args], { stdio: 'ignore' });
  const done = new Promise<number | null>((r) => first.once('exit', (c) => r(c)));
  // Once it has written an epoch (and so last.ckpt), resume it from a second process.
  let dir = '';
  for (const t0 = Date.now(); ;) {
    assert.ok(Date.now() - t0 < 60_000, 'the run wrote no epoch within a minute');
    dir = fs.readdirSync(runs).map((d) => path.join(runs, d))[0] ?? '';
    if (dir && fs.existsSync(path.join(dir, 'last.ckpt'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const second = spawnSync(process.execPath, [TRAIN_BIN, '--resume', dir], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  assert.equal(first.exitCode, null, 'the first run was still training when the resume was refused');
  assert.equal(second.status, 1, second.stderr);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.match(lines[0], new RegExp(`is being written by process ${first.pid} on this host, since .*: one process writes a run folder at a time`));
  assert.equal(await done, 0);
  const rows = metricRows(dir);
  const perEpoch = 20;
  assert.equal(rows.filter((r) => r.type === 'iter').length, 12 * perEpoch);
  assert.deepEqual(
    rows.filter((r) => r.type === 'iter').map((r) => r.it),
    Array.from({ length: 12 * perEpoch }, (_, i) => i + 1),
  );
  assert.deepEqual(
    rows.filter((r) => r.type === 'epoch').map((r) => r.epoch),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  const log = fs.readFileSync(path.join(dir, 'train.log'), 'utf8');
  assert.equal(log.split('"msg":"summary"').length - 1, 1);
  assert.ok(!fs.existsSync(path.join(dir, 'run.lease')), 'the lease is gone once the run ended');
});
