#!/usr/bin/env bash
# Compares the schema that a revision's migrations make with the one the working tree's make:
#   scripts/schema-diff.sh REV
# Applies `git show REV:sql/NNNN_*.sql` and ./sql/NNNN_*.sql, each set with psql in one transaction
# to a new database of a private cluster (scripts/pg.sh, removed afterwards), and diffs their
# `pg_dump --schema-only` with the object blocks sorted by name, so that the order in which the
# files create things does not count. Exit status 0: the same schema; 1: the diff is printed.
# For checking a rewrite of unreleased migrations (docs/migrations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 1 ]] || { echo "usage: scripts/schema-diff.sh REV" >&2; exit 2; }
rev=$1

tmp=$(mktemp -d /tmp/schema-diff.XXXXXX)
chmod 755 "$tmp"
export OVERLEG_PG_FAST=1
trap 'bash scripts/pg.sh stop "$tmp/data" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
bash scripts/pg.sh start "$tmp/data" "$tmp/sock"

git ls-tree --name-only "$rev" sql/ | grep -E '^sql/[0-9]{4}_.*\.sql$' \
    | while read -r f; do git show "$rev:$f"; echo; done >"$tmp/old.sql"
for f in sql/[0-9][0-9][0-9][0-9]_*.sql; do cat "$f"; echo; done >"$tmp/new.sql"

for side in old new; do
    bash scripts/pg.sh createdb "$tmp/sock" "$side"
    url=$(bash scripts/pg.sh url "$tmp/sock" "$side")
    PGOPTIONS='-c client_min_messages=warning' psql "$url" -X -q -1 -v ON_ERROR_STOP=1 \
        -f "$tmp/$side.sql" >/dev/null
    pg_dump --schema-only --no-owner "$url" | python3 -c '
import re, sys
text = re.sub(r"^\\(un)?restrict .*\n", "", sys.stdin.read(), flags=re.M)  # a random key per dump
blocks = re.split(r"\n--\n(?=-- (?:Name|Data for Name): )", text)
print("\n--\n".join(sorted(b.rstrip() for b in blocks[1:])))' >"$tmp/$side.dump"
done

if diff -u --label "$rev" --label "working tree" "$tmp/old.dump" "$tmp/new.dump"; then
    echo "schema-diff: the same schema ($(grep -c '^-- Name: ' "$tmp/new.dump") objects)"
else
    exit 1
fi
