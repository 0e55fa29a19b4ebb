// Declarations for the ESM entry point (index.mjs): the same API as index.d.ts.
import * as api from './index.js';

export * from './index.js';
export default api;
