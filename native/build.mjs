// Build the optional OpenBLAS addon (native/tsnn_blas.c) with node-gyp. Where it cannot be built
// (no compiler, no OpenBLAS), say so and succeed: the project then runs on the WebAssembly engines (simd, wasm).
// binding.gyp lives in native/, not at the package root, so npm never runs its default
// `node-gyp rebuild` install step, which would fail the whole install where OpenBLAS is missing.
// It is package.json's `install` script, so it runs both in the checkout (npm ci) and where the
// packed package is installed: plain Node, no TypeScript, and it never fails the install (exit 0).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
// npm puts its own node-gyp on PATH for install scripts; run by hand, node-gyp may be missing (r.error says so).
const r = spawnSync('node-gyp', ['rebuild'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', shell: process.platform === 'win32' });
if (r.status === 0 && fs.existsSync(path.join(dir, 'build/Release/tsnn_blas.node'))) {
  console.log('native engine: built native/build/Release/tsnn_blas.node (system BLAS)');
} else {
  const why = (r.error?.message ?? r.stderr ?? '')
    .split('\n')
    .filter((l) => /error|not found|cannot find/i.test(l))
    .slice(0, 3)
    .join('\n  ');
  console.log(
    `native engine: not built; the WebAssembly SIMD engine will be used.${why ? `\n  ${why}` : ''}\n  (On Debian/Ubuntu: apt-get install libopenblas-dev, then npm run build:native in the checkout, or npm rebuild tsnn-trainer where it is installed.)`,
  );
}
