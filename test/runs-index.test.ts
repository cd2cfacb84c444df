/**
 * `train runs`' rows (report/runs_index.ts) from what run folders record: a folder with no
 * summary.json is running while the pid in its train.log is alive, and killed once it is not;
 * summary.json's status otherwise. The index links only reports that exist, inside the folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listRuns, writeRunsIndex } from '../src/report/runs_index.js';

function folder(runs: string, name: string, files: Record<string, unknown>) {
  const dir = path.join(runs, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), typeof v === 'string' ? v : JSON.stringify(v));
}

test("run rows: running while the logged process lives, killed after, and the summary's status", () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-index-'));
  try {
    const cfg = { name: 'x', dataset: 'cifar', model: 'mlp', hidden: [500], loss: 'softmax' };
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout; // a pid that has exited
    const log = (pid: number | string) =>
      [
        { time: Date.now() - 5000, msg: 'config' },
        { pid: Number(pid), msg: 'process' },
        { engine: 'openblas', msg: 'engine' },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n';
    const metrics =
      [
        { type: 'iter', it: 1, epoch: 0, loss: 2 },
        { type: 'epoch', epoch: 1, it: 1, trainAcc: 0.3, valAcc: 0.31 },
        { type: 'epoch', epoch: 2, it: 2, trainAcc: 0.4, valAcc: 0.29 },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n';
    folder(runs, '20260101-000001-live', { 'config.json': { ...cfg, name: 'live' }, 'train.log': log(process.pid), 'metrics.jsonl': metrics, 'report.html': '<!doctype html>' });
    folder(runs, '20260101-000002-gone', { 'config.json': { ...cfg, name: 'gone' }, 'train.log': log(dead), 'metrics.jsonl': metrics });
    folder(runs, '20260101-000003-ok', {
      'config.json': { ...cfg, name: 'ok', model: 'softmax', loss: 'svm' },
      'summary.json': { status: 'ok', name: 'ok', dataset: 'cifar', model: { kind: 'softmax', loss: 'svm' }, engine: 'simd', bestValAcc: 0.39, testAcc: 0.37, seconds: { total: 12.5 } },
    });
    folder(runs, '20260101-000004-nan', {
      'config.json': cfg,
      'summary.json': { status: 'diverged', name: 'nan', dataset: 'cifar', model: { kind: 'mlp', hidden: [500] }, engine: 'simd', bestValAcc: null, testAcc: null, seconds: { total: 1 } },
    });
    folder(runs, 'not-a-run', { 'notes.txt': 'hello' });
    const { runs: rows } = listRuns(runs);
    assert.deepEqual(
      rows.map((r) => [r.name, r.status, r.model, r.engine, r.bestValAcc, r.testAcc, r.report]),
      [
        ['nan', 'diverged', 'mlp 500', 'simd', null, null, null],
        ['ok', 'finished', 'linear svm', 'simd', 0.39, 0.37, null],
        ['gone', 'killed', 'mlp 500', 'openblas', 0.31, null, null],
        ['live', 'running', 'mlp 500', 'openblas', 0.31, null, '20260101-000001-live/report.html'],
      ],
    );
    const html = fs.readFileSync(writeRunsIndex(runs), 'utf8');
    assert.equal((html.match(/<a href=/g) ?? []).length, 1, 'only the report that exists is linked');
    assert.match(html, /<a href="20260101-000001-live\/report.html">report<\/a>/);
    assert.equal((html.match(/<tr class="status-/g) ?? []).length, 4);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

test("issue 26: a knn run's cross-validation accuracy is in its own column, not shown as best val", () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-index-knn-'));
  try {
    folder(runs, '20260101-000001-knn', {
      'config.json': { name: 'knn', dataset: 'cifar', model: 'knn', k: 10 },
      'summary.json': {
        status: 'ok',
        name: 'knn',
        dataset: 'cifar',
        model: { kind: 'knn', k: 10 },
        engine: 'simd',
        testAcc: 0.27,
        cv: { folds: 5, bestK: 10, bestMeanAcc: 0.281 },
        seconds: { total: 30 },
      },
    });
    folder(runs, '20260101-000002-soft', {
      'config.json': { name: 'soft', dataset: 'cifar', model: 'softmax' },
      'summary.json': { status: 'ok', name: 'soft', dataset: 'cifar', model: { kind: 'softmax', loss: 'softmax' }, engine: 'simd', bestValAcc: 0.39, testAcc: 0.38, seconds: { total: 12 } },
    });
    const { runs: rows } = listRuns(runs);
    assert.deepEqual(
      rows.map((r) => [r.name, r.bestValAcc, r.cvAcc, r.testAcc]),
      [
        ['soft', 0.39, null, 0.38],
        ['knn', null, 0.281, 0.27],
      ],
    );
    const html = fs.readFileSync(writeRunsIndex(runs), 'utf8');
    const head = [...html.matchAll(/<th>([^<]*)<\/th>/g)].map((m) => m[1]);
    const col = head.indexOf('cv acc (kNN)');
    assert.ok(col >= 0, `a cross-validation column: ${head.join(', ')}`);
    const knnRow = /<tr class="status-finished">((?:(?!<\/tr>).)*knn k=10(?:(?!<\/tr>).)*)<\/tr>/.exec(html);
    assert.ok(knnRow, 'the knn row');
    const cells = [...knnRow[1].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    assert.equal(cells[head.indexOf('best val')], '–', 'no best val for knn');
    assert.equal(cells[col], '0.281', 'its cross-validation accuracy under its own heading');
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
