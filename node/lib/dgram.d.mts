// Declarations for the ESM entry point (dgram.mjs): the same API as dgram.d.ts.
import * as dgram from './dgram.js';

export * from './dgram.js';
export default dgram;
