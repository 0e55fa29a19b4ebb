'use strict';
// A minimal DTLS client over UDP: node examples/client.js HOST PORT "sha-256 AB:..." [MESSAGE]
// Pins the server's certificate fingerprint (the WebRTC model), prints what was negotiated,
// sends MESSAGE, prints the reply (an echo server returns it) and closes with close_notify.
const { Config } = require('..');
const { connect } = require('../lib/dgram');

async function main() {
  const [host, port, fingerprint, message = 'hello over DTLS from node'] = process.argv.slice(2);
  if (!host || !port || !fingerprint) {
    console.error('usage: node examples/client.js HOST PORT "sha-256 AB:..." [MESSAGE]');
    process.exit(2);
  }
  const socket = await connect({
    host,
    port: Number(port),
    config: new Config(),
    peerFingerprints: [fingerprint],
  });
  const n = socket.connection.negotiated();
  console.log('Connected');
  console.log(`Protocol: 0x${n.version.toString(16).toUpperCase()} (DTLS 1.2 is 0xFEFD)`);
  console.log(`Cipher: 0x${n.cipherSuite.toString(16).toUpperCase().padStart(4, '0')}`);
  const reply = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no reply within 5 s')), 5000);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(data.toString());
    });
  });
  socket.send(message);
  console.log(`Reply: ${await reply}`);
  socket.close();
}

main().catch((err) => {
  console.error(`failed: ${err.code || ''} ${err.message}`);
  process.exit(1);
});
