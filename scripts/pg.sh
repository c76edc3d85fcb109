#!/usr/bin/env bash
# Manages a private PostgreSQL 15 cluster (no system service involved).
#   scripts/pg.sh start DATADIR SOCKDIR     initdb if needed, start, create the roles and db "overleg"
#   scripts/pg.sh stop DATADIR              fast shutdown; quiet if not running
#   scripts/pg.sh url SOCKDIR [DBNAME [ROLE]]  print the libpq URI (ROLE: overleg, the superuser)
#   scripts/pg.sh createdb SOCKDIR DBNAME   create a database
# Roles (as in production, deploy/README.md): overleg_owner owns the databases and their schema
# and runs `overlegd migrate`; overleg_app is what `overlegd serve` connects as.
# Env: OVERLEG_PG_FAST=1 trades durability for speed (tests).
set -euo pipefail

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { die "usage: pg.sh start DATADIR SOCKDIR | stop DATADIR | url SOCKDIR [DBNAME [ROLE]] | createdb SOCKDIR DBNAME"; }

bindir=$(pg_config --bindir 2>/dev/null || true)
[[ -x "$bindir/initdb" ]] || bindir=/usr/lib/postgresql/15/bin
[[ -x "$bindir/initdb" ]] || die "PostgreSQL server binaries not found (run scripts/deps.sh)"

# initdb and postgres refuse to run as root: as root, run them as "postgres".
as_pg=()
[[ $(id -u) -eq 0 ]] && as_pg=(runuser -u postgres --)

abspath() { realpath -m -- "$1"; }   # -m: the path need not exist yet

running() { [[ -f "$1/PG_VERSION" ]] && "${as_pg[@]}" "$bindir/pg_ctl" status -D "$1" >/dev/null 2>&1; }

psql_admin() {  # SOCKDIR SQL...
    local sock=$1; shift
    psql -X -q -v ON_ERROR_STOP=1 -h "$sock" -U overleg -d postgres "$@"
}

roles_if_missing() {  # SOCKDIR
    psql_admin "$1" -c "DO \$\$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'overleg_owner') THEN
            CREATE ROLE overleg_owner LOGIN; END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'overleg_app') THEN
            CREATE ROLE overleg_app LOGIN; END IF; END \$\$"
}

createdb_if_missing() {  # SOCKDIR DBNAME
    local exists
    exists=$(psql_admin "$1" -At -c "SELECT 1 FROM pg_database WHERE datname = '${2//\'/\'\'}'")
    [[ "$exists" == 1 ]] || psql_admin "$1" -c "CREATE DATABASE \"${2//\"/\"\"}\" OWNER overleg_owner"
}

cmd=${1:-}
case "$cmd" in
start)
    [[ $# -eq 3 ]] || usage
    data=$(abspath "$2"); sock=$(abspath "$3")
    # Unix socket paths are limited to 107 bytes ("$sock/.s.PGSQL.5432").
    [[ ${#sock} -le 90 ]] || die "socket directory path too long (max 90 chars): $sock"
    mkdir -p "$data" "$sock"
    log="$data.log"   # beside DATADIR, not inside it: survives an rm of the data dir's contents
    if [[ ${#as_pg[@]} -gt 0 ]]; then
        chown postgres: "$data" "$sock"
        chmod 700 "$data"
        touch "$log" && chown postgres: "$log"
        # A repo under e.g. /root is not reachable by postgres; say so instead of a cryptic initdb error.
        "${as_pg[@]}" test -w "$data" -a -w "$sock" \
            || die "user postgres cannot reach $data or $sock (a parent directory lacks o+x); use a path under /tmp or set DATABASE_URL"
    fi
    running "$data" && exit 0
    if [[ ! -f "$data/PG_VERSION" ]]; then
        fast=(); [[ "${OVERLEG_PG_FAST:-}" == 1 ]] && fast=(--no-sync)
        "${as_pg[@]}" "$bindir/initdb" -D "$data" -U overleg --auth=trust -E UTF8 \
            --locale=C.UTF-8 "${fast[@]}" >"$data.initdb.log" 2>&1 \
            || { cat "$data.initdb.log" >&2; die "initdb failed"; }
        rm -f "$data.initdb.log"
        # initdb runs as postgres (when root); append our settings the same way.
        {
            echo "# added by scripts/pg.sh"
            echo "listen_addresses = ''"
            echo "unix_socket_directories = '$sock'"
            echo "max_connections = 200"
            echo "shared_buffers = 128MB"
            if [[ "${OVERLEG_PG_FAST:-}" == 1 ]]; then
                echo "fsync = off"
                echo "synchronous_commit = off"
                echo "full_page_writes = off"
            fi
        } | "${as_pg[@]}" tee -a "$data/postgresql.conf" >/dev/null
    fi
    # The socket dir is also on the command line so a reused data dir follows this SOCKDIR.
    "${as_pg[@]}" "$bindir/pg_ctl" start -w -t 60 -D "$data" -l "$log" \
        -o "-c unix_socket_directories='$sock'" >/dev/null \
        || { tail -n 20 "$log" >&2; die "PostgreSQL did not start (log: $log)"; }
    roles_if_missing "$sock"
    createdb_if_missing "$sock" overleg
    ;;
stop)
    [[ $# -eq 2 ]] || usage
    data=$(abspath "$2")
    if running "$data"; then
        "${as_pg[@]}" "$bindir/pg_ctl" stop -w -m fast -D "$data" >/dev/null
    fi
    ;;
url)
    [[ $# -ge 2 && $# -le 4 ]] || usage
    sock=$(abspath "$2")
    echo "postgresql://${4:-overleg}@/${3:-overleg}?host=$sock"
    ;;
createdb)
    [[ $# -eq 3 ]] || usage
    createdb_if_missing "$(abspath "$2")" "$3"
    ;;
*) usage ;;
esac
