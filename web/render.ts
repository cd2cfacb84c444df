/**
 * The page's pictures that are not charts, drawn straight on canvases: weight templates or
 * filters (grey or colour), histograms, the inspected image, the Jacobian heat map.
 */
import type { Histogram } from './protocol.js';

/** One template's values as bytes, its own min → 0 and max → 255 (over all its channels, as cs231n shows its colour templates). */
function scaled(data: Float32Array, off: number, n: number): Uint8ClampedArray {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = off; i < off + n; i++) {
    lo = Math.min(lo, data[i]);
    hi = Math.max(hi, data[i]);
  }
  const out = new Uint8ClampedArray(n);
  for (let i = 0; i < n; i++) out[i] = hi > lo ? (255 * (data[off + i] - lo)) / (hi - lo) : 128;
  return out;
}

/** side×side pixels of `channels` (1: grey, 3: RGB) values each, HWC, as RGBA. */
function rgba(img: ImageData, v: ArrayLike<number>, channels: number): void {
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const at = i * channels;
    const [r, g, b] = channels === 3 ? [v[at], v[at + 1], v[at + 2]] : [v[at], v[at], v[at]];
    img.data.set([r, g, b, 255], 4 * i);
  }
}

/** `count` side×side templates in a row (wrapping), each scaled up to `cell` pixels; grey, or colour for 3 channels. */
export function drawFilters(c: HTMLCanvasElement, f: { side: number; channels: number; count: number; data: Float32Array }): void {
  const cell = f.count <= 10 ? 84 : 42;
  const perRow = Math.max(1, Math.floor(c.width / (cell + 4)));
  const rows = Math.ceil(f.count / perRow);
  const height = rows * (cell + 4);
  if (c.height !== height) c.height = height;
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  g.imageSmoothingEnabled = false;
  const n = f.side * f.side * f.channels;
  const tile = document.createElement('canvas');
  tile.width = tile.height = f.side;
  const tg = tile.getContext('2d')!;
  for (let k = 0; k < f.count; k++) {
    const img = tg.createImageData(f.side, f.side);
    rgba(img, scaled(f.data, k * n, n), f.channels);
    tg.putImageData(img, 0, 0);
    g.drawImage(tile, (k % perRow) * (cell + 4), Math.floor(k / perRow) * (cell + 4), cell, cell);
  }
}

/** A histogram as bars, with its range under it. */
export function drawHistogram(c: HTMLCanvasElement, h: Histogram, color: string): void {
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  const max = Math.max(1, ...h.counts);
  const plotH = c.height - 14;
  const w = c.width / h.counts.length;
  g.fillStyle = color;
  h.counts.forEach((n, i) => {
    const bh = (plotH * n) / max;
    g.fillRect(i * w + 0.5, plotH - bh, Math.max(1, w - 1), bh);
  });
  g.fillStyle = '#333';
  g.font = '10px sans-serif';
  g.fillText(h.lo.toPrecision(2), 0, c.height - 2);
  const hi = h.hi.toPrecision(2);
  g.fillText(hi, c.width - g.measureText(hi).width, c.height - 2);
}

/** An image of `shape` (height, width, channels: HWC bytes, grey or RGB), scaled to the canvas. */
export function drawImage(c: HTMLCanvasElement, pixels: Uint8Array, shape: [number, number, number]): void {
  const tile = document.createElement('canvas');
  tile.width = shape[1];
  tile.height = shape[0];
  const tg = tile.getContext('2d')!;
  const img = tg.createImageData(shape[1], shape[0]);
  rgba(img, pixels, shape[2]);
  tg.putImageData(img, 0, 0);
  const g = c.getContext('2d')!;
  g.imageSmoothingEnabled = false;
  g.drawImage(tile, 0, 0, c.width, c.height);
}

/** A C×C matrix as a heat map: blue below 0, red above, white at 0, scaled by max |value|; labels 0…C−1. */
export function drawHeatmap(c: HTMLCanvasElement, m: number[], C: number): void {
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  const pad = 16;
  const cell = (Math.min(c.width, c.height) - pad) / C;
  const scale = Math.max(1e-12, ...m.map(Math.abs));
  for (let j = 0; j < C; j++) {
    for (let k = 0; k < C; k++) {
      const v = m[j * C + k] / scale;
      const a = Math.round(255 * (1 - Math.abs(v)));
      g.fillStyle = v >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
      g.fillRect(pad + k * cell, pad + j * cell, cell - 1, cell - 1);
    }
  }
  g.fillStyle = '#333';
  g.font = '10px sans-serif';
  for (let i = 0; i < C; i++) {
    g.fillText(String(i), pad + i * cell + cell / 2 - 3, 11);
    g.fillText(String(i), 3, pad + i * cell + cell / 2 + 3);
  }
}
