/** `train export RUN --format onnx|safetensors|npy [--out PATH]`: write the model, print the files written. */
import { type ExportFormat, exportRun } from '../export/export.js';
import { writeLines } from './output.js';

export function exportCommand(args: { run: string; format: ExportFormat; out?: string }): void {
  const r = exportRun(args.run, args.format, { out: args.out });
  writeLines(process.stderr, `checkpoint: ${r.checkpoint}`);
  writeLines(process.stdout, ...r.files.map((f) => `wrote ${f}`));
}
