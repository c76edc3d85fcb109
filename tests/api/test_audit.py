"""Audit log (API.md §12): GET /v1/audit (filters, paging, rights), GET /v1/audit/verify, append-only enforcement in SQL, the hash chain, atomicity with the change it records, client addresses."""

import re
import uuid
from datetime import timedelta

import psycopg2
import pytest

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, Api, Server, assert_json, assert_problem, audit_entries,
                      error_fields, fmt_ts, parse_ts, sql_count, uid, utcnow, valid_password)


ENTRY_FIELDS = {"id", "at", "actor", "action", "subject_type", "subject_id", "patient_ref", "ip", "request_id",
                "outcome"}


ACTOR_FIELDS = {"id", "name", "role", "organisation_id"}


@pytest.fixture(scope="module")
def busy_admin(api, factory):
    """A fresh admin that does a known set of things, with the time window around them."""
    t0 = (utcnow() - timedelta(seconds=2)).replace(microsecond=0)
    adm = factory.make_user("admin")
    tok = adm["token"]
    rid = "audit-test-" + uid()
    org = assert_json(api.post("/v1/organisations", token=tok, headers={"X-Request-Id": rid},
                               json={"name": f"Audit org {uid()}", "kind": "general_practice", "region": "aud"}),
                      201)
    user = assert_json(api.post("/v1/users", token=tok,
                                json={"email": f"aud-{uuid.uuid4().hex}@test.example", "name": "Aud User",
                                      "role": "gp", "organisation_id": org["id"], "password": valid_password()}),
                       201)
    assert_json(api.get(f"/v1/users/{user['id']}", token=tok))
    assert_json(api.patch(f"/v1/users/{user['id']}", token=tok, json={"name": "Aud User 2"}))
    t1 = utcnow() + timedelta(seconds=2)
    return {"admin": adm, "org": org, "user": user, "rid": rid, "t0": t0, "t1": t1}


@pytest.fixture(scope="module")
def gp(factory):
    return factory.make_user("gp")


# ---- GET /v1/audit ----

def test_entry_shape(api, admin_token, busy_admin):
    adm = busy_admin["admin"]
    entries = audit_entries(api, admin_token, subject_id=busy_admin["org"]["id"], action="organisations.create")
    assert len(entries) == 1
    e = entries[0]
    assert set(e) == ENTRY_FIELDS
    uuid.UUID(e["id"])
    parse_ts(e["at"])
    assert set(e["actor"]) == ACTOR_FIELDS
    assert e["actor"]["id"] == adm["id"]
    assert e["actor"]["role"] == "admin"
    assert e["actor"]["name"] == adm["user"]["name"]
    assert e["actor"]["organisation_id"] == adm["user"]["organisation_id"]
    assert e["action"] == "organisations.create"
    assert isinstance(e["subject_type"], str) and e["subject_type"]
    assert e["subject_id"] == busy_admin["org"]["id"]
    assert e["patient_ref"] is None
    assert e["ip"] == "127.0.0.1"
    assert e["request_id"] == busy_admin["rid"]
    assert e["outcome"] == "success"


def test_list_newest_first_and_filters(api, admin_token, busy_admin):
    adm = busy_admin["admin"]
    entries = audit_entries(api, admin_token, actor_id=adm["id"])
    actions = [e["action"] for e in entries]
    # the login, the creates, the read and the update, in reverse order
    assert actions[:5] == ["users.update", "users.read", "users.create", "organisations.create", "auth.login"]
    ats = [parse_ts(e["at"]) for e in entries]
    assert ats == sorted(ats, reverse=True)
    assert all(e["actor"]["id"] == adm["id"] for e in entries)

    only = audit_entries(api, admin_token, actor_id=adm["id"], action="users.create")
    assert [e["subject_id"] for e in only] == [busy_admin["user"]["id"]]

    by_subject = audit_entries(api, admin_token, subject_id=busy_admin["user"]["id"])
    assert {"users.create", "users.read", "users.update"} <= {e["action"] for e in by_subject}
    assert all(e["subject_id"] == busy_admin["user"]["id"] for e in by_subject)


def test_filter_from_to(api, admin_token, busy_admin):
    adm = busy_admin["admin"]
    t0, t1 = busy_admin["t0"], busy_admin["t1"]
    all_ = audit_entries(api, admin_token, actor_id=adm["id"])
    inside = audit_entries(api, admin_token, actor_id=adm["id"], **{"from": fmt_ts(t0), "to": fmt_ts(t1)})
    assert len(inside) >= 5
    assert {e["id"] for e in inside} <= {e["id"] for e in all_}
    for e in inside:
        assert t0 <= parse_ts(e["at"]) <= t1
    assert audit_entries(api, admin_token, actor_id=adm["id"], **{"to": fmt_ts(t0 - timedelta(hours=1))}) == []
    assert audit_entries(api, admin_token, actor_id=adm["id"],
                         **{"from": fmt_ts(utcnow() + timedelta(hours=1))}) == []
    # dates are accepted too
    day = audit_entries(api, admin_token, actor_id=adm["id"],
                        **{"from": (t0 - timedelta(days=1)).strftime("%Y-%m-%d")})
    assert {e["id"] for e in inside} <= {e["id"] for e in day}


@pytest.mark.parametrize("params,field", [
    ({"actor_id": "not-a-uuid"}, "actor_id"),
    ({"subject_id": "123"}, "subject_id"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-45"}, "to"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "zzz"}, "cursor"),
    ({"who": "me"}, "who"),
])
def test_bad_query_400(api, admin_token, params, field):
    b = assert_problem(api.get("/v1/audit", token=admin_token, params=params), 400, "/problems/bad-query")
    assert field in error_fields(b)


def test_pagination(api, admin_token, busy_admin):
    adm = busy_admin["admin"]
    full = audit_entries(api, admin_token, actor_id=adm["id"])
    assert len(full) >= 5
    pages, cursor = [], None
    for _ in range(50):
        params = {"actor_id": adm["id"], "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = assert_json(api.get("/v1/audit", token=admin_token, params=params))
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= 2
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    ids = [e["id"] for p in pages for e in p]
    assert len(ids) == len(set(ids))
    assert ids == [e["id"] for e in full]


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify"])
def test_non_admin_403(api, admin_token, factory, path):
    for role in ("gp", "coordinator"):
        u = factory.make_user(role)
        assert_problem(api.get(path, token=u["token"]), 403, "/problems/forbidden")
        action = "audit.list" if path == "/v1/audit" else "audit.verify"
        entries = audit_entries(api, admin_token, actor_id=u["id"], action=action)
        assert entries and entries[0]["outcome"] == "denied"


def test_without_token_401(api):
    assert_problem(api.get("/v1/audit"), 401, "/problems/unauthorized")
    assert_problem(api.get("/v1/audit/verify"), 401, "/problems/unauthorized")


def test_reading_audit_is_audited(api, admin_token, factory):
    adm = factory.make_user("admin")
    assert_json(api.get("/v1/audit", token=adm["token"], params={"limit": 1}))
    assert_json(api.get("/v1/audit/verify", token=adm["token"]))
    lst = audit_entries(api, admin_token, actor_id=adm["id"], action="audit.list")
    assert len(lst) == 1 and lst[0]["outcome"] == "success"
    ver = audit_entries(api, admin_token, actor_id=adm["id"], action="audit.verify")
    assert len(ver) == 1 and ver[0]["outcome"] == "success"


# ---- GET /v1/audit/verify ----

def test_verify_ok(api, admin_token, db):
    n = sql_count(db, "SELECT count(*) FROM audit_log")
    body = assert_json(api.get("/v1/audit/verify", token=admin_token))
    assert set(body) == {"ok", "entries", "first_bad_id", "head", "issued_seq", "checkpoints"}
    assert body["ok"] is True
    assert body["first_bad_id"] is None
    assert isinstance(body["entries"], int) and body["entries"] >= n
    # nothing ever deleted: the head is the last sequence number handed out, and there is no gap
    assert body["head"]["seq"] == body["issued_seq"] == body["entries"]
    assert re.fullmatch(r"[0-9a-f]{64}", body["head"]["hash"])
    assert body["checkpoints"] is None  # no checkpoint file configured for this server


def _set_action_bypassing_triggers(pg, main_db_name, entry_id, action):
    conn = pg.connect(main_db_name, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            cur.execute("UPDATE audit_log SET action = %s WHERE id = %s", (action, entry_id))
            assert cur.rowcount == 1
            cur.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        conn.close()


def test_tamper_detected_and_restored(api, admin_token, pg, main_db_name, db):
    assert assert_json(api.get("/v1/audit/verify", token=admin_token))["ok"] is True
    org = assert_json(api.post("/v1/organisations", token=admin_token,
                               json={"name": f"Tamper {uid()}", "kind": "other", "region": "aud"}), 201)
    # a few entries after it, so it is not the last one
    for _ in range(3):
        assert_json(api.get("/v1/audit", token=admin_token, params={"limit": 1}))
    entries = audit_entries(api, admin_token, subject_id=org["id"], action="organisations.create")
    assert len(entries) == 1
    eid = entries[0]["id"]
    _set_action_bypassing_triggers(pg, main_db_name, eid, "organisations.delete")
    try:
        bad = assert_json(api.get("/v1/audit/verify", token=admin_token))
        assert bad["ok"] is False
        assert bad["first_bad_id"] == eid
    finally:
        _set_action_bypassing_triggers(pg, main_db_name, eid, "organisations.create")
    good = assert_json(api.get("/v1/audit/verify", token=admin_token))
    assert good["ok"] is True and good["first_bad_id"] is None
    # the triggers are back on
    conn = pg.connect(main_db_name, autocommit=False)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error):
            cur.execute("UPDATE audit_log SET action = 'x' WHERE id = %s", (eid,))
    finally:
        conn.rollback()
        conn.close()


# ---- The audit writer: one transaction with the change, client addresses ----

def test_create_and_entry_commit_together(api, admin_token, db):
    org = assert_json(api.post("/v1/organisations", token=admin_token,
                               json={"name": f"Atomic {uid()}", "kind": "other", "region": "aud"}), 201)
    assert sql_count(db, "SELECT count(*) FROM audit_log WHERE subject_id = %s AND action = %s",
                     org["id"], "organisations.create") == 1


def test_audit_write_failure_rolls_back_the_change(api, admin_token, db):
    """When the audit entry cannot be written, the request fails and nothing changes (API.md §12)."""
    name = f"Must not exist {uid()}"
    with db.cursor() as cur:
        cur.execute("ALTER TABLE audit_log ADD CONSTRAINT t_block_org_create "
                    "CHECK (action <> 'organisations.create') NOT VALID")
    try:
        r = api.post("/v1/organisations", token=admin_token,
                     json={"name": name, "kind": "other", "region": "aud"})
        assert r.status_code >= 500, r.text
        assert_problem(r, r.status_code)
    finally:
        with db.cursor() as cur:
            cur.execute("ALTER TABLE audit_log DROP CONSTRAINT t_block_org_create")
    assert sql_count(db, "SELECT count(*) FROM organisations WHERE name = %s", name) == 0
    # and the server is fine afterwards
    assert_json(api.post("/v1/organisations", token=admin_token,
                         json={"name": name + " later", "kind": "other", "region": "aud"}), 201)


def test_audit_ip_untrusted_forwarded_for_is_ignored(api, admin_token):
    rid = f"xff-{uid()}"
    api.get("/v1/audit/verify", token=admin_token,
            headers={"X-Forwarded-For": "203.0.113.9", "X-Request-Id": rid})
    entry = [e for e in audit_entries(api, admin_token, action="audit.verify") if e["request_id"] == rid]
    assert entry and entry[0]["ip"] == "127.0.0.1"


def test_audit_ip_from_trusted_proxy(pg, main_db_name, server):
    s = Server(pg.url(main_db_name), pg.root, name="proxied",
               extra_env={"OVERLEG_TRUSTED_PROXIES": "10.0.0.1, 127.0.0.1"})
    s.start()
    try:
        a = Api(s.base)
        tok = a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        rid = f"xff-{uid()}"
        a.get("/v1/audit/verify", token=tok,
              headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Request-Id": rid})
        entry = [e for e in audit_entries(a, tok, action="audit.verify") if e["request_id"] == rid]
        # the last address is the one the trusted proxy appended; the first is the client's claim
        assert entry and entry[0]["ip"] == "203.0.113.9"
    finally:
        s.stop()


# ---- Append-only in SQL, even for a superuser ----

@pytest.mark.parametrize("stmt", [
    "UPDATE audit_log SET action = 'x.y' WHERE id = (SELECT id FROM audit_log LIMIT 1)",
    "UPDATE audit_log SET action = action",
    "DELETE FROM audit_log WHERE id = (SELECT id FROM audit_log LIMIT 1)",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "TRUNCATE audit_log CASCADE",
])
def test_sql_refuses_changes(pg, main_db_name, db, stmt):
    before = sql_count(db, "SELECT count(*) FROM audit_log")
    assert before > 0
    conn = pg.connect(main_db_name, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            assert cur.fetchone()[0] is True
            with pytest.raises(psycopg2.Error):
                cur.execute(stmt)
    finally:
        conn.rollback()  # whatever happened, never let a change through
        conn.close()
    assert sql_count(db, "SELECT count(*) FROM audit_log") >= before
