// dtls-rs: a sans-IO DTLS 1.2 engine written in Rust, for Node.
//
// The native module comes prebuilt in a platform package (dtls-rs-linux-x64-gnu, an optional
// dependency) or is built from source by `npm install` (scripts/install.js, from the Rust
// sources the package carries); its API and types (index.d.ts) are generated from
// bindings/node. For UDP sockets, see `dtls-rs/dgram`; ESM users get the same through
// index.mjs and lib/dgram.mjs.
//
// The one thing this file adds: every error a call throws carries a `DTLS_ERR_*` code. The
// engine's errors already do. Errors from napi's argument conversion (a string where a
// Uint8Array belongs, a plain object where a Config belongs) carry napi's status names
// instead ('InvalidArg', 'NumberExpected', ...) and terse messages, so each method is wrapped
// to rethrow those as a TypeError with code DTLS_ERR_INVALID_ARGUMENT that names the method.
// The wrapper costs a JavaScript call frame, and nothing when no error is thrown (see bench.js
// for the overhead measured through this API).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// The prebuilt module of each platform package (optionalDependencies, added by
// scripts/pack.js), by `${process.platform}-${process.arch}` and libc.
const PREBUILT = {
  'linux-x64-gnu': 'dtls-rs-linux-x64-gnu',
};

function platformKey() {
  let key = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    // glibcVersionRuntime is set on glibc and absent on musl.
    const header = process.report && process.report.getReport().header;
    key += header && header.glibcVersionRuntime ? '-gnu' : '-musl';
  }
  return key;
}

/** The native module: built from source in this directory (`npm install` without a
 * prebuilt package, or a development build), else the platform package's prebuilt one. */
function loadNative() {
  const local = path.join(__dirname, 'dtls-rs.node');
  const errors = [];
  if (fs.existsSync(local)) {
    try {
      return require(local);
    } catch (e) {
      errors.push(`${local}: ${e.message}`);
    }
  }
  const pkg = PREBUILT[platformKey()];
  if (pkg) {
    try {
      return require(pkg);
    } catch (e) {
      errors.push(`${pkg}: ${e.message}`);
    }
  }
  const err = new Error(
    `dtls-rs: no native module for ${platformKey()} (${errors.join('; ') || 'none built, no prebuilt package'}). ` +
      'Install the prebuilt package for your platform, or build from source with ' +
      '`node scripts/build.js` in the package directory (needs cargo).',
  );
  err.code = 'DTLS_ERR_NATIVE_MODULE';
  throw err;
}

const native = loadNative();

// napi statuses that mean "this argument has the wrong type" (napi's Status names).
const ARGUMENT_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'DateExpected',
  'ArrayBufferExpected',
  'DetachableArraybufferExpected',
]);

// napi's wording speaks Rust; say it in JavaScript terms.
const RUST_TYPES = {
  f64: 'a number',
  f32: 'a number',
  u32: 'a number',
  i32: 'a number',
  i64: 'a number',
  u64: 'a number',
  u16: 'a number',
  u8: 'a number',
  String: 'a string',
  bool: 'a boolean',
};
const REWORDINGS = [
  [/Get TypedArray info failed|Expected \$name, got \d+/, 'expected a Uint8Array or Buffer'],
  [/Failed to recover `(\w+)` type from napi value/, 'expected a $1'],
  [/(?:Unwrap value \[[\w:]*::|Value is not an instance of class `[\w:]*::)(\w+)(?:\] from class failed|`)/, 'expected a $1'],
  [/Failed to get Array length/, 'expected an array'],
  [/Missing field `(\w+)`/, 'missing field $1'],
  [
    /Failed to convert (?:napi value (\w+) ?|JavaScript value `(\w+)[^`]*` |napi value )into rust type `(\w+)`/,
    (_, a, b, rust) => `expected ${RUST_TYPES[rust] || rust}${a || b ? `, got ${(a || b).toLowerCase()}` : ''}`,
  ],
  [/ on (\w+)\.(\w+)$/, ' ($1.$2)'],
];

function reword(message) {
  let m = String(message);
  for (const [re, to] of REWORDINGS) m = m.replace(re, to);
  return m;
}

/** The error to throw for `e`, raised by `where` (a method of `className`, if any). */
function translate(e, where, className) {
  let message;
  if (e instanceof TypeError && e.message === 'Illegal invocation' && className) {
    // V8's receiver check: the method was called on something that is not an instance.
    message = `called on an object that is not a ${className}`;
  } else if (e !== null && typeof e === 'object' && ARGUMENT_STATUSES.has(e.code)) {
    message = reword(e.message);
  } else {
    return e;
  }
  const err = new TypeError(`${where}: invalid argument: ${message}`);
  err.code = 'DTLS_ERR_INVALID_ARGUMENT';
  err.cause = e;
  return err;
}

/** Wraps `fn` so argument-conversion errors are translated. Four parameters cover every
 * function; napi ignores the surplus `undefined`s and reads a missing one as `undefined`. */
function wrap(fn, where, className) {
  return {
    [fn.name || where](a, b, c, d) {
      try {
        return fn.call(this, a, b, c, d);
      } catch (e) {
        throw translate(e, where, className);
      }
    },
  }[fn.name || where];
}

/**
 * A constructor standing in for the native class `cls`: same prototype (so `instanceof`
 * holds for instances the native side creates, e.g. Certificate.generate()), methods and
 * static factories wrapped. napi defines the statics non-writable, so they are wrapped on the
 * stand-in rather than patched in place.
 */
function wrapClass(cls) {
  const name = cls.name;
  const proto = cls.prototype;
  for (const key of Object.getOwnPropertyNames(proto)) {
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    if (key === 'constructor' || typeof desc.value !== 'function') continue;
    Object.defineProperty(proto, key, { ...desc, value: wrap(desc.value, `${name}.prototype.${key}`, name) });
  }
  const Class = {
    [name]: function (a, b, c, d) {
      if (new.target === undefined) {
        const err = new TypeError(`Class constructor ${name} cannot be invoked without 'new'`);
        err.code = 'DTLS_ERR_INVALID_ARGUMENT';
        throw err;
      }
      try {
        // A subclass (`class X extends Connection`) passes its own new.target along.
        return Reflect.construct(cls, [a, b, c, d], new.target === Class ? cls : new.target);
      } catch (e) {
        throw translate(e, `new ${name}`);
      }
    },
  }[name];
  Class.prototype = proto;
  Object.defineProperty(proto, 'constructor', { value: Class, writable: true, configurable: true });
  for (const key of Object.getOwnPropertyNames(cls)) {
    const desc = Object.getOwnPropertyDescriptor(cls, key);
    if (typeof desc.value !== 'function') continue;
    Object.defineProperty(Class, key, { value: wrap(desc.value, `${name}.${key}`), enumerable: false, writable: true, configurable: true });
  }
  return Class;
}

// ---------------------------------------------------------------------------------------------
// Option objects: napi reads the fields it knows and ignores the rest, so a misspelt key
// (`peerFingerprint`, `srtpProfile`) would silently do nothing. Every key is checked here
// against the names the native side reads (test/options.test.js holds these lists equal to
// the generated interfaces in index.d.ts).

const OPTION_KEYS = {
  ConfigOptions: [
    'certificate',
    'peerVerification',
    'rootCertificatesPem',
    'peerFingerprints',
    'clientAuth',
    'versions',
    'cipherSuites',
    'groups',
    'extendedMasterSecret',
    'cookieExchange',
    'cookieSecret',
    'mtu',
    'timers',
    'alpn',
    'srtpProfiles',
    'srtpMki',
    'srtpAcceptMki',
    'rngSeed',
    'fixedWallClock',
  ],
  TimerOptions: ['initialRtoMs', 'maxRtoMs', 'handshakeTimeoutMs'],
  ConnectionOptions: ['serverName', 'peerFingerprints', 'peerAddress'],
  // lib/dgram.d.ts
  ConnectOptions: ['host', 'port', 'config', 'peerFingerprints', 'serverName', 'signal'],
  ServerOptions: ['maxConnections'],
};

/** Throws a TypeError (code DTLS_ERR_INVALID_ARGUMENT) naming the unknown keys of `obj` and
 * the valid ones. Non-objects are left to napi's own checks. */
function checkKeys(obj, kind, where) {
  if (obj === null || typeof obj !== 'object') return;
  const valid = OPTION_KEYS[kind];
  const unknown = Object.keys(obj).filter((k) => !valid.includes(k));
  if (unknown.length === 0) return;
  const err = new TypeError(
    `${where}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ` +
      `valid: ${valid.join(', ')}`,
  );
  err.code = 'DTLS_ERR_INVALID_ARGUMENT';
  throw err;
}

const api = {};
for (const [name, value] of Object.entries(native)) {
  if (typeof value !== 'function') api[name] = value;
  else if (/^[A-Z]/.test(name)) api[name] = wrapClass(value);
  else api[name] = wrap(value, name);
}

const NativeConfig = api.Config;
api.Config = {
  Config: function (options) {
    if (new.target === undefined) return NativeConfig(options); // throws: needs `new`
    if (options !== undefined) {
      checkKeys(options, 'ConfigOptions', 'new Config');
      if (options !== null && typeof options === 'object') {
        checkKeys(options.timers, 'TimerOptions', 'new Config (timers)');
      }
    }
    return Reflect.construct(NativeConfig, [options], new.target === api.Config ? NativeConfig : new.target);
  },
}.Config;
setupStandIn(api.Config, NativeConfig);

const NativeConnection = api.Connection;
api.Connection = {
  Connection: function (config, role, now, options) {
    if (new.target === undefined) return NativeConnection(config, role, now, options); // throws
    if (options !== undefined) {
      checkKeys(options, 'ConnectionOptions', 'new Connection');
    }
    return Reflect.construct(
      NativeConnection,
      [config, role, now, options],
      new.target === api.Connection ? NativeConnection : new.target,
    );
  },
}.Connection;
setupStandIn(api.Connection, NativeConnection);

/** Makes `Outer` (a key-checking constructor) stand for `Inner`: same prototype and statics. */
function setupStandIn(Outer, Inner) {
  Outer.prototype = Inner.prototype;
  Object.defineProperty(Inner.prototype, 'constructor', { value: Outer, writable: true, configurable: true });
  for (const key of Object.getOwnPropertyNames(Inner)) {
    if (['length', 'name', 'prototype'].includes(key)) continue;
    Object.defineProperty(Outer, key, Object.getOwnPropertyDescriptor(Inner, key));
  }
}

// openInPlace: the native side returns the plaintext's [start, end) inside `datagram`; the
// caller gets the view itself.
const openInPlaceRange = api.Connection.prototype.openInPlace;
Object.defineProperty(api.Connection.prototype, 'openInPlace', {
  value: function openInPlace(datagram, now) {
    const range = openInPlaceRange.call(this, datagram, now);
    return range === null ? null : datagram.subarray(range[0], range[1]);
  },
  writable: true,
  configurable: true,
});

module.exports = api;
// For lib/dgram.js: the same key check for its own option objects.
Object.defineProperty(api, '_checkKeys', { value: checkKeys, enumerable: false });
