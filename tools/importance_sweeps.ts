/**
 * Real sweeps for the importance check (issue 27: "the ranking of the top two parameters matches
 * get_param_importances on at least 3 sweeps"): three `train sweep` runs on the built-in MNIST,
 * and from each sweep folder what its report fits importance to (report/sweep_plots.ts
 * importanceInput: the swept keys' space and the finished trials' values), written to
 * test/fixtures/importance-sweeps.json. tools/importance_optuna_reference.py then asks Optuna for
 * the importances of the same trials and adds them to test/fixtures/importance-optuna.json.
 *
 *   node --import tsx tools/importance_sweeps.ts [--runs-dir /tmp/importance-sweeps]   # a few minutes
 *   /usr/bin/python3 tools/importance_optuna_reference.py
 *
 * A sweep already finished in --runs-dir is read, not run again.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { sweepDirOf, sweepFile } from '../src/runs/layout.js';
import { readSweepResults, readSweepSearch } from '../src/runs/read.js';
import { finishedTrials, importanceInput } from '../src/report/sweep_plots.js';
import { metricOfResults } from '../src/sweep/metric.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { 'runs-dir': { type: 'string', default: path.join(os.tmpdir(), 'importance-sweeps') } } });
const runsDir = path.resolve(values['runs-dir']!);

/** Small MNIST trials (2,000 rows, 3 epochs: about a second each). */
const BASE = { dataset: 'mnist', numTrain: 2000, numVal: 500, numTest: 500, numDev: 50, epochs: 3, batchSize: 100, scale: 1 / 255, initStd: 0.01, seed: 0 };

/** Three searches whose keys matter unequally: a softmax (random), an MLP's width (TPE), an MLP's update rule (random). */
const SWEEPS = [
  {
    name: 'importance-mnist-softmax-random',
    base: { ...BASE, model: 'softmax' },
    random: { trials: 40, seed: 1, lr: { logUniform: [1e-4, 3] }, reg: { logUniform: [1e-6, 1] }, lrDecay: { uniform: [0.5, 1] } },
  },
  {
    name: 'importance-mnist-mlp-tpe',
    base: { ...BASE, model: 'mlp', hidden: [100] },
    tpe: { trials: 30, seed: 2, startupTrials: 10, lr: { logUniform: [1e-3, 1] }, reg: { logUniform: [1e-6, 1e-1] }, hidden: { choice: [[10], [50], [200]] } },
  },
  {
    name: 'importance-mnist-mlp-rules-random',
    base: { ...BASE, model: 'mlp', hidden: [50] },
    random: { trials: 30, seed: 3, updateRule: { choice: ['sgd', 'sgd_momentum', 'adam'] }, lr: { logUniform: [1e-4, 1e-1] }, dropoutKeep: { uniform: [0.5, 1] } },
  },
];

/** Run a sweep file (or read it, finished), and return its importance input in the fixture's form. */
function sweepSet(spec: (typeof SWEEPS)[number]) {
  const file = path.join(runsDir, `${spec.name}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...spec, base: { ...spec.base, runsDir } }, null, 1));
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'train.js'), 'sweep', '--config', file, '--workers', '1'], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`train sweep --config ${file} exited ${r.status ?? r.signal}`);
  const dir = sweepDirOf(runsDir, spec.name);
  const results = readSweepResults(sweepFile(dir, 'results'));
  const search = readSweepSearch(sweepFile(dir, 'spec'));
  if (!search) throw new Error(`${dir}: not a random or TPE sweep`);
  const metric = metricOfResults(results);
  const input = importanceInput(search.params, finishedTrials(results.trials, metric), metric);
  if (typeof input === 'string') throw new Error(`${dir}: ${input}`);
  // The fixture's space: a log-uniform key says so, for Optuna's distribution (importance takes raw values either way).
  const space = Object.fromEntries(Object.entries(input.space).map(([k, s]) => [k, { ...s, log: 'logUniform' in search.params[k] }]));
  return { name: spec.name, source: `train sweep: ${spec.name} (tools/importance_sweeps.ts)`, metric, space, trials: input.trials };
}

fs.mkdirSync(runsDir, { recursive: true });
const sets = SWEEPS.map(sweepSet);
const out = path.join(root, 'test', 'fixtures', 'importance-sweeps.json');
fs.writeFileSync(out, JSON.stringify({ sets }, null, 1) + '\n');
for (const s of sets) console.log(`${s.name}: ${s.trials.length} finished trials`);
console.log(`wrote ${path.relative(root, out)}; now /usr/bin/python3 tools/importance_optuna_reference.py`);
