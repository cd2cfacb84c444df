/**
 * configs/config.schema.json is generated from the config table (src/config/schema.ts): this test
 * regenerates it and fails when the committed file is stale (a key added, a doc or range changed):
 * run `npm run schema` (or `make schema`) and commit the result. Every committed config names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA_FILE, configJsonSchema, configSchemaText } from '../src/config/schema.js';
import { KEYS, readConfigFile } from '../src/config/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('the committed config schema is the one the config table generates (npm run schema rewrites it)', () => {
  const committed = fs.readFileSync(path.join(root, CONFIG_SCHEMA_FILE), 'utf8');
  assert.equal(committed, configSchemaText(), `${CONFIG_SCHEMA_FILE} is stale: run \`npm run schema\` and commit it`);
});

test('the schema has every config key, with its doc, default and range, and refuses other keys', () => {
  const s = configJsonSchema() as { properties: Record<string, Record<string, unknown>>; additionalProperties: unknown };
  assert.deepEqual(
    Object.keys(s.properties).filter((k) => !['$schema', '$comment', 'description'].includes(k)),
    KEYS.map((d) => d.key),
  );
  assert.equal(s.additionalProperties, false);
  assert.equal(s.properties.lr.type, 'number');
  assert.equal(s.properties.lr.exclusiveMinimum, 0);
  assert.equal(s.properties.seed.maximum, 0xffffffff);
  assert.deepEqual(s.properties.dataset.enum, ['mnist', 'cifar']);
  assert.equal(s.properties.batchSize.description, KEYS.find((d) => d.key === 'batchSize')!.doc);
  assert.equal(s.properties.batchSize.default, 200);
});

test('every committed config names the schema with "$schema", and the config reader accepts it', () => {
  // Sweep files (a grid, a random search, a TPE search or a list of trials) are read by the sweep command, not as configs.
  const isSweep = (f: string) => ['grid', 'random', 'tpe', 'list'].some((k) => k in JSON.parse(fs.readFileSync(path.join(root, 'configs', f), 'utf8')));
  const files = fs.readdirSync(path.join(root, 'configs')).filter((f) => f.endsWith('.json') && f !== path.basename(CONFIG_SCHEMA_FILE) && !isSweep(f));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const file = path.join(root, 'configs', f);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).$schema, './config.schema.json', f);
    assert.doesNotThrow(() => readConfigFile(file), f);
  }
});
