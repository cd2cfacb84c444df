/**
 * The command line. `train` trains (the default command); `train eval`, `train data` and
 * `train gradcheck` live beside it. This is the only module that knows about argv, TTYs and
 * exit codes:
 *   0 success · 1 runtime failure (I/O, data, memory) · 2 bad usage or config · 3 training diverged (NaN/Inf loss)
 *   · 4 gradient check above threshold · 128+n stopped by signal n, resumable (130 Ctrl-C/SIGINT,
 *   143 SIGTERM, 129 SIGHUP), as a shell reports a process killed by that signal; 141 (SIGPIPE)
 *   when stdout's reader went away (`train | head -2`), a run stopped as by SIGTERM (cli/output.ts)
 *
 * Every error a user can cause prints one `error:` line and no stack trace; an Error of no known
 * kind is a bug and says so (internal error), and --debug prints the stack of either.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { type Config, ConfigError, DATASETS, DEFAULTS, DEFAULT_MEMORY_SHARE, KEYS, MAX_MEMORY_ENV, RESUME_FLAGS, flagOf, memoryBudget, readConfigFile, resolveConfig, scheduleOf } from '../config/config.js';
import { keyKinds } from '../config/keys.js';
import { EngineError, initEngine } from '../linalg/engine.js';
import { DataError, StoppedBySignal } from '../data/errors.js';
import { DATA_ROOT_ENV } from '../data/locations.js';
import { CheckpointError, loadCheckpoint } from '../runs/checkpoint.js';
import { RUNS_INDEX, RUN_FILES, runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import { RunIoError } from '../runs/atomic.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { RunFinishedError, runTraining, startRun } from '../train/run.js';
import { fitKnn } from '../train/knn_fit.js';
import { buildRunReport, writeLiveReport } from '../report/run_report.js';
import { writeDistanceImage } from '../report/knn_report.js';
import { createSweepUi, createUi } from './ui.js';
import { EVAL_OPTIONS, evalCommand, evaluateCheckpoint } from './eval.js';
import { jsonLine, onClosedOutput, outputOf, watchClosedOutput, writeLines } from './output.js';
import { runsCommand } from './runs.js';
import { dataCommand, downloadProgressPrinter } from './data.js';
import { setDownloadProgress } from '../data/fetch.js';
import { GRADCHECK_OPTIONS, gradcheckCommand } from './gradcheck.js';
import { configFlags, configOption, configOptions, flagValue, flagValues, once, optionsOf, scriptingOptions } from './options.js';
import { queueFlagsText, runSweepStoppable, sweepSubcommand } from './sweep_cmd.js';
import { workerLimits } from '../sweep/worker_limits.js';
import { queueUrlOf, queueUrlOptions, requireQueueUrl } from './queue_url.js';
import { reportCommand } from './report.js';
import { featuresCommand } from './features.js';
import { compareCommand } from './compare.js';
import { predictCommand } from './predict.js';
import { exportCommand } from './export.js';
import { EXPORT_OPTIONS, type ExportFormat } from '../export/export.js';
import { PREDICT_OPTIONS } from '../predict/predict.js';
import { RUN_ARG } from '../predict/trained.js';
import { playgroundCommand } from './playground.js';

/**
 * The queue's modules load BullMQ and ioredis, about half of the CLI's start-up time, so only the
 * commands that use a queue import them (a refusal of a bad file then comes in well under 5 s).
 */
const queueModule = () => import('../sweep/queue.js');

/** The package's version, for --version (package.json is two folders up from src/cli and from dist/cli). */
const VERSION = (() => {
  try {
    return String((JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
})();

/** --debug anywhere on the command line: errors also print their stack (read before yargs has parsed). */
const debug = process.argv.includes('--debug');

/** Exit with a one-line message naming the problem; the code tells scripts what kind. */
function fail(code: number, msg: string, err?: unknown, ...more: string[]): never {
  writeLines(process.stderr, `error: ${msg}`, ...more);
  if (debug && err instanceof Error && err.stack) writeLines(process.stderr, ...err.stack.split('\n'));
  process.exit(code);
}

/** An allocation V8 refused: a size no check caught before the work started. */
function isAllocationFailure(err: unknown): boolean {
  return err instanceof RangeError && /allocation failed|Invalid typed array length|Array buffer allocation|Invalid array length/i.test(err.message);
}

function handleError(err: unknown): never {
  if (err instanceof ConfigError) fail(2, err.message, err);
  if (err instanceof StoppedBySignal) fail(128 + os.constants.signals[err.signal], err.message, err);
  if (err instanceof DivergedError) fail(3, err.message, err, 'The best checkpoint so far (if any) is kept in the run folder.');
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
  predict: 'train predict <run-folder or .ckpt file> <image or folder>…',
  export: 'train export <run-folder or .ckpt file> --format onnx|safetensors|npy',
  compare: 'train compare <run-folder> <run-folder> …',
};

/** The sub-commands, for the usage message's pointer to their --help. */
const COMMANDS = ['sweep', 'worker', 'report', 'eval', 'data', 'features', 'gradcheck', 'runs', 'predict', 'export', 'compare', 'playground'];

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
 * What a resume can change (RESUME_FLAGS, the config table's resume column). The run's own
 * config.json is the config; these flags may change it: the engine (the numbers are the same up
 * to float32 round-off), and the length of the run (more steps than were done). Anything else
 * would make the rest of the run a different run. --runs-dir is refused too: a resume writes
 * into the folder it resumes.
 */
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
  const before = { iterations: cfg.iterations, epochs: cfg.epochs };
  if (flags.iterations !== undefined) cfg.iterations = flags.iterations;
  else cfg.iterations = 0;
  if (flags.epochs !== undefined) cfg.epochs = flags.epochs;
  // The run's own length again: not a change (startRun says when such a run has finished).
  if (cfg.iterations === before.iterations && cfg.epochs === before.epochs) return cfg;
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

const { int, num, str } = keyKinds();

/** The sub-commands' own options that are not config keys (gradcheck's are in gradcheck.ts). */
const WORKERS = int({ min: 1, doc: 'worker threads' });
const SOURCE = str({ doc: 'folder, archive path or URL (cifar: cifar-10-binary.tar.gz)' });
const OUT = str({ nonEmpty: true, doc: 'the .npy file to write' });
/** The worker's own number flags, with their bounds (made when the worker command is used: they ask the host for its cores). */
const workerFlags = () => ({
  lockSeconds: num({ ...workerLimits().lockSeconds, default: 30, doc: 'a worker silent this long is taken for dead and its trial handed to another' }),
  threads: int({ ...workerLimits().threads, doc: 'engine threads (openblas, simd, wasm)', defaultText: `the cores (${os.availableParallelism()}) / the worker processes on this host` }),
});

/** The signals that stop a run as Ctrl-C does: finish the step, write last.ckpt and the summary, exit 128+signal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function main(args: string[]): Promise<void> {
  // A reader that went away (`train … | head -2`) ends the program quietly (exit 141), not with an EPIPE stack trace.
  watchClosedOutput();
  // A dataset given as a URL (--data-dir, eval, sweeps) is downloaded with its progress on stderr.
  setDownloadProgress(downloadProgressPrinter(process.stderr));
  const cli = yargs(args)
    .scriptName('train')
    .usage('$0 [options]: train a softmax classifier or an MLP on MNIST or CIFAR-10')
    .command(
      '$0',
      'train a model (the default command)',
      (y) =>
        scriptingOptions(configOptions(y))
          .option('resume', { type: 'string', describe: `carry on an interrupted run from its folder's ${RUN_FILES.last} (its ${RUN_FILES.config} is used)`, requiresArg: true })
          .group(['resume'], 'Output:'),
      async (argv) => {
        const resumeDir = once('resume', argv.resume) as string | undefined;
        const cfg = resumeDir !== undefined ? resumeConfig(resumeDir, argv as Record<string, unknown>) : configFromArgv(argv as Record<string, unknown>);
        if (argv['print-config']) {
          process.stdout.write(jsonLine(cfg, 2) + '\n');
          return;
        }
        // --json: the result is one JSON object on stdout, the lines and the bar go to stderr (cli/output.ts).
        const o = outputOf(argv as Record<string, unknown>);
        const ui = createUi({ tty: Boolean(o.stream.isTTY), logEvery: cfg.logEvery, out: o.stream, quiet: o.quiet });
        if (cfg.model === 'knn' && resumeDir !== undefined) throw new ConfigError(`--resume ${resumeDir}: a knn run has no checkpoint to carry on; run it again`);
        const engine = await initEngine(cfg.backend); // this process's engine, chosen once
        if (cfg.model === 'knn') {
          // kNN has no SGD (nothing to resume): store the rows, cross-validate k, test (train/knn_fit.ts).
          const { dir, summary, test, distances } = await fitKnn(cfg, engine, ui);
          await writeDistanceImage(dir, distances);
          const reportFile = await buildRunReport(dir, test);
          ui.info(`done in ${summary.seconds.total.toFixed(1)} s on ${summary.engine}: test acc ${summary.testAcc.toFixed(3)} (k = ${summary.model.k})${summary.cv ? `; best k by cross-validation ${summary.cv.bestK}` : ''}`);
          ui.info(`run folder: ${dir}`);
          ui.info(`report: ${reportFile}`);
          o.result({ status: 'finished', dir, report: reportFile, summary });
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
            // Through the ui: the bar's line is cleared first, and the bar is redrawn below the message, never over it.
            ui.notice(`stopping after this step (${sig === 'SIGINT' ? 'Ctrl-C' : sig}; again to quit at once)`);
          });
        }
        // A closed stdout (`train | head -2`) stops the run as SIGTERM does, quietly: resumable, with its last.ckpt; exit 141.
        onClosedOutput(() => {
          stoppedBy ??= 'SIGPIPE';
        });
        const stop = () => stoppedBy !== null;
        const run = await startRun(cfg, engine, { resumeDir }).catch((err) => {
          if (!(err instanceof RunFinishedError)) throw err;
          return err;
        });
        if (run instanceof RunFinishedError) {
          // A finished run with no more steps asked for: one line, nothing written, exit 0.
          o.log(run.message);
          o.result({ status: 'finished', dir: run.dir, summary: run.summary });
          return;
        }
        // Whoever starts a run asks for its report, a diverged run's too: its loss curve shows where it went wrong.
        const report = () => buildRunReport(run.dir, run.runData.data.test);
        // The live report: report.html after every epoch, reloading itself in a browser until the final one replaces it.
        const startedAt = Date.now();
        const liveMs: number[] = [];
        // e.seconds counts from the start of training in this process; a resume starts past step 0, so its rate waits for a second epoch.
        let anchor: { it: number; seconds: number } | null = run.resume ? null : { it: 0, seconds: 0 };
        let lastSeconds = 0;
        const live = (e: { epoch: number; it: number; seconds: number }, p: { iterations: number; epochs: number }) => {
          const t = performance.now();
          const epochSeconds = e.seconds - lastSeconds;
          lastSeconds = e.seconds;
          const stepsPerSecond = anchor && e.seconds > anchor.seconds ? (e.it - anchor.it) / (e.seconds - anchor.seconds) : null;
          anchor ??= { it: e.it, seconds: e.seconds };
          writeLiveReport(run.dir, { epoch: e.epoch, epochs: p.epochs, it: e.it, iterations: p.iterations, startedAt, epochSeconds, stepsPerSecond });
          liveMs.push(performance.now() - t);
        };
        // --debug: what the live report cost (docs/reports.md quotes it).
        const liveCost = () => {
          if (debug && liveMs.length) writeLines(process.stderr, `live report: ${liveMs.length} writes, mean ${(liveMs.reduce((a, b) => a + b, 0) / liveMs.length).toFixed(1)} ms, max ${Math.max(...liveMs).toFixed(1)} ms`);
        };
        let outcome;
        try {
          outcome = await runTraining(run, ui, { shouldStop: stop, afterEpoch: live });
        } catch (err) {
          if (err instanceof DivergedError) {
            const file = await report();
            ui.info(`report: ${file}`);
            o.result({ status: 'diverged', dir: run.dir, report: file, error: err.message, summary: readJsonOrNull(runFile(run.dir, 'summary')) });
          }
          if (err instanceof InterruptedError) {
            // The report of what was done, then the last words, in order (the bar is gone by now).
            const file = await report().catch(() => null);
            ui.notice(`interrupted at step ${err.point.state.it}; the run folder keeps ${RUN_FILES.last}. Resume with: npx train --resume ${err.dir ?? resumeDir}`);
            if (file) ui.notice(`report: ${file}`);
            o.result({ status: 'interrupted', dir: run.dir, report: file, step: err.point.state.it, summary: readJsonOrNull(runFile(run.dir, 'summary')) });
            process.exit(codeOf(stoppedBy ?? 'SIGINT'));
          }
          throw err;
        }
        liveCost();
        const { dir, summary } = outcome;
        const reportFile = await report();
        const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
        ui.info(
          `done in ${summary.seconds.total.toFixed(1)} s (${summary.examplesPerSecond === null ? '' : `${summary.examplesPerSecond} examples/s `}on ${summary.engine}): ` +
            `final train acc ${f(summary.finalTrainAcc)}, val acc ${f(summary.finalValAcc)}; ` +
            `best val acc ${f(summary.bestValAcc)} (epoch ${summary.bestEpoch}); test acc ${f(summary.testAcc)}`,
        );
        ui.info(`run folder: ${dir}  (re-evaluate: npx train eval ${dir})`);
        ui.info(`report: ${reportFile}`);
        o.result({ status: 'finished', dir, report: reportFile, summary });
      },
    )
    .command(
      'sweep [status] [file]',
      'hyperparameter sweep (grid or random search) on worker threads, one per core, or on a Redis queue (--queue); `sweep status <file> --queue URL` shows a queued sweep; `sweep cancel <file> [--queue URL]` withdraws its trials',
      (y) =>
        y
          .positional('status', { type: 'string', describe: '"status": print the queued, running, finished and stopped counts of a sweep on --queue; "cancel": withdraw its queued trials and stop its running ones (each keeps its checkpoint)' })
          .positional('file', { type: 'string', describe: 'the sweep file (for status and cancel)' })
          .option('config', { type: 'string', describe: 'sweep file (see configs/sweep-*.json)', requiresArg: true })
          .options(queueUrlOptions('put the trials on the BullMQ queue in this Redis, for `train worker` processes on any host'))
          .options(optionsOf({ workers: { ...WORKERS, defaultText: `one per core (${os.availableParallelism()})` } }))
          .options(configOption('dataDir', { describe: 'dataset location (overrides the sweep base)', defaultDescription: undefined }))
          .options(configOption('backend'))
          .options(configOption('runsDir', { describe: 'the sweep folder is <runs-dir>/sweep-<name>' })),
      async (argv) => {
        const workers = flagValue(argv, 'workers', WORKERS);
        const flags = configFlags(argv, ['dataDir', 'backend', 'runsDir']);
        const warn = (l: string) => writeLines(process.stderr, l);
        const queue = queueUrlOf(argv as Record<string, unknown>, warn);
        const queueText = queueFlagsText(argv as Record<string, unknown>);
        if (argv.status !== undefined) {
          const file = (argv.file as string | undefined) ?? (once('config', argv.config) as string | undefined);
          return sweepSubcommand(String(argv.status), file, queue, flags, warn);
        }
        const file = once('config', argv.config) as string | undefined;
        if (file === undefined) throw new ConfigError('sweep needs its sweep file: train sweep --config <file> (see configs/sweep-*.json)');
        if (queue !== undefined && argv.workers !== undefined) throw new ConfigError('--workers sets the local worker threads; with --queue the trials go to `train worker` processes: drop one of them');
        const runner = queue !== undefined ? (await queueModule()).queueRunner(queue, { warn }) : undefined;
        // On a TTY a bar of its own: trials done, an ETA, the best val so far; the trial lines print above it.
        const bar = createSweepUi({ tty: Boolean(process.stdout.isTTY) });
        let results;
        try {
          results = await runSweepStoppable({ file, flags, workers, ...(runner ? { runner } : {}), out: bar.line, onProgress: (p) => bar.progress(p) }, bar.line, runner ? queueText : null);
        } finally {
          bar.stop();
        }
        if (!results.best) process.exitCode = 3;
      },
    )
    .command(
      'worker',
      'pull sweep trials from a Redis queue and train them (run any number, on any host that shares the runs folder)',
      (y) =>
        y
          .options(queueUrlOptions('the Redis of the sweep'))
          .options(optionsOf(workerFlags()))
          .options(configOption('dataDir', { describe: "dataset location on this host (a job's own is never used)", defaultDescription: 'the data root' }))
          .options(configOption('verify', { describe: "check a downloaded archive's hash (a job's own setting is never used)" }))
          .options(configOption('runsDir', { describe: 'the runs folder this worker writes into (shared with the coordinator); a job for a sweep folder outside it is refused' }))
          .options(configOption('backend')),
      async (argv) => {
        const { dataDir, backend, runsDir, verify } = configFlags(argv, ['dataDir', 'backend', 'runsDir', 'verify']);
        const threads = flagValue(argv, 'threads', workerFlags().threads);
        const { runQueueWorker } = await import('../sweep/queue_worker.js');
        const w = await runQueueWorker({
          url: requireQueueUrl(argv as Record<string, unknown>, (l) => writeLines(process.stderr, l), 'worker'),
          out: (l) => writeLines(process.stdout, l),
          lockSeconds: flagValue(argv, 'lockSeconds', workerFlags().lockSeconds),
          ...(threads !== undefined ? { threads } : {}),
          ...(dataDir !== undefined ? { dataDir } : {}),
          ...(verify !== undefined ? { verify } : {}),
          ...(runsDir !== undefined ? { runsDir } : {}),
          ...(backend !== undefined ? { backend } : {}),
        });
        // A worker that cannot train here (its runs folder, its data) has said why and put its job back: it leaves, exit 1.
        void w.unfit.then(() => w.close().then(() => process.exit(1)));
        // SIGINT/SIGTERM: stop taking trials and leave; a trial in flight carries on from its checkpoint on another worker.
        for (const sig of STOP_SIGNALS) process.once(sig, () => void w.close().then(() => process.exit(128 + os.constants.signals[sig])));
        // Until then; a permanent connection error (a wrong password, an untrusted certificate) ends it with its reason.
        await w.done;
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
        writeLines(process.stdout, `report: ${out}`);
      },
    )
    .command(
      'compare <runs..>',
      'one page overlaying the loss and accuracy curves of run folders, their configs side by side (differing keys highlighted)',
      (y) =>
        y
          .positional('runs', { type: 'string', array: true, describe: 'two or more run folders', demandOption: true })
          .option('out', { type: 'string', requiresArg: true, describe: 'the page to write (.html)', defaultDescription: "compare-<run>-vs-<run>.html beside the first run" }),
      async (argv) => {
        const out = await compareCommand({ runs: (argv.runs as unknown[]).map(String), out: once('out', argv.out) as string | undefined });
        writeLines(process.stdout, `compare: ${out}`);
      },
    )
    .command(
      'eval <run>',
      'evaluate a saved checkpoint (a run folder or a .ckpt file) on a data split',
      (y) =>
        y
          .positional('run', { type: 'string', describe: RUN_ARG.doc, demandOption: true })
          .options(optionsOf({ split: EVAL_OPTIONS.split }))
          .options(configOption('dataDir', { describe: 'dataset location, if not where training read it', defaultDescription: undefined }))
          .options(configOption('backend'))
          .option('json', { type: 'boolean', describe: 'print one JSON object on stdout: {checkpoint, accuracies: {split: {acc, n}}}' }),
      async (argv) => {
        const { dataDir, backend } = configFlags(argv, ['dataDir', 'backend']);
        const args = { run: argv.run as string, split: flagValue(argv, 'split', EVAL_OPTIONS.split), dataDir, backend: backend ?? DEFAULTS.backend };
        if (argv.json === true) {
          const { file, accuracies } = await evaluateCheckpoint(args);
          outputOf(argv as Record<string, unknown>).result({ checkpoint: file, accuracies });
        } else {
          await evalCommand(args);
        }
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
      'predict <run> <images..>',
      'the top classes of your own PNG or JPEG images (or folders of them) by a trained run',
      (y) =>
        y
          .positional('run', { type: 'string', describe: RUN_ARG.doc, demandOption: true })
          .positional('images', { type: 'string', array: true, describe: 'PNG or JPEG files, or folders of them', demandOption: true })
          .options(optionsOf({ top: PREDICT_OPTIONS.top, invert: PREDICT_OPTIONS.invert, maxPixels: PREDICT_OPTIONS.maxPixels }))
          .option('json', { type: 'boolean', describe: 'print one JSON object on stdout (notes go to stderr)' })
          .options(configOption('backend'))
          .epilog(
            'Each image is centre-cropped to a square and resized to the model\'s input: 32×32 RGB for CIFAR-10, ' +
              '28×28 grey for MNIST. MNIST digits are white strokes on a black background; a photo or scan of a dark ' +
              'digit on white paper must be inverted (--invert), and predict notes an image whose border is light. ' +
              'The pixels are then preprocessed exactly as in training, from the checkpoint (mean image, scale, bias ' +
              'column; HOG + hue features for a --features run).',
          ),
      async (argv) => {
        const { backend } = configFlags(argv, ['backend']);
        await predictCommand({
          run: argv.run as string,
          images: (argv.images as unknown[]).map(String),
          top: flagValue(argv, 'top', PREDICT_OPTIONS.top),
          json: Boolean(once('json', argv.json)),
          invert: Boolean(once('invert', argv.invert)),
          maxPixels: flagValue(argv, 'maxPixels', PREDICT_OPTIONS.maxPixels),
          backend: backend ?? DEFAULTS.backend,
        });
      },
    )
    .command(
      'export <run>',
      'write a trained model as ONNX (preprocessing inside), safetensors or .npy files',
      (y) =>
        y
          .positional('run', { type: 'string', describe: RUN_ARG.doc, demandOption: true })
          .option('format', { ...optionsOf({ format: EXPORT_OPTIONS.format }).format, demandOption: true })
          .options(optionsOf({ out: EXPORT_OPTIONS.out, force: EXPORT_OPTIONS.force })),
      async (argv) => {
        await exportCommand({ run: argv.run as string, format: flagValue(argv, 'format', EXPORT_OPTIONS.format) as ExportFormat, out: flagValue(argv, 'out', EXPORT_OPTIONS.out), force: flagValue(argv, 'force', EXPORT_OPTIONS.force) });
      },
    )
    .command(
      'runs [folder]',
      `list the runs of a runs folder (name, dataset, model, engine, best val, test, time, status) and write its ${RUNS_INDEX}, sortable, linking every report`,
      (y) =>
        y
          .positional('folder', { type: 'string', describe: 'the runs folder (default: --runs-dir, runs)' })
          .options(configOption('runsDir', { describe: 'the runs folder, when no folder is given' }))
          .option('json', { type: 'boolean', describe: 'print the rows as one JSON object on stdout' }),
      (argv) => {
        const folder = (argv.folder as string | undefined) ?? configFlags(argv, ['runsDir']).runsDir ?? DEFAULTS.runsDir;
        runsCommand(folder, outputOf(argv as Record<string, unknown>));
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
    .command(playgroundCommand)
    .option('debug', { type: 'boolean', global: true, describe: 'on an error, also print its stack trace' })
    .option('data-root', { type: 'string', global: true, requiresArg: true, describe: `where datasets are unpacked and looked for (or env ${DATA_ROOT_ENV}; default: data/ in the checkout, else $XDG_CACHE_HOME/tsnn-trainer or ~/.cache/tsnn-trainer)` })
    .option('max-memory', { type: 'string', global: true, requiresArg: true, describe: `the memory a run may use: a size (8GB, 512MB) or a share of the machine's memory (90%) (or env ${MAX_MEMORY_ENV}; default: ${100 * DEFAULT_MEMORY_SHARE}% of the machine's memory, or of its cgroup's limit when lower)` })
    // Through the environment, so that worker threads (sweeps, features) use the same folder and memory limit.
    .middleware((argv) => {
      const root = once('data-root', argv['data-root']) as string | undefined;
      if (root === '') throw new ConfigError(`--data-root "" is not a folder: give a folder, e.g. --data-root ~/.cache/tsnn-trainer`);
      if (root !== undefined) process.env[DATA_ROOT_ENV] = path.resolve(root);
      const mem = once('max-memory', argv['max-memory']) as string | undefined;
      if (mem !== undefined) {
        memoryBudget(mem); // a bad value is refused here, before any command starts
        process.env[MAX_MEMORY_ENV] = mem;
      }
    })
    .completion('completion', 'print a bash/zsh completion script (bash: train completion >> ~/.bashrc; zsh: >> ~/.zshrc)', (current: string, argv: { _: unknown[] }, completionFilter: (cb: (err: Error | null, names: string[] | undefined) => void) => void, done: (completions: string[]) => void) => {
      // yargs completes the sub-commands' flags; the default command's (train's config flags) are added here, and its '$0' is not a word to type.
      completionFilter((_err: Error | null, names: string[] | undefined) => {
        const words = (argv._ as unknown[]).map(String);
        const trainFlags = !words.some((w) => COMMANDS.includes(w)) && current.startsWith('-') ? [...KEYS.map((d) => `--${flagOf(d.key)}`), '--config', '--print-config', '--resume', '--json', '--quiet'].filter((f) => f.startsWith(current)) : [];
        done([...new Set([...(names ?? []).filter((n) => n !== '$0'), ...trainFlags])]);
      });
    })
    // Numbers stay the text the user typed, so that an error can name it (cli/options.ts).
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs' own errors (YError: a missing value, an unknown flag) are bad usage; others come from a handler.
      if (err && err.name !== 'YError') handleError(err);
      const cmd = args.find((a) => !a.startsWith('-'));
      const help = cmd && COMMANDS.includes(cmd) ? `train ${cmd} --help` : 'train --help';
      fail(2, `${usageMessage(msg ?? err?.message ?? 'bad usage', args)}. Run '${help}' for the options`, err);
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    handleError(err);
  }
}

await main(hideBin(process.argv)).catch(handleError);
