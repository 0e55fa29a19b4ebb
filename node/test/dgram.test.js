// dtls-rs/dgram over real UDP sockets on 127.0.0.1. Every wait is bounded (within()), every
// server and socket is closed in t.after, so a failure ends the test instead of hanging it.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const dgram = require('node:dgram');

const { Certificate, Config, Connection } = require('../index.js');
const { connect, createServer, DtlsSocket } = require('../lib/dgram.js');
const { pinnedPair, within, next, drainEvents } = require('./helpers.js');

const WAIT = 10_000;

/** A listening server, closed after the test. */
async function startServer(t, config, onConnection, options) {
  const server = createServer(config, onConnection, options);
  const addr = await within(WAIT, server.listen(0, '127.0.0.1'), 'listen');
  t.after(() => server.close());
  return { server, port: addr.port };
}

/** An echo handler: every record comes back prefixed. */
function echo(socket) {
  socket.on('message', (m) => socket.send(Buffer.concat([Buffer.from('echo:'), m])));
}

test('client and server over 127.0.0.1: data both ways, exporter, close_notify', { timeout: 30_000 }, async (t) => {
  const { server: scfg, client: ccfg, serverCert } = pinnedPair();
  const serverSide = [];
  const { server, port } = await startServer(t, scfg, (socket) => {
    serverSide.push(socket);
    echo(socket);
  });
  const connected = next(server, 'connection');

  const socket = await within(WAIT, connect({ host: '127.0.0.1', port, config: ccfg }), 'connect');
  t.after(() => socket.close());
  assert.ok(socket instanceof DtlsSocket);
  assert.equal(socket.connected, true);
  assert.equal(socket.remotePort, port);
  const [peer] = await within(WAIT, connected, "the server's connection event");
  assert.equal(server.connections, 1);
  assert.equal(peer.remoteAddress, '127.0.0.1');
  assert.deepEqual(socket.peerCertificates()[0], serverCert.chain()[0]);

  // Same keys on both ends.
  assert.deepEqual(
    socket.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
    peer.exportKeyingMaterial('EXTRACTOR-dtls_srtp', 60),
  );

  const replies = [];
  const gotTwo = new Promise((resolve) =>
    socket.on('message', (m) => {
      replies.push(m.toString());
      if (replies.length === 2) resolve();
    }),
  );
  socket.send('ping');
  socket.send(new Uint8Array([0x61, 0x62]));
  await within(WAIT, gotTwo, 'two echoes');
  assert.deepEqual(replies, ['echo:ping', 'echo:ab']);
  assert.ok(Buffer.isBuffer(peer.connection.negotiated().srtpMki));

  // Our close_notify closes the server's side too, and frees its slot.
  const peerClosed = next(peer, 'close');
  const clientClosed = next(socket, 'close');
  socket.close();
  await within(WAIT, Promise.all([peerClosed, clientClosed]), 'both sides to close');
  assert.equal(peer.closed, true);
  assert.equal(server.connections, 0);
  assert.throws(() => socket.send('late'), { code: 'DTLS_ERR_CLOSED' });
  assert.deepEqual(serverSide, [peer]);
  assert.equal(server.stats.helloVerifyRequests, 1, 'one stateless cookie round');
});

test('the server closing sends close_notify to its clients', { timeout: 30_000 }, async (t) => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const { server, port } = await startServer(t, scfg);
  const socket = await within(WAIT, connect({ port, config: ccfg }), 'connect');
  const closed = next(socket, 'close');
  await within(WAIT, server.close(), 'server.close()');
  await within(WAIT, closed, 'the client to see close_notify');
  assert.equal(socket.closed, true);
});

test('fingerprint mismatch rejects connect() with DTLS_ERR_FINGERPRINT_MISMATCH', { timeout: 30_000 }, async (t) => {
  // A short handshake deadline on the server, for the second half of the test.
  // DTLS 1.2 pinned: a 1.2 client's alert travels in the clear (see below); a 1.3 one
  // travels under the handshake keys, which the next test covers.
  const serverCfg = new Config({
    certificate: Certificate.generate('server'),
    versions: ['1.2'],
    timers: { initialRtoMs: 100, maxRtoMs: 200, handshakeTimeoutMs: 1000 },
  });
  const { server, port } = await startServer(t, serverCfg);
  const clientError = next(server, 'clientError');
  const wrong = Certificate.generate('not the server').fingerprint();
  const config = new Config({ peerVerification: 'fingerprint' });
  await assert.rejects(
    within(WAIT, connect({ port, config, peerFingerprints: [wrong] }), 'connect to fail'),
    (err) => {
      assert.ok(err instanceof Error);
      assert.equal(err.code, 'DTLS_ERR_FINGERPRINT_MISMATCH');
      assert.match(err.message, /fingerprint/);
      return true;
    },
  );
  // The client's fatal bad_certificate alert travels in the clear (epoch 0), where anyone
  // could forge it, so the server does not act on it at once: its handshake ends at the
  // deadline, with the alert as the likely reason (DESIGN.md, rules of the house).
  const [err] = await within(WAIT, clientError, "the server's clientError");
  assert.equal(err.code, 'DTLS_ERR_HANDSHAKE_TIMEOUT');
  assert.match(err.message, /BadCertificate/);
  assert.equal(server.connections, 0);
});

test('DTLS 1.3: fingerprint mismatch; the authenticated alert ends the server side at once', { timeout: 30_000 }, async (t) => {
  const serverCfg = new Config({ certificate: Certificate.generate('server') });
  const { server, port } = await startServer(t, serverCfg);
  const clientError = next(server, 'clientError');
  const wrong = Certificate.generate('not the server').fingerprint();
  const config = new Config({ peerVerification: 'fingerprint' });
  await assert.rejects(
    within(WAIT, connect({ port, config, peerFingerprints: [wrong] }), 'connect to fail'),
    { code: 'DTLS_ERR_FINGERPRINT_MISMATCH' },
  );
  const [err] = await within(WAIT, clientError, "the server's clientError");
  assert.equal(err.code, 'DTLS_ERR_ALERT_RECEIVED');
  assert.equal(server.connections, 0);
});

test('bad arguments to connect() and createServer() are refused clearly', async (t) => {
  const config = new Config();
  const cases = [
    [() => connect({ port: 0, config }), /port must be an integer in 1..65535/],
    [() => connect({ port: 'x', config }), /port/],
    [() => connect({ port: 4444, config: {} }), /config must be a Config/],
    [() => connect(null), /options must be an object/],
    [() => connect({ port: 4444, config, host: 5 }), /host must be a string/],
  ];
  for (const [fn, message] of cases) {
    await assert.rejects(fn(), (err) => err.code === 'DTLS_ERR_INVALID_ARGUMENT' && message.test(err.message));
  }
  assert.throws(() => createServer({}), { code: 'DTLS_ERR_INVALID_ARGUMENT', message: /config must be a Config/ });
  assert.throws(() => createServer(config), { code: 'DTLS_ERR_INVALID_CONFIG', message: /certificate/ });
  const { server: scfg } = pinnedPair();
  assert.throws(() => createServer(scfg, 'not a function'), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
  const server = createServer(scfg);
  t.after(() => server.close());
  await assert.rejects(server.listen(-1), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
  await server.listen(0);
  await assert.rejects(server.listen(0), { code: 'DTLS_ERR_INVALID_ARGUMENT', message: /already listening/ });
});

test('garbage datagrams do no harm to the server', { timeout: 30_000 }, async (t) => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const { server, port } = await startServer(t, scfg, echo);

  // Junk from a stranger: never an association, never a reply.
  const raw = dgram.createSocket('udp4');
  t.after(() => raw.close());
  await new Promise((resolve) => raw.bind(0, '127.0.0.1', resolve));
  const replies = [];
  raw.on('message', (m) => replies.push(m));
  const junk = [
    Buffer.alloc(0),
    Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    Buffer.alloc(1500, 0xff),
    Buffer.from([22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0, 0]),
    Buffer.from([21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 40]),
    Buffer.alloc(60_000, 0x16),
  ];
  for (const j of junk) await new Promise((resolve) => raw.send(j, port, '127.0.0.1', resolve));

  // A peer that shares the socket of a real client: its own address sends junk between the
  // real handshake datagrams and after the handshake. Driven by hand (a Connection on a raw
  // socket) because a kernel-connected dgram socket is the only one that can use this address.
  const peer = dgram.createSocket('udp4');
  t.after(() => peer.close());
  await new Promise((resolve) => peer.connect(port, '127.0.0.1', resolve));
  const conn = new Connection(ccfg, 'client', 0);
  const inbox = [];
  peer.on('message', (m) => inbox.push(m));
  const flush = () => {
    for (let d = conn.pollDatagram(0); d !== null; d = conn.pollDatagram(0)) {
      peer.send(d);
      for (const j of junk.slice(0, 5)) peer.send(j);
    }
  };
  flush();
  const deadline = Date.now() + WAIT;
  while (!conn.isConnected && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    while (inbox.length > 0) conn.handleDatagram(inbox.shift(), 0);
    flush();
  }
  assert.ok(conn.isConnected, 'a handshake interleaved with junk completes');
  drainEvents(conn);
  conn.send(Buffer.from('through the junk'));
  flush();
  let echoed = null;
  while (echoed === null && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    while (inbox.length > 0) conn.handleDatagram(inbox.shift(), 0);
    echoed = conn.recv();
  }
  assert.equal(echoed?.toString(), 'echo:through the junk');
  assert.equal(server.connections, 1, 'junk made no association');
  assert.equal(replies.length, 0, 'junk got no reply');
  assert.ok(server.stats.dropped >= junk.length, JSON.stringify(server.stats));

  // And a normal client still gets in.
  const socket = await within(WAIT, connect({ port, config: ccfg }), 'connect after junk');
  socket.close();
});

test('many concurrent clients against one server', { timeout: 60_000 }, async (t) => {
  const CLIENTS = 40;
  const { server: scfg, client: ccfg } = pinnedPair();
  const { server, port } = await startServer(t, scfg, echo);
  const sockets = await within(
    30_000,
    Promise.all(Array.from({ length: CLIENTS }, () => connect({ port, config: ccfg }))),
    `${CLIENTS} handshakes`,
  );
  t.after(() => sockets.forEach((s) => s.close()));
  assert.equal(server.connections, CLIENTS);

  // Every client gets its own data back, and nobody else's.
  const replies = await within(
    30_000,
    Promise.all(
      sockets.map((s, i) => {
        const got = next(s, 'message');
        s.send(`client ${i}`);
        return got.then(([m]) => m.toString());
      }),
    ),
    'every echo',
  );
  assert.deepEqual(
    replies,
    sockets.map((_, i) => `echo:client ${i}`),
  );

  const closed = sockets.map((s) => next(s, 'close'));
  sockets.forEach((s) => s.close());
  await within(WAIT, Promise.all(closed), 'every close');
  const deadline = Date.now() + WAIT;
  while (server.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.connections, 0, 'every close_notify freed its association');
});

test('a silent server ends connect() at the handshake deadline', { timeout: 30_000 }, async (t) => {
  // A bound socket that never answers.
  const mute = dgram.createSocket('udp4');
  t.after(() => mute.close());
  await new Promise((resolve) => mute.bind(0, '127.0.0.1', resolve));
  let heard = 0;
  mute.on('message', () => (heard += 1));
  const config = new Config({
    peerVerification: 'dangerous-accept-any',
    timers: { initialRtoMs: 50, maxRtoMs: 100, handshakeTimeoutMs: 3000 },
  });
  await assert.rejects(
    within(WAIT, connect({ port: mute.address().port, config }), 'the handshake deadline'),
    { code: 'DTLS_ERR_HANDSHAKE_TIMEOUT' },
  );
  assert.ok(heard >= 2, `the ClientHello was retransmitted (${heard} sent)`);
});

test('an AbortSignal aborts the handshake', { timeout: 30_000 }, async (t) => {
  const mute = dgram.createSocket('udp4');
  t.after(() => mute.close());
  await new Promise((resolve) => mute.bind(0, '127.0.0.1', resolve));
  const ac = new AbortController();
  // Abort once the first ClientHello arrived: the handshake is under way.
  mute.once('message', () => ac.abort());
  const config = new Config({ peerVerification: 'dangerous-accept-any' });
  await assert.rejects(within(WAIT, connect({ port: mute.address().port, config, signal: ac.signal }), 'the abort'), {
    name: 'AbortError',
  });
  await assert.rejects(connect({ port: mute.address().port, config, signal: ac.signal }), { name: 'AbortError' });
});

test('a client that lost its state can reconnect from the same address', { timeout: 30_000 }, async (t) => {
  const { server: scfg, client: ccfg } = pinnedPair();
  const closes = [];
  const { server, port } = await startServer(t, scfg, (socket) => {
    echo(socket);
    socket.on('close', () => closes.push(socket));
  });

  // First life: a raw socket on a fixed local port drives a Connection by hand and vanishes
  // without close_notify.
  const drive = async (udp, conn, done) => {
    const inbox = [];
    udp.on('message', (m) => inbox.push(m));
    const deadline = Date.now() + WAIT;
    const flush = () => {
      for (let d = conn.pollDatagram(0); d !== null; d = conn.pollDatagram(0)) udp.send(d);
    };
    flush();
    while (!done() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      while (inbox.length > 0) conn.handleDatagram(inbox.shift(), 0);
      flush();
    }
    assert.ok(done(), 'timed out');
  };
  const first = dgram.createSocket('udp4');
  await new Promise((resolve) => first.bind(0, '127.0.0.1', resolve));
  const localPort = first.address().port;
  await new Promise((resolve) => first.connect(port, '127.0.0.1', resolve));
  const c1 = new Connection(ccfg, 'client', 0);
  await drive(first, c1, () => c1.isConnected);
  await new Promise((resolve) => first.close(resolve));
  assert.equal(server.connections, 1);

  // Second life, same address: a new handshake replaces the stale association.
  const second = dgram.createSocket('udp4');
  t.after(() => second.close());
  await new Promise((resolve) => second.bind(localPort, '127.0.0.1', resolve));
  await new Promise((resolve) => second.connect(port, '127.0.0.1', resolve));
  const c2 = new Connection(ccfg, 'client', 0);
  await drive(second, c2, () => c2.isConnected);
  drainEvents(c2);
  c2.send(Buffer.from('again'));
  let echoed = null;
  await drive(second, c2, () => (echoed ??= c2.recv()) !== null);
  assert.equal(echoed.toString(), 'echo:again');
  assert.equal(server.connections, 1);
  assert.equal(closes.length, 1, 'the stale association was closed');
  assert.ok(server.stats.helloVerifyRequests >= 2);
});

for (const [name, client, want] of [
  ['a DTLS 1.3-only client', { versions: ['1.3'] }, 0xfefc],
  // An X25519MLKEM768 key share at MTU 600 spreads the ClientHello over datagrams: the front
  // door holds the first ones in its pool until the last arrives.
  ['a DTLS 1.3-only client with a fragmented ClientHello', { versions: ['1.3'], mtu: 600 }, 0xfefc],
  ['a DTLS 1.2-only client', { versions: ['1.2'] }, 0xfefd],
]) {
  test(`the server front door admits ${name}`, { timeout: 30_000 }, async (t) => {
    const groups = [0x11ec, 29];
    const { server: scfg, client: ccfg } = pinnedPair({
      server: { versions: ['1.2', '1.3'], groups },
      client: { ...client, groups },
    });
    const { server, port } = await startServer(t, scfg, echo);
    const socket = await within(WAIT, connect({ host: '127.0.0.1', port, config: ccfg }), 'connect');
    t.after(() => socket.close());
    assert.equal(socket.connection.negotiated().version, want);
    const reply = next(socket, 'message');
    socket.send('ping');
    const [m] = await within(WAIT, reply, 'the echo');
    assert.equal(m.toString(), 'echo:ping');
    assert.equal(server.connections, 1);
    assert.equal(server.stats.helloVerifyRequests, 1, 'one stateless cookie round');
    assert.equal(server.stats.accepted, 1);
  });
}
