"""The demo data of `make run` (sql/demo/*.sql, loaded by scripts/run.sh with psql): it loads on a
freshly migrated database, loads again without change (scripts/run.sh runs it at every start),
and gives what a user signing in expects: consultations with their timelines, escalation cases
whose rows agree with their timelines (some of them stalled, so the coordinator's first scheduler
pass raises every kind of case signal), an inbox whose old notifications are read, and a billing
user's practice with a budget in use, past exports and answers still to export."""

import json
import os
import re
import subprocess

from conftest import REPO, Api, Server, assert_json, sql_count
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
            for t in ("organisations", "users", "consultations", "consultation_events", "notifications",
                      "cases", "case_parties", "case_actions", "case_conferences", "case_events",
                      "tariffs", "budgets", "billing_exports", "billing_lines")}


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


# One row per demo case that breaks a rule the steps of case_step() would keep; each query names
# the broken rule, so a failure says which.
CASE_RULES = {
    "the timeline starts with its registration by the submitter, at created_at":
        "SELECT c.id FROM cases c, LATERAL (SELECT e.kind, e.actor_id, e.at FROM case_events e"
        " WHERE e.case_id = c.id ORDER BY e.seq LIMIT 1) f"
        " WHERE f.kind <> 'registered' OR f.actor_id <> c.submitted_by OR f.at <> c.created_at",
    "events are in time order":
        "SELECT e.case_id FROM case_events e JOIN case_events n ON n.case_id = e.case_id"
        " AND n.seq > e.seq WHERE n.at < e.at",
    "level, highest level, last event and version follow from the timeline":
        "SELECT c.id FROM cases c, LATERAL (SELECT (array_agg(e.level ORDER BY e.seq DESC))[1] AS last,"
        " max(e.level) AS top, max(e.at) AS at, count(*) AS n FROM case_events e"
        " WHERE e.case_id = c.id) t"
        " WHERE c.level <> t.last OR c.max_level <> t.top OR c.last_event_at <> t.at OR c.version <> t.n",
    "a level changes only by intake (to 1), escalation (+1) or deescalation (-1)":
        "SELECT e.case_id FROM (SELECT e.*, lag(e.level) OVER (PARTITION BY e.case_id ORDER BY e.seq)"
        " AS before FROM case_events e) e WHERE e.before IS NOT NULL AND CASE e.kind"
        " WHEN 'intake' THEN e.before <> 0 OR e.level <> 1"
        " WHEN 'escalated' THEN e.level <> e.before + 1 WHEN 'deescalated' THEN e.level <> e.before - 1"
        " ELSE e.level <> e.before END",
    "the status is that of the last event that sets one, with its time on the row":
        "SELECT c.id FROM cases c, LATERAL (SELECT e.kind, e.at FROM case_events e WHERE e.case_id = c.id"
        " AND e.kind IN ('registered', 'resubmitted', 'returned', 'intake', 'resolved', 'closed')"
        " ORDER BY e.seq DESC LIMIT 1) s WHERE c.status <> CASE s.kind WHEN 'resubmitted'"
        " THEN 'registered' WHEN 'intake' THEN 'in_progress' ELSE s.kind END"
        " OR (s.kind IN ('registered', 'resubmitted') AND c.registered_at <> s.at)"
        " OR (c.status = 'resolved' AND c.resolved_at IS DISTINCT FROM s.at)"
        " OR (c.status = 'closed' AND c.closed_at IS DISTINCT FROM s.at)",
    "intake_at is the intake event's time":
        "SELECT c.id FROM cases c WHERE c.intake_at IS DISTINCT FROM (SELECT max(e.at) FROM case_events e"
        " WHERE e.case_id = c.id AND e.kind = 'intake')",
    "a resolved or closed case has a regie holder and a solution":
        "SELECT id FROM cases WHERE status IN ('resolved', 'closed')"
        " AND (regie_organisation_id IS NULL OR solution IS NULL)",
    "regie is held by a party":
        "SELECT c.id FROM cases c WHERE c.regie_organisation_id IS NOT NULL AND NOT EXISTS ("
        " SELECT 1 FROM case_parties p WHERE p.case_id = c.id AND p.organisation_id = c.regie_organisation_id)",
    "actions are owned by parties, and each has its events":
        "SELECT a.id FROM case_actions a WHERE NOT EXISTS (SELECT 1 FROM case_parties p"
        " WHERE p.case_id = a.case_id AND p.organisation_id = a.owner_organisation_id)"
        " OR (SELECT count(*) FROM case_events e WHERE e.subject = a.id)"
        " <> CASE a.status WHEN 'done' THEN 2 ELSE 1 END",
    "next_action_due is the earliest open action's due date":
        "SELECT c.id FROM cases c WHERE c.next_action_due IS DISTINCT FROM (SELECT min(a.due_on)"
        " FROM case_actions a WHERE a.case_id = c.id AND a.status = 'open')",
    "conference participants are parties, and each conference has its event":
        "SELECT f.id FROM case_conferences f WHERE EXISTS (SELECT 1 FROM unnest(f.participants) p"
        " WHERE NOT EXISTS (SELECT 1 FROM case_parties cp WHERE cp.case_id = f.case_id"
        " AND cp.organisation_id = p)) OR NOT EXISTS (SELECT 1 FROM case_events e"
        " WHERE e.subject = f.id AND e.kind = 'conference_planned')",
    "patients are anonymous":
        "SELECT id FROM cases WHERE patient_mode <> 'anonymous' OR patient_age IS NULL",
}


def test_demo_cases_agree_with_their_timelines_and_raise_every_case_signal(pg):
    db = new_db(pg)
    load_demo(pg, db)
    conn = pg.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT array_agg(DISTINCT status), array_agg(DISTINCT level) FROM cases")
            statuses, levels = cur.fetchone()
        assert set(statuses) == {"registered", "returned", "in_progress", "resolved", "closed"}
        assert set(levels) == {0, 1, 2, 3, 4}
        assert sql_count(conn, "SELECT count(*) FROM cases WHERE region <> 'noord-midden-limburg'") == 0
        for rule, query in CASE_RULES.items():
            assert sql_count(conn, f"SELECT count(*) FROM ({query}) x") == 0, rule
        # a case conference ahead and one behind
        assert sql_count(conn, "SELECT count(*) FROM case_conferences WHERE starts_at > now()") > 0
        assert sql_count(conn, "SELECT count(*) FROM case_conferences WHERE starts_at < now()") > 0
        # every case renders, in full and in a list
        assert sql_count(conn, "SELECT count(*) FROM cases c WHERE case_json(c, 'identity', now())"
                               " ->> 'id' IS NULL OR case_summary_json(c, now()) ->> 'id' IS NULL") == 0
        # work waiting for the coordinator: every stalled reason on some open case...
        with conn.cursor() as cur:
            cur.execute("SELECT array_agg(DISTINCT r) FROM cases c, unnest(case_stalled(c, now())) r")
            reasons = set(cur.fetchone()[0])
        assert reasons == {"intake_overdue", "action_overdue", "no_progress", "treeknorm_intake",
                           "treeknorm_treatment"}
        # ...and every case due for the first scheduler pass, which raises their signals
        assert sql_count(conn, "SELECT count(*) FROM cases WHERE signal_check_at IS NULL"
                               " OR signal_check_at > now()") == 0
        first = counts(conn)
        load_demo(pg, db)
        assert counts(conn) == first
        assert sql_count(conn, "SELECT count(*) FROM notifications WHERE read_at IS NULL"
                               " AND created_at < now() - interval '2 days'") == 0
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM scheduler_run(now())")
            cur.execute("SELECT array_agg(DISTINCT kind) FROM signals"
                        " WHERE subject_type = 'case' AND resolved_at IS NULL")
            kinds = set(cur.fetchone()[0])
        assert kinds == {"case_intake_overdue", "case_action_overdue", "case_no_progress",
                         "treeknorm_intake", "treeknorm_treatment"}
        # the demo's open consultations past their due date are signalled by that first pass too
        overdue = sql_count(conn, "SELECT count(*) FROM consultations"
                                  " WHERE status IN ('submitted', 'accepted') AND due_at < now()")
        assert overdue > 0
        assert sql_count(conn, "SELECT count(*) FROM signals WHERE kind = 'consultation_overdue'"
                               " AND resolved_at IS NULL") == overdue
        # every case now waits for its next mark, or for nothing
        assert sql_count(conn, "SELECT count(*) FROM cases WHERE signal_check_at <= now()") == 0
    finally:
        conn.close()


def test_demo_billing_user_sees_a_budget_in_use_and_something_to_export(pg):
    db = new_db(pg)
    load_demo(pg, db)
    conn = pg.connect(db)
    try:
        practice = "(SELECT organisation_id FROM users WHERE email = 'administratie@demo.overleg.nl')"
        who = f"(SELECT ROW(u.id, u.role, u.organisation_id, NULL)::principal FROM users u" \
              f" WHERE u.email = 'administratie@demo.overleg.nl')"
        assert sql_count(conn, f"SELECT count(*) FROM billing_exports WHERE organisation_id = {practice}") >= 2
        # every exported line is priced as the tariff of its day says
        assert sql_count(conn, "SELECT count(*) FROM billing_lines WHERE amount_cents <>"
                               " round(minutes * hourly_cents / 60.0)") == 0
        with conn.cursor() as cur:
            cur.execute(f"SELECT billing_budget_json({practice}, extract(year FROM now())::int)")
            budget = cur.fetchone()[0]
            assert 0 < budget["used_cents"] < budget["amount_cents"], budget
            cur.execute(f"SELECT (billing_preview({who}, {practice}, date_trunc('year', now())::date,"
                        f" (date_trunc('year', now()) + interval '1 year - 1 day')::date)).body")
            preview = cur.fetchone()[0]
        assert preview["lines"] and preview["total_cents"] > 0, preview
        # a provider's tariff changed this year, and exported lines keep the tariff of their day
        assert sql_count(conn, "SELECT count(DISTINCT hourly_cents) FROM billing_lines") >= 2 or \
            sql_count(conn, "SELECT count(*) FROM tariffs WHERE valid_from > date_trunc('year', now())") > 0
    finally:
        conn.close()


def test_demo_texts_are_sealed_by_rekey_and_read_through_the_api(pg):
    """scripts/run.sh loads the demo texts in clear and runs `overlegd rekey`: afterwards no text is
    in clear, a second start (demo loaded again, rekey again) changes nothing, and the demo GP reads
    her questions and a coordinator her cases as written (docs/encryption.md); her directory
    searches find the demo's experts first."""
    db = new_db(pg, migrated=False)
    s = Server(pg.url(db), pg.root, name="demo-sealed")
    s.migrate()  # as the owner; the server and rekey run as the application role
    s.skip_migrate = True
    load_demo(pg, db)
    p = s.run_cmd("rekey")
    assert p.returncode == 0, p.stdout + p.stderr
    conn = pg.connect(db)
    try:
        clear = ("SELECT count(*) FROM consultations WHERE subject NOT LIKE 'ov1:%%' OR question NOT LIKE 'ov1:%%'",
                 "SELECT count(*) FROM consultation_events WHERE detail NOT LIKE 'ov1:%%'",
                 "SELECT count(*) FROM cases WHERE title NOT LIKE 'ov1:%%' OR summary NOT LIKE 'ov1:%%'",
                 "SELECT count(*) FROM case_actions WHERE description NOT LIKE 'ov1:%%'",
                 "SELECT count(*) FROM case_events WHERE detail NOT LIKE 'ov1:%%'")
        assert [sql_count(conn, q) for q in clear] == [0] * len(clear)
        sealed = sql_count(conn, "SELECT count(*) FROM consultations")
        load_demo(pg, db)  # the next start
        p = s.run_cmd("rekey")
        assert p.returncode == 0 and re.search(r"^consultations: \d+ rows read, 0 values sealed anew$",
                                               p.stdout, re.M), p.stdout
        assert sql_count(conn, "SELECT count(*) FROM consultations") == sealed
        question = sql_count(conn, "SELECT count(*) FROM consultations WHERE question LIKE 'ov1:%%'")
        assert question == sealed
    finally:
        conn.close()
    s.start()
    try:
        api = Api(s.base)
        gp = api.login("huisarts@demo.overleg.nl", "overleg-demo-2026")
        items = assert_json(api.get("/v1/consultations", token=gp, params={"limit": 5}))["items"]
        one = assert_json(api.get(f"/v1/consultations/{items[0]['id']}", token=gp))
        assert one["question"] and "ov1:" not in json.dumps(one) and "$sealed" not in json.dumps(one)
        coord = api.login("coordinator@demo.overleg.nl", "overleg-demo-2026")
        cases = assert_json(api.get("/v1/cases", token=coord))["items"]
        full = assert_json(api.get(f"/v1/cases/{cases[0]['id']}", token=coord))
        assert full["title"] == cases[0]["title"] and "ov1:" not in json.dumps(full)
        # The directory as a GP tries it (docs/search.md): "angst" finds every anxiety expert of
        # the demo region, the experts first; "eetstoornis" ranks the eating-disorder experts first.
        region = "noord-midden-limburg"
        every = api.list_all("/v1/consultants", gp, params={"region": region})
        for q, code in (("angst", "angst"), ("eetstoornis", "eetstoornis"), ("angststoornis", "angst"),
                        ("ADHD", "adhd"), ("PTSS", "trauma")):
            experts = {c["id"] for c in every if code in c["expertise"]}
            got = api.list_all("/v1/consultants", gp, params={"q": q, "region": region})
            assert experts and {c["id"] for c in got[:len(experts)]} == experts, (q, got)
    finally:
        s.stop()
