"""Authentication (API.md §4): POST /v1/auth/login (rate limit, audit), POST /v1/auth/logout, GET /v1/me,
tokens and sessions, password rules.
"""

import re
import threading
import uuid
from datetime import timedelta

import pytest

from conftest import (ADMIN_EMAIL, USER_FIELDS, assert_json, assert_problem, audit_entries, error_fields,
                      parse_ts, sql_count, uid, utcnow)


TOKEN_RE = re.compile(r"ovl_[A-Za-z0-9_-]{43}")


def problem_core(body):
    return {k: body[k] for k in ("type", "title", "status", "detail")}


@pytest.fixture(scope="module")
def gp(factory):
    return factory.make_user("gp")


# ---- POST /v1/auth/login ----

def test_login_happy_path(api, factory):
    u = factory.make_user("consultant", login=False)
    r = api.login_resp(u["email"], u["password"])
    body = assert_json(r)
    assert set(body) == {"token", "expires_at", "user"}
    assert TOKEN_RE.fullmatch(body["token"]), body["token"]
    exp = parse_ts(body["expires_at"])
    assert abs(exp - (utcnow() + timedelta(hours=12))) < timedelta(minutes=2)
    user = body["user"]
    assert set(user) == USER_FIELDS
    assert user["id"] == u["id"]
    assert user["email"] == u["email"]
    assert user["role"] == "consultant"
    assert user["active"] is True
    assert user["agb_code"] is None and user["big_number"] is None
    parse_ts(user["created_at"])
    uuid.UUID(user["id"])
    uuid.UUID(user["organisation_id"])
    # the token works
    me = assert_json(api.get("/v1/me", token=body["token"]))
    assert me == user


def test_login_email_case_insensitive(api, factory):
    u = factory.make_user("gp", login=False)
    assert_json(api.login_resp(u["email"].upper(), u["password"]))


def test_tokens_are_distinct(api, gp):
    a = api.login(gp["email"], gp["password"])
    b = api.login(gp["email"], gp["password"])
    assert a != b
    assert_json(api.get("/v1/me", token=a))
    assert_json(api.get("/v1/me", token=b))


def test_wrong_password_and_unknown_email_identical_401(api, factory):
    u = factory.make_user("gp", login=False)
    r1 = api.login_resp(u["email"], u["password"] + "x")
    r2 = api.login_resp(f"nobody-{uuid.uuid4().hex}@test.example", u["password"])
    b1 = assert_problem(r1, 401, "/problems/invalid-credentials")
    b2 = assert_problem(r2, 401, "/problems/invalid-credentials")
    assert problem_core(b1) == problem_core(b2)
    assert set(b1) == set(b2)
    assert u["password"] not in r1.text


@pytest.mark.parametrize("body,field", [
    ({"password": "123456789012"}, "email"),
    ({"email": "a@test.example"}, "password"),
    ({"email": 5, "password": "123456789012"}, "email"),
    ({"email": "a@test.example", "password": 123456789012}, "password"),
    ({"email": "a@test.example", "password": None}, "password"),
    ({"email": "a@test.example", "password": "123456789012", "remember": True}, "remember"),
])
def test_login_bad_fields_422(api, body, field):
    b = assert_problem(api.post("/v1/auth/login", json=body), 422, "/problems/validation")
    assert field in error_fields(b)


def test_login_empty_object_422(api):
    b = assert_problem(api.post("/v1/auth/login", json={}), 422, "/problems/validation")
    assert {"email", "password"} <= error_fields(b)


def test_login_oversized_fields_422_without_work(api, db):
    before = sql_count(db, "SELECT count(*) FROM login_failures")
    r = api.post("/v1/auth/login", json={"email": "a" * 2000 + "@x.nl", "password": "x" * 2000})
    b = assert_problem(r, 422, "/problems/validation")
    assert {"email", "password"} <= error_fields(b)
    assert sql_count(db, "SELECT count(*) FROM login_failures") == before


def test_unicode_email_is_stored_and_matched_lower_case(api, admin_token, factory):
    org = factory.make_org("general_practice")
    email = f"Émile.{uid()}@Praktijk.NL"
    r = api.post("/v1/users", token=admin_token, json={
        "email": email, "name": "Émile", "role": "gp", "organisation_id": org["id"],
        "password": "correct horse battery"})
    body = assert_json(r, 201)
    assert body["email"] == email.lower()
    assert_json(api.login_resp(email.upper(), "correct horse battery"))


def test_token_and_password_not_stored_in_clear(api, factory, pg, main_db_name):
    import os
    import shutil
    import subprocess
    u = factory.make_user("gp")
    pg_dump = "/usr/lib/postgresql/15/bin/pg_dump"
    if not os.path.exists(pg_dump):
        pg_dump = shutil.which("pg_dump") or "pg_dump"
    p = subprocess.run([pg_dump, "-h", pg.sockdir, "-U", "overleg", "--data-only",
                        main_db_name], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    dump = p.stdout
    assert u["email"] in dump  # sanity: the dump has the data
    assert u["token"] not in dump
    assert u["token"][4:] not in dump
    assert u["password"] not in dump
    assert "$argon2id$" in dump


# ---- POST /v1/auth/login: rate limit ----

def test_rate_limit_and_recovery(api, factory, clock):
    u = factory.make_user("poh", login=False)
    other = factory.make_user("poh", login=False)
    for i in range(5):
        assert_problem(api.login_resp(u["email"], f"wrong-password-{i}"), 401, "/problems/invalid-credentials")
    for pw in ("wrong-password-x", u["password"]):
        r = api.login_resp(u["email"], pw)
        assert_problem(r, 429, "/problems/rate-limited")
        ra = r.headers.get("Retry-After")
        assert ra is not None and ra.isdigit(), ra
        assert 1 <= int(ra) <= 900
        assert int(ra) >= 880  # remaining seconds of a lock that just started
    # case variations of the same e-mail are the same e-mail
    assert_problem(api.login_resp(u["email"].upper(), u["password"]), 429, "/problems/rate-limited")
    # other e-mails are unaffected
    assert_json(api.login_resp(other["email"], other["password"]))
    # 16 minutes later the lock is gone
    clock(utcnow() + timedelta(minutes=16))
    body = assert_json(api.login_resp(u["email"], u["password"]))
    assert TOKEN_RE.fullmatch(body["token"])


def test_rate_limit_refused_attempts_do_not_extend_lock(api, factory, clock):
    u = factory.make_user("poh", login=False)
    t0 = utcnow()
    for i in range(5):
        assert_problem(api.login_resp(u["email"], f"wrong-{i}"), 401)
    clock(t0 + timedelta(minutes=10))
    r = api.login_resp(u["email"], u["password"])
    assert_problem(r, 429)
    assert 270 <= int(r.headers["Retry-After"]) <= 305, r.headers["Retry-After"]
    clock(t0 + timedelta(minutes=15, seconds=30))
    assert_json(api.login_resp(u["email"], u["password"]))


def test_successful_login_clears_failures(api, factory):
    u = factory.make_user("billing", login=False)
    for i in range(4):
        assert_problem(api.login_resp(u["email"], f"wrong-{i}"), 401)
    assert_json(api.login_resp(u["email"], u["password"]))
    for i in range(4):
        assert_problem(api.login_resp(u["email"], f"wrong-again-{i}"), 401)
    assert_json(api.login_resp(u["email"], u["password"]))


def test_rate_limit_holds_under_parallel_guesses(api, factory):
    # Attempts are counted before the password is checked, so parallel guesses cannot slip
    # past the limit: at most 5 are checked, the rest are refused.
    import concurrent.futures
    u = factory.make_user("gp", login=False)
    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(lambda i: api.login_resp(u["email"], f"guess-{i}").status_code,
                                 range(30)))
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 25, statuses


def test_rate_limit_lasts_until_15_minutes_after_last_failure(api, factory, clock):
    u = factory.make_user("gp", login=False)
    t0 = utcnow()
    for i in range(5):  # failures at t0, t0+1, ... t0+4 minutes
        clock(t0 + timedelta(minutes=i))
        assert_problem(api.login_resp(u["email"], f"wrong-{i}"), 401)
    clock(t0 + timedelta(minutes=15, seconds=30))  # first failure long gone, last one not
    r = api.login_resp(u["email"], u["password"])
    assert_problem(r, 429)
    assert 200 <= int(r.headers["Retry-After"]) <= 240, r.headers["Retry-After"]
    clock(t0 + timedelta(minutes=19, seconds=30))
    assert_json(api.login_resp(u["email"], u["password"]))


# ---- POST /v1/auth/login: audit ----

def test_logins_are_audited(api, factory, admin_token):
    u = factory.make_user("gp", login=False)
    assert_problem(api.login_resp(u["email"], "definitely-wrong-pw"), 401)
    tok = api.login(u["email"], u["password"])
    assert tok
    by_subject = audit_entries(api, admin_token, subject_id=u["id"], action="auth.login")
    denied = [e for e in by_subject if e["outcome"] == "denied"]
    assert len(denied) == 1, by_subject
    assert denied[0]["actor"] is None
    assert denied[0]["subject_type"] == "user"
    assert all(e["action"] == "auth.login" for e in by_subject)
    for e in by_subject:
        assert "definitely-wrong-pw" not in str(e)
    by_actor = audit_entries(api, admin_token, actor_id=u["id"], action="auth.login")
    assert len(by_actor) == 1, by_actor
    success = by_actor[0]
    assert success["outcome"] == "success" and success["actor"]["id"] == u["id"]
    assert parse_ts(success["at"]) >= parse_ts(denied[0]["at"])
    # newest first: the success comes before the failure when both are listed
    if success["id"] in {e["id"] for e in by_subject}:
        ids = [e["id"] for e in by_subject]
        assert ids.index(success["id"]) < ids.index(denied[0]["id"])


def test_login_unknown_email_is_audited(api, admin_token, db):
    email = f"ghost-{uuid.uuid4().hex}@test.example"
    before = sql_count(db, "SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'denied'")
    assert_problem(api.login_resp(email, "whatever-password"), 401)
    after = sql_count(db, "SELECT count(*) FROM audit_log WHERE action = 'auth.login' AND outcome = 'denied'")
    assert after == before + 1


# ---- POST /v1/auth/logout ----

def test_logout(api, gp):
    tok = api.login(gp["email"], gp["password"])
    other = api.login(gp["email"], gp["password"])
    r = api.post("/v1/auth/logout", token=tok)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(api.get("/v1/me", token=tok), 401, "/problems/unauthorized")
    assert_problem(api.post("/v1/auth/logout", token=tok), 401, "/problems/unauthorized")
    # only that token died
    assert_json(api.get("/v1/me", token=other))


def test_logout_without_token_401(api):
    r = api.post("/v1/auth/logout")
    assert_problem(r, 401, "/problems/unauthorized")
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_logout_is_audited(api, factory, admin_token):
    u = factory.make_user("gp")
    assert api.post("/v1/auth/logout", token=u["token"]).status_code == 204
    entries = audit_entries(api, admin_token, actor_id=u["id"], action="auth.logout")
    assert len(entries) == 1 and entries[0]["outcome"] == "success"


# ---- GET /v1/me ----

def test_me_returns_caller(api, gp):
    me = assert_json(api.get("/v1/me", token=gp["token"]))
    assert set(me) == USER_FIELDS
    assert me["id"] == gp["id"] and me["email"] == gp["email"] and me["role"] == "gp"


@pytest.mark.parametrize("auth", [None, "Bearer garbage", "Bearer ", "Bearer", "Basic YTpi",
                                  "Bearer ovl_" + "A" * 43, "bearer", "Token abc"])
def test_me_bad_authorization_401(api, auth):
    headers = {"Authorization": auth} if auth is not None else {}
    r = api.get("/v1/me", headers=headers)
    assert_problem(r, 401, "/problems/unauthorized")
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers.get("WWW-Authenticate")


def test_me_shows_the_user_and_the_admin(api, gp, admin_token, admin_user):
    me = assert_json(api.get("/v1/me", token=gp["token"]))
    assert me["id"] == gp["id"] and set(me) == USER_FIELDS
    assert admin_user["email"] == ADMIN_EMAIL and admin_user["role"] == "admin"
    assert admin_user["name"] == "Test Admin"


# ---- Tokens: expiry and deactivation ----

def test_token_expiry(api, factory, clock):
    u = factory.make_user("gp")
    clock(utcnow() + timedelta(hours=11, minutes=58))
    assert_json(api.get("/v1/me", token=u["token"]))
    clock(utcnow() + timedelta(hours=12, minutes=1))
    r = api.get("/v1/me", token=u["token"])
    assert_problem(r, 401, "/problems/unauthorized")
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_deactivation_kills_tokens_and_login(api, factory, admin_token):
    u = factory.make_user("coordinator")
    assert_json(api.get("/v1/me", token=u["token"]))
    body = assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"active": False}))
    assert body["active"] is False
    assert_problem(api.get("/v1/me", token=u["token"]), 401, "/problems/unauthorized")
    wrong = api.login_resp(u["email"], u["password"] + "zz")
    r = api.login_resp(u["email"], u["password"])
    b = assert_problem(r, 401, "/problems/invalid-credentials")
    assert problem_core(b) == problem_core(wrong.json())


# ---------------------------------------------------------------------------------------------
# A session carries its user's principal (sql/0001_foundation.sql); any change to it ends the session
# ---------------------------------------------------------------------------------------------

def test_session_carries_the_principal(api, factory, db):
    org = factory.make_org("general_practice", region="utrecht")
    u = factory.make_user("poh", org_id=org["id"])
    with db.cursor() as cur:
        cur.execute("SELECT s.organisation_id::text, s.role, s.region FROM sessions s"
                    " WHERE s.user_id = %s AND s.revoked_at IS NULL", (u["id"],))
        assert cur.fetchall() == [(org["id"], "poh", "utrecht")]
    db.commit()
    me = assert_json(api.get("/v1/me", token=u["token"]))
    assert (me["id"], me["organisation_id"], me["role"]) == (u["id"], org["id"], "poh")


# Changes the API does not make (it changes only `active`, and revokes then itself), made in the
# database: the triggers end the sessions, for the routes that check the session alone (/v1/me)
# and inside their first statement (the directory) alike.
@pytest.mark.parametrize("change", ["deactivate", "role", "organisation", "region"])
def test_session_ends_when_the_principal_changes_in_the_database(api, factory, db, change):
    org = factory.make_org("general_practice")
    u = factory.make_user("gp", org_id=org["id"])
    other = factory.make_user("gp", org_id=factory.make_org("general_practice")["id"])
    for path in ("/v1/me", "/v1/vocabularies"):
        assert_json(api.get(path, token=u["token"]))
    sql = {"deactivate": ("UPDATE users SET active = false WHERE id = %s", u["id"]),
           "role": ("UPDATE users SET role = 'poh' WHERE id = %s", u["id"]),
           "organisation": ("UPDATE users SET organisation_id = %s WHERE id = %s",
                            factory.make_org("general_practice")["id"], u["id"]),
           "region": ("UPDATE organisations SET region = 'zeeland' WHERE id = %s", org["id"])}[change]
    with db.cursor() as cur:
        cur.execute(sql[0], sql[1:])
    db.commit()
    for path in ("/v1/me", "/v1/vocabularies", "/v1/consultants"):
        assert_problem(api.get(path, token=u["token"]), 401, "/problems/unauthorized")
    assert sql_count(db, "SELECT count(*) FROM sessions WHERE user_id = %s AND revoked_at IS NULL",
                     u["id"]) == 0
    assert_json(api.get("/v1/me", token=other["token"]))  # another organisation's user is untouched
    if change != "deactivate":
        assert_json(api.get("/v1/me", token=api.login(u["email"], u["password"])))  # signs in again


def test_no_session_for_an_inactive_user(api, factory, db):
    u = factory.make_user("gp", login=False)
    with db.cursor() as cur:
        cur.execute("UPDATE users SET active = false WHERE id = %s", (u["id"],))
        cur.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
                    " VALUES (%s, %s, now(), now() + interval '1 hour') RETURNING 1",
                    (uuid.uuid4().hex, u["id"]))
        assert cur.fetchall() == []
    db.commit()
    assert sql_count(db, "SELECT count(*) FROM sessions WHERE user_id = %s", u["id"]) == 0


def server_waits_for_a_lock(cur, thread):
    """How many of overlegd's connections wait for a lock, once one does or `thread` has ended
    (at most 10 s); `cur` is in a transaction of its own."""
    for _ in range(200):
        cur.execute("SELECT pg_stat_clear_snapshot()")  # (else the view is read once a transaction)
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'overlegd'"
                    " AND wait_event_type = 'Lock'")
        waited = cur.fetchone()[0]
        if waited or not thread.is_alive():
            return waited
        threading.Event().wait(0.05)
    return 0


def test_sign_in_racing_a_deactivation_gets_no_session(api, factory, db):
    """The password is checked against the user as it was; the session's insert waits for the
    deactivation in flight and then finds the user inactive: 401, and no session."""
    u = factory.make_user("gp", login=False)
    with db.cursor() as cur:
        cur.execute("BEGIN")  # (db is in autocommit mode)
        cur.execute("UPDATE users SET active = false WHERE id = %s", (u["id"],))  # not committed
        out = {}
        t = threading.Thread(target=lambda: out.update(r=api.login_resp(u["email"], u["password"])))
        t.start()
        waited = server_waits_for_a_lock(cur, t)  # for our lock on the user's row
        cur.execute("COMMIT")
    t.join(10)
    assert waited == 1, f"the sign-in did not wait for the deactivation: {out}"
    b = assert_problem(out["r"], 401, "/problems/invalid-credentials")
    assert problem_core(b) == problem_core(api.login_resp(u["email"], u["password"] + "zz").json())
    assert sql_count(db, "SELECT count(*) FROM sessions WHERE user_id = %s", u["id"]) == 0
    # audited as a refused sign-in, and still counted as a failure (each twice, with the
    # wrong password's)
    assert sql_count(db, "SELECT count(*) FROM audit_log WHERE action = 'auth.login'"
                     " AND subject_id = %s AND outcome = 'denied'", u["id"]) == 2
    assert sql_count(db, "SELECT count(*) FROM login_failures WHERE email = %s", u["email"]) == 2


def test_deactivation_ends_a_session_created_while_it_waited(api, factory, admin_token, db):
    """A session whose insert holds the user's row when PATCH deactivates: the PATCH waits, its
    own revocation (the statement's snapshot) cannot see that session, the trigger's can."""
    u = factory.make_user("gp", login=False)
    token_hash = uuid.uuid4().hex
    with db.cursor() as cur:
        cur.execute("BEGIN")  # (db is in autocommit mode)
        cur.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
                    " VALUES (%s, %s, now(), now() + interval '1 hour')", (token_hash, u["id"]))
        out = {}
        t = threading.Thread(target=lambda: out.update(r=api.patch(
            f"/v1/users/{u['id']}", token=admin_token, json={"active": False})))
        t.start()
        waited = server_waits_for_a_lock(cur, t)  # for our lock on the user's row
        cur.execute("COMMIT")
    t.join(10)
    assert waited == 1, f"the PATCH did not wait for the sign-in: {out}"
    assert assert_json(out["r"])["active"] is False
    assert sql_count(db, "SELECT count(*) FROM sessions WHERE token_hash = %s AND revoked_at IS NULL",
                     token_hash) == 0


def test_renaming_a_user_keeps_the_session(api, factory, admin_token, db):
    u = factory.make_user("gp")
    assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"name": "Renamed Person"}))
    assert assert_json(api.get("/v1/me", token=u["token"]))["name"] == "Renamed Person"
    assert_json(api.get("/v1/vocabularies", token=u["token"]))


def test_a_change_that_ends_sessions_needs_read_committed(api, factory, db):
    u = factory.make_user("gp")
    with db.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        with pytest.raises(Exception) as e:
            cur.execute("UPDATE users SET role = 'poh' WHERE id = %s", (u["id"],))
        assert getattr(e.value, "pgcode", None) == "25001", e.value
        cur.execute("ROLLBACK")
    assert assert_json(api.get("/v1/me", token=u["token"]))["role"] == "gp"


# ---- Passwords (code points, not bytes) ----

@pytest.mark.parametrize("password,ok", [
    ("a" * 11, False),
    ("a" * 12, True),
    ("a" * 256, True),
    ("a" * 257, False),
    ("é" * 11, False),          # 22 bytes, 11 characters
    ("é" * 12, True),
    ("€" * 256, True),          # 768 bytes, 256 characters
    ("€" * 257, False),
    ("🔑" * 12, True),          # 4-byte UTF-8
    ("🔑" * 11, False),
    ("            ", True),      # any characters
])
def test_password_length_rules(api, admin_token, factory, db, password, ok):
    org = factory.org_for("gp")
    email = f"pw-{uuid.uuid4().hex}@test.example"
    body = {"email": email, "name": "Pw Tester", "role": "gp", "organisation_id": org["id"],
            "password": password}
    r = api.post("/v1/users", token=admin_token, json=body)
    if ok:
        assert_json(r, 201)
        assert password not in r.text
        assert_json(api.login_resp(email, password))
    else:
        b = assert_problem(r, 422, "/problems/validation")
        assert "password" in error_fields(b)
        assert password not in r.text
        assert sql_count(db, "SELECT count(*) FROM users WHERE lower(email) = %s", email) == 0
