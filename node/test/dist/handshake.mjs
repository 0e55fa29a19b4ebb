// Run by scripts/node-dist.sh in a folder outside the repository where the packed tarballs
// were installed: a handshake over UDP through the ESM entry points.
import assert from 'node:assert';
import dtlsDefault, { Certificate, Config, Connection, isDtls } from 'dtls-rs';
import { connect, createServer } from 'dtls-rs/dgram';

assert.strictEqual(dtlsDefault.Certificate, Certificate);
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
  socket.send('hello from ESM');
});
assert.strictEqual(echoed.toString(), 'hello from ESM');
assert.ok(socket.connection instanceof Connection);
assert.ok(isDtls(new Uint8Array([23])));
await assert.rejects(connect({ port, config: new Config(), peerFingerprint: [] }), /unknown option 'peerFingerprint'/);
socket.close();
await server.close();
console.log('esm: handshake and echo OK');
