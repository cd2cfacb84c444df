/**
 * The page: the form and buttons, the training worker (worker.ts) and what its snapshots show.
 * No number is computed here; the worker sends them. The page redraws at most once a frame, and
 * only when a snapshot has come since.
 */
import { Chart, accuracyChart, addRatios, barChart, lossChart, ratioChart, thin } from './charts.js';
import { drawingPad } from './draw.js';
import type { FormValues, FromWorker, Snapshot, ToWorker } from './protocol.js';
import { drawFilters, drawHeatmap, drawHistogram, drawImage } from './render.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = (id: string) => $<HTMLCanvasElement>(id);

const worker = new Worker(new URL('worker.js', import.meta.url), { type: 'module' });
/** A command to the worker; it clears the last error from the status line. */
function send(m: ToWorker, transfer: Transferable[] = []): void {
  state.error = null;
  worker.postMessage(m, transfer);
}

const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const charts = {
  loss: lossChart(canvas('loss')),
  accuracy: accuracyChart(canvas('accuracy')),
  ratio: ratioChart(canvas('ratio')),
  probs: barChart(canvas('probs'), CLASSES, ['P', 'P − onehot(y)', 'scores']),
  draw: barChart(canvas('draw-probs'), CLASSES, ['P']),
};

/** What the page has received: every loss, the ratios' history, the latest snapshot. */
const state = {
  losses: [] as { x: number; y: number }[],
  ratios: new Map<string, { x: number; y: number }[]>(),
  latest: null as Snapshot | null,
  dirty: false,
  /** Snapshots received: the tests check their rate. */
  snapshots: 0,
  gradcheck: null as Extract<FromWorker, { type: 'gradcheck' }> | null,
  prediction: null as Extract<FromWorker, { type: 'prediction' }> | null,
  waiting: new Map<string, (m: FromWorker) => void>(),
  /** The worker's last error, shown until the next command. */
  error: null as string | null,
  /** The run state the status line last showed. */
  shown: null as string | null,
  /** The dataset the page was last set up for. */
  shownDataset: null as string | null,
};

/** The form as config keys: empty fields are left out (the preset's value), numbers as numbers. */
function formValues(): FormValues {
  const out: Record<string, unknown> = {};
  const data = new FormData($<HTMLFormElement>('form'));
  const mlp = data.get('model') === 'mlp';
  data.forEach((v, k) => {
    const s = String(v).trim();
    if (s === '' || (!mlp && ['hidden', 'normalization', 'dropoutKeep'].includes(k))) return;
    if (k === 'hidden') out[k] = s.split(',').map((x) => (Number.isFinite(Number(x)) ? Number(x) : x));
    else out[k] = Number.isFinite(Number(s)) ? Number(s) : s;
  });
  return out as FormValues;
}

/** The data select shows `name`, and the MNIST-only panels (drawing a digit) show for MNIST only. */
function showDataset(name: string): void {
  const select = $<HTMLSelectElement>('form').querySelector<HTMLSelectElement>('[name=dataset]')!;
  if (select.value === name && state.shownDataset === name) return;
  select.value = state.shownDataset = name;
  document.querySelectorAll<HTMLElement>('.mnist-only').forEach((el) => (el.style.display = name === 'mnist' ? '' : 'none'));
}

function setup(): void {
  state.losses = [];
  state.ratios.clear();
  charts.ratio.data.datasets.length = 1;
  charts.ratio.data.datasets[0].data = [];
  status('setting up…');
  state.shown = null;
  send({ type: 'setup', form: formValues() });
}

function status(text: string, error = false): void {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function onSnapshot(s: Snapshot): void {
  for (const [x, y] of s.losses) state.losses.push({ x, y });
  if (s.ratios.length) addRatios(charts.ratio, state.ratios, s.it, s.ratios);
  state.latest = s;
  state.dirty = true;
  showDataset(String(s.config.dataset)); // a loaded checkpoint may switch it
  state.snapshots++;
}

function render(): void {
  requestAnimationFrame(render);
  const s = state.latest;
  if (!state.dirty || !s) return;
  state.dirty = false;
  charts.loss.data.datasets[0].data = thin(state.losses);
  charts.accuracy.data.datasets[0].data = s.epochs.map((e) => ({ x: e.epoch, y: e.trainAcc }));
  charts.accuracy.data.datasets[1].data = s.epochs.map((e) => ({ x: e.epoch, y: e.valAcc }));
  for (const c of [charts.loss, charts.accuracy, charts.ratio]) c.update('none');
  $('filters-title').textContent = s.filters.title;
  drawFilters(canvas('filters'), s.filters);
  canvas('filters').dataset.channels = String(s.filters.channels);
  $('shape').textContent = s.shape;
  renderHistograms(s);
  renderInspection(s);
  const val = s.epochs.at(-1)?.valAcc;
  $('progress').textContent =
    `iteration ${s.it} of ${s.iterations}, epoch ${s.epoch}, lr ${s.lr.toPrecision(3)}` + (val !== undefined ? `; val ${val.toFixed(4)}, best val ${s.bestValAcc?.toFixed(4)}` : '');
  $('progress').dataset.it = String(s.it);
  $('progress').dataset.bestVal = String(s.bestValAcc ?? '');
  $('engine').textContent = `engine: ${s.engine}`;
  // The run's state when it changes; a message in between (loaded, downloaded, an error) stays until then.
  const text = s.running ? 'training…' : s.done ? 'done: the schedule is over (Reset for a new run)' : 'paused';
  if (state.error === null && text !== state.shown) status((state.shown = text));
}

function renderHistograms(s: Snapshot): void {
  const box = $('hists');
  if (box.children.length !== s.layers.length) {
    box.replaceChildren(
      ...s.layers.map(() => {
        const f = document.createElement('figure');
        f.innerHTML = `<figcaption></figcaption><canvas width="200" height="90"></canvas><canvas width="200" height="90"></canvas>`;
        return f;
      }),
    );
  }
  s.layers.forEach((l, i) => {
    const f = box.children[i];
    f.querySelector('figcaption')!.textContent = `${l.name}: output (blue), gradient (orange)`;
    const cs = f.querySelectorAll('canvas');
    drawHistogram(cs[0], l.acts, '#1f77b4');
    drawHistogram(cs[1], l.grads, '#ff7f0e');
  });
}

function renderInspection(s: Snapshot): void {
  const x = s.inspect;
  drawImage(canvas('image'), x.pixels, x.shape);
  if (charts.probs.data.labels?.join() !== x.classes.join()) charts.probs.data.labels = x.classes.slice();
  const name = (k: number) => (x.classes[k] === String(k) ? String(k) : `${k} (${x.classes[k]})`);
  $('image-loss').textContent = `label ${name(x.label)}, predicted ${name(x.p.indexOf(Math.max(...x.p)))}; loss −ln P_y = ${x.loss.toFixed(4)}`;
  charts.probs.data.datasets[0].data = x.p;
  charts.probs.data.datasets[1].data = x.dp;
  charts.probs.data.datasets[2].data = x.scores;
  charts.probs.update('none');
  drawHeatmap(canvas('jacobian'), x.jacobian, x.p.length);
  canvas('jacobian').dataset.values = JSON.stringify(x.jacobian);
}

function renderGradcheck(m: Extract<FromWorker, { type: 'gradcheck' }>): void {
  state.gradcheck = m;
  const v = $('gc-verdict');
  v.textContent = `${m.pass ? 'PASS' : 'FAIL'}: every judged relative error ${m.pass ? '≤' : 'is not ≤'} ${m.threshold} (float64, h = 1e-5, ${m.rowsUsed} dev rows)`;
  v.className = m.pass ? 'pass' : 'fail';
  const rows = m.params.flatMap((p) =>
    p.rows.map(
      (r) =>
        `<tr><td>${p.name}[${r.index}]</td><td>${r.analytic.toExponential(4)}</td><td>${r.numeric.toExponential(4)}</td><td>${r.relError.toExponential(2)}</td><td>${r.resolved ? '' : 'below δ'}</td></tr>`,
    ),
  );
  $('gc-table').innerHTML = `<tr><th>coordinate</th><th>analytic</th><th>numeric</th><th>rel. error</th><th></th></tr>${rows.join('')}`;
}

function downloadCheckpoint(m: Extract<FromWorker, { type: 'checkpoint' }>): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([m.bytes as unknown as BlobPart], { type: 'application/octet-stream' }));
  a.download = m.name;
  document.body.append(a);
  a.click();
  a.remove();
  status(`downloaded ${m.name}${m.valAcc !== null ? ` (val ${m.valAcc.toFixed(4)})` : ' (no epoch yet: the current parameters)'}`);
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  const waiter = state.waiting.get(m.type);
  if (waiter) {
    state.waiting.delete(m.type);
    waiter(m);
  }
  if (m.type === 'snapshot') onSnapshot(m);
  else if (m.type === 'status') status(m.text);
  else if (m.type === 'error') {
    state.error = m.message;
    status(`error: ${m.message}`, true);
  } else if (m.type === 'gradcheck') renderGradcheck(m);
  else if (m.type === 'checkpoint') downloadCheckpoint(m);
  else if (m.type === 'prediction') {
    state.prediction = m;
    $('prediction').textContent = `prediction: ${m.predicted} (P ${m.p[m.predicted].toFixed(3)})`;
    charts.draw.data.datasets[0].data = m.p;
    charts.draw.update('none');
  }
};

/** Ask the worker and wait for its answer of type `type` (the tests and bench/playground.ts use this through window.playground). */
function ask<T extends FromWorker['type']>(m: ToWorker, type: T): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve) => {
    state.waiting.set(type, resolve as (m: FromWorker) => void);
    send(m);
  });
}

function wire(): void {
  $('start').onclick = () => send({ type: 'run' });
  $('pause').onclick = () => send({ type: 'pause' });
  $('step').onclick = () => send({ type: 'step' });
  $('reset').onclick = setup;
  $('gradcheck').onclick = () => {
    $('gc-verdict').textContent = 'checking…';
    send({ type: 'gradcheck' });
  };
  $('download').onclick = () => send({ type: 'checkpoint' });
  $<HTMLInputElement>('load').onchange = async (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    const bytes = new Uint8Array(await f.arrayBuffer());
    state.losses = [];
    send({ type: 'load', bytes, name: f.name }, [bytes.buffer]);
  };
  const index = $<HTMLInputElement>('index');
  index.onchange = () => send({ type: 'inspect', index: Number(index.value) });
  $('random').onclick = () => {
    index.value = String(crypto.getRandomValues(new Uint32Array(1))[0] % 55000); // a UI choice, not training's randomness (the worker keeps it within the split)
    index.onchange?.(new Event('change'));
  };
  const pad = drawingPad(canvas('draw'), (pixels) => send({ type: 'predict', pixels }, [pixels.buffer]));
  $('clear').onclick = () => pad.clear();
  const model = $<HTMLSelectElement>('form').querySelector<HTMLSelectElement>('[name=model]')!;
  const showMlp = () => document.querySelectorAll<HTMLElement>('.mlp').forEach((el) => (el.style.display = model.value === 'mlp' ? '' : 'none'));
  model.addEventListener('change', showMlp);
  showMlp();
  // The dataset sets the model's input (784 or 3072 numbers a row) and the presets: a new run.
  const dataset = $<HTMLSelectElement>('form').querySelector<HTMLSelectElement>('[name=dataset]')!;
  dataset.addEventListener('change', () => {
    showDataset(dataset.value);
    setup();
  });
  showDataset(dataset.value);
}

// For the tests and bench/playground.ts.
Object.assign(window, { Chart, playground: { state, ask, send } });
wire();
setup();
requestAnimationFrame(render);
