"""Appointments on a consultation (API.md §8, consultatieafspraken): POST and GET /v1/consultations/{id}/appointments."""

import pytest

from conftest import assert_json, assert_problem, error_fields, parse_ts
from consult_helpers import ANSWER, World


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="ca")


def _appt(w, cid, token, **over):
    b = {"kind": "video", "starts_at": "2026-12-01T09:30:00Z", "duration_minutes": 30}
    b.update(over)
    b = {k: v for k, v in b.items() if v is not None}
    return w.api.post(f"/v1/consultations/{cid}/appointments", token=token, json=b)


# ---- POST /v1/consultations/{id}/appointments and GET /v1/consultations/{id}/appointments ----

def test_appointments(w):
    c = w.in_state("accepted")
    a = assert_json(_appt(w, c["id"], w.c1["token"]), 201)
    assert a["kind"] == "video" and a["duration_minutes"] == 30
    assert parse_ts(a["starts_at"]) == parse_ts("2026-12-01T09:30:00Z")
    b = assert_json(_appt(w, c["id"], w.gp["token"], kind="on_location", location="Praktijk De Linde, spreekkamer 2",
                          starts_at="2026-11-30T08:00:00Z"), 201)
    assert b["location"] == "Praktijk De Linde, spreekkamer 2"
    items = w.api.list_all(f"/v1/consultations/{c['id']}/appointments", w.gp["token"])
    assert {x["id"] for x in items} == {a["id"], b["id"]}
    w.act_ok(c["id"], "answer", w.c1["token"], ANSWER)
    assert_json(_appt(w, c["id"], w.poh["token"], kind="phone"), 201)


@pytest.mark.parametrize("state", ["submitted", "declined", "closed", "withdrawn"])
def test_appointments_only_while_accepted_or_answered(w, state):
    c = w.in_state(state)
    p = assert_problem(_appt(w, c["id"], w.gp["token"]), 409, "/problems/invalid-transition")
    assert state in p["detail"]


def test_appointments_refused_parties(w):
    c = w.create_ok(to=w.c1)
    assert_problem(_appt(w, c["id"], w.c1["token"]), 403)
    a = w.in_state("accepted")
    assert_problem(_appt(w, a["id"], w.coord["token"]), 403)
    assert_problem(_appt(w, a["id"], w.gp_b["token"]), 404)
    assert_problem(_appt(w, a["id"], w.c2["token"]), 404)
    assert_problem(w.api.get(f"/v1/consultations/{a['id']}/appointments", token=w.gp_b["token"]), 404)
    assert_problem(w.api.get(f"/v1/consultations/{a['id']}/appointments", token=w.coord["token"]), 403)


@pytest.mark.parametrize("over,field", [
    ({"duration_minutes": 4}, "duration_minutes"),
    ({"duration_minutes": 481}, "duration_minutes"),
    ({"kind": "on_location"}, "location"),
    ({"kind": "carrier_pigeon"}, "kind"),
    ({"starts_at": "morgen om tien"}, "starts_at"),
    ({"duration_minutes": None}, "duration_minutes"),
])
def test_appointment_validation(w, over, field):
    c = w.in_state("accepted")
    assert field in error_fields(assert_problem(_appt(w, c["id"], w.gp["token"], **over), 422))


@pytest.mark.parametrize("minutes", [5, 480])
def test_appointment_duration_bounds(w, minutes):
    c = w.in_state("accepted")
    assert assert_json(_appt(w, c["id"], w.gp["token"], duration_minutes=minutes), 201)["duration_minutes"] == minutes


def test_appointment_location_only_on_location(w):
    c = w.in_state("accepted")
    p = assert_problem(_appt(w, c["id"], w.gp["token"], kind="video", location="Spreekkamer 1"), 422)
    assert "location" in error_fields(p)
    p = assert_problem(_appt(w, c["id"], w.gp["token"], kind="on_location", location="x" * 201), 422)
    assert "location" in error_fields(p)
