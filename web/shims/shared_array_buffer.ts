/**
 * SharedArrayBuffer where the page is not cross-origin isolated (a static host without the
 * COOP/COEP headers `train playground` sends): the browser then has none, and src/'s checks
 * `x instanceof SharedArrayBuffer` would throw. This stand-in is a plain ArrayBuffer that no
 * ordinary buffer is an instance of, so those checks say "not shared"; the simd engine on one
 * thread never needs shared memory, and its weight passes fall back to the JS loops (the same
 * bits, engines/simd.ts). The bundle makes it the global name (web/build.mjs: esbuild's inject).
 */
class NotShared extends ArrayBuffer {}

const SharedArrayBufferOrStandIn: typeof globalThis.SharedArrayBuffer = globalThis.SharedArrayBuffer ?? (NotShared as unknown as typeof globalThis.SharedArrayBuffer);
export { SharedArrayBufferOrStandIn as SharedArrayBuffer };
