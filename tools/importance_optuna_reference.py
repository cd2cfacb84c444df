"""Writes test/fixtures/importance-optuna.json: finished trial sets on cheap objectives and the
hyperparameter importances Optuna 3.1 gives them (optuna.importance.get_param_importances with its
default evaluator, FanovaImportanceEvaluator: sklearn's RandomForestRegressor, 64 trees, depth 64),
for test/importance.test.ts (so CI needs no Python).

  /usr/bin/python3 tools/importance_optuna_reference.py        # a minute on one core

It also evaluates the trials of three real sweeps of this tool (test/fixtures/importance-sweeps.json,
written by tools/importance_sweeps.ts: MNIST softmax and MLP sweeps, random and TPE) as Optuna
trials added to a study, so those sets' trials are ours and their importances Optuna's.

The default evaluator is unseeded, so each set is evaluated with seeds 0..9 of the evaluator; the
fixture keeps the mean importances and the ranking each seed gave. The test compares the top two of
the means on every set, and the top two of each single evaluation where every Optuna seed agreed on
them (where Optuna disagrees with itself, one evaluation has nothing to match).
"""
import json
import math
import os

import numpy as np
import optuna
from optuna.importance import FanovaImportanceEvaluator, get_param_importances

optuna.logging.set_verbosity(optuna.logging.WARNING)
EVAL_SEEDS = 10

LR0, REG0 = math.log10(4e-6), 3.0


def softmax_surrogate(t):
    """The cs231n softmax val surface of tools/tpe_optuna_reference.py, and a weak lrDecay term."""
    lr = t.suggest_float("lr", 1e-7, 1e-4, log=True)
    reg = t.suggest_float("reg", 10, 1e5, log=True)
    decay = t.suggest_float("lrDecay", 0.6, 1.0)
    u, v = math.log10(lr), math.log10(reg)
    if lr * reg > 1:
        return 0.10
    z1 = (u - LR0 + 0.25 * (v - REG0)) / 0.35
    z2 = (v - REG0) / 0.7
    return 0.10 + 0.31 * math.exp(-(z1 * z1 + z2 * z2) / 2) + 0.01 * (decay - 0.6)


def rosenbrock_plus(t):
    """Rosenbrock's valley on linear axes x, y in [-2, 2] and [-1, 3], an integer that matters a little, maximised."""
    x = t.suggest_float("x", -2, 2)
    y = t.suggest_float("y", -1, 3)
    n = t.suggest_int("n", 1, 8)
    return -math.log10(1 + (1 - x) ** 2 + 100 * (y - x * x) ** 2) - 0.02 * n


def mixed(t):
    """An update rule (categorical) that matters most, a linear lr, an integer width, a useless dropout."""
    rule = t.suggest_categorical("updateRule", ["sgd", "sgd_momentum", "adam"])
    lr = t.suggest_float("lr", 0.0, 1.0)
    width = t.suggest_int("width", 16, 256)
    drop = t.suggest_float("dropout", 0.0, 0.5)
    base = {"sgd": 0.3, "sgd_momentum": 0.45, "adam": 0.6}[rule]
    return base - 0.15 * (lr - 0.3) ** 2 + 0.0002 * width + 0.001 * drop


def quadratic(t):
    """Three linear keys whose effects differ by a factor of about 3 each in spread: a, then b, then c."""
    a = t.suggest_float("a", 0.0, 1.0)
    b = t.suggest_float("b", 0.0, 1.0)
    c = t.suggest_float("c", 0.0, 1.0)
    return -((a - 0.3) ** 2) - 0.3 * (b - 0.6) ** 2 - 0.05 * c


def twolayer(t):
    """A two-layer net's sweep in shape: the hidden width matters most, then the learning rate (log), reg hardly."""
    lr = t.suggest_float("lr", 1e-4, 1e-1, log=True)
    hidden = t.suggest_int("hidden", 16, 512)
    reg = t.suggest_float("reg", 1e-5, 1e-1, log=True)
    return 0.3 + 0.2 * min(hidden, 400) / 400 + (0.04 if lr > 0.02 else 0.0) - 0.01 * reg


SETS = [
    ("softmax-random", softmax_surrogate, lambda: optuna.samplers.RandomSampler(seed=1), 40),
    ("softmax-tpe", softmax_surrogate, lambda: optuna.samplers.TPESampler(seed=2), 40),
    ("rosenbrock-random", rosenbrock_plus, lambda: optuna.samplers.RandomSampler(seed=3), 50),
    ("mixed-random", mixed, lambda: optuna.samplers.RandomSampler(seed=4), 40),
    ("quadratic-random", quadratic, lambda: optuna.samplers.RandomSampler(seed=5), 40),
    ("twolayer-tpe", twolayer, lambda: optuna.samplers.TPESampler(seed=6), 30),
]


def space_of(study):
    out = {}
    for name, d in study.best_trial.distributions.items():
        if isinstance(d, optuna.distributions.CategoricalDistribution):
            out[name] = {"type": "categorical", "choices": list(d.choices)}
        else:
            out[name] = {"type": "int" if isinstance(d, optuna.distributions.IntDistribution) else "float", "low": d.low, "high": d.high, "log": d.log}
    return out


def importances(study):
    """Optuna's importances, mean over EVAL_SEEDS evaluator seeds (largest first), and each seed's ranking."""
    runs = [get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=s)) for s in range(EVAL_SEEDS)]
    mean = {k: float(np.mean([r[k] for r in runs])) for k in runs[0].keys()}
    return dict(sorted(mean.items(), key=lambda kv: -kv[1])), [list(r.keys()) for r in runs]


def distribution_of(p):
    """A fixture space entry as Optuna's distribution; a choice that is not a number or string (a hidden-width list) by its JSON text."""
    if p["type"] == "categorical":
        return optuna.distributions.CategoricalDistribution([c if isinstance(c, (int, float, str)) else json.dumps(c) for c in p["choices"]])
    return optuna.distributions.FloatDistribution(p["low"], p["high"], log=p["log"])


def sweep_study(s):
    """A study holding a real sweep's finished trials, with the sweep's direction."""
    study = optuna.create_study(direction="maximize" if s["metric"]["mode"] == "max" else "minimize")
    dists = {k: distribution_of(p) for k, p in s["space"].items()}
    for t in s["trials"]:
        params = {k: v if isinstance(v, (int, float, str)) else json.dumps(v) for k, v in t["params"].items() if k in dists}
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=t["value"]))
    return study


def main():
    sets = []
    for name, fn, sampler, n in SETS:
        study = optuna.create_study(direction="maximize", sampler=sampler())
        study.optimize(fn, n_trials=n)
        imp, rankings = importances(study)
        sets.append({
            "name": name,
            "space": space_of(study),
            "trials": [{"params": t.params, "value": t.value} for t in study.trials],
            "importance": imp,
            "rankings": rankings,
        })
        print(name, {k: round(v, 3) for k, v in sets[-1]["importance"].items()})
    real = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "importance-sweeps.json")
    with open(real) as f:
        for s in json.load(f)["sets"]:
            imp, rankings = importances(sweep_study(s))
            sets.append({**s, "importance": imp, "rankings": rankings})
            print(s["name"], {k: round(v, 3) for k, v in imp.items()})
    out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "importance-optuna.json")
    with open(out, "w") as f:
        json.dump({"optuna": optuna.__version__, "evaluatorSeeds": EVAL_SEEDS, "sets": sets}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
