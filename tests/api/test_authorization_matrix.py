"""The authorization matrix, generated from the route table (`overlegd routes`, API.md §2–§3).

Every route gets, without anyone writing a test for it:

- public routes (no roles): an answer without a token (never 401/403);
- every other route: 401 without a token;
- every role the route does not allow: 403 problem+json `/problems/forbidden`;
- every allowed role, on a route with an `{id}`: 404 for a random non-existent UUID, and 404 for
  another organisation's object (API.md §2: "an object the caller may not see" is 404);
- every allowed role, on a GET route without parameters: 200 (the role really is let through).

A route with an `{id}` must be classified: either FOREIGN_OBJECTS (below) names a fixture that makes an
object the matrix's users may not see (its id, or for a route with several ids a tuple of them in path
order, e.g. a case and one of its actions), or VISIBLE_BY_DESIGN says why there is no such object. A new
route with neither fails test_id_route_is_classified, so nobody forgets.

The matrix's users (one per role) live in a World of their own (consult_helpers.World): gp, poh and
billing of one practice, a consultant, a coordinator of another region, and the platform admin.
"""

import json
import re
import subprocess
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import BIN, assert_json, assert_problem, clean_env, fmt_ts, sql_count, utcnow
from consult_helpers import ANSWER, World

ROLES = ["gp", "poh", "consultant", "coordinator", "billing", "admin"]
FLAGS = {"body", "idempotent", "paged", "test_clock", "session_in_stmt"}

# `{id}` and the typed form `{id:uuid}` alike.
PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z0-9_]+))?\}")


def load_routes():
    try:
        p = subprocess.run([BIN, "routes"], env=clean_env(), capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise RuntimeError(f"cannot run {BIN} routes (build it with make): {e}") from e
    if p.returncode != 0:
        raise RuntimeError(f"{BIN} routes exited with {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


ROUTES = load_routes()


def template(pattern):
    """The pattern with typed parameters written plainly: /v1/users/{id:uuid} -> /v1/users/{id}."""
    return PARAM.sub(lambda m: "{" + m.group(1) + "}", pattern)


def params(rt):
    return PARAM.findall(rt["pattern"])


def key(rt):
    return (rt["method"], template(rt["pattern"]))


def rid(rt, role=None):
    return f"{rt['method']} {template(rt['pattern'])}" + (f" {role}" if role else "")


# ---- Tables: the only things to touch when a route needs more than the defaults ----

# Path prefix (plain template) -> the fixture giving an object of that kind which every matrix user
# may not see. The longest matching prefix wins, so /v1/consultations/{id}/accept uses the
# consultation's.
FOREIGN_OBJECTS = {
    # a consultation of another practice in the region, addressed to and accepted by another
    # consultant; for the coordinator (of another region) it lies outside their region
    "/v1/consultations/{id}": "foreign_consultation",
    # another user's notification
    "/v1/notifications/{id}": "foreign_notification",
    # a case of another practice in the region, in progress, none of the matrix users' organisations
    # a party to it; for the coordinator (of another region) it lies outside their region
    "/v1/cases/{id}": "foreign_case",
    # that case and its open action
    "/v1/cases/{id}/actions/{action_id}": "foreign_case_action",
    # an export of another practice (practice_b), made by the admin; the matrix's billing user
    # belongs to mx.practice
    "/v1/billing/exports/{id}": "foreign_export",
    # another practice (practice_b): its budgets are not the matrix billing user's to set
    "/v1/organisations/{id}/budgets": "foreign_practice",
}

# Routes with an {id} whose objects are visible across organisations by design, so "another
# organisation's object" does not exist for them. (method, template) -> why.
VISIBLE_BY_DESIGN = {
    ("GET", "/v1/organisations/{id}"): "every signed-in user may read any organisation (API.md §5)",
    ("GET", "/v1/consultants/{id}"): "the directory is open to every signed-in user (API.md §7)",
    ("PUT", "/v1/consultants/{id}/profile"):
        "profiles are public; another consultant's profile is refused with 403 "
        "(test_directory.py, test_put_other_consultant_403_audited)",
    ("GET", "/v1/users/{id}"): "admin only, and the admin administers every organisation",
    ("PATCH", "/v1/users/{id}"): "admin only, and the admin administers every organisation",
    ("PUT", "/v1/organisations/{id}/tariff"): "admin only, and the admin administers every organisation",
}

# (method, template) -> {roles} that see every organisation's objects of a route in FOREIGN_OBJECTS,
# so "404 for another organisation's object" does not apply to them there (they get the object).
# The other allowed roles keep the 404 case. -> why.
SEES_EVERY_ORGANISATION = {
    ("GET", "/v1/billing/exports/{id}"): ({"admin"}, "the admin reads every practice's exports"),
    ("PUT", "/v1/organisations/{id}/budgets/{year}"): ({"admin"}, "the admin sets every practice's budgets"),
}

# Bodies valid enough to reach the object lookup, for routes whose handler validates the body before
# it looks the object up. The role check comes before the body (server/http.c, after_auth), so the
# 401/403 cases send `{}`.
def _appointment():
    return {"kind": "video", "starts_at": fmt_ts(utcnow() + timedelta(days=7)), "duration_minutes": 30}


VALID_BODIES = {
    ("POST", "/v1/consultations/{id}/decline"): lambda: {"reason": "Buiten mijn expertise."},
    ("POST", "/v1/consultations/{id}/redirect"): lambda: {"expertise": "angst"},
    ("POST", "/v1/consultations/{id}/answer"): lambda: dict(ANSWER),
    ("POST", "/v1/consultations/{id}/close"): lambda: {"referral_outcome": "avoided", "value": 4},
    ("POST", "/v1/consultations/{id}/withdraw"): lambda: {"reason": "Niet meer nodig."},
    ("POST", "/v1/consultations/{id}/messages"): lambda: {"body": "Hoe staat het ervoor?"},
    ("POST", "/v1/consultations/{id}/appointments"): _appointment,
    ("PATCH", "/v1/users/{id}"): lambda: {"active": True},
    ("PATCH", "/v1/cases/{id}"): lambda: {"title": "Nieuwe titel"},
    ("POST", "/v1/cases/{id}/intake"): lambda: {"work_done": True, "note": "Intake gedaan."},
    ("POST", "/v1/cases/{id}/escalate"): lambda: {"reason": "Geen voortgang."},
    ("POST", "/v1/cases/{id}/deescalate"): lambda: {"reason": "Weer op gang."},
    ("PUT", "/v1/cases/{id}/regie"): lambda: {"organisation_id": str(uuid.uuid4())},
    ("POST", "/v1/cases/{id}/actions"): lambda: {
        "description": "Bellen met de wijkteamleider.", "owner_organisation_id": str(uuid.uuid4()),
        "due_on": (utcnow() + timedelta(days=7)).date().isoformat()},
    ("PATCH", "/v1/cases/{id}/actions/{action_id}"): lambda: {"status": "done", "result": "Gedaan."},
    ("POST", "/v1/cases/{id}/conferences"): lambda: {
        "starts_at": fmt_ts(utcnow() + timedelta(days=7)), "participants": [str(uuid.uuid4())],
        "agenda": "Wie neemt de regie?"},
    ("POST", "/v1/cases/{id}/notes"): lambda: {"body": "Hoe staat het ervoor?"},
    ("POST", "/v1/cases/{id}/resolve"): lambda: {"solution": "Behandeling gestart."},
    ("POST", "/v1/cases/{id}/close"): lambda: {"note": "Afgerond."},
    ("PUT", "/v1/consultants/{id}/profile"): lambda: {
        "discipline": "psychiater", "expertise": ["angst"], "regions": ["mx-elders"], "modes": ["video"],
        "accepting": True, "response_days": 3},
    ("PUT", "/v1/organisations/{id}/tariff"): lambda: {"hourly_cents": 6000, "valid_from": "2026-01-01"},
    ("PUT", "/v1/organisations/{id}/budgets/{year}"): lambda: {"amount_cents": 100000},
}

# Query strings for GET routes without path parameters that answer 400 without one (`mx` -> params).
def _billing_period(mx):
    year = datetime.now(ZoneInfo("Europe/Amsterdam")).year
    return {"organisation_id": mx.practice["id"], "from": f"{year}-01-01", "to": f"{year}-12-31"}


def _report_period(mx):
    # no region: the coordinator gets their own, the admin every region
    return {"from": "2025-01-01", "to": "2025-12-31"}


LIST_QUERIES = {
    ("GET", "/v1/billing/preview"): _billing_period,
    ("GET", "/v1/reports/summary"): _report_period,
}

# Cases where the server answers other than API.md says, each a finding to fix in the server (then
# delete the entry: the xfail is strict, so a fixed server fails the run until it is removed).
# (test, method, template, role) -> reason.
KNOWN_DEVIATIONS = {}

# Sample values for path parameters that are not object ids.
PARAM_SAMPLES = {"year": "2026"}

# A parameter is an object id when typed uuid or named id / *_id.
_IS_ID = re.compile(r"(^|_)id$")


def foreign_fixture(rt):
    path = template(rt["pattern"])
    best = None
    for prefix, fixture in FOREIGN_OBJECTS.items():
        if (path == prefix or path.startswith(prefix + "/")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, fixture)
    return best[1] if best else None


def id_params(rt):
    return [name for name, typ in params(rt) if typ == "uuid" or _IS_ID.search(name)]


def path_for(rt, first_id=None):
    """The route's path with every parameter filled in: the ids from `first_id` (one id, or a tuple
    of ids in path order; random UUIDs for the ids it does not give), other parameters from
    PARAM_SAMPLES."""
    given = list(first_id) if isinstance(first_id, (tuple, list)) else [first_id] if first_id else []

    def value(m):
        name, typ = m.group(1), m.group(2)
        if typ == "uuid" or _IS_ID.search(name):
            return given.pop(0) if given else str(uuid.uuid4())
        if name not in PARAM_SAMPLES:
            pytest.fail(f"{rid(rt)}: add a sample value for the path parameter {{{name}}} to PARAM_SAMPLES")
        return PARAM_SAMPLES[name]

    return PARAM.sub(value, rt["pattern"])


def send(api, rt, path, token=None, body=None):
    kw = {}
    if "body" in rt["flags"]:
        kw["json"] = {} if body is None else body
    return api.request(rt["method"], path, token=token, **kw)


def valid_body(rt):
    make = VALID_BODIES.get(key(rt))
    return make() if make else None


# ---- The cases, one test case per (route, role, expectation) ----

PUBLIC = [rt for rt in ROUTES if not rt["roles"]]
PROTECTED = [rt for rt in ROUTES if rt["roles"]]
FORBIDDEN = [(rt, role) for rt in PROTECTED for role in ROLES if role not in rt["roles"]]
ALLOWED_WITH_ID = [(rt, role) for rt in PROTECTED if id_params(rt) for role in rt["roles"]]
ALLOWED_FOREIGN = [(rt, role) for rt, role in ALLOWED_WITH_ID if foreign_fixture(rt)
                   and role not in SEES_EVERY_ORGANISATION.get(key(rt), (set(), ""))[0]]
ALLOWED_LISTS = [(rt, role) for rt in PROTECTED if rt["method"] == "GET" and not params(rt)
                 for role in rt["roles"]]
ID_ROUTES = [rt for rt in ROUTES if params(rt)]


def cases(test, pairs):
    """pytest params for (route, role) pairs, with KNOWN_DEVIATIONS marked as strict xfails."""
    out = []
    for rt, role in pairs:
        reason = KNOWN_DEVIATIONS.get((test, *key(rt), role))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(rt, role, id=rid(rt, role), marks=marks))
    return out


# ---- Fixtures: one World, its users per role, the other organisation's objects (once per module) ----

@pytest.fixture(scope="module")
def mx(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="mx")


@pytest.fixture(scope="module")
def tokens(mx, admin_token):
    return {"gp": mx.gp["token"], "poh": mx.poh["token"], "consultant": mx.c_other_exp["token"],
            "coordinator": mx.coord_b["token"], "billing": mx.billing["token"], "admin": admin_token}


@pytest.fixture(scope="module")
def foreign_consultation(mx):
    """Asked by another practice (gp_b) of c1, accepted: messages and appointments are open on it."""
    c = mx.create_ok(token=mx.gp_b["token"], to=mx.c1)
    mx.act_ok(c["id"], "accept", mx.c1["token"])
    # it exists and its own parties (and the region's coordinator) see it: the 404s below are about
    # who asks, not about the object
    for user in (mx.gp_b, mx.c1, mx.coord):
        assert_json(mx.get(c["id"], user["token"]), 200)
    return c["id"]


@pytest.fixture(scope="module")
def foreign_notification(mx, foreign_consultation):
    """c1's notification that a consultation was addressed to them."""
    notes = mx.notes_for(mx.c1, foreign_consultation)
    assert notes, "c1 got no notification for the consultation addressed to them"
    assert notes[0]["read_at"] is None
    return notes[0]["id"]


@pytest.fixture(scope="module")
def case_party(mx, factory):
    """The one party organisation of the foreign case: none of the matrix users belong to it."""
    return factory.make_org("municipality", mx.region, name="Gemeente Matrixstad")


@pytest.fixture(scope="module")
def foreign_case(mx, case_party):
    """Registered by another practice (gp_b), taken in by the region's coordinator: in progress at
    level 1, so every case action is open on it."""
    body = {"title": "Zorg loopt vast", "summary": "Wachtlijsten overal, niemand pakt de regie.",
            "stagnation": "Verwijzingen over en weer.", "attempts": "Twee verwijzingen.",
            "proposed_solution": "Casusoverleg.",
            "parties": [{"organisation_id": case_party["id"], "role": "gemeente"}],
            "patient": {"mode": "anonymous", "age": 40, "sex": "f"}}
    c = assert_json(mx.api.post("/v1/cases", token=mx.gp_b["token"], json=body), 201)
    c = assert_json(mx.api.post(f"/v1/cases/{c['id']}/intake", token=mx.coord["token"],
                                json={"work_done": True}), 200)
    assert c["status"] == "in_progress", c
    for user in (mx.gp_b, mx.coord):
        assert_json(mx.api.get(f"/v1/cases/{c['id']}", token=user["token"]), 200)
    return c["id"]


@pytest.fixture(scope="module")
def foreign_case_action(mx, foreign_case, case_party):
    """The foreign case and an open action of it, owned by its party."""
    r = mx.api.post(f"/v1/cases/{foreign_case}/actions", token=mx.coord["token"],
                    json={"description": "Wijkteam inschakelen.", "owner_organisation_id": case_party["id"],
                          "due_on": (utcnow() + timedelta(days=14)).date().isoformat()})
    a = assert_json(r, 201)
    assert a["status"] == "open", a
    return (foreign_case, a["id"])


@pytest.fixture(scope="module")
def foreign_practice(mx):
    """Another practice of the region (practice_b)."""
    return mx.practice_b["id"]


@pytest.fixture(scope="module")
def foreign_export_made(mx, admin_token):
    """An export of practice_b, made by the admin: one consultation of gp_b, answered by c1 (mx.mhp
    has a tariff). The export as created, without its `unpriced`."""
    r = mx.api.put(f"/v1/organisations/{mx.mhp['id']}/tariff", token=admin_token,
                   json={"hourly_cents": 6000, "valid_from": "2000-01-01"})
    assert_json(r, 200)
    c = mx.create_ok(token=mx.gp_b["token"], to=mx.c1)
    mx.act_ok(c["id"], "accept", mx.c1["token"])
    mx.act_ok(c["id"], "answer", mx.c1["token"], dict(ANSWER))
    period = _billing_period(mx)
    period["organisation_id"] = mx.practice_b["id"]
    e = assert_json(mx.api.post("/v1/billing/exports", token=admin_token, json=period), 201)
    assert [x["consultation_id"] for x in e["lines"]] == [c["id"]], e
    e.pop("unpriced")
    return e


@pytest.fixture(scope="module")
def foreign_export(foreign_export_made):
    return foreign_export_made["id"]


# ---- overlegd routes (the generator) ----

def test_routes_command_prints_the_route_table():
    assert ROUTES, "overlegd routes printed no routes"
    seen = set()
    for rt in ROUTES:
        assert set(rt) == {"method", "pattern", "action", "roles", "flags"}, rt
        assert rt["method"] in {"GET", "POST", "PUT", "PATCH", "DELETE"}, rt
        assert rt["pattern"].startswith("/"), rt
        assert rt["action"], rt
        assert set(rt["roles"]) <= set(ROLES), rt
        assert set(rt["flags"]) <= FLAGS, rt
        assert key(rt) not in seen, f"duplicate route {rid(rt)}"
        seen.add(key(rt))
    # the routes the rest of the suite relies on are there, with the roles API.md gives them
    table = {key(rt): rt for rt in ROUTES}
    assert table[("POST", "/v1/auth/login")]["roles"] == []
    assert table[("GET", "/healthz")]["roles"] == []
    assert table[("GET", "/v1/audit")]["roles"] == ["admin"]
    assert set(table[("GET", "/v1/consultations/{id}")]["roles"]) == {"gp", "poh", "consultant", "coordinator"}
    assert "body" in table[("POST", "/v1/consultations")]["flags"]
    assert "test_clock" in table[("PUT", "/v1/admin/clock")]["flags"]
    # escalation cases and signals (API.md §9, §10; docs/cases.md "Who stands where")
    workers = {"gp", "poh", "consultant", "coordinator"}
    for m, path in [("POST", "/v1/cases"), ("GET", "/v1/cases"), ("GET", "/v1/cases/{id}"),
                    ("PATCH", "/v1/cases/{id}"), ("POST", "/v1/cases/{id}/resubmit"),
                    ("PATCH", "/v1/cases/{id}/actions/{action_id}"), ("POST", "/v1/cases/{id}/notes")]:
        assert set(table[(m, path)]["roles"]) == workers, (m, path)
    for m, path in [("POST", "/v1/cases/{id}/intake"), ("POST", "/v1/cases/{id}/escalate"),
                    ("POST", "/v1/cases/{id}/deescalate"), ("PUT", "/v1/cases/{id}/regie"),
                    ("POST", "/v1/cases/{id}/actions"), ("POST", "/v1/cases/{id}/conferences"),
                    ("POST", "/v1/cases/{id}/resolve"), ("POST", "/v1/cases/{id}/close")]:
        assert table[(m, path)]["roles"] == ["coordinator"], (m, path)
    assert set(table[("GET", "/v1/signals")]["roles"]) == {"coordinator", "admin"}
    assert table[("POST", "/v1/admin/jobs/run")]["roles"] == ["admin"]
    assert len([k for k in table if k[1].startswith("/v1/cases")]) == 15
    # billing (API.md §11, docs/billing.md "Who")
    assert table[("PUT", "/v1/organisations/{id}/tariff")]["roles"] == ["admin"]
    for m, path in [("PUT", "/v1/organisations/{id}/budgets/{year}"), ("GET", "/v1/billing/preview"),
                    ("POST", "/v1/billing/exports"), ("GET", "/v1/billing/exports"),
                    ("GET", "/v1/billing/exports/{id}")]:
        assert set(table[(m, path)]["roles"]) == {"billing", "admin"}, (m, path)
    assert "idempotent" in table[("POST", "/v1/billing/exports")]["flags"]
    assert "paged" in table[("GET", "/v1/billing/exports")]["flags"]
    assert len([k for k in table if k[1].startswith("/v1/billing")]) == 4
    # reports (API.md "Reports", docs/reports.md "Who")
    assert set(table[("GET", "/v1/reports/summary")]["roles"]) == {"coordinator", "admin"}
    assert len([k for k in table if k[1].startswith("/v1/reports")]) == 1


def test_routes_command_takes_no_arguments():
    p = subprocess.run([BIN, "routes", "extra"], env=clean_env(), capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "usage" in p.stderr and p.stdout == ""


# ---- Every route with an {id} is classified ----

@pytest.mark.parametrize("rt", ID_ROUTES, ids=[rid(rt) for rt in ID_ROUTES])
def test_id_route_is_classified(rt):
    if not rt["roles"]:
        pytest.fail(f"{rid(rt)}: a public route with an id parameter; decide what it may show")
    fixture = foreign_fixture(rt)
    by_design = VISIBLE_BY_DESIGN.get(key(rt))
    assert fixture or by_design, (
        f"{rid(rt)} has an id parameter but neither a FOREIGN_OBJECTS entry (a fixture making another "
        f"organisation's object) nor a VISIBLE_BY_DESIGN entry in {__file__}")
    assert not (fixture and by_design), f"{rid(rt)} is in both FOREIGN_OBJECTS and VISIBLE_BY_DESIGN"
    for name, typ in params(rt):
        assert typ == "uuid" or _IS_ID.search(name) or name in PARAM_SAMPLES, \
            f"{rid(rt)}: no sample value for {{{name}}} in PARAM_SAMPLES"


# ---- Public routes answer without a token ----

@pytest.mark.parametrize("rt", PUBLIC, ids=[rid(rt) for rt in PUBLIC])
def test_public_route_answers_without_token(api, rt):
    r = send(api, rt, path_for(rt))
    assert r.status_code not in (401, 403), f"{rid(rt)}: {r.status_code} {r.text[:300]}"
    assert r.status_code < 500, f"{rid(rt)}: {r.status_code} {r.text[:300]}"
    if rt["method"] == "GET":
        assert r.status_code == 200, f"{rid(rt)}: {r.status_code} {r.text[:300]}"


# ---- 401 without a token ----

@pytest.mark.parametrize("rt", PROTECTED, ids=[rid(rt) for rt in PROTECTED])
def test_401_without_token(api, rt):
    assert_problem(send(api, rt, path_for(rt)), 401, "/problems/unauthorized")
    assert_problem(send(api, rt, path_for(rt), token="ovl_" + "x" * 43), 401, "/problems/unauthorized")


# ---- 403 for every role the route does not allow ----

@pytest.mark.parametrize("rt,role", cases("forbidden", FORBIDDEN))
def test_403_for_a_role_not_allowed(api, request, tokens, rt, role):
    # a real object where one exists, so the refusal cannot depend on a failed lookup
    fixture = foreign_fixture(rt)
    first = request.getfixturevalue(fixture) if fixture else None
    r = send(api, rt, path_for(rt, first), token=tokens[role])
    assert_problem(r, 403, "/problems/forbidden")


# ---- 404 for allowed roles: an id that does not exist, another organisation's object ----

@pytest.mark.parametrize("rt,role", cases("unknown_id", ALLOWED_WITH_ID))
def test_404_for_an_unknown_id(api, tokens, rt, role):
    r = send(api, rt, path_for(rt), token=tokens[role], body=valid_body(rt))
    assert_problem(r, 404, "/problems/not-found")


@pytest.mark.parametrize("rt,role", cases("foreign", ALLOWED_FOREIGN))
def test_404_for_another_organisations_object(api, request, tokens, rt, role):
    obj = request.getfixturevalue(foreign_fixture(rt))
    r = send(api, rt, path_for(rt, obj), token=tokens[role], body=valid_body(rt))
    assert_problem(r, 404, "/problems/not-found")


# ---- Allowed roles are let through (GET routes without parameters: no side effects) ----

@pytest.mark.parametrize("rt,role", cases("allowed", ALLOWED_LISTS))
def test_allowed_role_gets_200(api, mx, tokens, rt, role):
    query = LIST_QUERIES.get(key(rt))
    assert_json(api.get(path_for(rt), token=tokens[role], params=query(mx) if query else None), 200)


@pytest.mark.parametrize("rt,role", [pytest.param(rt, role, id=rid(rt, role))
                                     for rt, role in ALLOWED_WITH_ID if foreign_fixture(rt)
                                     and role in SEES_EVERY_ORGANISATION.get(key(rt), (set(), ""))[0]])
def test_role_seeing_every_organisation_gets_the_foreign_object(api, request, tokens, rt, role):
    """The other side of SEES_EVERY_ORGANISATION: those roles really are let through."""
    obj = request.getfixturevalue(foreign_fixture(rt))
    r = send(api, rt, path_for(rt, obj), token=tokens[role], body=valid_body(rt))
    assert_json(r, 200)


# ---- The refusals changed nothing ----

def test_refused_requests_left_the_billing_objects_alone(mx, db, admin_token, foreign_export_made,
                                                         foreign_practice):
    made = dict(foreign_export_made)
    got = assert_json(mx.api.get(f"/v1/billing/exports/{made['id']}", token=admin_token), 200)
    # the budget's amount may have been set by the admin's own (allowed) request above; not its use
    assert got.pop("budget")["used_cents"] == made.pop("budget")["used_cents"] == made["total_cents"], got
    assert got == made, (got, made)
    assert sql_count(db, "SELECT count(*) FROM billing_exports WHERE organisation_id = %s", foreign_practice) == 1
    assert sql_count(db, "SELECT count(*) FROM billing_exports WHERE organisation_id = %s", mx.practice["id"]) == 0
    assert sql_count(db, "SELECT count(*) FROM budgets WHERE organisation_id = %s AND set_by <> %s",
                     foreign_practice, assert_json(mx.api.get("/v1/me", token=admin_token))["id"]) == 0


def test_refused_requests_left_the_foreign_objects_alone(mx, foreign_consultation, foreign_notification,
                                                         foreign_case, foreign_case_action):
    c = assert_json(mx.get(foreign_consultation, mx.gp_b["token"]), 200)
    assert c["status"] == "accepted" and c["consultant"]["id"] == mx.c1["id"], c
    for path in ("messages", "appointments"):
        assert mx.api.list_all(f"/v1/consultations/{foreign_consultation}/{path}", mx.c1["token"]) == []
    note = [n for n in mx.notifications(mx.c1) if n["id"] == foreign_notification]
    assert note and note[0]["read_at"] is None, note
    case = assert_json(mx.api.get(f"/v1/cases/{foreign_case}", token=mx.gp_b["token"]), 200)
    assert case["status"] == "in_progress" and case["level"] == 1, case
    assert case["title"] == "Zorg loopt vast" and case["regie_organisation"] is None, case
    assert case["conferences"] == [], case
    assert [e["kind"] for e in case["timeline"]] == ["registered", "intake", "action_created"], case["timeline"]
    assert [(a["id"], a["status"]) for a in case["actions"]] == [(foreign_case_action[1], "open")], case["actions"]
