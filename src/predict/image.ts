/**
 * A PNG or JPEG file as the pixel row a model takes: decoded by @napi-rs/canvas (no decoder of
 * our own), composited over white where it has transparency, centre-cropped to a square when it
 * is not one, resized to the model's image (32×32 for CIFAR-10, 28×28 for MNIST) with the
 * canvas' high-quality smoothing, and laid out as the datasets lay a row: height × width ×
 * channels bytes (data/datasets.ts). An image already of the model's size is copied pixel for
 * pixel, so a PNG written from a dataset row decodes back to exactly that row.
 *
 *   grey (1 channel)  round(0.299·R + 0.587·G + 0.114·B) (ITU-R BT.601), so R = G = B = v gives v
 *   invert            v → 255 − v, after the grey conversion (MNIST digits are white on black)
 */
import * as fs from 'node:fs';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { DataError } from '../data/errors.js';
import { readRegularFile } from '../data/files.js';
import { imageHeader } from './image_header.js';

export { imageKindOf } from './image_header.js';

/** The file name endings read when a folder is given. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export interface DecodedImage {
  /** h·w·c bytes, HWC order, as a dataset row. */
  pixels: Uint8Array;
  /** The size of the file's image before any crop or resize. */
  width: number;
  height: number;
  /** Mean grey of the image's border (its outermost rows and columns), 0-255: bright for dark-on-light drawings. */
  borderMean: number;
}

/**
 * The most pixels (width × height) an image may declare before predict refuses it, unread:
 * 50 megapixels, above a 48-megapixel phone photo. Decoding holds 4 bytes a pixel, so this is
 * what bounds the memory a hostile image can take. Raised with --max-pixels (library: maxPixels).
 */
export const DEFAULT_MAX_PIXELS = 50_000_000;

/** The largest image file read: 64 MiB, or a byte a pixel of a raised --max-pixels. */
export function maxImageBytes(maxPixels: number): number {
  return Math.max(64 * 1024 * 1024, maxPixels);
}

export interface DecodeOptions {
  /** Invert grey values (255 − v) after decoding. */
  invert?: boolean;
  /** Refuse an image of more pixels than this, before decoding it (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

/** The bytes of image file `file`: a regular file (not a FIFO, a device, a folder) of a bounded size (data/files.ts). */
function readImageBytes(file: string, maxPixels: number): Buffer {
  try {
    return readRegularFile(file, maxImageBytes(maxPixels), 'a PNG or JPEG image');
  } catch (e) {
    const why = danglingLink(file);
    if (why) throw new DataError(why);
    throw e;
  }
}

/** The words for `file` when it is a symlink to nothing, else null. */
function danglingLink(file: string): string | null {
  try {
    if (!fs.lstatSync(file).isSymbolicLink() || fs.existsSync(file)) return null;
    return `${file} is a symbolic link to ${fs.readlinkSync(file)}, which does not exist; give PNG or JPEG images, or a folder of them`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `${file}: no such file; give PNG or JPEG images, or a folder of them`;
    return null;
  }
}

/**
 * Decode image file `file` into a row of shape `shape` = [h, w, c] (c = 1 grey or 3 RGB).
 * Throws a DataError naming the file when it is missing or not a regular file, too large, not a
 * PNG or JPEG, truncated or corrupt (predict/image_header.ts), of more than `maxPixels` pixels,
 * or does not decode.
 */
export async function decodeImageFile(file: string, shape: readonly [number, number, number], opts: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const header = imageHeader(file, readImageBytes(file, maxPixels), maxPixels);
  const kind = header.kind;
  let img;
  try {
    img = await loadImage(Buffer.from(header.decodable.buffer, header.decodable.byteOffset, header.decodable.byteLength));
  } catch (e) {
    throw new DataError(`${file}: this ${kind.toUpperCase()} file cannot be decoded (${(e as Error).message}); it may be truncated or corrupt`);
  }
  if (!(img.width > 0 && img.height > 0)) throw new DataError(`${file}: this ${kind.toUpperCase()} file cannot be decoded (it has no pixels); it may be truncated or corrupt`);
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3) throw new Error(`decodeImageFile: images of ${c} channels are not supported (1 grey or 3 RGB)`);
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, w, h);
  if (img.width === w && img.height === h) {
    ctx.drawImage(img, 0, 0);
  } else {
    // The largest centred square (or the centred crop of the model's aspect ratio), scaled down.
    const scale = Math.min(img.width / w, img.height / h);
    const sw = w * scale;
    const sh = h * scale;
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img, (img.width - sw) / 2, (img.height - sh) / 2, sw, sh, 0, 0, w, h);
  }
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const pixels = new Uint8Array(h * w * c);
  for (let p = 0; p < h * w; p++) {
    const R = rgba[4 * p];
    const G = rgba[4 * p + 1];
    const B = rgba[4 * p + 2];
    if (c === 3) {
      pixels[3 * p] = R;
      pixels[3 * p + 1] = G;
      pixels[3 * p + 2] = B;
    } else {
      pixels[p] = Math.min(255, Math.round(0.299 * R + 0.587 * G + 0.114 * B));
    }
  }
  let border = 0;
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (y !== 0 && y !== h - 1 && x !== 0 && x !== w - 1) continue;
      for (let k = 0; k < c; k++) border += pixels[(y * w + x) * c + k];
      count += c;
    }
  }
  if (opts.invert) for (let i = 0; i < pixels.length; i++) pixels[i] = 255 - pixels[i];
  return { pixels, width: img.width, height: img.height, borderMean: border / count };
}

/** PNG bytes of a dataset row of shape [h, w, c] (the inverse of decodeImageFile for an image of the model's size). */
export async function pngOfRow(row: Uint8Array, shape: readonly [number, number, number]): Promise<Buffer> {
  const [h, w, c] = shape;
  const canvas = createCanvas(w, h);
  const ctx = canvas.getContext('2d');
  const id = ctx.createImageData(w, h);
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) id.data[4 * p + k] = row[p * c + (c === 3 ? k : 0)];
    id.data[4 * p + 3] = 255;
  }
  ctx.putImageData(id, 0, 0);
  return canvas.encode('png');
}

/**
 * The image files that `inputs` name: files as given (in that order), folders as their .png,
 * .jpg and .jpeg files in name order. Throws a DataError for a path that does not exist and for
 * a folder that holds no image.
 */
export function listImageFiles(inputs: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new DataError(`${p}: no such file or folder; give PNG or JPEG images, or a folder of them`);
    }
    if (!st.isDirectory()) {
      out.push(p);
      continue;
    }
    const found = fs
      .readdirSync(p)
      .filter((n) => IMAGE_EXTENSIONS.some((e) => n.toLowerCase().endsWith(e)))
      .sort()
      .map((n) => `${p.replace(/\/+$/, '')}/${n}`);
    if (found.length === 0) throw new DataError(`the folder ${p} holds no ${IMAGE_EXTENSIONS.join(', ')} files`);
    out.push(...found);
  }
  return out;
}
