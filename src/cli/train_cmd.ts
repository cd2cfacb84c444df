/**
 * What `train` (the default command, cli/commands/train.ts) does: one run from --config and the
 * flags, or a resume of a run folder (--resume). Ctrl-C, SIGTERM and SIGHUP stop it after the
 * current step with a resumable last.ckpt; the report is rebuilt after every epoch (live) and at the end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { type Config, ConfigError, KEYS, RESUME_FLAGS, flagOf, readConfigFile, resolveConfig, scheduleOf } from '../config/config.js';
import { type EngineSelection, initEngine } from '../linalg/engine.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { RUN_FILES, runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { RunFinishedError, type StartedRun, runTraining, startRun } from '../train/run.js';
import { fitKnn } from '../train/knn_fit.js';
import { buildRunReport, writeLiveReport } from '../report/run_report.js';
import { writeDistanceImage } from '../report/knn_report.js';
import type { Summary } from '../runs/summary.js';
import { type ConsoleUi, createUi } from './ui.js';
import { type Output, jsonLine, onClosedOutput, outputOf, writeLines } from './output.js';
import { configFlags, once } from './options.js';
import { refuseSweepFile } from './file_kind.js';
import { debug } from './fail.js';

type Argvals = Record<string, unknown>;

export async function trainCommand(argv: Argvals): Promise<void> {
  const resumeDir = once('resume', argv.resume) as string | undefined;
  const cfg = resumeDir !== undefined ? resumeConfig(resumeDir, argv) : configFromArgv(argv);
  if (argv['print-config']) {
    process.stdout.write(jsonLine(cfg, 2) + '\n');
    return;
  }
  // --json: the result is one JSON object on stdout, the lines and the bar go to stderr (cli/output.ts).
  const o = outputOf(argv);
  const ui = createUi({ tty: Boolean(o.stream.isTTY), logEvery: cfg.logEvery, out: o.stream, quiet: o.quiet });
  if (cfg.model === 'knn' && resumeDir !== undefined) throw new ConfigError(`--resume ${resumeDir}: a knn run has no checkpoint to carry on; run it again`);
  const engine = await initEngine(cfg.backend); // this process's engine, chosen once
  // kNN has no SGD (nothing to resume): store the rows, cross-validate k, test (train/knn_fit.ts).
  if (cfg.model === 'knn') return knnRun(cfg, engine, ui, o);
  const stop = stopOnSignals(ui);
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
  const live = liveReport(run);
  let outcome;
  try {
    outcome = await runTraining(run, ui, { shouldStop: () => stop.by !== null, afterEpoch: live.write });
  } catch (err) {
    await runEnded(err, run, ui, o, resumeDir, stop.by);
    throw err;
  }
  live.cost();
  const reportFile = await buildRunReport(run.dir, run.runData.data.test);
  o.summary(doneLine(outcome.summary));
  ui.info(`run folder: ${outcome.dir}  (re-evaluate: npx train eval ${outcome.dir})`);
  ui.info(`report: ${reportFile}`);
  o.result({ status: 'finished', dir: outcome.dir, report: reportFile, summary: outcome.summary });
}

/** Build the Config from --config and the flags actually given. */
function configFromArgv(argv: Argvals): Config {
  const name = once('config', argv.config) as string | undefined;
  if (name !== undefined) refuseSweepFile(name);
  const file: Partial<Config> = name !== undefined ? readConfigFile(name) : {};
  return resolveConfig(file, configFlags(argv));
}

/**
 * The config a resume of `dir` runs with: its config.json, with the flags a resume can honour
 * applied and checked. What a resume can change is RESUME_FLAGS (the config table's resume
 * column): the engine (the numbers are the same up to float32 round-off), and the length of the
 * run (more steps than were done). Anything else would make the rest of the run a different run.
 * --runs-dir is refused too: a resume writes into the folder it resumes.
 */
function resumeConfig(dir: string, argv: Argvals): Config {
  const file = runFile(dir, 'config');
  if (!fs.existsSync(file)) throw new ConfigError(`--resume ${dir}: no ${RUN_FILES.config} there; give a run folder (runs/<time>-<name>)`);
  refuseResumeFlags(dir, argv);
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
  checkLonger(dir, cfg, flags);
  return cfg;
}

/** The flags a resume cannot honour, refused by name. */
function refuseResumeFlags(dir: string, argv: Argvals): void {
  const refused = KEYS.filter((d) => argv[d.key] !== undefined && !(RESUME_FLAGS as readonly string[]).includes(d.key)).map((d) => `--${flagOf(d.key)}`);
  if (argv.config !== undefined) refused.unshift('--config');
  if (!refused.length) return;
  throw new ConfigError(
    `--resume carries on ${dir} with its own ${RUN_FILES.config}, so it cannot honour ${refused.join(', ')}` +
      `${refused.includes('--runs-dir') ? ' (a resume writes into the run folder itself)' : ''}. ` +
      `With --resume you may give only ${RESUME_FLAGS.map((k) => `--${flagOf(k)}`).join(', ')} (a longer run); start a new run for other changes`,
  );
}

/** A new length for a resume must be longer than the steps its last.ckpt has done. */
function checkLonger(dir: string, cfg: Config, flags: Partial<Config>): void {
  const last = runFile(dir, 'last');
  if (!fs.existsSync(last)) return; // the resume itself says that there is nothing to resume from
  const h = loadCheckpoint(last).header as { split?: { numTrain?: unknown }; trainer?: { it?: unknown } };
  const done = h.trainer?.it;
  const numTrain = h.split?.numTrain;
  if (typeof done !== 'number' || typeof numTrain !== 'number') return; // the resume refuses such a checkpoint, naming it
  const { perEpoch, steps: total } = scheduleOf(cfg, numTrain);
  if (total <= done) {
    const given = flags.iterations !== undefined ? `--iterations ${flags.iterations}` : `--epochs ${flags.epochs} (${total} steps of ${perEpoch} an epoch)`;
    throw new ConfigError(`--resume ${dir}: ${given} is not longer than the ${done} steps already done: give more than ${done} steps (--epochs more than ${(done / perEpoch).toFixed(2)})`);
  }
}

/** kNN: store the rows, cross-validate k, test, write the report. */
async function knnRun(cfg: Config, engine: EngineSelection, ui: ConsoleUi, o: Output): Promise<void> {
  const { dir, summary, test, distances } = await fitKnn(cfg, engine, ui);
  await writeDistanceImage(dir, distances);
  const reportFile = await buildRunReport(dir, test);
  o.summary(
    `done in ${summary.seconds.total.toFixed(1)} s on ${summary.engine}: test acc ${summary.testAcc.toFixed(3)} (k = ${summary.model.k})${summary.cv ? `; best k by cross-validation ${summary.cv.bestK}` : ''}`,
  );
  ui.info(`run folder: ${dir}`);
  ui.info(`report: ${reportFile}`);
  o.result({ status: 'finished', dir, report: reportFile, summary });
}

/** The signals that stop a run as Ctrl-C does: finish the step, write last.ckpt and the summary, exit 128+signal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const codeOf = (sig: NodeJS.Signals) => 128 + os.constants.signals[sig];

/**
 * Ctrl-C, SIGTERM (schedulers, timeout) and SIGHUP (a closed terminal): finish the current
 * step, write last.ckpt and the summary, exit 128+signal. A second signal: at once. A closed
 * stdout (`train | head -2`) stops the run as SIGTERM does, quietly: resumable, exit 141.
 */
function stopOnSignals(ui: ConsoleUi): { by: NodeJS.Signals | null } {
  const stop: { by: NodeJS.Signals | null } = { by: null };
  for (const sig of STOP_SIGNALS) {
    process.on(sig, () => {
      if (sig === 'SIGHUP') {
        // The terminal is gone: writing to it fails (EIO); the run folder still gets everything.
        process.stdout.on('error', () => {});
        process.stderr.on('error', () => {});
      }
      if (stop.by !== null) process.exit(codeOf(sig));
      stop.by = sig;
      // Through the ui: the bar's line is cleared first, and the bar is redrawn below the message, never over it.
      ui.notice(`stopping after this step (${sig === 'SIGINT' ? 'Ctrl-C' : sig}; again to quit at once)`);
    });
  }
  onClosedOutput(() => {
    stop.by ??= 'SIGPIPE';
  });
  return stop;
}

/** The live report: report.html after every epoch, reloading itself in a browser until the final one replaces it. */
function liveReport(run: StartedRun) {
  const startedAt = Date.now();
  const liveMs: number[] = [];
  // e.seconds counts from the start of training in this process; a resume starts past step 0, so its rate waits for a second epoch.
  let anchor: { it: number; seconds: number } | null = run.resume ? null : { it: 0, seconds: 0 };
  let lastSeconds = 0;
  return {
    write(e: { epoch: number; it: number; seconds: number }, p: { iterations: number; epochs: number }) {
      const t = performance.now();
      const epochSeconds = e.seconds - lastSeconds;
      lastSeconds = e.seconds;
      const stepsPerSecond = anchor && e.seconds > anchor.seconds ? (e.it - anchor.it) / (e.seconds - anchor.seconds) : null;
      anchor ??= { it: e.it, seconds: e.seconds };
      writeLiveReport(run.dir, { epoch: e.epoch, epochs: p.epochs, it: e.it, iterations: p.iterations, startedAt, epochSeconds, stepsPerSecond });
      liveMs.push(performance.now() - t);
    },
    /** --debug: what the live report cost (docs/reports.md quotes it). */
    cost() {
      if (debug && liveMs.length)
        writeLines(process.stderr, `live report: ${liveMs.length} writes, mean ${(liveMs.reduce((a, b) => a + b, 0) / liveMs.length).toFixed(1)} ms, max ${Math.max(...liveMs).toFixed(1)} ms`);
    },
  };
}

/**
 * A run that ended early: a diverged one gets its report (its loss curve shows where it went
 * wrong) and then fails with its error; an interrupted one says how to resume and exits 128+signal.
 */
async function runEnded(err: unknown, run: StartedRun, ui: ConsoleUi, o: Output, resumeDir: string | undefined, by: NodeJS.Signals | null): Promise<void> {
  const report = () => buildRunReport(run.dir, run.runData.data.test);
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
    process.exit(codeOf(by ?? 'SIGINT'));
  }
}

/** The run's one-line result (printed under --quiet too). */
function doneLine(summary: Summary): string {
  const f = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));
  return (
    `done in ${summary.seconds.total.toFixed(1)} s (${summary.examplesPerSecond === null ? '' : `${summary.examplesPerSecond} examples/s `}on ${summary.engine}): ` +
    `final train acc ${f(summary.finalTrainAcc)}, val acc ${f(summary.finalValAcc)}; ` +
    `best val acc ${f(summary.bestValAcc)} (epoch ${summary.bestEpoch}); test acc ${f(summary.testAcc)}`
  );
}
