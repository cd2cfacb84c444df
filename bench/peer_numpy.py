"""Drive the numpy peer (../shared/peers/cs231n_numpy.py) for bench/train.ts, one request at a time.

The peer's own functions do the work: prep() loads and preprocesses CIFAR-10, train_softmax() and
train_twolayer() run its training loops, twolayer() its forward pass. This driver only keeps the
data loaded between requests, so the benchmark can alternate numpy and the project figure by figure
in one invocation instead of timing them minutes apart on a noisy machine.

The peer has no SVM, so svm_loss and train_svm below are cs231n's svm_loss_vectorized
(linear_svm.py, 2024) in train_softmax's loop: the same rows (prep with the bias column), batch,
sampling and update, only the loss differs.

Requests are JSON lines on stdin, each answered by one JSON line on stdout:
  {"op": "load", "data": DIR}                        -> {"seconds": ...}  (prep(), bias and no-bias)
  {"op": "train", "model": "softmax"|"svm"|"twolayer", "iters": N, "hidden": H}  -> {"ms_per_iter": ...}
                                                     (the loop's time: train_* with N iterations minus with 0)
  {"op": "gemm", "m": M, "k": K, "n": N, "transA": bool, "transB": bool}   -> {"gflops": ...}
  {"op": "eval", "model": "softmax"|"twolayer", "hidden": H}            -> {"seconds": ...}
  {"op": "fcnet_step", "hidden": [100,100,100,100], "bs": 100, "steps": N, "norm": "batchnorm"|"none",
   "keep": 1.0, "rule": "adam"|"sgd"}              -> {"ms_per_step": ...}
                                                     (FullyConnectedNets.ipynb's 5-layer net, below)
  {"op": "info"}                                     -> numpy version and BLAS

fcnet_step times one training step of cs231n's FullyConnectedNet as the project's MLP does it,
written from the assignment's layers.py and optim.py (the peer has no such net): a minibatch of
`bs` rows drawn with replacement from the 49,000 CIFAR-10 training rows (3,072 raw-pixel inputs,
mean subtracted, float32), per hidden layer affine -> batchnorm (train mode: batch mean and
uncorrected variance, eps 1e-5, running averages with momentum 0.9; backward in the notebook's
simplified form, batchnorm_backward_alt) -> ReLU -> inverted dropout (when keep < 1), then affine ->
softmax loss + reg*sum(W^2) over the weights (the project's L2; gradient 2*reg*W), the backward
without the first layer's dx (no one needs the gradient at the data; the project skips it), and one Adam
update (optim.adam: beta1 0.9, beta2 0.999, eps 1e-8, t incremented first, bias-corrected) of
every parameter, gamma and beta included. The time is the loop of `steps` steps alone (the weights
are made before the clock starts). Also runnable on its own:
  /usr/bin/python3 bench/peer_numpy.py --fcnet-step DIR [steps]    prints the ms per step
Run with Debian's python (/usr/bin/python3), as the peers' README says.
"""
import json, os, sys, time
import numpy as np

sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peers")))
import cs231n_numpy as peer  # noqa: E402

state = {}


def load(d):
    t = time.perf_counter()
    state["soft"] = peer.prep(d, bias=True)  # what cs231n_numpy.py times as load_s for softmax
    seconds = time.perf_counter() - t
    state["mlp"] = peer.prep(d, bias=False)
    return {"seconds": seconds}


def svm_loss(W, X, y, reg):
    # cs231n svm_loss_vectorized: margins max(0, s_j - s_y + 1) off the label, averaged, + reg*sum(W^2).
    N = X.shape[0]
    s = X @ W
    r = np.arange(N)
    margins = np.maximum(0, s - s[r, y][:, None] + 1)
    margins[r, y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    binary = (margins > 0).astype(X.dtype)
    binary[r, y] = -binary.sum(axis=1)
    return loss, X.T @ binary / N + 2 * reg * W


def train_svm(Xtr, ytr, lr, reg, iters, bs, rng):
    # peer.train_softmax's loop with the SVM loss (W = 0.0001 * randn, as svm.ipynb).
    W = (0.0001 * rng.standard_normal((Xtr.shape[1], 10))).astype(np.float32)
    hist = []
    for it in range(iters):
        idx = rng.choice(Xtr.shape[0], bs, replace=True)
        loss, dW = svm_loss(W, Xtr[idx], ytr[idx], reg)
        W -= lr * dW; hist.append(float(loss))
    return W, hist


def train(model, iters, hidden):
    # The peer's own train_* loop, timed with `iters` iterations and with none: the difference is
    # the loop alone, without the set-up (initial weights), which the project side leaves out too.
    def run(n):
        rng = np.random.default_rng(0)
        if model == "softmax":
            (Xtr, _, _), (ytr, _, _) = state["soft"]
            t = time.perf_counter()
            state["W"], _ = peer.train_softmax(Xtr, ytr, 1e-6, 1e3, n, 200, rng)
        elif model == "svm":
            (Xtr, _, _), (ytr, _, _) = state["soft"]
            t = time.perf_counter()
            state["Wsvm"], _ = train_svm(Xtr, ytr, 5e-7, 1e3, n, 200, rng)
        else:
            (Xtr, Xva, _), (ytr, yva, _) = state["mlp"]
            t = time.perf_counter()
            state[f"P{hidden}"], _ = peer.train_twolayer(Xtr, ytr, Xva, yva, hidden, 1e-3, 0.03, n, 200, 0.95, rng)
        return time.perf_counter() - t

    setup = run(0)
    return {"ms_per_iter": 1000 * (run(iters) - setup) / iters}


def evaluate(model, hidden):
    # The accuracy over the whole training split, as the peer computes it at the end of a run.
    if model == "softmax":
        (Xtr, _, _), (ytr, _, _) = state["soft"]
        t = time.perf_counter()
        float(((Xtr @ state["W"]).argmax(1) == ytr).mean())
    else:
        (Xtr, _, _), (ytr, _, _) = state["mlp"]
        t = time.perf_counter()
        float((peer.twolayer(state[f"P{hidden}"], Xtr).argmax(1) == ytr).mean())
    return {"seconds": time.perf_counter() - t}


def gemm(m, k, n, transA, transB):
    # op(a) is (m,k) and op(b) is (k,n); a transposed operand is a transposed view, as in the
    # peer's X.T @ p, so numpy hands BLAS the transpose flag rather than a copy.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((k, m) if transA else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if transB else (k, n), dtype=np.float32)
    A = a.T if transA else a
    B = b.T if transB else b
    f = lambda: A @ B
    f(); f()
    reps = max(3, round(4e9 / (2 * m * k * n)))
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return {"gflops": 2 * m * k * n * reps / (time.perf_counter() - t) / 1e9}


def affine_forward(x, w, b):
    return x @ w + b


def affine_backward(dout, x, w, need_dx=True):
    # The first layer's dx (the gradient at the data) is needed by nothing: the project's MLP skips
    # it (mlp.ts: affineBackward(..., l > 1, ...)), and so does this step.
    return (dout @ w.T if need_dx else None), x.T @ dout, dout.sum(axis=0)


def batchnorm_forward(x, gamma, beta, bn):
    # layers.py batchnorm_forward, mode 'train'
    mu = x.mean(axis=0)
    xc = x - mu
    var = (xc * xc).mean(axis=0)
    std = np.sqrt(var + 1e-5)
    xhat = xc / std
    bn["running_mean"] = 0.9 * bn["running_mean"] + 0.1 * mu
    bn["running_var"] = 0.9 * bn["running_var"] + 0.1 * var
    return gamma * xhat + beta, (xhat, gamma, std)


def batchnorm_backward_alt(dout, cache):
    # layers.py batchnorm_backward_alt: dx = (gamma/std) * (dout - mean(dout) - xhat*mean(dout*xhat))
    xhat, gamma, std = cache
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    N = dout.shape[0]
    dx = (gamma / std) * (dout - dbeta / N - xhat * (dgamma / N))
    return dx, dgamma, dbeta


def softmax_loss(s, y):
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s); p /= p.sum(axis=1, keepdims=True)
    N = s.shape[0]
    loss = -np.log(p[np.arange(N), y]).mean()
    p[np.arange(N), y] -= 1
    return loss, p / N


def adam(w, dw, c):
    # optim.adam, in place
    c["t"] += 1
    c["m"] *= 0.9; c["m"] += 0.1 * dw
    c["v"] *= 0.999; c["v"] += 0.001 * (dw * dw)
    mt = c["m"] / (1 - 0.9 ** c["t"])
    vt = c["v"] / (1 - 0.999 ** c["t"])
    w -= c["lr"] * mt / (np.sqrt(vt) + 1e-8)


def fcnet_step(hidden, bs, steps, norm="batchnorm", keep=1.0, rule="adam", X=None, y=None):
    if X is None:
        (X, _, _), (y, _, _) = state["mlp"]
    rng = np.random.default_rng(0)
    dims = [X.shape[1]] + list(hidden) + [10]
    L = len(dims) - 1
    P = {}
    for i in range(L):
        P[f"W{i+1}"] = (5e-2 * rng.standard_normal((dims[i], dims[i + 1]))).astype(np.float32)
        P[f"b{i+1}"] = np.zeros(dims[i + 1], np.float32)
        if norm == "batchnorm" and i < L - 1:
            P[f"gamma{i+1}"] = np.ones(dims[i + 1], np.float32)
            P[f"beta{i+1}"] = np.zeros(dims[i + 1], np.float32)
    bns = [{"running_mean": np.zeros(d, np.float32), "running_var": np.zeros(d, np.float32)} for d in dims[1:-1]]
    conf = {k: {"lr": 1e-3, "t": 0, "m": np.zeros_like(v), "v": np.zeros_like(v)} for k, v in P.items()}
    reg = 1e-3

    def step():
        idx = rng.choice(X.shape[0], bs, replace=True)
        h, yb = X[idx], y[idx]
        caches = []
        for i in range(L - 1):
            W, b = P[f"W{i+1}"], P[f"b{i+1}"]
            a = affine_forward(h, W, b)
            bnc = None
            if norm == "batchnorm":
                a, bnc = batchnorm_forward(a, P[f"gamma{i+1}"], P[f"beta{i+1}"], bns[i])
            r = np.maximum(a, 0)
            mask = None
            if keep < 1:
                mask = (rng.random(r.shape) < keep) / keep
                r = r * mask
            caches.append((h, bnc, a, mask))
            h = r
        s = affine_forward(h, P[f"W{L}"], P[f"b{L}"])
        loss, ds = softmax_loss(s, yb)
        loss += reg * sum(float(np.sum(P[f"W{i+1}"] ** 2)) for i in range(L))
        G = {}
        dh, G[f"W{L}"], G[f"b{L}"] = affine_backward(ds, h, P[f"W{L}"])
        for i in range(L - 2, -1, -1):
            x_in, bnc, a, mask = caches[i]
            if mask is not None:
                dh = dh * mask
            da = dh * (a > 0)
            if bnc is not None:
                da, G[f"gamma{i+1}"], G[f"beta{i+1}"] = batchnorm_backward_alt(da, bnc)
            dh, G[f"W{i+1}"], G[f"b{i+1}"] = affine_backward(da, x_in, P[f"W{i+1}"], need_dx=i > 0)
        for i in range(L):
            G[f"W{i+1}"] += 2 * reg * P[f"W{i+1}"]
        for k in P:
            if rule == "adam":
                adam(P[k], G[k], conf[k])
            else:
                P[k] -= 1e-2 * G[k]
        return loss

    step()  # the first step untimed (allocations, page faults), as the project side does
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return {"ms_per_step": 1000 * (time.perf_counter() - t) / steps}


if len(sys.argv) > 1 and sys.argv[1] == "--fcnet-step":
    (Xtr, _, _), (ytr, _, _) = peer.prep(sys.argv[2], bias=False)
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    for norm in ("batchnorm", "none"):
        r = fcnet_step([100, 100, 100, 100], 100, n, norm=norm, X=Xtr, y=ytr)
        print(json.dumps({"net": "3072-100-100-100-100-10", "batch": 100, "norm": norm, "rule": "adam", "steps": n, **r}))
    sys.exit(0)

for line in sys.stdin:
    req = json.loads(line)
    op = req["op"]
    if op == "load":
        out = load(req["data"])
    elif op == "train":
        out = train(req["model"], req["iters"], req.get("hidden", 0))
    elif op == "eval":
        out = evaluate(req["model"], req.get("hidden", 0))
    elif op == "gemm":
        out = gemm(req["m"], req["k"], req["n"], req.get("transA", False), req.get("transB", False))
    elif op == "fcnet_step":
        out = fcnet_step(req.get("hidden", [100, 100, 100, 100]), req.get("bs", 100), req["steps"], req.get("norm", "batchnorm"), req.get("keep", 1.0), req.get("rule", "adam"))
    elif op == "info":
        cfg = {}
        try:
            import numpy.__config__ as c
            cfg = {"blas": str(getattr(c, "blas_opt_info", {}).get("libraries", ""))}
        except Exception:
            pass
        out = {"numpy": np.__version__, "python": sys.version.split()[0], **cfg}
    else:
        out = {"error": f"unknown op {op}"}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
