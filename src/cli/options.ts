/**
 * The command line's options, declared from the key tables: the config table (config.ts) for
 * the config keys that `train` and the sub-commands take (--backend, --data-dir, --runs-dir…),
 * and a sub-command's own table (gradcheck.ts) for the rest. Each option is declared once; its
 * values are read back here, checked, with the messages that name what was typed.
 *
 * No yargs defaults are set, so what the user typed can be told apart from defaults. Numbers
 * are left as the text the user typed (parse-numbers is off, see main): the schema converts
 * them, and an error can then name `abc` or `Infinity` as given.
 */
import type { Argv, Options } from 'yargs';
import { type Config, ConfigError, KEYS, KEY_BY_NAME, KEY_GROUPS, KEY_GROUP_NAMES, checkPartial, describeDefault, flagOf } from '../config/config.js';
import { type Defaulted, type KeySpec, type Values, acceptedChoices, rangeOf, showDefault } from '../config/keys.js';

type Argvals = Record<string, unknown>;

/** The yargs declaration of one key; `shown` is the default --help shows. */
function optionOf(def: KeySpec, shown: string | undefined): Options {
  const numeric = def.kind === 'number' || def.kind === 'int';
  return {
    describe: def.doc,
    ...(numeric ? {} : { type: def.kind === 'bool' ? 'boolean' : 'string' }),
    ...(def.choices ? { choices: [...acceptedChoices(def)] } : {}),
    ...(shown !== undefined ? { defaultDescription: shown } : {}),
    requiresArg: def.kind !== 'bool',
  };
}

/** The flags of a sub-command's own table, by --kebab-case name. */
export function optionsOf(table: Record<string, KeySpec>): Record<string, Options> {
  const shown = (d: KeySpec) => d.defaultText ?? (d.default === undefined ? undefined : showDefault(d.default));
  return Object.fromEntries(Object.entries(table).map(([key, def]) => [flagOf(key), optionOf(def, shown(def))]));
}

/**
 * The flag of config key `key`, as `train` declares it; a sub-command may say what it means
 * there (`describe`) and what happens without it (`defaultDescription`, undefined for nothing shown).
 */
export function configOption(key: keyof Config, over: Partial<Pick<Options, 'describe' | 'defaultDescription'>> = {}): Record<string, Options> {
  return { [flagOf(key)]: { ...optionOf(KEY_BY_NAME.get(key)!, describeDefault(key)), ...over } };
}

/** --help's section titles of the config keys' groups (KEY_GROUPS in config.ts). */
const GROUP_TITLES: Record<(typeof KEY_GROUP_NAMES)[number], string> = { data: 'Data:', model: 'Model:', optimisation: 'Optimisation:', output: 'Output:', engine: 'Engine:' };

/** `train`'s flags: one per config key, and --config and --print-config; --help shows them by group. */
export function configOptions<T>(y: Argv<T>): Argv<T> {
  let out = y
    .options(Object.assign({}, ...KEYS.map((d) => configOption(d.key))) as Record<string, Options>)
    .option('config', { type: 'string', describe: 'JSON file of config keys (flags override it; configs/config.schema.json is their schema)', requiresArg: true })
    .option('print-config', { type: 'boolean', describe: 'print the resolved config as JSON and exit' }) as Argv<T>;
  out = groupConfigFlags(
    out,
    KEYS.map((d) => d.key),
  );
  return out.group(['config', 'print-config'], GROUP_TITLES.output);
}

/** Put the flags of config keys `keys` into their --help sections. */
export function groupConfigFlags<T>(y: Argv<T>, keys: readonly (keyof Config)[]): Argv<T> {
  let out = y;
  for (const g of KEY_GROUP_NAMES) {
    const flags = keys.filter((k) => KEY_GROUPS[k] === g).map(flagOf);
    if (flags.length) out = out.group(flags, GROUP_TITLES[g]);
  }
  return out;
}

/** --json and --quiet, for train and eval (E's predict takes them too): one JSON object on stdout, logs on stderr. */
export function scriptingOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('json', { type: 'boolean', describe: 'print one JSON object (the result) on stdout; progress and logs go to stderr' })
    .option('quiet', { alias: 'q', type: 'boolean', describe: 'no progress bar or log lines; errors and the result only' })
    .group(['json', 'quiet'], GROUP_TITLES.output) as Argv<T>;
}

/** A flag given twice arrives as an array: refuse it rather than pick one silently. */
export function once(flag: string, v: unknown): unknown {
  if (Array.isArray(v)) throw new ConfigError(`--${flag} was given ${v.length} times (${v.map((x) => JSON.stringify(x)).join(', ')}): give it once`);
  return v;
}

/**
 * The config keys given on the command line (all of them, or `keys`), checked as config values
 * (`command line: lr = abc is not allowed: …`). A list (--hidden) may arrive as an array.
 */
export function configFlags(argv: Argvals, keys: readonly (keyof Config)[] = KEYS.map((d) => d.key)): Partial<Config> {
  const given: Record<string, unknown> = {};
  for (const key of keys) {
    const v = argv[key];
    if (v !== undefined) given[key] = KEY_BY_NAME.get(key)!.kind === 'intList' ? v : once(flagOf(key), v);
  }
  return checkPartial(given, 'command line');
}

/**
 * A sub-command's own flag from the text the user typed, or its default when not given. A
 * number is checked against its range; the error names the text (`--reg abc is not allowed: …`).
 */
export function flagValue<T>(argv: Argvals, key: string, def: Defaulted<T>): T;
export function flagValue<T>(argv: Argvals, key: string, def: KeySpec<T>): T | undefined;
export function flagValue<T>(argv: Argvals, key: string, def: KeySpec<T>): T | undefined {
  const flag = flagOf(key);
  const raw = once(flag, argv[key]);
  if (raw === undefined) return def.default;
  if (def.kind !== 'number' && def.kind !== 'int') return raw as T;
  const int = def.kind === 'int';
  const text = String(raw);
  const v = text.trim() === '' ? NaN : Number(text);
  const inRange = (def.min === undefined || (def.exclusiveMin ? v > def.min : v >= def.min)) && (def.max === undefined || v <= def.max);
  if (!(Number.isFinite(v) && (!int || Number.isInteger(v)) && inRange)) {
    throw new ConfigError(`--${flag} ${/^\S+$/.test(text) ? text : JSON.stringify(text)} is not allowed: expected ${int ? 'a whole number' : 'a finite number'} ${rangeOf(def)}`);
  }
  return v as T;
}

/** Every flag of a sub-command's table, read and checked as flagValue does. */
export function flagValues<Tbl extends Record<string, KeySpec>>(argv: Argvals, table: Tbl): Values<Tbl> {
  return Object.fromEntries(Object.entries(table).map(([key, def]) => [key, flagValue(argv, key, def)])) as Values<Tbl>;
}
