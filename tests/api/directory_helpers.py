"""Shared set-up for the directory tests (API.md §6, §7): the vocabularies, profile bodies and Dir, a
client for /v1/consultants with its own mental health provider.
"""

import random
import uuid

from conftest import assert_json


CONSULTANT_FIELDS = {"id", "name", "discipline", "organisation", "expertise", "target_groups", "regions", "modes",
                     "languages", "accepting", "bio", "response_days", "stats"}


VOCAB = {
    "disciplines": ["psychiater", "gz_psycholoog", "klinisch_psycholoog", "psychotherapeut", "verslavingsarts", "spv"],
    "expertise": ["angst", "depressie", "psychose", "bipolair", "persoonlijkheid", "autisme", "adhd", "trauma",
                  "verslaving", "eetstoornis", "medicatie", "suicidaliteit"],
    "target_groups": ["jeugd", "volwassenen", "ouderen", "epa", "lvb"],
    "modes": ["digital", "phone", "video", "on_location"],
}


# conventions.md: extra codes beyond API.md, listed after the API.md ones
VOCAB_EXTRA = {
    "disciplines": ["kinder_jeugdpsychiater", "ouderenpsychiater"],
    "expertise": ["slaap", "rouw", "somatisch"],
    "target_groups": ["perinataal"],
    "modes": [],
}


ALL_EXPERTISE = VOCAB["expertise"] + VOCAB_EXTRA["expertise"]  # 15 codes


ALL_TARGET_GROUPS = VOCAB["target_groups"] + VOCAB_EXTRA["target_groups"]  # 6 codes


NON_ADMIN_OTHER = ["gp", "poh", "coordinator", "billing"]


BIO_PSYCHIATER = ("Psychiater met twintig jaar ervaring in de basis-GGZ en de specialistische GGZ. "
                  "Ik denk graag mee over diagnostiek, medicatie en de vraag of verwijzing nodig is.")


def region():
    return f"t-{uuid.uuid4().hex[:8]}"


def word(n=9):
    """A made-up, pronounceable word (unique surname); never trigram-similar to the Dutch words used here."""
    cons, vows = "bdfghklmnprstvwz", "aeiou"
    w = "".join(random.choice(cons) + random.choice(vows) for _ in range(n // 2 + 1))[:n]
    return "Q" + w  # starts with a letter no test word starts with


def profile(regions, **over):
    b = {"discipline": "psychiater", "expertise": ["angst", "depressie"], "target_groups": ["volwassenen"],
         "regions": list(regions), "modes": ["video", "phone"], "languages": ["nl", "en"], "accepting": True,
         "bio": BIO_PSYCHIATER, "response_days": 2}
    b.update(over)
    return b


def minimal_profile(regions, **over):
    b = {"discipline": "gz_psycholoog", "expertise": ["trauma"], "regions": list(regions), "modes": ["digital"],
         "accepting": False}
    b.update(over)
    return b


class Dir:
    """Helpers bound to the shared api / admin token / provider organisation."""

    def __init__(self, api, admin_token, factory, mhp):
        self.api, self.admin, self.factory, self.mhp = api, admin_token, factory, mhp

    def consultant(self, name=None, login=False, body=None, token=None):
        c = self.factory.make_user("consultant", org_id=self.mhp["id"], login=login,
                                   name=name or f"Consulent {word()}")
        if body is not None:
            r = self.put(c["id"], body, token=token or self.admin)
            c["profile"] = assert_json(r)
        return c

    def put(self, cid, body, token=None, **kw):
        return self.api.put(f"/v1/consultants/{cid}/profile", token=token or self.admin, json=body, **kw)

    def get(self, cid, token=None):
        return self.api.get(f"/v1/consultants/{cid}", token=token or self.admin)

    def list(self, token=None, **params):
        return self.api.list_all("/v1/consultants", token or self.admin, params=params)

    def ids(self, token=None, **params):
        return [c["id"] for c in self.list(token=token, **params)]

    def query(self, token=None, **params):
        return self.api.get("/v1/consultants", token=token or self.admin, params=params)


def has_profile(db, cid):
    """conventions: a consultant without a profile; the server keeps a row per consultant with discipline NULL."""
    row = profile_row(db, cid)
    return row is not None and row[1] is not None


def profile_row(db, cid):
    with db.cursor() as cur:
        cur.execute("SELECT * FROM consultant_profiles WHERE user_id = %s", (cid,))
        rows = cur.fetchall()
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def assert_consultant(c, cid=None, org=None):
    assert set(c) == CONSULTANT_FIELDS, sorted(c)
    uuid.UUID(c["id"])
    if cid is not None:
        assert c["id"] == cid
    assert set(c["organisation"]) == {"id", "name"}, c["organisation"]
    if org is not None:
        assert c["organisation"] == {"id": org["id"], "name": org["name"]}
    assert set(c["stats"]) == {"answered_90d", "median_response_hours"}, c["stats"]
    for k in ("expertise", "target_groups", "regions", "modes", "languages"):
        assert isinstance(c[k], list), (k, c[k])
        assert len(c[k]) == len(set(c[k])), (k, c[k])
    assert isinstance(c["accepting"], bool)
    assert isinstance(c["bio"], str)
    assert isinstance(c["response_days"], int) and not isinstance(c["response_days"], bool)


def assert_profile_matches(c, body):
    """The consultant object reflects the PUT body (lists compared as sets: order is not specified)."""
    assert c["discipline"] == body["discipline"]
    for k in ("expertise", "regions", "modes"):
        assert sorted(c[k]) == sorted(body[k]), (k, c[k], body[k])
    assert sorted(c["target_groups"]) == sorted(body.get("target_groups", []))
    assert sorted(c["languages"]) == sorted(body.get("languages", ["nl"]))
    assert c["accepting"] is body["accepting"]
    assert c["bio"] == body.get("bio", "")
    assert c["response_days"] == body.get("response_days", 3)
