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
 * to `out`. Every file is written atomically, and an npy folder as a whole (written beside its
 * place, then renamed into it). A target that is not a regular file (a device, a FIFO) is
 * refused; an existing export is replaced only with `force`. A kNN run has no weights to export
 * and says so (predict/trained.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { checkOptions, checkValue, keyKinds } from '../config/keys.js';
import { encodeNpy } from '../data/npy.js';
import { checkWritableTarget, tempFileOf, writeFileAtomic } from '../runs/atomic.js';
import { ioErrorMessage, RunIoError } from '../runs/errors.js';
import type { Checkpoint } from '../runs/checkpoint.js';
import { EXPORT_FILES, exportFile } from '../runs/layout.js';
import { kindOf } from '../io/files.js';
import { viewsOf } from '../models/params.js';
import { lossOf } from '../models/loss.js';
import { loadTrainedRun, RUN_ARG } from '../predict/trained.js';
import { onnxOfPlan } from './onnx.js';
import { planOf } from './plan.js';
import { encodeSafetensors, type SafeTensor } from './safetensors.js';

export const EXPORT_FORMATS = ['onnx', 'safetensors', 'npy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const { str, bool } = keyKinds();

/** export's options, for `train export`'s flags and the library's exportRun: one table. (format is checked in exportRun, naming the formats.) */
export const EXPORT_OPTIONS = {
  format: str({ doc: `${EXPORT_FORMATS.join(', ')}. onnx: the model with its preprocessing (raw pixels in, probabilities out); safetensors or npy: the arrays under their checkpoint names` }),
  out: str({ nonEmpty: true, doc: `where to write (a file; for npy a folder)`, defaultText: '<run>/export/model.onnx, model.safetensors or npy/' }),
  force: bool({ doc: 'overwrite an existing export (a regular file, or a folder holding only an npy export); never a device or a FIFO' }),
};

export interface ExportResult {
  format: ExportFormat;
  checkpoint: string;
  /** The files written. */
  files: string[];
}

/** The option that chose an export's path, for the hints of its errors. */
const FLAG = '--out';

/**
 * What a reader needs beside the arrays to preprocess and label as training did. Numbers and
 * booleans keep their JSON types (npy's meta.json: `bias_column: false` is false in Python);
 * safetensors' __metadata__ and ONNX's metadata_props hold strings only (stringMetadata).
 */
export function exportMetadata(ck: Checkpoint, file: string): Record<string, string | number | boolean | null> {
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
    scale: h.preprocess.scale,
    bias_column: h.preprocess.bias,
    epoch: h.epoch,
    val_acc: h.valAcc,
  };
}

/** The metadata as strings, as safetensors' __metadata__ and ONNX's metadata_props hold it. */
export function stringMetadata(meta: Record<string, string | number | boolean | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)]));
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
    throw new RunIoError(ioErrorMessage('create the export folder', dir, e, FLAG));
  }
}

/** The names an npy export writes into its folder. */
function npyNames(ck: Checkpoint): string[] {
  return [...namedArrays(ck).map((a) => `${a.name}.npy`), 'meta.json'];
}

/**
 * Refuse a target that is not what the format writes (a device, a FIFO, a file for npy's
 * folder), and an existing export unless `force`. An npy folder is replaced only when it holds
 * nothing but an npy export, so --force never deletes files of another kind.
 */
function checkTarget(target: string, format: ExportFormat, ck: Checkpoint, force: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch {
    return; // not there: it will be written
  }
  if (format !== 'npy') {
    checkWritableTarget(target, FLAG);
    if (!force) throw new ConfigError(`${target} already exists: pass --force to overwrite it, or give ${FLAG} another path`);
    return;
  }
  if (!st.isDirectory()) throw new RunIoError(`cannot write ${target}: it is ${st.isFile() ? 'a file' : kindOf(st)}, and an npy export is a folder. Pass ${FLAG} a new folder`);
  const there = fs.readdirSync(target);
  if (there.length === 0) return;
  const ours = new Set(npyNames(ck));
  const other = there.filter((n) => !ours.has(n) && !n.endsWith('.npy'));
  if (other.length)
    throw new RunIoError(
      `cannot write ${target}: it holds files that are not an npy export (${other.slice(0, 3).join(', ')}${other.length > 3 ? ', …' : ''}), so it is left alone. Pass ${FLAG} a new or empty folder`,
    );
  if (!force) throw new ConfigError(`${target} already holds an npy export: pass --force to replace it, or give ${FLAG} another folder`);
}

/**
 * Write the npy files and meta.json as a whole or not at all: into a temporary folder beside
 * `target`, then renamed into its place (an earlier export there is moved aside first, then
 * deleted). A failure removes the temporary folder.
 */
function writeNpyFolder(target: string, ck: Checkpoint, meta: Record<string, unknown>): string[] {
  mkdirFor(path.dirname(path.resolve(target)));
  const tmp = tempFileOf(target);
  const old = `${tmp}.old`;
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    for (const a of namedArrays(ck)) writeFileAtomic(path.join(tmp, `${a.name}.npy`), encodeNpy(a.data, a.shape), FLAG);
    writeFileAtomic(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n', FLAG);
    if (fs.existsSync(target) && fs.readdirSync(target).length > 0) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(old) && !fs.existsSync(target)) fs.renameSync(old, target); // put the earlier export back
    throw e instanceof RunIoError ? e : new RunIoError(ioErrorMessage('write', target, e, FLAG));
  }
  fs.rmSync(old, { recursive: true, force: true });
  return npyNames(ck).map((n) => path.join(target, n));
}

/**
 * Export the run (folder or .ckpt file) `run` in `format`; `out` is the file (onnx, safetensors)
 * or folder (npy) to write, by default inside the run folder. An existing export there is
 * replaced only with `force`; a target that is not a regular file (or for npy, a folder) never.
 */
export function exportRun(run: string, format: ExportFormat, opts: { out?: string; force?: boolean } = {}): ExportResult {
  checkValue({ ...RUN_ARG, key: 'run' }, run, 'exportRun()');
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new ConfigError(`--format ${typeof format === 'string' ? format : JSON.stringify(format)} is not known: use ${EXPORT_FORMATS.join(', ')}`);
  const o = checkOptions('exportRun()', opts, { out: EXPORT_OPTIONS.out, force: EXPORT_OPTIONS.force }) as { out?: string; force?: boolean };
  const { file, ck } = loadTrainedRun(run, 'export');
  const runDir = fs.statSync(run).isDirectory() ? run : path.dirname(run);
  const target = o.out ?? exportFile(runDir, format);
  checkTarget(target, format, ck, o.force === true);
  const meta = exportMetadata(ck, file);
  if (format === 'npy') return { format, checkpoint: file, files: writeNpyFolder(target, ck, meta) };
  mkdirFor(path.dirname(target));
  if (format === 'safetensors') {
    writeFileAtomic(target, encodeSafetensors(namedArrays(ck), stringMetadata(meta)), FLAG);
  } else {
    const plan = planOf(ck);
    const doc = `${ck.header.model.kind} on ${ck.header.dataset} from ${file}: ${plan.input.name} in, ${plan.output} out. ${meta.preprocess}.`;
    writeFileAtomic(target, onnxOfPlan(plan, stringMetadata(meta), doc), FLAG);
  }
  return { format, checkpoint: file, files: [target] };
}

export { EXPORT_FILES };
