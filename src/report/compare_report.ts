/**
 * The compare page (`train compare RUN RUN …`): the runs' loss and accuracy curves overlaid on
 * shared axes (report/overlay.ts, as the sweep report overlays its trials), their results, and
 * their configs side by side with the keys that differ highlighted. One self-contained HTML file
 * (html.ts: offline, under the same Content-Security-Policy), with the charts' PNG twins beside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../runs/atomic.js';
import { runFile } from '../runs/layout.js';
import { readJsonObject, readRunConfig, readSummary } from '../runs/read.js';
import { esc, fmt, page } from './html.js';
import { overlayBlocks, readCurves } from './overlay.js';

/** A config value as a table cell. */
function cell(v: unknown): string {
  if (v === undefined) return '(not set)';
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : fmt(v);
}

/** `target` as a link from a page in folder `from`: a relative path, each segment percent-encoded. */
function hrefFrom(from: string, target: string): string {
  return path.relative(from, target).split(path.sep).map(encodeURIComponent).join('/');
}

/**
 * Write the compare page of run folders `runs` (checked by the caller to be run folders with
 * training curves) to `out` (an .html file); `names` label the runs in legends and columns.
 * The PNG twins go beside it as `<out without .html>_loss.png`, `_train.png`, `_val.png`.
 */
export async function buildComparePage(runs: { dir: string; name: string }[], out: string): Promise<string> {
  const outDir = path.dirname(path.resolve(out));
  const configs = runs.map((r) => {
    readRunConfig(runFile(r.dir, 'config')); // the fields every config must have, checked
    return readJsonObject(runFile(r.dir, 'config'));
  });
  const summaries = runs.map((r) => readSummary(runFile(r.dir, 'summary')));
  const named = runs.map((r, i) => ({ name: r.name, score: summaries[i].bestValAcc, curves: readCurves(r.dir) }));
  const stem = path.basename(out).replace(/\.html$/i, '');
  const { blocks, files } = await overlayBlocks(named, `${stem}_`);

  // Results, one column per run, each linked to its own report when it has one.
  const head = `<tr><th></th>${runs.map((r) => `<th>${esc(r.name)}</th>`).join('')}</tr>`;
  const resultRows: [string, (i: number) => string][] = [
    ['status', (i) => summaries[i].status],
    ['dataset', (i) => summaries[i].dataset],
    ['model', (i) => `${summaries[i].model.kind}${summaries[i].model.kind === 'mlp' ? ` (hidden ${summaries[i].model.hidden.join(', ')})` : ''}`],
    ['best val accuracy', (i) => fmt(summaries[i].bestValAcc)],
    ['best epoch', (i) => fmt(summaries[i].bestEpoch)],
    ['test accuracy', (i) => fmt(summaries[i].testAcc)],
    ['iterations', (i) => fmt(summaries[i].iterations)],
    ['seconds', (i) => summaries[i].seconds.total.toFixed(1)],
    ['engine', (i) => summaries[i].engine],
  ];
  const links = runs.map((r) => {
    const rep = runFile(r.dir, 'report');
    return fs.existsSync(rep) ? `<a class="run-report" href="${esc(hrefFrom(outDir, rep))}">run report</a>` : '–';
  });
  const results = `<table class="trials compare">${head}${resultRows.map(([k, f]) => `<tr><th>${esc(k)}</th>${runs.map((_, i) => `<td>${esc(f(i))}</td>`).join('')}</tr>`).join('')}<tr><th>report</th>${links.map((l) => `<td>${l}</td>`).join('')}</tr></table>`;
  blocks.push({ kind: 'html', title: 'Results', html: results });

  // Configs side by side: every key any of them has, in first-seen order; a key whose values differ is highlighted.
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))];
  const differ = (k: string) => new Set(configs.map((c) => JSON.stringify(c[k]) ?? 'undefined')).size > 1;
  const nDiff = keys.filter(differ).length;
  const cfgRows = keys.map((k) => `<tr${differ(k) ? ' class="diff"' : ''}><th>${esc(k)}</th>${configs.map((c) => `<td>${esc(cell(c[k]))}</td>`).join('')}</tr>`).join('');
  blocks.push({
    kind: 'html',
    title: 'Configs',
    html: `<p class="note">${nDiff} of ${keys.length} keys differ between the runs (highlighted).</p><table class="trials compare">${head}${cfgRows}</table>`,
  });

  const sub = `${runs.length} runs · ${runs.map((r, i) => `${r.name}: val ${fmt(summaries[i].bestValAcc)}, test ${fmt(summaries[i].testAcc)}`).join(' · ')}`;
  const html = page(`Compare runs`, sub, blocks, '', { wide: true });
  for (const [name, buf] of files) writeFileAtomic(path.join(outDir, name), buf);
  writeFileAtomic(out, html);
  return out;
}
