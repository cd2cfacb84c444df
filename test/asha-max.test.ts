/**
 * ASHA's `max` caps the epochs of every trial, as Ray Tune's max_t (sweep/scheduler.ts capEpochs,
 * applied to each trial's config in spec.ts trialOf): a config counting epochs runs at most max,
 * one counting iterations at most max epochs' worth of steps, and the trial's config.json says
 * what it ran. A real sweep on a small MNIST subset trains no trial past max.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../src/config/config.js';
import { expandTrials, parseSweep } from '../src/sweep/spec.js';
import { runSweep } from '../src/sweep/sweep.js';
import { E2E_BACKEND } from './helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const sweepOf = (base: object, list: object[], asha: object) => parseSweep({ name: 's', base: { dataset: 'mnist', model: 'softmax', ...base }, list, scheduler: { asha } }, 'f.json');

test("max caps a trial's epochs: a config counting epochs runs at most max, a shorter one as it is; without max nothing changes", () => {
  const s = sweepOf({ epochs: 5 }, [{ lr: 0.1 }, { lr: 0.2, epochs: 1.5 }, { lr: 0.3, epochs: 9 }], { max: 2 });
  assert.deepEqual(
    expandTrials(s).map((t) => [t.config.epochs, t.config.iterations]),
    [
      [2, 0],
      [1.5, 0],
      [2, 0],
    ],
  );
  const free = sweepOf({ epochs: 5 }, [{ lr: 0.1 }], {});
  assert.equal(expandTrials(free)[0].config.epochs, 5);
});

test('max caps a config counting iterations at max epochs of steps (from its numTrain and batch size), and refuses numTrain "all" there, saying what to do', () => {
  // numTrain 1000, batch 100: 10 steps an epoch, so max 2 is 20 steps.
  const s = sweepOf({ numTrain: 1000, batchSize: 100, iterations: 50 }, [{ lr: 0.1 }, { lr: 0.2, iterations: 15 }], { max: 2 });
  assert.deepEqual(
    expandTrials(s).map((t) => t.config.iterations),
    [20, 15],
  );
  assert.throws(
    () => expandTrials(sweepOf({ numTrain: 'all', iterations: 50 }, [{ lr: 0.1 }], { max: 2 })),
    (e: Error) =>
      e instanceof ConfigError &&
      /sweep s trial 1: scheduler\.asha\.max = 2 caps every trial's epochs, but this trial counts iterations \(50\) over numTrain "all", whose epochs are known only once the data is read: give numTrain a number, or epochs instead of iterations/.test(
        e.message,
      ),
  );
});

test('a sweep with max 2 over trials of 4 epochs trains none past epoch 2, and each config.json says 2', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asha-max-'));
  dirs.push(dir);
  const f = path.join(dir, 'sweep-max.json');
  const base = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 4, batchSize: 100, backend: E2E_BACKEND, runsDir: path.join(dir, 'runs') };
  fs.writeFileSync(f, JSON.stringify({ name: 'max', base, random: { trials: 4, seed: 3, lr: { logUniform: [1e-2, 0.3] } }, scheduler: { asha: { eta: 2, grace: 1, max: 2 } } }));
  const r = await runSweep({ file: f, flags: {}, workers: 1, out: () => {} });
  assert.equal(r.scheduler, 'ASHA (η 2, grace 1, max 2 epochs)');
  assert.ok(
    r.trials.some((t) => t.status === 'ok'),
    'some trial ran to its end',
  );
  for (const t of r.trials) {
    const d = path.join(r.folder, t.dir);
    const epochs = fs
      .readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"epoch"')).length;
    assert.ok(epochs <= 2, `trial ${t.index} trained ${epochs} epochs`);
    if (t.status === 'ok') assert.equal(t.lastEpoch, 2);
    assert.equal((JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8')) as { epochs: number }).epochs, 2);
  }
});
