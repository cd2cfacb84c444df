/**
 * `train features --dataset cifar --out feats.npy`: the raw (unnormalised) image features of
 * every record, the training files' records first and then the test file's, in file order (the
 * order of features_numpy.py --out), as a float64 .npy of shape (N, 144 + hueBins). The features
 * come from the dataset's cache when it has them (computed and cached otherwise).
 */
import { datasetFeatures } from '../data/feature_data.js';
import { loadDataset, type DatasetName } from '../data/datasets.js';
import { writeNpy } from '../data/npy.js';
import { writeLines } from './output.js';

export interface FeaturesArgs {
  dataset: DatasetName;
  dataDir?: string;
  hueBins: number;
  out: string;
  verify?: boolean;
}

export async function featuresCommand(args: FeaturesArgs, say: (line: string) => void = (l) => writeLines(process.stdout, l)): Promise<void> {
  const raw = await loadDataset(args.dataset, args.dataDir || undefined, { verify: args.verify });
  const t0 = performance.now();
  const f = await datasetFeatures(raw, 'hog+hue', { hueBins: args.hueBins }, (w) => writeLines(process.stderr, `warning: ${w}`));
  const n = raw.train.n + raw.test.n;
  const all = new Float64Array(n * f.dim);
  all.set(f.train);
  all.set(f.test, f.train.length);
  writeNpy(args.out, all, [n, f.dim]);
  const how = f.fromCache ? `read from ${f.file}` : `computed in ${((performance.now() - t0) / 1000).toFixed(1)} s${f.file ? `, cached in ${f.file}` : ''}`;
  say(`features: ${n} images (${raw.train.n} train, then ${raw.test.n} test) × ${f.dim} (HOG 144 + ${args.hueBins} hue bins), ${how}`);
  say(`wrote ${args.out}: float64, shape (${n}, ${f.dim}); numpy.load reads it`);
}
