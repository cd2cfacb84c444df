/** The one way the command line ends on an error: an `error:` line (and with --debug the stack), then the exit code (cli/errors.ts lists them). */
import { writeLines } from './output.js';

/** --debug anywhere on the command line: errors also print their stack (read before yargs has parsed). */
export const debug = process.argv.includes('--debug');

/** Exit with a one-line message naming the problem; the code tells scripts what kind. */
export function fail(code: number, msg: string, err?: unknown, ...more: string[]): never {
  writeLines(process.stderr, `error: ${msg}`, ...more);
  if (debug && err instanceof Error && err.stack) writeLines(process.stderr, ...err.stack.split('\n'));
  process.exit(code);
}
