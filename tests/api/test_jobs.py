"""The scheduler (API.md §10): POST /v1/admin/jobs/run, what a run does (overdue consultations), and
the registry of passes it runs (scheduler_passes)."""

from datetime import timedelta

import pytest

from conftest import assert_json, assert_problem, audit_entries, parse_ts
from consult_helpers import NOTIFICATION_KEYS, World, admin_login, set_clock, today_utc, utc


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="cj")


# ---- POST /v1/admin/jobs/run ----

def test_jobs_run(api, admin_token, admin_user):
    body = assert_json(api.post("/v1/admin/jobs/run", token=admin_token))
    assert set(body) == {"signals_raised", "signals_resolved", "notifications_created"}
    for v in body.values():
        assert isinstance(v, int) and not isinstance(v, bool) and v >= 0
    entries = audit_entries(api, admin_token, actor_id=admin_user["id"], action="jobs.run")
    assert entries and entries[0]["outcome"] == "success"


@pytest.mark.parametrize("role", ["gp", "coordinator", "billing"])
def test_jobs_run_non_admin_403(api, factory, role):
    u = factory.make_user(role)
    assert_problem(api.post("/v1/admin/jobs/run", token=u["token"]), 403, "/problems/forbidden")


def test_jobs_run_without_token_401(api):
    assert_problem(api.post("/v1/admin/jobs/run"), 401, "/problems/unauthorized")


# ---- A run: consultations past due_at ----

def test_overdue_job(w, clock):
    # Everything happens at a past Monday: the scheduler deletes sessions that expired more than a
    # day before its "now", so moving the clock into the future would kill every live token.
    today = today_utc()
    monday = today - timedelta(days=today.weekday() + 14)
    set_clock(w.api, utc(monday.year, monday.month, monday.day))
    g, k = w.login(w.gp), w.login(w.c1)
    c = assert_json(w.create(token=g, to=w.c1), 201)  # response_days 3: due Thursday 10:00
    a = assert_json(w.create(token=g, to=w.c1), 201)  # accepted but not answered: overdue too
    assert_json(w.act(a["id"], "accept", k))
    due = parse_ts(c["due_at"])
    assert due.weekday() == 3

    set_clock(w.api, due - timedelta(hours=1))
    adm, k = admin_login(w.api), w.login(w.c1)  # tokens live 12 h of application time
    assert_json(w.api.post("/v1/admin/jobs/run", token=adm))
    assert "consultation_overdue" not in [n["kind"] for n in w.notes_for(w.c1, c["id"], token=k)]

    set_clock(w.api, due + timedelta(hours=1))
    adm, k = admin_login(w.api), w.login(w.c1)
    r1 = assert_json(w.api.post("/v1/admin/jobs/run", token=adm))
    assert r1["notifications_created"] >= 1, r1
    kinds = [n["kind"] for n in w.notes_for(w.c1, c["id"], token=k)]
    assert kinds.count("consultation_overdue") == 1, kinds
    assert r1["signals_raised"] >= 2, r1  # c and a: one consultation_overdue signal each
    for cid in (c["id"], a["id"]):
        sigs = [s for s in w.api.list_all("/v1/signals", adm, params={"kind": "consultation_overdue"})
                if s["subject_id"] == cid]
        assert len(sigs) == 1 and sigs[0]["resolved_at"] is None, sigs
    r2 = assert_json(w.api.post("/v1/admin/jobs/run", token=adm))
    assert r2["notifications_created"] == 0, r2
    assert r2["signals_raised"] == 0, r2
    kinds = [n["kind"] for n in w.notes_for(w.c1, c["id"], token=k)]
    assert kinds.count("consultation_overdue") == 1, kinds
    kinds = [n["kind"] for n in w.notes_for(w.c1, a["id"], token=k)]
    assert kinds.count("consultation_overdue") == 1, kinds
    # an overdue notice carries no clinical text either
    n = next(x for x in w.notes_for(w.c1, c["id"], token=k) if x["kind"] == "consultation_overdue")
    assert set(n) == NOTIFICATION_KEYS


# ---- The registry of passes (scheduler_passes) ----

def test_a_failing_pass_leaves_the_others_working(w, db, api, clock):
    """Each pass runs on its own: one that fails does not stop the overdue notices."""
    adm = admin_login(api)
    with db.cursor() as cur:
        cur.execute("CREATE FUNCTION scheduler_test_fails(now timestamptz, OUT signals_raised bigint,"
                    " OUT signals_resolved bigint, OUT notifications_created bigint)"
                    " LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken pass'; END $$")
        cur.execute("INSERT INTO scheduler_passes (name, function)"
                    " VALUES ('aaa_test_fails', 'scheduler_test_fails')")
    db.commit()
    try:
        c = w.in_state("accepted")
        with db.cursor() as cur:
            # The pass is incremental (docs/cases.md, Signals): it looks only at consultations whose
            # signal_check_at has come, which every change through the API sets. A change made in
            # SQL behind the API's back must set it too.
            cur.execute("UPDATE consultations SET due_at = %s::timestamptz - interval '1 hour',"
                        " signal_check_at = %s::timestamptz - interval '1 hour' WHERE id = %s",
                        (c["submitted_at"], c["submitted_at"], c["id"]))
        db.commit()
        got = assert_json(api.post("/v1/admin/jobs/run", token=adm))
        assert got["notifications_created"] >= 1
        assert [n for n in w.notes_for(w.c1, c["id"]) if n["kind"] == "consultation_overdue"]
    finally:
        with db.cursor() as cur:
            cur.execute("DELETE FROM scheduler_passes WHERE name = 'aaa_test_fails'")
            cur.execute("DROP FUNCTION scheduler_test_fails")
        db.commit()


def test_passes_are_registered(db):
    with db.cursor() as cur:
        cur.execute("SELECT name FROM scheduler_passes ORDER BY name")
        names = [r[0] for r in cur.fetchall()]
    # the overdue pass became consultation_signals (signals and the overdue notice); cases have theirs
    assert {"housekeeping", "consultation_signals", "case_signals"} <= set(names)
