/** `train export RUN --format onnx|safetensors|npy [--out PATH]`: write the model, print the files written. */
import { type ExportFormat, exportRun } from '../export/export.js';

export function exportCommand(args: { run: string; format: ExportFormat; out?: string }): void {
  const r = exportRun(args.run, args.format, { out: args.out });
  process.stderr.write(`checkpoint: ${r.checkpoint}\n`);
  for (const f of r.files) process.stdout.write(`wrote ${f}\n`);
}
