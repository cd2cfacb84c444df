/**
 * The playground in a real browser (issue 28): Debian's Chromium, driven by playwright-core, opens
 * the page `train playground` serves, with every request not to that server blocked, and trains
 * softmax on MNIST to val ≥ 0.90 within 60 s, staying responsive. Then: every chart has data, one
 * Step changes the Jacobian view, the float64 gradient check passes, a drawn digit gets a
 * prediction, the page's loss and gradient at initialization are Node's bit for bit, and the
 * downloaded checkpoint is one `train eval` reads, giving the page's val accuracy, that loads back
 * into the page, and that `train predict` reads, giving the page's probabilities for the image it
 * shows. A second test trains the static folder of `npm run build:web` on a plain server. A third
 * serves CIFAR-10 (`--cifar`, the shared archive unpacked), switches the page to it, steps, and
 * sees the model read 3,072 numbers a row and its weight templates drawn in colour.
 * A screenshot goes to test-output/.
 *
 * Chromium comes from apt (`.ci/run` installs it); where it is missing the test says so and skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { resolveConfig } from '../src/config/config.js';
import { loadDataset } from '../src/data/datasets.js';
import { prepareData, resolveSplit } from '../src/data/split.js';
import { simd } from '../src/linalg/engines/wasm.js';
import type { Engine } from '../src/linalg/engines/types.js';
import { useEngine } from '../src/linalg/matmul.js';
import { Rng } from '../src/linalg/rng.js';
import { rowsView } from '../src/models/evaluate.js';
import { createModel } from '../src/models/index.js';
import { pngOfRow } from '../src/predict/image.js';
import { extractCifarArchive } from '../src/data/archive.js';
import { launchChromiumProfile, NO_CHROMIUM, watchPage } from './browser.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
const shots = path.join(root, 'test-output');

/** `train playground --port 0 ...args`, and the URL it prints. */
async function startServer(args: string[] = []): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [bin, 'playground', '--port', '0', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL from train playground in 60 s: ${out}`)), 60_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d));
    proc.on('exit', (code) => reject(new Error(`train playground exited (${code}): ${out}`)));
  });
  return { proc, url };
}

/** Chromium with a fresh profile, every request that is not to `origin` blocked (and recorded). */
async function launch(profile: string, origin: string, blocked: string[]): Promise<BrowserContext> {
  const ctx = await launchChromiumProfile(profile, ['--disable-component-update', '--disable-sync'], { acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  return ctx;
}

/** Serve `dir` as any static host would: its files, no COOP/COEP. */
async function plainServer(dir: string): Promise<{ url: string; close(): void }> {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, path.normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^([/\\]\.\.)+/, ''));
    const f = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'index.html') : file;
    if (!f.startsWith(dir) || !fs.existsSync(f)) return void res.writeHead(404).end();
    const type = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json' }[path.extname(f)] ?? 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type }).end(fs.readFileSync(f));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, close: () => server.close() };
}

const attr = (page: Page, sel: string, name: string) => page.$eval(sel, (el, n) => (el as HTMLElement).dataset[n] ?? '', name);

/** Canvases with no drawn pixel, by id or position. */
function blankCanvases(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('canvas'))
      .filter((c) => {
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return false;
        return true;
      })
      .map((c, i) => c.id || `canvas #${i}`),
  );
}

/** Each Chart.js chart's datasets and their point counts, by canvas id. */
function chartData(page: Page): Promise<Record<string, { label: string; n: number }[]>> {
  return page.evaluate(() => {
    type C = { data: { datasets: { label: string; data: unknown[] }[] } };
    const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): C | undefined } }).Chart;
    const out: Record<string, { label: string; n: number }[]> = {};
    for (const c of Array.from(document.querySelectorAll('canvas'))) {
      const ch = Chart.getChart(c);
      if (ch) out[c.id] = ch.data.datasets.map((d) => ({ label: d.label, n: d.data.length }));
    }
    return out;
  });
}

/** The default config's model at initialization in Node (as train/run.ts makes it): its loss and gradient on the first `rows` training rows. */
async function nodeProbe(rows: number): Promise<{ loss: number; grad: Float32Array; engine: string }> {
  const engine = (await simd.start(1)) as Engine & { close(): Promise<void> };
  useEngine(engine);
  const raw = await loadDataset('mnist');
  const cfg = resolveConfig({}, { dataset: 'mnist' });
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  const data = prepareData(raw, split, { bias: true, scale: cfg.scale }, new Rng(cfg.seed), { alloc: engine.alloc });
  const model = createModel({ kind: 'softmax', inputDim: data.dim, hidden: [], numClasses: 10 }, { initStd: cfg.initStd, reg: cfg.reg, alloc: engine.alloc }, new Rng(cfg.seed));
  const { loss, grads } = model.loss(rowsView(data.train.X, 0, rows), data.train.y.subarray(0, rows));
  const out = { loss, grad: grads.flat.slice(), engine: `${engine.name} (${engine.detail})` };
  await engine.close();
  return out;
}

test('the playground trains softmax on MNIST in Chromium, offline, and its checkpoint evaluates to its accuracy', { skip: NO_CHROMIUM, timeout: 300_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-browser-'));
  fs.mkdirSync(shots, { recursive: true });
  const { proc, url } = await startServer();
  const blocked: string[] = [];
  const ctx = await launch(path.join(tmp, 'profile'), url, blocked);
  try {
    const page = await ctx.newPage();
    const { errors } = watchPage(page, ''); // only the errors: the page's requests go to its own server
    await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`)));

    // Load, then train until val ≥ 0.90: within 60 s of opening the page.
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'paused', null, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');
    await page.click('#start');
    // While it trains, the page stays responsive (training is in the worker) and snapshots come
    // at a bounded rate (the worker sends at most 10 a second).
    const live = await page.evaluate(async () => {
      const pg = (window as unknown as { playground: { state: { snapshots: number } } }).playground;
      const before = pg.state.snapshots;
      let last = performance.now();
      let worst = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        worst = Math.max(worst, now - last);
        last = now;
      }, 20);
      await new Promise((r) => setTimeout(r, 2000));
      clearInterval(timer);
      return { worst, snapshots: pg.state.snapshots - before };
    });
    assert.ok(live.snapshots > 0 && live.snapshots <= 2 * 10 + 1, `${live.snapshots} snapshots in 2 s`);
    // A whole second: the 2-core CI machine is shared, and a run on the main thread would block it for the whole run.
    assert.ok(live.worst < 1000, `the main thread was blocked for ${live.worst.toFixed(0)} ms`);
    await page.waitForFunction(() => Number(document.getElementById('progress')!.dataset.bestVal || 0) >= 0.9, null, { timeout: Math.max(1, 60_000 - (Date.now() - t0)) });
    const seconds = (Date.now() - t0) / 1000;
    await page.click('#pause');
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'paused');
    assert.ok(seconds <= 60, `val ≥ 0.90 after ${seconds.toFixed(1)} s`);

    // The float64 gradient check of the trained model, and a drawn digit (a vertical stroke).
    await page.click('#gradcheck');
    await page.waitForFunction(() => /^(PASS|FAIL)/.test(document.getElementById('gc-verdict')!.textContent ?? ''), null, { timeout: 60_000 });
    assert.match((await page.textContent('#gc-verdict'))!, /^PASS/, 'the gradient check passes');
    const box = (await page.locator('#draw').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let k = 1; k <= 10; k++) await page.mouse.move(box.x + box.width / 2, box.y + box.height * (0.15 + 0.07 * k));
    await page.mouse.up();
    await page.waitForFunction(() => /^prediction: \d/.test(document.getElementById('prediction')!.textContent ?? ''));

    // Every chart has data; every canvas has been drawn on.
    await page.waitForTimeout(200); // a frame for the last snapshot
    assert.deepEqual(await blankCanvases(page), [], 'every canvas drawn');
    const charts = await chartData(page);
    assert.deepEqual(Object.keys(charts).sort(), ['accuracy', 'draw-probs', 'loss', 'probs', 'ratio']);
    for (const [id, sets] of Object.entries(charts)) for (const d of sets) assert.ok(d.n > 0, `${id}: ${d.label} has data`);
    assert.ok(
      charts.ratio.some((d) => d.label === 'W'),
      'the ratio of W is drawn beside the 1e-3 line',
    );
    await page.screenshot({ path: path.join(shots, 'playground.png'), fullPage: true });

    // One step: the iteration moves by one and the Jacobian of the inspected image changes.
    const it = Number(await attr(page, '#progress', 'it'));
    const jac = await attr(page, '#jacobian', 'values');
    await page.click('#step');
    await page.waitForFunction((n) => Number(document.getElementById('progress')!.dataset.it) === n + 1, it);
    const after = await attr(page, '#jacobian', 'values');
    assert.notEqual(after, jac, 'the Jacobian view changed after one step');
    assert.equal((JSON.parse(after) as number[]).length, 100, 'a 10×10 Jacobian');

    // The page's model at initialization: Node's loss and gradient, bit for bit.
    const web = await page.evaluate(async () => {
      const pg = (window as unknown as { playground: { ask(m: unknown, t: string): Promise<{ loss: number; grad: Float32Array; engine: string }> } }).playground;
      const r = await pg.ask({ type: 'probe', rows: 200 }, 'probe');
      return { loss: r.loss, grad: Array.from(r.grad), engine: r.engine };
    });
    const node = await nodeProbe(200);
    assert.equal(web.engine, node.engine, 'the same engine and kernel build on one thread');
    assert.equal(web.loss, node.loss, `loss: page ${web.loss}, Node ${node.loss}`);
    assert.ok(Buffer.from(Float32Array.from(web.grad).buffer).equals(Buffer.from(node.grad.buffer)), 'the same gradient bits');

    // Download the checkpoint; train eval reads it and gives the page's best val accuracy.
    const bestVal = Number(await attr(page, '#progress', 'bestVal'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const ckpt = path.join(tmp, 'best.ckpt');
    await download.saveAs(ckpt);
    const ev = spawnSync(process.execPath, [bin, 'eval', ckpt, '--split', 'val', '--json', '--backend', 'simd'], { cwd: root, encoding: 'utf8' });
    assert.equal(ev.status, 0, ev.stderr);
    const acc = (JSON.parse(ev.stdout) as { accuracies: { val: { acc: number; n: number } } }).accuracies.val;
    assert.equal(acc.n, 5000);
    assert.equal(acc.acc, bestVal, `train eval: val ${acc.acc}; the page: ${bestVal}`);

    // Load it back: the page takes the run's config and parameters.
    await page.setInputFiles('#load', ckpt);
    await page.waitForFunction(() => /^(loaded|error)/.test(document.getElementById('status')!.textContent ?? ''), null, { timeout: 60_000 });
    assert.match((await page.textContent('#status'))!, new RegExp(`^loaded best\\.ckpt: softmax, epoch \\d+, val ${bestVal}$`));

    // train predict reads it too: the inspected training image, as a PNG, gets the page's probabilities.
    const shown = await page.evaluate(() => {
      const x = (window as unknown as { playground: { state: { latest: { inspect: { pixels: Uint8Array; p: number[] } } } } }).playground.state.latest.inspect;
      return { pixels: Array.from(x.pixels), p: x.p };
    });
    const png = path.join(tmp, 'inspected.png');
    fs.writeFileSync(png, await pngOfRow(Uint8Array.from(shown.pixels), [28, 28, 1]));
    const pr = spawnSync(process.execPath, [bin, 'predict', ckpt, png, '--json', '--top', '10', '--backend', 'simd'], { cwd: root, encoding: 'utf8' });
    assert.equal(pr.status, 0, pr.stderr);
    const top = (JSON.parse(pr.stdout) as { predictions: { top: { label: number; probability: number }[] }[] }).predictions[0].top;
    assert.deepEqual(
      top.map((t) => t.probability),
      top.map((t) => shown.p[t.label]),
      "train predict: the page's probabilities, exactly",
    );

    assert.deepEqual(blocked, [], 'no request left the local server');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await ctx.close();
    proc.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('npm run build:web writes a static folder that trains on a plain server (no COOP/COEP), offline', { skip: NO_CHROMIUM, timeout: 300_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-static-'));
  const site = path.join(tmp, 'site');
  const built = spawnSync(process.execPath, [path.join(root, 'web', 'build.mjs'), site], { cwd: root, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  assert.deepEqual(fs.readdirSync(path.join(site, 'data', 'mnist')).sort(), [
    'index.json',
    't10k-images-idx3-ubyte.gz',
    't10k-labels-idx1-ubyte.gz',
    'train-images-idx3-ubyte.gz',
    'train-labels-idx1-ubyte.gz',
  ]);
  const server = await plainServer(site);
  const blocked: string[] = [];
  const ctx = await launch(path.join(tmp, 'profile'), server.url, blocked);
  try {
    const page = await ctx.newPage();
    const { errors } = watchPage(page, ''); // only the errors: the page's requests go to its own server
    await page.goto(server.url);
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'paused', null, { timeout: 90_000 });
    assert.equal(await page.evaluate(() => crossOriginIsolated), false, 'a plain server gives no cross-origin isolation');
    await page.click('#step');
    await page.waitForFunction(() => document.getElementById('progress')!.dataset.it === '1');
    await page.click('#start');
    await page.waitForFunction(() => Number(document.getElementById('progress')!.dataset.bestVal || 0) >= 0.9, null, { timeout: 120_000 });
    await page.click('#pause');
    assert.equal(await page.evaluate(() => document.getElementById('status')!.classList.contains('error')), false, (await page.textContent('#status')) ?? '');
    assert.deepEqual(blocked, [], 'no request left the server');
    assert.deepEqual(errors, [], 'no console errors');
  } finally {
    await ctx.close();
    server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

const SHARED_CIFAR = path.resolve(root, '../shared/data/cifar-10-binary.tar.gz');

/** Pixels of a canvas that are drawn, and of those, how many are not grey (r, g, b not all equal). */
function colourPixels(page: Page, id: string): Promise<{ drawn: number; colour: number }> {
  return page.evaluate((id) => {
    const c = document.getElementById(id) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let drawn = 0;
    let colour = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] === 0) continue;
      drawn++;
      if (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2]) colour++;
    }
    return { drawn, colour };
  }, id);
}

test(
  'the playground trains on CIFAR-10 served by --cifar: 3072 → 10, colour weight templates',
  { skip: NO_CHROMIUM || (!fs.existsSync(SHARED_CIFAR) && `${SHARED_CIFAR} is not there`), timeout: 300_000 },
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-cifar-'));
    const dir = await extractCifarArchive(SHARED_CIFAR, path.join(tmp, 'data'));
    const { proc, url } = await startServer(['--cifar', dir]);
    const blocked: string[] = [];
    const ctx = await launch(path.join(tmp, 'profile'), url, blocked);
    try {
      const page = await ctx.newPage();
      const { errors } = watchPage(page, ''); // only the errors: the page's requests go to its own server
      await page.goto(url);
      await page.waitForFunction(() => document.getElementById('status')!.textContent === 'paused', null, { timeout: 60_000 });
      assert.equal(await page.textContent('#shape'), 'softmax: W (785,10)', 'MNIST first: 784 pixels and the bias');
      assert.equal(await attr(page, '#filters', 'channels'), '1');

      // Pick CIFAR-10: the worker fetches the six batches, the split is the cifar-softmax preset's.
      await page.selectOption('select[name=dataset]', 'cifar');
      await page.waitForFunction(() => document.getElementById('shape')!.textContent!.includes('3073'), null, { timeout: 120_000 });
      await page.waitForFunction(() => document.getElementById('status')!.textContent === 'paused', null, { timeout: 60_000 });
      assert.equal(await page.textContent('#shape'), 'softmax: W (3073,10)', '3,072 pixels and the bias → 10 classes');
      for (let k = 1; k <= 3; k++) {
        await page.click('#step');
        await page.waitForFunction((n) => Number(document.getElementById('progress')!.dataset.it) === n, k);
      }
      await page.waitForTimeout(200); // a frame for the last snapshot
      assert.equal(await attr(page, '#filters', 'channels'), '3');
      const templates = await colourPixels(page, 'filters');
      assert.ok(templates.drawn > 0 && templates.colour > templates.drawn / 2, `weight templates in colour: ${templates.colour} of ${templates.drawn} drawn pixels`);
      const image = await colourPixels(page, 'image');
      assert.ok(image.colour > image.drawn / 2, `the inspected image in colour: ${image.colour} of ${image.drawn}`);
      assert.match((await page.textContent('#image-loss'))!, /^label \d \((airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck)\)/);
      const losses = await page.evaluate(() => (window as unknown as { playground: { state: { losses: { y: number }[] } } }).playground.state.losses.map((l) => l.y));
      assert.equal(losses.length, 3);
      assert.ok(
        losses.every((l) => Number.isFinite(l) && l > 0),
        `three finite losses: ${losses.join(', ')}`,
      );
      assert.equal(await page.evaluate(() => document.getElementById('status')!.classList.contains('error')), false, (await page.textContent('#status')) ?? '');
      await page.screenshot({ path: path.join(shots, 'playground-cifar.png'), fullPage: true });
      assert.deepEqual(blocked, [], 'no request left the local server');
      assert.deepEqual(errors, [], 'no console errors');
    } finally {
      await ctx.close();
      proc.kill();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);
