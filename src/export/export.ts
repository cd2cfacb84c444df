/**
 * `train export`: a trained run's model in a format other tools read.
 *
 *   onnx         the model with its preprocessing inside (plan.ts, onnx.ts): raw pixels in,
 *                probabilities out; runs in onnxruntime, and anything else that reads ONNX
 *   safetensors  the parameters under their checkpoint names (W; W1, b1, …), plus `mean` (the
 *                train mean image, or the features' mean) and for a features run `std`; the
 *                preprocessing (scale, bias column, classes) in __metadata__
 *   npy          the same arrays, one <name>.npy each, and meta.json with the same metadata
 *
 * By default the files go into the run folder (runs/layout.ts exportFile: <run>/export/…), or
 * to `out`. Every file is written atomically. A kNN run has no weights to export and says so
 * (predict/trained.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { checkOptions, checkValue, keyKinds } from '../config/keys.js';
import { encodeNpy } from '../data/npy.js';
import { ioErrorMessage, RunIoError, writeFileAtomic } from '../runs/atomic.js';
import type { Checkpoint } from '../runs/checkpoint.js';
import { EXPORT_FILES, exportFile } from '../runs/layout.js';
import { viewsOf } from '../models/params.js';
import { lossOf } from '../models/loss.js';
import { loadTrainedRun, RUN_ARG } from '../predict/trained.js';
import { onnxOfPlan } from './onnx.js';
import { planOf } from './plan.js';
import { encodeSafetensors, type SafeTensor } from './safetensors.js';

export const EXPORT_FORMATS = ['onnx', 'safetensors', 'npy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const { str } = keyKinds();

/** export's options, for `train export`'s flags and the library's exportRun: one table. (format is checked in exportRun, naming the formats.) */
export const EXPORT_OPTIONS = {
  format: str({ doc: `${EXPORT_FORMATS.join(', ')}. onnx: the model with its preprocessing (raw pixels in, probabilities out); safetensors or npy: the arrays under their checkpoint names` }),
  out: str({ nonEmpty: true, doc: `where to write (a file; for npy a folder)`, defaultText: '<run>/export/model.onnx, model.safetensors or npy/' }),
};

export interface ExportResult {
  format: ExportFormat;
  checkpoint: string;
  /** The files written. */
  files: string[];
}

/** What a reader needs beside the arrays to preprocess and label as training did, as strings. */
export function exportMetadata(ck: Checkpoint, file: string): Record<string, string> {
  const h = ck.header;
  const f = h.preprocess.features;
  return {
    producer: 'tsnn-trainer',
    checkpoint: path.basename(file),
    dataset: h.dataset,
    classes: JSON.stringify(h.classes),
    model: JSON.stringify(h.model),
    loss: lossOf(h.model),
    image_shape: JSON.stringify(h.imageShape),
    input_layout: f ? `features (N, ${h.meanLength}) float64: HOG + ${f.hueBins}-bin hue of each (H, W, C) image (src/data/features.ts)` : 'pixels (N, H, W, C) float32 in 0-255, RGB or grey',
    preprocess: f ? 'rows = (features - mean) / std' : `rows = (pixels - mean) * scale${h.preprocess.bias ? ', then a column of ones (the bias row of W)' : ''}`,
    scale: String(h.preprocess.scale),
    bias_column: String(h.preprocess.bias),
    epoch: String(h.epoch),
    val_acc: String(h.valAcc),
  };
}

/** The checkpoint's arrays under their names: every parameter, then mean (and std for a features run). */
export function namedArrays(ck: Checkpoint): SafeTensor[] {
  const v = viewsOf(ck.header.params, ck.params);
  const out: SafeTensor[] = ck.header.params.map((p) => ({ name: p.name, shape: [p.rows, p.cols], data: v[p.name].data.slice() }));
  out.push({ name: 'mean', shape: [ck.mean.length], data: ck.mean.slice() });
  const f = ck.header.preprocess.features;
  if (f) out.push({ name: 'std', shape: [f.std.length], data: Float32Array.from(f.std) });
  return out;
}

function mkdirFor(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('create the export folder', dir, e));
  }
}

/**
 * Export the run (folder or .ckpt file) `run` in `format`; `out` is the file (onnx, safetensors)
 * or folder (npy) to write, by default inside the run folder.
 */
export function exportRun(run: string, format: ExportFormat, opts: { out?: string } = {}): ExportResult {
  checkValue({ ...RUN_ARG, key: 'run' }, run, 'exportRun()');
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw new ConfigError(`--format ${typeof format === 'string' ? format : JSON.stringify(format)} is not known: use ${EXPORT_FORMATS.join(', ')}`);
  const o = checkOptions('exportRun()', opts, { out: EXPORT_OPTIONS.out }) as { out?: string };
  const { file, ck } = loadTrainedRun(run, 'export');
  const runDir = fs.statSync(run).isDirectory() ? run : path.dirname(run);
  const target = o.out ?? exportFile(runDir, format);
  const meta = exportMetadata(ck, file);
  if (format === 'npy') {
    mkdirFor(target);
    const files: string[] = [];
    for (const a of namedArrays(ck)) {
      const f = path.join(target, `${a.name}.npy`);
      writeFileAtomic(f, encodeNpy(a.data, a.shape));
      files.push(f);
    }
    const metaFile = path.join(target, 'meta.json');
    writeFileAtomic(metaFile, JSON.stringify(meta, null, 2) + '\n');
    return { format, checkpoint: file, files: [...files, metaFile] };
  }
  mkdirFor(path.dirname(target));
  if (format === 'safetensors') {
    writeFileAtomic(target, encodeSafetensors(namedArrays(ck), meta));
  } else {
    const plan = planOf(ck);
    const doc = `${ck.header.model.kind} on ${ck.header.dataset} from ${file}: ${plan.input.name} in, ${plan.output} out. ${meta.preprocess}.`;
    writeFileAtomic(target, onnxOfPlan(plan, meta, doc));
  }
  return { format, checkpoint: file, files: [target] };
}

export { EXPORT_FILES };
