"""Organisations (API.md §5): POST /v1/organisations (admin), GET /v1/organisations with filters and keyset paging, GET /v1/organisations/{id}."""

import uuid

import pytest

from conftest import (KINDS, ORG_FIELDS, assert_json, assert_problem, audit_entries, count_orgs, error_fields,
                      parse_ts, uid)


NON_ADMIN = ["gp", "poh", "consultant", "coordinator", "billing"]


@pytest.fixture(scope="module")
def users(factory):
    return {role: factory.make_user(role) for role in NON_ADMIN}


# ---- POST /v1/organisations ----

@pytest.mark.parametrize("kind", KINDS)
def test_create_each_kind(api, admin_token, db, kind):
    name = f"Praktijk {kind} {uid()}"
    r = api.post("/v1/organisations", token=admin_token,
                 json={"name": name, "kind": kind, "region": "utrecht-stad", "agb_code": "01234567"})
    body = assert_json(r, 201)
    assert set(body) == ORG_FIELDS
    uuid.UUID(body["id"])
    assert body["name"] == name and body["kind"] == kind and body["region"] == "utrecht-stad"
    assert body["agb_code"] == "01234567"
    parse_ts(body["created_at"])
    assert count_orgs(db, name) == 1


def test_create_without_agb_is_null(api, admin_token):
    body = assert_json(api.post("/v1/organisations", token=admin_token,
                                json={"name": f"No agb {uid()}", "kind": "other", "region": "xx"}), 201)
    assert body["agb_code"] is None


def test_create_name_is_trimmed_and_unicode_ok(api, admin_token):
    core = f"Huisartsenpraktijk Één & Zoë {uid()}"
    body = assert_json(api.post("/v1/organisations", token=admin_token,
                                json={"name": "  " + core + "  ", "kind": "general_practice",
                                      "region": "a1"}), 201)
    # conventions.md: names are stored trimmed
    assert body["name"] == core


def test_create_name_200_chars_ok(api, admin_token):
    name = ("n" * 188) + uid()
    assert len(name) == 200
    assert_json(api.post("/v1/organisations", token=admin_token,
                         json={"name": name, "kind": "other", "region": "r" * 64}), 201)


def test_create_is_audited_with_subject(api, admin_token, admin_user):
    body = assert_json(api.post("/v1/organisations", token=admin_token,
                                json={"name": f"Audited {uid()}", "kind": "insurer", "region": "zz"}), 201)
    entries = audit_entries(api, admin_token, subject_id=body["id"], action="organisations.create")
    assert len(entries) == 1
    e = entries[0]
    assert e["outcome"] == "success" and e["actor"]["id"] == admin_user["id"]


@pytest.mark.parametrize("role", NON_ADMIN)
def test_create_non_admin_403_and_audited(api, admin_token, users, db, role):
    u = users[role]
    name = f"Forbidden {uid()}"
    r = api.post("/v1/organisations", token=u["token"], json={"name": name, "kind": "other", "region": "xx"})
    assert_problem(r, 403, "/problems/forbidden")
    assert count_orgs(db, name) == 0
    entries = audit_entries(api, admin_token, actor_id=u["id"], action="organisations.create")
    assert entries and entries[0]["outcome"] == "denied"


def test_create_without_token_401(api, db):
    name = f"Anon {uid()}"
    r = api.post("/v1/organisations", json={"name": name, "kind": "other", "region": "xx"})
    assert_problem(r, 401, "/problems/unauthorized")
    assert count_orgs(db, name) == 0


def test_403_before_body_parse(api, users):
    # Pipeline: role check (5) comes before content type (6) and body parse (7).
    r = api.post("/v1/organisations", token=users["gp"]["token"], data=b"{not json",
                 headers={"Content-Type": "text/plain"})
    assert_problem(r, 403, "/problems/forbidden")


@pytest.mark.parametrize("patch,field", [
    ({"kind": "hospital"}, "kind"),
    ({"kind": "General_Practice"}, "kind"),
    ({"region": "Noord Limburg"}, "region"),
    ({"region": "noord_limburg"}, "region"),
    ({"region": "x"}, "region"),
    ({"region": "r" * 65}, "region"),
    ({"agb_code": "1234567"}, "agb_code"),
    ({"agb_code": "123456789"}, "agb_code"),
    ({"agb_code": "1234567a"}, "agb_code"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "n" * 201}, "name"),
    ({"name": "bad\u0007bell"}, "name"),
    ({"name": "nul\u0000byte"}, "name"),
    ({"name": "line\nbreak"}, "name"),
    ({"extra": 1}, "extra"),
    ({"id": str(uuid.uuid4())}, "id"),
    ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
])
def test_create_validation_422(api, admin_token, db, patch, field):
    body = {"name": f"Invalid {uid()}", "kind": "other", "region": "valid-region"}
    body.update(patch)
    if patch.get("name", "") is None:
        del body["name"]
    before = count_orgs(db)
    r = api.post("/v1/organisations", token=admin_token, json=body)
    b = assert_problem(r, 422, "/problems/validation")
    assert field in error_fields(b), b
    assert count_orgs(db) == before


def test_create_missing_fields_422(api, admin_token, db):
    before = count_orgs(db)
    b = assert_problem(api.post("/v1/organisations", token=admin_token, json={}), 422, "/problems/validation")
    assert {"name", "kind", "region"} <= error_fields(b)
    assert count_orgs(db) == before


# ---- GET /v1/organisations ----

def test_list_filters(api, admin_token, users, factory):
    region, other_region = f"r-{uid()}", f"s-{uid()}"
    tag = uid()
    a = factory.make_org("general_practice", region, name=f"Alpha {tag} Praktijk")
    b = factory.make_org("general_practice", region, name=f"beta {tag.upper()} praktijk")
    c = factory.make_org("municipality", region, name=f"Gemeente {tag}")
    d = factory.make_org("general_practice", other_region, name=f"Delta {tag} Praktijk")

    def ids(params, token=None):
        items = api.list_all("/v1/organisations", token or admin_token, params=params)
        for it in items:
            assert set(it) == {"id", "name", "kind", "region", "agb_code", "created_at"}
        return {it["id"] for it in items}

    assert ids({"region": region}) == {a["id"], b["id"], c["id"]}
    assert ids({"region": region, "kind": "general_practice"}) == {a["id"], b["id"]}
    assert ids({"q": tag}) == {a["id"], b["id"], c["id"], d["id"]}
    assert ids({"q": tag.upper()}) == {a["id"], b["id"], c["id"], d["id"]}
    assert ids({"q": f"{tag} PRAKTIJK"}) == {a["id"], b["id"], d["id"]}
    assert ids({"q": tag, "kind": "general_practice", "region": region}) == {a["id"], b["id"]}
    assert ids({"q": tag, "kind": "municipality"}) == {c["id"]}
    assert ids({"q": tag, "region": other_region}) == {d["id"]}
    assert ids({"q": f"nomatch-{uid()}"}) == set()
    # any signed-in user may list
    for role in NON_ADMIN:
        assert ids({"region": region}, token=users[role]["token"]) == {a["id"], b["id"], c["id"]}


def test_list_q_is_literal_not_pattern(api, admin_token, factory):
    region = f"p-{uid()}"
    factory.make_org("other", region, name="Percent 100% Zorg")
    factory.make_org("other", region, name="Under_score Zorg")
    factory.make_org("other", region, name="Plain Zorg")
    got = api.list_all("/v1/organisations", admin_token, params={"region": region, "q": "%"})
    assert [o["name"] for o in got] == ["Percent 100% Zorg"]
    got = api.list_all("/v1/organisations", admin_token, params={"region": region, "q": "_"})
    assert [o["name"] for o in got] == ["Under_score Zorg"]
    factory.make_org("other", region, name="Back\\slash Zorg")
    got = api.list_all("/v1/organisations", admin_token, params={"region": region, "q": "\\"})
    assert [o["name"] for o in got] == ["Back\\slash Zorg"]
    got = api.list_all("/v1/organisations", admin_token, params={"region": region, "q": "k\\s"})
    assert [o["name"] for o in got] == ["Back\\slash Zorg"]


def test_list_without_token_401(api):
    assert_problem(api.get("/v1/organisations"), 401, "/problems/unauthorized")


def test_pagination_keyset(api, admin_token, factory):
    region = f"page-{uid()}"
    names = ["Gamma", "alpha", "Beta", "delta", "Epsilon", "Beta", "zeta"]  # duplicate name on purpose
    created = [factory.make_org("other", region, name=n) for n in names]
    pages, cursor = [], None
    for _ in range(10):
        params = {"region": region, "limit": 3}
        if cursor:
            params["cursor"] = cursor
        body = assert_json(api.get("/v1/organisations", token=admin_token, params=params))
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    seen = [o["id"] for p in pages for o in p]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == {o["id"] for o in created}
    # ordered by name, then id
    got = [(o["name"], o["id"]) for p in pages for o in p]
    assert got == sorted(got, key=lambda t: (t[0], t[1])) or \
        got == sorted(got, key=lambda t: (t[0].lower(), t[1]))


def test_pagination_stable_under_insert(api, admin_token, factory):
    region = f"ins-{uid()}"
    for n in ["b1", "b2", "b3", "b4"]:
        factory.make_org("other", region, name=n)
    first = assert_json(api.get("/v1/organisations", token=admin_token, params={"region": region, "limit": 2}))
    assert [o["name"] for o in first["items"]] == ["b1", "b2"]
    factory.make_org("other", region, name="a0")   # sorts before the boundary
    factory.make_org("other", region, name="b25")  # sorts after it
    second = assert_json(api.get("/v1/organisations", token=admin_token,
                                 params={"region": region, "limit": 2, "cursor": first["next_cursor"]}))
    assert [o["name"] for o in second["items"]] == ["b25", "b3"]


def test_default_limit_20(api, admin_token, factory):
    region = f"dl-{uid()}"
    for i in range(21):
        factory.make_org("other", region, name=f"n{i:02d}")
    body = assert_json(api.get("/v1/organisations", token=admin_token, params={"region": region}))
    assert len(body["items"]) == 20 and body["next_cursor"] is not None


def test_cursor_from_other_filter_does_not_crash(api, admin_token, factory):
    region = f"cf-{uid()}"
    for i in range(3):
        factory.make_org("other", region, name=f"c{i}")
    first = assert_json(api.get("/v1/organisations", token=admin_token, params={"region": region, "limit": 1}))
    r = api.get("/v1/organisations", token=admin_token, params={"kind": "insurer", "cursor": first["next_cursor"]})
    assert r.status_code in (200, 400), r.text


# ---- GET /v1/organisations/{id} ----

def test_get_by_id(api, admin_token, users, factory):
    org = factory.make_org("social_team", f"g-{uid()}", agb_code="87654321")
    assert assert_json(api.get(f"/v1/organisations/{org['id']}", token=admin_token)) == org
    assert assert_json(api.get(f"/v1/organisations/{org['id']}", token=users["billing"]["token"])) == org


@pytest.mark.parametrize("oid", [str(uuid.uuid4()), "not-a-uuid", "123", str(uuid.uuid4()).upper() + "0",
                                 "%27%20OR%201=1--"])
def test_get_unknown_404(api, admin_token, oid):
    assert_problem(api.get(f"/v1/organisations/{oid}", token=admin_token), 404, "/problems/not-found")


def test_get_without_token_401(api, factory):
    org = factory.org_for("gp")
    assert_problem(api.get(f"/v1/organisations/{org['id']}"), 401, "/problems/unauthorized")
