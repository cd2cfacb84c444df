/**
 * TPE against random search and a full grid on the real cs231n sweeps (issue 27): for each problem,
 * its TPE and random sweep files are run on sweep seeds 0, 1, 2 (--seeds) and its grid once, each
 * as an ordinary `train sweep` (--workers 1 by default), and a markdown table is printed: each
 * search's best val, the best trial's test, and the trials it took to come within 0.005 (WITHIN of
 * report/sweep_compare.ts) of its own best and of the best any search of that problem found.
 *
 *   node --import tsx bench/sweep_compare.ts [--problem softmax,twolayer] [--seeds 0,1,2] [--workers 1]
 *        [--backend openblas] [--runs-dir /tmp/sweep-compare] [--data-dir …] [--kinds tpe,random,grid]
 *
 * The sweep files are configs/sweep-cs231n-<problem>-{tpe,random,grid}.json; a seed other than the
 * file's is written to <runs-dir>/files/ as a copy with that seed (and its name suffixed -s<seed>).
 * A sweep already finished in --runs-dir is read, not run again (a sweep run again carries on).
 * For each problem it also writes <runs-dir>/compare-<problem>.html, the page `train compare
 * SWEEP SWEEP …` writes (report/sweep_compare.ts): the searches' best-so-far curves overlaid, and
 * prints its path.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SweepResults } from '../src/runs/results.js';
import { type SweepCurve, WITHIN, buildSweepComparePage, readSweepCurve, trialsToWithin } from '../src/report/sweep_compare.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    problem: { type: 'string', default: 'softmax,twolayer' },
    seeds: { type: 'string', default: '0,1,2' },
    workers: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'openblas' },
    'runs-dir': { type: 'string', default: '/tmp/sweep-compare' },
    'data-dir': { type: 'string', default: '' },
    kinds: { type: 'string', default: 'tpe,random,grid' },
  },
});
const runsDir = path.resolve(values['runs-dir']!);

/** One search of one problem: its kind, its sweep seed (the grid has none) and what it found. */
interface Search {
  problem: string;
  kind: 'tpe' | 'random' | 'grid';
  seed: number | null;
  results: SweepResults;
  /** The sweep folder. */
  dir: string;
  wallSeconds: number;
}

/** The sweep file to run: the committed one, or a copy of it with another seed and name. */
function sweepFile(problem: string, kind: Search['kind'], seed: number | null): { file: string; name: string } {
  const file = path.join(root, 'configs', `sweep-cs231n-${problem}-${kind}.json`);
  const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & { name: string; base: unknown };
  const sampled = spec[kind] as { seed: number } | undefined;
  if (seed === null || !sampled || sampled.seed === seed) return { file, name: spec.name };
  const name = `${spec.name}-s${seed}`;
  const base = typeof spec.base === 'string' ? path.resolve(path.dirname(file), spec.base) : spec.base;
  const copy = path.join(runsDir, 'files', `sweep-${name}.json`);
  fs.mkdirSync(path.dirname(copy), { recursive: true });
  fs.writeFileSync(copy, JSON.stringify({ ...spec, name, base, [kind]: { ...sampled, seed } }, null, 2));
  return { file: copy, name };
}

/** Run (or carry on) one sweep and read its results.json. */
function runSearch(problem: string, kind: Search['kind'], seed: number | null): Search {
  const { file, name } = sweepFile(problem, kind, seed);
  const args = ['sweep', '--config', file, '--workers', values.workers!, '--backend', values.backend!, '--runs-dir', runsDir];
  if (values['data-dir']) args.push('--data-dir', values['data-dir']);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'bin/train.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`sweep ${file} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  const dir = path.join(runsDir, `sweep-${name}`);
  const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as SweepResults;
  process.stderr.write(`${name}: best val ${results.best?.valAcc ?? '-'} (${results.trials.length} trials, ${results.seconds.toFixed(0)} s)\n`);
  return { problem, kind, seed, results, dir, wallSeconds: (performance.now() - t0) / 1000 };
}

/** A search's best val so far by trial (the library's curve, as `train compare` draws it). */
const curveOf = (s: Search): SweepCurve => readSweepCurve(s.dir, path.basename(s.dir));

const fmt = (x: number | null | undefined, d = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

/** One row of the table. */
function row(s: Search, problemBest: number): string {
  const curve = curveOf(s);
  const best = curve.curve.at(-1)?.y ?? NaN;
  const cells = [
    s.problem,
    s.kind,
    s.seed === null ? '–' : String(s.seed),
    String(curve.trials),
    fmt(best),
    fmt(s.results.best?.testAcc),
    String(trialsToWithin(curve, best) ?? '–'),
    String(trialsToWithin(curve, problemBest) ?? `never (${fmt(problemBest - best)} short)`),
    s.results.seconds.toFixed(0),
  ];
  return `| ${cells.join(' | ')} |`;
}

/** The mean of each kind's best val over its seeds. */
function meanRows(searches: Search[]): string[] {
  const out: string[] = [];
  for (const kind of ['tpe', 'random'] as const) {
    const bests = searches.filter((s) => s.kind === kind).map((s) => curveOf(s).curve.at(-1)?.y ?? NaN);
    if (bests.length) out.push(`| ${searches[0].problem} | ${kind}, mean of ${bests.length} seeds | | | ${fmt(bests.reduce((a, b) => a + b, 0) / bests.length)} | | | | |`);
  }
  return out;
}

function printTable(searches: Search[]): void {
  console.log(`| problem | search | sweep seed | trials | best val | its test | trials to within ${WITHIN} of its own best | trials to within ${WITHIN} of the problem's best | seconds |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const problem of new Set(searches.map((s) => s.problem))) {
    const mine = searches.filter((s) => s.problem === problem);
    const problemBest = Math.max(...mine.map((s) => curveOf(s).curve.at(-1)?.y ?? -Infinity));
    for (const s of mine) console.log(row(s, problemBest));
    for (const r of meanRows(mine)) console.log(r);
  }
}

/** One compare page per problem, its searches' best-so-far curves overlaid, by the library's function. */
async function comparePages(searches: Search[]): Promise<void> {
  for (const problem of new Set(searches.map((s) => s.problem))) {
    const out = path.join(runsDir, `compare-${problem}.html`);
    const mine = searches.filter((s) => s.problem === problem).map((s) => ({ dir: s.dir, name: path.basename(s.dir) }));
    console.log(`compare page (${problem}): ${await buildSweepComparePage(mine, out)}`);
  }
}

async function main(): Promise<void> {
  const seeds = values.seeds!.split(',').map(Number);
  const kinds = values.kinds!.split(',') as Search['kind'][];
  const searches: Search[] = [];
  for (const problem of values.problem!.split(',')) {
    for (const seed of seeds) for (const kind of kinds.filter((k) => k !== 'grid')) searches.push(runSearch(problem, kind, seed));
    if (kinds.includes('grid')) searches.push(runSearch(problem, 'grid', null));
  }
  printTable(searches);
  await comparePages(searches);
}

await main();
