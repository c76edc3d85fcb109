"""Escalation cases (API.md §9, docs/cases.md): POST /v1/cases (validation, the anonymity guard, the
consented patient), the walk through the four levels and back, regie, actions, conferences, notes,
resolve and close, who sees and may do what, lists and their filters, ETag/If-Match, the stalled
reasons and the Treeknorm under the test clock, notifications, and Idempotency-Key.
Isolation: each CaseWorld lives in region slugs of its own; counts over the whole `cases` table are
used only where no other test can run at the same time (the suite is sequential).

"""

from datetime import timedelta

import pytest

from case_helpers import (ACTION_KEYS, CASE_KEYS, CONFERENCE_KEYS, EVENT_KEYS, HIDDEN, LINKED_CONSULTATION_KEYS,
                          LIST_KEYS, TREEKNORM_KEYS, CaseWorld, count_cases, count_events,
                          field_messages, invalid_create, kinds, new_id, org_ref, today_ams)
from conftest import assert_json, assert_problem, audit_entries, error_fields, parse_ts, sql_count, uid, utcnow
from consult_helpers import anonymous_patient, consented_patient, set_clock, utc


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return CaseWorld(api, factory, admin_token, prefix="cs")


@pytest.fixture(scope="module")
def twenty_orgs(w, factory):
    return [factory.make_org("social_team", w.region, name=f"Sociaal team {i} {uid()}") for i in range(21)]


@pytest.fixture(scope="module")
def foreign_consultation(w):
    """A consultation of the unrelated practice, to the GGZ consultant c1 (who gets a profile)."""
    body = {"discipline": "psychiater", "expertise": ["angst"], "regions": [w.region], "modes": ["digital"],
            "accepting": True, "response_days": 3}
    assert_json(w.api.put(f"/v1/consultants/{w.c1['id']}/profile", token=w.admin_token, json=body))
    q = {"subject": "Vraag over angst", "question": "Is medicatie zinvol naast begeleiding?",
         "patient": anonymous_patient(), "consultant_id": w.c1["id"], "mode": "digital",
         "referral_contemplated": False}
    return assert_json(w.api.post("/v1/consultations", token=w.gp_u["token"], json=q), 201)


NAME = "Casuspatiënt Zeldzaamhuis"
SURNAME = "Zeldzaamhuis"
BSN = "111222333"


@pytest.fixture(scope="module")
def consented_case(w):
    p = consented_patient(name=NAME, birth_date="1968-11-02", bsn=BSN, method="written")
    c = w.create_ok(patient=p)
    return c, p


# ==== POST /v1/cases ====

def test_route_requires_a_token(api):
    assert_problem(api.post("/v1/cases", json={}), 401)
    assert_problem(api.get("/v1/cases"), 401)


def test_register_shape(w, db):
    before = count_cases(db)
    registered_on = (today_ams() - timedelta(days=10)).isoformat()
    b = w.body(waiting={"registered_on": registered_on})
    r = w.create(body=b)
    c = assert_json(r, 201)
    assert set(c) == CASE_KEYS, set(c) ^ CASE_KEYS
    assert c["status"] == "registered" and c["level"] == 0
    assert c["region"] == w.region
    for k in ("title", "summary", "stagnation", "attempts", "proposed_solution"):
        assert c[k] == b[k], k
    assert c["patient"] == {"mode": "anonymous", "age": 41, "sex": "m"}
    assert c["reported_by"] == "professional"
    assert c["organisation"] == org_ref(w.practice)
    assert c["submitted_by"] == {"id": w.gp["id"], "name": w.gp["user"]["name"], "role": "gp"}
    assert c["parties"] == [{"organisation": org_ref(w.mhp), "role": "GGZ-aanbieder"},
                            {"organisation": org_ref(w.practice_p), "role": "waarnemende praktijk"},
                            {"organisation": org_ref(w.insurer), "role": "zorgverzekeraar"}]
    assert c["consultation"] is None
    assert c["waiting"] == {"registered_on": registered_on, "intake_on": None, "treatment_on": None}
    assert c["regie_organisation"] is None
    assert c["actions"] == [] and c["conferences"] == []
    assert len(c["timeline"]) == 1
    e = c["timeline"][0]
    assert set(e) == EVENT_KEYS
    assert e["kind"] == "registered" and e["level"] == 0
    assert e["actor"] == {"id": w.gp["id"], "name": w.gp["user"]["name"], "role": "gp"}
    assert e["at"] == c["registered_at"]
    assert c["stalled"] == {"is_stalled": False, "reasons": []}
    assert set(c["treeknorm"]) == TREEKNORM_KEYS
    assert c["treeknorm"]["intake_weeks"] == 1 and c["treeknorm"]["intake_exceeded"] is False
    assert abs((parse_ts(c["registered_at"]) - utcnow()).total_seconds()) < 60
    for k in ("intake_at", "resolved_at", "closed_at", "solution", "follow_up_on"):
        assert c[k] is None, k
    assert isinstance(c["version"], int)
    assert r.headers.get("ETag") == f'"{c["version"]}"'
    assert count_cases(db) == before + 1
    # a later read agrees with the reply
    got = w.get_ok(c["id"], w.gp["token"])
    assert got == c


def test_register_without_waiting_has_no_treeknorm(w):
    # docs/cases.md: without `waiting` the whole `treeknorm` is null.
    c = w.create_ok()
    assert c["waiting"] is None
    assert c["treeknorm"] is None


@pytest.mark.parametrize("who", ["poh", "c1", "gp_p", "coord"])
def test_every_case_worker_may_register_and_the_region_is_their_organisations(w, who):
    u = getattr(w, who)
    c = w.create_ok(token=u["token"])
    assert c["region"] == w.region
    assert c["submitted_by"]["id"] == u["id"]
    assert c["organisation"]["id"] == u["user"]["organisation_id"]


def test_region_of_a_coordinator_elsewhere(w):
    c = w.create_ok(token=w.coord_b["token"])
    assert c["region"] == w.other_region
    assert c["organisation"] == org_ref(w.coord_org_b)


def test_billing_and_admin_may_not_register(w, db):
    before = count_cases(db)
    assert_problem(w.create(token=w.billing["token"]), 403)
    assert_problem(w.create(token=w.admin_token), 403)
    assert count_cases(db) == before


@pytest.mark.parametrize("value", ["   ", "", "\t\n"])
def test_proposed_solution_blank(w, db, value):
    invalid_create(w, db, w.body(proposed_solution=value), "proposed_solution")


@pytest.mark.parametrize("field", ["title", "summary", "stagnation", "attempts", "proposed_solution",
                                   "parties", "patient"])
def test_required_fields(w, db, field):
    b = w.body()
    del b[field]
    invalid_create(w, db, b, field)


def test_parties_none(w, db):
    invalid_create(w, db, w.body(parties=[]), "parties")


def test_parties_twenty_ok_twenty_one_refused(w, db, twenty_orgs):
    parties = [{"organisation_id": o["id"], "role": "wijkteam"} for o in twenty_orgs]
    invalid_create(w, db, w.body(parties=parties), "parties")
    c = w.create_ok(parties=parties[:20])
    assert [p["organisation"]["id"] for p in c["parties"]] == [o["id"] for o in twenty_orgs[:20]]


def test_duplicate_party(w, db):
    parties = [{"organisation_id": w.mhp["id"], "role": "GGZ"},
               {"organisation_id": w.mhp["id"], "role": "nogmaals"}]
    p = invalid_create(w, db, w.body(parties=parties), "parties[1].organisation_id")
    assert all(f.startswith("parties") for f in error_fields(p)), p


def test_unknown_party_organisation(w, db):
    parties = [{"organisation_id": new_id(), "role": "onbekend"},
               {"organisation_id": w.mhp["id"], "role": "GGZ"}]
    invalid_create(w, db, w.body(parties=parties), "parties[0].organisation_id")


@pytest.mark.parametrize("party,field", [
    ({"organisation_id": "not-a-uuid", "role": "x"}, "parties[0].organisation_id"),
    ({"role": "x"}, "parties[0].organisation_id"),
    ({"organisation_id": None, "role": "x"}, "parties[0].organisation_id"),
    ({"organisation_id": "ORG", "role": "   "}, "parties[0].role"),
    ({"organisation_id": "ORG"}, "parties[0].role"),
    ({"organisation_id": "ORG", "role": "x", "colour": "blue"}, "parties[0].colour"),
], ids=["bad-uuid", "no-org", "null-org", "blank-role", "no-role", "unknown-field"])
def test_party_fields(w, db, party, field):
    party = {k: (w.mhp["id"] if v == "ORG" else v) for k, v in party.items()}
    invalid_create(w, db, w.body(parties=[party]), field)


def test_unknown_field(w, db):
    b = w.body()
    b["priority"] = "high"
    invalid_create(w, db, b, "priority")


def test_client_may_not_set_status_or_level(w, db):
    invalid_create(w, db, w.body(status="in_progress"), "status")
    invalid_create(w, db, w.body(level=3), "level")


@pytest.mark.parametrize("reporter", ["patient", "relative"])
def test_reported_by_patient_or_relative_only_by_a_coordinator(w, db, reporter):
    invalid_create(w, db, w.body(reported_by=reporter), "reported_by")
    invalid_create(w, db, w.body(reported_by=reporter), "reported_by", token=w.c1["token"])
    c = w.create_ok(token=w.coord["token"], reported_by=reporter)
    assert c["reported_by"] == reporter
    assert c["submitted_by"]["role"] == "coordinator"


def test_reported_by_defaults_to_professional_and_must_be_known(w, db):
    b = w.body()
    del b["reported_by"]
    assert w.create_ok(body=b)["reported_by"] == "professional"
    invalid_create(w, db, w.body(reported_by="neighbour"), "reported_by")


def test_consultation_the_submitter_cannot_see(w, db, foreign_consultation):
    invalid_create(w, db, w.body(consultation_id=foreign_consultation["id"]), "consultation_id")
    invalid_create(w, db, w.body(consultation_id=new_id()), "consultation_id")
    invalid_create(w, db, w.body(consultation_id="nope"), "consultation_id")


def test_linked_consultation_shows_pace_only(w, foreign_consultation):
    k = foreign_consultation
    c = w.create_ok(token=w.gp_u["token"], consultation_id=k["id"])
    expected = {"id": k["id"], "status": "submitted", "submitted_at": k["submitted_at"],
                "due_at": k["due_at"], "answered_at": None}
    assert c["consultation"] == expected
    assert set(c["consultation"]) == LINKED_CONSULTATION_KEYS
    # everyone who sees the case sees the same, never the question's content
    for u in (w.gp_u, w.coord, w.gp_p):
        r = w.get(c["id"], u["token"])
        got = assert_json(r)
        assert got["consultation"] == expected
        assert k["question"] not in r.text and k["subject"] not in r.text


def test_coordinator_links_a_consultation_of_their_region(w, db, foreign_consultation):
    # A region's coordinator sees a consultation's pace (API.md §8), and the case shows only that.
    k = foreign_consultation
    invalid_create(w, db, w.body(consultation_id=k["id"]), "consultation_id", token=w.coord_b["token"])
    c = w.create_ok(token=w.coord["token"], consultation_id=k["id"])
    assert c["consultation"]["id"] == k["id"] and set(c["consultation"]) == LINKED_CONSULTATION_KEYS


@pytest.mark.parametrize("patient,field", [
    ({"mode": "anonymous", "age": 121, "sex": "m"}, "patient.age"),
    ({"mode": "anonymous", "age": 40, "sex": "v"}, "patient.sex"),
    ({"mode": "anonymous", "age": 40}, "patient.sex"),
    ({"mode": "pseudonymous", "age": 40, "sex": "m"}, "patient.mode"),
    ({"mode": "anonymous", "age": 40, "sex": "m", "name": "Jan"}, "patient.name"),
], ids=["age", "sex", "no-sex", "mode", "name-in-anonymous"])
def test_patient_validation(w, db, patient, field):
    invalid_create(w, db, w.body(patient=patient), field)


def test_consented_patient_validation(w, db):
    r = w.create(patient=consented_patient(name="Karel Foutief", bsn="123456789"))
    p = assert_problem(r, 422, "/problems/validation")
    assert "patient.bsn" in error_fields(p)
    assert "Foutief" not in r.text and "123456789" not in r.text


def test_waiting_in_the_future(w, db):
    d = (today_ams() + timedelta(days=2)).isoformat()
    invalid_create(w, db, w.body(waiting={"registered_on": d}), "waiting.registered_on")


def test_waiting_intake_before_registered(w, db):
    t = today_ams()
    waiting = {"registered_on": (t - timedelta(days=10)).isoformat(),
               "intake_on": (t - timedelta(days=11)).isoformat()}
    invalid_create(w, db, w.body(waiting=waiting), "waiting.intake_on")


def test_waiting_treatment_without_intake(w, db):
    t = today_ams()
    waiting = {"registered_on": (t - timedelta(days=10)).isoformat(),
               "treatment_on": (t - timedelta(days=2)).isoformat()}
    invalid_create(w, db, w.body(waiting=waiting), "waiting.treatment_on")


def test_waiting_treatment_before_intake_and_other_bad_dates(w, db):
    t = today_ams()
    waiting = {"registered_on": (t - timedelta(days=10)).isoformat(),
               "intake_on": (t - timedelta(days=5)).isoformat(),
               "treatment_on": (t - timedelta(days=6)).isoformat()}
    invalid_create(w, db, w.body(waiting=waiting), "waiting.treatment_on")
    invalid_create(w, db, w.body(waiting={"registered_on": "2026-02-30"}), "waiting.registered_on")
    invalid_create(w, db, w.body(waiting={}), "waiting.registered_on")


def test_waiting_all_dates(w):
    t = today_ams()
    waiting = {"registered_on": (t - timedelta(days=20)).isoformat(),
               "intake_on": (t - timedelta(days=13)).isoformat(),
               "treatment_on": (t - timedelta(days=6)).isoformat()}
    c = w.create_ok(waiting=waiting)
    assert c["waiting"] == waiting
    assert c["treeknorm"] == {"intake_weeks": 1, "intake_exceeded": False, "treatment_weeks": 1,
                              "treatment_exceeded": False}


# ---- the anonymity guard ----

IDENTIFIERS = [("bsn", "111222333"), ("email", "j.jansen@example.nl"), ("phone", "0612345678")]
TEXTS = ["title", "summary", "stagnation", "attempts", "proposed_solution"]


@pytest.mark.parametrize("field", TEXTS)
@pytest.mark.parametrize("kind,value", IDENTIFIERS, ids=[k for k, _ in IDENTIFIERS])
def test_anonymity_guard(w, db, field, kind, value):
    b = w.body()
    b[field] = f"Patiënt, gegevens {value} graag hulp"
    before = count_cases(db)
    r = w.create(body=b)
    p = assert_problem(r, 422, "/problems/validation")
    msgs = field_messages(p)
    assert field in msgs, p
    assert kind in msgs[field], f"message {msgs[field]!r} does not name {kind}"
    assert value not in r.text, "the identifier is echoed"
    assert count_cases(db) == before


def test_anonymity_guard_not_in_consented_mode(w):
    c = w.create_ok(patient=consented_patient(name="Bert Bereikbaar"), summary="Bereikbaar op 0612345678.")
    assert c["summary"] == "Bereikbaar op 0612345678."


def test_anonymity_guard_on_later_texts(w):
    c = w.in_state("in_progress")
    r = w.act(c["id"], "notes", w.coord["token"], {"body": "Mail de patiënt op jan@example.nl"})
    p = assert_problem(r, 422, "/problems/validation")
    assert "email" in field_messages(p)["body"]
    r = w.act(c["id"], "escalate", w.coord["token"], {"reason": "BSN 111222333 onbekend bij gemeente"})
    p = assert_problem(r, 422, "/problems/validation")
    assert "bsn" in field_messages(p)["reason"]
    assert "111222333" not in r.text
    assert w.get_ok(c["id"], w.coord["token"])["level"] == 1


# ---- the consented patient ----

def test_identity_shown_to_submitter_organisation_and_region_coordinator(w, consented_case):
    c, p = consented_case
    identity = {"mode": "consented", "name": NAME, "birth_date": "1968-11-02", "bsn": BSN,
                "consent": p["consent"]}
    assert c["patient"] == identity
    for u in (w.gp, w.poh, w.coord, w.coord2):
        assert w.get_ok(c["id"], u["token"])["patient"] == identity, u["user"]["role"]


def test_identity_hidden_from_parties(w, consented_case):
    c, _ = consented_case
    for u in (w.c1, w.gp_p):
        r = w.get(c["id"], u["token"])
        assert assert_json(r)["patient"] == HIDDEN
        assert SURNAME not in r.text and BSN not in r.text


def test_identity_not_in_clear_in_the_database(w, db, consented_case):
    c, _ = consented_case
    with db.cursor() as cur:
        cur.execute("SELECT c::text FROM cases c WHERE c.id = %s", (c["id"],))
        row = cur.fetchone()[0]
        cur.execute("SELECT coalesce(string_agg(e::text, ' '), '') FROM case_events e WHERE e.case_id = %s",
                    (c["id"],))
        events = cur.fetchone()[0]
    assert c["id"] in row  # sanity: this is the row
    # the texts are sealed as the identity is (docs/encryption.md)
    for needle in (SURNAME, BSN, "1968-11-02", c["title"], c["summary"]):
        assert needle not in row, f"{needle!r} in the cases row"
        assert needle not in events, f"{needle!r} in case_events"


def test_identity_reads_are_audited_with_patient_ref(w, consented_case, admin_token):
    c, _ = consented_case
    w.get_ok(c["id"], w.gp["token"])
    w.get_ok(c["id"], w.coord["token"])
    w.get_ok(c["id"], w.c1["token"])
    entries = audit_entries(w.api, admin_token, subject_id=c["id"])
    reads = [e for e in entries if e["action"] == "cases.read" and e["outcome"] == "success"]
    by = {}
    for e in reads:
        by.setdefault(e["actor"]["id"], []).append(e)
    assert w.gp["id"] in by and w.coord["id"] in by and w.c1["id"] in by, reads
    refs = {e["patient_ref"] for u in (w.gp, w.coord) for e in by[u["id"]]}
    assert len(refs) == 1 and None not in refs, refs
    ref = refs.pop()
    assert isinstance(ref, str) and ref
    assert all(e["patient_ref"] is None for e in by[w.c1["id"]]), by[w.c1["id"]]
    for needle in (SURNAME, BSN, "1968-11-02"):
        assert needle not in str(entries)
    created = [e for e in entries if e["action"] == "cases.create"]
    assert created and created[0]["actor"]["id"] == w.gp["id"]


def test_transition_reply_shows_identity_to_coordinator_and_is_audited(w, admin_token):
    p = consented_patient(name="Teun Overgangsman", birth_date="1975-04-04", bsn=BSN)
    c = w.create_ok(patient=p)
    got = w.intake(c["id"])
    assert got["patient"]["name"] == "Teun Overgangsman" and got["patient"]["bsn"] == BSN
    entries = audit_entries(w.api, admin_token, subject_id=c["id"], actor_id=w.coord["id"])
    intake = [e for e in entries if e["action"] == "cases.intake"]
    assert intake and intake[0]["patient_ref"], intake
    # a party member's note answers the event, never the patient
    r = w.act(c["id"], "notes", w.c1["token"], {"body": "Gezien."})
    assert_json(r, 201)
    assert "Overgangsman" not in r.text and BSN not in r.text


def test_idempotent_replay_of_a_consented_case_hides_the_identity(w, db):
    key = f"case-{uid()}"
    b = w.body(patient=consented_patient(name="Rosa Herhaalster", birth_date="1991-09-09", bsn=BSN))
    first = assert_json(w.create(body=b, headers={"Idempotency-Key": key}), 201)
    assert first["patient"]["name"] == "Rosa Herhaalster"
    r = w.create(body=b, headers={"Idempotency-Key": key})
    again = assert_json(r, 201)
    assert r.headers.get("Idempotent-Replayed") == "true"
    assert again["id"] == first["id"] and again["patient"] == HIDDEN
    with db.cursor() as cur:
        cur.execute("SELECT coalesce(string_agg(k::text, ' '), '') FROM idempotency_keys k WHERE key = %s", (key,))
        stored = cur.fetchone()[0]
    assert stored and "Herhaalster" not in stored and BSN not in stored


def test_anonymous_reads_have_no_patient_ref(w, admin_token):
    c = w.create_ok()
    w.get_ok(c["id"], w.gp["token"])
    reads = [e for e in audit_entries(w.api, admin_token, subject_id=c["id"]) if e["action"] == "cases.read"]
    assert reads and all(e["patient_ref"] is None for e in reads), reads


# ==== The walk through the four levels ====

def test_intake_work_done_starts_at_level_one(w, admin_token):
    c = w.create_ok()
    got = w.act_ok(c["id"], "intake", w.coord["token"], {"work_done": True, "note": "Informatie compleet."})
    assert set(got) == CASE_KEYS
    assert got["status"] == "in_progress" and got["level"] == 1
    assert got["intake_at"] is not None and parse_ts(got["intake_at"]) >= parse_ts(got["registered_at"])
    assert kinds(got) == ["registered", "intake"]
    e = got["timeline"][-1]
    assert e["level"] == 1 and e["detail"] == "Informatie compleet."
    assert e["actor"]["id"] == w.coord["id"] and e["actor"]["role"] == "coordinator"
    assert got["version"] > c["version"]
    actions = {e["action"] for e in audit_entries(w.api, admin_token, subject_id=c["id"])}
    assert {"cases.create", "cases.intake"} <= actions, actions


def test_intake_without_note(w):
    c = w.create_ok()
    got = w.act_ok(c["id"], "intake", w.coord2["token"], {"work_done": True})
    assert got["status"] == "in_progress" and got["timeline"][-1]["detail"] is None


def test_walk_up_to_level_four_and_back_down(w, db):
    c = w.in_state("in_progress")
    cid = c["id"]
    reasons = ["Partijen komen niet tot afspraken.", "Contractafspraken nodig met de verzekeraar.",
               "Bestuurlijk overleg is nodig."]
    for n, reason in enumerate(reasons, start=2):
        c = w.act_ok(cid, "escalate", w.coord["token"], {"reason": reason})
        assert c["status"] == "in_progress" and c["level"] == n
        e = c["timeline"][-1]
        assert e["kind"] == "escalated" and e["level"] == n and e["detail"] == reason
        assert e["actor"]["id"] == w.coord["id"]
    events = count_events(db, cid)
    p = assert_problem(w.act(cid, "escalate", w.coord["token"], {"reason": "Nog hoger?"}), 409,
                       "/problems/invalid-transition")
    assert "4" in p["detail"]
    assert count_events(db, cid) == events
    assert w.get_ok(cid, w.coord["token"])["level"] == 4
    for n in (3, 2, 1):
        c = w.act_ok(cid, "deescalate", w.coord2["token"], {"reason": f"Afspraken gemaakt, terug naar {n}."})
        assert c["level"] == n
        e = c["timeline"][-1]
        assert e["kind"] == "deescalated" and e["level"] == n and e["actor"]["id"] == w.coord2["id"]
    assert_problem(w.act(cid, "deescalate", w.coord["token"], {"reason": "Nog lager?"}), 409,
                   "/problems/invalid-transition")
    final = w.get_ok(cid, w.coord["token"])
    assert final["level"] == 1
    assert kinds(final) == ["registered", "intake"] + ["escalated"] * 3 + ["deescalated"] * 3
    assert [e["level"] for e in final["timeline"]] == [0, 1, 2, 3, 4, 3, 2, 1]


@pytest.mark.parametrize("action", ["escalate", "deescalate"])
@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": None}, {"reason": 3}],
                         ids=["missing", "empty", "blank", "null", "number"])
def test_level_change_needs_a_reason(w, db, action, body):
    c = w.in_state("in_progress", level=2)
    before = count_events(db, c["id"])
    p = assert_problem(w.act(c["id"], action, w.coord["token"], body), 422, "/problems/validation")
    assert "reason" in error_fields(p), p
    assert count_events(db, c["id"]) == before
    assert w.get_ok(c["id"], w.coord["token"])["level"] == 2


def test_level_change_only_in_progress(w):
    for state in ("registered", "returned", "resolved", "closed"):
        c = w.in_state(state)
        for action in ("escalate", "deescalate"):
            assert_problem(w.act(c["id"], action, w.coord["token"], {"reason": "Waarom niet?"}), 409,
                           "/problems/invalid-transition")


def test_intake_validation(w):
    c = w.create_ok()
    for body, field in (({}, "work_done"), ({"work_done": "yes"}, "work_done"),
                        ({"work_done": True, "extra": 1}, "extra")):
        p = assert_problem(w.act(c["id"], "intake", w.coord["token"], body), 422, "/problems/validation")
        assert field in error_fields(p), p
    assert w.get_ok(c["id"], w.coord["token"])["status"] == "registered"


def test_returned_edit_and_resubmit(w, db):
    c = w.create_ok()
    cid = c["id"]
    back = w.act_ok(cid, "intake", w.coord["token"], {"work_done": False, "note": "Verwijsbrief ontbreekt."})
    assert back["status"] == "returned" and back["level"] == 0 and back["intake_at"] is None
    assert back["timeline"][-1]["kind"] == "returned"
    assert back["timeline"][-1]["detail"] == "Verwijsbrief ontbreekt."
    new_parties = [{"organisation_id": w.mhp["id"], "role": "GGZ-aanbieder"},
                   {"organisation_id": w.municipality["id"], "role": "gemeente"}]
    r = w.patch(cid, w.gp["token"], {"title": "Nieuwe titel met verwijsbrief", "parties": new_parties})
    edited = assert_json(r)
    assert edited["status"] == "returned"
    assert edited["title"] == "Nieuwe titel met verwijsbrief"
    assert edited["summary"] == c["summary"]  # merge patch: untouched fields stay
    assert edited["parties"] == [{"organisation": org_ref(w.mhp), "role": "GGZ-aanbieder"},
                                 {"organisation": org_ref(w.municipality), "role": "gemeente"}]
    assert edited["timeline"][-1]["kind"] == "edited"
    assert r.headers.get("ETag") == f'"{edited["version"]}"'
    # the practice that is no longer a party loses sight of the case
    assert_problem(w.get(cid, w.gp_p["token"]), 404)
    again = w.act_ok(cid, "resubmit", w.poh["token"])
    assert again["status"] == "registered" and again["level"] == 0
    assert kinds(again) == ["registered", "returned", "edited", "resubmitted"]
    assert parse_ts(again["registered_at"]) >= parse_ts(c["registered_at"])
    # no edits once it is registered again
    events = count_events(db, cid)
    assert_problem(w.patch(cid, w.gp["token"], {"title": "Nog een titel"}), 409, "/problems/invalid-transition")
    assert_problem(w.act(cid, "resubmit", w.gp["token"]), 409, "/problems/invalid-transition")
    assert count_events(db, cid) == events
    assert w.get_ok(cid, w.gp["token"])["title"] == "Nieuwe titel met verwijsbrief"


def test_patch_validation_while_returned(w, db):
    c = w.in_state("returned")
    cid = c["id"]
    for body, field in (({"proposed_solution": "  "}, "proposed_solution"),
                        ({"parties": []}, "parties"),
                        ({"parties": [{"organisation_id": new_id(), "role": "x"}]}, "parties[0].organisation_id"),
                        ({"status": "registered"}, "status"),
                        ({"summary": "Bel 0612345678"}, "summary")):
        p = assert_problem(w.patch(cid, w.gp["token"], body), 422, "/problems/validation")
        assert field in error_fields(p), (body, p)
    got = w.get_ok(cid, w.gp["token"])
    assert got["title"] == c["title"] and got["parties"] == c["parties"]
    assert kinds(got) == ["registered", "returned"]


def test_patch_waiting_replaces_all_three_dates(w, db):
    # docs/cases.md: a given `waiting` replaces all three dates, so it needs registered_on.
    t = today_ams()
    reg = (t - timedelta(days=20)).isoformat()
    c = w.in_state("returned", waiting={"registered_on": reg})
    intake_on = (t - timedelta(days=3)).isoformat()
    p = assert_problem(w.patch(c["id"], w.gp["token"], {"waiting": {"intake_on": intake_on}}), 422,
                       "/problems/validation")
    assert "waiting.registered_on" in error_fields(p)
    assert w.get_ok(c["id"], w.gp["token"])["waiting"]["intake_on"] is None
    got = assert_json(w.patch(c["id"], w.gp["token"],
                              {"waiting": {"registered_on": reg, "intake_on": intake_on}}))
    assert got["waiting"] == {"registered_on": reg, "intake_on": intake_on, "treatment_on": None}


def test_patch_waiting_set_and_removed(w):
    t = today_ams()
    c = w.in_state("returned")
    waiting = {"registered_on": (t - timedelta(days=20)).isoformat(), "intake_on": (t - timedelta(days=3)).isoformat(),
               "treatment_on": None}
    got = assert_json(w.patch(c["id"], w.gp["token"], {"waiting": waiting}))
    assert got["waiting"] == waiting and got["treeknorm"]["intake_weeks"] == 2
    got = assert_json(w.patch(c["id"], w.poh["token"], {"waiting": None}))
    assert got["waiting"] is None
    assert kinds(got) == ["registered", "returned", "edited", "edited"]


def test_edit_and_resubmit_only_by_the_submitter(w):
    c = w.in_state("returned")
    for u in (w.c1, w.coord):
        assert_problem(w.patch(c["id"], u["token"], {"title": "Van een ander"}), 403)
        assert_problem(w.act(c["id"], "resubmit", u["token"]), 403)
    assert_problem(w.patch(c["id"], w.gp_u["token"], {"title": "Van een ander"}), 404)
    assert w.get_ok(c["id"], w.gp["token"])["title"] == c["title"]


def test_intake_only_once(w, db):
    c = w.in_state("in_progress")
    events = count_events(db, c["id"])
    p = assert_problem(w.act(c["id"], "intake", w.coord["token"], {"work_done": True}), 409,
                       "/problems/invalid-transition")
    assert "in_progress" in p["detail"]
    assert count_events(db, c["id"]) == events
    r = w.act(w.in_state("returned")["id"], "intake", w.coord["token"], {"work_done": True})
    assert_problem(r, 409, "/problems/invalid-transition")


def test_conflicts_say_why_in_one_sentence(w):
    # The step names the status, or says why when the status is not the reason, once.
    c = w.in_state("in_progress", level=4)
    p = assert_problem(w.act(c["id"], "escalate", w.coord["token"], {"reason": "Nog hoger."}), 409)
    assert p["detail"] == "The case is at level 4, the highest."
    c = w.in_state("in_progress")
    p = assert_problem(w.act(c["id"], "deescalate", w.coord["token"], {"reason": "Lager."}), 409)
    assert p["detail"] == "The case is at level 1, the lowest."
    p = assert_problem(w.act(c["id"], "resolve", w.coord["token"], {"solution": "Opgelost."}), 409)
    assert p["detail"] == "The case has no regie holder: set one before resolving."
    p = assert_problem(w.act(c["id"], "resubmit", w.gp["token"]), 409)
    assert p["detail"] == "Not possible while the case is in_progress."


def test_intake_answers_the_status_before_who_may(w):
    # A coordinator of another region whose organisation is a party sees the case; intake moves
    # the status, so a wrong status is 409 before their relation is 403.
    parties = [{"organisation_id": w.mhp["id"], "role": "GGZ-aanbieder"},
               {"organisation_id": w.coord_org_b["id"], "role": "Zorgconsul elders"}]
    c = w.in_state("returned", parties=parties)
    assert_problem(w.act(c["id"], "intake", w.coord_b["token"], {"work_done": True}), 409,
                   "/problems/invalid-transition")
    c = w.create_ok(parties=parties)
    assert_problem(w.act(c["id"], "intake", w.coord_b["token"], {"work_done": True}), 403)


def test_blank_notes_and_results_are_refused(w, db):
    c = w.create_ok()
    events = count_events(db, c["id"])
    p = assert_problem(w.act(c["id"], "intake", w.coord["token"], {"work_done": True, "note": "  "}),
                       422, "/problems/validation")
    assert error_fields(p) == {"note"}
    w.intake(c["id"])
    a = w.add_action(c["id"])
    p = assert_problem(w.api.patch(f"/v1/cases/{c['id']}/actions/{a['id']}", token=w.coord["token"],
                                   json={"status": "done", "result": "\n"}), 422)
    assert error_fields(p) == {"result"}
    assert count_events(db, c["id"]) == events + 2  # the intake and the action only


def test_an_action_of_another_case_is_not_found(w):
    c1, c2 = w.in_state("in_progress"), w.in_state("in_progress")
    a = w.add_action(c1["id"])
    p = assert_problem(w.api.patch(f"/v1/cases/{c2['id']}/actions/{a['id']}", token=w.coord["token"],
                                   json={"status": "done"}), 404)
    assert p["detail"] == "No such action."


# ==== Regie, resolve, close ====

def test_regie_must_be_a_party(w, db):
    c = w.in_state("in_progress")
    for org in (w.unrelated, w.municipality):
        p = assert_problem(w.act(c["id"], "regie", w.coord["token"], {"organisation_id": org["id"]},
                                 method="PUT"), 422, "/problems/validation")
        assert "organisation_id" in error_fields(p), p
    p = assert_problem(w.act(c["id"], "regie", w.coord["token"], {"organisation_id": new_id()}, method="PUT"),
                       422, "/problems/validation")
    assert "organisation_id" in error_fields(p)
    assert w.get_ok(c["id"], w.coord["token"])["regie_organisation"] is None


def test_regie_set_by_coordinator(w):
    c = w.in_state("in_progress")
    got = w.act_ok(c["id"], "regie", w.coord["token"], {"organisation_id": w.insurer["id"]}, method="PUT")
    assert set(got) == CASE_KEYS
    assert got["regie_organisation"] == org_ref(w.insurer)
    assert got["timeline"][-1]["kind"] == "regie_set"
    got = w.set_regie(c["id"], w.mhp)
    assert got["regie_organisation"] == org_ref(w.mhp)
    # a registered case may get its regie holder before the intake too
    r = w.create_ok()
    assert w.set_regie(r["id"], w.practice_p)["regie_organisation"] == org_ref(w.practice_p)


def test_regie_only_by_coordinator(w):
    c = w.in_state("in_progress")
    for u in (w.gp, w.c1):
        assert_problem(w.act(c["id"], "regie", u["token"], {"organisation_id": w.mhp["id"]}, method="PUT"), 403)
    assert w.get_ok(c["id"], w.coord["token"])["regie_organisation"] is None


def test_resolve_needs_regie_then_close(w, db):
    c = w.in_state("in_progress", level=2)
    cid = c["id"]
    body = {"solution": "GGZ start de behandeling; de gemeente regelt schuldhulp.", "follow_up_on": "2027-03-01"}
    events = count_events(db, cid)
    assert_problem(w.act(cid, "resolve", w.coord["token"], body), 409, "/problems/invalid-transition")
    assert count_events(db, cid) == events
    w.set_regie(cid)
    done = w.act_ok(cid, "resolve", w.coord["token"], body)
    assert done["status"] == "resolved" and done["level"] == 2
    assert done["solution"] == body["solution"] and done["follow_up_on"] == "2027-03-01"
    assert done["resolved_at"] is not None and done["closed_at"] is None
    assert done["timeline"][-1]["kind"] == "resolved"
    assert done["stalled"] == {"is_stalled": False, "reasons": []}
    closed = w.act_ok(cid, "close", w.coord["token"], {"note": "Evaluatie goed verlopen."})
    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert closed["timeline"][-1]["kind"] == "closed"
    assert closed["timeline"][-1]["detail"] == "Evaluatie goed verlopen."
    events = count_events(db, cid)
    assert_problem(w.act(cid, "notes", w.gp["token"], {"body": "Nog een aanvulling."}), 409,
                   "/problems/invalid-transition")
    assert_problem(w.act(cid, "close", w.coord["token"], {}), 409, "/problems/invalid-transition")
    assert_problem(w.act(cid, "escalate", w.coord["token"], {"reason": "Opnieuw"}), 409,
                   "/problems/invalid-transition")
    assert count_events(db, cid) == events


def test_close_only_from_resolved(w):
    c = w.in_state("in_progress")
    assert_problem(w.act(c["id"], "close", w.coord["token"], {"note": "Te vroeg."}), 409,
                   "/problems/invalid-transition")
    r = w.create_ok()
    assert_problem(w.act(r["id"], "close", w.coord["token"], {}), 409, "/problems/invalid-transition")
    assert w.get_ok(c["id"], w.coord["token"])["status"] == "in_progress"


def test_resolve_validation_and_who(w):
    c = w.in_state("in_progress")
    w.set_regie(c["id"])
    p = assert_problem(w.act(c["id"], "resolve", w.coord["token"], {"solution": "  "}), 422, "/problems/validation")
    assert "solution" in error_fields(p)
    p = assert_problem(w.act(c["id"], "resolve", w.coord["token"], {"solution": "Ok", "follow_up_on": "1-3-2027"}),
                       422, "/problems/validation")
    assert "follow_up_on" in error_fields(p)
    assert_problem(w.act(c["id"], "resolve", w.c1["token"], {"solution": "Ok"}), 403)
    assert_problem(w.act(c["id"], "resolve", w.gp["token"], {"solution": "Ok"}), 403)
    assert w.get_ok(c["id"], w.coord["token"])["status"] == "in_progress"


# ==== Actions ====

def test_action_owner_must_be_a_party(w, db):
    c = w.in_state("in_progress")
    body = {"description": "Schuldhulp aanvragen.", "owner_organisation_id": w.unrelated["id"], "due_on": "2027-01-15"}
    p = assert_problem(w.act(c["id"], "actions", w.coord["token"], body), 422, "/problems/validation")
    assert "owner_organisation_id" in error_fields(p), p
    assert sql_count(db, "SELECT count(*) FROM case_actions WHERE case_id = %s", c["id"]) == 0


def test_action_validation(w):
    c = w.in_state("in_progress")
    good = {"description": "Intake plannen.", "owner_organisation_id": w.mhp["id"], "due_on": "2027-01-15"}
    for over, field in (({"description": " "}, "description"), ({"due_on": "15-01-2027"}, "due_on"),
                        ({"owner_organisation_id": "x"}, "owner_organisation_id"), ({"colour": "red"}, "colour")):
        p = assert_problem(w.act(c["id"], "actions", w.coord["token"], {**good, **over}), 422,
                           "/problems/validation")
        assert field in error_fields(p), (over, p)
    for missing in ("description", "owner_organisation_id", "due_on"):
        b = dict(good)
        del b[missing]
        p = assert_problem(w.act(c["id"], "actions", w.coord["token"], b), 422, "/problems/validation")
        assert missing in error_fields(p)
    assert w.get_ok(c["id"], w.coord["token"])["actions"] == []


def test_action_create_shape(w, db):
    c = w.in_state("in_progress")
    body = {"description": "Intake plannen binnen twee weken.", "owner_organisation_id": w.mhp["id"],
            "due_on": "2027-01-15"}
    r = w.act(c["id"], "actions", w.coord["token"], body)
    a = assert_json(r, 201)
    assert set(a) == ACTION_KEYS, set(a) ^ ACTION_KEYS
    assert a["description"] == body["description"]
    assert a["owner_organisation"] == org_ref(w.mhp)
    assert a["due_on"] == "2027-01-15" and a["status"] == "open"
    assert a["result"] is None and a["closed_at"] is None
    assert abs((parse_ts(a["created_at"]) - utcnow()).total_seconds()) < 60
    got = w.get_ok(c["id"], w.coord["token"])
    assert got["actions"] == [a]
    assert got["timeline"][-1]["kind"] == "action_created"
    # only a coordinator creates actions, and only while in progress
    assert_problem(w.act(c["id"], "actions", w.c1["token"], body), 403)
    assert_problem(w.act(c["id"], "actions", w.gp["token"], body), 403)
    assert_problem(w.act(w.create_ok()["id"], "actions", w.coord["token"], body), 409, "/problems/invalid-transition")
    assert len(w.get_ok(c["id"], w.coord["token"])["actions"]) == 1


def test_action_closed_by_member_of_owner(w, db):
    c = w.in_state("in_progress")
    a = w.add_action(c["id"], owner=w.mhp)
    path = f"actions/{a['id']}"
    # a member of another party organisation may not close it
    assert_problem(w.act(c["id"], path, w.gp_p["token"], {"status": "done", "result": "Gedaan"}, method="PATCH"), 403)
    # nor the submitter who is no party
    assert_problem(w.act(c["id"], path, w.gp["token"], {"status": "done", "result": "Gedaan"}, method="PATCH"), 403)
    got = w.act_ok(c["id"], path, w.c2["token"], {"status": "done", "result": "Intake op 12 januari."},
                   method="PATCH")
    assert set(got) == ACTION_KEYS
    assert got["id"] == a["id"] and got["status"] == "done" and got["result"] == "Intake op 12 januari."
    assert got["closed_at"] is not None
    case = w.get_ok(c["id"], w.coord["token"])
    assert case["actions"] == [got]
    assert case["timeline"][-1]["kind"] == "action_done"
    assert case["timeline"][-1]["actor"]["id"] == w.c2["id"]
    # closing a done action
    assert_problem(w.act(c["id"], path, w.c1["token"], {"status": "done"}, method="PATCH"), 409,
                   "/problems/invalid-transition")
    assert_problem(w.act(c["id"], path, w.coord["token"], {"status": "done"}, method="PATCH"), 409,
                   "/problems/invalid-transition")


def test_action_closed_by_region_coordinator(w):
    c = w.in_state("in_progress")
    a = w.add_action(c["id"], owner=w.insurer)
    got = w.act_ok(c["id"], f"actions/{a['id']}", w.coord2["token"], {"status": "done", "result": "Afgehandeld."},
                   method="PATCH")
    assert got["status"] == "done"


def test_action_unknown_and_validation(w):
    c = w.in_state("in_progress")
    a = w.add_action(c["id"])
    assert_problem(w.act(c["id"], f"actions/{new_id()}", w.coord["token"], {"status": "done"}, method="PATCH"), 404)
    # an action of another case is not found through this one
    other = w.in_state("in_progress")
    assert_problem(w.act(other["id"], f"actions/{a['id']}", w.coord["token"], {"status": "done"}, method="PATCH"),
                   404)
    assert_problem(w.act(c["id"], "actions/not-a-uuid", w.coord["token"], {"status": "done"}, method="PATCH"), 404)
    for body, field in (({"status": "open"}, "status"), ({}, "status"), ({"status": "done", "x": 1}, "x")):
        p = assert_problem(w.act(c["id"], f"actions/{a['id']}", w.c1["token"], body, method="PATCH"), 422,
                           "/problems/validation")
        assert field in error_fields(p)
    assert w.get_ok(c["id"], w.coord["token"])["actions"][0]["status"] == "open"


def test_action_closed_after_resolve(w):
    c = w.in_state("in_progress")
    a = w.add_action(c["id"])
    w.set_regie(c["id"])
    w.act_ok(c["id"], "resolve", w.coord["token"], {"solution": "Opgelost."})
    got = w.act_ok(c["id"], f"actions/{a['id']}", w.c1["token"], {"status": "done"}, method="PATCH")
    assert got["status"] == "done" and got["result"] is None
    b = w.add_action(w.in_state("in_progress")["id"])
    done = w.in_state("closed")
    assert_problem(w.act(done["id"], f"actions/{b['id']}", w.coord["token"], {"status": "done"}, method="PATCH"),
                   409, "/problems/invalid-transition")


# ==== Conferences ====

def test_conference_participants_must_be_parties(w, db):
    c = w.in_state("in_progress", level=2)
    body = {"starts_at": "2027-01-20T09:00:00Z", "participants": [w.mhp["id"], w.unrelated["id"]],
            "agenda": "Wie neemt de regie?"}
    p = assert_problem(w.act(c["id"], "conferences", w.coord["token"], body), 422, "/problems/validation")
    assert "participants[1]" in error_fields(p), p
    body["participants"] = [w.municipality["id"], w.mhp["id"]]
    p = assert_problem(w.act(c["id"], "conferences", w.coord["token"], body), 422, "/problems/validation")
    assert "participants[0]" in error_fields(p), p
    assert sql_count(db, "SELECT count(*) FROM case_conferences WHERE case_id = %s", c["id"]) == 0


def test_conference_shape(w):
    c = w.in_state("in_progress", level=2)
    body = {"starts_at": "2027-01-20T09:00:00Z", "participants": [w.mhp["id"], w.insurer["id"]],
            "agenda": "Wie neemt de regie? Afspraken over vergoeding."}
    conf = assert_json(w.act(c["id"], "conferences", w.coord["token"], body), 201)
    assert set(conf) == CONFERENCE_KEYS, set(conf) ^ CONFERENCE_KEYS
    assert conf["starts_at"] == "2027-01-20T09:00:00Z"
    assert conf["participants"] == [org_ref(w.mhp), org_ref(w.insurer)]
    assert conf["agenda"] == body["agenda"]
    parse_ts(conf["created_at"])
    got = w.get_ok(c["id"], w.c1["token"])
    assert got["conferences"] == [conf]
    assert got["timeline"][-1]["kind"] == "conference_planned"
    assert_problem(w.act(c["id"], "conferences", w.c1["token"], body), 403)
    for bad, field in (({"participants": []}, "participants"), ({"starts_at": "morgen"}, "starts_at"),
                       ({"agenda": ""}, "agenda"), ({"participants": [w.mhp["id"], w.mhp["id"]]}, "participants[1]")):
        p = assert_problem(w.act(c["id"], "conferences", w.coord["token"], {**body, **bad}), 422,
                           "/problems/validation")
        assert field in error_fields(p), (bad, p)


# ==== Notes ====

@pytest.mark.parametrize("who", ["gp", "poh", "c1", "gp_p", "coord"])
def test_note_by_submitter_party_and_coordinator(w, who):
    u = getattr(w, who)
    c = w.in_state("in_progress", level=2)
    text = f"Aanvulling van {u['user']['role']}: patiënt staat nog op de wachtlijst."
    e = assert_json(w.act(c["id"], "notes", u["token"], {"body": text}), 201)
    assert set(e) == EVENT_KEYS, e
    assert e["kind"] == "note" and e["detail"] == text and e["level"] == 2
    assert e["actor"] == {"id": u["id"], "name": u["user"]["name"], "role": u["user"]["role"]}
    got = w.get_ok(c["id"], w.coord["token"])
    assert got["timeline"][-1] == e
    assert got["level"] == 2


def test_notes_in_every_open_status(w):
    for state in ("registered", "returned", "resolved"):
        c = w.in_state(state)
        assert assert_json(w.act(c["id"], "notes", w.gp["token"], {"body": "Ter info."}), 201)["kind"] == "note"


def test_note_validation_and_strangers(w):
    c = w.in_state("in_progress")
    for body in ({}, {"body": "  "}, {"body": "x", "to": "iedereen"}):
        assert_problem(w.act(c["id"], "notes", w.gp["token"], body), 422, "/problems/validation")
    assert_problem(w.act(c["id"], "notes", w.gp_u["token"], {"body": "Ik ken deze casus niet."}), 404)
    assert_problem(w.act(c["id"], "notes", w.coord_b["token"], {"body": "Ik ook niet."}), 404)
    assert kinds(w.get_ok(c["id"], w.gp["token"])) == ["registered", "intake"]


# ==== Who sees a case ====

def _every_action(w, cid, action_id):
    """(method, path suffix, body) of every action on a case."""
    return [("GET", "", None),
            ("PATCH", "", {"title": "Andere titel"}),
            ("POST", "/intake", {"work_done": True}),
            ("POST", "/resubmit", None),
            ("POST", "/escalate", {"reason": "Van buiten de regio."}),
            ("POST", "/deescalate", {"reason": "Van buiten de regio."}),
            ("PUT", "/regie", {"organisation_id": w.mhp["id"]}),
            ("POST", "/actions", {"description": "Iets doen.", "owner_organisation_id": w.mhp["id"],
                                  "due_on": "2027-01-15"}),
            ("PATCH", f"/actions/{action_id}", {"status": "done"}),
            ("POST", "/conferences", {"starts_at": "2027-01-20T09:00:00Z", "participants": [w.mhp["id"]],
                                      "agenda": "Overleg."}),
            ("POST", "/notes", {"body": "Van buiten de regio."}),
            ("POST", "/resolve", {"solution": "Opgelost."}),
            ("POST", "/close", {"note": "Klaar."})]


def test_coordinator_of_another_region_gets_404_everywhere(w, db, admin_token):
    c = w.in_state("in_progress", level=2)
    a = w.add_action(c["id"])
    w.set_regie(c["id"])
    before = w.get_ok(c["id"], w.coord["token"])
    events = count_events(db, c["id"])
    for method, suffix, body in _every_action(w, c["id"], a["id"]):
        kw = {} if body is None else {"json": body}
        r = w.api.request(method, f"/v1/cases/{c['id']}{suffix}", token=w.coord_b["token"], **kw)
        assert_problem(r, 404, "/problems/not-found")
    assert count_events(db, c["id"]) == events
    assert w.get_ok(c["id"], w.coord["token"]) == before
    denied = [e for e in audit_entries(w.api, admin_token, subject_id=c["id"], actor_id=w.coord_b["id"])
              if e["outcome"] == "denied"]
    assert any(e["action"] == "cases.read" for e in denied), denied


def test_unrelated_practice_gets_404(w, db):
    c = w.in_state("in_progress")
    a = w.add_action(c["id"])
    events = count_events(db, c["id"])
    for method, suffix, body in _every_action(w, c["id"], a["id"]):
        if suffix in ("/intake", "/escalate", "/deescalate", "/regie", "/actions", "/conferences", "/resolve",
                      "/close"):
            continue  # coordinator-only routes: a gp gets 403 there (below)
        kw = {} if body is None else {"json": body}
        r = w.api.request(method, f"/v1/cases/{c['id']}{suffix}", token=w.gp_u["token"], **kw)
        assert_problem(r, 404, "/problems/not-found")
    assert count_events(db, c["id"]) == events


@pytest.mark.parametrize("who", ["billing", "admin"])
def test_billing_and_admin_403(w, who):
    c = w.in_state("in_progress")
    tok = w.billing["token"] if who == "billing" else w.admin_token
    assert_problem(w.api.get("/v1/cases", token=tok), 403, "/problems/forbidden")
    assert_problem(w.get(c["id"], tok), 403, "/problems/forbidden")
    assert_problem(w.get(new_id(), tok), 403, "/problems/forbidden")
    assert_problem(w.act(c["id"], "notes", tok, {"body": "Hallo"}), 403, "/problems/forbidden")


def test_coordinator_routes_refuse_other_roles(w, db):
    c = w.create_ok()
    events = count_events(db, c["id"])
    assert_problem(w.act(c["id"], "intake", w.gp["token"], {"work_done": True}), 403, "/problems/forbidden")
    assert_problem(w.act(c["id"], "intake", w.c1["token"], {"work_done": True}), 403, "/problems/forbidden")
    p = w.in_state("in_progress")
    assert_problem(w.act(p["id"], "escalate", w.c1["token"], {"reason": "Ik wil escaleren."}), 403,
                   "/problems/forbidden")
    assert_problem(w.act(p["id"], "escalate", w.gp["token"], {"reason": "Ik wil escaleren."}), 403,
                   "/problems/forbidden")
    assert count_events(db, c["id"]) == events
    assert w.get_ok(p["id"], w.coord["token"])["level"] == 1


def test_malformed_and_unknown_ids(w):
    for path in ("/v1/cases/not-a-uuid", "/v1/cases/12345", f"/v1/cases/{new_id()}"):
        assert_problem(w.api.get(path, token=w.coord["token"]), 404)
    assert_problem(w.act("not-a-uuid", "notes", w.gp["token"], {"body": "x"}), 404)
    assert_problem(w.act(new_id(), "escalate", w.coord["token"], {"reason": "x"}), 404)


def test_party_sees_case_but_submitter_relation_is_by_organisation(w):
    c = w.create_ok(token=w.poh["token"])
    for u in (w.gp, w.poh, w.c1, w.c2, w.gp_p, w.coord, w.coord2):
        assert w.get_ok(c["id"], u["token"])["id"] == c["id"]
    for u in (w.gp_u, w.coord_b):
        assert_problem(w.get(c["id"], u["token"]), 404)


# ==== ETag / If-Match ====

def test_etag_and_if_match(w, db):
    c = w.in_state("in_progress")
    r = w.get(c["id"], w.coord["token"])
    got = assert_json(r)
    etag = r.headers.get("ETag")
    assert etag == f'"{got["version"]}"'
    # someone else changes the case: the ETag read before is stale
    w.act_ok(c["id"], "notes", w.gp["token"], {"body": "Tussendoor."}, status=201)
    events = count_events(db, c["id"])
    r = w.act(c["id"], "escalate", w.coord["token"], {"reason": "Te laat."}, headers={"If-Match": etag})
    assert_problem(r, 412, "/problems/precondition-failed")
    assert count_events(db, c["id"]) == events
    r = w.get(c["id"], w.coord["token"])
    fresh = r.headers.get("ETag")
    assert fresh != etag
    r = w.act(c["id"], "escalate", w.coord["token"], {"reason": "Nu wel."}, headers={"If-Match": fresh})
    up = assert_json(r)
    assert up["level"] == 2
    assert r.headers.get("ETag") == f'"{up["version"]}"' != fresh
    r = w.patch(w.in_state("returned")["id"], w.gp["token"], {"title": "Nieuw"}, headers={"If-Match": '"999999"'})
    assert_problem(r, 412, "/problems/precondition-failed")


# ==== Idempotency-Key ====

def test_idempotent_registration(w, db):
    key = f"case-{uid()}"
    b = w.body()
    before = count_cases(db)
    r1 = w.create(body=b, headers={"Idempotency-Key": key})
    c1 = assert_json(r1, 201)
    assert r1.headers.get("Idempotent-Replayed") in (None, "false")
    r2 = w.create(body=b, headers={"Idempotency-Key": key})
    c2 = assert_json(r2, 201)
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert c2 == c1
    assert count_cases(db) == before + 1
    other = dict(b, title="Een andere titel")
    assert_problem(w.create(body=other, headers={"Idempotency-Key": key}), 409, "/problems/idempotency-conflict")
    # the same key of another user is another request
    r3 = w.create(token=w.poh["token"], body=b, headers={"Idempotency-Key": key})
    assert assert_json(r3, 201)["id"] != c1["id"]
    assert count_cases(db) == before + 2


# ==== Notifications ====

def test_registration_notifies_region_coordinators(w):
    c = w.create_ok()
    for u in (w.coord, w.coord2):
        assert w.note_kinds(u, c["id"]) == ["case_registered"], u["user"]["name"]
        n = w.notes_for(u, c["id"])[0]
        assert n["subject_type"] == "case" and n["read_at"] is None
    for u in (w.coord_b, w.gp, w.c1, w.gp_p):
        assert w.note_kinds(u, c["id"]) == []
    # a coordinator who registers is not told of their own case
    d = w.create_ok(token=w.coord["token"])
    assert w.note_kinds(w.coord, d["id"]) == []
    assert w.note_kinds(w.coord2, d["id"]) == ["case_registered"]


def test_level_changes_notify_party_members(w):
    c = w.create_ok()
    w.intake(c["id"])
    for u in (w.c1, w.c2, w.gp_p):
        assert w.note_kinds(u, c["id"]) == ["case_level_changed"], u["user"]["name"]
    for u in (w.gp, w.poh, w.gp_u, w.coord_b):
        assert "case_level_changed" not in w.note_kinds(u, c["id"])
    w.escalate(c["id"])
    w.act_ok(c["id"], "deescalate", w.coord["token"], {"reason": "Toch niet nodig."})
    assert w.note_kinds(w.c1, c["id"]).count("case_level_changed") == 3
    # a return is no level change
    r = w.create_ok()
    w.intake(r["id"], work_done=False)
    assert "case_level_changed" not in w.note_kinds(w.c1, r["id"])


def test_level_change_not_notified_to_the_actor(w):
    parties = [{"organisation_id": w.coord_org["id"], "role": "zorgconsul"},
               {"organisation_id": w.mhp["id"], "role": "GGZ"}]
    c = w.create_ok(parties=parties)
    w.intake(c["id"], token=w.coord["token"])
    assert "case_level_changed" not in w.note_kinds(w.coord, c["id"])
    assert "case_level_changed" in w.note_kinds(w.coord2, c["id"])
    assert "case_level_changed" in w.note_kinds(w.c1, c["id"])


def test_action_assigned_notifies_owner_members(w):
    c = w.in_state("in_progress")
    w.add_action(c["id"], owner=w.mhp)
    for u in (w.c1, w.c2):
        assert w.note_kinds(u, c["id"]).count("case_action_assigned") == 1
    for u in (w.gp_p, w.gp, w.coord):
        assert "case_action_assigned" not in w.note_kinds(u, c["id"])
    w.add_action(c["id"], owner=w.practice_p)
    assert w.note_kinds(w.gp_p, c["id"]).count("case_action_assigned") == 1
    assert w.note_kinds(w.c1, c["id"]).count("case_action_assigned") == 1


def test_case_notifications_carry_no_clinical_text(w, consented_case):
    c, _ = consented_case
    text = str(w.api.list_all("/v1/notifications", w.coord["token"]))
    assert c["id"] in text
    for needle in (SURNAME, BSN, c["summary"], c["title"]):
        assert needle not in text


# ==== GET /v1/cases ====

@pytest.fixture(scope="module")
def lw(api, factory, admin_token):
    return CaseWorld(api, factory, admin_token, prefix="cl")


@pytest.fixture(scope="module")
def listed(lw, factory):
    """The cases of the list world, by name."""
    x = {}
    x["reg"] = lw.create_ok()
    x["reg_coord"] = lw.create_ok(token=lw.coord["token"], reported_by="relative")
    x["ret"] = lw.in_state("returned")
    x["ip1"] = lw.in_state("in_progress")
    x["ip2"] = lw.in_state("in_progress", level=2)
    x["ip3"] = lw.in_state("in_progress", level=3)
    x["res"] = lw.in_state("resolved")
    x["insurer_only"] = lw.create_ok(token=lw.poh["token"],
                                     parties=[{"organisation_id": lw.insurer["id"], "role": "zorgverzekeraar"}])
    x["stalled"] = lw.create_ok(waiting={"registered_on": (today_ams() - timedelta(days=40)).isoformat()})
    assert x["stalled"]["stalled"] == {"is_stalled": True, "reasons": ["treeknorm_intake"]}
    elsewhere = factory.make_org("mental_health_provider", lw.other_region, name=f"GGZ elders {uid()}")
    x["elsewhere"] = lw.create_ok(token=lw.coord_b["token"],
                                  parties=[{"organisation_id": elsewhere["id"], "role": "GGZ"}])
    return x


def _ids(items):
    return [i["id"] for i in items]


def _list(lw, user, **params):
    return lw.api.list_all("/v1/cases", user["token"], params=params)


def test_list_coordinator_sees_their_region(lw, listed):
    items = _list(lw, lw.coord)
    region = {k: v["id"] for k, v in listed.items() if k != "elsewhere"}
    assert set(_ids(items)) == set(region.values())
    assert len(items) == len(set(_ids(items)))
    assert all(i["region"] == lw.region for i in items)
    assert set(_ids(_list(lw, lw.coord2))) == set(region.values())
    assert _ids(_list(lw, lw.coord_b)) == [listed["elsewhere"]["id"]]


def test_list_item_shape(lw, listed):
    items = _list(lw, lw.coord)
    for i in items:
        assert set(i) == LIST_KEYS, set(i) ^ LIST_KEYS


def test_list_item_agrees_with_the_case(lw, listed):
    items = {i["id"]: i for i in _list(lw, lw.coord)}
    for name in ("ip2", "res", "stalled"):
        full = lw.get_ok(listed[name]["id"], lw.coord["token"])
        item = items[full["id"]]
        for k in set(item) & CASE_KEYS:
            assert item[k] == full[k], (name, k)
        for k in ("summary", "patient", "timeline", "parties", "actions"):
            assert k not in item


def test_list_party_and_submitter(lw, listed):
    with_mhp = {v["id"] for k, v in listed.items() if k not in ("insurer_only", "elsewhere")}
    assert set(_ids(_list(lw, lw.c1))) == with_mhp
    assert set(_ids(_list(lw, lw.gp_p))) == with_mhp
    submitted = {v["id"] for k, v in listed.items() if k not in ("reg_coord", "elsewhere")}
    assert set(_ids(_list(lw, lw.gp))) == submitted
    assert set(_ids(_list(lw, lw.poh))) == submitted
    assert _list(lw, lw.gp_u) == []


def test_list_newest_first(lw, listed):
    items = _list(lw, lw.coord)
    stamps = [parse_ts(i["registered_at"]) for i in items]
    assert stamps == sorted(stamps, reverse=True)
    assert items[0]["id"] == listed["stalled"]["id"]


def test_list_filters(lw, listed):
    def ids(**p):
        return set(_ids(_list(lw, lw.coord, **p)))
    x = {k: v["id"] for k, v in listed.items()}
    assert ids(status="registered") == {x["reg"], x["reg_coord"], x["insurer_only"], x["stalled"]}
    assert ids(status="returned") == {x["ret"]}
    assert ids(status="in_progress") == {x["ip1"], x["ip2"], x["ip3"]}
    assert ids(status="resolved") == {x["res"]}
    assert ids(status="closed") == set()
    assert ids(level="0") == {x["reg"], x["reg_coord"], x["insurer_only"], x["stalled"], x["ret"]}
    assert ids(level="1") == {x["ip1"], x["res"]}
    assert ids(level="2") == {x["ip2"]}
    assert ids(level="3") == {x["ip3"]}
    assert ids(level="4") == set()
    assert ids(stalled="true") == {x["stalled"]}
    assert ids(stalled="false") == {v for k, v in x.items() if k not in ("stalled", "elsewhere")}
    assert ids(status="in_progress", level="1") == {x["ip1"]}
    assert ids(status="registered", stalled="false") == {x["reg"], x["reg_coord"], x["insurer_only"]}
    assert set(_ids(_list(lw, lw.c1, level="2"))) == {x["ip2"]}


@pytest.mark.parametrize("params", [{"level": "5"}, {"level": "-1"}, {"level": "one"}, {"level": ""},
                                    {"stalled": "maybe"}, {"stalled": "1"}, {"status": "x"},
                                    {"status": "open"}, {"limit": "0"}, {"limit": "101"},
                                    {"cursor": "not-a-cursor"}, {"colour": "red"}],
                         ids=["level5", "level-1", "level-word", "level-empty", "stalled-maybe", "stalled-1",
                              "status-x", "status-open", "limit0", "limit101", "cursor", "unknown"])
def test_list_bad_query(lw, params):
    assert_problem(lw.api.get("/v1/cases", token=lw.coord["token"], params=params), 400)


def test_list_paging(lw, listed):
    everything = _ids(_list(lw, lw.coord))
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = assert_json(lw.api.get("/v1/cases", token=lw.coord["token"], params=params))
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 2
        seen.extend(_ids(body["items"]))
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == everything
    assert len(seen) == len(set(seen)) == len(listed) - 1
    assert pages >= 5
    # a case registered between pages comes neither twice nor in the middle
    first = assert_json(lw.api.get("/v1/cases", token=lw.coord["token"], params={"limit": 3}))
    new = lw.create_ok()
    rest = lw.api.list_all("/v1/cases", lw.coord["token"], params={"cursor": first["next_cursor"]})
    later = _ids(first["items"]) + _ids(rest)
    assert later == everything and new["id"] not in later


def test_list_audited(lw, listed, admin_token):
    _list(lw, lw.gp_p)
    entries = audit_entries(lw.api, admin_token, actor_id=lw.gp_p["id"], action="cases.list")
    assert entries and entries[0]["outcome"] == "success"


# ==== Stalled and Treeknorm under the test clock ====
# Everything happens in June/July 2026, months before the real date of the suite's own tokens'
# expiry, so the tokens of the world stay valid; no daylight-saving change falls in the windows.

T0 = utc(2026, 6, 1, 10)  # a Monday, 12:00 in Amsterdam


@pytest.fixture(scope="module")
def tw(api, factory, admin_token):
    return CaseWorld(api, factory, admin_token, prefix="ct")


def _stalled(w, cid):
    return w.get_ok(cid, w.coord["token"])["stalled"]


def _reasons(w, cid):
    return sorted(_stalled(w, cid)["reasons"])


def test_intake_overdue_after_seven_days(tw, clock):
    set_clock(tw.api, T0)
    c = tw.create_ok()
    assert abs((parse_ts(c["registered_at"]) - T0).total_seconds()) < 30
    set_clock(tw.api, T0 + timedelta(days=6, hours=23))
    assert _stalled(tw, c["id"]) == {"is_stalled": False, "reasons": []}
    set_clock(tw.api, T0 + timedelta(days=7, minutes=1))
    assert _stalled(tw, c["id"]) == {"is_stalled": True, "reasons": ["intake_overdue"]}
    # the submitter and a party read the same
    assert tw.get_ok(c["id"], tw.c1["token"])["stalled"]["reasons"] == ["intake_overdue"]
    assert c["id"] in _ids(_list(tw, tw.coord, stalled="true"))
    # the intake ends it
    tw.intake(c["id"])
    assert _stalled(tw, c["id"]) == {"is_stalled": False, "reasons": []}


def test_intake_overdue_counts_from_the_last_registration(tw, clock):
    set_clock(tw.api, T0)
    c = tw.create_ok()
    set_clock(tw.api, T0 + timedelta(days=1))
    tw.intake(c["id"], work_done=False)
    set_clock(tw.api, T0 + timedelta(days=8))
    assert _reasons(tw, c["id"]) == []  # returned: the submitter's turn, not overdue
    set_clock(tw.api, T0 + timedelta(days=9))
    tw.act_ok(c["id"], "resubmit", tw.gp["token"])
    set_clock(tw.api, T0 + timedelta(days=15, hours=23))
    assert _reasons(tw, c["id"]) == []
    set_clock(tw.api, T0 + timedelta(days=16, minutes=1))
    assert _reasons(tw, c["id"]) == ["intake_overdue"]


def test_action_overdue_when_today_in_amsterdam_is_after_due_on(tw, clock):
    set_clock(tw.api, T0)
    c = tw.in_state("in_progress")
    early = tw.add_action(c["id"], owner=tw.mhp, due_on="2026-06-05")
    tw.add_action(c["id"], owner=tw.insurer, due_on="2026-06-10")
    set_clock(tw.api, utc(2026, 6, 5, 21, 59))  # 23:59 on the 5th in Amsterdam
    assert _reasons(tw, c["id"]) == []
    set_clock(tw.api, utc(2026, 6, 5, 22, 1))  # 00:01 on the 6th in Amsterdam, still the 5th in UTC
    assert _stalled(tw, c["id"]) == {"is_stalled": True, "reasons": ["action_overdue"]}
    # closing the overdue action leaves the later one, which is not due yet
    tw.act_ok(c["id"], f"actions/{early['id']}", tw.c1["token"], {"status": "done", "result": "Gedaan."},
              method="PATCH")
    assert _reasons(tw, c["id"]) == []
    set_clock(tw.api, utc(2026, 6, 10, 22, 1))
    assert _reasons(tw, c["id"]) == ["action_overdue"]


def test_no_progress_after_fourteen_days_and_a_note_clears_it(tw, clock):
    set_clock(tw.api, T0)
    c = tw.in_state("in_progress")
    set_clock(tw.api, T0 + timedelta(days=13, hours=23))
    assert _reasons(tw, c["id"]) == []
    set_clock(tw.api, T0 + timedelta(days=14, minutes=1))
    assert _stalled(tw, c["id"]) == {"is_stalled": True, "reasons": ["no_progress"]}
    assert c["id"] in _ids(_list(tw, tw.coord, stalled="true"))
    tw.act_ok(c["id"], "notes", tw.c1["token"], {"body": "De intake is gepland."}, status=201)
    assert _stalled(tw, c["id"]) == {"is_stalled": False, "reasons": []}
    assert c["id"] in _ids(_list(tw, tw.coord, stalled="false"))


T1 = utc(2026, 7, 15, 10)  # "today" is 2026-07-15 in Amsterdam


def _waiting(registered_days, intake_days=None, treatment_days=None, today=None):
    today = today or T1.date()
    w = {"registered_on": (today - timedelta(days=registered_days)).isoformat()}
    if intake_days is not None:
        w["intake_on"] = (today - timedelta(days=intake_days)).isoformat()
    if treatment_days is not None:
        w["treatment_on"] = (today - timedelta(days=treatment_days)).isoformat()
    return w


@pytest.mark.parametrize("days,weeks,exceeded", [(27, 3, False), (28, 4, False), (29, 4, True), (35, 5, True)])
def test_treeknorm_intake_to_today(tw, clock, days, weeks, exceeded):
    set_clock(tw.api, T1)
    c = tw.create_ok(waiting=_waiting(days))
    for got in (c, tw.get_ok(c["id"], tw.c1["token"])):
        assert got["treeknorm"] == {"intake_weeks": weeks, "intake_exceeded": exceeded, "treatment_weeks": None,
                                    "treatment_exceeded": None}
        assert got["stalled"] == {"is_stalled": exceeded, "reasons": ["treeknorm_intake"] if exceeded else []}


@pytest.mark.parametrize("reg,intake,weeks,exceeded", [(40, 12, 4, False), (60, 30, 4, True)])
def test_treeknorm_intake_to_intake_on(tw, clock, reg, intake, weeks, exceeded):
    set_clock(tw.api, T1)
    c = tw.create_ok(waiting=_waiting(reg, intake))
    tk = c["treeknorm"]
    assert tk["intake_weeks"] == weeks and tk["intake_exceeded"] is exceeded
    assert tk["treatment_weeks"] == intake // 7 and tk["treatment_exceeded"] is False
    assert _reasons(tw, c["id"]) == (["treeknorm_intake"] if exceeded else [])


@pytest.mark.parametrize("days,weeks,exceeded", [(69, 9, False), (70, 10, False), (71, 10, True)])
def test_treeknorm_treatment_to_today(tw, clock, days, weeks, exceeded):
    set_clock(tw.api, T1)
    c = tw.create_ok(waiting=_waiting(days + 7, days))
    assert c["treeknorm"] == {"intake_weeks": 1, "intake_exceeded": False, "treatment_weeks": weeks,
                              "treatment_exceeded": exceeded}
    assert _stalled(tw, c["id"]) == {"is_stalled": exceeded, "reasons": ["treeknorm_treatment"] if exceeded else []}


def test_treeknorm_treatment_to_treatment_on(tw, clock):
    set_clock(tw.api, T1)
    c = tw.create_ok(waiting=_waiting(100, 93, 10))  # 83 days from intake to treatment
    assert c["treeknorm"] == {"intake_weeks": 1, "intake_exceeded": False, "treatment_weeks": 11,
                              "treatment_exceeded": True}
    assert _reasons(tw, c["id"]) == ["treeknorm_treatment"]
    d = tw.create_ok(waiting=_waiting(100, 93, 30))  # 63 days
    assert d["treeknorm"]["treatment_exceeded"] is False and d["treeknorm"]["treatment_weeks"] == 9
    assert _reasons(tw, d["id"]) == []


def test_treeknorm_today_is_the_date_in_amsterdam(tw, clock):
    late = utc(2026, 7, 15, 22, 30)  # 00:30 on 16 July in Amsterdam
    set_clock(tw.api, T1)
    c = tw.create_ok(waiting={"registered_on": "2026-06-18"})  # 27 days before 15 July
    d = tw.create_ok(waiting={"registered_on": "2026-06-17"})  # 28 days before 15 July
    assert c["treeknorm"]["intake_exceeded"] is False and d["treeknorm"]["intake_exceeded"] is False
    set_clock(tw.api, late)
    got_c, got_d = tw.get_ok(c["id"], tw.coord["token"]), tw.get_ok(d["id"], tw.coord["token"])
    assert got_c["treeknorm"]["intake_exceeded"] is False and got_c["treeknorm"]["intake_weeks"] == 4
    assert got_d["treeknorm"]["intake_exceeded"] is True
    assert got_d["stalled"]["reasons"] == ["treeknorm_intake"]


def test_treeknorm_stays_for_open_cases_only(tw, clock):
    set_clock(tw.api, T1)
    c = tw.in_state("resolved", waiting=_waiting(60))
    assert c["treeknorm"]["intake_exceeded"] is True
    assert c["stalled"] == {"is_stalled": False, "reasons": []}


@pytest.fixture(scope="module")
def sw(api, factory, admin_token):
    return CaseWorld(api, factory, admin_token, prefix="cz")


def test_stalled_filter_returns_exactly_the_stalled_cases(sw, clock):
    set_clock(sw.api, T0)
    x = {}
    x["A"] = sw.create_ok()                                                   # intake overdue
    x["B"] = sw.in_state("in_progress")                                       # action overdue
    sw.add_action(x["B"]["id"], due_on="2026-06-05")
    x["C"] = sw.in_state("in_progress", waiting={"registered_on": "2026-05-01"})  # Treeknorm intake
    x["D"] = sw.in_state("in_progress")                                       # fine for 14 days
    x["E"] = sw.in_state("resolved", waiting={"registered_on": "2026-04-01"})  # resolved: never stalled
    x["G"] = sw.in_state("returned")                                          # returned: not intake overdue
    set_clock(sw.api, T0 + timedelta(days=8) - timedelta(hours=1))
    x["F"] = sw.create_ok()                                                   # registered just now
    ids = {k: v["id"] for k, v in x.items()}
    set_clock(sw.api, T0 + timedelta(days=8))
    expected = {"A": ["intake_overdue"], "B": ["action_overdue"], "C": ["treeknorm_intake"], "D": [], "E": [],
                "F": [], "G": []}
    for k, reasons in expected.items():
        assert _reasons(sw, ids[k]) == reasons, k
    stalled = set(_ids(_list(sw, sw.coord, stalled="true")))
    assert stalled == {ids["A"], ids["B"], ids["C"]}
    assert set(_ids(_list(sw, sw.coord, stalled="false"))) == {ids[k] for k in "DEFG"}
    assert set(_ids(_list(sw, sw.coord, stalled="true", status="registered"))) == {ids["A"]}
    items = {i["id"]: i for i in _list(sw, sw.coord)}
    assert all(items[ids[k]]["stalled"]["is_stalled"] == bool(r) for k, r in expected.items())
    # a week later the quiet case has made no progress and the late one is overdue too
    set_clock(sw.api, T0 + timedelta(days=15))
    expected = {"A": ["intake_overdue"], "B": ["action_overdue", "no_progress"],
                "C": ["no_progress", "treeknorm_intake"], "D": ["no_progress"], "E": [],
                "F": ["intake_overdue"], "G": []}
    for k, reasons in expected.items():
        assert _reasons(sw, ids[k]) == reasons, k
    assert set(_ids(_list(sw, sw.coord, stalled="true"))) == {ids[k] for k in "ABCDF"}
    assert set(_ids(_list(sw, sw.coord, stalled="false"))) == {ids[k] for k in "EG"}
