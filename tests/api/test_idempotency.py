"""Idempotency-Key (API.md §2) on every POST that creates something: POST /v1/organisations, POST /v1/users,
POST /v1/consultations, POST /v1/consultations/{id}/messages. The same key from the same user within
24 h replays the first response; another body with it gets 409; keys are per user.
"""

import uuid

import pytest

from conftest import KINDS, assert_json, assert_problem, count_orgs, count_users, sql_count, uid, user_body
from consult_helpers import World, consented_patient


@pytest.fixture(scope="module")
def second_admin(factory):
    return factory.make_user("admin")


@pytest.fixture(scope="module")
def orgs(factory):
    region = f"u-{uid()}"
    return {k: factory.make_org(k, region) for k in KINDS}


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="ci")


# ---- POST /v1/organisations ----

def test_organisations_replay(api, admin_token, db):
    key = str(uuid.uuid4())
    name = f"Idem {uid()}"
    body = {"name": name, "kind": "other", "region": "idem"}
    r1 = api.post("/v1/organisations", token=admin_token, json=body, headers={"Idempotency-Key": key})
    b1 = assert_json(r1, 201)
    assert r1.headers.get("Idempotent-Replayed") in (None, "false")
    r2 = api.post("/v1/organisations", token=admin_token, json=body, headers={"Idempotency-Key": key})
    b2 = assert_json(r2, 201)
    assert b2 == b1
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert count_orgs(db, name) == 1
    # a third time, too
    r3 = api.post("/v1/organisations", token=admin_token, json=body, headers={"Idempotency-Key": key})
    assert r3.status_code == 201 and r3.json() == b1
    assert count_orgs(db, name) == 1


def test_organisations_different_body_409(api, admin_token, db):
    key = str(uuid.uuid4())
    name = f"Idem {uid()}"
    assert_json(api.post("/v1/organisations", token=admin_token, headers={"Idempotency-Key": key},
                         json={"name": name, "kind": "other", "region": "idem"}), 201)
    r = api.post("/v1/organisations", token=admin_token, headers={"Idempotency-Key": key},
                 json={"name": name + " changed", "kind": "other", "region": "idem"})
    assert_problem(r, 409, "/problems/idempotency-conflict")
    assert count_orgs(db, name + " changed") == 0
    assert count_orgs(db, name) == 1


def test_organisations_key_is_per_user(api, admin_token, second_admin, db):
    key = str(uuid.uuid4())
    name = f"Idem {uid()}"
    body = {"name": name, "kind": "other", "region": "idem"}
    r1 = api.post("/v1/organisations", token=admin_token, json=body, headers={"Idempotency-Key": key})
    r2 = api.post("/v1/organisations", token=second_admin["token"], json=body, headers={"Idempotency-Key": key})
    b1, b2 = assert_json(r1, 201), assert_json(r2, 201)
    assert b1["id"] != b2["id"]
    assert r2.headers.get("Idempotent-Replayed") in (None, "false")
    assert count_orgs(db, name) == 2


def test_organisations_failed_request_not_stored_as_success(api, admin_token, db):
    key = str(uuid.uuid4())
    name = f"Idem {uid()}"
    r = api.post("/v1/organisations", token=admin_token, headers={"Idempotency-Key": key},
                 json={"name": name, "kind": "nope", "region": "idem"})
    assert_problem(r, 422)
    assert count_orgs(db, name) == 0


def test_organisations_concurrent_same_key_one_row(api, admin_token, db, server):
    import threading
    from conftest import Api
    key = str(uuid.uuid4())
    name = f"Idem race {uid()}"
    body = {"name": name, "kind": "other", "region": "idem"}
    results = []

    def go():
        a = Api(server.base)
        r = a.post("/v1/organisations", token=admin_token, json=body, headers={"Idempotency-Key": key})
        results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6
    assert {s for s, _ in results} <= {201, 409}, results
    created = [b for s, b in results if s == 201]
    assert created and all(b == created[0] for b in created)
    assert count_orgs(db, name) == 1


def test_organisations_key_expires_after_24h(api, admin_token, db, clock):
    from datetime import timedelta
    from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, utcnow
    key = str(uuid.uuid4())
    name = f"Idem old {uid()}"
    body = {"name": name, "kind": "other", "region": "idem"}
    first = assert_json(api.post("/v1/organisations", token=admin_token, json=body,
                                 headers={"Idempotency-Key": key}), 201)
    clock(utcnow() + timedelta(hours=24, minutes=5))
    tok = api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    r = api.post("/v1/organisations", token=tok, json=body, headers={"Idempotency-Key": key})
    second = assert_json(r, 201)
    assert second["id"] != first["id"]
    assert r.headers.get("Idempotent-Replayed") in (None, "false")
    assert count_orgs(db, name) == 2


# ---- POST /v1/users ----

def test_users_replay_holds_no_password(api, admin_token, orgs, db):
    body = user_body("gp", orgs["general_practice"]["id"])
    key = str(uuid.uuid4())
    r1 = api.post("/v1/users", token=admin_token, json=body, headers={"Idempotency-Key": key})
    r2 = api.post("/v1/users", token=admin_token, json=body, headers={"Idempotency-Key": key})
    assert_json(r1, 201)
    assert r2.status_code == 201 and r2.json() == r1.json()
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert count_users(db, body["email"]) == 1
    # the stored replay holds no password
    assert body["password"] not in r2.text


def test_users_replay_keeps_etag(api, admin_token, factory):
    org = factory.make_org("general_practice")
    body = {"email": f"idem-{uid()}@test.example", "name": "Idem", "role": "gp",
            "organisation_id": org["id"], "password": "correct horse battery"}
    key = {"Idempotency-Key": f"k-{uid()}"}
    first = api.post("/v1/users", token=admin_token, json=body, headers=key)
    assert_json(first, 201)
    again = api.post("/v1/users", token=admin_token, json=body, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.headers.get("ETag") == first.headers.get("ETag") is not None


# ---- POST /v1/consultations ----

def practice_consultations(w, db):
    """The practice's consultations: the texts are sealed, so rows are told apart by who asked."""
    return sql_count(db, "SELECT count(*) FROM consultations WHERE organisation_id = %s", w.practice["id"])


def test_consultations_replay(w, db):
    key = f"k-{uid()}"
    b = w.body(to=w.c1)
    before = practice_consultations(w, db)
    r1 = w.api.post("/v1/consultations", token=w.gp["token"], json=b, headers={"Idempotency-Key": key})
    c = assert_json(r1, 201)
    r2 = w.api.post("/v1/consultations", token=w.gp["token"], json=b, headers={"Idempotency-Key": key})
    assert_json(r2, 201)
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert r2.json() == c
    assert practice_consultations(w, db) == before + 1
    b2 = dict(b, subject=b["subject"] + " (anders)")
    r3 = w.api.post("/v1/consultations", token=w.gp["token"], json=b2, headers={"Idempotency-Key": key})
    assert_problem(r3, 409, "/problems/idempotency-conflict")
    assert practice_consultations(w, db) == before + 1


def test_consultations_replay_consented(w, db):
    key = f"k-{uid()}"
    b = w.body(to=w.c1, patient=consented_patient(name="Fien Herhaling", bsn="111222333"))
    before = practice_consultations(w, db)
    c = assert_json(w.api.post("/v1/consultations", token=w.gp["token"], json=b,
                               headers={"Idempotency-Key": key}), 201)
    r2 = w.api.post("/v1/consultations", token=w.gp["token"], json=b, headers={"Idempotency-Key": key})
    assert r2.headers.get("Idempotent-Replayed") == "true"
    # conventions.md: a replay shows the patient hidden (reading the identity takes an audited GET)
    replay = r2.json()
    assert replay["patient"] == {"mode": "consented", "identity_hidden": True}
    assert {k: v for k, v in replay.items() if k != "patient"} == \
        {k: v for k, v in c.items() if k != "patient"}
    assert "Fien" not in r2.text and "111222333" not in r2.text
    assert practice_consultations(w, db) == before + 1


def test_consultations_key_is_per_user(w, db):
    key = f"k-{uid()}"
    b = w.body(to=w.c1)
    before = practice_consultations(w, db)
    assert_json(w.api.post("/v1/consultations", token=w.gp["token"], json=b, headers={"Idempotency-Key": key}), 201)
    r = w.api.post("/v1/consultations", token=w.poh["token"], json=b, headers={"Idempotency-Key": key})
    assert_json(r, 201)
    assert r.headers.get("Idempotent-Replayed") in (None, "false")
    assert r.json()["requester"]["id"] == w.poh["id"]
    assert practice_consultations(w, db) == before + 2


# ---- POST /v1/consultations/{id}/messages ----

def test_messages_replay(w, db):
    c = w.in_state("accepted")
    key = f"m-{uid()}"
    b = {"body": "Eenmalig bericht"}
    r1 = w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"], json=b,
                    headers={"Idempotency-Key": key})
    m = assert_json(r1, 201)
    r2 = w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.gp["token"], json=b,
                    headers={"Idempotency-Key": key})
    assert assert_json(r2, 201) == m
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert sql_count(db, "SELECT count(*) FROM consultation_messages WHERE consultation_id = %s", c["id"]) == 1


# ---- replies other than success: in the request's transaction, or before any statement ----

def test_users_conflict_is_stored_and_replayed(api, admin_token, orgs, db):
    """The insert fails (duplicate e-mail) inside the request's transaction after a read; the 409
    is stored all the same, and replayed."""
    first = user_body("gp", orgs["general_practice"]["id"])
    assert_json(api.post("/v1/users", token=admin_token, json=first), 201)
    body = user_body("gp", orgs["general_practice"]["id"], email=first["email"].upper())
    key = {"Idempotency-Key": f"dup-{uid()}"}
    r1 = api.post("/v1/users", token=admin_token, json=body, headers=key)
    p1 = assert_problem(r1, 409, "/problems/conflict")
    r2 = api.post("/v1/users", token=admin_token, json=body, headers=key)
    assert assert_problem(r2, 409, "/problems/conflict") == p1
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert count_users(db, first["email"]) == 1


def test_refusal_is_stored_with_its_audit_entry(w, db):
    """Another practice's consultation: 404, audited as denied; the audit entry commits with the
    stored reply, once."""
    c = w.in_state("accepted")
    key = {"Idempotency-Key": f"deny-{uid()}"}
    path = f"/v1/consultations/{c['id']}/messages"
    r1 = w.api.post(path, token=w.gp_b["token"], json={"body": "Niet de mijne"}, headers=key)
    assert_problem(r1, 404, "/problems/not-found")
    r2 = w.api.post(path, token=w.gp_b["token"], json={"body": "Niet de mijne"}, headers=key)
    assert_problem(r2, 404, "/problems/not-found")
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert sql_count(db, "SELECT count(*) FROM audit_log WHERE request_id = %s AND outcome = 'denied'",
                     r1.headers["X-Request-Id"]) == 1
    assert sql_count(db, "SELECT count(*) FROM audit_log WHERE request_id = %s",
                     r2.headers["X-Request-Id"]) == 0


def test_validation_failure_is_replayed(api, admin_token):
    """Answered before any statement: stored on its own, as there is nothing to commit with it."""
    key = {"Idempotency-Key": f"bad-{uid()}"}
    body = {"name": f"Idem {uid()}", "kind": "nope", "region": "idem"}
    p1 = assert_problem(api.post("/v1/organisations", token=admin_token, json=body, headers=key), 422)
    r2 = api.post("/v1/organisations", token=admin_token, json=body, headers=key)
    assert assert_problem(r2, 422) == p1
    assert r2.headers.get("Idempotent-Replayed") == "true"
