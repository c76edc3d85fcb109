#!/usr/bin/env bash
# `make test` after the build: C unit tests (cmocka), the same under valgrind, the fuzz
# harnesses (FUZZ_SECONDS each, default 20), then the pytest API suite, twice: against
# build/overlegd and against its ASan+UBSan build.
# Ends with the line "N passed, N failed[, N skipped]".
# Extra arguments go to pytest (make test ARGS='-k login').
set -uo pipefail   # no -e: a failing stage is counted, not fatal
cd "$(dirname "$0")/.." || exit 1

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM   # so the EXIT trap cleans up on Ctrl-C too

passed=0 failed=0 skipped=0
# The API suite starts its own clusters via scripts/pg.sh; durability is pointless there.
export OVERLEG_PG_FAST="${OVERLEG_PG_FAST:-1}"
export CMOCKA_MESSAGE_OUTPUT=STDOUT   # the format parsed below, whatever the caller set

# (a) unit tests. cmocka prints "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)..." per group.
echo "== unit tests"
if [[ -x build/unit_tests ]]; then
    build/unit_tests 2>&1 | tee "$TMP/unit.out"
    rc=${PIPESTATUS[0]}
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]\+\) test.*/\1/p' "$TMP/unit.out" | awk '{s += $1} END {print s + 0}')
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]\+\) test.*/\1/p' "$TMP/unit.out" | awk '{s += $1} END {print s + 0}')
    # A crash (or any non-zero exit without a FAILED line) is at least one failure.
    if [[ $rc -ne 0 && $f -eq 0 ]]; then
        echo "unit_tests exited with status $rc"
        f=1
    fi
    passed=$((passed + p)); failed=$((failed + f))

    # (b) the same binary under valgrind, counted as one check.
    if command -v valgrind >/dev/null; then
        echo "== unit tests under valgrind"
        if valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 -q \
                --log-file="$TMP/valgrind.log" build/unit_tests >"$TMP/vg.out" 2>&1; then
            echo "PASSED unit tests leak-free under valgrind"
            passed=$((passed + 1))
        else
            echo "FAILED unit tests leak-free under valgrind"
            cat "$TMP/valgrind.log"
            failed=$((failed + 1))
        fi
    fi
else
    echo "build/unit_tests missing (run: make unit-bin)"
    failed=$((failed + 1))
fi

# (c) the libFuzzer harnesses (make fuzz-bin), each run FUZZ_SECONDS (20) from its seed corpus
# and counted as one check: a crash, a broken invariant, a leak or undefined behaviour fails it.
echo "== fuzz harnesses (${FUZZ_SECONDS:-20} s each)"
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1 | tee "$TMP/fuzz.out"
rc=${PIPESTATUS[0]}
p=$(grep -c '^PASSED fuzz ' "$TMP/fuzz.out")
f=$(grep -c '^FAILED fuzz ' "$TMP/fuzz.out")
if [[ $rc -ne 0 && $f -eq 0 ]]; then
    echo "tests/fuzz/run.sh exited with status $rc"
    f=1
fi
passed=$((passed + p)); failed=$((failed + f))

# (d) API tests against a real overlegd and PostgreSQL: api_suite LABEL [VAR=VALUE...] runs the
# suite with those variables set and adds its test cases to the counts.
api_suite() {
    local label=$1
    shift
    echo "== API tests$label"
    env "$@" /usr/bin/python3 -m pytest tests/api -p no:cacheprovider -q -rfE \
        --junitxml="$TMP/junit.xml" "${PYTEST_ARGS[@]}"
    local rc=$? p f s
    read -r p f s < <(/usr/bin/python3 - "$TMP/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
p = f = s = 0
try:
    cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
except (OSError, ET.ParseError):
    cases = []
for c in cases:
    tags = {child.tag for child in c}
    if tags & {"failure", "error"}:
        f += 1
    elif "skipped" in tags:
        s += 1
    else:
        p += 1
print(p, f, s)
PY
)
    p=${p:-0} f=${f:-0} s=${s:-0}
    # pytest: 5 = nothing collected (e.g. -k matched nothing); other non-zero codes without a
    # failed test case (internal error, interrupted, usage error) still count as a failure.
    if [[ $rc -ne 0 && $rc -ne 5 && $f -eq 0 ]]; then
        echo "pytest exited with status $rc"
        f=1
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}
PYTEST_ARGS=("$@")
api_suite ""

# (e) the same suite against the server built with AddressSanitizer and UndefinedBehaviorSanitizer
# (make asan-bin): a memory error or undefined behaviour aborts the server, and a leak makes its
# exit on SIGTERM non-zero, both of which the suite reports as failures.
if [[ -x build/asan/overlegd ]]; then
    # LeakSanitizer stops the process's threads with ptrace at exit; where a sandbox forbids that it
    # fails every run, so check once and go on without leak checks there (saying so).
    leaks=1
    probe=$(ASAN_OPTIONS=detect_leaks=1 build/asan/overlegd --version 2>&1)
    if grep -q "LeakSanitizer has encountered a fatal error" <<<"$probe"; then
        echo "warning: LeakSanitizer cannot run here (ptrace refused); the ASan run checks memory errors without leaks"
        leaks=0
        probe=$(ASAN_OPTIONS=detect_leaks=0 build/asan/overlegd --version 2>&1)
    fi
    if [[ $probe == "overlegd "* ]]; then
        api_suite " against the ASan+UBSan build (build/asan/overlegd)" OVERLEG_BIN=build/asan/overlegd \
            ASAN_OPTIONS=detect_leaks=$leaks:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    else  # the sanitizer runtime itself cannot start on this machine (kernel or sandbox)
        echo "warning: the ASan build does not start here, its API run is skipped: $(head -c 300 <<<"$probe")"
        skipped=$((skipped + 1))
    fi
else
    echo "build/asan/overlegd missing (run: make asan-bin)"
    failed=$((failed + 1))
fi

echo
summary="$passed passed, $failed failed"
[[ $skipped -gt 0 ]] && summary+=", $skipped skipped"
echo "$summary"
[[ $failed -eq 0 && $passed -gt 0 ]]
