// Hand-written declarations for lib/dgram.js (the native API's are generated: ../index.d.ts).

import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Config, Connection, Negotiated } from '../index';

/** Every `code` an error from this package can carry. */
export type DtlsErrorCode =
  | 'DTLS_ERR_INVALID_ARGUMENT'
  | 'DTLS_ERR_BUFFER_TOO_SMALL'
  | 'DTLS_ERR_NOT_CONNECTED'
  | 'DTLS_ERR_CLOSED'
  | 'DTLS_ERR_EXPORTER_UNAVAILABLE'
  | 'DTLS_ERR_INVALID_CONFIG'
  | 'DTLS_ERR_CERTIFICATE'
  | 'DTLS_ERR_NO_VERIFIER'
  | 'DTLS_ERR_HANDSHAKE_TIMEOUT'
  | 'DTLS_ERR_ALERT_RECEIVED'
  | 'DTLS_ERR_PEER_MISBEHAVED'
  | 'DTLS_ERR_NO_COMMON_PARAMETERS'
  | 'DTLS_ERR_EMS_REQUIRED'
  | 'DTLS_ERR_KEY_USAGE_LIMIT'
  | 'DTLS_ERR_INTERNAL'
  | 'DTLS_ERR_FINGERPRINT_MISMATCH'
  | 'DTLS_ERR_CERTIFICATE_REJECTED'
  | 'DTLS_ERR_NO_PEER_CERTIFICATE'
  | 'DTLS_ERR_BAD_SIGNATURE'
  | 'DTLS_ERR_BAD_FINISHED'
  | 'DTLS_ERR_NATIVE_MODULE';

/** An error thrown by, or emitted from, this package. */
export interface DtlsError extends Error {
  code: DtlsErrorCode;
}

/** One DTLS association over UDP. */
export declare class DtlsSocket extends EventEmitter {
  private constructor();
  /** The peer's address. */
  readonly remoteAddress: string;
  /** The peer's port. */
  readonly remotePort: number;
  /** `'IPv4'` or `'IPv6'`. */
  readonly remoteFamily: string;
  /** The engine association (exporters, SRTP keys, peer certificates, stats). */
  readonly connection: Connection;
  /** True once the handshake completed, until close. */
  readonly connected: boolean;
  /** True after close (ours, the peer's, or a failure). */
  readonly closed: boolean;
  /** The largest payload `send` accepts. */
  readonly maxSendLen: number;
  /** RFC 5705 keying material exporter. */
  exportKeyingMaterial(label: string, length: number, context?: Uint8Array | null): Buffer;
  /** The peer's certificate chain in DER, leaf first. */
  peerCertificates(): Buffer[];
  /**
   * Sends one application record (a string as UTF-8). Throws DTLS_ERR_NOT_CONNECTED before
   * 'connect', DTLS_ERR_CLOSED after close, DTLS_ERR_INVALID_ARGUMENT over `maxSendLen`.
   */
  send(data: Uint8Array | string): void;
  /** Sends close_notify and closes; 'close' follows. Idempotent. */
  close(): void;

  on(event: 'connect', listener: (negotiated: Negotiated) => void): this;
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'error', listener: (err: DtlsError) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'connect', listener: (negotiated: Negotiated) => void): this;
  once(event: 'message', listener: (data: Buffer) => void): this;
  once(event: 'error', listener: (err: DtlsError) => void): this;
  once(event: 'close', listener: () => void): this;
  off(event: 'connect', listener: (negotiated: Negotiated) => void): this;
  off(event: 'message', listener: (data: Buffer) => void): this;
  off(event: 'error', listener: (err: DtlsError) => void): this;
  off(event: 'close', listener: () => void): this;
}

export interface ConnectOptions {
  /** Server host name or address (default `'127.0.0.1'`). */
  host?: string;
  /** Server port. */
  port: number;
  /** Client configuration. */
  config: Config;
  /** Pinned server certificate fingerprints, `sha-256 AB:CD:...`. */
  peerFingerprints?: string[];
  /** SNI, and the name webpki verification checks. */
  serverName?: string;
  /** Aborts the handshake. */
  signal?: AbortSignal;
}

/**
 * Connects to a DTLS server; resolves once the handshake completed, rejects with its error
 * (a DtlsError, e.g. DTLS_ERR_FINGERPRINT_MISMATCH or DTLS_ERR_HANDSHAKE_TIMEOUT).
 */
export declare function connect(options: ConnectOptions): Promise<DtlsSocket>;

export interface ServerOptions {
  /** Most associations held at once, handshaking or not (default 10000). */
  maxConnections?: number;
}

/** Datagrams that never reached an association. */
export interface ServerStats {
  /** Stateless cookie replies sent by the front door (HelloVerifyRequests for DTLS 1.2,
   * HelloRetryRequests for DTLS 1.3). */
  helloVerifyRequests: number;
  /** Datagrams dropped before reaching an association (junk, or over maxConnections). */
  dropped: number;
  /** ClientHellos accepted (an association was created). */
  accepted: number;
}

/** Many DTLS peers on one UDP socket, keyed by "ip:port". */
export declare class DtlsServer extends EventEmitter {
  constructor(config: Config, options?: ServerOptions);
  /** Front-door counters. */
  readonly stats: ServerStats;
  /** Associations held (handshaking or connected). */
  readonly connections: number;
  /** Binds (default 127.0.0.1, an ephemeral port); resolves with the address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** The bound address. */
  address(): AddressInfo;
  /** close_notify to every peer, then the UDP socket closes. */
  close(): Promise<void>;

  on(event: 'listening', listener: () => void): this;
  on(event: 'connection', listener: (socket: DtlsSocket) => void): this;
  on(event: 'clientError', listener: (err: DtlsError, socket: DtlsSocket) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  once(event: 'listening', listener: () => void): this;
  once(event: 'connection', listener: (socket: DtlsSocket) => void): this;
  once(event: 'clientError', listener: (err: DtlsError, socket: DtlsSocket) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close', listener: () => void): this;
}

/** A DTLS server over one UDP socket; call `listen()` next. */
export declare function createServer(
  config: Config,
  onConnection?: (socket: DtlsSocket) => void,
  options?: ServerOptions,
): DtlsServer;
