"""ASHA replayed offline on a finished full search (a sweep run without a scheduler).

    /usr/bin/python3 bench/asha_replay.py runs/sweep-<name> [--eta 3,4] [--grace 1,2] [--workers 2]

Reads each trial's per-epoch val accuracies and epoch times from its metrics.jsonl and replays
src/sweep/scheduler.ts's ASHA (rungs at grace*eta^k epochs below the last; a trial goes on when
its val accuracy is at least the (1 - 1/eta) quantile of the trials recorded at the rung before
it) on `workers` workers taking the trials in order, once in the sweep's order and in 300 random
orders, since which trials ASHA stops depends on the order they reach a rung. Prints, for each
setting, the best val accuracy of the trials trained to the end against the full search's, the
trial-epochs as a share of the full search's, and how often both targets (0.005, 40%) are met.
The sweep's order is what bench/sweep.ts --mode asha measures with the real scheduler.
"""
import argparse, heapq, json, os, random
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('sweep_dir')
ap.add_argument('--eta', default='3,4')
ap.add_argument('--grace', default='1,2')
ap.add_argument('--workers', type=int, default=2)
a = ap.parse_args()

spec = json.load(open(os.path.join(a.sweep_dir, 'sweep.json')))
trials = []
for t in sorted(spec['trials'], key=lambda t: t['index']):
    ep = [json.loads(l) for l in open(os.path.join(a.sweep_dir, t['dir'], 'metrics.jsonl')) if '"type":"epoch"' in l]
    trials.append(([e['valAcc'] for e in ep], [e['seconds'] for e in ep]))


def replay(eta, grace, order):
    epochs = len(trials[0][0])
    rungs, r = [], grace
    while r < epochs:
        rungs.append(r)
        r *= eta
    rec = {r: [] for r in rungs}
    dur = lambda i, e: trials[i][1][e - 1] - (trials[i][1][e - 2] if e > 1 else 0)
    queue, events, spent, finished = list(order), [], 0, []

    def start(w, now):
        if queue:
            i = queue.pop(0)
            heapq.heappush(events, (now + dur(i, 1), w, i, 1))

    for w in range(a.workers):
        start(w, 0.0)
    while events:
        now, w, i, e = heapq.heappop(events)
        spent += 1
        val, stop = trials[i][0][e - 1], False
        if e in rec:
            before = list(rec[e])
            rec[e].append(val)
            stop = bool(before) and val < float(np.quantile(before, 1 - 1 / eta))
        if e == epochs:
            finished.append(i)
            stop = True
        if stop:
            start(w, now)
        else:
            heapq.heappush(events, (now + dur(i, e + 1), w, i, e + 1))
    return max(max(trials[i][0]) for i in finished), spent


full_best = max(max(v) for v, _ in trials)
full_epochs = sum(len(v) for v, _ in trials)
print(f'{a.sweep_dir}: {len(trials)} trials; full search: best val {full_best:.4f}, {full_epochs} trial-epochs')
rng = random.Random(0)
orders = [list(range(len(trials)))] + [rng.sample(range(len(trials)), len(trials)) for _ in range(300)]
for eta in map(int, a.eta.split(',')):
    for grace in map(int, a.grace.split(',')):
        res = [replay(eta, grace, o) for o in orders]
        (b0, e0), rest = res[0], res[1:]
        near = [full_best - b <= 0.005 + 1e-9 for b, _ in rest]
        cheap = [e / full_epochs <= 0.40 for _, e in rest]
        print(f'  eta {eta} grace {grace}: in the sweep\'s order best val {b0:.4f} ({full_best - b0:.4f} below), {e0} trial-epochs ({100 * e0 / full_epochs:.1f}%); '
              f'300 random orders: within 0.005 {100 * np.mean(near):.0f}%, at most 40% of the epochs {100 * np.mean(cheap):.0f}%, both {100 * np.mean([x and y for x, y in zip(near, cheap)]):.0f}%, '
              f'mean {100 * np.mean([e for _, e in rest]) / full_epochs:.1f}% of the epochs')
