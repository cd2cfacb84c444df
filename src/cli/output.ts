/**
 * Where a command's words go, for scripting: with --json the result is one JSON object on
 * stdout and everything else (log lines, the progress bar) goes to stderr, so
 * `train --json | jq .testAcc` works; with --quiet the log lines and the bar are dropped (errors
 * still print, on stderr), and only the one-line result is left (`summary`) on stdout. train and eval use it; so can any command that takes
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
 * quiet exit. Any other write error ends the program as Node does, unless someone else
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

/**
 * The control characters a terminal acts on, which text from a file, a folder name, a checkpoint
 * or a command line may hold: C0 (newline included: a name holding one would split a line), DEL,
 * C1 (U+009B is a CSI on its own), the line and paragraph separators, and the bidirectional
 * overrides that reorder what is shown.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The ones of CONTROL that JSON.stringify leaves raw in a string (it escapes C0 itself); none is JSON's whitespace. */
const JSON_RAW = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `text` as one console line: every control character shown as an escape (\n, \x1b, \u202e), so that nothing printed changes the terminal. */
export function shown(text: string): string {
  return text.replace(CONTROL, (c) => NAMED[c] ?? (c.charCodeAt(0) < 0x100 ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : `\\u${c.charCodeAt(0).toString(16)}`));
}

/**
 * Write console lines to `stream`, each `shown` (escaped): the one way the CLI prints a line. A
 * line is one argument; a message of several lines is given as several, never joined by '\n'.
 */
export function writeLines(stream: NodeJS.WritableStream, ...lines: string[]): void {
  if (lines.length > 0) stream.write(lines.map((l) => shown(l) + '\n').join(''));
}

/** `obj` as one line of JSON: JSON.stringify, with the controls it leaves raw (DEL, C1, U+2028…) as \u escapes, so it parses to the same value. */
export function jsonLine(obj: unknown, indent?: number): string {
  return JSON.stringify(obj, null, indent).replace(JSON_RAW, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface Output {
  json: boolean;
  quiet: boolean;
  /** The stream for log lines and the progress bar: stderr under --json, else stdout. */
  stream: NodeJS.WriteStream;
  /** A log line (dropped under --quiet). */
  log(line: string): void;
  /** The one-line result in words: a log line, which --quiet keeps on stdout (under --json it is a log line on stderr, and --quiet drops it: the JSON is the result). */
  summary(line: string): void;
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
      if (!quiet) writeLines(stream, line);
    },
    summary: (line) => {
      if (!quiet) writeLines(stream, line);
      else if (!json) writeLines(stdout, line);
    },
    result: (obj, text) => {
      if (json) stdout.write(jsonLine(obj) + '\n');
      else if (text && !quiet) writeLines(stdout, ...text());
    },
  };
}
