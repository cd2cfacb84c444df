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
