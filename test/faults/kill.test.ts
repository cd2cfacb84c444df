/**
 * Fault tests (make test-faults): a training process is killed with SIGKILL at random points, at
 * least 20 times, and resumed each time with `train --resume`; the finished run must equal an
 * uninterrupted run with the same seed bit for bit, and no kill may ever leave a partial or
 * unreadable file in the run folder. Ctrl-C (SIGINT) must stop cleanly with exit 130 and resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { readJsonl } from '../../src/train/rundir.js';
import { Rng } from '../../src/linalg/rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'train.js');
// An MLP on the reference JS engine: slow enough (tens of ms a step) that kills land mid-run.
const args = ['--model', 'mlp', '--hidden', '48', '--num-train', '2000', '--num-val', '200', '--num-test', '300', '--num-dev', '50', '--batch-size', '100', '--epochs', '14', '--backend', 'js', '--seed', '7'];

function onlyRun(dir: string): string {
  const ds = fs.readdirSync(dir);
  assert.equal(ds.length, 1, `one run folder in ${dir}: ${ds.join(', ')}`);
  return path.join(dir, ds[0]);
}

/** Every file a kill can leave must be whole: JSON parses, checkpoints verify their hash. */
function checkFolder(dir: string): void {
  for (const f of fs.readdirSync(dir)) {
    const p = path.join(dir, f);
    if (f.endsWith('.json')) JSON.parse(fs.readFileSync(p, 'utf8'));
    else if (f.endsWith('.ckpt')) loadCheckpoint(p);
    else if (f.endsWith('.jsonl')) readJsonl(p);
    // A kill inside an atomic write may leave its hidden temporary file (never read; resume clears it).
    else if (f.endsWith('.tmp')) assert.ok(f.startsWith('.'), `a temporary file not hidden: ${f}`);
  }
}

function finalOf(dir: string) {
  const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  return { status: s.status, testAcc: s.testAcc, bestValAcc: s.bestValAcc, finalLoss: s.finalLoss, best: Buffer.from(loadCheckpoint(path.join(dir, 'best.ckpt')).params.buffer) };
}

function runFor(cmd: string[], ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...cmd], { cwd: root, stdio: 'ignore' });
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

test('20+ SIGKILLs at random points, each resumed: the result equals an uninterrupted run, bit for bit', { timeout: 600_000 }, async (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-'));
  try {
    const ref = spawnSync(process.execPath, [bin, ...args, '--runs-dir', path.join(tmp, 'ref')], { cwd: root, encoding: 'utf8' });
    assert.equal(ref.status, 0, ref.stderr);
    const want = finalOf(onlyRun(path.join(tmp, 'ref')));

    const rng = new Rng(2026);
    const runs = path.join(tmp, 'killed');
    let kills = 0;
    let attempts = 0;
    let code: number | null = null;
    let dir: string | null = null;
    while (code !== 0 || kills < 20) {
      if (code === 0) {
        // Finished before 20 kills: start over, the kills so far still count.
        fs.rmSync(runs, { recursive: true, force: true });
        dir = null;
      }
      attempts++;
      assert.ok(attempts < 200, 'the run keeps being killed before it can progress');
      const ms = 150 + Math.floor(rng.uniform() * 1200);
      const resumable = dir !== null && fs.existsSync(path.join(dir, 'last.ckpt'));
      if (dir !== null && !resumable) {
        fs.rmSync(runs, { recursive: true, force: true }); // killed before its first checkpoint: start again
        dir = null;
      }
      code = await runFor(resumable ? ['--resume', dir!] : [...args, '--runs-dir', runs], ms);
      if (dir === null && fs.existsSync(runs) && fs.readdirSync(runs).length > 0) dir = onlyRun(runs);
      if (code === null) kills++;
      else assert.equal(code, 0, 'a run that was not killed exits 0');
      if (dir !== null) checkFolder(dir);
    }
    const got = finalOf(dir!);
    t.diagnostic(`${kills} kills survived in ${attempts} attempts`);
    assert.deepEqual(fs.readdirSync(dir!).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left once the run has finished');
    assert.ok(kills >= 20);
    assert.equal(got.status, 'ok');
    assert.equal(got.testAcc, want.testAcc);
    assert.equal(got.bestValAcc, want.bestValAcc);
    assert.equal(got.finalLoss, want.finalLoss);
    assert.ok(got.best.equals(want.best), 'the best parameters are bit-identical');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('Ctrl-C stops after the current step with exit 130, a checkpoint and a summary, and the run resumes to the same result', { timeout: 300_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sigint-'));
  try {
    const ref = spawnSync(process.execPath, [bin, ...args, '--runs-dir', path.join(tmp, 'ref')], { cwd: root, encoding: 'utf8' });
    assert.equal(ref.status, 0, ref.stderr);
    const want = finalOf(onlyRun(path.join(tmp, 'ref')));
    const runs = path.join(tmp, 'int');
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [bin, ...args, '--runs-dir', runs], { cwd: root });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      setTimeout(() => p.kill('SIGINT'), 900);
      p.on('exit', (code) => resolve({ code, err }));
    });
    assert.equal(r.code, 130, r.err);
    const dir = onlyRun(runs);
    assert.match(r.err, new RegExp(`Resume with: npx train --resume ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    checkFolder(dir);
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(s.status, 'interrupted');
    assert.ok(fs.existsSync(path.join(dir, 'last.ckpt')));
    const res = spawnSync(process.execPath, [bin, '--resume', dir], { cwd: root, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /resuming at step \d+ of 280/);
    const got = finalOf(dir);
    assert.equal(got.status, 'ok');
    assert.equal(got.testAcc, want.testAcc);
    assert.ok(got.best.equals(want.best), 'the best parameters are bit-identical');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
