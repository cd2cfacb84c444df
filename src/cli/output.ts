/**
 * Where a command's words go, for scripting: with --json the result is one JSON object on
 * stdout and everything else (log lines, the progress bar) goes to stderr, so
 * `train --json | jq .testAcc` works; with --quiet the log lines and the bar are dropped (errors
 * still print, on stderr). train and eval use it; so can any command that takes
 * scriptingOptions (cli/options.ts): `const o = outputOf(argv); o.log(…); o.result({…})`.
 *
 * A reader that goes away (`train … | head -2`: EPIPE) ends the program quietly with 141, as a
 * shell reports a process that SIGPIPE ended; a training run instead stops after its step, as on
 * SIGTERM (watchClosedOutput, onClosedOutput).
 */
import * as os from 'node:os';

/** The exit code of a program whose stdout (or stderr) was closed by its reader: 128 + SIGPIPE. */
export const CLOSED_OUTPUT_EXIT = 128 + os.constants.signals.SIGPIPE;

let whenClosed: () => void = () => process.exit(CLOSED_OUTPUT_EXIT);

/**
 * Watch stdout and stderr (once, at start): EPIPE calls what onClosedOutput set, by default a
 * quiet exit. Any other write error still ends the program as before, unless someone else
 * listens for it (a closed terminal after SIGHUP gives EIO, which the run ignores).
 */
export function watchClosedOutput(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') whenClosed();
      else if (s.listenerCount('error') <= 1) throw e;
    });
  }
}

/** What a closed stdout or stderr does from now on (a training run: stop after this step and write its checkpoint). */
export function onClosedOutput(fn: () => void): void {
  whenClosed = fn;
}
export interface Output {
  json: boolean;
  quiet: boolean;
  /** The stream for log lines and the progress bar: stderr under --json, else stdout. */
  stream: NodeJS.WriteStream;
  /** A log line (dropped under --quiet). */
  log(line: string): void;
  /** The command's result: one JSON line on stdout under --json; else `text()`'s lines, unless quiet. */
  result(obj: unknown, text?: () => string[]): void;
}

export function outputOf(argv: Record<string, unknown>, io: { stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {}): Output {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const json = argv.json === true;
  const quiet = argv.quiet === true;
  const stream = json ? stderr : stdout;
  return {
    json,
    quiet,
    stream,
    log: (line) => {
      if (!quiet) stream.write(line + '\n');
    },
    result: (obj, text) => {
      if (json) stdout.write(JSON.stringify(obj) + '\n');
      else if (text && !quiet) for (const l of text()) stdout.write(l + '\n');
    },
  };
}
