"""The audit chain anchored outside the database (docs/architecture.md, Audit log): the checkpoint
file and log lines the server writes every OVERLEG_AUDIT_CHECKPOINT_SECONDS and at a clean stop,
GET /v1/audit/verify and `overlegd audit-verify` against them, and sequence numbers that are never
handed out twice, so that deleting the newest entries (as the database's superuser, triggers off)
is found.

Each tampering test has a database of its own: what it breaks stays broken."""

import json
import os
import re
import time

import pytest

from conftest import (ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD, Api, Server, assert_json, sql_count, uid)

LINE = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) ([1-9]\d*) ([0-9a-f]{64})")
WAIT = 15  # seconds, for a checkpoint to appear


def anchored_server(pg, name, seconds="1", with_file=True):
    """A new database, migrated, with the admin, and a server that checkpoints into a file of
    its own every `seconds`."""
    db = f"t_cp_{name}_{uid()}"
    file = os.path.join(pg.root, f"checkpoints-{db}") if with_file else None
    env = {"OVERLEG_AUDIT_CHECKPOINT_SECONDS": seconds, "OVERLEG_AUDIT_CHECKPOINT_FILE": file,
           "OVERLEG_LOG_LEVEL": "info"}
    s = Server(pg.createdb(db), pg.root, name=f"cp-{name}", extra_env=env)
    s.migrate()
    s.create_admin(ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD)
    s.skip_migrate = True
    s.start()
    s.db, s.file = db, file
    return s


def lines(path):
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    assert text == "" or text.endswith("\n"), text[-200:]
    out = text.splitlines()
    for line in out:
        assert LINE.fullmatch(line), line
    return out


def checkpoints(path):
    """(line number, seq, hash) of each line."""
    return [(i + 1, int(LINE.fullmatch(l)[2]), LINE.fullmatch(l)[3]) for i, l in enumerate(lines(path))]


def head(pg, db):
    conn = pg.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            return cur.fetchone()
    finally:
        conn.close()


def wait_for_checkpoint_of_head(pg, s):
    """Once nothing is written any more, the next checkpoint is the head: waits for it."""
    want = head(pg, s.db)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for n, seq, h in checkpoints(s.file):
            if (seq, h) == want:
                return n, seq, h
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of {want} in {s.file}: {lines(s.file)}\n{s.log_tail()}")


def busy(s, n=3):
    """A few audited requests; returns the admin's API and token."""
    api = Api(s.base)
    tok = api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    for _ in range(n):
        assert_json(api.get("/v1/audit", token=tok, params={"limit": 1}))
    return api, tok


def tamper(pg, db, *statements):
    """Statements as the superuser with the audit log's triggers off, as an intruder would."""
    conn = pg.connect(db, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            cur.execute("ALTER TABLE audit_head DISABLE TRIGGER USER")
            for st in statements:
                cur.execute(st)
            cur.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")
            cur.execute("ALTER TABLE audit_head ENABLE TRIGGER USER")
        conn.commit()
    finally:
        conn.close()


def cli_verify(s, *args):
    p = s.run_cmd("audit-verify", *args)
    body = json.loads(p.stdout) if p.stdout.strip() else None
    return p.returncode, body, p.stderr


@pytest.fixture(scope="module")
def anchored(pg):
    s = anchored_server(pg, "ok")
    yield s
    s.stop()


# ---- writing the checkpoints ----

def test_checkpoints_go_to_the_file_and_the_log(pg, anchored):
    busy(anchored)
    n, seq, h = wait_for_checkpoint_of_head(pg, anchored)
    log = open(anchored.log_path).read()
    assert f"audit checkpoint: {lines(anchored.file)[n - 1]}" in log
    assert f"this process writes {anchored.file}" in log
    # a line only when the head moved: the sequence numbers of the lines only go up
    seqs = [c[1] for c in checkpoints(anchored.file)]
    assert seqs == sorted(set(seqs))


def test_last_checkpoint_at_a_clean_stop(pg):
    s = anchored_server(pg, "stop", seconds="3600")
    try:
        busy(s, 5)
        assert lines(s.file) == []  # no tick in an hour
    finally:
        s.stop()
    assert checkpoints(s.file) == [(1, *head(pg, s.db))]
    assert f"audit checkpoint: {lines(s.file)[0]}" in open(s.log_path).read()


def test_one_process_writes_a_file(pg, anchored):
    """A second server given the same file leaves it to the first, and only reads it."""
    busy(anchored)
    wait_for_checkpoint_of_head(pg, anchored)
    b = Server(pg.url(anchored.db), pg.root, name="cp-second", skip_migrate=True,
               extra_env={"OVERLEG_AUDIT_CHECKPOINT_SECONDS": "1", "OVERLEG_LOG_LEVEL": "info",
                          "OVERLEG_AUDIT_CHECKPOINT_FILE": anchored.file, "OVERLEG_DATA_KEY": anchored.key})
    b.start()
    try:
        api_b = Api(b.base)
        tok = api_b.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for _ in range(3):
            assert_json(api_b.get("/v1/audit", token=tok, params={"limit": 1}))
            time.sleep(1.1)
        wait_for_checkpoint_of_head(pg, anchored)
        assert assert_json(api_b.get("/v1/audit/verify", token=tok))["ok"] is True
    finally:
        b.stop()
    log_b = open(b.log_path).read()
    assert f"another process writes {anchored.file}" in log_b
    assert "audit checkpoint: 2" not in log_b  # it wrote no checkpoint, not even at its stop
    log_a = open(anchored.log_path).read()
    for line in lines(anchored.file):
        assert f"audit checkpoint: {line}" in log_a


def test_bad_checkpoint_file_stops_the_start(pg, anchored):
    s = Server(pg.url(anchored.db), pg.root, name="cp-badfile", skip_migrate=True,
               extra_env={"OVERLEG_AUDIT_CHECKPOINT_FILE": "/nonexistent/dir/checkpoints"})
    p = s.run_cmd("serve", timeout=20)
    assert p.returncode != 0
    assert "OVERLEG_AUDIT_CHECKPOINT_FILE" in p.stderr
    p = s.run_cmd("serve", extra_env={"OVERLEG_AUDIT_CHECKPOINT_FILE": "relative/path"}, timeout=20)
    assert p.returncode != 0 and "OVERLEG_AUDIT_CHECKPOINT_FILE" in p.stderr


# ---- verifying against them ----

def test_intact_chain_verifies(pg, anchored):
    api, tok = busy(anchored)
    wait_for_checkpoint_of_head(pg, anchored)
    body = assert_json(api.get("/v1/audit/verify", token=tok))
    assert body["ok"] is True, body
    assert body["first_bad_id"] is None
    assert body["checkpoints"]["checked"] >= 1 and body["checkpoints"]["failed"] is None
    assert body["issued_seq"] == body["head"]["seq"]

    rc, out, err = cli_verify(anchored, "--checkpoint", anchored.file)
    assert rc == 0, (out, err)
    assert out["ok"] is True and out["checkpoints"]["failed"] is None
    assert out["checkpoints"]["checked"] >= 1
    # without --checkpoint it takes the server's file from OVERLEG_AUDIT_CHECKPOINT_FILE
    rc, out, _ = cli_verify(anchored)
    assert rc == 0 and out["checkpoints"]["checked"] >= 1


def test_cli_usage_and_unreadable_file(pg, anchored):
    assert cli_verify(anchored, "--checkpoint")[0] == 2
    assert cli_verify(anchored, "--bogus", "x")[0] == 2
    rc, out, err = cli_verify(anchored, "--checkpoint", os.path.join(pg.root, "no-such-file"))
    assert rc == 2 and out is None and "no-such-file" in err


def test_malformed_checkpoint_line_fails(pg, anchored, tmp_path):
    api, tok = busy(anchored)
    n, seq, h = wait_for_checkpoint_of_head(pg, anchored)
    f = tmp_path / "edited"
    f.write_text("".join(l + "\n" for l in lines(anchored.file)[:n]) + f"yesterday {seq} {h}\n")
    rc, out, _ = cli_verify(anchored, "--checkpoint", str(f))
    assert rc == 1
    assert out["checkpoints"]["failed"] == {"line": n + 1, "at": None, "seq": None, "hash": None,
                                            "problem": "malformed"}


def test_deleting_the_newest_entries_is_found(pg):
    s = anchored_server(pg, "cut")
    try:
        api, tok = busy(s, 5)
        n, seq, h = wait_for_checkpoint_of_head(pg, s)
        rc, out, _ = cli_verify(s, "--checkpoint", s.file)
        assert rc == 0, out
        tamper(pg, s.db, f"DELETE FROM audit_log WHERE seq > {seq - 3}")

        body = assert_json(api.get("/v1/audit/verify", token=tok))
        assert body["ok"] is False
        assert body["head"]["seq"] == seq - 3
        assert body["issued_seq"] >= seq + 1  # the login and verify before it, at least
        failed = body["checkpoints"]["failed"]
        # the first checkpoint past what is left, at the latest this one
        first = next(c for c in checkpoints(s.file) if c[1] > seq - 3)
        assert failed["line"] == first[0] <= n
        assert (failed["seq"], failed["hash"], failed["problem"]) == (first[1], first[2], "shorter")
        assert LINE.fullmatch(lines(s.file)[failed["line"] - 1])[1] == failed["at"]

        # The verification's own entry came after the gap: the checkpoint's entry is now missing
        # from the middle of the chain, and that entry is the first bad one.
        rc, out, _ = cli_verify(s, "--checkpoint", s.file)
        assert rc == 1
        assert out["ok"] is False
        assert out["checkpoints"]["failed"] == {**failed, "problem": "missing"}
        verified = assert_json(api.get("/v1/audit", token=tok, params={"action": "audit.verify", "limit": 2}))
        assert out["first_bad_id"] == verified["items"][1]["id"]  # [0] is the command's own
    finally:
        s.stop()


def test_deleted_sequence_numbers_are_not_handed_out_again(pg):
    s = anchored_server(pg, "reuse", seconds="0", with_file=False)  # the database alone
    try:
        api, tok = busy(s, 3)
        last, _ = head(pg, s.db)
        tamper(pg, s.db, f"DELETE FROM audit_log WHERE seq > {last - 2}")
        assert_json(api.get("/v1/audit", token=tok, params={"limit": 1}))  # a new entry
        conn = pg.connect(s.db)
        try:
            assert sql_count(conn, "SELECT min(seq) FROM audit_log WHERE seq > %s", last - 2) == last + 1
        finally:
            conn.close()
        new_id = assert_json(api.get("/v1/audit", token=tok, params={"limit": 1}))["items"][0]["id"]
        body = assert_json(api.get("/v1/audit/verify", token=tok))
        assert body["ok"] is False
        assert body["first_bad_id"] == new_id  # the entry after the gap
        assert body["checkpoints"] is None
    finally:
        s.stop()


def test_covering_the_tracks_in_the_database_is_found(pg):
    """The intruder also winds audit_head back and writes on: the chain in the database is whole
    again, and only the checkpoint outside it shows what happened (`diverged`; `shorter` before
    the new entries reach it)."""
    s = anchored_server(pg, "cover")
    try:
        api, tok = busy(s, 5)
        n, seq, h = wait_for_checkpoint_of_head(pg, s)
        cut = seq - 3
        tamper(pg, s.db, f"DELETE FROM audit_log WHERE seq > {cut}",
               f"UPDATE audit_head SET (seq, hash) = (SELECT seq, hash FROM audit_log WHERE seq = {cut})")
        rc, out, _ = cli_verify(s, "--checkpoint", s.file)
        assert rc == 1
        assert out["first_bad_id"] is None and out["issued_seq"] == out["head"]["seq"] == cut
        failed = out["checkpoints"]["failed"]
        first = next(c for c in checkpoints(s.file) if c[1] > cut)
        assert (failed["line"], failed["problem"]) == (first[0], "shorter")

        busy(s, 5)  # new entries take the deleted numbers: a chain of its own past the checkpoint
        rc, out, _ = cli_verify(s, "--checkpoint", s.file)
        assert rc == 1 and out["first_bad_id"] is None
        failed = out["checkpoints"]["failed"]
        assert (failed["line"], failed["seq"], failed["problem"]) == (first[0], first[1], "diverged")
        body = assert_json(api.get("/v1/audit/verify", token=tok))
        assert body["ok"] is False and body["checkpoints"]["failed"] == failed
    finally:
        s.stop()
