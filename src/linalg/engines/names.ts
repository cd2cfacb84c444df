/**
 * The names --backend takes, without the engines behind them: the config table reads them at
 * every start-up (`train --help` included), and engine.ts maps each to its descriptor. The order
 * is the order 'auto' tries them; 'js' (the reference loops) is only ever asked for by name.
 */
export const ENGINE_NAMES = ['openblas', 'tfjs-node', 'simd', 'wasm', 'cpu', 'js'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export type BackendChoice = 'auto' | EngineName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', ...ENGINE_NAMES];
