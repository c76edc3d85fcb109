"""Signals (API.md §10, docs/cases.md "Signals"): what the scheduler raises and resolves for
coordinators, and GET /v1/signals.

- consultation_overdue: a submitted or accepted consultation past due_at; one open signal per
  subject however often the scheduler runs; resolved when answered, withdrawn or declined; the
  consultant hears of it once.
- one signal kind per stalled reason of a case (case_intake_overdue, case_action_overdue,
  case_no_progress, treeknorm_intake, treeknorm_treatment), each resolved when its condition clears.
- GET /v1/signals: who may list (coordinator: own region; admin: all; everyone else 403), the
  filters, bad values, the shape, no clinical text.
- the test clock going back: the next run re-evaluates every open subject.

Isolation: the module runs its own overlegd on a database of its own (t_signals), with the
background scheduler off (OVERLEG_JOBS_INTERVAL=0), so only POST /v1/admin/jobs/run moves signals,
and a run's counts can be checked against what really changed: every run (`Sig.run`) compares
`signals_raised` / `signals_resolved` with the signals that appeared / were resolved in
GET /v1/signals (admin: all), and `notifications_created` with the rows added to `notifications`.
Each test works in a time window of its own (`t0`), later than the previous test's, so subjects of
earlier tests never make the clock "go back"; the test about the clock going back does it on purpose.
Tokens live 12 h of application time and the scheduler deletes expired sessions, so after every
clock move the users sign in again (`Sig.tok`).
"""

import itertools
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, ClockedSession, Factory, assert_json, assert_problem, error_fields,
                      migrated_server, parse_ts, sql_count)
from consult_helpers import ANSWER, NOTIFICATION_KEYS, World, anonymous_patient, tag

SIGNAL_KEYS = {"id", "kind", "subject_type", "subject_id", "region", "raised_at", "resolved_at", "detail"}
CASE_KINDS = ["case_intake_overdue", "case_action_overdue", "case_no_progress", "treeknorm_intake",
              "treeknorm_treatment"]
KINDS = ["consultation_overdue"] + CASE_KINDS
DB_NAME = "t_signals"

# Each test's window starts on a Monday, 6 weeks after the previous one (all before the real date).
_WINDOWS = itertools.count()
_FIRST_MONDAY = datetime(2024, 1, 8, 10, 0, tzinfo=timezone.utc)


# ---- the harness ----

class Run:
    def __init__(self, reply, raised, resolved, now):
        self.reply, self.raised, self.resolved, self.now = reply, raised, resolved, now

    def raised_for(self, subject_id):
        return sorted(s["kind"] for s in self.raised if s["subject_id"] == subject_id)

    def resolved_for(self, subject_id):
        return sorted(s["kind"] for s in self.resolved if s["subject_id"] == subject_id)


class Sig(ClockedSession):
    def __init__(self, server, conn):
        super().__init__(server)
        self.conn = conn
        admin = self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.factory = Factory(self.api, admin)
        self.w = World(self.api, self.factory, admin, prefix="sg")

    # -- signals and the scheduler --

    def signals(self, user=None, **params):
        return self.api.list_all("/v1/signals", self.tok(user), params=params)

    def of(self, subject_id, user=None, **params):
        return [s for s in self.signals(user, **params) if s["subject_id"] == subject_id]

    def notifications_total(self):
        return sql_count(self.conn, "SELECT count(*) FROM notifications")

    def run(self):
        """POST /v1/admin/jobs/run, checking its counts against what really changed."""
        before = {s["id"]: s for s in self.signals()}
        notes_before = self.notifications_total()
        reply = assert_json(self.api.post("/v1/admin/jobs/run", token=self.tok()))
        assert set(reply) == {"signals_raised", "signals_resolved", "notifications_created"}, reply
        after = {s["id"]: s for s in self.signals()}
        notes_after = self.notifications_total()
        assert set(before) <= set(after), "a run deleted signals"
        raised = [s for i, s in after.items() if i not in before]
        resolved = [s for i, s in after.items()
                    if s["resolved_at"] is not None and (i not in before or before[i]["resolved_at"] is None)]
        for i, s in after.items():
            if i in before and before[i]["resolved_at"] is not None:
                assert s == before[i], f"a resolved signal changed: {before[i]} -> {s}"
        assert reply["signals_raised"] == len(raised), (reply, raised)
        assert reply["signals_resolved"] == len(resolved), (reply, resolved)
        assert reply["notifications_created"] == notes_after - notes_before, (reply, notes_after - notes_before)
        for s in raised:
            assert s["resolved_at"] is None, s
            assert abs((parse_ts(s["raised_at"]) - self.now).total_seconds()) < 60, (s, self.now)
        for s in resolved:
            assert abs((parse_ts(s["resolved_at"]) - self.now).total_seconds()) < 60, (s, self.now)
        # never two open signals of one kind for one subject
        open_keys = [(s["kind"], s["subject_id"]) for s in after.values() if s["resolved_at"] is None]
        assert len(open_keys) == len(set(open_keys)), "two open signals of one kind for one subject"
        return Run(reply, raised, resolved, self.now)

    # -- consultations --

    def consultation(self, to=None, expertise=None, by=None, state="submitted"):
        w = self.w
        kw = {"expertise": expertise} if expertise else {"to": to or w.c1}
        c = w.create_ok(token=self.tok(by or w.gp), **kw)
        if state == "accepted":
            c = w.act_ok(c["id"], "accept", self.tok(to or w.c1))
        assert c["status"] == state, c
        return c

    def overdue_notes(self, consultant, cid):
        notes = [n for n in self.api.list_all("/v1/notifications", self.tok(consultant))
                 if n["subject_id"] == cid and n["kind"] == "consultation_overdue"]
        for n in notes:
            assert set(n) >= NOTIFICATION_KEYS, n
            assert n["subject_type"] == "consultation", n
        return notes

    # -- cases --

    def case_body(self, **over):
        w = self.w
        mark = tag()
        b = {"title": f"Zorg loopt vast {mark}",
             "summary": f"Jongvolwassene met angst en schooluitval, wachtlijst overal {mark}",
             "stagnation": f"Niemand pakt de regie {mark}",
             "attempts": f"Twee verwijzingen, beide afgewezen {mark}",
             "proposed_solution": f"Casusoverleg met de gemeente {mark}",
             "parties": [{"organisation_id": w.practice_b["id"], "role": "huisarts"},
                         {"organisation_id": w.mhp["id"], "role": "GGZ-aanbieder"}],
             "patient": anonymous_patient(age=19, sex="m")}
        b.update(over)
        return b

    def case(self, by=None, **over):
        b = self.case_body(**over)
        r = self.api.post("/v1/cases", token=self.tok(by or self.w.gp), json=b)
        c = assert_json(r, 201)
        assert c["status"] == "registered" and c["level"] == 0, c
        c["_body"] = b
        return c

    def case_post(self, cid, path, user, body=None, status=200):
        kw = {} if body is None else {"json": body}
        r = self.api.post(f"/v1/cases/{cid}/{path}", token=self.tok(user), **kw)
        return assert_json(r, status)

    def intake(self, cid, work_done=True):
        c = self.case_post(cid, "intake", self.w.coord, {"work_done": work_done, "note": "Intake gedaan."})
        assert c["status"] == ("in_progress" if work_done else "returned"), c
        return c

    def get_case(self, cid, user=None):
        return assert_json(self.api.get(f"/v1/cases/{cid}", token=self.tok(user or self.w.coord)))


@pytest.fixture(scope="module")
def sig(pg):
    server = migrated_server(pg, DB_NAME, "signals")
    conn = pg.connect(DB_NAME)
    try:
        yield Sig(server, conn)
    finally:
        conn.close()
        server.stop()


@pytest.fixture
def t0(sig):
    """The start of this test's time window (a Monday, 10:00 UTC); the clock is set there."""
    t = _FIRST_MONDAY + timedelta(weeks=6 * next(_WINDOWS))
    sig.at(t)
    sig.run()  # whatever earlier tests left behind is settled before this test starts
    return t


def d(dt):
    """The date of an application time (10:00 UTC is the same date in the Netherlands)."""
    return dt.date().isoformat()


def one_open(sig, subject_id, kind):
    sigs = [s for s in sig.of(subject_id, kind=kind) if s["resolved_at"] is None]
    assert len(sigs) == 1, sigs
    return sigs[0]


def assert_signal(s, kind, subject_type, subject_id, region):
    assert set(s) == SIGNAL_KEYS, sorted(s)
    uuid.UUID(s["id"])
    assert s["kind"] == kind, s
    assert s["subject_type"] == subject_type, s
    assert s["subject_id"] == subject_id, s
    assert s["region"] == region, s
    parse_ts(s["raised_at"])
    if s["resolved_at"] is not None:
        assert parse_ts(s["resolved_at"]) >= parse_ts(s["raised_at"]), s
    assert isinstance(s["detail"], str) and 0 < len(s["detail"]) <= 200, s


def assert_no_clinical_text(signals, *texts):
    blob = repr(signals).lower()
    for t in texts:
        for word in str(t).lower().split():
            if len(word) >= 8:  # each distinctive word of the clinical text
                assert word not in blob, f"{word!r} of clinical text in signals: {signals}"


# ==== consultation_overdue ====

def test_consultation_overdue_raised_once_with_real_counts(sig, t0):
    w = sig.w
    sub = sig.consultation(to=w.c1)                        # response_days 3
    acc = sig.consultation(to=w.c1, state="accepted")
    later = sig.consultation(to=w.c3)                      # response_days 5: not yet due
    due = parse_ts(sub["due_at"])
    assert parse_ts(acc["due_at"]) == due and parse_ts(later["due_at"]) > due + timedelta(hours=2)

    sig.at(due - timedelta(hours=1))
    run = sig.run()
    for c in (sub, acc, later):
        assert sig.of(c["id"]) == [], "a signal before the due date"
        assert run.raised_for(c["id"]) == []
    assert sig.overdue_notes(w.c1, sub["id"]) == []

    sig.at(due + timedelta(hours=1))
    run = sig.run()
    assert run.raised_for(sub["id"]) == ["consultation_overdue"]
    assert run.raised_for(acc["id"]) == ["consultation_overdue"]
    assert run.raised_for(later["id"]) == []
    assert run.reply["signals_raised"] >= 2
    assert run.reply["notifications_created"] >= 2
    for c in (sub, acc):
        s = one_open(sig, c["id"], "consultation_overdue")
        assert_signal(s, "consultation_overdue", "consultation", c["id"], w.region)
        assert s["resolved_at"] is None
        assert len(sig.overdue_notes(w.c1, c["id"])) == 1
    assert sig.overdue_notes(w.c3, later["id"]) == []

    # again and again: nothing new, one open signal and one notification per consultation
    for _ in range(3):
        run = sig.run()
        assert run.raised_for(sub["id"]) == [] and run.raised_for(acc["id"]) == []
    for c in (sub, acc):
        assert len(sig.of(c["id"])) == 1, sig.of(c["id"])
        assert len(sig.overdue_notes(w.c1, c["id"])) == 1

    # later the third one passes its due date too, and only it is new
    sig.at(parse_ts(later["due_at"]) + timedelta(minutes=5))
    run = sig.run()
    assert run.raised_for(later["id"]) == ["consultation_overdue"]
    assert run.raised_for(sub["id"]) == [] and run.raised_for(acc["id"]) == []
    assert len(sig.overdue_notes(w.c3, later["id"])) == 1
    for c in (sub, acc):
        assert len(sig.overdue_notes(w.c1, c["id"])) == 1


def test_consultation_overdue_no_clinical_text(sig, t0):
    c = sig.consultation()
    sig.at(parse_ts(c["due_at"]) + timedelta(hours=1))
    sig.run()
    sigs = sig.of(c["id"])
    assert len(sigs) == 1
    assert_no_clinical_text(sigs, c["subject"], c["question"])
    notes = sig.overdue_notes(sig.w.c1, c["id"])
    assert len(notes) == 1
    assert_no_clinical_text(notes, c["subject"], c["question"])


@pytest.mark.parametrize("how", ["answered", "withdrawn", "declined"])
def test_consultation_overdue_resolved(sig, t0, how):
    w = sig.w
    c = sig.consultation(state="accepted" if how == "answered" else "submitted")
    sig.at(parse_ts(c["due_at"]) + timedelta(hours=1))
    run = sig.run()
    assert run.raised_for(c["id"]) == ["consultation_overdue"]
    raised = one_open(sig, c["id"], "consultation_overdue")

    sig.at(parse_ts(c["due_at"]) + timedelta(hours=3))
    if how == "answered":
        done = w.act_ok(c["id"], "answer", sig.tok(w.c1), dict(ANSWER))
    elif how == "withdrawn":
        done = w.act_ok(c["id"], "withdraw", sig.tok(w.gp), {"reason": "Niet meer nodig."})
    else:
        done = w.act_ok(c["id"], "decline", sig.tok(w.c1), {"reason": "Buiten mijn expertise."})
    assert done["status"] == how
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["consultation_overdue"]
    assert run.raised_for(c["id"]) == []
    assert run.reply["signals_resolved"] >= 1

    sigs = sig.of(c["id"])
    assert len(sigs) == 1, sigs  # the same signal, resolved; no new one
    s = sigs[0]
    assert s["id"] == raised["id"]
    assert abs((parse_ts(s["resolved_at"]) - sig.now).total_seconds()) < 60, s
    assert_signal(s, "consultation_overdue", "consultation", c["id"], w.region)
    assert s["id"] in [x["id"] for x in sig.signals(status="resolved")]
    assert s["id"] not in [x["id"] for x in sig.signals(status="open")]
    assert s["id"] in [x["id"] for x in sig.signals(w.coord, status="resolved", kind="consultation_overdue")]

    # it stays resolved, and the consultant was told once
    run = sig.run()
    assert run.raised_for(c["id"]) == [] and run.resolved_for(c["id"]) == []
    assert len(sig.of(c["id"])) == 1
    assert len(sig.overdue_notes(w.c1, c["id"])) == 1


def test_redirected_question_gets_a_new_signal_when_late_again(sig, t0):
    """Declined (resolved), redirected with a new due_at (nothing while it runs), late again: a new
    signal, and the new consultant is told once."""
    w = sig.w
    c = sig.consultation(to=w.c1)
    sig.at(parse_ts(c["due_at"]) + timedelta(hours=1))
    assert sig.run().raised_for(c["id"]) == ["consultation_overdue"]
    w.act_ok(c["id"], "decline", sig.tok(w.c1), {"reason": "Buiten mijn expertise."})
    assert sig.run().resolved_for(c["id"]) == ["consultation_overdue"]
    c = w.act_ok(c["id"], "redirect", sig.tok(w.gp), {"consultant_id": w.c_other_exp["id"]})
    assert c["status"] == "submitted" and parse_ts(c["due_at"]) > sig.now
    assert sig.run().raised_for(c["id"]) == []
    sig.at(parse_ts(c["due_at"]) + timedelta(hours=1))
    run = sig.run()
    assert run.raised_for(c["id"]) == ["consultation_overdue"]
    sigs = sig.of(c["id"])
    assert len(sigs) == 2 and sum(s["resolved_at"] is None for s in sigs) == 1, sigs
    assert len(sig.overdue_notes(w.c_other_exp, c["id"])) == 1
    assert len(sig.overdue_notes(w.c1, c["id"])) == 1


def test_accepting_an_overdue_question_keeps_its_one_signal(sig, t0):
    w = sig.w
    c = sig.consultation()
    sig.at(parse_ts(c["due_at"]) + timedelta(hours=1))
    sig.run()
    first = one_open(sig, c["id"], "consultation_overdue")
    w.act_ok(c["id"], "accept", sig.tok(w.c1))
    run = sig.run()
    assert run.raised_for(c["id"]) == [] and run.resolved_for(c["id"]) == []
    assert [s["id"] for s in sig.of(c["id"])] == [first["id"]]
    assert len(sig.overdue_notes(w.c1, c["id"])) == 1


def test_group_question_overdue(sig, t0):
    """A group question nobody accepted is overdue too (API.md §10: submitted past due_at)."""
    w = sig.w
    c = sig.consultation(expertise="autisme")
    assert c["consultant"] is None
    sig.at(parse_ts(c["due_at"]) + timedelta(hours=1))
    run = sig.run()
    assert run.raised_for(c["id"]) == ["consultation_overdue"]
    assert_signal(one_open(sig, c["id"], "consultation_overdue"), "consultation_overdue", "consultation",
                  c["id"], w.region)


# ==== cases: one signal kind per stalled reason ====

def case_signal_kinds(sig, cid, status="open"):
    return sorted(s["kind"] for s in sig.of(cid, status=status))


def test_case_intake_overdue(sig, t0):
    w = sig.w
    c = sig.case()
    sig.at(t0 + timedelta(days=7) - timedelta(hours=1))
    run = sig.run()
    assert run.raised_for(c["id"]) == []
    assert sig.get_case(c["id"])["stalled"] == {"is_stalled": False, "reasons": []}

    sig.at(t0 + timedelta(days=7, hours=1))
    run = sig.run()
    assert run.raised_for(c["id"]) == ["case_intake_overdue"]
    assert sig.get_case(c["id"])["stalled"] == {"is_stalled": True, "reasons": ["intake_overdue"]}
    s = one_open(sig, c["id"], "case_intake_overdue")
    assert_signal(s, "case_intake_overdue", "case", c["id"], w.region)
    b = c["_body"]
    assert_no_clinical_text([s], b["title"], b["summary"], b["stagnation"], b["attempts"],
                            b["proposed_solution"])
    run = sig.run()
    assert run.raised_for(c["id"]) == []
    assert len(sig.of(c["id"])) == 1

    sig.at(t0 + timedelta(days=7, hours=2))
    sig.intake(c["id"])
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["case_intake_overdue"]
    assert run.raised_for(c["id"]) == []
    assert case_signal_kinds(sig, c["id"]) == []
    assert case_signal_kinds(sig, c["id"], "resolved") == ["case_intake_overdue"]


def test_a_note_is_not_an_intake(sig, t0):
    """intake_overdue is "registered for more than 7 days without intake": a note does not clear it."""
    w = sig.w
    c = sig.case()
    sig.at(t0 + timedelta(days=8))
    assert sig.run().raised_for(c["id"]) == ["case_intake_overdue"]
    r = sig.api.post(f"/v1/cases/{c['id']}/notes", token=sig.tok(w.coord), json={"body": "Intake volgt."})
    assert_json(r, 201)
    run = sig.run()
    assert run.resolved_for(c["id"]) == [] and run.raised_for(c["id"]) == []
    one_open(sig, c["id"], "case_intake_overdue")


def test_case_intake_overdue_cleared_by_return_and_counted_again_from_resubmission(sig, t0):
    w = sig.w
    c = sig.case()
    sig.at(t0 + timedelta(days=8))
    assert sig.run().raised_for(c["id"]) == ["case_intake_overdue"]
    sig.intake(c["id"], work_done=False)               # returned to the submitter
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["case_intake_overdue"]
    # resubmitted: the 7 days count from the new registration
    sig.at(t0 + timedelta(days=9))
    r = sig.api.post(f"/v1/cases/{c['id']}/resubmit", token=sig.tok(w.gp))
    assert assert_json(r)["status"] == "registered"
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=16) - timedelta(hours=1))
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=16, hours=1))
    assert sig.run().raised_for(c["id"]) == ["case_intake_overdue"]
    assert [s["resolved_at"] is None for s in sig.of(c["id"], kind="case_intake_overdue")].count(True) == 1
    assert len(sig.of(c["id"], kind="case_intake_overdue")) == 2  # the first resolved, a new one open


def test_case_action_overdue(sig, t0):
    w = sig.w
    c = sig.case()
    sig.intake(c["id"])
    due_on = (t0 + timedelta(days=3)).date()
    r = sig.api.post(f"/v1/cases/{c['id']}/actions", token=sig.tok(w.coord),
                     json={"description": "Intakegesprek plannen bij de GGZ-aanbieder.",
                           "owner_organisation_id": w.practice_b["id"], "due_on": due_on.isoformat()})
    action = assert_json(r, 201)

    sig.at(t0 + timedelta(days=3, hours=5))            # the due date itself: not overdue yet
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=4))                     # the day after
    run = sig.run()
    assert run.raised_for(c["id"]) == ["case_action_overdue"]
    assert sig.get_case(c["id"])["stalled"]["reasons"] == ["action_overdue"]
    assert_signal(one_open(sig, c["id"], "case_action_overdue"), "case_action_overdue", "case", c["id"],
                  w.region)

    # a member of the owning organisation closes it
    r = sig.api.patch(f"/v1/cases/{c['id']}/actions/{action['id']}", token=sig.tok(w.gp_b),
                      json={"status": "done", "result": "Gepland."})
    assert assert_json(r)["status"] == "done"
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["case_action_overdue"]
    assert case_signal_kinds(sig, c["id"]) == []


def test_case_no_progress(sig, t0):
    w = sig.w
    c = sig.case()
    sig.intake(c["id"])                                # the last event: now
    sig.at(t0 + timedelta(days=14) - timedelta(hours=1))
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=14, hours=1))
    run = sig.run()
    assert run.raised_for(c["id"]) == ["case_no_progress"]
    assert sig.get_case(c["id"])["stalled"]["reasons"] == ["no_progress"]
    assert_signal(one_open(sig, c["id"], "case_no_progress"), "case_no_progress", "case", c["id"], w.region)

    # a note is progress
    r = sig.api.post(f"/v1/cases/{c['id']}/notes", token=sig.tok(w.gp_b), json={"body": "Wij bellen morgen."})
    assert_json(r, 201)
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["case_no_progress"]
    assert case_signal_kinds(sig, c["id"]) == []
    # and 14 days after the note it is raised again, as a new signal
    sig.at(t0 + timedelta(days=28, hours=2))
    assert sig.run().raised_for(c["id"]) == ["case_no_progress"]
    assert len(sig.of(c["id"], kind="case_no_progress")) == 2


def test_treeknorm_intake_raised_at_registration_and_cleared_by_the_intake_date(sig, t0):
    w = sig.w
    registered_on = (t0 - timedelta(days=30)).date()
    c = sig.case(waiting={"registered_on": registered_on.isoformat()})
    assert c["treeknorm"]["intake_exceeded"] is True
    run = sig.run()
    assert run.raised_for(c["id"]) == ["treeknorm_intake"]
    assert_signal(one_open(sig, c["id"], "treeknorm_intake"), "treeknorm_intake", "case", c["id"], w.region)

    # returned, the submitter gives the intake date: 10 days after registration, within the norm
    sig.intake(c["id"], work_done=False)
    r = sig.api.patch(f"/v1/cases/{c['id']}", token=sig.tok(w.gp),
                      json={"waiting": {"registered_on": registered_on.isoformat(),
                                        "intake_on": (registered_on + timedelta(days=10)).isoformat()}})
    got = assert_json(r)
    assert got["treeknorm"]["intake_exceeded"] is False, got["treeknorm"]
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["treeknorm_intake"]
    assert case_signal_kinds(sig, c["id"]) == []


def test_treeknorm_intake_raised_when_the_fourth_week_passes(sig, t0):
    registered_on = (t0 - timedelta(days=20)).date()
    c = sig.case(waiting={"registered_on": registered_on.isoformat()})
    sig.intake(c["id"], work_done=False)  # returned: no intake_overdue in the way
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=8))        # 28 days: not more than 4 weeks
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=9))        # 29 days
    assert sig.run().raised_for(c["id"]) == ["treeknorm_intake"]


def test_treeknorm_treatment(sig, t0):
    w = sig.w
    registered_on = (t0 - timedelta(days=100)).date()
    intake_on = (t0 - timedelta(days=80)).date()
    c = sig.case(waiting={"registered_on": registered_on.isoformat(), "intake_on": intake_on.isoformat()})
    assert c["treeknorm"]["treatment_exceeded"] is True and c["treeknorm"]["intake_exceeded"] is False
    run = sig.run()
    assert run.raised_for(c["id"]) == ["treeknorm_treatment"]
    assert_signal(one_open(sig, c["id"], "treeknorm_treatment"), "treeknorm_treatment", "case", c["id"],
                  w.region)

    sig.intake(c["id"], work_done=False)
    r = sig.api.patch(f"/v1/cases/{c['id']}", token=sig.tok(w.gp),
                      json={"waiting": {"registered_on": registered_on.isoformat(),
                                        "intake_on": intake_on.isoformat(),
                                        "treatment_on": (intake_on + timedelta(days=30)).isoformat()}})
    assert assert_json(r)["treeknorm"]["treatment_exceeded"] is False
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["treeknorm_treatment"]
    assert case_signal_kinds(sig, c["id"]) == []


def test_treeknorm_treatment_raised_when_the_tenth_week_passes(sig, t0):
    registered_on = (t0 - timedelta(days=70)).date()
    intake_on = (t0 - timedelta(days=60)).date()
    c = sig.case(waiting={"registered_on": registered_on.isoformat(), "intake_on": intake_on.isoformat()})
    sig.intake(c["id"], work_done=False)
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=10))       # 70 days
    assert sig.run().raised_for(c["id"]) == []
    sig.at(t0 + timedelta(days=11))       # 71 days
    assert sig.run().raised_for(c["id"]) == ["treeknorm_treatment"]


def test_resolving_a_case_resolves_all_its_signals(sig, t0):
    w = sig.w
    registered_on = (t0 - timedelta(days=100)).date()
    c = sig.case(waiting={"registered_on": registered_on.isoformat(),
                          "intake_on": (registered_on + timedelta(days=35)).isoformat()})
    sig.intake(c["id"])
    r = sig.api.post(f"/v1/cases/{c['id']}/actions", token=sig.tok(w.coord),
                     json={"description": "Afspraak maken.", "owner_organisation_id": w.mhp["id"],
                           "due_on": d(t0 + timedelta(days=1))})
    assert_json(r, 201)
    sig.at(t0 + timedelta(days=15))
    run = sig.run()
    assert run.raised_for(c["id"]) == ["case_action_overdue", "case_no_progress", "treeknorm_intake",
                                       "treeknorm_treatment"]
    got = sig.get_case(c["id"])
    assert sorted(got["stalled"]["reasons"]) == ["action_overdue", "no_progress", "treeknorm_intake",
                                                 "treeknorm_treatment"]

    r = sig.api.put(f"/v1/cases/{c['id']}/regie", token=sig.tok(w.coord), json={"organisation_id": w.mhp["id"]})
    assert_json(r)
    r = sig.api.post(f"/v1/cases/{c['id']}/resolve", token=sig.tok(w.coord),
                     json={"solution": "Behandeling gestart bij de GGZ-aanbieder."})
    assert assert_json(r)["status"] == "resolved"
    run = sig.run()
    assert run.resolved_for(c["id"]) == ["case_action_overdue", "case_no_progress", "treeknorm_intake",
                                         "treeknorm_treatment"]
    assert case_signal_kinds(sig, c["id"]) == []
    # a resolved case raises nothing as time goes on
    sig.at(t0 + timedelta(days=60))
    assert sig.run().raised_for(c["id"]) == []


# ==== GET /v1/signals ====

@pytest.fixture(scope="module")
def listing(sig):
    """Signals in two regions: an overdue consultation and a stalled case in the World's region, an
    overdue consultation in the other region; one of the region's resolved."""
    w = sig.w
    t = _FIRST_MONDAY + timedelta(weeks=6 * next(_WINDOWS))
    sig.at(t)
    sig.run()
    other_practice = sig.factory.make_org("general_practice", w.other_region, name="Praktijk elders")
    other_gp = sig.factory.make_user("gp", other_practice["id"])
    mine = sig.consultation(to=w.c1)
    solved = sig.consultation(to=w.c1)
    theirs = sig.consultation(to=w.c3, by=other_gp)    # c3 serves both regions
    case = sig.case(waiting={"registered_on": (t - timedelta(days=40)).date().isoformat()})
    sig.at(t + timedelta(days=10))
    run = sig.run()
    assert run.raised_for(mine["id"]) == ["consultation_overdue"]
    assert run.raised_for(theirs["id"]) == ["consultation_overdue"]
    assert run.raised_for(case["id"]) == ["case_intake_overdue", "treeknorm_intake"]
    w.act_ok(solved["id"], "withdraw", sig.tok(w.gp), {"reason": "Niet meer nodig."})
    sig.run()
    return {"mine": mine, "solved": solved, "theirs": theirs, "case": case, "other_gp": other_gp}


def ids(items):
    return {s["id"] for s in items}


def test_coordinator_sees_own_region_only(sig, listing):
    w = sig.w
    items = sig.signals(w.coord)
    assert items and {s["region"] for s in items} == {w.region}
    subjects = {s["subject_id"] for s in items}
    assert {listing["mine"]["id"], listing["solved"]["id"], listing["case"]["id"]} <= subjects
    assert listing["theirs"]["id"] not in subjects

    other = sig.signals(w.coord_b)
    assert other and {s["region"] for s in other} == {w.other_region}
    assert listing["theirs"]["id"] in {s["subject_id"] for s in other}
    assert not {listing["mine"]["id"], listing["case"]["id"]} & {s["subject_id"] for s in other}


def test_admin_sees_every_region(sig, listing):
    w = sig.w
    items = sig.signals()
    regions = {s["region"] for s in items}
    assert {w.region, w.other_region} <= regions
    assert ids(sig.signals(w.coord)) | ids(sig.signals(w.coord_b)) <= ids(items)
    subjects = {s["subject_id"] for s in items}
    for k in ("mine", "solved", "theirs", "case"):
        assert listing[k]["id"] in subjects, k


@pytest.mark.parametrize("role", ["gp", "poh", "consultant", "billing"])
def test_other_roles_403(sig, listing, role):
    w = sig.w
    user = {"gp": w.gp, "poh": w.poh, "consultant": w.c1, "billing": w.billing}[role]
    assert_problem(sig.api.get("/v1/signals", token=sig.tok(user)), 403, "/problems/forbidden")


def test_without_token_401(sig):
    assert_problem(sig.api.get("/v1/signals"), 401, "/problems/unauthorized")


def test_signal_shape_and_order(sig, listing):
    w = sig.w
    r = sig.api.get("/v1/signals", token=sig.tok(w.coord), params={"limit": 100})
    body = assert_json(r)
    assert "items" in body and isinstance(body["items"], list)
    for s in body["items"]:
        assert s["kind"] in KINDS, s
        assert_signal(s, s["kind"], "case" if s["kind"] in CASE_KINDS else "consultation", s["subject_id"],
                      w.region)
    raised = [(parse_ts(s["raised_at"]), s["id"]) for s in sig.signals()]
    assert [t for t, _ in raised] == sorted((t for t, _ in raised), reverse=True), "not newest raised first"
    # paging by one: every signal once
    paged = sig.api.list_all("/v1/signals", sig.tok(), limit=1, max_pages=10000)
    assert [s["id"] for s in paged] == [i for _, i in raised]


def test_signals_carry_no_clinical_text(sig, listing):
    items = sig.signals(sig.w.coord)
    b = listing["case"]["_body"]
    assert_no_clinical_text(items, b["title"], b["summary"], b["stagnation"], b["attempts"],
                            b["proposed_solution"], listing["mine"]["subject"], listing["mine"]["question"])


def test_filter_status(sig, listing):
    w = sig.w
    for user in (None, w.coord):
        everything = sig.signals(user)
        open_ = sig.signals(user, status="open")
        resolved = sig.signals(user, status="resolved")
        assert open_ and resolved
        assert all(s["resolved_at"] is None for s in open_)
        assert all(s["resolved_at"] is not None for s in resolved)
        assert ids(open_) | ids(resolved) == ids(everything) and not ids(open_) & ids(resolved)
    solved = [s for s in sig.signals(w.coord, status="resolved") if s["subject_id"] == listing["solved"]["id"]]
    assert [s["kind"] for s in solved] == ["consultation_overdue"]
    assert listing["solved"]["id"] not in {s["subject_id"] for s in sig.signals(w.coord, status="open")}


def test_filter_kind(sig, listing):
    w = sig.w
    everything = sig.signals(w.coord)
    for kind in KINDS:
        got = sig.signals(w.coord, kind=kind)
        assert all(s["kind"] == kind for s in got), kind
        assert ids(got) == {s["id"] for s in everything if s["kind"] == kind}, kind
    got = sig.signals(w.coord, kind="treeknorm_intake", status="open")
    assert listing["case"]["id"] in {s["subject_id"] for s in got}
    assert all(s["kind"] == "treeknorm_intake" and s["resolved_at"] is None for s in got)
    assert sig.signals(w.coord, kind="consultation_overdue", status="open") == [
        s for s in everything if s["kind"] == "consultation_overdue" and s["resolved_at"] is None]


@pytest.mark.parametrize("params,field", [
    ({"status": "closed"}, "status"),
    ({"status": "OPEN"}, "status"),
    ({"status": ""}, "status"),
    ({"kind": "case_stalled"}, "kind"),
    ({"kind": "intake_overdue"}, "kind"),  # a stalled reason, not a signal kind
    ({"kind": ""}, "kind"),
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"region": "elders"}, "region"),
])
def test_bad_query_400(sig, params, field):
    for user in (None, sig.w.coord):
        p = assert_problem(sig.api.get("/v1/signals", token=sig.tok(user), params=params), 400,
                           "/problems/bad-query")
        assert field in error_fields(p), p


def test_query_checks_in_pipeline_order(sig):
    """docs/conventions.md, request pipeline: an unknown parameter is refused before authentication;
    a bad filter value is the handler's to find, after authentication and the role check."""
    assert_problem(sig.api.get("/v1/signals", params={"foo": "1"}), 400, "/problems/bad-query")
    assert_problem(sig.api.get("/v1/signals", params={"status": "closed"}), 401, "/problems/unauthorized")
    assert_problem(sig.api.get("/v1/signals", token=sig.tok(sig.w.gp), params={"kind": "nonsense"}), 403,
                   "/problems/forbidden")


def test_coordinator_pages_by_one(sig, listing):
    w = sig.w
    whole = sig.signals(w.coord)
    paged = sig.api.list_all("/v1/signals", sig.tok(w.coord), limit=1, max_pages=10000)
    assert [s["id"] for s in paged] == [s["id"] for s in whole]
    paged = sig.api.list_all("/v1/signals", sig.tok(w.coord), params={"status": "open"}, limit=1, max_pages=10000)
    assert [s["id"] for s in paged] == [s["id"] for s in whole if s["resolved_at"] is None]


def test_kind_given_twice_400(sig):
    r = sig.api.get("/v1/signals?kind=treeknorm_intake&kind=treeknorm_treatment", token=sig.tok())
    assert_problem(r, 400, "/problems/bad-query")


# ==== the clock going back ====

def test_clock_going_back_re_evaluates(sig, t0):
    w = sig.w
    cons = sig.consultation()
    case = sig.case()
    sig.at(t0 + timedelta(days=20))
    run = sig.run()
    assert run.raised_for(cons["id"]) == ["consultation_overdue"]
    assert run.raised_for(case["id"]) == ["case_intake_overdue"]
    first = {s["kind"]: s for s in sig.of(cons["id"]) + sig.of(case["id"])}
    assert len(sig.overdue_notes(w.c1, cons["id"])) == 1

    # back to the day after: neither is late then
    sig.at(t0 + timedelta(days=1))
    run = sig.run()
    assert run.resolved_for(cons["id"]) == ["consultation_overdue"]
    assert run.resolved_for(case["id"]) == ["case_intake_overdue"]
    assert run.reply["signals_resolved"] >= 2
    for s in sig.of(cons["id"]) + sig.of(case["id"]):
        assert s["id"] == first[s["kind"]]["id"] and s["resolved_at"] is not None, s
    assert sig.get_case(case["id"])["stalled"]["is_stalled"] is False
    assert sig.run().raised_for(cons["id"]) == []  # and stays so

    # forward again: raised anew (a second signal each), the consultant still told once
    sig.at(t0 + timedelta(days=20))
    run = sig.run()
    assert run.raised_for(cons["id"]) == ["consultation_overdue"]
    assert run.raised_for(case["id"]) == ["case_intake_overdue"]
    assert len(sig.of(cons["id"])) == 2 and len(sig.of(case["id"])) == 2
    assert len(sig.overdue_notes(w.c1, cons["id"])) == 1


def test_clock_reset_to_real_time_re_evaluates(sig):
    """DELETE /v1/admin/clock from a clock in the future: back to real time, the conditions that
    held only in the future are resolved."""
    sig.real_time()
    real = sig.now
    cons = sig.consultation()
    case = sig.case()
    sig.at(real + timedelta(days=30))
    run = sig.run()
    assert run.raised_for(cons["id"]) == ["consultation_overdue"]
    assert run.raised_for(case["id"]) == ["case_intake_overdue"]
    sig.real_time()
    run = sig.run()
    assert run.resolved_for(cons["id"]) == ["consultation_overdue"]
    assert run.resolved_for(case["id"]) == ["case_intake_overdue"]
    assert sig.of(cons["id"], status="open") == [] and sig.of(case["id"], status="open") == []


def test_pass_begin_skips_a_busy_pass_and_rechecks_only_when_the_clock_went_back(sig, pg, t0):
    # scheduler_pass_begin: another process running the pass makes this one skip it ('busy',
    # no waiting); only a step back of more than five minutes (a test-clock reset) is a reason to
    # recheck every open subject, not the small differences between the clocks of processes.
    holder = pg.connect(DB_NAME, autocommit=False)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT last_now FROM scheduler_passes WHERE name = 'case_signals'")
            last = cur.fetchone()[0]
            cur.execute("SELECT scheduler_pass_begin('case_signals', %s)", (last,))
            assert cur.fetchone()[0] == "run"
            with sig.conn.cursor() as other:
                other.execute("SELECT scheduler_pass_begin('case_signals', %s)", (last,))
                assert other.fetchone()[0] == "busy"
        holder.rollback()
        with sig.conn.cursor() as cur:
            for back, want in ((timedelta(minutes=1), "run"), (timedelta(minutes=4), "run"),
                               (timedelta(minutes=6), "recheck")):
                cur.execute("BEGIN")
                cur.execute("SELECT scheduler_pass_begin('case_signals', %s)", (last - back,))
                got = cur.fetchone()[0]
                cur.execute("SELECT last_now FROM scheduler_passes WHERE name = 'case_signals'")
                kept = cur.fetchone()[0]
                cur.execute("ROLLBACK")
                assert got == want, back
                # a small step back keeps the later time; a reset takes the earlier one
                assert kept == (last - back if want == "recheck" else last)
    finally:
        holder.close()
