"""Directory search as Dutch GPs and POH-GGZ type it (docs/search.md): a judged query set on a small
fixed directory of its own (a database and server of this module only, so no other test's
consultants take part), and a direct test of each behaviour: compounds both ways, words typed apart,
plurals, abbreviations and synonyms, target groups, disciplines and organisation names, experts
above passing mentions, and a query no one meets in full.

The judged set reports recall@10 and nDCG@10 (graded: 2 = whom a GP asking this wants, 1 = worth
seeing, below those); the figures are recorded in docs/benchmarks.md."""

import math

import pytest

from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api, Factory, assert_json, migrated_server
from directory_helpers import Dir

ORGS = {
    "A": "GGZ Rivierenland",
    "B": "Jeugd-GGZ Zonnedal",
    "C": "Eetstoorniscentrum De Horst",
    "D": "Verslavingszorg Noordkust",
    "E": "Psychologenpraktijk Het Baken",
}

# name: (organisation, discipline, expertise, target groups, bio). Fictional people.
CONSULTANTS = {
    "Anouk Vermaat": ("A", "psychiater", ["angst", "depressie"], ["volwassenen"],
                      "Psychiater voor volwassenen met angststoornissen en depressie. Denkt mee over medicatie."),
    "Bram Hofstede": ("A", "gz_psycholoog", ["angst", "trauma"], ["volwassenen"],
                      "Behandelt paniekklachten en PTSS met EMDR en cognitieve gedragstherapie."),
    "Carmen Olthof": ("B", "kinder_jeugdpsychiater", ["autisme", "adhd"], ["jeugd"],
                      "Diagnostiek van ASS en ADHD bij kinderen en pubers, en advies over school."),
    "Daan Kuipers": ("C", "gz_psycholoog", ["eetstoornis"], ["jeugd", "volwassenen"],
                     "Anorexia en boulimia bij jongeren en jongvolwassenen."),
    "Eline Brouwer": ("A", "psychotherapeut", ["persoonlijkheid", "trauma"], ["volwassenen"],
                      "Schematherapie bij borderline en andere persoonlijkheidsstoornissen."),
    "Frits de Graaf": ("D", "verslavingsarts", ["verslaving", "medicatie"], ["volwassenen", "lvb"],
                       "Alcohol, cannabis en gokken; ook bij cliënten met een licht verstandelijke beperking."),
    "Greet Smulders": ("A", "ouderenpsychiater", ["depressie", "slaap", "medicatie"], ["ouderen"],
                       "Depressie en slapeloosheid op hoge leeftijd, polyfarmacie."),
    "Hamid Bakker": ("A", "spv", ["psychose", "suicidaliteit"], ["epa"],
                     "FACT-team: cliënten met ernstige psychiatrische aandoeningen, psychose en suïcidaliteit."),
    "Inge Lammers": ("A", "klinisch_psycholoog", ["somatisch", "angst"], ["volwassenen", "ouderen"],
                     "SOLK en gezondheidsangst bij chronische ziekte."),
    "Jeroen Wit": ("A", "psychiater", ["bipolair", "psychose", "medicatie"], ["volwassenen", "epa"],
                   "Bipolaire stoornis en lithium; psychotische stoornissen."),
    "Karlijn Mulder": ("E", "gz_psycholoog", ["rouw", "depressie"], ["volwassenen", "perinataal"],
                       "Rouw na het verlies van een kind, depressie in de zwangerschap en na de bevalling."),
    "Lars Dekker": ("E", "gz_psycholoog", ["adhd", "autisme"], ["volwassenen"],
                    "ADHD en autisme bij volwassenen: diagnostiek en psycho-educatie."),
    "Maaike Jonker": ("B", "kinder_jeugdpsychiater", ["angst", "eetstoornis", "depressie"], ["jeugd"],
                      "Kinderen en jongeren met angst, somberheid of een eetstoornis."),
    "Niels Postma": ("D", "psychiater", ["verslaving", "psychose"], ["volwassenen", "epa"],
                     "Dubbele diagnose: psychose en middelengebruik."),
    "Olga Timmer": ("E", "psychotherapeut", ["angst", "depressie"], ["volwassenen"],
                    "Kortdurende therapie. Ook sociale fobie en dwangstoornis (OCD)."),
    "Pieter Zwart": ("B", "gz_psycholoog", ["trauma"], ["jeugd"],
                     "Traumabehandeling bij kinderen na huiselijk geweld."),
    "Roos van Dam": ("A", "psychiater", ["medicatie", "depressie"], ["ouderen", "volwassenen"],
                     "Consultatie over antidepressiva, bijwerkingen en afbouwen."),
    "Sem Visser": ("E", "gz_psycholoog", ["slaap", "angst"], ["volwassenen"],
                   "Slaapproblemen en piekeren; cognitieve gedragstherapie voor insomnia."),
    "Tessa Koster": ("D", "spv", ["verslaving", "suicidaliteit"], ["volwassenen", "lvb"],
                     "Zorgmijders en mensen met een licht verstandelijke beperking en een verslaving."),
    "Umut Yilmaz": ("A", "psychiater", ["depressie", "angst"], ["volwassenen"],
                    "Cultuursensitieve diagnostiek; depressie en angst bij migranten."),
    "Vera Hendriks": ("B", "klinisch_psycholoog", ["persoonlijkheid"], ["jeugd", "volwassenen"],
                      "Persoonlijkheidsproblematiek bij adolescenten."),
    "Wouter Mol": ("A", "psychiater", ["depressie"], ["volwassenen"],
                   "Algemeen psychiater met ervaring in verwijzing naar de specialistische ggz. "
                   "Wie vooral angst heeft, verwijs ik door."),
    "Yara Bos": ("E", "gz_psycholoog", ["trauma", "angst"], ["perinataal", "volwassenen"],
                 "Bevallingstrauma en angst tijdens de zwangerschap."),
    "Zeno Kramer": ("A", "psychiater", ["suicidaliteit", "depressie"], ["jeugd", "volwassenen"],
                    "Suïcidepreventie bij jongeren en volwassenen."),
}


def holding(code):
    """The consultants whose profile holds `code` (a discipline, expertise or target group): grade 2."""
    return {n: 2 for n, (_, disc, exp, tg, _) in CONSULTANTS.items() if code == disc or code in exp or code in tg}


def both(*codes):
    """Those holding every one of `codes`: grade 2."""
    sets = [set(holding(c)) for c in codes]
    return {n: 2 for n in set.intersection(*sets)}


def plus(judged, **mentions):
    """`judged` with more names at the grade given (names with spaces as underscores)."""
    out = dict(judged)
    for k, g in mentions.items():
        out.setdefault(k.replace("_", " "), g)
    return out


ANGST = plus(holding("angst"), Wouter_Mol=1)  # his bio mentions angst, he is no expert in it
DEPRESSIE = holding("depressie")
EETSTOORNIS = holding("eetstoornis")
AUTISME = holding("autisme")
ADHD = holding("adhd")
TRAUMA = holding("trauma")
VERSLAVING = holding("verslaving")
PSYCHOSE = holding("psychose")
MEDICATIE = plus(holding("medicatie"), Anouk_Vermaat=1)

# (query, judged consultants, names a vocabulary code: recall@10 must be 1.0)
JUDGED = [
    # expertise by label, code, plural, compound, words typed apart, lay terms and abbreviations
    ("angst", ANGST, True),
    ("Angststoornissen", ANGST, True),
    ("angststoornis", ANGST, True),
    ("angst stoornis", ANGST, True),
    ("angstklachten", ANGST, True),
    ("paniek", ANGST, True),
    ("paniekaanvallen", ANGST, True),
    ("depressie", DEPRESSIE, True),
    ("depressieve klachten", DEPRESSIE, True),
    ("somberheid", DEPRESSIE, True),
    ("depresie", DEPRESSIE, True),  # typo
    ("eetstoornis", EETSTOORNIS, True),
    ("eetstoornissen", EETSTOORNIS, True),
    ("anorexia", EETSTOORNIS, True),
    ("boulimia nervosa", EETSTOORNIS, True),
    ("eetstornis", EETSTOORNIS, True),  # typo
    ("autisme", AUTISME, True),
    ("ASS", AUTISME, True),
    ("autismespectrumstoornis", AUTISME, True),
    ("autsime", AUTISME, True),  # typo
    ("ADHD", ADHD, True),
    ("aandachtstekortstoornis", ADHD, True),
    ("trauma", TRAUMA, True),
    ("PTSS", TRAUMA, True),
    ("posttraumatische stressstoornis", TRAUMA, True),
    ("verslaving", VERSLAVING, True),
    ("verslavingen", VERSLAVING, True),
    ("alcohol", VERSLAVING, True),
    ("gokverslaving", VERSLAVING, True),
    ("psychose", PSYCHOSE, True),
    ("psychoses", PSYCHOSE, True),
    ("schizofrenie", PSYCHOSE, True),
    ("bipolaire stoornis", holding("bipolair"), True),
    ("manisch depressief", holding("bipolair"), True),
    ("persoonlijkheidsstoornis", holding("persoonlijkheid"), True),
    ("borderline", holding("persoonlijkheid"), True),
    ("suïcidaliteit", holding("suicidaliteit"), True),
    ("suicidaliteit", holding("suicidaliteit"), True),
    ("zelfmoord", holding("suicidaliteit"), True),
    ("slaapproblemen", holding("slaap"), True),
    ("slapeloosheid", holding("slaap"), True),
    ("rouw en verlies", holding("rouw"), True),
    ("SOLK", holding("somatisch"), True),
    ("somatisch onvoldoende verklaarde klachten", holding("somatisch"), True),
    ("medicatie", MEDICATIE, True),
    ("farmacotherapie", MEDICATIE, True),
    ("OCD", ANGST, True),
    # target groups and disciplines
    ("jeugd", holding("jeugd"), True),
    ("jongeren", holding("jeugd"), True),
    ("ouderen", holding("ouderen"), True),
    ("EPA", holding("epa"), True),
    ("ernstige psychiatrische aandoeningen", holding("epa"), True),
    ("LVB", holding("lvb"), True),
    ("licht verstandelijke beperking", holding("lvb"), True),
    ("zwangerschap", holding("perinataal"), True),
    ("perinataal", holding("perinataal"), True),
    ("ouderenpsychiater", holding("ouderenpsychiater"), True),
    ("kinderpsychiater", holding("kinder_jeugdpsychiater"), True),
    ("jeugdpsychiater", holding("kinder_jeugdpsychiater"), True),
    ("psychotherapeut", holding("psychotherapeut"), True),
    ("SPV", holding("spv"), True),
    ("klinisch psycholoog", holding("klinisch_psycholoog"), True),
    ("verslavingsarts", holding("verslavingsarts"), True),
    # needs of two and three words
    ("adhd volwassenen", both("adhd", "volwassenen"), True),
    ("depressie ouderen", both("depressie", "ouderen"), True),
    ("angst bij jongeren", both("angst", "jeugd"), True),
    ("trauma kinderen", both("trauma", "jeugd"), True),
    ("verslaving lvb", both("verslaving", "lvb"), True),
    ("psychose medicatie", both("psychose", "medicatie"), True),
    ("jongere met eetstoornis en autisme",
     {"Maaike Jonker": 2, "Carmen Olthof": 2, "Daan Kuipers": 2, "Lars Dekker": 1}, True),
    # names, organisations and plain words
    ("Smulders", {"Greet Smulders": 2}, False),
    ("hamid", {"Hamid Bakker": 2}, False),
    ("Noordkust", {n: 2 for n, c in CONSULTANTS.items() if c[0] == "D"}, False),
    ("Het Baken", {n: 2 for n, c in CONSULTANTS.items() if c[0] == "E"}, False),
    ("EMDR", {"Bram Hofstede": 2}, False),
    ("schematherapie", {"Eline Brouwer": 2}, False),
    ("stoornis", {"Jeroen Wit": 2}, False),
]


@pytest.fixture(scope="module")
def world(pg):
    s = migrated_server(pg, "t_search_judged", "search")
    api = Api(s.base)
    admin = api.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    factory = Factory(api, admin)
    orgs = {k: factory.make_org("mental_health_provider", region="judged", name=v) for k, v in ORGS.items()}
    d = Dir(api, admin, factory, orgs["A"])
    ids = {}
    for name, (org, disc, exp, tg, bio) in CONSULTANTS.items():
        u = factory.make_user("consultant", org_id=orgs[org]["id"], login=False, name=name)
        body = {"discipline": disc, "expertise": exp, "target_groups": tg, "regions": ["judged"],
                "modes": ["video", "phone"], "languages": ["nl"], "accepting": True, "bio": bio,
                "response_days": 3}
        assert_json(d.put(u["id"], body))
        ids[name] = u["id"]
    yield d, ids, orgs
    s.stop()


def names(d, ids, q, **params):
    by_id = {v: k for k, v in ids.items()}
    return [by_id[c["id"]] for c in d.list(q=q, **params)]


def ndcg_at_10(ranked, judged):
    dcg = sum((2 ** judged.get(n, 0) - 1) / math.log2(i + 2) for i, n in enumerate(ranked[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg


def recall_at_10(ranked, judged):
    return len(set(ranked[:10]) & set(judged)) / len(judged)


def test_judged_query_set(world):
    d, ids, _ = world
    assert len(JUDGED) >= 60
    rows, misses = [], []
    for q, judged, names_code in JUDGED:
        assert 0 < len(judged) <= 10, q  # recall@10 can reach 1.0
        got = names(d, ids, q)
        r, n = recall_at_10(got, judged), ndcg_at_10(got, judged)
        rows.append((q, r, n, names_code))
        if (names_code and r < 1.0) or n < 0.75:
            misses.append((q, round(r, 2), round(n, 2), got[:10], sorted(judged)))
    coded = [r for _, r, _, c in rows if c]
    mean_recall = sum(coded) / len(coded)
    mean_ndcg = sum(n for _, _, n, _ in rows) / len(rows)
    print(f"\njudged query set: {len(rows)} queries; recall@10 {mean_recall:.3f} over the {len(coded)} that name "
          f"a code (minimum {min(coded):.2f}); nDCG@10 {mean_ndcg:.3f} over all (minimum "
          f"{min(n for _, _, n, _ in rows):.2f})")
    assert not misses, misses
    assert min(coded) == 1.0
    assert mean_ndcg >= 0.9


# ---- each behaviour, directly ----

def test_a_word_finds_the_compounds_it_is_part_of(world):
    d, ids, _ = world
    # Wouter's bio says "angst"; Anouk's says "angststoornissen", Bram's "paniekklachten"
    assert {"Anouk Vermaat", "Bram Hofstede", "Wouter Mol"} <= set(names(d, ids, "angst"))
    # a compound finds the concept it names, in an expertise as in a bio
    assert set(names(d, ids, "persoonlijkheidsstoornis")) == {"Eline Brouwer", "Vera Hendriks"}
    assert set(names(d, ids, "autismespectrumstoornis")) == {"Carmen Olthof", "Lars Dekker"}
    assert names(d, ids, "ouderenpsychiater") == ["Greet Smulders"]
    # words typed apart find the compound, plural or not
    assert names(d, ids, "angst stoornis") == names(d, ids, "angststoornissen") == names(d, ids, "angst")
    # a part at the end of a compound ('any' parts): gokverslaving, gezondheidsangst
    assert set(names(d, ids, "gokverslaving")) == set(holding("verslaving"))


def test_a_generic_head_alone_is_no_concept(world):
    d, ids, _ = world
    # "stoornis" is the head of eetstoornis, dwangstoornis, persoonlijkheidsstoornis...: alone it
    # finds only where the word itself stands (a label "Bipolaire stoornis", a bio's "stoornissen")
    assert names(d, ids, "stoornis") == ["Jeroen Wit"]


def test_abbreviations_and_synonyms(world):
    d, ids, _ = world
    for q, code in (("ADHD", "adhd"), ("ASS", "autisme"), ("PTSS", "trauma"), ("OCD", "angst"), ("EPA", "epa"),
                    ("LVB", "lvb"), ("SOLK", "somatisch"), ("SPV", "spv"), ("aandachtstekortstoornis", "adhd"),
                    ("dwangstoornis", "angst"), ("ernstige psychische aandoeningen", "epa")):
        assert set(holding(code)) <= set(names(d, ids, q)), q
        assert set(names(d, ids, q)) <= set(holding(code)) | {"Wouter Mol"}, q  # Wouter: angst in his bio


def test_target_groups_disciplines_and_organisations_are_searched(world):
    d, ids, _ = world
    assert names(d, ids, "adhd volwassenen") == ["Lars Dekker"]
    got = names(d, ids, "jeugd")  # the target group first; then Karlijn, whose bio names "een kind"
    assert set(got[:-1]) == set(holding("jeugd")) and got[-1] == "Karlijn Mulder", got
    assert set(names(d, ids, "kinderpsychiater")) == {"Carmen Olthof", "Maaike Jonker"}
    assert set(names(d, ids, "Noordkust")) == {"Frits de Graaf", "Niels Postma", "Tessa Koster"}
    assert set(names(d, ids, "verslavingszorg noordkust")) == {"Frits de Graaf", "Niels Postma", "Tessa Koster"}


def test_an_expert_ranks_above_a_passing_mention(world):
    d, ids, _ = world
    got = names(d, ids, "angst")
    assert got[-1] == "Wouter Mol" and set(got[:-1]) == set(holding("angst"))
    # among experts, more of the query's concepts met rank higher
    got = names(d, ids, "depressie medicatie")
    assert set(got) == set(both("depressie", "medicatie")) | {"Anouk Vermaat"}
    assert got[-1] == "Anouk Vermaat"  # depressie expert, medicatie only in her bio


def test_a_query_no_one_meets_in_full_shows_who_meets_most(world):
    d, ids, _ = world
    q = "jongere met eetstoornis en autisme"
    got = names(d, ids, q)
    # no one holds all three; those holding two come first, then those holding one
    assert set(got[:3]) == {"Maaike Jonker", "Carmen Olthof", "Daan Kuipers"}, got
    assert "Lars Dekker" in got and "Anouk Vermaat" not in got
    # its pages, a consultant at a time, are the same list
    d1 = [c["id"] for c in d.api.list_all("/v1/consultants", d.admin, params={"q": q}, limit=1)]
    assert d1 == [ids[n] for n in got]
    # with a filter as well
    assert names(d, ids, q, expertise="autisme") == [n for n in got if "autisme" in CONSULTANTS[n][2]]
    # a query that someone meets in full never falls back, on any page: past its last page, nothing
    assert names(d, ids, "eetstoornis jeugd") and set(names(d, ids, "eetstoornis jeugd")) == {
        "Maaike Jonker", "Daan Kuipers"}


def test_the_lexicon_covers_every_code(pg):
    """Every discipline, expertise and target group is found by its own label and its code
    (docs/search.md): a lexicon edit that loses one fails here."""
    conn = pg.connect("t_search_judged")
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT v.kind, v.code, v.label, (directory_units(v.label)).lexemes,
                                  (directory_units(replace(v.code, '_', ' '))).lexemes
                             FROM vocabulary v WHERE v.kind <> 'mode' ORDER BY 1, 2""")
            rows = cur.fetchall()
            assert len(rows) == 8 + 15 + 6
            for kind, code, label, by_label, by_code in rows:
                assert set(by_label) == {f"{kind}_{code}"}, (label, by_label)
                if kind != "discipline" or code in ("psychiater", "spv", "ouderenpsychiater"):
                    assert by_code == [f"{kind}_{code}"], (code, by_code)
            # a query and a profile's text are read by the same function: a term, its plural and
            # its words typed apart are one unit
            cur.execute("SELECT (directory_units('angststoornissen')).lexemes,"
                        " (directory_units('angst stoornis')).lexemes,"
                        " (directory_units('Kinder- en jeugdpsychiater')).lexemes")
            assert cur.fetchone() == (["expertise_angst"], ["expertise_angst"], ["discipline_kinder_jeugdpsychiater"])
    finally:
        conn.close()
