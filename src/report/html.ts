/**
 * The self-contained report page: Chart.js and its matrix plugin inlined, every image a data:
 * URL, and a Content-Security-Policy that forbids any network access, so the file opens offline
 * and cannot fetch anything even by mistake. Layout is a single responsive column of cards.
 *
 * The policy names each inline script and the one style sheet by its sha256, and allows nothing
 * else inline: markup that slipped past the escaping (an injected <script>, an onclick, a
 * javascript: link) would not run. So the page itself uses no inline style or handler attributes.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_BYTES, readRegularText } from '../io/files.js';
import { type ChartSpec, HYDRATE_JS } from './charts.js';

let bundled: string[] | null = null;

/** Chart.js and the matrix plugin, as the text of inline scripts (read once). */
function libraries(): string[] {
  if (bundled === null) {
    const dist = (spec: string, file: string) => path.join(path.dirname(fileURLToPath(import.meta.resolve(spec))), file);
    const js = [dist('chart.js', 'chart.umd.min.js'), dist('chartjs-chart-matrix', 'chartjs-chart-matrix.min.js')].map((f) => readRegularText(f, MAX_BYTES.libraryScript, 'a JavaScript library'));
    bundled = js.map((s) => s.replace(/<\/script/gi, '<\\/script'));
  }
  return bundled;
}

/** A CSP source for inline text: 'sha256-<base64>' of its UTF-8 bytes, as browsers hash it. */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * `rel` (a path read from a results file) as a link from a page in folder `base`, or null when it
 * is not a plain relative path that stays inside `base`: no scheme (javascript:, data:, http:),
 * no absolute path, no '..', no backslash or control character, no symlink out of the folder.
 * Each segment is percent-encoded, so even a ':' inside a name cannot read as a scheme.
 */
export function relativeHref(base: string, rel: unknown): string | null {
  if (typeof rel !== 'string' || rel === '' || /[\u0000-\u001f\u007f\\]/.test(rel)) return null;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(rel) || path.posix.isAbsolute(rel) || path.win32.isAbsolute(rel)) return null;
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return null;
  const root = path.resolve(base);
  const inside = (r: string, p: string) => p === r || p.startsWith(r + path.sep);
  if (!inside(root, path.resolve(root, rel))) return null;
  try {
    if (!inside(fs.realpathSync(root), fs.realpathSync(path.resolve(root, rel)))) return null;
  } catch {
    return null; // it does not exist: nothing to link to
  }
  return parts.map(encodeURIComponent).join('/');
}

export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function dataUrl(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** One block of the page. */
export type PageBlock =
  | { kind: 'chart'; title: string; id: string; spec: ChartSpec; height?: number; note?: string }
  | { kind: 'images'; title: string; note?: string; images: { src: string; caption: string; width: number; height: number; cls?: string; row?: string }[] }
  | { kind: 'html'; title: string; html: string };

/** A two-column key/value table. */
export function kvTable(obj: Record<string, unknown>): string {
  const cell = (v: unknown) => (v !== null && typeof v === 'object' ? `<code>${esc(JSON.stringify(v))}</code>` : esc(fmt(v)));
  return `<table class="kv">${Object.entries(obj)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${cell(v)}</td></tr>`)
    .join('')}</table>`;
}

/** Numbers rounded for reading. */
export function fmt(v: unknown): string {
  if (typeof v !== 'number') return v === null || v === undefined ? '–' : String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

/** Images are PNG data: URLs this program made; anything else is a bug, refused rather than linked. */
function pngDataUrl(src: string): string {
  if (!/^data:image\/png;base64,[A-Za-z0-9+/]*={0,2}$/.test(src)) throw new Error(`report image source is not a PNG data: URL (${src.slice(0, 40)}…)`);
  return src;
}

const STYLE = `
  body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; background: #f4f5f7; color: #1d1f23; }
  header, main { max-width: 1000px; margin: 0 auto; padding: 0 14px; }
  body.wide header, body.wide main { max-width: 1400px; }
  header h1 { font-size: 1.4rem; margin: 18px 0 2px; }
  header p { margin: 0 0 12px; color: #555; }
  .card { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.12); padding: 12px 16px; margin: 0 0 14px; overflow-x: auto; }
  .card h2 { font-size: 1.05rem; margin: 2px 0 8px; }
  .note { color: #555; margin: 0 0 8px; font-size: .9rem; }
  .chart { position: relative; width: 100%; min-width: 260px; }
  .figs { display: flex; flex-wrap: wrap; gap: 10px; }
  .figrow { display: flex; gap: 10px; align-items: center; margin: 0 0 8px; }
  .figrow .rowlabel { flex: 0 0 6em; font-weight: 600; font-size: .85rem; }
  .figrow .figs { flex-wrap: nowrap; }
  figure { margin: 0; text-align: center; }
  figure img { image-rendering: pixelated; max-width: 100%; height: auto; border: 1px solid #ddd; }
  figcaption { font-size: .8rem; color: #333; max-width: 140px; }
  table { border-collapse: collapse; font-size: .88rem; }
  th, td { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
  table.kv th { color: #555; font-weight: 500; white-space: nowrap; }
  table.trials th { cursor: pointer; user-select: none; white-space: nowrap; }
  table.trials td.num, table.timings td.num { text-align: right; font-variant-numeric: tabular-nums; }
  table.trials td.diag { font-weight: 600; }
  tr.best { background: #fff6d5; font-weight: 600; }
  tr.diff { background: #ffe3c2; font-weight: 600; }
  table.compare { table-layout: fixed; width: 100%; }
  table.compare th, table.compare td { white-space: normal; overflow-wrap: anywhere; }
  table.compare tr > :first-child { width: 11em; }
  code { font-size: .82rem; word-break: break-all; }
  @media (max-width: 600px) { body { font-size: 14px; } .card { padding: 10px; } }
`;

/**
 * The page of `blocks`. `wide`: a column of up to 1,400 px instead of 1,000, for pages that set
 * runs side by side (the compare page).
 */
export function page(title: string, subtitle: string, blocks: PageBlock[], extraScript = '', opts: { wide?: boolean } = {}): string {
  const specs: Record<string, ChartSpec> = {};
  const heights = new Set<number>();
  const body = blocks
    .map((b) => {
      const head = `<h2>${esc(b.title)}</h2>`;
      if (b.kind === 'chart') {
        specs[b.id] = b.spec;
        const h = Math.round(b.height ?? 320);
        heights.add(h);
        return `<section class="card">${head}${b.note ? `<p class="note">${esc(b.note)}</p>` : ''}<div class="chart h${h}"><canvas id="${esc(b.id)}" role="img" aria-label="${esc(b.title)}"></canvas></div></section>`;
      }
      if (b.kind === 'images') {
        const fig = (im: (typeof b.images)[number]) =>
          `<figure><img class="${esc(im.cls ?? 'pic')}" src="${esc(pngDataUrl(im.src))}" width="${im.width}" height="${im.height}" alt="${esc(im.caption)}"><figcaption>${esc(im.caption)}</figcaption></figure>`;
        // Images with a `row` are laid out one row per value (in order of first appearance), headed by it.
        const rows = [...new Set(b.images.map((im) => im.row))];
        const figs = rows.every((r) => r === undefined)
          ? `<div class="figs">${b.images.map(fig).join('')}</div>`
          : rows
              .map(
                (r) =>
                  `<div class="figrow"><div class="rowlabel">${esc(r ?? '')}</div><div class="figs">${b.images
                    .filter((im) => im.row === r)
                    .map(fig)
                    .join('')}</div></div>`,
              )
              .join('');
        return `<section class="card">${head}${b.note ? `<p class="note">${esc(b.note)}</p>` : ''}${figs}</section>`;
      }
      return `<section class="card">${head}${b.html}</section>`;
    })
    .join('\n');
  const style = `${STYLE}${[...heights].map((h) => `  .chart.h${h} { height: ${h}px; }\n`).join('')}`;
  const script = `
${HYDRATE_JS}
(function () {
  var m = window['chartjs-chart-matrix'];
  if (m && m.MatrixController) Chart.register(m.MatrixController, m.MatrixElement);
  var specs = ${JSON.stringify(specs).replace(/</g, '\\u003c')};
  Object.keys(specs).forEach(function (id) {
    var spec = hydrate(specs[id]);
    spec.options = Object.assign({}, spec.options, { responsive: true, maintainAspectRatio: false, animation: false });
    new Chart(document.getElementById(id), spec);
  });
})();
${extraScript}
`;
  const scripts = [...libraries(), script];
  const csp = `default-src 'none'; script-src ${scripts.map(cspHash).join(' ')}; style-src ${cspHash(style)}; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>${esc(title)}</title>
<style>${style}</style>
</head>
<body${opts.wide ? ' class="wide"' : ''}>
<header><h1>${esc(title)}</h1><p>${esc(subtitle)}</p></header>
<main>
${body}
</main>
${scripts.map((js) => `<script>${js}</script>`).join('\n')}
</body>
</html>
`;
}
