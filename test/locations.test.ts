/**
 * Where datasets go (src/data/locations.ts): TSNN_DATA_ROOT first, the checkout's data/ inside
 * the checkout, the user cache folder ($XDG_CACHE_HOME/tsnn-trainer, else ~/.cache/tsnn-trainer)
 * from an installed package. test/package/package.test.ts checks the same from a real install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataRoot, isInstalledPackage, packageRoot, userCacheDir } from '../src/data/locations.js';

const CHECKOUT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const INSTALLED = path.join(path.sep, 'home', 'u', 'app', 'node_modules', 'tsnn-trainer');

test('inside the checkout the data root is its data/ folder, whatever the cache variables say', () => {
  assert.equal(path.resolve(packageRoot()), CHECKOUT);
  assert.equal(isInstalledPackage(), false);
  assert.equal(dataRoot({ XDG_CACHE_HOME: '/tmp/xdg' }), path.join(CHECKOUT, 'data'));
});

test('an installed package keeps datasets in $XDG_CACHE_HOME/tsnn-trainer, else ~/.cache/tsnn-trainer', () => {
  assert.equal(isInstalledPackage(INSTALLED), true);
  assert.equal(dataRoot({ XDG_CACHE_HOME: '/tmp/xdg' }, INSTALLED), path.join('/tmp/xdg', 'tsnn-trainer'));
  assert.equal(dataRoot({}, INSTALLED), path.join(os.homedir(), '.cache', 'tsnn-trainer'));
  // The XDG base directory spec: a relative XDG_CACHE_HOME is invalid and ignored.
  assert.equal(userCacheDir({ XDG_CACHE_HOME: 'rel/cache' }), path.join(os.homedir(), '.cache', 'tsnn-trainer'));
});

test('TSNN_DATA_ROOT (what --data-root sets) wins everywhere, resolved against the working folder', () => {
  assert.equal(dataRoot({ TSNN_DATA_ROOT: '/srv/data', XDG_CACHE_HOME: '/tmp/xdg' }, INSTALLED), '/srv/data');
  assert.equal(dataRoot({ TSNN_DATA_ROOT: '/srv/data' }), '/srv/data');
  assert.equal(dataRoot({ TSNN_DATA_ROOT: 'here' }, INSTALLED), path.resolve('here'));
});
