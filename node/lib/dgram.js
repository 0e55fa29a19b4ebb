// dtls-rs/dgram: DTLS over node:dgram UDP sockets.
//
//   const { connect, createServer } = require('dtls-rs/dgram');
//   const socket = await connect({ host, port, config, peerFingerprints });
//   socket.on('message', (buf) => ...); socket.send(data); socket.close();
//
//   const server = createServer(config, (socket) => socket.on('message', ...));
//   await server.listen(4444, '127.0.0.1');
//
// The engine is sans-IO: this file owns the sockets and the clock. Each DtlsSocket drives one
// Connection with the loop every caller writes (feed or time out, then send everything, read
// events, read data, re-arm the one timer from pollTimeout()). A server serves many peers on
// one UDP socket: datagrams from an address without a connection go through the front door
// (ServerFrontDoor.admit: a HelloVerifyRequest or HelloRetryRequest cookie before any
// per-peer state), connections are keyed by "ip:port".
'use strict';

const dgram = require('node:dgram');
const dns = require('node:dns');
const net = require('node:net');
const { EventEmitter } = require('node:events');
const { performance } = require('node:perf_hooks');
const native = require('../index.js');

const { Config, Connection, ServerFrontDoor } = native;

/** Milliseconds on a monotonic clock: the engine never reads a clock, every call gets `now`. */
function now() {
  return Math.floor(performance.now());
}

function dtlsError(code, message, Ctor = Error) {
  const err = new Ctor(message);
  err.code = code;
  return err;
}

function invalid(message) {
  return dtlsError('DTLS_ERR_INVALID_ARGUMENT', message, TypeError);
}

/** A UDP socket error worth nothing to DTLS: ICMP port unreachable on a connected socket
 * (the peer is not up yet, or went away). Lost datagrams are the retransmission timer's
 * business, and a dead peer ends in the handshake deadline. */
function ignorableSocketError(err) {
  return err && (err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH');
}

/** An epoch-0 DTLS handshake record whose first message is a ClientHello (RFC 6347 §4.1,
 * §4.2.2: content type 22, epoch at bytes 3-4, handshake type at byte 13). */
function isClientHello(d) {
  return d.length > 25 && d[0] === 22 && d[3] === 0 && d[4] === 0 && d[13] === 1;
}

// Datagrams and records leave the engine through one scratch buffer (JavaScript runs on one
// thread, and each is copied out before the next call) into pooled Buffers: cheaper than a
// Buffer allocated per datagram by the native side (see bench.js). 64 KiB holds any datagram
// (the MTU is a u16) and any record (at most 2^14 bytes of plaintext).
const SCRATCH = Buffer.allocUnsafeSlow(65536);

/** The next datagram to send, copied out of the engine, or null. */
function nextDatagram(conn, t) {
  const n = conn.pollDatagramInto(SCRATCH, t);
  return n === null ? null : Buffer.from(SCRATCH.subarray(0, n));
}

/** The next received record, copied out of the engine, or null. */
function nextRecord(conn) {
  const n = conn.recvInto(SCRATCH);
  return n === null ? null : Buffer.from(SCRATCH.subarray(0, n));
}

const OPEN = 'open';
const HANDSHAKING = 'handshaking';
const CLOSED = 'closed';

/**
 * One DTLS association over UDP. Events: 'connect' (handshake complete), 'message' (Buffer:
 * one application record), 'error' (Error with a DTLS_ERR_* .code; the socket then closes),
 * 'close' (once, last).
 *
 * Received records wait in the engine (bounded) until a 'message' listener exists, so a
 * listener attached right after `await connect()` sees everything.
 */
class DtlsSocket extends EventEmitter {
  /**
   * @param {Connection} conn the engine association
   * @param {{send(buf: Buffer): void, release(): void}} transport how datagrams leave, and
   *   what to do when the socket is done (a client closes its UDP socket, a server forgets it)
   * @param {{address: string, port: number, family: string}} remote
   * @param {DtlsServer | null} server the server that accepted it, if any
   */
  constructor(conn, transport, remote, server) {
    super();
    this._conn = conn;
    this._transport = transport;
    this._server = server;
    this._state = HANDSHAKING;
    this._timer = null;
    this._deadline = null;
    /** Re-entrancy guard: a listener calling send() or close() inside _service(). */
    this._servicing = false;
    this._again = false;
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = remote.family;
    this.on('newListener', (event) => {
      // Deliver records that waited for a listener, after the caller finished attaching.
      if (event === 'message' && this._state === OPEN) process.nextTick(() => this._service());
    });
  }

  /** The engine association (exporters, SRTP keys, peer certificates, stats). */
  get connection() {
    return this._conn;
  }

  /** True once the handshake completed, until close. */
  get connected() {
    return this._state === OPEN;
  }

  /** True after close (ours, the peer's, or a failure). */
  get closed() {
    return this._state === CLOSED;
  }

  /** The largest payload `send` accepts. */
  get maxSendLen() {
    return this._conn.maxSendLen;
  }

  /** RFC 5705 exporter (see Connection.exportKeyingMaterial). */
  exportKeyingMaterial(label, length, context) {
    return this._conn.exportKeyingMaterial(label, length, context);
  }

  /** The peer's certificate chain, DER, leaf first. */
  peerCertificates() {
    return this._conn.peerCertificates();
  }

  /**
   * Sends one application record (a string is sent as UTF-8). Throws DTLS_ERR_NOT_CONNECTED
   * before 'connect', DTLS_ERR_CLOSED after close, DTLS_ERR_INVALID_ARGUMENT for a payload
   * over `maxSendLen` or of the wrong type.
   */
  send(data) {
    if (typeof data === 'string') data = Buffer.from(data);
    if (this._state === CLOSED) throw dtlsError('DTLS_ERR_CLOSED', 'the DTLS socket is closed');
    this._conn.send(data);
    this._flush();
  }

  /** Sends close_notify and closes. Idempotent; 'close' follows. */
  close() {
    if (this._state === CLOSED) return;
    try {
      this._conn.close();
    } catch {
      // Already failed: there is no close_notify to send, only the teardown below.
    }
    this._flush();
    this._finish();
  }

  // -------------------------------------------------------------------------------------------
  // The drive loop

  /** One datagram from the peer. */
  _receive(datagram) {
    if (this._state === CLOSED) return;
    try {
      this._conn.handleDatagram(datagram, now());
    } catch (err) {
      this._fail(err);
      return;
    }
    this._service();
  }

  _onTimer() {
    this._timer = null;
    this._deadline = null;
    if (this._state === CLOSED) return;
    try {
      this._conn.handleTimeout(now());
    } catch (err) {
      this._fail(err);
      return;
    }
    this._service();
  }

  /** Sends everything the engine has ready. */
  _flush() {
    const t = now();
    try {
      for (let d = nextDatagram(this._conn, t); d !== null; d = nextDatagram(this._conn, t)) {
        this._transport.send(d);
      }
    } catch (err) {
      this._fail(err);
    }
  }

  /** After every input: send, then events, then data, then the timer. */
  _service() {
    if (this._servicing) {
      // A listener re-entered (send(), or a 'message' listener added); finish the outer pass
      // first and run once more after it.
      this._again = true;
      return;
    }
    this._servicing = true;
    try {
      do {
        this._again = false;
        this._flush();
        for (let ev = this._conn.pollEvent(); ev !== null && this._state !== CLOSED; ev = this._conn.pollEvent()) {
          this._event(ev);
        }
        while (this._state === OPEN && this.listenerCount('message') > 0) {
          const m = nextRecord(this._conn);
          if (m === null) break;
          this.emit('message', m);
        }
      } while (this._again && this._state !== CLOSED);
    } finally {
      this._servicing = false;
    }
    this._arm();
  }

  _event(ev) {
    switch (ev.type) {
      case 'connected':
        this._state = OPEN;
        this.emit('connect', ev.negotiated);
        break;
      case 'closeNotify':
        // Deliver what arrived before the close_notify, then answer it (RFC 5246 §7.2.1).
        while (this.listenerCount('message') > 0) {
          const m = nextRecord(this._conn);
          if (m === null) break;
          this.emit('message', m);
        }
        this.close();
        break;
      case 'failed':
        this._fail(dtlsError(ev.code, ev.message));
        break;
      default:
        break;
    }
  }

  /** The one timer: re-armed from pollTimeout() after every call into the engine. */
  _arm() {
    const deadline = this._state === CLOSED ? null : this._conn.pollTimeout();
    if (deadline === this._deadline) return;
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    this._deadline = deadline;
    if (deadline !== null) {
      this._timer = setTimeout(() => this._onTimer(), Math.max(0, deadline - now()));
    }
  }

  /** A fatal error: the alert (if any) goes out, 'error' then 'close'. */
  _fail(err) {
    if (this._state === CLOSED) return;
    const t = now();
    try {
      for (let d = nextDatagram(this._conn, t); d !== null; d = nextDatagram(this._conn, t)) {
        this._transport.send(d);
      }
    } catch {
      // Nothing more can be sent; the error below is what matters.
    }
    this._finish();
    this._emitError(err);
  }

  _emitError(err) {
    if (this.listenerCount('error') > 0 || this._server === null) {
      // A client without an 'error' listener throws, as every Node socket does.
      this.emit('error', err);
    } else if (this._server.listenerCount('clientError') > 0) {
      // A server's peer nobody listens to: report it on the server, never crash it.
      this._server.emit('clientError', err, this);
    }
  }

  _finish() {
    if (this._state === CLOSED) return;
    this._state = CLOSED;
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
    this._deadline = null;
    this._transport.release();
    process.nextTick(() => this.emit('close'));
  }
}

// ---------------------------------------------------------------------------------------------
// Client

async function resolve(host) {
  const family = net.isIP(host);
  if (family !== 0) return { address: host, family };
  return dns.promises.lookup(host);
}

/**
 * Connects to a DTLS server. Resolves with the socket once the handshake completes; rejects
 * with the handshake's error (e.g. code DTLS_ERR_FINGERPRINT_MISMATCH, or
 * DTLS_ERR_HANDSHAKE_TIMEOUT after the config's handshake deadline).
 *
 * @param {object} options
 * @param {string} [options.host='127.0.0.1']
 * @param {number} options.port
 * @param {Config} options.config
 * @param {string[]} [options.peerFingerprints] pinned server certificate fingerprints
 * @param {string} [options.serverName] SNI and the name webpki checks
 * @param {AbortSignal} [options.signal] aborts the handshake
 * @returns {Promise<DtlsSocket>}
 */
async function connect(options) {
  if (options === null || typeof options !== 'object') throw invalid('connect: options must be an object');
  native._checkKeys(options, 'ConnectOptions', 'connect');
  const { host = '127.0.0.1', port, config, peerFingerprints, serverName, signal } = options;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(`connect: port must be an integer in 1..65535, got ${port}`);
  }
  if (!(config instanceof Config)) throw invalid('connect: config must be a Config');
  if (typeof host !== 'string') throw invalid('connect: host must be a string');
  signal?.throwIfAborted();

  const { address, family } = await resolve(host);
  const udp = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    // A connected UDP socket: the kernel drops datagrams from anyone but the server.
    await new Promise((ok, fail) => {
      udp.once('error', fail);
      udp.connect(port, address, () => {
        udp.off('error', fail);
        ok();
      });
    });
  } catch (err) {
    udp.close();
    throw err;
  }

  let pending = 0;
  let releasing = false;
  const transport = {
    send(buf) {
      pending += 1;
      udp.send(buf, () => {
        // A send error is a lost datagram: retransmission covers it.
        pending -= 1;
        if (releasing && pending === 0) udp.close();
      });
    },
    release() {
      releasing = true;
      // Close only after the last datagram (a close_notify or a fatal alert) left.
      if (pending === 0) udp.close();
    },
  };

  let conn;
  try {
    conn = new Connection(config, 'client', now(), { serverName, peerFingerprints });
  } catch (err) {
    udp.close();
    throw err;
  }
  const socket = new DtlsSocket(conn, transport, { address, port, family: family === 6 ? 'IPv6' : 'IPv4' }, null);
  udp.on('message', (msg) => socket._receive(msg));
  udp.on('error', (err) => {
    if (!ignorableSocketError(err)) socket._fail(err);
  });

  return new Promise((ok, fail) => {
    const onAbort = () => socket._fail(signal.reason ?? dtlsError('ABORT_ERR', 'the handshake was aborted'));
    const cleanup = () => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = () => {
      cleanup();
      ok(socket);
    };
    const onError = (err) => {
      cleanup();
      fail(err);
    };
    socket.on('connect', onConnect);
    socket.on('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
    // The ClientHello goes out and the retransmission timer starts.
    socket._service();
  });
}

// ---------------------------------------------------------------------------------------------
// Server

/**
 * Many DTLS peers on one UDP socket. Events: 'listening', 'connection' (DtlsSocket, after its
 * handshake), 'clientError' (err, socket: a peer's handshake or association failed and the
 * socket had no 'error' listener), 'error' (the UDP socket failed), 'close'.
 */
class DtlsServer extends EventEmitter {
  /**
   * @param {Config} config a server config (with a certificate)
   * @param {{maxConnections?: number}} [options] maxConnections bounds the associations held
   *   at once, handshaking or not (default 10000); ClientHellos beyond it are dropped.
   */
  constructor(config, options = {}) {
    super();
    if (!(config instanceof Config)) throw invalid('createServer: config must be a Config');
    native._checkKeys(options, 'ServerOptions', 'createServer');
    const { maxConnections = 10000 } = options;
    if (!Number.isInteger(maxConnections) || maxConnections < 1) {
      throw invalid('createServer: maxConnections must be a positive integer');
    }
    // Fail here, not on the first ClientHello, when the config cannot serve (no certificate).
    new Connection(config, 'server', 0).close();
    this._config = config;
    this._cookies = config.cookieExchange;
    this._door = new ServerFrontDoor(config);
    this._maxConnections = maxConnections;
    /** @type {Map<string, DtlsSocket>} "ip:port" -> association */
    this._sessions = new Map();
    this._udp = null;
    this._pending = 0;
    this._closing = false;
    this._closed = false;
    /** Datagrams that never reached an association. */
    this.stats = { helloVerifyRequests: 0, dropped: 0, accepted: 0 };
  }

  /** The number of associations held (handshaking or connected). */
  get connections() {
    return this._sessions.size;
  }

  /**
   * Binds the UDP socket. Resolves with its address.
   * @param {number} [port=0]
   * @param {string} [host='127.0.0.1']
   */
  listen(port = 0, host = '127.0.0.1') {
    if (this._udp !== null) return Promise.reject(dtlsError('DTLS_ERR_INVALID_ARGUMENT', 'the server is already listening'));
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      return Promise.reject(invalid(`listen: port must be an integer in 0..65535, got ${port}`));
    }
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    this._udp = udp;
    udp.on('message', (msg, rinfo) => this._onMessage(msg, rinfo));
    return new Promise((ok, fail) => {
      udp.once('error', fail);
      udp.bind(port, host, () => {
        udp.off('error', fail);
        udp.on('error', (err) => {
          if (!ignorableSocketError(err)) this.emit('error', err);
        });
        this.emit('listening');
        ok(udp.address());
      });
    });
  }

  /** The bound address ({address, family, port}). */
  address() {
    if (this._udp === null) throw dtlsError('DTLS_ERR_INVALID_ARGUMENT', 'the server is not listening');
    return this._udp.address();
  }

  /** Sends close_notify to every peer, then closes the UDP socket. Resolves on 'close'. */
  close() {
    return new Promise((ok) => {
      if (this._closed || (this._udp === null && !this._closing)) {
        ok(); // never listened, or already closed
        return;
      }
      this.once('close', ok);
      if (this._closing) return;
      this._closing = true;
      for (const s of [...this._sessions.values()]) s.close();
      this._maybeCloseUdp();
    });
  }

  _maybeCloseUdp() {
    if (this._closing && this._pending === 0 && this._udp !== null) {
      const udp = this._udp;
      this._udp = null;
      udp.close(() => {
        this._closed = true;
        this.emit('close');
      });
    }
  }

  _sendTo(buf, port, address) {
    if (this._udp === null) return;
    this._pending += 1;
    this._udp.send(buf, port, address, () => {
      this._pending -= 1;
      this._maybeCloseUdp();
    });
  }

  _onMessage(msg, rinfo) {
    if (this._closing) return;
    const key = `${rinfo.address}:${rinfo.port}`;
    const known = this._sessions.get(key);
    if (known !== undefined) {
      // RFC 6347 §4.2.8: a fresh ClientHello on an established association's address is a
      // client that lost its state (restarted, same port). Only one that passes the cookie
      // check replaces the association: a forged one cannot, as its sender never saw the
      // cookie. Without cookies, nothing may replace it.
      if (!(known.connected && this._cookies && isClientHello(msg))) {
        known._receive(msg);
        return;
      }
      const v = this._door.admit(now(), key, msg);
      if (v.verdict === 'reply') {
        this.stats.helloVerifyRequests += 1;
        this._sendTo(v.reply, rinfo.port, rinfo.address);
        return;
      }
      if (v.verdict === 'held') return; // a fragment of a new ClientHello, kept by the door
      if (v.verdict !== 'accept') {
        known._receive(msg);
        return;
      }
      known._finish();
      this._accept(v.datagram, key, rinfo);
      return;
    }
    if (this._sessions.size >= this._maxConnections) {
      this.stats.dropped += 1;
      return;
    }
    // admit() serves every config: with DTLS 1.3 enabled it answers a whole ClientHello
    // (reassembled in the door's bounded pool when it spans datagrams) with a
    // HelloRetryRequest cookie; a DTLS 1.2 ClientHello gets a HelloVerifyRequest as before.
    const v = this._door.admit(now(), key, msg);
    if (v.verdict === 'reply') {
      // Stateless: the cookie is all the peer gets until it proves its address.
      this.stats.helloVerifyRequests += 1;
      this._sendTo(v.reply, rinfo.port, rinfo.address);
      return;
    }
    if (v.verdict === 'held') return;
    if (v.verdict !== 'accept') {
      this.stats.dropped += 1;
      return;
    }
    this._accept(v.datagram, key, rinfo);
  }

  /** Creates the association for a ClientHello the front door accepted, and feeds it `hello`. */
  _accept(hello, key, rinfo) {
    if (this._sessions.size >= this._maxConnections) {
      this.stats.dropped += 1;
      return;
    }
    this.stats.accepted += 1;
    const conn = new Connection(this._config, 'server', now(), { peerAddress: key });
    const transport = {
      send: (buf) => this._sendTo(buf, rinfo.port, rinfo.address),
      release: () => {
        if (this._sessions.get(key) === socket) this._sessions.delete(key);
      },
    };
    const socket = new DtlsSocket(conn, transport, { address: rinfo.address, port: rinfo.port, family: rinfo.family }, this);
    this._sessions.set(key, socket);
    socket.once('connect', () => this.emit('connection', socket));
    socket._receive(hello);
  }
}

/**
 * A DTLS server on one UDP socket; call `listen()` next.
 * @param {Config} config
 * @param {(socket: DtlsSocket) => void} [onConnection] a 'connection' listener
 * @param {{maxConnections?: number}} [options]
 */
function createServer(config, onConnection, options) {
  if (onConnection !== undefined && typeof onConnection !== 'function') {
    throw invalid('createServer: onConnection must be a function');
  }
  const server = new DtlsServer(config, options);
  if (onConnection) server.on('connection', onConnection);
  return server;
}

module.exports = { connect, createServer, DtlsSocket, DtlsServer };
