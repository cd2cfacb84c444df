/**
 * Run folders: <runsDir>/<YYYYMMDD-HHMMSS>-<name>/ holding
 *   config.json     the resolved config
 *   metrics.jsonl   one JSON object a line: {"type":"iter",…} per iteration, {"type":"epoch",…} per epoch
 *   summary.json    final and best accuracies, seconds, engine, examples per second
 *   train.log       the pino log (JSON lines)
 *   best.ckpt       parameters with the best val accuracy (format in checkpoint.ts)
 *   last.ckpt       the parameters and everything a resume needs, in one file
 * config.json, summary.json and the checkpoints are written atomically. metrics.jsonl and
 * train.log are append-only logs: a killed run may leave a partial last line, which readers skip
 * and a resume cuts. A resume cuts metrics.jsonl back to last.ckpt's step (it does those steps
 * again, identically) and keeps every line of train.log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ioErrorMessage, RunIoError } from './atomic.js';

/** Create a fresh run folder; never reuses an existing one. */
export function createRunDir(runsDir: string, name: string, now = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p2(now.getMonth() + 1)}${p2(now.getDate())}-${p2(now.getHours())}${p2(now.getMinutes())}${p2(now.getSeconds())}`;
  try {
    fs.mkdirSync(runsDir, { recursive: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('create the runs folder', runsDir, e));
  }
  for (let k = 1; ; k++) {
    const dir = path.join(runsDir, `${stamp}-${name}${k > 1 ? `-${k}` : ''}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new RunIoError(ioErrorMessage('create the run folder', dir, e));
    }
  }
}

/**
 * Appends JSON lines, buffered; `flush` writes them out. With `keepWhile` (a resume), the file is
 * first cut back in place to its longest prefix of whole rows that pass, and `kept` holds them:
 * the same file stays open for every later line, so nothing written after the cut is lost (a
 * rewrite by rename would leave an earlier writer appending to the unlinked file).
 */
export class JsonlWriter {
  private fd: number;
  private buf: string[] = [];
  /** The rows kept by `keepWhile` (empty without it). */
  readonly kept: unknown[] = [];

  constructor(
    readonly file: string,
    keepWhile?: (row: unknown) => boolean,
  ) {
    try {
      if (keepWhile && fs.existsSync(file)) {
        const text = fs.readFileSync(file, 'utf8');
        let end = 0; // bytes of the kept prefix
        for (let at = 0; at < text.length; ) {
          const nl = text.indexOf('\n', at);
          if (nl < 0) break; // a torn last line (a kill mid-write) is cut
          let row: unknown;
          try {
            row = JSON.parse(text.slice(at, nl));
          } catch {
            break;
          }
          if (!keepWhile(row)) break;
          this.kept.push(row);
          end += Buffer.byteLength(text.slice(at, nl + 1), 'utf8');
          at = nl + 1;
        }
        fs.truncateSync(file, end);
      }
      this.fd = fs.openSync(file, 'a');
    } catch (e) {
      throw new RunIoError(ioErrorMessage('open', file, e));
    }
  }

  write(obj: unknown): void {
    this.buf.push(JSON.stringify(obj));
    if (this.buf.length >= 500) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    try {
      fs.writeSync(this.fd, text);
    } catch (e) {
      throw new RunIoError(ioErrorMessage('write', this.file, e));
    }
  }

  close(): void {
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
    }
  }
}

/** Parse a JSON-lines file, skipping a partial last line left by a killed run. */
export function readJsonl(file: string): unknown[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      out.push(JSON.parse(lines[i]));
    } catch (e) {
      if (i >= lines.length - 2) break; // torn last line
      throw new Error(`${file}: line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}
