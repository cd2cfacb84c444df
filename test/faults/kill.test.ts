/**
 * Fault tests (make test-faults): a training process (plain SGD, SGD with momentum, Adam with batch norm and dropout) is killed
 * with SIGKILL at random points, at least 20 times, and resumed each time with `train --resume`;
 * the finished run must equal an uninterrupted run with the same seed bit for bit, no kill may
 * ever leave a partial or unreadable file in the run folder, metrics.jsonl must hold every row so
 * far after every kill (and every row of the run at the end), and train.log must only grow. A
 * sweep killed mid-trial must resume that trial the same way. Ctrl-C (SIGINT) must stop cleanly
 * with exit 130 and resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/runs/checkpoint.js';
import { readJsonl } from '../../src/runs/jsonl.js';
import { Rng } from '../../src/linalg/rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'train.js');
// An MLP on the reference JS engine: slow enough (tens of ms a step) that kills land mid-run.
const args = [
  '--model',
  'mlp',
  '--hidden',
  '48',
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
  '14',
  '--backend',
  'js',
  '--seed',
  '7',
];

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

/** last.ckpt's contents but its header's config (which names the runs folder): the parameters, the loop's state, the extra blocks. */
function lastState(dir: string) {
  const ck = loadCheckpoint(path.join(dir, 'last.ckpt'));
  const blocks = Object.fromEntries(Object.entries(ck.blocks ?? {}).map(([k, v]) => [k, Buffer.from(v.buffer).toString('base64')]));
  return { params: Buffer.from(ck.params.buffer).toString('base64'), trainer: ck.header.trainer, epoch: ck.header.epoch, iteration: ck.header.iteration, blocks };
}

/** A resumed run's summary seconds: one segment per process that logged its start in train.log, summed (issue 24 #12). */
function checkSegments(dir: string): void {
  const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  const starts = fs
    .readFileSync(path.join(dir, 'train.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"config"')).length;
  if (starts === 1) return assert.equal(s.seconds.segments, undefined, 'one segment: no list');
  const segs = s.seconds.segments as { load: number; train: number; total: number; ended: string }[];
  assert.equal(segs?.length, starts, `one segment per process that started: ${JSON.stringify(s.seconds)}`);
  assert.equal(segs.at(-1)!.ended, 'ok');
  for (const k of ['load', 'train', 'total'] as const) assert.equal(s.seconds[k], Math.round(segs.reduce((a, x) => a + x[k], 0) * 1000) / 1000, k);
}

/** metrics.jsonl's rows without their timings. */
function metricRows(dir: string): Record<string, unknown>[] {
  const f = path.join(dir, 'metrics.jsonl');
  return fs.existsSync(f) ? (readJsonl(f) as Record<string, unknown>[]).map(({ seconds: _s, ...r }) => r) : [];
}

/**
 * metrics.jsonl after a kill: exactly the uninterrupted run's rows so far (one per step and one
 * per epoch, in order, the same numbers), and at least every row up to last.ckpt's step, which a
 * resume carries on from.
 */
function checkMetrics(dir: string, want: Record<string, unknown>[], where: string): number {
  const rows = metricRows(dir);
  assert.deepEqual(rows, want.slice(0, rows.length), `${where}: metrics.jsonl is a complete prefix of the uninterrupted run's`);
  const lastFile = path.join(dir, 'last.ckpt');
  if (fs.existsSync(lastFile)) {
    const it = loadCheckpoint(lastFile).header.trainer!.it;
    const need = want.findIndex((r) => (r.it as number) > it);
    assert.ok(rows.length >= need, `${where}: metrics.jsonl has ${rows.length} rows, but last.ckpt is at step ${it} (${need} rows)`);
  }
  return rows.length;
}

/** train.log only grows: every line an earlier process logged is still there, in order. */
function checkLogGrows(dir: string, before: string): string {
  const f = path.join(dir, 'train.log');
  const now = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  const whole = before.slice(0, before.lastIndexOf('\n') + 1); // a kill may tear the last line
  assert.ok(now.startsWith(whole), `train.log lost lines: it held ${whole.length} bytes, now ${now.length}`);
  return now;
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

/**
 * Run `runArgs` to completion through 20+ SIGKILLs at random moments, resuming after each; after
 * every kill the folder's files are whole and its metrics complete so far; at the end the result
 * and metrics.jsonl equal an uninterrupted run's, bit for bit.
 */
async function killAndResume(t: { diagnostic(m: string): void }, runArgs: string[], seed: number, minKills = 20): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-'));
  try {
    const t0 = performance.now();
    const ref = spawnSync(process.execPath, [bin, ...runArgs, '--runs-dir', path.join(tmp, 'ref')], { cwd: root, encoding: 'utf8' });
    assert.equal(ref.status, 0, ref.stderr);
    // Kills land in the first 150 ms + span of a process: at least 1.2 s, and more where this
    // machine is slow (a loaded CI box), so that a process can get past its first checkpoint.
    const span = Math.max(1200, 0.4 * (performance.now() - t0));
    const refDir = onlyRun(path.join(tmp, 'ref'));
    const want = finalOf(refDir);
    const wantRows = metricRows(refDir);
    const wantLast = lastState(refDir);

    const rng = new Rng(seed);
    const runs = path.join(tmp, 'killed');
    let kills = 0;
    let attempts = 0;
    let resumes = 0;
    let code: number | null = null;
    let dir: string | null = null;
    let log = '';
    while (code !== 0 || kills < minKills) {
      if (code === 0) {
        // Finished before enough kills: start over, the kills so far still count.
        fs.rmSync(runs, { recursive: true, force: true });
        dir = null;
      }
      attempts++;
      assert.ok(attempts < 200, 'the run keeps being killed before it can progress');
      const ms = 150 + Math.floor(rng.uniform() * span);
      const resumable = dir !== null && fs.existsSync(path.join(dir, 'last.ckpt'));
      if (dir !== null && !resumable) {
        fs.rmSync(runs, { recursive: true, force: true }); // killed before its first checkpoint: start again
        dir = null;
      }
      if (dir === null) log = '';
      if (resumable) resumes++;
      code = await runFor(resumable ? ['--resume', dir!] : [...runArgs, '--runs-dir', runs], ms);
      if (dir === null && fs.existsSync(runs) && fs.readdirSync(runs).length > 0) dir = onlyRun(runs);
      if (code === null) kills++;
      else assert.equal(code, 0, 'a run that was not killed exits 0');
      if (dir !== null) {
        checkFolder(dir);
        checkMetrics(dir, wantRows, `after attempt ${attempts}`);
        log = checkLogGrows(dir, log);
      }
    }
    const got = finalOf(dir!);
    t.diagnostic(`${kills} kills survived in ${attempts} attempts (${resumes} resumes)`);
    assert.deepEqual(
      fs.readdirSync(dir!).filter((f) => f.endsWith('.tmp')),
      [],
      'no temporary file is left once the run has finished',
    );
    assert.ok(kills >= minKills);
    assert.equal(got.status, 'ok');
    assert.equal(got.testAcc, want.testAcc);
    assert.equal(got.bestValAcc, want.bestValAcc);
    assert.equal(got.finalLoss, want.finalLoss);
    assert.ok(got.best.equals(want.best), 'the best parameters are bit-identical');
    assert.deepEqual(metricRows(dir!), wantRows, 'metrics.jsonl holds one row per step and per epoch of the whole run, in order');
    assert.deepEqual(lastState(dir!), wantLast, "last.ckpt is the uninterrupted run's end, bit for bit");
    checkSegments(dir!);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('20+ SIGKILLs at random points, each resumed: the result and metrics.jsonl equal an uninterrupted run, bit for bit', { timeout: 600_000 }, (t) => killAndResume(t, args, 2026));

test('a momentum run (shuffled batches) through 20+ SIGKILLs, each resumed: the result and metrics.jsonl equal an uninterrupted run, bit for bit', { timeout: 600_000 }, (t) =>
  killAndResume(t, [...args, '--momentum', '0.9', '--sampling', 'shuffle'], 2027),
);

// Adam's state is two moments and its step count t (in last.ckpt's trainer state): a resume with t
// lost or reset would change every bias correction after it. Batch norm's running statistics and
// dropout's masks (drawn from the run's Rng) must come back the same too. Fewer kills: the mechanism is the one above.
test('an Adam run with batch norm and dropout (shuffled batches) through 5 SIGKILLs, each resumed: the result and metrics.jsonl equal an uninterrupted run, bit for bit', { timeout: 600_000 }, (t) =>
  killAndResume(t, [...args, '--update-rule', 'adam', '--normalization', 'batchnorm', '--dropout-keep', '0.5', '--sampling', 'shuffle'], 2028, 5),
);

/** The folders of a sweep's trials, as its sweep.json lists them (relative to the sweep folder). */
function trialDirs(sweepDir: string): string[] {
  const f = path.join(sweepDir, 'sweep.json');
  if (!fs.existsSync(f)) return [];
  return (JSON.parse(fs.readFileSync(f, 'utf8')) as { trials: { dir: string }[] }).trials.map((x) => path.join(sweepDir, x.dir));
}

test("a sweep killed (SIGKILL) mid-trial and run again resumes that trial: its metrics are whole and its result equals an uninterrupted sweep's", { timeout: 600_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faults-sweep-'));
  try {
    const spec = (runsDir: string) => ({
      name: 'kill',
      base: { dataset: 'mnist', model: 'mlp', hidden: [48], numTrain: 2000, numVal: 200, numTest: 300, numDev: 50, batchSize: 100, epochs: 6, momentum: 0.9, backend: 'js', seed: 7, runsDir },
      grid: { lr: [0.3, 0.5] },
    });
    const sweepOf = (name: string) => {
      const file = path.join(tmp, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(spec(path.join(tmp, name))));
      return { file, dir: path.join(tmp, name, 'sweep-kill') };
    };
    const cmd = (file: string) => [bin, 'sweep', '--config', file, '--workers', '1'];
    const ref = sweepOf('ref');
    const r = spawnSync(process.execPath, cmd(ref.file), { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);

    // Kill the sweep a random moment after a trial has written its first last.ckpt, before it finishes.
    const k = sweepOf('killed');
    const rng = new Rng(99);
    let victim: string | null = null;
    for (let attempt = 0; victim === null; attempt++) {
      assert.ok(attempt < 5, 'no trial was caught mid-run');
      fs.rmSync(path.join(tmp, 'killed'), { recursive: true, force: true });
      const p = spawn(process.execPath, cmd(k.file), { cwd: root, stdio: 'ignore' });
      const exited = new Promise((resolve) => p.on('exit', resolve));
      let seen: string | null = null;
      while (seen === null && p.exitCode === null) {
        await new Promise((res) => setTimeout(res, 10));
        seen = trialDirs(k.dir).find((d) => fs.existsSync(path.join(d, 'last.ckpt')) && !fs.existsSync(path.join(d, 'summary.json'))) ?? null;
      }
      await new Promise((res) => setTimeout(res, Math.floor(rng.uniform() * 400)));
      p.kill('SIGKILL');
      await exited;
      if (seen !== null && !fs.existsSync(path.join(seen, 'summary.json'))) victim = seen;
    }
    const at = loadCheckpoint(path.join(victim, 'last.ckpt')).header.trainer!.it;
    const logBefore = fs.readFileSync(path.join(victim, 'train.log'), 'utf8');
    checkFolder(victim);

    const again = spawnSync(process.execPath, cmd(k.file), { cwd: root, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    // Resumed, not restarted: the log keeps the killed attempt's lines and says where it carried on.
    const log = checkLogGrows(victim, logBefore);
    const resumed = log
      .split('\n')
      .filter((l) => l.includes('"msg":"resumed"'))
      .map((l) => JSON.parse(l) as { it: number });
    assert.deepEqual(
      resumed.map((x) => x.it),
      [at],
      `the trial resumed from last.ckpt's step ${at}`,
    );

    // The same trial of the uninterrupted sweep, found through results.json by its parameters.
    type Results = { trials: { dir: string; params: unknown; status: string; trainAcc: number; valAcc: number; bestEpoch: number }[] };
    const results = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8')) as Results;
    const mine = results(k.dir).trials.find((x) => path.join(k.dir, x.dir) === victim);
    assert.ok(mine, `results.json lists ${victim}`);
    const theirs = results(ref.dir).trials.find((x) => JSON.stringify(x.params) === JSON.stringify(mine.params));
    assert.ok(theirs);
    const refTrial = path.join(ref.dir, theirs.dir);
    assert.deepEqual([mine.status, mine.trainAcc, mine.valAcc, mine.bestEpoch], [theirs.status, theirs.trainAcc, theirs.valAcc, theirs.bestEpoch]);
    assert.deepEqual(metricRows(victim), metricRows(refTrial), "the trial's metrics.jsonl: one row per step and per epoch, the uninterrupted trial's");
    assert.ok(finalOf(victim).best.equals(finalOf(refTrial).best), "the trial's best parameters are bit-identical");
    assert.equal(finalOf(victim).finalLoss, finalOf(refTrial).finalLoss);
    checkSegments(victim); // the trial's seconds: the killed attempt's and the resumed one's
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
      // Ctrl-C once it trains (its first iteration line), however long the start took on this machine.
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
        if (/^iter /m.test(out) && p.signalCode === null && !p.killed) p.kill('SIGINT');
      });
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
    assert.deepEqual(lastState(dir), lastState(onlyRun(path.join(tmp, 'ref'))), "last.ckpt is the uninterrupted run's end");
    checkSegments(dir);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
