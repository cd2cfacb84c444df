/**
 * The command line. `train` trains (the default command); `train eval`, `train data`,
 * `train sweep` and the others live beside it, each in a file of its own under cli/commands/,
 * which is loaded only when its command runs (its options too: `train eval --help` loads eval's).
 * So `train --help` and `train --version` load yargs and the config table, and no queue, image,
 * ONNX or training module. This is the only module that knows about argv and TTYs; the exit
 * codes and the error line of each failure are in cli/errors.ts.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { RUNS_INDEX, RUN_FILES } from '../runs/layout.js';
import { DATA_ROOT_ENV } from '../data/locations.js';
import { watchClosedOutput, writeLines } from './output.js';
import { fail } from './fail.js';
import { cachedHelp, helpWidth } from './help_cache.js';
import { MAX_BYTES, readRegularText } from '../io/files.js';

/** A command's file under cli/commands/: its options (`builder`) and what it does (`handler`). */
interface CommandFile {
  builder(y: Argv): Argv;
  handler(argv: Record<string, unknown>): void | Promise<void>;
}

/** Every command: its words, its line in --help, and its file, loaded when the command runs. */
const COMMANDS: { command: string; describe: string; load: () => Promise<CommandFile> }[] = [
  { command: '$0', describe: 'train a model (the default command)', load: () => import('./commands/train.js') },
  {
    command: 'sweep [status] [file]',
    describe:
      'hyperparameter sweep (grid or random search) on worker threads, one per core, or on a Redis queue (--queue); `sweep status <file> --queue URL` shows a queued sweep; `sweep cancel <file> [--queue URL]` withdraws its trials',
    load: () => import('./commands/sweep.js'),
  },
  { command: 'worker', describe: 'pull sweep trials from a Redis queue and train them (run any number, on any host that shares the runs folder)', load: () => import('./commands/worker.js') },
  { command: 'report <folder>', describe: `rebuild ${RUN_FILES.report} and the PNG figures of a run folder or a sweep folder from its files`, load: () => import('./commands/report.js') },
  {
    command: 'compare <runs..>',
    describe:
      'one page overlaying the loss and accuracy curves of run folders, their configs side by side (differing keys highlighted); of sweep folders, their best-so-far curves and how soon each came near the best',
    load: () => import('./commands/compare.js'),
  },
  { command: 'eval <run>', describe: 'evaluate a saved checkpoint (a run folder or a .ckpt file) on a data split', load: () => import('./commands/eval.js') },
  { command: 'data <dataset>', describe: 'fetch, unpack and verify a dataset (record counts, sizes, label range)', load: () => import('./commands/data.js') },
  { command: 'features', describe: 'write the raw image features (HOG + hue histogram) of every record, train then test, as a float64 .npy', load: () => import('./commands/features.js') },
  { command: 'predict <run> <images..>', describe: 'the top classes of your own PNG or JPEG images (or folders of them) by a trained run', load: () => import('./commands/predict.js') },
  { command: 'export <run>', describe: 'write a trained model as ONNX (preprocessing inside), safetensors or .npy files', load: () => import('./commands/export.js') },
  {
    command: 'runs [folder]',
    describe: `list the runs of a runs folder (name, dataset, model, engine, best val, test, time, status) and write its ${RUNS_INDEX}, sortable, linking every report`,
    load: () => import('./commands/runs.js'),
  },
  {
    command: 'cs231n [notebook..]',
    describe:
      "run cs231n's notebooks' experiments over seeds (knn, svm, softmax, two_layer_net, features, FullyConnectedNets, BatchNormalization, Dropout; default all) and write each notebook's page and its targets, met or missed",
    load: () => import('./commands/cs231n.js'),
  },
  { command: 'gradcheck', describe: 'check analytic gradients against centered differences in float64', load: () => import('./commands/gradcheck.js') },
  { command: 'summary', describe: "print a model's layers, output shapes and parameter counts from --config and the flags (as Keras's model.summary())", load: () => import('./commands/summary.js') },
  {
    command: 'playground',
    describe: "serve the playground page (MNIST or CIFAR-10 training in the browser, with the project's own layers) on 127.0.0.1",
    load: () => import('./commands/playground.js'),
  },
];

/** The sub-commands' names, for the usage message's pointer to their --help and for completion. */
const COMMAND_NAMES = COMMANDS.map((c) => c.command.split(' ')[0]).filter((c) => c !== '$0');

/** A table row as yargs' command: its file loaded by the builder (yargs awaits it under parseAsync), used by the handler. */
function lazy(c: (typeof COMMANDS)[number]): CommandModule {
  return {
    command: c.command,
    describe: c.describe,
    builder: async (y: Argv) => (await c.load()).builder(y),
    handler: async (argv) => {
      // A dataset given as a URL (--data-dir, eval, sweeps) is downloaded with its progress on stderr.
      const [{ setDownloadProgress }, { downloadProgressPrinter }] = await Promise.all([import('../data/fetch.js'), import('./data.js')]);
      setDownloadProgress(downloadProgressPrinter(process.stderr));
      await (await c.load()).handler(argv as Record<string, unknown>);
    },
  };
}

/** The package's version, for --version (package.json is two folders up from src/cli and from dist/cli). */
function version(): string {
  try {
    return String((JSON.parse(readRegularText(fileURLToPath(new URL('../../package.json', import.meta.url)), MAX_BYTES.config, 'package.json')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
}

/** --data-root and --max-memory, through the environment, so that worker threads (sweeps, features) use the same folder and memory limit. */
async function globalOptions(argv: Record<string, unknown>): Promise<void> {
  if (argv['data-root'] === undefined && argv['max-memory'] === undefined) return;
  const { ConfigError, MAX_MEMORY_ENV, memoryBudget } = await import('../config/config.js');
  const { once } = await import('./options.js');
  const root = once('data-root', argv['data-root']) as string | undefined;
  if (root === '') throw new ConfigError(`--data-root "" is not a folder: give a folder, e.g. --data-root ~/.cache/tsnn-trainer`);
  if (root !== undefined) process.env[DATA_ROOT_ENV] = path.resolve(root);
  const mem = once('max-memory', argv['max-memory']) as string | undefined;
  if (mem !== undefined) {
    memoryBudget(mem); // a bad value is refused here, before any command starts
    process.env[MAX_MEMORY_ENV] = mem;
  }
}

/** Any failure: its one line and exit code (cli/errors.ts, loaded only now). */
async function handleError(err: unknown): Promise<never> {
  return (await import('./errors.js')).handleError(err);
}

export async function main(args: string[]): Promise<void> {
  // A reader that went away (`train … | head -2`) ends the program quietly (exit 141), not with an EPIPE stack trace.
  watchClosedOutput();
  // `train --version` alone needs nothing but the version: no yargs, no config table (yargs would build the default command first).
  if (args.length === 1 && args[0] === '--version') return writeLines(process.stdout, version());
  // `train --help` alone: the text yargs printed at build time, when it is current (cli/help_cache.ts).
  const help = args.length === 1 && (args[0] === '--help' || args[0] === '-h') ? cachedHelp(helpWidth()) : null;
  if (help !== null) return void process.stdout.write(help);
  const [{ default: yargs }, { DEFAULT_MEMORY_SHARE, MAX_MEMORY_ENV }, { usageMessage }] = await Promise.all([import('yargs'), import('../config/config.js'), import('./usage.js')]);
  let cli = yargs(args).scriptName('train').usage('$0 [options]: train a softmax classifier or an MLP on MNIST or CIFAR-10');
  for (const c of COMMANDS) cli = cli.command(lazy(c));
  cli = cli
    .option('debug', { type: 'boolean', global: true, describe: 'on an error, also print its stack trace' })
    .option('data-root', {
      type: 'string',
      global: true,
      requiresArg: true,
      describe: `where datasets are unpacked and looked for (or env ${DATA_ROOT_ENV}; default: data/ in the checkout, else $XDG_CACHE_HOME/tsnn-trainer or ~/.cache/tsnn-trainer)`,
    })
    .option('max-memory', {
      type: 'string',
      global: true,
      requiresArg: true,
      describe: `the memory a run may use: a size (8GB, 512MB) or a share of the machine's memory (90%) (or env ${MAX_MEMORY_ENV}; default: ${100 * DEFAULT_MEMORY_SHARE}% of the machine's memory, or of its cgroup's limit when lower)`,
    })
    .middleware(globalOptions)
    .completion('completion', 'print a bash/zsh completion script (bash: train completion >> ~/.bashrc; zsh: >> ~/.zshrc)', completeWords)
    // Numbers stay the text the user typed, so that an error can name it (cli/options.ts).
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .strict()
    .help()
    .alias('h', 'help')
    .version(version())
    .wrap(helpWidth())
    .fail((msg, err) => {
      // yargs' own errors (YError: a missing value, an unknown flag) are bad usage; others come from a handler.
      if (err && err.name !== 'YError') throw err;
      badUsage(msg ?? err?.message ?? 'bad usage', err);
    });
  /** Bad usage (exit 2): yargs' message in this CLI's words, and where the options are listed. */
  const badUsage = (msg: string, err?: Error): never => {
    const cmd = args.find((a) => !a.startsWith('-'));
    const help = cmd && COMMAND_NAMES.includes(cmd) ? `train ${cmd} --help` : 'train --help';
    const line = usageMessage(msg, args, cli, COMMAND_NAMES);
    return fail(2, `${line}${line.endsWith('?') ? '' : '.'} Run '${help}' for the options`, err);
  };
  try {
    await cli.parseAsync();
  } catch (err) {
    // A command's builder is awaited, so yargs' own errors after it may arrive here rather than through .fail.
    if (err instanceof Error && err.name === 'YError') badUsage(err.message, err);
    await handleError(err);
  }
}

/** Completion: yargs completes the sub-commands' flags; the default command's (train's config flags) are added here, and its '$0' is not a word to type. */
function completeWords(current: string, argv: { _: unknown[] }, completionFilter: (cb: (err: Error | null, names: string[] | undefined) => void) => void, done: (completions: string[]) => void): void {
  completionFilter((_err, names) => {
    const words = argv._.map(String);
    const trainFlags = !words.some((w) => COMMAND_NAMES.includes(w)) && current.startsWith('-');
    void (trainFlags ? import('./commands/train.js').then((t) => t.TRAIN_FLAGS().filter((f) => f.startsWith(current))) : Promise.resolve([])).then((flags) => {
      done([...new Set([...(names ?? []).filter((n) => n !== '$0'), ...flags])]);
    });
  });
}

// As yargs' hideBin: the arguments after node and the script.
await main(process.argv.slice(2)).catch(handleError);
