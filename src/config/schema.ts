/**
 * The JSON Schema of config files, generated from the config table: each key's zod schema
 * (schemaOf, the one validation uses) turned into JSON Schema by zod's toJSONSchema, with the
 * key's doc as its description and its default. configs/config.schema.json is this, committed;
 * the committed configs name it with "$schema" so editors check them as they are typed.
 * `npm run schema` rewrites it; test/schema.test.ts fails when it is stale.
 */
import type { z as Zod } from 'zod';
import { KEYS } from './config.js';
import { schemaOf, zod } from './keys.js';

/** Where the committed schema lives, relative to the checkout. */
export const CONFIG_SCHEMA_FILE = 'configs/config.schema.json';

/** The schema of a config file: an object of config keys (all optional), nothing else but $schema, $comment and description. */
export function configJsonSchema(): Record<string, unknown> {
  const z = zod();
  const note = z.string();
  const shape: Record<string, Zod.ZodType> = {
    $schema: note.describe('the schema that checks this file (configs/config.schema.json)'),
    $comment: note.describe('a comment, ignored'),
    description: note.describe('what this config is, ignored'),
  };
  for (const d of KEYS) {
    // The output side of a preprocess (a flag's text → number) is the number with its range.
    let s = schemaOf(d).describe(d.doc);
    if (d.default !== undefined) s = s.default(d.default as never);
    shape[d.key] = s.optional();
  }
  const json = z.toJSONSchema(z.strictObject(shape), { io: 'output', target: 'draft-2020-12' }) as Record<string, unknown>;
  // Every key is optional in a file (defaults and presets fill the rest).
  delete json.required;
  return { ...json, title: 'tsnn-trainer config file', description: 'A config file for `train --config file.json`: any of the config keys; command-line flags override it.' };
}

/** The schema file's text: two-space JSON, a final newline. */
export function configSchemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}

/** Rewrite the committed schema (`npm run schema`, `make schema`) under checkout `root`. */
export async function writeConfigSchema(root = process.cwd()): Promise<string> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const file = path.join(root, CONFIG_SCHEMA_FILE);
  fs.writeFileSync(file, configSchemaText());
  return file;
}
