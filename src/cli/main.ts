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
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type Config, ConfigError, DATASETS, DEFAULTS, KEYS, flagOf, readConfigFile, resolveConfig, scheduleOf } from '../config/config.js';
import { keyKinds } from '../config/keys.js';
import { EngineError } from '../linalg/engine.js';
import { DataError } from '../data/errors.js';
import { CheckpointError, loadCheckpoint } from '../runs/checkpoint.js';
import { RUN_FILES, runFile } from '../runs/layout.js';
import { RunIoError } from '../runs/atomic.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { runTraining, startRun } from '../train/run.js';
import { runKnn } from '../train/knn_run.js';
import { buildRunReport } from '../report/run_report.js';
import { writeDistanceImage } from '../report/knn_report.js';
import { createUi } from './ui.js';
import { evalCommand } from './eval.js';
import { dataCommand, downloadProgressPrinter } from './data.js';
import { setDownloadProgress } from '../data/fetch.js';
import { GRADCHECK_OPTIONS, gradcheckCommand } from './gradcheck.js';
import { configFlags, configOption, configOptions, flagValue, flagValues, once, optionsOf } from './options.js';
import { runSweep } from '../sweep/sweep.js';
import { checkQueueUrl, queueRunner, sweepStatus } from '../sweep/queue.js';
import { runQueueWorker } from '../sweep/queue_worker.js';
import { reportCommand } from './report.js';
import { featuresCommand } from './features.js';

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

/** Build the Config from --config and the flags actually given. */
function configFromArgv(argv: Record<string, unknown>): Config {
  const file: Partial<Config> = argv.config !== undefined ? readConfigFile(once('config', argv.config) as string) : {};
  return resolveConfig(file, configFlags(argv));
}

/**
 * What a resume can change. The run's own config.json is the config; these flags may change it:
 * the engine (the numbers are the same up to float32 round-off), and the length of the run
 * (more steps than were done). Anything else would make the rest of the run a different run.
 * --runs-dir is refused too: a resume writes into the folder it resumes.
 */
const RESUME_FLAGS = ['backend', 'epochs', 'iterations', 'logEvery'] as const;

/** The config a resume of `dir` runs with: its config.json, with the flags a resume can honour applied and checked. */
function resumeConfig(dir: string, argv: Record<string, unknown>): Config {
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
  const flags = configFlags(argv, RESUME_FLAGS);
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
  const { perEpoch, steps: total } = scheduleOf(cfg, numTrain);
  if (total <= done) {
    const given = flags.iterations !== undefined ? `--iterations ${flags.iterations}` : `--epochs ${flags.epochs} (${total} steps of ${perEpoch} an epoch)`;
    throw new ConfigError(`--resume ${dir}: ${given} is not longer than the ${done} steps already done: give more than ${done} steps (--epochs more than ${(done / perEpoch).toFixed(2)})`);
  }
  return cfg;
}

const { int, str, oneOf } = keyKinds();

/** The sub-commands' own options that are not config keys (gradcheck's are in gradcheck.ts). */
const WORKERS = int({ min: 1, doc: 'worker threads' });
const SPLIT = oneOf(['train', 'val', 'test', 'all'], { default: 'test', doc: 'which split to score' });
const SOURCE = str({ doc: 'folder, archive path or URL (cifar: cifar-10-binary.tar.gz)' });
const OUT = str({ nonEmpty: true, doc: 'the .npy file to write' });

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
      (y) => configOptions(y).option('resume', { type: 'string', describe: `carry on an interrupted run from its folder's ${RUN_FILES.last} (its ${RUN_FILES.config} is used)`, requiresArg: true }),
      async (argv) => {
        const resumeDir = once('resume', argv.resume) as string | undefined;
        const cfg = resumeDir !== undefined ? resumeConfig(resumeDir, argv as Record<string, unknown>) : configFromArgv(argv as Record<string, unknown>);
        if (argv['print-config']) {
          process.stdout.write(JSON.stringify(cfg, null, 2) + '\n');
          return;
        }
        const ui = createUi({ tty: Boolean(process.stdout.isTTY), logEvery: cfg.logEvery });
        if (cfg.model === 'knn') {
          // kNN has no SGD (nothing to resume): store the rows, cross-validate k, test (train/knn_run.ts).
          if (resumeDir !== undefined) throw new ConfigError(`--resume ${resumeDir}: a knn run has no checkpoint to carry on; run it again`);
          const { dir, summary, test, distances } = await runKnn(cfg, ui);
          await writeDistanceImage(dir, distances);
          const reportFile = await buildRunReport(dir, test);
          ui.info(`done in ${summary.seconds.total.toFixed(1)} s on ${summary.engine}: test acc ${summary.testAcc.toFixed(3)} (k = ${summary.model.k})${summary.cv ? `; best k by cross-validation ${summary.cv.bestK}` : ''}`);
          ui.info(`run folder: ${dir}`);
          ui.info(`report: ${reportFile}`);
          return;
        }
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
      'sweep [status] [file]',
      'hyperparameter sweep (grid or random search) on worker threads, one per core, or on a Redis queue (--queue); `sweep status <file> --queue URL` shows a queued sweep',
      (y) =>
        y
          .positional('status', { type: 'string', describe: '"status": print the queued, running, finished and stopped counts of a sweep on --queue' })
          .positional('file', { type: 'string', describe: 'the sweep file (for status)' })
          .option('config', { type: 'string', describe: 'sweep file (see configs/sweep-*.json)', requiresArg: true })
          .option('queue', { type: 'string', describe: 'put the trials on the BullMQ queue in this Redis, redis://[:password@]host:6379 (rediss:// for TLS), for `train worker` processes on any host', requiresArg: true })
          .options(optionsOf({ workers: { ...WORKERS, defaultText: `one per core (${os.availableParallelism()})` } }))
          .options(configOption('dataDir', { describe: 'dataset location (overrides the sweep base)', defaultDescription: undefined }))
          .options(configOption('backend'))
          .options(configOption('runsDir', { describe: 'the sweep folder is <runs-dir>/sweep-<name>' })),
      async (argv) => {
        const workers = flagValue(argv, 'workers', WORKERS);
        const flags = configFlags(argv, ['dataDir', 'backend', 'runsDir']);
        const queue = once('queue', argv.queue) as string | undefined;
        const warn = (l: string) => process.stderr.write(l + '\n');
        if (argv.status !== undefined) {
          if (argv.status !== 'status') throw new ConfigError(`sweep ${argv.status}: unknown; use train sweep --config <file>, or train sweep status <file> --queue <redis URL>`);
          const file = (argv.file as string | undefined) ?? (once('config', argv.config) as string | undefined);
          if (file === undefined || queue === undefined) throw new ConfigError('sweep status needs the sweep file and the queue: train sweep status <file> --queue redis://host:6379');
          await sweepStatus(file, checkQueueUrl(queue), flags, (l) => process.stdout.write(l + '\n'), warn);
          return;
        }
        const file = once('config', argv.config) as string | undefined;
        if (file === undefined) throw new ConfigError('sweep needs its sweep file: train sweep --config <file> (see configs/sweep-*.json)');
        if (queue !== undefined && argv.workers !== undefined) throw new ConfigError('--workers sets the local worker threads; with --queue the trials go to `train worker` processes: drop one of them');
        const runner = queue !== undefined ? queueRunner(checkQueueUrl(queue), { warn }) : undefined;
        const results = await runSweep({ file, flags, workers, ...(runner ? { runner } : {}) });
        if (!results.best) process.exitCode = 3;
      },
    )
    .command(
      'worker',
      'pull sweep trials from a Redis queue and train them (run any number, on any host that shares the runs folder)',
      (y) =>
        y
          .option('queue', { type: 'string', describe: 'the Redis of the sweep, redis://[:password@]host:6379 (rediss:// for TLS)', demandOption: true, requiresArg: true })
          .option('lock-seconds', { type: 'string', describe: 'a worker silent this long is taken for dead and its trial handed to another', default: '30', requiresArg: true })
          .option('threads', { type: 'string', describe: 'engine threads (simd, wasm)', defaultDescription: `all cores (${os.availableParallelism()})`, requiresArg: true })
          .options(configOption('dataDir', { describe: 'dataset location on this host (overrides the sweep base)', defaultDescription: undefined }))
          .options(configOption('backend')),
      async (argv) => {
        const { dataDir, backend } = configFlags(argv, ['dataDir', 'backend']);
        const num = (flag: string, v: unknown, min: number, int: boolean): number => {
          const x = Number(once(flag, v));
          if (!Number.isFinite(x) || x < min || (int && !Number.isInteger(x))) throw new ConfigError(`--${flag} ${String(v)} is not allowed: expected ${int ? 'a whole number' : 'a number'} ≥ ${min}`);
          return x;
        };
        const w = await runQueueWorker({
          url: checkQueueUrl(once('queue', argv.queue) as string),
          lockSeconds: num('lock-seconds', argv['lock-seconds'], 1, false),
          ...(argv.threads !== undefined ? { threads: num('threads', argv.threads, 1, true) } : {}),
          ...(dataDir !== undefined ? { dataDir } : {}),
          ...(backend !== undefined ? { backend } : {}),
        });
        // SIGINT/SIGTERM: stop taking trials and leave; a trial in flight carries on from its checkpoint on another worker.
        await new Promise<void>((resolve) => {
          for (const sig of STOP_SIGNALS) process.once(sig, () => void w.close().then(() => process.exit(128 + os.constants.signals[sig])));
          void resolve;
        });
      },
    )
    .command(
      'report <folder>',
      `rebuild ${RUN_FILES.report} and the PNG figures of a run folder or a sweep folder from its files`,
      (y) =>
        y
          .positional('folder', { type: 'string', describe: 'a run folder or a sweep folder', demandOption: true })
          .options(configOption('backend')),
      async (argv) => {
        const { backend } = configFlags(argv, ['backend']);
        const out = await reportCommand(argv.folder as string, backend ?? DEFAULTS.backend);
        process.stdout.write(`report: ${out}\n`);
      },
    )
    .command(
      'eval <run>',
      'evaluate a saved checkpoint (a run folder or a .ckpt file) on a data split',
      (y) =>
        y
          .positional('run', { type: 'string', describe: `run folder (uses its ${RUN_FILES.best}) or .ckpt file`, demandOption: true })
          .options(optionsOf({ split: SPLIT }))
          .options(configOption('dataDir', { describe: 'dataset location, if not where training read it', defaultDescription: undefined }))
          .options(configOption('backend')),
      async (argv) => {
        const { dataDir, backend } = configFlags(argv, ['dataDir', 'backend']);
        await evalCommand({ run: argv.run as string, split: flagValue(argv, 'split', SPLIT), dataDir, backend: backend ?? DEFAULTS.backend });
      },
    )
    .command(
      'data <dataset>',
      'fetch, unpack and verify a dataset (record counts, sizes, label range)',
      (y) =>
        y
          .positional('dataset', { choices: DATASETS, describe: 'dataset', demandOption: true })
          .options(optionsOf({ source: SOURCE }))
          .options(configOption('verify')),
      async (argv) => {
        const { verify } = configFlags(argv, ['verify']);
        await dataCommand({ dataset: argv.dataset as Config['dataset'], source: flagValue(argv, 'source', SOURCE), verify });
      },
    )
    .command(
      'features',
      'write the raw image features (HOG + hue histogram) of every record, train then test, as a float64 .npy',
      (y) =>
        y
          .options(configOption('dataset', { describe: 'dataset (features need colour images: cifar)', defaultDescription: 'cifar' }))
          .options(configOption('dataDir'))
          .options(configOption('hueBins'))
          .options(configOption('verify'))
          .option('out', { ...optionsOf({ out: OUT }).out, demandOption: true }),
      async (argv) => {
        const flags = configFlags(argv, ['dataset', 'dataDir', 'hueBins', 'verify']);
        await featuresCommand({
          dataset: flags.dataset ?? 'cifar',
          dataDir: flags.dataDir,
          hueBins: flags.hueBins ?? DEFAULTS.hueBins,
          out: flagValue(argv, 'out', OUT) as string,
          verify: flags.verify,
        });
      },
    )
    .command(
      'gradcheck',
      'check analytic gradients against centered differences in float64',
      (y) =>
        y
          .options(optionsOf(GRADCHECK_OPTIONS)),
      async (argv) => {
        const code = await gradcheckCommand(flagValues(argv, GRADCHECK_OPTIONS));
        if (code !== 0) process.exitCode = code;
      },
    )
    .option('debug', { type: 'boolean', global: true, describe: 'on an error, also print its stack trace' })
    // Numbers stay the text the user typed, so that an error can name it (cli/options.ts).
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
      const help = cmd && ['sweep', 'worker', 'report', 'eval', 'data', 'features', 'gradcheck'].includes(cmd) ? `train ${cmd} --help` : 'train --help';
      fail(2, `${usageMessage(msg ?? err?.message ?? 'bad usage', args)}. Run '${help}' for the options`, err);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    handleError(err);
  }
}

await main(hideBin(process.argv)).catch(handleError);
