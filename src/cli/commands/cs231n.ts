/** `train cs231n [notebook…]`: run cs231n's notebooks' experiments over seeds, write their pages and figures (src/cs231n/command.ts). */
import * as os from 'node:os';
import type { Argv } from 'yargs';
import { keyKinds } from '../../config/keys.js';
import { writeLines } from '../output.js';
import { configFlags, configOption, flagValue, once, optionsOf } from '../options.js';

const WORKERS = keyKinds().int({ min: 1, doc: "a sweep's worker threads" });
const LOOP_ROWS = keyKinds().int({ min: 0, max: 500, doc: "time knn.ipynb's two loop forms on this many of its 500 test rows (0: skip them, as --no-knn-loops)" });

export const builder = (y: Argv) =>
  y
    .positional('notebook', { type: 'string', array: true, describe: 'knn, svm, softmax, two_layer_net, features, FullyConnectedNets, BatchNormalization, Dropout (default: all)' })
    .option('seeds', { type: 'string', requiresArg: true, describe: 'a count (3: seeds 0, 1, 2) or a list (0,5,7)', defaultDescription: '3 (1 with --quick)' })
    .option('quick', { type: 'boolean', describe: 'a smoke run: one seed, a few steps on few rows (into runs/cs231n-quick unless --out)' })
    .option('out', { type: 'string', requiresArg: true, describe: 'the output folder: <out>/<notebook>/<experiment>/seed-<s>/', defaultDescription: 'runs/cs231n' })
    .option('knn-loops', { type: 'boolean', describe: "time knn.ipynb's loop forms (--no-knn-loops skips them)", default: true })
    .options(optionsOf({ knnLoopRows: { ...LOOP_ROWS, defaultText: '50' }, workers: { ...WORKERS, defaultText: `one per core (${os.availableParallelism()})` } }))
    .option('tuning', { type: 'boolean', describe: 'also run the tuning sweeps behind the committed configs (two-layer, features)' })
    .option('write-figures', { type: 'string', requiresArg: true, describe: "write the figures' table into this markdown file's marked section (e.g. configs/README.md)" })
    .options(configOption('dataDir'))
    .options(configOption('backend'));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const { KNN_LOOP_ROWS, chooseNotebooks, cs231nCommand, parseSeeds } = await import('../../cs231n/command.js');
  const quick = argv.quick === true;
  const seedsText = once('seeds', argv.seeds) as string | undefined;
  const seeds = seedsText !== undefined ? parseSeeds(seedsText) : quick ? [0] : [0, 1, 2];
  const loopRows = argv['knn-loops'] === false ? 0 : (flagValue(argv, 'knnLoopRows', LOOP_ROWS) ?? KNN_LOOP_ROWS);
  const out = (once('out', argv.out) as string | undefined) ?? (quick ? 'runs/cs231n-quick' : 'runs/cs231n');
  const workers = flagValue(argv, 'workers', WORKERS);
  const plan = { out, seeds, quick, knnLoopRows: loopRows, tuning: argv.tuning === true, flags: configFlags(argv, ['dataDir', 'backend']), ...(workers ? { workers } : {}) };
  const writeFigures = once('write-figures', argv['write-figures']) as string | undefined;
  const notebooks = chooseNotebooks(((argv.notebook as unknown[] | undefined) ?? []).map(String));
  const io = { line: (l: string) => writeLines(process.stdout, l), warn: (l: string) => writeLines(process.stderr, l) };
  await cs231nCommand({ notebooks, plan, ...(writeFigures !== undefined ? { writeFigures } : {}) }, io);
}
