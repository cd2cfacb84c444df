"""Writes test/fixtures/tpe-conditional-optuna.json: what Optuna 3.1's TPESampler (Debian's
python3-optuna) fits each parameter's Parzen estimators on, in a conditional search space, for
test/sweep-space.test.ts (so CI needs no Python).

  /usr/bin/python3 tools/tpe_conditional_reference.py        # a second

The space is the one docs/sweeps.md shows: an update rule, `momentum` only under sgd_momentum,
`beta1` only under adam, and `hidden` as a depth (1 to 3) and a width per layer present
(`hidden.1` … `hidden.3`), plus `lr` on every trial. 40 trials are added to a maximising study,
define-by-run with a seeded numpy generator: complete ones, pruned ones (with their last
intermediate value) and running ones (TPE's constant liar counts them). For every parameter the
fixture keeps the internal values (log for log axes, the index of a choice) that
`sample_independent` puts below and above: the split over every trial, then the trials that lack
the parameter masked out, exactly as sampler.py does it.
"""
import json
import math
import os

import numpy as np
import optuna
from optuna import distributions as D
from optuna.samplers._tpe.sampler import _get_observation_pairs, _split_observation_pairs, default_gamma
from optuna.trial import TrialState, create_trial

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "updateRule": D.CategoricalDistribution(["sgd", "sgd_momentum", "adam"]),
    "lr": D.FloatDistribution(1e-4, 1e-1, log=True),
    "momentum": D.FloatDistribution(0.5, 0.99),
    "beta1": D.FloatDistribution(0.8, 0.95),
    "hidden.depth": D.IntDistribution(1, 3),
    "hidden.1": D.IntDistribution(16, 512, log=True),
    "hidden.2": D.IntDistribution(16, 512, log=True),
    "hidden.3": D.IntDistribution(16, 512, log=True),
}


def draw(rng, name):
    d = SPACE[name]
    if isinstance(d, D.CategoricalDistribution):
        return d.choices[rng.integers(len(d.choices))]
    if isinstance(d, D.IntDistribution):
        lo, hi = (math.log(d.low), math.log(d.high)) if d.log else (d.low, d.high)
        x = rng.uniform(lo, hi)
        return int(min(max(round(math.exp(x) if d.log else x), d.low), d.high))
    lo, hi = (math.log(d.low), math.log(d.high)) if d.log else (d.low, d.high)
    x = rng.uniform(lo, hi)
    return float(math.exp(x) if d.log else x)


def trial_params(rng):
    """Define-by-run: a key only where its condition holds."""
    p = {"updateRule": draw(rng, "updateRule"), "lr": draw(rng, "lr")}
    if p["updateRule"] == "sgd_momentum":
        p["momentum"] = draw(rng, "momentum")
    if p["updateRule"] == "adam":
        p["beta1"] = draw(rng, "beta1")
    p["hidden.depth"] = draw(rng, "hidden.depth")
    for i in range(1, p["hidden.depth"] + 1):
        p[f"hidden.{i}"] = draw(rng, f"hidden.{i}")
    return p


def main():
    rng = np.random.default_rng(7)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(constant_liar=True))
    trials = []
    for i in range(40):
        p = trial_params(rng)
        dists = {k: SPACE[k] for k in p}
        value = float(np.round(rng.uniform(0, 1), 6))
        kind = "running" if i in (33, 38) else "pruned" if i % 7 == 3 else "complete"
        if kind == "complete":
            study.add_trial(create_trial(params=p, distributions=dists, value=value))
            trials.append({"params": p, "state": "complete", "value": value})
        elif kind == "pruned":
            step = int(rng.integers(1, 4))
            study.add_trial(create_trial(params=p, distributions=dists, state=TrialState.PRUNED, intermediate_values={s: value for s in range(step + 1)}))
            trials.append({"params": p, "state": "pruned", "step": step, "value": value})
        else:
            study.add_trial(create_trial(params=p, distributions=dists, state=TrialState.RUNNING))
            trials.append({"params": p, "state": "running"})
    sides = {}
    for name in SPACE:
        values, scores, violations = _get_observation_pairs(study, [name], True, False)
        n = sum(s < float("inf") for s, v in scores)
        below_i, above_i = _split_observation_pairs(scores, default_gamma(n), violations)
        x = np.asarray(values[name], dtype=float)
        mask = ~np.isnan(x)
        sides[name] = {"n": int(n), "below": x[below_i[mask[below_i]]].tolist(), "above": x[above_i[mask[above_i]]].tolist()}
    out = {"optuna": optuna.__version__, "space": {k: repr(v) for k, v in SPACE.items()}, "trials": trials, "sides": sides}
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "tpe-conditional-optuna.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
