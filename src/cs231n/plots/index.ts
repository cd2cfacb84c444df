/**
 * The notebooks' plots, by name: what the `train cs231n` command puts on each notebook page. Each
 * builder takes one experiment's output folders (a run or sweep folder each, one per seed in seed
 * order) and returns its page blocks; canvas ids start with the plot's name, so plots share a page.
 *
 *   knn-distances      knn run        the test × train distance matrix, grey
 *   knn-cv             knn run        cross-validation accuracy against k, ± 1 sd error bars
 *   softmax-grid       random sweep   val accuracy over log lr × log reg
 *   svm-grid           random sweep   the same for the SVM
 *   softmax-templates  run or sweep   the best checkpoint's weight templates, one per class
 *   svm-templates      run or sweep   the same for the SVM
 *   twolayer-history   run            loss history, train and val accuracy per epoch
 *   twolayer-weights   run or sweep   the first-layer weight grid (visualize_grid)
 *   features-mistakes  run            misclassified test images, one row per predicted class
 *   overfit            sweep          configs/cs231n-fcnet-overfit.json: 3- and 5-layer nets on 50 images
 *   update-rules       sweep          configs/cs231n-fcnet-update-rules.json: loss, train and val accuracy
 *   bn-weight-scale    sweep          configs/cs231n-fcnet-batchnorm.json: accuracy and loss against weight scale
 *   bn-batch-size      sweep          configs/cs231n-bn-batch-size.json: accuracy per epoch by batch size
 *   dropout-curves     sweep          configs/cs231n-fcnet-dropout.json: train and val accuracy, with and without
 */
import { bnBatchSize, bnWeightScale } from './batchnorm.js';
import { featuresMistakes, firstSeedWeights } from './checkpoint.js';
import { dropoutCurves, overfit, updateRules } from './fcnet.js';
import { knnCv, knnDistances } from './knn.js';
import { lrRegGrid } from './linear.js';
import { twolayerHistory } from './twolayer.js';
import type { NotebookPlot } from './types.js';

export type { NotebookPlot, PlotInput } from './types.js';

export const PLOTS: Record<string, NotebookPlot> = {
  'knn-distances': knnDistances,
  'knn-cv': knnCv,
  'softmax-grid': lrRegGrid('softmax'),
  'svm-grid': lrRegGrid('svm'),
  'softmax-templates': firstSeedWeights,
  'svm-templates': firstSeedWeights,
  'twolayer-history': twolayerHistory,
  'twolayer-weights': firstSeedWeights,
  'features-mistakes': featuresMistakes,
  overfit,
  'update-rules': updateRules,
  'bn-weight-scale': bnWeightScale,
  'bn-batch-size': bnBatchSize,
  'dropout-curves': dropoutCurves,
};
