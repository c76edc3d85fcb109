# Sourced by tests/bench/run.sh (BENCH_ONLY unset or "consultations"), after the common setup
# (the throw-away cluster, overlegd on 127.0.0.1:$PORT, a signed-in admin: $TOKEN). Consultation
# creation, POST /v1/consultations:
#
# 1. tests/bench/consultations_seed.sql: in region bench-region a general practice, a
#    mental-health provider, 50 consultants taking group questions on `autisme` and one more for
#    direct questions; the practice's gp user through the API (POST /v1/users, as the admin),
#    who signs in for the bearer token used below.
# 2. One request of each kind of the mix must answer 201, and make 50 notifications (group
#    question) or 1 (direct).
# 3. wrk, $BENCH_CONS_CONNS (16 = overlegd's database connections) connections, POSTs the mix
#    (tests/bench/consultations.lua): 1/3 anonymous direct, 1/3 anonymous group question, 1/3
#    consented direct; requests per second and p50/p99 latency; any non-2xx fails the run.
# 4. pgbench runs, per transaction, the statements overlegd runs for one create (sql_auth,
#    sql_target, sql_create, verbatim from the C source by consultations_bench.py, NULL inlined
#    where overlegd passes NULL; a sealed identity made by overlegd stands for the consented
#    one), the same mix by weight, -M prepared, as many clients as overlegd has connections.
# 5. During both runs, pg_stat_activity is sampled every 0.25 s: how many of the benchmark's
#    backends wait for the audit chain's advisory lock (sql/0001_foundation.sql: audit_log_chain).
# 6. A check that every consultation made got its notifications and its audit entry; then, as a
#    diagnostic, the pgbench run again without sql_create's audit entry (what the chain costs);
#    EXPLAIN (ANALYZE, BUFFERS) of sql_target and sql_create (rolled back).
# 7. Rewrites the section between <!-- bench:consultations:start --> and
#    <!-- bench:consultations:end --> of docs/benchmarks.md. Sets CONS_GOALS_MET (yes/no).
#
# About 60 s (longer with the directory's 50,000 profiles). With the directory benchmark before it in the same cluster, consultant_profiles
# holds its 50,000 profiles too; the section says how many there were.

CONS_CONNS=${BENCH_CONS_CONNS:-$DB_CONNS}
CONS_FANOUT=50
GOAL_CONS_RATIO=60 GOAL_CONS_P99_MS=30   # from the issue
CONS_LOAD=$(cut -d' ' -f1 /proc/loadavg)
CONS_FAILED=
TIMEFORMAT='%U %S %R'   # bash's time keyword: user, system and real seconds
cons_sql() { psql "$DATABASE_URL" -X -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
# Rows so far: "CONSULTATIONS NOTIFICATIONS"
cons_rows() { cons_sql -c "SELECT (SELECT count(*) FROM consultations), (SELECT count(*) FROM notifications)"; }
# Waits (at most 10 s) until no backend of APPLICATION_NAME runs a statement.
cons_drain() {
    local busy
    for _ in $(seq 100); do
        busy=$(cons_sql -c "SELECT count(*) FROM pg_stat_activity
            WHERE application_name = '$1' AND state <> 'idle' AND pid <> pg_backend_pid()")
        [[ $busy == 0 ]] && return 0
        sleep 0.1
    done
}
# pg_stat_activity every 0.25 s for SECONDS, in one psql session (each SELECT its own
# transaction, so each sees a fresh snapshot): "ACTIVE ADVISORY_WAITS OTHER_LOCK_WAITS" a line,
# counting the backends of APPLICATION_NAME.
cons_sampler() {  # APPLICATION_NAME SECONDS OUTFILE
    local n=$(( $2 * 4 )) i
    for ((i = 0; i < n; i++)); do
        echo "SELECT count(*) FILTER (WHERE state = 'active'),
            count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'),
            count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event <> 'advisory')
            FROM pg_stat_activity WHERE application_name = '$1';"
        echo "SELECT pg_sleep(0.25) \\g /dev/null"
    done >"$3.sql"
    timeout $(( $2 + 40 )) psql "$DATABASE_URL" -X -At -F ' ' -f "$3.sql" >"$3" 2>&1 &
    CONS_SAMPLER_PID=$!
}
# "MEAN_ACTIVE MEAN_ADVISORY_WAITS SHARE_OF_SAMPLES_WITH_A_WAIT" from a sampler's output
cons_lockstats() {
    awk 'NF == 3 && $1 ~ /^[0-9]+$/ { n++; a += $1; w += $2; if ($2 > 0) k++ }
        END { if (!n) { print "? ? ?"; exit } printf "%.1f %.1f %.0f\n", a / n, w / n, 100 * k / n }' "$1"
}
CONS_NOW=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)   # "now" for pgbench and EXPLAIN

# ---------- data ----------
say "consultations: seeding a practice, $CONS_FANOUT + 1 consultants (tests/bench/consultations_seed.sql)"
timeout 60 psql "$DATABASE_URL" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -v n="$CONS_FANOUT" \
    -f tests/bench/consultations_seed.sql >"$TMP/cons-seed.out" 2>&1 \
    || { cat "$TMP/cons-seed.out" >&2; die "consultations_seed.sql failed"; }
read -r CONS_ORG CONS_CID < <(tail -n 1 "$TMP/cons-seed.out")
[[ -n "$CONS_ORG" && -n "$CONS_CID" ]] || { cat "$TMP/cons-seed.out" >&2; die "consultations_seed.sql printed no ids"; }
CONS_GP_EMAIL=gp@consultations.bench.example
CONS_GP_PASSWORD=$(openssl rand -hex 12)
code=$(curl -sS --max-time 20 -o "$TMP/cons-gp.json" -w '%{http_code}' -X POST "$BASE/v1/users" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data "{\"email\":\"$CONS_GP_EMAIL\",\"name\":\"Huisarts Benchmark\",\"role\":\"gp\",\"organisation_id\":\"$CONS_ORG\",\"password\":\"$CONS_GP_PASSWORD\"}")
[[ $code == 201 ]] || { cat "$TMP/cons-gp.json" >&2; die "POST /v1/users (the gp) answered $code"; }
code=$(curl -sS --max-time 20 -o "$TMP/cons-login.json" -w '%{http_code}' -X POST "$BASE/v1/auth/login" \
    -H 'Content-Type: application/json' --data "{\"email\":\"$CONS_GP_EMAIL\",\"password\":\"$CONS_GP_PASSWORD\"}")
[[ $code == 200 ]] || { cat "$TMP/cons-login.json" >&2; die "the gp's login answered $code"; }
read -r CONS_TOKEN CONS_GP_ID < <("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["token"], d["user"]["id"])' "$TMP/cons-login.json")
[[ -n "$CONS_TOKEN" && -n "$CONS_GP_ID" ]] || die "no token in the gp's login response"
CONS_PROFILES=$(cons_sql -c "SELECT count(*) FROM consultant_profiles")

# ---------- one of each kind ----------
"$PY" tests/bench/consultations_bench.py bodies "$CONS_CID" >"$TMP/cons-bodies.txt"
[[ $(wc -l <"$TMP/cons-bodies.txt") == 3 ]] || die "consultations_bench.py bodies did not print 3 bodies"
CONS_DUE= CONS_SEALED_ID=
while IFS=$'\t' read -r kind body; do
    code=$(curl -sS --max-time 10 -o "$TMP/cons-one.json" -w '%{http_code}' -X POST "$BASE/v1/consultations" \
        -H "Authorization: Bearer $CONS_TOKEN" -H 'Content-Type: application/json' --data-binary "$body")
    [[ $code == 201 ]] || { cat "$TMP/cons-one.json" >&2; echo >&2; tail -n 5 "$TMP/server.log" >&2; die "POST /v1/consultations ($kind) answered $code"; }
    read -r id due < <("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["id"], d["due_at"])' "$TMP/cons-one.json")
    want=1; [[ $kind == anon_group ]] && want=$CONS_FANOUT
    got=$(cons_sql -c "SELECT count(*) FROM notifications WHERE subject_id = '$id'")
    [[ $got == "$want" ]] || die "POST /v1/consultations ($kind) made $got notifications, expected $want"
    CONS_DUE=$due
    [[ $kind == consented_direct ]] && CONS_SEALED_ID=$id
done <"$TMP/cons-bodies.txt"
# overlegd's sealed identity of that consented patient stands in for the one it seals per request.
CONS_SEALED=$(cons_sql -c "SELECT patient_identity FROM consultations WHERE id = '$CONS_SEALED_ID'")
[[ -n "$CONS_SEALED" ]] || die "the consented consultation has no sealed identity"
# So do its sealed subject and question for the texts overlegd seals per request (docs/encryption.md).
CONS_SEALED_SUBJECT=$(cons_sql -c "SELECT subject FROM consultations WHERE id = '$CONS_SEALED_ID'")
CONS_SEALED_QUESTION=$(cons_sql -c "SELECT question FROM consultations WHERE id = '$CONS_SEALED_ID'")
[[ $CONS_SEALED_QUESTION == ov1:* ]] || die "the consultation's question is not sealed"

# ---------- HTTP: wrk ----------
# wrk_check (lib.sh) reads the counts consultations.lua reports: a non-2xx response or socket
# error sets CONS_FAILED (the run goes on, and fails at the end).
CONS_WRK_CMD=(wrk -t2 -c"$CONS_CONNS" -d"${DURATION}s" --latency --timeout 10s
              -H "'Authorization: Bearer \$TOKEN'" -s tests/bench/consultations.lua
              "http://127.0.0.1:\$PORT" -- BODIES_FILE)
say "consultations: wrk warm-up (${WARMUP}s)"
timeout $((WARMUP + 40)) wrk -t2 -c"$CONS_CONNS" -d"${WARMUP}s" --timeout 10s \
    -H "Authorization: Bearer $CONS_TOKEN" -s tests/bench/consultations.lua "$BASE" -- "$TMP/cons-bodies.txt" \
    >"$TMP/cons-wrk-warmup.out" 2>&1 || { cat "$TMP/cons-wrk-warmup.out"; die "wrk warm-up failed"; }
wrk_check "$TMP/cons-wrk-warmup.out" "consultations wrk warm-up" consultations CONS_FAILED || true
cons_drain overlegd
say "consultations: ${CONS_WRK_CMD[*]}"
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/cons-metrics.before"
read -r c0 n0 < <(cons_rows)
cons_sampler overlegd "$DURATION" "$TMP/cons-locks-http"
s0=$(srv_ticks) p0=$(pg_ticks) b0=$(busy_ticks)
{ time timeout $((DURATION + 40)) wrk -t2 -c"$CONS_CONNS" -d"${DURATION}s" --latency --timeout 10s \
    -H "Authorization: Bearer $CONS_TOKEN" -s tests/bench/consultations.lua "$BASE" -- "$TMP/cons-bodies.txt" \
    >"$TMP/cons-wrk.out" 2>&1; } 2>"$TMP/cons-wrk.time" || { cat "$TMP/cons-wrk.out"; die "wrk failed"; }
CONS_HTTP_BUSY_TICKS=$(( $(busy_ticks) - b0 ))
CONS_HTTP_SRV_TICKS=$(( $(srv_ticks) - s0 )) CONS_HTTP_PG_TICKS=$(( $(pg_ticks) - p0 ))
CONS_HTTP_CLIENT_TICKS=$(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/cons-wrk.time")
CONS_HTTP_SECONDS=$(awk '{ print $3 }' "$TMP/cons-wrk.time")
CONS_HTTP_OTHER=$(other_pct "$CONS_HTTP_BUSY_TICKS" $((CONS_HTTP_SRV_TICKS + CONS_HTTP_PG_TICKS + CONS_HTTP_CLIENT_TICKS)) "$CONS_HTTP_SECONDS")
curl -fsS --max-time 5 "$BASE/metrics" >"$TMP/cons-metrics.after"
# Requests still in flight when wrk stopped: let them finish before counting and before pgbench.
cons_drain overlegd
wait "$CONS_SAMPLER_PID" || true
read -r c1 n1 < <(cons_rows)
sed 's/^/    /' "$TMP/cons-wrk.out"
[[ -n "$CONS_FAILED" ]] || wrk_check "$TMP/cons-wrk.out" "consultations wrk" consultations CONS_FAILED || true
CONS_HTTP_RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/cons-wrk.out")
CONS_HTTP_REQS=$(awk '/requests in/ { print $1 }' "$TMP/cons-wrk.out")
CONS_HTTP_P50=$(to_ms 50% "$TMP/cons-wrk.out")
CONS_HTTP_P99=$(to_ms 99% "$TMP/cons-wrk.out")
[[ -n "$CONS_HTTP_RPS" && -n "$CONS_HTTP_P99" ]] || die "could not parse the consultations wrk output"
CONS_HTTP_ROWS=$((c1 - c0)) CONS_HTTP_NOTES=$((n1 - n0))
read -r CONS_HTTP_ACTIVE CONS_HTTP_ADV CONS_HTTP_ADV_SHARE < <(cons_lockstats "$TMP/cons-locks-http")

# overlegd's own view of the run (/metrics; pool wait + the three statements + handler, sealing
# included): p99 bound, share under 25 ms, pool errors.
read -r CONS_SRV_P99_LE CONS_SRV_UNDER CONS_DB_ERRS < <(metrics_delta "POST /v1/consultations" 0.025 \
    "$TMP/cons-metrics.before" "$TMP/cons-metrics.after")
if [[ -z "$CONS_FAILED" && "$CONS_DB_ERRS" != 0 ]]; then
    CONS_FAILED="the database pool counted $CONS_DB_ERRS errors, timeouts or reconnects during the wrk run"
    tail -n 10 "$TMP/server.log" >&2
fi

# ---------- pgbench: the same statements ----------
mkdir -p "$TMP/conspgb"
mapfile -t CONS_PGB_ARGS < <("$PY" tests/bench/consultations_bench.py pgbench "$TMP/conspgb")
[[ ${#CONS_PGB_ARGS[@]} -gt 0 ]] || die "consultations_bench.py pgbench printed nothing"
CONS_TOKEN_HASH=$(printf %s "$CONS_TOKEN" | sha256sum | cut -d' ' -f1)
CONS_RID=00000000-0000-4000-8000-00000000be4c   # overlegd makes a random one per request
# overlegd's connections run with a statement_timeout (server/db.c); pgbench gets the same.
CONS_STMT_TIMEOUT=$(grep -o 'statement_timeout=[0-9]*' server/db.c | head -n 1 | cut -d= -f2 || true)
CONS_PGB_CMD=(${CONS_STMT_TIMEOUT:+PGOPTIONS=\'-c statement_timeout=$CONS_STMT_TIMEOUT\'}
              pgbench -n -M prepared -c "$DB_CONNS" -j 2 -T "$DURATION"
              -f cons_1.sql@1 -f cons_2.sql@1 -f cons_3.sql@1
              -D tok=\$TOKEN_HASH -D now=\$NOW -D actor=\$GP_ID -D org=\$PRACTICE -D region=bench-region
              -D cid=\$CONSULTANT -D "sealed=(${#CONS_SEALED} characters)" -D ip=127.0.0.1
              -D rid=\$REQUEST_ID -D due=\$DUE "-D subject=... (sealed by overlegd, ${#CONS_SEALED_QUESTION}-character question)"
              --log --log-prefix=conspgb "\$DATABASE_URL")
say "consultations: ${CONS_PGB_CMD[*]}"
read -r c0 n0 < <(cons_rows)
cons_sampler pgbench "$DURATION" "$TMP/cons-locks-pgb"
p0=$(pg_ticks) b0=$(busy_ticks) pgb_rc=0
{ time (cd "$TMP" && PGOPTIONS=${CONS_STMT_TIMEOUT:+"-c statement_timeout=$CONS_STMT_TIMEOUT"} \
    timeout $((DURATION + 30)) "$PGBENCH" -n -M prepared -c "$DB_CONNS" -j 2 -T "$DURATION" \
    "${CONS_PGB_ARGS[@]}" -D tok="$CONS_TOKEN_HASH" -D now="$CONS_NOW" -D actor="$CONS_GP_ID" \
    -D org="$CONS_ORG" -D region=bench-region -D cid="$CONS_CID" -D sealed="$CONS_SEALED" \
    -D ip=127.0.0.1 -D rid="$CONS_RID" -D due="$CONS_DUE" \
    -D subject="$CONS_SEALED_SUBJECT" -D question="$CONS_SEALED_QUESTION" \
    --log --log-prefix=conspgb "$DATABASE_URL" >"$TMP/cons-pgbench.out" 2>&1); } 2>"$TMP/cons-pgbench.time" \
    || pgb_rc=$?
sleep 0.3   # let the postmaster reap the exited backends, so their CPU time is counted
CONS_PGB_BUSY_TICKS=$(( $(busy_ticks) - b0 )) CONS_PGB_SECONDS=$(awk '{ print $3 }' "$TMP/cons-pgbench.time")
CONS_PGB_PG_TICKS=$(( $(pg_ticks) - p0 ))
CONS_PGB_CLIENT_TICKS=$(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/cons-pgbench.time")
CONS_PGB_OTHER=$(other_pct "$CONS_PGB_BUSY_TICKS" $((CONS_PGB_PG_TICKS + CONS_PGB_CLIENT_TICKS)) "$CONS_PGB_SECONDS")
wait "$CONS_SAMPLER_PID" || true
read -r c1 n1 < <(cons_rows)
CONS_PGB_ROWS=$((c1 - c0)) CONS_PGB_NOTES=$((n1 - n0))
read -r CONS_PGB_ACTIVE CONS_PGB_ADV CONS_PGB_ADV_SHARE < <(cons_lockstats "$TMP/cons-locks-pgb")
pgb_outcome "$TMP/cons-pgbench.out" consultations "$pgb_rc"
CONS_PG_TPS=$PGB_TPS CONS_PG_NOTE=$PGB_NOTE
[[ -z "$PGB_FAILED" ]] || CONS_FAILED=${CONS_FAILED:-$PGB_FAILED}
# pgbench's script_no 0..2 = cons_1..cons_3
CONS_PG_P50=$(pgb_pctl conspgb 0.50)
CONS_PG_P99=$(pgb_pctl conspgb 0.99)
CONS_PG_P99_KIND="$(pgb_pctl conspgb 0.99 0) / $(pgb_pctl conspgb 0.99 1) / $(pgb_pctl conspgb 0.99 2)"
CONS_PG_TXNS=$(pgb_txns conspgb)
CONS_PG_TPS=${CONS_PG_TPS:-$(awk -v n="$CONS_PG_TXNS" -v d="$DURATION" 'BEGIN { printf "%.2f", n / d }')}
[[ -n "$CONS_PG_TPS" && "$CONS_PG_P99" != n/a ]] || die "could not parse the consultations pgbench output"
rm -f "$TMP"/conspgb.*

# ---------- every consultation complete ----------
# Each consultation of the practice: 50 notifications for a group question, 1 for a direct one,
# and one consultations.create audit entry. "CONSULTATIONS GROUP WRONG_FANOUT AUDIT"
read -r CONS_ALL CONS_GROUPS CONS_BAD_FANOUT CONS_AUDIT < <(cons_sql -c "
    WITH k AS (SELECT subject_id, count(*) AS n FROM notifications
                WHERE subject_type = 'consultation' GROUP BY subject_id),
         a AS (SELECT subject_id, count(*) AS n FROM audit_log
                WHERE action = 'consultations.create' GROUP BY subject_id)
    SELECT count(*), count(*) FILTER (WHERE c.consultant_id IS NULL),
           count(*) FILTER (WHERE coalesce(k.n, 0) <> CASE WHEN c.consultant_id IS NULL THEN $CONS_FANOUT ELSE 1 END),
           coalesce(sum(a.n), 0)
      FROM consultations c LEFT JOIN k ON k.subject_id = c.id LEFT JOIN a ON a.subject_id = c.id
     WHERE c.organisation_id = '$CONS_ORG'")
if [[ -z "$CONS_FAILED" && ( $CONS_BAD_FANOUT != 0 || $CONS_AUDIT != "$CONS_ALL" ) ]]; then
    CONS_FAILED="of $CONS_ALL consultations, $CONS_BAD_FANOUT do not have their notifications; $CONS_AUDIT audit entries"
fi
CONS_CHAIN=$(cons_sql -c "SELECT count(*) = max(seq) AND count(DISTINCT seq) = count(*) FROM audit_log")

# ---------- plans ----------
say "consultations: EXPLAIN (ANALYZE, BUFFERS) of sql_target and sql_create (rolled back)"
"$PY" tests/bench/consultations_bench.py explain >"$TMP/cons-explain.sql"
timeout 60 psql "$DATABASE_URL" -X -v now="$CONS_NOW" -v actor="$CONS_GP_ID" -v ip=127.0.0.1 \
    -v rid="$CONS_RID" -v org="$CONS_ORG" -v region=bench-region -v cid="$CONS_CID" -v due="$CONS_DUE" \
    -v subject="$CONS_SEALED_SUBJECT" -v question="$CONS_SEALED_QUESTION" \
    -f "$TMP/cons-explain.sql" >"$TMP/cons-explain.out" 2>&1 \
    || { tail -n 30 "$TMP/cons-explain.out" >&2; die "EXPLAIN of the consultation statements failed"; }
"$PY" tests/bench/consultations_bench.py plans "$TMP/cons-explain.out" >"$TMP/cons-plans.json"
kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "overlegd died during the consultations run"; }
CONS_SERVER_LOG_LINES=$(wc -l <"$TMP/server.log")

# ---------- summary ----------
CONS_RATIO=$(awk -v h="$CONS_HTTP_RPS" -v p="$CONS_PG_TPS" 'BEGIN { printf "%.1f", 100 * h / p }')
G_CONS_P99=$(yesno "$CONS_HTTP_P99 < $GOAL_CONS_P99_MS")
G_CONS_RATIO=$(yesno "$CONS_RATIO >= $GOAL_CONS_RATIO")
[[ -z "$CONS_FAILED" ]] && G_CONS_P99_TXT=$G_CONS_P99 G_CONS_RATIO_TXT=$G_CONS_RATIO \
    || G_CONS_P99_TXT="**not met** (run failed)" G_CONS_RATIO_TXT="**not met** (run failed)"
if [[ -z "$CONS_FAILED" && $G_CONS_P99 == met && $G_CONS_RATIO == met ]]; then CONS_GOALS_MET=yes; else CONS_GOALS_MET=no; fi
per_s() { awk -v n="$1" -v d="$2" 'BEGIN { printf "%.0f", (d > 0) ? n / d : 0 }'; }
CONS_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git status --porcelain --untracked-files=normal -- server include sql Makefile 2>/dev/null)" ]] && CONS_COMMIT="$CONS_COMMIT (uncommitted server changes)"
[[ $OVERLEGD == build/overlegd ]] || CONS_COMMIT="$CONS_COMMIT, binary $OVERLEGD"

cons_section() {
cat <<EOF
### Latest run

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $CONS_COMMIT
- Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $("$PGBENCH" --version | awk '{ print $3 }') (throw-away cluster, fsync off)
- Server: \`OVERLEG_THREADS=$THREADS OVERLEG_DB_POOL=$POOL\` ($DB_CONNS database connections); wrk
  with $CONS_CONNS connections, pgbench with $DB_CONNS clients
- Data: $CONS_PROFILES consultant profiles in the database ($CONS_FANOUT take the group question,
  1 takes the direct ones$( [[ $CONS_PROFILES -gt $((CONS_FANOUT + 1)) ]] && echo "; the rest are the directory benchmark's, run before in the same cluster"))
- Other work on the machine: 1-minute load average $LOAD_START before \`make bench\` started and
  $CONS_LOAD when this benchmark started (the earlier benchmarks raise it); during the measured
  runs, processes other than wrk, overlegd, pgbench and PostgreSQL took $CONS_HTTP_OTHER % of one
  CPU during the wrk run and $CONS_PGB_OTHER % during the pgbench run

Commands (BODIES_FILE: the three bodies printed by \`tests/bench/consultations_bench.py bodies\`;
the wrk run follows a ${WARMUP} s warm-up with the same settings; cons_1..3.sql are written by
\`consultations_bench.py pgbench\`):

\`\`\`
${CONS_WRK_CMD[*]}
${CONS_PGB_CMD[*]}
\`\`\`

EOF
if [[ -n "$CONS_FAILED" ]]; then
    bad=$(sed -n 's/^consultations-first-non-2xx //p' "$TMP/cons-wrk.out" "$TMP/cons-wrk-warmup.out" | head -n 1 | cut -c1-200)
    printf '**The run failed: %s.**%s\n\n' "$CONS_FAILED" "${bad:+ First failing answer: \`$bad\`}"
fi
cat <<EOF
| Measure | Result | Goal | |
|---|---:|---:|---|
| HTTP \`POST /v1/consultations\`, mix of 3, $CONS_CONNS connections | $(fmt0 "$CONS_HTTP_RPS") req/s | | |
| HTTP latency p50 / p99 | $CONS_HTTP_P50 / $CONS_HTTP_P99 ms | p99 < $GOAL_CONS_P99_MS ms | $G_CONS_P99_TXT |
| the same inside overlegd (\`/metrics\` histogram) | p99 <= $CONS_SRV_P99_LE ms; $CONS_SRV_UNDER % under 25 ms | | |
| pgbench, the same 3 statements a transaction, same mix, $DB_CONNS clients | $(fmt0 "$CONS_PG_TPS") tps | | |
| pgbench latency p50 / p99 | $CONS_PG_P50 / $CONS_PG_P99 ms | | |
| pgbench p99 by kind: anonymous direct / group (fan-out $CONS_FANOUT) / consented direct | $CONS_PG_P99_KIND ms | | |
| Ratio HTTP / pgbench | $CONS_RATIO % | >= $GOAL_CONS_RATIO % | $G_CONS_RATIO_TXT |
| Notifications inserted per second, HTTP / pgbench | $(per_s "$CONS_HTTP_NOTES" "$CONS_HTTP_SECONDS") / $(per_s "$CONS_PGB_NOTES" "$CONS_PGB_SECONDS") | | |
| Backends running a statement, mean (samples every 0.25 s), HTTP / pgbench | $CONS_HTTP_ACTIVE / $CONS_PGB_ACTIVE | | |
| of which waiting for the audit chain's advisory lock, mean, HTTP / pgbench | $CONS_HTTP_ADV / $CONS_PGB_ADV | | |
| samples with at least one backend waiting for it, HTTP / pgbench | $CONS_HTTP_ADV_SHARE % / $CONS_PGB_ADV_SHARE % | | |

CPU time per request (user + system; share of one CPU over the run in brackets):

| | client | overlegd | PostgreSQL | other processes |
|---|---:|---:|---:|---:|
| HTTP (wrk) | $(us_per "$CONS_HTTP_CLIENT_TICKS" "$CONS_HTTP_REQS") µs ($(cpu_pct "$CONS_HTTP_CLIENT_TICKS" "$CONS_HTTP_SECONDS") %) | $(us_per "$CONS_HTTP_SRV_TICKS" "$CONS_HTTP_REQS") µs ($(cpu_pct "$CONS_HTTP_SRV_TICKS" "$CONS_HTTP_SECONDS") %) | $(us_per "$CONS_HTTP_PG_TICKS" "$CONS_HTTP_REQS") µs ($(cpu_pct "$CONS_HTTP_PG_TICKS" "$CONS_HTTP_SECONDS") %) | ($CONS_HTTP_OTHER %) |
| pgbench | $(us_per "$CONS_PGB_CLIENT_TICKS" "$CONS_PG_TXNS") µs ($(cpu_pct "$CONS_PGB_CLIENT_TICKS" "$CONS_PGB_SECONDS") %) | | $(us_per "$CONS_PGB_PG_TICKS" "$CONS_PG_TXNS") µs ($(cpu_pct "$CONS_PGB_PG_TICKS" "$CONS_PGB_SECONDS") %) | ($CONS_PGB_OTHER %) |

$CONS_HTTP_REQS HTTP requests ($CONS_HTTP_ROWS consultations and $CONS_HTTP_NOTES notifications made during
the measured run); $CONS_PG_TXNS pgbench transactions, $CONS_PG_NOTE ($CONS_PGB_ROWS consultations,
$CONS_PGB_NOTES notifications). In all, $CONS_ALL consultations of the benchmark practice, $CONS_GROUPS of them
group questions; $CONS_BAD_FANOUT without exactly their $CONS_FANOUT (group) or 1 (direct) notifications;
$CONS_AUDIT \`consultations.create\` audit entries; audit chain without gaps: $CONS_CHAIN. The sealed identity
pgbench writes is ${#CONS_SEALED} characters, made by overlegd for the consented body.
$CONS_SERVER_LOG_LINES lines in the server log at level warn (whole \`make bench\` run).

EOF
"$PY" - "$TMP/cons-plans.json" <<'PY'
import json, sys
plans = json.load(open(sys.argv[1]))
print("`EXPLAIN (ANALYZE, BUFFERS)` of the statements of one request, on the data above (prepared as")
print("overlegd prepares them, executed in a transaction that is rolled back):")
print()
print("| Statement | Execution | How it reads `consultant_profiles` |")
print("|---|---:|---|")
for name, p in plans.items():
    ms = f"{p['ms']:.2f} ms" if p["ms"] is not None else "?"
    scans = "; ".join(f"{s['scan']}, {s['rows'] + s['removed']} row(s) read"
                      + (f" ({s['loops']} loops)" if s["loops"] > 1 else "")
                      for s in p["profiles"]) or "-"
    print(f"| `{name}` | {ms} | {scans} |")
print()
g = plans.get("sql_create group")
if g:
    print("`sql_create` for a group question:")
    print()
    print("```")
    print(g["plan"])
    print("```")
    print()
PY
}

echo
cons_section | tee "$TMP/cons-section.md"
[[ -z "$DOC" ]] || write_section consultations "Consultation creation" "$TMP/cons-section.md"
[[ -z "$CONS_FAILED" ]] || die "consultations: $CONS_FAILED"
