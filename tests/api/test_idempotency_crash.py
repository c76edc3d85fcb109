"""Idempotency-Key across a crash (docs/architecture.md, "Idempotency"): a request's change and
its stored reply commit together, so a retry with the same key either replays the reply or finds
nothing done. The module has a database of its own in the suite's cluster, and starts, crashes
and kills its own servers there, all with one data key (stored replies are sealed with it).

OVERLEG_TEST_CRASH (honoured only with OVERLEG_TEST_CLOCK=1) makes a server _exit(99) right before
or right after the COMMIT of a request with an Idempotency-Key.
"""

import random
import signal
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, Api, Factory, Server, assert_json, assert_problem,
                      fmt_ts, migrated_server, utcnow)
from consult_helpers import World, tag

DB = "t_idem_crash"


def start(pg, name, **env):
    s = Server(pg.url(DB), pg.root, extra_env=env, skip_migrate=True,
               name=name)
    return s.start()


@pytest.fixture(scope="module")
def main(pg):
    """The server that stays up (every server on DB has its data key: conftest.data_key)."""
    s = migrated_server(pg, DB, "idem-crash")
    s.stop()
    s = start(pg, "idem-main")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def w(main):
    api = Api(main.base)
    tok = api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    return World(api, Factory(api, tok), tok, prefix="ic")


@pytest.fixture
def db(pg, main):
    conn = pg.connect(DB)
    yield conn
    conn.close()


def crash_on(pg, where, path, token, body, key):
    """POSTs through a server that dies at `where`: no reply, exit status 99."""
    s = start(pg, f"idem-{where}", OVERLEG_TEST_CRASH=where)
    try:
        with pytest.raises(requests.ConnectionError):
            requests.post(s.base + path, json=body, timeout=10,
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
        assert s.proc.wait(timeout=10) == 99, s.log_tail()
        assert "OVERLEG_TEST_CRASH" in s.log_tail()
    finally:
        s.kill()


def key_row(db, user_id, key):
    with db.cursor() as cur:
        cur.execute("SELECT status FROM idempotency_keys WHERE user_id = %s AND key = %s",
                    (user_id, key))
        return cur.fetchall()


def ids_by_subject(w):
    """The practice's consultations by subject, read through the API: the texts are sealed in
    the database (docs/encryption.md), so rows are told apart by what the API shows of them."""
    out = {}
    for c in w.api.list_all("/v1/consultations", w.gp["token"]):
        out.setdefault(c["subject"], []).append(c["id"])
    return out


def count_subject(w, subject):
    return len(ids_by_subject(w).get(subject, []))


def test_crash_after_commit_replays(pg, w, db):
    key, body = f"crash-{uuid.uuid4()}", w.body(to=w.c1)
    crash_on(pg, "after-commit", "/v1/consultations", w.gp["token"], body, key)
    assert count_subject(w, body["subject"]) == 1
    assert key_row(db, w.gp["id"], key) == [(201,)]
    r = w.api.post("/v1/consultations", token=w.gp["token"], json=body,
                   headers={"Idempotency-Key": key})
    first = assert_json(r, 201)
    assert r.headers.get("Idempotent-Replayed") == "true"
    assert first["subject"] == body["subject"]
    assert ids_by_subject(w)[body["subject"]] == [first["id"]]
    again = w.api.post("/v1/consultations", token=w.gp["token"], json=body,
                       headers={"Idempotency-Key": key})
    assert assert_json(again, 201) == first
    assert count_subject(w, body["subject"]) == 1


def test_crash_before_commit_leaves_nothing(pg, main, w, db):
    key, body = f"crash-{uuid.uuid4()}", w.body(to=w.c1)
    crash_on(pg, "before-commit", "/v1/consultations", w.gp["token"], body, key)
    assert count_subject(w, body["subject"]) == 0
    assert key_row(db, w.gp["id"], key) == [(None,)]  # the reservation, committed on its own
    hdr = {"Idempotency-Key": key}
    r = w.api.post("/v1/consultations", token=w.gp["token"], json=body, headers=hdr)
    assert_problem(r, 409, "/problems/idempotency-conflict")
    assert "still being processed" in r.json()["detail"]
    # a reservation never completed may be taken over after 60 s: the test clock skips them
    admin = Api(main.base)
    tok = admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert_json(admin.put("/v1/admin/clock", token=tok,
                          json={"now": fmt_ts(utcnow() + timedelta(seconds=61))}))
    try:
        r = w.api.post("/v1/consultations", token=w.gp["token"], json=body, headers=hdr)
        created = assert_json(r, 201)
        assert r.headers.get("Idempotent-Replayed") in (None, "false")
        assert count_subject(w, body["subject"]) == 1
        r = w.api.post("/v1/consultations", token=w.gp["token"], json=body, headers=hdr)
        assert assert_json(r, 201) == created
        assert r.headers.get("Idempotent-Replayed") == "true"
    finally:
        assert_json(admin.delete("/v1/admin/clock", token=admin.login(ADMIN_EMAIL, ADMIN_PASSWORD)))


def test_crash_flag_needs_test_clock(pg):
    s = Server(pg.url(DB), pg.root, skip_migrate=True, name="idem-noclock",
               extra_env={"OVERLEG_TEST_CLOCK": None, "OVERLEG_TEST_CRASH": "after-commit"})
    p = s.run_cmd("serve", timeout=10)
    assert p.returncode != 0
    assert p.stderr.strip() == "overlegd: OVERLEG_TEST_CRASH needs OVERLEG_TEST_CLOCK=1"


# ---- kill -9 under load ----

class Killer:
    """Serves through a server it SIGKILLs and restarts a few times; each new process has its
    clock 61 s further on, so a reservation the last kill left unfinished can be taken over."""

    def __init__(self, pg):
        self.pg = pg
        self.server = start(pg, "idem-kill-0")
        self.base = self.server.base
        self.kills = 0

    def restart(self):
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.kill()
        self.kills += 1
        s = Server(self.pg.url(DB), self.pg.root, extra_env={},
                   skip_migrate=True, name=f"idem-kill-{self.kills}")
        s.port = int(self.base.rsplit(":", 1)[1])  # the same address, so clients follow it
        s.env["OVERLEG_LISTEN"] = f"127.0.0.1:{s.port}"
        s.base = self.base
        self.server = s.start()
        a = Api(self.base)
        tok = a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        later = utcnow() + timedelta(seconds=61 * self.kills)
        assert_json(a.put("/v1/admin/clock", token=tok, json={"now": fmt_ts(later)}))


def test_kill_9_no_duplicates_no_losses(pg, w, db):
    """Eight clients post consultations and messages, each with its own key, retrying until
    acknowledged, while the server is killed and restarted four times."""
    consultation = w.in_state("accepted")
    mpath = f"/v1/consultations/{consultation['id']}/messages"
    authors = [w.gp, w.poh, w.c1]
    killer = Killer(pg)
    items, acked, errors = [], {}, []
    lock, killing, stop = threading.Lock(), threading.Event(), threading.Event()
    killing.set()

    def post(s, path, user, body, key):
        """Until acknowledged; None when the test gives up."""
        while not stop.is_set():
            try:
                r = s.post(killer.base + path, json=body, timeout=10,
                           headers={"Authorization": f"Bearer {user['token']}",
                                    "Idempotency-Key": key})
            except requests.RequestException as e:
                with lock:
                    errors.append(type(e).__name__)
                s = requests.Session()
                time.sleep(0.05)
                continue
            if r.status_code == 201:
                return r.json()["id"]
            # 503 while the pool reconnects; 409 until a reservation a kill left behind expires
            # (each new process's clock is 61 s further on)
            assert r.status_code in (503, 409), (r.status_code, r.text)
            if r.status_code == 409:
                assert "still being processed" in r.json()["detail"], r.text
            time.sleep(0.05)
        return None

    def work(i):
        s = requests.Session()
        n = 0
        while killing.is_set():
            n += 1
            if (i + n) % 2:
                item = ("/v1/consultations", authors[n % 2], w.body(to=w.c1))
            else:
                item = (mpath, authors[n % 3], {"body": f"Bericht {tag()}"})
            with lock:
                items.append(item)
                k = len(items) - 1
            got = post(s, *item, f"kill-{k}-{uuid.uuid4()}")
            if got is None:
                return
            with lock:
                acked[k] = got

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    t0 = time.monotonic()
    try:
        for t in threads:
            t.start()
        for _ in range(4):
            time.sleep(random.uniform(0.3, 0.8))
            killer.restart()
        time.sleep(0.3)
        killing.clear()
        for t in threads:
            t.join(timeout=max(1, 20 - (time.monotonic() - t0)))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=15)
        killer.server.stop()
    assert errors, "no request was cut off by a kill"
    assert len(acked) == len(items), f"only {len(acked)} of {len(items)} acknowledged"
    subjects = ids_by_subject(w)
    bodies = {}
    for m in w.api.list_all(mpath, w.gp["token"]):
        bodies.setdefault(m["body"], []).append(m["id"])
    for k, (path, user, body) in enumerate(items):
        got = bodies.get(body["body"], []) if path == mpath else subjects.get(body["subject"], [])
        assert got == [acked[k]], (k, path)
