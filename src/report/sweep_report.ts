/**
 * The sweep report: report.html in the sweep folder with log lr × log reg scatter plots coloured
 * by train and val accuracy (point size by hidden size when it is swept), and a sortable table of
 * trials linked to their run reports, the best trial highlighted. PNG twins beside it.
 */
import * as path from 'node:path';
import type { SweepResults } from '../runs/results.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { renderPng, sweepScatter } from './charts.js';
import { type PageBlock, esc, fmt, page, relativeHref } from './html.js';
import { RUN_FILES, sweepFile } from '../runs/layout.js';
import { readSweepResults, readSweepSearch, readSweepTrials } from '../runs/read.js';
import { sweepPlotBlocks } from './sweep_plots.js';
import { overlayBlocks, readCurves } from './overlay.js';
import { DEFAULT_METRIC, describeMetric, metricOfResults, showValue } from '../sweep/metric.js';

/** A trial's name in the overlay legends: the keys that vary across the sweep (`updateRule=adam, lr=0.001`), else its index. */
export function trialName(params: Record<string, unknown>, varying: string[], index: number): string {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : fmt(v));
  return varying.length > 0 ? varying.map((k) => `${k}=${show(params[k])}`).join(', ') : `trial ${index}`;
}

/** Sorts a table.trials by the clicked column (cells' data-v: numbers numerically, else as text); the runs index uses it too. */
export const SORT_JS = `document.querySelectorAll('table.trials th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0], asc = th.dataset.dir !== 'asc';
    th.dataset.dir = asc ? 'asc' : 'desc';
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
      return asc ? c : -c;
    }).forEach(function (r) { body.appendChild(r); });
  });
});`;

export async function buildSweepReport(sweepDir: string): Promise<string> {
  // Both files are checked before use: a malformed one is refused naming the file and field.
  const results: SweepResults = readSweepResults(sweepFile(sweepDir, 'results'));
  const configOf = new Map(readSweepTrials(sweepFile(sweepDir, 'spec')).map((t) => [t.index, t.config]));
  const keys = [...new Set(results.trials.flatMap((t) => Object.keys(t.params)))];
  const hiddenSwept = keys.includes('hidden');

  const blocks: PageBlock[] = [];
  const files: [string, Buffer][] = [];
  const ok = results.trials.filter((t) => t.status === 'ok' && t.valAcc !== null && configOf.has(t.index));
  // The log lr × log reg picture means something where lr or reg is swept and both are positive
  // (not for a list of update rules at reg 0, say).
  const lrRegSwept = (keys.includes('lr') || keys.includes('reg')) && ok.every((t) => configOf.get(t.index)!.lr > 0 && configOf.get(t.index)!.reg > 0);
  if (ok.length > 0 && lrRegSwept) {
    for (const which of ['val', 'train'] as const) {
      const pts = ok.map((t) => {
        const c = configOf.get(t.index)!;
        return { lr: c.lr, reg: c.reg, acc: (which === 'val' ? t.valAcc : t.trainAcc) ?? 0, ...(hiddenSwept ? { hidden: c.hidden } : {}), label: `trial ${t.index}` };
      });
      const spec = sweepScatter(pts, which);
      blocks.push({ kind: 'chart', id: `scatter-${which}`, title: `${which === 'val' ? 'Validation' : 'Training'} accuracy`, spec, height: 360 });
      files.push([`sweep_${which}.png`, await renderPng(spec, 760, 400)]);
    }
  }

  // A random or TPE search: parallel coordinates, importance, best so far (sweep_plots.ts).
  const metric = metricOfResults(results);
  blocks.push(...sweepPlotBlocks(readSweepSearch(sweepFile(sweepDir, 'spec')), results.trials, metric));

  // The trials' curves overlaid, as the notebooks compare update rules or weight scales: the
  // finished trials whose folder (from results.json) is inside the sweep folder.
  const varying = keys.filter((k) => new Set(results.trials.map((t) => JSON.stringify((t.params as Record<string, unknown>)[k]))).size > 1);
  const curves = results.trials
    .filter((t) => t.status === 'ok')
    .map((t) => {
      const rel = t.dir.split(path.sep).join('/');
      return relativeHref(sweepDir, rel) === null ? null : { name: trialName(t.params as Record<string, unknown>, varying, t.index), score: t.valAcc, curves: readCurves(path.join(sweepDir, rel)) };
    })
    .filter((c): c is NonNullable<typeof c> => c !== null && (c.curves.loss.length > 0 || c.curves.valAcc.length > 0));
  if (curves.length > 0) {
    const o = await overlayBlocks(curves, 'sweep_overlay_');
    blocks.push(...o.blocks);
    files.push(...o.files);
  }

  const best = results.best?.index;
  const head = ['trial', 'status', ...keys, 'train acc', 'val acc', 'best epoch', 'seconds', 'report'];
  const rows = results.trials.map((t) => {
    // t.dir comes from results.json, which anyone may have edited: a link only to a report
    // inside the sweep folder, by a relative path (never a scheme such as javascript:), and only
    // to one that exists (a sweep builds its best trials' reports; `train report` any other's).
    const href = relativeHref(sweepDir, `${t.dir.split(path.sep).join('/')}/${RUN_FILES.report}`);
    const link = href ? `<a href="${esc(href)}">run report</a>` : reportHint(sweepDir, t);
    const p = t.params as Record<string, unknown>;
    const cells: [unknown, string, boolean][] = [
      [t.index, String(t.index), true],
      [t.status, t.status === 'ok' ? 'ok' : `${t.status}: ${t.reason ?? ''}`, false],
      ...keys.map((k): [unknown, string, boolean] => [
        Array.isArray(p[k]) ? (p[k] as number[]).join(',') : p[k],
        Array.isArray(p[k]) ? (p[k] as number[]).join(',') : fmt(p[k]),
        typeof p[k] === 'number',
      ]),
      [t.trainAcc, fmt(t.trainAcc === null ? null : Number(t.trainAcc.toFixed(3))), true],
      [t.valAcc, fmt(t.valAcc === null ? null : Number(t.valAcc.toFixed(3))), true],
      [t.bestEpoch, fmt(t.bestEpoch), true],
      [t.seconds, t.seconds === null ? '–' : t.seconds.toFixed(1), true],
    ];
    const tds = cells.map(([v, text, num]) => `<td${num ? ' class="num"' : ''} data-v="${esc(v ?? '')}">${esc(text)}</td>`).join('');
    return `<tr${t.index === best ? ' class="best"' : ''}>${tds}<td data-v="">${link}</td></tr>`;
  });
  // While the sweep runs (results.json has `live`): the trials in flight and those waiting, and the page reloads itself.
  const live = results.live ?? null;
  if (live) blocks.push({ kind: 'html', title: 'In flight', html: liveTable(live) });
  const table = `<p class="note">Click a column to sort. The best trial by ${esc(describeMetric(metric))} is highlighted.</p><table class="trials"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  blocks.push({ kind: 'html', title: `Trials (${results.trials.length})`, html: table });

  const b = results.best;
  // Another metric than the default: its value beside val and test accuracy.
  const byMetric = b && metric.name !== DEFAULT_METRIC.name && typeof b.value === 'number' ? `, ${showValue(metric, b.value)}` : '';
  const sub = b
    ? `best: trial ${b.index}${byMetric}, val ${b.valAcc.toFixed(3)}, test ${b.testAcc === null ? '–' : b.testAcc.toFixed(3)} · ${results.trials.length} trials on ${results.workers} workers · ${results.seconds.toFixed(0)} s`
    : `${results.trials.length} trials, none finished`;
  const counts = liveCounts(results);
  const html = reloading(page(`Sweep report: ${results.name}`, counts ? `${counts} · ${sub}` : sub, blocks, SORT_JS), live !== null);
  for (const [name, buf] of files) writeFileAtomic(path.join(sweepDir, name), buf);
  const out = sweepFile(sweepDir, 'report');
  writeFileAtomic(out, html);
  return out;
}

/** A trial without a report: how to build one (`train report <its folder>`), for a trial that trained. */
function reportHint(sweepDir: string, t: SweepResults['trials'][number]): string {
  const inside = relativeHref(sweepDir, t.dir.split(path.sep).join('/')) !== null;
  return t.status === 'failed' || !inside ? '–' : `<code title="builds this trial's run report">train report ${esc(path.join(sweepDir, t.dir))}</code>`;
}

/** "2 finished, 1 stopped, 3 running, 4 queued": while the sweep runs, or when early stopping stopped some. */
function liveCounts(results: SweepResults): string | null {
  const stopped = results.trials.filter((t) => t.status === 'stopped').length;
  if (!results.live && !results.scheduler) return null;
  const parts = [`${results.trials.length - stopped} finished`, `${stopped} stopped`];
  if (results.live) parts.push(`${results.live.running.length} running`, `${results.live.queued.length} queued`);
  return parts.join(', ');
}

function liveTable(live: NonNullable<SweepResults['live']>): string {
  const rows = live.running.map((r) => `<tr><td class="num">${esc(r.index)}</td><td>running</td><td>${esc(r.host ?? '–')}</td><td class="num">${esc(r.epoch ?? '–')}</td></tr>`);
  const queued = live.queued.length
    ? `<p class="note">Queued: ${live.queued.length} trial${live.queued.length > 1 ? 's' : ''} (${esc(live.queued.slice(0, 40).join(', '))}${live.queued.length > 40 ? ', …' : ''}).</p>`
    : '';
  return `<p class="note">The sweep is running: this page reloads itself every ${RELOAD_SECONDS} s.</p><table><thead><tr><th>trial</th><th>state</th><th>host</th><th>epochs done</th></tr></thead><tbody>${rows.join('')}</tbody></table>${queued}`;
}

const RELOAD_SECONDS = 5;

/** The page with a refresh every RELOAD_SECONDS while the sweep runs; as it is once it ended. */
function reloading(html: string, on: boolean): string {
  return on ? html.replace('<head>', `<head>\n<meta http-equiv="refresh" content="${RELOAD_SECONDS}">`) : html;
}
