// Writes src/cs231n/optim_expected.ts: the FullyConnectedNets notebook's expected arrays for
// sgd_momentum, rmsprop and adam, from test/fixtures/optim-cs231n-notebook.json (made by
// tools/fixtures/cs231n_notebook_checks.py), so the cs231n pages can check the rules without the
// test folder. test/cs231n.test.ts checks that the module still equals the fixture.
//   node tools/cs231n/optim_expected.mjs > src/cs231n/optim_expected.ts
import * as fs from 'node:fs';

const nb = JSON.parse(fs.readFileSync(new URL('../../test/fixtures/optim-cs231n-notebook.json', import.meta.url), 'utf8'));
const pick = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => k.startsWith('expected_')));
const out = { source: nb.source, sgd_momentum: pick(nb.sgd_momentum), rmsprop: pick(nb.rmsprop), adam: pick(nb.adam) };
process.stdout.write(`/** Made by tools/cs231n/optim_expected.mjs from test/fixtures/optim-cs231n-notebook.json (do not edit): FullyConnectedNets.ipynb's expected arrays. */\n`);
process.stdout.write(`export const OPTIM_EXPECTED = ${JSON.stringify(out)} as const;\n`);
