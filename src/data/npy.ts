/**
 * The .npy format, version 1.0 (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 *
 *   \x93NUMPY, major 1, minor 0, a uint16 little-endian header length HLEN, then HLEN bytes of an
 *   ASCII Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (N, D), }
 *   padded with spaces and ended by '\n' so that 10 + HLEN is a multiple of 64; then the data,
 *   C order, little-endian.
 *
 * Only what the feature export needs: float64 or float32 matrices (and vectors), written and read.
 */
import { constants as bufferConstants } from 'node:buffer';
import { writeFileAtomic } from '../runs/atomic.js';
import { readRegularFile } from './files.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyArray {
  descr: '<f8' | '<f4';
  shape: number[];
  data: Float64Array | Float32Array;
}

/** The bytes of a .npy v1.0 file holding `data` with `shape` (C order). */
export function encodeNpy(data: Float64Array | Float32Array, shape: number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) holds ${n} numbers, the data ${data.length}`);
  const descr = data instanceof Float64Array ? '<f8' : '<f4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  if (header.length > 0xffff) throw new Error('encodeNpy: header too long for version 1.0');
  const pre = Buffer.alloc(10);
  MAGIC.forEach((b, i) => (pre[i] = b));
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  // Typed arrays are little-endian on every platform Node runs on that this project supports.
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

/** Write `data` as a .npy file, atomically. */
export function writeNpy(file: string, data: Float64Array | Float32Array, shape: number[]): void {
  writeFileAtomic(file, encodeNpy(data, shape));
}

/** Parse a .npy v1.0/2.0 file of little-endian float64 or float32 in C order (what numpy.save writes for those). */
export function decodeNpy(buf: Uint8Array, name = 'the .npy file'): NpyArray {
  if (buf.length < 10 || MAGIC.some((b, i) => buf[i] !== b)) throw new Error(`${name} is not a .npy file (no \\x93NUMPY magic)`);
  const major = buf[6];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = Buffer.from(buf.subarray(start, start + hlen)).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if ((descr !== '<f8' && descr !== '<f4') || fortran !== 'False' || shapeText === undefined) {
    throw new Error(`${name}: only C-order little-endian float64/float32 arrays are read; the header is ${JSON.stringify(header.trim())}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const size = descr === '<f8' ? 8 : 4;
  const off = start + hlen;
  if (buf.length - off !== n * size) throw new Error(`${name}: shape (${shape.join(', ')}) needs ${n * size} data bytes, the file has ${buf.length - off}`);
  const bytes = new Uint8Array(buf.subarray(off)); // a copy, aligned
  const data = descr === '<f8' ? new Float64Array(bytes.buffer, 0, n) : new Float32Array(bytes.buffer, 0, n);
  return { descr, shape, data };
}

/** The array of .npy file `file`, read by the safe reader (a regular file, no larger than one Buffer). */
export function readNpy(file: string): NpyArray {
  return decodeNpy(readRegularFile(file, bufferConstants.MAX_LENGTH, 'a .npy file'), file);
}
