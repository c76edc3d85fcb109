# Sourced by tests/bench/run.sh (BENCH_ONLY unset or "directory"), after the common setup (the
# throw-away cluster, overlegd on 127.0.0.1:$PORT, a signed-in admin: $TOKEN). The consultant
# directory benchmark:
#
# 1. tests/bench/directory_seed.sql generates $BENCH_DIR_PROFILES (50,000) consultant profiles.
# 2. Every query string of tests/bench/directory_mix.txt must answer 200 with at least one item.
# 3. $BENCH_DIR_ROUNDS (3) rounds, each of:
#    - wrk, $BENCH_DIR_CONNS (32) connections, cycling through the mix (tests/bench/directory.lua):
#      requests per second and latency; a response of 400 or more fails the run (and in the
#      warm-up before the first round, which reads every response, any outside 2xx or a page
#      without items);
#    - pgbench on the statements overlegd runs for the same mix (taken verbatim from
#      server/directory.c by directory_bench.py, NULL inlined where overlegd passes NULL, -M
#      prepared), at the same concurrency as wrk (the issue's goal: HTTP at least 70 % of it);
#    - the same with as many clients as overlegd has database connections (the database's best
#      throughput here; a stricter comparison, reported without a goal);
#    - that again behind the session check, exactly as overlegd sends the statements
#      (WITH_SESSION_SQL in server/session.c).
#    The rounds split $BENCH_DURATION between them; the figures sum the rounds.
# 4. The plan of every query string, as one pooled connection runs them (the mix run once first,
#    then each again with auto_explain: ANALYZE, BUFFERS, the queries inside directory_search
#    included).
# 5. Rewrites the section between <!-- bench:directory:start --> and <!-- bench:directory:end -->
#    of docs/benchmarks.md. Sets DIR_GOALS_MET (yes/no).

DIR_CONNS=${BENCH_DIR_CONNS:-32}
DIR_PROFILES=${BENCH_DIR_PROFILES:-50000}
DIR_MIX=tests/bench/directory_mix.txt
GOAL_DIR_P99_MS=25 GOAL_DIR_RATIO=70   # from the issue
TIMEFORMAT='%U %S %R'   # bash's time keyword: user, system and real seconds
DIR_NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)   # "now" for pgbench and EXPLAIN

# ---------- data ----------
say "directory: generating $DIR_PROFILES consultant profiles (tests/bench/directory_seed.sql)"
t0=$(date +%s%N)
timeout 240 psql "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v n="$DIR_PROFILES" \
    -f tests/bench/directory_seed.sql >"$TMP/seed.log" 2>&1 \
    || { cat "$TMP/seed.log" >&2; die "directory_seed.sql failed"; }
DIR_SEED_S=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
read -r DIR_ROWS DIR_ORGS DIR_REGIONS DIR_WORDS DIR_MB < <(psql "$DATABASE_URL" -X -At -F ' ' -c "
    SELECT (SELECT count(*) FROM consultant_profiles WHERE active),
           (SELECT count(DISTINCT u.organisation_id) FROM users u WHERE u.role = 'consultant'),
           (SELECT count(DISTINCT r) FROM consultant_profiles, unnest(regions) r),
           (SELECT count(*) FROM directory_words),
           round(pg_total_relation_size('consultant_profiles') / 1048576.0)")
[[ $DIR_ROWS -ge $DIR_PROFILES ]] || die "only $DIR_ROWS active consultant profiles after the seed"
echo "    $DIR_ROWS profiles, $DIR_ORGS organisations, $DIR_REGIONS regions, $DIR_WORDS directory words, ${DIR_MB} MB with indexes, ${DIR_SEED_S} s"

mapfile -t DIR_QS < <(grep -v '^[[:space:]]*\(#\|$\)' "$DIR_MIX")
[[ ${#DIR_QS[@]} -gt 0 ]] || die "$DIR_MIX lists no query strings"

# ---------- every query string answers 200 with items ----------
# One request at a time, so the times are those of a single user. A query string without
# results is a bug of the benchmark (data and mix do not fit): stop. A non-2xx answer is the
# server's: go on measuring, record it and fail at the end.
DIR_FAILED=
# The first query string the server answers now with other than 2xx, as "QS: CODE BODY", for the
# report of a run that failed after the warm-up: the measured runs do not read bodies
# (directory.lua).
dir_first_bad() {
    local qs code
    for qs in "${DIR_QS[@]}"; do
        code=$(curl -sS --max-time 5 -o "$TMP/dir-bad.json" -w '%{http_code}' \
            -H "Authorization: Bearer $TOKEN" "$BASE/v1/consultants?$qs") || code=none
        [[ $code == 2?? ]] || { printf '%s: %s %s' "$qs" "$code" "$(head -c 200 "$TMP/dir-bad.json" 2>/dev/null)"; return; }
    done
}
: >"$TMP/dir-check.txt"
for qs in "${DIR_QS[@]}"; do
    out=$(curl -sS --max-time 30 -o "$TMP/dir.json" -w '%{http_code} %{time_total}' \
        -H "Authorization: Bearer $TOKEN" "$BASE/v1/consultants?$qs") || die "GET /v1/consultants?$qs: no answer"
    read -r code secs <<<"$out"
    ms=$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')
    if [[ $code == 200 ]]; then
        items=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["items"]))' "$TMP/dir.json")
        [[ $items -gt 0 ]] || die "GET /v1/consultants?$qs found no one: the generated data and the mix do not fit"
    else
        echo "bench: GET /v1/consultants?$qs answered $code after $ms ms: $(head -c 300 "$TMP/dir.json")" >&2
        tail -n 4 "$TMP/server.log" >&2
        items="HTTP $code"
        DIR_FAILED=${DIR_FAILED:-"GET /v1/consultants?$qs answered $code after $ms ms, one request at a time"}
    fi
    printf '%s\t%s\t%s\n' "$qs" "$items" "$ms" >>"$TMP/dir-check.txt"
done

# ---------- HTTP and pgbench, in alternating rounds ----------
# This machine's speed drifts by tens of percent within minutes, more than the difference the
# ratio is about. So wrk and pgbench take turns: DIR_ROUNDS rounds, each of wrk, then pgbench on
# the bare statements at wrk's concurrency (dirpgc) and at overlegd's (dirpgb), then pgbench on
# the statements as overlegd sends them (behind the session check, dirpgs), DIR_ROUND_S seconds
# each. Every figure sums the rounds; the latency percentiles are
# taken over all the rounds' requests (wrk_pctl, pgb_pctl).
DIR_ROUNDS=${BENCH_DIR_ROUNDS:-3}
DIR_ROUND_S=$(( (DURATION + DIR_ROUNDS - 1) / DIR_ROUNDS ))
# pgbench opens new connections, and a new connection plans each statement it runs (a custom
# plan for each of its first five runs, and the queries inside the functions), which overlegd's
# long-lived connections did before the measured runs. So each pgbench run lasts DIR_PGB_WARM_S
# seconds longer, and its throughput and latency count only the transactions that finished after
# those first seconds (32 new connections plan enough to take several percent of a 5 s run).
# Its CPU time per transaction is that of the whole run, warm-up included.
DIR_PGB_WARM_S=${BENCH_DIR_PGB_WARM:-2}
DIR_WRK_CMD=(wrk -t2 -c"$DIR_CONNS" -d"${DIR_ROUND_S}s" --latency --timeout 10s
             -H "'Authorization: Bearer \$TOKEN'" -s tests/bench/directory.lua
             "http://127.0.0.1:\$PORT" -- "QUERY_STRINGS...")
# The warm-up reads every response (DIRECTORY_CHECK=1): under the same load as the measured runs,
# any status outside 2xx, or a page with no items, fails the run.
say "directory: wrk warm-up (${WARMUP}s), reading every response"
DIRECTORY_CHECK=1 timeout $((WARMUP + 40)) wrk -t2 -c"$DIR_CONNS" -d"${WARMUP}s" --timeout 10s \
    -H "Authorization: Bearer $TOKEN" -s tests/bench/directory.lua "$BASE" -- "${DIR_QS[@]}" \
    >"$TMP/dir-wrk-warmup.out" 2>&1 || { cat "$TMP/dir-wrk-warmup.out"; die "wrk warm-up failed"; }
[[ -n "$DIR_FAILED" ]] || wrk_check "$TMP/dir-wrk-warmup.out" "directory wrk warm-up" directory DIR_FAILED empty || true

# pgbench: the same statements. overlegd prepares its statements on each connection, so pgbench
# does too (-M prepared); the functions they call plan their own queries. overlegd's connections
# run with a statement_timeout (server/db.c); pgbench gets the same, so a statement too slow for
# the server is not waited for here either (it aborts that client).
mkdir -p "$TMP/dirpgb" "$TMP/dirpgs"
mapfile -t DIR_PGB_ARGS < <("$PY" tests/bench/directory_bench.py pgbench "$DIR_MIX" "$TMP/dirpgb")
mapfile -t DIR_PGS_ARGS < <("$PY" tests/bench/directory_bench.py pgbench "$DIR_MIX" "$TMP/dirpgs" --with-session)
[[ ${#DIR_PGB_ARGS[@]} -gt 0 && ${#DIR_PGS_ARGS[@]} -gt 0 ]] || die "directory_bench.py pgbench printed nothing"
# The session the statements behind the check find: the bench admin's, valid at DIR_NOW.
DIR_TOK=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
[[ $(psql "$DATABASE_URL" -X -At -c "SELECT count(*) FROM sessions WHERE token_hash = '$DIR_TOK'
      AND revoked_at IS NULL AND expires_at > '$DIR_NOW'") == 1 ]] \
    || die "the bench session's token hash finds no valid session: pgbench would measure 401s"
DIR_STMT_TIMEOUT=$(grep -o 'statement_timeout=[0-9]*' server/db.c | head -n 1 | cut -d= -f2 || true)
# Clients of each kind of pgbench run: wrk's concurrency, then overlegd's database connections.
declare -A DIR_PGX_CLIENTS=([dirpgc]=$DIR_CONNS [dirpgb]=$DB_CONNS [dirpgs]=$DB_CONNS)
dir_pgb_cmd() {  # KIND: its pgbench command line, as the report shows it
    local tok=
    [[ $1 != dirpgs ]] || tok=' -D tok=$TOKEN_HASH'
    echo "${DIR_STMT_TIMEOUT:+PGOPTIONS='-c statement_timeout=$DIR_STMT_TIMEOUT' }pgbench -n -M prepared" \
        "-c ${DIR_PGX_CLIENTS[$1]} -j 2 -T $((DIR_PGB_WARM_S + DIR_ROUND_S)) -f dir_NN.sql@1 (${#DIR_QS[@]} files)" \
        "-D now=\$NOW -D lim=21 -D ... --log --log-prefix=$1.rN \$DATABASE_URL$tok"
}

DIR_HTTP_REQS=0 DIR_HTTP_SECONDS=0 DIR_HTTP_BUSY_TICKS=0 DIR_HTTP_SRV_TICKS=0 DIR_HTTP_PG_TICKS=0
DIR_HTTP_CLIENT_TICKS=0
declare -A DIR_PGX_TXNS=() DIR_PGX_SECONDS=() DIR_PGX_BUSY=() DIR_PGX_PG=() DIR_PGX_CLIENT=()
DIR_PG_NOTE="none failed" DIR_ROUND_ROWS=
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/dir-metrics.before"

dir_wrk_round() {  # ROUND: wrk for DIR_ROUND_S seconds; adds to the DIR_HTTP_* sums
    local out="$TMP/dir-wrk.$1.out" s0 p0 b0 busy
    s0=$(srv_ticks) p0=$(pg_ticks) b0=$(busy_ticks)
    { time timeout $((DIR_ROUND_S + 40)) wrk -t2 -c"$DIR_CONNS" -d"${DIR_ROUND_S}s" --latency --timeout 10s \
        -H "Authorization: Bearer $TOKEN" -s tests/bench/directory.lua "$BASE" -- "${DIR_QS[@]}" \
        >"$out" 2>&1; } 2>"$TMP/dir-wrk.time" || { cat "$out"; die "wrk failed"; }
    DIR_HTTP_BUSY_TICKS=$((DIR_HTTP_BUSY_TICKS + $(busy_ticks) - b0))
    DIR_HTTP_SRV_TICKS=$((DIR_HTTP_SRV_TICKS + $(srv_ticks) - s0))
    DIR_HTTP_PG_TICKS=$((DIR_HTTP_PG_TICKS + $(pg_ticks) - p0))
    DIR_HTTP_CLIENT_TICKS=$((DIR_HTTP_CLIENT_TICKS + $(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/dir-wrk.time")))
    sed -n '/Thread Stats/,/Transfer\/sec/p' "$out" | sed 's/^/    /'
    [[ -n "$DIR_FAILED" ]] || wrk_check "$out" "directory wrk, round $1" "" DIR_FAILED || true
    grep -q '^Requests/sec:' "$out" || { cat "$out"; die "could not parse the directory wrk output"; }
    DIR_HTTP_REQS=$((DIR_HTTP_REQS + $(awk '/requests in/ { print $1 }' "$out")))
    # wrk's own measure of the run's length ("N requests in 5.01s")
    DIR_HTTP_SECONDS=$(awk -v t="$DIR_HTTP_SECONDS" '/requests in/ { sub(/s,$/, "", $4); print t + $4 }' "$out")
    DIR_ROUND_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    # Requests still in flight when wrk stopped keep overlegd's connections busy; let them
    # finish (statement_timeout is 5 s) so that they do not compete with pgbench.
    for _ in $(seq 100); do
        busy=$(psql "$DATABASE_URL" -X -At -c "SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'overlegd' AND state <> 'idle' AND pid <> pg_backend_pid()")
        [[ $busy == 0 ]] && break
        sleep 0.1
    done
}

declare -A DIR_PGX_ALL=()
dir_pgbench_round() {  # ROUND KIND: pgbench for DIR_PGB_WARM_S + DIR_ROUND_S seconds, KIND dirpgc
    # or dirpgb (the statements alone) or dirpgs (behind the session check); adds to the
    # DIR_PGX_*[KIND] sums; DIR_ROUND_TPS: its throughput after the warm-up
    local kind=$2 out="$TMP/dir-$2.$1.out" p0 b0 rc=0 args from to f n
    local -a logs
    if [[ $kind == dirpgs ]]; then args=("${DIR_PGS_ARGS[@]}" -D tok="$DIR_TOK"); else args=("${DIR_PGB_ARGS[@]}"); fi
    p0=$(pg_ticks) b0=$(busy_ticks)
    from=$(awk -v t="$(date +%s.%N)" -v w="$DIR_PGB_WARM_S" 'BEGIN { printf "%.6f", t + w }')
    to=$(awk -v t="$from" -v d="$DIR_ROUND_S" 'BEGIN { printf "%.6f", t + d }')
    { time (cd "$TMP" && PGOPTIONS=${DIR_STMT_TIMEOUT:+"-c statement_timeout=$DIR_STMT_TIMEOUT"} \
        timeout $((DIR_PGB_WARM_S + DIR_ROUND_S + 30)) "$PGBENCH" -n -M prepared \
        -c "${DIR_PGX_CLIENTS[$kind]}" -j 2 -T $((DIR_PGB_WARM_S + DIR_ROUND_S)) "${args[@]}" \
        -D now="$DIR_NOW" -D lim=21 --log --log-prefix="$kind.r$1" "$DATABASE_URL" >"$out" 2>&1); } \
        2>"$TMP/dir-pgbench.time" || rc=$?
    sleep 0.3   # let the postmaster reap the exited backends, so their CPU time is counted
    DIR_PGX_BUSY[$kind]=$(( ${DIR_PGX_BUSY[$kind]:-0} + $(busy_ticks) - b0 ))
    DIR_PGX_PG[$kind]=$(( ${DIR_PGX_PG[$kind]:-0} + $(pg_ticks) - p0 ))
    DIR_PGX_CLIENT[$kind]=$(( ${DIR_PGX_CLIENT[$kind]:-0} + $(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/dir-pgbench.time") ))
    DIR_PGX_SECONDS[$kind]=$(awk -v t="${DIR_PGX_SECONDS[$kind]:-0}" '{ printf "%.3f", t + $3 }' "$TMP/dir-pgbench.time")
    pgb_outcome "$out" "directory, $kind, round $1" "$rc" "${DIR_PGX_CLIENTS[$kind]}"
    if [[ -n "$PGB_FAILED" ]]; then
        DIR_PG_NOTE="round $1 ($kind): $PGB_NOTE"
        DIR_FAILED=${DIR_FAILED:-$PGB_FAILED}
    fi
    # Every transaction counts for the CPU time per transaction; the log keeps only those that
    # finished from `from` to `to` (its 5th and 6th fields: epoch seconds and microseconds).
    mapfile -t logs < <(compgen -G "$TMP/$kind.r$1.*" || true)
    DIR_PGX_ALL[$kind]=$(( ${DIR_PGX_ALL[$kind]:-0} + $(awk 'END { print NR }' /dev/null "${logs[@]}") ))
    for f in "${logs[@]}"; do
        awk -v from="$from" -v to="$to" '{ t = $5 + $6 / 1e6 } t < from || t > to { next } { print }' \
            "$f" >"$TMP/dir-pgbench.kept"
        mv "$TMP/dir-pgbench.kept" "$f"
    done
    n=$(awk 'END { print NR }' /dev/null "${logs[@]}")
    DIR_ROUND_TPS=$(awk -v n="$n" -v d="$DIR_ROUND_S" 'BEGIN { printf "%.2f", n / d }')
}

say "directory: $DIR_ROUNDS rounds of ${DIR_ROUND_S} s each: ${DIR_WRK_CMD[*]}; then $(dir_pgb_cmd dirpgc); then with -c $DB_CONNS; then that behind the session check"
pct() { awk -v h="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%.1f", 100 * h / p; else printf "n/a" }'; }  # H / P in %
for round in $(seq "$DIR_ROUNDS"); do
    say "directory: round $round of $DIR_ROUNDS"
    dir_wrk_round "$round"
    rps=$DIR_ROUND_RPS
    dir_pgbench_round "$round" dirpgc
    tpc=$DIR_ROUND_TPS
    dir_pgbench_round "$round" dirpgb
    tps=$DIR_ROUND_TPS
    dir_pgbench_round "$round" dirpgs
    DIR_ROUND_ROWS+="| $round | $(fmt0 "$rps") | $(fmt0 "$tpc") | $(fmt0 "$tps") | $(fmt0 "$DIR_ROUND_TPS") | $(pct "$rps" "$tpc") % | $(pct "$rps" "$tps") % | $(pct "$rps" "$DIR_ROUND_TPS") % |"$'\n'
done
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/dir-metrics.after"

DIR_HTTP_RPS=$(awk -v n="$DIR_HTTP_REQS" -v d="$DIR_HTTP_SECONDS" 'BEGIN { printf "%.2f", n / d }')
DIR_HTTP_P50=$(wrk_pctl 0.50 directory "$TMP"/dir-wrk.[0-9]*.out)
DIR_HTTP_P99=$(wrk_pctl 0.99 directory "$TMP"/dir-wrk.[0-9]*.out)
[[ $DIR_HTTP_P99 != n/a ]] || die "the directory wrk runs printed no latencies"
DIR_HTTP_OTHER=$(other_pct "$DIR_HTTP_BUSY_TICKS" $((DIR_HTTP_SRV_TICKS + DIR_HTTP_PG_TICKS + DIR_HTTP_CLIENT_TICKS)) "$DIR_HTTP_SECONDS")

# overlegd's own view of the runs (/metrics): p99 bound, share under 25 ms, pool errors.
read -r DIR_SRV_P99_LE DIR_SRV_UNDER DIR_DB_ERRS < <(metrics_delta "GET /v1/consultants" 0.025 \
    "$TMP/dir-metrics.before" "$TMP/dir-metrics.after")
if [[ -z "$DIR_FAILED" && "$DIR_DB_ERRS" != 0 ]]; then
    DIR_FAILED="the database pool counted $DIR_DB_ERRS errors, timeouts or reconnects during the wrk runs"
    tail -n 10 "$TMP/server.log" >&2
fi

# Per kind: TPS, P50, P99 (ms) of the transactions after the warm-ups (those the logs kept) over
# the measured seconds, and OTHER (% of one CPU taken by other processes).
declare -A DIR_PGX_TPS=() DIR_PGX_P50=() DIR_PGX_P99=() DIR_PGX_OTHER=()
for kind in dirpgc dirpgb dirpgs; do
    DIR_PGX_TXNS[$kind]=$(pgb_txns "$kind")
    DIR_PGX_TPS[$kind]=$(awk -v n="${DIR_PGX_TXNS[$kind]}" -v d=$((DIR_ROUNDS * DIR_ROUND_S)) 'BEGIN { printf "%.2f", n / d }')
    DIR_PGX_P50[$kind]=$(pgb_pctl "$kind" 0.50) DIR_PGX_P99[$kind]=$(pgb_pctl "$kind" 0.99)
    [[ ${DIR_PGX_TXNS[$kind]} -gt 0 && ${DIR_PGX_P99[$kind]} != n/a ]] || die "could not parse the directory pgbench output ($kind)"
    DIR_PGX_OTHER[$kind]=$(other_pct "${DIR_PGX_BUSY[$kind]}" $((DIR_PGX_PG[$kind] + DIR_PGX_CLIENT[$kind])) "${DIR_PGX_SECONDS[$kind]}")
done
rm -f "$TMP"/dirpgc.* "$TMP"/dirpgb.* "$TMP"/dirpgs.*

# ---------- EXPLAIN ANALYZE ----------
# A statement still running after DIR_EXPLAIN_MS is cancelled and shown without a plan: that
# bounds this step (the goal is 25 ms; this is only about how far off a statement is).
DIR_EXPLAIN_MS=2000
say "directory: the plans of each query string (auto_explain: ANALYZE, BUFFERS)"
"$PY" tests/bench/directory_bench.py explain "$DIR_MIX" "$DIR_NOW" "$DIR_EXPLAIN_MS" >"$TMP/dir-explain.sql"
# The plans come as LOG messages on stderr, with the script's "### QS" lines (\warn).
timeout 120 psql "$DATABASE_URL" -X -f "$TMP/dir-explain.sql" 2>"$TMP/dir-explain.out" >/dev/null \
    || { tail -n 30 "$TMP/dir-explain.out" >&2; die "EXPLAIN of the directory statements failed"; }
"$PY" tests/bench/directory_bench.py plans "$TMP/dir-explain.out" >"$TMP/dir-plans.json"
kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "overlegd died during the directory run"; }
DIR_SERVER_LOG_LINES=$(wc -l <"$TMP/server.log")

# ---------- summary ----------
# The goal's ratio is against pgbench at wrk's concurrency (the issue: "the same concurrency");
# the others are for information.
DIR_RATIO=$(pct "$DIR_HTTP_RPS" "${DIR_PGX_TPS[dirpgc]}")
DIR_RATIO_B=$(pct "$DIR_HTTP_RPS" "${DIR_PGX_TPS[dirpgb]}")
DIR_RATIO_S=$(pct "$DIR_HTTP_RPS" "${DIR_PGX_TPS[dirpgs]}")
G_DIR_P99=$(yesno "$DIR_HTTP_P99 < $GOAL_DIR_P99_MS")
G_DIR_RATIO=$(yesno "$DIR_RATIO >= $GOAL_DIR_RATIO")
[[ -z "$DIR_FAILED" ]] && G_DIR_P99_TXT=$G_DIR_P99 G_DIR_RATIO_TXT=$G_DIR_RATIO \
    || G_DIR_P99_TXT="**not met** (run failed)" G_DIR_RATIO_TXT="**not met** (run failed)"
if [[ -z "$DIR_FAILED" && $G_DIR_P99 == met && $G_DIR_RATIO == met ]]; then DIR_GOALS_MET=yes; else DIR_GOALS_MET=no; fi
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git status --porcelain --untracked-files=normal -- server include sql Makefile 2>/dev/null)" ]] && COMMIT="$COMMIT (uncommitted server changes)"
[[ $OVERLEGD == build/overlegd ]] || COMMIT="$COMMIT, binary $OVERLEGD"

dir_section() {
cat <<EOF
### Latest run

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $COMMIT
- Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $("$PGBENCH" --version | awk '{ print $3 }') (throw-away cluster, fsync off)
- Server: \`OVERLEG_THREADS=$THREADS OVERLEG_DB_POOL=$POOL\` ($DB_CONNS database connections)
- Data: $DIR_ROWS active consultant profiles in $DIR_ORGS organisations over $DIR_REGIONS regions,
  $DIR_WORDS directory words; \`consultant_profiles\` with its indexes ${DIR_MB} MB; generated in ${DIR_SEED_S} s
- Other work on the machine: 1-minute load average $LOAD_START before \`make bench\` started (the
  benchmarks' own processes raise it later); during the measured runs, processes other than wrk,
  overlegd, pgbench and PostgreSQL took $DIR_HTTP_OTHER % of one CPU during the wrk runs,
  ${DIR_PGX_OTHER[dirpgc]} % and ${DIR_PGX_OTHER[dirpgb]} % during the pgbench runs of the statements alone at
  $DIR_CONNS and $DB_CONNS clients, and ${DIR_PGX_OTHER[dirpgs]} % during those behind the session check

$DIR_ROUNDS rounds, each of these commands in turn, ${DIR_ROUND_S} s measured each (QUERY_STRINGS: the lines
of \`tests/bench/directory_mix.txt\`, listed below; the first round follows a ${WARMUP} s wrk warm-up
with the same settings that reads every response): wrk; pgbench on the same statements at wrk's
concurrency; the same at overlegd's $DB_CONNS database connections; that with \`dir_NN.sql\` behind
the session check and \`-D tok=\` the session's token hash. Each pgbench run lasts ${DIR_PGB_WARM_S} s longer;
the transactions of those first seconds are not counted:

\`\`\`
${DIR_WRK_CMD[*]}
$(dir_pgb_cmd dirpgc)
$(dir_pgb_cmd dirpgb)
$(dir_pgb_cmd dirpgs)
\`\`\`

EOF
if [[ -n "$DIR_FAILED" ]]; then
    bad=$(sed -n 's/^directory-first-non-2xx //p' "$TMP/dir-wrk-warmup.out" | cut -c1-200)
    [[ -n "$bad" ]] || bad=$(dir_first_bad | tr '\n' ' ')
    printf '**The run failed: %s.**%s\n\n' "$DIR_FAILED" "${bad:+ First failing answer: \`$bad\`}"
fi
cat <<EOF
| Measure | Result | Goal | |
|---|---:|---:|---|
| HTTP \`GET /v1/consultants\`, mix of ${#DIR_QS[@]}, $DIR_CONNS connections | $(fmt0 "$DIR_HTTP_RPS") req/s | | |
| HTTP latency p50 / p99 | $DIR_HTTP_P50 / $DIR_HTTP_P99 ms | p99 < $GOAL_DIR_P99_MS ms | $G_DIR_P99_TXT |
| the same inside overlegd (\`/metrics\` histogram) | p99 <= $DIR_SRV_P99_LE ms; $DIR_SRV_UNDER % under 25 ms | | |
| pgbench, same statements and mix, $DIR_CONNS clients (wrk's concurrency) | $(fmt0 "${DIR_PGX_TPS[dirpgc]}") tps; p50 / p99 ${DIR_PGX_P50[dirpgc]} / ${DIR_PGX_P99[dirpgc]} ms | | |
| Ratio HTTP / pgbench at the same concurrency | $DIR_RATIO % | >= $GOAL_DIR_RATIO % | $G_DIR_RATIO_TXT |
| pgbench, the same at $DB_CONNS clients (overlegd's database connections) | $(fmt0 "${DIR_PGX_TPS[dirpgb]}") tps; p50 / p99 ${DIR_PGX_P50[dirpgb]} / ${DIR_PGX_P99[dirpgb]} ms | | |
| Ratio HTTP / pgbench at $DB_CONNS clients (stricter) | $DIR_RATIO_B % | | |
| pgbench at $DB_CONNS clients behind the session check (what overlegd sends) | $(fmt0 "${DIR_PGX_TPS[dirpgs]}") tps; p50 / p99 ${DIR_PGX_P50[dirpgs]} / ${DIR_PGX_P99[dirpgs]} ms | | |
| Ratio HTTP / pgbench behind the session check | $DIR_RATIO_S % | | |

The rounds one by one (HTTP req/s; pgbench tps of the statements alone at $DIR_CONNS and $DB_CONNS clients,
and behind the session check at $DB_CONNS; the ratios of HTTP to each in that round):

| round | HTTP | pgbench, $DIR_CONNS | pgbench, $DB_CONNS | behind the session check | ratio to $DIR_CONNS | ratio to $DB_CONNS | ratio to the session check |
|---:|---:|---:|---:|---:|---:|---:|---:|
${DIR_ROUND_ROWS%$'\n'}

CPU time per request (user + system; share of one CPU over the run in brackets):

| | client | overlegd | PostgreSQL | other processes |
|---|---:|---:|---:|---:|
| HTTP (wrk) | $(us_per "$DIR_HTTP_CLIENT_TICKS" "$DIR_HTTP_REQS") µs ($(cpu_pct "$DIR_HTTP_CLIENT_TICKS" "$DIR_HTTP_SECONDS") %) | $(us_per "$DIR_HTTP_SRV_TICKS" "$DIR_HTTP_REQS") µs ($(cpu_pct "$DIR_HTTP_SRV_TICKS" "$DIR_HTTP_SECONDS") %) | $(us_per "$DIR_HTTP_PG_TICKS" "$DIR_HTTP_REQS") µs ($(cpu_pct "$DIR_HTTP_PG_TICKS" "$DIR_HTTP_SECONDS") %) | ($DIR_HTTP_OTHER %) |
$(for kind in dirpgc dirpgb dirpgs; do
    case $kind in dirpgc) label="pgbench, $DIR_CONNS clients" ;; dirpgb) label="pgbench, $DB_CONNS clients" ;;
                  *) label="pgbench behind the session check" ;; esac
    printf '| %s | %s µs (%s %%) | | %s µs (%s %%) | (%s %%) |\n' "$label" \
        "$(us_per "${DIR_PGX_CLIENT[$kind]}" "${DIR_PGX_ALL[$kind]}")" "$(cpu_pct "${DIR_PGX_CLIENT[$kind]}" "${DIR_PGX_SECONDS[$kind]}")" \
        "$(us_per "${DIR_PGX_PG[$kind]}" "${DIR_PGX_ALL[$kind]}")" "$(cpu_pct "${DIR_PGX_PG[$kind]}" "${DIR_PGX_SECONDS[$kind]}")" \
        "${DIR_PGX_OTHER[$kind]}"
done)

$DIR_HTTP_REQS HTTP requests; ${DIR_PGX_TXNS[dirpgc]} and ${DIR_PGX_TXNS[dirpgb]} pgbench transactions of the statements
alone at $DIR_CONNS and $DB_CONNS clients and ${DIR_PGX_TXNS[dirpgs]} behind the session check, $DIR_PG_NOTE; $DIR_SERVER_LOG_LINES lines in the server log at level
warn (whole run).

EOF
"$PY" - "$TMP/dir-plans.json" "$TMP/dir-check.txt" "$GOAL_DIR_P99_MS" <<'PY'
import json, sys
plans = json.load(open(sys.argv[1]))
check = {l.split("\t")[0]: l.rstrip("\n").split("\t")[1:] for l in open(sys.argv[2])}
goal = float(sys.argv[3])
print("Each query string of the mix: its first page (items), the time of one `GET` alone before the")
print("load (curl, no concurrency), and the plan (`auto_explain`: ANALYZE, BUFFERS) of the query that")
print("found the page, as one pooled connection runs it after the whole mix ran once on it; the time")
print("is that of all the statements overlegd sends for the query string:")
print()
print("| Query string | First page | HTTP, one request alone | Scans (index or sequential) | Statements, one connection |")
print("|---|---:|---:|---|---:|")
seq, slow = [], []
for qs, p in plans.items():
    scans = [s for s in p["scans"]]
    names = []
    for s in scans:
        if "Seq Scan" in s:
            seq.append((qs, s))
        short = s.replace("Bitmap Index Scan on ", "bitmap ").replace("Index Scan using ", "index ") \
                 .replace("Index Only Scan using ", "index-only ").replace("Seq Scan on ", "**seq scan** ")
        short = short.split(" on ")[0].split(" (actual")[0]
        if short not in names:
            names.append(short)
    ms = p["ms"]
    if ms is None or ms >= goal:
        slow.append((qs, ms))
    items, http_ms = (check.get(qs) or ["?", "?"])[:2]
    took = f"{ms:.1f} ms" if ms is not None else f"**{p['cancelled'] or 'cancelled'}**"
    print(f"| `{qs}` | {items} | {http_ms} ms | {', '.join(names) or '-'} | {took} |")
print()
obs = []
if seq:
    obs.append("Sequential scans: " + "; ".join(f"`{q}` ({s.split(' (')[0]})" for q, s in seq) + ".")
else:
    obs.append("No sequential scan on `consultant_profiles`: every statement reads it through an index.")
if slow:
    obs.append(f"Statements at or above {goal:g} ms on their own, without any concurrency: "
               + ", ".join(f"`{q}` ({'cancelled' if ms is None else f'{ms:.0f} ms'})"
                           for q, ms in sorted(slow, key=lambda x: -(x[1] if x[1] is not None else 1e12))) + ".")
print("Observations from these plans: " + " ".join(obs))
print()
def show(title, qs):
    p = plans[qs]
    print(f"{title} `GET /v1/consultants?{qs}`" + (f" ({p['cancelled']})" if p["cancelled"] else "") + ":")
    print()
    print("```")
    print(p["plan"])
    print("```")
    print()
def has_q(qs):
    return any(kv.startswith("q=") for kv in qs.split("&"))
q_first = next((q for q in plans if has_q(q) and plans[q]["ms"] is not None), None) \
    or next((q for q in plans if has_q(q)), None)
f_first = next((q for q in plans if q.startswith("expertise=")), None) \
    or next((q for q in plans if not has_q(q)), None)
q_words = next((q for q in plans if has_q(q) and "%20" in q), None)
if q_first:
    show("Free-text search", q_first)
if q_words and q_words != q_first:
    show("Free-text search of several words (their postings merged)", q_words)
if f_first:
    show("Filter-only search", f_first)
PY
}

echo
dir_section | tee "$TMP/dir-section.md"
[[ -z "$DOC" ]] || write_section directory "Consultant directory" "$TMP/dir-section.md"
[[ -z "$DIR_FAILED" ]] || die "directory: $DIR_FAILED"
