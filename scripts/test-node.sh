#!/usr/bin/env bash
# The Node package (node/) and its native crate (bindings/node): build from source the way a
# user's `npm install` does, run the tests (node --test), type-check the typed test file
# against the published declarations, smoke-run the benchmark, and hold the crate to
# rustfmt and clippy. Runnable from a clean clone; a few seconds plus the tests when warm.
#
# CARGO_TARGET_DIR is honoured (default: ~/.cache/dtls-target, the one build cache, also
# node/scripts/build.js's default) so repeated runs and CI reuse one build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
: "${CARGO_TARGET_DIR:=$HOME/.cache/dtls-target}"
export CARGO_TARGET_DIR
MANIFEST=bindings/node/Cargo.toml

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "test-node.sh: $1 is required ($2)" >&2; exit 1; }
}
need node "Node.js 20 or later"
need npm "comes with Node.js"
need cargo "the native module is built from source"
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "test-node.sh: Node.js 20 or later is required (found $(node --version))" >&2
  exit 1
fi
command -v openssl >/dev/null 2>&1 || echo "test-node.sh: note: no openssl binary, the interop tests will be skipped" >&2

echo "== npm install (builds the native module with cargo)"
(cd node && timeout 1200 npm install --no-audit --no-fund)

echo "== npm test"
(cd node && timeout 600 npm test)

echo "== the js code blocks of node/README.md (and README.md, docs/), as ESM and as CommonJS"
timeout 600 python3 scripts/check-snippets.py js

echo "== tsc --noEmit"
(cd node && timeout 300 npx --no-install tsc --noEmit -p tsconfig.json)

echo "== bench.js --quick (smoke run)"
(cd node && timeout 300 node bench.js --quick)

echo "== packages: pack, install outside the clone (prebuilt without cargo; source fallback), CJS + ESM, tsc"
timeout 2400 bash scripts/node-dist.sh

echo "== cargo fmt --check (bindings/node)"
cargo fmt --manifest-path "$MANIFEST" --check

echo "== cargo clippy -D warnings (bindings/node)"
timeout 1200 cargo clippy --manifest-path "$MANIFEST" --all-targets -- -D warnings

echo "test-node.sh: all Node checks passed"
