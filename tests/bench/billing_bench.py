#!/usr/bin/env python3
"""Helpers of the billing-export benchmark (tests/bench/billing.sh). Run from the repository root.

  billing_bench.py pgbench OUTDIR
      OUTDIR/billing_export.sql: the statements overlegd runs for one POST /v1/billing/exports
      (sql_auth in server/session.c, then sql_export in server/billing.c), verbatim from the C
      source, every parameter a pgbench variable: tok (sha256 hex of the bearer token), now, ip,
      rid (a request id), who (the principal as overlegd sends it, a row literal), org (the
      practice), from, to. The pair runs twice: first for the period wfrom..wto, which holds
      nothing to export (the connection's first call of billing_export: PL/pgSQL compiles the
      function and plans its statements, as an overlegd connection did long before), then for
      from..to; `pgbench -r` times each statement. Prints the pgbench arguments, one a line:
      "-f", "OUTDIR/billing_export.sql".
  billing_bench.py candidates
      A psql script (variables org, from, to): the query of billing_candidates
      (sql/0005_billing.sql), read from the migration, prepared with org, p_from, p_to as $1..$3;
      EXPLAIN (ANALYZE, BUFFERS) EXECUTE of it twice, after lines "### first" (the practice-year
      read for the first time since the data was loaded, as an export meets it) and "### again".
  billing_bench.py breakdown
      A psql script (variables tok, now, ip, rid, who, org, from, to): in a transaction that is
      rolled back, sql_export as overlegd sends it, with auto_explain logging every statement
      billing_export runs (log_nested_statements; ANALYZE, BUFFERS) to the client (stderr).
  billing_bench.py nested PSQL_STDERR
      Reads auto_explain's output (the breakdown's, or reports_bench.py explain's); prints a JSON
      object {SECTION: [{"ms": duration, "query": the statement's text on one line, "plan":
      the plan without costs, "scans": [its scan lines]}, ...]}, SECTION being the text of the
      last "### SECTION" line before the plans ("" before any).

overlegd's parameters (server/billing.c, sql_export): $1 now, $2 ip, $3 request id,
$4 principal, $5 the practice, $6 from, $7 to.
"""
import json
import os
import re
import sys

from cases_bench import stmt_sql  # verbatim statements of the C source, $N -> pgbench variables


def export_subs(v):
    return {1: v["now"], 2: v["ip"], 3: v["rid"], 4: v["who"], 5: v["org"], 6: v["from"],
            7: v["to"]}


def cmd_pgbench(outdir):
    auth = stmt_sql("server/session.c", "sql_auth", {1: ":tok", 2: ":now"})
    names = ("now", "ip", "rid", "who", "org")
    warm = stmt_sql("server/billing.c", "sql_export",
                    export_subs({**{k: ":" + k for k in names}, "from": ":wfrom", "to": ":wto"}))
    real = stmt_sql("server/billing.c", "sql_export",
                    export_subs({**{k: ":" + k for k in names}, "from": ":from", "to": ":to"}))
    path = os.path.join(outdir, "billing_export.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write("-- POST /v1/billing/exports: sql_auth, sql_export; first for a period with nothing\n"
                "-- to export (the connection's first billing_export), then the measured one\n"
                f"{auth};\n{warm};\n{auth};\n{real};\n")
    print("\n".join(["-f", path]))


def candidates_query():
    """The query of the SQL function billing_candidates, its parameters as $1..$3."""
    src = open("sql/0005_billing.sql", encoding="utf-8").read()
    m = re.search(r"CREATE FUNCTION billing_candidates\(org uuid, p_from date, p_to date\)"
                  r".*?\$\$(.*?)\$\$", src, re.S)
    if not m:
        sys.exit("billing_bench.py: no function billing_candidates(org uuid, p_from date, p_to date)"
                 " in sql/0005_billing.sql")
    sql = " ".join(m.group(1).split()).rstrip(";")
    for n, name in enumerate(("org", "p_from", "p_to"), 1):
        sql, k = re.subn(r"(?<![.\w])" + name + r"\b", f"${n}", sql)
        if not k:
            sys.exit(f"billing_bench.py: billing_candidates does not use {name}")
    return sql


def cmd_candidates():
    print("\\set ON_ERROR_STOP 1")
    print("\\pset pager off")
    print(f"PREPARE candidates(uuid, date, date) AS {candidates_query()};")
    for label in ("first", "again"):
        print(f"\\echo '### {label}'")
        print("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE candidates(:'org', :'from', :'to');")


def cmd_breakdown():
    export = stmt_sql("server/billing.c", "sql_export", export_subs(
        {k: f":'{k}'" for k in ("now", "ip", "rid", "who", "org", "from", "to")}))
    print("\n".join([
        "\\set ON_ERROR_STOP 1", "\\pset pager off", "LOAD 'auto_explain';",
        "SET auto_explain.log_min_duration = 0;", "SET auto_explain.log_analyze = on;",
        "SET auto_explain.log_buffers = on;", "SET auto_explain.log_nested_statements = on;",
        "BEGIN;", "\\warn '### export'", "SET client_min_messages = log;",
        f"{export} \\g /dev/null",
        "SET client_min_messages = warning;", "ROLLBACK;"]))


def nested_blocks(path):
    """auto_explain's "LOG:  duration: MS ms  plan:" blocks by "### SECTION": the query text,
    then the plan (from the first line with "(cost=")."""
    out, sec, cur = {}, "", None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("### "):
            sec, cur = line[4:], None
            out.setdefault(sec, [])
            continue
        m = re.search(r"LOG:\s+duration: ([0-9.]+) ms\s+plan:", line)
        if m:
            cur = {"ms": float(m.group(1)), "query": [], "plan": []}
            out.setdefault(sec, []).append(cur)
            continue
        if cur is None or not line.strip() or re.match(r"^(ERROR|WARNING|NOTICE|LOG|STATEMENT):", line):
            if line.startswith(("ERROR", "psql:")):
                sys.exit(f"billing_bench.py: {path}: {line}")
            continue
        if cur["plan"] or "(cost=" in line:
            cur["plan"].append(line)
        else:
            cur["query"].append(re.sub(r"^\s*Query Text:\s*", "", line))
    res = {}
    for sec, blocks in out.items():
        res[sec] = []
        for b in blocks:
            # as COSTS OFF prints it: the costs go, the actual figures stay
            plan = [re.sub(r"\(cost=[0-9.]+\.\.[0-9.]+ rows=\d+ width=\d+\) ", "", l) for l in b["plan"]]
            # the plan is indented by auto_explain's own two spaces
            ind = min((len(l) - len(l.lstrip()) for l in plan if l.strip()), default=0)
            plan = [l[ind:] for l in plan]
            scans = [re.sub(r"\s*\(actual.*$", "", l).strip().lstrip("-> ").strip() for l in plan
                     if re.search(r"\b(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan|Bitmap Heap Scan)\b", l)]
            res[sec].append({"ms": b["ms"], "query": " ".join(" ".join(b["query"]).split()),
                             "plan": "\n".join(plan), "scans": scans})
    return res


def main():
    a = sys.argv[1:]
    if a[:1] == ["pgbench"] and len(a) == 2:
        cmd_pgbench(a[1])
    elif a == ["candidates"]:
        cmd_candidates()
    elif a == ["breakdown"]:
        cmd_breakdown()
    elif a[:1] == ["nested"] and len(a) == 2:
        print(json.dumps(nested_blocks(a[1])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
