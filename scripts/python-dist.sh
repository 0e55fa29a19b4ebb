#!/usr/bin/env bash
# The Python distributions as a user downloads them, checked the way issue 14 asks:
#
#   1. `maturin sdist`: the sdist holds only what the build needs (pyproject, the package, the
#      extension crate, the engine's sources, lock files, licenses) and both license files;
#   2. the wheel is built FROM that sdist, unpacked outside the repository (so the sdist is
#      self-contained), for manylinux2014 with maturin's zig linker: its tag must be
#      cp310-abi3-manylinux_*_x86_64 and it must carry both licenses;
#   3. the wheel goes into a fresh virtualenv outside the repository, and a handshake runs
#      there from a directory that is not the clone, with bytes, bytearray and memoryview;
#   4. nothing wrote a target/ (or anything else) into the clone.
#
#   scripts/python-dist.sh            (scripts/test-python.sh runs it)
#
# CARGO_TARGET_DIR (default ~/.cache/dtls-target) is the build cache; the zig-linked build
# keeps its own subdirectory of it (`manylinux/`), as its C compiler differs. DTLS_CACHE
# (default ~/.cache) holds the tools' virtualenv. DIST_OUT=DIR keeps the artifacts.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dtls-target}"
export CARGO_TERM_COLOR=never
export PIP_DISABLE_PIP_VERSION_CHECK=1
cache="${DTLS_CACHE:-$HOME/.cache}"
python="${PYTHON:-python3}"
tools="$cache/dtls-py-dist-tools"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="${DIST_OUT:-$work/dist}"
mkdir -p "$out"

before="$(git status --porcelain --ignored --untracked-files=all | sort)"

echo "== build tools (maturin, ziglang) in $tools"
[ -x "$tools/bin/python" ] || "$python" -m venv "$tools"
# Pinned, like the test tools: a new release must not change what we ship by itself.
"$tools/bin/pip" install -q "maturin==1.16.0" "ziglang==0.17.1"

echo "== sdist"
(cd python && "$tools/bin/maturin" sdist --out "$out" 2>&1 | grep -v '^ *|\|= note\|^$\|^warning: manifest')
sdist=$(ls "$out"/dtls_rs-*.tar.gz)
"$python" - "$sdist" <<'PY'
import re, sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
top = names[0].split("/")[0]
files = sorted(n[len(top) + 1:] for n in names if n != top and not tarfile.open(sys.argv[1]).getmember(n).isdir())
allowed = re.compile(
    r"(PKG-INFO|pyproject\.toml|README\.md|LICENSE-MIT|LICENSE-APACHE|Cargo\.toml|Cargo\.lock"
    r"|_build/backend\.py|dtls/[\w.]+|src/.+\.rs"
    r"|bindings/python/(Cargo\.toml|Cargo\.lock|LICENSE-MIT|LICENSE-APACHE|src/[\w.]+\.rs))"
)
stray = [f for f in files if not allowed.fullmatch(f)]
assert not stray, f"the sdist carries more than the build needs: {stray}"
for need in ("LICENSE-MIT", "LICENSE-APACHE", "pyproject.toml", "dtls/__init__.py",
             "bindings/python/Cargo.lock", "src/lib.rs", "_build/backend.py"):
    assert need in files, f"the sdist lacks {need}"
pkg_info = tarfile.open(sys.argv[1]).extractfile(f"{top}/PKG-INFO").read().decode()
for lic in ("License-File: LICENSE-MIT", "License-File: LICENSE-APACHE",
            "License-Expression: MIT OR Apache-2.0"):
    assert lic in pkg_info, f"PKG-INFO lacks {lic}"
print(f"sdist: {len(files)} files, licenses in, nothing stray")
PY

echo "== wheel from the sdist (manylinux2014 via zig), outside the repository"
# A fixed place in the cache (not the temp dir): cargo's fingerprints include the source path,
# so the same path keeps a rebuild warm.
unpack="$cache/dtls-py-sdist-build"
rm -rf "$unpack" && mkdir -p "$unpack"
tar -xzf "$sdist" -C "$unpack"
src=$(ls -d "$unpack"/dtls_rs-*)
(cd "$src" && PATH="$tools/bin:$PATH" CARGO_TARGET_DIR="$CARGO_TARGET_DIR/manylinux" \
  "$tools/bin/maturin" build --release --zig --compatibility manylinux2014 --out "$out" 2>&1 |
  grep -v '^ *|\|= note\|^$\|^warning: manifest\|Compiling')
wheel=$(ls "$out"/dtls_rs-*.whl)
"$python" - "$wheel" <<'PY'
import re, sys, zipfile
path = sys.argv[1]
z = zipfile.ZipFile(path)
wheel = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/WHEEL"))).decode()
tags = [l.split(":", 1)[1].strip() for l in wheel.splitlines() if l.startswith("Tag:")]
assert tags and all(re.fullmatch(r"cp310-abi3-manylinux_\d+_\d+_x86_64|cp310-abi3-manylinux2014_x86_64", t) for t in tags), tags
assert any(t.startswith("cp310-abi3-manylinux_") for t in tags), tags
names = z.namelist()
for lic in ("LICENSE-MIT", "LICENSE-APACHE"):
    assert any(n.endswith(f".dist-info/licenses/{lic}") for n in names), f"wheel lacks {lic}"
assert not any("_build" in n or n.endswith(".rs") for n in names), names
print("wheel:", path.rsplit("/", 1)[-1], "tags:", ", ".join(tags))
PY

echo "== install the wheel into a fresh virtualenv outside the repository, handshake there"
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel"
mkdir -p "$work/elsewhere"
(cd "$work/elsewhere" && "$work/venv/bin/python" - <<'PY'
import pathlib
import dtls
from dtls import Certificate, Config, Connected, Connection

where = pathlib.Path(dtls.__file__).resolve()
assert "site-packages" in where.parts, where
s_cert, c_cert = Certificate.generate("server"), Certificate.generate("client")
server = Connection(
    Config(certificate=s_cert, peer_fingerprints=[c_cert.fingerprint()],
           require_client_certificate=True),
    role="server",
)
client = Connection(Config(certificate=c_cert, peer_fingerprints=[s_cert.fingerprint()]),
                    role="client")
wraps = [bytes, bytearray, memoryview]
for i in range(10):
    for d in client.datagrams_to_send(0.0):
        server.receive_datagram(memoryview(d), 0.0)
    for d in server.datagrams_to_send(0.0):
        client.receive_datagram(wraps[i % 3](d), 0.0)
events = []
while (e := client.next_event()) is not None:
    events.append(e)
assert any(isinstance(e, Connected) for e in events), events
client.send(memoryview(b"over memoryview"))
client.send(bytearray(b"over bytearray"))
for d in client.datagrams_to_send(0.0):
    server.receive_datagram(memoryview(bytearray(d)), 0.0)
assert (server.recv(), server.recv()) == (b"over memoryview", b"over bytearray")
buf = bytearray(1500)
n = client.seal_into(memoryview(b"zero-copy"), buf)
view = server.open_in_place(memoryview(buf)[:n], 0.0)
assert view is not None and bytes(view) == b"zero-copy"
print("installed wheel:", where.parent, "- handshake, memoryview input and zero-copy OK")
PY
)

after="$(git status --porcelain --ignored --untracked-files=all | sort)"
if [ "$before" != "$after" ]; then
  echo "the build changed the clone:" >&2
  diff <(echo "$before") <(echo "$after") >&2 || true
  exit 1
fi
echo "== python distributions: all checks passed"
