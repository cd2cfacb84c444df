/**
 * Issue 27: `train sweep status F --watch` refreshes in place and lists every worker, running
 * (which trial), idle or lost, with its host and when it was last seen: on the queue from each
 * worker's heartbeat in a real Redis (a SIGKILLed worker shows lost within the heartbeat's
 * expiry), on the local pool from the sweep folder (a SIGKILLed sweep's threads show lost).
 * Without a TTY the watch prints plain lines each refresh; on a TTY it redraws (redraw); Ctrl-C
 * ends it with exit code 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { redraw, WATCH_MS } from '../src/cli/sweep_cmd.js';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from '../src/sweep/queue.js';
import { readWorkers } from '../src/sweep/workers.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture } from './queue-fixture.js';
import { NO_REDIS } from './queue-redis.js';

/** Trials of a few seconds: an MLP on 5,000 MNIST rows for 20 epochs. */
const BASE = { dataset: 'mnist', model: 'mlp', hidden: [100], numTrain: 5000, numVal: 200, numTest: 200, numDev: 50, epochs: 20, batchSize: 100, backend: E2E_BACKEND };

const { redis, tmp, cli, worker } = queueFixture('sweep-status-');

function writeSweep(dir: string, spec: Record<string, unknown>, base: Record<string, unknown> = {}): string {
  const f = path.join(dir, `${String(spec.name)}.json`);
  fs.writeFileSync(f, JSON.stringify({ ...spec, base: { ...BASE, ...base, runsDir: path.join(dir, 'runs') } }));
  return f;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Wait until `ok` holds (checked every 100 ms), at most `ms`; `what` names it in the failure. */
async function until(ok: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) assert.fail(`not within ${ms / 1000} s: ${what()}`);
    await sleep(100);
  }
}
/** The watch's refreshes so far (non-TTY: each under a "--- <time>" line), last one last, whole ones only. */
const blocks = (text: string): string[][] =>
  text
    .split(/^--- \d{4}-\d\d-\d\dT\S+\n/m)
    .slice(1, -1)
    .map((b) => b.trim().split('\n'));

test('on the queue: status --watch lists every worker, idle or running with its trial; a SIGKILLed worker shows lost within the heartbeat expiry; Ctrl-C exits 0', { skip: NO_REDIS }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  // Trials of 60 epochs (a few seconds on a fast machine), longer than a refresh of the watch: the trial seen running is most often still running at the kill.
  const file = writeSweep(dir, { name: 'watched', grid: { lr: [0.1, 0.05, 0.02] } }, { epochs: 60 });
  const workers = [0, 1].map(() => worker(runs));
  const watch = cli(['sweep', 'status', file, '--queue', redis.url, '--runs-dir', runs, '--watch']);
  const last = () => blocks(watch.log()).at(-1) ?? [];
  await until(() => last().includes('workers: 2 (0 running, 2 idle, 0 lost)'), 30_000, watch.log);
  for (const w of workers)
    assert.ok(
      last().some((l) => new RegExp(`^  ${os.hostname()}:${w.proc.pid}: idle; last seen \\d+ s ago$`).test(l)),
      last().join('\n'),
    );

  const coordinator = cli(['sweep', '--config', file, '--queue', redis.url]);
  // The worker running a trial, as its heartbeat says (read here every 100 ms: a refresh of the watch may fall between two trials).
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  let victim = '';
  try {
    await until(
      async () => {
        victim = (await readWorkers(conn)).find((r) => r.state === 'running')?.id ?? '';
        return victim !== '';
      },
      60_000,
      coordinator.log,
    );
    await until(() => last().some((l) => l.startsWith(`  ${victim}: running trial `)), 10_000, watch.log);
    const line = last().find((l) => l.startsWith(`  ${victim}: running trial `))!;
    assert.match(line, /: running trial [123] of sweep watched \(trial-[0-9a-f]{12}\); last seen \d+ s ago$/);
    const killed = workers.find((w) => victim.endsWith(`:${w.proc.pid}`))!;
    killed.proc.kill('SIGKILL');
    const t0 = Date.now();
    await killed.exited;
    // The trial its last heartbeat named: the one seen above, or the next if it began between that refresh and the kill.
    const trial = (await readWorkers(conn)).find((r) => r.id === victim)?.trial ?? '';
    assert.match(trial, /^trial [123] of sweep watched \(trial-[0-9a-f]{12}\)$/);
    // Lost once the heartbeat key expires: within its lifetime after the last beat, plus a refresh of the watch.
    await until(() => last().some((l) => l.startsWith(`  ${victim}: LOST`)), HEARTBEAT_TTL_MS + WATCH_MS + 3000, watch.log);
    assert.ok(Date.now() - t0 >= HEARTBEAT_TTL_MS - HEARTBEAT_MS - 1000, `lost only once its heartbeat expired (${Date.now() - t0} ms)`);
    const lost = last().find((l) => l.startsWith(`  ${victim}: LOST`))!;
    assert.equal(lost.replace(/\d+ s ago$/, 'N s ago'), `  ${victim}: LOST (its heartbeat stopped: killed, its host down, or cut off from Redis) while running ${trial}; last seen N s ago`);
    const other = workers.find((w) => w !== killed)!;
    assert.ok(
      last().some((l) => new RegExp(`^  ${os.hostname()}:${other.proc.pid}: (idle|running trial \\d of sweep watched)`).test(l)),
      last().join('\n'),
    );
    assert.match(
      last().find((l) => l.startsWith('workers: '))!,
      /^workers: 2 \([01] running, [01] idle, 1 lost\)$/,
    );
    // The live worker finishes the sweep (the killed one's trial after its lock time).
    assert.equal(await coordinator.exited, 0, coordinator.log());
    assert.match(coordinator.log(), /3 trials ok, 0 failed/);
  } finally {
    conn.disconnect();
  }
  watch.proc.kill('SIGINT');
  assert.equal(await watch.exited, 0, watch.log());
  // A worker that stops cleanly is gone from the list, not lost.
  workers[workers.findIndex((w) => !victim.endsWith(`:${w.proc.pid}`))].proc.kill('SIGTERM');
  const c2 = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    await until(
      async () => (await readWorkers(c2)).length === 1,
      30_000,
      () => 'the stopped worker is still listed',
    );
    assert.equal((await readWorkers(c2))[0].state, 'lost');
  } finally {
    c2.disconnect();
  }
});

test('a local sweep: status lists its threads, running with their trial; SIGKILLed, its process and threads show lost; --watch prints plain lines without a TTY and Ctrl-C exits 0', async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  // Trials long enough that a poll (every WATCH_MS) finds trial 1 running on a fast machine too (20 epochs took 2 s); it is killed during trial 1.
  const file = writeSweep(dir, { name: 'local-watched', grid: { lr: [0.1, 0.05] } }, { epochs: 1000 });
  const sweep = cli(['sweep', '--config', file, '--workers', '1']);
  const watch = cli(['sweep', 'status', file, '--runs-dir', runs, '--watch']);
  const last = () => blocks(watch.log()).at(-1) ?? [];
  await until(
    () => last().some((l) => /thread 1: running trial 1/.test(l)),
    60_000,
    () => watch.log() + sweep.log(),
  );
  const b = last();
  assert.match(b[0], new RegExp(`^sweep local-watched in ${runs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/sweep-local-watched: 1 running, 1 queued, 0 finished, 0 stopped, 0 failed$`));
  assert.equal(b[1].replace(/started \S+$/, 'started T'), `local pool: process ${sweep.proc.pid} on ${os.hostname()}, started T`);
  assert.equal(b[2], 'workers: 1 (1 running, 0 idle, 0 lost)');
  assert.match(b[3], new RegExp(`^  ${os.hostname()}:${sweep.proc.pid} thread 1: running trial 1( \\(epoch \\d+ done\\))?; last seen \\d+ s ago$`));
  sweep.proc.kill('SIGKILL');
  await sweep.exited;
  await until(() => last()[2] === 'workers: 1 (0 running, 0 idle, 1 lost)', 10_000, watch.log);
  assert.equal(last()[1], `local pool: LOST: its process ${sweep.proc.pid} on this host is gone (killed?)`);
  watch.proc.kill('SIGINT');
  assert.equal(await watch.exited, 0, watch.log());
});

test('on a TTY the watch redraws in place: the cursor goes up over the lines drawn before, which are cleared, and no line wraps', () => {
  assert.equal(redraw(0, ['a', 'b'], 80), 'a\nb\n');
  assert.equal(redraw(2, ['c', 'd', 'e'], 80), '\x1b[2A\x1b[Jc\nd\ne\n');
  assert.equal(redraw(3, ['0123456789'], 8), '\x1b[3A\x1b[J012345…\n');
  assert.equal(redraw(1, ['host\x1b[2Jx'], 80), '\x1b[1A\x1b[Jhost\\x1b[2Jx\n', 'controls from Redis are shown, not sent to the terminal');
});
