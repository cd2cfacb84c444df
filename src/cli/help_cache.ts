/**
 * `train --help`, printed without loading yargs. yargs alone takes about twice bare node's start,
 * so the build (tools/write_help.mjs, after tsc) saves what yargs prints for plain `train --help`
 * at the widths a run can ask for (HELP_WIDTHS) as dist/cli/help-<width>.txt, and main.ts prints
 * that file. The file is used only while no compiled file of the CLI or the config table is newer
 * than it: a `tsc` without the help step, or an edited key, sends `--help` back to yargs, which
 * is always right, only slower. Anything else (`train sweep --help`, a narrow terminal) goes to
 * yargs as before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRegularText } from '../io/files.js';

/** The widths of the saved texts: a pipe's (100) and a wide terminal's (110, the most yargs wraps at). */
export const HELP_WIDTHS = [100, 110] as const;

/** The width yargs wraps the help at, on this terminal (main.ts's .wrap). */
export function helpWidth(): number {
  return Math.min(110, process.stdout.columns || 100);
}

/** The compiled folders whose files shape the help text: the commands and the config table. */
const SHAPING = ['cli', 'cli/commands', 'config'];

/** The saved text for `width`, from the compiled tree `root` (dist/), or null when there is none or it is older than the code. */
export function cachedHelp(width: number, root = defaultRoot()): string | null {
  const file = path.join(root, 'cli', `help-${width}.txt`);
  let saved: fs.Stats;
  try {
    saved = fs.statSync(file);
    if (SHAPING.some((dir) => newerJs(path.join(root, dir), saved.mtimeMs))) return null;
    return readRegularText(file, 256 * 1024, 'a saved help text');
  } catch {
    return null; // not built, or unreadable: yargs prints it
  }
}

/** True when a .js file in `dir` was written after `mtimeMs`. */
function newerJs(dir: string, mtimeMs: number): boolean {
  return fs.readdirSync(dir).some((name) => name.endsWith('.js') && fs.statSync(path.join(dir, name)).mtimeMs > mtimeMs);
}

/** dist/ when this runs compiled (dist/cli/help_cache.js), src/ under tsx. */
function defaultRoot(): string {
  return path.dirname(path.dirname(fileURLToPath(import.meta.url)));
}
