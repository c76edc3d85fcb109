#!/usr/bin/env python3
"""Helpers of the consultation-creation benchmark (tests/bench/consultations.sh). Run from the
repository root.

  consultations_bench.py bodies CONSULTANT_ID
      The three request bodies of the mix, one a line: "KIND<TAB>JSON", KIND one of
      anon_direct, anon_group, consented_direct (direct ones address CONSULTANT_ID).
  consultations_bench.py explain
      A psql script (variables now, actor, ip, rid, org, region, cid, due): PREPARE sql_target and
      sql_create as overlegd does (parameter types inferred), then, in a transaction that is
      rolled back, EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE of sql_target and sql_create for
      a direct and for a group question, each after one plain EXECUTE of the same (warm caches),
      each plan after a line "### NAME".
  consultations_bench.py plans EXPLAIN_OUT
      Reads that psql output; prints a JSON object {NAME: {"plan": text, "ms": execution ms,
      "profiles": [how each scan of consultant_profiles went]}}.
  consultations_bench.py pgbench OUTDIR
      One pgbench script per kind (OUTDIR/cons_K.sql, K = 1..3 in the order above): the three
      statements overlegd runs for one POST /v1/consultations of that kind, verbatim from the
      C source (sql_auth in server/session.c; sql_target and sql_create in
      server/consultations.c), NULL inlined where overlegd passes NULL, every other parameter a
      pgbench variable. Prints the pgbench arguments, one a line: "-f", "OUTDIR/cons_K.sql@1"
      and "-D", "name=value" for the values that come from the bodies. The caller defines the
      rest: tok (sha256 hex of the bearer token), now, actor (the gp's user id), ip, rid (a
      request id), org (the practice), region, cid (the direct consultant), sealed (a sealed
      identity), subject and question (sealed texts overlegd made for the bodies), due. The new
      consultation's id, which overlegd draws per request, is gen_random_uuid() here.

overlegd's parameters (server/consultations.c):
  sql_auth    $1 token hash, $2 now
  sql_target  $1 consultant_id, $2 expertise, $3 the requester's region
  sql_create  $1 now, $2 actor, $3 ip, $4 request id, $5 the new id (overlegd's choice), $6 subject
              and $7 question (sealed), $8 patient mode, $9 age (anonymous), $10 sex (anonymous),
              $11 sealed identity (consented), $12 organisation, $13 region, $14 consultant_id,
              $15 expertise, $16 mode, $17 urgency, $18 referral_contemplated,
              $19 proposed_next_step (sealed), $20 due_at
"""
import json
import os
import re
import sys

from directory_bench import c_stmt  # the C statement reader both benchmarks share

# No digits, dates, e-mail addresses, phone numbers or postcodes: the anonymity guard accepts it.
SUBJECT = "Vraag over diagnostiek en begeleiding bij vermoeden van autisme"
QUESTION = (
    "Vrouw van middelbare leeftijd, bekend met somberheid en spanningsklachten, meldt zich "
    "opnieuw op het spreekuur. Zij beschrijft al sinds haar jeugd moeite met sociale contacten, "
    "een sterke behoefte aan vaste routines en overprikkeling in drukke omgevingen. Op het werk "
    "loopt zij vast na een reorganisatie; zij slaapt slecht en heeft zich ziekgemeld. Eerdere "
    "begeleiding in de basis-GGZ gaf weinig verbetering. Ik overweeg een verwijzing voor "
    "diagnostiek naar autisme, maar twijfel of dat nu de beste stap is. Graag uw advies: welke "
    "vragen of screeningsinstrumenten kan ik in de huisartsenpraktijk gebruiken, wat kan de "
    "POH-GGZ in de tussentijd doen, en wanneer is verwijzing naar de specialistische GGZ "
    "aangewezen?")
ANON = {"mode": "anonymous", "age": 40, "sex": "f"}
CONSENTED = {"mode": "consented", "name": "Johanna de Vries-Bakker", "birth_date": "1980-01-01",
             "bsn": "111222333",
             "consent": {"given_on": "2026-01-01", "method": "verbal", "given_by": "patient"}}
EXPERTISE = "autisme"
KINDS = ["anon_direct", "anon_group", "consented_direct"]


def bodies(cid):
    common = {"subject": SUBJECT, "question": QUESTION}
    tail = {"mode": "digital", "referral_contemplated": False}
    return [
        ("anon_direct", {**common, "patient": ANON, "consultant_id": cid, **tail}),
        ("anon_group", {**common, "patient": ANON, "expertise": EXPERTISE, **tail}),
        ("consented_direct", {**common, "patient": CONSENTED, "consultant_id": cid, **tail}),
    ]


def stmt_sql(src, name, subs):
    nparams, sql = c_stmt(src, name)
    used = {int(x) for x in re.findall(r"\$(\d+)", sql)}
    if used != set(range(1, nparams + 1)):
        sys.exit(f"consultations_bench.py: {name} declares {nparams} parameters, uses {sorted(used)}")
    if set(subs) != used:
        sys.exit(f"consultations_bench.py: {name}: parameters {sorted(used)}, given {sorted(subs)}")
    if ":" in re.sub(r"::", "", sql):
        sys.exit(f"consultations_bench.py: {name} contains ':', which pgbench would take for a variable")
    return re.sub(r"\$(\d+)(?!\d)", lambda x: subs[int(x.group(1))], sql)


def scripts():
    auth = stmt_sql("server/session.c", "sql_auth", {1: ":tok", 2: ":now"})
    out = []
    for kind in KINDS:
        direct, anon = kind.endswith("_direct"), kind.startswith("anon")
        target = stmt_sql("server/consultations.c", "sql_target", {
            1: ":cid" if direct else "NULL", 2: "NULL" if direct else ":expertise", 3: ":region"})
        create = stmt_sql("server/consultations.c", "sql_create", {
            1: ":now", 2: ":actor", 3: ":ip", 4: ":rid", 5: "gen_random_uuid()",
            6: ":subject", 7: ":question",
            8: ":pm_anon" if anon else ":pm_cons",
            9: ":age" if anon else "NULL", 10: ":sex" if anon else "NULL",
            11: "NULL" if anon else ":sealed",
            12: ":org", 13: ":region",
            14: ":cid" if direct else "NULL", 15: "NULL" if direct else ":expertise",
            16: ":mode", 17: ":urgency", 18: ":rc",
            19: "NULL",  # proposed_next_step: not in the bodies
            20: ":due"})
        out.append((kind, f"-- {kind}: sql_auth, sql_target, sql_create\n{auth};\n{target};\n{create};\n"))
    return out


def lit(v):
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


def cmd_explain():
    ident = lambda n: {i: f"${i}" for i in range(1, n + 1)}
    print("\\set ON_ERROR_STOP 1")
    print("PREPARE cons_target AS " + stmt_sql("server/consultations.c", "sql_target", ident(3)) + ";")
    print("PREPARE cons_create AS " + stmt_sql("server/consultations.c", "sql_create", ident(20)) + ";")
    print("BEGIN;")
    for kind, direct in [("direct", True), ("group", False)]:
        t = [":'cid'" if direct else "NULL", "NULL" if direct else lit(EXPERTISE), ":'region'"]
        c = [":'now'", ":'actor'", ":'ip'", ":'rid'", "gen_random_uuid()", ":'subject'", ":'question'",
             lit("anonymous"),
             lit(str(ANON["age"])), lit(ANON["sex"]), "NULL", ":'org'", ":'region'",
             ":'cid'" if direct else "NULL", "NULL" if direct else lit(EXPERTISE), lit("digital"),
             lit("routine"), lit("false"), "NULL", ":'due'"]
        for name, stmt, args in [(f"sql_target {kind}", "cons_target", t),
                                 (f"sql_create {kind}", "cons_create", c)]:
            # once first, as on a pooled connection that has run it before (caches warm)
            print(f"EXECUTE {stmt}({', '.join(args)}) \\g /dev/null")
            print(f"\\echo '### {name}'")
            print(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE {stmt}({', '.join(args)});")
    print("ROLLBACK;")


def cmd_plans(path):
    plans, name, lines = {}, None, []

    def flush():
        if name is None:
            return
        text = "\n".join(l for l in lines if l.strip() and "QUERY PLAN" not in l
                         and not re.match(r"^-+$", l.strip()) and not re.match(r"^\(\d+ rows?\)$", l.strip()))
        ms = re.search(r"Execution Time: ([0-9.]+) ms", text)
        profiles, cur = [], None
        for l in text.splitlines():
            m = re.search(r"(Seq Scan on|Index Scan using \S+ on|Index Only Scan using \S+ on|"
                          r"Bitmap Heap Scan on) consultant_profiles\b.*?rows=(\d+) loops=(\d+)", l)
            if m:
                kind = m.group(1).split(" using")[0].replace(" on", "").lower()
                cur = {"scan": kind, "rows": int(m.group(2)), "loops": int(m.group(3)), "removed": 0}
                profiles.append(cur)
            elif cur is not None and "Rows Removed by" in l:
                cur["removed"] += int(l.split(":")[1])
            elif cur is not None and "->" in l:
                cur = None
        plans[name] = {"plan": text, "ms": float(ms.group(1)) if ms else None, "profiles": profiles}

    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("### "):
            flush()
            name, lines = line[4:], []
        elif name is not None and line not in ("BEGIN", "ROLLBACK", "PREPARE"):
            lines.append(line)
    flush()
    print(json.dumps(plans))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "bodies":
        for kind, body in bodies(sys.argv[2]):
            print(kind + "\t" + json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    elif len(sys.argv) == 3 and sys.argv[1] == "pgbench":
        outdir = sys.argv[2]
        args = []
        for k, (kind, sql) in enumerate(scripts(), start=1):
            path = os.path.join(outdir, f"cons_{k}.sql")
            with open(path, "w", encoding="utf-8") as f:
                f.write(sql)
            args += ["-f", f"{path}@1"]
        for name, value in [("pm_anon", "anonymous"),
                            ("pm_cons", "consented"), ("age", str(ANON["age"])),
                            ("sex", ANON["sex"]), ("expertise", EXPERTISE), ("mode", "digital"),
                            ("urgency", "routine"), ("rc", "false")]:
            args += ["-D", f"{name}={value}"]
        print("\n".join(args))
    elif len(sys.argv) == 2 and sys.argv[1] == "explain":
        cmd_explain()
    elif len(sys.argv) == 3 and sys.argv[1] == "plans":
        cmd_plans(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
