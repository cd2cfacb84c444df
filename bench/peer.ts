/**
 * A numpy peer script kept running beside a benchmark: one request line on its stdin, one JSON
 * answer line on its stdout (bench/optim_peer.py, bench/knn_peer.py).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';

export interface Peer {
  ask(req: string): Promise<Record<string, unknown>>;
  stop(): void;
}

/** `python script …args`, or null where that python is missing or has no numpy. */
export function startPeer(python: string, script: string, args: string[] = []): Peer | null {
  if (!fs.existsSync(python) || spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) return null;
  const proc = spawn(python, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    async ask(req) {
      proc.stdin!.write(`${req}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error(`the numpy peer stopped while answering ${req}`);
      return JSON.parse(value) as Record<string, unknown>;
    },
    stop: () => proc.stdin!.end(),
  };
}
