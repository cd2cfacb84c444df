/**
 * Download a URL to a new file, never hanging and never leaving a partial file behind.
 *
 * The file is created (it must not exist) and streamed to; on any failure it is removed. A
 * download is given up with a message naming the URL when no byte arrives for `stallSeconds`
 * (TSNN_DOWNLOAD_STALL_SECONDS, default 60), when it takes longer than `timeoutSeconds` in all
 * (TSNN_DOWNLOAD_TIMEOUT_SECONDS, default 4 hours), or when it grows past `maxBytes`. Ctrl-C
 * (SIGINT), SIGTERM or SIGHUP during it stops it, removes the file and throws DownloadInterrupted.
 * Progress goes to `onProgress` (the CLI prints it); this module prints nothing.
 */
import * as fs from 'node:fs';
import { DataError, STOP_SIGNALS as SIGNALS, StoppedBySignal } from './errors.js';

export interface DownloadProgress {
  url: string;
  bytes: number;
  /** From Content-Length, when the server sent it. */
  total: number | null;
  seconds: number;
  /** Mean bytes per second so far. */
  rate: number;
  /** Seconds left at the mean rate, when the total is known. */
  etaSeconds: number | null;
  /** The last report of a download that completed. */
  done: boolean;
}

export interface DownloadOptions {
  onProgress?: (p: DownloadProgress) => void;
  /** Give up when no byte arrives for this long. */
  stallSeconds?: number;
  /** Give up when the whole download takes longer than this. */
  timeoutSeconds?: number;
  /** Refuse a body longer than this (announced or received). */
  maxBytes?: number;
}

/** A download stopped by a signal (Ctrl-C); its partial file is already removed. */
export class DownloadInterrupted extends StoppedBySignal {}


/** Seconds from an environment variable, or `fallback` when unset; nonsense is refused. */
function envSeconds(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const s = Number(v);
  if (!Number.isFinite(s) || s <= 0) throw new DataError(`${name}=${JSON.stringify(v)} is not a positive number of seconds`);
  return s;
}

/** Default progress sink, set once by the CLI; an explicit onProgress takes precedence. */
let defaultProgress: ((p: DownloadProgress) => void) | undefined;
export function setDownloadProgress(fn: ((p: DownloadProgress) => void) | undefined): void {
  defaultProgress = fn;
}

/** How often progress is reported while bytes flow. */
const PROGRESS_EVERY_MS = 250;

export async function download(url: string, file: string, opts: DownloadOptions = {}): Promise<void> {
  const stallS = opts.stallSeconds ?? envSeconds('TSNN_DOWNLOAD_STALL_SECONDS', 60);
  const timeoutS = opts.timeoutSeconds ?? envSeconds('TSNN_DOWNLOAD_TIMEOUT_SECONDS', 4 * 3600);
  const maxBytes = opts.maxBytes ?? Infinity;
  const onProgress = opts.onProgress ?? defaultProgress;
  const how = "Download it another way and pass the file's path instead.";
  const ac = new AbortController();
  let why: DataError | null = null;
  const stop = (e: DataError) => {
    if (why) return;
    why = e;
    ac.abort(e);
  };
  let bytes = 0;
  const t0 = performance.now();
  let stall: NodeJS.Timeout | undefined;
  const armStall = () => {
    clearTimeout(stall);
    stall = setTimeout(
      () => stop(new DataError(`download of ${url} stalled: no data for ${stallS} s after ${bytes} bytes. Try again later (TSNN_DOWNLOAD_STALL_SECONDS sets the limit). ${how}`)),
      stallS * 1000,
    );
  };
  const overall = setTimeout(
    () => stop(new DataError(`download of ${url} took longer than ${timeoutS} s in all (${bytes} bytes so far), so it was given up (TSNN_DOWNLOAD_TIMEOUT_SECONDS sets the limit). ${how}`)),
    timeoutS * 1000,
  );
  // The file is ours from the moment it exists; a signal or process.exit() removes it too.
  let created = false;
  const removeFile = () => {
    if (created) fs.rmSync(file, { force: true });
  };
  const onSignal = (signal: NodeJS.Signals) =>
    stop(new DownloadInterrupted(`download of ${url} stopped by ${signal === 'SIGINT' ? 'Ctrl-C' : signal} after ${bytes} bytes; the partial file was removed`, signal));
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', removeFile);
  let fd: number | null = null;
  try {
    armStall();
    let res: Response;
    try {
      res = await fetch(url, { signal: ac.signal });
    } catch (e) {
      if (why) throw why;
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new DataError(`cannot download ${url}: ${cause}. ${how}`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new DataError(`cannot download ${url}: the server answered HTTP ${res.status} ${res.statusText}`);
    }
    const total = Number(res.headers.get('content-length')) || null;
    if (total !== null && total > maxBytes) {
      await res.body.cancel().catch(() => {});
      throw new DataError(`cannot download ${url}: the server announces ${total} bytes, more than the ${maxBytes} it can be; it is not the file asked for`);
    }
    fd = fs.openSync(file, 'wx');
    created = true;
    let lastReport = 0;
    const report = (done: boolean) => {
      if (!onProgress) return;
      const seconds = (performance.now() - t0) / 1000;
      const rate = seconds > 0 ? bytes / seconds : 0;
      const etaSeconds = total !== null && rate > 0 ? Math.max(0, (total - bytes) / rate) : null;
      onProgress({ url, bytes, total, seconds, rate, etaSeconds, done });
    };
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (why) throw why;
        bytes += value.length;
        if (bytes > maxBytes) stop(new DataError(`download of ${url} passed ${maxBytes} bytes, more than the file can be; it is not the file asked for, so it was given up`));
        if (why) throw why;
        armStall();
        let at = 0;
        while (at < value.length) at += fs.writeSync(fd, value, at, value.length - at);
        const now = performance.now();
        if (now - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = now;
          report(false);
        }
      }
    } catch (e) {
      if (why) throw why;
      throw new DataError(`download of ${url} broke off after ${bytes} bytes: ${(e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message}; try again`);
    }
    if (why) throw why;
    if (total !== null && bytes !== total) throw new DataError(`download of ${url} stopped after ${bytes} of ${total} bytes; try again`);
    fs.fsyncSync(fd);
    report(true);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fd = null;
    removeFile();
    if (e instanceof DataError) throw e;
    throw new DataError(`download of ${url} to ${file} failed: ${(e as Error).message}`);
  } finally {
    if (fd !== null) fs.closeSync(fd);
    clearTimeout(stall);
    clearTimeout(overall);
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off('exit', removeFile);
  }
}
