"""Users (API.md §5, admin): POST /v1/users, GET /v1/users/{id} with ETag, PATCH /v1/users/{id} with If-Match."""

import re
import uuid

import pytest

from conftest import (ADMIN_EMAIL, KINDS, USER_FIELDS, assert_json, assert_problem, audit_entries,
                      count_users, error_fields, parse_ts, sql_count, uid, user_body, valid_password)


ROLES = ["gp", "poh", "consultant", "coordinator", "billing", "admin"]


@pytest.fixture(scope="module")
def orgs(factory):
    region = f"u-{uid()}"
    return {k: factory.make_org(k, region) for k in KINDS}


@pytest.fixture(scope="module")
def gp(factory):
    return factory.make_user("gp")


# ---- POST /v1/users ----

@pytest.mark.parametrize("role,kind", [
    ("gp", "general_practice"), ("poh", "general_practice"), ("billing", "general_practice"),
    ("consultant", "mental_health_provider"),
    ("coordinator", "municipality"), ("coordinator", "general_practice"), ("coordinator", "insurer"),
    ("admin", "other"), ("admin", "mental_health_provider"),
])
def test_create_each_role(api, admin_token, orgs, db, role, kind):
    body = user_body(role, orgs[kind]["id"], agb_code="12345678", big_number="12345678901")
    r = api.post("/v1/users", token=admin_token, json=body)
    u = assert_json(r, 201)
    assert set(u) == USER_FIELDS
    uuid.UUID(u["id"])
    assert u["email"] == body["email"] and u["name"] == body["name"] and u["role"] == role
    assert u["organisation_id"] == orgs[kind]["id"]
    assert u["agb_code"] == "12345678" and u["big_number"] == "12345678901"
    assert u["active"] is True
    parse_ts(u["created_at"])
    assert body["password"] not in r.text
    for word in ("password", "hash", "argon"):
        assert word not in r.text.lower()
    assert count_users(db, body["email"]) == 1
    # the database row never holds the password in clear
    with db.cursor() as cur:
        cur.execute("SELECT * FROM users WHERE id = %s", (u["id"],))
        row = " ".join(str(v) for v in cur.fetchone())
    assert body["password"] not in row


def test_create_optional_codes_null(api, admin_token, orgs):
    u = assert_json(api.post("/v1/users", token=admin_token, json=user_body("gp", orgs["general_practice"]["id"])),
                    201)
    assert u["agb_code"] is None and u["big_number"] is None


def test_create_email_stored_lowercase(api, admin_token, orgs):
    email = f"Mixed.Case-{uuid.uuid4().hex}@Test.Example"
    u = assert_json(api.post("/v1/users", token=admin_token,
                             json=user_body("gp", orgs["general_practice"]["id"], email=email)), 201)
    assert u["email"] == email.lower()


def test_create_is_audited(api, admin_token, orgs):
    u = assert_json(api.post("/v1/users", token=admin_token, json=user_body("poh", orgs["general_practice"]["id"])),
                    201)
    entries = audit_entries(api, admin_token, subject_id=u["id"], action="users.create")
    assert len(entries) == 1 and entries[0]["outcome"] == "success"


@pytest.mark.parametrize("role,kind", [
    ("gp", "mental_health_provider"), ("poh", "mental_health_provider"), ("billing", "mental_health_provider"),
    ("gp", "municipality"), ("billing", "insurer"),
    ("consultant", "general_practice"), ("consultant", "social_team"),
])
def test_role_incompatible_with_kind_422(api, admin_token, orgs, db, role, kind):
    body = user_body(role, orgs[kind]["id"])
    b = assert_problem(api.post("/v1/users", token=admin_token, json=body), 422, "/problems/validation")
    assert "role" in error_fields(b)
    assert count_users(db, body["email"]) == 0


@pytest.mark.parametrize("org_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_unknown_organisation_422(api, admin_token, db, org_id):
    body = user_body("gp", org_id)
    b = assert_problem(api.post("/v1/users", token=admin_token, json=body), 422, "/problems/validation")
    assert "organisation_id" in error_fields(b)
    assert count_users(db, body["email"]) == 0


@pytest.mark.parametrize("over,field", [
    ({"role": "superuser"}, "role"),
    ({"role": "GP"}, "role"),
    ({"email": "no-at-sign.example"}, "email"),
    ({"email": "two@@test.example"}, "email"),
    ({"email": "sp ace@test.example"}, "email"),
    ({"email": "a@"}, "email"),
    ({"email": ("x" * 250) + "@t.nl"}, "email"),
    ({"name": ""}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"name": "tab\tname"}, "name"),
    ({"agb_code": "1234567"}, "agb_code"),
    ({"big_number": "1234567890"}, "big_number"),
    ({"big_number": 12345678901}, "big_number"),
    ({"active": False}, "active"),
    ({"password_hash": "x"}, "password_hash"),
    ({"password": 123456789012345}, "password"),
    ({"password": "short"}, "password"),
])
def test_create_validation_422(api, admin_token, orgs, db, over, field):
    body = user_body("gp", orgs["general_practice"]["id"])
    body.update(over)
    before = count_users(db)
    b = assert_problem(api.post("/v1/users", token=admin_token, json=body), 422, "/problems/validation")
    assert field in error_fields(b), b
    assert count_users(db) == before


@pytest.mark.parametrize("missing", ["email", "name", "role", "organisation_id", "password"])
def test_create_missing_field_422(api, admin_token, orgs, db, missing):
    body = user_body("gp", orgs["general_practice"]["id"])
    del body[missing]
    before = count_users(db)
    b = assert_problem(api.post("/v1/users", token=admin_token, json=body), 422, "/problems/validation")
    assert missing in error_fields(b)
    assert count_users(db) == before


def test_duplicate_email_409(api, admin_token, orgs, db):
    body = user_body("gp", orgs["general_practice"]["id"])
    assert_json(api.post("/v1/users", token=admin_token, json=body), 201)
    again = dict(body, name="Another Name", password=valid_password())
    assert_problem(api.post("/v1/users", token=admin_token, json=again), 409, "/problems/conflict")
    upper = dict(again, email=body["email"].upper())
    assert_problem(api.post("/v1/users", token=admin_token, json=upper), 409, "/problems/conflict")
    assert count_users(db, body["email"]) == 1


def test_duplicate_of_admin_email_409(api, admin_token, orgs):
    body = user_body("gp", orgs["general_practice"]["id"], email=ADMIN_EMAIL.upper())
    assert_problem(api.post("/v1/users", token=admin_token, json=body), 409, "/problems/conflict")


def test_duplicate_email_concurrent(api, admin_token, orgs, db, server):
    import threading
    from conftest import Api
    email = f"race-{uuid.uuid4().hex}@test.example"
    statuses = []

    def go(i):
        a = Api(server.base)
        r = a.post("/v1/users", token=admin_token,
                   json=user_body("gp", orgs["general_practice"]["id"], email=email, name=f"Racer {i}"))
        statuses.append(r.status_code)
        if r.status_code != 201:
            assert_problem(r, 409, "/problems/conflict")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [201] + [409] * 5, statuses
    assert count_users(db, email) == 1


@pytest.mark.parametrize("role", ["gp", "poh", "consultant", "coordinator", "billing"])
def test_create_non_admin_403(api, factory, admin_token, orgs, db, role):
    u = factory.make_user(role)
    body = user_body("gp", orgs["general_practice"]["id"])
    assert_problem(api.post("/v1/users", token=u["token"], json=body), 403, "/problems/forbidden")
    assert count_users(db, body["email"]) == 0
    entries = audit_entries(api, admin_token, actor_id=u["id"], action="users.create")
    assert entries and entries[0]["outcome"] == "denied"


# ---- GET /v1/users/{id} ----

def test_get_user_with_etag(api, admin_token, gp):
    r = api.get(f"/v1/users/{gp['id']}", token=admin_token)
    u = assert_json(r)
    assert set(u) == USER_FIELDS and u["id"] == gp["id"] and u["email"] == gp["email"]
    assert re.fullmatch(r'(W/)?"[^"]+"', r.headers.get("ETag", "")), r.headers.get("ETag")
    # stable while nothing changes
    assert api.get(f"/v1/users/{gp['id']}", token=admin_token).headers.get("ETag") == r.headers["ETag"]


def test_get_user_is_audited(api, admin_token, gp):
    assert_json(api.get(f"/v1/users/{gp['id']}", token=admin_token))
    entries = audit_entries(api, admin_token, subject_id=gp["id"], action="users.read")
    assert entries and entries[0]["outcome"] == "success"


@pytest.mark.parametrize("uid_", [str(uuid.uuid4()), "nope"])
def test_get_unknown_user_404(api, admin_token, uid_):
    assert_problem(api.get(f"/v1/users/{uid_}", token=admin_token), 404, "/problems/not-found")


def test_get_user_non_admin_403(api, admin_token, gp):
    assert_problem(api.get(f"/v1/users/{gp['id']}", token=gp["token"]), 403, "/problems/forbidden")
    entries = audit_entries(api, admin_token, actor_id=gp["id"], action="users.read")
    assert entries and entries[0]["outcome"] == "denied"


# ---- PATCH /v1/users/{id} ----

def test_patch_if_match(api, admin_token, factory, db):
    u = factory.make_user("poh", login=False)
    r0 = api.get(f"/v1/users/{u['id']}", token=admin_token)
    etag0 = r0.headers["ETag"]
    r1 = api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"name": "Renamed Once"},
                   headers={"If-Match": etag0})
    b1 = assert_json(r1)
    assert b1["name"] == "Renamed Once"
    etag1 = r1.headers.get("ETag")
    assert etag1 and etag1 != etag0
    # stale
    r2 = api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"name": "Renamed Twice"},
                   headers={"If-Match": etag0})
    assert_problem(r2, 412, "/problems/precondition-failed")
    assert sql_count(db, "SELECT count(*) FROM users WHERE id = %s AND name = 'Renamed Once'", u["id"]) == 1
    # current
    r3 = api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"name": "Renamed Twice"},
                   headers={"If-Match": etag1})
    assert assert_json(r3)["name"] == "Renamed Twice"
    assert r3.headers.get("ETag") not in (None, etag1)
    assert api.get(f"/v1/users/{u['id']}", token=admin_token).headers["ETag"] == r3.headers["ETag"]
    # without If-Match it is allowed
    assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"name": "No Match Header"}))


def test_patch_is_audited(api, admin_token, factory):
    u = factory.make_user("poh", login=False)
    assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"name": "Audited Rename"}))
    entries = audit_entries(api, admin_token, subject_id=u["id"], action="users.update")
    assert entries and entries[0]["outcome"] == "success"


@pytest.mark.parametrize("body,field", [
    ({}, None),
    ({"role": "admin"}, "role"),
    ({"email": "x@test.example"}, "email"),
    ({"active": "no"}, "active"),
    ({"active": 0}, "active"),
    ({"name": ""}, "name"),
    ({"name": 5}, "name"),
    ({"password": valid_password()}, "password"),
])
def test_patch_invalid_422(api, admin_token, factory, db, body, field):
    u = factory.make_user("billing", login=False)
    r = api.patch(f"/v1/users/{u['id']}", token=admin_token, json=body)
    b = assert_problem(r, 422, "/problems/validation")
    if field:
        assert field in error_fields(b)
    assert sql_count(db, "SELECT count(*) FROM users WHERE id = %s AND name = %s AND role = 'billing' AND active",
                     u["id"], u["user"]["name"]) == 1


def test_patch_unknown_404(api, admin_token):
    assert_problem(api.patch(f"/v1/users/{uuid.uuid4()}", token=admin_token, json={"name": "X"}), 404,
                   "/problems/not-found")


def test_patch_non_admin_403(api, factory, gp, db):
    victim = factory.make_user("gp", login=False)
    assert_problem(api.patch(f"/v1/users/{victim['id']}", token=gp["token"], json={"active": False}), 403,
                   "/problems/forbidden")
    # not even oneself
    assert_problem(api.patch(f"/v1/users/{gp['id']}", token=gp["token"], json={"name": "Me"}), 403,
                   "/problems/forbidden")
    assert sql_count(db, "SELECT count(*) FROM users WHERE id = %s AND active", victim["id"]) == 1


def test_admin_cannot_deactivate_self(api, factory, db):
    adm = factory.make_user("admin")  # a separate admin, so a server bug cannot lock out the suite
    r = api.patch(f"/v1/users/{adm['id']}", token=adm["token"], json={"active": False})
    assert_problem(r, 409, "/problems/conflict")
    assert sql_count(db, "SELECT count(*) FROM users WHERE id = %s AND active", adm["id"]) == 1
    assert_json(api.get("/v1/me", token=adm["token"]))


def test_reactivate(api, admin_token, factory):
    u = factory.make_user("gp")
    assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"active": False}))
    assert_problem(api.login_resp(u["email"], u["password"]), 401)
    assert assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"active": True}))["active"] is True
    # old tokens stay dead; a new login works
    assert_problem(api.get("/v1/me", token=u["token"]), 401)
    assert_json(api.login_resp(u["email"], u["password"]))


def test_concurrent_patches_without_if_match_all_succeed(api, admin_token, factory):
    # Without If-Match there is no precondition: concurrent changes are applied one after the
    # other, never refused with 412.
    import concurrent.futures
    u = factory.make_user("gp", login=False)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(
            lambda i: api.patch(f"/v1/users/{u['id']}", token=admin_token,
                                json={"name": f"Naam {i}"}).status_code, range(16)))
    assert statuses == [200] * 16, statuses


# ---- GET /v1/users (admin) ----

def test_list_users_filters_and_pages(api, admin_token, factory, db):
    """Admins list and search users: by role, organisation, active, and q (a case-insensitive part of
    the name or e-mail address), in name order with keyset pages; the list is audited."""
    org = factory.make_org("general_practice", f"ul-{uid()}", name=f"Praktijk Lijst {uid()}")
    tag = uid()[:8]
    made = {}
    for name, role in ((f"Anna Akkerman {tag}", "gp"), (f"Bert Bakker {tag}", "poh"),
                       (f"Cees Claassen {tag}", "gp"), (f"Dina Dekker {tag}", "billing")):
        made[name] = factory.make_user(role, org_id=org["id"], login=False, name=name)
    names = sorted(made)

    def listed(**params):
        return [u["name"] for u in api.list_all("/v1/users", admin_token, params=params)]

    assert listed(organisation_id=org["id"]) == names
    every = assert_json(api.get("/v1/users", token=admin_token, params={"organisation_id": org["id"]}))
    assert set(every["items"][0]) == USER_FIELDS
    assert listed(organisation_id=org["id"], role="gp") == [names[0], names[2]]
    assert listed(q=f"bakker {tag}".upper()) == [names[1]]
    assert listed(q=made[names[3]]["email"].split("@")[0]) == [names[3]]
    # pages of one give the same list
    assert [u["name"] for u in api.list_all("/v1/users", admin_token,
                                            params={"organisation_id": org["id"]}, limit=1)] == names
    # deactivated users are filtered by `active`
    assert_json(api.patch(f"/v1/users/{made[names[2]]['id']}", token=admin_token, json={"active": False}))
    assert listed(organisation_id=org["id"], active="false") == [names[2]]
    assert listed(organisation_id=org["id"], active="true") == [names[0], names[1], names[3]]
    assert listed(organisation_id=str(uuid.uuid4())) == []
    assert any(e["action"] == "users.list" for e in audit_entries(api, admin_token, action="users.list"))


@pytest.mark.parametrize("role", ["gp", "poh", "consultant", "coordinator", "billing"])
def test_list_users_non_admin_403(api, factory, role):
    u = factory.make_user(role)
    assert_problem(api.get("/v1/users", token=u["token"]), 403, "/problems/forbidden")


def test_list_users_bad_query_400(api, admin_token, db):
    before = sql_count(db, "SELECT count(*) FROM audit_log WHERE action = 'users.list'")
    for params, fields in (({"role": "doctor"}, {"role"}), ({"organisation_id": "nope"}, {"organisation_id"}),
                           ({"active": "yes"}, {"active"}), ({"q": "x" * 201}, {"q"}),
                           ({"role": "x", "active": "1"}, {"role", "active"}), ({"colour": "red"}, {"colour"})):
        p = assert_problem(api.get("/v1/users", token=admin_token, params=params), 400, "/problems/bad-query")
        assert set(error_fields(p)) == fields, (params, p)
    assert sql_count(db, "SELECT count(*) FROM audit_log WHERE action = 'users.list'") == before
