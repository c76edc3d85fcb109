#!/usr/bin/env bash
# Runs the libFuzzer harnesses (make fuzz-bin), one after the other, each for SECONDS (default
# 60) from its seed corpus tests/fuzz/corpus/NAME. New inputs go to a scratch directory, so the
# seed corpus stays small and hand-made; a failing input is kept as build/fuzz/artifacts/NAME-*.
# Prints "PASSED fuzz NAME ..." or "FAILED fuzz NAME" per harness (tests/run.sh counts these)
# and exits non-zero when any failed.
#   tests/fuzz/run.sh [SECONDS [NAME...]]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

secs=${1:-60}
shift || true
names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for f in tests/fuzz/*.c; do
        n=${f##*/}
        names+=("${n%.c}")
    done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p build/fuzz/artifacts

# LeakSanitizer stops threads with ptrace; where a sandbox forbids that, every run would fail,
# so check once and go on without leak checks there (saying so), as tests/run.sh does.
leaks=1
if [[ -x build/fuzz/${names[0]} ]] &&
    build/fuzz/"${names[0]}" -runs=0 -detect_leaks=1 2>&1 | grep -q "LeakSanitizer has encountered a fatal error"; then
    echo "warning: LeakSanitizer cannot run here (ptrace refused); fuzzing without leak checks"
    leaks=0
fi

failed=0
for n in "${names[@]}"; do
    bin=build/fuzz/$n
    if [[ ! -x $bin || ! -d tests/fuzz/corpus/$n ]]; then
        echo "FAILED fuzz $n ($bin or tests/fuzz/corpus/$n missing; run: make fuzz-bin)"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$work/$n"
    # -jobs/-workers unset: one process, as the machine's cores are shared.
    if ASAN_OPTIONS="detect_leaks=$leaks" UBSAN_OPTIONS=print_stacktrace=1 \
        "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -detect_leaks="$leaks" \
        -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$n-" \
        "$work/$n" "tests/fuzz/corpus/$n" >"$work/$n.log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$n.log")
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$n.log")
        cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9]*[a-zA-Z]*' "$work/$n.log" | tail -1)
        echo "PASSED fuzz $n: $runs runs, $rate/s, $cov"
    else
        echo "FAILED fuzz $n"
        grep -v '^#' "$work/$n.log" | tail -n 40
        failed=$((failed + 1))
    fi
done
[[ $failed -eq 0 ]]
