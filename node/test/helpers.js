// Shared by the tests: fixtures, an in-memory link between two Connections, bounded waits, and
// openssl child processes that never outlive their test.
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const dgram = require('node:dgram');
const fs = require('node:fs');
const path = require('node:path');

const { Certificate, Config, Connection } = require('../index.js');

const FIXTURES = path.resolve(__dirname, '..', '..', 'tests', 'fixtures');

function fixturePath(name) {
  return path.join(FIXTURES, name);
}

function fixture(name) {
  return fs.readFileSync(fixturePath(name));
}

/** The fixture server: CN dtls-server, signed by int.crt, which ca.crt signed. */
function fixtureServerCertificate() {
  return Certificate.fromPem(Buffer.concat([fixture('server.crt'), fixture('int.crt')]), fixture('server.key'));
}

/** A client and a server config that pin each other's generated certificate. */
function pinnedPair(extra = {}) {
  const serverCert = Certificate.generate('server');
  const clientCert = Certificate.generate('client');
  const server = new Config({
    certificate: serverCert,
    peerFingerprints: [clientCert.fingerprint()],
    clientAuth: 'require',
    ...extra.server,
  });
  const client = new Config({
    certificate: clientCert,
    peerFingerprints: [serverCert.fingerprint()],
    ...extra.client,
  });
  return { server, client, serverCert, clientCert };
}

/**
 * Moves every pending datagram from `from` to `to` (optionally through `filter`, which may
 * return null to drop one). Returns how many moved.
 */
function pump(from, to, now, filter = (d) => d) {
  let moved = 0;
  for (let d = from.pollDatagram(now); d !== null; d = from.pollDatagram(now)) {
    const out = filter(d);
    if (out !== null) {
      to.handleDatagram(out, now);
      moved += 1;
    }
  }
  return moved;
}

/** Runs the pair until both are connected, or throws after `rounds` rounds. */
function handshake(client, server, now = 0, rounds = 16) {
  for (let i = 0; i < rounds; i++) {
    pump(client, server, now);
    pump(server, client, now);
    if (client.isConnected && server.isConnected) return;
  }
  throw new Error('handshake did not complete');
}

function drainEvents(conn) {
  const out = [];
  for (let e = conn.pollEvent(); e !== null; e = conn.pollEvent()) out.push(e);
  return out;
}

/** Rejects with a descriptive error if `promise` takes longer than `ms`. */
function within(ms, promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the next `event` of `emitter` (its arguments as an array). */
function next(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

/** A UDP port that was free a moment ago on 127.0.0.1 (racy by nature). */
async function freeUdpPort() {
  const s = dgram.createSocket('udp4');
  await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
  const { port } = s.address();
  await new Promise((resolve) => s.close(resolve));
  return port;
}

function haveOpenssl() {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * An `openssl` child with stdout and stderr collected. `t.after` kills it, so a failing test
 * never leaves it behind.
 */
class OpensslPeer {
  constructor(t, args) {
    this.output = '';
    this.exited = false;
    this.child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => this.child.once('exit', (code) => {
      this.exited = true;
      resolve(code);
    }));
    const collect = (chunk) => {
      this.output += chunk.toString('utf8');
    };
    this.child.stdout.on('data', collect);
    this.child.stderr.on('data', collect);
    // Writing to a child that already exited must not crash the test process.
    this.child.stdin.on('error', () => {});
    t.after(() => this.kill());
  }

  /** Resolves when the output contains `needle`; rejects (with the output) after `ms`. */
  async waitFor(needle, ms = 5000) {
    const deadline = Date.now() + ms;
    while (!this.output.includes(needle)) {
      if (Date.now() >= deadline || (this.exited && !this.output.includes(needle))) {
        throw new Error(`openssl never printed ${JSON.stringify(needle)}; its output:\n${this.output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  write(text) {
    this.child.stdin.write(text);
  }

  /** The hex after `Keying material:` (from -keymatexport), upper-cased. */
  keyingMaterial() {
    const m = /Keying material:\s*([0-9A-Fa-f]+)/.exec(this.output);
    return m ? m[1].toUpperCase() : null;
  }

  kill() {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

module.exports = {
  fixture,
  fixturePath,
  fixtureServerCertificate,
  pinnedPair,
  pump,
  handshake,
  drainEvents,
  within,
  next,
  freeUdpPort,
  haveOpenssl,
  OpensslPeer,
  Connection,
};
