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


# ---- The database down, then up again ----

def test_database_down_then_up(own, pg, api, admin_token):
    s, a, tok = own
    assert_json(a.get("/v1/me", token=tok))
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
    # and so does the shared server
    poll_until_ok(lambda: api.get("/v1/me", token=admin_token, timeout=5), 15)
    assert s.alive()


def test_server_stops_cleanly_after_outage(own):
    s, a, tok = own
    assert_json(a.get("/v1/me", token=tok))
    assert s.alive()
