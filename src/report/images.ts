/**
 * Pictures of what a model learned, as RGBA pixels, and their PNG encoding (by @napi-rs/canvas,
 * a maintained Skia binding; no hand-written encoder).
 *
 *   weightTemplates  softmax: one image per class from W's column, rescaled over all of W to
 *                    0-255 as cs231n's notebook does (wimg = 255·(w − min) / (max − min))
 *   weightGrid       MLP first layer: one tile per hidden unit, each tile rescaled on its own,
 *                    as cs231n's visualize_grid does
 *   pixelsOfRow      a data row back to its pixels (for misclassified examples)
 */
import { createCanvas } from '@napi-rs/canvas';
import type { Mat } from '../linalg/mat.js';

export interface Rgba {
  width: number;
  height: number;
  /** width·height·4 bytes. */
  data: Uint8ClampedArray;
}

/** Pixels (HWC, C = 1 or 3, values already 0-255) to RGBA. */
export function toRgba(pixels: ArrayLike<number>, shape: [number, number, number]): Rgba {
  const [h, w, c] = shape;
  const data = new Uint8ClampedArray(w * h * 4);
  for (let p = 0; p < w * h; p++) {
    for (let k = 0; k < 3; k++) data[4 * p + k] = pixels[p * c + (c === 3 ? k : 0)];
    data[4 * p + 3] = 255;
  }
  return { width: w, height: h, data };
}

/** Softmax weight templates: column `c` of W (bias row dropped) as an image, one per class. */
export function weightTemplates(W: Mat, shape: [number, number, number]): Rgba[] {
  const pixels = shape[0] * shape[1] * shape[2];
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < W.cols; c++) {
      const v = W.data[i * W.cols + c];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  const span = hi - lo || 1;
  const out: Rgba[] = [];
  for (let c = 0; c < W.cols; c++) {
    const img = new Float64Array(pixels);
    for (let i = 0; i < pixels; i++) img[i] = (255 * (W.data[i * W.cols + c] - lo)) / span;
    out.push(toRgba(img, shape));
  }
  return out;
}

/** MLP first-layer weights W1 (D, H): the first `max` hidden units as a grid of tiles, 1 px apart. */
export function weightGrid(W1: Mat, shape: [number, number, number], max = 100): Rgba {
  const [h, w, ch] = shape;
  const n = Math.min(W1.cols, max);
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const pad = 1;
  const width = cols * (w + pad) + pad;
  const height = rows * (h + pad) + pad;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  const pixels = h * w * ch;
  for (let u = 0; u < n; u++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < pixels; i++) {
      const v = W1.data[i * W1.cols + u];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo || 1;
    const x0 = pad + (u % cols) * (w + pad);
    const y0 = pad + Math.floor(u / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = 4 * ((y0 + y) * width + x0 + x);
        for (let k = 0; k < 3; k++) {
          const i = (y * w + x) * ch + (ch === 3 ? k : 0);
          data[o + k] = (255 * (W1.data[i * W1.cols + u] - lo)) / span;
        }
        data[o + 3] = 255;
      }
    }
  }
  return { width, height, data };
}

/** A preprocessed row back to its 0-255 pixels (HWC bytes): x/scale + mean, rounded (exact to rounding) and clamped. */
export function pixelsOfRow(row: ArrayLike<number>, mean: Float32Array, scale: number): Uint8Array {
  const px = new Uint8ClampedArray(mean.length);
  for (let j = 0; j < mean.length; j++) px[j] = Math.round(row[j] / scale + mean[j]);
  return new Uint8Array(px.buffer);
}

/** PNG bytes of an image, enlarged `zoom` times with nearest-neighbour (pixels stay crisp). */
export async function pngOf(img: Rgba, zoom = 1): Promise<Buffer> {
  const src = createCanvas(img.width, img.height);
  const sctx = src.getContext('2d');
  const id = sctx.createImageData(img.width, img.height);
  id.data.set(img.data);
  sctx.putImageData(id, 0, 0);
  if (zoom === 1) return src.encode('png');
  const dst = createCanvas(img.width * zoom, img.height * zoom);
  const dctx = dst.getContext('2d');
  dctx.imageSmoothingEnabled = false;
  dctx.drawImage(src, 0, 0, img.width * zoom, img.height * zoom);
  return dst.encode('png');
}

/** Several images side by side with a caption under each (the PNG twin of a strip in the page). */
export async function stripPng(imgs: Rgba[], captions: string[], zoom: number): Promise<Buffer> {
  const tileW = Math.max(...imgs.map((i) => i.width)) * zoom;
  const tileH = Math.max(...imgs.map((i) => i.height)) * zoom;
  const cap = 16;
  const gap = 8;
  const cell = Math.max(tileW, 84);
  const canvas = createCanvas(imgs.length * (cell + gap) + gap, tileH + cap + 2 * gap);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.font = '11px sans-serif';
  ctx.textAlign = 'center';
  ctx.fillStyle = '#222';
  for (let i = 0; i < imgs.length; i++) {
    const c = createCanvas(imgs[i].width, imgs[i].height);
    const cctx = c.getContext('2d');
    const id = cctx.createImageData(imgs[i].width, imgs[i].height);
    id.data.set(imgs[i].data);
    cctx.putImageData(id, 0, 0);
    const x = gap + i * (cell + gap);
    ctx.drawImage(c, x + (cell - tileW) / 2, gap, tileW, tileH);
    ctx.fillText(captions[i], x + cell / 2, gap + tileH + cap - 3, cell);
  }
  return canvas.encode('png');
}

/**
 * Rows of images, one row per group (features.ipynb's misclassified grid: a row per predicted
 * class), each row headed by its label at the left and each image captioned under it.
 */
export async function gridPng(rows: { label: string; imgs: Rgba[]; captions: string[] }[], zoom: number): Promise<Buffer> {
  const all = rows.flatMap((r) => r.imgs);
  const tileW = Math.max(1, ...all.map((i) => i.width)) * zoom;
  const tileH = Math.max(1, ...all.map((i) => i.height)) * zoom;
  const [cap, gap, head] = [16, 8, 90];
  const cell = Math.max(tileW, 84);
  const perRow = Math.max(1, ...rows.map((r) => r.imgs.length));
  const rowH = tileH + cap + gap;
  const canvas = createCanvas(head + perRow * (cell + gap) + gap, rows.length * rowH + gap);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#222';
  rows.forEach((r, j) => {
    const y = gap + j * rowH;
    ctx.font = 'bold 12px sans-serif';
    ctx.textAlign = 'left';
    ctx.fillText(r.label, gap, y + tileH / 2, head - 2 * gap);
    ctx.font = '11px sans-serif';
    ctx.textAlign = 'center';
    r.imgs.forEach((img, i) => {
      const c = createCanvas(img.width, img.height);
      const cctx = c.getContext('2d');
      const id = cctx.createImageData(img.width, img.height);
      id.data.set(img.data);
      cctx.putImageData(id, 0, 0);
      const x = head + i * (cell + gap);
      ctx.drawImage(c, x + (cell - tileW) / 2, y, tileW, tileH);
      ctx.fillText(r.captions[i], x + cell / 2, y + tileH + cap - 3, cell);
    });
  });
  return canvas.encode('png');
}

/**
 * A matrix as a grey-scale image, one pixel per entry: its smallest value black, its largest
 * white (matplotlib's imshow with the gray colour map, as knn.ipynb shows its distance matrix).
 */
export function greyImage(m: Mat): Rgba {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo || 1;
  const data = new Uint8ClampedArray(m.rows * m.cols * 4);
  for (let p = 0; p < m.rows * m.cols; p++) {
    const g = Math.round((255 * (m.data[p] - lo)) / span);
    data[4 * p] = g;
    data[4 * p + 1] = g;
    data[4 * p + 2] = g;
    data[4 * p + 3] = 255;
  }
  return { width: m.cols, height: m.rows, data };
}
