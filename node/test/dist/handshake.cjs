// Run by scripts/node-dist.sh in a folder outside the repository where the packed tarballs
// were installed: a handshake over UDP through the CommonJS entry points.
'use strict';
const assert = require('node:assert');
const { Certificate, Config, packetKind, srtpProfile } = require('dtls-rs');
const { connect, createServer } = require('dtls-rs/dgram');

(async () => {
  assert.match(require.resolve('dtls-rs'), /node_modules/);
  const serverCert = Certificate.generate('server');
  const server = createServer(new Config({ certificate: serverCert }), (socket) => {
    socket.on('message', (data) => socket.send(data));
  });
  const { port } = await server.listen(0, '127.0.0.1');
  const socket = await connect({
    host: '127.0.0.1',
    port,
    config: new Config(),
    peerFingerprints: [serverCert.fingerprint()],
  });
  const echoed = await new Promise((resolve) => {
    socket.once('message', resolve);
    socket.send('hello from CommonJS');
  });
  assert.strictEqual(echoed.toString(), 'hello from CommonJS');
  assert.strictEqual(packetKind(Buffer.from([22, 254, 253])), 'dtls');
  assert.strictEqual(srtpProfile(1).keyLen, 16);
  assert.throws(() => new Config({ certifcate: serverCert }), /unknown option 'certifcate'; valid: certificate,/);
  socket.close();
  await server.close();
  console.log('cjs: handshake and echo OK');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
