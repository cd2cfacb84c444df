/**
 * Speed of the image features (HOG + hue histogram) of all 60,000 CIFAR-10 images beside
 * ../shared/peers/features_numpy.py, in the same invocation. Each round runs the peer on all the
 * images (it prints the seconds its feature loop took, the data load left out) and then ours
 * (computeFeatures on every core, worker start-up included, the data load left out); the figure
 * is the median over rounds of ours / numpy's within a round. The target: at most 0.1.
 *
 *   node --import tsx bench/features.ts [--rounds 3] [--hue-bins 10] [--data-dir …] [--python /usr/bin/python3]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCifarDir, resolveCifarDir } from '../src/data/datasets.js';
import { computeFeatures } from '../src/data/features_parallel.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: path.resolve(root, '../shared/data/cifar-10-binary.tar.gz') },
    python: { type: 'string', default: '/usr/bin/python3' },
    rounds: { type: 'string', default: '3' },
    'hue-bins': { type: 'string', default: '10' },
  },
});
const rounds = Math.max(1, Number(values.rounds));
const hueBins = Number(values['hue-bins']);
const peer = path.resolve(root, '../shared/peers/features_numpy.py');
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const dir = await resolveCifarDir(fs.existsSync(values['data-dir']!) ? values['data-dir'] : undefined);
const raw = readCifarDir(dir);
const n = raw.train.n + raw.test.n;
const pixels = new Uint8Array(n * raw.dim);
pixels.set(raw.train.x);
pixels.set(raw.test.x, raw.train.x.length);
const havePeer = fs.existsSync(peer) && spawnSync(values.python!, ['-c', 'import numpy, scipy, matplotlib'], { stdio: 'ignore' }).status === 0;
if (!havePeer) console.log(`features: no peer (${peer} with numpy, scipy and matplotlib under ${values.python}); our times only`);

const ours: number[] = [];
const theirs: number[] = [];
const ratios: number[] = [];
for (let r = 0; r < rounds; r++) {
  let numpy = NaN;
  if (havePeer) {
    const p = spawnSync(values.python!, [peer, '--data', dir, '--nbin', String(hueBins)], { encoding: 'utf8' });
    if (p.status !== 0) throw new Error(`${peer} failed: ${p.stderr}`);
    numpy = JSON.parse(p.stdout.trim().split('\n').pop()!).seconds as number;
    theirs.push(numpy);
  }
  const t = performance.now();
  await computeFeatures(pixels, n, raw.imageShape, { hueBins });
  const mine = (performance.now() - t) / 1000;
  ours.push(mine);
  if (havePeer) ratios.push(mine / numpy);
  console.log(
    JSON.stringify({
      bench: 'features',
      round: r,
      images: n,
      hueBins,
      threads: os.availableParallelism(),
      ours: +mine.toFixed(3),
      numpy: havePeer ? numpy : null,
      ratio: havePeer ? +(mine / numpy).toFixed(4) : null,
    }),
  );
}
console.log(
  `features of ${n} images (${hueBins} hue bins), median of ${rounds}: ours ${median(ours).toFixed(2)} s` +
    (havePeer ? `, numpy+scipy ${median(theirs).toFixed(2)} s, ratio ours/numpy ${median(ratios).toFixed(3)} (target ≤ 0.1)` : ''),
);
