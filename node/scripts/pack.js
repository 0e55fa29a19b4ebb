#!/usr/bin/env node
// Packs the Node packages the way napi-rs projects ship, into the directory given by --out:
//
//   dtls-rs-linux-x64-gnu-<v>.tgz  the platform package: the prebuilt release module
//   dtls-rs-<v>.tgz                the main package: JavaScript, types, and a build-from-source
//                                  fallback: native/dtls-proto (the engine, as `cargo package`
//                                  makes it) and native/dtls-node (the binding crate with its
//                                  Cargo.lock), vendored here; optionalDependencies names the
//                                  platform package, so npm fetches it where it fits and the
//                                  install step (scripts/install.js) builds only without it.
//
//   node scripts/pack.js --out DIR [--no-build]
//
// Staging happens in a temporary directory; nothing is written into the source tree except
// what scripts/build.js writes (dtls-rs.node, build/). CARGO_TARGET_DIR as in build.js.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PKG_DIR = path.resolve(__dirname, '..');
const ROOT = path.resolve(PKG_DIR, '..');
const PLATFORM = 'linux-x64-gnu';

function fail(msg) {
  console.error(`pack: ${msg}`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
  return r.stdout;
}

function copy(src, dest) {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.cpSync(src, dest, { recursive: true });
}

function npmPack(dir, out) {
  const json = run('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir });
  return path.join(out, JSON.parse(json)[0].filename);
}

function main() {
  const argv = process.argv.slice(2);
  const outArg = argv.indexOf('--out');
  if (outArg < 0 || !argv[outArg + 1]) fail('usage: node scripts/pack.js --out DIR [--no-build]');
  const out = path.resolve(argv[outArg + 1]);
  fs.mkdirSync(out, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG_DIR, 'package.json'), 'utf8'));
  const targetDir = path.resolve(
    process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'dtls-target'),
  );
  const env = { ...process.env, CARGO_TARGET_DIR: targetDir };

  if (!argv.includes('--no-build')) {
    run(process.execPath, [path.join(__dirname, 'build.js')], { env, stdio: 'inherit' });
  }
  const addon = path.join(PKG_DIR, 'dtls-rs.node');
  if (!fs.existsSync(addon)) fail(`${addon} is missing: build it first`);

  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'dtls-rs-pack-'));
  try {
    // The platform package.
    const plat = path.join(stage, PLATFORM);
    const platPkg = JSON.parse(fs.readFileSync(path.join(PKG_DIR, 'npm', PLATFORM, 'package.json'), 'utf8'));
    if (platPkg.version !== pkg.version) fail(`npm/${PLATFORM}/package.json is not at version ${pkg.version}`);
    copy(path.join(PKG_DIR, 'npm', PLATFORM), plat);
    fs.copyFileSync(addon, path.join(plat, platPkg.main));
    for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) fs.copyFileSync(path.join(PKG_DIR, f), path.join(plat, f));
    const platTgz = npmPack(plat, out);

    // The main package: the published files, then the vendored Rust sources.
    const main = path.join(stage, 'dtls-rs');
    for (const f of pkg.files) {
      if (f === 'native/') continue;
      const src = path.join(PKG_DIR, f);
      if (!fs.existsSync(src)) fail(`${f} (in package.json "files") does not exist`);
      copy(src, path.join(main, f));
    }
    const staged = { ...pkg, optionalDependencies: { [platPkg.name]: platPkg.version } };
    delete staged.devDependencies;
    fs.writeFileSync(path.join(main, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);

    // The engine exactly as `cargo package` ships it (its include list, a normalized manifest).
    run('cargo', ['package', '-p', 'dtls-proto', '--no-verify', '--allow-dirty', '--offline', '--quiet'], {
      cwd: ROOT,
      env,
    });
    const crate = path.join(targetDir, 'package', `dtls-proto-${pkg.version}.crate`);
    const native = path.join(main, 'native');
    fs.mkdirSync(native, { recursive: true });
    run('tar', ['-xzf', crate, '-C', native]);
    fs.renameSync(path.join(native, `dtls-proto-${pkg.version}`), path.join(native, 'dtls-proto'));
    for (const f of ['Cargo.toml.orig', '.cargo_vcs_info.json']) fs.rmSync(path.join(native, 'dtls-proto', f), { force: true });
    for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) fs.copyFileSync(path.join(ROOT, f), path.join(native, 'dtls-proto', f));

    // The binding crate, pointed at the vendored engine.
    const crateDir = path.join(ROOT, 'bindings', 'node');
    const binding = path.join(native, 'dtls-node');
    for (const f of ['Cargo.lock', 'build.rs', 'src', 'LICENSE-MIT', 'LICENSE-APACHE']) {
      copy(path.join(crateDir, f), path.join(binding, f));
    }
    const manifest = fs.readFileSync(path.join(crateDir, 'Cargo.toml'), 'utf8');
    const vendored = manifest.replace('dtls-proto = { path = "../.." }', 'dtls-proto = { path = "../dtls-proto" }');
    if (vendored === manifest) fail('bindings/node/Cargo.toml: no `dtls-proto = { path = "../.." }` to rewrite');
    fs.writeFileSync(path.join(binding, 'Cargo.toml'), vendored);

    const mainTgz = npmPack(main, out);
    console.log(platTgz);
    console.log(mainTgz);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

main();
