// Saves what yargs prints for `train --help` at each width of src/cli/help_cache.ts, as
// dist/cli/help-<width>.txt, so that `train --help` need not load yargs. Run after tsc (make build,
// npm run build). `--debug` sends the command to yargs, which prints the same help.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const { HELP_WIDTHS } = await import(path.join(root, 'dist/cli/help_cache.js'));
for (const width of HELP_WIDTHS) {
  const columns = `data:text/javascript,Object.defineProperty(process.stdout,'columns',{value:${width}})`;
  const text = execFileSync(process.execPath, ['--import', columns, path.join(root, 'bin/train.js'), '--help', '--debug'], { encoding: 'utf8' });
  const file = path.join(root, 'dist/cli', `help-${width}.txt`);
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}
