#!/usr/bin/env bash
# The demo: builds libdtls and the C examples, then runs examples-c/server and examples-c/client
# against each other over UDP on 127.0.0.1. No CA: the server generates a certificate and prints
# its SHA-256 fingerprint, and the client pins exactly that (the WebRTC model, RFC 8122). Both
# print what they negotiated; the client sends a line, the server (-echo) returns it, then the
# client's close_notify ends both. Exit status 0 when everything worked.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dtls-target}"
export CARGO_TERM_COLOR=never

echo "== building libdtls (cargo build --release --workspace)"
cargo build --release --workspace --quiet

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The library under its SONAME, as an install would lay it out.
lib="$CARGO_TARGET_DIR/release/libdtls.so"
soname=$(objdump -p "$lib" 2>/dev/null | awk '/SONAME/ {print $2}')
soname=${soname:-libdtls.so.0.1}
cp "$lib" "$work/$soname"
ln -s "$soname" "$work/libdtls.so"

echo "== building examples-c/client.c and server.c (-std=c11 -Wall -Wextra -Werror -pedantic)"
for prog in client server; do
  cc -std=c11 -Wall -Wextra -Werror -pedantic -I include "examples-c/$prog.c" \
     -o "$work/$prog" -L"$work" -ldtls -Wl,-rpath,"$work"
done

# A free UDP port on 127.0.0.1.
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 44330)

SRTP=SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80
KEYMAT=(-keymatexport EXTRACTOR-dtls_srtp -keymatexportlen 56)

echo "== server: $work/server -accept 127.0.0.1:$port -echo -srtp $SRTP ${KEYMAT[*]}"
"$work/server" -accept "127.0.0.1:$port" -echo -srtp "$SRTP" "${KEYMAT[@]}" -hs_timeout 10000 \
  </dev/null >"$work/server.out" 2>&1 &
server_pid=$!

# Wait (bounded) until the server has printed its fingerprint and is listening.
for _ in $(seq 1 100); do
  grep -q '^Listening on' "$work/server.out" 2>/dev/null && break
  sleep 0.05
done
fp=$(sed -n 's/^Local fingerprint: \(sha-256 [0-9A-F:]*\).*/\1/p' "$work/server.out")
if [ -z "$fp" ]; then
  echo "server did not start:"; cat "$work/server.out"; exit 1
fi

echo "== client: $work/client -connect 127.0.0.1:$port -fingerprint \"$fp\" -srtp $SRTP ${KEYMAT[*]}"
# One line of application data; stdin stays open a moment so the echo can come back, then
# EOF makes the client send close_notify.
client_rc=0
{ echo "hello over DTLS from examples-c/client"; sleep 1; } |
  timeout 20 "$work/client" -connect "127.0.0.1:$port" -fingerprint "$fp" -srtp "$SRTP" \
    "${KEYMAT[@]}" -hs_timeout 10000 >"$work/client.out" 2>&1 || client_rc=$?

server_rc=0
for _ in $(seq 1 100); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.05
done
wait "$server_pid" || server_rc=$?
server_pid=""

echo
echo "---- server output ----"
cat "$work/server.out"
echo "---- client output ----"
cat "$work/client.out"
echo "-----------------------"

key_of() { sed -n 's/^ *Keying material: \([0-9A-F]*\)$/\1/p' "$1"; }
if [ "$client_rc" -ne 0 ] || [ "$server_rc" -ne 0 ]; then
  echo "demo FAILED: client exit $client_rc, server exit $server_rc"; exit 1
fi
if [ -z "$(key_of "$work/client.out")" ] || [ "$(key_of "$work/client.out")" != "$(key_of "$work/server.out")" ]; then
  echo "demo FAILED: the exported keys differ"; exit 1
fi
if ! grep -q '^hello over DTLS from examples-c/client$' "$work/client.out"; then
  echo "demo FAILED: the echo did not come back"; exit 1
fi
echo "C demo OK: handshake over UDP, server pinned by fingerprint, data echoed, same exported keys, clean close"

# The same server, now from the Python and Node packages (built from source here, as their
# users' `pip install` / `npm install` would).
serve() {
  : >"$work/server.out"
  "$work/server" -accept "127.0.0.1:$port" -echo -hs_timeout 10000 </dev/null >"$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^Listening on' "$work/server.out" 2>/dev/null && break
    sleep 0.05
  done
  fp=$(sed -n 's/^Local fingerprint: \(sha-256 [0-9A-F:]*\).*/\1/p' "$work/server.out")
  [ -n "$fp" ] || { echo "server did not start:"; cat "$work/server.out"; exit 1; }
}
served() {
  local rc=0
  for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
  wait "$server_pid" || rc=$?
  server_pid=""
  [ "$rc" -eq 0 ] || { echo "demo FAILED: server exit $rc"; cat "$work/server.out"; exit 1; }
}

venv="${DTLS_CACHE:-$HOME/.cache}/dtls-demo-venv"
echo
echo "== building the Python package: pip install ./python (into $venv)"
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check ./python
serve
echo "== Python client: python -m dtls client 127.0.0.1 $port -fingerprint \"$fp\""
{ echo "hello over DTLS from python"; sleep 1; } |
  timeout 20 "$venv/bin/python" -m dtls client 127.0.0.1 "$port" -fingerprint "$fp" 2>&1 |
  tee "$work/py.out"
served
grep -q '^hello over DTLS from python$' "$work/py.out" || { echo "demo FAILED: no echo for python"; exit 1; }

echo
echo "== building the Node package: npm install (node/)"
(cd node && npm install --no-audit --no-fund --loglevel=error >/dev/null)
serve
echo "== Node client: node node/examples/client.js 127.0.0.1 $port \"$fp\""
timeout 20 node node/examples/client.js 127.0.0.1 "$port" "$fp" | tee "$work/node.out"
served
grep -q '^Reply: hello over DTLS from node$' "$work/node.out" || { echo "demo FAILED: no echo for node"; exit 1; }

echo
echo "demo OK: C, Python and Node clients each completed a DTLS 1.2 handshake with the C server over UDP"
