/** `train export RUN --format onnx|safetensors|npy [--out PATH] [--force]`: write the model, print the files written. */
import * as os from 'node:os';
import { ConfigError } from '../config/config.js';
import { STOP_SIGNALS } from '../data/errors.js';
import { type ExportFormat, exportRun } from '../export/export.js';
import { writeLines } from './output.js';

/**
 * The export is written whole or not at all, and leaves no temporary file: a signal that comes
 * meanwhile is held until the (synchronous) export has ended, and then exits 128+signal.
 */
export async function exportCommand(args: { run: string; format: ExportFormat; out?: string; force?: boolean }): Promise<void> {
  if (args.out === '') throw new ConfigError(`--out "" is empty: give a path, e.g. --out model.${args.format === 'npy' ? 'npy' : args.format}`);
  let stoppedBy: NodeJS.Signals | null = null;
  const hold = (sig: NodeJS.Signals) => () => {
    stoppedBy ??= sig;
  };
  for (const sig of STOP_SIGNALS) process.on(sig, hold(sig));
  let r;
  try {
    r = exportRun(args.run, args.format, { out: args.out, force: args.force });
  } finally {
    // A few turns of the event loop: a signal that came during the export is dispatched now (libuv reads it in the turn after the next).
    for (let turn = 0; turn < 3 && stoppedBy === null; turn++) await new Promise((resolve) => setImmediate(resolve));
  }
  writeLines(process.stderr, `checkpoint: ${r.checkpoint}`);
  writeLines(process.stdout, ...r.files.map((f) => `wrote ${f}`));
  if (stoppedBy !== null) process.exit(128 + os.constants.signals[stoppedBy]);
}
