"""Operations (API.md §13): GET /healthz, GET /readyz, GET /metrics, GET /openapi.json, the test clock (PUT and DELETE /v1/admin/clock), listening."""

import json
import re
from datetime import timedelta

import pytest

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, Api, Server, assert_json, assert_problem, audit_entries,
                      error_fields, fmt_ts, parse_ts, reset_clock, uid, utcnow)


# Every path this suite calls, as (method, path template).
SUITE_PATHS = [
    ("post", "/v1/auth/login"), ("post", "/v1/auth/logout"), ("get", "/v1/me"),
    ("get", "/v1/organisations"), ("post", "/v1/organisations"), ("get", "/v1/organisations/{}"),
    ("post", "/v1/users"), ("get", "/v1/users/{}"), ("patch", "/v1/users/{}"),
    ("get", "/v1/audit"), ("get", "/v1/audit/verify"),
    ("put", "/v1/admin/clock"), ("delete", "/v1/admin/clock"), ("post", "/v1/admin/jobs/run"),
    ("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("get", "/openapi.json"),
]


# ---- GET /healthz ----

def test_healthz(api):
    assert assert_json(api.get("/healthz")) == {"status": "ok"}


# ---- GET /readyz ----

def test_readyz(api):
    assert assert_json(api.get("/readyz")) == {"status": "ok"}


def test_readyz_503_when_not_migrated(pg):
    url = pg.createdb(f"t_empty_{uid()}")
    s = Server(url, pg.root, skip_migrate=True, name="unmigrated")
    s.start()
    try:
        a = Api(s.base)
        assert assert_json(a.get("/healthz")) == {"status": "ok"}
        assert_problem(a.get("/readyz"), 503, "/problems/unavailable")
        assert a.get("/healthz").status_code == 200
    finally:
        s.stop()


# ---- GET /metrics ----

def test_metrics(api, admin_token):
    api.get("/v1/me", token=admin_token)
    api.get("/v1/nowhere")
    r = api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    assert "version=0.0.4" in r.headers["Content-Type"]
    text = r.text
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    req = [ln for ln in lines if ln.startswith("http_requests_total{")]
    assert req, text[:2000]
    assert any('route="' in ln and 'status="200"' in ln for ln in req), req[:10]
    assert any('status="404"' in ln for ln in req), req[:10]
    assert any(ln.startswith("http_request_duration_seconds_bucket{") and 'le="+Inf"' in ln for ln in lines)
    assert any(ln.startswith("http_request_duration_seconds_count") for ln in lines)
    assert any(ln.startswith("http_request_duration_seconds_sum") for ln in lines)
    assert any(re.match(r"db_pool_\w+", ln) for ln in lines), "no db_pool_ gauge"
    assert re.search(r"^# TYPE db_pool_\w+ gauge", text, re.M)
    assert re.search(r"^# TYPE http_requests_total counter", text, re.M)
    assert re.search(r"^# TYPE http_request_duration_seconds histogram", text, re.M)
    # every sample line is "name{labels} value"
    for ln in lines:
        assert re.fullmatch(r'[a-zA-Z_:][a-zA-Z0-9_:]*'
                            r'(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})?'
                            r' [-+0-9.eEInfNa]+( -?\d+)?', ln), ln
    # unknown paths do not blow up the route label set: the raw path is not a label value
    assert "/v1/nowhere" not in text


def test_metrics_route_label_is_template(api, admin_token, factory):
    org = factory.org_for("gp")
    api.get(f"/v1/organisations/{org['id']}", token=admin_token)
    text = api.get("/metrics").text
    assert org["id"] not in text


def metric_value(text, name, **labels):
    total = None
    for ln in text.splitlines():
        if not ln.startswith(name + "{"):
            continue
        lab = dict(re.findall(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"', ln.split("}")[0]))
        if all(lab.get(k) == v for k, v in labels.items()):
            total = (total or 0) + float(ln.rsplit(" ", 1)[1])
    return total


def test_metrics_counter_increases(api):
    before = metric_value(api.get("/metrics").text, "http_requests_total", status="200") or 0
    for _ in range(3):
        api.get("/healthz")
    after = metric_value(api.get("/metrics").text, "http_requests_total", status="200")
    assert after is not None and after >= before + 3


# ---- GET /openapi.json ----

def test_openapi(api):
    r = api.get("/openapi.json")
    doc = assert_json(r)
    assert doc["openapi"].startswith("3.1")
    assert "info" in doc and "paths" in doc
    paths = {re.sub(r"\{[^}]*\}", "{}", p): v for p, v in doc["paths"].items()}
    missing = [(m, p) for m, p in SUITE_PATHS if p not in paths or m not in paths[p]]
    assert not missing, missing


def test_openapi_parses_as_json_strictly(api):
    json.loads(api.get("/openapi.json").content.decode("utf-8"))


# ---- PUT /v1/admin/clock and DELETE /v1/admin/clock (the test clock) ----

def test_clock_non_admin_403(api, factory):
    u = factory.make_user("coordinator")
    assert_problem(api.put("/v1/admin/clock", token=u["token"], json={"now": fmt_ts(utcnow())}), 403,
                   "/problems/forbidden")
    assert_problem(api.delete("/v1/admin/clock", token=u["token"]), 403, "/problems/forbidden")


def test_clock_without_token_401(api):
    assert_problem(api.put("/v1/admin/clock", json={"now": fmt_ts(utcnow())}), 401)


@pytest.mark.parametrize("body,field", [
    ({}, "now"), ({"now": "tomorrow"}, "now"), ({"now": 12345}, "now"), ({"now": None}, "now"),
    ({"now": "2026-02-30T10:00:00Z"}, "now"), ({"now": fmt_ts(utcnow()), "speed": 2}, "speed"),
])
def test_clock_bad_body_422(api, admin_token, body, field):
    try:
        b = assert_problem(api.put("/v1/admin/clock", token=admin_token, json=body), 422, "/problems/validation")
        assert field in error_fields(b)
    finally:
        reset_clock(api)


def test_clock_set_and_reset(api, admin_token, factory, clock):
    target = utcnow() + timedelta(hours=1)
    body = clock(target)
    assert body["test_clock"] is True
    assert abs(parse_ts(body["now"]) - target) < timedelta(seconds=5)
    u = factory.make_user("gp", login=False)
    login = assert_json(api.login_resp(u["email"], u["password"]))
    assert abs(parse_ts(login["expires_at"]) - (target + timedelta(hours=12))) < timedelta(minutes=1)
    # the clock runs on from the set instant
    created = parse_ts(u["user"]["created_at"])
    assert abs(created - target) < timedelta(minutes=1)
    r = api.delete("/v1/admin/clock", token=admin_token)
    b = assert_json(r)
    assert b["test_clock"] is False
    assert abs(parse_ts(b["now"]) - utcnow()) < timedelta(seconds=5)
    login = assert_json(api.login_resp(u["email"], u["password"]))
    assert abs(parse_ts(login["expires_at"]) - (utcnow() + timedelta(hours=12))) < timedelta(minutes=1)


def test_clock_accepts_offsets(api, admin_token, clock):
    target = (utcnow() + timedelta(hours=2)).replace(microsecond=0)
    local = (target + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    r = api.put("/v1/admin/clock", token=admin_token, json={"now": local})
    b = assert_json(r)
    assert b["now"].endswith("Z")
    assert abs(parse_ts(b["now"]) - target) < timedelta(seconds=5)


def test_clock_is_audited(api, admin_token, admin_user, clock):
    clock(utcnow() + timedelta(minutes=5))
    reset_clock(api)
    sets = audit_entries(api, admin_token, actor_id=admin_user["id"], action="clock.set")
    resets = audit_entries(api, admin_token, actor_id=admin_user["id"], action="clock.reset")
    assert sets and resets


def test_clock_404_without_test_clock(pg, main_db_name):
    s = Server(pg.url(main_db_name), pg.root, extra_env={"OVERLEG_TEST_CLOCK": None}, name="noclock")
    s.start()
    try:
        a = Api(s.base)
        tok = a.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert_problem(a.put("/v1/admin/clock", token=tok, json={"now": fmt_ts(utcnow())}), 404,
                       "/problems/not-found")
        assert_problem(a.delete("/v1/admin/clock", token=tok), 404, "/problems/not-found")
        # not even its methods show: the route does not exist
        assert_problem(a.get("/v1/admin/clock", token=tok), 404, "/problems/not-found")
    finally:
        s.stop()


def test_clock_refuses_times_outside_2000_2099(api, admin_token, clock):
    for now in ("1960-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2100-01-01T00:00:00Z"):
        r = api.put("/v1/admin/clock", token=admin_token, json={"now": now})
        assert_problem(r, 422, "/problems/validation")
    assert_json(api.get("/v1/me", token=admin_token))


# ---- Listening ----

def test_second_server_on_a_taken_port_refuses_to_start(pg, main_db_name, server):
    s = Server(pg.url(main_db_name), pg.root, name="sameport",
               extra_env={"OVERLEG_LISTEN": f"127.0.0.1:{server.port}"})
    p = s.run_cmd("serve", timeout=10)
    assert p.returncode != 0
    assert "OVERLEG_LISTEN" in p.stderr and "in use" in p.stderr
