/**
 * The sweep report's figures for a TPE search (src/report/sweep_plots.ts) in headless Chromium:
 * parallel coordinates, hyperparameter importance and best so far, each drawn with its data and
 * its axes titled, offline. A screenshot goes to test-output/sweep-plots.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chartInfo, launchChromium, NO_CHROMIUM, watchPage } from './browser.js';
import { E2E_BACKEND } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('a TPE sweep report draws parallel coordinates, importance and best so far, with data and titled axes', { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-plots-'));
  try {
    const sweep = {
      name: 'p',
      base: { numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 30, backend: E2E_BACKEND },
      tpe: { trials: 8, seed: 0, startupTrials: 4, lr: { logUniform: [1e-4, 1] }, reg: { logUniform: [1e-5, 1e-1] }, lrDecay: { uniform: [0.5, 1] } },
    };
    fs.writeFileSync(path.join(tmp, 'sweep-p.json'), JSON.stringify(sweep));
    const r = spawnSync(process.execPath, [path.join(root, 'bin', 'train.js'), 'sweep', '--config', path.join(tmp, 'sweep-p.json'), '--workers', '2', '--runs-dir', tmp], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const results = JSON.parse(fs.readFileSync(path.join(tmp, 'sweep-p', 'results.json'), 'utf8')) as {
      trials: { index: number; status: string; valAcc: number | null; params: Record<string, number> }[];
    };
    const ok = results.trials.filter((t) => t.status === 'ok' && t.valAcc !== null).sort((a, b) => a.index - b.index);
    assert.ok(ok.length >= 2 && new Set(ok.map((t) => t.valAcc)).size >= 2, `at least two finished trials with different val accuracies: ${JSON.stringify(results.trials)}`);

    const browser = await launchChromium(['--disable-component-update']);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const url = pathToFileURL(path.join(tmp, 'sweep-p', 'report.html')).href;
      const { errors, requests } = watchPage(page, url);
      await page.goto(url, { waitUntil: 'load' });
      const info = (id: string) => chartInfo(page, id);

      // Parallel coordinates: a line per finished trial over lr, reg, lrDecay and val acc, each
      // point inside [0, 1]; lr on its log axis; the best trial the brightest colour.
      const par = await info('parallel');
      assert.ok(par.drawn);
      assert.deepEqual(
        par.labels.map((l) => (l as string[])[0]),
        ['lr', 'reg', 'lrDecay', 'val acc'],
      );
      assert.match((par.labels[0] as string[])[1], /^log 1\.00e-4 – 1$/);
      assert.equal(par.datasets.length, ok.length);
      for (const t of ok) {
        const d = par.datasets.find((x) => x.label === `trial ${t.index}`)!;
        const lrPos = Math.log(t.params.lr / 1e-4) / Math.log(1 / 1e-4);
        assert.ok(Math.abs((d.data[0] as number) - lrPos) < 1e-3, `trial ${t.index}: lr ${t.params.lr} at ${d.data[0]}, expected ${lrPos}`);
      }
      const best = ok.reduce((a, b) => (b.valAcc! > a.valAcc! ? b : a));
      assert.equal(par.datasets.find((x) => x.label === `trial ${best.index}`)!.color, 'rgb(253,231,37)', 'the best trial in viridis yellow');
      assert.match(par.axes.x.title, /swept key/);
      assert.match(par.axes.y.title, /position in the range/);

      // Importance: a bar per swept key, summing to 1, with both axes titled.
      const imp = await info('importance');
      assert.ok(imp.drawn);
      assert.deepEqual([...imp.labels].sort(), ['lr', 'lrDecay', 'reg']);
      const shares = imp.datasets[0].data as number[];
      assert.ok(Math.abs(shares.reduce((a, b) => a + b, 0) - 1) < 1e-3, `importances sum to 1: ${shares}`);
      assert.match(imp.axes.x.title, /importance/);
      assert.match(imp.axes.y.title, /swept key/);

      // Best so far: the running maximum of the finished trials' val accuracy, and the trials as
      // points, the 4 random startup trials apart from the TPE-suggested ones.
      const bsf = await info('best-so-far');
      assert.ok(bsf.drawn);
      let run = -Infinity;
      assert.deepEqual(
        bsf.datasets[0].data,
        ok.map((t) => ({ x: t.index, y: Number((run = Math.max(run, t.valAcc!)).toFixed(4)) })),
      );
      assert.match(bsf.datasets[1].label, /random startup trials \(1–4\)/);
      assert.equal(bsf.datasets[1].data.length, ok.filter((t) => t.index <= 4).length);
      assert.equal(bsf.datasets[2].label, 'TPE-suggested trials');
      assert.equal(bsf.datasets[2].data.length, ok.filter((t) => t.index > 4).length);
      assert.equal(bsf.axes.x.title, 'trial');
      assert.equal(bsf.axes.y.title, 'val accuracy');

      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      fs.mkdirSync(path.join(root, 'test-output'), { recursive: true });
      await page.screenshot({ path: path.join(root, 'test-output', 'sweep-plots.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("train compare SWEEP SWEEP draws the sweeps' best so far in Chromium: data in every line, titled axes, a legend naming each sweep", { skip: NO_CHROMIUM, timeout: 240_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-compare-'));
  try {
    const base = { numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 1, batchSize: 100, backend: E2E_BACKEND };
    const space = { lr: { logUniform: [1e-4, 1] }, reg: { logUniform: [1e-5, 1e-1] } };
    const cli = (args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin', 'train.js'), ...args], { cwd: root, encoding: 'utf8' });
    for (const [name, search] of [
      ['c-tpe', { tpe: { trials: 5, seed: 0, startupTrials: 3, ...space } }],
      ['c-random', { random: { trials: 5, seed: 0, ...space } }],
    ] as const) {
      fs.writeFileSync(path.join(tmp, `${name}.json`), JSON.stringify({ name, base, trialReports: 'none', ...search }));
      const r = cli(['sweep', '--config', path.join(tmp, `${name}.json`), '--workers', '2', '--runs-dir', tmp]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
    }
    const out = path.join(tmp, 'compare.html');
    const c = cli(['compare', path.join(tmp, 'sweep-c-tpe'), path.join(tmp, 'sweep-c-random'), '--out', out]);
    assert.equal(c.status, 0, c.stderr);

    const browser = await launchChromium(['--disable-component-update']);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const url = pathToFileURL(out).href;
      const { errors, requests } = watchPage(page, url);
      await page.goto(url, { waitUntil: 'load' });
      const info = await chartInfo(page, 'sweeps-best-so-far');
      assert.ok(info.drawn);
      assert.deepEqual(
        info.datasets.map((l) => l.label),
        ['tpe, seed 0 (sweep-c-tpe)', 'random, seed 0 (sweep-c-random)'],
      );
      assert.ok(
        info.datasets.every((l) => l.data.length >= 1),
        `every sweep's line has data: ${JSON.stringify(info.datasets)}`,
      );
      assert.deepEqual(Object.fromEntries(Object.entries(info.axes).map(([k, a]) => [k, a.title])), { x: 'trial', y: 'best val accuracy so far' });
      assert.deepEqual(info.legend, ['tpe, seed 0 (sweep-c-tpe)', 'random, seed 0 (sweep-c-random)']);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      fs.mkdirSync(path.join(root, 'test-output'), { recursive: true });
      await page.screenshot({ path: path.join(root, 'test-output', 'sweep-compare.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
