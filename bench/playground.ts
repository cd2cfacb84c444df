/**
 * The playground's training step in Chromium beside the Node simd engine's (docs/playground.md),
 * measured in one run. The page (web/, built as `train playground` builds it) runs in headless
 * Chromium, its worker timing `steps` steps of its session (web/session.ts) on its engine, the simd
 * engine on one thread; Node runs the same session code on the simd engine with 1 thread and
 * with every core. Rounds alternate the two sides, so a slow spell of the shared machine slows
 * both; the ratio is the median over rounds of browser / Node within a round. Printed, never
 * asserted.
 *
 *   node --import tsx bench/playground.ts [--rounds 5] [--steps 200]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { servePlayground } from '../src/cli/playground.js';
import { loadDataset } from '../src/data/datasets.js';
import { simd } from '../src/linalg/engines/wasm.js';
import type { Engine } from '../src/linalg/engines/types.js';
import { useEngine } from '../src/linalg/matmul.js';
import { Session, configOf, dataOf } from '../web/session.js';
import type { FormValues } from '../web/protocol.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, steps: { type: 'string', default: '200' } } });
const ROUNDS = Number(values.rounds);
const STEPS = Number(values.steps);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODELS: { name: string; form: FormValues }[] = [
  { name: 'softmax (785×10, batch 200)', form: {} },
  { name: 'mlp (784-100-10, batch 200)', form: { model: 'mlp' } },
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

type Ask = (m: unknown, type: string) => Promise<{ msPerStep: number; engine: string }>;

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-playground-'));
  const { buildWeb } = (await import(pathToFileURL(path.join(root, 'web', 'build.mjs')).href)) as { buildWeb(o: string): Promise<{ sizes: Record<string, number> }> };
  const { sizes } = await buildWeb(tmp);
  const pg = await servePlayground(tmp, 0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  const page = await browser.newPage();
  await page.goto(pg.url);
  await page.waitForFunction(() => document.getElementById('status')!.textContent === 'paused', null, { timeout: 120_000 });
  const ask = (m: unknown, type: string) => page.evaluate(([m2, t]) => (window as unknown as { playground: { ask: Ask } }).playground.ask(m2, t as string), [m, type] as const);
  const raw = await loadDataset('mnist');
  console.log(JSON.stringify({ bundle: sizes, chromium: browser.version(), node: process.version, cores: os.availableParallelism() }));
  const rows: string[] = [];
  for (const m of MODELS) {
    for (const threads of [1, os.availableParallelism()]) {
      const engine = (await simd.start(threads)) as Engine;
      useEngine(engine);
      const cfg = configOf(m.form);
      const node = new Session({ ...cfg, iterations: 1e9 }, raw, dataOf(cfg, raw, engine), engine);
      await ask({ type: 'setup', form: { ...m.form, epochs: 1000 } }, 'snapshot');
      const ratios: number[] = [];
      const web: number[] = [];
      const nat: number[] = [];
      let webEngine = '';
      for (let r = 0; r < ROUNDS; r++) {
        const w = await ask({ type: 'bench', steps: STEPS }, 'bench');
        webEngine = w.engine;
        node.step(false);
        const t0 = performance.now();
        for (let i = 0; i < STEPS; i++) node.step(false);
        const n = (performance.now() - t0) / STEPS;
        web.push(w.msPerStep);
        nat.push(n);
        ratios.push(w.msPerStep / n);
        console.log(JSON.stringify({ model: m.name, round: r, browserMs: w.msPerStep, nodeMs: n, nodeThreads: threads }));
      }
      rows.push(`| ${m.name} | ${median(web).toFixed(2)} ms | ${median(nat).toFixed(2)} ms (${threads} thread${threads > 1 ? 's' : ''}) | ${median(ratios).toFixed(2)}× |`);
      console.error(`browser engine: ${webEngine}; node: ${engine.detail}`);
    }
  }
  console.log(['| model | browser step (simd, 1 thread) | Node step (simd) | browser / Node |', '|---|---|---|---|', ...rows].join('\n'));
  await browser.close();
  await pg.close();
  process.exit(0); // the simd engine's worker threads
}

await main();
