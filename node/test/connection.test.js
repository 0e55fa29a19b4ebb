// The native API in memory: two Connections joined by function calls, on a virtual clock.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const { Certificate, Config, Connection, ServerFrontDoor, version } = require('../index.js');
const { pinnedPair, pump, handshake, drainEvents } = require('./helpers.js');

const SRTP_LABEL = 'EXTRACTOR-dtls_srtp';

/** A deterministic byte source (xorshift32), so junk is the same on every run. */
function junk(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** Asserts that `fn` throws an error whose .code is `code` (and whose message matches). */
function throwsCode(fn, code, message) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof Error, `not an Error: ${err}`);
    assert.equal(err.code, code, `code of: ${err.message}`);
    if (message) assert.match(err.message, message);
    return true;
  });
}

test('module loads and reports a version', () => {
  assert.match(version(), /^\d+\.\d+\.\d+/);
});

test('in-memory handshake, data both ways, exporter, peer certificates', () => {
  // DTLS 1.2 pinned: the version and suite below are 1.2's (the default negotiates 1.3).
  const v12 = { versions: ['1.2'] };
  const { server: scfg, client: ccfg, serverCert, clientCert } = pinnedPair({ server: v12, client: v12 });
  const client = new Connection(ccfg, 'client', 0);
  const server = new Connection(scfg, 'server', 0);
  assert.equal(client.role, 'client');
  assert.equal(server.role, 'server');
  assert.equal(client.isConnected, false);
  throwsCode(() => client.send(Buffer.from('early')), 'DTLS_ERR_NOT_CONNECTED');
  throwsCode(() => client.exportKeyingMaterial(SRTP_LABEL, 60), 'DTLS_ERR_EXPORTER_UNAVAILABLE');
  assert.equal(typeof client.pollTimeout(), 'number', 'the handshake runs a timer');

  handshake(client, server);

  for (const [conn, peerCert] of [
    [client, serverCert],
    [server, clientCert],
  ]) {
    const events = drainEvents(conn);
    assert.deepEqual(
      events.map((e) => e.type),
      ['peerCertificate', 'connected'],
    );
    const n = events[1].negotiated;
    assert.equal(n.version, 0xfefd);
    assert.equal(n.cipherSuite, 0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 by default');
    assert.equal(n.extendedMasterSecret, true);
    assert.deepEqual(conn.negotiated(), n);
    assert.equal(conn.pollTimeout(), null, 'no timer once connected');
    const chain = conn.peerCertificates();
    assert.equal(chain.length, 1);
    assert.ok(Buffer.isBuffer(chain[0]));
    assert.deepEqual(chain[0], peerCert.chain()[0]);
  }

  // Data both ways; Uint8Array in, Buffer out.
  client.send(new TextEncoder().encode('hello server'));
  pump(client, server, 0);
  const got = server.recv();
  assert.ok(Buffer.isBuffer(got));
  assert.equal(got.toString(), 'hello server');
  assert.equal(server.recv(), null);
  server.send(Buffer.from('hello client'));
  server.send(Buffer.from('second record'));
  pump(server, client, 0);
  assert.equal(client.recv().toString(), 'hello client');
  assert.equal(client.recv().toString(), 'second record');
  assert.equal(client.recv(), null);

  // The largest record fits; one byte more is refused without harm.
  const max = client.maxSendLen;
  assert.ok(max > 1000 && max < 1200, `maxSendLen ${max}`);
  client.send(Buffer.alloc(max, 7));
  throwsCode(() => client.send(Buffer.alloc(max + 1)), 'DTLS_ERR_INVALID_ARGUMENT', /MTU/);
  pump(client, server, 0);
  assert.deepEqual(server.recv(), Buffer.alloc(max, 7));

  // RFC 5705: both sides derive the same bytes; label and context change them.
  const a = client.exportKeyingMaterial(SRTP_LABEL, 60);
  const b = server.exportKeyingMaterial(SRTP_LABEL, 60);
  assert.equal(a.length, 60);
  assert.deepEqual(a, b);
  assert.notDeepEqual(client.exportKeyingMaterial('EXPERIMENTAL-other', 60), a);
  const ctx = Buffer.from('context');
  assert.deepEqual(client.exportKeyingMaterial(SRTP_LABEL, 32, ctx), server.exportKeyingMaterial(SRTP_LABEL, 32, ctx));
  assert.notDeepEqual(client.exportKeyingMaterial(SRTP_LABEL, 32, ctx), a.subarray(0, 32));

  const stats = client.stats();
  assert.ok(stats.datagramsIn >= 2 && stats.datagramsOut >= 2, JSON.stringify(stats));
  assert.equal(stats.dropped.total, 0);
  assert.equal(typeof stats.handshakeDurationMs, 'number');
});

test('SRTP keying material follows the RFC 5764 layout of the exporter', () => {
  const { server: scfg, client: ccfg } = pinnedPair({
    server: { srtpProfiles: [7, 'SRTP_AES128_CM_SHA1_80'] },
    client: { srtpProfiles: ['SRTP_AES128_CM_HMAC_SHA1_80'] },
  });
  const client = new Connection(ccfg, 'client', 0);
  const server = new Connection(scfg, 'server', 0);
  throwsCode(() => client.srtpKeyingMaterial(), 'DTLS_ERR_EXPORTER_UNAVAILABLE');
  handshake(client, server);
  assert.equal(client.negotiated().srtpProfile, 1);
  const c = client.srtpKeyingMaterial();
  const s = server.srtpKeyingMaterial();
  assert.deepEqual(c, s);
  assert.equal(c.profile, 1);
  assert.equal(c.clientKey.length, 16);
  assert.equal(c.clientSalt.length, 14);
  const material = client.exportKeyingMaterial(SRTP_LABEL, 60);
  assert.deepEqual(Buffer.concat([c.clientKey, c.serverKey, c.clientSalt, c.serverSalt]), material);
});

for (const accept of [true, false]) {
  test(`a server ${accept ? 'echoes' : 'declines'} the client's SRTP MKI (RFC 5764 4.1.3)`, () => {
    const { server: scfg, client: ccfg } = pinnedPair({
      server: { srtpProfiles: [1], srtpAcceptMki: accept },
      client: { srtpProfiles: [1], srtpMki: Uint8Array.of(1, 2) },
    });
    const client = new Connection(ccfg, 'client', 0);
    const server = new Connection(scfg, 'server', 0);
    handshake(client, server);
    const want = accept ? Buffer.from([1, 2]) : Buffer.alloc(0);
    assert.deepEqual(client.srtpKeyingMaterial().mki, want);
    assert.deepEqual(server.srtpKeyingMaterial().mki, want);
  });
}

test('close_notify ends the association on both sides', () => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const client = new Connection(ccfg, 'client', 0);
  const server = new Connection(scfg, 'server', 0);
  handshake(client, server);
  drainEvents(client);
  drainEvents(server);
  client.send(Buffer.from('last words'));
  client.close();
  client.close(); // idempotent
  assert.equal(client.isClosed, true);
  pump(client, server, 0);
  assert.equal(server.recv().toString(), 'last words', 'data sent before close_notify arrives');
  assert.deepEqual(drainEvents(server), [{ type: 'closeNotify' }]);
  assert.equal(server.isClosed, true);
  throwsCode(() => client.send(Buffer.from('x')), 'DTLS_ERR_CLOSED');
  throwsCode(() => server.send(Buffer.from('x')), 'DTLS_ERR_CLOSED');
});

test('fingerprint mismatch fails the handshake with DTLS_ERR_FINGERPRINT_MISMATCH', () => {
  const stranger = Certificate.generate('someone else');
  const ccfg = new Config({ certificate: Certificate.generate('client') });
  // Pinned on the connection rather than the config: both ways must work.
  const client = new Connection(ccfg, 'client', 0, { peerFingerprints: [stranger.fingerprint()] });
  const server = new Connection(new Config({ certificate: Certificate.generate('server') }), 'server', 0);
  let thrown = null;
  for (let i = 0; i < 8 && thrown === null; i++) {
    try {
      pump(client, server, 0);
      pump(server, client, 0);
    } catch (err) {
      thrown = err;
    }
  }
  assert.ok(thrown, 'the client must refuse the server certificate');
  assert.equal(thrown.code, 'DTLS_ERR_FINGERPRINT_MISMATCH');
  assert.match(thrown.message, /fingerprint/);
  const events = drainEvents(client);
  const failed = events.find((e) => e.type === 'failed');
  assert.deepEqual(failed, {
    type: 'failed',
    code: 'DTLS_ERR_FINGERPRINT_MISMATCH',
    message: thrown.message,
    alert: 42, // bad_certificate
  });
  assert.equal(client.isClosed, true);
  // The association is dead: every later call says why.
  throwsCode(() => client.handleDatagram(Buffer.alloc(20), 0), 'DTLS_ERR_FINGERPRINT_MISMATCH');
  throwsCode(() => client.close(), 'DTLS_ERR_FINGERPRINT_MISMATCH');
});

test('retransmission and the handshake deadline run on the caller clock', () => {
  const timers = { initialRtoMs: 100, maxRtoMs: 400, handshakeTimeoutMs: 1000 };
  const { server: scfg, client: ccfg } = pinnedPair({ server: { timers }, client: { timers } });

  // A lost first flight is sent again when the timer fires, and the handshake completes.
  const client = new Connection(ccfg, 'client', 0);
  const server = new Connection(scfg, 'server', 0);
  assert.ok(client.pollDatagram(0) !== null, 'ClientHello');
  assert.equal(client.pollDatagram(0), null);
  const deadline = client.pollTimeout();
  assert.equal(deadline, 100);
  client.handleTimeout(50); // early: a no-op
  assert.equal(client.pollDatagram(50), null);
  client.handleTimeout(deadline);
  const again = client.pollDatagram(deadline);
  assert.ok(again !== null, 'ClientHello again');
  assert.ok(client.pollTimeout() > deadline, 'the timer backs off');
  server.handleDatagram(again, deadline);
  handshake(client, server, deadline);
  assert.ok(client.stats().retransmissions >= 1);

  // Nobody answers: the deadline ends it.
  const lonely = new Connection(ccfg, 'client', 0);
  let now = 0;
  let err = null;
  for (let i = 0; i < 50 && err === null; i++) {
    while (lonely.pollDatagram(now) !== null);
    now = lonely.pollTimeout();
    try {
      lonely.handleTimeout(now);
    } catch (e) {
      err = e;
    }
  }
  assert.ok(err, 'the handshake must time out');
  assert.equal(err.code, 'DTLS_ERR_HANDSHAKE_TIMEOUT');
  assert.equal(now, 1000);
  assert.equal(drainEvents(lonely).at(-1).code, 'DTLS_ERR_HANDSHAKE_TIMEOUT');
});

test('garbage datagrams do no harm, before, during and after the handshake', () => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const client = new Connection(ccfg, 'client', 0);
  const server = new Connection(scfg, 'server', 0);
  const rand = junk(0x5eed);
  const garbage = () => [
    Buffer.alloc(0),
    Buffer.from([22]),
    rand(13),
    rand(100),
    rand(1500),
    rand(65507),
    // Plausible DTLS 1.2 record headers with junk bodies: a handshake record at epoch 0,
    // an alert at epoch 0 (plaintext alerts must not end anything), and an epoch-1 record.
    Buffer.concat([Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 40]), rand(40)]),
    Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40]),
    Buffer.concat([Buffer.from([23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 48]), rand(48)]),
  ];
  const feed = (conn) => {
    for (const g of garbage()) conn.handleDatagram(g, 0);
  };

  feed(server); // before anything
  feed(client);
  // Interleave junk with every flight.
  for (let i = 0; i < 16 && !(client.isConnected && server.isConnected); i++) {
    pump(client, server, 0);
    feed(server);
    pump(server, client, 0);
    feed(client);
  }
  assert.ok(client.isConnected && server.isConnected, 'the handshake survives junk');
  feed(client);
  feed(server);
  client.send(Buffer.from('still here'));
  pump(client, server, 0);
  assert.equal(server.recv().toString(), 'still here');
  assert.equal(server.recv(), null, 'junk never reads as data');
  assert.ok(server.stats().dropped.total > 0, 'junk is counted');
  for (const conn of [client, server]) {
    assert.ok(!drainEvents(conn).some((e) => e.type === 'failed' || e.type === 'closeNotify'));
  }

  // The front door drops junk without state or reply.
  const door = new ServerFrontDoor(scfg);
  for (const g of garbage()) assert.deepEqual(door.prefilter(0, '192.0.2.1:9', g), { verdict: 'drop' });
});

test('admit: a HelloRetryRequest cookie for a DTLS 1.3 ClientHello, then the retry is accepted', () => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const door = new ServerFrontDoor(scfg);
  const client = new Connection(ccfg, 'client', 0);
  const peer = '198.51.100.7:5000';
  const v = door.admit(0, peer, client.pollDatagram(0));
  assert.equal(v.verdict, 'reply');
  assert.equal(v.reply[13], 2, 'a HelloRetryRequest (ServerHello type)');
  client.handleDatagram(v.reply, 0);
  const retry = client.pollDatagram(0);
  assert.notEqual(door.admit(0, '198.51.100.8:5000', retry).verdict, 'accept');
  const a = door.admit(0, peer, retry);
  assert.equal(a.verdict, 'accept');
  assert.deepEqual(door.pool(), { bytes: 0, entries: 0 });
  const server = new Connection(scfg, 'server', 0, { peerAddress: peer });
  server.handleDatagram(a.datagram, 0);
  handshake(client, server);
  assert.equal(client.negotiated().version, 0xfefc);
});

test('the stateless front door answers with a cookie, then accepts the retry', () => {
  // prefilter is the DTLS 1.2 front door (HelloVerifyRequest from the first fragment).
  const v12 = { versions: ['1.2'] };
  const { server: scfg, client: ccfg } = pinnedPair({ server: v12, client: v12 });
  const door = new ServerFrontDoor(scfg);
  const client = new Connection(ccfg, 'client', 0);
  const peer = '198.51.100.7:5000';
  const hello = client.pollDatagram(0);
  const v = door.prefilter(0, peer, hello);
  assert.equal(v.verdict, 'reply');
  assert.ok(Buffer.isBuffer(v.reply));
  assert.equal(v.reply[0], 22, 'a handshake record: HelloVerifyRequest');
  client.handleDatagram(v.reply, 0);
  const retry = client.pollDatagram(0);
  assert.deepEqual(door.prefilter(0, peer, retry), { verdict: 'accept' });
  // The cookie is bound to the address: another one gets a fresh cookie instead.
  assert.equal(door.prefilter(0, '198.51.100.8:5000', retry).verdict, 'reply');

  const server = new Connection(scfg, 'server', 0, { peerAddress: peer });
  server.handleDatagram(retry, 0);
  handshake(client, server);
  assert.equal(server.stats().helloVerifyRequests, 0, 'the front door did the cookie round');
});

test('certificates: PEM round trip, fingerprints, fixtures', () => {
  const cert = Certificate.generate('example', 'p384');
  const { chain, key } = cert.toPem();
  assert.match(chain, /^-----BEGIN CERTIFICATE-----/);
  assert.match(key, /PRIVATE KEY-----/);
  const again = Certificate.fromPem(chain, Buffer.from(key));
  assert.equal(again.fingerprint(), cert.fingerprint());
  assert.match(cert.fingerprint(), /^sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.match(cert.fingerprint('sha-1'), /^sha-1 ([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
  assert.equal(cert.chain().length, 1);
  const { fixtureServerCertificate } = require('./helpers.js');
  assert.equal(fixtureServerCertificate().chain().length, 2);
  const cfg = new Config({ certificate: cert, mtu: 1400 });
  assert.equal(cfg.mtu, 1400);
  assert.equal(cfg.cookieExchange, true);
});

test('bad arguments throw clear errors with DTLS_ERR_INVALID_ARGUMENT', () => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const conn = new Connection(ccfg, 'client', 0);
  const buf = Buffer.alloc(16);
  const cases = [
    [() => conn.handleDatagram('not bytes', 0), /handleDatagram.*Uint8Array/],
    [() => conn.handleDatagram(123, 0), /handleDatagram.*Uint8Array/],
    [() => conn.handleDatagram(new DataView(new ArrayBuffer(4)), 0), /Uint8Array/],
    [() => conn.handleDatagram(buf, -1), /now must be a non-negative/],
    [() => conn.handleDatagram(buf, NaN), /now must be/],
    [() => conn.handleDatagram(buf, 'soon'), /handleDatagram.*expected a number, got string/],
    [() => conn.handleDatagram(buf), /expected a number, got undefined/],
    [() => conn.pollDatagram(Infinity), /now must be/],
    [() => conn.send([1, 2, 3]), /send.*Uint8Array/],
    [() => conn.exportKeyingMaterial('label', -1), /length must be an integer/],
    [() => conn.exportKeyingMaterial('label', 1e9), /length must be an integer/],
    [() => conn.exportKeyingMaterial(42, 10), /exportKeyingMaterial.*expected a string/],
    [() => conn.addPeerFingerprint(7), /expected a string/],
    [() => conn.setMtu(1.5), /mtu must be an integer/],
    [() => new Connection({}, 'client', 0), /new Connection.*expected a Config/],
    [() => new Connection(ccfg, 'peer', 0), /role must be 'client' or 'server'/],
    [() => new Connection(ccfg, 'client'), /expected a number/],
    [() => new Connection(scfg, 'server', 0, { serverName: 'x' }), /serverName is for clients/],
    [() => Connection(ccfg, 'client', 0), /without 'new'/],
    [() => Connection.prototype.recv.call({}), /not a Connection/],
    [() => new Config({ certificate: ccfg }), /expected a Certificate.*certificate/],
    [() => new Config({ peerVerification: 'sometimes' }), /unknown peerVerification/],
    [() => new Config({ mtu: 'big' }), /expected a number.*mtu/],
    [() => new Config({ cookieSecret: Buffer.alloc(3) }), /cookieSecret must be exactly 32 bytes/],
    [() => new Config({ timers: { initialRtoMs: 100 } }), /missing field maxRtoMs/],
    [() => new Config({ cipherSuites: [0x10000] }), /16-bit/],
    [() => Certificate.generate(42), /Certificate.generate.*expected a string/],
    [() => Certificate.generate('x', 'rsa'), /unknown keyType/],
    [() => Certificate.generate('x').fingerprint('md5'), /unknown hash/],
    [() => new ServerFrontDoor(scfg).prefilter(0, '1.2.3.4:5', 'hello'), /prefilter.*Uint8Array/],
  ];
  for (const [fn, message] of cases) throwsCode(fn, 'DTLS_ERR_INVALID_ARGUMENT', message);

  // Engine-level refusals keep the engine's own codes.
  throwsCode(() => new Config({ mtu: 50 }), 'DTLS_ERR_INVALID_CONFIG', /mtu/);
  throwsCode(() => new Config({ cipherSuites: [0x1234] }), 'DTLS_ERR_INVALID_CONFIG');
  throwsCode(() => new Config({ srtpProfiles: ['SRTP_BOGUS'] }), 'DTLS_ERR_INVALID_ARGUMENT', /SRTP/);
  throwsCode(() => new Connection(new Config(), 'server', 0), 'DTLS_ERR_INVALID_CONFIG', /certificate/);
  throwsCode(() => Certificate.fromPem('junk', 'junk'), 'DTLS_ERR_CERTIFICATE');
  throwsCode(() => conn.addPeerFingerprint('sha-256 00:11'), 'DTLS_ERR_CERTIFICATE', /fingerprint/);

  // None of that hurt the connection.
  const server = new Connection(scfg, 'server', 0);
  handshake(conn, server);
});

test('pollDatagramInto and recvInto fill the caller buffer and keep what does not fit', () => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const client = new Connection(ccfg, 'client', 0);
  const server = new Connection(scfg, 'server', 0);
  const buf = Buffer.alloc(1500);
  // Too small: the datagram stays queued and the error says how much is needed.
  throwsCode(() => client.pollDatagramInto(Buffer.alloc(10), 0), 'DTLS_ERR_BUFFER_TOO_SMALL', /\d+ bytes needed/);
  const n = client.pollDatagramInto(buf, 0);
  assert.ok(n > 10);
  assert.equal(client.pollDatagramInto(buf, 0), null);
  server.handleDatagram(buf.subarray(0, n), 0);
  handshake(client, server);
  client.send(Buffer.from('into a view'));
  pump(client, server, 0);
  const view = new Uint8Array(new ArrayBuffer(64), 8, 32); // an offset view, not a Buffer
  throwsCode(() => server.recvInto(new Uint8Array(4)), 'DTLS_ERR_BUFFER_TOO_SMALL');
  const m = server.recvInto(view);
  assert.equal(Buffer.from(view.subarray(0, m)).toString(), 'into a view');
  assert.equal(server.recvInto(view), null);
  throwsCode(() => server.recvInto('x'), 'DTLS_ERR_INVALID_ARGUMENT', /recvInto.*Uint8Array/);
});

test('DTLS 1.3: versions option, negotiated version, keyUpdate, exporter', () => {
  for (const [cv, sv, want] of [
    [['1.3'], ['1.3'], 0xfefc],
    [['1.2', '1.3'], ['1.2', '1.3'], 0xfefc],
    [['1.2', '1.3'], ['1.2'], 0xfefd],
  ]) {
    const { server: scfg, client: ccfg } = pinnedPair({
      client: { versions: cv },
      server: { versions: sv },
    });
    const client = new Connection(ccfg, 'client', 0);
    const server = new Connection(scfg, 'server', 0);
    handshake(client, server);
    assert.equal(client.negotiated().version, want);
    assert.deepEqual(
      client.exportKeyingMaterial(SRTP_LABEL, 32),
      server.exportKeyingMaterial(SRTP_LABEL, 32),
    );
    if (want === 0xfefc) {
      client.keyUpdate(0, true);
      pump(client, server, 0);
      pump(server, client, 0);
      client.send(Buffer.from('after'));
      pump(client, server, 0);
      assert.equal(Buffer.from(server.recv()).toString(), 'after');
      assert.equal(client.stats().keyUpdates, 1);
    } else {
      throwsCode(() => client.keyUpdate(0), 'DTLS_ERR_INVALID_ARGUMENT');
    }
  }
  throwsCode(() => new Config({ versions: ['1.4'] }), 'DTLS_ERR_INVALID_ARGUMENT');
});
