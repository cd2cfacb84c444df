/**
 * Small real folders for the cs231n plot builders (src/cs231n/plots), made by the CLI (bin/train.js
 * on the built dist/) on subsets of the built-in MNIST: a knn run, a random lr × reg search, a
 * two-layer net over two seeds, and the committed FC-net sweeps (overfit, update rules, batch
 * norm's weight scales and batch sizes, dropout) with their base shrunk to a few steps on a few
 * images, the trials as committed. The features run needs CIFAR-10 (its hue histogram needs colour).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sweepDirOf } from '../src/runs/layout.js';
import { E2E_BACKEND, trainCli } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const CIFAR_PRESENT = fs.existsSync(path.join(ROOT, 'data', 'cifar-10-batches-bin', 'data_batch_1.bin'));

/** The CLI, asserted to succeed. */
function train(args: string[]): void {
  const r = trainCli([...args, '--backend', E2E_BACKEND]);
  assert.equal(r.code, 0, `train ${args.join(' ')}\n${r.err}${r.out}`);
}

/** A run in its own runs folder; returns the run folder (the only folder the CLI made there). */
export function runFolder(root: string, name: string, args: string[]): string {
  const runs = path.join(root, name);
  train([...args, '--runs-dir', runs, '--name', name]);
  const dirs = fs.readdirSync(runs);
  assert.equal(dirs.length, 1, `one run folder in ${runs}`);
  return path.join(runs, dirs[0]);
}

/** A sweep file `spec` (its base shrunk by `base`, named name-s<seed>) swept in `root`; returns the sweep folder. */
export function sweepFolder(root: string, spec: Record<string, unknown>, base: Record<string, unknown>, seed: number): string {
  const name = `${spec.name as string}-s${seed}`;
  const file = path.join(root, `${name}.json`);
  const { $comment: _c, ...rest } = spec;
  fs.writeFileSync(file, JSON.stringify({ ...rest, name, base: { ...(spec.base as object), ...base, name, seed } }));
  train(['sweep', '--config', file, '--workers', '1', '--runs-dir', root]);
  return sweepDirOf(root, name);
}

/** A committed sweep file. */
export const committed = (f: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(ROOT, 'configs', f), 'utf8'));

/** MNIST, a few images and steps. */
const TINY = { dataset: 'mnist', numVal: 100, numTest: 100, numDev: 20 };

export type Fixtures = Record<string, { folders: string[]; seeds: number[] }>;

/** Every plot's folders in `root`, by plot name (features-mistakes only where CIFAR-10 is). */
export function makeFixtures(root: string): Fixtures {
  const f: Fixtures = {};
  const knn = runFolder(root, 'knn', ['--model', 'knn', '--num-train', '300', '--num-test', '40', '--num-dev', '20', '--k', '3', '--cv-folds', '3', '--k-choices', '1,3,5']);
  f['knn-distances'] = f['knn-cv'] = { folders: [knn], seeds: [0] };
  const search = {
    name: 'lin',
    base: { ...TINY, model: 'linear', numTrain: 300, iterations: 20, batchSize: 50 },
    random: { trials: 5, seed: 0, lr: { logUniform: [1e-3, 1e-1] }, reg: { logUniform: [1e-4, 1e-1] } },
  };
  const lin = sweepFolder(root, search, {}, 0);
  f['softmax-grid'] = f['softmax-templates'] = { folders: [lin], seeds: [0] };
  const two = [0, 1].map((s) =>
    runFolder(root, `two-s${s}`, [
      '--model',
      'mlp',
      '--hidden',
      '20',
      '--num-train',
      '300',
      '--num-val',
      '100',
      '--num-test',
      '100',
      '--num-dev',
      '20',
      '--epochs',
      '3',
      '--batch-size',
      '50',
      '--lr',
      '0.5',
      '--scale',
      String(1 / 255),
      '--seed',
      String(s),
    ]),
  );
  f['twolayer-history'] = f['twolayer-weights'] = { folders: two, seeds: [0, 1] };
  const sweeps: [string, string, Record<string, unknown>, number[]][] = [
    ['overfit', 'cs231n-fcnet-overfit.json', { ...TINY, numTrain: 50, epochs: 3 }, [0, 1]],
    ['update-rules', 'cs231n-fcnet-update-rules.json', { ...TINY, numTrain: 200, epochs: 2, hidden: [20, 20] }, [0]],
    ['bn-weight-scale', 'cs231n-fcnet-batchnorm.json', { ...TINY, numTrain: 100, epochs: 1, hidden: [10, 10] }, [0]],
    ['bn-batch-size', 'cs231n-bn-batch-size.json', { ...TINY, numTrain: 50, epochs: 2, hidden: [10, 10] }, [0]],
    ['dropout-curves', 'cs231n-fcnet-dropout.json', { ...TINY, numTrain: 100, epochs: 2, hidden: [20] }, [0]],
  ];
  for (const [plot, file, base, seeds] of sweeps) f[plot] = { folders: seeds.map((s) => sweepFolder(root, committed(file), base, s)), seeds };
  if (CIFAR_PRESENT) {
    const feat = runFolder(root, 'features', [
      '--dataset',
      'cifar',
      '--model',
      'linear',
      '--features',
      'hog+hue',
      '--hue-bins',
      '10',
      '--num-train',
      '1000',
      '--num-val',
      '100',
      '--num-test',
      '300',
      '--num-dev',
      '50',
      '--iterations',
      '30',
      '--lr',
      '0.1',
      '--reg',
      '1e-4',
      '--init-std',
      '0.001',
    ]);
    f['features-mistakes'] = { folders: [feat], seeds: [0] };
  }
  return f;
}
