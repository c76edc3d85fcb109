"""Shared set-up for the consultation tests (API.md §8, §10; conventions.md "Consultations").

A World is one region with two practices, GGZ consultants with profiles, coordinators and the
other roles. Every test module builds its own World in a region slug unique to it, so lists and
group questions never see another module's objects.
"""

import uuid
from datetime import date, datetime, timedelta, timezone

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, assert_json, assert_problem, error_fields, fmt_ts, sql_count, uid

CONSULTATION_KEYS = {"id", "status", "subject", "question", "patient", "requester", "organisation",
                     "consultant", "expertise", "mode", "urgency", "referral_contemplated",
                     "proposed_next_step", "submitted_at", "due_at", "accepted_at", "answered_at",
                     "closed_at", "answer", "outcome", "timeline", "version"}
COORDINATOR_KEYS = {"id", "status", "submitted_at", "due_at", "accepted_at", "answered_at", "closed_at",
                    "organisation", "consultant", "expertise", "mode", "urgency"}
NOTIFICATION_KEYS = {"id", "kind", "subject_type", "subject_id", "created_at", "read_at"}
HIDDEN = {"mode": "consented", "identity_hidden": True}

ANSWER = {"advice": "Begin met psycho-educatie en een angstdagboek; evalueer over zes weken.",
          "recommendation": "advice_only", "minutes_spent": 45}


def tag(n=10):
    """A random letters-only word: unlike uid() it never holds digits the anonymity guard could
    take for a BSN, phone number or date."""
    return "".join(chr(ord("a") + b % 26) for b in uuid.uuid4().bytes[:n])


def today_utc():
    return datetime.now(timezone.utc).date()


def years_before(d, n):
    try:
        return d.replace(year=d.year - n)
    except ValueError:  # 29 February
        return d.replace(year=d.year - n, day=28)


def consented_patient(name="Jan de Vries", birth_date="1980-05-17", bsn=None, given_on=None,
                      method="verbal", given_by="patient"):
    p = {"mode": "consented", "name": name, "birth_date": birth_date,
         "consent": {"given_on": given_on or today_utc().isoformat(), "method": method, "given_by": given_by}}
    if bsn is not None:
        p["bsn"] = bsn
    return p


def anonymous_patient(age=34, sex="f"):
    return {"mode": "anonymous", "age": age, "sex": sex}


def admin_login(api):
    return api.login(ADMIN_EMAIL, ADMIN_PASSWORD)


def set_clock(api, dt):
    """Sets the application clock with a fresh admin token (the session token may look expired
    once the clock has moved). The `clock` fixture must be requested too: it resets at teardown."""
    r = api.put("/v1/admin/clock", token=admin_login(api), json={"now": fmt_ts(dt)})
    assert r.status_code == 200, f"PUT /v1/admin/clock: {r.status_code} {r.text}"
    return r.json()


def utc(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=timezone.utc)


class World:
    def __init__(self, api, factory, admin_token, prefix="cq"):
        self.api = api
        self.factory = factory
        self.admin_token = admin_token
        self.region = f"{prefix}-{uid()}"
        self.other_region = f"{prefix}x-{uid()}"
        mk = factory.make_org
        self.practice = mk("general_practice", self.region, name=f"Huisartsenpraktijk De Linde {uid()}")
        self.practice_b = mk("general_practice", self.region, name=f"Huisartsenpraktijk Het Anker {uid()}")
        self.mhp = mk("mental_health_provider", self.region, name=f"GGZ Rivierenland {uid()}")
        self.coord_org = mk("other", self.region, name=f"Zorgconsul {uid()}")
        self.coord_org_b = mk("other", self.other_region, name=f"Zorgconsul elders {uid()}")
        mu = factory.make_user
        self.gp = mu("gp", self.practice["id"])
        self.poh = mu("poh", self.practice["id"])
        self.billing = mu("billing", self.practice["id"])
        self.gp_b = mu("gp", self.practice_b["id"])
        self.coord = mu("coordinator", self.coord_org["id"])
        self.coord_b = mu("coordinator", self.coord_org_b["id"])
        # c1: direct questions (response_days 3); c2, c3: the "autisme" group in the region
        self.c1 = self.consultant(["angst", "depressie"], [self.region], response_days=3)
        self.c2 = self.consultant(["autisme", "adhd"], [self.region], response_days=1)
        self.c3 = self.consultant(["autisme"], [self.region, self.other_region], response_days=5)
        self.c_other_exp = self.consultant(["depressie"], [self.region])
        self.c_other_region = self.consultant(["autisme"], [self.other_region])
        self.c_closed = self.consultant(["autisme", "angst"], [self.region], accepting=False)

    # ---- set-up ----

    def consultant(self, expertise, regions, accepting=True, response_days=3, modes=("digital", "video")):
        u = self.factory.make_user("consultant", self.mhp["id"], name=f"Dr. Consulent {uid()}")
        body = {"discipline": "psychiater", "expertise": list(expertise), "regions": list(regions),
                "modes": list(modes), "accepting": accepting, "response_days": response_days}
        r = self.api.put(f"/v1/consultants/{u['id']}/profile", token=self.admin_token, json=body)
        assert r.status_code == 200, f"profile: {r.status_code} {r.text}"
        return u

    def login(self, user):
        return self.api.login(user["email"], user["password"])

    # ---- requests ----

    def body(self, to=None, expertise=None, patient=None, **over):
        b = {"subject": f"Vraag over angstklachten {tag()}",
             "question": "Vrouw met toenemende angstklachten en slecht slapen. Is medicatie zinvol naast de "
                         "begeleiding door de POH-GGZ?",
             "patient": patient or anonymous_patient(),
             "mode": "digital", "urgency": "routine", "referral_contemplated": True}
        if expertise is not None:
            b["expertise"] = expertise
        elif to is not None:
            b["consultant_id"] = to["id"]
        else:
            b["consultant_id"] = self.c1["id"]
        b.update(over)
        return b

    def create(self, token=None, headers=None, **kw):
        return self.api.post("/v1/consultations", token=token or self.gp["token"], json=self.body(**kw),
                             headers=headers)

    def create_ok(self, token=None, **kw):
        return assert_json(self.create(token=token, **kw), 201)

    def get(self, cid, token):
        return self.api.get(f"/v1/consultations/{cid}", token=token)

    def act(self, cid, action, token, json=None, headers=None):
        kw = {} if json is None else {"json": json}
        return self.api.post(f"/v1/consultations/{cid}/{action}", token=token, headers=headers, **kw)

    def act_ok(self, cid, action, token, json=None):
        return assert_json(self.act(cid, action, token, json), 200)

    # ---- a direct question to c1 brought to a given status ----

    def in_state(self, state, **kw):
        c = self.create_ok(to=self.c1, **kw)
        cid = c["id"]
        g, k = self.gp["token"], self.c1["token"]
        if state == "submitted":
            pass
        elif state == "accepted":
            c = self.act_ok(cid, "accept", k)
        elif state == "declined":
            c = self.act_ok(cid, "decline", k, {"reason": "Buiten mijn expertise."})
        elif state == "answered":
            self.act_ok(cid, "accept", k)
            c = self.act_ok(cid, "answer", k, dict(ANSWER))
        elif state == "closed":
            self.act_ok(cid, "accept", k)
            self.act_ok(cid, "answer", k, dict(ANSWER))
            c = self.act_ok(cid, "close", g, {"referral_outcome": "avoided", "value": 4})
        elif state == "withdrawn":
            c = self.act_ok(cid, "withdraw", g, {"reason": "Patiënt is inmiddels verwezen."})
        else:
            raise ValueError(state)
        assert c["status"] == state, c
        return c

    # ---- notifications ----

    def notifications(self, user, token=None, **params):
        return self.api.list_all("/v1/notifications", token or user["token"], params=params)

    def notes_for(self, user, subject_id, token=None, **params):
        return [n for n in self.notifications(user, token, **params) if n["subject_id"] == subject_id]


def new_id():
    return str(uuid.uuid4())


# ---- shared by the consultation test files ----

def count_all(db):
    return sql_count(db, "SELECT count(*) FROM consultations")


def field_messages(body):
    return {e.get("field"): e.get("message") for e in body.get("errors") or []}


def _invalid(w, db, body, field, token=None):
    before = count_all(db)
    r = w.api.post("/v1/consultations", token=token or w.gp["token"], json=body)
    p = assert_problem(r, 422, "/problems/validation")
    assert field in error_fields(p), f"expected field {field!r}: {p}"
    assert count_all(db) == before, "a refused consultation was inserted"
    return p


def _msg(w, cid, token, body="Kunt u iets zeggen over de dosering?"):
    return w.api.post(f"/v1/consultations/{cid}/messages", token=token, json={"body": body})
