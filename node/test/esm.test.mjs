// The ESM entry points (index.mjs, lib/dgram.mjs) export exactly what the CommonJS ones do,
// the same objects, through package.json "exports".
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

import * as esm from 'dtls-rs';
import * as esmDgram from 'dtls-rs/dgram';

const require = createRequire(import.meta.url);

test('dtls-rs: the same exports from import and require', () => {
  const cjs = require('dtls-rs');
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
  for (const k of Object.keys(cjs)) assert.equal(esm[k], cjs[k], k);
  assert.equal(esm.default, cjs);
  assert.ok(new esm.Config() instanceof cjs.Config);
});

test('dtls-rs/dgram: the same exports from import and require', () => {
  const cjs = require('dtls-rs/dgram');
  assert.deepEqual(Object.keys(esmDgram).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort());
  for (const k of Object.keys(cjs)) assert.equal(esmDgram[k], cjs[k], k);
});
