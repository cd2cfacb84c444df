/**
 * Node's `process` in the browser, as far as src/ reads it on the page's paths: an empty
 * environment (so TSNN_GEMM is unset and gemm.ts picks the kernel build the browser runs best).
 * The bundle makes it the global `process` (web/build.mjs: esbuild's inject).
 */
export const process = { env: {} as Record<string, string | undefined>, platform: 'browser', argv: [] as string[] };
