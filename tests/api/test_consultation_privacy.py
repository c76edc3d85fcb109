"""Patient identities at rest (API.md §8, §2 Idempotency-Key, §12 audit): a consented patient's name and
BSN are nowhere in the database in clear (checked with a full pg_dump), not in the server log, not in the
stored idempotent replay; the audit entry of a read carries a pseudonymous patient_ref, never the name.
"""

import subprocess

import pytest

from conftest import assert_json, audit_entries, uid
from consult_helpers import ANSWER, World, consented_patient

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
NAME = "Testpatiënt Zeldzaamnaam"
SURNAME = "Zeldzaamnaam"
BSN = "111222333"


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="cp")


@pytest.fixture(scope="module")
def secret_consultation(w):
    """A consented consultation with the distinctive identity, read, messaged, accepted and answered,
    and created once more through an Idempotency-Key (replayed)."""
    p = consented_patient(name=NAME, birth_date="1979-08-03", bsn=BSN, method="written")
    c = w.create_ok(to=w.c1, patient=p)
    assert c["patient"]["name"] == NAME and c["patient"]["bsn"] == BSN
    assert_json(w.get(c["id"], w.gp["token"]))
    assert_json(w.get(c["id"], w.poh["token"]))
    w.act_ok(c["id"], "accept", w.c1["token"])
    got = assert_json(w.get(c["id"], w.c1["token"]))
    assert got["patient"]["name"] == NAME
    assert_json(w.api.post(f"/v1/consultations/{c['id']}/messages", token=w.c1["token"],
                           json={"body": "Ik bel de patiënt morgen."}), 201)
    w.act_ok(c["id"], "answer", w.c1["token"], ANSWER)
    # the same identity through an idempotent create, replayed once
    key = f"k-{uid()}"
    b = w.body(to=w.c1, patient=consented_patient(name=NAME, birth_date="1979-08-03", bsn=BSN))
    r1 = w.api.post("/v1/consultations", token=w.gp["token"], json=b, headers={"Idempotency-Key": key})
    assert_json(r1, 201)
    r2 = w.api.post("/v1/consultations", token=w.gp["token"], json=b, headers={"Idempotency-Key": key})
    assert_json(r2, 201)
    assert r2.headers.get("Idempotent-Replayed") == "true"
    # a replay shows the patient hidden (conventions.md): the identity needs an audited GET
    assert r2.json()["patient"] == {"mode": "consented", "identity_hidden": True}
    return c


def _dump(pg, dbname):
    p = subprocess.run([PG_DUMP, "-h", pg.sockdir, "-U", "overleg", "-d", dbname, "--no-owner"],
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode("utf-8", "replace")
    return p.stdout


def test_identity_not_in_database_dump(secret_consultation, pg, main_db_name):
    dump = _dump(pg, main_db_name)
    assert len(dump) > 10000
    # the dump holds the consultation (sanity: the dump is real and complete), its texts sealed
    assert secret_consultation["id"].encode() in dump
    for needle in (NAME, SURNAME, BSN, "Testpati\\u00ebnt", "Testpati", secret_consultation["subject"],
                   "Ik bel de patiënt morgen."):
        assert needle.encode("utf-8") not in dump, f"{needle!r} found in pg_dump"


def test_identity_not_in_server_log(secret_consultation, server):
    with open(server.log_path, "rb") as f:
        log = f.read()
    for needle in (SURNAME, BSN):
        assert needle.encode() not in log, f"{needle!r} found in the server log"


def test_audit_read_has_patient_ref(secret_consultation, w, admin_token):
    c = secret_consultation
    entries = audit_entries(w.api, admin_token, subject_id=c["id"])
    reads = [e for e in entries if e["action"] == "consultations.read" and e["outcome"] == "success"]
    by = {e["actor"]["id"]: e for e in reads}
    assert w.gp["id"] in by and w.c1["id"] in by, reads
    refs = {by[u]["patient_ref"] for u in (w.gp["id"], w.poh["id"], w.c1["id"])}
    assert len(refs) == 1, refs
    ref = refs.pop()
    assert isinstance(ref, str) and ref
    for needle in (SURNAME, BSN, "1979-08-03", "Testpati"):
        assert needle not in ref
        assert needle not in str(entries)


def test_audit_read_without_identity_has_no_patient_ref(w, admin_token):
    c = w.create_ok(to=w.c1, patient=consented_patient(name="Hanna Nogniet"))
    assert assert_json(w.get(c["id"], w.c1["token"]))["patient"] == {"mode": "consented", "identity_hidden": True}
    entries = audit_entries(w.api, admin_token, subject_id=c["id"], actor_id=w.c1["id"])
    reads = [e for e in entries if e["action"] == "consultations.read"]
    assert reads and all(e["patient_ref"] is None for e in reads), reads


def test_revoked_identity_erased(w, db):
    c = w.create_ok(to=w.c1, patient=consented_patient(name="Ivo Vergetelheid", bsn=BSN))
    w.act_ok(c["id"], "consent/revoke", w.gp["token"])
    with db.cursor() as cur:
        cur.execute("SELECT patient_mode, patient_identity FROM consultations WHERE id = %s", (c["id"],))
        assert cur.fetchone() == ("revoked", None)
