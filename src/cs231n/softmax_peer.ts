/** Made by tools/cs231n/softmax_peer.py (do not edit): ../shared/peers/cs231n_numpy.py on the shared CIFAR-10 copy, softmax.ipynb's first SGD run. */
export const SOFTMAX_FIRST_PEER = { peer: 'cs231n_numpy.py (numpy)', seeds: [0, 1, 2], valAcc: [0.31, 0.309, 0.309], meanValAcc: 0.3093 } as const;
