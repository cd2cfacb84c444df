/**
 * yargs' own usage messages, in the words of this CLI: a missing value or argument named with
 * its usage, and a mistyped flag, choice or command answered with the nearest known one (io/suggest.ts).
 */
import type { Argv } from 'yargs';
import { closest } from '../io/suggest.js';

/** What each sub-command takes as its argument, for a usage message that names it. */
const USAGE: Record<string, string> = {
  eval: 'train eval <run-folder or .ckpt file>',
  report: 'train report <run-folder or sweep-folder>',
  data: 'train data <mnist|cifar>',
  predict: 'train predict <run-folder or .ckpt file> <image or folder>…',
  export: 'train export <run-folder or .ckpt file> --format onnx|safetensors|npy',
  compare: 'train compare <run-folder> <run-folder> … (or <sweep-folder> <sweep-folder> …)',
};

/** The flags the command being parsed knows, as typed (--kebab-case, no aliases of one letter). */
function knownFlags(y: Argv | undefined): string[] {
  const keys = (y as unknown as { getOptions?: () => { key: Record<string, unknown> } } | undefined)?.getOptions?.().key ?? {};
  return Object.keys(keys).filter((k) => k.length > 1 && !/[A-Z]/.test(k) && k !== '$0');
}

/** `Unknown argument: hiden` → `unknown flag --hiden: did you mean --hidden?`, when one is near; else yargs' words. */
function unknownArgument(msg: string, args: string[], y: Argv | undefined, commands: readonly string[]): string | null {
  const m = /^Unknown arguments?: (.+)$/.exec(msg);
  if (!m) return null;
  const word = m[1].split(', ')[0];
  const asFlag = args.some((a) => a === `--${word}` || a.startsWith(`--${word}=`) || a === `-${word}`);
  const near = closest(word, asFlag ? knownFlags(y) : commands);
  if (near === undefined) return msg;
  return asFlag ? `unknown flag --${word}: did you mean --${near}?` : `unknown command ${word}: did you mean ${near}?`;
}

/** A value as yargs quotes it in its messages ("MLP"), unquoted. */
function unquote(text: string): string {
  try {
    return String(JSON.parse(text.trim()));
  } catch {
    return text.trim();
  }
}

/**
 * yargs' `Invalid values:` block (one `Argument: …` line per bad value; the first is answered) →
 * `--model MLP: invalid choice; did you mean mlp? (choices: softmax, mlp, knn)`; a positional
 * (`train data mnst`) is named without dashes.
 */
function invalidChoice(msg: string, args: string[]): string | null {
  if (!/^Invalid values:/.test(msg.trim())) return null;
  const m = /Argument: ([^,]+), Given: (.+?), Choices: (.+)$/m.exec(msg);
  if (!m) return null;
  const [name, given, choices] = [m[1], unquote(m[2]), m[3].split(/,\s*/).map(unquote)];
  const asFlag = args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const near = closest(given, choices);
  return `${asFlag ? '--' : ''}${name} ${given}: invalid choice${near !== undefined ? `; did you mean ${near}?` : ''} (choices: ${choices.join(', ')})`;
}

/** yargs' message `msg` for command line `args`, as one line. */
export function usageMessage(msg: string, args: string[], y: Argv | undefined, commands: readonly string[]): string {
  const cmd = args.find((a) => !a.startsWith('-'));
  const missing = /^Not enough arguments following: (.+)$/.exec(msg);
  if (missing) return `--${missing[1]} needs a value: --${missing[1]} <value>`;
  if (/^Not enough non-option arguments/.test(msg) && cmd && USAGE[cmd]) return `${cmd} needs its argument: ${USAGE[cmd]}`;
  return unknownArgument(msg, args, y, commands) ?? invalidChoice(msg, args) ?? msg.replace(/\n+/g, '; ');
}
