/**
 * Ctrl-C on a sweep in a terminal (issue 25): it says it is stopping, then what it stopped and
 * the command that resumes it, as its last words, with its progress bar gone from the screen;
 * exit 130. A real child process on a pseudo-terminal (util-linux `script`), stopped with SIGINT
 * once its bar is up, as kill.test.ts waits for the first progress line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

test(
  'Ctrl-C on a sweep clears its bar and ends with what it stopped and how to resume (exit 130)',
  { skip: !hasScript && 'no util-linux script for a pseudo-terminal', timeout: 180_000 },
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-int-'));
    try {
      const base = { dataset: 'mnist', model: 'mlp', hidden: [64], numTrain: 2000, numVal: 200, numTest: 300, numDev: 50, epochs: 6, batchSize: 100, backend: 'js', runsDir: path.join(tmp, 'runs') };
      const file = path.join(tmp, 'sweep.json');
      fs.writeFileSync(file, JSON.stringify({ name: 'int', base, grid: { lr: [0.5, 0.05, 0.01, 0.02] } }));
      const pidFile = path.join(tmp, 'pid');
      const log = path.join(tmp, 'typescript');
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(bin)} sweep --config ${JSON.stringify(file)} --workers 1 & echo $! > ${JSON.stringify(pidFile)}; wait $!; echo "[exit $?]"`;
      const p = spawn('script', ['-q', '-c', cmd, log], { cwd: root, env: { ...process.env, COLUMNS: '100', LINES: '30' } });
      let screen = '';
      let sent = false;
      p.stdout.on('data', (d) => {
        screen += d;
        // Ctrl-C once the bar is up (the sweep runs), however long the start took on this machine.
        if (!sent && /trials 0\/4/.test(screen) && fs.existsSync(pidFile)) {
          sent = true;
          process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGINT');
        }
      });
      await new Promise((resolve) => p.on('exit', resolve));
      assert.ok(sent, `the bar never showed: ${screen}`);
      assert.match(screen, /\[exit 130\]/);
      assert.match(screen, /stopping \(Ctrl-C; again to quit at once\)/);
      const tail = `trials are not finished; the running ones stopped after their step, each keeping its last checkpoint. Resume: train sweep --config ${file}`;
      const at = screen.lastIndexOf(tail);
      assert.ok(at > 0, `the stopped line: ${JSON.stringify(screen.slice(-600))}`);
      assert.match(screen.slice(0, at + tail.length), /sweep int stopped: [1-4] of 4 trials are not finished; /);
      // After the last words, nothing but the exit: no bar drawn again below them.
      const after = screen.slice(at + tail.length);
      assert.doesNotMatch(after, /trials \d+\/4/, `the bar came back after the last line: ${JSON.stringify(after)}`);
      // Before them, the bar's line was cleared (cli-progress: cursor to column 1, erase the line).
      const before = screen.slice(0, screen.lastIndexOf('sweep int stopped: '));
      assert.match(before.slice(before.lastIndexOf('trials ')), /\x1b\[2K/, 'the bar was cleared before the last line');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
);
