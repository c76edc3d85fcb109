# Sourced by tests/bench/run.sh (BENCH_ONLY unset or "billing"), after the common setup (the
# throw-away cluster, overlegd on 127.0.0.1:$PORT, a signed-in admin: $TOKEN). The export of a
# practice-year, POST /v1/billing/exports:
#
# 1. tests/bench/billing_seed.sql generates 2 x $BENCH_BILLING_ROUNDS + 1 (11) general practices,
#    each with $BENCH_BILLING_LINES (5,000) consultations answered in the last full calendar
#    year (and 30 % as many the years before and after, which the export must leave out), by the
#    consultants of 3 providers with tariffs (one changed on 1 July), among
#    $BENCH_BILLING_BACKGROUND (300,000) consultations of 60 other practices. It prints what each
#    practice's export must hold (lines, total), computed from its own tariff schedule. Then
#    VACUUM until every page is all-visible, and CHECKPOINT.
# 2. overlegd's database connections are warmed: 2 x $DB_CONNS exports of a year with nothing in
#    it, $DB_CONNS at a time, each answering 422 (the first call of billing_export on a
#    connection compiles the function and plans its statements; overlegd's connections live long).
# 3. $BENCH_BILLING_ROUNDS (5) rounds, each of:
#    - one POST /v1/billing/exports as the admin (curl) for practice 2r - 1: its time, and the
#      CPU overlegd and PostgreSQL spent on it; the answer must be 201 with every line, the
#      expected total, nothing unpriced and the budget used by that total;
#    - pgbench -t 1 on the statements overlegd runs for it (sql_auth, sql_export, verbatim from
#      the C source by billing_bench.py, -M prepared) for practice 2r, each statement timed
#      (-r), after the same pair for a year with nothing in it on the same connection; the export
#      it made must hold every line and the expected total.
#    An export is a write: each exports a practice-year that nothing exported before. The rounds
#    alternate HTTP and pgbench because this machine's speed drifts; each export starts when no
#    autovacuum worker runs (the one before it triggers an analyze of billing_lines), and the
#    checkpoints and autovacuum runs that still overlap it are listed beside it.
# 4. The first practice again: 422, nothing left to export (each consultation at most once).
# 5. EXPLAIN (ANALYZE, BUFFERS) of billing_candidates' query for the last practice's year (never
#    exported), first and second time; then that practice's export in a transaction rolled back,
#    with auto_explain timing every statement billing_export runs.
# 6. Rewrites the section between <!-- bench:billing:start --> and <!-- bench:billing:end --> of
#    docs/benchmarks.md. Sets BILL_GOALS_MET (yes/no).
#
# About a minute, a third of it generating the data.

BILL_ROUNDS=${BENCH_BILLING_ROUNDS:-5}
BILL_LINES=${BENCH_BILLING_LINES:-5000}
BILL_BACKGROUND=${BENCH_BILLING_BACKGROUND:-300000}
GOAL_BILL_MS=1000   # from the issue: an export of a practice-year of 5,000 in under 1 s
BILL_LOAD=$(cut -d' ' -f1 /proc/loadavg)
BILL_YEAR=$(( $(date -u +%Y) - 1 ))   # the last full calendar year
BILL_PRACTICES=$((2 * BILL_ROUNDS + 1))
TIMEFORMAT='%U %S %R'   # bash's time keyword: user, system and real seconds
bill_sql() { psql "$DATABASE_URL" -X -At -F ' ' -v ON_ERROR_STOP=1 "$@"; }
ms_of() { awk -v s="$1" 'BEGIN { printf "%.0f", s * 1000 }'; }   # SECONDS -> ms
ms_per() { awk -v t="$1" -v n="$2" -v hz="$TICK" 'BEGIN { printf "%.0f", t / hz * 1000 / n }'; }   # TICKS N -> ms each
# Waits (at most 30 s) until no autovacuum worker runs: each export inserts 5,000 lines, after
# which autovacuum analyzes or vacuums billing_lines; the next export is measured alone.
bill_quiet() {
    for _ in $(seq 300); do
        [[ $(bill_sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") == 0 ]] && return 0
        sleep 0.1
    done
}
# "CHECKPOINTS AUTOVACUUMS" so far (pg_stat_bgwriter, pg_stat_all_tables): PostgreSQL's own work,
# whose CPU time counts as PostgreSQL's too, to tell an export that did more from one that shared
# the cores with it.
bill_bg() { bill_sql -c "SELECT (SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter),
    (SELECT coalesce(sum(autovacuum_count + autoanalyze_count), 0) FROM pg_stat_all_tables)"; }
# bill_during BG_BEFORE: what of it happened since ("" when nothing)
bill_during() {
    local c0 a0 c1 a1 busy
    read -r c0 a0 <<<"$1"
    read -r c1 a1 < <(bill_bg)
    busy=$(bill_sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")
    { [[ $c1 == "$c0" ]] || echo "checkpoint"
      [[ $a1 == "$a0" ]] || echo "autovacuum ($((a1 - a0)) tables)"
      [[ $busy == 0 ]] || echo "autovacuum still running"; } | paste -sd, - | sed 's/,/, /g'
}
# "MEDIAN MIN MAX" of the numbers given (the lower median of an even count)
stats3() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'; }

# ---------- data ----------
BILL_ADMIN=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["user"]["id"])' "$TMP/login.json")
say "billing: generating $BILL_PRACTICES practices of $BILL_LINES consultations answered in $BILL_YEAR and $BILL_BACKGROUND of other practices (tests/bench/billing_seed.sql)"
t0=$(date +%s%N)
timeout 1200 psql "$DATABASE_URL" -X -q -At -v ON_ERROR_STOP=1 -v admin="$BILL_ADMIN" -v year="$BILL_YEAR" \
    -v practices="$BILL_PRACTICES" -v per_practice="$BILL_LINES" -v background="$BILL_BACKGROUND" \
    -f tests/bench/billing_seed.sql >"$TMP/billing-seed.out" 2>&1 \
    || { cat "$TMP/billing-seed.out" >&2; die "billing_seed.sql failed"; }
BILL_SEED_S=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')
# "K|ID|LINES|TOTAL_CENTS" a practice: what its export must hold
BILL_ORG=() BILL_EXP_LINES=() BILL_EXP_TOTAL=()
while IFS='|' read -r k id n total; do
    BILL_ORG[k]=$id BILL_EXP_LINES[k]=$n BILL_EXP_TOTAL[k]=$total
done < <(grep -E '^[0-9]+\|[0-9a-f-]{36}\|[0-9]+\|[0-9]+$' "$TMP/billing-seed.out")
[[ ${#BILL_ORG[@]} == "$BILL_PRACTICES" ]] || { cat "$TMP/billing-seed.out" >&2; die "billing_seed.sql printed ${#BILL_ORG[@]} practices, not $BILL_PRACTICES"; }
for k in "${!BILL_ORG[@]}"; do
    [[ ${BILL_EXP_LINES[k]} == "$BILL_LINES" ]] || die "practice $k has ${BILL_EXP_LINES[k]} billable consultations, not $BILL_LINES"
done
# The seed ends with VACUUM ANALYZE; an autovacuum worker's ANALYZE running at the same time holds
# a snapshot that keeps it from marking the new pages all-visible and setting their hint bits,
# which the first export would then do (pages dirtied: not what an export of last year meets in
# production). Wait for the workers and vacuum again until the marks are there.
for _ in 1 2 3; do
    BILL_VISIBLE=$(bill_sql -c "SELECT round(100.0 * relallvisible / relpages, 1) FROM pg_class WHERE relname = 'consultations'")
    awk -v v="$BILL_VISIBLE" 'BEGIN { exit !(v >= 99.9) }' && break
    for _ in $(seq 120); do
        [[ $(bill_sql -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") == 0 ]] && break
        sleep 1
    done
    bill_sql -q -c 'VACUUM (ANALYZE, INDEX_CLEANUP ON) consultations' || die "VACUUM ANALYZE failed"
done
BILL_VISIBLE=$(bill_sql -c "SELECT round(100.0 * relallvisible / relpages, 1) FROM pg_class WHERE relname = 'consultations'")
# The data's writes are flushed now rather than by a checkpoint during the measured exports.
bill_sql -q -c 'CHECKPOINT' || die "CHECKPOINT failed"
read -r BILL_CONS BILL_CONS_REGION BILL_CONS_MB BILL_IDX_MB BILL_PRACTICE_ROWS BILL_PRACTICE_ANSWERED < <(bill_sql -c "
    SELECT (SELECT count(*) FROM consultations),
           (SELECT count(*) FROM consultations WHERE region = 'bench-billing'),
           round(pg_total_relation_size('consultations') / 1048576.0),
           round(pg_relation_size('consultations_billable') / 1048576.0),
           count(*), count(*) FILTER (WHERE answered_at IS NOT NULL)
      FROM consultations WHERE organisation_id = '${BILL_ORG[1]}'")
echo "    $BILL_CONS consultations ($BILL_CONS_MB MB with indexes; consultations_billable $BILL_IDX_MB MB)," \
     "$BILL_CONS_REGION of them generated here; a practice: $BILL_PRACTICE_ROWS, $BILL_PRACTICE_ANSWERED answered; ${BILL_SEED_S} s"

# The admin's principal as overlegd sends it (server/principal.c), from the session pgbench finds.
BILL_TOK=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
BILL_WHO=$(bill_sql -c "SELECT format('(\"%s\",\"%s\",\"%s\",\"%s\")', user_id, role, organisation_id, region)
    FROM sessions WHERE token_hash = '$BILL_TOK' AND revoked_at IS NULL AND expires_at > now() AND role = 'admin'")
[[ -n "$BILL_WHO" ]] || die "the admin's token hash finds no valid session: pgbench would measure nothing"

# ---------- requests ----------
BILL_EMPTY_FROM=$((BILL_YEAR - 5))-01-01 BILL_EMPTY_TO=$((BILL_YEAR - 5))-12-31   # nothing in it
BILL_FROM=$BILL_YEAR-01-01 BILL_TO=$BILL_YEAR-12-31
bill_body() { printf '{"organisation_id":"%s","from":"%s","to":"%s"}' "$1" "$2" "$3"; }
# bill_post K FROM TO OUTFILE: one export as the admin; prints "CODE SECONDS BYTES"
bill_post() {
    curl -sS --max-time 60 -o "$4" -w '%{http_code} %{time_total} %{size_download}' -X POST \
        "$BASE/v1/billing/exports" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data "$(bill_body "${BILL_ORG[$1]}" "$2" "$3")"
}

say "billing: warming overlegd's $DB_CONNS database connections ($((2 * DB_CONNS)) exports of $((BILL_YEAR - 5)), $DB_CONNS at a time)"
# In the background, $DB_CONNS at a time, each its own practice (one practice's exports take turns
# on an advisory lock); `wait` names them: overlegd is a background job of this shell too.
for batch in 1 2; do
    pids=()
    for i in $(seq "$DB_CONNS"); do
        bill_post $(( (i - 1) % BILL_PRACTICES + 1 )) "$BILL_EMPTY_FROM" "$BILL_EMPTY_TO" /dev/null \
            >"$TMP/billing-warm.$batch.$i" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" || true
done
codes=$(awk '{ print $1 }' "$TMP"/billing-warm.* | sort | uniq -c | xargs)   # each file a line without its newline
[[ $codes == "$((2 * DB_CONNS)) 422" ]] || die "the warm-up exports answered (count code): $codes"

# ---------- HTTP and pgbench, in alternating rounds ----------
BILL_STMT_TIMEOUT=$(grep -o 'statement_timeout=[0-9]*' server/db.c | head -n 1 | cut -d= -f2 || true)
mkdir -p "$TMP/billpgb"
mapfile -t BILL_PGB_ARGS < <("$PY" tests/bench/billing_bench.py pgbench "$TMP/billpgb")
[[ ${#BILL_PGB_ARGS[@]} -gt 0 ]] || die "billing_bench.py pgbench printed nothing"
BILL_RID=00000000-0000-4000-8000-0000000b1111   # overlegd makes a random one per request
BILL_CURL_CMD=(curl -X POST "http://127.0.0.1:\$PORT/v1/billing/exports" -H "'Authorization: Bearer \$TOKEN'"
               -H "'Content-Type: application/json'"
               --data "'{\"organisation_id\":\"\$PRACTICE\",\"from\":\"$BILL_FROM\",\"to\":\"$BILL_TO\"}'")
BILL_PGB_CMD=(${BILL_STMT_TIMEOUT:+PGOPTIONS=\'-c statement_timeout=$BILL_STMT_TIMEOUT\'}
              pgbench -n -M prepared -t 1 -r -f billing_export.sql -D tok=\$TOKEN_HASH -D now=\$NOW
              -D ip=127.0.0.1 -D rid=\$REQUEST_ID "-D who='(\$ADMIN,admin,\$ORG,\$REGION)'"
              -D org=\$PRACTICE -D wfrom=$BILL_EMPTY_FROM -D wto=$BILL_EMPTY_TO -D from=$BILL_FROM
              -D to=$BILL_TO "\$DATABASE_URL")

BILL_HTTP_MS=() BILL_PGB_MS=() BILL_PGB_EXPORT_MS=() BILL_ROUND_ROWS=
BILL_HTTP_SRV=0 BILL_HTTP_PG=0 BILL_HTTP_CLIENT=0 BILL_HTTP_BUSY=0 BILL_HTTP_SECONDS=0
BILL_PGB_PG=0 BILL_PGB_CLIENT=0 BILL_PGB_BUSY=0 BILL_PGB_SECONDS=0
for round in $(seq "$BILL_ROUNDS"); do
    kh=$((2 * round - 1)) kp=$((2 * round))
    say "billing: round $round of $BILL_ROUNDS: POST /v1/billing/exports, practice $kh; pgbench, practice $kp"
    out="$TMP/billing-export.$round.json"
    bill_quiet
    bg0=$(bill_bg)
    s0=$(srv_ticks) p0=$(pg_ticks) b0=$(busy_ticks)
    { time res=$(bill_post "$kh" "$BILL_FROM" "$BILL_TO" "$out"); } 2>"$TMP/billing-curl.time" \
        || die "POST /v1/billing/exports (practice $kh): no answer"
    BILL_HTTP_BUSY=$((BILL_HTTP_BUSY + $(busy_ticks) - b0))
    http_pg=$(( $(pg_ticks) - p0 ))   # this export's, to tell more work from waiting for a CPU
    http_bg=$(bill_during "$bg0")
    BILL_HTTP_SRV=$((BILL_HTTP_SRV + $(srv_ticks) - s0)) BILL_HTTP_PG=$((BILL_HTTP_PG + http_pg))
    BILL_HTTP_CLIENT=$((BILL_HTTP_CLIENT + $(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/billing-curl.time")))
    BILL_HTTP_SECONDS=$(awk -v t="$BILL_HTTP_SECONDS" '{ printf "%.3f", t + $3 }' "$TMP/billing-curl.time")
    read -r code secs bytes <<<"$res"
    [[ $code == 201 ]] || { head -c 400 "$out" >&2; echo >&2; die "POST /v1/billing/exports (practice $kh) answered $code"; }
    bad=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1])); n, total = int(sys.argv[2]), int(sys.argv[3])
lc, lines, tc, used = d["line_count"], d["lines"], d["total_cents"], d["budget"]["used_cents"]
bad = []
if lc != n or len(lines) != n: bad.append("%d lines (%d listed), not %d" % (lc, len(lines), n))
if tc != total or sum(l["amount_cents"] for l in lines) != total: bad.append("total %d, not %d" % (tc, total))
if d["unpriced"]: bad.append("%d unpriced" % len(d["unpriced"]))
if used != total: bad.append("budget used %d" % used)
print("; ".join(bad))' "$out" "${BILL_EXP_LINES[kh]}" "${BILL_EXP_TOTAL[kh]}")
    [[ -z "$bad" ]] || die "the export of practice $kh: $bad"
    http_ms=$(ms_of "$secs")
    BILL_HTTP_MS+=("$http_ms")
    echo "    HTTP: $http_ms ms, $code, $bytes bytes"

    out="$TMP/billing-pgbench.$round.out" rc=0
    bill_quiet
    bg0=$(bill_bg)
    p0=$(pg_ticks) b0=$(busy_ticks)
    { time (cd "$TMP" && PGOPTIONS=${BILL_STMT_TIMEOUT:+"-c statement_timeout=$BILL_STMT_TIMEOUT"} \
        timeout 120 "$PGBENCH" -n -M prepared -t 1 -r "${BILL_PGB_ARGS[@]}" -D tok="$BILL_TOK" \
        -D now="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" -D ip=127.0.0.1 -D rid="$BILL_RID" -D who="$BILL_WHO" \
        -D org="${BILL_ORG[kp]}" -D wfrom="$BILL_EMPTY_FROM" -D wto="$BILL_EMPTY_TO" -D from="$BILL_FROM" \
        -D to="$BILL_TO" "$DATABASE_URL" >"$out" 2>&1); } 2>"$TMP/billing-pgbench.time" || rc=$?
    sleep 0.3   # let the postmaster reap the exited backend, so that its CPU time is counted
    # The machine's count first: what pg_ticks and bill_during cost would count as other work.
    BILL_PGB_BUSY=$((BILL_PGB_BUSY + $(busy_ticks) - b0))
    pgb_pg=$(( $(pg_ticks) - p0 ))
    pgb_bg=$(bill_during "$bg0")
    BILL_PGB_PG=$((BILL_PGB_PG + pgb_pg))
    BILL_PGB_CLIENT=$((BILL_PGB_CLIENT + $(awk -v hz="$TICK" '{ printf "%.0f", ($1 + $2) * hz }' "$TMP/billing-pgbench.time")))
    BILL_PGB_SECONDS=$(awk -v t="$BILL_PGB_SECONDS" '{ printf "%.3f", t + $3 }' "$TMP/billing-pgbench.time")
    [[ $rc == 0 ]] || { cat "$out" >&2; die "pgbench (practice $kp) failed (status $rc)"; }
    # -r: one line per statement, "LATENCY_MS FAILURES SQL..."; the 3rd and 4th are the measured pair
    mapfile -t lat < <(sed -n '/^statement latencies/,$p' "$out" | awk '$1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9]+$/ { print $1, $2 }')
    [[ ${#lat[@]} == 4 ]] || { cat "$out" >&2; die "could not read pgbench's statement latencies"; }
    [[ "$(printf '%s\n' "${lat[@]}" | awk '{ s += $2 } END { print s }')" == 0 ]] || { cat "$out" >&2; die "pgbench (practice $kp): a statement failed"; }
    read -r exported lines total < <(bill_sql -c "SELECT count(*), coalesce(sum(line_count), 0), coalesce(sum(total_cents), 0)
        FROM billing_exports WHERE organisation_id = '${BILL_ORG[kp]}'")
    [[ $exported == 1 && $lines == "${BILL_EXP_LINES[kp]}" && $total == "${BILL_EXP_TOTAL[kp]}" ]] \
        || die "pgbench's export of practice $kp: $exported exports, $lines lines, total $total (expected 1, ${BILL_EXP_LINES[kp]}, ${BILL_EXP_TOTAL[kp]})"
    pgb_export_ms=$(awk '{ printf "%.0f", $1 }' <<<"${lat[3]}")
    pgb_ms=$(awk -v a="${lat[2]%% *}" -v b="${lat[3]%% *}" 'BEGIN { printf "%.0f", a + b }')
    BILL_PGB_MS+=("$pgb_ms") BILL_PGB_EXPORT_MS+=("$pgb_export_ms")
    echo "    pgbench: sql_auth + sql_export $pgb_ms ms (sql_export $pgb_export_ms ms)"
    BILL_ROUND_ROWS+="| $round | $kh | $http_ms ms | $(ms_per "$http_pg" 1) ms | $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MB | ${http_bg:--} | $kp | $pgb_ms ms | $(ms_per "$pgb_pg" 1) ms | ${pgb_bg:--} |"$'\n'
done

# ---------- at most once ----------
res=$(bill_post 1 "$BILL_FROM" "$BILL_TO" "$TMP/billing-again.json") || die "the second export of practice 1: no answer"
read -r code secs _ <<<"$res"
[[ $code == 422 ]] && grep -q 'exported already' "$TMP/billing-again.json" \
    || { cat "$TMP/billing-again.json" >&2; die "the second export of practice 1 answered $code, not 422 (exported already)"; }
BILL_AGAIN_MS=$(ms_of "$secs")

# ---------- plans ----------
BILL_K=$BILL_PRACTICES   # the spare practice: never exported
say "billing: EXPLAIN (ANALYZE, BUFFERS) of billing_candidates for practice $BILL_K, $BILL_YEAR"
"$PY" tests/bench/billing_bench.py candidates >"$TMP/billing-candidates.sql"
timeout 120 psql "$DATABASE_URL" -X -q -v org="${BILL_ORG[BILL_K]}" -v from="$BILL_FROM" -v to="$BILL_TO" \
    -f "$TMP/billing-candidates.sql" >"$TMP/billing-candidates.out" 2>&1 \
    || { tail -n 30 "$TMP/billing-candidates.out" >&2; die "EXPLAIN of billing_candidates failed"; }
"$PY" tests/bench/cases_bench.py plans "$TMP/billing-candidates.out" >"$TMP/billing-candidates.json"
say "billing: the export of practice $BILL_K with auto_explain, rolled back"
"$PY" tests/bench/billing_bench.py breakdown >"$TMP/billing-breakdown.sql"
timeout 120 psql "$DATABASE_URL" -X -q -v tok="$BILL_TOK" -v now="$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)" \
    -v ip=127.0.0.1 -v rid="$BILL_RID" -v who="$BILL_WHO" -v org="${BILL_ORG[BILL_K]}" -v from="$BILL_FROM" \
    -v to="$BILL_TO" -f "$TMP/billing-breakdown.sql" >"$TMP/billing-breakdown.out" 2>"$TMP/billing-breakdown.err" \
    || { tail -n 30 "$TMP/billing-breakdown.err" >&2; die "the export with auto_explain failed"; }
"$PY" tests/bench/billing_bench.py nested "$TMP/billing-breakdown.err" >"$TMP/billing-breakdown.json"
[[ $(bill_sql -c "SELECT count(*) FROM billing_exports WHERE organisation_id = '${BILL_ORG[BILL_K]}'") == 0 ]] \
    || die "the rolled-back export of practice $BILL_K left an export"
kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "overlegd died during the billing run"; }
BILL_SERVER_LOG_LINES=$(wc -l <"$TMP/server.log")

# ---------- summary ----------
read -r BILL_HTTP_MED BILL_HTTP_MIN BILL_HTTP_MAX < <(stats3 "${BILL_HTTP_MS[@]}")
read -r BILL_PGB_MED BILL_PGB_MIN BILL_PGB_MAX < <(stats3 "${BILL_PGB_MS[@]}")
read -r BILL_PGBX_MED BILL_PGBX_MIN BILL_PGBX_MAX < <(stats3 "${BILL_PGB_EXPORT_MS[@]}")
BILL_RATIO=$(awk -v h="$BILL_HTTP_MED" -v p="$BILL_PGB_MED" 'BEGIN { printf "%.2f", h / p }')
BILL_HTTP_OTHER=$(other_pct "$BILL_HTTP_BUSY" $((BILL_HTTP_SRV + BILL_HTTP_PG + BILL_HTTP_CLIENT)) "$BILL_HTTP_SECONDS")
BILL_PGB_OTHER=$(other_pct "$BILL_PGB_BUSY" $((BILL_PGB_PG + BILL_PGB_CLIENT)) "$BILL_PGB_SECONDS")
G_BILL=$(yesno "$BILL_HTTP_MAX < $GOAL_BILL_MS")
[[ $G_BILL == met ]] && BILL_GOALS_MET=yes || BILL_GOALS_MET=no
BILL_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git status --porcelain --untracked-files=normal -- server include sql Makefile 2>/dev/null)" ]] && BILL_COMMIT="$BILL_COMMIT (uncommitted server changes)"
[[ $OVERLEGD == build/overlegd ]] || BILL_COMMIT="$BILL_COMMIT, binary $OVERLEGD"

billing_section() {
cat <<EOF
### Latest run

- Date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $BILL_COMMIT
- Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), PostgreSQL $("$PGBENCH" --version | awk '{ print $3 }') (throw-away cluster, fsync off)
- Server: \`OVERLEG_THREADS=$THREADS OVERLEG_DB_POOL=$POOL\` ($DB_CONNS database connections, warmed by
  $((2 * DB_CONNS)) exports of a year with nothing in it)
- Data (\`tests/bench/billing_seed.sql\`, ${BILL_SEED_S} s): $BILL_PRACTICES practices with $BILL_LINES consultations each answered in
  $BILL_YEAR ($BILL_PRACTICE_ROWS rows a practice, $BILL_PRACTICE_ANSWERED answered, counting the years around it and the
  unanswered), $BILL_CONS_REGION consultations generated in all; the table holds $BILL_CONS ($BILL_CONS_MB MB with its
  indexes; \`consultations_billable\` $BILL_IDX_MB MB), $BILL_VISIBLE % of its pages all-visible
- Other work on the machine: 1-minute load average $LOAD_START before \`make bench\` started and
  $BILL_LOAD when this benchmark started; processes other than curl, overlegd, pgbench and
  PostgreSQL took $BILL_HTTP_OTHER % of one CPU during the HTTP exports and $BILL_PGB_OTHER % during the pgbench ones

$BILL_ROUNDS rounds, each one export through HTTP and one through pgbench, of different practices (an export
is a write: each practice-year is exported once); billing_export.sql is written by
\`billing_bench.py pgbench\`: sql_auth and sql_export for a year with nothing in it, then for $BILL_YEAR,
each statement timed (\`-r\`):

\`\`\`
${BILL_CURL_CMD[*]}
${BILL_PGB_CMD[*]}
\`\`\`

| Measure | Result | Goal | |
|---|---:|---:|---|
| HTTP \`POST /v1/billing/exports\`, a practice-year of $BILL_LINES (median; min-max of $BILL_ROUNDS) | $BILL_HTTP_MED ms ($BILL_HTTP_MIN-$BILL_HTTP_MAX) | each < $GOAL_BILL_MS ms | $G_BILL |
| pgbench, sql_auth + sql_export, same size, other practices | $BILL_PGB_MED ms ($BILL_PGB_MIN-$BILL_PGB_MAX) | | |
| of which sql_export | $BILL_PGBX_MED ms ($BILL_PGBX_MIN-$BILL_PGBX_MAX) | | |
| HTTP / pgbench (medians) | $BILL_RATIO | | |
| The first practice again (422: nothing left to export) | $BILL_AGAIN_MS ms | | |

The rounds one by one (PostgreSQL's CPU time during each export: what the database worked on it,
apart from waiting for a CPU, and whatever PostgreSQL did besides at the same time, listed under
"besides"; pgbench's includes its connection and the empty year):

| round | practice | HTTP | PostgreSQL CPU | answer | besides | practice | pgbench | PostgreSQL CPU | besides |
|---:|---:|---:|---:|---:|---|---:|---:|---:|---|
${BILL_ROUND_ROWS%$'\n'}

CPU time per export (user + system):

| | client | overlegd | PostgreSQL | other processes |
|---|---:|---:|---:|---:|
| HTTP (curl) | $(ms_per "$BILL_HTTP_CLIENT" "$BILL_ROUNDS") ms | $(ms_per "$BILL_HTTP_SRV" "$BILL_ROUNDS") ms | $(ms_per "$BILL_HTTP_PG" "$BILL_ROUNDS") ms | ($BILL_HTTP_OTHER %) |
| pgbench (its connection and the empty year included) | $(ms_per "$BILL_PGB_CLIENT" "$BILL_ROUNDS") ms | | $(ms_per "$BILL_PGB_PG" "$BILL_ROUNDS") ms | ($BILL_PGB_OTHER %) |

Every export answered 201 (pgbench's: made) with all $BILL_LINES lines, the expected total (from the
generator's own tariff schedule), nothing unpriced and the budget used by that total;
$BILL_SERVER_LOG_LINES lines in the server log at level warn (whole \`make bench\` run).

EOF
"$PY" - "$TMP/billing-candidates.json" "$TMP/billing-breakdown.json" "$BILL_YEAR" <<'PY'
import json, sys
cand, nested, year = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
for name, what in (("first", "the first time since the data was loaded, as an export meets it"),
                   ("again", "again, its pages now in shared buffers")):
    p = cand[name]
    ms = f"{p['ms']:.2f} ms" if p["ms"] is not None else "?"
    print(f"The query of `billing_candidates` (sql/0005_billing.sql) for a practice's {year}, prepared, {what}: {ms}.")
    print()
    print("```")
    print(p["plan"])
    print("```")
    print()
blocks = nested.get("export", [])
top = [b for b in blocks if b["query"].startswith("SELECT outcome, body::text FROM billing_export(")]
# The same statement runs once per line (a SQL function that is not inlined, a foreign-key
# check): one row each, in the order they first ran; a statement's time includes the ones it
# ran, which finish, and are listed, before it.
groups = {}
for b in blocks:
    if b in top:
        continue
    g = groups.setdefault(b["query"], {"n": 0, "ms": 0.0, "scans": []})
    g["n"] += 1
    g["ms"] += b["ms"]
    g["scans"] += [s for s in b["scans"] if s not in g["scans"]]
print(f"The statements `billing_export` runs for that practice-year (auto_explain, ANALYZE and BUFFERS on, "
      f"in a transaction rolled back; the times include auto_explain's own, which is large when a "
      f"statement runs once a line), the export {top[0]['ms']:.0f} ms in all:" if top
      else "The statements `billing_export` runs (auto_explain):")
print()
print("| runs | ms (sum) | statement | scans |")
print("|---:|---:|---|---|")
for q, g in groups.items():
    q = q.replace("|", "\\|")
    q = q[:120] + ("..." if len(q) > 120 else "")
    scans = "; ".join(s.split(" (")[0].strip() for s in g["scans"]).replace("|", "\\|")
    print(f"| {g['n']} | {g['ms']:.1f} | `{q}` | {scans} |")
print()
PY
}

echo
billing_section | tee "$TMP/billing-section.md"
[[ -z "$DOC" ]] || write_section billing "Billing: the export of a practice-year" "$TMP/billing-section.md"
