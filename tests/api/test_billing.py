"""Billing (server/billing.c, sql/0005_billing_reports.sql): provider tariffs, practice budgets, the
preview and the exports of answered consultations.

- amounts: round(minutes x hourly_cents / 60), half away from zero, at the provider's tariff with the
  latest valid_from on or before the day (Europe/Amsterdam) the consultation was answered;
- budgets: used = what the practice's exports billed for consultations answered that year;
- exports: JSON and CSV, each consultation in at most one export ever, also when exports of one
  practice run at the same moment through two processes;
- unpriced consultations (no tariff that day) are reported, never priced;
- who may do what (billing of the practice and admin only), bad input, the audit trail.

Isolation: the module runs its own overlegd on a database of its own (t_billing) and moves that
server's test clock to dates in 2025 to answer consultations on chosen days. Every test makes its
own practice(s) and provider(s), so no test sees another's consultations. After every clock move the
users sign in again (`Bill.tok`).
"""

import csv
import io
import threading
import uuid
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

import pytest

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, Api, ClockedSession, Factory, Server, assert_json, assert_problem,
                      error_fields, migrated_server, parse_ts, sql_count, valid_password)
from consult_helpers import World, anonymous_patient, tag

DB_NAME = "t_billing"

LINE_KEYS = {"consultation_id", "answered_on", "provider", "consultant", "mode", "minutes", "hourly_cents",
             "amount_cents"}
UNPRICED_KEYS = {"consultation_id", "answered_on", "provider", "minutes"}
BUDGET_KEYS = {"year", "amount_cents", "used_cents", "remaining_cents"}
SUMMARY_KEYS = {"id", "organisation", "from", "to", "created_at", "line_count", "total_cents"}
EXPORT_KEYS = SUMMARY_KEYS | {"lines", "budget"}
CREATED_KEYS = EXPORT_KEYS | {"unpriced"}
PREVIEW_KEYS = {"organisation_id", "from", "to", "lines", "total_cents", "unpriced", "budget"}
CSV_HEADER = ["consultation_id", "answered_on", "provider_name", "provider_agb_code", "consultant_name",
              "consultant_agb_code", "mode", "minutes", "hourly_eur", "amount_eur"]
BILLING_TABLES = ("tariffs", "budgets", "billing_exports", "billing_lines")


def utc(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=timezone.utc)


def expected_amount(minutes, hourly):
    return int((Decimal(minutes) * Decimal(hourly) / Decimal(60)).quantize(Decimal(1), ROUND_HALF_UP))


def euros(cents):
    return f"{cents // 100},{cents % 100:02d}"


def agb():
    return "".join(str(b % 10) for b in uuid.uuid4().bytes[:8])


# ---- the harness ----

class Bill(ClockedSession):
    def __init__(self, server, conn):
        super().__init__(server)
        self.conn = conn
        admin = self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.factory = Factory(self.api, admin)
        # the other roles (and the region the practices and providers below live in)
        self.w = World(self.api, self.factory, admin, prefix="bl")

    # -- organisations and users --

    def user(self, role, org_id, name=None, agb_code=None):
        email = f"b-{uuid.uuid4().hex}@test.example"
        body = {"email": email, "name": name or f"Gebruiker {role} {tag(6)}", "role": role,
                "organisation_id": org_id, "password": valid_password()}
        if agb_code is not None:
            body["agb_code"] = agb_code
        u = assert_json(self.api.post("/v1/users", token=self.tok(), json=body), 201)
        return {"id": u["id"], "email": email, "password": body["password"], "user": u}

    def practice(self):
        """A practice of its own with a gp and a billing user."""
        org = self.factory.make_org("general_practice", self.w.region, name=f"Praktijk {tag(8)}")
        return {"org": org, "id": org["id"], "gp": self.user("gp", org["id"]),
                "billing": self.user("billing", org["id"])}

    def provider(self, name=None, consultant_name=None, tariffs=()):
        """A GGZ provider of its own (with an AGB code) with one consultant taking direct questions;
        `tariffs`: (valid_from, hourly_cents) pairs to set."""
        org = self.factory.make_org("mental_health_provider", self.w.region,
                                    name=name or f"GGZ {tag(8)}", agb_code=agb())
        c = self.user("consultant", org["id"], name=consultant_name or f"Dr. {tag(8)}", agb_code=agb())
        prof = {"discipline": "psychiater", "expertise": ["angst"], "regions": [self.w.region],
                "modes": ["digital", "video"], "accepting": True, "response_days": 3}
        assert_json(self.api.put(f"/v1/consultants/{c['id']}/profile", token=self.tok(), json=prof), 200)
        p = {"org": org, "id": org["id"], "consultant": c}
        for valid_from, cents in tariffs:
            self.tariff(p, valid_from, cents)
        return p

    def tariff(self, provider, valid_from, cents):
        r = self.api.put(f"/v1/organisations/{provider['id']}/tariff",
                         token=self.tok(), json={"hourly_cents": cents, "valid_from": valid_from})
        return assert_json(r, 200)

    # -- consultations --

    def answered(self, practice, provider, when, minutes, close=False, marker=None):
        """Consultations of `practice` to `provider`'s consultant, each answered at `when` (application
        clock) with the given minutes; returns their ids in order."""
        self.at(when)
        gp, c = practice["gp"], provider["consultant"]
        ids = []
        for m in minutes:
            body = {"subject": f"Vraag {marker or tag()}", "question": f"Toelichting {marker or tag()} bij de vraag.",
                    "patient": anonymous_patient(), "mode": "digital", "urgency": "routine",
                    "referral_contemplated": False, "consultant_id": c["id"]}
            cons = assert_json(self.api.post("/v1/consultations", token=self.tok(gp), json=body), 201)
            cid = cons["id"]
            assert_json(self.api.post(f"/v1/consultations/{cid}/accept", token=self.tok(c)), 200)
            ans = {"advice": f"Advies {marker or tag()} voor de praktijk.", "recommendation": "advice_only",
                   "minutes_spent": m}
            done = assert_json(self.api.post(f"/v1/consultations/{cid}/answer", token=self.tok(c), json=ans), 200)
            assert done["status"] == "answered", done
            if close:
                assert_json(self.api.post(f"/v1/consultations/{cid}/close", token=self.tok(gp),
                                          json={"referral_outcome": "not_needed", "value": 4}), 200)
            ids.append(cid)
        return ids

    # -- billing --

    def preview(self, practice, frm, to, user=None):
        params = {"from": frm, "to": to}
        if user is None:
            params["organisation_id"] = practice["id"]
        r = self.api.get("/v1/billing/preview", token=self.tok(user), params=params)
        p = assert_json(r, 200)
        assert set(p) == PREVIEW_KEYS, p
        assert p["organisation_id"] == practice["id"] and p["from"] == frm and p["to"] == to, p
        assert p["total_cents"] == sum(line["amount_cents"] for line in p["lines"]), p
        return p

    def export(self, practice, frm, to, user=None, headers=None):
        body = {"from": frm, "to": to}
        if user is None:
            body["organisation_id"] = practice["id"]
        return self.api.post("/v1/billing/exports", token=self.tok(user), json=body, headers=headers)

    def export_ok(self, practice, frm, to, user=None):
        e = assert_json(self.export(practice, frm, to, user), 201)
        assert set(e) == CREATED_KEYS, e
        assert e["organisation"]["id"] == practice["id"], e
        assert e["from"] == frm and e["to"] == to, e
        assert e["line_count"] == len(e["lines"]) > 0, e
        assert e["total_cents"] == sum(line["amount_cents"] for line in e["lines"]), e
        order = [(line["answered_on"], line["consultation_id"]) for line in e["lines"]]
        assert order == sorted(order), "lines not ordered by answered_on, consultation_id"
        return e

    def read(self, export_id, user=None, csv_=False):
        headers = {"Accept": "text/csv"} if csv_ else None
        return self.api.get(f"/v1/billing/exports/{export_id}", token=self.tok(user), headers=headers)

    def budget(self, practice, year, amount, user=None):
        return self.api.put(f"/v1/organisations/{practice['id']}/budgets/{year}", token=self.tok(user),
                            json={"amount_cents": amount})

    def counts(self):
        return {t: sql_count(self.conn, f"SELECT count(*) FROM {t}") for t in BILLING_TABLES}

    def audit(self, action, subject_id, outcome="success"):
        return sql_count(self.conn, "SELECT count(*) FROM audit_log WHERE action = %s AND subject_id = %s"
                                    " AND outcome = %s", action, subject_id, outcome)


@pytest.fixture(scope="module")
def bx(pg):
    server = migrated_server(pg, DB_NAME, "billing")
    conn = pg.connect(DB_NAME)
    b = Bill(server, conn)
    try:
        yield b
    finally:
        try:
            b.real_time()
        finally:
            conn.close()
            server.stop()


@pytest.fixture(autouse=True)
def _real_time_after(bx):
    yield
    bx.real_time()


def by_id(lines):
    return {line["consultation_id"]: line for line in lines}


# ---- 1. amounts and rounding ----

# (hourly_cents, [minutes]); the comments give the exact cents and the rounded amount
ROUNDING = [
    (90, [1, 2, 3, 7]),            # 1.5 -> 2, 3, 4.5 -> 5, 10.5 -> 11: halves go up
    (3, [1, 9, 10, 30]),           # 0.05 -> 0, 0.45 -> 0, 0.5 -> 1, 1.5 -> 2
    (12500, [1, 45, 600]),         # 208.33 -> 208, 9375, 125000
    (8333, [7, 11]),               # 972.18 -> 972, 1527.72 -> 1528
    (1000000, [600]),              # the largest: 10 000 000
]


def test_amounts_are_minutes_times_tariff_rounded_half_up(bx):
    pr = bx.practice()
    expected = {}
    for hourly, minutes in ROUNDING:
        prov = bx.provider(tariffs=[("2025-01-01", hourly)])
        ids = bx.answered(pr, prov, utc(2025, 2, 3), minutes)
        for cid, m in zip(ids, minutes):
            expected[cid] = (prov, m, hourly, expected_amount(m, hourly))
    # the rule's half cases, written out so that a wrong helper cannot hide a wrong server
    assert expected_amount(1, 90) == 2 and expected_amount(10, 3) == 1 and expected_amount(1, 3) == 0
    bx.real_time()

    p = bx.preview(pr, "2025-02-01", "2025-02-28")
    assert p["unpriced"] == [], p
    lines = by_id(p["lines"])
    assert set(lines) == set(expected), p
    for cid, (prov, m, hourly, amount) in expected.items():
        line = lines[cid]
        assert set(line) == LINE_KEYS, line
        assert line["answered_on"] == "2025-02-03", line
        assert (line["minutes"], line["hourly_cents"], line["amount_cents"]) == (m, hourly, amount), \
            f"{m} min at {hourly} c/h: {line}"
        assert line["provider"] == {"id": prov["id"], "name": prov["org"]["name"],
                                    "agb_code": prov["org"]["agb_code"]}, line
        c = prov["consultant"]["user"]
        assert line["consultant"] == {"id": c["id"], "name": c["name"], "agb_code": c["agb_code"]}, line
        assert line["mode"] == "digital", line
    total = sum(a for _, _, _, a in expected.values())
    assert p["total_cents"] == total, p

    e = bx.export_ok(pr, "2025-02-01", "2025-02-28", user=pr["billing"])
    assert e["lines"] == p["lines"], "the export priced differently from its preview"
    assert e["total_cents"] == total and e["line_count"] == len(expected), e
    got = assert_json(bx.read(e["id"], pr["billing"]))
    assert set(got) == EXPORT_KEYS, got
    assert {k: got[k] for k in EXPORT_KEYS} == {k: e[k] for k in EXPORT_KEYS}, (got, e)


# ---- 2. tariff changes ----

def test_tariff_of_the_answer_day_prices_and_exports_keep_their_amounts(bx):
    pr = bx.practice()
    prov = bx.provider()
    # setting a date again replaces its tariff; history newest first
    t = bx.tariff(prov, "2025-03-01", 5000)
    assert t == {"organisation_id": prov["id"], "hourly_cents": 5000, "valid_from": "2025-03-01",
                 "history": [{"valid_from": "2025-03-01", "hourly_cents": 5000}]}, t
    bx.tariff(prov, "2025-04-01", 9000)
    t = bx.tariff(prov, "2025-03-01", 6000)
    assert t["history"] == [{"valid_from": "2025-04-01", "hourly_cents": 9000},
                            {"valid_from": "2025-03-01", "hourly_cents": 6000}], t
    assert sql_count(bx.conn, "SELECT count(*) FROM tariffs WHERE provider_id = %s", prov["id"]) == 2
    assert bx.audit("billing.tariff_set", prov["id"]) == 3

    before = bx.answered(pr, prov, utc(2025, 2, 27), [30])[0]                  # no tariff yet
    a1 = bx.answered(pr, prov, utc(2025, 3, 1), [30])[0]                       # A's first day
    a2 = bx.answered(pr, prov, utc(2025, 3, 31, 20, 30), [30])[0]              # 22:30 in Amsterdam
    b1 = bx.answered(pr, prov, utc(2025, 3, 31, 22, 30), [30])[0]              # 00:30 on 1 April there
    b2 = bx.answered(pr, prov, utc(2025, 4, 20), [45])[0]
    bx.real_time()

    p = bx.preview(pr, "2025-02-01", "2025-04-30")
    got = {line["consultation_id"]: (line["answered_on"], line["hourly_cents"], line["amount_cents"])
           for line in p["lines"]}
    assert got == {a1: ("2025-03-01", 6000, 3000), a2: ("2025-03-31", 6000, 3000),
                   b1: ("2025-04-01", 9000, 4500), b2: ("2025-04-20", 9000, 6750)}, p
    assert [(u["consultation_id"], u["answered_on"]) for u in p["unpriced"]] == [(before, "2025-02-27")], p

    e = bx.export_ok(pr, "2025-03-01", "2025-04-30", user=pr["billing"])
    assert {line["consultation_id"]: line["amount_cents"] for line in e["lines"]} == \
        {a1: 3000, a2: 3000, b1: 4500, b2: 6750}, e
    assert e["total_cents"] == 17250, e

    # later tariff changes, also for days the export covers, do not rewrite it
    bx.tariff(prov, "2025-04-01", 20000)
    bx.tariff(prov, "2025-01-01", 1200)
    again = assert_json(bx.read(e["id"], pr["billing"]))
    assert again["lines"] == e["lines"] and again["total_cents"] == 17250, again
    listed = bx.api.list_all("/v1/billing/exports", bx.tok(pr["billing"]))
    assert [(x["id"], x["total_cents"], x["line_count"]) for x in listed] == [(e["id"], 17250, 4)], listed
    # the February one now has a tariff on its day: priced at it, in its own (new) export
    p = bx.preview(pr, "2025-02-01", "2025-04-30")
    assert [(x["consultation_id"], x["hourly_cents"], x["amount_cents"]) for x in p["lines"]] == \
        [(before, 1200, 600)], p
    assert p["unpriced"] == [], p


def test_tariff_input_is_checked(bx):
    prov = bx.provider()
    pr = bx.practice()
    before = bx.counts()
    url = f"/v1/organisations/{prov['id']}/tariff"
    for body, field in [({"hourly_cents": 0, "valid_from": "2025-01-01"}, "hourly_cents"),
                        ({"hourly_cents": 1000001, "valid_from": "2025-01-01"}, "hourly_cents"),
                        ({"hourly_cents": "6000", "valid_from": "2025-01-01"}, "hourly_cents"),
                        ({"valid_from": "2025-01-01"}, "hourly_cents"),
                        ({"hourly_cents": 6000, "valid_from": "2025-02-30"}, "valid_from"),
                        ({"hourly_cents": 6000, "valid_from": "1999-12-31"}, "valid_from"),
                        ({"hourly_cents": 6000, "valid_from": "2101-01-01"}, "valid_from"),
                        ({"hourly_cents": 6000}, "valid_from"),
                        ({"hourly_cents": 6000, "valid_from": "2025-01-01", "currency": "EUR"}, "currency")]:
        p = assert_problem(bx.api.put(url, token=bx.tok(), json=body), 422, "/problems/validation")
        assert field in error_fields(p), (body, p)
    # a practice is not a provider; an unknown id is not found
    p = assert_problem(bx.api.put(f"/v1/organisations/{pr['id']}/tariff", token=bx.tok(),
                                  json={"hourly_cents": 6000, "valid_from": "2025-01-01"}), 422)
    assert "organisation_id" in error_fields(p), p
    assert_problem(bx.api.put(f"/v1/organisations/{uuid.uuid4()}/tariff", token=bx.tok(),
                              json={"hourly_cents": 6000, "valid_from": "2025-01-01"}), 404, "/problems/not-found")
    # the edges are accepted
    assert bx.tariff(prov, "2000-01-01", 1)["hourly_cents"] == 1
    assert bx.tariff(prov, "2100-12-31", 1000000)["hourly_cents"] == 1000000
    after = bx.counts()
    assert after == dict(before, tariffs=before["tariffs"] + 2), (before, after)


# ---- 3. budgets ----

def test_budget_used_and_remaining(bx):
    pr, other = bx.practice(), bx.practice()
    prov = bx.provider(tariffs=[("2025-01-01", 6000)])
    bl = pr["billing"]
    b = assert_json(bx.budget(pr, 2025, 100000, user=bl))
    assert b == {"year": 2025, "amount_cents": 100000, "used_cents": 0, "remaining_cents": 100000}, b
    assert bx.audit("billing.budget_set", pr["id"]) == 1
    ids = bx.answered(pr, prov, utc(2025, 6, 10), [30, 45])       # 3000 + 4500
    late = bx.answered(pr, prov, utc(2025, 12, 31, 23, 30), [60])  # 1 January 2026 in Amsterdam
    bx.real_time()

    p = bx.preview(pr, "2025-06-01", "2025-06-30", user=bl)
    assert p["total_cents"] == 7500, p
    assert p["budget"] == {"year": 2025, "amount_cents": 100000, "used_cents": 0, "remaining_cents": 100000}, p
    e = bx.export_ok(pr, "2025-06-01", "2025-06-30", user=bl)
    assert {x["consultation_id"] for x in e["lines"]} == set(ids), e
    assert e["budget"] == {"year": 2025, "amount_cents": 100000, "used_cents": 7500,
                           "remaining_cents": 92500}, e
    # the preview of any period of the year shows what was used
    p = bx.preview(pr, "2025-01-01", "2025-01-31", user=bl)
    assert p["budget"]["used_cents"] == 7500 and p["budget"]["remaining_cents"] == 92500, p
    # changing the amount keeps the use
    b = assert_json(bx.budget(pr, 2025, 5000))  # admin
    assert b == {"year": 2025, "amount_cents": 5000, "used_cents": 7500, "remaining_cents": -2500}, b
    # the consultation answered on 1 January 2026 (Amsterdam) belongs to 2026, which has no budget
    p = bx.preview(pr, "2026-01-01", "2026-01-31", user=bl)
    assert [x["consultation_id"] for x in p["lines"]] == late, p
    assert p["budget"] == {"year": 2026, "amount_cents": None, "used_cents": 0, "remaining_cents": None}, p
    bx.export_ok(pr, "2026-01-01", "2026-01-01", user=bl)
    b = assert_json(bx.budget(pr, 2026, 20000, user=bl))
    assert b == {"year": 2026, "amount_cents": 20000, "used_cents": 6000, "remaining_cents": 14000}, b
    b = assert_json(bx.budget(pr, 2025, 5000, user=bl))
    assert b["used_cents"] == 7500, b
    # the other practice's budget is untouched by these exports
    b = assert_json(bx.budget(other, 2025, 0, user=other["billing"]))
    assert b == {"year": 2025, "amount_cents": 0, "used_cents": 0, "remaining_cents": 0}, b


def test_budget_refusals(bx):
    pr, other = bx.practice(), bx.practice()
    prov = bx.provider()
    bl = pr["billing"]
    assert_json(bx.budget(pr, 2025, 1000, user=bl))
    before = bx.counts()
    amounts = sql_count(bx.conn, "SELECT coalesce(sum(amount_cents), 0) FROM budgets")
    # another practice's budget: not found for billing
    assert_problem(bx.budget(other, 2025, 1000, user=bl), 404, "/problems/not-found")
    assert_problem(bx.budget({"id": str(uuid.uuid4())}, 2025, 1000, user=bl), 404, "/problems/not-found")
    assert_problem(bx.budget({"id": str(uuid.uuid4())}, 2025, 1000), 404, "/problems/not-found")
    # an organisation that is not a practice (admin)
    p = assert_problem(bx.budget(prov, 2025, 1000), 422, "/problems/validation")
    assert "organisation_id" in error_fields(p), p
    # amounts
    url = f"/v1/organisations/{pr['id']}/budgets/2025"
    for body, field in [({"amount_cents": -1}, "amount_cents"), ({"amount_cents": 100000000001}, "amount_cents"),
                        ({"amount_cents": "1000"}, "amount_cents"), ({"amount_cents": 10.5}, "amount_cents"),
                        ({}, "amount_cents"), ({"amount_cents": 1000, "year": 2025}, "year")]:
        p = assert_problem(bx.api.put(url, token=bx.tok(bl), json=body), 422, "/problems/validation")
        assert field in error_fields(p), (body, p)
    # years: not four digits -> 404; outside 2000..2100 -> 422 on "year"
    for year in ("25", "20255", "abcd", "-202"):
        assert_problem(bx.api.put(f"/v1/organisations/{pr['id']}/budgets/{year}", token=bx.tok(bl),
                                  json={"amount_cents": 1}), 404, "/problems/not-found")
    for year in ("1999", "2101", "0000"):
        p = assert_problem(bx.api.put(f"/v1/organisations/{pr['id']}/budgets/{year}", token=bx.tok(bl),
                                      json={"amount_cents": 1}), 422, "/problems/validation")
        assert "year" in error_fields(p), (year, p)
    assert bx.counts() == before
    assert sql_count(bx.conn, "SELECT coalesce(sum(amount_cents), 0) FROM budgets") == amounts
    # the edges are accepted
    assert assert_json(bx.budget(pr, 2000, 0, user=bl))["amount_cents"] == 0
    assert assert_json(bx.budget(pr, 2100, 100000000000, user=bl))["amount_cents"] == 100000000000


# ---- 4. the export's JSON and CSV ----

def test_export_json_and_csv_agree_and_hold_no_clinical_text(bx):
    pr = bx.practice()
    marker = tag(12)
    # names a spreadsheet or a naive CSV writer would trip over
    prov = bx.provider(name=f'GGZ "De Brug"; Noord {tag(4)}', consultant_name=f"=Dr. Formule {tag(4)}",
                       tariffs=[("2025-01-01", 7500)])
    plain = bx.provider(name=f"GGZ Oost {tag(4)}", consultant_name=f"Dr. Gewoon {tag(4)}",
                        tariffs=[("2025-01-01", 3)])
    ids = bx.answered(pr, prov, utc(2025, 10, 6), [50, 1], marker=marker)       # 6250, 125
    ids += bx.answered(pr, plain, utc(2025, 10, 7), [10], close=True, marker=marker)  # 0.5 -> 1
    bx.real_time()
    e = bx.export_ok(pr, "2025-10-01", "2025-10-31", user=pr["billing"])
    assert sorted(x["consultation_id"] for x in e["lines"]) == sorted(ids), e
    assert e["total_cents"] == 6250 + 125 + 1, e
    assert e["organisation"] == {"id": pr["id"], "name": pr["org"]["name"]}, e
    assert e["unpriced"] == [], e
    assert abs((parse_ts(e["created_at"]) - datetime.now(timezone.utc)).total_seconds()) < 60, e

    r = bx.read(e["id"], pr["billing"])
    j = assert_json(r)
    assert set(j) == EXPORT_KEYS and j["lines"] == e["lines"], j

    r = bx.read(e["id"], pr["billing"], csv_=True)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].lower().replace(" ", "") == "text/csv;charset=utf-8", r.headers
    assert r.headers.get("Content-Disposition", "").startswith("attachment"), r.headers
    text = r.content.decode("utf-8")
    assert text.endswith("\r\n"), repr(text[-20:])
    # every record ends in CRLF; the only other line breaks would be inside quoted fields (none here)
    assert "\n" not in text.replace("\r\n", ""), repr(text)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0] == CSV_HEADER, rows[0]
    assert len(rows) == 1 + len(j["lines"]), rows
    for row, line in zip(rows[1:], j["lines"]):
        name = line["consultant"]["name"]
        want = [line["consultation_id"], line["answered_on"], line["provider"]["name"],
                line["provider"]["agb_code"], "'" + name if name[0] in "=+-@" else name,
                line["consultant"]["agb_code"], line["mode"], str(line["minutes"]),
                euros(line["hourly_cents"]), euros(line["amount_cents"])]
        assert row == want, (row, want)
    amounts = {row[0]: row[9] for row in rows[1:]}
    assert amounts == {ids[0]: "62,50", ids[1]: "1,25", ids[2]: "0,01"}, amounts
    assert {row[0]: row[8] for row in rows[1:]}[ids[2]] == "0,03", rows
    # the provider name with a quote and a semicolon is quoted in the raw text
    assert '"' + prov["org"]["name"].replace('"', '""') + '"' in text, text
    assert "'=Dr. Formule" in text, text

    # no patient data or clinical text anywhere
    for body in (r.text, bx.read(e["id"], pr["billing"]).text,
                 bx.api.get("/v1/billing/exports", token=bx.tok(pr["billing"])).text):
        for word in (marker, "Vraag", "Toelichting", "Advies", "anonymous", "patient", "advice"):
            assert word not in body, f"{word!r} in {body[:300]}"


# ---- 5. exactly once ----

def test_each_consultation_is_exported_once(bx):
    pr, other = bx.practice(), bx.practice()
    prov = bx.provider(tariffs=[("2025-01-01", 6000)])
    bl = pr["billing"]
    first = bx.answered(pr, prov, utc(2025, 7, 7), [30, 60])
    closed = bx.answered(pr, prov, utc(2025, 7, 8), [15], close=True)
    foreign = bx.answered(other, prov, utc(2025, 7, 8), [20])
    # accepted but not answered: not billable
    bx.at(utc(2025, 7, 9))
    c = assert_json(bx.api.post("/v1/consultations", token=bx.tok(pr["gp"]), json={
        "subject": "Open vraag", "question": "Nog niet beantwoord.", "patient": anonymous_patient(),
        "mode": "digital", "urgency": "routine", "referral_contemplated": False,
        "consultant_id": prov["consultant"]["id"]}), 201)
    assert_json(bx.api.post(f"/v1/consultations/{c['id']}/accept", token=bx.tok(prov["consultant"])), 200)
    bx.real_time()

    key = str(uuid.uuid4())
    r1 = bx.export(pr, "2025-07-01", "2025-07-31", user=bl, headers={"Idempotency-Key": key})
    e1 = assert_json(r1, 201)
    assert sorted(x["consultation_id"] for x in e1["lines"]) == sorted(first + closed), e1
    assert e1["total_cents"] == 3000 + 6000 + 1500, e1
    # the same key again: the same export, not a second attempt
    r2 = bx.export(pr, "2025-07-01", "2025-07-31", user=bl, headers={"Idempotency-Key": key})
    assert r2.status_code == 201 and r2.json() == e1, r2.text
    assert r2.headers.get("Idempotent-Replayed") == "true", r2.headers
    assert sql_count(bx.conn, "SELECT count(*) FROM billing_exports WHERE organisation_id = %s", pr["id"]) == 1

    # the same period again, and any period overlapping it: nothing left
    for frm, to in [("2025-07-01", "2025-07-31"), ("2025-01-01", "2025-12-31"), ("2025-07-07", "2025-07-07")]:
        p = assert_problem(bx.export(pr, frm, to, user=bl), 422, "/problems/nothing-to-export")
        assert "exported already" in p["detail"], p
        pv = bx.preview(pr, frm, to, user=bl)
        assert pv["lines"] == [] and pv["unpriced"] == [] and pv["total_cents"] == 0, pv
    assert sql_count(bx.conn, "SELECT count(*) FROM billing_exports WHERE organisation_id = %s", pr["id"]) == 1

    # answered later in the period: in the next export only
    later = bx.answered(pr, prov, utc(2025, 7, 20), [90])
    bx.real_time()
    pv = bx.preview(pr, "2025-07-01", "2025-07-31", user=bl)
    assert [x["consultation_id"] for x in pv["lines"]] == later, pv
    e2 = bx.export_ok(pr, "2025-07-01", "2025-07-31", user=bl)
    assert [x["consultation_id"] for x in e2["lines"]] == later and e2["total_cents"] == 9000, e2
    assert e2["budget"]["used_cents"] == 3000 + 6000 + 1500 + 9000, e2
    assert_problem(bx.export(pr, "2025-07-01", "2025-07-31", user=bl), 422, "/problems/nothing-to-export")

    # the other practice's consultation was never part of these; it is its own to export
    e3 = bx.export_ok(other, "2025-07-01", "2025-07-31")  # admin
    assert [x["consultation_id"] for x in e3["lines"]] == foreign, e3
    # lists: billing sees its practice's, newest first; admin filters by practice
    mine = bx.api.list_all("/v1/billing/exports", bx.tok(bl))
    assert [x["id"] for x in mine] == [e2["id"], e1["id"]], mine
    for x in mine:
        assert set(x) == SUMMARY_KEYS, x
    assert [x["id"] for x in bx.api.list_all("/v1/billing/exports", bx.tok(bl),
                                             params={"organisation_id": pr["id"]})] == [e2["id"], e1["id"]]
    adm = bx.api.list_all("/v1/billing/exports", bx.tok(), params={"organisation_id": other["id"]})
    assert [x["id"] for x in adm] == [e3["id"]], adm
    everything = {x["id"] for x in bx.api.list_all("/v1/billing/exports", bx.tok())}
    assert {e1["id"], e2["id"], e3["id"]} <= everything
    page = assert_json(bx.api.get("/v1/billing/exports", token=bx.tok(bl), params={"limit": 1}))
    assert [x["id"] for x in page["items"]] == [e2["id"]] and page["next_cursor"], page
    assert sql_count(bx.conn, "SELECT count(*) FROM billing_lines WHERE consultation_id = ANY(%s::uuid[])",
                     first + closed + later + foreign) == 5


# ---- 6. two processes exporting at the same moment ----

def test_concurrent_exports_through_two_processes_bill_each_consultation_once(bx, pg):
    pr = bx.practice()
    prov = bx.provider(tariffs=[("2025-01-01", 6000)])
    billable = []
    for day in (4, 5, 6):
        billable += bx.answered(pr, prov, utc(2025, 8, day), [10 + i for i in range(10)])
    bx.real_time()
    assert len(set(billable)) == 30

    b = Server(bx.server.database_url, pg.root, name="billing-b", skip_migrate=True,
               extra_env={"OVERLEG_DATA_KEY": bx.server.key, "OVERLEG_THREADS": "4", "OVERLEG_DB_POOL": "8"})
    b.start()
    try:
        apis = [Api(bx.server.base), Api(b.base)]
        bl_tok, admin_tok = bx.tok(pr["billing"]), bx.tok()
        periods = [("2025-08-01", "2025-08-31"), ("2025-08-04", "2025-08-04"), ("2025-08-05", "2025-08-06"),
                   ("2025-08-04", "2025-08-05"), ("2025-01-01", "2025-12-31"), ("2025-08-06", "2025-08-31"),
                   ("2025-08-01", "2025-08-05"), ("2025-08-04", "2025-08-06")]
        replies = [None] * len(periods)
        barrier = threading.Barrier(len(periods))

        def go(i):
            frm, to = periods[i]
            api = Api(apis[i % 2].base)
            body = {"from": frm, "to": to}
            tok = bl_tok
            if i % 3 == 2:
                body["organisation_id"], tok = pr["id"], admin_tok
            barrier.wait(timeout=30)
            try:
                replies[i] = api.post("/v1/billing/exports", token=tok, json=body, timeout=30)
            except Exception as ex:  # noqa: BLE001 - reported below
                replies[i] = ex

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(periods))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert all(not t.is_alive() for t in threads)
    finally:
        b.stop()

    exported = {}
    for i, r in enumerate(replies):
        assert not isinstance(r, Exception), (periods[i], r)
        assert r.status_code in (201, 422), (periods[i], r.status_code, r.text)
        if r.status_code == 422:
            assert_problem(r, 422, "/problems/nothing-to-export")
            continue
        e = r.json()
        frm, to = periods[i]
        for line in e["lines"]:
            assert frm <= line["answered_on"] <= to, (periods[i], line)
            assert line["consultation_id"] not in exported, \
                f"{line['consultation_id']} in two exports: {exported.get(line['consultation_id'])} and {e['id']}"
            exported[line["consultation_id"]] = e["id"]
        assert e["line_count"] == len(e["lines"]) and e["total_cents"] == sum(x["amount_cents"] for x in e["lines"])
    assert set(exported) == set(billable)
    q = "SELECT count(*), count(DISTINCT consultation_id) FROM billing_lines WHERE organisation_id = %s"
    with bx.conn.cursor() as cur:
        cur.execute(q, (pr["id"],))
        assert cur.fetchone() == (30, 30)
        cur.execute("SELECT coalesce(sum(line_count), 0), count(*) FROM billing_exports WHERE organisation_id = %s",
                    (pr["id"],))
        lines, n = cur.fetchone()
        assert lines == 30 and n == sum(1 for r in replies if r.status_code == 201), (lines, n)
        cur.execute("SELECT count(*) FROM billing_exports e WHERE organisation_id = %s AND total_cents <>"
                    " (SELECT sum(amount_cents) FROM billing_lines l WHERE l.export_id = e.id)", (pr["id"],))
        assert cur.fetchone()[0] == 0
    p = bx.preview(pr, "2025-08-01", "2025-08-31", user=pr["billing"])
    assert p["lines"] == [] and p["budget"]["used_cents"] == sum(
        expected_amount(10 + i, 6000) for i in range(10)) * 3, p


# ---- 7. unpriced ----

def test_consultations_without_a_tariff_are_reported_not_priced(bx):
    pr = bx.practice()
    bare = bx.provider()
    priced = bx.provider(tariffs=[("2025-01-01", 6000)])
    bl = pr["billing"]
    u1 = bx.answered(pr, bare, utc(2025, 9, 10), [40])[0]
    bx.real_time()
    p = bx.preview(pr, "2025-09-01", "2025-09-30", user=bl)
    assert p["lines"] == [] and p["total_cents"] == 0, p
    assert p["unpriced"] == [{"consultation_id": u1, "answered_on": "2025-09-10", "minutes": 40,
                              "provider": {"id": bare["id"], "name": bare["org"]["name"],
                                           "agb_code": bare["org"]["agb_code"]}}], p
    before = bx.counts()
    r = bx.export(pr, "2025-09-01", "2025-09-30", user=bl)
    prob = assert_problem(r, 422, "/problems/nothing-to-export")
    assert "tariff" in prob["detail"], prob
    assert bx.counts() == before

    # a tariff that starts after the day answered does not price it
    bx.tariff(bare, "2025-09-11", 5000)
    p = bx.preview(pr, "2025-09-01", "2025-09-30", user=bl)
    assert [x["consultation_id"] for x in p["unpriced"]] == [u1] and p["lines"] == [], p

    # next to a priced one: the export holds the priced one and reports the other
    pid = bx.answered(pr, priced, utc(2025, 9, 12), [30])[0]
    bx.real_time()
    p = bx.preview(pr, "2025-09-01", "2025-09-30", user=bl)
    assert [x["consultation_id"] for x in p["lines"]] == [pid] and p["total_cents"] == 3000, p
    assert [x["consultation_id"] for x in p["unpriced"]] == [u1], p
    e = bx.export_ok(pr, "2025-09-01", "2025-09-30", user=bl)
    assert [x["consultation_id"] for x in e["lines"]] == [pid] and e["total_cents"] == 3000, e
    assert [x["consultation_id"] for x in e["unpriced"]] == [u1], e
    assert set(e["unpriced"][0]) == UNPRICED_KEYS, e
    assert sql_count(bx.conn, "SELECT count(*) FROM billing_lines WHERE consultation_id = %s", u1) == 0
    got = assert_json(bx.read(e["id"], bl))
    assert "unpriced" not in got, got

    # once its provider has a tariff for that day, it is exported
    bx.tariff(bare, "2025-09-10", 4500)
    e2 = bx.export_ok(pr, "2025-09-01", "2025-09-30", user=bl)
    assert [(x["consultation_id"], x["amount_cents"]) for x in e2["lines"]] == [(u1, 3000)], e2
    assert e2["unpriced"] == [], e2


# ---- 8. who may, and bad input ----

@pytest.fixture(scope="module")
def two_practices(bx):
    """Practice A with an export; practice B with its own export (and its billing user)."""
    a, b = bx.practice(), bx.practice()
    prov = bx.provider(tariffs=[("2025-01-01", 6000)])
    bx.answered(a, prov, utc(2025, 11, 3), [30])
    bx.answered(b, prov, utc(2025, 11, 3), [30])
    bx.real_time()
    ea = bx.export_ok(a, "2025-11-01", "2025-11-30", user=a["billing"])
    eb = bx.export_ok(b, "2025-11-01", "2025-11-30", user=b["billing"])
    return a, b, prov, ea, eb


def test_other_roles_are_refused_on_every_billing_route(bx, two_practices):
    a, b, prov, ea, eb = two_practices
    w = bx.w
    before = bx.counts()
    period = {"from": "2025-11-01", "to": "2025-11-30"}
    users = {"gp": a["gp"], "poh": w.poh, "consultant": prov["consultant"], "coordinator": w.coord}
    for role, user in users.items():
        tok = bx.tok(user)
        for method, path, kw in [
                ("PUT", f"/v1/organisations/{prov['id']}/tariff",
                 {"json": {"hourly_cents": 1, "valid_from": "2025-01-01"}}),
                ("PUT", f"/v1/organisations/{a['id']}/budgets/2025", {"json": {"amount_cents": 1}}),
                ("GET", "/v1/billing/preview", {"params": dict(period, organisation_id=a["id"])}),
                ("POST", "/v1/billing/exports", {"json": dict(period, organisation_id=a["id"])}),
                ("GET", "/v1/billing/exports", {}),
                ("GET", f"/v1/billing/exports/{ea['id']}", {}),
                ("GET", f"/v1/billing/exports/{ea['id']}", {"headers": {"Accept": "text/csv"}})]:
            r = bx.api.request(method, path, token=tok, **kw)
            assert_problem(r, 403, "/problems/forbidden")
    # the billing user may not set tariffs
    assert_problem(bx.api.put(f"/v1/organisations/{prov['id']}/tariff", token=bx.tok(a["billing"]),
                              json={"hourly_cents": 1, "valid_from": "2025-01-01"}), 403, "/problems/forbidden")
    assert bx.counts() == before


def test_billing_of_another_practice_gets_404(bx, two_practices):
    a, b, prov, ea, eb = two_practices
    tok = bx.tok(a["billing"])
    before = bx.counts()
    period = {"from": "2025-01-01", "to": "2025-12-31"}
    assert_problem(bx.api.get("/v1/billing/preview", token=tok, params=dict(period, organisation_id=b["id"])),
                   404, "/problems/not-found")
    assert_problem(bx.api.post("/v1/billing/exports", token=tok, json=dict(period, organisation_id=b["id"])),
                   404, "/problems/not-found")
    assert_problem(bx.api.get("/v1/billing/exports", token=tok, params={"organisation_id": b["id"]}),
                   404, "/problems/not-found")
    assert_problem(bx.read(eb["id"], a["billing"]), 404, "/problems/not-found")
    r = bx.read(eb["id"], a["billing"], csv_=True)
    assert_problem(r, 404, "/problems/not-found")
    assert eb["lines"][0]["consultation_id"] not in r.text
    assert_problem(bx.budget(b, 2025, 1, user=a["billing"]), 404, "/problems/not-found")
    # unknown ids alike
    assert_problem(bx.read(uuid.uuid4(), a["billing"]), 404, "/problems/not-found")
    assert_problem(bx.api.get("/v1/billing/preview", token=tok, params=dict(period, organisation_id=uuid.uuid4())),
                   404, "/problems/not-found")
    # the list never shows the other practice's export
    assert [x["id"] for x in bx.api.list_all("/v1/billing/exports", tok)] == [ea["id"]]
    assert bx.counts() == before
    # the admin sees both
    assert assert_json(bx.read(eb["id"]))["id"] == eb["id"]
    assert {ea["id"], eb["id"]} <= {x["id"] for x in bx.api.list_all("/v1/billing/exports", bx.tok())}


def test_bad_periods_and_bodies(bx, two_practices):
    a, b, prov, ea, eb = two_practices
    tok = bx.tok(a["billing"])
    before = bx.counts()
    bad_queries = [
        ({"from": "2025-02-30", "to": "2025-03-01"}, "from"),
        ({"from": "2025-01-01", "to": "2025/12/31"}, "to"),
        ({"to": "2025-12-31"}, "from"),
        ({"from": "2025-01-01"}, "to"),
        ({"from": "2025-06-01", "to": "2025-05-31"}, "to"),
        ({"from": "2025-12-01", "to": "2026-01-31"}, "to"),
        ({"from": "1999-01-01", "to": "1999-12-31"}, "from"),
        ({"from": "2025-01-01", "to": "2025-12-31", "organisation_id": "nope"}, "organisation_id"),
    ]
    for q, field in bad_queries:
        p = assert_problem(bx.api.get("/v1/billing/preview", token=tok, params=q), 400, "/problems/bad-query")
        assert field in error_fields(p), (q, p)
    # the admin must name the practice
    p = assert_problem(bx.api.get("/v1/billing/preview", token=bx.tok(), params={"from": "2025-01-01",
                                                                               "to": "2025-12-31"}),
                       400, "/problems/bad-query")
    assert "organisation_id" in error_fields(p), p
    # a provider is not a practice
    p = assert_problem(bx.api.get("/v1/billing/preview", token=bx.tok(), params={
        "from": "2025-01-01", "to": "2025-12-31", "organisation_id": prov["id"]}), 422)
    assert "organisation_id" in error_fields(p), p

    bad_bodies = bad_queries + [
        ({"from": "2025-01-01", "to": "2025-12-31", "format": "csv"}, "format"),
        ({"from": 20250101, "to": "2025-12-31"}, "from"),
    ]
    for body, field in bad_bodies:
        p = assert_problem(bx.api.post("/v1/billing/exports", token=tok, json=body), 422, "/problems/validation")
        assert field in error_fields(p), (body, p)
    for body in ({"from": "2025-01-01", "to": "2025-12-31"},
                 {"from": "2025-01-01", "to": "2025-12-31", "organisation_id": None}):
        p = assert_problem(bx.api.post("/v1/billing/exports", token=bx.tok(), json=body), 422,
                           "/problems/validation")
        assert "organisation_id" in error_fields(p), (body, p)
    p = assert_problem(bx.api.post("/v1/billing/exports", token=bx.tok(), json={
        "from": "2025-01-01", "to": "2025-12-31", "organisation_id": prov["id"]}), 422)
    assert "organisation_id" in error_fields(p), p
    assert_problem(bx.api.post("/v1/billing/exports", token=bx.tok(), json={
        "from": "2025-01-01", "to": "2025-12-31", "organisation_id": str(uuid.uuid4())}), 404, "/problems/not-found")
    p = assert_problem(bx.api.get("/v1/billing/exports", token=tok, params={"organisation_id": "x"}), 400,
                       "/problems/bad-query")
    assert "organisation_id" in error_fields(p), p
    p = assert_problem(bx.api.get("/v1/billing/exports", token=bx.tok(), params={"organisation_id": prov["id"]}),
                       422)
    assert "organisation_id" in error_fields(p), p
    assert bx.counts() == before


# ---- 9. the audit trail ----

def test_export_create_read_and_denied_read_are_audited(bx, two_practices):
    a, b, prov, ea, eb = two_practices
    pr = bx.practice()
    bx.answered(pr, prov, utc(2025, 11, 4), [20])
    bx.real_time()
    e = bx.export_ok(pr, "2025-11-01", "2025-11-30", user=pr["billing"])
    with bx.conn.cursor() as cur:
        cur.execute("SELECT actor_id, subject_type, outcome FROM audit_log WHERE action = 'billing.export_create'"
                    " AND subject_id = %s", (e["id"],))
        assert cur.fetchall() == [(pr["billing"]["id"], "billing_export", "success")]
    assert bx.audit("billing.export_read", e["id"]) == 0
    assert_json(bx.read(e["id"], pr["billing"]))
    assert bx.audit("billing.export_read", e["id"]) == 1
    assert bx.read(e["id"], pr["billing"], csv_=True).status_code == 200
    assert bx.audit("billing.export_read", e["id"]) == 2
    # another practice's billing user: refused and audited as denied, not as a read
    assert_problem(bx.read(e["id"], a["billing"]), 404, "/problems/not-found")
    assert bx.audit("billing.export_read", e["id"]) == 2
    with bx.conn.cursor() as cur:
        cur.execute("SELECT actor_id FROM audit_log WHERE action = 'billing.export_read' AND subject_id = %s"
                    " AND outcome = 'denied'", (e["id"],))
        assert cur.fetchall() == [(a["billing"]["id"],)]
    # another practice named in a preview, an export, a list or a budget: 404, audited as denied
    tok = bx.tok(a["billing"])
    q = ("SELECT count(*) FROM audit_log WHERE actor_id = %s AND action = %s AND subject_id = %s"
         " AND outcome = 'denied'")
    period = {"from": "2025-11-01", "to": "2025-11-30", "organisation_id": pr["id"]}
    for action, r in [
            ("billing.preview", bx.api.get("/v1/billing/preview", token=tok, params=period)),
            ("billing.export_create", bx.api.post("/v1/billing/exports", token=tok, json=period)),
            ("billing.exports_list", bx.api.get("/v1/billing/exports", token=tok,
                                                params={"organisation_id": pr["id"]})),
            ("billing.budget_set", bx.budget(pr, 2025, 1, user=a["billing"]))]:
        assert_problem(r, 404, "/problems/not-found")
        assert sql_count(bx.conn, q, a["billing"]["id"], action, pr["id"]) == 1, action
    # listing is audited too
    n = sql_count(bx.conn, "SELECT count(*) FROM audit_log WHERE action = 'billing.exports_list' AND actor_id = %s",
                  pr["billing"]["id"])
    assert_json(bx.api.get("/v1/billing/exports", token=bx.tok(pr["billing"])))
    assert sql_count(bx.conn, "SELECT count(*) FROM audit_log WHERE action = 'billing.exports_list'"
                              " AND actor_id = %s AND outcome = 'success'", pr["billing"]["id"]) == n + 1
