/**
 * The command line. `train` trains (the default command); `train eval`, `train data` and
 * `train gradcheck` live beside it. This is the only module that knows about argv, TTYs and
 * exit codes:
 *   0 success · 1 runtime failure (I/O, data) · 2 bad usage or config · 3 training diverged (NaN/Inf loss)
 *   · 4 gradient check above threshold
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  type Config,
  ConfigError,
  KEYS,
  checkPartial,
  describeDefault,
  flagOf,
  resolveConfig,
} from '../config/config.js';
import { DataError } from '../data/errors.js';
import { CheckpointError } from '../train/checkpoint.js';
import { RunIoError } from '../train/atomic.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { runTraining } from '../train/run.js';
import { createUi } from './ui.js';
import { evalCommand } from './eval.js';
import { dataCommand, downloadProgressPrinter } from './data.js';
import { setDownloadProgress } from '../data/fetch.js';
import { gradcheckCommand } from './gradcheck.js';
import { runSweep } from '../sweep/sweep.js';
import { reportCommand } from './report.js';

/** Exit with a one-line message naming the problem; the code tells scripts what kind. */
function fail(code: number, msg: string): never {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(code);
}

function handleError(err: unknown): never {
  if (err instanceof ConfigError) fail(2, err.message);
  if (err instanceof DivergedError) fail(3, `${err.message}\nThe best checkpoint so far (if any) is kept in the run folder.`);
  if (err instanceof DataError || err instanceof CheckpointError || err instanceof RunIoError) fail(1, err.message);
  if (err instanceof Error) fail(1, `${err.message}\n${err.stack?.split('\n').slice(1, 6).join('\n') ?? ''}`);
  fail(1, String(err));
}

/** Add one flag per config key; no yargs defaults, so what the user typed can be told apart from defaults. */
function configOptions<T>(y: Argv<T>): Argv<T> {
  let out = y as Argv<unknown>;
  for (const def of KEYS) {
    out = out.option(flagOf(def.key), {
      describe: def.describe,
      type: def.kind === 'number' || def.kind === 'int' ? 'number' : def.kind === 'bool' ? 'boolean' : 'string',
      ...(def.choices ? { choices: def.choices as string[] } : {}),
      defaultDescription: describeDefault(def.key),
      requiresArg: def.kind !== 'bool',
    });
  }
  return out
    .option('config', { type: 'string', describe: 'JSON file of config keys (flags override it)', requiresArg: true })
    .option('print-config', { type: 'boolean', describe: 'print the resolved config as JSON and exit' }) as Argv<T>;
}

/** Build the Config from --config and the flags actually given. */
export function configFromArgv(argv: Record<string, unknown>): Config {
  let file: Partial<Config> = {};
  if (typeof argv.config === 'string') {
    let text: string;
    try {
      text = fs.readFileSync(argv.config, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file ${argv.config}: ${(e as Error).message}`);
    }
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config file ${argv.config} is not valid JSON: ${(e as Error).message}`);
    }
    file = checkPartial(obj, argv.config);
  }
  const given: Record<string, unknown> = {};
  for (const def of KEYS) if (argv[def.key] !== undefined) given[def.key] = argv[def.key];
  const flags = checkPartial(given, 'command line');
  return resolveConfig(file, flags);
}

export async function main(args: string[]): Promise<void> {
  // A dataset given as a URL (--data-dir, eval, sweeps) is downloaded with its progress on stderr.
  setDownloadProgress(downloadProgressPrinter(process.stderr));
  const cli = yargs(args)
    .scriptName('train')
    .usage('$0 [options]: train a softmax classifier or an MLP on MNIST or CIFAR-10')
    .command(
      '$0',
      'train a model (the default command)',
      (y) => configOptions(y).option('resume', { type: 'string', describe: 'carry on an interrupted run from its folder\'s last.ckpt (its config.json is used)', requiresArg: true }),
      async (argv) => {
        const resumeDir = argv.resume as string | undefined;
        let cfg: Config;
        if (resumeDir !== undefined) {
          const file = path.join(resumeDir, 'config.json');
          if (!fs.existsSync(file)) throw new ConfigError(`--resume ${resumeDir}: no config.json there; give a run folder (runs/<time>-<name>)`);
          cfg = configFromArgv({ config: file }); // the run's own config, read and checked as --config is
        } else {
          cfg = configFromArgv(argv as Record<string, unknown>);
        }
        if (argv['print-config']) {
          process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
          return;
        }
        const ui = createUi({ tty: Boolean(process.stdout.isTTY), logEvery: cfg.logEvery });
        // Ctrl-C: finish the current step, write last.ckpt and the summary, exit 130. Twice: at once.
        let stop = false;
        process.on('SIGINT', () => {
          if (stop) process.exit(130);
          stop = true;
          process.stderr.write('\nstopping after this step (Ctrl-C again to quit at once)\n');
        });
        let outcome;
        try {
          outcome = await runTraining(cfg, ui, { shouldStop: () => stop, ...(resumeDir !== undefined ? { resumeDir } : {}) });
        } catch (err) {
          if (err instanceof InterruptedError) {
            process.stderr.write(`interrupted at step ${err.point.state.it}; the run folder keeps last.ckpt. Resume with: npx train --resume ${err.dir ?? resumeDir}\n`);
            process.exit(130);
          }
          throw err;
        }
        const { dir, summary } = outcome;
        const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
        ui.info(
          `done in ${summary.seconds.total.toFixed(1)} s (${summary.examplesPerSecond} examples/s on ${summary.engine}): ` +
            `final train acc ${f(summary.finalTrainAcc)}, val acc ${f(summary.finalValAcc)}; ` +
            `best val acc ${f(summary.bestValAcc)} (epoch ${summary.bestEpoch}); test acc ${f(summary.testAcc)}`,
        );
        ui.info(`run folder: ${dir}  (re-evaluate: npx train eval ${dir})`);
        if (outcome.report) ui.info(`report: ${outcome.report}`);
      },
    )
    .command(
      'sweep',
      'hyperparameter sweep (grid or random search) on worker threads, one per core',
      (y) =>
        y
          .option('config', { type: 'string', describe: 'sweep file (see configs/sweep-*.json)', demandOption: true, requiresArg: true })
          .option('workers', { type: 'number', describe: 'worker threads', defaultDescription: `one per core (${os.availableParallelism()})`, requiresArg: true })
          .option('data-dir', { type: 'string', describe: 'dataset location (overrides the sweep base)', requiresArg: true })
          .option('backend', { type: 'string', choices: KEYS.find((k) => k.key === 'backend')!.choices as string[], describe: 'matmul engine', defaultDescription: 'auto', requiresArg: true })
          .option('runs-dir', { type: 'string', describe: 'the sweep folder is <runs-dir>/sweep-<name>', defaultDescription: 'runs', requiresArg: true }),
      async (argv) => {
        const workers = argv.workers as number | undefined;
        if (workers !== undefined && (!Number.isInteger(workers) || workers < 1)) throw new ConfigError(`--workers ${workers} is not allowed: expected a whole number ≥ 1`);
        const given: Record<string, unknown> = {};
        if (argv['data-dir'] !== undefined) given.dataDir = argv['data-dir'];
        if (argv.backend !== undefined) given.backend = argv.backend;
        if (argv['runs-dir'] !== undefined) given.runsDir = argv['runs-dir'];
        const results = await runSweep({ file: argv.config as string, flags: checkPartial(given, 'command line'), workers });
        if (!results.best) process.exitCode = 3;
      },
    )
    .command(
      'report <folder>',
      'rebuild report.html and the PNG figures of a run folder or a sweep folder from its files',
      (y) =>
        y
          .positional('folder', { type: 'string', describe: 'a run folder or a sweep folder', demandOption: true })
          .option('backend', { type: 'string', choices: KEYS.find((k) => k.key === 'backend')!.choices as string[], describe: 'matmul engine', defaultDescription: 'auto', requiresArg: true }),
      async (argv) => {
        const out = await reportCommand(argv.folder as string, (argv.backend as string | undefined) ?? 'auto');
        process.stdout.write(`report: ${out}\n`);
      },
    )
    .command(
      'eval <run>',
      'evaluate a saved checkpoint (a run folder or a .ckpt file) on a data split',
      (y) =>
        y
          .positional('run', { type: 'string', describe: 'run folder (uses its best.ckpt) or .ckpt file', demandOption: true })
          .option('split', { choices: ['train', 'val', 'test', 'all'], describe: 'which split to score', defaultDescription: 'test', requiresArg: true })
          .option('data-dir', { type: 'string', describe: 'dataset location, if not where training read it', requiresArg: true })
          .option('backend', { type: 'string', choices: KEYS.find((k) => k.key === 'backend')!.choices as string[], defaultDescription: 'auto', requiresArg: true }),
      async (argv) => {
        await evalCommand({ run: argv.run as string, split: (argv.split as string) ?? 'test', dataDir: argv['data-dir'] as string | undefined, backend: (argv.backend as string) ?? 'auto' });
      },
    )
    .command(
      'data <dataset>',
      'fetch, unpack and verify a dataset (record counts, sizes, label range)',
      (y) =>
        y
          .positional('dataset', { choices: ['mnist', 'cifar'], describe: 'dataset', demandOption: true })
          .option('source', { type: 'string', describe: 'folder, archive path or URL (cifar: cifar-10-binary.tar.gz)', requiresArg: true })
          .option('verify', { type: 'boolean', describe: 'check an archive fetched by URL against the known checksums (--no-verify for a custom archive)', defaultDescription: 'true' }),
      async (argv) => {
        await dataCommand({ dataset: argv.dataset as 'mnist' | 'cifar', source: argv.source as string | undefined, verify: argv.verify as boolean | undefined });
      },
    )
    .command(
      'gradcheck',
      'check analytic gradients against centered differences in float64',
      (y) =>
        y
          .option('model', { choices: ['softmax', 'mlp'], defaultDescription: 'softmax', describe: 'model to check', requiresArg: true })
          .option('hidden', { type: 'string', defaultDescription: '7', describe: 'MLP hidden sizes, comma-separated', requiresArg: true })
          .option('reg', { type: 'number', defaultDescription: '0.1', describe: 'L2 strength (reg·ΣW²)', requiresArg: true })
          .option('num-checks', { type: 'number', defaultDescription: '10', describe: 'sampled coordinates per parameter', requiresArg: true })
          .option('threshold', { type: 'number', defaultDescription: '1e-7', describe: 'fail (exit 4) above this max relative error', requiresArg: true })
          .option('seed', { type: 'number', defaultDescription: '0', describe: 'random seed', requiresArg: true })
          .option('dev', { type: 'boolean', describe: 'check on the dev rows of the real data (preprocessed as training does) instead of a random problem; as in cs231n, meant for softmax (an MLP on real rows has ReLU kinks within a nudge of h and tiny gradients, so its errors there are not a verdict)' })
          .option('dataset', { choices: ['mnist', 'cifar'], defaultDescription: 'mnist', describe: 'dataset for --dev', requiresArg: true })
          .option('data-dir', { type: 'string', describe: 'dataset location for --dev', requiresArg: true })
          .option('num-dev', { type: 'number', defaultDescription: '500', describe: 'dev rows for --dev', requiresArg: true })
          .option('init-std', { type: 'number', defaultDescription: '0.1; 1e-4 with --dev', describe: 'weights start as init-std·N(0,1)', requiresArg: true })
          .option('h', { type: 'number', defaultDescription: '1e-5, or 1e-5/max|x| when inputs exceed 1 (raw pixels)', describe: 'centered-difference step', requiresArg: true })
          .option('compare-naive', { type: 'boolean', describe: 'also run the looped softmax loss beside the vectorized one: both losses, the gradient difference, both timings' }),
      async (argv) => {
        const code = await gradcheckCommand({
          dev: Boolean(argv.dev),
          dataset: argv.dataset as 'mnist' | 'cifar' | undefined,
          dataDir: argv['data-dir'] as string | undefined,
          numDev: argv['num-dev'] as number | undefined,
          initStd: argv['init-std'] as number | undefined,
          compareNaive: Boolean(argv['compare-naive']),
          h: argv.h as number | undefined,
          model: (argv.model as 'softmax' | 'mlp') ?? 'softmax',
          hidden: typeof argv.hidden === 'string' ? argv.hidden : '7',
          reg: (argv.reg as number) ?? 0.1,
          numChecks: (argv['num-checks'] as number) ?? 10,
          threshold: (argv.threshold as number) ?? 1e-7,
          seed: (argv.seed as number) ?? 0,
        });
        if (code !== 0) process.exitCode = code;
      },
    )
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) handleError(err);
      process.stderr.write(`error: ${msg}\nRun 'train --help' for the options.\n`);
      process.exit(2);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    handleError(err);
  }
}

await main(hideBin(process.argv));
