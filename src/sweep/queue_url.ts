/**
 * A queue's URL, checked and shown without its password. Kept apart from connection.ts (which
 * loads ioredis) so that the CLI can check a URL without loading the queue's libraries.
 */
import { ConfigError } from '../config/config.js';

/** The URL with its password (and user) replaced by ***: the only form that is printed or written. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username && u.username !== 'default') u.username = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<a URL that does not parse>';
  }
}

/** Check a queue URL (`from` names where it came from: --queue, a file, a variable); a bad one is refused in one line naming what would work. */
export function checkQueueUrl(url: string, from = '--queue'): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`${from} ${JSON.stringify(redactUrl(url))} is not a URL: give redis://[:password@]host:6379 (rediss:// for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ConfigError(`${from} ${redactUrl(url)}: the scheme is ${u.protocol.replace(/:$/, '')}; give redis://[:password@]host:6379 or rediss://… for TLS`);
  }
  return url;
}
