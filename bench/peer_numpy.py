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
  {"op": "info"}                                     -> numpy version and BLAS
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
