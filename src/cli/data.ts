/** `train data <dataset>`: fetch and unpack if needed, then verify and print what is there. */
import { describeDataset, loadDataset, type DatasetName } from '../data/datasets.js';

export async function dataCommand(args: { dataset: DatasetName; source?: string; verify?: boolean }): Promise<void> {
  const raw = await loadDataset(args.dataset, args.source, { verify: args.verify });
  const d = describeDataset(raw);
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`${args.dataset}: ${raw.source}`);
  w(`  records: train ${d.records.train}, test ${d.records.test}; ${d.dim} pixels each (${raw.imageShape.join('×')})`);
  w(`  classes (${d.classes.length}): ${d.classes.join(', ')}`);
  w(`  train labels per class: ${d.labelCounts.train.join(' ')}`);
  w(`  test labels per class:  ${d.labelCounts.test.join(' ')}`);
  w('  verified: file sizes match the record counts, every label is in range');
}
