/**
 * The command line. `train` trains (the default command); `train eval`, `train data` and
 * `train gradcheck` live beside it. This is the only module that knows about argv, TTYs and
 * exit codes:
 *   0 success · 1 runtime failure (I/O, data, memory) · 2 bad usage or config · 3 training diverged (NaN/Inf loss)
 *   · 4 gradient check above threshold · 128+n stopped by signal n, resumable (130 Ctrl-C/SIGINT,
 *   143 SIGTERM, 129 SIGHUP), as a shell reports a process killed by that signal
 *
 * Every error a user can cause prints one `error:` line and no stack trace; an Error of no known
 * kind is a bug and says so (internal error), and --debug prints the stack of either.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  type Config,
  ConfigError,
  KEYS,
  checkPartial,
  describeDefault,
  flagOf,
  parseJsonText,
  resolveConfig,
} from '../config/config.js';
import { EngineError } from '../linalg/engine.js';
import { DataError } from '../data/errors.js';
import { CheckpointError, loadCheckpoint } from '../runs/checkpoint.js';
import { RUN_FILES, runFile } from '../runs/layout.js';
import { RunIoError } from '../runs/atomic.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { runTraining, startRun } from '../train/run.js';
import { buildRunReport } from '../report/run_report.js';
import { createUi } from './ui.js';
import { evalCommand } from './eval.js';
import { dataCommand, downloadProgressPrinter } from './data.js';
import { setDownloadProgress } from '../data/fetch.js';
import { gradcheckCommand } from './gradcheck.js';
import { runSweep } from '../sweep/sweep.js';
import { reportCommand } from './report.js';

/** --debug anywhere on the command line: errors also print their stack (read before yargs has parsed). */
const debug = process.argv.includes('--debug');

/** Exit with a one-line message naming the problem; the code tells scripts what kind. */
function fail(code: number, msg: string, err?: unknown): never {
  process.stderr.write(`error: ${msg}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  process.exit(code);
}

/** An allocation V8 refused: a size no check caught before the work started. */
function isAllocationFailure(err: unknown): boolean {
  return err instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer allocation|Invalid array length/i.test(err.message);
}

function handleError(err: unknown): never {
  if (err instanceof ConfigError) fail(2, err.message, err);
  if (err instanceof DivergedError) fail(3, `${err.message}\nThe best checkpoint so far (if any) is kept in the run folder.`, err);
  if (err instanceof DataError || err instanceof CheckpointError || err instanceof RunIoError || err instanceof EngineError) fail(1, err.message, err);
  if (isAllocationFailure(err)) fail(1, `out of memory: ${(err as Error).message}. Use smaller sizes (--hidden, --batch-size, --num-train, --iterations)`, err);
  // Anything else escaped every check: a bug, not something the user did.
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  fail(1, `internal error (a bug in train): ${what}${debug ? '' : '. Rerun with --debug for the stack trace, and report it'}`, err);
}

/** What each sub-command takes as its argument, for a usage message that names it. */
const USAGE: Record<string, string> = {
  eval: 'train eval <run-folder or .ckpt file>',
  report: 'train report <run-folder or sweep-folder>',
  data: 'train data <mnist|cifar>',
};

/** yargs' own usage messages, in the words of this CLI. */
function usageMessage(msg: string, args: string[]): string {
  const cmd = args.find((a) => !a.startsWith('-'));
  const missing = /^Not enough arguments following: (.+)$/.exec(msg);
  if (missing) return `--${missing[1]} needs a value: --${missing[1]} <value>`;
  if (/^Not enough non-option arguments/.test(msg) && cmd && USAGE[cmd]) return `${cmd} needs its argument: ${USAGE[cmd]}`;
  return msg.replace(/\n+/g, '; ');
}

/**
 * Add one flag per config key; no yargs defaults, so what the user typed can be told apart from
 * defaults. Numbers are left as the text the user typed (parse-numbers is off, see main): the
 * config schema converts them, and an error can then name `abc` or `Infinity` as given.
 */
function configOptions<T>(y: Argv<T>): Argv<T> {
  let out = y as Argv<unknown>;
  for (const def of KEYS) {
    const numeric = def.kind === 'number' || def.kind === 'int';
    out = out.option(flagOf(def.key), {
      describe: def.describe,
      ...(numeric ? {} : { type: def.kind === 'bool' ? 'boolean' : 'string' }),
      ...(def.choices ? { choices: def.choices as string[] } : {}),
      defaultDescription: describeDefault(def.key),
      requiresArg: def.kind !== 'bool',
    });
  }
  return out
    .option('config', { type: 'string', describe: 'JSON file of config keys (flags override it)', requiresArg: true })
    .option('print-config', { type: 'boolean', describe: 'print the resolved config as JSON and exit' }) as Argv<T>;
}

/** A flag given twice arrives as an array: refuse it rather than pick one silently. */
function once(flag: string, v: unknown): unknown {
  if (Array.isArray(v)) throw new ConfigError(`--${flag} was given ${v.length} times (${v.map((x) => JSON.stringify(x)).join(', ')}): give it once`);
  return v;
}

/** Read a JSON file of config keys (a leading BOM is accepted, as editors on Windows write one). */
export function readConfigFile(file: string): Partial<Config> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder, not a file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new ConfigError(`cannot read config file ${file}: ${why}`);
  }
  return checkPartial(parseJsonText(text, `config file ${file}`), file);
}

/** Build the Config from --config and the flags actually given. */
export function configFromArgv(argv: Record<string, unknown>): Config {
  const file: Partial<Config> = argv.config !== undefined ? readConfigFile(once('config', argv.config) as string) : {};
  const given: Record<string, unknown> = {};
  for (const def of KEYS) if (argv[def.key] !== undefined) given[def.key] = def.kind === 'intList' ? argv[def.key] : once(flagOf(def.key), argv[def.key]);
  const flags = checkPartial(given, 'command line');
  return resolveConfig(file, flags);
}

/**
 * What a resume can change. The run's own config.json is the config; these flags may change it:
 * the engine (the numbers are the same up to float32 round-off), and the length of the run
 * (more steps than were done). Anything else would make the rest of the run a different run.
 * --runs-dir is refused too: a resume writes into the folder it resumes.
 */
export const RESUME_FLAGS = ['backend', 'epochs', 'iterations', 'logEvery'] as const;

/** The config a resume of `dir` runs with: its config.json, with the flags a resume can honour applied and checked. */
export function resumeConfig(dir: string, argv: Record<string, unknown>): Config {
  const file = runFile(dir, 'config');
  if (!fs.existsSync(file)) throw new ConfigError(`--resume ${dir}: no ${RUN_FILES.config} there; give a run folder (runs/<time>-<name>)`);
  const refused = KEYS.filter((d) => argv[d.key] !== undefined && !(RESUME_FLAGS as readonly string[]).includes(d.key)).map((d) => `--${flagOf(d.key)}`);
  if (argv.config !== undefined) refused.unshift('--config');
  if (refused.length) {
    throw new ConfigError(
      `--resume carries on ${dir} with its own ${RUN_FILES.config}, so it cannot honour ${refused.join(', ')}` +
        `${refused.includes('--runs-dir') ? ' (a resume writes into the run folder itself)' : ''}. ` +
        `With --resume you may give only ${RESUME_FLAGS.map((k) => `--${flagOf(k)}`).join(', ')} (a longer run); start a new run for other changes`,
    );
  }
  const saved = readConfigFile(file); // the run's own config, read and checked as --config is
  const given: Record<string, unknown> = {};
  for (const k of RESUME_FLAGS) if (argv[k] !== undefined) given[k] = once(flagOf(k), argv[k]);
  const flags = checkPartial(given, 'command line');
  const cfg = resolveConfig(saved, {});
  if (flags.backend !== undefined) cfg.backend = flags.backend;
  if (flags.logEvery !== undefined) cfg.logEvery = flags.logEvery;
  if (flags.epochs === undefined && flags.iterations === undefined) return cfg;
  // A new length: --iterations wins; --epochs alone replaces the step count by whole passes.
  if (flags.iterations !== undefined) cfg.iterations = flags.iterations;
  else cfg.iterations = 0;
  if (flags.epochs !== undefined) cfg.epochs = flags.epochs;
  const last = runFile(dir, 'last');
  if (!fs.existsSync(last)) return cfg; // the resume itself says that there is nothing to resume from
  const h = loadCheckpoint(last).header as { split?: { numTrain?: unknown }; trainer?: { it?: unknown } };
  const done = h.trainer?.it;
  const numTrain = h.split?.numTrain;
  if (typeof done !== 'number' || typeof numTrain !== 'number') return cfg; // the resume refuses such a checkpoint, naming it
  const perEpoch = Math.max(Math.floor(numTrain / cfg.batchSize), 1);
  const total = cfg.iterations > 0 ? cfg.iterations : Math.max(1, Math.round(cfg.epochs * perEpoch));
  if (total <= done) {
    const given = flags.iterations !== undefined ? `--iterations ${flags.iterations}` : `--epochs ${flags.epochs} (${total} steps of ${perEpoch} an epoch)`;
    throw new ConfigError(`--resume ${dir}: ${given} is not longer than the ${done} steps already done: give more than ${done} steps (--epochs more than ${(done / perEpoch).toFixed(2)})`);
  }
  return cfg;
}

/**
 * A number option of a sub-command, from the text the user typed; the error names that text.
 * `undefined` when the flag was not given.
 */
function numberOption(argv: Record<string, unknown>, flag: string, rule: { int?: boolean; min: number; exclusiveMin?: boolean }): number | undefined {
  const raw = once(flag, argv[flag]);
  if (raw === undefined) return undefined;
  const text = String(raw);
  const v = text.trim() === '' ? NaN : Number(text);
  const ok = Number.isFinite(v) && (!rule.int || Number.isInteger(v)) && (rule.exclusiveMin ? v > rule.min : v >= rule.min);
  if (!ok) throw new ConfigError(`--${flag} ${/^\S+$/.test(text) ? text : JSON.stringify(text)} is not allowed: expected ${rule.int ? 'a whole number' : 'a finite number'} ${rule.exclusiveMin ? '>' : '≥'} ${rule.min}`);
  return v;
}

/** The signals that stop a run as Ctrl-C does: finish the step, write last.ckpt and the summary, exit 128+signal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

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
        const resumeDir = once('resume', argv.resume) as string | undefined;
        const cfg = resumeDir !== undefined ? resumeConfig(resumeDir, argv as Record<string, unknown>) : configFromArgv(argv as Record<string, unknown>);
        if (argv['print-config']) {
          process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
          return;
        }
        const ui = createUi({ tty: Boolean(process.stdout.isTTY), logEvery: cfg.logEvery });
        // Ctrl-C, SIGTERM (schedulers, timeout) and SIGHUP (a closed terminal): finish the current
        // step, write last.ckpt and the summary, exit 128+signal. A second signal: at once.
        let stoppedBy: NodeJS.Signals | null = null;
        const codeOf = (sig: NodeJS.Signals) => 128 + os.constants.signals[sig];
        for (const sig of STOP_SIGNALS) {
          process.on(sig, () => {
            if (sig === 'SIGHUP') {
              // The terminal is gone: writing to it fails (EIO); the run folder still gets everything.
              process.stdout.on('error', () => {});
              process.stderr.on('error', () => {});
            }
            if (stoppedBy !== null) process.exit(codeOf(sig));
            stoppedBy = sig;
            process.stderr.write(`\nstopping after this step (${sig === 'SIGINT' ? 'Ctrl-C' : sig}; again to quit at once)\n`);
          });
        }
        const stop = () => stoppedBy !== null;
        const run = await startRun(cfg, resumeDir);
        // Whoever starts a run asks for its report, a diverged run's too: its loss curve shows where it went wrong.
        const report = () => buildRunReport(run.dir, run.runData.data.test);
        let outcome;
        try {
          outcome = await runTraining(run, ui, { shouldStop: stop });
        } catch (err) {
          if (err instanceof DivergedError) ui.info(`report: ${await report()}`);
          if (err instanceof InterruptedError) {
            process.stderr.write(`interrupted at step ${err.point.state.it}; the run folder keeps ${RUN_FILES.last}. Resume with: npx train --resume ${err.dir ?? resumeDir}\n`);
            process.exit(codeOf(stoppedBy ?? 'SIGINT'));
          }
          throw err;
        }
        const { dir, summary } = outcome;
        const reportFile = await report();
        const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
        ui.info(
          `done in ${summary.seconds.total.toFixed(1)} s (${summary.examplesPerSecond} examples/s on ${summary.engine}): ` +
            `final train acc ${f(summary.finalTrainAcc)}, val acc ${f(summary.finalValAcc)}; ` +
            `best val acc ${f(summary.bestValAcc)} (epoch ${summary.bestEpoch}); test acc ${f(summary.testAcc)}`,
        );
        ui.info(`run folder: ${dir}  (re-evaluate: npx train eval ${dir})`);
        ui.info(`report: ${reportFile}`);
      },
    )
    .command(
      'sweep',
      'hyperparameter sweep (grid or random search) on worker threads, one per core',
      (y) =>
        y
          .option('config', { type: 'string', describe: 'sweep file (see configs/sweep-*.json)', demandOption: true, requiresArg: true })
          .option('workers', { describe: 'worker threads', defaultDescription: `one per core (${os.availableParallelism()})`, requiresArg: true })
          .option('data-dir', { type: 'string', describe: 'dataset location (overrides the sweep base)', requiresArg: true })
          .option('backend', { type: 'string', choices: KEYS.find((k) => k.key === 'backend')!.choices as string[], describe: 'matmul engine', defaultDescription: 'auto', requiresArg: true })
          .option('runs-dir', { type: 'string', describe: 'the sweep folder is <runs-dir>/sweep-<name>', defaultDescription: 'runs', requiresArg: true }),
      async (argv) => {
        const workers = numberOption(argv, 'workers', { int: true, min: 1 });
        const given: Record<string, unknown> = {};
        if (argv['data-dir'] !== undefined) given.dataDir = once('data-dir', argv['data-dir']);
        if (argv.backend !== undefined) given.backend = once('backend', argv.backend);
        if (argv['runs-dir'] !== undefined) given.runsDir = once('runs-dir', argv['runs-dir']);
        const results = await runSweep({ file: once('config', argv.config) as string, flags: checkPartial(given, 'command line'), workers });
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
        const out = await reportCommand(argv.folder as string, (once('backend', argv.backend) as string | undefined) ?? 'auto');
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
        await evalCommand({
          run: argv.run as string,
          split: (once('split', argv.split) as string | undefined) ?? 'test',
          dataDir: once('data-dir', argv['data-dir']) as string | undefined,
          backend: (once('backend', argv.backend) as string | undefined) ?? 'auto',
        });
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
        await dataCommand({ dataset: argv.dataset as 'mnist' | 'cifar', source: once('source', argv.source) as string | undefined, verify: once('verify', argv.verify) as boolean | undefined });
      },
    )
    .command(
      'gradcheck',
      'check analytic gradients against centered differences in float64',
      (y) =>
        y
          .option('model', { choices: ['softmax', 'mlp'], defaultDescription: 'softmax', describe: 'model to check', requiresArg: true })
          .option('hidden', { type: 'string', defaultDescription: '7', describe: 'MLP hidden sizes, comma-separated', requiresArg: true })
          .option('reg', { defaultDescription: '0.1', describe: 'L2 strength (reg·ΣW²)', requiresArg: true })
          .option('num-checks', { defaultDescription: '10', describe: 'sampled coordinates per parameter', requiresArg: true })
          .option('threshold', { defaultDescription: '1e-7', describe: 'fail (exit 4) above this max relative error', requiresArg: true })
          .option('seed', { defaultDescription: '0', describe: 'random seed', requiresArg: true })
          .option('dev', { type: 'boolean', describe: 'check on the dev rows of the real data (preprocessed as training does) instead of a random problem; as in cs231n, meant for softmax (an MLP on real rows has ReLU kinks within a nudge of the step, which the check then reports as unresolved)' })
          .option('dataset', { choices: ['mnist', 'cifar'], defaultDescription: 'mnist', describe: 'dataset for --dev', requiresArg: true })
          .option('data-dir', { type: 'string', describe: 'dataset location for --dev', requiresArg: true })
          .option('num-dev', { defaultDescription: '500', describe: 'dev rows for --dev', requiresArg: true })
          .option('init-std', { defaultDescription: '0.1; 1e-4 with --dev', describe: 'weights start as init-std·N(0,1)', requiresArg: true })
          .option('step', { defaultDescription: '1e-5, or 1e-5/max|x| when inputs exceed 1 (raw pixels)', describe: 'centered-difference step h', requiresArg: true })
          .option('compare-naive', { type: 'boolean', describe: 'also run the looped softmax loss beside the vectorized one: both losses, the gradient difference, both timings' }),
      async (argv) => {
        const a = argv as Record<string, unknown>;
        const code = await gradcheckCommand({
          dev: Boolean(argv.dev),
          dataset: once('dataset', argv.dataset) as 'mnist' | 'cifar' | undefined,
          dataDir: once('data-dir', argv['data-dir']) as string | undefined,
          numDev: numberOption(a, 'num-dev', { int: true, min: 1 }),
          initStd: numberOption(a, 'init-std', { min: 0, exclusiveMin: true }),
          compareNaive: Boolean(argv['compare-naive']),
          h: numberOption(a, 'step', { min: 0, exclusiveMin: true }),
          model: (once('model', argv.model) as 'softmax' | 'mlp' | undefined) ?? 'softmax',
          hidden: (once('hidden', argv.hidden) as string | undefined) ?? '7',
          reg: numberOption(a, 'reg', { min: 0 }) ?? 0.1,
          numChecks: numberOption(a, 'num-checks', { int: true, min: 1 }) ?? 10,
          threshold: numberOption(a, 'threshold', { min: 0, exclusiveMin: true }) ?? 1e-7,
          seed: numberOption(a, 'seed', { int: true, min: 0 }) ?? 0,
        });
        if (code !== 0) process.exitCode = code;
      },
    )
    .option('debug', { type: 'boolean', global: true, describe: 'on an error, also print its stack trace' })
    // Numbers stay the text the user typed, so that an error can name it (configOptions).
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs' own errors (YError: a missing value, an unknown flag) are bad usage; others come from a handler.
      if (err && err.name !== 'YError') handleError(err);
      const cmd = args.find((a) => !a.startsWith('-'));
      const help = cmd && ['sweep', 'report', 'eval', 'data', 'gradcheck'].includes(cmd) ? `train ${cmd} --help` : 'train --help';
      fail(2, `${usageMessage(msg ?? err?.message ?? 'bad usage', args)}. Run '${help}' for the options`, err);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    handleError(err);
  }
}

await main(hideBin(process.argv)).catch(handleError);
