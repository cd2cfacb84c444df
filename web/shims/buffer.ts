/**
 * Node's Buffer in the browser: the part of it that src/ uses on the page's paths (the checkpoint
 * codec of runs/checkpoint.ts, the kernels' base64 in linalg/engines/), on a Uint8Array. The
 * bundle makes it the global `Buffer` (web/build.mjs: esbuild's inject).
 */
type Encoding = 'utf8' | 'ascii' | 'base64' | 'hex';

function alloc(n: number): NodeBytes {
  return new NodeBytes(n);
}

function from(src: string | ArrayBufferLike | ArrayLike<number>, encOrOffset?: Encoding | number, length?: number): NodeBytes {
  if (typeof src === 'string') return fromString(src, (encOrOffset as Encoding | undefined) ?? 'utf8');
  if (src instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && src instanceof SharedArrayBuffer)) {
    const off = (encOrOffset as number | undefined) ?? 0;
    return new NodeBytes(src as ArrayBuffer, off, length ?? src.byteLength - off);
  }
  const b = new NodeBytes((src as ArrayLike<number>).length);
  b.set(src as ArrayLike<number>);
  return b;
}

function concat(list: Uint8Array[]): NodeBytes {
  const out = new NodeBytes(list.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of list) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function fromString(s: string, enc: Encoding): NodeBytes {
  if (enc === 'base64') {
    const bin = atob(s);
    const b = new NodeBytes(bin.length);
    for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return b;
  }
  if (enc === 'ascii') {
    const b = new NodeBytes(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0x7f;
    return b;
  }
  if (enc === 'hex') return from((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));
  return from(new TextEncoder().encode(s));
}

/** The global Buffer of the bundle: its static functions. */
export const Buffer = { alloc, from, concat };

/** Node's Buffer methods on a Uint8Array (its subarrays are of this class too). */
export class NodeBytes extends Uint8Array {
  write(s: string, offset = 0, enc: Encoding = 'utf8'): number {
    const bytes = fromString(s, enc);
    this.set(bytes.subarray(0, this.length - offset), offset);
    return Math.min(bytes.length, this.length - offset);
  }

  private view(): DataView {
    return new DataView(this.buffer, this.byteOffset, this.byteLength);
  }

  readUInt32LE(off: number): number {
    return this.view().getUint32(off, true);
  }

  writeUInt32LE(v: number, off: number): number {
    this.view().setUint32(off, v, true);
    return off + 4;
  }

  readUInt32BE(off: number): number {
    return this.view().getUint32(off, false);
  }

  writeUInt32BE(v: number, off: number): number {
    this.view().setUint32(off, v, false);
    return off + 4;
  }

  copy(target: Uint8Array, targetStart = 0, start = 0, end = this.length): number {
    const part = this.subarray(start, Math.min(end, start + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }

  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((v, i) => v === other[i]);
  }

  swap32(): this {
    for (let i = 0; i + 3 < this.length; i += 4) {
      [this[i], this[i + 1], this[i + 2], this[i + 3]] = [this[i + 3], this[i + 2], this[i + 1], this[i]];
    }
    return this;
  }

  override toString(enc: Encoding = 'utf8', start = 0, end = this.length): string {
    const part = this.subarray(start, end);
    if (enc === 'hex') return Array.from(part, (v) => v.toString(16).padStart(2, '0')).join('');
    if (enc === 'ascii') return Array.from(part, (v) => String.fromCharCode(v & 0x7f)).join('');
    if (enc === 'base64') return btoa(Array.from(part, (v) => String.fromCharCode(v)).join(''));
    return new TextDecoder().decode(part);
  }
}
