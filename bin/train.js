#!/usr/bin/env node
// Entry point of the `train` command: checks the Node version, then runs the compiled CLI in dist/.
// This file is kept to syntax that old Node versions parse (no top-level await, no `node:`
// imports, no ?.), so that an old Node gets the one line below instead of a SyntaxError.
import { existsSync } from 'fs';
import { fileURLToPath } from 'url';

// The oldest major version the CLI runs on: package.json's "engines": { "node": ">=20" }.
const NEED_MAJOR = 20;
const version = (process.versions && process.versions.node) || '0';
if (Number(version.split('.')[0]) < NEED_MAJOR) {
  process.stderr.write(
    'error: train needs Node.js ' + NEED_MAJOR + ' or newer, and this is Node.js ' + version + '. Install Node.js ' + NEED_MAJOR + '+ (https://nodejs.org, or nvm install ' + NEED_MAJOR + ').\n',
  );
  process.exit(1);
}

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("error: the CLI is not built (dist/cli/main.js is missing). Run 'make build' or 'npm run build'.\n");
  process.exit(1);
}
import(main.href).catch(function (err) {
  // main.js reports its own errors; this is only reached if it cannot be loaded at all.
  process.stderr.write('error: cannot load the CLI (' + (err && err.message ? err.message.split('\n')[0] : String(err)) + "). Run 'make build'.\n");
  process.exit(1);
});
