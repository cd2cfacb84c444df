/**
 * The inline questions of cs231n's assignment 1 (12 in the 2025/2026 editions: knn 3, softmax 4,
 * two_layer_net 2, features 1, FullyConnectedNets 2; the 2024 edition had svm.ipynb's 2 and
 * softmax's 2) and of BatchNormalization.ipynb and Dropout.ipynb (6), paraphrased briefly, each
 * citing its notebook. A page heads the plot or experiment that informs a question with it
 * (notebooks.ts says which).
 *
 * Checked against the official starter zips in cs231n/cs231n.github.io (assignments/2024, 2025,
 * 2026); the 2025 and 2026 texts are the same. The numbering is the same in every edition except
 * softmax.ipynb's: 2024 has Q1 (−log 0.1) and Q2 (true/false); 2025/2026 have Q1 (−log 0.1), Q2
 * (svm.ipynb's 2024 Q1, on the gradient check), Q3 (the weights as images) and Q4 (true/false).
 */
import type { Question } from './types.js';

const q = (id: string, cite: string, text: string): Question => ({ id, cite, text });

export const QUESTIONS = {
  knn1: q(
    'knn1',
    'knn.ipynb, Inline Question 1',
    'Some rows and some columns of the test × train distance matrix are visibly brighter (white is far). What in the data causes the distinctly bright rows, and what the columns?',
  ),
  knn2: q(
    'knn2',
    'knn.ipynb, Inline Question 2',
    'Which preprocessing steps, applied alike to train and test, leave the performance of an L1 nearest-neighbour classifier unchanged: subtracting the mean; the per-pixel mean; the mean then dividing by the std; the per-pixel mean then the per-pixel std; rotating all images by one angle?',
  ),
  knn3: q(
    'knn3',
    'knn.ipynb, Inline Question 3',
    "Which hold for k-NN classification, for every k: its decision boundary is linear; 1-NN's training error is never above 5-NN's; 1-NN's test error is always below 5-NN's; classifying a test example takes longer as the training set grows; none of these?",
  ),
  svm1: q(
    'svm1',
    'svm.ipynb (2024), Inline Question 1; softmax.ipynb (2025/2026), Inline Question 2',
    'A dimension of the SVM gradient check sometimes does not match. What could cause it (the hinge loss is not strictly differentiable), is it a concern, what is a simple one-dimensional case where the check fails, and how would changing the margin affect how often it happens?',
  ),
  svm2: q('svm2', 'svm.ipynb (2024), Inline Question 2', 'Describe what the learned SVM weights look like when drawn as images, and say briefly why they look that way.'),
  softmax1: q('softmax1', 'softmax.ipynb, Inline Question 1', 'Why is the initial loss expected to be close to −log(0.1)? Explain briefly.'),
  softmax2: q(
    'softmax2',
    'softmax.ipynb, Inline Question 2 (2024) / Inline Question 4 (2025/2026)',
    'True or false: with the training loss summed over the data points, a data point can be added that leaves the SVM loss unchanged but changes the softmax loss.',
  ),
  softmax3: q('softmax3', 'softmax.ipynb (2025/2026), Inline Question 3', 'Describe what the learned softmax weights look like when drawn as images, and say briefly why they look that way.'),
  twolayer1: q(
    'twolayer1',
    'two_layer_net.ipynb, Inline Question 1',
    'A common issue with activation functions is zero (or near-zero) gradient flow in backprop. Which of sigmoid, ReLU and leaky ReLU have it, and, in one dimension, for which inputs?',
  ),
  twolayer2: q(
    'twolayer2',
    'two_layer_net.ipynb, Inline Question 2',
    'Test accuracy is much lower than train accuracy. Which narrow the gap: a larger training set, more hidden units, stronger regularization, or none of these? Why?',
  ),
  features1: q(
    'features1',
    'features.ipynb, Inline Question 1',
    'Describe the misclassifications you see. Do they make sense? (Drawn here: per predicted class, test images given that label whose true label is another.)',
  ),
  fcnet1: q(
    'fcnet1',
    'FullyConnectedNets.ipynb, Inline Question 1',
    'Overfitting 50 images: was the five-layer net harder to train than the three-layer one? In particular, which seemed more sensitive to the initialization scale, and why?',
  ),
  fcnet2: q(
    'fcnet2',
    'FullyConnectedNets.ipynb, Inline Question 2',
    'With AdaGrad (cache += dw²; w −= lr·dw/(√cache + eps)) the updates became very small and the net learned slowly. Why would the updates become so small? Would Adam have the same issue?',
  ),
  bn1: q(
    'bn1',
    'BatchNormalization.ipynb, Inline Question 1',
    'Describe the results of the weight-initialization experiment: how does the weight scale affect the nets with and without batch norm differently, and why?',
  ),
  bn2: q(
    'bn2',
    'BatchNormalization.ipynb, Inline Question 2',
    'Describe the batch-size experiment: what does it imply about the relationship between batch normalization and batch size, and why is that relationship observed?',
  ),
  bn3: q(
    'bn3',
    'BatchNormalization.ipynb, Inline Question 3',
    "Which preprocessing step is analogous to batch norm, and which to layer norm: scaling each image so each pixel row's RGB sums to 1; so all its pixels' RGB sums to 1; subtracting the dataset's mean image; thresholding RGB values to 0 or 1?",
  ),
  bn4: q(
    'bn4',
    'BatchNormalization.ipynb, Inline Question 4',
    'When is layer normalization likely not to work well, and why: in a very deep net, with a very small feature dimension, or with a high regularization term? (Drawn here: layer norm at small batch sizes beside batch norm.)',
  ),
  dropout1: q('dropout1', 'Dropout.ipynb, Inline Question 1', 'What happens if the values passed through inverse dropout are not divided by p (the keep probability)? Why?'),
  dropout2: q('dropout2', 'Dropout.ipynb, Inline Question 2', 'Compare the train and val accuracy of the nets with and without dropout: what do the results suggest about dropout as a regularizer?'),
} as const satisfies Record<string, Question>;

export type QuestionId = keyof typeof QUESTIONS;
