/**
 * The one place a Redis connection of the queue is made, for the coordinator, `sweep status`,
 * `sweep cancel` and every worker. Where the URL comes from (--queue, --queue-file, the
 * environment) is the CLI's business; here it is checked, shown only redacted, and connected.
 *
 * Errors fall in two kinds. Transient ones (refused, reset, timed out, a Redis restarting) are
 * retried with a growing pause (0.1 s, doubling, at most 5 s), reported at most once every 5 s.
 * Permanent ones would fail the same way for ever: a wrong password (WRONGPASS), none where one
 * is needed (NOAUTH), a certificate that is not trusted or not for this host, and plain redis://
 * to a TLS port (or rediss:// to a plain one, found by trying the other protocol once when the
 * server resets the connection or the handshake times out). A permanent error ends the connection, and `fatal` rejects with
 * a QueueConnectionError naming the reason and what to do, so the command exits with that line.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from '../config/config.js';

/** A permanent connection error: the URL, its password or the server's certificate is wrong. */
export class QueueConnectionError extends ConfigError {}

export { checkQueueUrl, redactUrl } from './queue_url.js';
import { checkQueueUrl, redactUrl } from './queue_url.js';

/** A connection of the queue: an ioredis client that gives up, through `fatal`, on a permanent error. */
export interface QueueConnection extends Redis {
  /** Rejects with the QueueConnectionError that ended the connection; never resolves. */
  fatal: Promise<never>;
  /** That error, once it happened. */
  failure: QueueConnectionError | null;
}

/** The pause before reconnection attempt n (1, 2, …): 0.1 s doubling, at most 5 s. */
export const retryDelayMs = (n: number): number => Math.min(100 * 2 ** Math.min(n - 1, 16), 5000);

const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** What a permanent error means and what to do about it, or null for an error worth retrying. */
export function permanentReason(e: Error & { code?: string }): string | null {
  const m = e.message;
  if (/^WRONGPASS/.test(m) || /invalid password/i.test(m)) return `the password is wrong (${m}): give the one Redis's requirepass (or the ACL user) has`;
  if (/^NOAUTH/.test(m)) return `Redis asks for a password and the URL gives none (${m}): give redis://:PASSWORD@host:port, by TSNN_QUEUE_URL or --queue-file`;
  if (/^NOPERM/.test(m)) return `the user may not run the queue's commands (${m}): give a user whose ACL allows them`;
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the server's TLS certificate is not for this host (${m}): connect by a name its certificate gives`;
  if (e.code && CERT_CODES.test(e.code)) return `the server's TLS certificate is not trusted (${m}): point Node at the CA that signed it with NODE_EXTRA_CA_CERTS=ca.pem`;
  if (e.code === 'EPROTO' && /wrong version number|packet length too long/i.test(m)) return `the port does not speak TLS (${m}): use redis:// instead of rediss://`;
  return null;
}

/**
 * Whether host:port speaks the other protocol than `tls` says: a TLS handshake completes where
 * plain redis:// was used, or a plain PING is answered where rediss:// was. Asked once a server
 * resets a connection or does not answer, which is what both mismatches look like.
 */
function speaksOther(host: string, port: number, useTls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const sock: net.Socket = useTls ? net.connect(port, host) : tls.connect({ host, port, rejectUnauthorized: false, servername: net.isIP(host) ? undefined : host });
    const timer = setTimeout(() => done(false), 2000);
    sock.on('error', () => done(false));
    if (useTls) {
      sock.on('connect', () => sock.write('PING\r\n'));
      sock.on('data', (b: Buffer) => done(/^[+-]/.test(b.toString('latin1'))));
    } else sock.on('secureConnect', () => done(true));
  });
}

/**
 * A connection for BullMQ (maxRetriesPerRequest null: a command waits out a Redis restart
 * instead of failing). Transient errors go to `warn`, without the password, at most once every 5 s.
 */
export function connect(url: string, warn: (line: string) => void): QueueConnection {
  const shown = redactUrl(url);
  const u = new URL(checkQueueUrl(url));
  const useTls = u.protocol === 'rediss:';
  const opts: RedisOptions = { maxRetriesPerRequest: null, retryStrategy: retryDelayMs };
  const conn = new Redis(url, opts) as QueueConnection;
  let fail!: (e: QueueConnectionError) => void;
  conn.fatal = new Promise<never>((_, reject) => (fail = reject));
  conn.fatal.catch(() => {}); // whoever awaits it sees it; unawaited, it is no unhandled rejection
  conn.failure = null;
  const giveUp = (why: string) => {
    if (conn.failure) return;
    conn.failure = new QueueConnectionError(`redis ${shown}: ${why.split(url).join(shown)}`);
    fail(conn.failure);
    conn.disconnect();
  };
  let last = 0;
  let probed = false;
  conn.on('error', (e: Error & { code?: string }) => {
    if (conn.failure) return;
    const why = permanentReason(e);
    if (why) return giveUp(why);
    if ((e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT') && !probed) {
      probed = true;
      void speaksOther(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 6379), useTls).then((other) => {
        if (other) giveUp(useTls ? `the port does not speak TLS (${e.message}): use redis:// instead of rediss://` : `the port speaks TLS only (${e.message}): use rediss:// instead of redis://`);
      });
    }
    if (Date.now() - last < 5000) return;
    last = Date.now();
    warn(`redis ${shown}: ${e.message.split(url).join(shown)} (retrying)`);
  });
  conn.on('ready', () => (probed = false));
  return conn;
}

/** `work` on a connection, ended by the connection's permanent error if one comes first. */
export async function untilFatal<T>(conn: QueueConnection, work: Promise<T>): Promise<T> {
  try {
    return await Promise.race([work, conn.fatal]);
  } catch (e) {
    throw conn.failure ?? e;
  }
}
