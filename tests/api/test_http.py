"""HTTP conventions every endpoint shares (API.md §2): common headers, routing (404/405), limits, content type, body parsing, validation errors, query strings, the order of the checks, hostile sockets."""

import http.client
import json
import os
import socket
import threading
import time
import uuid

import pytest

from conftest import assert_common_headers, assert_json, assert_problem, error_fields, sql_count, uid


ORG_COUNT = "SELECT count(*) FROM organisations"


def org_body(**over):
    b = {"name": f"Http org {uid()}", "kind": "other", "region": "http-tests"}
    b.update(over)
    return b


def post_raw(api, path, data, token=None, content_type="application/json", headers=None):
    h = {"Content-Type": content_type} if content_type is not None else {}
    h.update(headers or {})
    return api.post(path, token=token, data=data, headers=h)


def healthz_ok(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert server.alive()


# ---- Common headers and request ids ----

def test_common_headers_on_many_kinds_of_response(api, admin_token):
    responses = [
        api.get("/healthz"),
        api.get("/readyz"),
        api.get("/metrics"),
        api.get("/openapi.json"),
        api.get("/v1/me", token=admin_token),
        api.get("/v1/me"),                                # 401
        api.get("/v1/does-not-exist"),                    # 404
        api.delete("/v1/organisations", token=admin_token),  # 405
        api.post("/v1/auth/login", json={"email": "nobody@test.example", "password": "x" * 12}),
        api.get("/v1/organisations", token=admin_token, params={"bogus": "1"}),  # 400
    ]
    for r in responses:
        assert_common_headers(r)


def test_json_content_type_on_success(api, admin_token):
    r = api.get("/v1/me", token=admin_token)
    assert r.headers["Content-Type"].lower().replace(" ", "") == "application/json;charset=utf-8"


def test_request_id_valid_is_echoed(api):
    rid = "abc-DEF_123." + uuid.uuid4().hex
    r = api.get("/healthz", headers={"X-Request-Id": rid})
    assert r.headers["X-Request-Id"] == rid
    r = api.get("/v1/nope", headers={"X-Request-Id": rid})
    assert r.headers["X-Request-Id"] == rid
    rid128 = "a" * 128
    assert api.get("/healthz", headers={"X-Request-Id": rid128}).headers["X-Request-Id"] == rid128


@pytest.mark.parametrize("bad", ["a" * 129, "a" * 200, "has spaces in it", "semi;colon", "ümlaut"])
def test_request_id_invalid_is_replaced(api, bad):
    r = api.get("/healthz", headers={"X-Request-Id": bad.encode("utf-8")})
    got = r.headers.get("X-Request-Id")
    assert got and got != bad
    uuid.UUID(got)  # conventions: a new UUID


def test_request_ids_differ_when_not_given(api):
    a = api.get("/healthz").headers["X-Request-Id"]
    b = api.get("/healthz").headers["X-Request-Id"]
    assert a != b


# ---- Routing: 404 and 405 ----

def test_unknown_path_404(api, admin_token):
    assert_problem(api.get("/v1/nothing-here", token=admin_token), 404, "/problems/not-found")
    assert_problem(api.get("/nothing"), 404, "/problems/not-found")


def test_wrong_method_405_with_allow(api, admin_token):
    r = api.delete("/v1/organisations", token=admin_token)
    assert_problem(r, 405, "/problems/method-not-allowed")
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",")}
    assert {"GET", "POST"} <= allow, r.headers.get("Allow")
    r = api.put("/healthz")
    assert_problem(r, 405, "/problems/method-not-allowed")
    assert "GET" in r.headers.get("Allow", "").upper()
    r = api.get("/v1/auth/login")
    assert_problem(r, 405, "/problems/method-not-allowed")
    assert "POST" in r.headers.get("Allow", "").upper()


def test_405_allow_on_item_route(api, admin_token, factory):
    u = factory.make_user("gp", login=False)
    r = api.delete(f"/v1/users/{u['id']}", token=admin_token)
    assert_problem(r, 405, "/problems/method-not-allowed")
    allow = {m.strip().upper() for m in r.headers.get("Allow", "").split(",")}
    assert {"GET", "PATCH"} <= allow, r.headers.get("Allow")


# ---- Body size (413) and content type (415) ----

def test_body_over_1mib_413_problem(api, server, admin_token, db):
    before = sql_count(db, ORG_COUNT)
    big = json.dumps(org_body(name="x" * (1024 * 1024 + 10))).encode()
    r = post_raw(api, "/v1/organisations", big, token=admin_token)
    assert_problem(r, 413, "/problems/payload-too-large")
    assert "html" not in r.text.lower()[:100]
    assert sql_count(db, ORG_COUNT) == before
    healthz_ok(server)
    assert_json(api.get("/v1/me", token=admin_token))


def test_body_just_under_1mib_is_parsed(api, admin_token, db):
    # 1 MiB minus a little: not 413; it is valid JSON with a too-long name -> 422.
    before = sql_count(db, ORG_COUNT)
    body = json.dumps(org_body(name="y" * (1024 * 1024 - 200))).encode()
    assert len(body) <= 1024 * 1024
    r = post_raw(api, "/v1/organisations", body, token=admin_token)
    assert_problem(r, 422, "/problems/validation")
    assert sql_count(db, ORG_COUNT) == before


def test_body_over_1mib_on_login_413(api, server):
    big = b'{"email":"a@test.example","password":"' + b"p" * (1024 * 1024) + b'"}'
    assert_problem(post_raw(api, "/v1/auth/login", big), 413, "/problems/payload-too-large")
    healthz_ok(server)


def test_chunked_body_over_1mib_413(api, server, admin_token, db):
    before = sql_count(db, ORG_COUNT)

    def gen():
        yield b'{"name":"'
        for _ in range(130):
            yield b"c" * 8192
        yield b'","kind":"other","region":"http-tests"}'

    r = api.post("/v1/organisations", token=admin_token, data=gen(), headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "/problems/payload-too-large")
    assert sql_count(db, ORG_COUNT) == before
    healthz_ok(server)


def test_chunked_small_body_ok(api, admin_token):
    body = json.dumps(org_body()).encode()

    def gen():
        yield body[:10]
        yield body[10:]

    assert_json(api.post("/v1/organisations", token=admin_token, data=gen(),
                         headers={"Content-Type": "application/json"}), 201)


def test_oversized_body_413_even_on_unknown_path(api):
    r = api.post("/v1/no-such-endpoint", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                 headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "/problems/payload-too-large")


def test_body_over_2mib_problem_json(api, server, admin_token, db):
    """Over the hard cap evhttp stops reading itself; the answer is still our 413 problem, and
    nothing is created."""
    before = sql_count(db, "SELECT count(*) FROM organisations")
    r = api.post("/v1/organisations", token=admin_token,
                 data=b'{"name":"' + b"a" * (3 * 1024 * 1024) + b'"}',
                 headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "/problems/payload-too-large")
    assert sql_count(db, "SELECT count(*) FROM organisations") == before
    healthz_ok(server)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None,
                                   "application/jsonx"])
def test_wrong_content_type_415(api, admin_token, db, ctype):
    before = sql_count(db, ORG_COUNT)
    r = post_raw(api, "/v1/organisations", json.dumps(org_body()).encode(), token=admin_token,
                 content_type=ctype)
    assert_problem(r, 415, "/problems/unsupported-media-type")
    assert sql_count(db, ORG_COUNT) == before


def test_wrong_content_type_on_login_415(api):
    r = post_raw(api, "/v1/auth/login", b'{"email":"a@b.example","password":"123456789012"}',
                 content_type="text/plain")
    assert_problem(r, 415, "/problems/unsupported-media-type")


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "Application/JSON",
                                   "APPLICATION/JSON; CHARSET=UTF-8"])
def test_content_type_parameters_and_case_accepted(api, admin_token, ctype):
    r = post_raw(api, "/v1/organisations", json.dumps(org_body()).encode(), token=admin_token,
                 content_type=ctype)
    assert_json(r, 201)


# ---- Body parsing: 400 malformed-json ----

def nested(depth):
    """A JSON object with `depth` nested containers in all (the top-level object counts as 1)."""
    s = "{}"
    for _ in range(depth - 1):
        s = '{"n":' + s + "}"
    return s


MALFORMED = {
    "syntax": b'{"name": "x", "kind": ',
    "trailing_garbage": b'{"name": "x"} xyz',
    "single_quotes": b"{'name': 'x'}",
    "empty": b"",
    "invalid_utf8": b'{"name": "\xff\xfe bad", "kind": "other", "region": "http-tests"}',
    "overlong_utf8": b'{"name": "\xc0\xaf", "kind": "other", "region": "http-tests"}',
    "nesting_33": nested(33).encode(),
    "nesting_33_arrays": ('{"n":' + "[" * 32 + "]" * 32 + "}").encode(),
    "duplicate_keys": b'{"name": "a", "name": "b", "kind": "other", "region": "http-tests"}',
    "top_level_array": b'[{"name": "a", "kind": "other", "region": "http-tests"}]',
    "top_level_string": b'"hello"',
    "top_level_null": b"null",
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_body_400(api, admin_token, db, case):
    before = sql_count(db, ORG_COUNT)
    r = post_raw(api, "/v1/organisations", MALFORMED[case], token=admin_token)
    assert_problem(r, 400, "/problems/malformed-json")
    assert sql_count(db, ORG_COUNT) == before


def test_malformed_login_body_400(api):
    assert_problem(post_raw(api, "/v1/auth/login", b'{"email": '), 400, "/problems/malformed-json")


def test_nesting_32_is_not_400(api, admin_token, db):
    before = sql_count(db, ORG_COUNT)
    body = '{"name":"n","kind":"other","region":"http-tests","n":' + nested(31) + "}"
    r = post_raw(api, "/v1/organisations", body.encode(), token=admin_token)
    b = assert_problem(r, 422, "/problems/validation")
    assert "n" in error_fields(b)
    assert sql_count(db, ORG_COUNT) == before


# ---- Validation: 422 ----

def test_unknown_field_422(api, admin_token, db):
    before = sql_count(db, ORG_COUNT)
    r = api.post("/v1/organisations", token=admin_token, json=org_body(colour="blue"))
    b = assert_problem(r, 422, "/problems/validation")
    assert "colour" in error_fields(b)
    msgs = [e["message"] for e in b["errors"] if e["field"] == "colour"]
    assert msgs and "unknown field" in msgs[0]
    assert sql_count(db, ORG_COUNT) == before


@pytest.mark.parametrize("field,value", [("name", 5), ("name", None), ("kind", True), ("region", ["x"]),
                                         ("name", {"a": 1}), ("agb_code", 12345678)])
def test_wrong_types_422(api, admin_token, db, field, value):
    before = sql_count(db, ORG_COUNT)
    r = api.post("/v1/organisations", token=admin_token, json=org_body(**{field: value}))
    b = assert_problem(r, 422, "/problems/validation")
    assert field in error_fields(b)
    assert sql_count(db, ORG_COUNT) == before


def test_every_failing_field_listed(api, admin_token):
    r = api.post("/v1/organisations", token=admin_token, json={"kind": "nope", "region": "A B", "zzz": 1})
    b = assert_problem(r, 422, "/problems/validation")
    assert {"name", "kind", "region", "zzz"} <= error_fields(b)
    for e in b["errors"]:
        assert isinstance(e.get("message"), str) and e["message"]


def test_validation_messages(api, admin_token):
    r = api.post("/v1/organisations", token=admin_token,
                 json={"kind": "other", "region": 5, "agb_code": True, "zzz": 1})
    b = assert_problem(r, 422, "/problems/validation")
    msgs = {e["field"]: e["message"] for e in b["errors"]}
    assert msgs["name"] == "is required", msgs
    assert msgs["region"] == "must be a string", msgs
    assert msgs["agb_code"] == "must be a string", msgs
    assert msgs["zzz"] == "unknown field", msgs


def test_errors_member_only_for_validation_and_bad_query(api, admin_token):
    for r in (api.get("/v1/me"), api.get("/v1/nothing"), api.delete("/v1/organisations", token=admin_token),
              post_raw(api, "/v1/organisations", b"[", token=admin_token)):
        assert "errors" not in r.json(), r.text


# ---- Query strings: 400 bad-query ----

def test_unknown_query_param_400(api, admin_token):
    b = assert_problem(api.get("/v1/organisations", token=admin_token, params={"colour": "x"}), 400,
                       "/problems/bad-query")
    assert "colour" in error_fields(b)


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", ""])
def test_bad_limit_400(api, admin_token, limit):
    b = assert_problem(api.get("/v1/organisations", token=admin_token, params={"limit": limit}), 400,
                       "/problems/bad-query")
    assert "limit" in error_fields(b)


@pytest.mark.parametrize("limit", ["1", "100"])
def test_limit_bounds_ok(api, admin_token, limit):
    body = assert_json(api.get("/v1/organisations", token=admin_token, params={"limit": limit}))
    assert len(body["items"]) <= int(limit)


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "eyJ4IjoxfQ", "a" * 500, "%ff"])
def test_bad_cursor_400(api, admin_token, cursor):
    b = assert_problem(api.get("/v1/organisations?cursor=" + cursor, token=admin_token), 400,
                       "/problems/bad-query")
    assert "cursor" in error_fields(b)


@pytest.mark.parametrize("q", ["%FF", "%C0%AF", "%00", "abc%00def", "%5C", "a%5C", "%5C%5C", "(", "%27", "%25%5C"])
def test_hostile_query_values_not_5xx(api, admin_token, q):
    r = api.get("/v1/organisations?q=" + q, token=admin_token)
    if r.status_code == 200:
        assert_json(r)
    else:
        assert_problem(r, 400, "/problems/bad-query")


def test_bad_enum_in_filter_400(api, admin_token):
    assert_problem(api.get("/v1/organisations", token=admin_token, params={"kind": "castle"}), 400,
                   "/problems/bad-query")


def test_bad_query_before_auth(api):
    # Pipeline: query check (3) comes before authentication (4).
    assert_problem(api.get("/v1/organisations", params={"colour": "x"}), 400, "/problems/bad-query")


# ---- The order of the checks: route, auth, content type, body ----

def test_pipeline_route_before_auth(api):
    assert_problem(api.get("/v1/nothing-here"), 404, "/problems/not-found")
    r = api.delete("/v1/organisations")
    assert_problem(r, 405, "/problems/method-not-allowed")
    assert r.headers.get("Allow")


def test_pipeline_auth_before_content_type_and_body(api):
    r = api.post("/v1/organisations", data=b"{not json", headers={"Content-Type": "text/plain"})
    assert_problem(r, 401, "/problems/unauthorized")
    r = api.post("/v1/organisations", data=b"{not json", headers={"Content-Type": "application/json"})
    assert_problem(r, 401, "/problems/unauthorized")


def test_pipeline_content_type_before_body(api, admin_token):
    r = api.post("/v1/organisations", token=admin_token, data=b"{not json", headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, "/problems/unsupported-media-type")


# ---- Hostile sockets ----

def raw_exchange(server, payload, read=True, pause=0.0, timeout=5):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    data = b""
    try:
        s.sendall(payload)
        if pause:
            time.sleep(pause)
        if read:
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ConnectionResetError):
                pass
    finally:
        s.close()
    return data


def test_random_bytes_on_socket(server):
    for _ in range(5):
        raw_exchange(server, os.urandom(4096))
    raw_exchange(server, b"\x00" * 1000 + b"\r\n\r\n")
    healthz_ok(server)


def test_truncated_request_line(server):
    raw_exchange(server, b"GET /hea", read=False)
    raw_exchange(server, b"GET /healthz HTT")
    raw_exchange(server, b"GARBAGE\r\n\r\n")
    raw_exchange(server, b"GET /healthz HTTP/9.9\r\n\r\n")
    healthz_ok(server)


def test_huge_header_survives(server):
    req = (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (20 * 1024) + b"\r\n\r\n")
    raw_exchange(server, req)
    many = b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + b"".join(
        b"X-H%d: %s\r\n" % (i, b"b" * 100) for i in range(300)) + b"\r\n"
    raw_exchange(server, many)
    healthz_ok(server)


def test_huge_header_refused_server_survives(api, server):
    # Headers over 16 KiB are refused by evhttp itself before any code of ours runs; its HTML
    # page leaves as problem+json (server/errpage.c).
    r = api.get("/healthz", headers={"X-Big": "a" * (20 * 1024)})
    assert_problem(r, 400, "/problems/bad-request")
    healthz_ok(server)


def _raw_reply(data):
    """(status, headers dict, body) of the one reply in `data`."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return status, headers, body


@pytest.mark.parametrize("payload,status", [
    (b"GARBAGE\r\n\r\n", 400),                                        # no request line
    (b"GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n", 400),                  # bad version
    (b"BREW /healthz HTTP/1.1\r\nHost: t\r\n\r\n", 501),                  # unknown method
    (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 400),
    (b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}", 417),
    (b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 413),
    (b"GET /healthz HTTP/1.0\r\nHost\r\n\r\n", 400),                    # header without colon
])
def test_requests_evhttp_refuses_get_problem_json(server, payload, status):
    """What evhttp refuses before any code of ours runs still gets problem+json, never its HTML
    page, with our security headers (server/errpage.c)."""
    got, headers, body = _raw_reply(raw_exchange(server, payload))
    assert got == status
    assert headers["content-type"] == "application/problem+json; charset=utf-8"
    assert headers["date"].endswith(" GMT")
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    uuid.UUID(headers["x-request-id"])
    assert int(headers["content-length"]) == len(body)
    p = json.loads(body)
    assert p["status"] == got and p["type"].startswith("/problems/") and p["title"] and p["detail"]
    assert b"<" not in body
    healthz_ok(server)


def test_refusal_after_pipelined_replies_keeps_them(server):
    """Replies sent before on the same connection are untouched; only evhttp's page at the end is
    replaced. (evhttp reads the next request only once its replies are out, so here they have left
    already; keeping output still queued is tested on the buffer itself, tests/unit/test_errpage.c.)"""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    data = b""
    try:  # no half-close: evhttp would stop after the first reply; it closes after the refusal
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 2 + b"NONSENSE\r\n\r\n")
        while chunk := s.recv(65536):
            data += chunk
    finally:
        s.close()
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    assert data.count(b'{"status":"ok"}') == 2, data
    last = data[data.rindex(b"HTTP/1.1 "):]
    got, headers, body = _raw_reply(last)
    assert got == 400 and headers["content-type"].startswith("application/problem+json"), last
    assert json.loads(body)["type"] == "/problems/bad-request"
    assert b"HTML" not in data, data


def test_slowloris_partial_request_then_close(server):
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        socks.append(s)
    time.sleep(0.5)
    healthz_ok(server)  # the half-open requests do not block others
    for s in socks:
        s.sendall(b"a")
    time.sleep(0.2)
    for s in socks:
        s.close()
    healthz_ok(server)


def test_content_length_larger_than_sent_then_close(server, api, admin_token):
    raw_exchange(server, b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{\"email\":", read=False, pause=0.2)
    raw_exchange(server, b"POST /v1/organisations HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Authorization: Bearer " + admin_token.encode() +
                         b"\r\nContent-Length: 500000\r\n\r\n{\"name\":", read=False, pause=0.2)
    raw_exchange(server, b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999"
                         b"\r\n\r\n{}")
    raw_exchange(server, b"POST /v1/auth/login HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n{}")
    healthz_ok(server)
    assert_json(api.get("/v1/me", token=admin_token))


def test_client_hangs_up_during_request(server, api, admin_token):
    # Send a complete authenticated request and close immediately, many times: the server must not
    # crash when it replies to a connection that is gone.
    req = (b"GET /v1/me HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + admin_token.encode() + b"\r\n\r\n")
    for _ in range(30):
        raw_exchange(server, req, read=False)
    time.sleep(0.3)
    healthz_ok(server)
    assert_json(api.get("/v1/me", token=admin_token))


def test_200_concurrent_keepalive_connections(server):
    n, rounds = 200, 3
    results, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def worker():
        try:
            c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
            c.connect()
            barrier.wait(timeout=30)
            statuses = []
            for _ in range(rounds):
                c.request("GET", "/healthz")
                resp = c.getresponse()
                resp.read()
                statuses.append(resp.status)
                assert not resp.will_close, "server closed a keep-alive connection"
            c.close()
            with lock:
                results.append(statuses)
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:5]
    assert len(results) == n
    assert all(s == [200] * rounds for s in results)
    healthz_ok(server)
