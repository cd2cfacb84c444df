import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CIFAR_TRAIN_FILES, readCifarBatches } from '../src/data/cifar.js';
import { featureDim, featuresOfRows, makeFeatureScratch } from '../src/data/features.js';
import { decodeNpy, encodeNpy } from '../src/data/npy.js';

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
