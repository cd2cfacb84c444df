/**
 * A real redis-server for the queue tests: on 127.0.0.1, a free port, a temporary folder, AOF on
 * (appendonly yes, fsync every write so a restart loses nothing), stopped (and its folder
 * removed) by stop(). restart() stops it and starts it again on the same port and folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/**
 * Why the tests that need `cmd` cannot run on this machine (it is not installed), or false: the
 * reason for node:test's `skip`, as the browser tests skip without Chromium. With
 * TSNN_REQUIRE_REDIS=1 (set by .ci/run, which installs both) nothing is skipped, so a missing
 * server fails the tests instead.
 */
function missing(cmd: string, args: string[], pkg: string): string | false {
  if (process.env.TSNN_REQUIRE_REDIS === '1') return false;
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0 ? false : `${cmd} is not installed (apt-get install ${pkg}; .ci/run installs it)`;
}
export const NO_REDIS = missing(REDIS_SERVER, ['--version'], 'redis-server');
export const NO_OPENSSL = NO_REDIS || missing('openssl', ['version'], 'openssl');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.end();
        resolve();
      });
      c.once('error', () => {
        c.destroy();
        if (Date.now() - t0 > ms) reject(new Error(`redis-server did not listen on ${port} within ${ms} ms`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  restart(): Promise<void>;
  /** Stop it, remove its data (a host whose Redis kept nothing: no AOF, a fresh folder), start it again on the same port. */
  restartEmpty(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `tls`: the port speaks TLS only (with this certificate and key; clients need not present one).
 * `aof: false`: no append-only file, nothing saved (a restart without restartEmpty keeps nothing either).
 */
export async function startRedis(opts: { password?: string; tls?: { cert: string; key: string }; aof?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-test-'));
  let proc: ChildProcess | null = null;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    opts.aof === false ? 'no' : 'yes',
    '--appendfsync',
    'always',
    '--save',
    '',
    '--daemonize',
    'no',
    '--logfile',
    path.join(dir, 'redis.log'),
    ...(opts.password ? ['--requirepass', opts.password] : []),
  ];
  // Later directives win: with tls, the plain port is closed and the free port speaks TLS.
  if (opts.tls) args.push('--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no', '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.cert);
  const launch = async () => {
    proc = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    await waitForPort(port);
  };
  const halt = () =>
    new Promise<void>((resolve) => {
      const p = proc;
      if (!p || p.exitCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  await launch();
  return {
    port,
    dir,
    url: `${opts.tls ? 'rediss' : 'redis'}://${opts.password ? `:${encodeURIComponent(opts.password)}@` : ''}127.0.0.1:${port}`,
    async restart() {
      await halt();
      await launch();
    },
    async restartEmpty() {
      await halt();
      for (const f of fs.readdirSync(dir)) if (f !== 'redis.log') fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      await launch();
    },
    async stop() {
      await halt();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
