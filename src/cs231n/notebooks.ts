/**
 * The notebooks of cs231n's assignment 1 (2024 and 2025/2026 editions) and the fully connected
 * parts of assignment 2, as `train cs231n` runs them: per notebook, its experiments (a committed
 * config, run or swept, per seed or once), the plots its page draws from them (src/cs231n/plots),
 * the course's targets and the checks computed now, and its inline questions (questions.ts).
 * Where this machine's data moves a target (the shared CIFAR-10 copy, rebuilt from JPEG), the
 * target is judged against what the numpy peer gets on the same copy (knn_peer.ts).
 */
import { KNN_PEER } from './knn_peer.js';
import { SOFTMAX_FIRST_PEER } from './softmax_peer.js';
import { summaryField, trialMaxTrainAcc } from './measure.js';
import { QUESTIONS } from './questions.js';
import type { Check, Experiment, Notebook, Target } from './types.js';
import { ruleCheck, type RuleName } from './update_checks.js';

const BOTH = ['2024', '2026'] as const;
const Y2026 = ['2026'] as const;
const Y2024 = ['2024'] as const;

const run = (id: string, title: string, config: string, more: Partial<Experiment> = {}): Experiment => ({ id, title, config, sweep: false, seeded: true, ...more });
const sweep = (id: string, title: string, config: string, more: Partial<Experiment> = {}): Experiment => ({ id, title, config, sweep: true, seeded: true, ...more });
const tuning = (id: string, config: string): Experiment => sweep(id, `the tuning sweep behind the committed config (${config})`, config, { seeded: false, tuning: true });

const val = summaryField('bestValAcc');
const test = summaryField('testAcc');
/** One image of knn.ipynb's 500 test images: how near the numpy peer counts as the same figure. */
const ONE_OF_500 = 1 / 500 + 1e-9;
const PEER = `${KNN_PEER.peer} on the same copy`;
/** A sweep trial with this many hidden layers. */
const layers = (n: number) => (p: Record<string, unknown>) => Array.isArray(p.hidden) && p.hidden.length === n;

const knn: Notebook = {
  id: 'knn',
  file: 'knn.ipynb',
  title: 'k-nearest neighbours',
  editions: [...BOTH],
  experiments: [
    run('knn', 'kNN, k = 10, with 5-fold cross-validation over k', 'cs231n-knn.json', { seeded: false, note: 'deterministic: no seed enters a kNN run' }),
    run('k1', 'kNN, k = 1 (the notebook’s first test)', 'cs231n-knn.json', {
      seeded: false,
      overrides: { name: 'cs231n-knn-k1', k: 1, cvFolds: 0 },
      note: 'the committed config at k = 1, no cross-validation',
    }),
  ],
  plots: [
    { plot: 'knn-distances', experiment: 'knn', question: 'knn1' },
    { plot: 'knn-cv', experiment: 'knn', question: 'knn3' },
  ],
  targets: [
    {
      id: 'k1',
      what: 'test accuracy at k = 1',
      experiment: 'k1',
      measure: test,
      op: '≈',
      value: 0.27,
      tolerance: 0.01,
      editions: [...BOTH],
      onThisCopy: { value: KNN_PEER.testAcc['1'], tolerance: ONE_OF_500, source: PEER },
      note: 'the notebook gets 0.274 on the original files; the shared copy, rebuilt from JPEG, moves every pixel, so kNN is judged against the numpy peer on the same images',
    },
    {
      id: 'cv',
      what: 'test accuracy with the best k by cross-validation',
      experiment: 'knn',
      measure: summaryField('testAccBestK'),
      op: '>',
      value: 0.28,
      editions: [...BOTH],
      onThisCopy: { value: KNN_PEER.testAccBestK, tolerance: ONE_OF_500, source: `${PEER} (its best k: ${KNN_PEER.bestK})` },
      note: 'the shared copy moves it as it moves k = 1',
    },
  ],
  checks: [],
  questions: [QUESTIONS.knn1, QUESTIONS.knn2, QUESTIONS.knn3],
};

const svm: Notebook = {
  id: 'svm',
  file: 'svm.ipynb',
  title: 'linear SVM (2024)',
  editions: [...Y2024],
  experiments: [run('svm', 'the tuned linear SVM', 'cs231n-svm.json'), sweep('search', 'the lr × reg search', 'sweep-cs231n-svm.json', { seeded: false })],
  plots: [
    { plot: 'svm-grid', experiment: 'search' },
    { plot: 'svm-templates', experiment: 'svm', question: 'svm2' },
  ],
  targets: [{ id: 'val', what: 'val accuracy, tuned', experiment: 'svm', measure: val, op: '>', value: 0.385, editions: [...Y2024] }],
  checks: [],
  questions: [QUESTIONS.svm1, QUESTIONS.svm2],
};

const softmax: Notebook = {
  id: 'softmax',
  file: 'softmax.ipynb',
  title: 'softmax classifier',
  editions: [...BOTH],
  experiments: [
    run('first-sgd', 'the first SGD run (lr 1e-7, reg 2.5e4)', 'cs231n-softmax-first.json', {
      note: "the notebook's first call of train(): learning_rate 1e-7, reg 2.5e4, 1,500 iterations, no decay",
    }),
    run('tuned', 'the tuned softmax', 'cs231n-softmax.json'),
    sweep('search', 'the lr × reg search', 'sweep-cs231n-softmax.json', { seeded: false }),
  ],
  plots: [
    { plot: 'softmax-grid', experiment: 'search' },
    { plot: 'softmax-templates', experiment: 'tuned', question: 'softmax3' },
  ],
  targets: [
    {
      id: 'first',
      what: 'val accuracy after the first SGD',
      experiment: 'first-sgd',
      measure: val,
      op: '>',
      value: 0.33,
      editions: [...Y2026],
      // 0.01: 10 of the 1,000 val images, about one sd of a mean over 3 seeds (√(0.31·0.69/1000)/√3 = 0.0084).
      onThisCopy: { value: SOFTMAX_FIRST_PEER.meanValAcc, tolerance: 0.01, source: `${SOFTMAX_FIRST_PEER.peer} on the same copy, mean of seeds ${SOFTMAX_FIRST_PEER.seeds.join(', ')}` },
      note: "the notebook's own settings; on the shared copy (rebuilt from JPEG) the numpy recipe gets val 0.31 too, so the run is judged against it",
    },
    { id: 'tuned', what: 'val accuracy, tuned', experiment: 'tuned', measure: val, op: '>', value: 0.36, aim: 0.385, editions: [...Y2026] },
  ],
  checks: [],
  // 2025/2026 order: Q2 is svm.ipynb's 2024 Q1 (the gradient check), Q4 the 2024 Q2.
  questions: [QUESTIONS.softmax1, QUESTIONS.svm1, QUESTIONS.softmax3, QUESTIONS.softmax2],
};

const twoLayer: Notebook = {
  id: 'two_layer_net',
  file: 'two_layer_net.ipynb',
  title: 'two-layer net',
  editions: [...BOTH],
  experiments: [
    run('baseline', 'the first, undertrained run (hidden 50)', 'cs231n-twolayer-baseline.json'),
    run('tuned', 'the tuned net (hidden 500)', 'cs231n-twolayer.json'),
    tuning('search', 'sweep-cs231n-twolayer.json'),
  ],
  plots: [
    { plot: 'twolayer-history', experiment: 'baseline', question: 'twolayer2' },
    { plot: 'twolayer-weights', experiment: 'tuned' },
  ],
  targets: [
    { id: 'val', what: 'val accuracy, tuned', experiment: 'tuned', measure: val, op: '>', value: 0.48, editions: [...Y2026] },
    { id: 'test', what: 'test accuracy, tuned', experiment: 'tuned', measure: test, op: '>', value: 0.48, editions: [...Y2026] },
  ],
  checks: [],
  questions: [QUESTIONS.twolayer1, QUESTIONS.twolayer2],
};

const features: Notebook = {
  id: 'features',
  file: 'features.ipynb',
  title: 'image features',
  editions: [...BOTH],
  experiments: [
    run('softmax', 'softmax on HOG + hue features (2026)', 'cs231n-features-softmax.json'),
    run('svm', 'linear SVM on HOG + hue features (2024)', 'cs231n-features-svm.json'),
    run('twolayer', 'two-layer net on the features', 'cs231n-features-twolayer.json'),
    tuning('softmax-search', 'sweep-cs231n-features-softmax.json'),
    tuning('svm-search', 'sweep-cs231n-features-svm.json'),
    tuning('twolayer-search', 'sweep-cs231n-features-twolayer.json'),
  ],
  plots: [{ plot: 'features-mistakes', experiment: 'softmax', question: 'features1' }],
  targets: [
    { id: 'linear', what: 'val accuracy of the linear classifier on features', experiment: 'softmax', measure: val, op: '>', value: 0.42, editions: [...Y2026] },
    // features.ipynb (2024): the SVM on features "near 0.44" on val.
    { id: 'svm', what: 'val accuracy of the linear SVM on features', experiment: 'svm', measure: val, op: '>=', value: 0.44, editions: [...Y2024] },
    { id: 'net', what: 'test accuracy of the net on features', experiment: 'twolayer', measure: test, op: '>', value: 0.58, editions: [...Y2026] },
  ],
  checks: [],
  questions: [QUESTIONS.features1],
};

/** An update rule's check against FullyConnectedNets.ipynb's expected arrays. */
const ruleTarget = (rule: RuleName): Check => ({
  id: rule,
  what: `${rule} against the notebook's expected arrays`,
  target: 'rel_error within 1e-8',
  compute: () => ruleCheck(rule),
  editions: [...BOTH],
});

const overfit = (n: number): Target => ({
  id: `overfit${n}`,
  what: `train accuracy of the ${n}-layer net on 50 images`,
  experiment: 'overfit',
  measure: trialMaxTrainAcc(layers(n - 1)),
  op: '>=',
  value: 1,
  editions: [...BOTH],
});

const fcnet: Notebook = {
  id: 'FullyConnectedNets',
  file: 'FullyConnectedNets.ipynb',
  title: 'fully connected nets',
  editions: [...BOTH],
  experiments: [
    sweep('overfit', 'the 3- and 5-layer nets overfitting 50 images', 'cs231n-fcnet-overfit.json'),
    sweep('update-rules', 'sgd, sgd_momentum, rmsprop and adam', 'cs231n-fcnet-update-rules.json'),
    run('best', 'the best net (1024, 512, batch norm, dropout)', 'cs231n-fcnet-best.json'),
  ],
  plots: [
    { plot: 'overfit', experiment: 'overfit', question: 'fcnet1' },
    { plot: 'update-rules', experiment: 'update-rules', question: 'fcnet2' },
  ],
  targets: [
    overfit(3),
    overfit(5),
    { id: 'val', what: 'val accuracy of the best net', experiment: 'best', measure: val, op: '>=', value: 0.5, aim: 0.55, editions: [...BOTH] },
    { id: 'test', what: 'test accuracy of the best net', experiment: 'best', measure: test, op: '>=', value: 0.5, aim: 0.53, editions: [...BOTH] },
  ],
  checks: [ruleTarget('sgd_momentum'), ruleTarget('rmsprop'), ruleTarget('adam')],
  questions: [QUESTIONS.fcnet1, QUESTIONS.fcnet2],
};

const batchNorm: Notebook = {
  id: 'BatchNormalization',
  file: 'BatchNormalization.ipynb',
  title: 'batch normalization and layer normalization',
  editions: [...BOTH],
  experiments: [
    sweep('weight-scale', 'eight layers, with and without batch norm, at 20 weight scales', 'cs231n-fcnet-batchnorm.json'),
    sweep('batch-size', 'batch norm and layer norm at batch sizes 5, 10 and 50', 'cs231n-bn-batch-size.json'),
  ],
  plots: [
    { plot: 'bn-weight-scale', experiment: 'weight-scale', question: 'bn1' },
    { plot: 'bn-batch-size', experiment: 'batch-size', question: 'bn2' },
  ],
  targets: [],
  checks: [],
  questions: [QUESTIONS.bn1, QUESTIONS.bn2, QUESTIONS.bn3, QUESTIONS.bn4],
};

const dropout: Notebook = {
  id: 'Dropout',
  file: 'Dropout.ipynb',
  title: 'dropout',
  editions: [...BOTH],
  experiments: [sweep('dropout', 'hidden 500 on 500 images, keep 1 and 0.25', 'cs231n-fcnet-dropout.json')],
  plots: [{ plot: 'dropout-curves', experiment: 'dropout', question: 'dropout2' }],
  targets: [],
  checks: [],
  questions: [QUESTIONS.dropout1, QUESTIONS.dropout2],
};

/** Every notebook, in the course's order. */
export const NOTEBOOKS: readonly Notebook[] = [knn, svm, softmax, twoLayer, features, fcnet, batchNorm, dropout];

/** The notebook of id `id` (case-insensitive, with or without .ipynb), or undefined. */
export function notebookOf(id: string): Notebook | undefined {
  const want = id.replace(/\.ipynb$/i, '').toLowerCase();
  return NOTEBOOKS.find((n) => n.id.toLowerCase() === want);
}
