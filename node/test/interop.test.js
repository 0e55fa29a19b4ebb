// dtls-rs/dgram against the openssl binary over UDP on 127.0.0.1, both roles (the same
// commands as tests/interop_udp.rs). Each run checks, against what openssl itself prints: the
// RFC 5705 exporter output (-keymatexport, RFC 5764 §4.2's label), certificate verification,
// application data both ways, and a clean close_notify. openssl children are killed when their
// test ends, and every wait is bounded.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const { Certificate, Config } = require('../index.js');
const { connect, createServer } = require('../lib/dgram.js');
const { fixture, fixturePath, fixtureServerCertificate, freeUdpPort, haveOpenssl, OpensslPeer, within, next } =
  require('./helpers.js');

const LABEL = 'EXTRACTOR-dtls_srtp';
const WAIT = 10_000;
const OPENSSL = haveOpenssl();
const skip = OPENSSL ? false : 'the openssl binary is not installed';
/** Short retransmission timers: a ClientHello sent before openssl's socket exists is retried
 * after 200 ms instead of 1 s. */
const TIMERS = { initialRtoMs: 200, maxRtoMs: 1000, handshakeTimeoutMs: 8000 };

function hex(buf) {
  return buf.toString('hex').toUpperCase();
}

/** Resolves with the concatenated messages once they contain `needle`. */
function receive(socket, needle) {
  let got = '';
  return new Promise((resolve) => {
    const on = (m) => {
      got += m.toString();
      if (got.includes(needle)) {
        socket.off('message', on);
        resolve(got);
      }
    };
    socket.on('message', on);
  });
}

test('dgram client against openssl s_server -dtls1_2 (webpki, SRTP)', { skip, timeout: 30_000 }, async (t) => {
  const port = await freeUdpPort();
  const peer = new OpensslPeer(t, [
    's_server', '-dtls1_2', '-accept', `127.0.0.1:${port}`,
    '-cert', fixturePath('server.crt'), '-key', fixturePath('server.key'),
    '-cert_chain', fixturePath('int.crt'), '-naccept', '1',
    '-use_srtp', 'SRTP_AES128_CM_SHA1_80',
    '-keymatexport', LABEL, '-keymatexportlen', '60',
  ]);
  await peer.waitFor('ACCEPT');

  const config = new Config({
    rootCertificatesPem: fixture('ca.crt'),
    peerVerification: 'webpki',
    srtpProfiles: [7, 1],
    timers: TIMERS,
  });
  const socket = await within(WAIT, connect({ host: '127.0.0.1', port, config, serverName: 'dtls-server' }), 'connect').catch(
    (err) => {
      throw new Error(`${err.code}: ${err.message}\nopenssl:\n${peer.output}`);
    },
  );
  t.after(() => socket.close());

  // webpki accepted server.crt <- int.crt <- ca.crt for the name dtls-server.
  const chain = socket.peerCertificates();
  assert.equal(chain.length, 2);
  assert.deepEqual(chain[0], fixtureServerCertificate().chain()[0]);
  const n = socket.connection.negotiated();
  assert.equal(n.version, 0xfefd);
  assert.equal(n.srtpProfile, 1, "the server's only profile");

  await peer.waitFor('Keying material:');
  assert.equal(hex(socket.exportKeyingMaterial(LABEL, 60)), peer.keyingMaterial());
  const k = socket.connection.srtpKeyingMaterial();
  assert.equal(hex(Buffer.concat([k.clientKey, k.serverKey, k.clientSalt, k.serverSalt])), peer.keyingMaterial());

  socket.send('hello from node\n');
  await peer.waitFor('hello from node');
  const got = receive(socket, 'hello from openssl');
  peer.write('hello from openssl\n');
  assert.equal(await within(WAIT, got, "openssl's data"), 'hello from openssl\n');

  // close_notify ends s_server's only connection (-naccept 1): it says so and exits.
  socket.close();
  await peer.waitFor('CONNECTION CLOSED');
  await within(WAIT, peer.exit, 's_server to exit');
  assert.doesNotMatch(peer.output, /ERROR/);
});

test('openssl s_client -dtls1_2 against the dgram server (front door, webpki on their side)', { skip, timeout: 30_000 }, async (t) => {
  const config = new Config({ certificate: fixtureServerCertificate(), srtpProfiles: [1], timers: TIMERS });
  const server = createServer(config);
  t.after(() => server.close());
  const { port } = await server.listen(0, '127.0.0.1');
  const connection = next(server, 'connection');

  const peer = new OpensslPeer(t, [
    's_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-ign_eof',
    '-CAfile', fixturePath('ca.crt'), '-verify_return_error', '-verify_hostname', 'dtls-server',
    '-use_srtp', 'SRTP_AES128_CM_SHA1_80',
    '-keymatexport', LABEL, '-keymatexportlen', '60',
  ]);
  const [socket] = await within(WAIT, connection, "s_client's handshake").catch((err) => {
    throw new Error(`${err.message}\nopenssl:\n${peer.output}`);
  });
  // OpenSSL's ClientHello went through one stateless HelloVerifyRequest round.
  assert.equal(server.stats.helloVerifyRequests, 1);
  assert.equal(socket.peerCertificates().length, 0, 'no client certificate asked for');
  assert.equal(socket.connection.negotiated().srtpProfile, 1);

  await peer.waitFor('Keying material:');
  assert.equal(hex(socket.exportKeyingMaterial(LABEL, 60)), peer.keyingMaterial());
  assert.match(peer.output, /Verification: OK/);
  assert.match(peer.output, /Verified peername: dtls-server/);

  socket.send('hello from the node server\n');
  await peer.waitFor('hello from the node server');
  const got = receive(socket, 'hello from s_client');
  peer.write('hello from s_client\n');
  assert.equal(await within(WAIT, got, "s_client's data"), 'hello from s_client\n');

  // s_client (-ign_eof) ends when the server closes.
  socket.close();
  await within(WAIT, peer.exit, 's_client to exit');
});

test('openssl s_client with a client certificate against a dgram server that requires one', { skip, timeout: 30_000 }, async (t) => {
  const config = new Config({
    certificate: fixtureServerCertificate(),
    rootCertificatesPem: fixture('ca.crt'),
    clientAuth: 'require',
    timers: TIMERS,
  });
  const server = createServer(config);
  t.after(() => server.close());
  const { port } = await server.listen(0, '127.0.0.1');
  const connection = next(server, 'connection');
  const peer = new OpensslPeer(t, [
    's_client', '-dtls1_2', '-connect', `127.0.0.1:${port}`, '-ign_eof',
    '-CAfile', fixturePath('ca.crt'), '-verify_return_error',
    '-cert', fixturePath('client.crt'), '-key', fixturePath('client.key'), '-cert_chain', fixturePath('int.crt'),
  ]);
  const [socket] = await within(WAIT, connection, "s_client's handshake").catch((err) => {
    throw new Error(`${err.message}\nopenssl:\n${peer.output}`);
  });
  const chain = socket.peerCertificates();
  assert.equal(chain.length, 2);
  const clientLeaf = Certificate.fromPem(fixture('client.crt'), fixture('client.key')).chain()[0];
  assert.deepEqual(chain[0], clientLeaf);
  const got = receive(socket, 'mutual');
  peer.write('mutual\n');
  assert.equal(await within(WAIT, got, "s_client's data"), 'mutual\n');
  socket.close();
  await within(WAIT, peer.exit, 's_client to exit');
});
