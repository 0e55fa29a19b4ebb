// ESM entry point of dtls-rs/dgram: the same module as dgram.js (CommonJS), named exports.
import dgram from './dgram.js';

export const { connect, createServer, DtlsSocket, DtlsServer } = dgram;
export default dgram;
