"""The consultant directory (API.md §7): GET /v1/consultants (filters, ordering, paging, free-text
search), GET /v1/consultants/{id}, PUT /v1/consultants/{id}/profile, live stats, and the session
checked inside the first statement of these reads.
"""

import json
import random
import threading
import time
import uuid

import pytest

from conftest import assert_json, assert_problem, audit_entries, error_fields, uid
from consult_helpers import ANSWER, World
from directory_helpers import (ALL_EXPERTISE, ALL_TARGET_GROUPS, Dir, NON_ADMIN_OTHER, VOCAB,
                               assert_consultant, assert_profile_matches, has_profile, minimal_profile,
                               profile, profile_row, region, word)


@pytest.fixture(scope="module")
def mhp(factory):
    return factory.make_org("mental_health_provider", f"dir-{uid()}", name=f"GGZ Rivierenland {uid()}")


@pytest.fixture(scope="module")
def others(factory):
    return {role: factory.make_user(role) for role in NON_ADMIN_OTHER}


@pytest.fixture(scope="module")
def d(api, admin_token, factory, mhp):
    return Dir(api, admin_token, factory, mhp)


@pytest.fixture(scope="module")
def w(api, factory, admin_token):
    return World(api, factory, admin_token, prefix="cs")


# ---- PUT /v1/consultants/{id}/profile ----

def test_put_by_consultant_themself(api, d, db, mhp):
    c = d.consultant(login=True)
    body = profile([region(), "utrecht-stad"])
    r = d.put(c["id"], body, token=c["token"])
    got = assert_json(r)
    assert_consultant(got, c["id"], mhp)
    assert_profile_matches(got, body)
    assert got["name"] == c["user"]["name"]
    assert got["stats"] == {"answered_90d": 0, "median_response_hours": None}
    assert has_profile(db, c["id"])
    # GET returns the same object, for the consultant and for the admin
    assert assert_json(d.get(c["id"], token=c["token"])) == got
    assert assert_json(d.get(c["id"])) == got
    entries = audit_entries(api, d.admin, subject_id=c["id"], action="consultants.profile_update")
    assert entries and entries[0]["outcome"] == "success"
    assert entries[0]["actor"]["id"] == c["id"]


def test_put_by_admin(api, d, mhp, admin_user):
    c = d.consultant()
    body = profile([region()], discipline="verslavingsarts", expertise=["verslaving", "medicatie"],
                   target_groups=["volwassenen", "epa"], modes=["on_location"], languages=["nl", "de"],
                   accepting=False, response_days=7,
                   bio="Verslavingsarts in een FACT-team. Consultatie over alcohol, opiaten en benzodiazepinen.")
    got = assert_json(d.put(c["id"], body))
    assert_consultant(got, c["id"], mhp)
    assert_profile_matches(got, body)
    assert got["stats"] == {"answered_90d": 0, "median_response_hours": None}
    assert assert_json(d.get(c["id"])) == got
    entries = audit_entries(api, d.admin, subject_id=c["id"], action="consultants.profile_update")
    assert entries and entries[0]["outcome"] == "success" and entries[0]["actor"]["id"] == admin_user["id"]


def test_put_defaults(d, mhp):
    c = d.consultant()
    body = minimal_profile([region()])
    got = assert_json(d.put(c["id"], body))
    assert_consultant(got, c["id"], mhp)
    assert got["target_groups"] == []
    assert got["languages"] == ["nl"]
    assert got["bio"] == ""
    assert got["response_days"] == 3
    assert got["discipline"] == "gz_psycholoog" and got["expertise"] == ["trauma"] and got["modes"] == ["digital"]
    assert got["accepting"] is False


def test_put_replaces_whole_profile(d):
    c = d.consultant()
    reg = region()
    assert_json(d.put(c["id"], profile([reg, "twente"], target_groups=["jeugd", "ouderen"], languages=["en"],
                                       response_days=9)))
    # a second PUT without the optional fields resets them to their defaults
    got = assert_json(d.put(c["id"], minimal_profile([reg])))
    assert got["target_groups"] == [] and got["languages"] == ["nl"] and got["bio"] == ""
    assert got["response_days"] == 3 and got["regions"] == [reg]
    assert assert_json(d.get(c["id"])) == got


def test_put_twice_same_body_idempotent(d):
    c = d.consultant()
    body = profile([region()])
    a = assert_json(d.put(c["id"], body))
    b = assert_json(d.put(c["id"], body))
    assert a == b


def test_put_extra_vocabulary_codes_accepted(d):
    c = d.consultant()
    body = profile([region()], discipline="ouderenpsychiater", expertise=["slaap", "rouw", "somatisch"],
                   target_groups=["perinataal", "ouderen"])
    assert_profile_matches(assert_json(d.put(c["id"], body)), body)
    body = profile([region()], discipline="kinder_jeugdpsychiater")
    assert_profile_matches(assert_json(d.put(c["id"], body)), body)


@pytest.mark.parametrize("over", [
    {"response_days": 1},
    {"response_days": 10},
    {"bio": "b" * 2000},
    {"bio": "ë" * 2000},  # characters, not bytes
    {"bio": "Zoë werkt met cliënten én hun naasten — ook ’s avonds. 🙂"},
    {"expertise": VOCAB["expertise"]},  # 12, the maximum
    {"target_groups": VOCAB["target_groups"]},  # 5, the maximum
    {"target_groups": []},
    {"modes": VOCAB["modes"]},
    {"languages": []},
    {"languages": ["nl", "en", "de", "fr", "tr", "ar", "pl", "es", "it", "pt"]},  # 10
    {"regions": ["r" * 64, "ab", "a-1"]},
])
def test_put_boundaries_ok(d, over):
    c = d.consultant()
    body = profile([region()])
    body.update(over)
    got = assert_json(d.put(c["id"], body))
    assert_profile_matches(got, body)


def test_put_thirty_regions_ok(d):
    c = d.consultant()
    regs = [region() for _ in range(30)]
    got = assert_json(d.put(c["id"], profile(regs)))
    assert sorted(got["regions"]) == sorted(regs)


def test_long_profile_fits_the_indexes(api, d):
    """The longest profile the API accepts (a 200-character name of 4-byte characters, 30 regions
    of 64 characters, every list full) is written, listed and renamed without an index error."""
    regs = [f"{i:02d}-" + "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789-")
                                  for _ in range(61)) for i in range(30)]
    def long_name():  # random, so that no compression shrinks the index entry
        return "".join(chr(random.randint(0x1F300, 0x1F5FF)) for _ in range(200))

    c = d.consultant(name=long_name())
    body = profile(regs, expertise=["angst", "depressie", "psychose", "bipolair", "persoonlijkheid",
                                    "autisme", "adhd", "trauma", "verslaving", "eetstoornis",
                                    "medicatie", "suicidaliteit"],
                   target_groups=["jeugd", "volwassenen", "ouderen", "epa", "lvb"],
                   modes=["digital", "phone", "video", "on_location"],
                   languages=["nl", "en", "de", "fr", "tr", "ar", "pl", "es", "it", "pt"],
                   bio="x" * 2000)
    got = assert_json(d.put(c["id"], body))
    assert len(got["regions"]) == 30
    assert [i["id"] for i in d.list(region=regs[7])] == [c["id"]]
    assert [i["id"] for i in d.list(region=regs[7], expertise="medicatie", language="pt")] == [c["id"]]
    renamed = long_name()
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"name": renamed}))
    assert d.list(region=regs[0])[0]["name"] == renamed


# ---- PUT /v1/consultants/{id}/profile: validation (422) and nothing stored ----

@pytest.fixture(scope="module")
def victim(d):
    """A consultant with a stored profile that the invalid PUTs below must leave alone."""
    return d.consultant(body=profile([region()], bio="Eerste versie van het profiel."))


def _fields(*names):
    return set(names)


BAD_PUTS = [
    # vocabulary codes, errors name the element
    ({"expertise": ["angst", "bogus"]}, _fields("expertise[1]")),
    ({"expertise": ["Angst"]}, _fields("expertise[0]")),
    ({"expertise": ["angst", "depressie", "psychoze"]}, _fields("expertise[2]")),
    ({"expertise": [1]}, _fields("expertise[0]")),
    ({"expertise": [None]}, _fields("expertise[0]")),
    ({"expertise": ["angst", "angst"]}, _fields("expertise", "expertise[1]")),
    ({"expertise": []}, _fields("expertise")),
    ({"expertise": ALL_EXPERTISE[:13]}, _fields("expertise")),
    ({"expertise": "angst"}, _fields("expertise")),
    ({"expertise": None}, _fields("expertise")),
    ({"discipline": "tandarts"}, _fields("discipline")),
    ({"discipline": "Psychiater"}, _fields("discipline")),
    ({"discipline": ""}, _fields("discipline")),
    ({"discipline": None}, _fields("discipline")),
    ({"discipline": 3}, _fields("discipline")),
    ({"target_groups": ["jeugd", "kinderen"]}, _fields("target_groups[1]")),
    ({"target_groups": ["jeugd", "jeugd"]}, _fields("target_groups", "target_groups[1]")),
    ({"target_groups": ALL_TARGET_GROUPS}, _fields("target_groups")),  # 6 > 5
    ({"modes": ["video", "fax"]}, _fields("modes[1]")),
    ({"modes": ["phone", "phone"]}, _fields("modes", "modes[1]")),
    ({"modes": []}, _fields("modes")),
    ({"regions": ["Utrecht"]}, _fields("regions[0]")),
    ({"regions": ["ok-region", "a"]}, _fields("regions[1]")),
    ({"regions": ["r" * 65]}, _fields("regions[0]")),
    ({"regions": ["met spatie"]}, _fields("regions[0]")),
    ({"regions": ["noord_holland"]}, _fields("regions[0]")),
    ({"regions": [""]}, _fields("regions[0]")),
    ({"regions": ["twente", "twente"]}, _fields("regions", "regions[1]")),
    ({"regions": []}, _fields("regions")),
    ({"regions": [f"r-{i:02d}" for i in range(31)]}, _fields("regions")),
    ({"languages": ["nld"]}, _fields("languages[0]")),
    ({"languages": ["nl", "NL"]}, _fields("languages[1]")),
    ({"languages": ["NL"]}, _fields("languages[0]")),
    ({"languages": ["n"]}, _fields("languages[0]")),
    ({"languages": [""]}, _fields("languages[0]")),
    ({"languages": ["nl", "nl"]}, _fields("languages", "languages[1]")),
    ({"languages": ["nl", "en", "de", "fr", "tr", "ar", "pl", "es", "it", "pt", "ru"]}, _fields("languages")),
    ({"languages": "nl"}, _fields("languages")),
    ({"response_days": 0}, _fields("response_days")),
    ({"response_days": 11}, _fields("response_days")),
    ({"response_days": -1}, _fields("response_days")),
    ({"response_days": "3"}, _fields("response_days")),
    ({"response_days": 2.5}, _fields("response_days")),
    ({"response_days": True}, _fields("response_days")),
    ({"accepting": "true"}, _fields("accepting")),
    ({"accepting": 1}, _fields("accepting")),
    ({"accepting": None}, _fields("accepting")),
    ({"bio": "b" * 2001}, _fields("bio")),
    ({"bio": "ë" * 2001}, _fields("bio")),
    ({"bio": 5}, _fields("bio")),
    ({"bio": "met een \u0000 erin"}, _fields("bio")),
    # unknown fields (no mass assignment)
    ({"email": "x@test.example"}, _fields("email")),
    ({"name": "Nieuwe Naam"}, _fields("name")),
    ({"stats": {"answered_90d": 99, "median_response_hours": 1.0}}, _fields("stats")),
    ({"id": str(uuid.uuid4())}, _fields("id")),
    ({"organisation": {"id": str(uuid.uuid4())}}, _fields("organisation")),
    ({"region": "utrecht"}, _fields("region")),
]


def _bad_id(case):
    over, _ = case
    k = next(iter(over))
    v = repr(over[k])
    return f"{k}={v[:20]}"


@pytest.mark.parametrize("over,fields", BAD_PUTS, ids=[_bad_id(c) for c in BAD_PUTS])
def test_put_invalid_422_and_unchanged(d, db, victim, over, fields):
    before = assert_json(d.get(victim["id"]))
    row_before = profile_row(db, victim["id"])
    assert row_before is not None
    body = profile([region()], bio="Tweede versie, mag niet worden opgeslagen.")
    body.update(over)
    b = assert_problem(d.put(victim["id"], body), 422, "/problems/validation")
    got = error_fields(b)
    assert got & fields, f"expected one of {fields} in errors, got {b.get('errors')}"
    assert assert_json(d.get(victim["id"])) == before
    assert profile_row(db, victim["id"]) == row_before


@pytest.mark.parametrize("missing", ["discipline", "expertise", "regions", "modes", "accepting"])
def test_put_missing_required_422(d, db, victim, missing):
    before = assert_json(d.get(victim["id"]))
    body = profile([region()])
    del body[missing]
    b = assert_problem(d.put(victim["id"], body), 422, "/problems/validation")
    assert missing in error_fields(b), b
    assert assert_json(d.get(victim["id"])) == before


def test_put_reports_every_failing_field(d, victim):
    body = profile([region()], expertise=["angst", "bogus"], modes=["fax"], response_days=0, extra=1)
    b = assert_problem(d.put(victim["id"], body), 422, "/problems/validation")
    assert {"expertise[1]", "modes[0]", "response_days", "extra"} <= error_fields(b), b


def test_put_invalid_does_not_create_profile(d, db):
    c = d.consultant()
    assert not has_profile(db, c["id"])
    row = profile_row(db, c["id"])
    for over in ({"expertise": ["angst", "bogus"]}, {"response_days": 11}, {"languages": ["nld"]},
                 {"bio": "x" * 2001}, {"unknown": True}):
        assert_problem(d.put(c["id"], profile([region()], **over)), 422, "/problems/validation")
    assert not has_profile(db, c["id"])
    assert profile_row(db, c["id"]) == row
    # still the "no profile" consultant
    got = assert_json(d.get(c["id"]))
    assert got["discipline"] is None and got["expertise"] == [] and got["accepting"] is False


def test_put_wrong_content_type_415(d, db, victim):
    row = profile_row(db, victim["id"])
    r = d.api.put(f"/v1/consultants/{victim['id']}/profile", token=d.admin, data=json.dumps(profile([region()])),
                  headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, "/problems/unsupported-media-type")
    assert profile_row(db, victim["id"]) == row


@pytest.mark.parametrize("raw", ["", "{", "[]", '{"discipline": "psychiater", "discipline": "spv"}'])
def test_put_malformed_json_400(d, db, victim, raw):
    row = profile_row(db, victim["id"])
    r = d.api.put(f"/v1/consultants/{victim['id']}/profile", token=d.admin, data=raw.encode(),
                  headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "/problems/malformed-json")
    assert profile_row(db, victim["id"]) == row


def test_profile_method_not_allowed(d, victim):
    r = d.api.delete(f"/v1/consultants/{victim['id']}/profile", token=d.admin)
    assert_problem(r, 405, "/problems/method-not-allowed")
    assert "PUT" in r.headers.get("Allow", "")


# ---- PUT /v1/consultants/{id}/profile: authorization ----

def test_put_other_consultant_403_audited(api, d, db, victim):
    intruder = d.consultant(login=True)
    before = assert_json(d.get(victim["id"]))
    row = profile_row(db, victim["id"])
    r = d.put(victim["id"], profile([region()], bio="Overgenomen door een collega."), token=intruder["token"])
    assert_problem(r, 403, "/problems/forbidden")
    assert assert_json(d.get(victim["id"])) == before
    assert profile_row(db, victim["id"]) == row
    entries = audit_entries(api, d.admin, actor_id=intruder["id"], action="consultants.profile_update")
    assert entries and entries[0]["outcome"] == "denied"
    # the intruder did not get a profile either
    assert not has_profile(db, intruder["id"])


@pytest.mark.parametrize("role", NON_ADMIN_OTHER)
def test_put_other_roles_403(api, d, db, victim, others, role):
    u = others[role]
    row = profile_row(db, victim["id"])
    assert_problem(d.put(victim["id"], profile([region()]), token=u["token"]), 403, "/problems/forbidden")
    assert profile_row(db, victim["id"]) == row
    # role check comes before the body is looked at
    assert_problem(d.put(victim["id"], {"bogus": 1}, token=u["token"]), 403, "/problems/forbidden")
    # ... and a user of that role cannot give themselves a profile either
    assert_problem(d.put(u["id"], profile([region()]), token=u["token"]), 403, "/problems/forbidden")
    assert profile_row(db, u["id"]) is None
    entries = audit_entries(api, d.admin, actor_id=u["id"], action="consultants.profile_update")
    assert entries and all(e["outcome"] == "denied" for e in entries)


def test_put_admin_for_non_consultant_404(d, db, others, admin_user):
    gp = others["gp"]
    for target in (gp["id"], others["coordinator"]["id"], admin_user["id"], str(uuid.uuid4())):
        assert_problem(d.put(target, profile([region()])), 404, "/problems/not-found")
        assert profile_row(db, target) is None
    assert_problem(d.put("not-a-uuid", profile([region()])), 404, "/problems/not-found")


def test_put_without_token_401(d, db, victim):
    row = profile_row(db, victim["id"])
    r = d.api.put(f"/v1/consultants/{victim['id']}/profile", json=profile([region()]))
    assert_problem(r, 401, "/problems/unauthorized")
    r = d.api.put(f"/v1/consultants/{victim['id']}/profile", json=profile([region()]), token="not-a-token")
    assert_problem(r, 401, "/problems/unauthorized")
    assert profile_row(db, victim["id"]) == row


def test_deactivated_consultant_404_everywhere(api, d, db):
    reg = region()
    surname = word()
    c = d.consultant(name=f"Marloes {surname}", login=True, body=profile([reg]))
    assert d.ids(region=reg) == [c["id"]]
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"active": False}))
    row = profile_row(db, c["id"])
    assert_problem(d.put(c["id"], profile([reg], bio="Na deactivering.")), 404, "/problems/not-found")
    assert profile_row(db, c["id"]) == row
    assert_problem(d.get(c["id"]), 404, "/problems/not-found")
    assert d.ids(region=reg) == []
    # not found by name; another module's consultant may come near a random word (typo tolerance)
    assert c["id"] not in d.ids(q=surname)
    assert c["id"] not in d.ids(q=f"{surname} marloes") and d.ids(q=surname, region=reg) == []
    # reactivated, they are found again, by every kind of search
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"active": True}))
    assert d.ids(q=surname) == [c["id"]] and d.ids(q=f"{surname} marloes") == [c["id"]]
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"active": False}))
    assert d.ids(q=surname) == []
    # their old token is dead
    assert_problem(d.put(c["id"], profile([reg]), token=c["token"]), 401, "/problems/unauthorized")


# ---- GET /v1/consultants/{id} ----

def test_get_consultant_without_profile(d, mhp):
    c = d.consultant()
    got = assert_json(d.get(c["id"]))
    assert_consultant(got, c["id"], mhp)
    assert got["name"] == c["user"]["name"]
    assert got["discipline"] is None
    assert got["accepting"] is False
    for k in ("expertise", "target_groups", "regions", "modes", "languages"):
        assert got[k] == [], (k, got[k])
    assert got["bio"] == "" and got["response_days"] == 3
    assert got["stats"] == {"answered_90d": 0, "median_response_hours": None}


def test_consultant_without_profile_is_in_directory(d):
    surname = word()
    c = d.consultant(name=f"Wouter {surname}")
    items = d.list(q=surname)
    assert [i["id"] for i in items] == [c["id"]]
    assert items[0] == assert_json(d.get(c["id"]))


@pytest.mark.parametrize("role", NON_ADMIN_OTHER)
def test_get_consultant_any_role(d, victim, others, role):
    got = assert_json(d.get(victim["id"], token=others[role]["token"]))
    assert got == assert_json(d.get(victim["id"]))


def test_get_consultant_by_other_consultant(d, victim):
    other = d.consultant(login=True)
    assert assert_json(d.get(victim["id"], token=other["token"])) == assert_json(d.get(victim["id"]))


def test_get_non_consultant_404(d, others, admin_user):
    for target in (others["gp"]["id"], others["billing"]["id"], admin_user["id"], str(uuid.uuid4()),
                   "not-a-uuid", "123", "%27%20OR%201=1--"):
        assert_problem(d.get(target), 404, "/problems/not-found")


def test_get_consultant_401(d, victim):
    assert_problem(d.api.get(f"/v1/consultants/{victim['id']}"), 401, "/problems/unauthorized")


@pytest.mark.parametrize("first", ["rename", "profile"])
def test_card_right_when_rename_and_edit_overlap(d, pg, main_db_name, first):
    """An organisation rename and a profile edit in overlapping transactions, either first: the
    card (list and GET) ends with both, not with what one side saw before the other committed."""
    reg = region()
    org = d.factory.make_org("mental_health_provider", region=reg, name=f"GGZ {word()}")
    c = d.factory.make_user("consultant", org_id=org["id"], name=f"Tess {word()}")
    assert_json(d.put(c["id"], profile([reg], bio="Eerst.")))
    new_name, new_bio = f"GGZ {word()}", f"Nu {word()}."

    def rename(cur):
        cur.execute("UPDATE organisations SET name = %s WHERE id = %s", (new_name, org["id"]))

    def edit(cur):
        cur.execute("UPDATE consultant_profiles SET bio = %s WHERE user_id = %s", (new_bio, c["id"]))

    one, two = (rename, edit) if first == "rename" else (edit, rename)
    a, b = pg.connect(main_db_name, autocommit=False), pg.connect(main_db_name, autocommit=False)
    errors = []

    def second():
        try:
            two(b.cursor())
            b.commit()
        except Exception as e:  # reported below
            errors.append(e)

    try:
        one(a.cursor())  # holds its locks, not committed
        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.3)  # the second transaction now waits for the first
        a.commit()
        t.join(10)
        assert not t.is_alive() and not errors, errors
    finally:
        a.close()
        b.close()
    got = assert_json(d.get(c["id"]))
    assert got["organisation"]["name"] == new_name and got["bio"] == new_bio, got
    assert next(i for i in d.list(region=reg) if i["id"] == c["id"]) == got
    # the search text holds both as well: the new organisation name and the new bio
    assert d.ids(q=new_name.split()[1], region=reg) == [c["id"]]
    assert d.ids(q=new_bio.split()[1].rstrip("."), region=reg) == [c["id"]]


def test_directory_stats_live(w, db):
    cs = w.consultant(["medicatie"], [w.region], response_days=2)
    before = assert_json(w.api.get(f"/v1/consultants/{cs['id']}", token=w.gp["token"]))
    assert before["stats"]["answered_90d"] == 0
    c = w.create_ok(to=cs)
    w.act_ok(c["id"], "accept", cs["token"])
    w.act_ok(c["id"], "answer", cs["token"], ANSWER)
    got = assert_json(w.api.get(f"/v1/consultants/{cs['id']}", token=w.gp["token"]))
    assert got["stats"]["answered_90d"] >= 1
    m = got["stats"]["median_response_hours"]
    assert isinstance(m, (int, float)) and not isinstance(m, bool), got["stats"]
    assert 0 <= m < 1
    # the list and the search carry the same live stats
    listed = w.api.list_all("/v1/consultants", w.gp["token"], params={"region": w.region})
    assert next(i for i in listed if i["id"] == cs["id"])["stats"] == got["stats"]
    found = w.api.list_all("/v1/consultants", w.gp["token"], params={"q": cs["user"]["name"]})
    assert next(i for i in found if i["id"] == cs["id"])["stats"] == got["stats"]
    # the lists write the stats as text (sql/0002_directory.sql): exactly what jsonb prints, as before
    with db.cursor() as cur:
        cur.execute("SELECT s.stats, s.stats::jsonb::text, consultant_stats(%s, now())::text"
                    " FROM consultant_stats_of(%s, now()) s", (cs["id"], cs["id"]))
        text, canonical, scalar = cur.fetchone()
    assert text == canonical == scalar, (text, canonical, scalar)
    assert json.loads(text) == got["stats"]


# ---- GET /v1/consultants: filters ----

@pytest.fixture(scope="module")
def pop(d):
    """A small directory in two regions of its own."""
    r1, r2 = region(), region()
    c = {}
    c["anna"] = d.consultant(name=f"Anna {word()}", body=profile(
        [r1], discipline="psychiater", expertise=["angst", "depressie"], target_groups=["volwassenen"],
        modes=["video", "phone"], languages=["nl", "en"], accepting=True,
        bio="Psychiater, consultatie bij stemmingsklachten en paniekaanvallen."))
    c["bram"] = d.consultant(name=f"Bram {word()}", body=profile(
        [r1, r2], discipline="gz_psycholoog", expertise=["autisme", "adhd"], target_groups=["jeugd"],
        modes=["digital"], languages=["nl"], accepting=True,
        bio="Diagnostiek van ontwikkelingsstoornissen bij kinderen."))
    c["carla"] = d.consultant(name=f"Carla {word()}", body=profile(
        [r1], discipline="verslavingsarts", expertise=["verslaving", "medicatie"],
        target_groups=["volwassenen", "epa"], modes=["on_location", "phone"], languages=["nl", "de"],
        accepting=False, bio="Werkt in een FACT-team in de wijk."))
    c["daan"] = d.consultant(name=f"Daan {word()}", body=profile(
        [r2], discipline="klinisch_psycholoog", expertise=["trauma", "angst"], target_groups=["ouderen"],
        modes=["video"], languages=["en"], accepting=False, bio="EMDR en imaginaire exposure."))
    return {"r1": r1, "r2": r2, "c": c}


def _ids(pop, *names):
    return {pop["c"][n]["id"] for n in names}


def test_list_item_shape(d, pop, mhp):
    items = d.list(region=pop["r1"])
    assert len(items) == 3
    for it in items:
        assert_consultant(it, org=mhp)
        assert it["stats"] == {"answered_90d": 0, "median_response_hours": None}
        # the list item is the same object as GET /v1/consultants/{id}
        assert it == assert_json(d.get(it["id"]))


@pytest.mark.parametrize("params,expected", [
    ({}, ["anna", "bram", "carla"]),
    ({"expertise": "angst"}, ["anna"]),
    ({"expertise": "autisme"}, ["bram"]),
    ({"expertise": "psychose"}, []),
    ({"target_group": "volwassenen"}, ["anna", "carla"]),
    ({"target_group": "epa"}, ["carla"]),
    ({"target_group": "ouderen"}, []),
    ({"mode": "phone"}, ["anna", "carla"]),
    ({"mode": "digital"}, ["bram"]),
    ({"mode": "video"}, ["anna"]),
    ({"language": "nl"}, ["anna", "bram", "carla"]),
    ({"language": "en"}, ["anna"]),
    ({"language": "de"}, ["carla"]),
    ({"language": "fr"}, []),
    ({"accepting": "true"}, ["anna", "bram"]),
    ({"accepting": "false"}, ["carla"]),
    # AND
    ({"mode": "phone", "accepting": "true"}, ["anna"]),
    ({"mode": "phone", "accepting": "false"}, ["carla"]),
    ({"target_group": "volwassenen", "language": "de"}, ["carla"]),
    ({"expertise": "angst", "accepting": "false"}, []),
    ({"expertise": "angst", "mode": "phone", "language": "en", "target_group": "volwassenen",
      "accepting": "true"}, ["anna"]),
    ({"expertise": "angst", "mode": "digital"}, []),
])
def test_filters_region1(d, pop, params, expected):
    got = d.ids(region=pop["r1"], **params)
    assert len(got) == len(set(got))
    assert set(got) == _ids(pop, *expected), (params, got)


@pytest.mark.parametrize("params,expected", [
    ({}, ["bram", "daan"]),
    ({"expertise": "angst"}, ["daan"]),
    ({"accepting": "false"}, ["daan"]),
    ({"language": "nl"}, ["bram"]),
    ({"target_group": "ouderen", "mode": "video"}, ["daan"]),
])
def test_filters_region2(d, pop, params, expected):
    assert set(d.ids(region=pop["r2"], **params)) == _ids(pop, *expected), params


def test_region_filter_matches_any_of_regions(d, pop):
    # bram has both regions, so he is in both lists
    assert pop["c"]["bram"]["id"] in d.ids(region=pop["r1"])
    assert pop["c"]["bram"]["id"] in d.ids(region=pop["r2"])
    assert d.ids(region=region()) == []


def test_filters_any_role(d, pop, others):
    for role in NON_ADMIN_OTHER:
        assert set(d.ids(token=others[role]["token"], region=pop["r1"], accepting="true")) == \
            _ids(pop, "anna", "bram")


@pytest.mark.parametrize("params,field", [
    ({"expertise": "bogus"}, "expertise"),
    ({"expertise": "Angst"}, "expertise"),
    ({"target_group": "kinderen"}, "target_group"),
    ({"mode": "fax"}, "mode"),
    ({"language": "nld"}, "language"),
    ({"language": "n"}, "language"),
    ({"language": "zz"}, "language"),  # shaped like a code, after the list's last one
    ({"region": "Utrecht"}, "region"),
    ({"region": "a"}, "region"),
    ({"region": "r" * 65}, "region"),
    ({"accepting": "maybe"}, "accepting"),
    ({"accepting": "yes"}, "accepting"),
    ({"accepting": ""}, "accepting"),
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "two"}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": "!!!"}, "cursor"),
    ({"cursor": "eyJmb28iOiJiYXIifQ"}, "cursor"),  # base64 of {"foo":"bar"}
    ({"q": "a" * 201}, "q"),
    ({"q": "ë" * 201}, "q"),
    ({"q": ""}, "q"),
    ({"sort": "name"}, "sort"),
    ({"discipline_code": "psychiater"}, "discipline_code"),
])
def test_list_bad_query_400(d, params, field):
    p = {"region": region()}
    p.update(params)
    b = assert_problem(d.query(**p), 400, "/problems/bad-query")
    assert field in error_fields(b), b


def test_list_q_200_chars_ok(d):
    assert_json(d.query(region=region(), q="a" * 200))
    assert_json(d.query(region=region(), q="ë" * 200))  # characters, not bytes


def test_list_401(d):
    assert_problem(d.api.get("/v1/consultants"), 401, "/problems/unauthorized")
    assert_problem(d.api.get("/v1/consultants", params={"q": "angst"}), 401, "/problems/unauthorized")
    assert_problem(d.api.get("/v1/consultants", token="ovl_" + "B" * 43), 401, "/problems/unauthorized")


def test_list_follows_renames(api, d, db):
    """List items come from a prepared card per consultant (sql/0002_directory.sql): a renamed consultant or
    organisation shows at once, in the list as in GET, and the search finds the new name."""
    reg = region()
    old, new = word(), word()
    c = d.consultant(name=f"Jorien {old}", body=profile([reg]))
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"name": f"Jorien {new}"}))
    [item] = d.list(region=reg)
    assert item["name"] == f"Jorien {new}"
    assert item == assert_json(d.get(c["id"]))
    # (the old name, now matching no one as typed, may be corrected to another made-up name)
    assert d.ids(q=new) == [c["id"]] and c["id"] not in d.ids(q=old)
    # Organisations have no rename endpoint yet; the database keeps cards right all the same.
    org = d.factory.make_org("mental_health_provider", region=reg, name=f"GGZ {old}")
    mover = d.factory.make_user("consultant", org_id=org["id"], name=f"Kees {word()}")
    assert_json(d.put(mover["id"], profile([reg])))
    with db.cursor() as cur:
        cur.execute("UPDATE organisations SET name = %s WHERE id = %s", (f"GGZ {new}", org["id"]))
    got = {i["id"]: i for i in d.list(region=reg)}
    assert got[mover["id"]]["organisation"] == {"id": org["id"], "name": f"GGZ {new}"}
    assert got[mover["id"]] == assert_json(d.get(mover["id"]))
    assert got[c["id"]]["organisation"]["id"] == d.mhp["id"]
    # a search finds consultants by their organisation's name, the new one, below a consultant
    # of that name (docs/search.md)
    assert d.ids(q=new, region=reg) == [c["id"], mover["id"]]
    assert mover["id"] not in d.ids(q=old, region=reg)


# ---- GET /v1/consultants: ordering and paging without q ----

@pytest.fixture(scope="module")
def ordered(d):
    reg = region()
    spec = [("Anton Abels", False), ("Bert Bos", True), ("Cor Claes", False), ("Dirk Dekker", False),
            ("Egbert Eelens", True), ("Egbert Eelens", True), ("Frits Fokkema", True)]
    cs = [d.consultant(name=n, body=profile([reg], accepting=acc, bio=f"Consulent {n}.")) for n, acc in spec]
    rows = [(not c["profile"]["accepting"], c["profile"]["name"], c["id"]) for c in cs]
    expected = [r[2] for r in sorted(rows)]
    return {"region": reg, "expected": expected, "consultants": cs}


def test_order_without_q(d, ordered):
    items = d.list(region=ordered["region"])
    assert [i["id"] for i in items] == ordered["expected"], [(i["accepting"], i["name"], i["id"]) for i in items]
    assert [i["accepting"] for i in items] == [True] * 4 + [False] * 3


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_pagination_without_q(d, ordered, limit):
    pages, cursor = [], None
    for _ in range(20):
        params = {"region": ordered["region"], "limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = assert_json(d.query(**params))
        assert set(body) == {"items", "next_cursor"}
        pages.append([i["id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    n = len(ordered["expected"])
    sizes = [limit] * (n // limit) + ([n % limit] if n % limit else [])
    assert [len(p) for p in pages] == sizes, pages
    flat = [i for p in pages for i in p]
    assert flat == ordered["expected"]  # no repeats, no skips, same order as one page


def test_cursor_stays_in_its_filter(d, ordered):
    first = assert_json(d.query(region=ordered["region"], limit=2))
    assert first["next_cursor"]
    # same filters, following page
    second = assert_json(d.query(region=ordered["region"], limit=2, cursor=first["next_cursor"]))
    assert [i["id"] for i in second["items"]] == ordered["expected"][2:4]


def test_default_limit_20(d):
    reg = region()
    for i in range(21):
        d.consultant(name=f"Veel Consulent {i:02d}", body=minimal_profile([reg]))
    body = assert_json(d.query(region=reg))
    assert len(body["items"]) == 20 and body["next_cursor"] is not None
    rest = assert_json(d.query(region=reg, cursor=body["next_cursor"]))
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_region_pages_follow_edits(api, d, db):
    """Filter-only pages with a region read directory_regions (sql/0002_directory.sql): it must follow every edit
    of the columns it copies, rename and deactivation, and hold exactly the active profiles."""
    reg1, reg2 = region(), region()
    c = d.consultant(name=f"Olaf {word()}", login=True, body=profile([reg1], accepting=True))
    other = d.consultant(name=f"Aart {word()}", body=profile([reg1, reg2], accepting=False))
    assert d.ids(region=reg1) == [c["id"], other["id"]]  # accepting first
    assert_json(d.put(c["id"], profile([reg2], accepting=False, expertise=["adhd"])))
    assert d.ids(region=reg1) == [other["id"]]
    assert d.ids(region=reg2, expertise="adhd") == [c["id"]]
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"name": "Aaron Eerst"}))
    assert d.ids(region=reg2) == [c["id"], other["id"]]  # both not accepting: by name
    assert d.ids(region=reg2, accepting="false", mode="video") == [c["id"], other["id"]]
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"active": False}))
    assert d.ids(region=reg2) == [other["id"]]
    with db.cursor() as cur:
        cur.execute("""
            SELECT count(*) FROM (
              (SELECT DISTINCT r, p.user_id, p.name, p.accepting, p.expertise, p.target_groups, p.modes,
                      p.languages FROM consultant_profiles p, unnest(p.regions) r WHERE p.active
               EXCEPT SELECT * FROM directory_regions)
              UNION ALL
              (SELECT * FROM directory_regions
               EXCEPT SELECT DISTINCT r, p.user_id, p.name, p.accepting, p.expertise, p.target_groups,
                      p.modes, p.languages FROM consultant_profiles p, unnest(p.regions) r WHERE p.active)) x""")
        assert cur.fetchone()[0] == 0


def test_region_pages_match_the_profiles(d, db):
    """The same pages, in the same order, as the profiles themselves give (every filter, cursors)."""
    reg = region()
    for i in range(7):
        d.consultant(name=f"{'ABCDEFG'[i]}nne {word()}", body=profile(
            [reg, region()], accepting=i % 3 != 0, modes=["video"] if i % 2 else ["phone"],
            expertise=["angst"] if i < 4 else ["trauma"]))
    for params in ({"region": reg}, {"region": reg, "mode": "video"}, {"region": reg, "expertise": "angst"},
                   {"region": reg, "accepting": "false"}, {"region": reg, "language": "en", "target_group": "volwassenen"}):
        want = [r for r in d.list(region=reg)]
        got = d.list(**params)
        expect = [x for x in want
                  if all(x[k] == (v == "true") if k == "accepting" else
                         v in x["modes" if k == "mode" else "languages" if k == "language" else
                                "target_groups" if k == "target_group" else k]
                         for k, v in params.items() if k != "region")]
        assert [x["id"] for x in got] == [x["id"] for x in expect], params
        assert d.api.list_all("/v1/consultants", d.admin, params=params, limit=2) == got
    # accepting first, then by name
    names = [(not x["accepting"], x["name"]) for x in d.list(region=reg)]
    assert names == sorted(names)


def test_browse_with_a_filter_few_pass(d, db):
    """A filter-only page without a region walks past at most `walk` consultants (sql/0002_directory.sql), then
    plans the rest of the page for the filters' values, from where the walk stopped: the same
    pages either way, cursors included, and the same as the profiles themselves give."""
    reg = region()
    for i in range(7):
        d.consultant(name=f"{'ABCDEFG'[i]}ouke {word()}", body=profile(
            [reg], languages=["nl", "fy"], accepting=i % 3 != 0,
            modes=["video"] if i % 2 else ["phone"], expertise=["angst"] if i < 4 else ["trauma"]))

    def pages(walk, **f):
        out, after = [], (None, None, None)
        with db.cursor() as cur:
            cur.execute("SET overleg.directory_walk = %s", (str(walk),))
            for _ in range(50):
                cur.execute("SELECT user_id::text, flag, name FROM directory_browse_page(now(), %s, NULL,"
                            " %s, %s, %s, %s, %s, %s, 2)",
                            (f.get("expertise"), f.get("mode"), f["language"], f.get("accepting")) + after)
                rows = cur.fetchall()
                out += [r[0] for r in rows]
                if len(rows) < 2:
                    break
                after = (rows[-1][1], rows[-1][2], rows[-1][0])
            cur.execute("RESET overleg.directory_walk")
        return out

    def profiles(**f):
        with db.cursor() as cur:
            cur.execute("SELECT user_id::text FROM consultant_profiles WHERE active AND %s = ANY (languages)"
                        " AND (%s::text IS NULL OR %s = ANY (modes)) AND (%s::text IS NULL OR %s = ANY (expertise))"
                        " AND (%s::boolean IS NULL OR accepting = %s) ORDER BY NOT accepting, name, user_id",
                        (f["language"], f.get("mode"), f.get("mode"), f.get("expertise"), f.get("expertise"),
                         f.get("accepting"), f.get("accepting")))
            return [r[0] for r in cur.fetchall()]

    for f in ({"language": "fy"}, {"language": "fy", "mode": "video"}, {"language": "fy", "accepting": False},
              {"language": "fy", "expertise": "trauma", "mode": "phone"}):
        want = profiles(**f)
        assert want, f
        assert pages(2000, **f) == pages(1, **f) == pages(3, **f) == want, f
        params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in f.items()}
        assert d.ids(**params) == want, f
        assert d.api.list_all("/v1/consultants", d.admin, params=params, limit=2) == d.list(**params)


# ---- GET /v1/consultants: free-text search (q) ----

def _names(items):
    return [i["name"] for i in items]


def test_search_stemming(d):
    reg = region()
    in_bio = d.consultant(name=f"Sanne {word()}", body=profile(
        [reg], expertise=["depressie"], target_groups=["volwassenen"],
        bio="Ruime ervaring met verslaving en dubbele diagnose in de ambulante zorg."))
    in_expertise = d.consultant(name=f"Sjoerd {word()}", body=profile(
        [reg], discipline="psychiater", expertise=["verslaving"], target_groups=["volwassenen"],
        bio="Behandeling van problematisch middelengebruik bij volwassenen."))
    d.consultant(name=f"Sietske {word()}", body=profile(
        [reg], expertise=["angst"], target_groups=["volwassenen"], bio="Paniek en sociale fobie bij studenten."))
    got = d.ids(region=reg, q="verslavingen")
    assert set(got) == {in_bio["id"], in_expertise["id"]}, got
    got = d.ids(region=reg, q="verslaving")
    assert set(got) == {in_bio["id"], in_expertise["id"]}, got


def test_search_accent_insensitive(d):
    reg = region()
    accented = d.consultant(name=f"Annelies {word()}", body=profile(
        [reg], expertise=["depressie"], bio="Ik begeleid cliënten met een depressie en hun naasten."))
    plain = d.consultant(name=f"Gert {word()}", body=profile(
        [reg], expertise=["angst"], bio="Veel clienten komen via de huisarts of de POH-GGZ."))
    d.consultant(name=f"Hanneke {word()}", body=profile(
        [reg], expertise=["psychose"], bio="Kortdurende behandeling bij paniek en somberheid."))
    want = {accented["id"], plain["id"]}
    assert set(d.ids(region=reg, q="clienten")) == want
    assert set(d.ids(region=reg, q="cliënten")) == want
    assert set(d.ids(region=reg, q="CLIËNTEN")) == want


def test_search_accent_in_name(d):
    reg = region()
    surname = word()
    c = d.consultant(name=f"Zoë {surname}", body=profile([reg]))
    d.consultant(name=f"Pieter {word()}", body=profile([reg]))
    assert d.ids(region=reg, q=f"zoe {surname}") == [c["id"]]
    assert d.ids(region=reg, q=f"Zoë {surname.lower()}") == [c["id"]]


def test_search_typo_tolerant(d):
    reg = region()
    in_expertise = d.consultant(name=f"Ilse {word()}", body=profile(
        [reg], expertise=["autisme"], target_groups=["volwassenen"], bio="Werkt met gezinnen in de regio."))
    in_bio = d.consultant(name=f"Joost {word()}", body=profile(
        [reg], expertise=["angst"], target_groups=["volwassenen"],
        bio="Jarenlange ervaring met autisme op de werkvloer."))
    d.consultant(name=f"Karin {word()}", body=profile(
        [reg], expertise=["depressie"], target_groups=["volwassenen"], bio="Somberheid en rouw."))
    assert set(d.ids(region=reg, q="autsime")) == {in_expertise["id"], in_bio["id"]}
    assert set(d.ids(region=reg, q="autisme")) == {in_expertise["id"], in_bio["id"]}


def test_search_by_name(d):
    reg = region()
    s1, s2 = word(), word()
    fenna = d.consultant(name=f"Fenna {s1}", body=profile([reg], bio="Psychiater in de regio."))
    gijs = d.consultant(name=f"Gijs {s2}", body=profile([reg], bio="Psychiater in de regio."))
    assert d.ids(region=reg, q=s1) == [fenna["id"]]
    assert d.ids(region=reg, q=s1.lower()) == [fenna["id"]]
    assert d.ids(region=reg, q=f"Fenna {s1}") == [fenna["id"]]
    assert d.ids(region=reg, q=s2) == [gijs["id"]]
    # name search works without a region filter, too (any active consultant)
    assert d.ids(q=s1) == [fenna["id"]]


def test_search_multi_word_and(d):
    reg = region()
    both = d.consultant(name=f"Lotte {word()}", body=profile(
        [reg], discipline="gz_psycholoog", expertise=["autisme"], target_groups=["jeugd"],
        bio="Gespecialiseerd in ontwikkelingsproblematiek bij kinderen."))
    only_autisme = d.consultant(name=f"Maarten {word()}", body=profile(
        [reg], discipline="gz_psycholoog", expertise=["autisme"], target_groups=["volwassenen"],
        bio="Diagnostiek en behandeling bij volwassenen."))
    only_jeugd = d.consultant(name=f"Nina {word()}", body=profile(
        [reg], discipline="gz_psycholoog", expertise=["angst"], target_groups=["jeugd"],
        bio="Behandeling van angst bij kinderen en jongeren."))
    assert d.ids(region=reg, q="autisme jeugd") == [both["id"]]
    assert d.ids(region=reg, q="jeugd autisme") == [both["id"]]
    assert set(d.ids(region=reg, q="autisme")) == {both["id"], only_autisme["id"]}
    assert set(d.ids(region=reg, q="jeugd")) == {both["id"], only_jeugd["id"]}
    assert d.ids(region=reg, q=f"autisme {word()}") == []


def test_search_combines_with_filters(d):
    reg = region()
    yes = d.consultant(name=f"Olga {word()}", body=profile(
        [reg], expertise=["eetstoornis"], accepting=True, bio="Anorexia en boulimia bij jongvolwassenen."))
    no = d.consultant(name=f"Paul {word()}", body=profile(
        [reg], expertise=["eetstoornis"], accepting=False, bio="Anorexia in de kliniek."))
    assert set(d.ids(region=reg, q="anorexia")) == {yes["id"], no["id"]}
    assert d.ids(region=reg, q="anorexia", accepting="true") == [yes["id"]]
    assert d.ids(region=reg, q="anorexia", accepting="false") == [no["id"]]
    assert d.ids(region=reg, q="anorexia", expertise="angst") == []
    assert d.ids(region=region(), q="anorexia") == []


def test_search_relevance_order(d):
    reg = region()
    once = d.consultant(name=f"Rik {word()}", body=profile(
        [reg], discipline="psychiater", expertise=["angst", "depressie"], target_groups=["volwassenen"],
        bio="Algemeen psychiater met brede ervaring in de volwassenenzorg: stemmingsklachten, angstklachten, "
            "zorgen over medicatie bij ouderen en bij zwangerschap, slaapproblemen en somatische "
            "onvoldoende verklaarde klachten. Ook na een trauma kunt u mij consulteren. Ik werk nauw samen met "
            "de huisartsen en de POH-GGZ in de regio en bel meestal binnen twee werkdagen terug."))
    many = d.consultant(name=f"Romy {word()}", body=profile(
        [reg], discipline="klinisch_psycholoog", expertise=["trauma"], target_groups=["volwassenen"],
        bio="Trauma is mijn vak: behandeling van trauma met EMDR, ook bij complex trauma."))
    d.consultant(name=f"Ruud {word()}", body=profile(
        [reg], expertise=["adhd"], target_groups=["volwassenen"], bio="Diagnostiek van ADHD bij volwassenen."))
    got = d.ids(region=reg, q="trauma")
    assert set(got) == {once["id"], many["id"]}, got
    assert got.index(many["id"]) < got.index(once["id"]), got


def test_search_pagination(d):
    reg = region()
    bios = ["Behandeling van angst bij volwassenen.",
            "Angst, paniek en dwang: consultatie binnen twee dagen.",
            "Ervaring met angst bij ouderen in het verpleeghuis.",
            "Sociale angst bij studenten; ook online.",
            "Generalised angst en piekeren."]
    want = {d.consultant(name=f"Angstig {word()}", body=profile([reg], expertise=["depressie"], bio=b))["id"]
            for b in bios}
    d.consultant(name=f"Saskia {word()}", body=profile([reg], expertise=["psychose"], bio="Vroege psychose."))
    one_page = d.ids(region=reg, q="angst")
    assert set(one_page) == want and len(one_page) == len(want)
    pages, cursor = [], None
    for _ in range(20):
        params = {"region": reg, "q": "angst", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        body = assert_json(d.query(**params))
        pages.append([i["id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    flat = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [1] * len(want), pages
    assert flat == one_page  # all matches once, in relevance order
    # two per page, too
    assert d.api.list_all("/v1/consultants", d.admin, params={"region": reg, "q": "angst"}, limit=2) == \
        d.list(region=reg, q="angst")


def test_cursor_with_and_without_q_do_not_mix(d, ordered):
    reg = ordered["region"]
    with_q = assert_json(d.query(region=reg, q="consulent", limit=1))
    assert with_q["next_cursor"], with_q
    assert_problem(d.query(region=reg, cursor=with_q["next_cursor"], limit=1), 400, "/problems/bad-query")
    without_q = assert_json(d.query(region=reg, limit=1))
    assert without_q["next_cursor"]
    assert_problem(d.query(region=reg, q="consulent", cursor=without_q["next_cursor"], limit=1), 400,
                   "/problems/bad-query")


def _cursor(*keys):
    import base64
    raw = json.dumps(list(keys), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("q,keys", [
    ("angst", ["abc", str(uuid.uuid4())]),             # rank not a number
    ("angst", ["1e39", str(uuid.uuid4())]),            # beyond a real
    ("angst", ["1e-50", str(uuid.uuid4())]),           # below a real
    ("angst", ["nan", str(uuid.uuid4())]),
    ("angst", ["0x1p3", str(uuid.uuid4())]),
    ("angst", ["0.5", "not-a-uuid"]),
    ("depressie jeugd", ["Infinity", str(uuid.uuid4())]),
    (None, ["maybe", "Anna", str(uuid.uuid4())]),      # the accepting key is a boolean
    (None, ["true", "Anna", "not-a-uuid"]),
])
def test_forged_cursor_400(d, q, keys):
    """Cursors are plain base64 JSON: a well-formed one with keys of the wrong kind is a bad
    cursor (400), never a failed cast in SQL (500)."""
    params = {"region": region(), "cursor": _cursor(*keys)}
    if q:
        params["q"] = q
    b = assert_problem(d.query(**params), 400, "/problems/bad-query")
    assert "cursor" in error_fields(b), b


def test_forged_cursor_in_range_is_a_position(d):
    """A cursor the server did not make but whose keys are valid just says where to go on."""
    reg = region()
    d.consultant(name=f"Zeger {word()}", body=profile([reg], bio="Angst bij volwassenen."))
    got = assert_json(d.query(region=reg, q="angst", cursor=_cursor("1000", str(uuid.UUID(int=0)))))
    assert len(got["items"]) == 1
    got = assert_json(d.query(region=reg, q="angst", cursor=_cursor("0", str(uuid.UUID(int=0)))))
    assert got["items"] == []


def test_single_word_index_follows_edits(d, db):
    """Searches read directory_terms (sql/0002_directory.sql), not the profiles: it must follow every
    edit, hold the active profiles only, and rank exactly as ts_rank() over the profile does."""
    reg = region()
    w1, w2 = word(), word()
    c = d.consultant(name=f"Ilse {word()}", body=profile([reg], bio=f"Ervaring met {w1} en {w1}."))
    assert d.ids(q=w1) == [c["id"]] and d.ids(q=w2) == []
    assert_json(d.put(c["id"], profile([reg], bio=f"Nu alleen {w2}.")))
    assert d.ids(q=w1) == [] and d.ids(q=w2) == [c["id"]]
    with db.cursor() as cur:
        # every searchable lexeme of every profile, with ts_rank()'s rank, and nothing else
        cur.execute("""
            SELECT count(*) FROM (
              (SELECT p.user_id, u.lexeme, ts_rank(p.search_doc, quote_literal(u.lexeme)::tsquery)
                 FROM consultant_profiles p, unnest(p.search_doc) u WHERE u.lexeme ~ '^[a-z0-9_]+$' AND p.active
               EXCEPT SELECT user_id, lexeme, rank FROM directory_terms)
              UNION ALL
              (SELECT user_id, lexeme, rank FROM directory_terms
               EXCEPT SELECT p.user_id, u.lexeme, ts_rank(p.search_doc, quote_literal(u.lexeme)::tsquery)
                 FROM consultant_profiles p, unnest(p.search_doc) u WHERE u.lexeme ~ '^[a-z0-9_]+$' AND p.active)) x""")
        assert cur.fetchone()[0] == 0


def test_single_word_ranks_and_pages(d):
    """The prepared one-word path (sql/0002_directory.sql) ranks by ts_rank() (more mentions first) and pages
    on (rank, id) without repeats or gaps; a repeated word is still one word."""
    reg = region()
    w = word()
    ids = [d.consultant(name=f"Wim {word()}", body=profile([reg], bio=f"{w}. " * n))["id"] for n in (1, 3, 2)]
    one = d.ids(region=reg, q=w)
    assert one == [ids[1], ids[2], ids[0]], one
    assert d.ids(region=reg, q=f"{w} {w}") == one
    assert d.api.list_all("/v1/consultants", d.admin, params={"region": reg, "q": w}, limit=1) == \
        d.list(region=reg, q=w)


@pytest.mark.parametrize("q", [
    "\x00", "a\x00b", "'; DROP TABLE users; --", "&|!():*<>", "\\", "🙂", "!!!", "a", "   ", "ë", "%", "_",
    "autisme & jeugd", "autisme | jeugd", "!autisme", "'", '"', ":*", "a:*", "<->", "(", ")", "NOT", "or",
    "de het een", "%%%%", "\u200b", "\ufeff", "\t", "a" * 200, "ß", "İ", "\u0301", "x\u0301", "中文",
    "autisme\njeugd", "' OR 1=1 --", "$$", "E'\\\\'", "~~", "**", "-", "--", "autisme -jeugd",
])
def test_search_odd_input_never_5xx(d, server, q):
    r = d.query(region=region(), q=q)
    assert r.status_code in (200, 400), f"q={q!r}: {r.status_code} {r.text[:300]}"
    if r.status_code == 200:
        body = assert_json(r)
        assert body["items"] == [] and body["next_cursor"] is None
    else:
        assert_problem(r, 400, "/problems/bad-query")
    # also without a region filter
    r = d.query(q=q, limit=5)
    assert r.status_code in (200, 400), f"q={q!r}: {r.status_code} {r.text[:300]}"
    assert server.alive()


def test_search_percent_encoded_nul(d, server):
    r = d.api.get(f"/v1/consultants?q=%00&region={region()}", token=d.admin)
    assert r.status_code in (200, 400), r.text[:300]
    r = d.api.get("/v1/consultants?q=abc%00def", token=d.admin)
    assert r.status_code in (200, 400), r.text[:300]
    r = d.api.get("/v1/consultants?q=%FF%FE", token=d.admin)  # invalid UTF-8
    assert r.status_code in (200, 400), r.text[:300]
    assert server.alive()


def test_search_stop_words_do_not_crash(d):
    reg = region()
    c = d.consultant(name=f"Tess {word()}", body=profile([reg], bio="Consultatie bij de huisarts."))
    r = d.query(region=reg, q="de")
    assert r.status_code in (200, 400), r.text
    # a stop word next to a real word does not turn the query into "match nothing"
    got = d.ids(region=reg, q="de huisarts")
    assert got == [c["id"]], got


@pytest.mark.parametrize("stop", ["niet", "voor", "maar", "zijn"])
def test_search_long_stop_words_are_ignored_not_corrected(d, stop):
    """A stop word of four letters or more is dropped like a short one, never typo-corrected into
    some other directory word (which would then have to match)."""
    reg = region()
    c = d.consultant(name=f"Tess {word()}", body=profile([reg], bio="Consultatie over angst, ook voor de huisarts."))
    assert d.ids(region=reg, q=stop) == []
    assert d.ids(region=reg, q=f"angst {stop}") == [c["id"]]


def expected_order(db, ids, words):
    """The relevance API.md/openapi describe: the sum over the words of ts_rank() of each word alone,
    in double precision, as a real; then the id."""
    with db.cursor() as cur:
        cur.execute("""
            SELECT p.user_id::text FROM consultant_profiles p
             WHERE p.user_id = ANY(%s::uuid[])
             ORDER BY (SELECT sum(ts_rank(p.search_doc, plainto_tsquery('overleg_nl', w))::float8)
                         FROM unnest(%s::text[]) w)::real DESC, p.user_id""", (ids, words))
        return [r[0] for r in cur.fetchall()]


def test_search_several_words_rank_by_sum_of_each(d, db):
    """Several words: every word must match; the order is the sum of each word's own rank (a name
    counts more than a bio, a repeated word more than a single one), then the id; the same with
    and without filters, and across pages."""
    reg, other = region(), region()
    w1, w2 = word(), word()
    names = {}
    for name, bio in [(f"Anna {word()}", f"{w1} en {w2}."),
                      (f"Bart {word()}", f"{w1}, {w1} en nog eens {w1}; ook {w2}."),
                      (f"Carla {w1}", f"Vooral {w2}."),
                      (f"Dirk {word()}", f"{w2} {w2} en {w1}."),
                      (f"Eva {word()}", f"Alleen {w1}."),
                      (f"Frank {word()}", f"Alleen {w2}.")]:
        names[name] = d.consultant(name=name, body=profile([reg], bio=bio))["id"]
    elsewhere = d.consultant(name=f"Gert {word()}", body=profile([other], accepting=False,
                                                                    bio=f"{w1} {w2}"))["id"]
    matching = [i for n, i in names.items() if not n.startswith(("Eva", "Frank"))] + [elsewhere]
    want = expected_order(db, matching, [w1, w2])
    assert d.ids(q=f"{w1} {w2}") == want
    assert d.ids(q=f"{w2} {w1} {w2}") == want  # order and repeats of the words do not matter
    assert d.ids(q=f"{w1} {w2}", region=reg) == [i for i in want if i != elsewhere]
    assert d.ids(q=f"{w1} {w2}", accepting="false") == [elsewhere]
    assert d.ids(q=f"{w1} {w2}", region=reg, accepting="false") == []
    assert want[0] == names[next(n for n in names if n.startswith("Carla"))]  # the name counts most
    for params in ({"q": f"{w1} {w2}"}, {"q": f"{w1} {w2}", "region": reg}):
        assert d.api.list_all("/v1/consultants", d.admin, params=params, limit=1) == d.list(**params)
        assert d.api.list_all("/v1/consultants", d.admin, params=params, limit=2) == d.list(**params)
    # Two words are paged band by band (directory_few_words); when `cap` postings of a band do not
    # fill a page it merges all postings instead: the same pages either way, cursors included.
    for r in (None, reg):
        pages = two_word_pages(db, f"{w1} {w2}", r, 1000)
        assert pages == two_word_pages(db, f"{w1} {w2}", r, 1), r
        assert [i for p in pages for i in p] == (want if r is None else [i for i in want if i != elsewhere])


def two_word_pages(db, q, region, cap, size=2):
    """directory_search's pages of `size` for q (two or three words) in region, its band cap set to
    `cap` postings (when that many postings of a tuple's smallest band do not fill the page,
    directory_few_words merges all postings instead of reading bands)."""
    out, after = [], (None, None)
    with db.cursor() as cur:
        cur.execute("SET overleg.directory_band_cap = %s", (str(cap),))
        for _ in range(50):
            cur.execute("SELECT user_id::text, rank FROM directory_search(now(), %s, NULL, NULL, NULL,"
                        " %s, NULL, NULL, NULL, %s, %s, %s)", (q, region) + after + (size,))
            rows = cur.fetchall()
            out.append([r[0] for r in rows])
            if len(rows) < size:
                break
            after = (rows[-1][1], rows[-1][0])
        cur.execute("RESET overleg.directory_band_cap")
    return out


def test_search_two_words_with_a_band_of_32_or_more(d, db):
    """directory_band_size counts a band of fewer than 32 postings and estimates a larger one from
    its 32 smallest ids (sql/0002_directory.sql), which is never below 32. The estimate only steers
    directory_few_words: its pages are those of the merge of all postings, whichever it takes."""
    reg = region()
    w1, w2 = word(), word()
    many = [d.consultant(name=f"Lot {word()}", body=profile([reg], bio=f"{w1} en {w2}."))["id"]
            for _ in range(34)]
    few = [d.consultant(name=f"Max {word()}", body=profile([reg], bio=f"{w1}, {w1} en {w2}."))["id"]
           for _ in range(3)]
    with db.cursor() as cur:
        cur.execute("SELECT (directory_lexemes(%s))[1]", (w1,))
        lexeme = cur.fetchone()[0]
        cur.execute("""SELECT directory_band_size(%s, b), (SELECT count(*) FROM directory_terms t
                                                           WHERE t.lexeme = %s AND t.rank = b)
                         FROM unnest(directory_bands(%s)) b ORDER BY 2""", (lexeme, lexeme, lexeme))
        bands = cur.fetchall()
    assert [n for _, n in bands] == [3, 34]
    assert bands[0][0] == 3  # counted
    assert 32 <= bands[1][0] <= 10**9  # estimated: 32 over the share of all ids below the 32nd
    want = expected_order(db, many + few, [w1, w2])
    q = f"{w1} {w2}"
    for size in (2, 21):
        merged = two_word_pages(db, q, reg, 1, size)
        assert [i for p in merged for i in p] == want, size
        for cap in (33, 1000):
            assert two_word_pages(db, q, reg, cap, size) == merged, (size, cap)
    assert d.ids(q=q) == want


def test_search_one_word_ranks_as_the_sum_of_one(d, db):
    reg = region()
    w = word()
    ids = [d.consultant(name=f"Hans {word()}", body=profile([reg], bio=f"{w}. " * n))["id"] for n in (2, 1, 3)]
    assert d.ids(q=w) == expected_order(db, ids, [w]) == [ids[2], ids[0], ids[1]]


def test_search_three_words_and_more(d, db):
    """Up to three words merge their postings, more use the text index (sql/0002_directory.sql): the same
    relevance, results and pages either way."""
    reg = region()
    ws = [word() for _ in range(10)]
    full = d.consultant(name=f"Ida {word()}", body=profile([reg], bio=" ".join(ws) + f" {ws[0]}"))["id"]
    also = d.consultant(name=f"Jan {ws[1]}", body=profile([reg], bio=" ".join(ws)))["id"]
    part = d.consultant(name=f"Kees {word()}", body=profile([reg], bio=" ".join(ws[:3]) + f" {ws[2]}"))["id"]
    for n, matching in ((10, [full, also]), (4, [full, also]), (3, [full, also, part])):
        want = expected_order(db, matching, ws[:n])
        assert d.ids(q=" ".join(ws[:n])) == want, n
        if n == 3:  # band by band (directory_few_words) or, with a cap of 1, all postings merged
            for cap in (1, 2, 1000):
                assert [i for p in two_word_pages(db, " ".join(ws[:n]), None, cap, 1) for i in p] == want, cap
        assert d.ids(q=" ".join(ws[:n]), region=reg, accepting="true") == want, n
        assert [i["id"] for i in d.api.list_all("/v1/consultants", d.admin, params={"q": " ".join(ws[:n])},
                                                limit=1)] == want, n


def test_search_typo_with_several_corrections(d, db):
    """A word that matches no one is replaced by its closest directory words, OR-ed (sql/0002_directory.sql); next
    to a correct word, in any order, and across pages."""
    reg = region()
    base = word(8).lower()
    near1, near2 = base + "a", base + "o"  # two directory words close to the typo below
    a = d.consultant(name=f"Lies {word()}", body=profile([reg], bio=f"Ervaring met {near1} en angst."))["id"]
    b = d.consultant(name=f"Mees {word()}", body=profile([reg], bio=f"Ervaring met {near2} en angst."))["id"]
    # (no anxiety expert: "angst" finds the expertise as well as the word, docs/search.md)
    d.consultant(name=f"Noor {word()}", body=profile([reg], expertise=["depressie"], bio=f"Ervaring met {near1}."))
    typo = base + "e"
    with db.cursor() as cur:  # the typo's part is an OR of corrections: the text-index path
        cur.execute("SELECT max(numnode(p)) FROM unnest(directory_query_corrected(%s)) p", (f"{typo} angst",))
        assert cur.fetchone()[0] > 1
        # a stem, or a set of corrections, counts once however often it comes
        cur.execute("SELECT cardinality(directory_query_corrected(%s)),"
                    " cardinality(directory_query_corrected(%s))", (f"{typo} angst angsten {typo}", f"{typo} angst"))
        assert cur.fetchone() == (2, 2)
        # relevance: the sum over the words of ts_rank() of each word's tsquery
        cur.execute("""SELECT p.user_id::text FROM consultant_profiles p WHERE p.user_id = ANY(%s::uuid[])
                        ORDER BY (SELECT sum(ts_rank(p.search_doc, w)::float8)
                                    FROM unnest(directory_query_corrected(%s)) w)::real DESC, p.user_id""",
                    ([a, b], f"{typo} angst"))
        want = [r[0] for r in cur.fetchall()]
    assert d.ids(q=f"{typo} angst", region=reg) == want
    assert d.ids(q=f"{typo} angst angsten {typo}", region=reg) == want
    assert set(d.ids(q=f"{typo} angst", region=reg)) == {a, b}
    assert set(d.ids(q=f"angst {typo}")) == {a, b}
    assert d.api.list_all("/v1/consultants", d.admin, params={"q": f"{typo} angst", "region": reg},
                          limit=1) == d.list(q=f"{typo} angst", region=reg)


def test_search_one_word_with_a_filter_few_pass(d, db):
    """A filtered one-word search looks up at most `walk` postings (sql/0002_directory.sql), then ranks the rest
    through the text index from where it stopped: the same pages either way."""
    reg = region()
    w = word()
    ids = [d.consultant(name=f"Pim {word()}", body=profile([reg], bio=f"{w}. " * (1 + i % 3),
                                                            accepting=i % 4 == 0))["id"] for i in range(9)]

    def pages(walk, **filters):
        out, after = [], (None, None)
        with db.cursor() as cur:
            cur.execute("SET overleg.directory_walk = %s", (str(walk),))
            for _ in range(20):
                cur.execute("SELECT user_id::text, rank FROM directory_search(now(), %s, NULL, NULL, NULL,"
                            " %s, NULL, NULL, %s, %s, %s, 2)",
                            (w, filters.get("region"), filters.get("accepting")) + after)
                rows = cur.fetchall()
                out += [r[0] for r in rows]
                if len(rows) < 2:
                    break
                after = (rows[-1][1], rows[-1][0])
            cur.execute("RESET overleg.directory_walk")
        return out
    for filters in ({"region": reg}, {"accepting": True}, {"region": reg, "accepting": False}):
        want = pages(2000, **filters)
        assert want == pages(1, **filters) == pages(3, **filters), filters
        assert set(want) == {i for k, i in enumerate(ids)
                             if filters.get("accepting") is None or (k % 4 == 0) == filters["accepting"]}
    assert d.ids(q=w, region=reg) == pages(2000, region=reg)


def test_search_typo_corrections_count_once(d, db):
    """Corrections are stems, in a fixed order (sql/0002_directory.sql): a typo whose corrections share one stem
    is that stem, once beside the word typed right; two typos with the same corrections are one."""
    reg = region()
    base = word(8).lower() + "l"  # a consonant before "en": base and base + "en" share a stem
    other = word(8).lower()
    c1 = d.consultant(name=f"Olga {word()}", body=profile([reg], bio=f"Werkt met {base}en en {base}."))["id"]
    c2 = d.consultant(name=f"Piet {word()}", body=profile([reg], bio=f"Ook {other}stal en {other}wei."))["id"]
    typo = base[:-1] + "k"  # its closest directory words: base and base + "en"
    with db.cursor() as cur:
        cur.execute("SELECT directory_query_corrected(%s)::text[]", (typo,))
        parts = cur.fetchone()[0]
        assert len(parts) == 1 and "|" not in parts[0], parts  # one stem: the one-word paths
        cur.execute("SELECT cardinality(directory_query_corrected(%s)), cardinality(directory_query_corrected(%s))",
                    (f"{base} {typo}", f"{other}stl {other}wi"))
        assert cur.fetchone() == (1, 1)  # the stem once; the same set of corrections once
    assert d.ids(q=typo, region=reg) == d.ids(q=base, region=reg) == [c1]
    assert d.ids(q=f"{other}stl {other}wi", region=reg) == d.ids(q=f"{other}wi", region=reg) == [c2]


def test_search_filters_on_postings_follow_edits(api, d, db):
    """A search tests its filters on the word's postings (directory_terms.keys, sql/0002_directory.sql): they must
    follow an edit of the filter columns alone (the text unchanged), deactivation, and a code no
    profile ever held; and hold exactly each active profile's codes."""
    reg1, reg2, w = region(), region(), word()
    c = d.consultant(name=f"Olaf {word()}", body=profile([reg1], bio=f"Ervaring met {w}.", accepting=True))
    other = d.consultant(name=f"Aart {word()}", body=profile([reg1, reg2], bio=f"Ook {w}.", accepting=False,
                                                             modes=["phone"], languages=["nl"]))
    both = d.ids(q=w)
    assert sorted(both) == sorted([c["id"], other["id"]])
    assert d.ids(q=w, region=reg1) == both and d.ids(q=w, region=reg2) == [other["id"]]
    assert d.ids(q=w, accepting="true") == [c["id"]] and d.ids(q=w, accepting="false") == [other["id"]]
    assert d.ids(q=f"{w} ervaring", region=reg1, language="en") == [c["id"]]  # two words, by bands
    # the same text, other regions, modes and accepting
    assert_json(d.put(c["id"], profile([reg2], bio=f"Ervaring met {w}.", accepting=False, modes=["video"])))
    assert d.ids(q=w, region=reg1) == [other["id"]]
    assert sorted(d.ids(q=w, region=reg2)) == sorted(both)
    assert d.ids(q=w, accepting="true") == []
    assert d.ids(q=w, mode="video") == [c["id"]] and d.ids(q=w, mode="phone") == [other["id"]]
    assert d.ids(q=f"{w} ervaring", region=reg1) == [] and d.ids(q=f"{w} ervaring", region=reg2) == [c["id"]]
    # a region no profile ever had, and a typo of the word with it: empty, not an error
    assert d.ids(q=w, region=region()) == []
    assert d.ids(q=w[:-1] + ("x" if w[-1] != "x" else "y"), region=region()) == []
    assert_json(api.patch(f"/v1/users/{c['id']}", token=d.admin, json={"active": False}))
    assert d.ids(q=w, region=reg2) == [other["id"]]
    with db.cursor() as cur:
        cur.execute("""
            SELECT count(*) FROM directory_terms t JOIN consultant_profiles p USING (user_id)
             WHERE NOT p.active
                OR t.keys IS DISTINCT FROM ARRAY(SELECT k.id FROM directory_keys k
                     WHERE k.key = ANY (directory_key_names(p.expertise, p.target_groups, p.regions,
                                                            p.modes, p.languages, p.accepting))
                     ORDER BY k.id)""")
        assert cur.fetchone()[0] == 0


# ---- Directory reads: the session checked inside the first statement (ROUTE_SESSION_IN_STMT) ----

def _directory_reads(victim):
    """Every route whose first statement checks the session, with a request that finds something."""
    return [("/v1/vocabularies", {}),
            ("/v1/consultants", {"region": victim["profile"]["regions"][0]}),
            ("/v1/consultants", {"q": victim["profile"]["name"].split()[-1], "region": victim["profile"]["regions"][0]}),
            ("/v1/consultants", {"q": "qqxxzzyy" + uid()}),  # finds no one
            (f"/v1/consultants/{victim['id']}", {})]


def _end_session(how, api, db, admin_token, u):
    if how == "logout":
        assert api.post("/v1/auth/logout", token=u["token"]).status_code == 204
    elif how == "deactivated":
        assert_json(api.patch(f"/v1/users/{u['id']}", token=admin_token, json={"active": False}))
    elif how == "expired":
        with db.cursor() as cur:
            cur.execute("UPDATE sessions SET expires_at = now() - interval '1 second'"
                        " WHERE token_hash = encode(sha256(convert_to(%s, 'UTF8')), 'hex')", (u["token"],))
            assert cur.rowcount == 1
        db.commit()


@pytest.mark.parametrize("how", ["logout", "deactivated", "expired"])
def test_directory_reads_end_with_the_session(d, db, factory, admin_token, victim, how):
    u = factory.make_user("gp")
    for path, params in _directory_reads(victim):
        assert_json(d.api.get(path, token=u["token"], params=params))
    _end_session(how, d.api, db, admin_token, u)
    for path, params in _directory_reads(victim):
        r = d.api.get(path, token=u["token"], params=params)
        assert_problem(r, 401, "/problems/unauthorized")
        assert r.headers.get("WWW-Authenticate") == "Bearer"


@pytest.mark.parametrize("path, params, status", [
    ("/v1/consultants", {"cursor": "garbage"}, 400),
    ("/v1/consultants", {"q": "a" * 201}, 400),
    ("/v1/consultants", {"language": "xx"}, 400),
    ("/v1/consultants", {"expertise": "no-such-code"}, 400),  # found out by a statement after the first
    ("/v1/consultants/not-a-uuid", {}, 404),
    (f"/v1/consultants/{uuid.uuid4()}", {}, 404),
])
def test_directory_bad_input_answers_only_the_signed_in(d, path, params, status):
    """What the handler finds wrong before its first statement reaches only a valid session: without
    one the answer is 401, as for every other route."""
    for token in (None, "ovl_" + "C" * 43):
        r = d.api.get(path, token=token, params=params)
        assert_problem(r, 401, "/problems/unauthorized")
        assert r.headers.get("WWW-Authenticate") == "Bearer"
    assert d.api.get(path, token=d.admin, params=params).status_code == status


@pytest.mark.parametrize("request_kind, statement", [
    ("vocabularies", "'disciplines', coalesce("),
    ("consultant", "consultant_stats_of(page.user_id"),
    ("browse", "directory_browse_page("),
    ("region", "directory_region_page("),
    ("search", "directory_search("),
])
def test_directory_session_checked_in_the_same_statement(d, db, main_db_name, victim, request_kind, statement):
    """overlegd sends the session check and each directory read's statement as one statement: the last
    query of the pooled connection that answered is the combined one (a silent fallback to a separate
    check would fail here)."""
    reg, name = victim["profile"]["regions"][0], victim["profile"]["name"].split()[-1]
    path, params = {"vocabularies": ("/v1/vocabularies", {}),
                    "consultant": (f"/v1/consultants/{victim['id']}", {}),
                    "browse": ("/v1/consultants", {"mode": victim["profile"]["modes"][0]}),
                    "region": ("/v1/consultants", {"region": reg}),
                    "search": ("/v1/consultants", {"q": name, "region": reg})}[request_kind]
    combined = ("SELECT st.*, a.* FROM (SELECT s.user_id, s.organisation_id, s.region, s.role"
                " FROM sessions s WHERE")
    seen = []
    for _ in range(5):  # another statement may have reused that connection since
        assert_json(d.api.get(path, token=d.admin, params=params))
        with db.cursor() as cur:
            cur.execute("SELECT query FROM pg_stat_activity WHERE datname = %s AND application_name = 'overlegd'",
                        (main_db_name,))
            seen = [q for (q,) in cur.fetchall()]
        db.commit()
        if any(q.startswith(combined) and statement in q for q in seen):
            return
    pytest.fail(f"no pooled connection last ran the combined statement: {seen}")
