"""The scheduler in many processes at once (API.md §10: "in every server instance, safe to run in many at
once"; docs/cases.md "Signals").

Two overlegd processes on one database, each with its background scheduler every second
(OVERLEG_JOBS_INTERVAL=1) and its own test clock, both set to the same times. Consultations and cases
are made whose conditions will hold; both clocks move forward; while both schedulers run several
times, the database must show every signal raised exactly once per kind and subject, and the
consultant told of each overdue consultation exactly once. Then the data changes so every condition
clears, and every signal is resolved exactly once, nothing raised again.

The clocks only move forward and are set in both processes at the same moment (two threads): a
process whose clock is behind the other's sees the clock "go back" and rechecks every open subject
(docs/cases.md), which would be the test's own doing, not the server's.
"""

import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import (ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD, Api, Factory, Server, assert_json, fmt_ts,
                      parse_ts)
from consult_helpers import ANSWER, World, anonymous_patient

DB_NAME = "t_sched_procs"
T0 = datetime(2025, 9, 1, 10, 0, tzinfo=timezone.utc)  # a Monday; no public holiday that week
LATER = T0 + timedelta(days=15)
RUNS = 6          # scheduler runs (of either process) to watch after a condition settled
TIMEOUT = 30      # seconds, for each wait


@pytest.fixture(scope="module")
def two(pg):
    url = pg.createdb(DB_NAME)
    a = Server(url, pg.root, name="sched-a", extra_env={"OVERLEG_JOBS_INTERVAL": "1"})
    a.migrate()
    a.create_admin(ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD)
    a.skip_migrate = True
    # one data key for both: each must read what the other sealed
    b = Server(url, pg.root, name="sched-b", skip_migrate=True,
               extra_env={"OVERLEG_JOBS_INTERVAL": "1", "OVERLEG_DATA_KEY": a.key})
    a.start()
    b.start()
    conn = pg.connect(DB_NAME)
    try:
        yield a, b, conn
    finally:
        conn.close()
        for s in (a, b):
            s.stop()


class Procs:
    def __init__(self, a, b, conn):
        self.servers = (a, b)
        self.apis = (Api(a.base), Api(b.base))
        self.conn = conn
        self._tokens = {}
        admin = self.apis[0].login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.w = World(self.apis[0], Factory(self.apis[0], admin), admin, prefix="sp")
        self._turn = 0

    def api(self):
        """The two processes in turn: every kind of request reaches both."""
        self._turn += 1
        return self.apis[self._turn % 2]

    def tok(self, user=None):
        k = "admin" if user is None else user["id"]
        if k not in self._tokens:
            self._tokens[k] = (self.apis[0].login(ADMIN_EMAIL, ADMIN_PASSWORD) if user is None
                               else self.apis[0].login(user["email"], user["password"]))
        return self._tokens[k]

    def set_clocks(self, dt):
        """Both processes' clocks to `dt` at the same moment."""
        tokens = [api.login(ADMIN_EMAIL, ADMIN_PASSWORD) for api in self.apis]
        barrier = threading.Barrier(2)
        replies = [None, None]

        def put(i):
            barrier.wait()
            replies[i] = self.apis[i].put("/v1/admin/clock", token=tokens[i], json={"now": fmt_ts(dt)})

        threads = [threading.Thread(target=put, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in replies:
            assert r.status_code == 200, f"PUT /v1/admin/clock: {r.status_code} {r.text}"
            assert abs((parse_ts(r.json()["now"]) - dt).total_seconds()) < 5
        self._tokens = {}

    # -- the database --

    def rows(self, sql, *params):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def signals_of(self, subjects):
        return self.rows("SELECT kind, subject_id::text, raised_at, resolved_at FROM signals"
                         " WHERE subject_id::text = ANY (%s) ORDER BY raised_at", list(subjects))

    def overdue_notes(self, subjects):
        return self.rows("SELECT user_id::text, subject_id::text FROM notifications"
                         " WHERE kind = 'consultation_overdue' AND subject_id::text = ANY (%s)", list(subjects))

    def last_now(self):
        return self.rows("SELECT last_now FROM scheduler_passes WHERE name = 'case_signals'")[0][0]

    def wait_for(self, what, cond):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            got = cond()
            if got:
                return got
            time.sleep(0.1)
        pytest.fail(f"{what}: not within {TIMEOUT} s")

    def wait_runs(self, n=RUNS):
        """Until the scheduler (either process) has run `n` more times: each run stamps last_now."""
        seen, last = 0, self.last_now()
        deadline = time.monotonic() + TIMEOUT
        while seen < n:
            assert time.monotonic() < deadline, f"only {seen} scheduler runs in {TIMEOUT} s"
            time.sleep(0.05)
            now = self.last_now()
            if now != last:
                seen, last = seen + 1, now
        for s in self.servers:
            assert s.alive(), s.log_tail()

    def each_alone(self, n=2):
        """Each process's scheduler runs on its own too: the other is paused (SIGSTOP) meanwhile. A
        run is one autocommitted statement, so a paused process holds no lock the other waits for."""
        for i, paused in enumerate(self.servers):
            paused.proc.send_signal(signal.SIGSTOP)
            try:
                self.wait_runs(n)
            except BaseException as e:
                raise AssertionError(f"process {'ab'[1 - i]} alone ran the scheduler fewer than {n} times") from e
            finally:
                paused.proc.send_signal(signal.SIGCONT)


def test_two_processes_raise_and_resolve_each_signal_once(two):
    a, b, conn = two
    p = Procs(a, b, conn)
    w = p.w
    p.set_clocks(T0)

    # ---- consultations: direct to c1 (due Thursday 10:00), accepted ones, a group question ----
    def consultation(**kw):
        r = p.api().post("/v1/consultations", token=p.tok(w.gp), json=w.body(**kw))
        return assert_json(r, 201)

    def act(cid, action, user, body=None):
        kw = {} if body is None else {"json": body}
        return assert_json(p.api().post(f"/v1/consultations/{cid}/{action}", token=p.tok(user), **kw))

    subs = [consultation(to=w.c1) for _ in range(3)]
    accs = [consultation(to=w.c1) for _ in range(2)]
    for c in accs:
        act(c["id"], "accept", w.c1)
    group = consultation(expertise="autisme")
    for c in subs + accs + [group]:
        assert parse_ts(c["due_at"]) < LATER

    # ---- cases, one per stalled reason (and one with two) ----
    def case(waiting=None):
        body = {"title": "Zorg loopt vast", "summary": "Niemand pakt de regie.", "stagnation": "Wachtlijst.",
                "attempts": "Verwezen.", "proposed_solution": "Casusoverleg.",
                "parties": [{"organisation_id": w.practice_b["id"], "role": "huisarts"},
                            {"organisation_id": w.mhp["id"], "role": "GGZ"}],
                "patient": anonymous_patient()}
        if waiting:
            body["waiting"] = waiting
        return assert_json(p.api().post("/v1/cases", token=p.tok(w.gp), json=body), 201)

    def case_act(method, path, user, body=None, status=200):
        kw = {} if body is None else {"json": body}
        return assert_json(p.api().request(method, path, token=p.tok(user), **kw), status)

    def intake(cid, work_done):
        return case_act("POST", f"/v1/cases/{cid}/intake", w.coord, {"work_done": work_done})

    day = lambda n: (T0 + timedelta(days=n)).date().isoformat()  # noqa: E731
    registered = case()                                        # intake_overdue
    with_action = case()                                       # action_overdue and no_progress
    intake(with_action["id"], True)
    action = case_act("POST", f"/v1/cases/{with_action['id']}/actions", w.coord,
                      {"description": "Afspraak plannen.", "owner_organisation_id": w.practice_b["id"],
                       "due_on": day(2)}, 201)
    waiting_intake = case({"registered_on": day(-20)})          # treeknorm_intake at day 9
    intake(waiting_intake["id"], False)
    waiting_treatment = case({"registered_on": day(-80), "intake_on": day(-65)})  # treeknorm_treatment at day 6
    intake(waiting_treatment["id"], False)
    quiet = case()                                             # no_progress
    intake(quiet["id"], True)

    expected = {("consultation_overdue", c["id"]) for c in subs + accs + [group]}
    expected |= {("case_intake_overdue", registered["id"]), ("case_action_overdue", with_action["id"]),
                 ("case_no_progress", with_action["id"]), ("treeknorm_intake", waiting_intake["id"]),
                 ("treeknorm_treatment", waiting_treatment["id"]), ("case_no_progress", quiet["id"])}
    subjects = {s for _, s in expected}
    consultations = [c["id"] for c in subs + accs]

    # nothing holds yet, however often both schedulers run
    p.wait_runs(4)
    p.each_alone()
    assert p.signals_of(subjects) == []

    # ---- forward: every condition holds ----
    p.set_clocks(LATER)
    p.wait_for("every signal raised",
               lambda: {(k, s) for k, s, _, _ in p.signals_of(subjects)} >= expected)
    p.wait_runs()
    p.each_alone()
    rows = p.signals_of(subjects)
    keys = [(k, s) for k, s, _, _ in rows]
    assert sorted(keys) == sorted(expected), f"raised other than once per kind and subject: {rows}"
    assert all(resolved is None for _, _, _, resolved in rows), rows
    notes = p.overdue_notes(subjects)
    assert sorted(notes) == sorted((w.c1["id"], c) for c in consultations), notes  # group: no consultant

    # ---- the data changes: every condition clears ----
    act(subs[0]["id"], "withdraw", w.gp, {"reason": "Niet meer nodig."})
    act(subs[1]["id"], "decline", w.c1, {"reason": "Buiten mijn expertise."})
    act(subs[2]["id"], "accept", w.c1)
    for c in [subs[2]] + accs:
        act(c["id"], "answer", w.c1, dict(ANSWER))
    act(group["id"], "withdraw", w.gp, {"reason": "Niet meer nodig."})
    intake(registered["id"], True)
    case_act("PATCH", f"/v1/cases/{with_action['id']}/actions/{action['id']}", w.gp_b,
             {"status": "done", "result": "Gepland."})
    case_act("PATCH", f"/v1/cases/{waiting_intake['id']}", w.gp,
             {"waiting": {"registered_on": day(-20), "intake_on": day(-15)}})
    case_act("PATCH", f"/v1/cases/{waiting_treatment['id']}", w.gp,
             {"waiting": {"registered_on": day(-80), "intake_on": day(-65), "treatment_on": day(-30)}})
    case_act("POST", f"/v1/cases/{quiet['id']}/notes", w.coord, {"body": "Er is weer contact."}, 201)

    p.wait_for("every signal resolved",
               lambda: all(resolved is not None for _, _, _, resolved in p.signals_of(subjects)))
    p.wait_runs()
    p.each_alone()
    rows = p.signals_of(subjects)
    keys = [(k, s) for k, s, _, _ in rows]
    assert sorted(keys) == sorted(expected), f"a signal raised again or twice: {rows}"
    for k, s, raised, resolved in rows:
        assert resolved is not None and resolved >= raised, (k, s, raised, resolved)
    assert sorted(p.overdue_notes(subjects)) == sorted(notes), "an overdue notice sent again"

    # no pass failed in either process (a deadlock or a unique violation would be logged)
    for s in (a, b):
        log = s.log_tail(10000)
        assert "pass failed" not in log and "scheduled pass" not in log, log
