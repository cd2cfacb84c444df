/** `train predict <run> <images..>`: the top classes of PNG or JPEG images by a trained run. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../config/config.js';
import { PREDICT_OPTIONS } from '../../predict/predict.js';
import { RUN_ARG } from '../../predict/trained.js';
import { predictCommand } from '../predict.js';
import { configFlags, configOption, flagValue, once, optionsOf } from '../options.js';

export const builder = (y: Argv) =>
  y
    .positional('run', { type: 'string', describe: RUN_ARG.doc, demandOption: true })
    .positional('images', { type: 'string', array: true, describe: 'PNG or JPEG files, or folders of them', demandOption: true })
    .options(optionsOf({ top: PREDICT_OPTIONS.top, invert: PREDICT_OPTIONS.invert, maxPixels: PREDICT_OPTIONS.maxPixels }))
    .option('json', { type: 'boolean', describe: 'print one JSON object on stdout (notes go to stderr)' })
    .options(configOption('backend'))
    .epilog(
      "Each image is centre-cropped to a square and resized to the model's input: 32×32 RGB for CIFAR-10, " +
        '28×28 grey for MNIST. MNIST digits are white strokes on a black background; a photo or scan of a dark ' +
        'digit on white paper must be inverted (--invert), and predict notes an image whose border is light. ' +
        'The pixels are then preprocessed exactly as in training, from the checkpoint (mean image, scale, bias ' +
        'column; HOG + hue features for a --features run).',
    );

export async function handler(argv: Record<string, unknown>): Promise<void> {
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
}
