/**
 * A full disk mid-run: the runs folder is a 2 MB tmpfs, which fills up while a run writes its
 * checkpoints. The run must stop with a message that says the disk is full (exit 1), and the
 * checkpoint written before must stay whole and loadable. Needs root (mount); skipped otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../src/runs/checkpoint.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'train.js');

test('a disk that fills up mid-run stops it with a clear message and keeps the last good checkpoint', (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'small-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`cannot mount a small tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`);
    fs.rmSync(mnt, { recursive: true, force: true });
    return;
  }
  try {
    // An MLP whose checkpoints are ~0.96 MB each: best.ckpt and last.ckpt fit, the third write does not.
    const r = spawnSync(
      process.execPath,
      [bin, '--model', 'mlp', '--hidden', '300', '--num-train', '2000', '--num-val', '200', '--num-test', '300', '--num-dev', '50', '--epochs', '6', '--runs-dir', path.join(mnt, 'runs')],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(r.status, 1, r.stdout + r.stderr);
    // The write that fails names its file in the run folder: a checkpoint, or the live report
    // written after every epoch beside them (whichever comes first once the disk is full).
    assert.match(
      r.stderr,
      /error: cannot write \S+\/runs\/[^/\s]+\/(best\.ckpt|last\.ckpt|report\.html|[a-z_]+\.png|[a-z]+\.jsonl?): the disk is full\. Free some space, or pass --runs-dir on another disk \(ENOSPC\)/,
    );
    const dir = path.join(mnt, 'runs', fs.readdirSync(path.join(mnt, 'runs'))[0]);
    const ck = loadCheckpoint(path.join(dir, 'best.ckpt')); // whole: the hash in its header checks out
    assert.ok(ck.header.epoch >= 1);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
      'the failed write removed its temporary file',
    );
    JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  } finally {
    spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});
