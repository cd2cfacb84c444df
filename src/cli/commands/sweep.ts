/**
 * `train sweep`: a hyperparameter sweep on worker threads, or on a Redis queue (--queue); `sweep
 * status` and `sweep cancel` (cli/sweep_cmd.ts).
 */
import * as os from 'node:os';
import type { Argv } from 'yargs';
import { ConfigError } from '../../config/config.js';
import { keyKinds } from '../../config/keys.js';
import { createSweepUi } from '../ui.js';
import { writeLines } from '../output.js';
import { configFlags, configOption, flagValue, once, optionsOf } from '../options.js';
import { queueFlagsText, runSweepStoppable, sweepSubcommand } from '../sweep_cmd.js';
import { queueUrlOf, queueUrlOptions } from '../queue_url.js';
import { refuseRunConfig } from '../file_kind.js';

const WORKERS = keyKinds().int({ min: 1, doc: 'worker threads' });

export const builder = (y: Argv) =>
  y
    .positional('status', {
      type: 'string',
      describe:
        '"status": print the queued, running, finished and stopped counts of a sweep (on --queue, or local from its folder) and its workers (--watch: refreshed until Ctrl-C); "cancel": withdraw its queued trials and stop its running ones (each keeps its checkpoint)',
    })
    .option('watch', { type: 'boolean', describe: 'sweep status: refresh in place every 2 s until Ctrl-C' })
    .positional('file', { type: 'string', describe: 'the sweep file (for status and cancel)' })
    .option('config', { type: 'string', describe: 'sweep file (see configs/sweep-*.json)', requiresArg: true })
    .options(queueUrlOptions('put the trials on the BullMQ queue in this Redis, for `train worker` processes on any host'))
    .options(optionsOf({ workers: { ...WORKERS, defaultText: `one per core (${os.availableParallelism()})` } }))
    .options(configOption('dataDir', { describe: 'dataset location (overrides the sweep base)', defaultDescription: undefined }))
    .options(configOption('backend'))
    .options(configOption('runsDir', { describe: 'the sweep folder is <runs-dir>/sweep-<name>' }));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const workers = flagValue(argv, 'workers', WORKERS);
  const flags = configFlags(argv, ['dataDir', 'backend', 'runsDir']);
  const warn = (l: string) => writeLines(process.stderr, l);
  const queue = queueUrlOf(argv, warn);
  const queueText = queueFlagsText(argv);
  if (argv.status !== undefined) {
    const file = (argv.file as string | undefined) ?? (once('config', argv.config) as string | undefined);
    return sweepSubcommand(String(argv.status), file, queue, flags, warn, argv.watch === true);
  }
  const file = once('config', argv.config) as string | undefined;
  if (file === undefined) throw new ConfigError('sweep needs its sweep file: train sweep --config <file> (see configs/sweep-*.json)');
  refuseRunConfig(file);
  if (queue !== undefined && argv.workers !== undefined) throw new ConfigError('--workers sets the local worker threads; with --queue the trials go to `train worker` processes: drop one of them');
  // The queue's modules load BullMQ and ioredis: only a sweep on a queue imports them.
  // With a queue, cli/errors.ts comes now, not on failure (as for `train worker`).
  const runner = queue !== undefined ? (await Promise.all([import('../../sweep/queue.js'), import('../errors.js')]))[0].queueRunner(queue, { warn }) : undefined;
  // On a TTY a bar of its own: trials done, an ETA, the best value of the sweep's metric so far; the trial lines print above it.
  const bar = createSweepUi({ tty: Boolean(process.stdout.isTTY) });
  let results;
  try {
    results = await runSweepStoppable({ file, flags, workers, ...(runner ? { runner } : {}), out: bar.line, onProgress: (p) => bar.progress(p) }, bar, runner ? queueText : null);
  } finally {
    bar.stop();
  }
  if (!results.best) process.exitCode = 3;
}
