import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR_TRAIN_FILES, readCifarBatches } from '../src/data/cifar.js';
import { featureDim, featuresOfRows, makeFeatureScratch } from '../src/data/features.js';
import { decodeNpy, encodeNpy } from '../src/data/npy.js';
import { datasetFeatures, featureCacheFile, prepareFeatureData } from '../src/data/feature_data.js';
import type { RawDataset } from '../src/data/datasets.js';
import { Rng } from '../src/linalg/rng.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FIXTURE = JSON.parse(fs.readFileSync(path.join(HERE, 'fixtures/features_cifar.json'), 'utf8')) as {
  shape: [number, number, number];
  images: string[];
  features: Record<'10' | '25', number[][]>;
};
const PIXELS = FIXTURE.images.map((b) => new Uint8Array(Buffer.from(b, 'base64')));
const ALL = new Uint8Array(PIXELS.length * 3072);
PIXELS.forEach((p, i) => ALL.set(p, i * 3072));

// float64 throughout; tolerance 1e-9 absolute per number, the agreement criterion.
for (const nb of [10, 25] as const) {
  test(`features (${nb} hue bins) agree with features_numpy.py within 1e-9 on the fixture's ${PIXELS.length} images`, () => {
    const dim = featureDim(FIXTURE.shape, { hueBins: nb });
    assert.equal(dim, 144 + nb);
    const got = featuresOfRows(ALL, 0, PIXELS.length, FIXTURE.shape, { hueBins: nb });
    FIXTURE.features[String(nb) as '10' | '25'].forEach((want, i) => {
      assert.equal(want.length, dim);
      let worst = 0;
      let at = -1;
      for (let j = 0; j < dim; j++) {
        const d = Math.abs(got[i * dim + j] - want[j]);
        if (d > worst) [worst, at] = [d, j];
      }
      assert.ok(worst <= 1e-9, `image ${i}: number ${at} is ${got[i * dim + at]}, the reference ${want[at]} (|diff| ${worst})`);
      let hue = 0;
      for (let j = 144; j < dim; j++) hue += got[i * dim + j];
      assert.ok(Math.abs(hue - 1) < 1e-12, `image ${i}: the hue histogram sums to ${hue}`);
    });
  });
}

test("the fixture's first 16 images are the shared CIFAR-10 copy's first 16 (when data/ holds it)", (t) => {
  const dir = path.join(HERE, '../data/cifar-10-batches-bin');
  if (!fs.existsSync(path.join(dir, CIFAR_TRAIN_FILES[0]))) return t.skip(`${dir} is absent`);
  const b = readCifarBatches(dir, CIFAR_TRAIN_FILES.slice(0, 1));
  for (let i = 0; i < 16; i++) assert.deepEqual(b.x.subarray(i * 3072, (i + 1) * 3072), PIXELS[i], `image ${i}`);
});

test('features refuse grey images and sides that are not multiples of 8', () => {
  assert.throws(() => makeFeatureScratch([28, 28, 1], { hueBins: 10 }), /need RGB images/);
  assert.throws(() => makeFeatureScratch([30, 32, 3], { hueBins: 10 }), /multiples of 8/);
  assert.throws(() => makeFeatureScratch([32, 32, 3], { hueBins: 0 }), /hueBins/);
});

test('.npy v1.0: the header numpy expects, and the data read back', () => {
  const data = Float64Array.from({ length: 6 }, (_, i) => i / 3 - 0.5);
  const buf = encodeNpy(data, [2, 3]);
  assert.deepEqual([...buf.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const hlen = buf.readUInt16LE(8);
  assert.equal((10 + hlen) % 64, 0, 'the data starts on a 64-byte boundary');
  const header = buf.subarray(10, 10 + hlen).toString('latin1');
  assert.match(header, /^\{'descr': '<f8', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
  assert.equal(buf.length, 10 + hlen + 48);
  const back = decodeNpy(buf);
  assert.deepEqual(back.shape, [2, 3]);
  assert.deepEqual([...back.data], [...data]);
  assert.match(encodeNpy(new Float32Array(4), [4]).subarray(10).toString('latin1'), /'descr': '<f4'.*'shape': \(4,\)/);
  assert.throws(() => encodeNpy(data, [4, 2]), /holds 8 numbers, the data 6/);
});

// ---------------------------------------------------------------------------------------------
// Features as a model's input: the cache and the normalisation.

/** A small CIFAR-shaped dataset of seeded noise images in a fresh folder (nothing is written there yet). */
function noiseDataset(nTrain: number, nTest: number, seed: number): RawDataset {
  const rng = new Rng(seed);
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rng.uniform() * 256));
  const labels = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rng.uniform() * 10));
  const source = fs.mkdtempSync(path.join(os.tmpdir(), 'feat-cache-'));
  return {
    name: 'cifar',
    classes: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
    imageShape: [32, 32, 3],
    dim: 3072,
    train: { x: bytes(nTrain * 3072), y: labels(nTrain), n: nTrain },
    test: { x: bytes(nTest * 3072), y: labels(nTest), n: nTest },
    source,
  };
}

test('the feature cache: written once beside the dataset, read back the same, recomputed when the pixels or the parameters change', async () => {
  const raw = noiseDataset(60, 20, 3);
  try {
    const a = await datasetFeatures(raw, 'hog+hue', { hueBins: 10 });
    assert.equal(a.fromCache, false);
    assert.equal(a.file, featureCacheFile(raw, 'hog+hue', { hueBins: 10 }));
    assert.ok(fs.existsSync(a.file!));
    assert.deepEqual([...a.train], [...featuresOfRows(raw.train.x, 0, 60, [32, 32, 3], { hueBins: 10 })]);
    assert.deepEqual([...a.test], [...featuresOfRows(raw.test.x, 0, 20, [32, 32, 3], { hueBins: 10 })]);
    const b = await datasetFeatures(raw, 'hog+hue', { hueBins: 10 });
    assert.equal(b.fromCache, true);
    assert.deepEqual([...b.train], [...a.train]);
    assert.deepEqual([...b.test], [...a.test]);
    // Other parameters: another file.
    const c = await datasetFeatures(raw, 'hog+hue', { hueBins: 25 });
    assert.equal(c.fromCache, false);
    assert.equal(c.dim, 169);
    // One pixel changed: the checksum differs, so the cache is not used (and is rewritten).
    raw.test.x[5] ^= 0xff;
    const d = await datasetFeatures(raw, 'hog+hue', { hueBins: 10 });
    assert.equal(d.fromCache, false);
    assert.deepEqual([...d.test.subarray(0, 154)], [...featuresOfRows(raw.test.x, 0, 1, [32, 32, 3], { hueBins: 10 })]);
    assert.equal((await datasetFeatures(raw, 'hog+hue', { hueBins: 10 })).fromCache, true);
    // A truncated cache file is not trusted.
    fs.truncateSync(d.file!, 1000);
    assert.equal((await datasetFeatures(raw, 'hog+hue', { hueBins: 10 })).fromCache, false);
  } finally {
    fs.rmSync(raw.source, { recursive: true, force: true });
  }
});

test('feature rows: train columns have mean 0 and population std 1; the bias column only for the linear model', async () => {
  const raw = noiseDataset(50, 10, 4);
  try {
    const split = { numTrain: 40, numVal: 10, numTest: 10, numDev: 5 };
    for (const bias of [true, false]) {
      const { data } = await prepareFeatureData(raw, split, { kind: 'hog+hue', hueBins: 25 }, { bias, scale: 1 }, new Rng(0));
      const D = 169;
      assert.equal(data.dim, D + (bias ? 1 : 0));
      assert.equal(data.train.X.cols, data.dim);
      assert.equal(data.mean.length, D);
      assert.equal(data.preprocess.features?.std.length, D);
      for (const j of [0, 17, 143, 144, 168]) {
        let s = 0;
        let s2 = 0;
        for (let i = 0; i < 40; i++) s += data.train.X.data[i * data.dim + j];
        for (let i = 0; i < 40; i++) s2 += (data.train.X.data[i * data.dim + j] - s / 40) ** 2;
        // float32 rows: tolerance 1e-5 on mean and std.
        assert.ok(Math.abs(s / 40) < 1e-5, `column ${j}: mean ${s / 40}`);
        const sd = Math.sqrt(s2 / 40);
        // A column constant over the train rows keeps its std of 1 as the divisor and becomes 0.
        assert.ok(Math.abs(sd - 1) < 1e-5 || sd === 0, `column ${j}: std ${sd}`);
        // val row 0 is training record 40, normalised with the train statistics.
        const want = (featuresOfRows(raw.train.x, 40, 1, [32, 32, 3], { hueBins: 25 })[j] - data.mean[j]) / data.preprocess.features!.std[j];
        assert.ok(Math.abs(data.val.X.data[j] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `val row 0, column ${j}`);
      }
      if (bias) assert.equal(data.train.X.data[data.dim - 1], 1);
    }
  } finally {
    fs.rmSync(raw.source, { recursive: true, force: true });
  }
});
