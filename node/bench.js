#!/usr/bin/env node
// Handshakes/s and MB/s through the Node API, next to the Rust engine's own figures from the
// same run, the same configs and the same loop (benchEngineHandshakes / benchEngineThroughput
// run it in pure Rust inside the native module). The difference is the binding's overhead:
// napi calls, a Buffer per datagram and per received record, and index.js's argument-error
// wrapper.
//
//   node bench.js            full run (about half a minute)
//   node bench.js --quick    a smoke run (seconds; the figures are noisy)
//   node bench.js --json     machine-readable output
//
// Everything is in memory on a virtual clock: no sockets, so the figures are CPU cost only.
// A last line adds handshakes/s through dtls-rs/dgram over loopback UDP, for scale.
'use strict';

const os = require('node:os');
const { Certificate, Config, Connection, benchEngineHandshakes, benchEngineThroughput, version } = require('./index.js');
const { connect, createServer } = require('./lib/dgram.js');

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const JSON_OUT = argv.includes('--json');
const ROUNDS = QUICK ? 1 : 5; // the median of ROUNDS runs is reported
const HANDSHAKES = QUICK ? 30 : 400;
const BYTES = QUICK ? 4e6 : 48e6;
const RECORD_SIZES = [1000, 100];
const DGRAM_HANDSHAKES = QUICK ? 20 : 200;

// Mutual authentication with pinned fingerprints (the WebRTC shape), default suite
// (ECDHE-ECDSA-AES128-GCM-SHA256, X25519), cookie exchange on, MTU 1200.
const serverCert = Certificate.generate('bench-server');
const clientCert = Certificate.generate('bench-client');
const serverConfig = new Config({
  certificate: serverCert,
  clientAuth: 'require',
  peerFingerprints: [clientCert.fingerprint()],
});
const clientConfig = new Config({ certificate: clientCert, peerFingerprints: [serverCert.fingerprint()] });

function seconds(start) {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function pump(from, to) {
  for (let d = from.pollDatagram(0); d !== null; d = from.pollDatagram(0)) to.handleDatagram(d, 0);
}

/** The same loop as the Rust side's `handshake` (bindings/node/src/bench.rs). */
function handshake() {
  const c = new Connection(clientConfig, 'client', 0);
  const s = new Connection(serverConfig, 'server', 0);
  for (let i = 0; i < 16; i++) {
    pump(c, s);
    pump(s, c);
    if (c.isConnected && s.isConnected) return [c, s];
  }
  throw new Error('benchmark handshake did not complete');
}

function nodeHandshakes(n) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) handshake();
  return { iterations: n, bytes: 0, seconds: seconds(start) };
}

/** The same loop again through the zero-allocation calls: pollDatagramInto and recvInto
 * with reused buffers (what a caller that copies nothing out does). */
function nodeThroughputInto(total, size) {
  const [c, s] = handshake();
  const payload = Buffer.alloc(size, 0x5a);
  const dgram = Buffer.alloc(2048);
  const app = Buffer.alloc(2048);
  let sent = 0;
  let received = 0;
  let records = 0;
  const start = process.hrtime.bigint();
  while (sent < total) {
    c.send(payload);
    sent += size;
    for (let n = c.pollDatagramInto(dgram, 0); n !== null; n = c.pollDatagramInto(dgram, 0)) {
      s.handleDatagram(dgram.subarray(0, n), 0);
    }
    for (let n = s.recvInto(app); n !== null; n = s.recvInto(app)) {
      received += n;
      records += 1;
    }
  }
  const secs = seconds(start);
  if (received !== sent) throw new Error(`sent ${sent} bytes but received ${received}`);
  return { iterations: records, bytes: received, seconds: secs };
}

function nodeThroughput(total, size) {
  const [c, s] = handshake();
  const payload = Buffer.alloc(size, 0x5a);
  let sent = 0;
  let received = 0;
  let records = 0;
  const start = process.hrtime.bigint();
  while (sent < total) {
    c.send(payload);
    sent += size;
    pump(c, s);
    for (let m = s.recv(); m !== null; m = s.recv()) {
      received += m.length;
      records += 1;
    }
  }
  const secs = seconds(start);
  if (received !== sent) throw new Error(`sent ${sent} bytes but received ${received}`);
  return { iterations: records, bytes: received, seconds: secs };
}

async function dgramHandshakes(n) {
  const server = createServer(serverConfig, () => {});
  const { port } = await server.listen(0, '127.0.0.1');
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = await connect({ port, config: clientConfig });
    s.close();
  }
  const secs = seconds(start);
  await server.close();
  return { iterations: n, bytes: 0, seconds: secs };
}

/** Nanoseconds per call of `fn` (a loop of `n`, after a warm-up). */
function perCall(n, fn) {
  for (let i = 0; i < n / 10; i++) fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - start) / n;
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

/**
 * Runs `engine` and `node` alternately ROUNDS times. `rate` turns a result into the figure
 * shown, `perOp` into seconds per operation (a handshake, a record). Reports the median of
 * each side, the ratio, and the time the binding adds to one operation.
 */
function compare(rate, perOp, engine, node) {
  engine();
  node(); // warm-up (JIT, allocator, caches)
  const e = [];
  const n = [];
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so neither always runs on a cache (or CPU clock) the
    // other warmed.
    if (i % 2 === 0) {
      e.push(engine());
      n.push(node());
    } else {
      n.push(node());
      e.push(engine());
    }
  }
  const eng = median(e.map(rate));
  const nod = median(n.map(rate));
  const addedUs = (median(n.map(perOp)) - median(e.map(perOp))) * 1e6;
  return { engine: eng, node: nod, nodeOverEngine: nod / eng, addedMicrosecondsPerOp: addedUs };
}

async function main() {
  const results = [];
  const hsRate = (r) => r.iterations / r.seconds;
  const mbRate = (r) => r.bytes / r.seconds / 1e6;
  const perIteration = (r) => r.seconds / r.iterations;
  results.push({
    what: 'handshakes/s (mutual, ECDSA P-256, X25519, cookie)',
    op: 'handshake',
    ...compare(
      hsRate,
      perIteration,
      () => benchEngineHandshakes(clientConfig, serverConfig, HANDSHAKES),
      () => nodeHandshakes(HANDSHAKES),
    ),
  });
  for (const size of RECORD_SIZES) {
    const total = size >= 1000 ? BYTES : BYTES / 4;
    for (const [how, loop] of [
      ['', nodeThroughput],
      [', *Into calls', nodeThroughputInto],
    ]) {
      results.push({
        what: `MB/s, ${size}-byte records (AES-128-GCM)${how}`,
        op: 'record',
        ...compare(
          mbRate,
          perIteration,
          () => benchEngineThroughput(clientConfig, serverConfig, total, size),
          () => loop(total, size),
        ),
      });
    }
  }
  const udp = hsRate(await dgramHandshakes(DGRAM_HANDSHAKES));
  // Where the per-record overhead comes from: the fixed cost of one call into a class method
  // (napi-rs unwraps and type-checks `this` and tracks the borrow) against a plain function.
  const [idle] = handshake();
  const calls = QUICK ? 20_000 : 500_000;
  const callCost = {
    methodNs: median([1, 2, 3].map(() => perCall(calls, () => idle.pollTimeout()))),
    functionNs: median([1, 2, 3].map(() => perCall(calls, () => version()))),
  };

  const env = {
    module: version(),
    node: process.version,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    rounds: ROUNDS,
    quick: QUICK,
  };
  if (JSON_OUT) {
    console.log(JSON.stringify({ env, results, dgramHandshakesPerSecond: udp, callCost }, null, 2));
    return;
  }
  console.log(`dtls-rs ${env.module}, Node ${env.node}, ${env.cpu} (${env.cores} cores); median of ${ROUNDS}`);
  console.log('in memory, one thread:');
  const w = Math.max(...results.map((r) => r.what.length));
  console.log(
    `  ${'measure'.padEnd(w)}  ${'Rust engine'.padStart(11)}  ${'Node API'.padStart(9)}  ${'Node/Rust'.padStart(9)}  binding adds`,
  );
  for (const r of results) {
    console.log(
      `  ${r.what.padEnd(w)}  ${r.engine.toFixed(1).padStart(11)}  ${r.node.toFixed(1).padStart(9)}  ` +
        `${r.nodeOverEngine.toFixed(3).padStart(9)}  ${r.addedMicrosecondsPerOp.toFixed(2)} µs per ${r.op}`,
    );
  }
  console.log(`dtls-rs/dgram over loopback UDP (client and server in this process): ${udp.toFixed(1)} handshakes/s`);
  console.log(
    `one call: ${callCost.methodNs.toFixed(0)} ns into a Connection method (pollTimeout), ` +
      `${callCost.functionNs.toFixed(0)} ns into a plain function (version); ` +
      'a record through the Node API takes 6 method calls (and 2 Buffers unless *Into)',
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
