/**
 * ASHA with Hyperband brackets (sweep/scheduler.ts) against Ray Tune's AsyncHyperBandScheduler:
 * test/fixtures/asha-ray.json, written by `/usr/bin/python3 bench/asha_replay.py --fixture
 * test/fixtures/asha-ray.json` (Ray's algorithm written out in Python, numpy's percentile), holds
 * bracketed runs of synthetic trials on 3 simulated workers: every result in the order Ray's
 * scheduler saw it, the bracket Ray drew for its trial, and Ray's answer. Fed the same results in
 * the same order, with the same brackets, decideAsha must give every answer Ray gave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../src/config/config.js';
import { ashaRungs, bracketOdds, bracketOf, decideAsha, describeScheduler, MemoryRungStore, parseScheduler, type AshaSpec } from '../src/sweep/scheduler.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Case {
  eta: number;
  grace: number;
  max: number;
  brackets: number;
  rayRungs: number[][];
  odds: number[];
  trials: { id: string; bracket: number; epochs: number }[];
  events: { trial: string; epoch: number; score: number; decision: 'go' | 'stop' | 'end' }[];
}
const fx = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/asha-ray.json'), 'utf8')) as {
  cases: Case[];
  odds: { eta: number; grace: number; max: number; brackets: number; odds: number[] }[];
};
const specOf = (c: { eta: number; grace: number; max: number; brackets: number }): AshaSpec => ({ eta: c.eta, grace: c.grace, max: c.max, brackets: c.brackets });

test("every answer of a bracketed run is Ray's: the same results in the same order, with the same brackets, stop the same trials at the same epochs", async () => {
  for (const c of fx.cases) {
    const s = specOf(c);
    const store = new MemoryRungStore();
    const trial = new Map(c.trials.map((t) => [t.id, t]));
    const wrong: string[] = [];
    for (const [i, e] of c.events.entries()) {
      const t = trial.get(e.trial)!;
      const d = await decideAsha(s, store, t.id, t.bracket, e.epoch, t.epochs, e.score);
      const want = e.decision === 'stop';
      if (d.stop !== want) wrong.push(`result ${i}: ${t.id} (bracket ${t.bracket}) epoch ${e.epoch} score ${e.score}: Ray ${e.decision}, here ${d.stop ? 'stop' : 'go'}`);
    }
    const where = `η ${c.eta}, grace ${c.grace}, max ${c.max}, ${c.brackets} brackets`;
    assert.deepEqual(wrong.slice(0, 5), [], `${where}: ${wrong.length} of ${c.events.length} answers differ from Ray's`);
    // The run is worth checking: trials stopped in more than one bracket when there are several.
    const stopped = new Set(c.events.filter((e) => e.decision === 'stop').map((e) => trial.get(e.trial)!.bracket));
    assert.ok(stopped.size >= Math.min(2, c.brackets), `${where}: stops in brackets ${[...stopped].join(', ')}`);
  }
});

test("each bracket's rungs are Ray's below max, and the bracket odds are Ray's softmax over rung counts", () => {
  for (const c of fx.cases) {
    for (let b = 0; b < c.brackets; b++)
      assert.deepEqual(
        ashaRungs(specOf(c), c.max, b),
        c.rayRungs[b].filter((r) => r < c.max),
        `bracket ${b}`,
      );
  }
  // Ray computes e^(size − max size) as np.e ** x; Math.exp may differ in the last bits: 1e-12, float64.
  for (const o of fx.odds) {
    const mine = bracketOdds(specOf(o));
    assert.equal(mine.length, o.odds.length);
    for (const [b, p] of o.odds.entries()) assert.ok(Math.abs(mine[b] - p) < 1e-12, `η ${o.eta} grace ${o.grace} max ${o.max}, ${o.brackets} brackets: bracket ${b} ${mine[b]} against Ray's ${p}`);
  }
});

test("a trial's bracket is drawn with Ray's odds from its folder's name: the same name, the same bracket", () => {
  const s: AshaSpec = { eta: 3, grace: 1, max: 9, brackets: 3 };
  const n = 20_000;
  const counts = [0, 0, 0];
  for (let i = 0; i < n; i++) counts[bracketOf(s, `trials/trial-${i.toString(16).padStart(12, '0')}`)]++;
  // Each count within 4.5 standard deviations of n·p (binomial): a wrong odds table is hundreds off.
  for (const [b, p] of bracketOdds(s).entries()) {
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(counts[b] - n * p) < 4.5 * sd, `bracket ${b}: ${counts[b]} of ${n}, expected ${(n * p).toFixed(0)} ± ${(4.5 * sd).toFixed(0)}`);
  }
  assert.equal(bracketOf(s, 'trials/trial-abc'), bracketOf(s, 'trials/trial-abc'));
  assert.equal(bracketOf({ eta: 3, grace: 1, max: 9 }, 'trials/trial-abc'), 0);
});

test("the sweep file's brackets: an integer ≥ 1, needing max when above 1; shown in the description", () => {
  const bad = (v: unknown, re: RegExp) =>
    assert.throws(
      () => parseScheduler(v, 'f.json'),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
    );
  bad({ asha: { brackets: 0, max: 9 } }, /scheduler\.asha\.brackets = 0 must be an integer ≥ 1/);
  bad({ asha: { brackets: 3 } }, /scheduler\.asha\.brackets = 3 needs "max": every bracket's rungs count up to it \(Ray Tune's max_t\)/);
  bad({ asha: { bracket: 3 } }, /scheduler\.asha has no key "bracket" \(it takes eta, grace, max\) or "brackets" for Hyperband/);
  const s = parseScheduler({ asha: { eta: 3, max: 27, brackets: 3 } }, 'f.json');
  assert.deepEqual(s, { asha: { eta: 3, grace: 1, max: 27, brackets: 3 } });
  assert.equal(describeScheduler(s), 'ASHA (η 3, grace 1, max 27 epochs, 3 brackets)');
  assert.equal(describeScheduler(parseScheduler({ asha: { max: 9, brackets: 1 } }, 'f.json')), 'ASHA (η 4, grace 1, max 9 epochs)');
});
