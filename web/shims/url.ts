/**
 * node:url in the browser: linalg/engines/openblas.ts names its addon's path at load time with
 * fileURLToPath (the browser never loads the addon, but the module is on the import path of the
 * engine list that the config table reads its --backend choices from).
 */
export const fileURLToPath = (u: string | URL): string => decodeURIComponent(new URL(String(u)).pathname);
export const pathToFileURL = (p: string): URL => new URL(`file://${p}`);
