/** The sweep report's search figures without a browser: sweep.json's search read and checked, and the figures' data (src/report/sweep_plots.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSweepSearch } from '../src/runs/read.js';
import { bestSoFarChart, parallelChart, sweepPlotBlocks } from '../src/report/sweep_plots.js';
import type { TrialResult } from '../src/runs/results.js';

function sweepJson(spec: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-search-'));
  const file = path.join(dir, 'sweep.json');
  fs.writeFileSync(file, JSON.stringify({ spec, trials: [] }));
  return file;
}

test('readSweepSearch: a random or TPE search, null for a grid, and a malformed range refused naming the file and field', () => {
  const tpe = readSweepSearch(sweepJson({ name: 's', base: {}, tpe: { trials: 8, seed: 3, startupTrials: 4, params: { lr: { logUniform: [1e-4, 1] }, updateRule: { choice: ['sgd', 'adam'] } } } }));
  assert.deepEqual(tpe, { kind: 'tpe', seed: 3, startup: 4, params: { lr: { logUniform: [1e-4, 1] }, updateRule: { choice: ['sgd', 'adam'] } } });
  assert.equal(readSweepSearch(sweepJson({ name: 's', base: {}, grid: { lr: [0.1, 1] } })), null);
  const bad = sweepJson({ name: 's', base: {}, random: { trials: 8, seed: 0, params: { lr: { logUniform: [0, 1] } } } });
  assert.throws(
    () => readSweepSearch(bad),
    (e: Error) => e.message.includes(bad) && /spec\.random\.params\.lr = .* is not valid: expected \{"logUniform"/.test(e.message) && !e.message.includes('\n'),
  );
});

const trial = (index: number, valAcc: number | null, params: Record<string, unknown>, status: TrialResult['status'] = 'ok') =>
  ({ index, dir: `trials/trial-00${index}`, status, reason: null, params, trainAcc: valAcc, valAcc, bestEpoch: 1, seconds: 1, resumed: false }) as unknown as TrialResult;

test('parallel coordinates: log keys on a log axis, choices evenly spaced, val acc scaled to its range', () => {
  const params = { lr: { logUniform: [1e-4, 1] as [number, number] }, rule: { choice: ['sgd', 'momentum', 'adam'] } };
  const spec = parallelChart(params, [trial(1, 0.5, { lr: 1e-2, rule: 'momentum' }), trial(2, 0.7, { lr: 1e-4, rule: 'adam' })] as never);
  const ds = (spec.data as { datasets: { data: number[] }[] }).datasets;
  assert.deepEqual(ds[0].data, [0.5, 0.5, 0]);
  assert.deepEqual(ds[1].data, [0, 1, 1]);
});

test('best so far is the running maximum over finished trials in index order; no figures for a grid sweep', () => {
  const trials = [trial(3, 0.6, {}), trial(1, 0.4, {}), trial(2, 0.3, {}), trial(4, 0.9, {}, 'stopped')];
  const blocks = sweepPlotBlocks({ kind: 'random', seed: 0, startup: 0, params: { lr: { uniform: [0, 1] } } }, trials.map((t, i) => ({ ...t, params: { lr: i / 4 } })) as TrialResult[]);
  assert.deepEqual(
    blocks.map((b) => b.title),
    ['Parallel coordinates', 'Hyperparameter importance', 'Best so far'],
  );
  const curve = (bestSoFarChart(trials.filter((t) => t.status === 'ok').sort((a, b) => a.index - b.index) as never, 0).data as { datasets: { data: unknown[] }[] }).datasets[0].data;
  assert.deepEqual(curve, [
    { x: 1, y: 0.4 },
    { x: 2, y: 0.4 },
    { x: 3, y: 0.6 },
  ]);
  assert.deepEqual(sweepPlotBlocks(null, trials), []);
});
