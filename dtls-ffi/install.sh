#!/usr/bin/env bash
# Installs libdtls into PREFIX (like `make install PREFIX=...`):
#
#   PREFIX/lib/libdtls.so.X.Y.Z          the shared library
#   PREFIX/lib/libdtls.so.X.Y            -> libdtls.so.X.Y.Z   (the SONAME, set in build.rs)
#   PREFIX/lib/libdtls.so                -> libdtls.so.X.Y     (the link-time name)
#   PREFIX/lib/libdtls.a                 the static library: one pre-linked object that exports
#                                        only dtls_* (dtls-ffi/localize-static.sh)
#   PREFIX/lib/pkgconfig/dtls.pc         from dtls-ffi/dtls.pc.in: links libdtls.so
#   PREFIX/lib/pkgconfig/dtls-static.pc  from dtls-ffi/dtls-static.pc.in: links libdtls.a
#   PREFIX/include/dtls.h                the C header
#   PREFIX/include/dtls.hpp              the header-only C++17 wrapper (bindings/cpp)
#
# Usage: dtls-ffi/install.sh PREFIX
#   Builds with `cargo build --release -p dtls-ffi` first (CARGO_TARGET_DIR defaults to
#   ~/.cache/dtls-target, as in scripts/test.sh). DTLS_LIB_DIR=DIR installs the libdtls.so and
#   libdtls.a already in DIR instead, without building. DESTDIR is honoured for packaging.
# Then: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig cc app.c $(pkg-config --cflags --libs dtls)
#   or, statically: cc app.c $(pkg-config --cflags --static --libs dtls-static)
# Nothing installed carries an rpath (the libraries come straight from cargo, the .pc files
# add none): a program finds libdtls.so through the loader's search path (ldconfig for a
# system prefix) or its own rpath / LD_LIBRARY_PATH for a custom prefix (README, "The C
# library").
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
prefix=$1
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${DESTDIR:-}$prefix"

if [ -n "${DTLS_LIB_DIR:-}" ]; then
  libdir_src=$DTLS_LIB_DIR
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dtls-target}"
  (cd "$root" && cargo build --release -p dtls-ffi --quiet)
  libdir_src="$CARGO_TARGET_DIR/release"
fi
for f in libdtls.so libdtls.a; do
  [ -f "$libdir_src/$f" ] || { echo "$libdir_src/$f not found" >&2; exit 1; }
done

# The version the header carries (generated from the package version).
version=$(sed -n 's/^#define DTLS_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/dtls.h")
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
[ -n "$version" ] || { echo "no DTLS_VERSION_STRING in include/dtls.h" >&2; exit 1; }
# Same rule as build.rs: 0.x breaks the ABI on every minor release.
if [ "$major" = 0 ]; then soname="libdtls.so.0.$minor"; else soname="libdtls.so.$major"; fi

install -d "$dest/lib/pkgconfig" "$dest/include"
install -m 755 "$libdir_src/libdtls.so" "$dest/lib/libdtls.so.$version"
ln -sfn "libdtls.so.$version" "$dest/lib/$soname"
ln -sfn "$soname" "$dest/lib/libdtls.so"
bash "$root/dtls-ffi/localize-static.sh" "$libdir_src/libdtls.a" "$dest/lib/libdtls.a"
chmod 644 "$dest/lib/libdtls.a"
install -m 644 "$root/include/dtls.h" "$dest/include/dtls.h"
if [ -f "$root/bindings/cpp/dtls.hpp" ]; then
  install -m 644 "$root/bindings/cpp/dtls.hpp" "$dest/include/dtls.hpp"
fi
for pc in dtls dtls-static; do
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" "$root/dtls-ffi/$pc.pc.in" \
    >"$dest/lib/pkgconfig/$pc.pc"
  chmod 644 "$dest/lib/pkgconfig/$pc.pc"
done
echo "installed libdtls $version into $dest"
