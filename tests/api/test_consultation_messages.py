"""Messages on a consultation (API.md §8): POST and GET /v1/consultations/{id}/messages."""

import pytest

from conftest import assert_json, assert_problem, audit_entries, error_fields, sql_count
from consult_helpers import World, _msg, consented_patient, field_messages, new_id


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="cm")


# ---- POST /v1/consultations/{id}/messages ----

def test_messages_parties(w):
    c = w.in_state("accepted")
    m = assert_json(_msg(w, c["id"], w.gp["token"], "Eerste bericht"), 201)
    assert set(m) == {"id", "author", "body", "created_at"}
    assert m["author"] == {"id": w.gp["id"], "name": w.gp["user"]["name"], "role": "gp"}
    assert m["body"] == "Eerste bericht"
    assert_json(_msg(w, c["id"], w.c1["token"], "Tweede bericht"), 201)
    assert_json(_msg(w, c["id"], w.poh["token"], "Derde bericht"), 201)
    items = w.api.list_all(f"/v1/consultations/{c['id']}/messages", w.c1["token"])
    assert [x["body"] for x in items] == ["Eerste bericht", "Tweede bericht", "Derde bericht"]
    assert [x["author"]["id"] for x in items] == [w.gp["id"], w.c1["id"], w.poh["id"]]
    items_gp = w.api.list_all(f"/v1/consultations/{c['id']}/messages", w.gp["token"])
    assert items_gp == items


def test_messages_refused(w):
    c = w.create_ok(to=w.c1)  # submitted: the addressed consultant has not accepted
    assert_problem(_msg(w, c["id"], w.c1["token"]), 403)
    assert_problem(w.api.get(f"/v1/consultations/{c['id']}/messages", token=w.c1["token"]), 403)
    assert_problem(_msg(w, c["id"], w.coord["token"]), 403)
    assert_problem(w.api.get(f"/v1/consultations/{c['id']}/messages", token=w.coord["token"]), 403)
    assert_problem(_msg(w, c["id"], w.gp_b["token"]), 404)
    assert_problem(w.api.get(f"/v1/consultations/{c['id']}/messages", token=w.gp_b["token"]), 404)
    assert_problem(_msg(w, c["id"], w.c2["token"]), 404)
    assert_json(_msg(w, c["id"], w.gp["token"]), 201)  # the practice may while submitted
    assert_problem(_msg(w, new_id(), w.gp["token"]), 404)


def test_messages_group_member_before_accept_403(w):
    c = w.create_ok(expertise="autisme")
    assert_problem(_msg(w, c["id"], w.c2["token"]), 403)


@pytest.mark.parametrize("state", ["closed", "withdrawn"])
def test_messages_refused_when_finished(w, state):
    c = w.in_state(state)
    p = assert_problem(_msg(w, c["id"], w.gp["token"]), 409, "/problems/invalid-transition")
    assert state in p["detail"]
    if state == "closed":
        assert_problem(_msg(w, c["id"], w.c1["token"]), 409)
    # reading stays possible
    assert_json(w.api.get(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"]))


@pytest.mark.parametrize("state", ["declined", "answered"])
def test_messages_allowed_when_open(w, state):
    c = w.in_state(state)
    assert_json(_msg(w, c["id"], w.gp["token"]), 201)


def test_message_validation(w):
    c = w.in_state("accepted")
    assert "body" in error_fields(assert_problem(_msg(w, c["id"], w.gp["token"], ""), 422))
    assert "body" in error_fields(assert_problem(_msg(w, c["id"], w.gp["token"], "x" * 10001), 422))
    r = w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"], json={"body": "a", "to": "b"})
    assert "to" in error_fields(assert_problem(r, 422))


def test_anonymity_guard_messages(w, db):
    c = w.create_ok()
    n = sql_count(db, "SELECT count(*) FROM consultation_messages WHERE consultation_id = %s", c["id"])
    r = w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"],
                   json={"body": "U kunt haar bellen op 06-12345678."})
    p = assert_problem(r, 422, "/problems/validation")
    msgs = field_messages(p)
    assert "body" in msgs and "phone" in msgs["body"], p
    assert "12345678" not in r.text
    assert sql_count(db, "SELECT count(*) FROM consultation_messages WHERE consultation_id = %s", c["id"]) == n
    r = w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"],
                   json={"body": "Geboren op 1990-02-01"})
    assert "date" in field_messages(assert_problem(r, 422))["body"]


def test_anonymity_guard_messages_not_in_consented_mode(w):
    c = w.create_ok(patient=consented_patient())
    r = w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"],
                   json={"body": "U kunt haar bellen op 06-12345678."})
    assert assert_json(r, 201)["body"] == "U kunt haar bellen op 06-12345678."


# ---- GET /v1/consultations/{id}/messages ----

def test_messages_pagination_oldest_first(w):
    c = w.in_state("accepted")
    bodies = [f"Bericht {i}" for i in range(5)]
    for b in bodies:
        assert_json(_msg(w, c["id"], w.gp["token"], b), 201)
    items = w.api.list_all(f"/v1/consultations/{c['id']}/messages", w.gp["token"], limit=2)
    assert [x["body"] for x in items] == bodies


def test_messages_bad_cursor(w):
    c = w.in_state("accepted")
    assert_problem(w.api.get(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"],
                             params={"cursor": "!!garbage!!"}), 400)


def test_reading_messages_is_audited(w):
    c = w.in_state("accepted")
    assert_json(w.api.get(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"]))
    entries = audit_entries(w.api, w.admin_token, subject_id=c["id"],
                            action="consultations.messages_read")
    assert any(e["outcome"] == "success" and e["actor"]["id"] == w.gp["id"] for e in entries)
