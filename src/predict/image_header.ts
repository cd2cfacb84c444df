/**
 * A PNG or JPEG file checked from its bytes before anything decodes it: its size in pixels from
 * its header (PNG IHDR, JPEG SOFn), so that a decompression bomb (a small file declaring 30,000 ×
 * 30,000 pixels) is refused before any pixel is allocated; and its structure walked to the end,
 * so that a truncated file is refused rather than decoded with the missing part grey.
 *
 *   PNG   the signature, IHDR first, every chunk whole with its CRC, IDAT present, IEND at the end.
 *         The bytes handed to the decoder keep only the chunks that make the pixels (IHDR, PLTE,
 *         tRNS, IDAT, IEND and the colour chunks gAMA, cHRM, sRGB, iCCP, sBIT); text, EXIF and
 *         private chunks are dropped. @napi-rs/canvas takes time quadratic in the size of a
 *         non-pixel chunk (whatever its type or place, even after IEND), and nothing in them
 *         changes a pixel. More than 16 MiB of them (PNG_MAX_METADATA) is refused: no ordinary
 *         image carries that much.
 *   JPEG  SOI, marker segments each whole, a SOFn before the first SOS, the entropy-coded data of
 *         each scan, and the EOI marker.
 */
import * as zlib from 'node:zlib';
import { DataError } from '../data/errors.js';

export type ImageKind = 'png' | 'jpeg';

export interface ImageHeader {
  kind: ImageKind;
  width: number;
  height: number;
  /** The bytes to decode: the file's own, or for a PNG its chunks without the dropped ones. */
  decodable: Uint8Array;
}

/** PNG or JPEG by their first bytes; null for anything else. */
export function imageKindOf(bytes: Uint8Array): ImageKind | null {
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Refuse an image of more than `maxPixels` pixels, before it is decoded: decoding holds 4 bytes a
 * pixel (a 30,000 × 30,000 image is 3.6 GB), whatever the size of the file.
 */
function checkPixels(file: string, width: number, height: number, maxPixels: number): void {
  if (width * height <= maxPixels) return;
  const mp = (n: number) => `${+(n / 1e6).toFixed(1)} megapixels`;
  throw new DataError(
    `${file} is ${width} × ${height} pixels (${mp(width * height)}), more than the limit of ${maxPixels} (${mp(maxPixels)}); give a smaller image, or raise the limit with --max-pixels (library: maxPixels)`,
  );
}

/** The refusal of a file whose structure is broken: `why` says where. */
function broken(file: string, kind: ImageKind, why: string): DataError {
  return new DataError(`${file}: this ${kind.toUpperCase()} file cannot be decoded (${why}); it may be truncated or corrupt`);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The chunks the decoder is given: those that make or colour the pixels. */
const PNG_KEPT = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND', 'gAMA', 'cHRM', 'sRGB', 'iCCP', 'sBIT']);
/** A kept chunk other than IDAT larger than this is dropped as well (an ICC profile is tens of KB). */
const PNG_MAX_KEPT_CHUNK = 1 << 20;
/** The most bytes of chunks that make no pixels (text, EXIF, XMP, private data) a PNG may hold: 16 MiB; a camera's metadata is tens of KB. */
export const PNG_MAX_METADATA = 16 << 20;

/** CRC-32 (ISO 3309, as PNG uses): zlib's where Node has it (20.15+), else a table. */
const crc32: (b: Uint8Array) => number = (zlib as { crc32?: (b: Uint8Array) => number }).crc32 ?? tableCrc32;

let CRC_TABLE: Uint32Array | null = null;
function tableCrc32(b: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const u16 = (b: Uint8Array, at: number) => (b[at] << 8) | b[at + 1];

/** Walk a PNG's chunks (see the file comment): its size, and the bytes of the chunks kept. */
export function pngHeader(file: string, b: Uint8Array, maxPixels: number): ImageHeader {
  const bad = (why: string) => broken(file, 'png', why);
  if (!PNG_SIGNATURE.every((v, i) => b[i] === v)) throw bad('its signature is damaged');
  const kept: Uint8Array[] = [b.subarray(0, 8)];
  let width = 0;
  let height = 0;
  let idat = false;
  let metadata = 0;
  let dropped = false;
  let end = 0;
  for (let at = 8; end === 0;) {
    if (at + 12 > b.length) throw bad(`it ends at byte ${b.length} with no IEND chunk`);
    const len = u32(b, at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    if (!/^[A-Za-z]{4}$/.test(type) || len > 0x7fffffff) throw bad(`no chunk at byte ${at}`);
    if (at + 12 + len > b.length) throw bad(`it ends at byte ${b.length}, inside its ${type} chunk of ${len} bytes, with no IEND chunk`);
    if (!PNG_KEPT.has(type) && (metadata += len) > PNG_MAX_METADATA) {
      throw new DataError(
        `${file}: its chunks that hold no pixels (text, EXIF, private data; here ${type}) come to more than ${PNG_MAX_METADATA} bytes (16 MiB); it is not an ordinary image. Save it again without its metadata`,
      );
    }
    if (crc32(b.subarray(at + 4, at + 8 + len)) !== u32(b, at + 8 + len)) throw bad(`its ${type} chunk at byte ${at} fails its CRC check`);
    if (at === 8) {
      if (type !== 'IHDR' || len !== 13) throw bad('it does not begin with an IHDR chunk');
      width = u32(b, at + 8);
      height = u32(b, at + 12);
      if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw bad(`its IHDR gives a size of ${width} × ${height}`);
      checkPixels(file, width, height, maxPixels);
    }
    const critical = (b[at + 4] & 0x20) === 0;
    if (critical && !PNG_KEPT.has(type)) throw bad(`it has a critical chunk ${type} that no decoder knows`);
    if (PNG_KEPT.has(type) && (type === 'IDAT' || len <= PNG_MAX_KEPT_CHUNK)) kept.push(b.subarray(at, at + 12 + len));
    else dropped = true;
    idat ||= type === 'IDAT';
    at += 12 + len;
    if (type === 'IEND') end = at;
  }
  if (!idat) throw bad('it has no IDAT chunk: no pixels');
  return { kind: 'png', width, height, decodable: dropped ? concat(kept) : b.subarray(0, end) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** SOFn markers, which give a frame's size: C0-CF but DHT (C4), JPG (C8) and DAC (CC). */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** The end of the entropy-coded data that starts at `at`: the next marker that is not a restart (RSTn), a stuffed 0xFF00 or fill. */
function scanEnd(b: Uint8Array, at: number): number {
  for (let i = at; ;) {
    i = b.indexOf(0xff, i);
    if (i < 0 || i + 1 >= b.length) return -1;
    const m = b[i + 1];
    if (m === 0x00 || (m >= 0xd0 && m <= 0xd7)) i += 2;
    else if (m === 0xff) i += 1;
    else return i;
  }
}

/** Walk a JPEG's markers to its EOI (see the file comment): its frame's size. */
export function jpegHeader(file: string, b: Uint8Array, maxPixels: number): ImageHeader {
  const bad = (why: string) => broken(file, 'jpeg', why);
  let width = 0;
  let height = 0;
  let scans = 0;
  for (let at = 2; ;) {
    if (at + 2 > b.length) throw bad(`it ends at byte ${b.length} with no end-of-image marker${scans ? ', inside its image data' : ''}`);
    if (b[at] !== 0xff) throw bad(`no marker at byte ${at}`);
    const m = b[at + 1];
    if (m === 0xff) {
      at += 1; // fill before a marker
      continue;
    }
    if (m === 0xd9) break; // EOI
    if ((m >= 0xd0 && m <= 0xd7) || m === 0x01 || m === 0xd8) {
      at += 2; // markers without a segment
      continue;
    }
    if (at + 4 > b.length) throw bad(`it ends at byte ${b.length}, inside a marker, with no end-of-image marker`);
    const len = u16(b, at + 2);
    if (len < 2 || at + 2 + len > b.length) throw bad(`it ends at byte ${b.length}, inside a segment of ${len} bytes, with no end-of-image marker`);
    if (isSof(m)) {
      if (len < 8) throw bad(`its frame header at byte ${at} is too short`);
      height = u16(b, at + 5);
      width = u16(b, at + 7);
      if (width === 0 || height === 0) throw bad(`its frame header gives a size of ${width} × ${height}`);
      checkPixels(file, width, height, maxPixels);
    }
    at += 2 + len;
    if (m !== 0xda) continue; // SOS: its entropy-coded data follows
    if (width === 0) throw bad('its image data comes before any frame header');
    scans++;
    at = scanEnd(b, at);
    if (at < 0) throw bad(`it ends at byte ${b.length}, inside its image data, with no end-of-image marker`);
  }
  if (width === 0) throw bad('it has no frame header: no size');
  if (scans === 0) throw bad('it has no image data (no SOS marker)');
  return { kind: 'jpeg', width, height, decodable: b };
}

/** The header of a PNG or JPEG file's bytes (see the file comment) of at most `maxPixels` pixels; a DataError for anything else. */
export function imageHeader(file: string, bytes: Uint8Array, maxPixels: number): ImageHeader {
  const kind = imageKindOf(bytes);
  if (kind === null) throw new DataError(`${file} is not a PNG or JPEG image (its first bytes are neither); give .png or .jpg files`);
  return kind === 'png' ? pngHeader(file, bytes, maxPixels) : jpegHeader(file, bytes, maxPixels);
}
