"""Reports (API.md "Reports", docs/reports.md, server/reports.c, sql/0006_reports.sql):
GET /v1/reports/summary?from=&to=&region=.

- the figures, against a data set with known answers: consultations submitted, answered (on or
  before due_at, and after), closed with each referral outcome, withdrawn and left open; cases
  registered, taken in, escalated and de-escalated, returned and resubmitted, resolved and closed;
  each placed at a chosen instant of 2025 with the test clock, some exactly around the period's
  edges (23:30 UTC on the day before `from` is already `from` in Amsterdam in winter, 22:30 UTC on
  `to` is already the day after in summer);
- the expected answers are computed here, independently of the server (`expected()`, with a Python
  Dutch working-day calendar), for many periods, and compared with the whole answer; one period's
  answer is also written out by hand, to check `expected()` itself;
- who may ask (coordinator: own region only, another region 403 and audited; admin: every region,
  or one), bad input (400 /problems/bad-query naming the field), an empty period;
- the SQL calendar: is_workday() for every day 2000-2100 and easter() for every year against
  dateutil, working_hours() for a handful of cases.

Isolation: the module runs its own overlegd on a database of its own (t_reports), so "every
region" (admin without `region`) is exactly what this module made. After every clock move the users
sign in again (`Rep.tok`).
"""

import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

try:
    from dateutil.easter import easter as du_easter
except ImportError:  # not installed for every interpreter: Oudin's algorithm (Tøndering's calendar FAQ),
    def du_easter(y):  # another computus than the anonymous Gregorian one easter() in SQL uses
        g, c = y % 19, y // 100
        h = (c - c // 4 - (8 * c + 13) // 25 + 19 * g + 15) % 30
        i = h - (h // 28) * (1 - (29 // (h + 1)) * ((21 - g) // 11))
        j = (y + y // 4 + i + 2 - c + c // 4) % 7
        month = 3 + (i - j + 40) // 44
        return date(y, month, i - j + 28 - 31 * (month // 4))

from conftest import (ADMIN_EMAIL, ADMIN_PASSWORD, ClockedSession, Factory, assert_json, assert_problem, error_fields,
                      fmt_ts, migrated_server, parse_ts, valid_password)
from consult_helpers import ANSWER, World, anonymous_patient, tag

DB_NAME = "t_reports"
AMS = ZoneInfo("Europe/Amsterdam")
PATH = "/v1/reports/summary"

REPORT_KEYS = {"region", "from", "to", "consultations", "cases"}
CONSULTATION_KEYS = {"submitted", "answered", "closed", "answered_within_target", "answered_within_target_pct",
                     "median_response_hours", "referral_contemplated", "outcomes"}
OUTCOMES = ["avoided", "still_needed", "not_needed", "initiated"]
CASE_KEYS = {"registered", "resolved", "closed", "by_level", "median_days_to_resolution"}

# The main period: from a winter Monday to a summer Friday (DST began on 30 March 2025).
FROM, TO = date(2025, 3, 3), date(2025, 6, 13)


def utc(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=timezone.utc)


# ---- an independent Dutch working-day calendar (the brief of API.md §8 / docs/reports.md) ----

def holidays(y):
    e = du_easter(y)
    kings = date(y, 4, 26) if date(y, 4, 27).isoweekday() == 7 else date(y, 4, 27)
    out = {date(y, 1, 1), date(y, 12, 25), date(y, 12, 26), kings,
           e + timedelta(days=1), e + timedelta(days=39), e + timedelta(days=50)}
    if y % 5 == 0:
        out.add(date(y, 5, 5))
    return out


_HOLIDAYS = {}


def is_workday(d):
    if d.year not in _HOLIDAYS:
        _HOLIDAYS[d.year] = holidays(d.year)
    return d.isoweekday() <= 5 and d not in _HOLIDAYS[d.year]


def workdays_add(t, n):
    """`t` plus `n` working days, the time of day kept (UTC days)."""
    d = t.date()
    counted = 0
    while counted < n:
        d += timedelta(days=1)
        counted += is_workday(d)
    return datetime.combine(d, t.timetz())


def working_seconds(a, b):
    """Seconds from a to b less those on non-working UTC days."""
    total = (b - a).total_seconds()
    d = a.astimezone(timezone.utc).date()
    while d <= b.astimezone(timezone.utc).date():
        if not is_workday(d):
            lo = max(a, datetime.combine(d, time(0), timezone.utc))
            hi = min(b, datetime.combine(d + timedelta(days=1), time(0), timezone.utc))
            if hi > lo:
                total -= (hi - lo).total_seconds()
        d += timedelta(days=1)
    return total


def working_hours(a, b):
    return Decimal(str(working_seconds(a, b))) / 3600


def r1(x, drift=False):
    """One decimal, halves away from zero (PostgreSQL's round(numeric, 1)); None stays None.
    `drift`: x comes from instants that the server's clock moves by a second or so (it runs on
    after being set), so x must not lie near a rounding edge (the data set is chosen so)."""
    if x is None:
        return None
    if drift:
        assert abs((Decimal(x) * 10) % 1 - Decimal("0.5")) > Decimal("0.01"), f"{x} is near a rounding edge"
    return float(Decimal(x).quantize(Decimal("0.1"), ROUND_HALF_UP))


def median(xs):
    """percentile_cont(0.5)."""
    xs = sorted(xs)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def period(frm, to):
    lo = datetime.combine(frm, time(0), AMS).astimezone(timezone.utc)
    hi = datetime.combine(to + timedelta(days=1), time(0), AMS).astimezone(timezone.utc)
    return lo, hi


def expected(data, frm, to, region):
    """The report of `data` (the planned instants) for the days [frm, to] and `region` (None: all)."""
    lo, hi = period(frm, to)

    def inside(t):
        return t is not None and lo <= t < hi

    cs = [c for c in data.consultations if region is None or c.region == region]
    sub = [c for c in cs if inside(c.submitted)]
    ans = [c for c in cs if inside(c.answered)]
    within = [c for c in ans if c.answered <= c.due]
    closed = [c for c in cs if inside(c.closed)]
    ks = [k for k in data.cases if region is None or k.region == region]
    reg = [k for k in ks if inside(k.created)]
    res = [k for k in ks if inside(k.resolved)]
    return {
        "region": region, "from": frm.isoformat(), "to": to.isoformat(),
        "consultations": {
            "submitted": len(sub),
            "referral_contemplated": sum(c.rc for c in sub),
            "answered": len(ans),
            "answered_within_target": len(within),
            "answered_within_target_pct": r1(Decimal(100) * len(within) / len(ans)) if ans else None,
            "median_response_hours": r1(median([working_hours(c.submitted, c.answered) for c in ans]), True),
            "closed": len(closed),
            "outcomes": {o: sum(c.outcome == o for c in closed) for o in OUTCOMES},
        },
        "cases": {
            "registered": len(reg),
            "by_level": {str(n): sum(k.max_level == n for k in reg) for n in (1, 2, 3, 4)},
            "resolved": len(res),
            "median_days_to_resolution": r1(median([
                Decimal(str((k.resolved - k.created).total_seconds())) / 86400 for k in res]), True),
            "closed": sum(inside(k.closed) for k in ks),
        },
    }


def zeros(region, frm, to):
    return {"region": region, "from": frm, "to": to,
            "consultations": {"submitted": 0, "answered": 0, "closed": 0, "answered_within_target": 0,
                              "answered_within_target_pct": None, "median_response_hours": None,
                              "referral_contemplated": 0, "outcomes": {o: 0 for o in OUTCOMES}},
            "cases": {"registered": 0, "resolved": 0, "closed": 0,
                      "by_level": {"1": 0, "2": 0, "3": 0, "4": 0}, "median_days_to_resolution": None}}


def assert_shape(rep):
    assert set(rep) == REPORT_KEYS, rep
    assert set(rep["consultations"]) == CONSULTATION_KEYS, rep
    assert set(rep["consultations"]["outcomes"]) == set(OUTCOMES), rep
    assert set(rep["cases"]) == CASE_KEYS, rep
    assert set(rep["cases"]["by_level"]) == {"1", "2", "3", "4"}, rep
    for k in ("submitted", "answered", "closed", "answered_within_target", "referral_contemplated"):
        assert type(rep["consultations"][k]) is int, (k, rep)
    for k in ("registered", "resolved", "closed"):
        assert type(rep["cases"][k]) is int, (k, rep)


# ---- the harness ----

class Rep(ClockedSession):
    def __init__(self, server, conn):
        super().__init__(server)
        self.conn = conn
        admin = self.api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.factory = Factory(self.api, admin)
        self.w = World(self.api, self.factory, admin, prefix="rp")
        w = self.w
        # a practice in the other region, whose gp asks c3 (who serves both regions)
        self.practice_o = self.factory.make_org("general_practice", w.other_region, name=f"Praktijk elders {tag(6)}")
        self.gp_o = self.user("gp", self.practice_o["id"])

    def user(self, role, org_id):
        email = f"r-{uuid.uuid4().hex}@test.example"
        body = {"email": email, "name": f"Gebruiker {role} {tag(6)}", "role": role, "organisation_id": org_id,
                "password": valid_password()}
        u = assert_json(self.api.post("/v1/users", token=self.tok(), json=body), 201)
        return {"id": u["id"], "email": email, "password": body["password"], "user": u}

    def report(self, user=None, **params):
        return self.api.get(PATH, token=self.tok(user), params=params)

    def report_ok(self, user=None, **params):
        rep = assert_json(self.report(user, **params))
        assert_shape(rep)
        return rep


def near(api_ts, planned, what):
    got = parse_ts(api_ts)
    assert abs((got - planned).total_seconds()) < 30, f"{what}: {api_ts}, planned {fmt_ts(planned)}"


class Plan:
    """Steps at planned instants, run in time order with the test clock; the model of what they
    make (planned instants, not the server's) is what `expected()` reads."""

    def __init__(self, rx):
        self.rx = rx
        self.steps = []
        self.consultations = []
        self.cases = []
        self.ids = {}

    def step(self, when, fn):
        self.steps.append((when, len(self.steps), fn))

    def run(self):
        current = None
        for when, _, fn in sorted(self.steps, key=lambda s: (s[0], s[1])):
            if when != current:
                self.rx.at(when)
                current = when
            fn()

    # -- consultations --

    def consultation(self, name, sub, rc, gp=None, to=None, region=None, days=3, answered=None,
                     closed=None, outcome=None, withdrawn=None):
        rx, w = self.rx, self.rx.w
        gp, to = gp or w.gp, to or w.c1
        m = SimpleNamespace(name=name, region=region or w.region, submitted=sub, rc=rc,
                            due=workdays_add(sub, days), answered=answered, closed=closed, outcome=outcome)
        self.consultations.append(m)

        def submit():
            body = w.body(to=to, referral_contemplated=rc, patient=anonymous_patient())
            c = assert_json(rx.api.post("/v1/consultations", token=rx.tok(gp), json=body), 201)
            near(c["submitted_at"], sub, f"{name} submitted_at")
            # the due date the server computed agrees with the calendar here
            near(c["due_at"], m.due, f"{name} due_at")
            self.ids[name] = c["id"]
            if answered is not None:
                assert_json(rx.api.post(f"/v1/consultations/{c['id']}/accept", token=rx.tok(to)))
        self.step(sub, submit)
        if answered is not None:
            def answer():
                c = assert_json(rx.api.post(f"/v1/consultations/{self.ids[name]}/answer", token=rx.tok(to),
                                            json=dict(ANSWER)))
                near(c["answered_at"], answered, f"{name} answered_at")
            self.step(answered, answer)
        if closed is not None:
            def close():
                c = assert_json(rx.api.post(f"/v1/consultations/{self.ids[name]}/close", token=rx.tok(gp),
                                            json={"referral_outcome": outcome, "value": 4}))
                assert c["status"] == "closed", c
                near(c["closed_at"], closed, f"{name} closed_at")
            self.step(closed, close)
        if withdrawn is not None:
            def withdraw():
                c = assert_json(rx.api.post(f"/v1/consultations/{self.ids[name]}/withdraw", token=rx.tok(gp),
                                            json={"reason": "Patiënt is inmiddels verwezen."}))
                assert c["status"] == "withdrawn", c
            self.step(withdrawn, withdraw)

    # -- cases --

    def case(self, name, created, actions=(), creator=None, coord=None, region=None):
        """`actions`: (instant, kind) with kind intake, return, resubmit, escalate, deescalate,
        resolve (regie first), close."""
        rx, w = self.rx, self.rx.w
        creator, coord = creator or w.gp, coord or w.coord
        level = top = 0
        resolved = closed = None
        for when, kind in actions:
            if kind == "intake":
                level = 1
            elif kind == "escalate":
                level += 1
            elif kind == "deescalate":
                level -= 1
            elif kind == "resolve":
                resolved = when
            elif kind == "close":
                closed = when
            top = max(top, level)
        self.cases.append(SimpleNamespace(name=name, region=region or w.region, created=created, max_level=top,
                                          level=level, resolved=resolved, closed=closed))

        def register():
            body = {"title": f"Vastgelopen verwijzing {tag()}",
                    "summary": "Man met een angststoornis en schulden; niemand pakt de regie.",
                    "stagnation": "Verwijzingen over en weer.", "attempts": "Twee verwijzingen.",
                    "proposed_solution": "Een casusoverleg met een vaste regiehouder.",
                    "parties": [{"organisation_id": w.mhp["id"], "role": "GGZ-aanbieder"}],
                    "patient": anonymous_patient(age=41, sex="m"), "reported_by": "professional"}
            c = assert_json(rx.api.post("/v1/cases", token=rx.tok(creator), json=body), 201)
            near(c["registered_at"], created, f"{name} registered_at")
            assert c["region"] == (region or w.region), c
            self.ids[name] = c["id"]
        self.step(created, register)

        def act(kind, when):
            def fn():
                cid = self.ids[name]
                post = lambda action, who, json=None: assert_json(rx.api.post(  # noqa: E731
                    f"/v1/cases/{cid}/{action}", token=rx.tok(who), **({} if json is None else {"json": json})))
                if kind == "intake":
                    post("intake", coord, {"work_done": True, "note": "Informatie is compleet."})
                elif kind == "return":
                    c = post("intake", coord, {"work_done": False, "note": "Eerst de verwijsbrief toevoegen."})
                    assert c["status"] == "returned", c
                elif kind == "resubmit":
                    c = post("resubmit", creator)
                    assert c["status"] == "registered", c
                elif kind in ("escalate", "deescalate"):
                    post(kind, coord, {"reason": "Geen beweging na het casusoverleg."})
                elif kind == "resolve":
                    assert_json(rx.api.put(f"/v1/cases/{cid}/regie", token=rx.tok(coord),
                                           json={"organisation_id": w.mhp["id"]}))
                    c = post("resolve", coord, {"solution": "GGZ start behandeling, gemeente regelt schuldhulp."})
                    near(c["resolved_at"], when, f"{name} resolved_at")
                elif kind == "close":
                    c = post("close", coord, {"note": "Afgerond na evaluatie."})
                    near(c["closed_at"], when, f"{name} closed_at")
                else:
                    raise ValueError(kind)
            return fn
        for when, kind in actions:
            self.step(when, act(kind, when))


def build(rx):
    """The data set (times in UTC). Region R = rx.w.region unless `region` is given. In the comments
    h = working hours from submission to answer, "due" = 3 working days after submission (c1)."""
    p = Plan(rx)
    w = rx.w
    c = p.consultation
    # before the period; closed exactly around its start (00:00 Amsterdam = 23:00 UTC in winter)
    c("I", utc(2025, 2, 24, 10), True, answered=utc(2025, 2, 26, 10), closed=utc(2025, 3, 2, 23, 30),
      outcome="avoided")                                                    # closed in (00:30 on 3 March)
    c("K", utc(2025, 2, 24, 11), True, answered=utc(2025, 2, 25, 11), closed=utc(2025, 3, 2, 22, 30),
      outcome="avoided")                                                    # closed out (23:30 on 2 March)
    # submitted on a Sunday at 23:30 Amsterdam (out), answered Monday 10:00: h = 10, within
    c("A", utc(2025, 3, 2, 22, 30), True, answered=utc(2025, 3, 3, 10))
    # submitted on Monday 00:30 Amsterdam (in; Sunday in UTC), answered Friday: h = 106, late (due Wed 23:30)
    c("B", utc(2025, 3, 2, 23, 30), False, answered=utc(2025, 3, 7, 10), closed=utc(2025, 3, 10, 10),
      outcome="not_needed")
    # Friday 16:00 to Monday 10:00: h = 18, within
    c("C", utc(2025, 3, 14, 16), True, answered=utc(2025, 3, 17, 10), closed=utc(2025, 3, 20, 10),
      outcome="avoided")
    # the other region (c3, 5 working days): h = 24
    c("O1", utc(2025, 4, 1, 10), True, gp=rx.gp_o, to=w.c3, region=w.other_region, days=5,
      answered=utc(2025, 4, 2, 10))
    # Thursday to Tuesday over Good Friday (a working day) and Easter Monday: h = 12 + 24 + 12 = 48, within
    c("D", utc(2025, 4, 17, 12), True, answered=utc(2025, 4, 22, 12), closed=utc(2025, 4, 25, 10),
      outcome="still_needed")
    # submitted on Liberation Day 2025 (a holiday), answered a minute before due (Thu 8 May 10:00): within
    c("G", utc(2025, 5, 5, 10), True, answered=utc(2025, 5, 8, 9, 59))
    # withdrawn: counts as submitted only
    c("J", utc(2025, 5, 12, 10), True, withdrawn=utc(2025, 5, 13, 10))
    # over Ascension Day, answered a minute after due (Mon 2 June 10:00): late, h = 72 + 1/60
    c("H", utc(2025, 5, 27, 10), False, answered=utc(2025, 6, 2, 10, 1))
    # Friday 16:00 to Whit Monday 10:00: h = 8; closed on Friday 13 June 23:30 Amsterdam (in)
    c("E", utc(2025, 6, 6, 16), False, answered=utc(2025, 6, 9, 10), closed=utc(2025, 6, 13, 21, 30),
      outcome="initiated")
    # answered on Saturday 14 June 00:30 Amsterdam (out)
    c("F", utc(2025, 6, 11, 9), True, answered=utc(2025, 6, 13, 22, 30))
    # submitted at 23:30 (in) and 00:30 (out) Amsterdam around the end of the period; left open
    c("M", utc(2025, 6, 13, 21, 30), True)
    c("L", utc(2025, 6, 13, 22, 30), False)

    k = p.case
    # resolved out (23:30 on 2 March), closed in (00:30 on 3 March)
    k("K7", utc(2025, 2, 3, 10), [(utc(2025, 2, 4, 10), "intake"), (utc(2025, 3, 2, 22, 30), "resolve"),
                                   (utc(2025, 3, 2, 23, 30), "close")])
    # registered before the period, returned, resubmitted in it: not registered in the period
    k("K8", utc(2025, 2, 27, 10), [(utc(2025, 2, 28, 10), "return"), (utc(2025, 3, 5, 10), "resubmit")])
    # registered out (23:30 on 2 March); resolved in: 17 days 11.5 hours
    k("K1", utc(2025, 3, 2, 22, 30), [(utc(2025, 3, 3, 9), "intake"), (utc(2025, 3, 4, 10), "escalate"),
                                       (utc(2025, 3, 20, 10), "resolve")])
    # registered in (00:30 on 3 March); up to 3 and back to 2; resolved after 43 days 10.5 hours; closed in
    k("K2", utc(2025, 3, 2, 23, 30), [(utc(2025, 3, 3, 9), "intake"), (utc(2025, 3, 10, 10), "escalate"),
                                       (utc(2025, 3, 17, 10), "escalate"), (utc(2025, 3, 24, 10), "deescalate"),
                                       (utc(2025, 4, 15, 10), "resolve"), (utc(2025, 5, 1, 10), "close")])
    # level 1 only; resolved after 10 days; closed on 14 June 00:30 Amsterdam (out)
    k("K3", utc(2025, 4, 1, 10), [(utc(2025, 4, 2, 10), "intake"), (utc(2025, 4, 11, 10), "resolve"),
                                   (utc(2025, 6, 13, 22, 30), "close")])
    # the other region (its coordinator registers and takes in): resolved after 2 days
    k("KO", utc(2025, 4, 1, 10), [(utc(2025, 4, 1, 11), "intake"), (utc(2025, 4, 3, 10), "resolve")],
      creator=w.coord_b, coord=w.coord_b, region=w.other_region)
    # up to level 4, open
    k("K4", utc(2025, 5, 1, 10), [(utc(2025, 5, 2, 10), "intake"), (utc(2025, 5, 6, 10), "escalate"),
                                   (utc(2025, 5, 7, 10), "escalate"), (utc(2025, 5, 8, 10), "escalate")])
    # never taken in (level 0): registered at 23:30 (in) and 00:30 (out) Amsterdam around the end
    k("K5", utc(2025, 6, 13, 21, 30))
    k("K6", utc(2025, 6, 13, 22, 30))
    p.run()
    return p


@pytest.fixture(scope="module")
def rx(pg):
    server = migrated_server(pg, DB_NAME, "reports")
    conn = pg.connect(DB_NAME)
    r = Rep(server, conn)
    try:
        yield r
    finally:
        try:
            r.real_time()
        finally:
            conn.close()
            server.stop()


@pytest.fixture(scope="module")
def data(rx):
    try:
        p = build(rx)
    finally:
        rx.real_time()
    # the cases reached the levels planned
    for m in p.cases:
        c = assert_json(rx.api.get(f"/v1/cases/{p.ids[m.name]}", token=rx.tok(rx.w.coord_b if m.region != rx.w.region
                                                                              else rx.w.coord)))
        assert c["level"] == m.level, (m.name, c["level"], m.level)
    return p


# ---- the SQL calendar ----

def test_is_workday_and_easter_agree_with_the_calendar_every_day_2000_2100(rx):
    with rx.conn.cursor() as cur:
        cur.execute("SELECT d::date FROM generate_series('2000-01-01'::date, '2100-12-31'::date, interval '1 day') d"
                    " WHERE NOT is_workday(d::date)")
        sql_off = {row[0] for row in cur.fetchall()}
        cur.execute("SELECT y, easter(y) FROM generate_series(2000, 2100) y")
        sql_easter = dict(cur.fetchall())
    # the Python computus itself, on known Easter Sundays
    for known in (date(2000, 4, 23), date(2008, 3, 23), date(2011, 4, 24), date(2019, 4, 21), date(2024, 3, 31),
                  date(2025, 4, 20), date(2038, 4, 25), date(2100, 3, 28)):
        assert du_easter(known.year) == known, known
    assert sql_easter == {y: du_easter(y) for y in range(2000, 2101)}
    py_off = set()
    d = date(2000, 1, 1)
    while d <= date(2100, 12, 31):
        if not is_workday(d):
            py_off.add(d)
        d += timedelta(days=1)
    assert sql_off == py_off, (sorted(sql_off - py_off)[:20], sorted(py_off - sql_off)[:20])
    # the calendar is not trivially empty: known days
    for day in (date(2025, 4, 21), date(2025, 5, 5), date(2025, 5, 29), date(2025, 6, 9), date(2014, 4, 26),
                date(2020, 5, 5), date(2025, 12, 25), date(2025, 12, 26), date(2027, 1, 1)):
        assert day in sql_off, day
    for day in (date(2025, 4, 18), date(2024, 5, 6), date(2026, 5, 5), date(2025, 4, 25), date(2014, 4, 28)):
        assert day not in sql_off, day


WORKING_HOURS = [
    ("2025-03-14 16:00Z", "2025-03-17 10:00Z", "18"),            # over a weekend
    ("2025-06-06 16:00Z", "2025-06-09 10:00Z", "8"),             # into Whit Monday
    ("2025-04-17 12:00Z", "2025-04-22 12:00Z", "48"),            # over Good Friday and Easter Monday
    ("2025-03-04 09:00Z", "2025-03-04 17:30Z", "8.5"),           # within a day
    ("2025-03-04 09:00Z", "2025-03-04 09:00Z", "0"),             # a == b
    ("2025-03-15 12:00Z", "2025-03-15 12:00Z", "0"),             # a == b on a Saturday
    ("2025-03-15 10:00Z", "2025-03-17 10:00Z", "10"),            # from a Saturday
    ("2025-03-14 10:00Z", "2025-03-15 00:00Z", "14"),            # to the first instant of a Saturday
    ("2025-03-15 10:00Z", "2025-03-16 20:00Z", "0"),             # within a weekend
    ("2025-06-06 18:00+02", "2025-06-09 12:00+02", "8"),         # offsets other than UTC
    ("2025-05-05 10:00Z", "2025-05-08 09:59Z", None),            # from Liberation Day: Python computes
    ("2025-01-01 00:00Z", "2026-01-01 00:00Z", None),            # a whole year: 24 h per working day
]


@pytest.mark.parametrize("a,b,hours", WORKING_HOURS, ids=[f"{a}..{b}" for a, b, _ in WORKING_HOURS])
def test_working_hours(rx, a, b, hours):
    with rx.conn.cursor() as cur:
        cur.execute("SELECT working_hours(%s::timestamptz, %s::timestamptz), %s::timestamptz, %s::timestamptz",
                    (a, b, a, b))
        got, ta, tb = cur.fetchone()
    want = working_hours(ta, tb).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert got == want, (got, want)
    if hours is not None:
        assert got == Decimal(hours), got


def test_working_hours_of_a_year_is_24_per_working_day(rx):
    n = sum(is_workday(date(2025, 1, 1) + timedelta(days=i)) for i in range(365))
    assert n == 365 - 104 - 7  # 2025: 104 weekend days; 1 Jan, Easter Monday, 5 May, Ascension, Whit Monday, 25, 26 Dec
    with rx.conn.cursor() as cur:
        cur.execute("SELECT working_hours('2025-01-01 00:00Z', '2026-01-01 00:00Z')")
        assert cur.fetchone()[0] == 24 * n


# ---- the figures ----

def test_the_main_period_written_out(rx, data):
    """The main period of region R as worked out by hand (this also checks `expected()`)."""
    want = {
        "region": rx.w.region, "from": "2025-03-03", "to": "2025-06-13",
        "consultations": {
            # B C D G J H E F M; of those C D G J F M contemplated a referral
            "submitted": 9, "referral_contemplated": 6,
            # A B C D G H E; B and H late
            "answered": 7, "answered_within_target": 5, "answered_within_target_pct": 71.4,
            # 8, 10, 18, 48, 57.98, 72.02, 106
            "median_response_hours": 48.0,
            # I C (avoided), D (still_needed), B (not_needed), E (initiated)
            "closed": 5, "outcomes": {"avoided": 2, "still_needed": 1, "not_needed": 1, "initiated": 1},
        },
        "cases": {
            # K2 (3), K3 (1), K4 (4), K5 (never taken in)
            "registered": 4, "by_level": {"1": 1, "2": 0, "3": 1, "4": 1},
            # K1 17.48, K2 43.44, K3 10
            "resolved": 3, "median_days_to_resolution": 17.5,
            # K7, K2
            "closed": 2,
        },
    }
    assert expected(data, FROM, TO, rx.w.region) == want
    got = rx.report_ok(rx.w.coord, **{"from": "2025-03-03", "to": "2025-06-13"})
    assert_same(got, want)


def test_every_region_and_the_other_region(rx, data):
    w = rx.w
    span = {"from": FROM.isoformat(), "to": TO.isoformat()}
    everything = expected(data, FROM, TO, None)
    # with O1 (24 h) and KO (2 days) the medians are of an even number: the mean of the middle two
    assert everything["consultations"]["median_response_hours"] == 36.0
    assert everything["cases"]["median_days_to_resolution"] == 13.7
    assert_same(rx.report_ok(**span), everything)
    assert_same(rx.report_ok(region=w.region, **span), expected(data, FROM, TO, w.region))
    other = expected(data, FROM, TO, w.other_region)
    assert other["consultations"]["answered"] == 1 and other["cases"]["resolved"] == 1
    assert_same(rx.report_ok(region=w.other_region, **span), other)
    # the other region's coordinator gets their own region, with or without naming it
    assert_same(rx.report_ok(w.coord_b, **span), other)
    assert_same(rx.report_ok(w.coord_b, region=w.other_region, **span), other)


# Periods around the edges and elsewhere: (from, to).
PERIODS = [
    ("2025-03-02", "2025-03-02"),   # the day before: A, K7 resolved, K closed, K1 registered (all 22:30 UTC)
    ("2025-03-03", "2025-03-03"),   # the first day: B, I closed, K2, K7 closed (23:30 UTC the day before)
    ("2025-06-13", "2025-06-13"),   # the last day: E closed, M, K5 (21:30 UTC)
    ("2025-06-14", "2025-06-14"),   # the day after: F answered, L, K6, K3 closed (22:30 UTC the day before)
    ("2025-02-01", "2025-02-28"),
    ("2025-03-01", "2025-03-31"),
    ("2025-04-01", "2025-04-30"),
    ("2025-05-01", "2025-05-31"),
    ("2025-06-01", "2025-06-30"),
    ("2025-05-08", "2025-06-02"),   # G answered within, H late
    ("2025-01-01", "2025-12-31"),
    ("2000-01-01", "2100-12-31"),   # the widest period allowed
    ("2024-01-01", "2024-12-31"),   # nothing
]


@pytest.mark.parametrize("frm,to", PERIODS, ids=[f"{a}..{b}" for a, b in PERIODS])
@pytest.mark.parametrize("scope", ["coordinator", "admin-region", "admin-all"])
def test_periods(rx, data, frm, to, scope):
    w = rx.w
    if scope == "coordinator":
        got, region = rx.report_ok(w.coord, **{"from": frm, "to": to}), w.region
    elif scope == "admin-region":
        got, region = rx.report_ok(region=w.region, **{"from": frm, "to": to}), w.region
    else:
        got, region = rx.report_ok(**{"from": frm, "to": to}), None
    assert_same(got, expected(data, date.fromisoformat(frm), date.fromisoformat(to), region))


def test_the_edge_days_are_not_empty(rx, data):
    """The edge periods above do test something: each edge day holds events on both sides."""
    r = rx.w.region
    before = expected(data, date(2025, 3, 2), date(2025, 3, 2), r)
    first = expected(data, date(2025, 3, 3), date(2025, 3, 3), r)
    last = expected(data, date(2025, 6, 13), date(2025, 6, 13), r)
    after = expected(data, date(2025, 6, 14), date(2025, 6, 14), r)
    assert before["consultations"]["submitted"] == 1 and first["consultations"]["submitted"] == 1
    assert before["consultations"]["closed"] == 1 and first["consultations"]["closed"] == 1
    assert before["cases"]["registered"] == 1 and first["cases"]["registered"] == 1
    assert before["cases"]["resolved"] == 1 and first["cases"]["closed"] == 1
    assert last["consultations"]["submitted"] == 1 and after["consultations"]["submitted"] == 1
    assert last["consultations"]["closed"] == 1 and after["consultations"]["answered"] == 1
    assert last["cases"]["registered"] == 1 and after["cases"]["registered"] == 1
    assert after["cases"]["closed"] == 1


def assert_same(got, want):
    assert_shape(got)
    assert got == want, diff(got, want)


# A case taken in (level 1) and never escalated counts under "1": intake raises max_level too
# (it once did not, and by_level."1" was always 0).
def test_by_level_counts_the_cases_that_stayed_at_level_1(rx, data):
    w = rx.w
    span = {"from": FROM.isoformat(), "to": TO.isoformat()}
    # K3 was taken in and resolved at level 1; it was registered in the main period
    assert rx.report_ok(w.coord, **span)["cases"]["by_level"] == {"1": 1, "2": 0, "3": 1, "4": 1}
    # the whole year: K7, K3 (and K1 at 2, K2 at 3, K4 at 4; K8, K5, K6 never at a level)
    year = rx.report_ok(w.coord, **{"from": "2025-01-01", "to": "2025-12-31"})
    assert year["cases"]["by_level"] == {"1": 2, "2": 1, "3": 1, "4": 1}, year
    # every region: KO as well
    year = rx.report_ok(**{"from": "2025-01-01", "to": "2025-12-31"})
    assert year["cases"]["by_level"] == {"1": 3, "2": 1, "3": 1, "4": 1}, year


def diff(got, want, path=""):
    out = []
    if isinstance(got, dict) and isinstance(want, dict):
        for k in sorted(set(got) | set(want)):
            out += diff(got.get(k, "<absent>"), want.get(k, "<absent>"), f"{path}.{k}")
    elif got != want:
        out.append(f"{path}: got {got!r}, want {want!r}")
    return out


def test_an_empty_period_is_zeros_and_nulls(rx, data):
    w = rx.w
    assert_same(rx.report_ok(w.coord, **{"from": "2024-06-01", "to": "2024-06-30"}),
                zeros(w.region, "2024-06-01", "2024-06-30"))
    assert_same(rx.report_ok(**{"from": "2030-01-01", "to": "2030-01-01"}), zeros(None, "2030-01-01", "2030-01-01"))
    # a region nobody is in
    assert_same(rx.report_ok(region="nergens-te-vinden", **{"from": "2025-01-01", "to": "2025-12-31"}),
                zeros("nergens-te-vinden", "2025-01-01", "2025-12-31"))


def test_a_period_with_submissions_only_has_null_pct_and_median(rx, data):
    # 12-13 May: J submitted and withdrawn, nothing answered or resolved
    got = rx.report_ok(rx.w.coord, **{"from": "2025-05-12", "to": "2025-05-13"})
    assert got["consultations"]["submitted"] == 1 and got["consultations"]["answered"] == 0, got
    assert got["consultations"]["answered_within_target_pct"] is None
    assert got["consultations"]["median_response_hours"] is None
    assert got["cases"]["median_days_to_resolution"] is None


# ---- who may ask ----

@pytest.mark.parametrize("role", ["gp", "poh", "consultant", "billing"])
def test_other_roles_are_refused(rx, role):
    w = rx.w
    user = {"gp": w.gp, "poh": w.poh, "consultant": w.c1, "billing": w.billing}[role]
    for params in ({"from": "2025-01-01", "to": "2025-12-31"}, {"from": "2025-01-01", "to": "2025-12-31",
                                                                  "region": w.region}):
        assert_problem(rx.report(user, **params), 403, "/problems/forbidden")


def test_no_token_is_401(rx):
    assert_problem(rx.api.get(PATH, params={"from": "2025-01-01", "to": "2025-12-31"}), 401,
                   "/problems/unauthorized")


def denied_audits(rx, actor_id):
    with rx.conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM audit_log WHERE action = 'reports.summary' AND outcome = 'denied'"
                    " AND actor_id = %s", (actor_id,))
        return cur.fetchone()[0]


def test_a_coordinator_may_not_ask_for_another_region(rx, data):
    w = rx.w
    span = {"from": "2025-01-01", "to": "2025-12-31"}
    before = denied_audits(rx, w.coord_b["id"])
    assert_problem(rx.report(w.coord_b, region=w.region, **span), 403, "/problems/forbidden")
    assert denied_audits(rx, w.coord_b["id"]) == before + 1
    # nor for a region where nobody is
    assert_problem(rx.report(w.coord_b, region="nergens-te-vinden", **span), 403, "/problems/forbidden")
    assert denied_audits(rx, w.coord_b["id"]) == before + 2
    # and the coordinator of R not for the other region
    assert_problem(rx.report(w.coord, region=w.other_region, **span), 403, "/problems/forbidden")
    # their own region, named or not, is fine (and not audited as denied)
    before_r = denied_audits(rx, w.coord["id"])
    a = rx.report_ok(w.coord, **span)
    b = rx.report_ok(w.coord, region=w.region, **span)
    assert a == b and a["region"] == w.region
    assert denied_audits(rx, w.coord["id"]) == before_r


def test_refused_roles_are_audited_as_denied(rx):
    w = rx.w
    before = denied_audits(rx, w.gp["id"])
    assert_problem(rx.report(w.gp, **{"from": "2025-01-01", "to": "2025-12-31"}), 403, "/problems/forbidden")
    assert denied_audits(rx, w.gp["id"]) == before + 1


def test_admin_region_echo(rx, data):
    span = {"from": "2025-03-03", "to": "2025-06-13"}
    assert rx.report_ok(**span)["region"] is None
    assert rx.report_ok(region=rx.w.region, **span)["region"] == rx.w.region
    assert rx.report_ok(**span)["from"] == "2025-03-03" and rx.report_ok(**span)["to"] == "2025-06-13"


# ---- bad input ----

BAD = [
    ({"to": "2025-12-31"}, {"from"}),
    ({"from": "2025-01-01"}, {"to"}),
    ({}, {"from", "to"}),
    ({"from": "", "to": "2025-12-31"}, {"from"}),
    ({"from": "2025-13-01", "to": "2025-12-31"}, {"from"}),
    ({"from": "2025-02-29", "to": "2025-12-31"}, {"from"}),
    ({"from": "2025-1-1", "to": "2025-12-31"}, {"from"}),
    ({"from": "20250101", "to": "2025-12-31"}, {"from"}),
    ({"from": "2025-01-01T00:00:00Z", "to": "2025-12-31"}, {"from"}),
    ({"from": "2025-01-01", "to": "2025-06-31"}, {"to"}),
    ({"from": "2025-01-01", "to": "gisteren"}, {"to"}),
    ({"from": "2025-06-02", "to": "2025-06-01"}, {"to"}),
    ({"from": "1999-12-31", "to": "2000-01-01"}, {"from"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "region": ""}, {"region"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "region": "a"}, {"region"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "region": "Utrecht"}, {"region"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "region": "noord_oost"}, {"region"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "region": "a" * 65}, {"region"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "limit": "10"}, {"limit"}),
    ({"from": "2025-01-01", "to": "2025-12-31", "organisation_id": str(uuid.uuid4())}, {"organisation_id"}),
]


@pytest.mark.parametrize("who", ["admin", "coordinator"])
@pytest.mark.parametrize("params,fields", BAD, ids=[repr(p) for p, _ in BAD])
def test_bad_query(rx, who, params, fields):
    user = None if who == "admin" else rx.w.coord
    p = assert_problem(rx.report(user, **params), 400, "/problems/bad-query")
    assert error_fields(p) == fields, p


@pytest.mark.parametrize("frm,to", [("2025-01-01", "2101-01-01"), ("2101-01-01", "2101-01-02")])
def test_years_after_2100_are_refused(rx, frm, to):
    p = assert_problem(rx.report(None, **{"from": frm, "to": to}), 400, "/problems/bad-query")
    # the field named is the first one past 2100
    assert error_fields(p) == ({"to"} if frm < "2101" else {"from"}), p


def test_a_region_of_64_characters_and_single_days_are_fine(rx, data):
    r = "a" * 64
    assert_same(rx.report_ok(region=r, **{"from": "2025-06-13", "to": "2025-06-13"}),
                zeros(r, "2025-06-13", "2025-06-13"))
    assert rx.report_ok(**{"from": "2000-01-01", "to": "2000-01-01"})["region"] is None
    assert rx.report_ok(**{"from": "2100-12-31", "to": "2100-12-31"})["to"] == "2100-12-31"
