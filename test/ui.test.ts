/**
 * The console bar (cli/ui.ts) on a fake terminal: it fits the width, shows the epoch k/N, it/s and
 * the elapsed time, and its ETA carries on across epoch lines (it used to restart at "0s left").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUi, fitBar, fmtDuration } from '../src/cli/ui.js';

/** A TTY-like stream of `columns` that records what is written. */
function fakeTty(columns: number) {
  const chunks: string[] = [];
  const s = {
    isTTY: true,
    columns,
    write: (c: string) => (chunks.push(String(c)), true),
    on: () => s,
    once: () => s,
    removeListener: () => s,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  };
  return { stream: s as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

const busy = (ms: number) => {
  const t = performance.now();
  while (performance.now() - t < ms);
};

test('fitBar never exceeds the width it is given, and drops the bar, then fields, to fit', () => {
  const fields = ['epoch 3/10', 'iter 120/400', 'loss 1.2345', '52 it/s', '3s elapsed', '6s left'];
  for (let w = 10; w <= 200; w++) {
    const s = fitBar(w, 120, 400, fields, '  ');
    assert.ok(s.length <= w - 1, `width ${w}: ${s.length} chars`);
  }
  assert.match(fitBar(120, 120, 400, fields, '  '), /█+░+  30% \| epoch 3\/10 \| iter 120\/400 .* 6s left$/);
  assert.doesNotMatch(fitBar(60, 120, 400, fields, '  '), /█/, 'no room for the bar at 60 columns');
  assert.deepEqual([fmtDuration(42), fmtDuration(185), fmtDuration(3720)], ['42s', '3m05s', '1h02m']);
});

test('the bar keeps its ETA across epoch lines and shows epoch k/N, it/s and the elapsed time', () => {
  const tty = fakeTty(140);
  const ui = createUi({ tty: true, logEvery: 0, out: tty.stream, err: tty.stream });
  ui.startTraining(400, 20);
  for (let it = 1; it <= 20; it++) {
    busy(10);
    ui.iteration({ it, epoch: 0, loss: 2, lr: 0.1 });
  }
  ui.epoch({ epoch: 1, it: 20, trainAcc: 0.5, valAcc: 0.5, trainLoss: 2, valLoss: 2, lr: 0.1, best: true, seconds: 0.2 });
  busy(10);
  ui.iteration({ it: 21, epoch: 1, loss: 2, lr: 0.1 });
  const after = tty.text().split('epoch 1 (iter 20)')[1];
  // 379 steps left at ~100 it/s: a few seconds, never "0s left" (10 ms a step, whatever the machine's load, is at most 100 it/s).
  const m = /epoch 2\/20 \| iter (\d+)\/400 \| loss 2\.0000 \| ([\d.]+) it\/s \| (\d+)s elapsed \| (\d+)s left/.exec(after);
  assert.ok(m, `bar after the epoch line: ${JSON.stringify(after.slice(0, 300))}`);
  assert.ok(Number(m![4]) >= 3, `ETA ${m![4]}s for 379 steps at ${m![2]} it/s`);
  assert.ok(Number(m![2]) <= 100);
  ui.endTraining();
});

test('a process that exits with the bar up (a second Ctrl-C quits at once) clears the bar and gives back the cursor and line wrap', async () => {
  const { spawnSync } = await import('node:child_process');
  const path = await import('node:path');
  const { fileURLToPath, pathToFileURL } = await import('node:url');
  const ui = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'ui.ts')).href;
  // The child's stdout is a pipe: a TTY-like stream writes the bar to it, as a terminal would get it.
  const child = `import * as fs from 'node:fs';
    const { createUi } = await import(${JSON.stringify(ui)});
    const s = { isTTY: true, columns: 100, write: (c) => (fs.writeSync(1, String(c)), true), on: () => s, once: () => s, removeListener: () => s, cursorTo: () => true, clearLine: () => true, moveCursor: () => true };
    const ui = createUi({ tty: true, logEvery: 0, out: s, err: s });
    ui.startTraining(100, 10);
    ui.iteration({ it: 1, epoch: 0, loss: 2.3, lr: 0.1 });
    ui.notice('stopping after this step (Ctrl-C; again to quit at once)');
    ui.iteration({ it: 2, epoch: 0, loss: 2.2, lr: 0.1 });
    process.exit(130);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8' });
  assert.equal(r.status, 130, r.stderr);
  const after = r.stdout.slice(r.stdout.indexOf('stopping after this step'));
  assert.match(after, /\x1b\[\?25l/, 'the bar came back below the message, hiding the cursor');
  // Its last words: cursor shown (?25h), wrap on (?7h), back to the bar's start, line cleared; nothing after.
  assert.ok(after.endsWith('\x1b[?25h\x1b[?7h\x1b8\x1b[1G\x1b[2K'), JSON.stringify(after.slice(-80)));
});

test('console lines show control characters escaped: the run lines (bar up or not), the sweep lines, outputOf; --json parses to the same text', async () => {
  const { jsonLine, outputOf, shown } = await import('../src/cli/output.js');
  const { createSweepUi } = await import('../src/cli/ui.js');
  const hostile = 'run\x1b]0;title\x07-\x1b[31mred\u009b2J\nsecond\r\t\u202eevil\x7f';
  const escaped = 'run\\x1b]0;title\\x07-\\x1b[31mred\\x9b2J\\nsecond\\r\\t\\u202eevil\\x7f';
  assert.equal(shown(hostile), escaped);
  assert.equal(shown('plain text, é, ✓, 28×28'), 'plain text, é, ✓, 28×28', 'printable text is left alone');
  const raw = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/;
  for (const tty of [false, true]) {
    const t = fakeTty(140);
    const ui = createUi({ tty, logEvery: 0, out: t.stream, err: t.stream });
    ui.startTraining(10, 5);
    ui.info(`run folder: ${hostile}`);
    ui.warn(hostile);
    ui.notice(hostile);
    ui.endTraining();
    const lines = t
      .text()
      .split('\n')
      .filter((l) => l.includes('run\\x1b'));
    assert.equal(lines.length, 3, `tty ${tty}: ${JSON.stringify(t.text())}`);
    for (const l of lines) assert.ok(l.endsWith(escaped) && !raw.test(l.replace(/^.*?run\\x1b/, '')), `tty ${tty}: ${JSON.stringify(l)}`);
  }
  const s = fakeTty(140);
  createSweepUi({ tty: false, out: s.stream }).line(hostile);
  assert.equal(s.text(), escaped + '\n');
  const o = fakeTty(140);
  outputOf({}, { stdout: o.stream, stderr: o.stream }).log(hostile);
  outputOf({}, { stdout: o.stream, stderr: o.stream }).result({}, () => [hostile]);
  assert.equal(o.text(), `${escaped}\n${escaped}\n`);
  const j = jsonLine({ name: hostile, n: [1, 2] });
  assert.ok(!raw.test(j), j);
  assert.deepEqual(JSON.parse(j), { name: hostile, n: [1, 2] });
  assert.deepEqual(JSON.parse(jsonLine({ name: hostile }, 2)), { name: hostile }, 'indented JSON keeps its newlines as whitespace');
});

test("the sweep bar names the sweep's metric and shows its best so far: val loss (min), or val acc (max) by default", async () => {
  const { createSweepUi } = await import('../src/cli/ui.js');
  for (const [metric, best, want] of [
    [{ name: 'valLoss', mode: 'min' }, 0.3412, /best val loss \(min\) 0\.3412/],
    [{ name: 'valAcc', mode: 'max' }, 0.9125, /best val acc \(max\) 0\.9125/],
  ] as const) {
    const t = fakeTty(160);
    const ui = createSweepUi({ tty: true, out: t.stream });
    ui.progress({ done: 0, total: 4, toRun: 4, ran: 0, metric, best: null });
    ui.line('before any trial'); // the bar comes back below the line, drawn from the state
    ui.progress({ done: 1, total: 4, toRun: 4, ran: 1, metric, best });
    ui.line('trial 1 done');
    ui.stop();
    const [before, after] = t.text().split('trial 1 done');
    assert.match(before, new RegExp(`trials 0/4 \\| best ${metric.name === 'valLoss' ? 'val loss \\(min\\)' : 'val acc \\(max\\)'} –`), JSON.stringify(before.slice(-300)));
    assert.match(after, want, JSON.stringify(after.slice(0, 300)));
  }
});
