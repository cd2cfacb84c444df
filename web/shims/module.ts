/**
 * node:module in the browser: config/keys.ts loads zod with createRequire on the first value it
 * checks (so that `train --help` does not load it); the page's bundle holds zod, and this require
 * hands it over.
 */
import * as zod from 'zod';

export function createRequire(_from: string | URL): (id: string) => unknown {
  return (id: string) => {
    if (id === 'zod') return zod;
    throw new Error(`require('${id}') is not in the page's bundle (web/shims/module.ts)`);
  };
}
