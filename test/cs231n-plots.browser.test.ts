/**
 * The cs231n notebooks' plots in a real browser: every plot builder's blocks (on the small real
 * folders of test/cs231n_plot_fixtures.ts) on one page made by report/html.ts's `page`, opened in
 * Debian's Chromium by playwright-core. Each chart must be drawn with data, both axis titles shown,
 * and a legend of its named series that fits inside its canvas; each image must load. A screenshot
 * goes to test-output/cs231n-plots.png. Where Chromium is missing the test says so and skips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PLOTS } from '../src/cs231n/plots/index.js';
import { page as pageOf, type PageBlock } from '../src/report/html.js';
import { launchChromium, NO_CHROMIUM, watchPage } from './browser.js';
import { makeFixtures } from './cs231n_plot_fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What the page's Chart.js instance on each canvas shows. */
interface Drawn {
  id: string;
  points: number;
  axes: { id: string; title: string; shown: boolean }[];
  legend: { items: string[]; top: number; bottom: number; left: number; right: number } | null;
  named: string[];
  width: number;
  height: number;
}

function inspect(): Drawn[] {
  type C = {
    data: { datasets: { label: string; data: unknown[]; faint?: boolean }[] };
    scales: Record<string, { options: { title: { display: boolean; text: string } } }>;
    legend?: { legendItems?: { text: string }[]; top: number; bottom: number; left: number; right: number };
    width: number;
    height: number;
  };
  const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): C } }).Chart;
  return Array.from(document.querySelectorAll('canvas')).map((cv) => {
    const c = Chart.getChart(cv);
    const lg = c.legend;
    return {
      id: cv.id,
      points: c.data.datasets.reduce((s, d) => s + d.data.length, 0),
      axes: Object.entries(c.scales).map(([id, s]) => ({ id, title: s.options.title.text, shown: s.options.title.display })),
      legend: lg && lg.legendItems ? { items: lg.legendItems.map((i) => i.text), top: lg.top, bottom: lg.bottom, left: lg.left, right: lg.right } : null,
      named: c.data.datasets.filter((d) => !d.faint).map((d) => d.label),
      width: c.width,
      height: c.height,
    };
  });
}

test('every cs231n plot renders in Chromium: data, axis titles, a legend inside its box', { skip: NO_CHROMIUM, timeout: 900_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-plots-browser-'));
  const fx = makeFixtures(tmp);
  const blocks: PageBlock[] = [];
  for (const [name, input] of Object.entries(fx)) blocks.push(...(await PLOTS[name](input)));
  const file = path.join(tmp, 'plots.html');
  fs.writeFileSync(file, pageOf('cs231n plots', 'every plot builder', blocks));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const { errors, requests } = watchPage(page, pathToFileURL(file).href);
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    assert.deepEqual(errors, [], 'no console errors');
    assert.deepEqual(requests, [], 'offline: no request but the page and data: URLs');
    const drawn = await page.evaluate(inspect);
    assert.deepEqual(
      drawn.map((d) => d.id),
      blocks.flatMap((b) => (b.kind === 'chart' ? [b.id] : [])),
    );
    for (const d of drawn) {
      assert.ok(d.points > 0, `${d.id} has data`);
      for (const a of d.axes) assert.ok(a.shown && a.title.length > 0, `${d.id}: axis ${a.id} is titled`);
      assert.ok(d.legend, `${d.id} has a legend`);
      assert.deepEqual(d.legend.items, d.named, `${d.id}: the legend names the bold series, not the faint ones`);
      const { top, bottom, left, right } = d.legend;
      assert.ok(top >= 0 && left >= 0 && bottom <= d.height && right <= d.width, `${d.id}: legend ${JSON.stringify(d.legend)} inside ${d.width}×${d.height}`);
    }
    const imgs = await page.evaluate(() => Array.from(document.querySelectorAll('img')).map((i) => i.complete && i.naturalWidth > 0));
    assert.ok(imgs.length > 0 && imgs.every(Boolean), `${imgs.filter((ok) => !ok).length} of ${imgs.length} images failed to load`);
    fs.mkdirSync(path.join(root, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'test-output', 'cs231n-plots.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});
