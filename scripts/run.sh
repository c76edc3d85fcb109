#!/usr/bin/env bash
# `make run` after the build: database, key, migrations, demo data, banner, serve.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

# Embedded cluster unless the caller brings a database: migrations and demo data as the schema's
# owner, the server as the application role (least privilege, as in deploy/README.md).
if [[ -z "${DATABASE_URL:-}" ]]; then
    scripts/pg.sh start var/pg var/sock
    DATABASE_URL=$(scripts/pg.sh url var/sock overleg overleg_app)
    OVERLEG_MIGRATE_DATABASE_URL=$(scripts/pg.sh url var/sock overleg overleg_owner)
    owner=$(psql "$(scripts/pg.sh url var/sock)" -X -At -c \
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'overleg'")
    if [[ "$owner" != overleg_owner ]]; then
        echo "run.sh: var/pg was made by an earlier build (database owned by $owner, not overleg_owner):" >&2
        echo "        make stop-db; rm -rf var/pg" >&2
        exit 1
    fi
fi
export DATABASE_URL
OWNER_URL=${OVERLEG_MIGRATE_DATABASE_URL:-$DATABASE_URL}
[[ -n "${OVERLEG_MIGRATE_DATABASE_URL:-}" ]] && export OVERLEG_MIGRATE_DATABASE_URL
export OVERLEG_AUDIT_CHECKPOINT_FILE=${OVERLEG_AUDIT_CHECKPOINT_FILE:-$PWD/var/audit-checkpoints}

# The data key seals clinical texts and identities: generated once and kept, or the demo data becomes unreadable.
if [[ -z "${OVERLEG_DATA_KEY:-}" ]]; then
    if [[ ! -s var/data.key ]]; then
        (umask 077 && openssl rand -hex 32 >var/data.key)
    fi
    OVERLEG_DATA_KEY=$(tr -d '[:space:]' <var/data.key)
fi
export OVERLEG_DATA_KEY

build/overlegd migrate

export LC_COLLATE=C
shopt -s nullglob
for f in sql/demo/*.sql; do   # glob order is name order (LC_COLLATE=C below)
    # client_min_messages: keep the idempotent scripts' "already exists, skipping" notices quiet.
    PGOPTIONS='-c client_min_messages=warning' psql "$OWNER_URL" -X -v ON_ERROR_STOP=1 -q -f "$f"
done
# The demo texts are written in clear; rekey seals them (and anything sealed under an older key)
# under the current data key. Quiet unless it fails.
if ! out=$(build/overlegd rekey 2>&1); then
    echo "$out" >&2
    exit 1
fi

listen=${OVERLEG_LISTEN:-127.0.0.1:8080}
url="http://${listen/#0.0.0.0:/127.0.0.1:}"   # a wildcard listen address is not a URL to paste
[[ -n "${OVERLEG_TLS_CERT:-}" ]] && url="https${url#http}"
logins=$(psql "$DATABASE_URL" -X -At -F $'\t' -c \
    "SELECT email, role, name FROM users WHERE email LIKE '%@demo.overleg.nl' ORDER BY role, email" || true)
# The curl example logs in as a GP (the main actor), else whoever comes first.
first=$(awk -F '\t' '$2 == "gp" { print $1; exit }' <<<"$logins")
[[ -n "$first" ]] || first=$(head -n 1 <<<"$logins" | cut -f 1)

bar=$(printf '=%.0s' {1..72})
echo "$bar"
echo "  Overleg is starting at  $url"
echo "$bar"
if [[ -n "$logins" ]]; then
    echo "  Demo logins (password for all: overleg-demo-2026)"
    echo
    # awk, not column(1): bsdextrautils is missing from minimal images.
    { printf 'email\trole\tname\n-----\t----\t----\n'; echo "$logins"; } | awk -F '\t' '
        { for (i = 1; i <= 3; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        END { for (r = 1; r <= NR; r++) printf "    %-*s  %-*s  %s\n", w[1], c[r, 1], w[2], c[r, 2], c[r, 3] }'
    echo
    echo "  Try it:"
    echo "    curl -s${OVERLEG_TLS_CERT:+k} $url/v1/auth/login -H 'Content-Type: application/json' \\"
    echo "         -d '{\"email\":\"$first\",\"password\":\"overleg-demo-2026\"}'"
else
    echo "  No demo users found (sql/demo/ loaded nothing)."
fi
echo
echo "  Database: $DATABASE_URL"
echo "  Audit checkpoints: $OVERLEG_AUDIT_CHECKPOINT_FILE (build/overlegd audit-verify checks them)"
echo "  Stop the server with Ctrl-C; 'make stop-db' stops the embedded PostgreSQL."
echo "$bar"

exec build/overlegd serve
