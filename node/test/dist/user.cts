// A TypeScript user's CommonJS file, type-checked with tsc --strict against the installed package.
import { Certificate, Config, roleForRemoteSetup, setupForRole } from 'dtls-rs';
import dgram = require('dtls-rs/dgram');

const cert = Certificate.generate('client');
const role: 'client' | 'server' = roleForRemoteSetup('actpass');
const setup: 'active' | 'passive' = setupForRole(role);
export const pending: Promise<unknown> = dgram.connect({ port: 1, config: new Config({ certificate: cert }) });
export { setup };
