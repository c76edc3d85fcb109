"""Shared set-up for the escalation-case tests (API.md §9, docs/cases.md).

A CaseWorld is one region R with the coordinators' organisation (two coordinators), the
submitting practice (gp, poh, billing), three party organisations (a GGZ provider with two
consultants, a second practice with a gp, an insurer without case workers), an unrelated practice
in R, and a second region with a coordinator of its own. Every test module builds its own world in
a region slug unique to it, so lists never see another module's cases.
"""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from conftest import assert_json, assert_problem, error_fields, sql_count, uid
from consult_helpers import anonymous_patient, tag

AMS = ZoneInfo("Europe/Amsterdam")

# docs/cases.md "Shapes"
CASE_KEYS = {"id", "status", "level", "region", "title", "summary", "stagnation", "attempts",
             "proposed_solution", "patient", "reported_by", "organisation", "submitted_by", "parties",
             "consultation", "waiting", "regie_organisation", "actions", "conferences", "timeline",
             "stalled", "treeknorm", "registered_at", "intake_at", "resolved_at", "closed_at", "solution",
             "follow_up_on", "version"}
# docs/cases.md: list items are the case's summary (no patient, no texts but the title).
LIST_KEYS = CASE_KEYS - {"summary", "stagnation", "attempts", "proposed_solution", "patient", "parties",
                         "actions", "conferences", "timeline", "submitted_by", "consultation",
                         "solution", "follow_up_on"}
ACTION_KEYS = {"id", "description", "owner_organisation", "due_on", "status", "result", "created_at",
               "closed_at"}
CONFERENCE_KEYS = {"id", "starts_at", "participants", "agenda", "created_at"}
EVENT_KEYS = {"at", "kind", "actor", "level", "detail"}
TREEKNORM_KEYS = {"intake_weeks", "intake_exceeded", "treatment_weeks", "treatment_exceeded"}
LINKED_CONSULTATION_KEYS = {"id", "status", "submitted_at", "due_at", "answered_at"}
HIDDEN = {"mode": "consented", "identity_hidden": True}


def today_ams():
    return datetime.now(AMS).date()


def ams_date(dt):
    """The date in the Netherlands at the aware datetime `dt`."""
    return dt.astimezone(AMS).date()


def new_id():
    return str(uuid.uuid4())


def count_cases(db):
    return sql_count(db, "SELECT count(*) FROM cases")


def count_events(db, cid):
    return sql_count(db, "SELECT count(*) FROM case_events WHERE case_id = %s", cid)


def field_messages(body):
    return {e.get("field"): e.get("message") for e in body.get("errors") or []}


def org_ref(org):
    return {"id": org["id"], "name": org["name"]}


def kinds(c):
    return [e["kind"] for e in c["timeline"]]


class CaseWorld:
    def __init__(self, api, factory, admin_token, prefix="ca"):
        self.api = api
        self.factory = factory
        self.admin_token = admin_token
        self.region = f"{prefix}-{uid()}"
        self.other_region = f"{prefix}x-{uid()}"
        mk = factory.make_org
        self.practice = mk("general_practice", self.region, name=f"Huisartsenpraktijk De Eik {uid()}")
        self.mhp = mk("mental_health_provider", self.region, name=f"GGZ Oost {uid()}")
        self.practice_p = mk("general_practice", self.region, name=f"Huisartsenpraktijk Partij {uid()}")
        self.insurer = mk("insurer", self.region, name=f"Zorgverzekeraar Noord {uid()}")
        self.municipality = mk("municipality", self.region, name=f"Gemeente Midden {uid()}")
        self.unrelated = mk("general_practice", self.region, name=f"Huisartsenpraktijk Elders {uid()}")
        self.coord_org = mk("other", self.region, name=f"Zorgconsul {uid()}")
        self.coord_org_b = mk("other", self.other_region, name=f"Zorgconsul andere regio {uid()}")
        mu = factory.make_user
        self.gp = mu("gp", self.practice["id"])
        self.poh = mu("poh", self.practice["id"])
        self.billing = mu("billing", self.practice["id"])
        self.c1 = mu("consultant", self.mhp["id"], name=f"Dr. Partij Een {uid()}")
        self.c2 = mu("consultant", self.mhp["id"], name=f"Dr. Partij Twee {uid()}")
        self.gp_p = mu("gp", self.practice_p["id"])
        self.gp_u = mu("gp", self.unrelated["id"])
        self.coord = mu("coordinator", self.coord_org["id"])
        self.coord2 = mu("coordinator", self.coord_org["id"])
        self.coord_b = mu("coordinator", self.coord_org_b["id"])

    def login(self, user):
        return self.api.login(user["email"], user["password"])

    # ---- requests ----

    def body(self, patient=None, parties=None, **over):
        b = {"title": f"Vastgelopen verwijzing {tag()}",
             "summary": "Man met een angststoornis en schulden; de GGZ wacht op de schuldhulp en omgekeerd.",
             "stagnation": "Niemand neemt de regie; de wachtlijst van de GGZ loopt op.",
             "attempts": "Twee keer verwezen, overleg met de POH-GGZ, telefonisch contact met de gemeente.",
             "proposed_solution": "Een casusoverleg met GGZ en gemeente en een vaste regiehouder.",
             "parties": parties if parties is not None else [
                 {"organisation_id": self.mhp["id"], "role": "GGZ-aanbieder"},
                 {"organisation_id": self.practice_p["id"], "role": "waarnemende praktijk"},
                 {"organisation_id": self.insurer["id"], "role": "zorgverzekeraar"}],
             "patient": patient or anonymous_patient(age=41, sex="m"),
             "reported_by": "professional"}
        b.update(over)
        return b

    def create(self, token=None, headers=None, body=None, **kw):
        return self.api.post("/v1/cases", token=token or self.gp["token"],
                             json=body if body is not None else self.body(**kw), headers=headers)

    def create_ok(self, token=None, **kw):
        return assert_json(self.create(token=token, **kw), 201)

    def get(self, cid, token):
        return self.api.get(f"/v1/cases/{cid}", token=token)

    def get_ok(self, cid, token):
        return assert_json(self.get(cid, token))

    def act(self, cid, action, token, json=None, headers=None, method="POST"):
        kw = {} if json is None else {"json": json}
        return self.api.request(method, f"/v1/cases/{cid}/{action}", token=token, headers=headers, **kw)

    def act_ok(self, cid, action, token, json=None, status=200, method="POST"):
        return assert_json(self.act(cid, action, token, json, method=method), status)

    def patch(self, cid, token, json, headers=None):
        return self.api.patch(f"/v1/cases/{cid}", token=token, json=json, headers=headers)

    def intake(self, cid, token=None, work_done=True, note="Informatie is compleet."):
        return self.act_ok(cid, "intake", token or self.coord["token"], {"work_done": work_done, "note": note})

    def escalate(self, cid, token=None, reason="Geen beweging na het casusoverleg."):
        return self.act_ok(cid, "escalate", token or self.coord["token"], {"reason": reason})

    def add_action(self, cid, owner=None, due_on=None, token=None, description="Intake plannen binnen twee weken."):
        body = {"description": description, "owner_organisation_id": (owner or self.mhp)["id"],
                "due_on": due_on or (today_ams() + timedelta(days=14)).isoformat()}
        return self.act_ok(cid, "actions", token or self.coord["token"], body, status=201)

    def set_regie(self, cid, org=None, token=None):
        return self.act_ok(cid, "regie", token or self.coord["token"], {"organisation_id": (org or self.mhp)["id"]},
                           method="PUT")

    # ---- a case brought to a given status ----

    def in_state(self, state, level=1, **kw):
        c = self.create_ok(**kw)
        cid = c["id"]
        if state == "registered":
            pass
        elif state == "returned":
            c = self.intake(cid, work_done=False, note="Eerst de verwijsbrief toevoegen.")
        elif state == "in_progress":
            c = self.intake(cid)
            for _ in range(level - 1):
                c = self.escalate(cid)
        elif state in ("resolved", "closed"):
            self.intake(cid)
            self.set_regie(cid)
            c = self.act_ok(cid, "resolve", self.coord["token"],
                            {"solution": "GGZ start behandeling, gemeente regelt schuldhulp.",
                             "follow_up_on": (today_ams() + timedelta(days=30)).isoformat()})
            if state == "closed":
                c = self.act_ok(cid, "close", self.coord["token"], {"note": "Afgerond na evaluatie."})
        else:
            raise ValueError(state)
        assert c["status"] == state, c
        return c

    # ---- notifications ----

    def notes_for(self, user, subject_id, token=None, **params):
        items = self.api.list_all("/v1/notifications", token or user["token"], params=params)
        return [n for n in items if n["subject_id"] == subject_id]

    def note_kinds(self, user, subject_id, token=None):
        return [n["kind"] for n in self.notes_for(user, subject_id, token)]


def invalid_create(w, db, body, field, token=None):
    """POST /v1/cases with `body` answers 422 naming `field`, and no case is written."""
    before = count_cases(db)
    r = w.api.post("/v1/cases", token=token or w.gp["token"], json=body)
    p = assert_problem(r, 422, "/problems/validation")
    assert field in error_fields(p), f"expected field {field!r}: {p}"
    assert count_cases(db) == before, "a refused case was inserted"
    return p
