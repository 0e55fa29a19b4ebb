// ESM entry point of dtls-rs: the very module index.js (CommonJS) exports, with named
// exports. index.js builds its exports in a loop, which Node's static analysis of CommonJS
// cannot see, so they are listed here; test/esm.test.mjs holds this list equal to index.js.
import api from './index.js';

export const {
  Certificate,
  Config,
  Connection,
  ServerFrontDoor,
  benchEngineHandshakes,
  benchEngineThroughput,
  fingerprintMatches,
  formatSdpFingerprint,
  isDtls,
  packetKind,
  parseSdpFingerprint,
  roleForAnswer,
  roleForRemoteSetup,
  setupForRole,
  srtpProfile,
  srtpProfiles,
  version,
} = api;
export default api;
