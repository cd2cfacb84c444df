/**
 * Hostile image files for predict's tests, written byte by byte: decompression bombs (a PNG whose
 * IHDR declares 30,000 × 30,000 pixels over a valid zlib stream of a few hundred KB, a JPEG whose
 * SOF declares the same), a PNG with a huge text chunk, a truncated JPEG.
 */
import * as zlib from 'node:zlib';
import { createCanvas } from '@napi-rs/canvas';

/** CRC-32 of PNG chunks (a table, so the tests do not lean on the code they test). */
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) {
    c ^= b[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC. `crcOf` is for a chunk too large for the bit-by-bit CRC above (zlib's). */
export function pngChunk(type: string, data: Uint8Array, crcOf: (b: Uint8Array) => number = crc32): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'ascii');
  b.set(data, 8);
  b.writeUInt32BE(crcOf(b.subarray(4, 8 + data.length)), 8 + data.length);
  return b;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A zlib stream of `n` zero bytes, built without compressing them: one fully flushed deflate
 * block of 1 MiB of zeros (byte-aligned, no history) repeated, the rest as another such block, an
 * empty final block, and the Adler-32 of n zeros (a = 1, b = n mod 65521).
 */
function zlibOfZeros(n: number): Buffer {
  const MiB = 1 << 20;
  const block = (len: number) => zlib.deflateRawSync(Buffer.alloc(len), { flush: zlib.constants.Z_FULL_FLUSH, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const whole = block(MiB);
  const parts: Buffer[] = [Buffer.from([0x78, 0x9c])];
  for (let i = 0; i < Math.floor(n / MiB); i++) parts.push(whole);
  if (n % MiB) parts.push(block(n % MiB));
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(0x0300, 0); // an empty final block: BFINAL 1, BTYPE 01 (fixed Huffman), end-of-block 0000000
  tail.writeUInt32BE((n % 65521) * 65536 + 1, 2);
  parts.push(tail);
  return Buffer.concat(parts);
}

/** A valid PNG of `width` × `height` black pixels, grey (colour type 0) or RGBA (6), 8 bits: a decompression bomb for large sizes. */
export function pngBomb(width: number, height: number, colour: 'grey' | 'rgba'): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colour === 'grey' ? 0 : 6;
  const rowBytes = 1 + width * (colour === 'grey' ? 1 : 4); // the filter byte (0, none), then the pixels
  const idat = zlibOfZeros(rowBytes * height);
  const idats: Buffer[] = [];
  for (let at = 0; at < idat.length; at += 1 << 16) idats.push(pngChunk('IDAT', idat.subarray(at, at + (1 << 16))));
  return Buffer.concat([SIGNATURE, pngChunk('IHDR', ihdr), ...idats, pngChunk('IEND', new Uint8Array(0))]);
}

/** A 28×28 PNG with a tEXt chunk of `bytes` bytes before its IDAT. */
export async function pngWithText(bytes: number): Promise<Buffer> {
  const png = await createCanvas(28, 28).encode('png');
  const text = Buffer.concat([Buffer.from('Comment\0'), Buffer.alloc(bytes - 8, 0x41)]);
  const chunk = pngChunk('tEXt', text, (b) => (zlib as unknown as { crc32: (b: Uint8Array) => number }).crc32?.(b) ?? crc32(b));
  const ihdrEnd = 8 + 25;
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk, png.subarray(ihdrEnd)]);
}

/** A JPEG of `side` × `side` pixels of noise, seeded: 70 KB or so for side 300. */
export async function noiseJpeg(side: number): Promise<Buffer> {
  const c = createCanvas(side, side);
  const ctx = c.getContext('2d');
  const id = ctx.createImageData(side, side);
  let s = 12345;
  for (let i = 0; i < id.data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    id.data[i] = i % 4 === 3 ? 255 : s >>> 24;
  }
  ctx.putImageData(id, 0, 0);
  return c.encode('jpeg', 90);
}

/**
 * A grey baseline JPEG of about 160 bytes written by hand, declaring `width` × `height` in its SOF0:
 * quantisation of ones, a DC and an AC Huffman table of one code each (DC difference 0; end of
 * block), and a scan of `blocks` blocks of 2 bits each, all mid-grey, then EOI. A decompression
 * bomb for large sizes (its scan covers 64 blocks; a decoder fills the rest); a whole image for
 * sizes of at most 64 blocks of 8×8.
 */
export function jpegBomb(width: number, height: number, blocks = 64): Buffer {
  const seg = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const table = (cls: number) => seg(0xc4, [cls << 4, 1, ...Array(15).fill(0), 0x00]);
  return Buffer.from([
    0xff,
    0xd8,
    ...seg(0xdb, [0x00, ...Array(64).fill(1)]),
    ...seg(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...table(0),
    ...table(1),
    ...seg(0xda, [1, 1, 0x00, 0, 63, 0]),
    ...Array(Math.ceil(blocks / 4)).fill(0x00),
    0xff,
    0xd9,
  ]);
}
