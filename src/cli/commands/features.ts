/** `train features`: the raw image features of every record as a float64 .npy. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../config/config.js';
import { keyKinds } from '../../config/keys.js';
import { featuresCommand } from '../features.js';
import { configFlags, configOption, flagValue, optionsOf } from '../options.js';

const OUT = keyKinds().str({ nonEmpty: true, doc: 'the .npy file to write' });

export const builder = (y: Argv) =>
  y
    .options(configOption('dataset', { describe: 'dataset (features need colour images: cifar)', defaultDescription: 'cifar' }))
    .options(configOption('dataDir'))
    .options(configOption('hueBins'))
    .options(configOption('verify'))
    .option('out', { ...optionsOf({ out: OUT }).out, demandOption: true });

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const flags = configFlags(argv, ['dataset', 'dataDir', 'hueBins', 'verify']);
  await featuresCommand({
    dataset: flags.dataset ?? 'cifar',
    dataDir: flags.dataDir,
    hueBins: flags.hueBins ?? DEFAULTS.hueBins,
    out: flagValue(argv, 'out', OUT) as string,
    verify: flags.verify,
  });
}
