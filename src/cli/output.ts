/**
 * Where a command's words go, for scripting: with --json the result is one JSON object on
 * stdout and everything else (log lines, the progress bar) goes to stderr, so
 * `train --json | jq .testAcc` works; with --quiet the log lines and the bar are dropped (errors
 * still print, on stderr). train and eval use it; so can any command that takes
 * scriptingOptions (cli/options.ts): `const o = outputOf(argv); o.log(…); o.result({…})`.
 */
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
