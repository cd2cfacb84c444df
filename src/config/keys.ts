/**
 * What a key accepts, written as data: its kind (the type of its value), its range or choices,
 * its default and its one-line doc. The config table (config.ts) and the option tables of the
 * sub-commands (gradcheck's) are written with these constructors; each key's zod schema, the
 * words of its error messages, its --help line and its TypeScript type all come from its entry.
 */
import { createRequire } from 'node:module';
import type { z } from 'zod';
import { MAX_BYTES, readRegularText } from '../io/files.js';

let zodModule: { z: typeof z } | undefined;
/**
 * zod, loaded by the first check rather than at start-up: its 95 files are most of the config
 * table's start-up cost, and `train --help` checks nothing. Loaded with require, because a check
 * (checkValue) is synchronous; schema.ts takes it from here too, so that one copy makes every schema.
 */
export function zod(): typeof z {
  zodModule ??= createRequire(import.meta.url)('zod') as { z: typeof z };
  return zodModule.z;
}

export class ConfigError extends Error {}

type Kind = 'string' | 'number' | 'int' | 'count' | 'intList' | 'enum' | 'bool';
export type Count = number | 'all';

/** One key: T is the type of its value, P the names of the presets that may set it. */
export interface KeySpec<T = unknown, P extends string = string> {
  readonly kind: Kind;
  /** The one-line doc: the key's --help line. */
  readonly doc: string;
  /** Absent: the key has no default of its own (the command decides, or it stays unset). */
  readonly default?: T;
  /** What --help shows as the default, where the default depends on something else. */
  readonly defaultText?: string;
  readonly choices?: readonly string[];
  /** Other names an enum key accepts, each for one of its choices (model: softmax for linear); a check returns the choice. */
  readonly aliases?: Readonly<Record<string, string>>;
  /** Smallest allowed value; `exclusiveMin` makes it strict. */
  readonly min?: number;
  readonly exclusiveMin?: boolean;
  readonly max?: number;
  /** A string key that cannot be empty (a folder name). */
  readonly nonEmpty?: boolean;
  /** The value each preset that changes this key gives it. */
  readonly presets?: Partial<Record<P, T>>;
}

/** A key with a default: its value is never unset. */
export type Defaulted<T, P extends string = string> = KeySpec<T, P> & { readonly default: T };

/** The type of a key's value. */
export type ValueOf<S> = S extends KeySpec<infer T, infer _P> ? T : never;

/** The values of a table of keys: those with a default are always there, the others may be unset. */
export type Values<Tbl extends Record<string, KeySpec>> = { -readonly [K in keyof Tbl as Tbl[K] extends { default: unknown } ? K : never]: ValueOf<Tbl[K]> } & {
  -readonly [K in keyof Tbl as Tbl[K] extends { default: unknown } ? never : K]?: ValueOf<Tbl[K]>;
};

type Opts<T, P extends string> = Omit<KeySpec<T, P>, 'kind' | 'choices'>;

/** The columns of C that an entry gives, with the literal values it gives them (sweep: true). */
type ColumnsOf<C, X> = { readonly [K in keyof C & keyof X]: X[K] };

/**
 * A constructor of keys of one kind; with a default it makes a Defaulted key. C is the table's
 * own columns (the config table's group, sweep, …): an entry's values of them keep their literal
 * types, so a list of the keys with a column set can be a type too (config.ts SweepKey).
 */
interface Make<T, P extends string, C, Extra = object> {
  <const X extends C>(d: Opts<T, P> & Extra & X & { default: T }): Defaulted<T, P> & ColumnsOf<C, X>;
  <const X extends C>(d: Opts<T, P> & Extra & X): KeySpec<T, P> & ColumnsOf<C, X>;
}

/**
 * The constructors of keys whose presets are named P and whose table has the columns C:
 * `keyKinds<PresetName, Columns>()` in the config table, `keyKinds()` for a sub-command's
 * options (which have no presets and no columns).
 */
export function keyKinds<P extends string = never, C extends object = object>() {
  const make = <T, Extra = object>(kind: Kind): Make<T, P, C, Extra> => ((d: Opts<T, P>) => ({ kind, ...d })) as Make<T, P, C, Extra>;
  function oneOf<const Ch extends readonly string[], const X extends C>(choices: Ch, d: Opts<Ch[number], P> & X & { default: Ch[number] }): Defaulted<Ch[number], P> & ColumnsOf<C, X>;
  function oneOf<const Ch extends readonly string[], const X extends C>(choices: Ch, d: Opts<Ch[number], P> & X): KeySpec<Ch[number], P> & ColumnsOf<C, X>;
  function oneOf(choices: readonly string[], d: Opts<string, P>): KeySpec<string, P> {
    return { kind: 'enum', choices, ...d };
  }
  return {
    str: make<string, { nonEmpty?: boolean }>('string'),
    bool: make<boolean>('bool'),
    oneOf,
    /** A finite number. */
    num: make<number>('number'),
    int: make<number>('int'),
    /** An integer or "all". */
    count: make<Count>('count'),
    /** A list of integers; on the command line, comma-separated. */
    intList: make<number[]>('intList'),
  };
}

/** camelCase key → --kebab-case flag. */
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Strings from the command line become numbers; anything else is left for the schema to judge. */
const toNumber = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);

/** Each key's schema, built once: building one costs about as much as checking 30 values with it (a queue worker checks every job's config). */
const SCHEMAS = new WeakMap<KeySpec, z.ZodType>();

/** The zod schema of one key: its type, its range, and the conversions a flag's text needs. */
export function schemaOf(def: KeySpec): z.ZodType {
  let s = SCHEMAS.get(def);
  if (!s) SCHEMAS.set(def, (s = buildSchema(def)));
  return s;
}

function buildSchema(def: KeySpec): z.ZodType {
  const z = zod();
  const bounded = (n: z.ZodNumber): z.ZodNumber => {
    let t = n;
    if (def.min !== undefined) t = def.exclusiveMin ? t.gt(def.min) : t.gte(def.min);
    if (def.max !== undefined) t = t.lte(def.max);
    return t;
  };
  switch (def.kind) {
    case 'string':
      return def.nonEmpty ? z.string().min(1) : z.string();
    case 'bool':
      return z.boolean();
    case 'enum':
      return z.enum(acceptedChoices(def) as [string, ...string[]]);
    case 'number':
      return z.preprocess(toNumber, bounded(z.number()));
    case 'int':
      return z.preprocess(toNumber, bounded(z.number().int()));
    case 'count':
      return z.union([z.literal('all'), z.preprocess(toNumber, bounded(z.number().int()))]);
    case 'intList':
      return z.preprocess((v) => (typeof v === 'string' ? v.split(',') : typeof v === 'number' ? [v] : v), z.array(z.preprocess(toNumber, bounded(z.number().int()))).min(1));
  }
}

/** What an enum key accepts: its choices, then its aliases (in a flag's choices and the JSON Schema too). */
export function acceptedChoices(def: KeySpec): readonly string[] {
  return [...def.choices!, ...Object.keys(def.aliases ?? {})];
}

/** A value with an alias of key `def` read as the choice it names (model softmax → linear); any other value as it is. */
export function aliasOf(def: KeySpec, v: unknown): unknown {
  return typeof v === 'string' && def.aliases && Object.hasOwn(def.aliases, v) ? def.aliases[v] : v;
}

/** An alias in words: "softmax (= linear)". */
const aliasNote = (def: KeySpec): string =>
  Object.entries(def.aliases ?? {})
    .map(([a, c]) => `, or ${a} (= ${c})`)
    .join('');

/** A key's range in words: "> 0", "≥ 0 and ≤ 1". */
export function rangeOf(def: KeySpec): string {
  const lo = def.min === undefined ? '' : def.exclusiveMin ? `> ${def.min}` : `≥ ${def.min}`;
  const hi = def.max === undefined ? '' : `≤ ${def.max}`;
  return [lo, hi].filter(Boolean).join(' and ');
}

/** What a key allows, in words, for error messages. */
function allowed(def: KeySpec): string {
  const range = rangeOf(def);
  switch (def.kind) {
    case 'string':
      return def.nonEmpty ? 'a non-empty string' : 'a string';
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${def.choices!.join(', ')}${aliasNote(def)}`;
    case 'number':
      return `a number ${range}`;
    case 'int':
      return `an integer ${range}`;
    case 'count':
      return `"all" or an integer ${range}`;
    case 'intList':
      return `a list of integers ${range}, e.g. 500,100`;
  }
}

/**
 * A value as the user wrote it, for error messages. JSON.stringify would print NaN and Infinity
 * as null; a number flag arrives as its text (`--lr abc`), shown as typed.
 */
export function showValue(def: KeySpec, raw: unknown, origin = ''): string {
  if (typeof raw === 'number' && !Number.isFinite(raw)) {
    // JSON has no Infinity: a file gets one only from a literal too large for a float64, such as 1e999.
    return Number.isNaN(raw) ? 'NaN' : `${raw} (a number too large for a float64, such as 1e999)`;
  }
  if (origin === 'command line' && typeof raw === 'string' && (def.kind === 'number' || def.kind === 'int') && /^\S+$/.test(raw)) return raw;
  return JSON.stringify(raw) ?? String(raw);
}

/** Validate one value of key `key` against its schema; the error names the key, the value and what is allowed. */
export function checkValue(def: KeySpec & { key: string }, raw: unknown, origin: string): unknown {
  const r = schemaOf(def).safeParse(raw);
  if (!r.success) throw new ConfigError(`${origin}: ${def.key} = ${showValue(def, raw, origin)} is not allowed: expected ${allowed(def)}`);
  return aliasOf(def, r.data);
}

/** A check of an option that is no flag (a callback, an AbortSignal), with what it expects in words. */
export type OptionCheck = readonly [test: (v: unknown) => boolean, expected: string];
export const FUNCTION_OPTION: OptionCheck = [(v) => typeof v === 'function', 'a function'];

/**
 * A library function's options, checked as the CLI checks the same flags: each key against its
 * entry of `table` (the entry the CLI declares that flag from), `other` for keys that are no flag
 * (callbacks), and any other key refused by name. A key given as undefined counts as not given.
 * Returns the options with the values as the schema reads them. Throws a ConfigError naming the
 * function, the key and the value.
 */
export function checkOptions(origin: string, opts: unknown, table: Record<string, KeySpec>, other: Record<string, OptionCheck> = {}): Record<string, unknown> {
  if (opts === undefined) return {};
  if (!isObj(opts)) throw new ConfigError(`${origin}: the options must be an object of ${Object.keys(table).concat(Object.keys(other)).join(', ')}, not ${JSON.stringify(opts) ?? String(opts)}`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    if (v === undefined) continue;
    if (Object.hasOwn(table, k)) out[k] = checkValue({ ...table[k], key: k }, v, origin);
    else if (Object.hasOwn(other, k) && other[k][0](v)) out[k] = v;
    else if (Object.hasOwn(other, k)) throw new ConfigError(`${origin}: ${k} = ${JSON.stringify(v) ?? String(v)} is not allowed: expected ${other[k][1]}`);
    else throw new ConfigError(`${origin}: unknown option ${JSON.stringify(k)}. Known options: ${[...Object.keys(table), ...Object.keys(other)].join(', ')}`);
  }
  return out;
}

/** A default as --help shows it: 500,100 for a list, "" for an empty string. */
export function showDefault(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : v === '' ? '""' : String(v);
}

/**
 * JSON text of a config or sweep file, parsed. A leading byte-order mark (which some editors
 * write) is skipped; a syntax error names the file.
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ConfigError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * A JSON file the user wrote (a config file, a run's config.json, a sweep file or its base),
 * parsed; `what` names it in errors ("config file x.json"): one that cannot be read says why in
 * words, one of bad JSON says where, and a leading BOM (as editors on Windows write) is accepted.
 */
export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readRegularText(file, MAX_BYTES.config, 'a JSON file');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder, not a file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new ConfigError(`cannot read ${what}: ${why}`);
  }
  return parseJsonText(text, what);
}
