// The types of the bundle test/playground.test.ts builds from web/ and imports.
export { initWebEngine } from '../web/engine.js';
export { Session, configOf, dataOf } from '../web/session.js';
export { rowsView } from '../src/models/evaluate.js';
export { encodeCheckpoint, decodeCheckpoint } from '../src/runs/checkpoint.js';
export { sha256 } from '../web/shims/crypto.js';
