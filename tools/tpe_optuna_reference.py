"""Writes test/fixtures/tpe-optuna.json: Optuna's TPESampler (3.1, Debian's python3-optuna, all
defaults) and RandomSampler on cheap objectives with log-scaled axes, and Optuna's Parzen
estimator on fixed inputs, for test/tpe.test.ts (so CI needs no Python).

  /usr/bin/python3 tools/tpe_optuna_reference.py        # about 4 minutes on one core

Benchmarks: each objective is maximised for 40 trials on seeds 0..99. The fixture keeps, for TPE
("tpe"), TPE with the normalized log-pdf of Optuna >= 3.5 ("tpeNormalized", see below) and random, the median over seeds 0..19 of the best value after 20 and after 40 trials, and the
same median over each of the five groups of 20 seeds (0..19, 20..39, ...): how far the median of
20 seeds moves from one set of seeds to another is the noise band the test allows.

Parzen estimator: the mixture's weights, mus and sigmas, and its log-pdf at fixed points, as
Optuna 3.1 computes it ("logPdf31", whose truncated normal leaves out −log(sigma), optuna#5109)
and with that term put back as Optuna >= 3.5 does (optuna#5110, "logPdf"): src/sweep/tpe.ts
computes the first by default and the second with normalizedDensity.
"""
import json
import math
import os
import time

import numpy as np
import optuna
from optuna import distributions as D
from optuna.samplers._tpe import _truncnorm
from optuna.samplers._tpe import parzen_estimator as PE
from optuna.samplers._tpe.sampler import default_gamma, default_weights

optuna.logging.set_verbosity(optuna.logging.WARNING)

SEEDS = 100
GROUP = 20
TRIALS = 40
CHECKPOINTS = [20, 40]

# --- Objectives (the same formulas are in test/tpe.test.ts; the fixture's `checks` tie them) ---

LR0, REG0 = math.log10(4e-6), 3.0  # configs/cs231n-softmax.json's best trial: lr 3.98e-6, reg 1062


def softmax_surrogate(lr, reg):
    """A val-accuracy surface shaped like the cs231n softmax sweep's (CIFAR-10, 1,500 iterations):
    chance (0.10) far from the best, 0.41 at lr 4e-6, reg 1e3, a ridge along which a larger reg
    wants a smaller lr, and divergence (chance) where lr * reg > 1."""
    u, v = math.log10(lr), math.log10(reg)
    if lr * reg > 1:
        return 0.10
    z1 = (u - LR0 + 0.25 * (v - REG0)) / 0.35
    z2 = (v - REG0) / 0.7
    return 0.10 + 0.31 * math.exp(-(z1 * z1 + z2 * z2) / 2)


def log_rosenbrock(a, b):
    """Rosenbrock's valley on x = log10 a in [-2, 2], y = log10 b in [-1, 3]; -log10(1 + f), best 0 at a = b = 10."""
    x, y = math.log10(a), math.log10(b)
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    return -math.log10(1 + f)


OBJECTIVES = {
    "softmax-surrogate": {
        "fn": softmax_surrogate,
        "space": {"lr": [1e-8, 1e-3], "reg": [1e0, 1e5]},
        "checks": [[4e-6, 1e3], [1e-7, 10], [3e-5, 2e4], [1e-4, 2e4], [1.5e-6, 5e3]],
    },
    "log-rosenbrock": {
        "fn": log_rosenbrock,
        "space": {"a": [1e-2, 1e2], "b": [1e-1, 1e3]},
        "checks": [[10, 10], [1e-2, 1e3], [1, 1], [3.3, 12], [50, 0.2]],
    },
}


def run(name, sampler):
    obj = OBJECTIVES[name]

    def objective(trial):
        xs = [trial.suggest_float(k, lo, hi, log=True) for k, (lo, hi) in obj["space"].items()]
        return obj["fn"](*xs)

    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=TRIALS)
    vals = [t.value for t in study.trials]
    return [max(vals[:c]) for c in CHECKPOINTS]


def medians(best):
    """best[seed][checkpoint] -> median over seeds per checkpoint."""
    return [float(np.median([b[i] for b in best])) for i in range(len(CHECKPOINTS))]


def benchmark(name):
    out = {}
    samplers = [
        ("tpe", lambda s: optuna.samplers.TPESampler(seed=s), LOGPDF_31),
        ("tpeNormalized", lambda s: optuna.samplers.TPESampler(seed=s), logpdf_fixed),
        ("random", lambda s: optuna.samplers.RandomSampler(seed=s), LOGPDF_31),
    ]
    for label, make, logpdf in samplers:
        _truncnorm.logpdf = logpdf
        try:
            best = [run(name, make(s)) for s in range(SEEDS)]
        finally:
            _truncnorm.logpdf = LOGPDF_31
        groups = [medians(best[g : g + GROUP]) for g in range(0, SEEDS, GROUP)]
        out[label] = {"median": groups[0], "groupMedians": groups}
    obj = OBJECTIVES[name]
    out["space"] = obj["space"]
    out["checks"] = [{"x": x, "value": obj["fn"](*x)} for x in obj["checks"]]
    return out


# --- Parzen estimator on fixed inputs ---

PARAMS = PE._ParzenEstimatorParameters(
    consider_prior=True, prior_weight=1.0, consider_magic_clip=True, consider_endpoints=False, weights=default_weights, multivariate=False
)


def logpdf_fixed(x, a, b, loc=0, scale=1):
    """Optuna >= 3.5's truncated-normal log-pdf (optuna#5110): 3.1's minus log(scale)."""
    return LOGPDF_31(x, a, b, loc=loc, scale=scale) - np.log(scale)


LOGPDF_31 = _truncnorm.logpdf


def parzen_case(name, key, param, obs, points):
    """`obs` and `points` in the external representation (values; choice indices for categorical)."""
    dist_json = {"float": {"low": param.low, "high": param.high, "log": param.log}} if isinstance(param, D.FloatDistribution) else None
    if isinstance(param, D.IntDistribution):
        dist_json = {"int": {"low": param.low, "high": param.high, "log": param.log}}
    if isinstance(param, D.CategoricalDistribution):
        dist_json = {"categorical": list(param.choices)}
    space = {"x": param}
    pe = PE._ParzenEstimator({"x": np.asarray(obs, dtype=float)}, space, PARAMS)
    samples = {"x": np.asarray(points, dtype=float if not isinstance(param, D.CategoricalDistribution) else int)}
    raw = pe.log_pdf(dict(samples)).tolist()
    _truncnorm.logpdf = logpdf_fixed
    try:
        fixed = pe.log_pdf(dict(samples)).tolist()
    finally:
        _truncnorm.logpdf = LOGPDF_31
    case = {"name": name, "key": key, "dist": dist_json, "obs": list(obs), "points": list(points), "weights": pe._weights.tolist(), "logPdf": fixed, "logPdf31": raw}
    if pe._mus["x"] is not None:
        case["mus"] = pe._mus["x"].tolist()
        case["sigmas"] = pe._sigmas["x"].tolist()
    if pe._categorical_weights["x"] is not None:
        case["catWeights"] = pe._categorical_weights["x"].tolist()
    return case


def parzen_cases():
    rng = np.random.RandomState(7)
    lr = D.FloatDistribution(1e-8, 1e-3, log=True)
    many = np.exp(rng.uniform(np.log(1e-8), np.log(1e-3), 30)).tolist()
    return [
        parzen_case("empty, log float", "lr", lr, [], [1e-7, 4e-6, 5e-4]),
        parzen_case("log float, 3 observations", "lr", lr, [2e-6, 4e-6, 3e-4], [1e-8, 1e-7, 3e-6, 4e-6, 1e-4, 1e-3]),
        parzen_case("log float, 30 observations (ramped weights)", "lr", lr, many, [1e-8, 3e-7, 4e-6, 2e-5, 9e-4]),
        parzen_case("linear float", "decay", D.FloatDistribution(0.6, 0.95), [0.61, 0.7, 0.71, 0.9], [0.6, 0.65, 0.705, 0.8, 0.95]),
        parzen_case("linear int", "batch", D.IntDistribution(16, 256), [32, 64, 64, 200], [16, 33, 64, 100, 256]),
        parzen_case("log int", "hidden", D.IntDistribution(10, 1000, log=True), [50, 100, 700], [10, 49, 100, 333, 1000]),
        parzen_case("categorical", "rule", D.CategoricalDistribution(["sgd", "sgd_momentum", "rmsprop", "adam"]), [3, 3, 1, 0, 3], [0, 1, 2, 3]),
    ]


def main():
    t0 = time.time()
    out = {
        "$comment": "Written by tools/tpe_optuna_reference.py; do not edit by hand.",
        "optuna": optuna.__version__,
        "seeds": SEEDS,
        "group": GROUP,
        "trials": TRIALS,
        "checkpoints": CHECKPOINTS,
        "gamma": {str(n): default_gamma(n) for n in [0, 1, 9, 10, 11, 40, 250, 300]},
        "weights": {str(n): default_weights(n).tolist() for n in [0, 3, 26, 30]},
        "parzen": parzen_cases(),
        "benchmarks": {name: benchmark(name) for name in OBJECTIVES},
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "tpe-optuna.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(path)} in {time.time() - t0:.0f} s")
    for name, b in out["benchmarks"].items():
        print(name, "tpe", b["tpe"]["median"], "random", b["random"]["median"])


if __name__ == "__main__":
    main()
