/**
 * Issue 27: trial reports only where they pay. By default a sweep builds the run reports of its
 * BEST_REPORTS best trials at its end (on the local pool and on the queue), every trial keeps its
 * config, metrics, summary and checkpoints, the sweep report links the reports that exist and
 * names `train report <folder>` for the rest, and `train report` builds a trial's full report
 * on demand (its test predictions from the dataset). "all" and "none" keep the other behaviours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SweepResults } from '../src/runs/results.js';
import { ConfigError } from '../src/config/config.js';
import { parseSweep } from '../src/sweep/spec.js';
import { runSweep } from '../src/sweep/sweep.js';
import { queueRunner } from '../src/sweep/queue.js';
import { BEST_REPORTS } from '../src/sweep/trial_reports.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture } from './queue-fixture.js';
import { NO_REDIS } from './queue-redis.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
/** Tiny MNIST softmax trials: 1 epoch of 1,000 rows, batch 100. */
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 1, batchSize: 100, backend: E2E_BACKEND };
/** What every trial folder holds, its report or not. */
const KEPT = ['best.ckpt', 'config.json', 'last.ckpt', 'metrics.jsonl', 'summary.json', 'train.log'];
/** What a trial's report adds. */
const REPORT = ['accuracy.png', 'confusion.png', 'loss.png', 'misclassified.png', 'predictions.json', 'report.html', 'weights.png'];
const LRS = [0.5, 0.2, 0.05, 0.01, 0.002];

const { redis, tmp, worker } = queueFixture('sweep-reports-');

function writeSweep(dir: string, spec: Record<string, unknown>): string {
  const f = path.join(dir, `${String(spec.name)}.json`);
  fs.writeFileSync(f, JSON.stringify({ ...spec, base: { ...BASE, runsDir: path.join(dir, 'runs') } }));
  return f;
}
const files = (d: string) => fs.readdirSync(d).sort();
const withReport = [...KEPT, ...REPORT].sort();
/** The trials by val accuracy, best first (ties by index), as the sweep picks them. */
const ranked = (r: SweepResults) => [...r.trials].sort((a, b) => b.valAcc! - a.valAcc! || a.index - b.index);

/** The default: only the best BEST_REPORTS trials have their report, every trial its numbers; the sweep report links exactly those. */
function checkBestOnly(r: SweepResults, lines: string[]): void {
  assert.equal(r.trials.length, LRS.length);
  assert.ok(
    r.trials.every((t) => t.status === 'ok'),
    JSON.stringify(r.trials),
  );
  const best = new Set(
    ranked(r)
      .slice(0, BEST_REPORTS)
      .map((t) => t.dir),
  );
  assert.equal(best.size, 3);
  for (const t of r.trials) assert.deepEqual(files(path.join(r.folder, t.dir)), best.has(t.dir) ? withReport : KEPT, `trial ${t.index}`);
  assert.ok(best.has(r.best!.dir), 'the best trial has its report');
  assert.ok(lines.includes(`run reports of the 3 best trials built; train report <trial folder> builds any other's`), lines.join('\n'));
  const html = fs.readFileSync(path.join(r.folder, 'report.html'), 'utf8');
  const links = [...html.matchAll(/<a href="([^"]+)">run report<\/a>/g)].map((m) => m[1]).sort();
  assert.deepEqual(links, [...best].map((d) => `${d}/report.html`).sort());
  for (const t of r.trials.filter((x) => !best.has(x.dir))) assert.ok(html.includes(`train report ${path.join(r.folder, t.dir)}</code>`), `trial ${t.index}: the command that builds its report`);
}

test("the default (best): only the 3 best trials get their report, at the end; train report builds any other trial's, whole, from the dataset", async () => {
  const dir = tmp();
  const lines: string[] = [];
  const r = await runSweep({ file: writeSweep(dir, { name: 'lazy', grid: { lr: LRS } }), flags: {}, workers: 2, out: (l) => lines.push(l) });
  checkBestOnly(r, lines);

  // On demand: the worst trial's report, with the confusion matrix and test images its predictions give.
  const worst = ranked(r).at(-1)!;
  const tdir = path.join(r.folder, worst.dir);
  const made = spawnSync(process.execPath, [bin, 'report', tdir, '--backend', E2E_BACKEND], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  assert.equal(made.stderr, '', 'nothing is missing');
  assert.deepEqual(files(tdir), withReport);
  const page = fs.readFileSync(path.join(tdir, 'report.html'), 'utf8');
  assert.match(page, /Misclassified test images/);
  assert.match(page, /Confusion counts/);
  // Its predictions are of the whole test split the trial's config names (numTest 300).
  const preds = JSON.parse(fs.readFileSync(path.join(tdir, 'predictions.json'), 'utf8')) as { labels: number[]; predicted: number[] };
  assert.equal(preds.labels.length, 300);
  assert.equal(preds.predicted.length, 300);
  // The sweep report, rebuilt, links it now.
  const sweepAgain = spawnSync(process.execPath, [bin, 'report', r.folder], { encoding: 'utf8' });
  assert.equal(sweepAgain.status, 0, sweepAgain.stderr);
  assert.ok(fs.readFileSync(path.join(r.folder, 'report.html'), 'utf8').includes(`<a href="${worst.dir}/report.html">run report</a>`));
});

test('"trialReports": "all" builds every trial\'s report as it ends; "none" builds none, and the sweep report links none', async () => {
  const dir = tmp();
  const all = await runSweep({ file: writeSweep(dir, { name: 'all', grid: { lr: LRS }, trialReports: 'all' }), flags: {}, workers: 2, out: () => {} });
  for (const t of all.trials) assert.deepEqual(files(path.join(all.folder, t.dir)), withReport, `trial ${t.index}`);
  const lines: string[] = [];
  const none = await runSweep({ file: writeSweep(dir, { name: 'none', grid: { lr: LRS }, trialReports: 'none' }), flags: {}, workers: 2, out: (l) => lines.push(l) });
  for (const t of none.trials) assert.deepEqual(files(path.join(none.folder, t.dir)), KEPT, `trial ${t.index}`);
  assert.ok(!lines.some((l) => /run reports of/.test(l)), lines.join('\n'));
  assert.doesNotMatch(fs.readFileSync(path.join(none.folder, 'report.html'), 'utf8'), /run report<\/a>/);
  // The numbers do not depend on the reports.
  assert.deepEqual(
    none.trials.map((t) => t.valAcc),
    all.trials.map((t) => t.valAcc),
  );
});

test('a trialReports that is not best, all or none is refused in one line naming the three', () => {
  assert.throws(() => parseSweep({ name: 's', grid: { lr: [1] }, trialReports: 'some' }, 'f.json'), ConfigError);
  assert.throws(() => parseSweep({ name: 's', grid: { lr: [1] }, trialReports: 'some' }, 'f.json'), {
    message:
      /^f\.json: trialReports = "some" is not allowed: use "best" \(the 3 best trials' reports, at the end\), "all" \(every trial's, as it ends\) or "none" \(train report <trial folder> builds one\)$/,
  });
  assert.equal(parseSweep({ name: 's', grid: { lr: [1] }, trialReports: 'none' }, 'f.json').trialReports, 'none');
});

test('on the queue: the workers build no trial report, and the coordinator builds the 3 best at the end', { skip: NO_REDIS }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const w = worker(runs);
  try {
    const lines: string[] = [];
    const r = await runSweep({ file: writeSweep(dir, { name: 'lazy-q', grid: { lr: LRS } }), flags: {}, runner: queueRunner(redis.url), out: (l) => lines.push(l) });
    checkBestOnly(r, lines);
  } finally {
    await w.stop();
  }
});
