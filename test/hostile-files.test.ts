/**
 * Files that are not files (issue 24, defects 13 and 14): a symlink to /dev/zero, a FIFO or a
 * character device where the program reads a checkpoint, a config, a sweep file, a resumed run's
 * config.json, a summary.json under `train runs`, a run's lease or a sweep's lock, or where
 * `export --out` writes. The real CLI
 * (bin/train.js, so dist/) runs on each; every case must end within 5 s, under 300 MB peak RSS
 * (/usr/bin/time -f %M of the child), with one error line on stderr and a non-zero exit code.
 * A watchdog kills the child's whole process group after 8 s, so that a reader of /dev/zero
 * (8.5 GB after 30 s before the fix) cannot take the machine down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pngOfRow } from '../src/predict/image.js';
import { E2E_BACKEND, trainCli } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'train.js');
/** The bounds every hostile case must meet. */
const MAX_SECONDS = 5;
const MAX_RSS_KB = 300 * 1024;
/** The watchdog: a child still running after this is killed with its group (and the case fails). */
const KILL_AFTER_MS = 8000;

interface Outcome {
  code: number | null;
  out: string;
  err: string;
  seconds: number;
  /** Peak RSS of the child in KB, from /usr/bin/time; null when the watchdog killed it. */
  peakKb: number | null;
  killed: boolean;
}

/** Run `train args…` under /usr/bin/time in its own process group, with the watchdog. */
function runBounded(args: string[], cwd = ROOT): Promise<Outcome> {
  const rssFile = path.join(os.tmpdir(), `rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const t0 = performance.now();
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, process.execPath, BIN, ...args], {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let killed = false;
  const dog = setTimeout(() => {
    killed = true;
    process.kill(-child.pid!, 'SIGKILL');
  }, KILL_AFTER_MS);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(dog);
      const seconds = (performance.now() - t0) / 1000;
      let peakKb: number | null = null;
      try {
        peakKb = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
        fs.rmSync(rssFile);
      } catch {
        /* killed: no report */
      }
      resolve({ code, out, err, seconds, peakKb, killed });
    });
  });
}

/** The bounds of one case: fast, small, one error line matching `re`, non-zero exit. */
function assertBounded(what: string, r: Outcome, re: RegExp): void {
  console.log(`${what}: exit ${r.code} in ${r.seconds.toFixed(2)} s, peak RSS ${r.peakKb === null ? '?' : (r.peakKb / 1024).toFixed(0)} MB`);
  const tail = `\nstdout: ${r.out.slice(-300)}\nstderr: ${r.err.slice(-500)}`;
  assert.ok(!r.killed, `${what}: still running after ${KILL_AFTER_MS / 1000} s, killed${tail}`);
  assert.ok(r.seconds < MAX_SECONDS, `${what}: took ${r.seconds.toFixed(1)} s, more than ${MAX_SECONDS} s${tail}`);
  assert.ok(r.peakKb !== null && r.peakKb < MAX_RSS_KB, `${what}: peak RSS ${r.peakKb} KB, more than ${MAX_RSS_KB} KB${tail}`);
  assert.notEqual(r.code, 0, `${what}: exit code 0${tail}`);
  const lines = r.err.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: ${lines.length} lines on stderr${tail}`);
  assert.match(lines[0], /^error: /, `${what}${tail}`);
  assert.match(lines[0], re, `${what}${tail}`);
}

/** A small trained MNIST run (softmax, one epoch), made once. */
let trained: string | null = null;
function trainedRun(): string {
  if (trained) return trained;
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-hostile-'));
  const r = trainCli(['--num-train', '300', '--num-val', '50', '--num-test', '50', '--num-dev', '50', '--epochs', '1', '--backend', E2E_BACKEND, '--runs-dir', runs, '--name', 'ok']);
  assert.equal(r.code, 0, r.err);
  trained = path.join(runs, fs.readdirSync(runs)[0]);
  return trained;
}

/** A copy of the trained run in a fresh runs folder, with `file` replaced by `kind`. */
function hostileRun(file: string, kind: 'zero' | 'fifo'): { runs: string; dir: string } {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-hostile-'));
  const dir = path.join(runs, '20260101-000000-hostile');
  fs.cpSync(trainedRun(), dir, { recursive: true });
  plant(path.join(dir, file), kind);
  return { runs, dir };
}

/** Put a symlink to /dev/zero or a FIFO at `file`. */
function plant(file: string, kind: 'zero' | 'fifo'): void {
  fs.rmSync(file, { force: true });
  if (kind === 'zero') fs.symlinkSync('/dev/zero', file);
  else assert.equal(spawnSync('mkfifo', [file]).status, 0, `mkfifo ${file}`);
}

const KINDS = ['zero', 'fifo'] as const;
const WORDS = { zero: 'a character device', fifo: 'a FIFO \\(named pipe\\)' };

test('a checkpoint that is /dev/zero or a FIFO (eval, predict, export, --resume) is refused at once, small, in one line', async () => {
  for (const kind of KINDS) {
    const best = hostileRun('best.ckpt', kind).dir;
    const png = path.join(best, 'digit.png');
    fs.writeFileSync(png, await pngOfRow(new Uint8Array(28 * 28), [28, 28, 1]));
    const re = new RegExp(`best\\.ckpt is ${WORDS[kind]}, not a regular file; it should be a checkpoint`);
    assertBounded(`eval, best.ckpt ${kind}`, await runBounded(['eval', best]), re);
    assertBounded(`predict, best.ckpt ${kind}`, await runBounded(['predict', best, png]), re);
    assertBounded(`export, best.ckpt ${kind}`, await runBounded(['export', best, '--format', 'onnx']), re);
    const last = hostileRun('last.ckpt', kind).dir;
    const r = await runBounded(['--resume', last, '--epochs', '3']);
    assertBounded(`--resume --epochs 3, last.ckpt ${kind}`, r, new RegExp(`last\\.ckpt is ${WORDS[kind]}, not a regular file`));
  }
});

test("the library's loadModel refuses a checkpoint that is /dev/zero or a FIFO at once", async () => {
  for (const kind of KINDS) {
    const { dir } = hostileRun('best.ckpt', kind);
    const script = `import('${path.join(ROOT, 'dist', 'index.js')}').then(async (m) => { try { await m.loadModel(${JSON.stringify(dir)}); } catch (e) { process.stderr.write('error: ' + e.constructor.name + ': ' + e.message + '\\n'); process.exit(1); } })`;
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: KILL_AFTER_MS, killSignal: 'SIGKILL' });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(r.status, 1, `${kind}: ${r.stderr}${r.error ?? ''}`);
    assert.ok(seconds < MAX_SECONDS, `${kind}: took ${seconds.toFixed(1)} s`);
    assert.match(r.stderr.trim(), new RegExp(`^error: CheckpointError: .*best\\.ckpt is ${WORDS[kind]}, not a regular file`));
  }
});

test("a config file, a sweep file or a resumed run's config.json that is /dev/zero or a FIFO is refused at once, small, in one line", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-config-'));
  for (const kind of KINDS) {
    const file = path.join(dir, `config-${kind}.json`);
    plant(file, kind);
    const re = new RegExp(`config-${kind}\\.json is ${WORDS[kind]}, not a regular file; it should be a JSON file`);
    assertBounded(`--config ${kind}`, await runBounded(['--config', file]), new RegExp(`cannot read config file .*${re.source}`));
    assertBounded(`sweep --config ${kind}`, await runBounded(['sweep', '--config', file]), new RegExp(`cannot read sweep file .*${re.source}`));
    const { dir: run } = hostileRun('config.json', kind);
    assertBounded(`--resume, config.json ${kind}`, await runBounded(['--resume', run]), new RegExp(`config\\.json is ${WORDS[kind]}, not a regular file`));
  }
});

test('train runs: a summary.json that is /dev/zero or a FIFO makes that row unreadable, with the reason in one line; the other rows are listed', async () => {
  for (const kind of KINDS) {
    const { runs } = hostileRun('summary.json', kind);
    fs.cpSync(trainedRun(), path.join(runs, '20260101-000001-fine'), { recursive: true });
    const r = await runBounded(['runs', runs]);
    assertBounded(`train runs, summary.json ${kind}`, r, new RegExp(`^error: run 20260101-000000-hostile is unreadable: .*summary\\.json is ${WORDS[kind]}, not a regular file`));
    // status, then the kNN cross-validation column (– for these softmax runs)
    assert.match(r.out, /^20260101-000000-hostile .* unreadable +–$/m, r.out);
    assert.match(r.out, /^20260101-000001-fine .* finished +–$/m, r.out);
  }
});

test('a run.lease or sweep.lock that is /dev/zero or a FIFO is refused at once, in one line saying to remove it, and left as it was', async () => {
  for (const kind of KINDS) {
    const { dir } = hostileRun('run.lease', kind);
    const lease = new RegExp(`run\\.lease is ${WORDS[kind]}, not a regular file; it should be a run folder lease: remove it, then run again`);
    assertBounded(`--resume, run.lease ${kind}`, await runBounded(['--resume', dir, '--epochs', '2']), lease);
    assert.ok(kind === 'zero' ? fs.lstatSync(path.join(dir, 'run.lease')).isSymbolicLink() : fs.lstatSync(path.join(dir, 'run.lease')).isFIFO(), 'the lease was left as it was');

    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-hostile-'));
    const file = path.join(runs, 'sweep-h.json');
    fs.writeFileSync(file, JSON.stringify({ base: { numTrain: 300, numVal: 50, numTest: 50, numDev: 50, epochs: 1 }, grid: { lr: [1e-3] } }));
    fs.mkdirSync(path.join(runs, 'sweep-h'));
    plant(path.join(runs, 'sweep-h', 'sweep.lock'), kind);
    const lock = new RegExp(`sweep\\.lock is ${WORDS[kind]}, not a regular file; it should be a sweep lock: remove it, then run again`);
    assertBounded(`sweep, sweep.lock ${kind}`, await runBounded(['sweep', '--config', file, '--runs-dir', runs, '--backend', E2E_BACKEND]), lock);
  }
});

test('export --out onto a character device, a FIFO, or a symlink to one is refused; the node is left as it was', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-out-'));
  const run = trainedRun();
  // A private copy of /dev/null's node (char 1,3), so that a failing run destroys nothing shared. Needs root.
  const dev = path.join(dir, 'null');
  const haveDev = spawnSync('mknod', [dev, 'c', '1', '3']).status === 0;
  if (!haveDev) t.diagnostic('mknod needs root: the character device case uses a symlink to /dev/null only');
  const fifo = path.join(dir, 'fifo');
  plant(fifo, 'fifo');
  const link = path.join(dir, 'link');
  fs.symlinkSync(haveDev ? dev : '/dev/null', link);
  const cases: [string, string, () => boolean][] = [
    ...(haveDev ? [[dev, 'a character device', () => fs.lstatSync(dev).isCharacterDevice()] as [string, string, () => boolean]] : []),
    [fifo, 'a FIFO \\(named pipe\\)', () => fs.lstatSync(fifo).isFIFO()],
    [link, 'a character device', () => fs.lstatSync(link).isSymbolicLink()],
  ];
  for (const format of ['onnx', 'safetensors']) {
    for (const [target, words, intact] of cases) {
      const r = await runBounded(['export', run, '--format', format, '--out', target]);
      assertBounded(
        `export ${format} --out ${path.basename(target)}`,
        r,
        new RegExp(`cannot write .*${path.basename(target)}: it is ${words}, not a regular file, so it is left alone\\. Pass --out a path`),
      );
      assert.ok(intact(), `${path.basename(target)} was replaced`);
      assert.equal(r.out, '', 'nothing was reported written');
    }
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), haveDev ? ['fifo', 'link', 'null'] : ['fifo', 'link'], 'no temporary file is left');
});
