/**
 * The IDX format of the original MNIST files (http://yann.lecun.com/exdb/mnist/):
 *
 *   bytes 0-1   0x00 0x00
 *   byte  2     element type (0x08 = unsigned byte, the only one MNIST uses)
 *   byte  3     number of dimensions d
 *   4·d bytes   each dimension as a big-endian uint32
 *   then        the elements, row-major
 *
 * Files may be gzipped (`train-images-idx3-ubyte.gz`); they are recognised by their magic bytes.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataError } from './errors.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Largest element count accepted, so a corrupt header cannot ask for gigabytes. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Parse an IDX buffer of unsigned bytes. `name` is used in error messages. */
export function parseIdx(buf: Uint8Array, name: string): IdxArray {
  if (buf.length < 4) throw new DataError(`${name}: ${buf.length} bytes is too short for an IDX file (the header alone is at least 8)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError(`${name}: not an IDX file (first two bytes are ${hex(buf[0])} ${hex(buf[1])}, expected 0x00 0x00)`);
  }
  if (buf[2] !== 0x08) {
    throw new DataError(`${name}: IDX element type ${hex(buf[2])} is not supported (only 0x08, unsigned byte, as MNIST uses)`);
  }
  const ndim = buf[3];
  if (ndim < 1 || ndim > 4) throw new DataError(`${name}: IDX header says ${ndim} dimensions; expected 1 to 4`);
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) {
    throw new DataError(`${name}: truncated IDX header (${buf.length} bytes, the header needs ${headerBytes})`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  if (count > MAX_ELEMENTS) throw new DataError(`${name}: IDX header dimensions [${dims.join(', ')}] are implausibly large; the file is corrupt`);
  const expected = headerBytes + count;
  if (buf.length !== expected) {
    const what = buf.length < expected ? 'truncated' : 'has trailing bytes';
    throw new DataError(
      `${name}: ${what}: the header says [${dims.join('×')}], which needs ${expected} bytes, but the file has ${buf.length}. ` +
        'Re-download or reinstall it (for the built-in MNIST: rm -rf node_modules && npm ci).',
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/** Read and parse an IDX file, gunzipping it first if it is gzipped. */
export function readIdxFile(file: string): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      throw new DataError(`${file}: the gzip data is corrupt (${(e as Error).message}); re-download the file`);
    }
  }
  return parseIdx(buf, file);
}

/** Encode an IDX file of unsigned bytes (used by tests to write fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

function hex(b: number | undefined): string {
  return b === undefined ? 'none' : `0x${b.toString(16).padStart(2, '0')}`;
}
