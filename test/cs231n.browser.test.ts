/**
 * The cs231n pages in a real browser: Debian's Chromium, driven by playwright-core, opens the index
 * and every notebook page built once from `train cs231n --quick` (all notebooks, one seed), and
 * checks that each renders offline (no console errors, no requests, no CSP violations), that every
 * chart has drawn, has data, labelled axes and a legend that fits its canvas, that the weight-scale
 * plot has two lines over 20 scales, and that the misclassified grid has one row per class.
 * Screenshots go to test-output/cs231n-<notebook>.png.
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { NOTEBOOKS } from '../src/cs231n/notebooks.js';
import { indexFile, pageFile } from '../src/cs231n/record.js';
import { cspViolations, launchChromium, NO_CHROMIUM, recordCsp, watchPage } from './browser.js';
import { trainCli } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const shots = path.join(root, 'test-output');
const haveCifar = fs.existsSync(path.join(root, 'data', 'cifar-10-batches-bin', 'test_batch.bin'));
const skip = NO_CHROMIUM || (!haveCifar && 'data/cifar-10-batches-bin is not there (npx train data cifar)');

let out = '';
let browser: Browser | null = null;

before(
  async () => {
    if (skip) return;
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-pages-'));
    const r = trainCli(['cs231n', '--quick', '--out', out, '--workers', '2']);
    assert.equal(r.code, 0, r.err + r.out);
    browser = await launchChromium(['--disable-component-update', '--disable-sync']);
  },
  { timeout: 900_000 },
);

after(async () => {
  await browser?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

/** Open `file`, collecting console errors, requests other than the file and data: URLs, and CSP violations. */
async function open(file: string) {
  const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  const url = pathToFileURL(file).href;
  const { errors, requests } = watchPage(page, url);
  await recordCsp(page);
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests, csp: await cspViolations(page) };
}

/** Every chart on the page: its id, whether it drew, its datasets, its axes' titles, its legend and canvas boxes. */
async function charts(page: Page) {
  return page.evaluate(() => {
    type Box = { left: number; top: number; width: number; height: number };
    type Ch = {
      width: number;
      height: number;
      config: { type: string };
      data: { datasets: { label: string; faint?: boolean; data: ({ x: number; y: number | null } | number)[] }[] };
      options: { scales?: Record<string, { display?: boolean; title?: { display?: boolean; text?: string } }>; plugins?: { legend?: { display?: boolean } } };
      legend: Box & { right: number; bottom: number; legendItems?: { text: string }[]; legendHitBoxes: Box[]; options: { display: boolean } };
    };
    const C = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): Ch | undefined } }).Chart;
    return Array.from(document.querySelectorAll('canvas')).map((c) => {
      const ch = C.getChart(c)!;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let drawn = false;
      for (let i = 3; i < d.length && !drawn; i += 4) drawn = d[i] !== 0;
      const lg = ch.legend;
      return {
        id: c.id,
        drawn,
        type: ch.config.type,
        width: ch.width,
        height: ch.height,
        datasets: ch.data.datasets.map((s) => ({
          label: s.label,
          faint: !!s.faint,
          xs: s.data.map((p) => (typeof p === 'number' ? p : p.x)),
          n: s.data.filter((p) => typeof p === 'number' || p.y !== null).length,
        })),
        axes: Object.entries(ch.options.scales ?? {})
          .filter(([, s]) => s.display !== false)
          .map(([k, s]) => ({ axis: k, title: s.title?.display ? (s.title.text ?? '') : '' })),
        legend: lg.options.display
          ? {
              box: { left: lg.left, top: lg.top, right: lg.right, bottom: lg.bottom },
              items: (lg.legendItems ?? []).length,
              hit: lg.legendHitBoxes.map((b) => ({ left: b.left, top: b.top, right: b.left + b.width, bottom: b.top + b.height })),
            }
          : null,
      };
    });
  });
}

type ChartInfo = Awaited<ReturnType<typeof charts>>[number];

/** A chart has data, every shown axis has a title, and its legend (when shown) fits its canvas. */
function assertReadable(c: ChartInfo, what: string): void {
  assert.ok(c.drawn, `${what} ${c.id}: drawn`);
  assert.ok(
    c.datasets.some((d) => d.n > 0),
    `${what} ${c.id}: has data`,
  );
  assert.ok(c.axes.length >= 2, `${what} ${c.id}: two axes`);
  for (const a of c.axes) assert.ok(a.title.trim().length > 0, `${what} ${c.id}: axis ${a.axis} is labelled`);
  if (!c.legend) return;
  const inside = (b: { left: number; top: number; right: number; bottom: number }) => b.left >= 0 && b.top >= 0 && b.right <= c.width + 0.5 && b.bottom <= c.height + 0.5;
  assert.ok(inside(c.legend.box), `${what} ${c.id}: the legend box is inside the canvas`);
  assert.equal(c.legend.hit.length, c.legend.items, `${what} ${c.id}: every legend entry is laid out`);
  for (const b of c.legend.hit) assert.ok(inside(b) && b.bottom <= c.legend.box.bottom + 0.5, `${what} ${c.id}: a legend entry is inside the legend box`);
}

test('the index links every notebook page and counts its targets', { skip }, async () => {
  const { page, errors, requests, csp } = await open(indexFile(out));
  assert.deepEqual([errors, requests, csp], [[], [], []]);
  const links = await page.evaluate(() => Array.from(document.querySelectorAll('a')).map((a) => a.getAttribute('href')));
  assert.deepEqual(
    links,
    NOTEBOOKS.map((nb) => `${nb.id}/notebook.html`),
  );
  const text = await page.evaluate(() => document.body.innerText);
  for (const nb of NOTEBOOKS) assert.ok(text.includes(nb.file), nb.file);
  assert.match(text, /\d+ met, \d+ missed/);
  await page.close();
});

test('every notebook page renders offline; every plot has data, labelled axes and a legend that fits', { skip, timeout: 300_000 }, async () => {
  fs.mkdirSync(shots, { recursive: true });
  for (const nb of NOTEBOOKS) {
    const { page, errors, requests, csp } = await open(pageFile(out, nb));
    assert.deepEqual(errors, [], `${nb.id}: no console errors`);
    assert.deepEqual(requests, [], `${nb.id}: no network requests`);
    assert.deepEqual(csp, [], `${nb.id}: no CSP violations`);
    const text = await page.evaluate(() => document.body.innerText);
    assert.ok(!/not run/.test(text.split('Experiments')[0]), `${nb.id}: every plot and target has its data`);
    for (const q of nb.questions) assert.ok(text.includes(q.cite), `${nb.id}: ${q.cite} is on the page`);
    assert.match(text, /engine\s+\S+/);
    assert.match(text, /machine\s+.+\d+ cores/);
    const all = await charts(page);
    for (const c of all) assertReadable(c, nb.id);
    const imgs = await page.evaluate(() => Array.from(document.querySelectorAll('img')).map((i) => i.complete && i.naturalWidth > 0));
    assert.ok(imgs.every(Boolean), `${nb.id}: every image loaded`);
    assert.ok(all.length + imgs.length >= nb.plots.length, `${nb.id}: a chart or image for each of its ${nb.plots.length} plots`);
    await page.screenshot({ path: path.join(shots, `cs231n-${nb.id}.png`), fullPage: true });
    await page.close();
  }
});

test('the weight-scale plot has two lines (with and without batch norm) over 20 scales', { skip }, async () => {
  const { page } = await open(
    pageFile(
      out,
      NOTEBOOKS.find((n) => n.id === 'BatchNormalization')!,
    ),
  );
  const ws = (await charts(page)).filter((c) => c.id.startsWith('bn-weight-scale'));
  assert.ok(ws.length >= 2, 'train and val accuracy against weight scale (and the final loss)');
  for (const c of ws) {
    const lines = c.datasets.filter((d) => !d.faint && !/diverged/.test(d.label));
    assert.equal(lines.length, 2, `${c.id}: ${lines.map((l) => l.label).join(', ')}`);
    for (const l of lines) assert.equal(new Set(l.xs).size, 20, `${c.id} ${l.label}: 20 weight scales`);
  }
  await page.close();
});

test('the misclassified grid has one row per class', { skip }, async () => {
  const { page } = await open(
    pageFile(
      out,
      NOTEBOOKS.find((n) => n.id === 'features')!,
    ),
  );
  const rows = await page.evaluate(() => Array.from(document.querySelectorAll('.figrow .rowlabel')).map((r) => r.textContent));
  assert.deepEqual(rows, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  await page.close();
});
