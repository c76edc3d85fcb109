"""Clinical text at rest (docs/encryption.md): every free text of consultations and cases, and every
identity, is sealed before it reaches the database. This module plants a distinctive word in each
text field the API takes, reads it all back through the API, and then greps a full pg_dump of the
suite's shared database for those words, the default texts every other test module writes, and the
identities. Named to run last (pytest runs modules in name order), so the dump holds what the whole
suite wrote before it."""

import subprocess
from datetime import timedelta

import pytest

from case_helpers import CaseWorld, today_ams
from conftest import assert_json, uid
from consult_helpers import ANSWER, World, consented_patient

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
NAME = "Testpatiënt Vergetelheid"
BSN = "111222333"
BIRTH = "1971-04-19"

# What the other modules write as default texts (consult_helpers, case_helpers): none may be in
# the dump either, and they were written by the whole suite before this module.
SUITE_TEXTS = [
    "Vrouw met toenemende angstklachten en slecht slapen",
    ANSWER["advice"],
    "Man met een angststoornis en schulden",
    "Niemand neemt de regie; de wachtlijst van de GGZ loopt op.",
    "Twee keer verwezen, overleg met de POH-GGZ",
    "Een casusoverleg met GGZ en gemeente en een vaste regiehouder.",
    "Kunt u iets zeggen over de dosering?",
    "Geen beweging na het casusoverleg.",
    "Intake plannen binnen twee weken.",
]


def planted(field):
    """A word found nowhere else, naming the field it was planted in."""
    return f"Geheim{field.replace('_', '').capitalize()}{uid()}"


@pytest.fixture(scope="module")
def words():
    return {}


@pytest.fixture(scope="module")
def consultation_texts(api, factory, admin_token, words):
    """Every text of a consultation's life, consented and anonymous, read back through the API."""
    w = World(api, factory, admin_token, prefix="ar")
    for f in ("subject", "question", "next_step", "message", "answer", "note", "location",
              "decline", "withdraw"):
        words[f] = planted(f)
    p = consented_patient(name=NAME, birth_date=BIRTH, bsn=BSN, method="written")
    c = w.create_ok(to=w.c1, patient=p, subject=f"Vraag {words['subject']}",
                    question=f"Mevrouw {NAME}, BSN {BSN}: {words['question']}",
                    proposed_next_step=f"Verwijzen? {words['next_step']}")
    cid = c["id"]
    assert c["subject"] == f"Vraag {words['subject']}" and c["patient"]["bsn"] == BSN
    w.act_ok(cid, "accept", w.c1["token"])
    assert_json(api.post(f"/v1/consultations/{cid}/messages", token=w.gp["token"],
                         json={"body": f"Aanvulling {words['message']}"}), 201)
    start = (today_ams() + timedelta(days=3)).isoformat() + "T09:00:00Z"
    assert_json(api.post(f"/v1/consultations/{cid}/appointments", token=w.c1["token"],
                         json={"kind": "on_location", "starts_at": start, "duration_minutes": 30,
                               "location": f"Praktijk {words['location']}"}), 201)
    w.act_ok(cid, "answer", w.c1["token"], dict(ANSWER, advice=f"Advies {words['answer']}"))
    closed = w.act_ok(cid, "close", w.gp["token"],
                      {"referral_outcome": "avoided", "value": 4, "note": f"Goed {words['note']}"})
    # declined and withdrawn ones carry their reasons in the timeline
    d = w.create_ok(to=w.c1)
    w.act_ok(d["id"], "decline", w.c1["token"], {"reason": f"Geen tijd {words['decline']}"})
    x = w.create_ok(to=w.c1)
    withdrawn = w.act_ok(x["id"], "withdraw", w.gp["token"], {"reason": f"Opgelost {words['withdraw']}"})
    msgs = assert_json(api.get(f"/v1/consultations/{cid}/messages", token=w.gp["token"]))
    return {"closed": closed, "withdrawn": withdrawn, "messages": msgs, "w": w}


@pytest.fixture(scope="module")
def case_texts(api, factory, admin_token, words):
    """Every text of an escalation case's life, read back through the API."""
    w = CaseWorld(api, factory, admin_token, prefix="arc")
    for f in ("title", "summary", "stagnation", "attempts", "solution_proposed", "intake",
              "escalate", "deescalate", "action", "result", "agenda", "notebody", "solution",
              "closenote", "edited", "returned"):
        words[f] = planted(f)
    p = consented_patient(name=NAME, birth_date=BIRTH, bsn=BSN, method="written")
    c = w.create_ok(patient=p, title=f"Casus {words['title']}", summary=f"Samenvatting {words['summary']}",
                    stagnation=f"Stagnatie {words['stagnation']}", attempts=f"Pogingen {words['attempts']}",
                    proposed_solution=f"Voorstel {words['solution_proposed']}")
    cid = c["id"]
    assert c["title"] == f"Casus {words['title']}"
    # returned for more information, edited by the practice, resubmitted, taken in
    w.intake(cid, work_done=False, note=f"Aanvullen {words['returned']}")
    assert_json(w.patch(cid, w.gp["token"], {"summary": f"Bijgewerkt {words['edited']}"}))
    w.act_ok(cid, "resubmit", w.gp["token"])
    w.intake(cid, note=f"Compleet {words['intake']}")
    w.escalate(cid, reason=f"Vast {words['escalate']}")
    w.act_ok(cid, "deescalate", w.coord["token"], {"reason": f"Beter {words['deescalate']}"})
    a = w.add_action(cid, description=f"Actie {words['action']}")
    w.act_ok(cid, f"actions/{a['id']}", w.c1["token"], {"status": "done", "result": f"Gedaan {words['result']}"},
             method="PATCH")
    starts = (today_ams() + timedelta(days=5)).isoformat() + "T10:00:00Z"
    w.act_ok(cid, "conferences", w.coord["token"],
             {"starts_at": starts, "participants": [w.mhp["id"]], "agenda": f"Agenda {words['agenda']}"},
             status=201)
    w.act_ok(cid, "notes", w.coord["token"], {"body": f"Notitie {words['notebody']}"}, status=201)
    w.set_regie(cid)
    w.act_ok(cid, "resolve", w.coord["token"], {"solution": f"Oplossing {words['solution']}"})
    closed = w.act_ok(cid, "close", w.coord["token"], {"note": f"Klaar {words['closenote']}"})
    cases = w.api.list_all("/v1/cases", w.coord["token"])
    return {"closed": closed, "list": cases}


def test_texts_read_back_as_written(consultation_texts, case_texts, words):
    c = consultation_texts["closed"]
    assert c["proposed_next_step"] == f"Verwijzen? {words['next_step']}"
    assert c["answer"]["advice"] == f"Advies {words['answer']}"
    assert c["outcome"]["note"] == f"Goed {words['note']}"
    assert consultation_texts["messages"]["items"][0]["body"] == f"Aanvulling {words['message']}"
    assert [e["detail"] for e in consultation_texts["withdrawn"]["timeline"]][-1] == f"Opgelost {words['withdraw']}"
    k = case_texts["closed"]
    assert k["summary"] == f"Bijgewerkt {words['edited']}" and k["solution"] == f"Oplossing {words['solution']}"
    details = [e["detail"] for e in k["timeline"]]
    for f, prefix in (("returned", "Aanvullen"), ("intake", "Compleet"), ("escalate", "Vast"), ("notebody", "Notitie"),
                      ("closenote", "Klaar"), ("action", "Actie"), ("result", "Gedaan"), ("agenda", "Agenda")):
        assert f"{prefix} {words[f]}" in details, (f, details)
    # regie: the organisation's name, not a sealed text
    assert any(e["kind"] == "regie_set" and e["detail"].startswith("GGZ Oost") for e in k["timeline"])
    assert k["actions"][0]["result"] == f"Gedaan {words['result']}"
    assert k["conferences"][0]["agenda"] == f"Agenda {words['agenda']}"
    assert any(i["title"] == f"Casus {words['title']}" for i in case_texts["list"])


def test_dump_holds_no_text_and_no_identity(consultation_texts, case_texts, words, pg, main_db_name):
    p = subprocess.run([PG_DUMP, "--no-owner", pg.url(main_db_name)], capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    dump = p.stdout
    assert b"ov1:" in dump  # sanity: the sealed values are there
    needles = list(words.values()) + SUITE_TEXTS + [NAME, BSN, BIRTH]
    found = [n for n in needles if n.encode("utf-8") in dump]
    assert not found, f"in clear in pg_dump: {found}"
