#!/bin/sh
# Bounded fuzz runs of every parser of client or host input (cargo fuzz,
# libFuzzer, nightly). Not part of CI: run it by hand, e.g. before a release.
#
#   scripts/fuzz.sh            60 s per target
#   scripts/fuzz.sh 300        5 minutes per target
#   scripts/fuzz.sh 60 request only the named targets
#
# Each target starts from, and adds what it finds to, fuzz/corpus/<target>
# (kept in the repository; shrink it with `cargo +nightly fuzz cmin <target>`).
# A crash stops that target, leaves its input in fuzz/artifacts/<target>/
# and makes the script exit non-zero; the summary gives executions per
# target.
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v sonde-fuzz)}
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2; exit 2; }
failed=0
summary=""
for t in $targets; do
    log="fuzz/artifacts/$t.log"
    mkdir -p fuzz/artifacts
    if (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
            -max_total_time="$seconds" -max_len=65536 -timeout=5 -print_final_stats=1) >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        failed=1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    summary="$summary$(printf '%-14s %-6s %12s executions in %s s' "$t" "$result" "${execs:-?}" "$seconds")
"
done
printf '%s' "$summary"
exit $failed
