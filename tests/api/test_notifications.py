"""Notifications (API.md §10): GET /v1/notifications, POST /v1/notifications/{id}/read, and which events notify whom."""

import pytest

from conftest import assert_json, assert_problem, parse_ts
from consult_helpers import ANSWER, NOTIFICATION_KEYS, World, _msg, consented_patient, new_id, tag


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="cn")


def _kinds(w, user, cid):
    return [n["kind"] for n in w.notes_for(user, cid)]


# ---- GET /v1/notifications: what notifies whom ----

def test_notification_addressed(w):
    c = w.create_ok(to=w.c1)
    notes = w.notes_for(w.c1, c["id"])
    assert [n["kind"] for n in notes] == ["consultation_addressed"]
    n = notes[0]
    assert set(n) == NOTIFICATION_KEYS
    assert n["subject_type"] == "consultation" and n["read_at"] is None
    parse_ts(n["created_at"])
    assert _kinds(w, w.c2, c["id"]) == []


def test_notification_group_question(w):
    c = w.create_ok(expertise="autisme")
    for u in (w.c2, w.c3):
        assert _kinds(w, u, c["id"]) == ["group_question"]
    for u in (w.c1, w.c_other_exp, w.c_other_region, w.c_closed):
        assert _kinds(w, u, c["id"]) == []


def test_notifications_to_requester(w):
    c = w.create_ok(to=w.c1, token=w.poh["token"])
    w.act_ok(c["id"], "accept", w.c1["token"])
    assert "consultation_accepted" in _kinds(w, w.poh, c["id"])
    w.act_ok(c["id"], "answer", w.c1["token"], ANSWER)
    assert "consultation_answered" in _kinds(w, w.poh, c["id"])
    d = w.create_ok(to=w.c1, token=w.poh["token"])
    w.act_ok(d["id"], "decline", w.c1["token"], {"reason": "Vol."})
    assert "consultation_declined" in _kinds(w, w.poh, d["id"])
    # the other practice member was not the requester
    assert _kinds(w, w.gp, c["id"]) == []


def test_notification_message_other_party(w):
    c = w.in_state("accepted")
    _msg(w, c["id"], w.gp["token"], "Vraag van de huisarts")
    assert "consultation_message" in _kinds(w, w.c1, c["id"])
    assert "consultation_message" not in _kinds(w, w.gp, c["id"])
    _msg(w, c["id"], w.c1["token"], "Antwoord van de consulent")
    assert "consultation_message" in _kinds(w, w.gp, c["id"])


def test_redirect_notifies_new_consultant(w):
    c = w.in_state("declined")
    w.act_ok(c["id"], "redirect", w.gp["token"], {"consultant_id": w.c2["id"]})
    assert _kinds(w, w.c2, c["id"]) == ["consultation_addressed"]


def test_notifications_carry_no_clinical_text(w):
    c = w.create_ok(to=w.c1, patient=consented_patient(name="Gijs Inboxloos"),
                    subject=f"Zeer specifieke onderwerpregel {tag()}")
    r = w.api.get("/v1/notifications", token=w.c1["token"], params={"limit": 100})
    body = assert_json(r)
    for n in body["items"]:
        assert set(n) == NOTIFICATION_KEYS, n
    assert "Inboxloos" not in r.text and c["subject"] not in r.text


def test_notifications_newest_first(w):
    c = w.create_ok(to=w.c1)
    w.act_ok(c["id"], "accept", w.c1["token"])
    _msg(w, c["id"], w.c1["token"], "een")
    _msg(w, c["id"], w.c1["token"], "twee")
    items = assert_json(w.api.get("/v1/notifications", token=w.gp["token"], params={"limit": 100}))["items"]
    stamps = [parse_ts(n["created_at"]) for n in items]
    assert stamps == sorted(stamps, reverse=True)
    mine = [n["kind"] for n in items if n["subject_id"] == c["id"]]
    assert mine == ["consultation_message", "consultation_message", "consultation_accepted"], mine


# ---- POST /v1/notifications/{id}/read ----

def test_notification_read_and_unread_filter(w):
    c = w.create_ok(to=w.c1)
    n = w.notes_for(w.c1, c["id"])[0]
    unread = w.notes_for(w.c1, c["id"], unread="true")
    assert [x["id"] for x in unread] == [n["id"]]
    # another user cannot mark it
    assert_problem(w.api.post(f"/v1/notifications/{n['id']}/read", token=w.c2["token"]), 404)
    assert_problem(w.api.post(f"/v1/notifications/{new_id()}/read", token=w.c1["token"]), 404)
    got = assert_json(w.api.post(f"/v1/notifications/{n['id']}/read", token=w.c1["token"]))
    assert got["id"] == n["id"] and got["read_at"] is not None
    parse_ts(got["read_at"])
    assert w.notes_for(w.c1, c["id"], unread="true") == []
    again = w.notes_for(w.c1, c["id"])
    assert again[0]["read_at"] == got["read_at"]
    all_unread = w.notifications(w.c1, unread="true")
    assert all(x["read_at"] is None for x in all_unread)
    assert_problem(w.api.get("/v1/notifications", token=w.c1["token"], params={"unread": "ja"}), 400)
