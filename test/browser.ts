/**
 * Debian's Chromium for the browser tests (test/*.browser.test.ts), driven by playwright-core:
 * where it is, whether it is installed (the reason a test skips, or false) and how it is
 * launched: headless, no sandbox, no GPU, no first-run page, no background requests.
 */
import * as fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';

/** The Chromium executable: $CHROMIUM_PATH, or Debian's. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here (node:test's `skip`), or false. */
export const NO_CHROMIUM: string | false = !fs.existsSync(CHROMIUM) && `${CHROMIUM} is not installed (apt-get install chromium)`;

/** The flags every browser test gives Chromium. */
const ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];

/** `extra`: the flags a test adds to ARGS (--disable-component-update, --disable-sync, --disable-quic). */
const launchOptions = (extra: string[]): LaunchOptions => ({ executablePath: CHROMIUM, args: [...ARGS, ...extra] });

/** A headless Chromium with the common flags and `extra`. */
export function launchChromium(extra: string[] = []): Promise<Browser> {
  return chromium.launch(launchOptions(extra));
}

/** A headless Chromium on the profile folder `profile`, with the common flags, `extra`, and the context's `options` (viewport, downloads, …). */
export function launchChromiumProfile(profile: string, extra: string[] = [], options: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, { ...options, ...launchOptions(extra), headless: true });
}

/** What a page did wrong while open: console errors and uncaught exceptions, and requests other than its own URL and data: URLs. */
export interface PageWatch {
  errors: string[];
  requests: string[];
}

/**
 * Watch `page` from now on: its console errors, its uncaught exceptions, and every request that
 * is not `url` itself or a data: URL (an offline page makes none). Call before page.goto.
 */
export function watchPage(page: Page, url: string): PageWatch {
  const w: PageWatch = { errors: [], requests: [] };
  page.on('console', (m) => void (m.type() === 'error' && w.errors.push(m.text())));
  page.on('pageerror', (e) => w.errors.push(String(e)));
  page.on('request', (r) => void (r.url() !== url && !r.url().startsWith('data:') && w.requests.push(r.url())));
  return w;
}

/** A Chart.js chart as a person sees it: its type, whether its canvas drew, its labels, datasets and axes. */
export interface ChartInfo {
  type: string;
  drawn: boolean;
  labels: unknown[];
  datasets: { label: string; data: unknown[]; color: string }[];
  axes: Record<string, { title: string; type: string; min: number; max: number }>;
  /** The legend's items, [] when the legend is hidden. */
  legend: string[];
}

/** The Chart.js chart on canvas `id` of the open page. */
export function chartInfo(page: Page, id: string): Promise<ChartInfo> {
  return page.evaluate((cid) => {
    const canvas = document.getElementById(cid) as HTMLCanvasElement;
    type Ch = {
      config: { type: string };
      data: { labels?: unknown[]; datasets: { label: string; data: unknown[]; borderColor: string }[] };
      scales: Record<string, { options: { title: { display: boolean; text: string } }; type: string; min: number; max: number }>;
      legend: { options: { display: boolean }; legendItems?: { text: string }[] };
    };
    const ch = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): Ch } }).Chart.getChart(canvas);
    const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = false;
    for (let i = 3; i < px.length && !drawn; i += 4) drawn = px[i] !== 0;
    const axes = Object.fromEntries(Object.entries(ch.scales).map(([k, s]) => [k, { title: s.options.title.display ? s.options.title.text : '', type: s.type, min: s.min, max: s.max }]));
    const legend = ch.legend.options.display ? (ch.legend.legendItems ?? []).map((l) => l.text) : [];
    return { type: ch.config.type, drawn, labels: ch.data.labels ?? [], datasets: ch.data.datasets.map((d) => ({ label: d.label, data: d.data, color: String(d.borderColor) })), axes, legend };
  }, id);
}

/** From the next page load on, keep every Content-Security-Policy violation the page sees (cspViolations reads them). */
export async function recordCsp(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`));
  });
}

/** The CSP violations recordCsp kept, as "<directive> blocked <URI or inline>". */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
}
