#!/usr/bin/env bash
# The Node packages as a user installs them, checked the way issue 14 asks:
#
#   1. node/scripts/pack.js packs the platform package (the prebuilt release module for
#      linux-x64-gnu) and the main package (JavaScript, types, and the vendored Rust sources
#      with Cargo.lock for the build-from-source fallback); their contents are checked;
#   2. both tarballs go into a fresh folder outside the repository, offline, with cargo
#      nowhere to be found (not on PATH, a HOME without ~/.cargo): the prebuilt module is used,
#      and a handshake runs from CommonJS and from ESM (node/test/dist/handshake.{cjs,mjs});
#   3. tsc --strict type-checks a user's ESM and CommonJS files (node/test/dist/user.{mts,cts})
#      that use both entry points, against the installed package;
#   4. the main tarball alone goes into a second fresh folder: its install step builds the
#      module from the vendored sources with cargo (--locked), and both handshakes run again;
#   5. nothing changed in the clone.
#
#   scripts/node-dist.sh          (scripts/test-node.sh runs it, after `npm install` in node/)
#
# CARGO_TARGET_DIR (default ~/.cache/dtls-target) is the build cache; the fallback build of
# step 4 keeps its own subdirectory (`node-fallback/`), since its crate has the in-repo crate's
# name and would overwrite the same output file. DTLS_CACHE (default ~/.cache) holds the
# fallback's install folder, at a fixed path so its build stays warm.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dtls-target}"
export CARGO_TERM_COLOR=never
cache="${DTLS_CACHE:-$HOME/.cache}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
tsc="$root/node/node_modules/.bin/tsc"
[ -x "$tsc" ] || { echo "node-dist.sh: run npm install in node/ first (typescript)" >&2; exit 1; }

before="$(git status --porcelain --ignored --untracked-files=all | sort)"

echo "== pack (node/scripts/pack.js)"
node node/scripts/pack.js --out "$work/dist" >"$work/pack.log"
main_tgz=$(ls "$work"/dist/dtls-rs-[0-9]*.tgz)
plat_tgz=$(ls "$work"/dist/dtls-rs-linux-x64-gnu-*.tgz)
ls -l "$main_tgz" "$plat_tgz" | awk '{print "  " $5 " bytes  " $9}'
main_files="$(tar -tzf "$main_tgz")"
plat_files="$(tar -tzf "$plat_tgz")"
for f in package/index.js package/index.mjs package/index.d.ts package/index.d.mts \
  package/lib/dgram.js package/lib/dgram.mjs package/lib/dgram.d.ts package/lib/dgram.d.mts \
  package/scripts/install.js package/scripts/build.js package/LICENSE-MIT package/LICENSE-APACHE \
  package/native/dtls-proto/Cargo.toml package/native/dtls-proto/src/lib.rs \
  package/native/dtls-proto/LICENSE-MIT package/native/dtls-node/Cargo.toml \
  package/native/dtls-node/Cargo.lock package/native/dtls-node/src/lib.rs; do
  grep -qx "$f" <<<"$main_files" || { echo "main tarball lacks $f" >&2; exit 1; }
done
if grep -q '\.node$\|/test/\|/target/' <<<"$main_files"; then
  echo "main tarball carries a binary, tests or a build:" >&2
  grep '\.node$\|/test/\|/target/' <<<"$main_files" >&2
  exit 1
fi
for f in package/dtls-rs.linux-x64-gnu.node package/LICENSE-MIT package/LICENSE-APACHE; do
  grep -qx "$f" <<<"$plat_files" || { echo "platform tarball lacks $f" >&2; exit 1; }
done
tar -xzf "$main_tgz" -O package/package.json | node -e '
  const p = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const want = { "dtls-rs-linux-x64-gnu": p.version };
  if (JSON.stringify(p.optionalDependencies) !== JSON.stringify(want)) {
    console.error("optionalDependencies:", p.optionalDependencies); process.exit(1);
  }
  if (p.devDependencies) { console.error("devDependencies in the published package"); process.exit(1); }'
echo "  contents OK"

# A PATH with node and npm and the system tools, but no cargo; a HOME without ~/.cargo.
mkdir -p "$work/bin" "$work/home"
ln -s "$(command -v node)" "$work/bin/node"
ln -s "$(command -v npm)" "$work/bin/npm"
nocargo_path="$work/bin:/usr/bin:/bin"
if env PATH="$nocargo_path" HOME="$work/home" sh -c 'command -v cargo' >/dev/null; then
  echo "node-dist.sh: cargo is still reachable from the stripped PATH" >&2
  exit 1
fi

new_project() {
  rm -rf "$1" && mkdir -p "$1"
  printf '{ "name": "user-project", "version": "1.0.0", "private": true }\n' >"$1/package.json"
  cp node/test/dist/handshake.cjs node/test/dist/handshake.mjs "$1/"
}

echo "== install both tarballs outside the repository, offline, no cargo"
app="$work/app"
new_project "$app"
(cd "$app" && env PATH="$nocargo_path" HOME="$work/home" CARGO= timeout 300 \
  npm install --offline --cache "$work/npm-cache" --no-audit --no-fund --foreground-scripts \
  "$plat_tgz" "$main_tgz" >"$work/install1.log" 2>&1) || { cat "$work/install1.log" >&2; exit 1; }
grep -q 'using the prebuilt native module' "$work/install1.log" ||
  { cat "$work/install1.log" >&2; echo "the install step did not use the prebuilt module" >&2; exit 1; }
[ ! -e "$app/node_modules/dtls-rs/dtls-rs.node" ] || { echo "a module was built, not taken prebuilt" >&2; exit 1; }
(cd "$app" && env PATH="$nocargo_path" HOME="$work/home" timeout 60 node handshake.cjs)
(cd "$app" && env PATH="$nocargo_path" HOME="$work/home" timeout 60 node handshake.mjs)

echo "== tsc --strict on a user's ESM and CommonJS files"
cp node/test/dist/user.mts node/test/dist/user.cts "$app/"
node -e '
  const fs = require("fs");
  const c = fs.readFileSync(process.argv[1], "utf8").replace(/^\s*\/\/.*$/mg, "");
  const j = JSON.parse(c);
  j.compilerOptions.typeRoots = [process.argv[2]];
  fs.writeFileSync(process.argv[3], JSON.stringify(j, null, 2));
' node/test/dist/tsconfig.json "$root/node/node_modules/@types" "$app/tsconfig.json"
(cd "$app" && timeout 300 "$tsc" -p tsconfig.json)
echo "  tsc --strict OK"

echo "== install the main tarball alone: the install step builds from the vendored sources"
fallback="$cache/dtls-node-fallback-install"
new_project "$fallback"
(cd "$fallback" && env CARGO_TARGET_DIR="$CARGO_TARGET_DIR/node-fallback" timeout 1800 \
  npm install --offline --cache "$work/npm-cache2" --no-audit --no-fund --foreground-scripts \
  "$main_tgz" >"$work/install2.log" 2>&1) || { cat "$work/install2.log" >&2; exit 1; }
grep -q 'building from source' "$work/install2.log" || { cat "$work/install2.log" >&2; exit 1; }
grep -q -- '--locked\|Finished' "$work/install2.log" || true
[ -e "$fallback/node_modules/dtls-rs/dtls-rs.node" ] || { echo "no module was built" >&2; exit 1; }
[ ! -e "$fallback/node_modules/dtls-rs-linux-x64-gnu" ] || { echo "the platform package came along" >&2; exit 1; }
(cd "$fallback" && timeout 60 node handshake.cjs)
(cd "$fallback" && timeout 60 node handshake.mjs)

after="$(git status --porcelain --ignored --untracked-files=all | sort)"
if [ "$before" != "$after" ]; then
  echo "packing or installing changed the clone:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "== node packages: all checks passed"
