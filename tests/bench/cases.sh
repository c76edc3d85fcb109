# Sourced by tests/bench/run.sh (BENCH_ONLY unset or "cases"), after the common setup (the
# throw-away cluster, overlegd on 127.0.0.1:$PORT with the scheduler off, a signed-in admin:
# $TOKEN). A coordinator's stalled cases and the scheduler's pass, on three years of data:
#
# 1. tests/bench/cases_seed.sql generates $BENCH_CASES (200,000) cases and
#    $BENCH_CASES_CONSULTATIONS (1,000,000) consultations over 30 regions, in the steady state
#    the scheduler keeps (signals raised, signal_check_at at the next mark or NULL), with
#    $BENCH_CASES_DUE (200) of each changed since the last pass (due now).
# 2. A coordinator of the benchmark region, made through the API (POST /v1/users as the admin),
#    signs in. GET /v1/cases?stalled=true must answer 200 with a page of stalled cases, and
#    GET /v1/cases/{id} of the first one 200 with its reasons; both timed alone.
# 3. $BENCH_CASES_ROUNDS (2) rounds, each of:
#    - wrk, $BENCH_CASES_CONNS (16) connections, GET /v1/cases?stalled=true
#      (tests/bench/cases.lua): requests per second and latency; a response of 400 or more fails
#      the run (the warm-up before the first round reads every response: any status outside 2xx,
#      or an empty page, fails it);
#    - pgbench on the statements overlegd runs for it (sql_auth, sql_list, verbatim from the C
#      source by cases_bench.py, NULL inlined where overlegd passes NULL, -M prepared), at the
#      same concurrency; its first $BENCH_CASES_PGB_WARM (2) seconds are not counted.
#    The rounds split $BENCH_DURATION between them; the figures sum the rounds.
# 4. EXPLAIN (ANALYZE, BUFFERS) of the statement sql_list's case_page runs for stalled = true, as it
#    runs it (prepared, generic plan, after three runs).
# 5. The scheduler, in one connection: the first pass (the due ones), then three passes each
#    after 0, 100 and 1000 open cases were changed (signal_check_at set to now, as case_step
#    does); EXPLAIN (ANALYZE, BUFFERS) of both passes' candidate queries with 1000 cases and
#    1000 consultations due.
# 6. Rewrites the section between <!-- bench:cases:start --> and <!-- bench:cases:end --> of
#    docs/benchmarks.md. Sets CASES_GOALS_MET (yes/no).
#
# About 3 minutes, half of it generating the data.

CASES_CONNS=${BENCH_CASES_CONNS:-16}
CASES_N=${BENCH_CASES:-200000}
CASES_CONS_N=${BENCH_CASES_CONSULTATIONS:-1000000}
CASES_DUE=${BENCH_CASES_DUE:-200}
CASES_ROUNDS=${BENCH_CASES_ROUNDS:-2}
CASES_PGB_WARM_S=${BENCH_CASES_PGB_WARM:-2}
GOAL_CASES_P99_MS=30 GOAL_CASES_RATIO=70 GOAL_CASES_PASS_MS=2000   # from the issue
CASES_LOAD=$(cut -d' ' -f1 /proc/loadavg)
CASES_FAILED=
CASES_PATH='/v1/cases?stalled=true'
TIMEFORMAT='%U %S %R'   # bash's time keyword: user, system and real seconds
cases_sql() { psql "$DATABASE_URL" -X -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
# Waits (at most 10 s) until no backend of APPLICATION_NAME runs a statement.
cases_drain() {
    local busy
    for _ in $(seq 100); do
        busy=$(cases_sql -c "SELECT count(*) FROM pg_stat_activity
            WHERE application_name = '$1' AND state <> 'idle' AND pid <> pg_backend_pid()")
        [[ $busy == 0 ]] && return 0
        sleep 0.1
    done
}

# ---------- data ----------
say "cases: generating $CASES_N cases and $CASES_CONS_N consultations (tests/bench/cases_seed.sql)"
t0=$(date +%s%N)
timeout 1200 psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -v cases="$CASES_N" \
    -v consultations="$CASES_CONS_N" -v due_cases="$CASES_DUE" -v due_consultations="$CASES_DUE" \
    -f tests/bench/cases_seed.sql >"$TMP/cases-seed.out" 2>&1 \
    || { cat "$TMP/cases-seed.out" >&2; die "cases_seed.sql failed"; }
# The seed writes its texts in clear; the server opens only sealed ones (docs/encryption.md).
timeout 1200 "$OVERLEGD" rekey --batch 2000 >"$TMP/cases-rekey.out" 2>&1 \
    || { cat "$TMP/cases-rekey.out" >&2; die "rekey of the seed failed"; }
CASES_SEED_S=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')
read -r CASES_REGION CASES_ORG < <(tail -n 1 "$TMP/cases-seed.out" | tr '|' ' ')
[[ -n "$CASES_REGION" && -n "$CASES_ORG" ]] || { cat "$TMP/cases-seed.out" >&2; die "cases_seed.sql printed no region"; }
read -r CASES_ALL CASES_CONS CASES_REGIONS CASES_IN_REGION CASES_OPEN_REGION CASES_STALLED_REGION \
        CASES_OPEN CASES_STALLED CASES_SIGNALS CASES_DUE_NOW CASES_CONS_DUE_NOW CASES_MB CASES_CONS_MB \
    < <(cases_sql -c "
    SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM consultations),
           (SELECT count(DISTINCT region) FROM cases),
           count(*) FILTER (WHERE region = '$CASES_REGION'),
           count(*) FILTER (WHERE region = '$CASES_REGION' AND status IN ('registered', 'returned', 'in_progress')),
           count(*) FILTER (WHERE region = '$CASES_REGION' AND cardinality(case_stalled(c, now())) > 0),
           count(*) FILTER (WHERE status IN ('registered', 'returned', 'in_progress')),
           count(*) FILTER (WHERE cardinality(case_stalled(c, now())) > 0),
           (SELECT count(*) FROM signals WHERE resolved_at IS NULL),
           count(*) FILTER (WHERE signal_check_at <= now()),
           (SELECT count(*) FROM consultations WHERE signal_check_at <= now()),
           round(pg_total_relation_size('cases') / 1048576.0),
           round(pg_total_relation_size('consultations') / 1048576.0)
      FROM cases c")
[[ $CASES_ALL -ge $CASES_N && $CASES_STALLED_REGION -gt 20 ]] \
    || die "the generated data has $CASES_ALL cases, $CASES_STALLED_REGION stalled in $CASES_REGION"
echo "    $CASES_ALL cases ($CASES_MB MB with indexes), $CASES_CONS consultations ($CASES_CONS_MB MB), $CASES_REGIONS regions;" \
     "$CASES_REGION: $CASES_IN_REGION cases, $CASES_OPEN_REGION open, $CASES_STALLED_REGION stalled; ${CASES_SEED_S} s"

# ---------- the coordinator ----------
CASES_EMAIL=coordinator@cases.bench.example
CASES_PASSWORD=$(openssl rand -hex 12)
code=$(curl -sS --max-time 20 -o "$TMP/cases-user.json" -w '%{http_code}' -X POST "$BASE/v1/users" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data "{\"email\":\"$CASES_EMAIL\",\"name\":\"Coördinator Benchmark\",\"role\":\"coordinator\",\"organisation_id\":\"$CASES_ORG\",\"password\":\"$CASES_PASSWORD\"}") \
    || die "POST /v1/users (the coordinator): no answer"
[[ $code == 201 ]] || { cat "$TMP/cases-user.json" >&2; die "POST /v1/users (the coordinator) answered $code"; }
code=$(curl -sS --max-time 20 -o "$TMP/cases-login.json" -w '%{http_code}' -X POST "$BASE/v1/auth/login" \
    -H 'Content-Type: application/json' --data "{\"email\":\"$CASES_EMAIL\",\"password\":\"$CASES_PASSWORD\"}") \
    || die "the coordinator's login: no answer"
[[ $code == 200 ]] || { cat "$TMP/cases-login.json" >&2; die "the coordinator's login answered $code"; }
read -r CASES_TOKEN CASES_UID < <("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["token"], d["user"]["id"])' "$TMP/cases-login.json")
[[ -n "$CASES_TOKEN" && -n "$CASES_UID" ]] || die "no token in the coordinator's login response"
# The principal as overlegd sends it (server/principal.c), and the session pgbench finds.
CASES_WHO="(\"$CASES_UID\",\"coordinator\",\"$CASES_ORG\",\"$CASES_REGION\")"
CASES_TOK=$(printf %s "$CASES_TOKEN" | sha256sum | cut -d' ' -f1)
CASES_NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)   # "now" for pgbench and EXPLAIN
[[ $(cases_sql -c "SELECT count(*) FROM sessions WHERE token_hash = '$CASES_TOK'
      AND revoked_at IS NULL AND expires_at > '$CASES_NOW'") == 1 ]] \
    || die "the coordinator's token hash finds no valid session: pgbench would measure nothing"

# ---------- one request alone ----------
out=$(curl -sS --max-time 30 -o "$TMP/cases-list.json" -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer $CASES_TOKEN" "$BASE$CASES_PATH") || die "GET $CASES_PATH: no answer"
read -r code secs <<<"$out"
CASES_ONE_LIST_MS=$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')
[[ $code == 200 ]] || { head -c 400 "$TMP/cases-list.json" >&2; die "GET $CASES_PATH answered $code"; }
read -r CASES_PAGE CASES_PAGE_BAD CASES_FIRST < <("$PY" -c '
import json, sys
items = json.load(open(sys.argv[1]))["items"]
bad = [i["id"] for i in items if not (i["stalled"]["is_stalled"] and i["stalled"]["reasons"])
       or i["region"] != sys.argv[2]]
print(len(items), len(bad), items[0]["id"] if items else "-")' "$TMP/cases-list.json" "$CASES_REGION")
[[ $CASES_PAGE -gt 0 && $CASES_PAGE_BAD == 0 ]] \
    || die "GET $CASES_PATH gave $CASES_PAGE items, $CASES_PAGE_BAD of them not stalled or not of $CASES_REGION"
out=$(curl -sS --max-time 30 -o "$TMP/cases-one.json" -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer $CASES_TOKEN" "$BASE/v1/cases/$CASES_FIRST") || die "GET /v1/cases/{id}: no answer"
read -r code secs <<<"$out"
CASES_ONE_GET_MS=$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')
[[ $code == 200 ]] || { head -c 400 "$TMP/cases-one.json" >&2; die "GET /v1/cases/{id} answered $code"; }
CASES_ONE_REASONS=$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(",".join(d["stalled"]["reasons"]), len(d["timeline"]))' "$TMP/cases-one.json")
[[ -n "${CASES_ONE_REASONS%% *}" ]] || die "GET /v1/cases/$CASES_FIRST shows no stalled reasons"

# ---------- HTTP and pgbench, in alternating rounds ----------
CASES_ROUND_S=$(( (DURATION + CASES_ROUNDS - 1) / CASES_ROUNDS ))
CASES_STMT_TIMEOUT=$(grep -o 'statement_timeout=[0-9]*' server/db.c | head -n 1 | cut -d= -f2 || true)
mkdir -p "$TMP/casespgb"
mapfile -t CASES_PGB_ARGS < <("$PY" tests/bench/cases_bench.py pgbench "$TMP/casespgb")
[[ ${#CASES_PGB_ARGS[@]} -gt 0 ]] || die "cases_bench.py pgbench printed nothing"
CASES_RID=00000000-0000-4000-8000-0000000ca5e5   # overlegd makes a random one per request
CASES_WRK_CMD=(wrk -t2 -c"$CASES_CONNS" -d"${CASES_ROUND_S}s" --latency --timeout 10s
               -H "'Authorization: Bearer \$TOKEN'" -s tests/bench/cases.lua
               "http://127.0.0.1:\$PORT" -- "'$CASES_PATH'")
CASES_PGB_CMD=(${CASES_STMT_TIMEOUT:+PGOPTIONS=\'-c statement_timeout=$CASES_STMT_TIMEOUT\'}
               pgbench -n -M prepared -c "$CASES_CONNS" -j 2 -T $((CASES_PGB_WARM_S + CASES_ROUND_S))
               -f cases_list.sql -D tok=\$TOKEN_HASH -D now=\$NOW -D actor=\$COORDINATOR
               -D ip=127.0.0.1 -D rid=\$REQUEST_ID "-D who='(\$COORDINATOR,coordinator,\$ORG,$CASES_REGION)'"
               -D stalled=true -D lim=21 --log --log-prefix=casespgb.rN "\$DATABASE_URL")

say "cases: wrk warm-up (${WARMUP}s), reading every response"
CASES_CHECK=1 timeout $((WARMUP + 60)) wrk -t2 -c"$CASES_CONNS" -d"${WARMUP}s" --timeout 10s \
    -H "Authorization: Bearer $CASES_TOKEN" -s tests/bench/cases.lua "$BASE" -- "$CASES_PATH" \
    >"$TMP/cases-wrk-warmup.out" 2>&1 || { cat "$TMP/cases-wrk-warmup.out"; die "wrk warm-up failed"; }
wrk_check "$TMP/cases-wrk-warmup.out" "cases wrk warm-up" cases CASES_FAILED empty || true
cases_drain overlegd

CASES_HTTP_REQS=0 CASES_HTTP_SECONDS=0 CASES_HTTP_BUSY=0 CASES_HTTP_SRV=0 CASES_HTTP_PG=0 CASES_HTTP_CLIENT=0
CASES_PGB_ALL=0 CASES_PGB_SECONDS=0 CASES_PGB_BUSY=0 CASES_PGB_PG=0 CASES_PGB_CLIENT=0
CASES_PG_NOTE="none failed" CASES_ROUND_ROWS=
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/cases-metrics.before"
for round in $(seq "$CASES_ROUNDS"); do
    say "cases: round $round of $CASES_ROUNDS: ${CASES_WRK_CMD[*]}"
    out="$TMP/cases-wrk.$round.out"
    s0=$(srv_ticks) p0=$(pg_ticks) b0=$(busy_ticks)
    { time timeout $((CASES_ROUND_S + 60)) wrk -t2 -c"$CASES_CONNS" -d"${CASES_ROUND_S}s" --latency --timeout 10s \
        -H "Authorization: Bearer $CASES_TOKEN" -s tests/bench/cases.lua "$BASE" -- "$CASES_PATH" \
        >"$out" 2>&1; } 2>"$TMP/cases-wrk.time" || { cat "$out"; die "wrk failed"; }
    CASES_HTTP_BUSY=$((CASES_HTTP_BUSY + $(busy_ticks) - b0))
    CASES_HTTP_SRV=$((CASES_HTTP_SRV + $(srv_ticks) - s0)) CASES_HTTP_PG=$((CASES_HTTP_PG + $(pg_ticks) - p0))
    CASES_HTTP_CLIENT=$((CASES_HTTP_CLIENT + $(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/cases-wrk.time")))
    sed -n '/Thread Stats/,/Transfer\/sec/p' "$out" | sed 's/^/    /'
    [[ -n "$CASES_FAILED" ]] || wrk_check "$out" "cases wrk, round $round" "" CASES_FAILED || true
    grep -q '^Requests/sec:' "$out" || { cat "$out"; die "could not parse the cases wrk output"; }
    CASES_HTTP_REQS=$((CASES_HTTP_REQS + $(awk '/requests in/ { print $1 }' "$out")))
    CASES_HTTP_SECONDS=$(awk -v t="$CASES_HTTP_SECONDS" '/requests in/ { sub(/s,$/, "", $4); print t + $4 }' "$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    # Requests still in flight when wrk stopped: let them finish before pgbench.
    cases_drain overlegd

    say "cases: round $round of $CASES_ROUNDS: ${CASES_PGB_CMD[*]}"
    out="$TMP/cases-pgbench.$round.out" rc=0
    p0=$(pg_ticks) b0=$(busy_ticks)
    from=$(awk -v t="$(date +%s.%N)" -v w="$CASES_PGB_WARM_S" 'BEGIN { printf "%.6f", t + w }')
    to=$(awk -v t="$from" -v d="$CASES_ROUND_S" 'BEGIN { printf "%.6f", t + d }')
    { time (cd "$TMP" && PGOPTIONS=${CASES_STMT_TIMEOUT:+"-c statement_timeout=$CASES_STMT_TIMEOUT"} \
        timeout $((CASES_PGB_WARM_S + CASES_ROUND_S + 60)) "$PGBENCH" -n -M prepared -c "$CASES_CONNS" -j 2 \
        -T $((CASES_PGB_WARM_S + CASES_ROUND_S)) "${CASES_PGB_ARGS[@]}" -D tok="$CASES_TOK" -D now="$CASES_NOW" \
        -D actor="$CASES_UID" -D ip=127.0.0.1 -D rid="$CASES_RID" -D who="$CASES_WHO" -D stalled=true \
        -D lim=21 --log --log-prefix="casespgb.r$round" "$DATABASE_URL" >"$out" 2>&1); } \
        2>"$TMP/cases-pgbench.time" || rc=$?
    sleep 0.3   # let the postmaster reap the exited backends, so their CPU time is counted
    CASES_PGB_BUSY=$((CASES_PGB_BUSY + $(busy_ticks) - b0)) CASES_PGB_PG=$((CASES_PGB_PG + $(pg_ticks) - p0))
    CASES_PGB_CLIENT=$((CASES_PGB_CLIENT + $(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/cases-pgbench.time")))
    CASES_PGB_SECONDS=$(awk -v t="$CASES_PGB_SECONDS" '{ printf "%.3f", t + $3 }' "$TMP/cases-pgbench.time")
    pgb_outcome "$out" "cases, round $round" "$rc" "$CASES_CONNS"
    if [[ -n "$PGB_FAILED" ]]; then
        CASES_PG_NOTE="round $round: $PGB_NOTE"
        CASES_FAILED=${CASES_FAILED:-$PGB_FAILED}
    fi
    # Every transaction counts for the CPU time per transaction; the logs keep only those that
    # finished from `from` to `to` (their 5th and 6th fields: epoch seconds and microseconds).
    mapfile -t logs < <(compgen -G "$TMP/casespgb.r$round.*" || true)
    CASES_PGB_ALL=$((CASES_PGB_ALL + $(awk 'END { print NR }' /dev/null "${logs[@]}")))
    for f in "${logs[@]}"; do
        awk -v from="$from" -v to="$to" '{ t = $5 + $6 / 1e6 } t < from || t > to { next } { print }' \
            "$f" >"$TMP/cases-pgbench.kept"
        mv "$TMP/cases-pgbench.kept" "$f"
    done
    tps=$(awk -v n="$(awk 'END { print NR }' /dev/null "${logs[@]}")" -v d="$CASES_ROUND_S" 'BEGIN { printf "%.2f", n / d }')
    CASES_ROUND_ROWS+="| $round | $(fmt0 "$rps") | $(fmt0 "$tps") | $(awk -v h="$rps" -v p="$tps" 'BEGIN { if (p > 0) printf "%.1f", 100 * h / p; else printf "n/a" }') % |"$'\n'
done
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/cases-metrics.after"

CASES_HTTP_RPS=$(awk -v n="$CASES_HTTP_REQS" -v d="$CASES_HTTP_SECONDS" 'BEGIN { printf "%.2f", n / d }')
CASES_HTTP_P50=$(wrk_pctl 0.50 cases "$TMP"/cases-wrk.[0-9]*.out)
CASES_HTTP_P99=$(wrk_pctl 0.99 cases "$TMP"/cases-wrk.[0-9]*.out)
[[ $CASES_HTTP_P99 != n/a ]] || die "the cases wrk runs printed no latencies"
CASES_HTTP_OTHER=$(other_pct "$CASES_HTTP_BUSY" $((CASES_HTTP_SRV + CASES_HTTP_PG + CASES_HTTP_CLIENT)) "$CASES_HTTP_SECONDS")
read -r CASES_SRV_P99_LE CASES_SRV_UNDER CASES_DB_ERRS < <(metrics_delta "GET /v1/cases" 0.025 \
    "$TMP/cases-metrics.before" "$TMP/cases-metrics.after")
if [[ -z "$CASES_FAILED" && "$CASES_DB_ERRS" != 0 ]]; then
    CASES_FAILED="the database pool counted $CASES_DB_ERRS errors, timeouts or reconnects during the wrk runs"
    tail -n 10 "$TMP/server.log" >&2
fi
CASES_PG_TXNS=$(pgb_txns casespgb)
CASES_PG_TPS=$(awk -v n="$CASES_PG_TXNS" -v d=$((CASES_ROUNDS * CASES_ROUND_S)) 'BEGIN { printf "%.2f", n / d }')
CASES_PG_P50=$(pgb_pctl casespgb 0.50) CASES_PG_P99=$(pgb_pctl casespgb 0.99)
[[ $CASES_PG_TXNS -gt 0 && $CASES_PG_P99 != n/a ]] || die "could not parse the cases pgbench output"
CASES_PGB_OTHER=$(other_pct "$CASES_PGB_BUSY" $((CASES_PGB_PG + CASES_PGB_CLIENT)) "$CASES_PGB_SECONDS")
rm -f "$TMP"/casespgb.*

# ---------- the list's plan ----------
say "cases: EXPLAIN (ANALYZE, BUFFERS) of case_page (stalled)"
"$PY" tests/bench/cases_bench.py explain >"$TMP/cases-explain.sql"
timeout 120 psql "$DATABASE_URL" -X -q -v now="$CASES_NOW" -v actor="$CASES_UID" -v who="$CASES_WHO" \
    -f "$TMP/cases-explain.sql" >"$TMP/cases-explain.out" 2>&1 \
    || { tail -n 30 "$TMP/cases-explain.out" >&2; die "EXPLAIN of case_page failed"; }

# ---------- the scheduler ----------
# One connection, as a server process runs its passes: the first pass takes what was due; then
# passes after changing 0, 100 and 1000 open cases (each three times, other cases each time).
say "cases: scheduler passes over $CASES_ALL cases and $CASES_CONS consultations"
{
    echo '\set ON_ERROR_STOP 1'
    echo '\timing on'
    echo "\\echo '### first'"
    echo 'SELECT * FROM scheduler_run(now());'
    for n in 0 100 1000; do
        for rep in 1 2 3; do
            [[ $n == 0 ]] || echo "UPDATE cases SET signal_check_at = now() WHERE id IN (SELECT id FROM cases
                WHERE status IN ('registered', 'returned', 'in_progress') ORDER BY md5(id::text || '$n-$rep') LIMIT $n);"
            echo "\\echo '### $n'"
            echo 'SELECT * FROM scheduler_run(now());'
        done
    done
} >"$TMP/cases-passes.sql"
timeout 300 psql "$DATABASE_URL" -X -q -At -f "$TMP/cases-passes.sql" >"$TMP/cases-passes.out" 2>&1 \
    || { tail -n 20 "$TMP/cases-passes.out" >&2; die "the scheduler passes failed"; }
"$PY" tests/bench/cases_bench.py passes "$TMP/cases-passes.out" >"$TMP/cases-passes.txt"
[[ $(wc -l <"$TMP/cases-passes.txt") == 10 ]] || { cat "$TMP/cases-passes.out" >&2; die "could not read the scheduler pass times"; }
read -r _ CASES_PASS_FIRST_MS CASES_PASS_FIRST_RAISED CASES_PASS_FIRST_RESOLVED CASES_PASS_FIRST_NOTIFIED \
    < <(head -n 1 "$TMP/cases-passes.txt")
# "MEDIAN MIN MAX" of the passes after N changed
pass_stats() { awk -v n="$1" '$1 == n { print $2 }' "$TMP/cases-passes.txt" | sort -n \
    | awk '{ v[NR] = $1 } END { printf "%.1f %.1f %.1f\n", v[2], v[1], v[3] }'; }
read -r CASES_PASS0_MS CASES_PASS0_MIN CASES_PASS0_MAX < <(pass_stats 0)
read -r CASES_PASS100_MS CASES_PASS100_MIN CASES_PASS100_MAX < <(pass_stats 100)
read -r CASES_PASS1000_MS CASES_PASS1000_MIN CASES_PASS1000_MAX < <(pass_stats 1000)
CASES_PASS_MAX_MS=$(awk '{ if ($2 > m) m = $2 } END { printf "%.1f", m }' "$TMP/cases-passes.txt")

say "cases: EXPLAIN (ANALYZE, BUFFERS) of the passes' candidate queries, 1000 cases and 1000 consultations due"
{
    echo 'BEGIN;'
    echo "UPDATE cases SET signal_check_at = now() WHERE id IN (SELECT id FROM cases
        WHERE status IN ('registered', 'returned', 'in_progress') ORDER BY md5(id::text || 'explain') LIMIT 1000);"
    echo "UPDATE consultations SET signal_check_at = now() WHERE id IN (SELECT id FROM consultations
        TABLESAMPLE SYSTEM (1) REPEATABLE (11) ORDER BY id LIMIT 1000);"
    "$PY" tests/bench/cases_bench.py candidates
    echo 'ROLLBACK;'
} >"$TMP/cases-candidates.sql"
timeout 120 psql "$DATABASE_URL" -X -q -f "$TMP/cases-candidates.sql" >"$TMP/cases-candidates.out" 2>&1 \
    || { tail -n 30 "$TMP/cases-candidates.out" >&2; die "EXPLAIN of the candidate queries failed"; }
cat "$TMP/cases-explain.out" "$TMP/cases-candidates.out" >"$TMP/cases-plans.out"
"$PY" tests/bench/cases_bench.py plans "$TMP/cases-plans.out" >"$TMP/cases-plans.json"
kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "overlegd died during the cases run"; }
CASES_SERVER_LOG_LINES=$(wc -l <"$TMP/server.log")

# ---------- summary ----------
CASES_RATIO=$(awk -v h="$CASES_HTTP_RPS" -v p="$CASES_PG_TPS" 'BEGIN { printf "%.1f", 100 * h / p }')
G_CASES_P99=$(yesno "$CASES_HTTP_P99 < $GOAL_CASES_P99_MS")
G_CASES_RATIO=$(yesno "$CASES_RATIO >= $GOAL_CASES_RATIO")
G_CASES_PASS=$(yesno "$CASES_PASS_FIRST_MS < $GOAL_CASES_PASS_MS && $CASES_PASS_MAX_MS < $GOAL_CASES_PASS_MS")
[[ -z "$CASES_FAILED" ]] && G_CASES_P99_TXT=$G_CASES_P99 G_CASES_RATIO_TXT=$G_CASES_RATIO \
    || G_CASES_P99_TXT="**not met** (run failed)" G_CASES_RATIO_TXT="**not met** (run failed)"
if [[ -z "$CASES_FAILED" && $G_CASES_P99 == met && $G_CASES_RATIO == met && $G_CASES_PASS == met ]]; then
    CASES_GOALS_MET=yes
else
    CASES_GOALS_MET=no
fi
CASES_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git status --porcelain --untracked-files=normal -- server include sql Makefile 2>/dev/null)" ]] && CASES_COMMIT="$CASES_COMMIT (uncommitted server changes)"
[[ $OVERLEGD == build/overlegd ]] || CASES_COMMIT="$CASES_COMMIT, binary $OVERLEGD"
per_subject() { awk -v ms="$1" -v n="$2" 'BEGIN { printf "%.2f", ms / n }'; }

cases_section() {
cat <<EOF
### Latest run

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $CASES_COMMIT
- Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $("$PGBENCH" --version | awk '{ print $3 }') (throw-away cluster, fsync off)
- Server: \`OVERLEG_THREADS=$THREADS OVERLEG_DB_POOL=$POOL\` ($DB_CONNS database connections), scheduler
  off (\`OVERLEG_JOBS_INTERVAL=0\`); wrk and pgbench with $CASES_CONNS connections
- Data (\`tests/bench/cases_seed.sql\`, ${CASES_SEED_S} s): $CASES_ALL cases ($CASES_MB MB with indexes; $CASES_OPEN open,
  $CASES_STALLED stalled) and $CASES_CONS consultations ($CASES_CONS_MB MB) over $CASES_REGIONS regions; $CASES_SIGNALS open
  signals; due now at the start: $CASES_DUE_NOW cases and $CASES_CONS_DUE_NOW consultations. The coordinator's region
  \`$CASES_REGION\`: $CASES_IN_REGION cases, $CASES_OPEN_REGION open, $CASES_STALLED_REGION stalled
- Other work on the machine: 1-minute load average $LOAD_START before \`make bench\` started and
  $CASES_LOAD when this benchmark started; during the measured runs, processes other than wrk,
  overlegd, pgbench and PostgreSQL took $CASES_HTTP_OTHER % of one CPU during the wrk runs and
  $CASES_PGB_OTHER % during the pgbench runs

$CASES_ROUNDS rounds of wrk, then pgbench, ${CASES_ROUND_S} s measured each (the first round follows a ${WARMUP} s wrk
warm-up that reads every response; each pgbench run lasts ${CASES_PGB_WARM_S} s longer, those seconds not counted;
cases_list.sql is written by \`cases_bench.py pgbench\`: sql_auth and sql_list):

\`\`\`
${CASES_WRK_CMD[*]}
${CASES_PGB_CMD[*]}
\`\`\`

EOF
if [[ -n "$CASES_FAILED" ]]; then
    bad=$(sed -n 's/^cases-first-non-2xx //p' "$TMP/cases-wrk-warmup.out" | head -n 1 | cut -c1-200)
    printf '**The run failed: %s.**%s\n\n' "$CASES_FAILED" "${bad:+ First failing answer: \`$bad\`}"
fi
cat <<EOF
| Measure | Result | Goal | |
|---|---:|---:|---|
| \`GET $CASES_PATH\` alone (curl, first page: $CASES_PAGE items) | $CASES_ONE_LIST_MS ms | | |
| \`GET /v1/cases/{id}\` of its first case alone (reasons: ${CASES_ONE_REASONS%% *}; ${CASES_ONE_REASONS##* } events) | $CASES_ONE_GET_MS ms | | |
| HTTP \`GET $CASES_PATH\`, $CASES_CONNS connections | $(fmt0 "$CASES_HTTP_RPS") req/s | | |
| HTTP latency p50 / p99 | $CASES_HTTP_P50 / $CASES_HTTP_P99 ms | p99 < $GOAL_CASES_P99_MS ms | $G_CASES_P99_TXT |
| the same inside overlegd (\`/metrics\` histogram) | p99 <= $CASES_SRV_P99_LE ms; $CASES_SRV_UNDER % under 25 ms | | |
| pgbench, sql_auth + sql_list, $CASES_CONNS clients | $(fmt0 "$CASES_PG_TPS") tps | | |
| pgbench latency p50 / p99 | $CASES_PG_P50 / $CASES_PG_P99 ms | | |
| Ratio HTTP / pgbench | $CASES_RATIO % | >= $GOAL_CASES_RATIO % | $G_CASES_RATIO_TXT |
| Scheduler, first pass ($CASES_DUE_NOW cases and $CASES_CONS_DUE_NOW consultations due; raised $CASES_PASS_FIRST_RAISED, resolved $CASES_PASS_FIRST_RESOLVED, notified $CASES_PASS_FIRST_NOTIFIED) | $CASES_PASS_FIRST_MS ms | < $GOAL_CASES_PASS_MS ms | $G_CASES_PASS |
| Scheduler pass after 0 cases changed (median of 3; min-max) | $CASES_PASS0_MS ms ($CASES_PASS0_MIN-$CASES_PASS0_MAX) | | |
| Scheduler pass after 100 cases changed | $CASES_PASS100_MS ms ($CASES_PASS100_MIN-$CASES_PASS100_MAX); $(per_subject "$CASES_PASS100_MS" 100) ms a case | | |
| Scheduler pass after 1000 cases changed | $CASES_PASS1000_MS ms ($CASES_PASS1000_MIN-$CASES_PASS1000_MAX); $(per_subject "$CASES_PASS1000_MS" 1000) ms a case | | |

The rounds one by one:

| round | HTTP req/s | pgbench tps | ratio |
|---:|---:|---:|---:|
${CASES_ROUND_ROWS%$'\n'}

CPU time per request (user + system; share of one CPU over the runs in brackets):

| | client | overlegd | PostgreSQL | other processes |
|---|---:|---:|---:|---:|
| HTTP (wrk) | $(us_per "$CASES_HTTP_CLIENT" "$CASES_HTTP_REQS") µs ($(cpu_pct "$CASES_HTTP_CLIENT" "$CASES_HTTP_SECONDS") %) | $(us_per "$CASES_HTTP_SRV" "$CASES_HTTP_REQS") µs ($(cpu_pct "$CASES_HTTP_SRV" "$CASES_HTTP_SECONDS") %) | $(us_per "$CASES_HTTP_PG" "$CASES_HTTP_REQS") µs ($(cpu_pct "$CASES_HTTP_PG" "$CASES_HTTP_SECONDS") %) | ($CASES_HTTP_OTHER %) |
| pgbench | $(us_per "$CASES_PGB_CLIENT" "$CASES_PGB_ALL") µs ($(cpu_pct "$CASES_PGB_CLIENT" "$CASES_PGB_SECONDS") %) | | $(us_per "$CASES_PGB_PG" "$CASES_PGB_ALL") µs ($(cpu_pct "$CASES_PGB_PG" "$CASES_PGB_SECONDS") %) | ($CASES_PGB_OTHER %) |

$CASES_HTTP_REQS HTTP requests; $CASES_PG_TXNS pgbench transactions counted ($CASES_PGB_ALL in all), $CASES_PG_NOTE;
$CASES_SERVER_LOG_LINES lines in the server log at level warn (whole \`make bench\` run).

Every scheduler pass (label = cases changed before it; ms; signals raised, resolved; notifications):

\`\`\`
$(cat "$TMP/cases-passes.txt")
\`\`\`

EOF
"$PY" - "$TMP/cases-plans.json" <<'PY'
import json, sys
plans = json.load(open(sys.argv[1]))
for name, p in plans.items():
    title = name.split(":")[0]
    what = ("The statement `case_page` (called by `sql_list`) runs for the coordinator's first page of "
            "`?stalled=true`, prepared with a generic plan as the function runs it, after three runs"
            if title == "case_page" else
            f"The candidate query of `{title}` (`{name.split(': ', 1)[1]}`, p_now as $1), with 1000 "
            "cases and 1000 consultations made due, in a transaction rolled back")
    ms = f"{p['ms']:.2f} ms" if p["ms"] is not None else "?"
    print(f"{what}: {ms}.")
    print()
    print("```")
    print(p["plan"])
    print("```")
    print()
PY
}

echo
cases_section | tee "$TMP/cases-section.md"
[[ -z "$DOC" ]] || write_section cases "Escalation cases: the coordinator's stalled list and the scheduler" "$TMP/cases-section.md"
[[ -z "$CASES_FAILED" ]] || die "cases: $CASES_FAILED"
