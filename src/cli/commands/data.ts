/** `train data <dataset>`: fetch, unpack and verify a dataset. */
import type { Argv } from 'yargs';
import { type Config, DATASETS } from '../../config/config.js';
import { keyKinds } from '../../config/keys.js';
import { dataCommand } from '../data.js';
import { configFlags, configOption, flagValue, optionsOf } from '../options.js';

const SOURCE = keyKinds().str({ doc: 'folder, archive path or URL (cifar: cifar-10-binary.tar.gz)' });

export const builder = (y: Argv) =>
  y
    .positional('dataset', { choices: DATASETS, describe: 'dataset', demandOption: true })
    .options(optionsOf({ source: SOURCE }))
    .options(configOption('verify'));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const { verify } = configFlags(argv, ['verify']);
  await dataCommand({ dataset: argv.dataset as Config['dataset'], source: flagValue(argv, 'source', SOURCE), verify });
}
