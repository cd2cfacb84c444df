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

/**
 * Download `url` to the new file `file` (it must not exist): streamed, watched for stalls, the
 * overall time limit, the size limit and stop signals, and removed on any failure.
 */
export async function download(url: string, file: string, opts: DownloadOptions = {}): Promise<void> {
  const maxBytes = opts.maxBytes ?? Infinity;
  const dl = new Watched(url, file, opts);
  let fd: number | null = null;
  try {
    const { body } = await respond(dl, maxBytes);
    fd = fs.openSync(file, 'wx');
    dl.created = true;
    await streamTo(dl, body, fd, maxBytes);
    if (dl.why) throw dl.why;
    if (dl.total !== null && dl.bytes !== dl.total) throw new DataError(`download of ${url} stopped after ${dl.bytes} of ${dl.total} bytes; try again`);
    fs.fsyncSync(fd);
    dl.report(true);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    fd = null;
    dl.removeFile();
    if (e instanceof DataError) throw e;
    throw new DataError(`download of ${url} to ${file} failed: ${(e as Error).message}`);
  } finally {
    if (fd !== null) fs.closeSync(fd);
    dl.release();
  }
}

const HOW = "Download it another way and pass the file's path instead.";

/**
 * One download under watch: the bytes so far, why it was stopped (the first reason wins: a stall,
 * the overall limit, the size limit or a signal, each aborting the fetch), the file it owns from
 * the moment it exists (removed on failure, a signal or process.exit()), and its progress reports.
 */
class Watched {
  bytes = 0;
  total: number | null = null;
  why: DataError | null = null;
  created = false;
  readonly ac = new AbortController();
  private readonly t0 = performance.now();
  private lastReport = 0;
  private readonly stallS: number;
  private stall: NodeJS.Timeout | undefined;
  private readonly overall: NodeJS.Timeout;
  private readonly onProgress: ((p: DownloadProgress) => void) | undefined;

  constructor(
    readonly url: string,
    private readonly file: string,
    opts: DownloadOptions,
  ) {
    this.stallS = opts.stallSeconds ?? envSeconds('TSNN_DOWNLOAD_STALL_SECONDS', 60);
    const timeoutS = opts.timeoutSeconds ?? envSeconds('TSNN_DOWNLOAD_TIMEOUT_SECONDS', 4 * 3600);
    this.onProgress = opts.onProgress ?? defaultProgress;
    this.overall = setTimeout(
      () =>
        this.stop(new DataError(`download of ${url} took longer than ${timeoutS} s in all (${this.bytes} bytes so far), so it was given up (TSNN_DOWNLOAD_TIMEOUT_SECONDS sets the limit). ${HOW}`)),
      timeoutS * 1000,
    );
    for (const s of SIGNALS) process.on(s, this.onSignal);
    process.on('exit', this.removeFile);
    this.armStall();
  }

  /** Stop with `e`, unless already stopped. */
  stop(e: DataError): void {
    if (this.why) return;
    this.why = e;
    this.ac.abort(e);
  }

  /** (Re)start the stall timer: bytes just arrived, or the request just went out. */
  armStall(): void {
    clearTimeout(this.stall);
    this.stall = setTimeout(
      () => this.stop(new DataError(`download of ${this.url} stalled: no data for ${this.stallS} s after ${this.bytes} bytes. Try again later (TSNN_DOWNLOAD_STALL_SECONDS sets the limit). ${HOW}`)),
      this.stallS * 1000,
    );
  }

  readonly onSignal = (signal: NodeJS.Signals): void =>
    this.stop(new DownloadInterrupted(`download of ${this.url} stopped by ${signal === 'SIGINT' ? 'Ctrl-C' : signal} after ${this.bytes} bytes; the partial file was removed`, signal));

  readonly removeFile = (): void => {
    if (this.created) fs.rmSync(this.file, { force: true });
  };

  /** Progress to onProgress: every PROGRESS_EVERY_MS while bytes flow, and once when done. */
  report(done: boolean): void {
    const now = performance.now();
    if (!this.onProgress || (!done && now - this.lastReport < PROGRESS_EVERY_MS)) return;
    this.lastReport = now;
    const seconds = (now - this.t0) / 1000;
    const rate = seconds > 0 ? this.bytes / seconds : 0;
    const etaSeconds = this.total !== null && rate > 0 ? Math.max(0, (this.total - this.bytes) / rate) : null;
    this.onProgress({ url: this.url, bytes: this.bytes, total: this.total, seconds, rate, etaSeconds, done });
  }

  /** Clear the timers and the handlers. */
  release(): void {
    clearTimeout(this.stall);
    clearTimeout(this.overall);
    for (const s of SIGNALS) process.off(s, this.onSignal);
    process.off('exit', this.removeFile);
  }
}

/** The server's answer, with a body, not announced larger than maxBytes (dl.total: what it announces). */
async function respond(dl: Watched, maxBytes: number): Promise<Response & { body: ReadableStream<Uint8Array> }> {
  const { url } = dl;
  let res: Response;
  try {
    res = await fetch(url, { signal: dl.ac.signal });
  } catch (e) {
    if (dl.why) throw dl.why;
    const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
    throw new DataError(`cannot download ${url}: ${cause}. ${HOW}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new DataError(`cannot download ${url}: the server answered HTTP ${res.status} ${res.statusText}`);
  }
  const total = Number(res.headers.get('content-length')) || null;
  dl.total = total;
  if (total !== null && total > maxBytes) {
    await res.body.cancel().catch(() => {});
    throw new DataError(`cannot download ${url}: the server announces ${total} bytes, more than the ${maxBytes} it can be; it is not the file asked for`);
  }
  return res as Response & { body: ReadableStream<Uint8Array> };
}

/** The body into the file `fd`, chunk by chunk, each chunk re-arming the stall timer. */
async function streamTo(dl: Watched, body: ReadableStream<Uint8Array>, fd: number, maxBytes: number): Promise<void> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (dl.why) throw dl.why;
      dl.bytes += value.length;
      if (dl.bytes > maxBytes) dl.stop(new DataError(`download of ${dl.url} passed ${maxBytes} bytes, more than the file can be; it is not the file asked for, so it was given up`));
      if (dl.why) throw dl.why;
      dl.armStall();
      let at = 0;
      while (at < value.length) at += fs.writeSync(fd, value, at, value.length - at);
      dl.report(false);
    }
  } catch (e) {
    if (dl.why) throw dl.why;
    throw new DataError(`download of ${dl.url} broke off after ${dl.bytes} bytes: ${(e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message}; try again`);
  }
}
