/** Download a URL to a file: stream to `<dest>.part`, fsync, then rename, so `dest` is whole or absent. */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { DataError } from './errors.js';

export async function download(url: string, dest: string, onProgress?: (bytes: number, total: number | null) => void): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new DataError(`cannot download ${url}: ${cause}. Download it another way and pass the file's path instead.`);
  }
  if (!res.ok || !res.body) {
    throw new DataError(`cannot download ${url}: the server answered HTTP ${res.status} ${res.statusText}`);
  }
  const total = Number(res.headers.get('content-length')) || null;
  const part = `${dest}.part`;
  let bytes = 0;
  const body = Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    onProgress?.(bytes, total);
  });
  try {
    await pipeline(body, fs.createWriteStream(part));
    if (total !== null && bytes !== total) {
      throw new DataError(`download of ${url} stopped after ${bytes} of ${total} bytes; try again`);
    }
    const fd = fs.openSync(part, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(part, dest);
  } catch (e) {
    fs.rmSync(part, { force: true });
    if (e instanceof DataError) throw e;
    throw new DataError(`download of ${url} to ${dest} failed: ${(e as Error).message}`);
  }
}
