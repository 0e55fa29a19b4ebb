// The committed index.d.ts is what napi-derive generates from bindings/node (scripts/build.js
// writes a fresh copy to build/index.d.ts on every build): this test fails when it is stale.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

test('index.d.ts matches the declarations generated from the Rust source', () => {
  const generated = path.join(ROOT, 'build', 'index.d.ts');
  assert.ok(fs.existsSync(generated), 'build/index.d.ts is missing: run `npm install` (or node scripts/build.js)');
  const committed = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8');
  assert.equal(
    committed,
    fs.readFileSync(generated, 'utf8'),
    'index.d.ts is stale: run `npm run types` and commit the result',
  );
});

test('index.d.ts declares every export of the native module', () => {
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8');
  const api = require('../index.js');
  for (const [name, value] of Object.entries(api)) {
    const kind = /^[A-Z]/.test(name) ? 'class' : typeof value === 'function' ? 'function' : 'const';
    assert.match(dts, new RegExp(`export declare ${kind} ${name}\\b`), `${name} is not declared`);
  }
});

test('the type generator renders each kind of napi item', () => {
  const { renderTypeDefs } = require('../scripts/build.js');
  const line = (o) => JSON.stringify(o);
  const out = renderTypeDefs(
    [
      line({ kind: 'impl', name: 'B', def: 'get x(): number' }),
      line({ kind: 'struct', name: 'B', js_doc: '/** doc */\n', def: '' }),
      line({ kind: 'struct', name: 'A', def: 'constructor()' }),
      line({ kind: 'fn', name: 'f', def: 'function f(): void' }),
      line({ kind: 'interface', name: 'I', def: 'a: number' }),
      line({ kind: 'type', name: 'U', def: "  | { t: 'a' }\n  | { t: 'b' }" }),
    ].join('\n'),
  );
  const body = out.split('/* eslint-disable */\n')[1];
  assert.equal(
    body,
    [
      '',
      'export declare class A {',
      '  constructor()',
      '}',
      '',
      '/** doc */',
      'export declare class B {',
      '  get x(): number',
      '}',
      '',
      // Code-point order: upper case first.
      'export interface I {',
      '  a: number',
      '}',
      '',
      'export type U =',
      "  | { t: 'a' }",
      "  | { t: 'b' }",
      '',
      'export declare function f(): void',
      '',
    ].join('\n'),
  );
});
