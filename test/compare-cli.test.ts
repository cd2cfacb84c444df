/**
 * `train compare RUN RUN …` end to end (bin/train.js on the built dist/): the page and its PNG
 * twins from two small MNIST runs, with the runs' curves and configs read from their folders, and
 * one clear line (exit 2, no stack trace) for whatever is not two or more run folders. The page in
 * a real browser is checked in report.browser.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { E2E_BACKEND, trainCli as train } from './helpers.js';

const small = ['--num-train', '600', '--num-val', '200', '--num-test', '200', '--num-dev', '50', '--backend', E2E_BACKEND];

/** The page's chart specs, as it embeds them for Chart.js. */
function specsOf(html: string): Record<string, { data: { datasets: { label: string; data: { x: number; y: number }[] }[] } }> {
  const m = /var specs = (\{.*?\});\n/s.exec(html);
  assert.ok(m, 'the page embeds its chart specs');
  return JSON.parse(m[1]);
}

test('train compare writes one page overlaying two runs, with their configs side by side, and refuses what is not a run', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-'));
  try {
    const a = train([...small, '--epochs', '2', '--runs-dir', runs, '--name', 'lr-a', '--lr', '0.5']);
    assert.equal(a.code, 0, a.err);
    const b = train([...small, '--epochs', '3', '--runs-dir', runs, '--name', 'lr-b', '--lr', '0.1']);
    assert.equal(b.code, 0, b.err);
    const dirOf = (n: string) =>
      path.join(
        runs,
        fs.readdirSync(runs).find((d) => d.endsWith(`-${n}`))!,
      );
    const [da, db] = [dirOf('lr-a'), dirOf('lr-b')];

    const r = train(['compare', da, db]);
    assert.equal(r.code, 0, r.err);
    const want = path.join(runs, `compare-${path.basename(da)}-vs-${path.basename(db)}.html`);
    assert.equal(r.out, `compare: ${want}\n`);
    const html = fs.readFileSync(want, 'utf8');
    const specs = specsOf(html);
    assert.deepEqual(Object.keys(specs), ['overlay-loss', 'overlay-train', 'overlay-val']);
    for (const s of Object.values(specs))
      assert.deepEqual(
        s.data.datasets.map((d) => d.label),
        [path.basename(da), path.basename(db)],
      );
    // The curves are the runs' own: 3 and 3 × 3 iterations (600 rows, batch 200), 2 and 3 epochs of val accuracy.
    const loss = specs['overlay-loss'].data.datasets.map((d) => d.data.map((p) => p.x));
    assert.deepEqual(loss, [
      [1, 2, 3, 4, 5, 6],
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ]);
    const metricsVal = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === 'epoch')
        .map((m) => Number(m.valAcc.toPrecision(5)));
    assert.deepEqual(
      specs['overlay-val'].data.datasets.map((d) => d.data.map((p) => p.y)),
      [metricsVal(da), metricsVal(db)],
    );
    // Configs side by side: the differing keys (name, lr, epochs) highlighted, the shared ones not.
    const diff = [...html.matchAll(/<tr class="diff"><th>([^<]*)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(diff.sort(), ['epochs', 'lr', 'name']);
    for (const png of ['loss', 'train', 'val']) {
      const buf = fs.readFileSync(want.replace(/\.html$/, `_${png}.png`));
      assert.equal(buf.subarray(1, 4).toString(), 'PNG');
    }

    // --out: the page where it is asked for, no temporary file left beside it.
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-out-'));
    try {
      const o = train(['compare', db, da, '--out', path.join(outDir, 'cmp.html')]);
      assert.equal(o.code, 0, o.err);
      assert.deepEqual(fs.readdirSync(outDir).sort(), ['cmp.html', 'cmp_loss.png', 'cmp_train.png', 'cmp_val.png']);
      assert.deepEqual(
        specsOf(fs.readFileSync(path.join(outDir, 'cmp.html'), 'utf8'))['overlay-val'].data.datasets.map((d) => d.label),
        [path.basename(db), path.basename(da)],
      );
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }

    // What is not two or more run folders: one line naming it and what would work, exit 2.
    const notRun = fs.mkdtempSync(path.join(runs, 'empty-'));
    const knnLike = path.join(runs, 'knn-like');
    fs.cpSync(da, knnLike, { recursive: true });
    const s = JSON.parse(fs.readFileSync(path.join(knnLike, 'summary.json'), 'utf8'));
    fs.writeFileSync(path.join(knnLike, 'summary.json'), JSON.stringify({ ...s, model: { kind: 'knn', k: 1 } }));
    const cases: [string[], RegExp][] = [
      [['compare', da], /^error: compare needs two or more run folders \(given 1: .*\): npx train compare RUN RUN …$/],
      [['compare', da, path.join(runs, 'nope')], /^error: compare: .*nope does not exist; give a run folder \(runs\/<time>-<name>, holding config\.json, summary\.json and metrics\.jsonl\)$/],
      [['compare', da, notRun], /^error: compare: .*empty-\w+ is not a run folder: it has no config\.json; give a run folder/],
      [['compare', da, path.join(da, 'summary.json')], /^error: compare: .*summary\.json is a file, not a folder; give a run folder/],
      [['compare', da, da], /^error: compare: .* is given twice; give each run folder once$/],
      [['compare', da, knnLike], /^error: compare: .*knn-like is a knn run, which has no training curves to compare/],
      [['compare', da, db, '--out', path.join(runs, 'page.txt')], /^error: --out .*page\.txt: give the page's file name, ending in \.html/],
      [['compare', da, db, '--out', path.join(runs, 'no', 'such', 'x.html')], /^error: --out .*x\.html: the folder .*such does not exist/],
    ];
    for (const [args, re] of cases) {
      const e = train(args);
      assert.equal(e.code, 2, `${args.join(' ')}: ${e.err}`);
      assert.match(e.err.trim(), re);
      assert.equal(e.err.trim().split('\n').length, 1, `one line: ${e.err}`);
    }
    // A sweep folder points to its own report.
    fs.mkdirSync(path.join(runs, 'sweep-x'));
    for (const f of ['results.json', 'sweep.json']) fs.writeFileSync(path.join(runs, 'sweep-x', f), '{}');
    const sw = train(['compare', da, path.join(runs, 'sweep-x')]);
    assert.equal(sw.code, 2);
    assert.match(sw.err, /sweep-x is a sweep folder; its report \(npx train report .*sweep-x\) overlays its trials/);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
