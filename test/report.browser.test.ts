/**
 * End to end in a real browser: Debian's Chromium, driven by playwright-core, opens a run report
 * and a sweep report made by the CLI on small MNIST runs, and checks that they render offline:
 * no console errors, no network requests, every chart drawn, every image loaded, the weight
 * templates all there at their size. Screenshots go to test-output/.
 *
 * Chromium comes from apt (`.ci/run` installs it); where it is missing the test says so and skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { cspViolations, launchChromium, NO_CHROMIUM, recordCsp, watchPage } from './browser.js';
import { E2E_BACKEND } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
const shots = path.join(root, 'test-output');
const small = ['--num-train', '1000', '--num-val', '200', '--num-test', '500', '--num-dev', '100', '--backend', E2E_BACKEND];

function train(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return r.stdout;
}

/** Chromium with the flags these tests add: QUIC, component updates and sync off. */
const launch = (): Promise<Browser> => launchChromium(['--disable-quic', '--disable-component-update', '--disable-sync']);

/** Open `file`, collecting console errors, every request that is not the file itself or a data: URL, CSP violations and the text each canvas draws. */
async function open(browser: Browser, file: string, width: number) {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const url = pathToFileURL(file).href;
  const { errors, requests } = watchPage(page, url);
  await recordCsp(page);
  // The text each canvas draws (axis labels, legends, the confusion matrix's counts).
  await page.addInitScript(() => {
    const w = window as unknown as { __texts: Record<string, string[]> };
    w.__texts = {};
    const fillText = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (text: string, x: number, y: number, max?: number) {
      (w.__texts[this.canvas.id] ??= []).push(String(text));
      return max === undefined ? fillText.call(this, text, x, y) : fillText.call(this, text, x, y, max);
    };
  });
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}

/** Count of canvases with at least one non-transparent pixel, and the total. */
async function drawnCanvases(page: Page): Promise<{ drawn: number; total: number }> {
  return page.evaluate(() => {
    const cs = Array.from(document.querySelectorAll('canvas'));
    const drawn = cs.filter((c) => {
      if (c.width === 0 || c.height === 0) return false;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true;
      return false;
    }).length;
    return { drawn, total: cs.length };
  });
}

async function images(page: Page, selector = 'img') {
  return page.evaluate(
    (sel) => Array.from(document.querySelectorAll<HTMLImageElement>(sel)).map((i) => ({ ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, h: i.naturalHeight, alt: i.alt })),
    selector,
  );
}

/** The datasets of the Chart.js chart on canvas `id`: label, colour and number of points. */
async function datasetsOf(page: Page, id: string): Promise<{ label: string; color: string; n: number }[]> {
  return page.evaluate((cid) => {
    const C = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { data: { datasets: { label: string; borderColor: string; data: unknown[] }[] } } } }).Chart;
    return C.getChart(document.getElementById(cid) as HTMLCanvasElement).data.datasets.map((d) => ({ label: d.label, color: String(d.borderColor), n: d.data.length }));
  }, id);
}

const isPng = (file: string) => fs.existsSync(file) && [...fs.readFileSync(file).subarray(0, 8)].join() === '137,80,78,71,13,10,26,10';

test('run and sweep reports render offline in headless Chromium', { skip: NO_CHROMIUM, timeout: 180_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-'));
  fs.mkdirSync(shots, { recursive: true });
  try {
    // A softmax run and an MLP run on a small MNIST subset, and a 2-trial sweep.
    const out = train([...small, '--epochs', '3', '--runs-dir', tmp, '--name', 'soft']);
    assert.match(out, /report: .*report\.html/);
    train([...small, '--model', 'mlp', '--hidden', '16', '--epochs', '2', '--runs-dir', tmp, '--name', 'mlp']);
    const sweepFile = path.join(tmp, 'sweep-r.json');
    fs.writeFileSync(
      sweepFile,
      // trialReports all: every trial's report, so every row links one (the default builds the best 3: sweep-reports.test.ts).
      JSON.stringify({
        name: 'r',
        base: { numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 20, backend: E2E_BACKEND },
        grid: { lr: [0.1, 1], reg: [1e-4, 1e-2] },
        trialReports: 'all',
      }),
    );
    const sweepOut = spawnSync(process.execPath, [bin, 'sweep', '--config', sweepFile, '--workers', '2', '--runs-dir', tmp], { cwd: root, encoding: 'utf8' });
    assert.equal(sweepOut.status, 0, sweepOut.stderr);
    assert.match(sweepOut.stdout, /report: .*sweep-r\/report\.html/);

    const runDir = (name: string) =>
      path.join(
        tmp,
        fs.readdirSync(tmp).find((d) => d.endsWith(`-${name}`))!,
      );
    for (const png of ['loss.png', 'accuracy.png', 'weights.png', 'confusion.png', 'misclassified.png']) {
      const buf = fs.readFileSync(path.join(runDir('soft'), png));
      assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${png} is a PNG`);
    }

    const browser = await launch();
    try {
      // Softmax run report, at laptop and at phone width.
      for (const width of [1280, 390]) {
        const { page, errors, requests } = await open(browser, path.join(runDir('soft'), 'report.html'), width);
        assert.deepEqual(errors, [], 'no console errors');
        assert.deepEqual(requests, [], 'no network requests');
        assert.deepEqual(await cspViolations(page), [], 'no CSP violations');
        const c = await drawnCanvases(page);
        assert.equal(c.total, 3, 'loss, accuracy and confusion charts');
        assert.equal(c.drawn, c.total, 'every chart has drawn');
        const imgs = await images(page);
        assert.ok(imgs.length > 10 && imgs.every((i) => i.ok), 'every image has loaded');
        const templates = await images(page, 'img.template');
        assert.equal(templates.length, 10, 'one template per class');
        for (const t of templates) assert.deepEqual([t.w, t.h], [84, 84], 'each template is 28×28 at 3×');
        assert.deepEqual(
          templates.map((t) => t.alt),
          ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
        );
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the page fits a ${width}px window (overflow ${overflow}px)`);
        // Issue 26: legend swatches in their lines' colours, the loss axis ending at the last iteration.
        for (const id of ['loss', 'accuracy']) {
          const v = await chartView(page, id);
          assertSwatchesMatch(v, `run report ${id}`);
          assertLegendFits(v, `run report ${id}`);
        }
        const lossView = await chartView(page, 'loss');
        assert.equal(lossView.x.max, Math.max(...lossView.datasets.flatMap((d) => d.xs)), "the loss chart's x axis ends at the last iteration");
        await assertConfusionReadable(page);
        await page.screenshot({ path: path.join(shots, `run-report-${width}.png`), fullPage: true });
        await page.close();
      }
      // MLP run report: the first-layer grid instead of templates.
      {
        const { page, errors, requests } = await open(browser, path.join(runDir('mlp'), 'report.html'), 1280);
        assert.deepEqual(errors, []);
        assert.deepEqual(requests, []);
        assert.deepEqual(await cspViolations(page), []);
        const grid = await images(page, 'img.grid');
        assert.equal(grid.length, 1);
        assert.deepEqual([grid[0].w, grid[0].h], [2 * (4 * 29 + 1), 2 * (4 * 29 + 1)], '16 units in a 4×4 grid of 28-px tiles, 1-px gaps, at 2×');
        // Issue 26: the config shows the MLP's keys, none of kNN's.
        const cfg = await configShown(page);
        assert.equal(cfg.hidden, '[16]');
        for (const k of ['k', 'cvFolds', 'kChoices']) assert.ok(!(k in cfg), `no ${k} on an MLP: ${Object.keys(cfg).join(', ')}`);
        const c = await drawnCanvases(page);
        assert.equal(c.drawn, c.total);
        await page.close();
      }
      // Sweep report: two scatter plots, a sortable table linked to the trial reports, the best highlighted.
      {
        const file = path.join(tmp, 'sweep-r', 'report.html');
        const { page, errors, requests } = await open(browser, file, 1280);
        assert.deepEqual(errors, []);
        assert.deepEqual(requests, []);
        assert.deepEqual(await cspViolations(page), []);
        const c = await drawnCanvases(page);
        assert.equal(c.total, 5, 'two scatter plots and three overlays (loss, train and val accuracy)');
        assert.equal(c.drawn, 5);
        // The overlays: one dataset per trial, named by the swept keys, each in its own colour and with points.
        const names = ['lr=0.1, reg=1.00e-4', 'lr=0.1, reg=0.01', 'lr=1, reg=1.00e-4', 'lr=1, reg=0.01'];
        for (const id of ['overlay-loss', 'overlay-train', 'overlay-val']) {
          const ds = await datasetsOf(page, id);
          assert.deepEqual(ds.map((d) => d.label).sort(), [...names].sort(), `${id}: one dataset per trial, named by lr and reg`);
          assert.equal(new Set(ds.map((d) => d.color)).size, 4, `${id}: a colour per trial`);
          assert.ok(
            ds.every((d) => d.n > 0),
            `${id}: every trial has points`,
          );
        }
        for (const png of ['sweep_overlay_loss.png', 'sweep_overlay_train.png', 'sweep_overlay_val.png']) assert.ok(isPng(path.join(tmp, 'sweep-r', png)), `${png} is a PNG`);
        const rows = await page.locator('table.trials tbody tr').count();
        assert.equal(rows, 4);
        const results = JSON.parse(fs.readFileSync(path.join(tmp, 'sweep-r', 'results.json'), 'utf8'));
        const bestFirstCell = await page.locator('table.trials tr.best td').first().textContent();
        assert.equal(Number(bestFirstCell), results.best.index);
        const links = await page.locator('table.trials a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')));
        assert.equal(links.length, 4);
        for (const l of links) assert.ok(fs.existsSync(path.join(tmp, 'sweep-r', l!)), `${l} exists`);
        // Sorting by val accuracy (descending after two clicks) puts the best trial first.
        const valCol = page.locator('table.trials th', { hasText: 'val acc' });
        await valCol.click();
        await valCol.click();
        const first = await page.locator('table.trials tbody tr').first().getAttribute('class');
        assert.equal(first, 'best');
        await page.screenshot({ path: path.join(shots, 'sweep-report.png'), fullPage: true });
        await page.close();
      }
      // Issue 26: a trial of 20 iterations (1,000 rows, batches of 200: 4 epochs) shows the 4 epochs it ran, not the preset's 15.
      {
        const trial = path.join(tmp, 'sweep-r', 'trials', fs.readdirSync(path.join(tmp, 'sweep-r', 'trials'))[0]);
        const summary = JSON.parse(fs.readFileSync(path.join(trial, 'summary.json'), 'utf8')) as { epochs: number; iterations: number };
        assert.deepEqual([summary.iterations, summary.epochs], [20, 4]);
        const { page, errors } = await open(browser, path.join(trial, 'report.html'), 1280);
        assert.deepEqual(errors, []);
        const cfg = await configShown(page);
        assert.equal(cfg.iterations, '20');
        assert.match(cfg.epochs, /^4 \(from iterations = 20\)$/, `the epochs the run did: ${cfg.epochs}`);
        for (const k of ['k', 'cvFolds', 'kChoices', 'hidden', 'normalization', 'dropoutKeep']) assert.ok(!(k in cfg), `no ${k} on a softmax run: ${Object.keys(cfg).join(', ')}`);
        assert.ok('lr' in cfg && 'reg' in cfg);
        await page.close();
      }
      // Markup that got past the escaping does not run: an inline script and a javascript: link
      // injected into the sweep report are blocked by the policy, and the charts still draw.
      {
        const injected = path.join(tmp, 'sweep-r', 'injected.html');
        const html = fs.readFileSync(path.join(tmp, 'sweep-r', 'report.html'), 'utf8');
        fs.writeFileSync(injected, html.replace('</main>', '<script>window.__pwned = 1;</script><a id="evil" href="javascript:window.__pwned = 2">x</a></main>'));
        const { page } = await open(browser, injected, 1280);
        await page.click('#evil');
        await page.waitForTimeout(200);
        assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'the injected script did not run');
        const v = await cspViolations(page);
        assert.ok(
          v.some((x) => x.startsWith('script-src')),
          `the policy blocked it: ${v.join('; ')}`,
        );
        const c = await drawnCanvases(page);
        assert.equal(c.drawn, 5);
        await page.close();
      }
      // The compare page of the two runs: curves overlaid, configs side by side, links to both reports.
      {
        const cmp = spawnSync(process.execPath, [bin, 'compare', runDir('soft'), runDir('mlp')], { cwd: root, encoding: 'utf8' });
        assert.equal(cmp.status, 0, cmp.stderr);
        const file = /compare: (.*\.html)/.exec(cmp.stdout)![1];
        assert.equal(path.dirname(file), tmp, 'the page goes beside the runs');
        const { page, errors, requests } = await open(browser, file, 1280);
        assert.deepEqual(errors, []);
        assert.deepEqual(requests, []);
        assert.deepEqual(await cspViolations(page), []);
        assert.deepEqual(await drawnCanvases(page), { drawn: 3, total: 3 }, 'loss, train and val accuracy overlays drawn');
        for (const id of ['overlay-loss', 'overlay-train', 'overlay-val']) {
          const ds = await datasetsOf(page, id);
          assert.deepEqual(
            ds.map((d) => d.label),
            [path.basename(runDir('soft')), path.basename(runDir('mlp'))],
            `${id}: one dataset per run`,
          );
          assert.ok(ds.every((d) => d.n > 0));
        }
        const links = await page.locator('a.run-report').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
        assert.equal(links.length, 2);
        for (const l of links) assert.ok(fs.existsSync(fileURLToPath(l)), `${l} resolves`);
        const differing = await page.locator('tr.diff th').allTextContents();
        assert.ok(differing.includes('model') && differing.includes('name'), `model and name highlighted: ${differing.join(', ')}`);
        assert.ok(!differing.includes('dataset'), 'a key both runs share is not highlighted');
        await page.screenshot({ path: path.join(shots, 'compare.png'), fullPage: true });
        await page.close();
      }
      // Issue 26: three runs side by side fit a 1,400-px window, the third not behind a sideways scroll.
      {
        // Run folders named as real ones are (<time>-<name>, the names of cs231n configs): the columns' headings.
        const trial = path.join(tmp, 'sweep-r', 'trials', fs.readdirSync(path.join(tmp, 'sweep-r', 'trials'))[0]);
        const named = (
          [
            [runDir('soft'), '20261203-084512-cs231n-softmax-tuned-seed11'],
            [runDir('mlp'), '20261203-090130-cs231n-two-layer-net-hidden-500'],
            [trial, '20261203-091502-cs231n-fcnet-best-batchnorm'],
          ] as const
        ).map(([from, name]) => {
          const to = path.join(tmp, name);
          fs.cpSync(from, to, { recursive: true });
          return to;
        });
        const out3 = path.join(tmp, 'compare-3.html');
        const cmp = spawnSync(process.execPath, [bin, 'compare', ...named, '--out', out3], { cwd: root, encoding: 'utf8' });
        assert.equal(cmp.status, 0, cmp.stderr);
        const { page, errors } = await open(browser, out3, 1400);
        assert.deepEqual(errors, []);
        const fit = await page.evaluate(() => ({
          page: document.documentElement.scrollWidth,
          cards: Array.from(document.querySelectorAll('.card')).map((c) => ({ title: c.querySelector('h2')?.textContent, over: c.scrollWidth - c.clientWidth })),
          third: Array.from(document.querySelectorAll('table.compare')).map((t) => (t as HTMLTableElement).rows[0].cells[3].getBoundingClientRect().right),
          cardRight: document.querySelector('table.compare')!.closest('.card')!.getBoundingClientRect().right,
        }));
        assert.ok(fit.page <= 1400, `the page's scrollWidth ${fit.page} ≤ 1400`);
        for (const c of fit.cards) assert.ok(c.over <= 0, `card ${c.title} has no sideways scroll (${c.over} px over)`);
        for (const r of fit.third) assert.ok(r <= fit.cardRight, `the third run's column (right edge ${r}) is inside its card (${fit.cardRight})`);
        await page.screenshot({ path: path.join(shots, 'compare-3-1400.png'), fullPage: true });
        await page.close();
      }
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('a knn run report renders offline in headless Chromium: the cross-validation chart and the distance image', { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-knn-'));
  fs.mkdirSync(shots, { recursive: true });
  try {
    train(['--model', 'knn', '--num-train', '600', '--num-test', '100', '--cv-folds', '3', '--k-choices', '1,3,5', '--k', '3', '--backend', E2E_BACKEND, '--runs-dir', tmp, '--name', 'knn']);
    const dir = path.join(tmp, fs.readdirSync(tmp)[0]);
    const browser = await launch();
    try {
      const { page, errors, requests } = await open(browser, path.join(dir, 'report.html'), 1000);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      assert.deepEqual(await cspViolations(page), []);
      assert.deepEqual(await drawnCanvases(page), { drawn: 1, total: 1 }, 'the cross-validation chart is drawn');
      const imgs = await images(page);
      assert.equal(imgs.length, 1);
      assert.deepEqual([imgs[0].ok, imgs[0].w, imgs[0].h], [true, 600, 100], 'the 100 × 600 distance image is loaded at its size');
      // Issue 26: the timings are tables (the three distance forms, the run's phases), no raw JSON anywhere.
      assert.doesNotMatch(await page.evaluate(() => document.body.innerText), /\{"/, 'no raw JSON object on the page');
      const timings = page.locator('table.timings');
      assert.equal(await timings.count(), 2, 'two timing tables');
      assert.deepEqual(await timings.nth(0).locator('tbody th').allTextContents(), ['two loops', 'one loop', 'no loops']);
      assert.deepEqual(await timings.nth(1).locator('tbody th').allTextContents(), ['load', 'train', 'cross-validation', 'test', 'total']);
      // Issue 26: kNN's config shows its own keys, no SGD ones.
      const cfg = await configShown(page);
      assert.equal(cfg.k, '3');
      for (const k of ['lr', 'reg', 'epochs', 'iterations', 'batchSize', 'hidden', 'loss']) assert.ok(!(k in cfg), `no ${k} on kNN: ${Object.keys(cfg).join(', ')}`);
      const secs = await timings.nth(1).locator('tbody td').allTextContents();
      assert.ok(
        secs.every((t) => Number.isFinite(Number(t))),
        `every phase has its seconds: ${secs.join(', ')}`,
      );
      await page.screenshot({ path: path.join(shots, 'report-knn.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test(
  'a live report mid-run reloads itself and draws its charts; after Ctrl-C the final report stops reloading; the runs index links every report and sorts',
  { skip: NO_CHROMIUM, timeout: 150_000 },
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-live-'));
    fs.mkdirSync(shots, { recursive: true });
    const { spawn } = await import('node:child_process');
    try {
      train([...small, '--epochs', '1', '--runs-dir', tmp, '--name', 'done']);
      // A run long enough to be caught mid-way (it is stopped with Ctrl-C once the page is checked).
      const child = spawn(
        process.execPath,
        [
          bin,
          '--num-train',
          '4000',
          '--num-val',
          '200',
          '--num-test',
          '200',
          '--num-dev',
          '100',
          '--model',
          'mlp',
          '--hidden',
          '64',
          '--epochs',
          '400',
          '--backend',
          E2E_BACKEND,
          '--runs-dir',
          tmp,
          '--name',
          'live',
        ],
        { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const liveDir = async () => {
        for (let i = 0; i < 600; i++) {
          const d = fs.readdirSync(tmp).find((n) => n.endsWith('-live'));
          if (
            d &&
            fs.existsSync(path.join(tmp, d, 'report.html')) &&
            /\(running\)/.test(fs.readFileSync(path.join(tmp, d, 'report.html'), 'utf8')) &&
            fs.readFileSync(path.join(tmp, d, 'metrics.jsonl'), 'utf8').split('"type":"epoch"').length > 2
          )
            return path.join(tmp, d);
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`no live report after 60 s: ${stderr}`);
      };
      const dir = await liveDir();
      const browser = await launch();
      try {
        {
          const { page, errors, requests } = await open(browser, path.join(dir, 'report.html'), 1280);
          assert.deepEqual(errors, [], 'no console errors');
          assert.deepEqual(requests, [], 'no network requests');
          assert.deepEqual(await cspViolations(page), [], 'no CSP violations (the reload script is hashed like the others)');
          assert.match((await page.locator('#live').textContent()) ?? '', /reloads itself every \d+(\.\d+)? s/);
          assert.match((await page.locator('table.kv').first().textContent()) ?? '', /running/);
          const c = await drawnCanvases(page);
          assert.equal(c.total, 2, 'loss and accuracy charts');
          assert.equal(c.drawn, 2, 'both drawn');
          await page.screenshot({ path: path.join(shots, 'run-report-live.png'), fullPage: true });
          // It reloads by itself (every 2 s for epochs this short), and still draws after the reload.
          await page.waitForEvent('load', { timeout: 10_000 });
          assert.equal((await drawnCanvases(page)).drawn, 2);
          assert.deepEqual(errors, []);
          await page.close();
        }
        // The runs index while the run goes: it is listed as running.
        const runsOut = spawnSync(process.execPath, [bin, 'runs', tmp, '--json'], { cwd: root, encoding: 'utf8' });
        assert.equal(runsOut.status, 0, runsOut.stderr);
        const listed = JSON.parse(runsOut.stdout) as { runs: { name: string; status: string }[] };
        assert.deepEqual(listed.runs.map((r) => [r.name, r.status]).sort(), [
          ['done', 'finished'],
          ['live', 'running'],
        ]);

        child.kill('SIGINT');
        assert.equal(await exited, 130, stderr);
        assert.match(stderr, /stopping after this step \(Ctrl-C[^]*interrupted at step \d+[^]*report: .*report\.html/, 'the messages in order, the report last');
        const final = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
        assert.doesNotMatch(final, /location\.reload/, 'the report of a stopped run does not reload');
        assert.match(final, /interrupted/);

        const idx = spawnSync(process.execPath, [bin, 'runs', tmp], { cwd: root, encoding: 'utf8' });
        assert.equal(idx.status, 0, idx.stderr);
        assert.match(idx.stdout, /live .*interrupted/);
        assert.match(idx.stdout, /done .*finished/);
        {
          const file = path.join(tmp, 'index.html');
          const { page, errors, requests } = await open(browser, file, 1280);
          assert.deepEqual(errors, []);
          assert.deepEqual(requests, []);
          assert.deepEqual(await cspViolations(page), []);
          assert.equal(await page.locator('table.trials tbody tr').count(), 2);
          const links = await page.locator('table.trials a').evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
          assert.equal(links.length, 2);
          for (const l of links) assert.ok(fs.existsSync(fileURLToPath(l)), `${l} resolves`);
          // Sorting by status: ascending puts "finished" first, descending "interrupted".
          const status = page.locator('table.trials th', { hasText: 'status' });
          await status.click();
          const firstStatus = await page.locator('table.trials tbody tr').first().locator('td').nth(7).textContent();
          assert.equal(firstStatus, 'finished');
          await status.click();
          assert.equal(await page.locator('table.trials tbody tr').first().locator('td').nth(7).textContent(), 'interrupted');
          // A link opens the run's report.
          await page.locator('table.trials a').first().click();
          await page.waitForLoadState('load');
          assert.match(await page.title(), /Run report: /);
          assert.deepEqual(errors, []);
          await page.screenshot({ path: path.join(shots, 'runs-index.png'), fullPage: true });
          await page.close();
        }
      } finally {
        await browser.close();
        child.kill('SIGKILL');
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);

/**
 * A sweep folder like BatchNormalization.ipynb's weight-scale sweep: `n` trials of `iters` steps
 * and 3 epochs, trial `diverged` blowing up to 2.5e8, the others' losses near 2.3 and their val
 * accuracy rising with the index (so trial n is the best).
 */
function weightScaleSweep(top: string, n: number, diverged: number): string {
  const dir = path.join(top, 'sweep-ws');
  const trials = [];
  for (let i = 1; i <= n; i++) {
    const rel = `trials/trial-${i}`;
    fs.mkdirSync(path.join(dir, rel), { recursive: true });
    const rows: object[] = [];
    for (let it = 1; it <= 60; it++) rows.push({ type: 'iter', it, epoch: Math.ceil(it / 20), loss: i === diverged ? 2.3 * 10 ** ((8 * it) / 60) : 2.3 - (0.01 * i * it) / 60 });
    const valAcc = 0.1 + (0.3 * i) / n;
    for (let e = 1; e <= 3; e++) rows.push({ type: 'epoch', epoch: e, it: 20 * e, trainAcc: (valAcc * e) / 3 + 0.02, valAcc: (valAcc * e) / 3 });
    fs.writeFileSync(path.join(dir, rel, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    // As the notebook's sweep: 20 weight scales, each with and without batch norm (long legend names).
    const params = { normalization: i % 2 ? 'none' : 'batchnorm', initStd: Number((10 ** (-4 + (4 * Math.ceil(i / 2)) / (n / 2))).toPrecision(3)) };
    trials.push({ index: i, dir: rel, status: 'ok', reason: null, params, trainAcc: valAcc + 0.02, valAcc, bestEpoch: 3, seconds: 1, resumed: false });
  }
  const best = trials[n - 1];
  fs.writeFileSync(
    path.join(dir, 'results.json'),
    JSON.stringify({
      name: 'ws',
      sweepFile: 'ws.json',
      folder: dir,
      trials,
      best: { index: best.index, valAcc: best.valAcc, testAcc: null },
      workers: 2,
      seconds: 40,
      trialSeconds: 40,
      trialsRun: n,
      peakRssMB: 1,
      notInSweep: [],
    }),
  );
  fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify({ spec: {}, trials: trials.map((t) => ({ index: t.index, dir: t.dir, params: t.params, config: { lr: 1e-3, reg: 0 } })) }));
  return dir;
}

/** What a person sees of Chart.js chart `id`: its legend box and items, its datasets and its axes. */
async function chartView(page: Page, id: string) {
  return page.evaluate((cid) => {
    type Ds = { label: string; borderColor: string; borderDash?: number[]; faint?: boolean; data: { x: number; y: number }[] };
    type Box = { left: number; top: number; width: number; height: number };
    type Scale = { min: number; max: number; ticks: { value: number }[] };
    const C = (
      window as unknown as {
        Chart: {
          getChart(c: HTMLCanvasElement): {
            width: number;
            height: number;
            data: { datasets: Ds[] };
            legend: Box & { right: number; bottom: number; legendItems: { text: string; fillStyle: string; strokeStyle: string; datasetIndex: number }[]; legendHitBoxes: Box[] };
            scales: Record<string, Scale>;
          };
        };
      }
    ).Chart;
    const ch = C.getChart(document.getElementById(cid) as HTMLCanvasElement);
    const lg = ch.legend;
    return {
      width: ch.width,
      height: ch.height,
      legend: { left: lg.left, top: lg.top, right: lg.right, bottom: lg.bottom },
      items: lg.legendItems.map((it) => ({ text: it.text, fill: String(it.fillStyle), stroke: String(it.strokeStyle), ds: it.datasetIndex })),
      hitBoxes: lg.legendHitBoxes.map((b) => ({ left: b.left, top: b.top, right: b.left + b.width, bottom: b.top + b.height })),
      datasets: ch.data.datasets.map((d) => ({
        label: d.label,
        color: String(d.borderColor),
        dashed: Array.isArray(d.borderDash) && d.borderDash.length > 0,
        faint: !!d.faint,
        xs: d.data.map((p) => p.x),
        ys: d.data.map((p) => p.y),
      })),
      x: { min: ch.scales.x.min, max: ch.scales.x.max },
      y: { min: ch.scales.y.min, max: ch.scales.y.max, step: ch.scales.y.ticks.length > 1 ? ch.scales.y.ticks[1].value - ch.scales.y.ticks[0].value : 0 },
    };
  }, id);
}

type View = Awaited<ReturnType<typeof chartView>>;

/** The legend fits: its box and every entry's box inside the canvas (Chart.js cuts off what does not fit). */
function assertLegendFits(v: View, what: string): void {
  const inside = (b: { left: number; top: number; right: number; bottom: number }) => b.left >= 0 && b.top >= 0 && b.right <= v.width + 0.5 && b.bottom <= v.height + 0.5;
  assert.ok(inside(v.legend), `${what}: the legend box ${JSON.stringify(v.legend)} is inside the ${v.width}×${v.height} canvas`);
  assert.equal(v.hitBoxes.length, v.items.length, `${what}: every legend entry is laid out`);
  for (const [i, b] of v.hitBoxes.entries())
    assert.ok(inside(b) && b.bottom <= v.legend.bottom + 0.5, `${what}: legend entry ${v.items[i].text} ${JSON.stringify(b)} is inside the legend box ${JSON.stringify(v.legend)}`);
}

/** Every legend swatch is filled and outlined in its dataset's line colour. */
function assertSwatchesMatch(v: View, what: string): void {
  assert.ok(v.items.length > 0, `${what}: a legend`);
  for (const it of v.items) {
    const color = v.datasets[it.ds].color;
    assert.equal(it.fill, color, `${what}: the swatch of ${it.text} is filled in its line colour`);
    assert.equal(it.stroke, color, `${what}: the swatch of ${it.text} is outlined in its line colour`);
  }
}

/** The x axis ends at the data; the y axis at the data's largest value or a round number less than one tick above it. */
function assertAxesEndAtData(v: View, what: string, yData: number): void {
  const xMax = Math.max(...v.datasets.flatMap((d) => d.xs));
  const xMin = Math.min(...v.datasets.flatMap((d) => d.xs));
  assert.equal(v.x.max, xMax, `${what}: the x axis ends at the last x (${xMax}), not ${v.x.max}`);
  assert.equal(v.x.min, xMin, `${what}: the x axis starts at the first x (${xMin}), not ${v.x.min}`);
  assert.ok(v.y.max >= yData && v.y.max - yData < v.y.step, `${what}: the y axis ends at ${v.y.max}, at most one tick (${v.y.step}) above the data's ${yData}`);
}

/** The Config card's rows as key → text. */
async function configShown(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() => {
    const h2 = Array.from(document.querySelectorAll('h2')).find((h) => h.textContent === 'Config')!;
    return Object.fromEntries(Array.from(h2.parentElement!.querySelectorAll('table.kv tr')).map((tr) => [tr.querySelector('th')!.textContent, tr.querySelector('td')!.textContent]));
  });
}

/**
 * The confusion matrix reads without the table: every cell's count is written on the canvas, and
 * a colour bar beside the cells runs from the lightest shade (0 of the row) to the darkest (all of it).
 */
async function assertConfusionReadable(page: Page): Promise<void> {
  const counts = await page.evaluate(() => {
    const h2 = Array.from(document.querySelectorAll('h2')).find((h) => h.textContent === 'Confusion counts')!;
    return Array.from(h2.parentElement!.querySelectorAll('td')).map((td) => td.textContent ?? '');
  });
  assert.ok(counts.length >= 4, 'the confusion counts table');
  const drawn = await page.evaluate(() => (window as unknown as { __texts: Record<string, string[]> }).__texts.confusion ?? []);
  const left = [...drawn];
  for (const c of counts) {
    const k = left.indexOf(c);
    assert.ok(k >= 0, `the count ${c} is written in its cell (drawn: ${drawn.slice(0, 30).join(' ')} …)`);
    left.splice(k, 1);
  }
  const bar = await page.evaluate(() => {
    const canvas = document.getElementById('confusion') as HTMLCanvasElement;
    const C = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { chartArea: { right: number; top: number; bottom: number }; width: number } } }).Chart;
    const a = C.getChart(canvas).chartArea;
    const r = canvas.width / C.getChart(canvas).width;
    const ctx = canvas.getContext('2d')!;
    const x = Math.round((a.right + 19) * r);
    return {
      top: Array.from(ctx.getImageData(x, Math.round((a.top + 3) * r), 1, 1).data),
      bottom: Array.from(ctx.getImageData(x, Math.round((a.bottom - 3) * r), 1, 1).data),
      room: canvas.clientWidth - a.right,
    };
  });
  assert.ok(bar.room >= 40, `room right of the cells for the colour bar (${bar.room} px)`);
  assert.ok(bar.top[3] > 200 && bar.top[2] > bar.top[0] + 80, `the colour bar's top is the darkest blue: rgba ${bar.top}`);
  assert.ok(bar.bottom[3] < 40, `its bottom the faintest: rgba ${bar.bottom}`);
}

test(
  'issue 26: a 40-trial sweep report stays readable: a diverged trial runs off a clipped axis, the best 5 are named in a legend that fits, swatches match lines, axes end at the data',
  { skip: NO_CHROMIUM, timeout: 120_000 },
  async () => {
    const { buildSweepReport } = await import('../src/report/sweep_report.js');
    const top = fs.mkdtempSync(path.join(os.tmpdir(), 'report-40-'));
    fs.mkdirSync(shots, { recursive: true });
    try {
      const n = 40;
      const diverged = 7;
      const dir = weightScaleSweep(top, n, diverged);
      await buildSweepReport(dir);
      const browser = await launch();
      try {
        const { page, errors, requests } = await open(browser, path.join(dir, 'report.html'), 1280);
        assert.deepEqual(errors, []);
        assert.deepEqual(requests, []);
        assert.deepEqual(await cspViolations(page), []);
        const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as { trials: { index: number; params: { normalization: string; initStd: number } }[] };
        const bestName = `normalization=${results.trials[n - 1].params.normalization}, initStd=${results.trials[n - 1].params.initStd}`;
        for (const id of ['overlay-loss', 'overlay-train', 'overlay-val']) {
          const v = await chartView(page, id);
          assert.equal(v.datasets.length, n, `${id}: every trial is drawn`);
          assertLegendFits(v, id);
          assertSwatchesMatch(v, id);
          assert.equal(v.items.length, 5, `${id}: the best 5 trials are named, not all ${n}`);
          assert.ok(
            v.items.some((it) => it.text === bestName),
            `${id}: the best trial (${bestName}) is in the legend: ${v.items.map((it) => it.text).join(' | ')}`,
          );
          assert.equal(v.datasets.filter((d) => d.faint).length, n - 5, `${id}: the others drawn faint`);
          assert.equal(new Set(v.items.map((it) => v.datasets[it.ds].color)).size, 5, `${id}: the named trials each in their own colour`);
          const ok = v.datasets.filter((_, i) => i !== diverged - 1);
          const yData = Math.max(...ok.flatMap((d) => d.ys));
          assertAxesEndAtData(v, id, yData);
          if (id === 'overlay-loss') {
            assert.ok(v.datasets[diverged - 1].dashed, 'the diverged trial is drawn apart (dashed)');
            assert.ok(Math.max(...v.datasets[diverged - 1].ys) > 1e6, 'its curve (smoothed) is the one that blows up');
            assert.ok(v.y.max < 10, `the loss axis is cut at the other trials' scale (${v.y.max}), so they are not flat on zero`);
            // The 39 others spread over the plot: their start and end are more than a tenth of the axis apart.
            assert.ok((yData - Math.min(...ok.flatMap((d) => d.ys))) / (v.y.max - v.y.min) > 0.1, 'the other curves are not flattened');
          }
        }
        await page.screenshot({ path: path.join(shots, 'sweep-40.png'), fullPage: true });
        await page.close();
        // At a narrower window (the PNG's 760 px), the legend still fits.
        {
          const narrow = await open(browser, path.join(dir, 'report.html'), 800);
          for (const id of ['overlay-loss', 'overlay-train', 'overlay-val']) assertLegendFits(await chartView(narrow.page, id), `${id} at 800 px`);
          await narrow.page.screenshot({ path: path.join(shots, 'sweep-40-800.png'), fullPage: true });
          await narrow.page.close();
        }
        // The PNG twins: the loss chart tall enough for its legend (the same spec, drawn in Node).
        // The PNG twins: the same specs drawn in Node at the PNG's size, their legend inside the image.
        const { createCanvas, loadImage } = await import('@napi-rs/canvas');
        const { Chart } = await import('chart.js');
        const { hydrate } = await import('../src/report/charts.js');
        const specs = JSON.parse(/var specs = (\{.*?\});\n/s.exec(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'))![1]) as Record<string, Parameters<typeof hydrate>[0]>;
        for (const id of ['loss', 'train', 'val']) {
          const { width, height } = await loadImage(fs.readFileSync(path.join(dir, `sweep_overlay_${id}.png`)));
          assert.equal(width, 760);
          const config = hydrate(specs[`overlay-${id}`]);
          config.options = { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 };
          const chart = new Chart(createCanvas(width, height).getContext('2d') as never, config as never);
          const lg = chart.legend as unknown as {
            left: number;
            top: number;
            right: number;
            bottom: number;
            legendItems: { text: string }[];
            legendHitBoxes: { left: number; top: number; width: number; height: number }[];
          };
          const box = { left: lg.left, top: lg.top, right: lg.right, bottom: lg.bottom };
          const view = {
            width,
            height,
            legend: box,
            items: lg.legendItems.map((it) => ({ text: it.text })),
            hitBoxes: lg.legendHitBoxes.map((h) => ({ left: h.left, top: h.top, right: h.left + h.width, bottom: h.top + h.height })),
          };
          assertLegendFits(view as unknown as View, `sweep_overlay_${id}.png`);
          chart.destroy();
        }
      } finally {
        await browser.close();
      }
    } finally {
      fs.rmSync(top, { recursive: true, force: true });
    }
  },
);

test("issue 26: features.ipynb's misclassified grid has one row per predicted class, in the page and in mistakes.png", { skip: NO_CHROMIUM, timeout: 120_000 }, async () => {
  const { CIFAR_PIXELS, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } = await import('../src/data/cifar.js');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-mistakes-'));
  fs.mkdirSync(shots, { recursive: true });
  try {
    // A small CIFAR-format dataset of noise: a features run on it gets most test images wrong.
    const data = path.join(tmp, 'cifar-10-batches-bin');
    fs.mkdirSync(data);
    let seed = 7;
    const batch = (n: number) =>
      encodeCifarBatch(
        new Uint8Array(n * CIFAR_PIXELS).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24),
        Array.from({ length: n }, (_, i) => i % 10),
      );
    for (const f of CIFAR_TRAIN_FILES) fs.writeFileSync(path.join(data, f), batch(20));
    fs.writeFileSync(path.join(data, CIFAR_TEST_FILE), batch(80));
    const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    fs.writeFileSync(path.join(data, 'batches.meta.txt'), classes.join('\n') + '\n');
    train([
      '--dataset',
      'cifar',
      '--data-dir',
      data,
      '--features',
      'hog+hue',
      '--num-train',
      '80',
      '--num-val',
      '20',
      '--num-test',
      '80',
      '--num-dev',
      '10',
      '--batch-size',
      '20',
      '--iterations',
      '8',
      '--backend',
      E2E_BACKEND,
      '--runs-dir',
      path.join(tmp, 'runs'),
      '--name',
      'feat',
    ]);
    const dir = path.join(tmp, 'runs', fs.readdirSync(path.join(tmp, 'runs'))[0]);
    const browser = await launch();
    try {
      const { page, errors, requests } = await open(browser, path.join(dir, 'report.html'), 1280);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, []);
      assert.deepEqual(await cspViolations(page), []);
      const rows = await page.evaluate(() => {
        const h2 = Array.from(document.querySelectorAll('h2')).find((h) => h.textContent === 'Mistakes by predicted class')!;
        return Array.from(h2.parentElement!.querySelectorAll('.figrow')).map((r) => ({
          label: r.querySelector('.rowlabel')!.textContent!,
          tops: Array.from(r.querySelectorAll('figure')).map((f) => Math.round(f.getBoundingClientRect().top)),
          captions: Array.from(r.querySelectorAll('figcaption')).map((c) => c.textContent!),
        }));
      });
      assert.ok(rows.length >= 2, `mistakes in several classes: ${rows.length} rows`);
      assert.deepEqual(
        rows.map((r) => r.label),
        classes.filter((c) => rows.some((r) => r.label === c)),
        'one row per class, in class order',
      );
      for (const r of rows) {
        assert.ok(r.tops.length >= 1 && r.tops.length <= 8, `${r.label}: 1 to 8 images`);
        assert.equal(new Set(r.tops).size, 1, `${r.label}: its images on one line`);
        for (const c of r.captions) assert.match(c, /^← /, `${r.label}: captioned with the true class`);
        assert.ok(
          r.captions.every((c) => c !== `← ${r.label}`),
          `${r.label}: only images of other classes`,
        );
      }
      const tops = rows.map((r) => r.tops[0]);
      assert.deepEqual(
        [...tops].sort((a, b) => a - b),
        tops,
        'rows top to bottom',
      );
      assert.equal(new Set(tops).size, rows.length, 'each class on its own line');
      // The PNG twin: as many rows as the page, not one strip.
      const { loadImage } = await import('@napi-rs/canvas');
      const png = await loadImage(fs.readFileSync(path.join(dir, 'mistakes.png')));
      const rowH = 32 * 3 + 16 + 8;
      assert.equal(png.height, rows.length * rowH + 8, `mistakes.png is ${rows.length} rows of ${rowH} px (${png.width} × ${png.height})`);
      assert.ok(png.width <= 90 + 8 * (96 + 8) + 8, `at most 8 images a row (${png.width} px wide)`);
      await page.screenshot({ path: path.join(shots, 'report-mistakes.png'), fullPage: true });
      await page.close();
    } finally {
      await browser.close();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
