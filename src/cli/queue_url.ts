/**
 * Where the queue's Redis URL comes from, for `sweep --queue`, `sweep status`, `sweep cancel` and
 * `worker`. A password on the command line shows in `ps` and /proc/PID/cmdline to every user of
 * the host, so the URL may also come from a file (--queue-file, its first line) or from the
 * environment (TSNN_QUEUE_URL), which only the process's own user can read. Give one of them.
 */
import type { Options } from 'yargs';
import { ConfigError } from '../config/config.js';
import { checkQueueUrl, redactUrl } from '../sweep/queue_url.js';
import { once } from './options.js';
import { readRegularText } from '../io/files.js';

/** The environment variable that may hold the queue's URL. */
export const QUEUE_URL_ENV = 'TSNN_QUEUE_URL';

/** A URL file is a line: anything larger is not one. */
const MAX_URL_FILE_BYTES = 4096;

/** The yargs options that give the URL; `what` says what the queue is for in this command. */
export function queueUrlOptions(what: string): Record<string, Options> {
  return {
    queue: {
      type: 'string',
      requiresArg: true,
      describe: `${what}: redis://[:password@]host:6379 (rediss:// for TLS). With a password, use --queue-file or ${QUEUE_URL_ENV} instead: a flag shows in ps`,
    },
    'queue-file': { type: 'string', requiresArg: true, describe: `a file (mode 600) whose first line is the queue's URL` },
  };
}

/** Read the first line of a URL file: a regular file of at most a few KB. */
function readUrlFile(file: string): string {
  let text: string;
  try {
    text = readRegularText(file, MAX_URL_FILE_BYTES, 'a file whose first line is redis://…');
  } catch (e) {
    throw new ConfigError(`--queue-file ${(e as Error).message}`);
  }
  const line = text.split(/\r?\n/)[0].trim();
  if (line === '') throw new ConfigError(`--queue-file ${file}: its first line is empty: write the URL there, redis://[:password@]host:6379`);
  return checkQueueUrl(line, `--queue-file ${file}:`);
}

/**
 * The queue's URL from --queue, --queue-file or $TSNN_QUEUE_URL (the flags win over the
 * variable; both flags at once are refused), checked; undefined when none is given. A password
 * given by --queue gets a note (`note`) pointing to the other two.
 */
export function queueUrlOf(argv: Record<string, unknown>, note: (line: string) => void): string | undefined {
  const flag = once('queue', argv.queue) as string | undefined;
  const file = once('queue-file', argv['queue-file']) as string | undefined;
  if (flag !== undefined && file !== undefined) throw new ConfigError('--queue and --queue-file both give the queue: give one of them');
  if (file !== undefined) return readUrlFile(file);
  if (flag !== undefined) {
    const url = checkQueueUrl(flag);
    if (new URL(url).password) note(`note: the password in --queue ${redactUrl(url)} shows in ps to every user of this host; give the URL by ${QUEUE_URL_ENV} or --queue-file instead`);
    return url;
  }
  const env = process.env[QUEUE_URL_ENV];
  return env !== undefined && env !== '' ? checkQueueUrl(env, `$${QUEUE_URL_ENV}`) : undefined;
}

/** The URL, or a one-line refusal naming the three ways to give it. */
export function requireQueueUrl(argv: Record<string, unknown>, note: (line: string) => void, usage: string): string {
  const url = queueUrlOf(argv, note);
  if (url === undefined) throw new ConfigError(`${usage} needs the queue: --queue redis://host:6379, --queue-file <file> or ${QUEUE_URL_ENV}=redis://…`);
  return url;
}
