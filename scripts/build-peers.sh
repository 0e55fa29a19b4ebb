#!/usr/bin/env bash
# Builds the real DTLS 1.2 / 1.3 peers that tests/interop_peers.rs runs our engine against:
#
#   $DTLS_PEERS_DIR/wolfssl-5.9.4/examples/{client/client,server/server}   wolfSSL's examples
#   $DTLS_PEERS_DIR/pion_peer                                             tests/peers/pion (Go)
#   $DTLS_PEERS_DIR/dimpl_peer                                            tests/peers/dimpl-peer
#
# DTLS_PEERS_DIR defaults to $HOME/.cache/dtls-peers: outside the clone, so CI on a fresh clone
# builds each peer once. Each peer has a stamp file holding a hash of everything its build reads;
# when the stamp matches, the peer is not touched, so a rerun is a no-op taking well under a second.
#
#   scripts/build-peers.sh [wolfssl|pion|dimpl ...]      (default: all three)
#
# Network: only crates.io (cargo) and the Go module proxy (go). PEERS_JOBS (default 2) is the
# parallelism of the C and Rust builds.
set -euo pipefail
cd "$(dirname "$0")/.."

PEERS="${DTLS_PEERS_DIR:-$HOME/.cache/dtls-peers}"
JOBS="${PEERS_JOBS:-2}"
mkdir -p "$PEERS"
# One build at a time per peers folder: parallel CI jobs may share $HOME.
exec 9>"$PEERS/.lock"
flock 9

# The hash of the given files plus any extra words: the identity of one peer build.
inputs_hash() {
  local words="$1"; shift
  { echo "$words"; cat "$@"; } | sha256sum | cut -d' ' -f1
}

# Whether $1 (a stamp file) holds $2 and every following path exists.
up_to_date() {
  local stamp="$1" hash="$2"; shift 2
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] || return 1
  local f
  for f in "$@"; do [ -x "$f" ] || return 1; done
}

apt_install() {
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "build-peers: installing $*"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "$@" >/dev/null
}

# --- wolfSSL --------------------------------------------------------------------------------
# The crates.io crate wolfssl-sys carries the whole wolfSSL C tree (5.3.0 -> wolfSSL 5.9.4).
# tests/peers/wolfssl pins it in a lock file; `cargo fetch` puts it in the cargo registry, from
# where it is copied and built with autotools (the crate's own build.rs is not used: it builds the
# library only, without the examples and without DTLS 1.3 / CID / SRTP).
WOLFSSL_VERSION=5.9.4
WOLFSSL_CRATE=wolfssl-sys-5.3.0
WOLFSSL_CONFIGURE=(
  --enable-static --disable-shared --disable-crypttests --disable-benchmark
  --enable-dtls --enable-dtls13 --enable-dtlscid --enable-dtls-frag-ch --enable-dtls-mtu
  --enable-srtp --enable-psk --enable-aesccm --enable-curve25519 --enable-ed25519
  --enable-secure-renegotiation --enable-supportedcurves --enable-sni --enable-alpn
  --enable-keying-material --enable-session-ticket --enable-debug=no
)
WOLFSSL_CFLAGS="-O2 -DWOLFSSL_DTLS_CH_FRAG -DHAVE_SECRET_CALLBACK -DWOLFSSL_STATIC_PSK"

build_wolfssl() {
  local dir="$PEERS/wolfssl-$WOLFSSL_VERSION"
  local client="$dir/examples/client/client" server="$dir/examples/server/server"
  local hash
  hash=$(inputs_hash "$WOLFSSL_CRATE ${WOLFSSL_CONFIGURE[*]} $WOLFSSL_CFLAGS" \
    tests/peers/wolfssl/Cargo.toml tests/peers/wolfssl/Cargo.lock)
  if up_to_date "$dir/.built" "$hash" "$client" "$server"; then
    echo "build-peers: wolfSSL $WOLFSSL_VERSION up to date"
    return
  fi
  echo "build-peers: building wolfSSL $WOLFSSL_VERSION examples (a few minutes, once)"
  local need=()
  command -v autoreconf >/dev/null || need+=(autoconf)
  command -v automake >/dev/null || need+=(automake)
  command -v libtoolize >/dev/null || need+=(libtool)
  [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

  (cd tests/peers/wolfssl && cargo fetch --locked -q)
  local src
  src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$WOLFSSL_CRATE"/wolfssl-src | head -n1)
  [ -f "$src/configure.ac" ] || { echo "build-peers: no wolfSSL source in $src" >&2; exit 1; }

  rm -rf "$dir"
  cp -a "$src" "$dir"
  local log="$PEERS/wolfssl-build.log"
  # One && chain: `set -e` does not apply inside a command whose status `if` tests.
  if ! (
    cd "$dir" &&
      ./autogen.sh &&
      ./configure "${WOLFSSL_CONFIGURE[@]}" CFLAGS="$WOLFSSL_CFLAGS" &&
      make -j"$JOBS" examples/client/client examples/server/server &&
      # The examples find their root folder by looking for certs/dh2048.pem upwards from the
      # working directory, and the server loads DH parameters from it; the crate ships without
      # it. Our tests never negotiate DHE, so any valid 2048-bit group will do.
      { [ -f certs/dh2048.pem ] ||
        openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out certs/dh2048.pem; }
  ) >"$log" 2>&1; then
    echo "build-peers: the wolfSSL build failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "$hash" >"$dir/.built"
}

# --- pion/dtls v4 -------------------------------------------------------------------------
# tests/peers/pion: go.mod + go.sum pin pion/dtls v4.0.2 and its dependencies. The module and
# build caches live under $HOME/.cache, so a warm rebuild needs no network.
GO="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"

build_pion() {
  local bin="$PEERS/pion_peer" hash
  hash=$(inputs_hash "$("$GO" version 2>/dev/null)" tests/peers/pion/go.mod tests/peers/pion/go.sum \
    tests/peers/pion/main.go)
  if up_to_date "$PEERS/pion_peer.built" "$hash" "$bin"; then
    echo "build-peers: pion_peer up to date"
    return
  fi
  [ -x "$GO" ] || { echo "build-peers: no Go toolchain (looked for $GO)" >&2; exit 1; }
  echo "build-peers: building pion_peer"
  (
    cd tests/peers/pion
    export GOPATH="${GOPATH:-$HOME/.cache/go}" GOCACHE="${GOCACHE:-$HOME/.cache/go-build}"
    export GOFLAGS=-mod=mod GOTOOLCHAIN=local
    "$GO" build -trimpath -o "$bin.tmp" .
  )
  mv "$bin.tmp" "$bin"
  echo "$hash" >"$PEERS/pion_peer.built"
}

# --- dimpl ----------------------------------------------------------------------------------
# tests/peers/dimpl-peer: its own crate and lock file, built with its own target dir.
build_dimpl() {
  local bin="$PEERS/dimpl_peer" hash
  hash=$(inputs_hash "$(cargo --version)" tests/peers/dimpl-peer/Cargo.toml \
    tests/peers/dimpl-peer/Cargo.lock tests/peers/dimpl-peer/src/main.rs)
  if up_to_date "$PEERS/dimpl_peer.built" "$hash" "$bin"; then
    echo "build-peers: dimpl_peer up to date"
    return
  fi
  echo "build-peers: building dimpl_peer"
  local target="$PEERS/dimpl-target"
  (cd tests/peers/dimpl-peer &&
    CARGO_TARGET_DIR="$target" cargo build --release --locked -q -j "$JOBS")
  cp "$target/release/dimpl-peer" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  echo "$hash" >"$PEERS/dimpl_peer.built"
}

# --- main -----------------------------------------------------------------------------------
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(wolfssl pion dimpl)
for p in "${want[@]}"; do
  case "$p" in
    wolfssl) build_wolfssl ;;
    pion) build_pion ;;
    dimpl) build_dimpl ;;
    *) echo "build-peers: unknown peer $p (wolfssl, pion, dimpl)" >&2; exit 2 ;;
  esac
done
