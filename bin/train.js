#!/usr/bin/env node
// Entry point of the `train` command: runs the compiled CLI in dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write("error: the CLI is not built (dist/cli/main.js is missing). Run 'make build' or 'npm run build'.\n");
  process.exit(1);
}
await import(main.href);
