"""The demo data of `make run` (sql/demo/*.sql, loaded by scripts/run.sh with psql): it loads on a
freshly migrated database, loads again without change (scripts/run.sh runs it at every start),
and gives what a user signing in expects: consultations with their timelines, and an inbox
whose old notifications are read."""

import os
import subprocess

from conftest import REPO, sql_count
from test_migrations import new_db

DEMO_FILES = sorted((REPO / "sql" / "demo").glob("*.sql"))


def load_demo(pg, db):
    env = dict(os.environ, PGOPTIONS="-c client_min_messages=warning", LC_COLLATE="C")
    for f in DEMO_FILES:
        p = subprocess.run(["psql", pg.url(db), "-X", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(f)],
                           env=env, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, f"{f.name}: {p.stderr}"


def counts(conn):
    return {t: sql_count(conn, f"SELECT count(*) FROM {t}")
            for t in ("organisations", "users", "consultations", "consultation_events", "notifications")}


def test_demo_loads_twice_and_tells_each_consultation_s_history(pg):
    db = new_db(pg)
    load_demo(pg, db)
    conn = pg.connect(db)
    try:
        first = counts(conn)
        assert first["consultations"] > 100 and first["users"] > 5
        # every demo consultation has a timeline that starts with its submission, by its requester
        assert sql_count(conn, "SELECT count(*) FROM consultations c WHERE NOT EXISTS ("
                               " SELECT 1 FROM consultation_events e WHERE e.consultation_id = c.id"
                               " AND e.kind = 'submitted' AND e.actor_id = c.requester_id)") == 0
        # a declined or withdrawn one says why
        assert sql_count(conn, "SELECT count(*) FROM consultations c WHERE c.status IN ('declined',"
                               " 'withdrawn') AND NOT EXISTS (SELECT 1 FROM consultation_events e"
                               " WHERE e.consultation_id = c.id AND e.kind IN ('declined', 'withdrawn')"
                               " AND e.detail IS NOT NULL)") == 0
        # closed ones went through every step, in order
        assert sql_count(conn, "SELECT count(*) FROM consultations c WHERE c.status = 'closed' AND"
                               " (SELECT array_agg(e.kind ORDER BY e.seq) FROM consultation_events e"
                               "  WHERE e.consultation_id = c.id)"
                               " <> '{submitted,accepted,answered,closed}'") == 0
        # the inbox: notifications from the events, the old ones read
        assert first["notifications"] > 0
        assert sql_count(conn, "SELECT count(*) FROM notifications WHERE read_at IS NULL"
                               " AND created_at < now() - interval '2 days'") == 0
        load_demo(pg, db)
        assert counts(conn) == first
    finally:
        conn.close()
