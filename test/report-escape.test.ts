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
  const csp = new Map(
    meta[1]
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([k, ...v]) => [k, v]),
  );
  return { scripts, styles, csp };
}

/** A sweep folder whose results.json was crafted: trial folders that are links out of it. */
function craftedSweep(): { dir: string; outside: string } {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'report-links-'));
  const dir = path.join(top, 'sweep-x');
  const outside = path.join(top, 'outside');
  const hostile = [
    'javascript:alert(1)/x',
    'JavaScript:alert(2)',
    'data:text/html,hi',
    'https://evil.example/x',
    '//evil.example/x',
    '/etc',
    '../outside',
    'trials/../../outside',
    'trials\\..\\..\\outside',
    'trials/link-out',
    'trials/a\nb',
  ];
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
  fs.writeFileSync(
    path.join(dir, 'results.json'),
    JSON.stringify({ name: 'x', sweepFile: 'x.json', folder: dir, trials, best: null, workers: 1, seconds: 1, trialSeconds: 1, trialsRun: 1, peakRssMB: 1, notInSweep: [] }),
  );
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
      page('t', 's', [
        {
          kind: 'chart',
          id: 'c',
          title: 'c',
          spec: confusionChart(
            [
              [1, 0],
              [0, 1],
            ],
            ['a', 'b'],
          ),
          height: 420,
        },
      ]),
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
    assert.deepEqual(
      values.find(([t, p]) => t === 1 && p === 1),
      [1, 1, 7],
    );
    // The true-class axis reads top to bottom: class 0's row is above class 2's.
    const yOf = (t: number) => chart.getDatasetMeta(0).data[t * 3].y;
    assert.ok(yOf(0) < yOf(2));
  } finally {
    chart.destroy();
  }
  assert.ok((await renderPng(spec)).length > 1000);
});

/** Rewrite a checkpoint's JSON header (the payload after it moves with it, unchanged). */
function editCheckpointHeader(file: string, edit: (h: Record<string, unknown>) => void): void {
  const buf = fs.readFileSync(file);
  const h = buf.readUInt32LE(12);
  const header = JSON.parse(buf.subarray(16, 16 + h).toString('utf8')) as Record<string, unknown>;
  const payload = buf.subarray(Math.ceil((16 + h) / 4) * 4);
  edit(header);
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(Math.ceil((16 + text.length) / 4) * 4);
  buf.copy(head, 0, 0, 12);
  head.writeUInt32LE(text.length, 12);
  text.copy(head, 16);
  fs.writeFileSync(file, Buffer.concat([head, payload]));
}

test('issue 15 #12: report refuses a malformed summary.json, config.json, metrics.jsonl, class list, results.json or sweep.json in one line naming the file and field (exit 1)', (t) => {
  const bin = path.join(root, 'bin', 'train.js');
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    t.skip('dist/ is not built (npm run build)');
    return;
  }
  const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'report-bad-'));
  const { dir: sweepDir, outside } = craftedSweep();
  try {
    const runs = path.join(tmp, 'runs');
    const r = run([
      '--num-train',
      '1000',
      '--num-val',
      '200',
      '--num-test',
      '300',
      '--num-dev',
      '50',
      '--iterations',
      '20',
      '--batch-size',
      '100',
      '--runs-dir',
      runs,
      '--backend',
      'js',
      '--name',
      'good',
    ]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const good = path.join(runs, fs.readdirSync(runs)[0]);
    assert.equal(run(['report', good, '--backend', 'js']).status, 0, 'the run folder as written reports');
    assert.equal(run(['report', sweepDir]).status, 0, 'the sweep folder as written reports');

    const json = (f: string, edit: (o: Record<string, unknown>) => unknown) => (d: string) => {
      const o = JSON.parse(fs.readFileSync(path.join(d, f), 'utf8'));
      const v = edit(o);
      fs.writeFileSync(path.join(d, f), JSON.stringify(v === undefined ? o : v));
    };
    const text = (f: string, edit: (s: string) => string) => (d: string) => fs.writeFileSync(path.join(d, f), edit(fs.readFileSync(path.join(d, f), 'utf8')));
    const trial0 = (o: Record<string, unknown>) => (o.trials as Record<string, unknown>[])[0];
    const cases: [string, string, (d: string) => void, RegExp][] = [
      ['run', 'summary.json without seconds', json('summary.json', (o) => void delete o.seconds), /summary\.json: seconds = undefined is not valid: expected an object/],
      [
        'run',
        'summary.json model without hidden',
        json('summary.json', (o) => void (o.model = { kind: 'mlp' })),
        /summary\.json: model\.hidden = undefined is not valid: expected a list of hidden sizes/,
      ],
      ['run', 'summary.json accuracy a word', json('summary.json', (o) => void (o.bestValAcc = 'high')), /summary\.json: bestValAcc = "high" is not valid: expected a number in \[0, 1\]/],
      ['run', 'summary.json not JSON', text('summary.json', (s) => s.slice(0, 20)), /summary\.json is not valid JSON/],
      ['run', 'config.json a list', json('config.json', () => []), /config\.json holds \[\], not a JSON object/],
      ['run', 'config.json name a number', json('config.json', (o) => void (o.name = 5)), /config\.json: name = 5 is not valid: expected a string/],
      ['run', 'metrics.jsonl torn in the middle', text('metrics.jsonl', (s) => s.replace('\n', '\n{"type":\n')), /metrics\.jsonl: line 2 is not JSON/],
      [
        'run',
        'metrics.jsonl epoch row with a word',
        text('metrics.jsonl', (s) => s.replace(/"valAcc":[0-9.]+/, '"valAcc":"x"')),
        /metrics\.jsonl: line \d+: valAcc = "x" is not valid: expected a number in \[0, 1\]/,
      ],
      ['run', 'a class list one short', (d) => editCheckpointHeader(path.join(d, 'best.ckpt'), (h) => void (h.classes = (h.classes as string[]).slice(0, 9))), /best\.ckpt/],
      ['sweep', 'results.json trials not a list', json('results.json', (o) => void (o.trials = 'x')), /results\.json: trials = "x" is not valid: expected a list of trials/],
      ['sweep', 'results.json best accuracy a word', json('results.json', (o) => void (o.best = { index: 1, valAcc: 'x', testAcc: null })), /results\.json: best\.valAcc = "x" is not valid/],
      ['sweep', 'results.json trial folder a number', json('results.json', (o) => void (trial0(o).dir = 5)), /results\.json: trials\[0\]\.dir = 5 is not valid: expected a string/],
      [
        'sweep',
        'results.json trial status unknown',
        json('results.json', (o) => void (trial0(o).status = 'great')),
        /results\.json: trials\[0\]\.status = "great" is not valid: expected one of ok, diverged, failed/,
      ],
      ['sweep', 'sweep.json without trials', json('sweep.json', (o) => void delete o.trials), /sweep\.json: trials = undefined is not valid/],
      [
        'sweep',
        'sweep.json lr a word',
        json('sweep.json', (o) => void ((trial0(o).config as Record<string, unknown>).lr = 'x')),
        /sweep\.json: trials\[0\]\.config\.lr = "x" is not valid: expected a number/,
      ],
    ];
    for (const [kind, what, spoil, re] of cases) {
      const d = path.join(tmp, `case-${cases.findIndex((c) => c[1] === what)}`);
      fs.cpSync(kind === 'run' ? good : sweepDir, d, { recursive: true, verbatimSymlinks: true });
      spoil(d);
      const out = run(['report', d, '--backend', 'js']);
      assert.equal(out.status, 1, `${what}: exit ${out.status}\n${out.stderr}`);
      assert.match(out.stderr, /^error: [^\n]+\n$/, `${what}: one line\n${out.stderr}`);
      assert.match(out.stderr, re, `${what}\n${out.stderr}`);
      assert.ok(out.stderr.includes(d), `${what}: names the file in ${d}\n${out.stderr}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  }
});
