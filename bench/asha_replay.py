"""Ray Tune's ASHA (AsyncHyperBandScheduler, brackets and all) replayed offline.

    /usr/bin/python3 bench/asha_replay.py runs/sweep-<name> [--eta 3,4] [--grace 1,2] [--workers 2] [--brackets 1]
    /usr/bin/python3 bench/asha_replay.py --fixture test/fixtures/asha-ray.json

RayASHA below is Ray's algorithm as python/ray/tune/schedulers/async_hyperband.py has it (Ray 2.x,
stop_last_trials on, mode max), written out here because Ray is not installed: bracket s has
int(log(max_t / grace) / log(rf) - s + 1) rungs at grace * rf**(k + s); a trial added is put in a
bracket drawn by np.random.choice with a softmax over the brackets' rung counts; a result at
max_t or later stops the trial; any other result is recorded at the highest rung at or below its
epoch that does not hold the trial yet, and stops the trial when it is below np.nanpercentile of
the values recorded there before it at (1 - 1/rf) * 100; a trial's last result is recorded
again by on_trial_complete.

A finished full search (a sweep run without a scheduler): reads each trial's per-epoch val
accuracies and epoch times from its metrics.jsonl and replays RayASHA (max_t the trials' epochs)
on `workers` workers taking the trials in order, once in the sweep's order and in 300 random
orders, since which trials ASHA stops depends on the order they reach a rung. Prints, for each
setting, the best val accuracy of the trials trained to the end against the full search's, the
trial-epochs as a share of the full search's, and how often both targets (0.005, 40%) are met.
The sweep's order is what bench/sweep.ts --mode asha measures with the real scheduler.

--fixture: writes the file test/asha-ray.test.ts checks src/sweep/scheduler.ts against. Synthetic
learning curves (seeded), every fourth trial ending at a rung below max_t, run on 3 simulated workers with
per-trial epoch times, so trials reach the rungs interleaved; every result in the order Ray's
scheduler saw it, with the bracket Ray drew for its trial and Ray's answer (go, stop, or end: the
trial's last epoch). Also Ray's bracket odds for a few settings.
"""
import argparse, heapq, json, os, random
import numpy as np

CONTINUE, STOP = 'go', 'stop'


class RayBracket:
    """Ray's _Bracket: rungs in reversed order, each a dict trial -> value."""

    def __init__(self, min_t, max_t, rf, s):
        self.rf = rf
        max_rungs = int(np.log(max_t / min_t) / np.log(self.rf) - s + 1)
        self.rungs = [(min_t * self.rf ** (k + s), {}) for k in reversed(range(max_rungs))]

    def cutoff(self, recorded):
        return None if not recorded else np.nanpercentile(list(recorded.values()), (1 - 1 / self.rf) * 100)

    def on_result(self, trial, cur_iter, cur_rew):
        action = CONTINUE
        for milestone, recorded in self.rungs:
            if cur_iter < milestone or trial in recorded:
                continue
            cutoff = self.cutoff(recorded)
            if cutoff is not None and cur_rew < cutoff:
                action = STOP
            recorded[trial] = cur_rew
            break
        return action


class RayASHA:
    """Ray's AsyncHyperBandScheduler with time_attr training_iteration (here: epochs), mode max."""

    def __init__(self, max_t, grace, rf, brackets):
        self.max_t = max_t
        self.brackets = [RayBracket(grace, max_t, rf, s) for s in range(brackets)]
        self.info = {}

    def odds(self):
        sizes = np.array([len(b.rungs) for b in self.brackets])
        probs = np.e ** (sizes - sizes.max())
        return probs / probs.sum()

    def on_trial_add(self, trial):
        idx = np.random.choice(len(self.brackets), p=self.odds())
        self.info[trial] = idx
        return int(idx)

    def on_trial_result(self, trial, t, rew):
        if t >= self.max_t:
            return STOP
        return self.brackets[self.info[trial]].on_result(trial, t, rew)

    def on_trial_complete(self, trial, t, rew):
        self.brackets[self.info[trial]].on_result(trial, t, rew)


def simulate(curves, secs, order, workers, sched, log=None):
    """Trials `order` on `workers` workers; curves[i][e-1] is trial i's score after epoch e and
    secs[i][e-1] the time that epoch took. Returns (trials trained to their end, trial-epochs spent)."""
    queue, events, spent, finished = list(order), [], 0, []

    def start(w, now):
        if queue:
            i = queue.pop(0)
            heapq.heappush(events, (now + secs[i][0], w, i, 1))

    for w in range(workers):
        start(w, 0.0)
    while events:
        now, w, i, e = heapq.heappop(events)
        spent += 1
        last = e == len(curves[i])
        action = sched.on_trial_result(i, e, curves[i][e - 1])
        if last:
            sched.on_trial_complete(i, e, curves[i][e - 1])
            finished.append(i)
        if log is not None:
            log.append({'trial': i, 'epoch': e, 'score': curves[i][e - 1], 'decision': 'end' if last else action})
        if last or action == STOP:
            start(w, now)
        else:
            heapq.heappush(events, (now + secs[i][e], w, i, e + 1))
    return finished, spent


def replay_sweep(a):
    spec = json.load(open(os.path.join(a.sweep_dir, 'sweep.json')))
    trials = []
    for t in sorted(spec['trials'], key=lambda t: t['index']):
        ep = [json.loads(l) for l in open(os.path.join(a.sweep_dir, t['dir'], 'metrics.jsonl')) if '"type":"epoch"' in l]
        trials.append(([e['valAcc'] for e in ep], [e['seconds'] for e in ep]))
    curves = [v for v, _ in trials]
    secs = [[s - (ts[k - 1] if k > 0 else 0) for k, s in enumerate(ts)] for _, ts in trials]
    epochs = len(curves[0])

    def replay(eta, grace, order):
        sched = RayASHA(epochs, grace, eta, a.brackets)
        for i in order:
            sched.on_trial_add(i)
        finished, spent = simulate(curves, secs, order, a.workers, sched)
        return max(max(curves[i]) for i in finished), spent

    full_best = max(max(v) for v in curves)
    full_epochs = sum(len(v) for v in curves)
    print(f'{a.sweep_dir}: {len(trials)} trials; full search: best val {full_best:.4f}, {full_epochs} trial-epochs')
    np.random.seed(0)
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


def fixture_case(eta, grace, max_t, brackets, n, seed):
    """One bracketed run of `n` synthetic trials under Ray's scheduler, every result logged."""
    rs = np.random.RandomState(seed)
    curves, secs = [], []
    below = [grace * eta ** k for k in range(20) if grace * eta ** k < max_t]
    for i in range(n):
        # Most run past max_t (capped there); every fourth ends at a rung below it, where Ray records its last result.
        own = max_t + 3 if i % 4 else int(rs.choice(below))
        top, tau = rs.uniform(0.15, 0.9), rs.uniform(0.5, 4)
        epochs = min(own, max_t)
        curves.append([float(top * (1 - np.exp(-e / tau)) + rs.normal(0, 0.02)) for e in range(1, epochs + 1)])
        secs.append([float(x) for x in rs.uniform(0.5, 1.5, epochs) * rs.uniform(0.5, 2)])
    sched = RayASHA(max_t, grace, eta, brackets)
    np.random.seed(seed)
    bracket = [sched.on_trial_add(i) for i in range(n)]
    log = []
    simulate(curves, secs, range(n), 3, sched, log)
    rungs = [sorted(m for m, _ in b.rungs) for b in sched.brackets]
    ids = [f'trials/trial-{i + 1:03d}' for i in range(n)]
    for ev in log:
        ev['trial'] = ids[ev['trial']]
    return {'eta': eta, 'grace': grace, 'max': max_t, 'brackets': brackets, 'rayRungs': rungs, 'odds': sched.odds().tolist(),
            'trials': [{'id': ids[i], 'bracket': bracket[i], 'epochs': len(curves[i])} for i in range(n)], 'events': log}


def write_fixture(out):
    cases = [fixture_case(3, 1, 9, 3, 60, 1), fixture_case(2, 1, 10, 3, 60, 2), fixture_case(4, 1, 20, 2, 50, 3), fixture_case(3, 2, 20, 1, 40, 4)]
    odds = [{'eta': eta, 'grace': g, 'max': m, 'brackets': b, 'odds': RayASHA(m, g, eta, b).odds().tolist()}
            for eta, g, m, b in [(3, 1, 9, 3), (2, 1, 10, 3), (3, 1, 100, 4), (4, 2, 50, 2), (3, 1, 20, 5), (2, 1, 7, 6)]]
    with open(out, 'w') as f:
        json.dump({'made by': 'bench/asha_replay.py --fixture (RayASHA: Ray Tune async_hyperband.py, written out)', 'numpy': np.__version__, 'cases': cases, 'odds': odds}, f)
        f.write('\n')
    for c in cases:
        stops = [e for e in c['events'] if e['decision'] == 'stop']
        print(f"eta {c['eta']} grace {c['grace']} max {c['max']} brackets {c['brackets']}: {len(c['trials'])} trials, {len(c['events'])} results, {len(stops)} stops")


ap = argparse.ArgumentParser()
ap.add_argument('sweep_dir', nargs='?')
ap.add_argument('--eta', default='3,4')
ap.add_argument('--grace', default='1,2')
ap.add_argument('--workers', type=int, default=2)
ap.add_argument('--brackets', type=int, default=1)
ap.add_argument('--fixture', help='write the Ray reference of test/asha-ray.test.ts here')
a = ap.parse_args()
if a.fixture:
    write_fixture(a.fixture)
else:
    replay_sweep(a)
