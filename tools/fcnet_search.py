"""Hyperparameter search for configs/cs231n-fcnet-best.json, in PyTorch (CPU, float32, 1 thread).

It replicates the project's fully connected net as cs231n's FullyConnectedNet builds it, so that
a config found here carries over: per hidden layer affine -> batchnorm -> ReLU -> inverted dropout
(keep p), then affine -> softmax loss; W = initStd*randn, b = 0, gamma = 1, beta = 0; batch norm
written out as layers.py does (train: batch mean, uncorrected variance, eps 1e-5; running
averages with momentum 0.9; test: running statistics); loss + reg*sum(W^2) over weights only (the
project's convention; cs231n's FullyConnectedNet uses 0.5*reg); Adam (torch.optim.Adam has
cs231n's optim.adam math: bias correction, t incremented first, eps 1e-8 outside the sqrt);
minibatches drawn with replacement as cs231n's Solver; steps per epoch = max(numTrain // batch, 1);
lr <- lr*decay after each epoch; the best val epoch's parameters kept and scored once on test.
Data: the CIFAR-10 binary batches, cs231n split 49,000 / 1,000 / first 1,000 of test, the train
mean image subtracted, raw pixel units.

Run with Debian's python: /usr/bin/python3 tools/fcnet_search.py --data data/cifar-10-batches-bin
  --hidden 512,256 --lr 1e-3 --decay 0.95 --reg 1e-3 --init 1e-2 --keep 0.75 --bs 200 --epochs 10
Prints one JSON line per run (per-epoch val, best val, test, seconds per epoch)."""
import argparse, json, os, time
import numpy as np
import torch

def load(d):
    def rd(f):
        a = np.fromfile(os.path.join(d, f), dtype=np.uint8).reshape(-1, 3073)
        return a[:, 1:].astype(np.float64), a[:, 0].astype(np.int64)
    xs, ys = zip(*[rd(f"data_batch_{i}.bin") for i in range(1, 6)])
    X, y = np.concatenate(xs), np.concatenate(ys)
    Xte, yte = rd("test_batch.bin")
    Xtr, ytr, Xva, yva, Xte, yte = X[:49000], y[:49000], X[49000:50000], y[49000:50000], Xte[:1000], yte[:1000]
    mean = Xtr.mean(axis=0)
    t = lambda a: torch.from_numpy((a - mean).astype(np.float32))
    return t(Xtr), torch.from_numpy(ytr), t(Xva), torch.from_numpy(yva), t(Xte), torch.from_numpy(yte)

class Net:
    def __init__(self, dims, init, keep, norm, gen):
        self.W, self.b, self.g, self.be, self.rm, self.rv = [], [], [], [], [], []
        self.keep, self.norm = keep, norm
        for i in range(len(dims) - 1):
            self.W.append((init * torch.randn(dims[i], dims[i + 1], generator=gen)).requires_grad_())
            self.b.append(torch.zeros(dims[i + 1], requires_grad=True))
            if i < len(dims) - 2 and norm:
                self.g.append(torch.ones(dims[i + 1], requires_grad=True)); self.be.append(torch.zeros(dims[i + 1], requires_grad=True))
                self.rm.append(torch.zeros(dims[i + 1])); self.rv.append(torch.zeros(dims[i + 1]))
    def params(self): return self.W + self.b + self.g + self.be
    def scores(self, X, train, gen=None):
        h = X
        for i in range(len(self.W) - 1):
            h = h @ self.W[i] + self.b[i]
            if self.norm:
                if train:
                    mu = h.mean(0); var = h.var(0, unbiased=False)
                    with torch.no_grad():
                        self.rm[i].mul_(0.9).add_(0.1 * mu.detach()); self.rv[i].mul_(0.9).add_(0.1 * var.detach())
                else:
                    mu, var = self.rm[i], self.rv[i]
                h = (h - mu) / torch.sqrt(var + 1e-5) * self.g[i] + self.be[i]
            h = torch.relu(h)
            if train and self.keep < 1:
                h = h * ((torch.rand(h.shape, generator=gen) < self.keep).float() / self.keep)
        return h @ self.W[-1] + self.b[-1]
    def snapshot(self): return [p.detach().clone() for p in self.params()] + [r.clone() for r in self.rm + self.rv]
    def restore(self, s):
        for dst, src in zip(self.params() + self.rm + self.rv, s):
            with torch.no_grad(): dst.copy_(src)

def acc(net, X, y):
    with torch.no_grad():
        return sum(int((net.scores(X[i:i + 1000], False).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, len(y), 1000)) / len(y)

def run(data, a, hidden, lr, decay, reg, init, keep, bs, epochs, seed, norm=True, log=None):
    Xtr, ytr, Xva, yva, Xte, yte = data
    gen = torch.Generator().manual_seed(seed); rng = np.random.default_rng(seed)
    net = Net([Xtr.shape[1]] + hidden + [10], init, keep, norm, gen)
    opt = torch.optim.Adam(net.params(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    per = max(Xtr.shape[0] // bs, 1)
    best, snap, vals, t0 = -1, None, [], time.time()
    for ep in range(epochs):
        for it in range(per):
            idx = torch.from_numpy(rng.choice(Xtr.shape[0], bs, replace=True))
            s = net.scores(Xtr[idx], True, gen)
            loss = torch.nn.functional.cross_entropy(s, ytr[idx]) + reg * sum((W * W).sum() for W in net.W)
            opt.zero_grad(); loss.backward(); opt.step()
        for grp in opt.param_groups: grp['lr'] *= decay
        v = acc(net, Xva, yva); vals.append(v)
        if v > best: best, snap = v, net.snapshot()
        if log: print(json.dumps({'epoch': ep + 1, 'val': v, 'loss': float(loss), 's': round(time.time() - t0, 1)}), file=log, flush=True)
    sec = time.time() - t0
    net.restore(snap)
    return {'hidden': hidden, 'lr': lr, 'lrDecay': decay, 'reg': reg, 'initStd': init, 'dropoutKeep': keep, 'batchSize': bs,
            'epochs': epochs, 'seed': seed, 'norm': norm, 'vals': vals, 'bestVal': best, 'bestEpoch': vals.index(best) + 1,
            'test': acc(net, Xte, yte), 'secPerEpoch': round(sec / epochs, 2)}

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default='data/cifar-10-batches-bin')
    ap.add_argument('--hidden', default='512,256'); ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--decay', type=float, default=0.95); ap.add_argument('--reg', type=float, default=1e-3)
    ap.add_argument('--init', type=float, default=1e-2); ap.add_argument('--keep', type=float, default=0.75)
    ap.add_argument('--bs', type=int, default=200); ap.add_argument('--epochs', type=int, default=10)
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--time-only', action='store_true', help='time 50 steps, print ms per step')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    data = load(a.data)
    hidden = [int(h) for h in a.hidden.split(',')]
    if a.time_only:
        d = (data[0][:2000], data[1][:2000]) + data[2:]
        t = time.time(); r = run(d, a, hidden, a.lr, a.decay, a.reg, a.init, a.keep, a.bs, 1, a.seed)
        steps = 2000 // a.bs
        print(json.dumps({'hidden': hidden, 'bs': a.bs, 'msPerStep': round(1000 * (time.time() - t) / steps, 2),
                          'secPerEpoch49k': round((time.time() - t) / steps * (49000 // a.bs), 1)}))
    else:
        import sys
        print(json.dumps(run(data, a, hidden, a.lr, a.decay, a.reg, a.init, a.keep, a.bs, a.epochs, a.seed, log=sys.stderr)))
