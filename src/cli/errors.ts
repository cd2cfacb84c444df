/**
 * The exit codes of the command line, and the one `error:` line each failure prints:
 *   0 success · 1 runtime failure (I/O, data, memory) · 2 bad usage or config · 3 training diverged (NaN/Inf loss)
 *   · 4 gradient check above threshold · 128+n stopped by signal n, resumable (130 Ctrl-C/SIGINT,
 *   143 SIGTERM, 129 SIGHUP), as a shell reports a process killed by that signal; 141 (SIGPIPE)
 *   when stdout's reader went away (`train | head -2`), a run stopped as by SIGTERM (cli/output.ts)
 *
 * Every error a user can cause prints one `error:` line and no stack trace; an Error of no known
 * kind is a bug and says so (internal error), and --debug prints the stack of either. main.ts
 * loads this module only when something failed, so that --help and --version load none of the
 * error classes' modules.
 */
import * as os from 'node:os';
import { ConfigError } from '../config/config.js';
import { EngineError } from '../linalg/engine.js';
import { DataError, StoppedBySignal } from '../data/errors.js';
import { CheckpointError } from '../runs/checkpoint.js';
import { RunIoError } from '../runs/atomic.js';
import { DivergedError } from '../train/trainer.js';
import { debug, fail } from './fail.js';
import { FileError } from '../io/files.js';

/** An allocation V8 refused: a size no check caught before the work started. */
function isAllocationFailure(err: unknown): boolean {
  return err instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer allocation|Invalid array length/i.test(err.message);
}

/** Exit with the line and the code of `err`'s kind. */
export function handleError(err: unknown): never {
  if (err instanceof ConfigError) fail(2, err.message, err);
  if (err instanceof StoppedBySignal) fail(128 + os.constants.signals[err.signal], err.message, err);
  if (err instanceof DivergedError) fail(3, err.message, err, 'The best checkpoint so far (if any) is kept in the run folder.');
  if (err instanceof DataError || err instanceof CheckpointError || err instanceof RunIoError || err instanceof EngineError || err instanceof FileError) fail(1, err.message, err);
  if (isAllocationFailure(err)) fail(1, `out of memory: ${(err as Error).message}. Use smaller sizes (--hidden, --batch-size, --num-train, --iterations)`, err);
  // Anything else escaped every check: a bug, not something the user did.
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  fail(1, `internal error (a bug in train): ${what}${debug ? '' : '. Rerun with --debug for the stack trace, and report it'}`, err);
}
