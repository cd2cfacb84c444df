/**
 * A model's summary, as Keras's `model.summary()`: its layers in order, each with its output
 * shape and its parameter count, and the totals (trainable, and the running statistics that are
 * not). Computed from the spec alone: the parameter arrays are the ones the model allocates
 * (models/memory.ts paramCounts, the spec's layout in buffer order), grouped by the layer they
 * belong to; nothing is allocated here.
 *
 *   spec → rows [{ layer, output (N,·), params }] → total
 */
import { type LayerCount, paramCounts } from './memory.js';
import type { ModelSpec } from './model.js';

/** One layer of the summary: its name, its output shape per batch of N rows, and its parameter arrays. */
export interface SummaryLayer {
  layer: string;
  /** The output shape, N the batch's rows: [N, 100]. */
  output: [string, number];
  /** Numbers in its parameter arrays (running statistics included). */
  params: number;
  /** Its parameter arrays, by name, as the checkpoint and the exports name them. */
  arrays: string[];
}

export interface ModelSummary {
  spec: ModelSpec;
  layers: SummaryLayer[];
  /** Numbers in all the parameter arrays: the length of the model's parameter buffer. */
  total: number;
  trainable: number;
  /** Batch norm's running mean and variance: in the buffer, never trained. */
  nonTrainable: number;
}

/** The layer a parameter array belongs to: W1, b1 → affine1; gamma1, beta1, running_* 1 → the normalization of layer 1. */
function layerOf(name: string, spec: ModelSpec): string {
  if (spec.kind === 'softmax') return 'affine';
  const m = /^(W|b|gamma|beta|running_mean|running_var)(\d+)$/.exec(name);
  if (!m) throw new Error(`modelSummary: no layer holds the parameter array ${name}`);
  return `${m[1] === 'W' || m[1] === 'b' ? 'affine' : spec.normalization}${m[2]}`;
}

/** The layers of `spec` in the order the forward pass runs them, with their output widths. */
function layersOf(spec: ModelSpec): { layer: string; width: number }[] {
  const C = spec.numClasses;
  const loss = spec.loss ?? 'softmax';
  if (spec.kind === 'softmax')
    return [
      { layer: 'affine', width: C },
      { layer: `${loss} loss`, width: C },
    ];
  const out: { layer: string; width: number }[] = [];
  spec.hidden.forEach((h, i) => {
    out.push({ layer: `affine${i + 1}`, width: h });
    if (spec.normalization) out.push({ layer: `${spec.normalization}${i + 1}`, width: h });
    out.push({ layer: `relu${i + 1}`, width: h });
    if (spec.dropoutKeep !== undefined && spec.dropoutKeep !== 1) out.push({ layer: `dropout${i + 1}`, width: h });
  });
  out.push({ layer: `affine${spec.hidden.length + 1}`, width: C }, { layer: `${loss} loss`, width: C });
  return out;
}

/** The summary of `spec`: its layers, output shapes and parameter counts, and the totals. */
export function modelSummary(spec: ModelSpec): ModelSummary {
  const counts = paramCounts(spec);
  const byLayer = new Map<string, LayerCount[]>();
  for (const c of counts) byLayer.set(layerOf(c.name, spec), [...(byLayer.get(layerOf(c.name, spec)) ?? []), c]);
  const layers: SummaryLayer[] = [{ layer: 'input', output: ['N', spec.inputDim], params: 0, arrays: [] }];
  for (const { layer, width } of layersOf(spec)) {
    const own = byLayer.get(layer) ?? [];
    layers.push({ layer, output: ['N', width], params: own.reduce((n, c) => n + c.numbers, 0), arrays: own.map((c) => c.name) });
  }
  const total = counts.reduce((n, c) => n + c.numbers, 0);
  const nonTrainable = counts.filter((c) => c.stat).reduce((n, c) => n + c.numbers, 0);
  return { spec, layers, total, trainable: total - nonTrainable, nonTrainable };
}

/** The summary as Keras prints it: a table of layer, output shape and parameters, then the totals. */
export function formatSummary(s: ModelSummary): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const rows = s.layers.map((l) => [l.layer, `(${l.output.join(', ')})`, n(l.params), l.arrays.join(' ')]);
  const head = ['Layer', 'Output shape', 'Params', 'Arrays'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 2 ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(line(head).length);
  return [
    line(head),
    rule,
    ...rows.map(line),
    rule,
    `Total params: ${n(s.total)}`,
    `Trainable params: ${n(s.trainable)}`,
    `Non-trainable params: ${n(s.nonTrainable)}${s.nonTrainable ? ' (batch norm running statistics)' : ''}`,
  ];
}
