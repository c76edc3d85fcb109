# Helpers shared by tests/bench/me.sh, directory.sh, consultations.sh and cases.sh. Sourced by
# tests/bench/run.sh after the common setup and before the parts; the functions use what that
# setup defines: TMP (server.log, the pgbench logs), TICK (clock ticks a second) and die.

# ---------- CPU ----------
# CPU ticks of everything on the machine (user, nice, system, irq, softirq, steal): minus what
# the benchmark's own processes used, it tells how much other work competed during a run.
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
other_pct() {  # BUSY_TICKS OWN_TICKS SECONDS -> share of one CPU used by other processes
    awk -v b="$1" -v o="$2" -v d="$3" -v hz="$TICK" 'BEGIN { v = (b - o) / hz / d * 100; printf "%.0f", v < 0 ? 0 : v }'
}

# ---------- wrk ----------
to_ms() {  # PERCENTILE OUTFILE: wrk's "99%    3.21ms" -> 3.21
    awk -v p="$1" '$1 == p {
        v = $2; u = v; sub(/^[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
        if (f < 0) exit 1
        printf "%.2f", v * f }' "$2"
}
# wrk_pctl QUANTILE PREFIX OUTFILE...: the latency quantile (0.99) in ms over all the runs'
# "PREFIX-latency US N" lines (a Lua script's histogram in bins of 10 µs; the bin's middle).
wrk_pctl() {
    local q=$1 prefix=$2; shift 2
    awk -v s="$prefix-latency" '$1 == s { print $2, $3 }' "$@" | sort -n | awk -v q="$q" '
        { us[NR] = $1; n[NR] = $2; total += $2 }
        END {
            if (total == 0) { print "n/a"; exit }
            for (i = 1; i <= NR; i++) { seen += n[i]; if (seen >= q * total) break }
            printf "%.2f", (us[i] + 5) / 1000 }'
}
# wrk_check OUTFILE LABEL [PREFIX [FAILVAR [empty]]]
# Counts the run's non-2xx responses into WRK_NON2XX and its socket errors into WRK_SOCK. Without
# PREFIX the count is wrk's own "Non-2xx or 3xx responses: N" line, which counts statuses of 400
# and above only; with it, the "PREFIX-status CODE COUNT" lines the Lua script prints (every
# status outside 2xx). wrk prints "Non-2xx or 3xx responses" and "Socket errors" only when there
# are any. On either: prints the output and the server log's tail, sets the variable named
# FAILVAR (when given) to the reason and returns 1. Dies when "empty" is given and the
# "PREFIX-empty N" line does not say 0, or when there is no Requests/sec line.
wrk_check() {
    local non2xx empty
    if [[ -n ${3:-} ]]; then
        non2xx=$(awk -v s="$3-status" '$1 == s && ($2 < 200 || $2 > 299) { n += $3 } END { print n + 0 }' "$1")
    else
        non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]\+\).*/\1/p' "$1")
    fi
    WRK_NON2XX=${non2xx:-0}
    WRK_SOCK=$(sed -n 's/^ *Socket errors: *//p' "$1")
    if [[ $WRK_NON2XX != 0 || -n "$WRK_SOCK" ]]; then
        cat "$1"; tail -n 20 "$TMP/server.log" >&2
        [[ -z ${4:-} ]] || printf -v "$4" '%s' "$2: $WRK_NON2XX non-2xx responses${WRK_SOCK:+, socket errors: $WRK_SOCK}"
        return 1
    fi
    if [[ ${5:-} == empty ]]; then
        empty=$(awk -v s="$3-empty" '$1 == s { print $2 }' "$1")
        [[ "${empty:-x}" == 0 ]] || { cat "$1"; die "$2: ${empty:-?} responses had no items"; }
    fi
    grep -q '^Requests/sec:' "$1" || { cat "$1"; die "$2: no Requests/sec line"; }
}

# ---------- overlegd's /metrics ----------
# metrics_delta ROUTE UNDER BEFORE AFTER: the server's own view of a measured run (GET /metrics
# after minus before): its latency histogram for ROUTE (e.g. "GET /v1/me"; request parsed ->
# reply queued: pool wait + queries + handler) and the pool's error counters. Prints
# "P99_BOUND_MS PERCENT_UNDER ERRORS", PERCENT_UNDER being the share in the bucket le="UNDER".
metrics_delta() {
    awk -v route="$1" -v under="$2" '
    function val(line) { n = split(line, f, " "); return f[n] }
    BEGIN { prefix = "http_request_duration_seconds_bucket{route=\"" route "\",le=\"" }
    FNR == 1 { side++ }
    index($0, prefix) == 1 {
        le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le)
        b[le] += (side == 1 ? -1 : 1) * val($0); if (side == 2) order[++nb] = le
    }
    /^db_pool_(errors|timeouts|reconnects)_total / { e += (side == 1 ? -1 : 1) * val($0) }
    END {
        total = b["+Inf"]; p99 = "?"
        for (i = 1; i <= nb; i++) if (b[order[i]] >= 0.99 * total) { p99 = order[i]; break }
        if (p99 != "?" && p99 != "+Inf") p99 = p99 * 1000
        printf "%s %.1f %d\n", p99, total ? 100 * b[under] / total : 0, e
    }' "$3" "$4"
}

# metrics_over ROUTE BOUND BEFORE AFTER: how many requests of ROUTE took longer than BOUND seconds
# (one of the histogram's bucket bounds, e.g. 1) between the two scrapes.
metrics_over() {
    awk -v route="$1" -v bound="$2" '
    index($0, "http_request_duration_seconds_bucket{route=\"" route "\",le=\"") == 1 {
        le = $0; sub(/.*le="/, "", le); sub(/".*/, "", le); n = split($0, f, " ")
        if (le == bound || le == "+Inf") v[le] += (FNR == NR ? -1 : 1) * f[n]
    }
    END { print v["+Inf"] - v[bound] }' "$3" "$4"
}

# ---------- the kernel's TCP counters ----------
# tcp_counters: "LISTEN_DROPS RTOS", connections dropped by a full listen queue
# (TcpExtListenDrops) and TCP retransmission timeouts (TcpExtTCPTimeouts) so far, machine-wide;
# "- -" without nstat (iproute2). tcp_delta BEFORE AFTER: the differences, or "n/a n/a".
tcp_counters() {
    command -v nstat >/dev/null || { echo "- -"; return; }
    nstat -asz 2>/dev/null | awk '$1 == "TcpExtListenDrops" { d = $2 } $1 == "TcpExtTCPTimeouts" { t = $2 }
        END { print d + 0, t + 0 }'
}
tcp_delta() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
        if (x[1] == "-" || y[1] == "-") print "n/a n/a"; else print y[1] - x[1], y[2] - x[2] }'
}

# ---------- pgbench ----------
# pgbench's per-transaction logs (--log --log-prefix=PREFIX, written to $TMP): a line
# "client_id transaction_no latency_us script_no epoch epoch_us" per transaction.
# pgb_pctl PREFIX QUANTILE [SCRIPT_NO]: that latency quantile in ms (of SCRIPT_NO's transactions
# only, 0 = the first -f), "n/a" when there are none.
pgb_pctl() { cat "$TMP/$1".* 2>/dev/null | awk -v s="${3:-}" 's == "" || $4 == s { print $3 }' | sort -n \
    | awk -v q="$2" '{ v[NR] = $1 } END {
        if (NR == 0) { print "n/a"; exit } i = int(NR * q + 0.999999); if (i > NR) i = NR; printf "%.2f", v[i] / 1000 }'; }
pgb_txns() { cat "$TMP/$1".* 2>/dev/null | wc -l; }  # PREFIX: transactions logged
# pgb_outcome OUTFILE LABEL STATUS [CLIENTS]: a pgbench run (of CLIENTS clients, $DB_CONNS unless
# given) that may fail some transactions or abort some clients (statement_timeout). Prints its
# summary; sets PGB_TPS (empty when pgbench printed none), PGB_NOTE ("none failed", or what
# failed) and PGB_FAILED (empty, or the reason the run counts as failed); dies when pgbench
# failed without completing anything.
pgb_outcome() {
    local failed aborted
    sed -n '/^SQL script/q; /aborted in command/d; s/^/    /p' "$1"   # the summary only
    PGB_TPS=$(awk '/^tps = / { print $3; exit }' "$1")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]\+\).*/\1/p' "$1")
    aborted=$(grep -c '^pgbench: error: client [0-9]* .*aborted' "$1" || true)
    PGB_NOTE="none failed" PGB_FAILED=
    if [[ $3 != 0 || ( -n "$failed" && "$failed" != 0 ) ]]; then
        grep -m 3 'error' "$1" | sed 's/^/    /' >&2 || true
        [[ $aborted -gt 0 || -n "$PGB_TPS" ]] || { cat "$1"; die "pgbench ($2) failed (status $3)"; }
        PGB_NOTE="${failed:-0} failed and $aborted of ${4:-$DB_CONNS} clients aborted ($(grep -m 1 -o 'ERROR: .*' "$1" || echo "exit status $3")); the pgbench figures count the completed transactions only"
        PGB_FAILED="pgbench: $PGB_NOTE"
    fi
}

# ---------- summary ----------
yesno() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**not met**"; fi; }  # AWK_CONDITION
fmt0() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }  # NUMBER, rounded

# ---------- docs/benchmarks.md ----------
# write_section NAME TITLE FILE: puts FILE between "<!-- bench:NAME:start -->" and
# "<!-- bench:NAME:end -->" of $DOC, or appends "## TITLE" and both markers when they are missing.
write_section() {
    "$PY" - "$DOC" "$1" "$2" "$3" <<'PY'
import sys
doc, name, title, sec = sys.argv[1], sys.argv[2], sys.argv[3], open(sys.argv[4]).read()
start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
text = open(doc).read()
if start in text and end in text and text.index(start) < text.index(end):
    a, b = text.index(start) + len(start), text.index(end)
    text = text[:a] + "\n" + sec + text[b:]
else:
    text = text.rstrip("\n") + f"\n\n## {title}\n\n" + start + "\n" + sec + end + "\n"
with open(doc, "w") as f:
    f.write(text)
PY
    echo "bench: $1 results written to $DOC"
}
