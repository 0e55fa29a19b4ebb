// dtls-rs: a sans-IO DTLS 1.2 engine written in Rust, for Node.
//
// The native module (dtls-rs.node) is built from source by `npm install` (scripts/build.js);
// its API and types (index.d.ts) are generated from bindings/node. For UDP sockets, see
// `dtls-rs/dgram`.
//
// The one thing this file adds: every error a call throws carries a `DTLS_ERR_*` code. The
// engine's errors already do. Errors from napi's argument conversion (a string where a
// Uint8Array belongs, a plain object where a Config belongs) carry napi's status names
// instead ('InvalidArg', 'NumberExpected', ...) and terse messages, so each method is wrapped
// to rethrow those as a TypeError with code DTLS_ERR_INVALID_ARGUMENT that names the method.
// The wrapper costs a JavaScript call frame, and nothing when no error is thrown (see bench.js
// for the overhead measured through this API).
'use strict';

const path = require('node:path');

let native;
try {
  native = require(path.join(__dirname, 'dtls-rs.node'));
} catch (e) {
  const err = new Error(
    `dtls-rs: cannot load the native module (${e.message}). It is built from source by ` +
      '`npm install` in the package directory (needs cargo), or `node scripts/build.js`.',
  );
  err.code = 'DTLS_ERR_NATIVE_MODULE';
  err.cause = e;
  throw err;
}

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

const api = {};
for (const [name, value] of Object.entries(native)) {
  if (typeof value !== 'function') api[name] = value;
  else if (/^[A-Z]/.test(name)) api[name] = wrapClass(value);
  else api[name] = wrap(value, name);
}

module.exports = api;
