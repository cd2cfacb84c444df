/**
 * The pages: one per notebook (its plots in the notebook's order, each headed by the inline
 * question it informs; its targets against what was measured over the seeds; the engine, the
 * machine and the seeds; its experiments' folders), and an index over them all. Offline, as
 * every report: report/html.ts's page, its CSP and charts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../runs/atomic.js';
import { esc, fmt, page, relativeHref, type PageBlock } from '../report/html.js';
import { RUN_FILES } from '../runs/layout.js';
import { PLOTS } from './plots/index.js';
import { judge, type TargetResult } from './measure.js';
import { NOTEBOOKS } from './notebooks.js';
import { indexFile, pageFile, readRecord, type NotebookRecord } from './record.js';
import { seedDir, seedsOf } from './run.js';
import type { Experiment, Notebook, PlotInput, Question } from './types.js';

/** An experiment's folders that exist, one per seed in seed order, and those seeds. */
export function inputOf(out: string, nb: Notebook, exp: Experiment, seeds: number[]): PlotInput {
  const pairs = seedsOf(exp, { seeds }).map((s) => [s, seedDir(out, nb, exp, s)] as const);
  const present = pairs.filter(([, d]) => fs.existsSync(d));
  return { folders: present.map(([, d]) => d), seeds: present.map(([s]) => s) };
}

/** A target's measured value over all of its experiment's seeds (missing seeds as null). */
export function resultOf(out: string, nb: Notebook, t: Notebook['targets'][number], seeds: number[]): TargetResult {
  const exp = nb.experiments.find((e) => e.id === t.experiment)!;
  return judge(
    t,
    seedsOf(exp, { seeds }).map((s) => seedDir(out, nb, exp, s)),
  );
}

const f3 = (x: number) => x.toFixed(3);
const OP: Record<string, string> = { '>': '>', '>=': '≥', '<=': '≤', '≈': 'about' };
const metCell = (met: boolean | null) => `<td>${met === null ? 'not run' : met ? '<strong>met</strong>' : '<strong>missed</strong>'}</td>`;

/** The course's figure of a target, and this copy's where it moves it. */
function courseCell(r: TargetResult): string {
  const t = r.target;
  const course = `${OP[t.op]} ${fmt(t.value)}`;
  if (!t.onThisCopy) return esc(course);
  const c = t.onThisCopy;
  return `${esc(course)}; <em>on this copy: ${esc(f3(c.value))} ± ${esc(fmt(c.tolerance))}</em> (${esc(c.source)})`;
}

/** One row of the targets table. */
function targetRow(r: TargetResult, seeds: number[]): string {
  const t = r.target;
  const s = r.stats;
  const each = r.values.map((v, i) => `${seeds[i] ?? i}: ${v === null ? '–' : f3(v)}`).join(', ');
  const num = (v: string) => `<td class="num">${v}</td>`;
  const note = t.note ? `<br><span class="note">${esc(t.note)}</span>` : '';
  return (
    `<tr><td>${esc(t.what)}${note}</td><td>${esc(t.editions.join(', '))}</td><td>${courseCell(r)}</td><td>${t.aim === undefined ? '–' : esc(fmt(t.aim))}</td>` +
    `${num(s ? `${f3(s.mean)} ± ${f3(s.sd)}` : '–')}${num(s ? f3(s.min) : '–')}${num(s ? f3(s.max) : '–')}<td>${esc(each)}</td>${metCell(r.met)}</tr>`
  );
}

/** The targets table and the checks computed now. */
function targetsBlock(out: string, nb: Notebook, seeds: number[]): PageBlock {
  const head = '<tr><th>target</th><th>editions</th><th>the course</th><th>project aim</th><th>mean ± sd</th><th>min</th><th>max</th><th>each seed</th><th>on the mean</th></tr>';
  const rows = nb.targets.map((t) => {
    const exp = nb.experiments.find((e) => e.id === t.experiment)!;
    return targetRow(resultOf(out, nb, t, seeds), seedsOf(exp, { seeds }));
  });
  const checks = nb.checks.map((c) => {
    const r = c.compute();
    return `<tr><td>${esc(c.what)}<br><span class="note">${esc(r.detail)}</span></td><td>${esc(c.editions.join(', '))}</td><td>${esc(c.target)}</td><td>–</td><td class="num">${esc(r.value.toExponential(2))}</td><td></td><td></td><td>computed now</td>${metCell(r.met)}</tr>`;
  });
  const body =
    rows.length + checks.length
      ? `<table class="trials targets"><thead>${head}</thead><tbody>${rows.join('')}${checks.join('')}</tbody></table>`
      : '<p class="note">This notebook states no numeric target: its plots answer its questions.</p>';
  const note = `<p class="note">A target is met on the mean of the seeds (sd: the sample standard deviation). Where the project aims above the course, the aim is shown beside it, not judged.</p>`;
  return { kind: 'html', title: 'Targets', html: note + body };
}

/** The engine, the machine and the seeds. */
function aboutBlock(rec: NotebookRecord | null): PageBlock {
  if (!rec) return { kind: 'html', title: 'How these numbers were made', html: '<p class="note">Not run yet: npx train cs231n writes this page after running the notebook.</p>' };
  const html =
    `<table class="kv"><tr><th>engine</th><td>${esc(rec.engine.name)} (${esc(rec.engine.detail)})</td></tr>` +
    `<tr><th>machine</th><td>${esc(rec.machine.cpu)}, ${rec.machine.cores} cores (${esc(rec.machine.platform)})</td></tr>` +
    `<tr><th>seeds</th><td>${esc(rec.seeds.join(', '))}${rec.quick ? ' (--quick: a smoke run with few steps on few rows; the numbers are not the configs’ figures)' : ''}</td></tr>` +
    `<tr><th>last run</th><td>${esc(rec.finishedAt)}, ${esc(rec.seconds.toFixed(0))} s</td></tr></table>`;
  return { kind: 'html', title: 'How these numbers were made', html };
}

/** A question as a heading card. */
function questionBlock(q: Question): PageBlock {
  return { kind: 'html', title: q.cite, html: `<p>${esc(q.text)}</p>` };
}

/** The plots in the notebook's order, each headed by its inline question. */
async function plotBlocks(out: string, nb: Notebook, seeds: number[]): Promise<PageBlock[]> {
  const blocks: PageBlock[] = [];
  for (const p of nb.plots) {
    const q = nb.questions.find((x) => x.id === p.question);
    if (q) blocks.push(questionBlock(q));
    const exp = nb.experiments.find((e) => e.id === p.experiment)!;
    const input = inputOf(out, nb, exp, seeds);
    const drawn = input.folders.length === 0 ? [] : await PLOTS[p.plot](input);
    blocks.push(...(drawn.length ? drawn : [{ kind: 'html' as const, title: `${exp.title}: not run`, html: `<p class="note">No folder of ${esc(exp.id)} yet.</p>` }]));
  }
  return blocks;
}

/** The questions no plot is headed by, answered from the experiments and the lectures. */
function otherQuestions(nb: Notebook): PageBlock[] {
  const used = new Set(nb.plots.map((p) => p.question));
  const rest = nb.questions.filter((q) => !used.has(q.id));
  if (!rest.length) return [];
  return [{ kind: 'html', title: 'The other inline questions', html: `<ul>${rest.map((q) => `<li><strong>${esc(q.cite)}</strong>: ${esc(q.text)}</li>`).join('')}</ul>` }];
}

/** The experiments: config, seeds, and a link to each seed folder's report. */
function experimentsBlock(out: string, nb: Notebook, seeds: number[]): PageBlock {
  const base = path.join(out, nb.id);
  const rows = nb.experiments.map((exp) => {
    const links = seedsOf(exp, { seeds }).map((s) => {
      const href = relativeHref(base, `${exp.id}/seed-${s}/${RUN_FILES.report}`);
      return href ? `<a href="${esc(href)}">seed ${s}</a>` : `seed ${s} (not run)`;
    });
    const kind = exp.sweep ? 'sweep' : 'run';
    const note = [exp.note, exp.tuning ? 'run with --tuning' : null, exp.seeded ? null : 'once, on its config’s seed'].filter(Boolean).join('; ');
    return `<tr><td>${esc(exp.title)}</td><td><code>configs/${esc(exp.config)}</code> (${kind})</td><td>${links.join(', ')}</td><td>${esc(note)}</td></tr>`;
  });
  return {
    kind: 'html',
    title: 'Experiments',
    html: `<table class="trials"><thead><tr><th>experiment</th><th>config</th><th>reports</th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  };
}

/** Write the notebook's page; returns its file. */
export async function writeNotebookPage(out: string, nb: Notebook): Promise<string> {
  const rec = readRecord(out, nb);
  const seeds = rec?.seeds ?? [0];
  const blocks = [aboutBlock(rec), targetsBlock(out, nb, seeds), ...(await plotBlocks(out, nb, seeds)), ...otherQuestions(nb), experimentsBlock(out, nb, seeds)];
  const file = pageFile(out, nb);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, page(`cs231n ${nb.file}: ${nb.title}`, `editions ${nb.editions.join(' and ')}; seeds ${seeds.join(', ')}`, blocks));
  return file;
}

/** A notebook's targets and checks met, of all; null when it has not run. */
export function tally(out: string, nb: Notebook): { met: number; missed: number; notRun: number } {
  const seeds = readRecord(out, nb)?.seeds ?? [0];
  const results = nb.targets.map((t) => resultOf(out, nb, t, seeds).met);
  const checks = nb.checks.map((c) => c.compute().met);
  const all = [...results, ...checks];
  return { met: all.filter((m) => m === true).length, missed: all.filter((m) => m === false).length, notRun: all.filter((m) => m === null).length };
}

/** Write the index over every notebook; returns its file. */
export function writeIndex(out: string): string {
  const rows = NOTEBOOKS.map((nb) => {
    const rec = readRecord(out, nb);
    const t = tally(out, nb);
    const href = relativeHref(out, path.relative(out, pageFile(out, nb)).split(path.sep).join('/'));
    const name = href ? `<a href="${esc(href)}">${esc(nb.file)}</a>` : esc(nb.file);
    const targets = t.met + t.missed + t.notRun === 0 ? 'no numeric target' : `${t.met} met, ${t.missed} missed${t.notRun ? `, ${t.notRun} not run` : ''}`;
    return `<tr><td>${name}</td><td>${esc(nb.title)}</td><td>${esc(nb.editions.join(', '))}</td><td>${targets}</td><td>${rec ? esc(rec.seeds.join(', ')) : 'not run'}</td><td>${rec ? esc(rec.engine.name) : '–'}</td></tr>`;
  });
  const html = `<table class="trials"><thead><tr><th>notebook</th><th>what</th><th>editions</th><th>targets</th><th>seeds</th><th>engine</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
  const file = indexFile(out);
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(
    file,
    page('cs231n: every notebook', 'The notebooks of assignment 1 and the fully connected parts of assignment 2, run by npx train cs231n', [{ kind: 'html', title: 'Notebooks', html }]),
  );
  return file;
}
