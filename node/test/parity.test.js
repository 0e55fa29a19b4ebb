// What the C library has, from Node: the zero-copy record path (sealInto / openInPlace),
// RFC 7983 demultiplexing, a=setup roles, SDP fingerprint helpers and the SRTP profile table;
// and unknown option keys refused with the valid names listed.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const dtls = require('../index.js');
const { Certificate, Config, Connection } = dtls;
const { pinnedPair, pump } = require('./helpers.js');

function connected(extra) {
  const { server, client } = pinnedPair(extra);
  const c = new Connection(client, 'client', 0);
  const s = new Connection(server, 'server', 0);
  for (let i = 0; i < 10; i++) {
    pump(c, s, 0);
    pump(s, c, 0);
  }
  assert.ok(c.isConnected && s.isConnected);
  while (c.pollEvent()) {}
  while (s.pollEvent()) {}
  return { c, s };
}

test('sealInto and openInPlace: one copy out, none in, a view into the datagram', () => {
  const { c, s } = connected();
  const out = new Uint8Array(1500);
  for (let i = 0; i < 50; i++) {
    const frame = Buffer.alloc(20 + i, i);
    const n = c.sealInto(frame, out);
    assert.ok(n > 13 + frame.length && n <= 13 + frame.length + 24, `${n}`);
    const datagram = out.slice(0, n);
    const view = s.openInPlace(datagram, 0);
    assert.ok(view instanceof Uint8Array);
    assert.deepEqual(Buffer.from(view), frame);
    // The same memory as the datagram's: a write through the view shows in it.
    assert.equal(view.buffer, datagram.buffer);
    view[0] ^= 0xff;
    assert.equal(datagram[view.byteOffset - datagram.byteOffset], view[0]);
  }
  // A Buffer slice of a larger pool works the same.
  const pooled = Buffer.alloc(3000);
  const n = c.sealInto(Buffer.from('pooled'), pooled.subarray(1000));
  assert.equal(Buffer.from(s.openInPlace(pooled.subarray(1000, 1000 + n), 0)).toString(), 'pooled');
});

test('the zero-copy path refuses what it must and falls back in order', () => {
  const { c, s } = connected();
  assert.throws(() => c.sealInto(Buffer.alloc(100), new Uint8Array(20)), { code: 'DTLS_ERR_BUFFER_TOO_SMALL' });
  assert.throws(() => c.sealInto('text', new Uint8Array(100)), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
  c.send(Buffer.from('queued'));
  assert.throws(() => c.sealInto(Buffer.from('late'), new Uint8Array(1500)), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
  pump(c, s, 0);
  // A record is waiting in recv(): openInPlace keeps the order and returns null.
  const buf = new Uint8Array(1500);
  const n = c.sealInto(Buffer.from('next'), buf);
  assert.equal(s.openInPlace(buf.subarray(0, n), 0), null);
  assert.equal(s.recv().toString(), 'queued');
  assert.equal(s.recv().toString(), 'next');
  assert.equal(s.recv(), null);
  // Garbage is dropped and counted, not thrown.
  const junk = new Uint8Array(45);
  junk.set([23, 0xfe, 0xfd]);
  assert.equal(s.openInPlace(junk, 0), null);
});

test('RFC 7983 demultiplexing', () => {
  const cases = [
    [0, 'stun'], [3, 'stun'], [16, 'zrtp'], [19, 'zrtp'], [20, 'dtls'], [63, 'dtls'],
    [64, 'turn-channel'], [79, 'turn-channel'], [128, 'rtp-rtcp'], [191, 'rtp-rtcp'],
    [4, 'unknown'], [100, 'unknown'], [255, 'unknown'],
  ];
  for (const [first, kind] of cases) {
    const d = new Uint8Array([first, 0xfe, 0xfd]);
    assert.equal(dtls.packetKind(d), kind, `first byte ${first}`);
    assert.equal(dtls.isDtls(Buffer.from(d)), kind === 'dtls');
  }
  assert.equal(dtls.packetKind(new Uint8Array(0)), 'unknown');
  const conn = new Connection(new Config(), 'client', 0);
  assert.ok(dtls.isDtls(conn.pollDatagram(0)));
});

test('a=setup roles', () => {
  assert.equal(dtls.roleForRemoteSetup('actpass'), 'client');
  assert.equal(dtls.roleForRemoteSetup('a=setup:ACTPASS'), 'client');
  assert.equal(dtls.roleForRemoteSetup('passive'), 'client');
  assert.equal(dtls.roleForRemoteSetup('active'), 'server');
  assert.equal(dtls.roleForAnswer('active'), 'server');
  assert.equal(dtls.roleForAnswer('passive'), 'client');
  assert.equal(dtls.setupForRole('client'), 'active');
  assert.equal(dtls.setupForRole('server'), 'passive');
  for (const offer of ['actpass', 'active', 'passive']) {
    const ours = dtls.roleForRemoteSetup(offer);
    const theirs = dtls.roleForAnswer(dtls.setupForRole(ours));
    assert.notEqual(ours, theirs);
  }
  assert.throws(() => dtls.roleForRemoteSetup('holdconn'), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
  assert.throws(() => dtls.roleForAnswer('actpass'), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
  assert.throws(() => dtls.setupForRole('both'), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
});

test('SDP fingerprints', () => {
  const cert = Certificate.generate('fp');
  const der = cert.chain()[0];
  for (const [alg, size] of [['sha-1', 20], ['sha-256', 32], ['sha-384', 48], ['sha-512', 64]]) {
    const sdp = cert.fingerprint(alg);
    const { algorithm, digest } = dtls.parseSdpFingerprint(sdp);
    assert.equal(algorithm, alg);
    assert.equal(digest.length, size);
    assert.equal(dtls.formatSdpFingerprint(alg, digest), sdp);
    assert.deepEqual(dtls.parseSdpFingerprint(`a=fingerprint:${sdp.toLowerCase()}`).digest, digest);
    assert.ok(dtls.fingerprintMatches(sdp, der));
    const other = Buffer.from(der);
    other[other.length - 1] ^= 1;
    assert.ok(!dtls.fingerprintMatches(sdp, other));
  }
  for (const bad of ['sha-256', 'md5 AB:CD', 'sha-256 AB:CD']) {
    assert.throws(() => dtls.parseSdpFingerprint(bad), /./);
  }
  assert.throws(() => dtls.formatSdpFingerprint('sha-256', Buffer.alloc(5)), { code: 'DTLS_ERR_INVALID_ARGUMENT' });
});

test('the SRTP profile table is the engine\'s', () => {
  const profiles = dtls.srtpProfiles();
  assert.deepEqual(profiles.slice(0, 3).map((p) => p.id), [8, 7, 1]);
  const p80 = profiles.find((p) => p.id === 1);
  assert.deepEqual(p80, {
    id: 1,
    name: 'SRTP_AES128_CM_HMAC_SHA1_80',
    opensslName: 'SRTP_AES128_CM_SHA1_80',
    keyLen: 16,
    saltLen: 14,
  });
  assert.deepEqual(dtls.srtpProfile(1), p80);
  assert.deepEqual(dtls.srtpProfile('SRTP_AES128_CM_SHA1_80'), p80);
  assert.deepEqual(dtls.srtpProfile('srtp_aes128_cm_hmac_sha1_80'), p80);
  assert.equal(dtls.srtpProfile(0x9999), null);
  assert.equal(dtls.srtpProfile('SRTP_NOPE'), null);
  assert.equal(dtls.srtpProfile(1.5), null);
  const { c } = connected({
    client: { srtpProfiles: ['SRTP_AEAD_AES_256_GCM'] },
    server: { srtpProfiles: ['SRTP_AEAD_AES_256_GCM'] },
  });
  const keys = c.srtpKeyingMaterial();
  const profile = dtls.srtpProfile(keys.profile);
  assert.equal(keys.clientKey.length, profile.keyLen);
  assert.equal(keys.clientSalt.length, profile.saltLen);
});

test('unknown Config and option keys throw, listing the valid names', () => {
  const cert = Certificate.generate('k');
  assert.throws(() => new Config({ certifcate: cert }), (e) => {
    assert.equal(e.code, 'DTLS_ERR_INVALID_ARGUMENT');
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /unknown option 'certifcate'; valid: certificate, peerVerification,/);
    return true;
  });
  assert.throws(() => new Config({ mtu: 1200, srtpProfile: [1], alpns: [] }), /unknown options 'srtpProfile', 'alpns'/);
  assert.throws(() => new Config({ timers: { initialRto: 5 } }), /timers.*unknown option 'initialRto'; valid: initialRtoMs/);
  const config = new Config({ certificate: cert });
  assert.throws(() => new Connection(config, 'client', 0, { server_name: 'x' }), /unknown option 'server_name'; valid: serverName/);
  // Known keys, and no options at all, still work; so do subclasses.
  new Connection(config, 'client', 0, { serverName: 'x', peerFingerprints: [] });
  class Mine extends Connection {}
  assert.ok(new Mine(config, 'server', 0) instanceof Connection);
  assert.throws(() => Config(), /cannot be invoked without 'new'/);
});

test('the option key lists are the declared interfaces', () => {
  // index.js checks keys against its own lists; they must be exactly the fields of the
  // generated (index.d.ts) and hand-written (lib/dgram.d.ts) interfaces.
  const src = fs.readFileSync(path.join(__dirname, '..', 'index.js'), 'utf8');
  const lists = {};
  for (const m of src.matchAll(/^ {2}(\w+Options): \[([^\]]*)\]/gm)) {
    lists[m[1]] = [...m[2].matchAll(/'(\w+)'/g)].map((x) => x[1]).sort();
  }
  const declared = (file, name) => {
    const dts = fs.readFileSync(path.join(__dirname, '..', file), 'utf8');
    const body = dts.match(new RegExp(`export interface ${name} \\{([\\s\\S]*?)\\n\\}`))[1];
    return [...body.matchAll(/^\s+(\w+)\??:/gm)].map((x) => x[1]).sort();
  };
  assert.deepEqual(lists.ConfigOptions, declared('index.d.ts', 'ConfigOptions'));
  assert.deepEqual(lists.TimerOptions, declared('index.d.ts', 'TimerOptions'));
  assert.deepEqual(lists.ConnectionOptions, declared('index.d.ts', 'ConnectionOptions'));
  assert.deepEqual(lists.ConnectOptions, declared('lib/dgram.d.ts', 'ConnectOptions'));
  assert.deepEqual(lists.ServerOptions, declared('lib/dgram.d.ts', 'ServerOptions'));
});
