/**
 * The inline questions of cs231n's assignment 1 (12; the 2024 edition's svm.ipynb, whose questions
 * the 2025/2026 softmax notebook keeps in part) and of BatchNormalization.ipynb and Dropout.ipynb
 * (6), paraphrased briefly, each citing its notebook. A page heads the plot or experiment that
 * informs a question with it (notebooks.ts says which).
 */
import type { Question } from './types.js';

const q = (id: string, cite: string, text: string): Question => ({ id, cite, text });

export const QUESTIONS = {
  knn1: q(
    'knn1',
    'knn.ipynb, Inline Question 1',
    'Some rows and some columns of the test × train distance matrix are distinctly bright. What in the data causes the bright rows, and what the bright columns?',
  ),
  knn2: q(
    'knn2',
    'knn.ipynb, Inline Question 2',
    'Which preprocessing steps leave a nearest-neighbour classifier with L1 distance unchanged: subtracting the mean, the per-pixel mean, dividing by the std or the per-pixel std, rotating the coordinate axes?',
  ),
  knn3: q(
    'knn3',
    'knn.ipynb, Inline Question 3',
    'Which statements about k-NN hold for every k: its decision boundary is linear; 1-NN has a training error no higher than 5-NN; the same for test error; classifying a test example takes longer as the training set grows?',
  ),
  svm1: q(
    'svm1',
    'svm.ipynb (2024), Inline Question 1',
    'The gradient check sometimes disagrees in a dimension. What causes it (the hinge is not differentiable everywhere), is it a concern, and when does it happen?',
  ),
  svm2: q('svm2', 'svm.ipynb (2024), Inline Question 2', 'Describe what the learned SVM weights look like when drawn as images, and say why they look that way.'),
  softmax1: q('softmax1', 'softmax.ipynb, Inline Question 1', 'Why is the initial loss expected to be close to −log(0.1)?'),
  softmax2: q(
    'softmax2',
    'softmax.ipynb, Inline Question 2',
    'True or false: a data point can be added to the training set that leaves the SVM loss unchanged, but not the softmax loss. (Drawn here: the tuned softmax, its val accuracy over the lr × reg search, and its weights as templates.)',
  ),
  twolayer1: q('twolayer1', 'two_layer_net.ipynb, Inline Question 1', 'Which activation functions (sigmoid, ReLU, leaky ReLU) can pass a zero or vanishing gradient back, and for which inputs?'),
  twolayer2: q(
    'twolayer2',
    'two_layer_net.ipynb, Inline Question 2',
    'Test accuracy is well below train accuracy. Which of a larger training set, more hidden units or stronger regularization narrows the gap, and why?',
  ),
  features1: q('features1', 'features.ipynb, Inline Question 1', 'Describe the misclassified images, class by class. Do the mistakes make sense?'),
  fcnet1: q(
    'fcnet1',
    'FullyConnectedNets.ipynb, Inline Question 1',
    'Overfitting 50 images: is the five-layer net harder to train than the three-layer one? In particular, which is more sensitive to the initialization scale, and why?',
  ),
  fcnet2: q('fcnet2', 'FullyConnectedNets.ipynb, Inline Question 2', "AdaGrad's updates become very small when training runs long, because its cache only grows. Does Adam have the same problem?"),
  bn1: q(
    'bn1',
    'BatchNormalization.ipynb, Inline Question 1',
    'Describe the results of the weight-initialization experiment: how do the nets with and without batch norm differ as the weight scale changes, and why?',
  ),
  bn2: q('bn2', 'BatchNormalization.ipynb, Inline Question 2', 'Describe the batch-size experiment: how does the batch size change what batch normalization does, and why?'),
  bn3: q(
    'bn3',
    'BatchNormalization.ipynb, Inline Question 3',
    'Which data preprocessing step is analogous to batch normalization, and which to layer normalization (scaling each image, or each feature across the dataset)?',
  ),
  bn4: q(
    'bn4',
    'BatchNormalization.ipynb, Inline Question 4',
    'When is layer normalization likely to work poorly: a very deep net, a small feature dimension, or a high regularization? (Drawn here: layer norm at small batch sizes beside batch norm.)',
  ),
  dropout1: q('dropout1', 'Dropout.ipynb, Inline Question 1', 'What happens if the values dropout keeps are not divided by p? Why?'),
  dropout2: q('dropout2', 'Dropout.ipynb, Inline Question 2', 'Compare the train and val accuracy of the nets with and without dropout: what do they say about dropout as a regularizer?'),
} as const satisfies Record<string, Question>;

export type QuestionId = keyof typeof QUESTIONS;
