/** Made by tools/cs231n/knn_peer.py (do not edit): ../shared/peers/knn_numpy.py on the shared CIFAR-10 copy, knn.ipynb's setup. */
export const KNN_PEER = { peer: 'knn_numpy.py (numpy, float64)', train: 5000, test: 500, testAcc: { '1': 0.24, '5': 0.26, '10': 0.284 }, bestK: 15, testAccBestK: 0.264 } as const;
