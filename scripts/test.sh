#!/usr/bin/env bash
# Runs every test, installing what the tests need. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build outputs live outside the clone so CI on a fresh clone reuses them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dtls-target}"
export CARGO_TERM_COLOR=never

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || need_apt+=(libssl-dev)
command -v cc >/dev/null || need_apt+=(build-essential)
command -v c++ >/dev/null || need_apt+=(g++)
command -v nm >/dev/null && command -v readelf >/dev/null || need_apt+=(binutils)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v gnutls-cli >/dev/null && command -v gnutls-serv >/dev/null || need_apt+=(gnutls-bin)
command -v make >/dev/null || need_apt+=(make)
# WebRTC against a real browser (tests/webrtc_chromium, dtls-ffi/tests/webrtc_echo.rs).
command -v chromium >/dev/null || need_apt+=(chromium)
pkg-config --exists libsrtp2 2>/dev/null || need_apt+=(libsrtp2-dev)
pkg-config --exists zlib 2>/dev/null || need_apt+=(zlib1g-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

# The lint steps need these components; a minimal rustup profile lacks them.
for c in rustfmt clippy; do
  cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$c"
done

echo "== hygiene (licenses, changelog, policy, links, build cache)"
python3 scripts/check-hygiene.py
echo "== documentation sh blocks (bash -n, paths); the other languages run in their suites"
python3 scripts/check-snippets.py sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== interop peers (wolfSSL, pion, dimpl: built once into ~/.cache/dtls-peers, then a no-op)"
bash scripts/build-peers.sh
echo "== browser driver (tests/browser: playwright-core from its lockfile)"
[ -f tests/browser/node_modules/playwright-core/package.json ] || (cd tests/browser && npm ci --no-audit --no-fund)
echo "== cargo test"
cargo test --workspace -- --test-threads=2
echo "== python package"
bash scripts/test-python.sh
echo "== node package"
bash scripts/test-node.sh
echo "== snippet runners fail on a broken block"
python3 scripts/check-snippets.py self-test --python "${DTLS_CACHE:-$HOME/.cache}/dtls-py-venv/bin/python"
echo "== fuzz smoke (every target for a few seconds)"
# cargo-fuzz needs a nightly toolchain; the instrumented builds are cached outside the clone.
rustup toolchain list 2>/dev/null | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/dtls-fuzz-target}" \
  FUZZ_WORK="${FUZZ_WORK:-$HOME/.cache/dtls-fuzz-work}" bash scripts/fuzz.sh smoke
echo "== all tests passed"
