#!/usr/bin/env bash
# Turns the libdtls.a that cargo builds into one that exposes only the C API.
#
#   dtls-ffi/localize-static.sh IN.a OUT.a
#
# A Rust staticlib carries its whole dependency graph (std, core, alloc, ring, webpki, ...) as
# global symbols. Two Rust static libraries in one C program then define the same symbols
# (rust_eh_personality, std's and ring's functions), and the link fails or, worse, picks one
# copy for both. So: pre-link the archive into one relocatable object (`ld -r`), pulling in only
# the archive members the dtls_* entry points reach (`-u` each), make every other global symbol
# local (`objcopy --keep-global-symbols`), and archive the single object. Also:
# - the COMDAT group of `DW.ref.rust_eh_personality` goes (`.group`): its signature symbol is
#   local now, and a group of that name in the other library would be discarded in favour of
#   ours, leaving that library's reference to it unresolvable;
# - no `--gc-sections`: ld -r turns the weak undefined references of collected sections
#   (std's optional glibc functions) into symbols that objcopy then makes strong, and the link
#   fails on an older glibc;
# - the embedded LLVM bitcode (`.llvmbc`, which trips nm's LLVM plugin) and debug sections go.
# References to libc and the unwinder stay undefined, for the final link (dtls-static.pc).
#
# GNU binutils (ld, objcopy, ar, readelf); LD, OBJCOPY, AR and READELF override them.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 IN.a OUT.a" >&2
  exit 2
fi
in=$1
out=$2
ld=${LD:-ld}
objcopy=${OBJCOPY:-objcopy}
ar=${AR:-ar}
readelf=${READELF:-readelf}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The API: every defined global or weak symbol named dtls_* (Rust's own symbols are mangled,
# _ZN... or _R..., so the prefix catches exactly the #[no_mangle] entry points).
"$readelf" -sW "$in" 2>/dev/null |
  awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 ~ /^dtls_/ { print $8 }' |
  sort -u >"$work/keep"
[ -s "$work/keep" ] || { echo "$0: no dtls_* symbol in $in" >&2; exit 1; }

undef=()
while read -r s; do undef+=(-u "$s"); done <"$work/keep"
"$ld" -r "${undef[@]}" -o "$work/dtls.o" "$in"
"$objcopy" --keep-global-symbols="$work/keep" \
  --strip-unneeded --strip-debug --remove-section=.group \
  --remove-section=.llvmbc --remove-section=.llvmcmd \
  "$work/dtls.o" "$work/libdtls.o"

# Nothing but the API may stay defined and global.
leaked=$("$readelf" -sW "$work/libdtls.o" |
  awk '($5 == "GLOBAL" || $5 == "WEAK") && $7 != "UND" && $8 !~ /^dtls_/ { print $8 }' | head -5)
[ -z "$leaked" ] || { echo "$0: symbols still global: $leaked" >&2; exit 1; }

rm -f "$work/out.a"
"$ar" rcD "$work/out.a" "$work/libdtls.o"
mv "$work/out.a" "$out"
