#!/usr/bin/env bash
# `make bench` after the build. Six benchmarks against one throw-away PostgreSQL cluster and one
# overlegd, each with a section of docs/benchmarks.md that it rewrites:
#
# - me (tests/bench/me.sh): GET /v1/me throughput and p99 latency with wrk, the same SQL
#   through pgbench at the server's database concurrency, and overlegd's resident memory at
#   1,000 idle keep-alive connections. Section <!-- bench:me:start --> .. <!-- bench:me:end -->.
# - directory (tests/bench/directory.sh): GET /v1/consultants on 50,000 generated consultant
#   profiles (tests/bench/directory_seed.sql), a mix of free-text and filter-only searches
#   (tests/bench/directory_mix.txt) with wrk, the same statements through pgbench, and
#   EXPLAIN ANALYZE of each. Section <!-- bench:directory:start --> .. <!-- bench:directory:end -->.
# - consultations (tests/bench/consultations.sh): POST /v1/consultations, a mix of anonymous
#   direct, anonymous group (notifying 50 consultants) and consented direct questions with wrk,
#   the same statements through pgbench. Section <!-- bench:consultations:start --> ..
#   <!-- bench:consultations:end -->.
# - cases (tests/bench/cases.sh): a coordinator's GET /v1/cases?stalled=true on 200,000 generated
#   cases and 1,000,000 consultations (tests/bench/cases_seed.sql) with wrk, the same statements
#   through pgbench, EXPLAIN ANALYZE of the list; the scheduler's pass over that data, first and
#   after 0, 100 and 1000 cases changed, with the plans of its candidate queries. Section
#   <!-- bench:cases:start --> .. <!-- bench:cases:end -->.
# - reports (tests/bench/reports.sh): a coordinator's GET /v1/reports/summary of the last full
#   calendar year on the cases benchmark's data (generated again when "cases" did not run) with
#   wrk, the same statements through pgbench, the plan of every statement report_summary runs;
#   the admin's report over every region alone. Section <!-- bench:reports:start --> ..
#   <!-- bench:reports:end -->.
# - billing (tests/bench/billing.sh): POST /v1/billing/exports of practice-years of 5,000
#   answered consultations (tests/bench/billing_seed.sql), one at a time with curl, the same
#   statements through pgbench for other practices, EXPLAIN ANALYZE of the candidate query and
#   the time of each statement of an export. Section <!-- bench:billing:start --> ..
#   <!-- bench:billing:end -->.
#
# Everything runs on 127.0.0.1 and a Unix socket only, and is stopped and removed on exit. About
# 60 s for "me", 90 s for "directory", 60 s for "consultations", 3 minutes for "cases", 1 minute
# for "reports" after "cases" (3 alone: it generates the cases data first) and 1 minute for
# "billing" on an idle 2-core machine.
#
# Env (defaults in brackets):
#   BENCH_ONLY []          me | directory | consultations | cases | reports | billing: run only
#                         that benchmark
#   BENCH_DURATION [15]   seconds of each measured wrk and pgbench run
#   BENCH_WARMUP [3]      seconds of each wrk warm-up run
#   BENCH_CONNS [64]      wrk connections (me)
#   BENCH_DIR_CONNS [32]  wrk connections (directory)
#   BENCH_DIR_PROFILES [50000] consultant profiles generated for the directory benchmark
#   BENCH_DIR_ROUNDS [3]  the directory benchmark alternates wrk and pgbench this many times,
#                         BENCH_DURATION / rounds seconds each
#   BENCH_DIR_PGB_WARM [2] seconds each directory pgbench run lasts longer, not counted
#   BENCH_CONS_CONNS [threads x pool] wrk connections (consultations)
#   BENCH_CASES_CONNS [16] wrk connections and pgbench clients (cases)
#   BENCH_CASES [200000]  cases generated for the cases benchmark
#   BENCH_CASES_CONSULTATIONS [1000000] consultations generated for it
#   BENCH_CASES_DUE [200] cases, and as many consultations, due for the scheduler at the start
#   BENCH_CASES_ROUNDS [2] the cases benchmark alternates wrk and pgbench this many times,
#                         BENCH_DURATION / rounds seconds each
#   BENCH_CASES_PGB_WARM [2] seconds each cases pgbench run lasts longer, not counted
#   BENCH_REPORTS_CONNS [8] wrk connections and pgbench clients (reports; the data is the cases
#                         benchmark's: BENCH_CASES, BENCH_CASES_CONSULTATIONS)
#   BENCH_REPORTS_ROUNDS [2] the reports benchmark alternates wrk and pgbench this many times,
#                         BENCH_DURATION / rounds seconds each
#   BENCH_REPORTS_PGB_WARM [2] seconds each reports pgbench run lasts longer, not counted
#   BENCH_BILLING_ROUNDS [5] exports through HTTP, and as many through pgbench (2 x rounds + 1
#                         practices are generated)
#   BENCH_BILLING_LINES [5000] billable consultations of each practice-year
#   BENCH_BILLING_BACKGROUND [300000] consultations of other practices
#   BENCH_IDLE_CONNS [1000] keep-alive connections held open for the memory figure
#   BENCH_THREADS [2]     OVERLEG_THREADS (the benchmark machine has 2 cores)
#   BENCH_POOL [8]        OVERLEG_DB_POOL (per thread); pgbench clients = threads x pool
#   BENCH_STRICT [0]      1: also exit non-zero when a goal is missed
#   BENCH_DOC [docs/benchmarks.md]  where the results go; empty: do not write
#   BENCH_OVERLEGD [build/overlegd]  the server binary to measure
set -euo pipefail
cd "$(dirname "$0")/../.."
# set -e exits silently; say where.
trap 'echo "bench: failed (status $?) at ${BASH_SOURCE[0]##*/} line $LINENO: $BASH_COMMAND" >&2' ERR

ONLY=${BENCH_ONLY:-}
[[ -z $ONLY || $ONLY == me || $ONLY == directory || $ONLY == consultations || $ONLY == cases
   || $ONLY == reports || $ONLY == billing ]] \
    || { echo "bench: BENCH_ONLY must be me, directory, consultations, cases, reports or billing" >&2; exit 2; }
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNS:-64}
IDLE_CONNS=${BENCH_IDLE_CONNS:-1000}
THREADS=${BENCH_THREADS:-2}
POOL=${BENCH_POOL:-8}
STRICT=${BENCH_STRICT:-0}
DOC=${BENCH_DOC-docs/benchmarks.md}
OVERLEGD=${BENCH_OVERLEGD:-build/overlegd}
DB_CONNS=$((THREADS * POOL))
# Goals from the issue (me; the directory's are in directory.sh).
GOAL_RATIO=70 GOAL_P99_MS=10 GOAL_RSS_MB=50

die() {
    echo "bench: $*" >&2
    # A server that went away explains most failures; say so.
    if [[ -n "${SERVER_PID:-}" ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
        local st=0
        wait "$SERVER_PID" 2>/dev/null || st=$?
        echo "bench: overlegd (pid $SERVER_PID) is no longer running: exit status $st" \
             "(0 is a clean stop on SIGTERM/SIGINT, i.e. something outside this script stopped it)" >&2
        tail -n 20 "$TMP/server.log" >&2 2>/dev/null || true
        SERVER_PID=
    fi
    exit 1
}
say() { echo "== $*"; }

PGBENCH=$(command -v pgbench || true)
[[ -x /usr/lib/postgresql/15/bin/pgbench ]] && PGBENCH=/usr/lib/postgresql/15/bin/pgbench
[[ -n "$PGBENCH" ]] || die "pgbench not found (postgresql package)"
command -v wrk >/dev/null || die "wrk not found (sh scripts/deps.sh bench)"
command -v curl >/dev/null || die "curl not found"
PY=/usr/bin/python3   # the system Python (a pyenv shim on PATH may differ or be slow)
[[ -x $PY ]] || PY=$(command -v python3) || die "python3 not found"
[[ -x "$OVERLEGD" ]] || die "$OVERLEGD is missing (make)"

# 1,000 client sockets + the pool + listeners exceed the usual soft limit of 1024; raise it
# (the server and the Python client inherit it).
need_fds=$((IDLE_CONNS + 256))
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $need_fds ]]; then
    hard=$(ulimit -Hn)
    if [[ $hard == unlimited || $hard -ge $need_fds ]]; then ulimit -n "$need_fds"; else ulimit -n "$hard"; fi
    [[ $(ulimit -n) -ge $need_fds ]] || die "open-file limit $(ulimit -n) is below $need_fds (ulimit -Hn is $hard)"
fi

# Other work on the machine skews every figure below; record it.
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD_START" 'BEGIN { exit !(l > 0.5) }'; then
    echo "bench: warning: 1-minute load average is $LOAD_START before the run; other processes compete for the CPUs" >&2
fi

# ---------- throw-away cluster, cleaned up on exit ----------
TMP=$(mktemp -d /tmp/overleg-bench.XXXXXX)
chmod 755 "$TMP"   # as root, pg.sh runs PostgreSQL as user postgres, which must reach it
SERVER_PID= PG_STARTED=
cleanup() {
    local rc=$?
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    [[ -n "$PG_STARTED" ]] && scripts/pg.sh stop "$TMP/pg" >/dev/null 2>&1 || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Durability is irrelevant for a read-only benchmark and initdb is quicker without fsync.
export OVERLEG_PG_FAST=1
say "starting a throw-away PostgreSQL cluster in $TMP"
PG_STARTED=1
timeout 90 scripts/pg.sh start "$TMP/pg" "$TMP/sock"
DATABASE_URL=$(scripts/pg.sh url "$TMP/sock")
export DATABASE_URL

say "migrate, create-admin"
timeout 60 "$OVERLEGD" migrate >"$TMP/migrate.log" 2>&1 || { cat "$TMP/migrate.log" >&2; die "migrate failed"; }
EMAIL=bench@bench.example
PASSWORD=$(openssl rand -hex 12)
OVERLEG_ADMIN_PASSWORD=$PASSWORD timeout 60 "$OVERLEGD" create-admin --email "$EMAIL" --name Bench \
    >"$TMP/admin.log" 2>&1 || { cat "$TMP/admin.log" >&2; die "create-admin failed"; }

# ---------- server ----------
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
say "starting overlegd on $BASE (threads=$THREADS, pool=$POOL per thread)"
# One key for the server and for the rekey runs that seal the seeds' clear texts (cases.sh).
OVERLEG_DATA_KEY=$(openssl rand -hex 32)
export OVERLEG_DATA_KEY
OVERLEG_LISTEN=127.0.0.1:$PORT \
OVERLEG_THREADS=$THREADS OVERLEG_DB_POOL=$POOL OVERLEG_JOBS_INTERVAL=0 OVERLEG_LOG_LEVEL=warn \
    "$OVERLEGD" serve >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    curl -fsS -o /dev/null --max-time 2 "$BASE/healthz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "overlegd exited"; }
    sleep 0.1
done
curl -fsS -o /dev/null --max-time 2 "$BASE/healthz" || { cat "$TMP/server.log" >&2; die "overlegd did not come up"; }
# overlegd binds with SO_REUSEPORT: a second process on the same port would silently take part
# of the traffic. Make sure ours is the only listener.
if command -v ss >/dev/null; then
    others=$(ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u | grep -vx "$SERVER_PID" || true)
    [[ -z "$others" ]] || die "port $PORT is also listened on by pid(s) $(echo $others); results would be mixed"
fi
curl -fsS -o /dev/null --max-time 5 "$BASE/readyz" || die "GET /readyz did not answer 200 (schema not current, or no reply)"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
RSS_IDLE_KB=$(rss_kb)

# CPU accounting, in clock ticks: overlegd (all threads), and PostgreSQL = the postmaster, its
# live children and the children it has reaped (pgbench's backends exit when it ends).
TICK=$(getconf CLK_TCK)
PM_PID=$(head -n 1 "$TMP/pg/postmaster.pid")
srv_ticks() { sed 's/^.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'; }
pg_ticks() {  # after "(comm) ": $2 ppid, $12 utime, $13 stime, $14 cutime, $15 cstime
    { sed 's/^.*) //' "/proc/$PM_PID/stat" | awk '{ print "self", $12 + $13 + $14 + $15 }'
      { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/^.*) //' | awk -v pm="$PM_PID" '$2 == pm { print "child", $12 + $13 }'
    } | awk '{ s += $2 } END { print s + 0 }'
}
# µs of CPU per request: TICKS REQUESTS
us_per() { awk -v t="$1" -v n="$2" -v hz="$TICK" 'BEGIN { printf "%.0f", (n > 0) ? t / hz * 1e6 / n : 0 }'; }
# share of one CPU: TICKS SECONDS
cpu_pct() { awk -v t="$1" -v d="$2" -v hz="$TICK" 'BEGIN { printf "%.0f", 100 * t / hz / d }'; }
# bash's time keyword: user + system seconds of a command and its children
TIMEFORMAT='%U %S'
# Helpers the parts share: /proc/stat, wrk output, /metrics, pgbench logs, goal wording.
source tests/bench/lib.sh

login_code=$(curl -sS --max-time 10 -o "$TMP/login.json" -w '%{http_code}' -X POST "$BASE/v1/auth/login" \
    -H 'Content-Type: application/json' \
    --data "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
[[ $login_code == 200 ]] || { cat "$TMP/login.json" >&2; die "login answered $login_code"; }
TOKEN=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$TMP/login.json")
[[ -n "$TOKEN" ]] || die "no token in the login response"
RSS_LOGIN_KB=$(rss_kb)   # argon2id (m = 19 MiB) has run once
me_code=$(curl -sS --max-time 5 -o "$TMP/me.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$BASE/v1/me")
[[ $me_code == 200 ]] && grep -q "$EMAIL" "$TMP/me.json" \
    || { cat "$TMP/me.json" >&2; die "GET /v1/me answered $me_code"; }

ME_GOALS_MET= DIR_GOALS_MET= CONS_GOALS_MET= CASES_GOALS_MET= REPORTS_GOALS_MET= BILL_GOALS_MET=
if [[ -z $ONLY || $ONLY == me ]]; then source tests/bench/me.sh; fi
if [[ -z $ONLY || $ONLY == directory ]]; then source tests/bench/directory.sh; fi
if [[ -z $ONLY || $ONLY == consultations ]]; then source tests/bench/consultations.sh; fi
if [[ -z $ONLY || $ONLY == cases ]]; then source tests/bench/cases.sh; fi
# reports after cases: it reuses that data (cases.sh leaves CASES_REGION and CASES_ORG set)
if [[ -z $ONLY || $ONLY == reports ]]; then source tests/bench/reports.sh; fi
# billing last: its practices add consultations the reports would count over every region
if [[ -z $ONLY || $ONLY == billing ]]; then source tests/bench/billing.sh; fi

if [[ $STRICT == 1 && ( $ME_GOALS_MET == no || $DIR_GOALS_MET == no || $CONS_GOALS_MET == no
                        || $CASES_GOALS_MET == no || $REPORTS_GOALS_MET == no
                        || $BILL_GOALS_MET == no ) ]]; then
    die "a goal is not met (BENCH_STRICT=1)"
fi
exit 0
