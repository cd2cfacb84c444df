"""Numpy peer of bench/optim.ts: cs231n optim.py's four update rules, as the assignment writes them
(whole-array numpy expressions; each makes its temporaries), on one float32 parameter array.

Each line on stdin is a request, answered by one JSON line on stdout:
  {"rule": "adam", "n": 338610, "steps": 50} -> {"seconds": ...}  that many steps, timed
  "info"                                      -> numpy version
Run with Debian's python (/usr/bin/python3).
"""
import json
import sys
import time

import numpy as np


def sgd(w, dw, config):
    w -= config['learning_rate'] * dw
    return w, config


def sgd_momentum(w, dw, config):
    v = config['velocity']
    v = config['momentum'] * v - config['learning_rate'] * dw
    next_w = w + v
    config['velocity'] = v
    return next_w, config


def rmsprop(w, dw, config):
    config['cache'] = config['decay_rate'] * config['cache'] + (1 - config['decay_rate']) * dw ** 2
    next_w = w - config['learning_rate'] * dw / (np.sqrt(config['cache']) + config['epsilon'])
    return next_w, config


def adam(w, dw, config):
    config['t'] += 1
    config['m'] = config['beta1'] * config['m'] + (1 - config['beta1']) * dw
    mt = config['m'] / (1 - config['beta1'] ** config['t'])
    config['v'] = config['beta2'] * config['v'] + (1 - config['beta2']) * (dw ** 2)
    vt = config['v'] / (1 - config['beta2'] ** config['t'])
    next_w = w - config['learning_rate'] * mt / (np.sqrt(vt) + config['epsilon'])
    return next_w, config


RULES = {'sgd': sgd, 'sgd_momentum': sgd_momentum, 'rmsprop': rmsprop, 'adam': adam}


def config_for(rule, n):
    z = lambda: np.zeros(n, dtype=np.float32)
    return {
        'sgd': lambda: {'learning_rate': 1e-2},
        'sgd_momentum': lambda: {'learning_rate': 1e-2, 'momentum': 0.9, 'velocity': z()},
        'rmsprop': lambda: {'learning_rate': 1e-2, 'decay_rate': 0.99, 'epsilon': 1e-8, 'cache': z()},
        'adam': lambda: {'learning_rate': 1e-3, 'beta1': 0.9, 'beta2': 0.999, 'epsilon': 1e-8, 'm': z(), 'v': z(), 't': 0},
    }[rule]()


for line in sys.stdin:
    req = line.strip()
    if req == 'info':
        out = {'numpy': np.__version__, 'float': 'float32'}
    else:
        r = json.loads(req)
        rng = np.random.RandomState(0)
        w = (rng.randn(r['n']) * 1e-2).astype(np.float32)
        dw = (rng.randn(r['n']) * 1e-2).astype(np.float32)
        update, config = RULES[r['rule']], config_for(r['rule'], r['n'])
        t = time.perf_counter()
        for _ in range(r['steps']):
            w, config = update(w, dw, config)
        out = {'seconds': time.perf_counter() - t}
    print(json.dumps(out), flush=True)
