"""Resilience against the database going away (API.md §2: 503, the process stays up and recovers by
itself). The module has a PostgreSQL cluster of its own (the fixtures pg and main_db_name are
overridden here) with two servers on one database, so it terminates connections and restarts the
cluster without disturbing any other test, in whatever order the files run.
"""

import os
import shutil
import tempfile
import time

import pytest
import requests

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, Api, Pg, Server, assert_json, assert_problem,
                      migrated_server)


@pytest.fixture(scope="module")
def pg():
    """This module's own cluster: stopping it leaves the suite's shared server alone."""
    root = tempfile.mkdtemp(prefix="ovl-outage-", dir="/tmp")
    os.chmod(root, 0o755)
    cluster = Pg(root)
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            if os.environ.get("OVERLEG_KEEP_TMP") != "1":
                shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def main_db_name():
    return "t_outage"


@pytest.fixture(scope="module")
def other(pg, main_db_name):
    """A migrated database with the admin, and a server on it besides the one under test."""
    s = migrated_server(pg, main_db_name, "outage-other")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api(other):
    return Api(other.base)


@pytest.fixture(scope="module")
def admin_token(api):
    return api.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def own(pg, main_db_name, other):
    s = Server(pg.url(main_db_name), pg.root, name="resilience")
    s.start()
    a = Api(s.base)
    tok = a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    yield s, a, tok
    s.stop()


def poll_until_ok(fn, seconds):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            r = fn()
            last = r
            if r.status_code == 200:
                return r
        except requests.RequestException as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"no 200 within {seconds} s; last: "
                         f"{getattr(last, 'status_code', last)} {getattr(last, 'text', '')[:300]}")


# ---- Connections terminated by the database ----

def test_terminated_connections_recover(own, pg, main_db_name):
    s, a, tok = own
    for _ in range(5):
        assert_json(a.get("/v1/me", token=tok))
    conn = pg.connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", (main_db_name,))
            assert cur.fetchone()[0] > 0  # the servers' pools were connected
    finally:
        conn.close()
    t0 = time.monotonic()
    # the next few may fail with 503 (never anything else, never a hang) ...
    statuses = []
    deadline = t0 + 5
    ok_streak = 0
    while time.monotonic() < deadline and ok_streak < 10:
        r = a.get("/v1/me", token=tok, timeout=5)
        statuses.append(r.status_code)
        if r.status_code == 200:
            ok_streak += 1
        else:
            ok_streak = 0
            assert_problem(r, 503, "/problems/unavailable")
            assert r.headers.get("Retry-After") == "1"
        time.sleep(0.05)
    # ... but within 5 s all succeed
    assert ok_streak >= 10, statuses
    assert s.alive()
    for _ in range(10):
        assert_json(a.get("/v1/me", token=tok))


def test_terminated_connections_mid_transaction(own, pg, main_db_name):
    """Idempotent creates while the database keeps terminating the server's connections, some
    of them held by a request's transaction: every acknowledged create is there once, and every
    other one, retried with its key, gets done once."""
    from datetime import timedelta
    from conftest import fmt_ts, utcnow
    import threading
    import uuid
    s, a, tok = own
    names, acked, seen = [], {}, []
    lock, terminating, stop = threading.Lock(), threading.Event(), threading.Event()
    terminating.set()

    def work():
        api = Api(s.base)
        while terminating.is_set():
            name = f"Mid-transaction {uuid.uuid4().hex}"
            with lock:
                names.append(name)
            key = {"Idempotency-Key": uuid.uuid4().hex}
            while not stop.is_set():
                r = api.post("/v1/organisations", token=tok, headers=key, timeout=15,
                             json={"name": name, "kind": "other", "region": "resilience"})
                if r.status_code == 201:
                    with lock:
                        acked[name] = r.json()["id"]
                    break
                # 503; or 409 while a key a failed request could not release is held (60 s)
                assert r.status_code in (503, 409), (r.status_code, r.text)
                with lock:
                    seen.append(r.status_code)
                time.sleep(0.05)

    threads = [threading.Thread(target=work) for _ in range(4)]
    conn = pg.connect(main_db_name)
    try:
        for t in threads:
            t.start()
        with conn.cursor() as cur:
            for _ in range(12):
                time.sleep(0.15)
                cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE datname = %s AND application_name = 'overlegd'",
                            (main_db_name,))
        terminating.clear()
        poll_until_ok(lambda: a.get("/v1/me", token=tok, timeout=5), 10)
        # keys held by requests whose release was lost too may be taken over after 60 s
        assert_json(a.put("/v1/admin/clock", token=tok,
                          json={"now": fmt_ts(utcnow() + timedelta(seconds=61))}))
        for t in threads:
            t.join(timeout=20)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        assert_json(a.delete("/v1/admin/clock", token=a.login(ADMIN_EMAIL, ADMIN_PASSWORD)))
    try:
        assert len(acked) == len(names), (len(acked), len(names), seen)
        with conn.cursor() as cur:
            for name in names:
                cur.execute("SELECT id::text FROM organisations WHERE name = %s", (name,))
                assert cur.fetchall() == [(acked[name],)], name
    finally:
        conn.close()
    assert s.alive()


# ---- The database down, then up again ----

def test_database_down_then_up(own, pg, main_db_name, api, admin_token):
    s, a, tok = own
    assert_json(a.get("/v1/me", token=tok))
    idem_body = {"name": "Retried after restart", "kind": "other", "region": "resilience"}
    idem_key = {"Idempotency-Key": "outage-retry"}
    pg.stop()
    try:
        # authenticated requests answer 503 quickly: no hang, no crash
        t0 = time.monotonic()
        r = a.get("/v1/me", token=tok, timeout=15)
        assert time.monotonic() - t0 < 10
        assert_problem(r, 503, "/problems/unavailable")
        assert r.headers.get("Retry-After") == "1"
        for _ in range(5):
            t = time.monotonic()
            r = a.get("/v1/organisations", token=tok, timeout=15)
            assert time.monotonic() - t < 10
            assert_problem(r, 503, "/problems/unavailable")
        # login needs the database too
        assert_problem(a.login_resp(ADMIN_EMAIL, ADMIN_PASSWORD), 503, "/problems/unavailable")
        # a 503 means nothing was done, and the Idempotency-Key is not held
        assert_problem(a.post("/v1/organisations", token=tok, json=idem_body, headers=idem_key,
                              timeout=15), 503, "/problems/unavailable")
        assert assert_json(a.get("/healthz")) == {"status": "ok"}
        assert_problem(a.get("/readyz"), 503, "/problems/unavailable")
        assert s.alive()
    finally:
        pg.start()
    # recovers by itself, without a restart
    poll_until_ok(lambda: a.get("/v1/me", token=tok, timeout=5), 15)
    poll_until_ok(lambda: a.get("/readyz", timeout=5), 15)
    for _ in range(10):
        assert_json(a.get("/v1/me", token=tok))
    assert_json(a.post("/v1/organisations", token=tok,
                       json={"name": "After restart", "kind": "other", "region": "resilience"}), 201)
    r = a.post("/v1/organisations", token=tok, json=idem_body, headers=idem_key)
    created = assert_json(r, 201)
    assert r.headers.get("Idempotent-Replayed") in (None, "false")
    r = a.post("/v1/organisations", token=tok, json=idem_body, headers=idem_key)
    assert assert_json(r, 201) == created and r.headers.get("Idempotent-Replayed") == "true"
    conn = pg.connect(main_db_name)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM organisations WHERE name = %s", (idem_body["name"],))
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()
    # and so does the shared server
    poll_until_ok(lambda: api.get("/v1/me", token=admin_token, timeout=5), 15)
    assert s.alive()


def test_server_stops_cleanly_after_outage(own):
    s, a, tok = own
    assert_json(a.get("/v1/me", token=tok))
    assert s.alive()
