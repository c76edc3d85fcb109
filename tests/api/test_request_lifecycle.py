"""The request's phases (docs/architecture.md, "A request"): typed path parameters, the order of
authentication, authorisation and the 404 for a malformed id, and a lifecycle without misuse: no
handler runs twice, no reply is given twice, no phase goes back (the server logs each as an error)."""

import uuid

import pytest

from conftest import assert_json, assert_problem

LIFECYCLE_ERRORS = ("cannot go back from phase", "answered a second time",
                    "while its first statement", "sent a second statement", "after answering",
                    "before its session is checked", "reply filter not installed")


def lifecycle_errors(server):
    with open(server.log_path, encoding="utf-8", errors="replace") as f:
        return [line for line in f if any(e in line for e in LIFECYCLE_ERRORS)]


# Every route with a {id:uuid} parameter outside consultations, with the noun of its 404.
TYPED = [("GET", "/v1/organisations/{}", "organisation"),
         ("GET", "/v1/users/{}", "user"),
         ("PATCH", "/v1/users/{}", "user"),
         ("GET", "/v1/consultants/{}", "consultant"),
         ("PUT", "/v1/consultants/{}/profile", "consultant"),
         ("POST", "/v1/notifications/{}/read", "notification"),
         ("GET", "/v1/consultations/{}", "consultation")]


@pytest.mark.parametrize("method, pattern, noun", TYPED)
@pytest.mark.parametrize("bad", ["not-a-uuid", "123", str(uuid.uuid4()) + "0"])
def test_malformed_id_is_404_for_the_signed_in_only(api, admin_token, factory, method, pattern, noun,
                                                    bad):
    path = pattern.format(bad)
    r = api.request(method, path, json={})
    assert_problem(r, 401, "/problems/unauthorized")
    token = admin_token if noun != "consultation" else factory.make_user("gp")["token"]
    r = api.request(method, path, token=token, json={})
    body = assert_problem(r, 404, "/problems/not-found")
    assert body["detail"] == f"No such {noun}."


def test_role_is_checked_before_the_id(api, factory, db):
    """A role that may not use the route gets 403 (audited without a subject) whatever the id."""
    gp = factory.make_user("gp")
    r = api.get("/v1/users/not-a-uuid", token=gp["token"])
    assert_problem(r, 403, "/problems/forbidden")
    with db.cursor() as cur:
        cur.execute("SELECT action, outcome, subject_type, subject_id, actor_id::text FROM audit_log"
                    " WHERE request_id = %s", (r.headers["X-Request-Id"],))
        assert cur.fetchall() == [("users.read", "denied", None, None, gp["id"])]


def test_body_is_checked_before_the_id(api, admin_token):
    r = api.patch("/v1/users/not-a-uuid", token=admin_token, data="{",
                  headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "/problems/malformed-json")


def test_held_reply_keeps_its_request_id(api, admin_token):
    """A directory read that answers before its first statement: held until the session is checked,
    then sent as it was, with the common headers once."""
    rid = "lifecycle-" + uuid.uuid4().hex
    r = api.get("/v1/consultants", token=admin_token, params={"cursor": "garbage"},
                headers={"X-Request-Id": rid})
    assert_problem(r, 400, "/problems/bad-query")
    assert r.headers["X-Request-Id"] == rid
    assert "WWW-Authenticate" not in r.headers


def test_no_lifecycle_misuse_logged(api, server, admin_token, factory):
    before = len(lifecycle_errors(server))
    gp = factory.make_user("gp")
    for token in (None, "ovl_" + "D" * 43, gp["token"]):
        for path, params in [("/v1/consultants", {"cursor": "garbage"}),
                             ("/v1/consultants", {"language": "xx"}),
                             ("/v1/consultants", {"expertise": "no-such-code"}),
                             ("/v1/consultants/not-a-uuid", {}),
                             (f"/v1/consultants/{uuid.uuid4()}", {}),
                             ("/v1/vocabularies", {})]:
            api.get(path, token=token, params=params)
    key = uuid.uuid4().hex
    body = {"name": f"Lifecycle {key}", "kind": "other", "region": "lifecycle"}
    first = assert_json(api.post("/v1/organisations", token=admin_token, json=body,
                                 headers={"Idempotency-Key": key}), 201)
    again = api.post("/v1/organisations", token=admin_token, json=body, headers={"Idempotency-Key": key})
    assert assert_json(again, 201) == first
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert lifecycle_errors(server)[before:] == []
