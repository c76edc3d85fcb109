"""The consultation's `timeline` (API.md §8): every event in order with actor and reason, kept in
the append-only consultation_events table, and the transition table the consultation's step
applies. (The fields of the consultation and its endpoints: test_consultations.py.)"""
import psycopg2
import pytest

from conftest import assert_json, assert_problem, sql_count
from consult_helpers import ANSWER, COORDINATOR_KEYS, World, consented_patient


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="tl")


def kinds(c):
    return [e["kind"] for e in c["timeline"]]


# ---- GET /v1/consultations/{id}: timeline ----

def test_created_consultation_has_its_submitted_event(w):
    c = w.create_ok(to=w.c1)
    assert kinds(c) == ["submitted"]
    e = c["timeline"][0]
    assert set(e) == {"at", "kind", "actor", "detail"}
    assert e["actor"]["id"] == w.gp["id"] and e["actor"]["role"] == "gp" and e["actor"]["name"]
    assert e["at"] == c["submitted_at"] and e["detail"] is None
    # the reply of the creation and a later read agree
    assert assert_json(w.get(c["id"], w.gp["token"]))["timeline"] == c["timeline"]


def test_every_step_is_an_event_in_order_with_its_actor(w):
    c = w.create_ok(to=w.c1)
    cid, g, k = c["id"], w.gp["token"], w.c1["token"]
    w.act_ok(cid, "accept", k)
    assert_json(w.api.post(f"/v1/consultations/{cid}/messages", token=g, json={"body": "Nog een vraag."}), 201)
    assert_json(w.api.post(f"/v1/consultations/{cid}/appointments", token=k,
                           json={"kind": "phone", "starts_at": "2030-01-07T10:00:00Z", "duration_minutes": 15}),
                201)
    w.act_ok(cid, "answer", k, dict(ANSWER))
    done = w.act_ok(cid, "close", g, {"referral_outcome": "avoided", "value": 4})
    assert kinds(done) == ["submitted", "accepted", "message", "appointment", "answered", "closed"]
    actors = [e["actor"]["id"] for e in done["timeline"]]
    assert actors == [w.gp["id"], w.c1["id"], w.gp["id"], w.c1["id"], w.c1["id"], w.gp["id"]]
    ats = [e["at"] for e in done["timeline"]]
    assert ats == sorted(ats)
    # the consultant who answered sees the same timeline
    assert assert_json(w.get(cid, k))["timeline"] == done["timeline"]


def test_practice_learns_why_it_was_declined_even_after_a_redirect(w):
    """The reason a consultant gives reaches the requesting practice, and a redirect no longer
    erases it (the history is in events, not in a column a later transition overwrites)."""
    c = w.create_ok(to=w.c1)
    reason = "Buiten mijn expertise; vraag de collega met autisme-expertise."
    w.act_ok(c["id"], "decline", w.c1["token"], {"reason": reason})
    seen = assert_json(w.get(c["id"], w.gp["token"]))
    assert seen["timeline"][-1] == {**seen["timeline"][-1], "kind": "declined", "detail": reason}
    again = w.act_ok(c["id"], "redirect", w.poh["token"], {"consultant_id": w.c2["id"]})
    assert kinds(again) == ["submitted", "declined", "redirected"]
    assert again["timeline"][1]["detail"] == reason
    assert again["timeline"][2]["actor"]["id"] == w.poh["id"]
    # the new consultant reads it too
    assert assert_json(w.get(c["id"], w.c2["token"]))["timeline"][1]["detail"] == reason


def test_withdraw_reason_and_consent_revocation_are_events(w):
    c = w.create_ok(to=w.c1, patient=consented_patient())
    w.act_ok(c["id"], "consent/revoke", w.gp["token"])
    done = w.act_ok(c["id"], "withdraw", w.gp["token"], {"reason": "Inmiddels elders in behandeling."})
    assert kinds(done) == ["submitted", "consent_revoked", "withdrawn"]
    assert done["timeline"][-1]["detail"] == "Inmiddels elders in behandeling."


def test_group_question_declined_goes_back_with_its_events(w):
    c = w.create_ok(expertise="autisme")
    w.act_ok(c["id"], "accept", w.c2["token"])
    back = w.act_ok(c["id"], "decline", w.c2["token"], {"reason": "Toch geen ruimte deze week."})
    assert back["status"] == "submitted"
    assert kinds(back) == ["submitted", "accepted", "declined"]
    # c3 may take it now and sees the history that came before
    seen = assert_json(w.get(c["id"], w.c3["token"]))
    assert kinds(seen) == ["submitted", "accepted", "declined"]


def test_coordinator_never_sees_the_timeline(w):
    c = w.in_state("declined")
    seen = assert_json(w.get(c["id"], w.coord["token"]))
    assert set(seen) == COORDINATOR_KEYS and "timeline" not in seen
    listed = [x for x in w.api.list_all("/v1/consultations", w.coord["token"]) if x["id"] == c["id"]]
    assert listed and "timeline" not in listed[0]


def test_lists_carry_the_timeline_for_content_readers(w):
    c = w.in_state("accepted")
    mine = [x for x in w.api.list_all("/v1/consultations", w.gp["token"]) if x["id"] == c["id"]]
    assert kinds(mine[0]) == ["submitted", "accepted"]


def test_refused_step_adds_no_event(w, db):
    c = w.in_state("submitted")
    before = sql_count(db, "SELECT count(*) FROM consultation_events WHERE consultation_id = %s", c["id"])
    assert_problem(w.act(c["id"], "answer", w.c1["token"], dict(ANSWER)), 409)           # wrong state
    assert_problem(w.act(c["id"], "withdraw", w.gp_b["token"], {"reason": "x"}), 404)    # not theirs
    assert_problem(w.act(c["id"], "decline", w.c2["token"], {"reason": "x"}), 404)       # not theirs
    assert sql_count(db, "SELECT count(*) FROM consultation_events WHERE consultation_id = %s",
                     c["id"]) == before == 1


# ---- consultation_events: append-only ----

@pytest.mark.parametrize("statement", [
    "UPDATE consultation_events SET detail = 'rewritten' WHERE consultation_id = %s",
    "DELETE FROM consultation_events WHERE consultation_id = %s",
])
def test_events_cannot_be_changed_or_removed(w, db, statement):
    c = w.in_state("declined")
    with pytest.raises(psycopg2.Error):
        with db.cursor() as cur:
            cur.execute(statement, (c["id"],))
    db.rollback()
    assert kinds(assert_json(w.get(c["id"], w.gp["token"]))) == ["submitted", "declined"]


def test_events_cannot_be_truncated(db):
    with pytest.raises(psycopg2.Error):
        with db.cursor() as cur:
            cur.execute("TRUNCATE consultation_events")
    db.rollback()


# ---- the transition table ----

def test_every_consultation_action_is_declared(db):
    """The routes' actions are rows of the transition table, with the statuses of API.md §8."""
    with db.cursor() as cur:
        cur.execute("SELECT action, from_states, to_state, who FROM transitions"
                    " WHERE aggregate = 'consultation'")
        rows = {a: (set(f), t, set(w)) for a, f, t, w in cur.fetchall()}
    assert rows["accept"] == ({"submitted"}, "accepted", {"addressed", "eligible"})
    assert rows["answer"] == ({"accepted"}, "answered", {"accepting"})
    assert rows["close"] == ({"answered"}, "closed", {"practice"})
    assert rows["withdraw"] == ({"submitted", "accepted"}, "withdrawn", {"practice"})
    assert rows["redirect"] == ({"declined"}, "submitted", {"practice"})
    assert set(rows) >= {"decline", "consent_revoke", "message_create", "messages_read",
                         "appointment_create", "appointments_read"}
