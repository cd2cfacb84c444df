/**
 * node:v8 in the browser: gemm.ts turns on relaxed SIMD with setFlagsFromString in Node 20; a
 * browser has it on (Chromium 114+) or not at all, so there is no flag to set.
 */
export function setFlagsFromString(_flags: string): void {}
