/**
 * Every string a report shows is escaped: hostile titles, captions, table cells and chart labels
 * cannot inject markup or break out of the page's one inline <script>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR_PIXELS, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } from '../src/data/cifar.js';
import { createCanvas } from '@napi-rs/canvas';
import { Chart } from 'chart.js';
import { confusionChart, hydrate, renderPng } from '../src/report/charts.js';
import { cspHash, kvTable, page } from '../src/report/html.js';
import { buildSweepReport } from '../src/report/sweep_report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '</script><script>alert(2)</script>', "'><svg onload=alert(3)>"];
const evil = XSS.join(' ');

/** Raw markup an injection would leave in the page. */
function assertNoInjection(html: string): void {
  assert.ok(!/<script>alert/i.test(html), 'raw <script>alert');
  assert.ok(!/<img src=x/i.test(html), 'raw <img src=x');
  assert.ok(!/<svg/i.test(html), 'raw <svg');
  // Outside the chart-spec JSON (where only `<` needs escaping), every onerror/onload is inside escaped text.
  const markup = html.replace(/var specs = .*;\n/, '');
  assert.ok(!/"[^"<>]*\bon(error|load)=/i.test(markup.replace(/&lt;(img src=x|svg) on(error|load)=alert\(\d\)&gt;/g, '')), 'unescaped event-handler attribute');
}

/** Opening and closing script tags: the two bundled libraries plus the page script. */
function scriptTags(html: string): { open: number; close: number } {
  return { open: (html.match(/<script\b/gi) ?? []).length, close: (html.match(/<\/script/gi) ?? []).length };
}

test('page() and kvTable() escape the title, subtitle, block titles, notes, captions, table cells and chart labels', () => {
  const spec = confusionChart(
    [
      [1, 0],
      [0, 1],
    ],
    [evil, 'ok'],
  );
  const html = page(evil, evil, [
    { kind: 'chart', id: 'c', title: evil, note: evil, spec },
    { kind: 'images', title: evil, note: evil, images: [{ src: 'data:image/png;base64,AAAA', caption: evil, width: 3, height: 3 }] },
    { kind: 'html', title: evil, html: kvTable({ [evil]: evil, nested: { [evil]: [evil] } }) },
  ]);
  assertNoInjection(html);
  assert.deepEqual(scriptTags(html), { open: 3, close: 3 });
  // Escaped forms are what appears.
  assert.ok(html.includes('<title>&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('<h1>&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('<figcaption>&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x'));
  assert.ok(html.includes('<th>&lt;script&gt;alert(1)&lt;/script&gt;'));
  // The chart spec is JSON inside the page script, with every < escaped, and parses back to the label.
  const m = /var specs = (.*);\n/.exec(html);
  assert.ok(m, 'specs literal');
  assert.ok(!m[1].includes('<'));
  assert.ok(m[1].includes('\\u003cscript>alert(1)\\u003c/script>'));
  const specs = JSON.parse(m[1]) as Record<string, { options: { scales: { x: { labels: string[] } } } }>;
  assert.equal(specs.c.options.scales.x.labels[0], evil);
});

test('end to end: a CIFAR class name with markup is escaped in report.html', (t) => {
  const bin = path.join(root, 'bin', 'train.js');
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    t.skip('dist/ is not built (npm run build)');
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-escape-'));
  const data = path.join(tmp, 'cifar-10-batches-bin');
  fs.mkdirSync(data);
  let seed = 1;
  const batch = (n: number) => {
    const x = new Uint8Array(n * CIFAR_PIXELS).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    const y = Array.from({ length: n }, (_, i) => i % 10);
    return encodeCifarBatch(x, y);
  };
  for (const f of CIFAR_TRAIN_FILES) fs.writeFileSync(path.join(data, f), batch(4));
  fs.writeFileSync(path.join(data, CIFAR_TEST_FILE), batch(4));
  const classes = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  fs.writeFileSync(path.join(data, 'batches.meta.txt'), classes.join('\n') + '\n');
  const runs = path.join(tmp, 'runs');
  const args = ['--dataset', 'cifar', '--data-dir', data, '--num-train', '10', '--num-val', '2', '--num-test', '3', '--num-dev', '2', '--batch-size', '5', '--iterations', '4'];
  const r = spawnSync(process.execPath, [bin, ...args, '--runs-dir', runs, '--backend', 'js', '--name', 'xss'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const dirs = fs.readdirSync(runs);
  assert.equal(dirs.length, 1);
  const html = fs.readFileSync(path.join(runs, dirs[0], 'report.html'), 'utf8');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'escaped class name in the page');
  assert.ok(!html.includes('<script>alert(1)'));
  assertNoInjection(html);
  assert.deepEqual(scriptTags(html), { open: 3, close: 3 });
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The inline <script> and <style> texts of a page, and its CSP as directive → sources. */
function inlineParts(html: string) {
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]);
  const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(meta, 'a CSP meta tag');
  const csp = new Map(meta[1].split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  return { scripts, styles, csp };
}

/** A sweep folder whose results.json was crafted: trial folders that are links out of it. */
function craftedSweep(): { dir: string; outside: string } {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'report-links-'));
  const dir = path.join(top, 'sweep-x');
  const outside = path.join(top, 'outside');
  const hostile = ['javascript:alert(1)/x', 'JavaScript:alert(2)', 'data:text/html,hi', 'https://evil.example/x', '//evil.example/x', '/etc', '../outside', 'trials/../../outside', 'trials\\..\\..\\outside', 'trials/link-out', 'trials/a\nb'];
  const dirs = ['trials/trial-0a1b2c3d4e5f', 'trials/odd:name', ...hostile];
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'report.html'), 'outside');
  fs.mkdirSync(path.join(dir, 'trials'), { recursive: true });
  fs.symlinkSync(outside, path.join(dir, 'trials', 'link-out'));
  // Report files wherever a hostile name can be a folder, so only the check can stop the link.
  for (const d of dirs) {
    try {
      fs.mkdirSync(path.join(dir, d), { recursive: true });
      fs.writeFileSync(path.join(dir, d, 'report.html'), 'run report');
    } catch {
      /* not a possible folder name */
    }
  }
  const trials = dirs.map((d, i) => ({ index: i + 1, dir: d, status: 'ok', reason: null, params: { lr: 0.1 * (i + 1) }, trainAcc: 0.5, valAcc: 0.4, bestEpoch: 1, seconds: 1, resumed: false }));
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ name: 'x', sweepFile: 'x.json', folder: dir, trials, best: null, workers: 1, seconds: 1, trialSeconds: 1, trialsRun: 1, peakRssMB: 1, notInSweep: [] }));
  fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify({ spec: {}, trials: trials.map((t) => ({ index: t.index, dir: t.dir, params: t.params, config: { lr: t.params.lr, reg: 1e-3 } })) }));
  return { dir, outside: top };
}

test('issue 15 #14: links from results.json are relative paths inside the sweep folder; javascript: and every other escape get no link', async () => {
  const { dir, outside } = craftedSweep();
  try {
    const html = fs.readFileSync(await buildSweepReport(dir), 'utf8');
    const hrefs = [...html.matchAll(/\bhref\s*=\s*"([^"]*)"/gi)].map((m) => m[1]);
    assert.deepEqual(hrefs, ['trials/trial-0a1b2c3d4e5f/report.html', 'trials/odd%3Aname/report.html']);
    assert.ok(!/javascript:/i.test(html.replace(/<script>[\s\S]*?<\/script>/g, '')), 'no javascript: anywhere in the markup');
    assert.equal((html.match(/<tr[ >]/g) ?? []).length, 14, 'every trial still has its row (header + 13)');
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('issue 15 #14: the CSP allows each inline script and the style sheet by sha256, and nothing inline else', async () => {
  const { dir, outside } = craftedSweep();
  try {
    const pages = [
      page('t', 's', [{ kind: 'chart', id: 'c', title: 'c', spec: confusionChart([[1, 0], [0, 1]], ['a', 'b']), height: 420 }]),
      fs.readFileSync(await buildSweepReport(dir), 'utf8'),
    ];
    for (const html of pages) {
      const { scripts, styles, csp } = inlineParts(html);
      assert.equal(scripts.length, 3);
      assert.equal(styles.length, 1);
      assert.ok(!html.includes('unsafe-inline'), 'no unsafe-inline');
      assert.ok(!html.includes('unsafe-eval'));
      assert.deepEqual(csp.get('default-src'), ["'none'"]);
      assert.deepEqual(csp.get('script-src'), scripts.map(cspHash));
      assert.deepEqual(csp.get('style-src'), styles.map(cspHash));
      assert.deepEqual(csp.get('img-src'), ['data:']);
      // No inline style or event-handler attributes: the policy would block them.
      const markup = html.replace(/<script>[\s\S]*?<\/script>/g, '').replace(/<style>[\s\S]*?<\/style>/g, '');
      assert.ok(!/\sstyle\s*=/i.test(markup), 'no style attributes');
      assert.ok(!/\son[a-z]+\s*=/i.test(markup), 'no event-handler attributes');
    }
    // The hash is the browser's: sha256 of the UTF-8 text, base64.
    assert.equal(cspHash('alert(1)'), "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('issue 15 #18: the confusion chart keys classes by index, so duplicated names still get a row and a column each', async () => {
  const classes = ['cat', 'cat', 'dog'];
  const counts = [
    [5, 1, 0],
    [2, 7, 1],
    [0, 0, 9],
  ];
  const spec = confusionChart(counts, classes);
  // Drawn by Chart.js in Node, as the PNG twin is: nine cells at nine places, three ticks per axis named by class.
  const config = hydrate(JSON.parse(JSON.stringify(spec)));
  config.options = { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 };
  const chart = new Chart(createCanvas(480, 480).getContext('2d') as never, config as never);
  try {
    const cells = chart.getDatasetMeta(0).data.map((e) => `${Math.round(e.x)},${Math.round(e.y)}`);
    assert.equal(cells.length, 9);
    assert.equal(new Set(cells).size, 9, `cells at ${cells.join(' ')}`);
    const xs = [...new Set(chart.getDatasetMeta(0).data.map((e) => Math.round(e.x)))];
    const ys = [...new Set(chart.getDatasetMeta(0).data.map((e) => Math.round(e.y)))];
    assert.equal(xs.length, 3, 'three columns');
    assert.equal(ys.length, 3, 'three rows');
    const names = (axis: 'x' | 'y') => chart.scales[axis].ticks.filter((t) => t.label !== '').map((t) => t.label);
    assert.deepEqual(names('x'), classes);
    assert.deepEqual(names('y'), classes);
    // Row t, column p holds counts[t][p]: true class 1 (the second "cat") predicted as class 1.
    const values = (chart.data.datasets[0].data as unknown as { x: number; y: number; v: number }[]).map((d) => [d.y, d.x, d.v]);
    assert.deepEqual(values.find(([t, p]) => t === 1 && p === 1), [1, 1, 7]);
    // The true-class axis reads top to bottom: class 0's row is above class 2's.
    const yOf = (t: number) => chart.getDatasetMeta(0).data[t * 3].y;
    assert.ok(yOf(0) < yOf(2));
  } finally {
    chart.destroy();
  }
  assert.ok((await renderPng(spec)).length > 1000);
});
