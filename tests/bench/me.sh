# Sourced by tests/bench/run.sh (BENCH_ONLY unset or "me"), after the common setup: GET /v1/me
# with wrk against pgbench running the same statement, overlegd's memory at 1,000 idle
# keep-alive connections, and the section between <!-- bench:me:start --> and
# <!-- bench:me:end --> in docs/benchmarks.md. Sets ME_GOALS_MET (yes/no).

# ---------- HTTP: wrk ----------
# Any non-2xx response (after asking the server what it answers now) or socket error fails the run.
me_wrk_failed() {  # LABEL, after wrk_check returned 1
    if [[ $WRK_NON2XX != 0 ]]; then
        echo "bench: what the server answers now (2 s of wrk counting statuses):" >&2
        timeout 30 wrk -t2 -c"$CONNS" -d2s --timeout 5s -s tests/bench/status.lua \
            -H "Authorization: Bearer $TOKEN" "$BASE/v1/me" 2>&1 | grep -E '^(status|first)' >&2 || true
        die "$1: $WRK_NON2XX non-2xx responses"
    fi
    die "$1: socket errors: $WRK_SOCK"
}
WRK_CMD=(wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency --timeout 5s
         -H "'Authorization: Bearer \$TOKEN'" "http://127.0.0.1:\$PORT/v1/me")
say "wrk warm-up (${WARMUP}s)"
timeout $((WARMUP + 30)) wrk -t2 -c"$CONNS" -d"${WARMUP}s" --timeout 5s \
    -H "Authorization: Bearer $TOKEN" "$BASE/v1/me" >"$TMP/wrk-warmup.out" 2>&1 || { cat "$TMP/wrk-warmup.out"; die "wrk warm-up failed"; }
wrk_check "$TMP/wrk-warmup.out" "wrk warm-up" || me_wrk_failed "wrk warm-up"
say "wrk: ${WRK_CMD[*]}"
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/metrics.before"
TCP_BEFORE=$(tcp_counters)
s0=$(srv_ticks) p0=$(pg_ticks)
{ time timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency --timeout 5s \
    -H "Authorization: Bearer $TOKEN" "$BASE/v1/me" >"$TMP/wrk.out" 2>&1; } 2>"$TMP/wrk.time" \
    || { cat "$TMP/wrk.out"; die "wrk failed"; }
HTTP_SRV_TICKS=$(( $(srv_ticks) - s0 )) HTTP_PG_TICKS=$(( $(pg_ticks) - p0 ))
HTTP_CLIENT_TICKS=$(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/wrk.time")
TCP_AFTER=$(tcp_counters)
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/metrics.after"
sed 's/^/    /' "$TMP/wrk.out"
wrk_check "$TMP/wrk.out" "wrk" || me_wrk_failed "wrk"
HTTP_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/wrk.out")
HTTP_REQS=$(awk '/requests in/ { print $1 }' "$TMP/wrk.out")
HTTP_P99=$(to_ms 99% "$TMP/wrk.out")
# wrk's slowest request. One outlier also lifts wrk's p99 (its coordinated-omission correction
# adds samples below it); where such a request waited, the server's count over 1 s and the
# kernel's counters below tell (docs/benchmarks.md, "A stalled connection: the cause").
HTTP_MAX=$(awk '$1 == "Latency" { print "max", $4; exit }' "$TMP/wrk.out" | to_ms max /dev/stdin)
[[ -n "$HTTP_RPS" && -n "$HTTP_P99" ]] || die "could not parse the wrk output"
RSS_AFTER_LOAD_KB=$(rss_kb)

# The server's own view of the measured run (/metrics): p99 bound, share under 10 ms, pool errors.
read -r SRV_P99_LE SRV_UNDER10 DB_ERRS < <(metrics_delta "GET /v1/me" 0.01 "$TMP/metrics.before" "$TMP/metrics.after")
SRV_OVER1=$(metrics_over "GET /v1/me" 1 "$TMP/metrics.before" "$TMP/metrics.after")
read -r TCP_DROPS TCP_RTOS < <(tcp_delta "$TCP_BEFORE" "$TCP_AFTER")
[[ "$DB_ERRS" == 0 ]] || die "the database pool counted $DB_ERRS errors, timeouts or reconnects during the wrk run"

# ---------- pgbench: the same statement ----------
# server/session.c sql_auth, verbatim (read from the source by directory_bench.py); $1 = sha256 hex
# of the token, $2 = now (RFC 3339, UTC).
TOKEN_HASH=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
ME_SQL=$("$PY" tests/bench/directory_bench.py sql sql_auth 1=:tok 2=:now) || die "could not read sql_auth"
printf '%s;\n' "$ME_SQL" >"$TMP/me.sql"
# psql interpolates :'var' only in input it reads, not in -c.
rows=$(psql "$DATABASE_URL" -X -At -v ON_ERROR_STOP=1 -v tok="$TOKEN_HASH" -v now="$NOW" \
    <<<"SELECT count(*) FROM ($("$PY" tests/bench/directory_bench.py sql sql_auth "1=:'tok'" "2=:'now'")) q;")
[[ $rows == 1 ]] || die "the pgbench statement finds $rows rows for the bench session, expected 1"
PGB_CMD=(pgbench -n -M prepared -c "$DB_CONNS" -j 2 -T "$DURATION" -f me.sql
         -D tok=\$TOKEN_HASH -D now=\$NOW --log --log-prefix=pgb "\$DATABASE_URL")
say "pgbench: ${PGB_CMD[*]}"
p0=$(pg_ticks)
{ time (cd "$TMP" && timeout $((DURATION + 30)) "$PGBENCH" -n -M prepared -c "$DB_CONNS" -j 2 -T "$DURATION" \
    -f me.sql -D tok="$TOKEN_HASH" -D now="$NOW" --log --log-prefix=pgb "$DATABASE_URL" \
    >"$TMP/pgbench.out" 2>&1); } 2>"$TMP/pgbench.time" || { cat "$TMP/pgbench.out"; die "pgbench failed"; }
sleep 0.3   # let the postmaster reap the exited backends, so their CPU time is counted
PGB_PG_TICKS=$(( $(pg_ticks) - p0 ))
PGB_CLIENT_TICKS=$(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/pgbench.time")
sed 's/^/    /' "$TMP/pgbench.out"
PG_TPS=$(awk '/^tps = / { print $3; exit }' "$TMP/pgbench.out")
pg_failed=$(sed -n 's/^number of failed transactions: \([0-9]\+\).*/\1/p' "$TMP/pgbench.out")
[[ -z "$pg_failed" || "$pg_failed" == 0 ]] || die "pgbench: $pg_failed failed transactions"
PG_P99=$(pgb_pctl pgb 0.99)
PG_TXNS=$(pgb_txns pgb)
[[ -n "$PG_TPS" && "$PG_P99" != n/a ]] || die "could not parse the pgbench output"
rm -f "$TMP"/pgb.*

# ---------- memory at 1,000 idle keep-alive connections ----------
keepalive() {  # LABEL -> sets KA_OK KA_CLOSED KA_RSS_KB KA_FDS
    say "holding $IDLE_CONNS keep-alive connections ($1)"
    timeout 60 "$PY" tests/bench/keepalive.py "$PORT" "$SERVER_PID" "$IDLE_CONNS" >"$TMP/keepalive.json" \
        || die "keepalive.py failed"
    cat "$TMP/keepalive.json"
    read -r KA_OK KA_CLOSED KA_RSS_KB KA_FDS < <("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["statuses"].get("200", 0), d["closed_by_server"] + d["connection_close_headers"], d["rss_kb"], d["fds"])
' "$TMP/keepalive.json")
    [[ $KA_OK == "$IDLE_CONNS" ]] || die "only $KA_OK of $IDLE_CONNS GET /healthz answered 200"
    [[ $KA_CLOSED == 0 ]] || die "the server closed $KA_CLOSED of the $IDLE_CONNS keep-alive connections"
}
keepalive "after the runs above: one login so far"

# Each login runs argon2id (m = 19 MiB) on a worker-pool thread (max(2, threads) of them); the
# memory can stay resident per thread. Measure again after a burst of concurrent logins.
WORKPOOL=$(( THREADS < 2 ? 2 : THREADS ))
LOGINS=$((2 * WORKPOOL))
say "$LOGINS concurrent logins"
pids=()
for i in $(seq "$LOGINS"); do
    curl -sS --max-time 20 -o /dev/null -w '%{http_code}\n' -X POST "$BASE/v1/auth/login" \
        -H 'Content-Type: application/json' \
        --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" >"$TMP/login.$i" &
    pids+=($!)
done
wait "${pids[@]}" || true
ok=$(cat "$TMP"/login.[0-9]* | grep -cx 200 || true)
[[ $ok == "$LOGINS" ]] || die "only $ok of $LOGINS concurrent logins answered 200: $(cat "$TMP"/login.[0-9]* | tr '\n' ' ')"
RSS_LOGINS_KB=$(rss_kb)
KA1_RSS_KB=$KA_RSS_KB
keepalive "after $LOGINS concurrent logins"
KA2_RSS_KB=$KA_RSS_KB
HWM_KB=$(hwm_kb)
kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "overlegd died during the run"; }
SERVER_LOG_LINES=$(wc -l <"$TMP/server.log")

# ---------- summary ----------
RATIO=$(awk -v h="$HTTP_RPS" -v p="$PG_TPS" 'BEGIN { printf "%.1f", 100 * h / p }')
G_RATIO=$(yesno "$RATIO >= $GOAL_RATIO")
G_P99=$(yesno "$HTTP_P99 < $GOAL_P99_MS")
G_RSS=$(yesno "$KA1_RSS_KB < $GOAL_RSS_MB * 1024")
G_RSS2=$(yesno "$KA2_RSS_KB < $GOAL_RSS_MB * 1024")

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[[ -n "$CPU" ]] || CPU=unknown
MEM_GB=$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# Only changes to what is built count (this script rewrites the doc itself).
[[ -n "$(git status --porcelain --untracked-files=no -- server include sql Makefile 2>/dev/null)" ]] && COMMIT="$COMMIT (uncommitted server changes)"
[[ $OVERLEGD == build/overlegd ]] || COMMIT="$COMMIT, binary $OVERLEGD"
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
PGVER=$("$PGBENCH" --version | awk '{ print $3 }')
WRKVER=$({ wrk --version 2>&1 || true; } | awk 'NR == 1 { print $2 }')

section() {
cat <<EOF
### Latest run

- Date: $DATE, commit $COMMIT
- Machine: $(nproc) CPUs ($CPU), $MEM_GB GB RAM, Linux $(uname -r)
- PostgreSQL $PGVER (throw-away cluster, \`OVERLEG_PG_FAST=1\`: fsync off), wrk $WRKVER
- Server: \`OVERLEG_THREADS=$THREADS OVERLEG_DB_POOL=$POOL\` ($DB_CONNS database connections),
  \`OVERLEG_LOG_LEVEL=warn\`, \`OVERLEG_JOBS_INTERVAL=0\`
- wrk, overlegd, pgbench and PostgreSQL all share these $(nproc) CPUs. 1-minute load average
  before the run: $LOAD_START (well above 0 means other work competed for the CPUs).

Commands (the wrk run follows a ${WARMUP} s warm-up with the same settings):

\`\`\`
${WRK_CMD[*]}
${PGB_CMD[*]}
python3 tests/bench/keepalive.py PORT PID $IDLE_CONNS
\`\`\`

| Measure | Result | Goal | |
|---|---:|---:|---|
| HTTP \`GET /v1/me\` throughput, $CONNS connections | $(fmt0 "$HTTP_RPS") req/s | | |
| HTTP p99 latency | $HTTP_P99 ms | < $GOAL_P99_MS ms | $G_P99 |
| the same inside overlegd (\`/metrics\` histogram) | p99 <= $SRV_P99_LE ms; $SRV_UNDER10 % under 10 ms | | |
| HTTP slowest request (wrk's maximum) | $HTTP_MAX ms | | |
| pgbench, same statement, $DB_CONNS clients | $(fmt0 "$PG_TPS") tps | | |
| pgbench p99 latency | $PG_P99 ms | | |
| Ratio HTTP / pgbench | $RATIO % | >= $GOAL_RATIO % | $G_RATIO |
| overlegd RSS, idle after start | $(mb "$RSS_IDLE_KB") MB | | |
| overlegd RSS, after one login (argon2id) | $(mb "$RSS_LOGIN_KB") MB | | |
| overlegd RSS, idle after the wrk runs | $(mb "$RSS_AFTER_LOAD_KB") MB | | |
| overlegd RSS, $IDLE_CONNS keep-alive connections open | $(mb "$KA1_RSS_KB") MB | < $GOAL_RSS_MB MB | $G_RSS |
| overlegd RSS, idle after $LOGINS concurrent logins | $(mb "$RSS_LOGINS_KB") MB | | |
| overlegd RSS, $IDLE_CONNS keep-alive connections open after those logins | $(mb "$KA2_RSS_KB") MB | < $GOAL_RSS_MB MB | $G_RSS2 |
| overlegd peak RSS (VmHWM) over the whole run | $(mb "$HWM_KB") MB | | |

CPU time per request (user + system; share of one CPU over the run in brackets):

| | client | overlegd | PostgreSQL |
|---|---:|---:|---:|
| HTTP (wrk) | $(us_per "$HTTP_CLIENT_TICKS" "$HTTP_REQS") µs ($(cpu_pct "$HTTP_CLIENT_TICKS" "$DURATION") %) | $(us_per "$HTTP_SRV_TICKS" "$HTTP_REQS") µs ($(cpu_pct "$HTTP_SRV_TICKS" "$DURATION") %) | $(us_per "$HTTP_PG_TICKS" "$HTTP_REQS") µs ($(cpu_pct "$HTTP_PG_TICKS" "$DURATION") %) |
| pgbench | $(us_per "$PGB_CLIENT_TICKS" "$PG_TXNS") µs ($(cpu_pct "$PGB_CLIENT_TICKS" "$DURATION") %) | | $(us_per "$PGB_PG_TICKS" "$PG_TXNS") µs ($(cpu_pct "$PGB_PG_TICKS" "$DURATION") %) |

$HTTP_REQS HTTP requests, no non-2xx responses and no socket errors; $PG_TXNS pgbench
transactions, none failed; in both rounds all $IDLE_CONNS keep-alive connections answered 200 and
stayed open ($KA_FDS descriptors open in overlegd); $LOGINS concurrent logins answered 200;
$SERVER_LOG_LINES lines in the server log at level warn. During the wrk run $SRV_OVER1 requests took
over 1 s inside overlegd, and the kernel counted $TCP_DROPS connections dropped by a full listen
queue and $TCP_RTOS TCP retransmission timeouts (machine-wide, \`nstat\`).
EOF
}

echo
section
if [[ -n "$DOC" ]]; then
    section >"$TMP/section.md"
    "$PY" - "$DOC" "$TMP/section.md" <<'PY'
import os, sys
doc, sec = sys.argv[1], open(sys.argv[2]).read()
start, end = "<!-- bench:me:start -->", "<!-- bench:me:end -->"
intro = """# Benchmarks

`make bench` (script: `tests/bench/run.sh`, about three minutes) runs two benchmarks:
`GET /v1/me` (below) and the consultant directory (further down). `BENCH_ONLY=me` or
`BENCH_ONLY=directory` runs one of them.

## GET /v1/me

`tests/bench/me.sh` (about a minute) measures the hot path of the API,
`GET /v1/me`: one prepared statement (`sql_auth` in `server/session.c`, the session lookup every
authenticated request makes) plus the HTTP work around it.

- **HTTP**: `wrk` with 64 keep-alive connections against `overlegd` (2 threads, a pool of 8
  database connections each): requests per second and p99 latency, after a 3 s warm-up.
- **pgbench**: the same statement with the same parameters (the bench session's token hash and
  a fixed "now"), `-M prepared`, with as many clients as the server has database connections
  (16): the throughput the database allows at that concurrency. Its p99 comes from the
  per-transaction log (`--log`), which costs pgbench a little.
- **Ratio** HTTP / pgbench throughput.
- **Memory**: `overlegd`'s resident set size (VmRSS) idle, and with 1,000 idle keep-alive
  connections open, each having made one `GET /healthz` (`tests/bench/keepalive.py`). That is
  measured twice: after the runs above (the server has seen one login), and again after a
  burst of concurrent logins, because each login's argon2id hash (m = 19 MiB) runs on a
  worker-pool thread and that memory can stay resident, per thread.
- **CPU per request** of the client, `overlegd` and PostgreSQL (from `/proc`), which explains
  the ratio better than the throughput alone.

Goals (from the issue): HTTP throughput at least 70 % of pgbench's, HTTP p99 under 10 ms, RSS
under 50 MB at 1,000 open keep-alive connections. `BENCH_STRICT=1 make bench` fails when one is
missed; any non-2xx response, socket error or failed transaction fails the run in any case.

How to read the figures:

- Everything runs on one machine, against a throw-away PostgreSQL cluster started with
  `OVERLEG_PG_FAST=1` (fsync, synchronous_commit and full_page_writes off: irrelevant for this
  read-only statement, it only makes initdb quicker).
- wrk, `overlegd`, pgbench and PostgreSQL share the same 2 cores, and both runs saturate them.
  This penalises the HTTP path: the client costs CPU, and `overlegd` itself needs CPU that
  PostgreSQL then lacks. The ratio is therefore roughly pgbench's CPU per transaction divided
  by the HTTP path's CPU per request (client + `overlegd` + PostgreSQL), and would be higher
  with the client and the database on other machines.
- wrk is a closed loop: each connection sends its next request when the previous answer
  arrives, so the mean latency is connections / throughput (Little's law): 8 ms at 64
  connections and 8,000 req/s. With the p99 a few times the mean (as for pgbench here), a p99
  under 10 ms at 64 connections needs some 15,000-25,000 req/s: as much as or more than
  pgbench gets from the database on this machine. Most of the HTTP latency is the wait for one
  of the 16 pool connections (64 requests in flight), as the server's own `/metrics` histogram
  shows. So the p99 goal needs a larger machine, or a measurement at a fixed request rate
  below saturation (wrk2 `-R`).
- Other work on the machine skews everything; the section records the load average before the
  run. Compare runs made on an idle machine.

The section below is rewritten by every run of this benchmark.

"""
text = open(doc).read() if os.path.exists(doc) else intro + start + "\n" + end + "\n"
if start in text and end in text and text.index(start) < text.index(end):
    a, b = text.index(start) + len(start), text.index(end)
    text = text[:a] + "\n" + sec + text[b:]
else:
    text = text.rstrip("\n") + "\n\n" + start + "\n" + sec + end + "\n"
with open(doc, "w") as f:
    f.write(text)
PY
    echo "bench: results written to $DOC"
fi

if [[ $SERVER_LOG_LINES -gt 0 ]]; then
    echo "bench: the server logged $SERVER_LOG_LINES lines at level warn:"
    tail -n 20 "$TMP/server.log"
fi
if [[ $G_RATIO == met && $G_P99 == met && $G_RSS == met && $G_RSS2 == met ]]; then
    ME_GOALS_MET=yes
else
    ME_GOALS_MET=no
fi
