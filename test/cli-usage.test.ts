/**
 * The command line's answers to mistakes and its start-up (issue 25): "did you mean" for a
 * mistyped flag, choice, command or config key; a sweep file given to `train` and a run config
 * given to `sweep`; the worker's number flags read before anything else; and `--help` and
 * `--version` loading no queue, image, ONNX or training module. bin/train.js on the built dist/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { closest, editDistance } from '../src/io/suggest.js';
import { ConfigError, checkPartial } from '../src/config/config.js';
import { HELP_WIDTHS, cachedHelp } from '../src/cli/help_cache.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');

function train(args: string[], nodeArgs: string[] = []) {
  const r = spawnSync(process.execPath, [...nodeArgs, bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('editDistance counts a swap of neighbours as one edit; closest takes near names, initials, and nothing far', () => {
  assert.equal(editDistance('hiden', 'hidden'), 1);
  assert.equal(editDistance('lr', 'rl'), 1);
  assert.equal(editDistance('abc', 'abc'), 0);
  assert.equal(editDistance('', 'abc'), 3);
  const keys = ['lr', 'lrDecay', 'hidden', 'batchSize', 'epochs', 'reg', 'name'];
  assert.equal(closest('hiden', keys), 'hidden');
  assert.equal(closest('batch_size', keys), 'batchSize');
  assert.equal(closest('learningRate', keys), 'lr');
  assert.equal(closest('learning_rate', keys), 'lr');
  assert.equal(closest('MLP', ['softmax', 'mlp', 'knn']), 'mlp');
  assert.equal(closest('__proto__', keys), undefined);
  assert.equal(closest('colour', keys), undefined);
});

test('a mistyped flag, choice or command gets one line with the nearest known one (exit 2); one with none near keeps its plain line', () => {
  const cases: [string[], string][] = [
    [['--hiden', '3'], "error: unknown flag --hiden: did you mean --hidden? Run 'train --help' for the options\n"],
    [['--model', 'MLP'], "error: --model MLP: invalid choice; did you mean mlp? (choices: linear, mlp, knn, softmax). Run 'train --help' for the options\n"],
    [['sweep', '--workerz', '2'], "error: unknown flag --workerz: did you mean --workers? Run 'train sweep --help' for the options\n"],
    [['eval', 'x', '--splt', 'test'], "error: unknown flag --splt: did you mean --split? Run 'train eval --help' for the options\n"],
    [['sweeep'], "error: unknown command sweeep: did you mean sweep? Run 'train --help' for the options\n"],
    [['data', 'mnst'], "error: dataset mnst: invalid choice; did you mean mnist? (choices: mnist, cifar). Run 'train data --help' for the options\n"],
    [['--model', 'MLP', '--loss', 'svn'], "error: --model MLP: invalid choice; did you mean mlp? (choices: linear, mlp, knn, softmax). Run 'train --help' for the options\n"],
    [['--backend', 'blas'], "error: --backend blas: invalid choice (choices: auto, openblas, tfjs-node, simd, wasm, cpu, js). Run 'train --help' for the options\n"],
    [['--bogus', '1'], "error: Unknown argument: bogus. Run 'train --help' for the options\n"],
  ];
  for (const [args, want] of cases) {
    const r = train(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err, want, args.join(' '));
    assert.equal(r.out, '');
  }
});

test('a mistyped key in a --config file gets one line naming the file and the nearest key; the library says the same', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'suggest-'));
  try {
    const f = path.join(dir, 'c.json');
    fs.writeFileSync(f, JSON.stringify({ learningRate: 0.1 }));
    const r = train(['--config', f]);
    assert.equal(r.code, 2, r.err);
    assert.equal(r.err, `error: ${f}: unknown key "learningRate": did you mean "lr"?\n`);
    assert.throws(
      () => checkPartial({ hiden: [10] }, 'x.json'),
      (e: Error) => e instanceof ConfigError && e.message === 'x.json: unknown key "hiden": did you mean "hidden"?',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a sweep file given to train --config, and a run config given to train sweep, are answered with the command that takes them', () => {
  const sweepFile = 'configs/sweep-cs231n-softmax.json';
  const a = train(['--config', sweepFile]);
  assert.equal(a.code, 2, a.err);
  assert.equal(a.err, `error: ${sweepFile} is a sweep file: run it with npx train sweep --config ${sweepFile}\n`);
  const runConfig = 'configs/cs231n-softmax.json';
  const b = train(['sweep', '--config', runConfig]);
  assert.equal(b.code, 2, b.err);
  assert.equal(b.err, `error: ${runConfig} is a run config, not a sweep file: train it with npx train --config ${runConfig}, or name it as "base" in a sweep file (configs/sweep-*.json)\n`);
  // A sweep file with a mistake is still told its own mistake, not sent elsewhere.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kind-'));
  try {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ name: 'bad', base: { lr: 0.1 }, grid: { lr: [0.1] }, workerz: 3 }));
    const c = train(['sweep', '--config', bad]);
    assert.equal(c.code, 2);
    assert.match(c.err, /unknown key "workerz"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the worker's --lock-seconds and --threads are read and checked first, as every command's number flags are, before the queue is looked for", () => {
  for (const [flag, v, want] of [
    ['--lock-seconds', '-1', /^error: --lock-seconds -1 is not allowed: expected a finite number ≥ 1 and ≤ 3600\n$/],
    ['--lock-seconds', 'NaN', /^error: --lock-seconds NaN is not allowed: expected a finite number ≥ 1 and ≤ 3600\n$/],
    ['--threads', 'abc', /^error: --threads abc is not allowed: expected a whole number ≥ 1 and ≤ \d+\n$/],
  ] as const) {
    const r = train(['worker', `${flag}=${v}`]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, want, `${flag} ${v}`);
  }
});

test('--help and --version load no queue, image, ONNX, chart or training module; a command loads its own', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loads-'));
  try {
    // A module hook that prints every module loaded through import.
    const hooks = path.join(dir, 'hooks.mjs');
    fs.writeFileSync(hooks, "export async function load(url, ctx, next) { process._rawDebug('LOAD ' + url); return next(url, ctx); }\n");
    const reg = path.join(dir, 'register.mjs');
    // A module loaded with require (keys.ts loads zod so) passes no import hook: those are printed from require's cache at exit.
    fs.writeFileSync(
      reg,
      `import { createRequire, register } from 'node:module';\nimport { pathToFileURL } from 'node:url';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n` +
        `const cache = createRequire(import.meta.url).cache;\nprocess.on('exit', () => { for (const f of Object.keys(cache)) process._rawDebug('LOAD ' + pathToFileURL(f).href); });\n`,
    );
    const loaded = (args: string[]) => {
      const r = train(args, ['--import', reg]);
      assert.equal(r.code, 0, r.err);
      return r.err
        .split('\n')
        .filter((l) => l.startsWith('LOAD '))
        .map((l) => l.slice(5));
    };
    // Nor zod (the config table checks no value for --help) nor any engine (--backend's choices are names only): only the
    // plain loops that matmul.ts starts with come in, through the update rules' defaults (optim/ → blas1 → matmul).
    const heavy =
      /node_modules\/(bullmq|ioredis|onnx-proto|@napi-rs|chart\.js|@tensorflow|pino|tar|cli-progress|zod)\/|dist\/(train|sweep\/queue|export|report|predict)\/|dist\/linalg\/(engine\.js|engines\/(?!names\.js|reference\.js|types\.js))/;
    for (const args of [['--help'], ['--version']]) {
      const bad = loaded(args).filter((u) => heavy.test(u));
      assert.deepEqual(bad, [], `${args.join(' ')} loads ${bad.join(', ')}`);
    }
    // A sub-command's --help loads its own modules, and a queue library only where the queue is used.
    for (const args of [
      ['eval', '--help'],
      ['worker', '--help'],
      ['sweep', '--help'],
    ]) {
      const bad = loaded(args).filter((u) => /node_modules\/(bullmq|ioredis|onnx-proto)\//.test(u));
      assert.deepEqual(bad, [], `${args.join(' ')} loads ${bad.join(', ')}`);
    }
    assert.ok(!loaded(['--version']).some((u) => /node_modules\/(yargs|zod)\//.test(u)), '--version alone loads neither yargs nor the config table');
    assert.ok(!loaded(['--help']).some((u) => /node_modules\/yargs\//.test(u)), '--help alone prints the saved text (make build saves it), without yargs');
    assert.ok(
      loaded(['--help', '--debug']).some((u) => /node_modules\/yargs\//.test(u)),
      '--help with another flag goes to yargs',
    );
    assert.ok(
      loaded(['export', '--help']).some((u) => /node_modules\/onnx-proto\//.test(u)),
      'export loads its ONNX module',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('train --help and -h print, from the text saved at build time, exactly what yargs prints', () => {
  for (const width of HELP_WIDTHS) assert.ok(fs.existsSync(path.join(root, 'dist', 'cli', `help-${width}.txt`)), `make build saves dist/cli/help-${width}.txt`);
  const yargs = train(['--help', '--debug']);
  assert.equal(yargs.code, 0, yargs.err);
  assert.match(yargs.out, /^train \[options\]/);
  for (const flag of ['--help', '-h']) assert.deepEqual(train([flag]), yargs, `train ${flag}`);
});

test('the saved help is used only while it is newer than every compiled file of the CLI and the config table, and only when it is a file', () => {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'help-'));
  try {
    for (const d of ['cli', 'cli/commands', 'config']) fs.mkdirSync(path.join(dist, d), { recursive: true });
    const past = new Date(Date.now() - 60_000);
    for (const f of ['cli/main.js', 'cli/commands/train.js', 'config/keys.js']) {
      fs.writeFileSync(path.join(dist, f), '');
      fs.utimesSync(path.join(dist, f), past, past);
    }
    assert.equal(cachedHelp(100, dist), null, 'not built: null');
    fs.writeFileSync(path.join(dist, 'cli', 'help-100.txt'), 'saved help\n');
    assert.equal(cachedHelp(100, dist), 'saved help\n');
    assert.equal(cachedHelp(110, dist), null, 'no text for this width');
    for (const f of ['config/keys.js', 'cli/commands/train.js']) {
      fs.utimesSync(path.join(dist, f), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
      assert.equal(cachedHelp(100, dist), null, `${f} compiled after the help was saved`);
      fs.utimesSync(path.join(dist, f), past, past);
    }
    assert.equal(cachedHelp(100, dist), 'saved help\n');
    fs.rmSync(path.join(dist, 'cli', 'help-100.txt'));
    fs.mkdirSync(path.join(dist, 'cli', 'help-100.txt'));
    assert.equal(cachedHelp(100, dist), null, 'a folder where the text should be');
  } finally {
    fs.rmSync(dist, { recursive: true, force: true });
  }
});
