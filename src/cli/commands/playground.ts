/** `train playground`: serve the playground page on 127.0.0.1 until stopped (cli/playground.ts). */
import type { Argv } from 'yargs';
import { keyKinds } from '../../config/keys.js';
import { builtFolder, cifarSource, freshBuild, servePlayground } from '../playground.js';
import { flagValue, optionsOf } from '../options.js';

const { int, str } = keyKinds();
const PORT = int({ min: 0, max: 65535, default: 8080, doc: 'the port on 127.0.0.1 (0: any free port)' });
const DIR = str({ nonEmpty: true, doc: 'serve this folder (written by npm run build:web) instead of building the page at start' });
const CIFAR = str({ doc: 'serve CIFAR-10 too: a cifar-10-batches-bin folder, a folder holding it or cifar-10-binary.tar.gz, or the archive (empty: the one `train data cifar` unpacked)' });

export const builder = (y: Argv) => y.options(optionsOf({ port: PORT, dir: DIR, cifar: CIFAR }));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const port = flagValue(argv, 'port', PORT);
  const dir = flagValue(argv, 'dir', DIR) as string | undefined;
  const cifarFlag = flagValue(argv, 'cifar', CIFAR) as string | undefined;
  const cifar = cifarFlag !== undefined ? await cifarSource(cifarFlag) : undefined; // checked before the build: a wrong folder says so at once
  const built = dir !== undefined ? builtFolder(dir) : null;
  const pg = built ? await servePlayground(built.page, port, built.mnist, cifar) : await servePlayground(await freshBuild(), port, undefined, cifar);
  process.stdout.write(`playground: ${pg.url}${cifar ? `  (CIFAR-10 from ${cifar.dir})` : ''}  (Ctrl-C to stop)\n`);
  await new Promise<never>(() => {}); // serves until the process is stopped
}
