"""Writes src/cs231n/softmax_peer.ts: what ../shared/peers/cs231n_numpy.py (the softmax recipe in
numpy) gets on the shared CIFAR-10 copy with softmax.ipynb's first SGD run (lr 1e-7, reg 2.5e4,
1,500 iterations of batch 200, no decay) on seeds 0, 1 and 2: val accuracy per seed and its mean.
The cs231n softmax page judges configs/cs231n-softmax-first.json against it, because the copy
(rebuilt from JPEG) moves the course's 0.33. CI has no Python, so the numbers are committed as a
TypeScript module.

Made with (data/ unpacked from ../shared/data/cifar-10-binary.tar.gz by `npx train data cifar --source ...`):
  /usr/bin/python3 tools/cs231n/softmax_peer.py data/cifar-10-batches-bin > src/cs231n/softmax_peer.ts
"""
import json, os, subprocess, sys

PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'peers')
if not os.path.isdir(PEERS):
    PEERS = '/work/shared/peers'
SEEDS = (0, 1, 2)
args = ['--model', 'softmax', '--lr', '1e-7', '--reg', '2.5e4', '--iters', '1500', '--bs', '200', '--decay', '1']
val = []
for seed in SEEDS:
    run = subprocess.run([sys.executable, os.path.join(PEERS, 'cs231n_numpy.py'), '--data', sys.argv[1], *args, '--seed', str(seed)], capture_output=True, text=True, check=True)
    val.append(json.loads(run.stdout.strip().splitlines()[-1])['val_acc'])
out = {'peer': 'cs231n_numpy.py (numpy)', 'seeds': list(SEEDS), 'valAcc': val, 'meanValAcc': round(sum(val) / len(val), 4)}
print('/** Made by tools/cs231n/softmax_peer.py (do not edit): ../shared/peers/cs231n_numpy.py on the shared CIFAR-10 copy, softmax.ipynb\'s first SGD run. */')
print(f'export const SOFTMAX_FIRST_PEER = {json.dumps(out)} as const;')
