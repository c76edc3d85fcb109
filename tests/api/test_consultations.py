"""Consultations (API.md §8): POST /v1/consultations (validation, the anonymity guard, due dates in Dutch
working days), GET /v1/consultations/{id} and GET /v1/consultations (visibility per role), and every
transition. Messages, appointments, notifications and Idempotency-Key have files of their own.
Isolation: the module's World lives in a region slug of its own; counts use the whole `consultations`
table only where no other test can run at the same time (the suite is sequential).
"""

import threading
import uuid
from datetime import timedelta

import pytest
import requests

from conftest import (assert_json, assert_problem, audit_entries, error_fields, parse_ts, sql_count, uid,
                      utcnow)
from consult_helpers import (ANSWER, CONSULTATION_KEYS, COORDINATOR_KEYS, HIDDEN, World, _invalid,
                             anonymous_patient, consented_patient, count_all, field_messages, new_id,
                             set_clock, today_utc, utc, years_before)


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="cq")


@pytest.fixture(scope="module")
def consented(w):
    p = consented_patient(name="Anna Zichtbaar", birth_date="1990-06-15", bsn="111222333")
    return w.create_ok(to=w.c1, patient=p), p


# ---- POST /v1/consultations ----

def test_route_exists(api):
    r = api.post("/v1/consultations", json={})
    assert_problem(r, 401)


def test_create_anonymous_direct(w, db):
    before = count_all(db)
    b = w.body(to=w.c1, proposed_next_step="Eventueel verwijzen naar de basis-GGZ.", urgency="soon")
    r = w.api.post("/v1/consultations", token=w.gp["token"], json=b)
    c = assert_json(r, 201)
    assert set(c) == CONSULTATION_KEYS, set(c) ^ CONSULTATION_KEYS
    assert c["status"] == "submitted"
    assert c["subject"] == b["subject"] and c["question"] == b["question"]
    assert c["patient"] == {"mode": "anonymous", "age": 34, "sex": "f"}
    assert c["requester"] == {"id": w.gp["id"], "name": w.gp["user"]["name"], "role": "gp"}
    assert c["organisation"] == {"id": w.practice["id"], "name": w.practice["name"]}
    assert c["consultant"] == {"id": w.c1["id"], "name": w.c1["user"]["name"]}
    assert c["expertise"] is None
    assert c["mode"] == "digital" and c["urgency"] == "soon"
    assert c["referral_contemplated"] is True
    assert c["proposed_next_step"] == "Eventueel verwijzen naar de basis-GGZ."
    submitted = parse_ts(c["submitted_at"])
    assert abs((submitted - utcnow()).total_seconds()) < 60
    assert parse_ts(c["due_at"]) > submitted
    for k in ("accepted_at", "answered_at", "closed_at", "answer", "outcome"):
        assert c[k] is None, k
    assert isinstance(c["version"], int)
    assert r.headers.get("ETag") == f'"{c["version"]}"'
    assert count_all(db) == before + 1


def test_create_defaults(w):
    b = w.body(to=w.c1)
    del b["urgency"]
    c = assert_json(w.api.post("/v1/consultations", token=w.poh["token"], json=b), 201)
    assert c["urgency"] == "routine"
    assert c["proposed_next_step"] is None
    assert c["requester"]["role"] == "poh"


def test_create_anonymous_group(w):
    c = w.create_ok(expertise="autisme")
    assert set(c) == CONSULTATION_KEYS
    assert c["status"] == "submitted"
    assert c["consultant"] is None
    assert c["expertise"] == "autisme"


def test_create_consented_with_bsn(w):
    p = consented_patient(name="Marieke Testdossier", birth_date="1985-03-14", bsn="111222333",
                          method="written")
    c = w.create_ok(patient=p)
    assert c["patient"] == {"mode": "consented", "name": "Marieke Testdossier", "birth_date": "1985-03-14",
                            "bsn": "111222333", "consent": p["consent"]}


def test_create_consented_without_bsn(w):
    p = consented_patient(name="Pieter Zonderbsn", birth_date="1970-01-31")
    c = w.create_ok(patient=p)
    assert c["patient"] == {"mode": "consented", "name": "Pieter Zonderbsn", "birth_date": "1970-01-31",
                            "bsn": None, "consent": p["consent"]}


def test_consultant_and_coordinator_cannot_create(w):
    assert_problem(w.create(token=w.c1["token"]), 403)
    assert_problem(w.create(token=w.coord["token"]), 403)


# ---- POST /v1/consultations: due_at in Dutch working days ----

DUE_CASES = [
    # (id, submitted, consultant attr or "group", expected due date)
    ("monday+3", utc(2026, 11, 16), "c1", (2026, 11, 19)),
    ("friday+1", utc(2026, 11, 20), "c2", (2026, 11, 23)),
    ("easter-friday+1", utc(2027, 3, 26), "c2", (2027, 3, 30)),
    ("easter-thursday+3", utc(2027, 3, 25), "c1", (2027, 3, 31)),
    ("kingsday-2026-friday+1", utc(2026, 4, 24), "c2", (2026, 4, 28)),
    ("christmas-2026-thursday+1", utc(2026, 12, 24), "c2", (2026, 12, 28)),
    ("liberation-2026-not-a-holiday", utc(2026, 5, 4), "c2", (2026, 5, 5)),
    ("ascension-2027", utc(2027, 5, 5), "c2", (2027, 5, 7)),
    ("whit-monday-2027", utc(2027, 5, 14), "c2", (2027, 5, 18)),
    ("group-uses-3", utc(2026, 11, 16), "group", (2026, 11, 19)),
    ("group-friday", utc(2026, 11, 20), "group", (2026, 11, 25)),
]


@pytest.mark.parametrize("submitted,who,due", [c[1:] for c in DUE_CASES], ids=[c[0] for c in DUE_CASES])
def test_due_at_working_days(w, clock, submitted, who, due):
    set_clock(w.api, submitted)
    tok = w.login(w.gp)
    if who == "group":
        r = w.create(token=tok, expertise="autisme")
    else:
        r = w.create(token=tok, to=getattr(w, who))
    c = assert_json(r, 201)
    sub, got = parse_ts(c["submitted_at"]), parse_ts(c["due_at"])
    assert abs((sub - submitted).total_seconds()) < 30, c["submitted_at"]
    exp = sub.replace(year=due[0], month=due[1], day=due[2])
    assert abs((got - exp).total_seconds()) <= 1, f"due_at {c['due_at']}, expected {exp.isoformat()}"


# ---- POST /v1/consultations: validation ----

def test_validation_both_target_fields(w, db):
    b = w.body(to=w.c1)
    b["expertise"] = "angst"
    _invalid(w, db, b, "consultant_id")


def test_validation_neither_target_field(w, db):
    b = w.body(to=w.c1)
    del b["consultant_id"]
    _invalid(w, db, b, "consultant_id")


def test_validation_not_accepting_consultant(w, db):
    _invalid(w, db, w.body(to=w.c_closed), "consultant_id")


def test_validation_unknown_consultant(w, db):
    b = w.body(to=w.c1)
    b["consultant_id"] = new_id()
    _invalid(w, db, b, "consultant_id")


def test_validation_consultant_id_is_not_a_consultant(w, db):
    b = w.body(to=w.c1)
    b["consultant_id"] = w.gp["id"]
    _invalid(w, db, b, "consultant_id")


def test_validation_group_without_match_in_region(w, db):
    _invalid(w, db, w.body(expertise="eetstoornis"), "expertise")


def test_validation_group_not_accepting_only(w, db):
    # c_closed has "angst" but does not accept; c1 has it too and does: passes. "trauma": nobody.
    _invalid(w, db, w.body(expertise="trauma"), "expertise")


def test_validation_unknown_expertise(w, db):
    _invalid(w, db, w.body(expertise="hoogsensitiviteit"), "expertise")


@pytest.mark.parametrize("age", [-1, 121])
def test_validation_age_out_of_range(w, db, age):
    _invalid(w, db, w.body(patient=anonymous_patient(age=age)), "patient.age")


@pytest.mark.parametrize("age", [0, 120])
def test_validation_age_bounds_ok(w, age):
    assert w.create_ok(patient=anonymous_patient(age=age))["patient"]["age"] == age


def test_validation_bad_sex(w, db):
    _invalid(w, db, w.body(patient=anonymous_patient(sex="v")), "patient.sex")


@pytest.mark.parametrize("sex", ["f", "m", "x", "unknown"])
def test_sex_values(w, sex):
    assert w.create_ok(patient=anonymous_patient(sex=sex))["patient"]["sex"] == sex


def test_validation_bad_mode(w, db):
    _invalid(w, db, w.body(mode="email"), "mode")


def test_validation_bad_urgency(w, db):
    _invalid(w, db, w.body(urgency="crisis"), "urgency")


def test_validation_missing_referral_contemplated(w, db):
    b = w.body()
    del b["referral_contemplated"]
    _invalid(w, db, b, "referral_contemplated")


def test_validation_bsn_elfproef(w, db):
    p = _invalid(w, db, w.body(patient=consented_patient(bsn="123456789")), "patient.bsn")
    assert "123456789" not in str(p)


def test_validation_birth_date_future(w, db):
    d = (today_utc() + timedelta(days=1)).isoformat()
    _invalid(w, db, w.body(patient=consented_patient(birth_date=d)), "patient.birth_date")


def test_validation_consent_given_on_future(w, db):
    d = (today_utc() + timedelta(days=1)).isoformat()
    _invalid(w, db, w.body(patient=consented_patient(given_on=d)), "patient.consent.given_on")


def test_validation_unknown_top_level_field(w, db):
    b = w.body()
    b["colour"] = "blue"
    p = _invalid(w, db, b, "colour")


def test_validation_anonymous_patient_with_name_refused(w, db):
    p = anonymous_patient()
    p["name"] = "Jan Jansen"
    _invalid(w, db, w.body(patient=p), "patient.name")


def test_validation_subject_length(w, db):
    _invalid(w, db, w.body(subject="a" * 201), "subject")
    assert w.create_ok(subject="b" * 200)["subject"] == "b" * 200


def test_validation_empty_subject(w, db):
    _invalid(w, db, w.body(subject=""), "subject")


def test_validation_bad_patient_mode(w, db):
    _invalid(w, db, w.body(patient={"mode": "pseudonymous", "age": 3, "sex": "f"}), "patient.mode")


def test_validation_lists_every_failing_field(w, db):
    b = w.body(mode="fax", urgency="crisis", patient=anonymous_patient(age=-1, sex="v"))
    p = _invalid(w, db, b, "mode")
    assert {"mode", "urgency", "patient.age", "patient.sex"} <= error_fields(p), p


@pytest.mark.parametrize("mutate,field", [
    (lambda p: p.update(name=""), "patient.name"),
    (lambda p: p.update(birth_date="1990-02-30"), "patient.birth_date"),
    (lambda p: p.update(birth_date="01-02-1990"), "patient.birth_date"),
    (lambda p: p["consent"].update(method="email"), "patient.consent.method"),
    (lambda p: p["consent"].update(given_by="guardian"), "patient.consent.given_by"),
    (lambda p: p["consent"].update(witness="Jan"), "patient.consent.witness"),
    (lambda p: p.pop("consent"), "patient.consent"),
    (lambda p: p.pop("name"), "patient.name"),
    (lambda p: p.update(age=40), "patient.age"),
    (lambda p: p.update(bsn="11122233"), "patient.bsn"),
    (lambda p: p.update(bsn=111222333), "patient.bsn"),
], ids=["empty-name", "bad-date", "dmy-date", "method", "given_by", "consent-unknown", "no-consent", "no-name",
        "age-in-consented", "bsn-8-digits", "bsn-number"])
def test_validation_consented_patient(w, db, mutate, field):
    p = consented_patient(name="Karel Foutief")
    mutate(p)
    r = w.api.post("/v1/consultations", token=w.gp["token"], json=w.body(patient=p))
    body = assert_problem(r, 422, "/problems/validation")
    assert field in error_fields(body), body
    assert "Foutief" not in r.text


@pytest.mark.parametrize("field,n,ok", [("question", 10000, True), ("question", 10001, False),
                                        ("question", 0, False), ("proposed_next_step", 2000, True),
                                        ("proposed_next_step", 2001, False)])
def test_text_lengths(w, db, field, n, ok):
    b = w.body(**{field: "a" * n})
    if ok:
        assert_json(w.api.post("/v1/consultations", token=w.gp["token"], json=b), 201)
    else:
        _invalid(w, db, b, field)


def test_wrong_types(w, db):
    _invalid(w, db, w.body(referral_contemplated="yes"), "referral_contemplated")
    _invalid(w, db, w.body(patient=anonymous_patient(age="34")), "patient.age")
    _invalid(w, db, w.body(consultant_id="not-a-uuid"), "consultant_id")


def _minor(w, db, age_days_before, given_by, given_on, ok):
    """birth = given_on minus a number of years (+/- days); consent on given_on."""
    years, days = age_days_before
    birth = years_before(given_on, years) + timedelta(days=days)
    p = consented_patient(birth_date=birth.isoformat(), given_on=given_on.isoformat(), given_by=given_by)
    if ok:
        w.create_ok(patient=p)
    else:
        _invalid(w, db, w.body(patient=p), "patient.consent.given_by")


MINOR_CASES = [
    # (years, +days) before the consent date, given_by, ok
    ((12, 1), "parent", True),               # 11, turns 12 tomorrow
    ((12, 1), "patient_and_parent", False),
    ((12, 1), "patient", False),
    ((12, 0), "patient_and_parent", True),   # 12 today
    ((12, 0), "parent", False),
    ((16, 1), "patient_and_parent", True),   # 15
    ((16, 1), "patient", False),
    ((16, 0), "patient", True),              # 16 today
    ((16, 0), "patient_and_parent", False),
    ((40, 0), "parent", False),
    ((5, 0), "patient", False),
]


@pytest.mark.parametrize("age,given_by,ok", MINOR_CASES,
                         ids=[f"{a[0]}y{-a[1]:+d}d-{g}-{'ok' if o else 'bad'}" for a, g, o in MINOR_CASES])
def test_minor_consent_today(w, db, age, given_by, ok):
    _minor(w, db, age, given_by, today_utc(), ok)


def test_minor_consent_age_on_consent_date_not_today(w, db):
    # consent given 400 days ago when the patient was 15; now 16 or 17: patient_and_parent is right.
    given = today_utc() - timedelta(days=400)
    _minor(w, db, (16, 1), "patient_and_parent", given, True)
    _minor(w, db, (16, 1), "patient", given, False)


# ---- POST /v1/consultations: the anonymity guard ----

IDENTIFIERS = [
    ("bsn", "111222333"),
    ("email", "j.jansen@example.nl"),
    ("phone", "0612345678"),
    ("phone", "06-12345678"),
    ("phone", "+31 6 12345678"),
    ("phone", "020-1234567"),
    ("postcode", "1234 AB"),
    ("date", "1-2-1990"),
    ("date", "01-02-1990"),
    ("date", "1990-02-01"),
]


GUARDED = ["subject", "question", "proposed_next_step"]


@pytest.mark.parametrize("field", GUARDED)
@pytest.mark.parametrize("kind,value", IDENTIFIERS, ids=[f"{k}:{v}" for k, v in IDENTIFIERS])
def test_anonymity_guard(w, db, field, kind, value):
    b = w.body()
    b[field] = f"Patiënt, gegevens {value} graag advies"
    before = count_all(db)
    r = w.api.post("/v1/consultations", token=w.gp["token"], json=b)
    p = assert_problem(r, 422, "/problems/validation")
    msgs = field_messages(p)
    assert field in msgs, p
    assert kind in msgs[field], f"message {msgs[field]!r} does not name {kind}"
    assert value not in r.text, "the identifier is echoed"
    assert count_all(db) == before


def test_anonymity_guard_harmless_text_passes(w):
    text = "34 jaar, sinds 2019, 50 mg, score 18, 123456789"
    c = w.create_ok(subject=text, question=text, proposed_next_step=text)
    assert c["subject"] == text


@pytest.mark.parametrize("value", ["0612345678", "123456782", "01-02-1990", "j.jansen@example.nl"])
def test_anonymity_guard_not_in_consented_mode(w, value):
    c = w.create_ok(patient=consented_patient(), subject=f"Bellen op {value}",
                    question=f"Contact: {value}. Wat is uw advies?")
    assert value in c["question"]


def test_anonymous_guard_on_reasons_advice_notes_and_locations(w):
    c = w.in_state("accepted")
    r = w.api.post(f"/v1/consultations/{c['id']}/answer", token=w.c1["token"],
                   json={"advice": "Bel 0612345678 voor overleg", "recommendation": "advice_only",
                         "minutes_spent": 20})
    b = assert_problem(r, 422, "/problems/validation")
    assert b["errors"] == [{"field": "advice", "message": "contains what looks like a phone"}]
    assert "0612345678" not in r.text
    r = w.api.post(f"/v1/consultations/{c['id']}/appointments", token=w.c1["token"],
                   json={"kind": "on_location", "starts_at": "2030-01-07T10:00:00Z",
                         "duration_minutes": 30, "location": "Praktijk, 5911 AB Venlo"})
    b = assert_problem(r, 422, "/problems/validation")
    assert b["errors"] == [{"field": "location", "message": "contains what looks like a postcode"}]
    r = w.api.post(f"/v1/consultations/{c['id']}/withdraw", token=w.gp["token"],
                   json={"reason": "mail naar jan@example.nl"})
    b = assert_problem(r, 422, "/problems/validation")
    assert b["errors"] == [{"field": "reason", "message": "contains what looks like a email"}]


# ---- GET /v1/consultations/{id} ----

def test_practice_sees_identity(w, consented):
    c, p = consented
    for u in (w.gp, w.poh):
        r = w.get(c["id"], u["token"])
        got = assert_json(r)
        assert set(got) == CONSULTATION_KEYS
        assert got["patient"]["name"] == "Anna Zichtbaar"
        assert got["patient"]["bsn"] == "111222333"
        assert got["patient"]["consent"] == p["consent"]
        assert r.headers.get("ETag") == f'"{got["version"]}"'


def test_other_practice_404_and_audited(w, consented, admin_token):
    c, _ = consented
    r = w.get(c["id"], w.gp_b["token"])
    assert_problem(r, 404, "/problems/not-found")
    assert "Zichtbaar" not in r.text
    entries = audit_entries(w.api, admin_token, subject_id=c["id"], actor_id=w.gp_b["id"])
    assert any(e["outcome"] == "denied" and e["action"] == "consultations.read" for e in entries), entries


def test_unknown_and_malformed_id_404(w):
    assert_problem(w.get(new_id(), w.gp["token"]), 404)
    assert_problem(w.get("not-a-uuid", w.gp["token"]), 404)


def test_addressed_consultant_identity_hidden_until_accepted(w):
    c = w.create_ok(to=w.c1, patient=consented_patient(name="Bram Verborgen"))
    r = w.get(c["id"], w.c1["token"])
    got = assert_json(r)
    assert got["patient"] == HIDDEN
    assert got["subject"] == c["subject"] and got["question"] == c["question"]
    assert "Verborgen" not in r.text
    acc = w.act_ok(c["id"], "accept", w.c1["token"])
    assert acc["patient"]["name"] == "Bram Verborgen"
    got = assert_json(w.get(c["id"], w.c1["token"]))
    assert got["patient"]["name"] == "Bram Verborgen"
    # another consultant never sees it
    assert_problem(w.get(c["id"], w.c2["token"]), 404)


def test_unaddressed_consultant_404(w):
    c = w.create_ok(to=w.c2)
    for u in (w.c1, w.c3, w.c_other_exp):
        assert_problem(w.get(c["id"], u["token"]), 404)


def test_group_visibility(w):
    c = w.create_ok(expertise="autisme", patient=consented_patient(name="Cor Groepsvraag"))
    for u in (w.c2, w.c3):
        r = w.get(c["id"], u["token"])
        got = assert_json(r)
        assert got["patient"] == HIDDEN
        assert "Groepsvraag" not in r.text
    for u in (w.c1, w.c_other_exp, w.c_other_region, w.c_closed):
        assert_problem(w.get(c["id"], u["token"]), 404)
    # once c2 accepted, c3 no longer sees it; c2 sees the identity
    w.act_ok(c["id"], "accept", w.c2["token"])
    assert_problem(w.get(c["id"], w.c3["token"]), 404)
    assert assert_json(w.get(c["id"], w.c2["token"]))["patient"]["name"] == "Cor Groepsvraag"


def test_coordinator_sees_metadata_only(w, consented):
    c, _ = consented
    r = w.get(c["id"], w.coord["token"])
    got = assert_json(r)
    assert set(got) == COORDINATOR_KEYS, set(got) ^ COORDINATOR_KEYS
    assert got["id"] == c["id"] and got["status"] == c["status"]
    assert got["organisation"] == {"id": w.practice["id"], "name": w.practice["name"]}
    assert got["consultant"]["id"] == w.c1["id"]
    assert "Zichtbaar" not in r.text and c["question"] not in r.text and c["subject"] not in r.text


def test_coordinator_other_region_404(w, consented):
    c, _ = consented
    assert_problem(w.get(c["id"], w.coord_b["token"]), 404)
    ids = {x["id"] for x in w.api.list_all("/v1/consultations", w.coord_b["token"])}
    assert c["id"] not in ids


@pytest.mark.parametrize("who", ["billing", "admin"])
def test_billing_and_admin_403(w, consented, admin_token, who):
    c, _ = consented
    tok = w.billing["token"] if who == "billing" else admin_token
    assert_problem(w.get(c["id"], tok), 403, "/problems/forbidden")
    assert_problem(w.api.get("/v1/consultations", token=tok), 403)
    assert_problem(w.api.post("/v1/consultations", token=tok, json=w.body()), 403)
    assert_problem(w.api.get(f"/v1/consultations/{c['id']}/messages", token=tok), 403)


def test_forbidden_roles_audited(w, admin_token, consented):
    c, _ = consented
    assert_problem(w.get(c["id"], w.billing["token"]), 403)
    entries = audit_entries(w.api, admin_token, actor_id=w.billing["id"])
    assert any(e["outcome"] == "denied" and e["action"] == "consultations.read" for e in entries), entries


def test_role_refusal_audit_names_the_consultation(w, factory):
    c = w.in_state("submitted")
    billing = factory.make_user("billing")
    assert_problem(w.api.get(f"/v1/consultations/{c['id']}", token=billing["token"]), 403)
    entries = audit_entries(w.api, w.admin_token, subject_id=c["id"], actor_id=billing["id"])
    assert entries and entries[0]["outcome"] == "denied"
    assert entries[0]["subject_type"] == "consultation"


# ---- GET /v1/consultations ----

def test_group_visible_in_eligible_consultant_list(w):
    c = w.create_ok(expertise="autisme")
    ids3 = {x["id"] for x in w.api.list_all("/v1/consultations", w.c3["token"])}
    assert c["id"] in ids3
    ids1 = {x["id"] for x in w.api.list_all("/v1/consultations", w.c1["token"])}
    assert c["id"] not in ids1


def test_coordinator_list_metadata_only(w, consented):
    c, _ = consented
    items = w.api.list_all("/v1/consultations", w.coord["token"])
    mine = [x for x in items if x["id"] == c["id"]]
    assert len(mine) == 1
    for x in items:
        assert set(x) == COORDINATOR_KEYS, set(x) ^ COORDINATOR_KEYS


def test_lists_never_contain_identity(w, consented):
    c, _ = consented
    for u in (w.gp, w.poh):
        items = w.api.list_all("/v1/consultations", u["token"])
        mine = [x for x in items if x["id"] == c["id"]]
        assert len(mine) == 1
        assert mine[0]["patient"] == HIDDEN
        assert set(mine[0]) == CONSULTATION_KEYS
        for x in items:
            assert x["organisation"]["id"] == w.practice["id"]
            assert x["patient"]["mode"] in ("anonymous", "revoked") or x["patient"] == HIDDEN, x["patient"]
    # the accepting consultant's list too
    c2 = w.create_ok(to=w.c1, patient=consented_patient(name="Dirk Lijstloos"))
    w.act_ok(c2["id"], "accept", w.c1["token"])
    r = w.api.get("/v1/consultations", token=w.c1["token"], params={"limit": 100})
    assert_json(r)
    assert "Lijstloos" not in r.text and "Zichtbaar" not in r.text


def test_list_other_practice_excluded(w, consented):
    c, _ = consented
    ids = {x["id"] for x in w.api.list_all("/v1/consultations", w.gp_b["token"])}
    assert c["id"] not in ids


def test_list_status_filter_and_bad_status(w):
    a = w.in_state("accepted")
    s = w.create_ok()
    acc = w.api.list_all("/v1/consultations", w.gp["token"], params={"status": "accepted"})
    assert all(x["status"] == "accepted" for x in acc)
    assert a["id"] in {x["id"] for x in acc} and s["id"] not in {x["id"] for x in acc}
    sub = w.api.list_all("/v1/consultations", w.gp["token"], params={"status": "submitted"})
    assert s["id"] in {x["id"] for x in sub} and all(x["status"] == "submitted" for x in sub)
    p = assert_problem(w.api.get("/v1/consultations", token=w.gp["token"], params={"status": "open"}), 400,
                       "/problems/bad-query")
    assert "status" in error_fields(p)


def test_list_due_before_and_overdue(w, clock):
    """`overdue=true` lists the open (submitted or accepted) consultations past `due_at` at the
    application clock, `overdue=false` the others; `due_before` (a timestamp, or a date: its start
    in Europe/Amsterdam) those due earlier. For a coordinator of the region and the practice's
    users alike (docs/api.md)."""
    open_ = w.in_state("submitted")
    accepted = w.in_state("accepted")
    answered = w.in_state("answered")
    due = parse_ts(open_["due_at"])
    clock(due + timedelta(hours=1))  # the first three are past due now
    gp, coord = w.login(w.gp), w.login(w.coord)
    fresh = w.create_ok(token=gp)  # due days from now
    mine = {open_["id"], accepted["id"], answered["id"], fresh["id"]}

    def ids(token, **params):
        return {x["id"] for x in w.api.list_all("/v1/consultations", token, params=params)} & mine

    for token in (gp, coord):
        assert ids(token, overdue="true") == {open_["id"], accepted["id"]}
        assert ids(token, overdue="false") == {answered["id"], fresh["id"]}
        assert ids(token, overdue="true", status="accepted") == {accepted["id"]}
        assert ids(token, due_before=fresh["due_at"]) == {open_["id"], accepted["id"], answered["id"]}
        assert ids(token, due_before=open_["due_at"]) == set()
        # a date: due before the start of that day in Amsterdam
        day_after = (due + timedelta(days=1)).strftime("%Y-%m-%d")
        assert ids(token, due_before=day_after) >= {open_["id"], accepted["id"], answered["id"]}
        assert fresh["id"] not in ids(token, due_before=day_after)
        assert ids(token, due_before="2000-01-01") == set()
    # another practice sees none of them, filtered or not
    assert ids(w.login(w.gp_b), overdue="true") == set()
    # bad values: 400 naming each field
    for params, fields in (({"overdue": "yes"}, {"overdue"}), ({"due_before": "2026-13-01"}, {"due_before"}),
                           ({"due_before": "morgen", "overdue": "1"}, {"due_before", "overdue"}),
                           ({"due_before": "2026-12-10T25:00:00Z"}, {"due_before"})):
        p = assert_problem(w.api.get("/v1/consultations", token=gp, params=params), 400, "/problems/bad-query")
        assert set(error_fields(p)) == fields, p


def test_list_pagination(w, factory):
    practice = factory.make_org("general_practice", w.region, name=f"Praktijk Paginering {uid()}")
    gp = factory.make_user("gp", practice["id"])
    ids = [w.create_ok(token=gp["token"])["id"] for _ in range(5)]
    pages, cursor = [], None
    for _ in range(5):
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = assert_json(w.api.get("/v1/consultations", token=gp["token"], params=params))
        pages.append([x["id"] for x in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 1], pages
    assert [i for p in pages for i in p] == list(reversed(ids))


def test_list_audited(w, admin_token):
    w.api.get("/v1/consultations", token=w.poh["token"])
    entries = audit_entries(w.api, admin_token, actor_id=w.poh["id"], action="consultations.list")
    assert entries and entries[0]["outcome"] == "success"


# ---- Transitions: every action from every status, who may, audit ----

STATES = ["submitted", "accepted", "declined", "answered", "closed", "withdrawn"]


ACTIONS = {
    # action: (actor attr, body, allowed from, resulting status)
    "accept": ("c1", None, {"submitted"}, "accepted"),
    "decline": ("c1", {"reason": "Past niet in mijn agenda."}, {"submitted", "accepted"}, "declined"),
    "redirect": ("gp", "redirect", {"declined"}, "submitted"),
    "answer": ("c1", ANSWER, {"accepted"}, "answered"),
    "close": ("gp", {"referral_outcome": "avoided", "value": 5, "note": "Verwijzing voorkomen."},
              {"answered"}, "closed"),
    "withdraw": ("gp", {"reason": "Niet meer nodig."}, {"submitted", "accepted"}, "withdrawn"),
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_transition_matrix(w, db, state, action):
    actor, body, allowed, result = ACTIONS[action]
    c = w.in_state(state)
    if body == "redirect":
        body = {"consultant_id": w.c2["id"]}
    r = w.act(c["id"], action, getattr(w, actor)["token"], json=body)
    if state in allowed:
        got = assert_json(r, 200)
        assert got["status"] == result
        assert got["version"] == c["version"] + 1
        assert r.headers.get("ETag") == f'"{got["version"]}"'
    else:
        p = assert_problem(r, 409, "/problems/invalid-transition")
        assert state in p["detail"], p
        assert sql_count(db, "SELECT count(*) FROM consultations WHERE id = %s AND status = %s AND version = %s",
                         c["id"], state, c["version"]) == 1


def test_route_level_roles(w):
    c = w.in_state("answered")
    assert_problem(w.act(c["id"], "close", w.c1["token"], {"referral_outcome": "avoided", "value": 3}), 403,
                   "/problems/forbidden")
    s = w.create_ok(to=w.c1)
    assert_problem(w.act(s["id"], "accept", w.gp["token"]), 403, "/problems/forbidden")
    assert_problem(w.act(s["id"], "accept", w.coord["token"]), 403)
    assert_problem(w.act(s["id"], "withdraw", w.c1["token"], {"reason": "x"}), 403)
    assert_problem(w.act(s["id"], "answer", w.gp["token"], ANSWER), 403)
    assert assert_json(w.get(s["id"], w.gp["token"]))["status"] == "submitted"


def test_other_practice_transition_404(w):
    c = w.create_ok(to=w.c1)
    assert_problem(w.act(c["id"], "withdraw", w.gp_b["token"], {"reason": "x"}), 404)
    assert_problem(w.act(new_id(), "withdraw", w.gp["token"], {"reason": "x"}), 404)


def test_transition_malformed_id_404(w):
    assert_problem(w.act("nope", "accept", w.c1["token"]), 404)
    assert_problem(w.act(new_id(), "accept", w.c1["token"]), 404)


def test_transitions_audited(w, admin_token):
    c = w.in_state("answered")
    actions = {e["action"] for e in audit_entries(w.api, admin_token, subject_id=c["id"])
               if e["outcome"] == "success"}
    assert {"consultations.create", "consultations.accept", "consultations.answer"} <= actions, actions


# ---- POST /v1/consultations/{id}/accept ----

def test_accept_sets_fields(w):
    c = w.create_ok(to=w.c1)
    got = w.act_ok(c["id"], "accept", w.c1["token"])
    assert got["consultant"] == {"id": w.c1["id"], "name": w.c1["user"]["name"]}
    assert got["accepted_at"] is not None
    assert parse_ts(got["accepted_at"]) >= parse_ts(got["submitted_at"])


def test_group_accept_first_wins_concurrently(w, api):
    for _ in range(3):
        c = w.create_ok(expertise="autisme")
        barrier = threading.Barrier(2)
        out = {}

        def go(u):
            barrier.wait()
            out[u["id"]] = requests.post(f"{api.base}/v1/consultations/{c['id']}/accept",
                                         headers={"Authorization": f"Bearer {u['token']}"}, timeout=10)

        ts = [threading.Thread(target=go, args=(u,)) for u in (w.c2, w.c3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        codes = sorted(r.status_code for r in out.values())
        assert codes == [200, 409], [(r.status_code, r.text[:200]) for r in out.values()]
        winner = next(uid_ for uid_, r in out.items() if r.status_code == 200)
        loser = next(r for r in out.values() if r.status_code == 409)
        assert assert_problem(loser, 409, "/problems/invalid-transition")
        assert "accepted" in loser.json()["detail"]
        got = assert_json(w.get(c["id"], w.gp["token"]))
        assert got["status"] == "accepted" and got["consultant"]["id"] == winner


def test_group_accept_second_gets_409(w):
    c = w.create_ok(expertise="autisme")
    w.act_ok(c["id"], "accept", w.c2["token"])
    p = assert_problem(w.act(c["id"], "accept", w.c3["token"]), 409, "/problems/invalid-transition")
    assert "accepted" in p["detail"]


def test_accept_by_non_eligible_consultant_404(w):
    c = w.create_ok(expertise="autisme")
    assert_problem(w.act(c["id"], "accept", w.c_other_exp["token"]), 404)
    assert_problem(w.act(c["id"], "accept", w.c_other_region["token"]), 404)
    d = w.create_ok(to=w.c1)
    assert_problem(w.act(d["id"], "accept", w.c2["token"]), 404)


def test_accepted_group_leaves_other_members_list(w):
    c = w.create_ok(expertise="autisme")
    w.act_ok(c["id"], "accept", w.c2["token"])
    ids = {x["id"] for x in w.api.list_all("/v1/consultations", w.c3["token"])}
    assert c["id"] not in ids
    ids = {x["id"] for x in w.api.list_all("/v1/consultations", w.c2["token"])}
    assert c["id"] in ids


def test_accept_and_withdraw_race(w, api, db):
    for _ in range(3):
        c = w.create_ok(to=w.c1)
        barrier = threading.Barrier(2)
        out = {}

        def go(name, token, path, body):
            barrier.wait()
            out[name] = requests.post(f"{api.base}/v1/consultations/{c['id']}/{path}", json=body,
                                      headers={"Authorization": f"Bearer {token}"}, timeout=10)

        ts = [threading.Thread(target=go, args=("accept", w.c1["token"], "accept", None)),
              threading.Thread(target=go, args=("withdraw", w.gp["token"], "withdraw", {"reason": "Race."}))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        codes = {k: r.status_code for k, r in out.items()}
        final = assert_json(w.get(c["id"], w.gp["token"]))
        # withdraw is allowed from accepted too: either order ends withdrawn, unless withdraw came first
        if codes["accept"] == 200:
            assert codes["withdraw"] == 200 and final["status"] == "withdrawn", codes
            assert final["version"] == c["version"] + 2
        else:
            assert codes == {"accept": 409, "withdraw": 200}, codes
            assert final["status"] == "withdrawn" and final["version"] == c["version"] + 1


# ---- POST /v1/consultations/{id}/decline ----

def test_decline_direct(w):
    c = w.create_ok(to=w.c1)
    got = w.act_ok(c["id"], "decline", w.c1["token"], {"reason": "Geen capaciteit."})
    assert got["status"] == "declined"
    assert got["consultant"]["id"] == w.c1["id"]


def test_decline_group_accepted_goes_back_to_group(w):
    c = w.create_ok(expertise="autisme")
    w.act_ok(c["id"], "accept", w.c2["token"])
    got = w.act_ok(c["id"], "decline", w.c2["token"], {"reason": "Toch niet passend."})
    assert got["status"] == "submitted"
    assert got["consultant"] is None
    assert got["accepted_at"] is None
    assert got["expertise"] == "autisme"
    # open to the group again
    assert_json(w.get(c["id"], w.c3["token"]))
    w.act_ok(c["id"], "accept", w.c3["token"])


def test_decline_unaccepted_group_question_403(w):
    c = w.create_ok(expertise="autisme")
    assert_problem(w.act(c["id"], "decline", w.c2["token"], {"reason": "Nee."}), 403)


def test_decline_needs_reason(w):
    c = w.create_ok(to=w.c1)
    p = assert_problem(w.act(c["id"], "decline", w.c1["token"], {}), 422)
    assert "reason" in error_fields(p)
    p = assert_problem(w.act(c["id"], "decline", w.c1["token"], {"reason": ""}), 422)
    assert "reason" in error_fields(p)


def test_identity_hidden_again_after_decline(w):
    c = w.create_ok(to=w.c1, patient=consented_patient(name="Lotte Teruggegeven"))
    w.act_ok(c["id"], "accept", w.c1["token"])
    r = w.act(c["id"], "decline", w.c1["token"], {"reason": "Toch niet."})
    got = assert_json(r)
    assert got["status"] == "declined"
    assert "Teruggegeven" not in r.text
    r = w.get(c["id"], w.c1["token"])
    if r.status_code == 200:
        assert r.json()["patient"] == HIDDEN
        assert "Teruggegeven" not in r.text
    else:
        assert_problem(r, 404)


def test_group_decline_hides_identity_and_reopens(w):
    c = w.create_ok(expertise="autisme", patient=consented_patient(name="Mees Terugnaardegroep"))
    w.act_ok(c["id"], "accept", w.c2["token"])
    r = w.act(c["id"], "decline", w.c2["token"], {"reason": "Niet passend."})
    assert assert_json(r)["patient"] == HIDDEN
    assert "Terugnaardegroep" not in r.text
    for u in (w.c2, w.c3):
        got = assert_json(w.get(c["id"], u["token"]))
        assert got["patient"] == HIDDEN and got["status"] == "submitted"
    ids = {x["id"] for x in w.api.list_all("/v1/consultations", w.c3["token"], params={"status": "submitted"})}
    assert c["id"] in ids


# ---- POST /v1/consultations/{id}/redirect ----

def test_redirect_to_consultant(w):
    c = w.in_state("declined")
    got = w.act_ok(c["id"], "redirect", w.gp["token"], {"consultant_id": w.c2["id"]})
    assert got["status"] == "submitted"
    assert got["consultant"]["id"] == w.c2["id"]
    assert got["submitted_at"] == c["submitted_at"]
    assert_json(w.get(c["id"], w.c2["token"]))
    assert_problem(w.get(c["id"], w.c1["token"]), 404)
    w.act_ok(c["id"], "accept", w.c2["token"])


def test_redirect_to_expertise(w):
    c = w.in_state("declined")
    got = w.act_ok(c["id"], "redirect", w.poh["token"], {"expertise": "autisme"})
    assert got["status"] == "submitted"
    assert got["consultant"] is None and got["expertise"] == "autisme"
    assert_json(w.get(c["id"], w.c3["token"]))
    kinds = {n["kind"] for n in w.notes_for(w.c3, c["id"])}
    assert "group_question" in kinds


def test_redirect_computes_due_from_redirect_moment(w, clock):
    set_clock(w.api, utc(2026, 11, 16))  # Monday
    g = w.login(w.gp)
    k1 = w.login(w.c1)
    c = assert_json(w.create(token=g, to=w.c1), 201)
    w.act_ok(c["id"], "decline", k1, {"reason": "Geen tijd deze week."})
    set_clock(w.api, utc(2026, 11, 18, 14))  # Wednesday 14:00
    g = w.login(w.gp)
    r = w.act_ok(c["id"], "redirect", g, {"consultant_id": w.c2["id"]})  # response_days 1
    assert r["status"] == "submitted"
    assert r["submitted_at"] == c["submitted_at"]
    due = parse_ts(r["due_at"])
    assert abs((due - utc(2026, 11, 19, 14)).total_seconds()) <= 5, r["due_at"]


def test_redirect_validation(w):
    c = w.in_state("declined")
    p = assert_problem(w.act(c["id"], "redirect", w.gp["token"], {"consultant_id": w.c_closed["id"]}), 422)
    assert "consultant_id" in error_fields(p)
    p = assert_problem(w.act(c["id"], "redirect", w.gp["token"], {"expertise": "eetstoornis"}), 422)
    assert "expertise" in error_fields(p)
    p = assert_problem(w.act(c["id"], "redirect", w.gp["token"], {}), 422)
    assert "consultant_id" in error_fields(p)
    assert assert_json(w.get(c["id"], w.gp["token"]))["status"] == "declined"


def test_redirect_both_fields_422(w):
    c = w.in_state("declined")
    p = assert_problem(w.act(c["id"], "redirect", w.gp["token"],
                             {"consultant_id": w.c2["id"], "expertise": "autisme"}), 422)
    assert "consultant_id" in error_fields(p)


def test_redirect_of_invisible_consultation_is_404_not_422(w, factory):
    c = w.in_state("declined")
    other = factory.make_user("gp")
    r = w.api.post(f"/v1/consultations/{c['id']}/redirect", token=other["token"],
                   json={"consultant_id": str(uuid.uuid4())})
    assert_problem(r, 404, "/problems/not-found")


def test_redirect_back_to_the_declining_consultant_is_refused(w):
    c = w.in_state("declined")
    r = w.api.post(f"/v1/consultations/{c['id']}/redirect", token=w.gp["token"],
                   json={"consultant_id": c["consultant"]["id"]})
    b = assert_problem(r, 422, "/problems/validation")
    assert b["errors"][0]["field"] == "consultant_id"



@pytest.mark.parametrize("target, field, message", [
    ("declining", "consultant_id", "this consultant declined the consultation"),
    ("not_accepting", "consultant_id", "no such consultant accepting consultations"),
    ("missing", "consultant_id", "no such consultant accepting consultations"),
    ("unknown_code", "expertise", "is not a known code"),
    ("nobody", "expertise", "no accepting consultant with this expertise in your region"),
])
def test_redirect_target_refusals_name_the_reason(w, db, target, field, message):
    """A redirect's target is checked by the same rule as a new question's (consultation_target),
    each refusal saying why, and nothing changes."""
    c = w.in_state("declined")
    body = {"declining": {"consultant_id": c["consultant"]["id"]},
            "not_accepting": {"consultant_id": w.c_closed["id"]},
            "missing": {"consultant_id": new_id()},
            "unknown_code": {"expertise": "geen_code"},
            "nobody": {"expertise": "eetstoornis"}}[target]
    before = sql_count(db, "SELECT version FROM consultations WHERE id = %s", c["id"])
    p = assert_problem(w.act(c["id"], "redirect", w.gp["token"], body), 422, "/problems/validation")
    assert [(e["field"], e["message"]) for e in p["errors"]] == [(field, message)]
    assert sql_count(db, "SELECT version FROM consultations WHERE id = %s", c["id"]) == before


# ---- POST /v1/consultations/{id}/answer ----

def test_answer(w):
    c = w.in_state("accepted")
    got = w.act_ok(c["id"], "answer", w.c1["token"], ANSWER)
    assert got["status"] == "answered"
    assert got["answer"] == ANSWER
    assert got["answered_at"] is not None


@pytest.mark.parametrize("bad", [
    {"recommendation": "verwijzen"}, {"minutes_spent": 0}, {"minutes_spent": 601}, {"advice": ""},
    {"minutes_spent": "30"},
])
def test_answer_validation(w, bad):
    c = w.in_state("accepted")
    body = dict(ANSWER, **bad)
    p = assert_problem(w.act(c["id"], "answer", w.c1["token"], body), 422)
    assert next(iter(bad)) in error_fields(p)
    assert assert_json(w.get(c["id"], w.gp["token"]))["status"] == "accepted"


@pytest.mark.parametrize("rec,minutes", [("advice_only", 1), ("advice_only", 600), ("refer", 1),
                                         ("co_treatment", 1), ("follow_up_consultation", 1)])
def test_answer_bounds_and_recommendations(w, minutes, rec):
    c = w.in_state("accepted")
    got = w.act_ok(c["id"], "answer", w.c1["token"], dict(ANSWER, recommendation=rec, minutes_spent=minutes))
    assert got["answer"]["minutes_spent"] == minutes and got["answer"]["recommendation"] == rec


def test_answer_by_other_consultant_refused(w):
    c = w.in_state("accepted")
    r = w.act(c["id"], "answer", w.c2["token"], ANSWER)
    assert r.status_code in (403, 404), r.text
    # a group member who could have accepted a group question may not answer it
    g = w.create_ok(expertise="autisme")
    w.act_ok(g["id"], "accept", w.c2["token"])
    r = w.act(g["id"], "answer", w.c3["token"], ANSWER)
    assert r.status_code in (403, 404), r.text
    assert assert_json(w.get(g["id"], w.gp["token"]))["status"] == "accepted"


def test_eligible_member_cannot_answer_unaccepted_group(w):
    c = w.create_ok(expertise="autisme")
    p = assert_problem(w.act(c["id"], "answer", w.c3["token"], ANSWER), 409, "/problems/invalid-transition")
    assert "submitted" in p["detail"]


# ---- POST /v1/consultations/{id}/close ----

CLOSE_CASES = [
    (True, "avoided", True), (True, "still_needed", True), (True, "not_needed", False), (True, "initiated", False),
    (False, "not_needed", True), (False, "initiated", True), (False, "avoided", False),
    (False, "still_needed", False),
]


@pytest.mark.parametrize("contemplated,outcome,ok", CLOSE_CASES)
def test_close_referral_outcome_consistency(w, contemplated, outcome, ok):
    c = w.in_state("answered", referral_contemplated=contemplated)
    r = w.act(c["id"], "close", w.gp["token"], {"referral_outcome": outcome, "value": 3})
    if ok:
        got = assert_json(r)
        assert got["status"] == "closed"
        assert got["outcome"] == {"referral_outcome": outcome, "value": 3, "note": None}
        assert got["closed_at"] is not None
    else:
        p = assert_problem(r, 422, "/problems/validation")
        assert "referral_outcome" in error_fields(p)
        assert assert_json(w.get(c["id"], w.gp["token"]))["status"] == "answered"


@pytest.mark.parametrize("value,ok", [(0, False), (1, True), (5, True), (6, False)])
def test_close_value(w, value, ok):
    c = w.in_state("answered")
    r = w.act(c["id"], "close", w.poh["token"], {"referral_outcome": "avoided", "value": value})
    if ok:
        assert assert_json(r)["outcome"]["value"] == value
    else:
        assert "value" in error_fields(assert_problem(r, 422))


def test_close_unknown_outcome(w):
    c = w.in_state("answered")
    p = assert_problem(w.act(c["id"], "close", w.gp["token"], {"referral_outcome": "weet_niet", "value": 3}), 422)
    assert "referral_outcome" in error_fields(p)


# ---- POST /v1/consultations/{id}/withdraw ----

def test_withdraw(w):
    for state in ("submitted", "accepted"):
        c = w.in_state(state)
        got = w.act_ok(c["id"], "withdraw", w.gp["token"], {"reason": "Patiënt verhuisd."})
        assert got["status"] == "withdrawn"
    c = w.in_state("answered")
    p = assert_problem(w.act(c["id"], "withdraw", w.gp["token"], {"reason": "x"}), 409,
                       "/problems/invalid-transition")
    assert "answered" in p["detail"]


# ---- POST /v1/consultations/{id}/consent/revoke ----

def test_consent_revoke(w, db):
    c = w.create_ok(to=w.c1, patient=consented_patient(name="Els Intrekking", bsn="111222333"))
    w.act_ok(c["id"], "accept", w.c1["token"])
    got = w.act_ok(c["id"], "consent/revoke", w.gp["token"])
    assert got["patient"] == {"mode": "revoked"}
    assert "Intrekking" not in str(got)
    for u in (w.gp, w.c1):
        assert assert_json(w.get(c["id"], u["token"]))["patient"] == {"mode": "revoked"}
    assert sql_count(db, "SELECT count(*) FROM consultations WHERE id = %s AND patient_identity IS NULL "
                         "AND patient_mode = 'revoked'", c["id"]) == 1
    # the consultation goes on
    got = w.act_ok(c["id"], "answer", w.c1["token"], ANSWER)
    assert got["status"] == "answered" and got["patient"] == {"mode": "revoked"}
    # a second revoke, and a revoke of an anonymous one: 409
    assert_problem(w.act(c["id"], "consent/revoke", w.gp["token"]), 409, "/problems/invalid-transition")
    a = w.create_ok()
    assert_problem(w.act(a["id"], "consent/revoke", w.gp["token"]), 409, "/problems/invalid-transition")


def test_consent_revoke_only_practice(w):
    c = w.create_ok(to=w.c1, patient=consented_patient())
    w.act_ok(c["id"], "accept", w.c1["token"])
    assert_problem(w.act(c["id"], "consent/revoke", w.c1["token"]), 403)
    assert_problem(w.act(c["id"], "consent/revoke", w.gp_b["token"]), 404)


# ---- ETag and If-Match on the transitions ----

def test_etag_if_match(w):
    c = w.create_ok(to=w.c1)
    r = w.get(c["id"], w.c1["token"])
    etag = r.headers.get("ETag")
    assert etag == f'"{r.json()["version"]}"'
    stale = f'"{r.json()["version"] + 7}"'
    p = assert_problem(w.act(c["id"], "accept", w.c1["token"], headers={"If-Match": stale}), 412,
                       "/problems/precondition-failed")
    after = w.get(c["id"], w.gp["token"])
    assert after.json()["status"] == "submitted" and after.headers.get("ETag") == etag
    r2 = w.act(c["id"], "accept", w.c1["token"], headers={"If-Match": etag})
    got = assert_json(r2)
    assert got["status"] == "accepted"
    assert r2.headers.get("ETag") == f'"{got["version"]}"' != etag
    # the old one is stale now
    assert_problem(w.act(c["id"], "answer", w.c1["token"], ANSWER, headers={"If-Match": etag}), 412)
    assert assert_json(w.get(c["id"], w.gp["token"]))["status"] == "accepted"


def test_if_match_stale_before_conflict(w):
    c = w.in_state("closed")
    assert_problem(w.act(c["id"], "withdraw", w.gp["token"], {"reason": "x"}, headers={"If-Match": '"1"'}), 412)


def test_huge_if_match_is_412_not_500(w):
    c = w.in_state("submitted")
    r = w.api.post(f"/v1/consultations/{c['id']}/withdraw", token=w.gp["token"],
                   json={"reason": "niet meer nodig"}, headers={"If-Match": '"99999999999999999999"'})
    assert r.status_code in (400, 412), r.text
