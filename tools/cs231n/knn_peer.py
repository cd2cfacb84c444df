"""Writes src/cs231n/knn_peer.ts: what ../shared/peers/knn_numpy.py (float64; its own load, distances
and predict functions, imported, not copied) gets on the shared CIFAR-10 copy with knn.ipynb's
setup (the first 5,000 training and 500 test images): the test accuracy at k = 1, 5 and 10, its
5-fold cross-validation's best k (the script's own --folds 5 output) and the test accuracy at that k.
The cs231n pages show these beside the course's kNN targets, which the copy (rebuilt from JPEG)
moves. CI has no Python, so the numbers are committed as a TypeScript module.

Made with (data/ unpacked from ../shared/data/cifar-10-binary.tar.gz by `npx train data cifar --source ...`):
  /usr/bin/python3 tools/cs231n/knn_peer.py data/cifar-10-batches-bin > src/cs231n/knn_peer.ts
"""
import json, os, subprocess, sys
import numpy as np

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'peers')
if not os.path.isdir(PEERS):
    PEERS = '/work/shared/peers'
sys.path.insert(0, PEERS)
from knn_numpy import load, distances, predict  # noqa: E402

data = sys.argv[1]
xs, ys = zip(*[load(data, f"data_batch_{i}.bin", 10000) for i in range(1, 6)])
Xtr, ytr = np.concatenate(xs)[:5000], np.concatenate(ys)[:5000]
Xte, yte = load(data, "test_batch.bin", 500)
D = distances(Xte, Xtr)
run = subprocess.run([sys.executable, os.path.join(PEERS, 'knn_numpy.py'), '--data', data, '--folds', '5'], capture_output=True, text=True, check=True)
cv = json.loads(run.stdout)
acc = lambda k: float((predict(D, ytr, k) == yte).mean())
out = {
    'peer': 'knn_numpy.py (numpy, float64)',
    'train': 5000,
    'test': 500,
    'testAcc': {str(k): acc(k) for k in (1, 5, 10)},
    'bestK': int(cv['best_k']),
    'testAccBestK': acc(int(cv['best_k'])),
}
print('/** Made by tools/cs231n/knn_peer.py (do not edit): ../shared/peers/knn_numpy.py on the shared CIFAR-10 copy, knn.ipynb\'s setup. */')
print(f'export const KNN_PEER = {json.dumps(out)} as const;')
