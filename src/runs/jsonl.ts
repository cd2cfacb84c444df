/**
 * The append-only JSON-lines files of a run folder (metrics.jsonl): a buffered writer that a
 * resume can cut back in place, and the reader.
 */
import * as fs from 'node:fs';
import { DataError } from '../data/errors.js';
import { FileError, MAX_BYTES, kindOf, readLogText, readRegularText } from '../io/files.js';
import { ioErrorMessage, RunIoError } from './errors.js';
import { checkRunWrite } from './owner.js';

/** Open `file` to append to, creating it; a FIFO or a device there is refused, not written into (nor waited on). */
function openForAppend(file: string): number {
  const c = fs.constants;
  const fd = fs.openSync(file, c.O_WRONLY | c.O_APPEND | c.O_CREAT | c.O_NONBLOCK, 0o666);
  const st = fs.fstatSync(fd);
  if (st.isFile()) return fd;
  fs.closeSync(fd);
  throw new FileError(`${file} is ${kindOf(st)}, not a regular file; remove it and run again`, 'ENOTREG');
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
    checkRunWrite(file); // a run folder is written by the process that holds it (owner.ts)
    try {
      if (keepWhile && fs.existsSync(file)) {
        const text = readRegularText(file, MAX_BYTES.jsonl, 'a JSON-lines file');
        let end = 0; // bytes of the kept prefix
        for (let at = 0; at < text.length;) {
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
      this.fd = openForAppend(file);
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
    checkRunWrite(this.file); // a process that no longer holds the folder appends nothing
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

/**
 * Parse a JSON-lines file, skipping a torn last line (no newline after it) left by a killed run;
 * any other line that is not JSON is refused by its number. `check(row, line)` may refuse a row.
 * Unreadable is a RunIoError; malformed a DataError naming the file and the line.
 */
export function readJsonl(file: string, check?: (row: unknown, line: number) => void): unknown[] {
  let text: string;
  try {
    text = readLogText(file, MAX_BYTES.jsonl, 'a JSON-lines file'); // a run may be appending to it: read what is there
  } catch (e) {
    throw new RunIoError(ioErrorMessage('read', file, e));
  }
  const lines = text.split('\n');
  const out: unknown[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(lines[i]);
    } catch (e) {
      if (i === lines.length - 1) break; // torn last line, no newline after it
      throw new DataError(`${file}: line ${i + 1} is not JSON (${(e as Error).message}); rebuild the file (rerun the run) or delete the line`);
    }
    check?.(v, i + 1);
    out.push(v);
  }
  return out;
}
