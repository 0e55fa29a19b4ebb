#!/usr/bin/env bash
# Builds the Python package (python/, extension crate bindings/python) from source in a fresh
# virtualenv, as a user would (`pip install ./python`), and runs its checks: pytest, stubtest,
# mypy --strict, ruff (lint + format), and cargo fmt + clippy for the extension crate.
#
#   scripts/test-python.sh
#
# Environment: CARGO_TARGET_DIR (default ~/.cache/dtls-target, the one build cache of the
# README) keeps the Rust build warm across runs; DTLS_CACHE (default ~/.cache) holds the
# virtualenv and the tools' caches.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dtls-target}"
export CARGO_TERM_COLOR=never
cache="${DTLS_CACHE:-$HOME/.cache}"
venv="$cache/dtls-py-venv"
# Tool caches outside the clone, so a run leaves the work tree as it found it.
export MYPY_CACHE_DIR="$cache/dtls-py-mypy-cache"
export RUFF_CACHE_DIR="$cache/dtls-py-ruff-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1

python="${PYTHON:-python3}"
need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v openssl >/dev/null || need_apt+=(openssl)
"$python" -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
"$python" - <<'EOF'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"Python >= 3.10 is needed, this is {sys.version.split()[0]}")
EOF
for c in rustfmt clippy; do
  cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1 || rustup component add "$c"
done

echo "== fresh virtualenv: $venv"
mkdir -p "$cache"
"$python" -m venv --clear "$venv"
py="$venv/bin/python"
# In-tree builds (pip >= 21.3) let maturin reach ../bindings/python and the engine.
"$py" - <<'EOF' || "$py" -m pip install -q --upgrade "pip>=21.3"
import sys
from importlib.metadata import version
sys.exit(0 if tuple(int(p) for p in version("pip").split(".")[:2]) >= (21, 3) else 1)
EOF

echo "== pip install ./python (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
clone_before="$(git status --porcelain --ignored --untracked-files=all | sort)"
"$py" -m pip install -q ./python
if [ "$clone_before" != "$(git status --porcelain --ignored --untracked-files=all | sort)" ]; then
  echo "pip install ./python wrote into the clone:" >&2
  diff <(echo "$clone_before") <(git status --porcelain --ignored --untracked-files=all | sort) >&2 || true
  exit 1
fi
# The tools, pinned: a new ruff or mypy release must not turn a clean tree red by itself.
"$py" -m pip install -q "pytest==9.2.0" "mypy==2.4.1" "ruff==0.17.6"

echo "== the wheel is abi3"
"$py" - <<'EOF'
from importlib.metadata import distribution
wheel = distribution("dtls-rs").read_text("WHEEL") or ""
tags = [l.split(":", 1)[1].strip() for l in wheel.splitlines() if l.startswith("Tag:")]
print("tags:", ", ".join(tags))
assert tags and all("-abi3-" in t and t.startswith("cp310-") for t in tags), tags
EOF

echo "== pytest"
# -p no:cacheprovider: no .pytest_cache in the clone. Run from python/ so tests find
# conftest.py; `pytest` (not `python -m pytest`) so python/dtls does not shadow the install.
(cd python && "$venv/bin/pytest" -q -p no:cacheprovider tests)

echo "== the code blocks of python/README.md (and any python block in README.md, docs/)"
python3 scripts/check-snippets.py python --python "$py"

echo "== stubtest dtls._native"
# From the venv, so `dtls` is the installed package with its compiled extension.
(cd "$venv" && "$py" -m mypy.stubtest dtls._native)

echo "== mypy --strict"
(cd python && "$venv/bin/mypy" --strict tests dtls bench.py)

echo "== ruff"
(cd python && "$venv/bin/ruff" check . && "$venv/bin/ruff" format --check .)

echo "== the build backend defaults CARGO_TARGET_DIR to the build cache"
"$py" -m pip install -q "maturin==1.16.0"
env -u CARGO_TARGET_DIR HOME="$cache/fake-home" "$py" - <<'EOF'
import os, sys
sys.path.insert(0, "python/_build")
import backend  # noqa: F401
want = os.path.join(os.environ["HOME"], ".cache", "dtls-target")
assert os.environ["CARGO_TARGET_DIR"] == want, os.environ["CARGO_TARGET_DIR"]
print("backend: CARGO_TARGET_DIR defaults to", want)
EOF

echo "== distributions: self-contained sdist, manylinux abi3 wheel, installed outside the clone"
bash scripts/python-dist.sh

echo "== cargo fmt / clippy (bindings/python)"
cargo fmt --manifest-path bindings/python/Cargo.toml -- --check
cargo clippy --manifest-path bindings/python/Cargo.toml --all-targets -- -D warnings

echo "== python: all checks passed"
