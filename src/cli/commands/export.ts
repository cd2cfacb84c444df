/** `train export <run>`: a trained model as ONNX, safetensors or .npy files. */
import type { Argv } from 'yargs';
import { EXPORT_OPTIONS, type ExportFormat } from '../../export/export.js';
import { RUN_ARG } from '../../predict/trained.js';
import { exportCommand } from '../export.js';
import { flagValue, optionsOf } from '../options.js';

export const builder = (y: Argv) =>
  y
    .positional('run', { type: 'string', describe: RUN_ARG.doc, demandOption: true })
    .option('format', { ...optionsOf({ format: EXPORT_OPTIONS.format }).format, demandOption: true })
    .options(optionsOf({ out: EXPORT_OPTIONS.out, force: EXPORT_OPTIONS.force }));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const format = flagValue(argv, 'format', EXPORT_OPTIONS.format) as ExportFormat;
  await exportCommand({ run: argv.run as string, format, out: flagValue(argv, 'out', EXPORT_OPTIONS.out), force: flagValue(argv, 'force', EXPORT_OPTIONS.force) });
}
