#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for a set time, then prints the
# executions and crashes per target.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET | smoke] [TARGET...]
#
#   SECONDS_PER_TARGET  default 60
#   smoke               4 s per target: all ten targets fit in under a minute after the
#                       one-time build (for CI)
#   TARGET...           a subset (default: every target of `cargo fuzz list`)
#
# Environment: FUZZ_TARGET_DIR (default fuzz/target) is where the instrumented builds go, so
# a CI clone can reuse a cache outside the clone; FUZZ_JOBS_NICE (default 19) is the nice
# level of the fuzzing processes;
# FUZZ_WORK (default fuzz/work) holds libFuzzer's growing working corpora, so the committed
# seeds in fuzz/corpus/<target> stay small. Crashes land in fuzz/artifacts/<target>/; replay
# one with `cargo +nightly fuzz run <target> <file>`. Exit status 1 when any target crashed.
#
# Needs the nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz from
# crates.io when it is missing.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

secs="${1:-60}"
if [ "$secs" = "smoke" ]; then
    secs=4
fi
shift || true
case "$secs" in
    ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_TARGET|smoke] [TARGET...]" >&2; exit 2 ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz..." >&2
    cargo install cargo-fuzz
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

target_dir=()
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
    target_dir=(--target-dir "$FUZZ_TARGET_DIR")
fi

echo "building ${#targets[@]} fuzz targets..." >&2
cargo +nightly fuzz build "${target_dir[@]}" >&2

work="${FUZZ_WORK:-$root/fuzz/work}"
nice_level="${FUZZ_JOBS_NICE:-19}"
mkdir -p "$work"
crashed=0
report=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t" "$root/fuzz/corpus/$t" "$root/fuzz/artifacts/$t"
    before=$(find "$root/fuzz/artifacts/$t" -type f | wc -l)
    log="$work/$t.log"
    status=0
    # New inputs go to the first corpus directory (the working one); the seeds are read only.
    nice -n "$nice_level" cargo +nightly fuzz run "${target_dir[@]}" "$t" "$work/$t" \
        "$root/fuzz/corpus/$t" -- \
        -max_total_time="$secs" -print_final_stats=1 -timeout=20 -rss_limit_mb=2048 \
        >"$log" 2>&1 || status=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    after=$(find "$root/fuzz/artifacts/$t" -type f | wc -l)
    new=$((after - before))
    if [ "$status" -ne 0 ] || [ "$new" -gt 0 ]; then
        crashed=1
        new="$new (exit $status, see $log)"
    fi
    report+=("$(printf '%-22s %6ss %12s execs   crashes: %s' "$t" "$secs" "${execs:-?}" "$new")")
    echo "${report[-1]}" >&2
done

echo
echo "fuzz summary (${secs}s per target):"
printf '%s\n' "${report[@]}"
exit "$crashed"
