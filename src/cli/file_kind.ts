/**
 * A run config and a sweep file are both JSON files under configs/, and one given to the other's
 * command is answered with the command that takes it, instead of the first key it does not know.
 * Each kind is recognised by its own reader: a file its reader accepts is of that kind.
 */
import { ConfigError, KEY_BY_NAME, checkPartial, readJsonFile } from '../config/config.js';
import { isObj } from '../config/keys.js';
import { parseSweep } from '../sweep/spec.js';

/** The file's JSON, or undefined when it cannot be read or parsed (its reader then says why). */
function peek(file: string): unknown {
  try {
    return readJsonFile(file, file);
  } catch {
    return undefined;
  }
}

/** Whether `check` accepts `obj`. */
function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

/** `train --config F` with a sweep file F: refused with the command that runs it. */
export function refuseSweepFile(file: string): void {
  const obj = peek(file);
  if (isObj(obj) && !accepts(() => checkPartial(obj, file)) && accepts(() => parseSweep(obj, file))) {
    throw new ConfigError(`${file} is a sweep file: run it with npx train sweep --config ${file}`);
  }
}

/** `train sweep --config F` with a run config F: refused with the command that trains it. */
export function refuseRunConfig(file: string): void {
  const obj = peek(file);
  if (isObj(obj) && Object.keys(obj).some((k) => KEY_BY_NAME.has(k)) && accepts(() => checkPartial(obj, file)) && !accepts(() => parseSweep(obj, file))) {
    throw new ConfigError(`${file} is a run config, not a sweep file: train it with npx train --config ${file}, or name it as "base" in a sweep file (configs/sweep-*.json)`);
  }
}
