/**
 * The safetensors format (https://huggingface.co/docs/safetensors), written by hand: no maintained
 * npm package writes it (the format is small and documented):
 *
 *   8 bytes   N, the header length, uint64 little-endian
 *   N bytes   UTF-8 JSON: { "<name>": { "dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end] }, …,
 *             "__metadata__": { "<key>": "<string>", … } }, padded with spaces so that 8 + N is a
 *             multiple of 8 (the format allows trailing spaces)
 *   rest      the tensors' bytes, little-endian, C order; data_offsets count from the start of this part
 *
 * Tensors are written in the order given, packed with no gaps, as the format requires (its
 * readers refuse holes and overlaps).
 */
export interface SafeTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** The bytes of a .safetensors file holding `tensors` and string `metadata`. */
export function encodeSafetensors(tensors: readonly SafeTensor[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`encodeSafetensors: ${t.name} has shape (${t.shape.join(', ')}) = ${n} numbers but ${t.data.length} values`);
    if (t.name === '__metadata__' || t.name in header) throw new Error(`encodeSafetensors: the name ${t.name} is reserved or repeated`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json, 'utf8')) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + off);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Read a .safetensors file's header and F32 tensors (for the tests and for checking a file). */
export function decodeSafetensors(buf: Uint8Array): { metadata: Record<string, string>; tensors: SafeTensor[] } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.toString('utf8', 8, 8 + n)) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const { __metadata__: metadata, ...rest } = header as Record<string, unknown>;
  const tensors = Object.entries(rest as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>).map(([name, t]) => {
    if (t.dtype !== 'F32') throw new Error(`decodeSafetensors: ${name} is ${t.dtype}; only F32 is read`);
    const bytes = new Uint8Array(b.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]));
    return { name, shape: t.shape, data: new Float32Array(bytes.buffer, 0, bytes.length / 4) };
  });
  return { metadata: (metadata ?? {}) as Record<string, string>, tensors };
}
