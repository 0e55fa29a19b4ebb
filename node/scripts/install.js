#!/usr/bin/env node
// The npm `install` step. With the prebuilt platform package for this machine installed
// (dtls-rs-linux-x64-gnu, an optional dependency), there is nothing to do. Otherwise the
// native module is built from the Rust sources this package carries (native/: the engine
// and the binding crate, with Cargo.lock), which needs cargo: scripts/build.js.
//
// DTLS_RS_BUILD_FROM_SOURCE=1 builds from source even when a prebuilt module is present.
'use strict';

const path = require('node:path');
const { spawnSync } = require('node:child_process');

const PREBUILT = { 'linux-x64-gnu': 'dtls-rs-linux-x64-gnu' };

function platformKey() {
  let key = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    const header = process.report && process.report.getReport().header;
    key += header && header.glibcVersionRuntime ? '-gnu' : '-musl';
  }
  return key;
}

function prebuiltLoads() {
  const pkg = PREBUILT[platformKey()];
  if (!pkg) return false;
  try {
    require(pkg);
    console.log(`dtls-rs: using the prebuilt native module from ${pkg}`);
    return true;
  } catch {
    return false;
  }
}

if (process.env.DTLS_RS_BUILD_FROM_SOURCE || !prebuiltLoads()) {
  console.log(`dtls-rs: no prebuilt native module for ${platformKey()}: building from source`);
  const r = spawnSync(process.execPath, [path.join(__dirname, 'build.js'), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(r.status === null ? 1 : r.status);
}
