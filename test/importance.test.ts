/**
 * fANOVA importance (src/sweep/importance.ts) against Optuna 3.1's get_param_importances on the
 * same finished trials (test/fixtures/importance-optuna.json, written by
 * tools/importance_optuna_reference.py): Optuna's own studies on cheap objectives, and three real
 * MNIST sweeps of this tool (tools/importance_sweeps.ts, the trials its report fits to); and on
 * small literal cases.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { fanovaImportance, type ImportanceSpace, type ImportanceTrial } from '../src/sweep/importance.js';
import { Rng } from '../src/linalg/rng.js';

interface FixtureSet {
  name: string;
  space: Record<string, { type: string; low?: number; high?: number; choices?: unknown[] }>;
  trials: ImportanceTrial[];
  importance: Record<string, number>;
  rankings: string[][];
  /** Set on the trials of a real sweep of this tool (tools/importance_sweeps.ts); absent on Optuna's own studies. */
  source?: string;
}
const fixture = JSON.parse(fs.readFileSync(new URL('./fixtures/importance-optuna.json', import.meta.url), 'utf8')) as { sets: FixtureSet[] };

const spaceOf = (s: FixtureSet): ImportanceSpace =>
  Object.fromEntries(
    Object.entries(s.space).map(([k, p]) => [k, p.type === 'categorical' ? { type: 'categorical', choices: p.choices! } : { type: p.type as 'float' | 'int', low: p.low!, high: p.high! }]),
  );

/** Our importances averaged over `n` forest seeds, as the fixture averages Optuna's over its 10 evaluator seeds. */
function meanImportance(set: FixtureSet, n: number): Record<string, number> {
  const sum: Record<string, number> = {};
  for (let seed = 0; seed < n; seed++) for (const [k, v] of Object.entries(fanovaImportance(spaceOf(set), set.trials, new Rng(seed)))) sum[k] = (sum[k] ?? 0) + v / n;
  return Object.fromEntries(Object.entries(sum).sort((a, b) => b[1] - a[1]));
}
const top2 = (imp: Record<string, number>) => Object.keys(imp).slice(0, 2).join(',');
/** The top twos Optuna's 10 evaluator seeds gave: one when they agree. */
const optunaTop2s = (set: FixtureSet) => new Set(set.rankings.map((r) => r.slice(0, 2).join(',')));
/** How many of 10 single forests (seeds 0-9) rank `want` as the top two. */
const singleHits = (set: FixtureSet, want: string) => Array.from({ length: 10 }, (_, seed) => top2(fanovaImportance(spaceOf(set), set.trials, new Rng(seed)))).filter((t) => t === want).length;

test("the top two parameters of the mean over 10 forest seeds are Optuna's, and each mean is within 0.1 of Optuna's, on every set", () => {
  assert.ok(fixture.sets.length >= 3);
  for (const set of fixture.sets) {
    const ours = meanImportance(set, 10);
    assert.equal(top2(ours), top2(set.importance), `${set.name}: ours ${JSON.stringify(ours)}, Optuna's ${JSON.stringify(set.importance)}`);
    for (const [k, v] of Object.entries(set.importance)) assert.ok(Math.abs(ours[k] - v) < 0.1, `${set.name}.${k}: ours ${ours[k].toFixed(3)}, Optuna ${v.toFixed(3)}`);
  }
});

test("single evaluations rank the top two as Optuna does: on 3 sets every time, and 8 of 10 times on any set where Optuna's 10 evaluations agreed", () => {
  // Where two keys are close (rosenbrock-random: y 0.51, x 0.44 in Optuna's mean) one forest may swap them.
  let always = 0;
  for (const set of fixture.sets) {
    const optunaTop2 = optunaTop2s(set);
    if (optunaTop2.size !== 1) continue; // Optuna's own ranking moves with its seed
    const hits = singleHits(set, [...optunaTop2][0]);
    assert.ok(hits >= 8, `${set.name}: ${hits} of 10 seeds give Optuna's top two ${[...optunaTop2][0]}`);
    if (hits === 10) always++;
  }
  assert.ok(always >= 3, `only ${always} fixture sets have our top two equal to Optuna's on every seed; the issue asks for 3`);
});

test("three of the sets are real sweeps of this tool (softmax random, MLP TPE, MLP update rules random), on each of which Optuna's 10 evaluations agree on the top two, so the two tests above hold them to it", () => {
  // The tests above cover every set: the mean's top two are Optuna's; single forests give them 8 or more of 10 times where Optuna agrees with itself.
  const real = fixture.sets.filter((s) => s.source);
  assert.equal(real.length, 3);
  for (const set of real) assert.equal(optunaTop2s(set).size, 1, `${set.name}: Optuna's own top two move with its seed: ${[...optunaTop2s(set)].join(' | ')}`);
});

test('importances sum to 1, are sorted, and the same seed gives the same figures', () => {
  const set = fixture.sets[0];
  const a = fanovaImportance(spaceOf(set), set.trials, new Rng(7));
  const b = fanovaImportance(spaceOf(set), set.trials, new Rng(7));
  assert.deepEqual(a, b);
  const vs = Object.values(a);
  assert.ok(Math.abs(vs.reduce((x, y) => x + y, 0) - 1) < 1e-12);
  assert.deepEqual(
    vs,
    [...vs].sort((x, y) => y - x),
  );
});

test('a key the metric does not depend on gets ~0; a metric of one key gives it all', () => {
  const rng = new Rng(3);
  const trials: ImportanceTrial[] = Array.from({ length: 30 }, () => {
    const a = rng.uniform(),
      b = rng.uniform();
    return { params: { a, b }, value: Math.sin(6 * a) };
  });
  const imp = fanovaImportance({ a: { type: 'float', low: 0, high: 1 }, b: { type: 'float', low: 0, high: 1 } }, trials, new Rng(0));
  assert.ok(imp.a > 0.95 && imp.b < 0.05, JSON.stringify(imp));
});

test('bad input: one clear line', () => {
  const space: ImportanceSpace = { a: { type: 'float', low: 0, high: 1 } };
  assert.throws(() => fanovaImportance(space, [{ params: { a: 0.5 }, value: 1 }], new Rng(0)), /needs at least 2 finished trials/);
  assert.throws(
    () =>
      fanovaImportance(
        space,
        [
          { params: { a: 0.2 }, value: 1 },
          { params: { a: 0.5 }, value: 1 },
        ],
        new Rng(0),
      ),
    /does not vary/,
  );
  assert.throws(
    () =>
      fanovaImportance(
        { r: { type: 'categorical', choices: ['x', 'y'] } },
        [
          { params: { r: 'x' }, value: 1 },
          { params: { r: 'z' }, value: 2 },
        ],
        new Rng(0),
      ),
    /not one of its choices/,
  );
});
