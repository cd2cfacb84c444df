/**
 * The README's layout section against the checkout: it names every folder of src/, and every
 * folder it names exists, so a folder added or removed shows up here before a reader misses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const CHECKOUT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const README = path.join(CHECKOUT, 'README.md');

/** The code block under "## Layout": one folder a line, its name first (`src/train`, `web/`). */
function layoutBlock(readme: string): string {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Layout'));
  assert.ok(section, 'README.md has no "## Layout" section');
  const block = /```\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the Layout section of README.md has no code block');
  return block[1];
}

/** The folders the block names: the first word of each line that is not a continuation, without its trailing slash. */
function namedFolders(block: string): string[] {
  return block
    .split('\n')
    .filter((line) => /^\S/.test(line))
    .map((line) => line.split(/\s+/)[0].replace(/\/$/, ''))
    .filter((name) => !name.endsWith('.ts'));
}

test("the README's layout section names every folder of src/", () => {
  const named = new Set(namedFolders(layoutBlock(fs.readFileSync(README, 'utf8'))));
  const folders = fs
    .readdirSync(path.join(CHECKOUT, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => `src/${e.name}`);
  assert.ok(folders.length >= 10, `src/ has ${folders.length} folders; expected the pipeline's`);
  const missing = folders.filter((f) => !named.has(f));
  assert.deepEqual(missing, [], `README.md's layout section does not name ${missing.join(', ')}`);
});

test("every folder the README's layout section names exists", () => {
  const named = namedFolders(layoutBlock(fs.readFileSync(README, 'utf8')));
  assert.ok(named.includes('web') && named.includes('test'), `the top-level folders are read from the block: ${named.join(' ')}`);
  const absent = named.filter((f) => !fs.statSync(path.join(CHECKOUT, f), { throwIfNoEntry: false })?.isDirectory());
  assert.deepEqual(absent, [], `README.md's layout section names ${absent.join(', ')}, which is not a folder of the checkout`);
});
