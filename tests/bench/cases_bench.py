#!/usr/bin/env python3
"""Helpers of the escalation-case benchmark (tests/bench/cases.sh). Run from the repository root.

  cases_bench.py pgbench OUTDIR
      OUTDIR/cases_list.sql: the statements overlegd runs for one GET /v1/cases?stalled=true
      (sql_auth in server/session.c, then sql_list_stalled in server/cases.c), verbatim from the C
      source, NULL inlined where overlegd passes NULL (status, level, the cursor), every other
      parameter a pgbench variable: tok (sha256 hex of the bearer token), now, actor (the
      coordinator's user id), ip, rid (a request id), who (the principal as overlegd sends it,
      a row literal), stalled (true), lim (the page size + 1). Prints the pgbench arguments, one
      a line: "-f", "OUTDIR/cases_list.sql".
  cases_bench.py explain
      A psql script (variables now, actor, who): PREPARE sql_list_stalled as overlegd does (parameter
      types inferred), then, in a transaction that is rolled back, six plain EXECUTEs (a pooled
      connection's plan cache has chosen between custom and generic plans by then) and
      EXPLAIN (ANALYZE, BUFFERS) EXECUTE of GET /v1/cases?stalled=true's first page; after a
      line "### sql_list_stalled".
  cases_bench.py candidates
      A psql script for inside a transaction the caller opens (and rolls back, after making
      some subjects due): EXPLAIN (ANALYZE, BUFFERS) of each scheduler pass's candidate query
      (the FOR loop's SELECT of scheduler_case_signals and scheduler_consultation_signals, read
      from sql/0004_cases.sql and sql/0003_consultations.sql), prepared with p_now as $1 as
      PL/pgSQL does, executed with the transaction's now(); each after a line "### NAME: SQL".
  cases_bench.py plans EXPLAIN_OUT
      Reads the output of either script; prints a JSON object {NAME: {"plan": text, "ms":
      execution ms, "scans": [scan lines]}}.
  cases_bench.py passes PSQL_OUT
      Reads the output of the scheduler script cases.sh writes ("### LABEL" lines, the pass's
      result row, psql's "Time: N ms"); prints one line per pass: "LABEL MS RAISED RESOLVED
      NOTIFIED".

overlegd's parameters (server/cases.c, sql_list_stalled): $1 now, $2 actor, $3 ip, $4 request id,
$5 principal, $6 status, $7 level, $8 stalled, $9..$10 the cursor, $11 the limit + 1.
"""
import json
import os
import re
import sys

from directory_bench import c_stmt  # the C statement reader the benchmarks share

LIMIT = "21"  # default page size 20, plus one to know whether there is a next page


def stmt_sql(src, name, subs):
    nparams, sql = c_stmt(src, name)
    used = {int(x) for x in re.findall(r"\$(\d+)", sql)}
    if used != set(range(1, nparams + 1)):
        sys.exit(f"cases_bench.py: {name} declares {nparams} parameters, uses {sorted(used)}")
    if set(subs) != used:
        sys.exit(f"cases_bench.py: {name}: parameters {sorted(used)}, given {sorted(subs)}")
    if ":" in re.sub(r"::", "", sql):
        sys.exit(f"cases_bench.py: {name} contains ':', which pgbench would take for a variable")
    return re.sub(r"\$(\d+)(?!\d)", lambda x: subs[int(x.group(1))], sql)


def list_subs(values):
    """sql_list_stalled's parameters for a first page of ?stalled=true: `values` gives now, actor, ip,
    rid, who, stalled and lim; status, level and the cursor are NULL, as overlegd sends them."""
    return {1: values["now"], 2: values["actor"], 3: values["ip"], 4: values["rid"],
            5: values["who"], 6: "NULL", 7: "NULL", 8: values["stalled"], 9: "NULL", 10: "NULL",
            11: values["lim"]}


def cmd_pgbench(outdir):
    auth = stmt_sql("server/session.c", "sql_auth", {1: ":tok", 2: ":now"})
    lst = stmt_sql("server/cases.c", "sql_list_stalled", list_subs(
        {k: ":" + k for k in ("now", "actor", "ip", "rid", "who", "stalled", "lim")}))
    path = os.path.join(outdir, "cases_list.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"-- GET /v1/cases?stalled=true: sql_auth, sql_list_stalled\n{auth};\n{lst};\n")
    print("\n".join(["-f", path]))


def cmd_explain():
    ident = {i: f"${i}" for i in range(1, 12)}
    args = ", ".join(list_subs({"now": ":'now'", "actor": ":'actor'", "ip": "'127.0.0.1'",
                                "rid": "'00000000-0000-4000-8000-0000000ca5e5'", "who": ":'who'",
                                "stalled": "'true'", "lim": f"'{LIMIT}'"})[i] for i in range(1, 12))
    print("\\set ON_ERROR_STOP 1")
    print("\\pset pager off")
    print("PREPARE cases_list AS " + stmt_sql("server/cases.c", "sql_list_stalled", ident) + ";")
    print("BEGIN;")
    for _ in range(6):
        print(f"EXECUTE cases_list({args}) \\g /dev/null")
    print("\\echo '### sql_list_stalled'")
    print(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE cases_list({args});")
    print("ROLLBACK;")


def candidate(path, function):
    """The SELECT of the FOR loop in PL/pgSQL function `function` of `path`, p_now as $1."""
    src = open(path, encoding="utf-8").read()
    m = re.search(r"CREATE FUNCTION " + re.escape(function) + r"\(.*?\$\$(.*?)\$\$", src, re.S)
    if not m:
        sys.exit(f"cases_bench.py: no function {function} in {path}")
    loop = re.search(r"\bFOR\s+\w+\s+IN\s+(SELECT\b.*?)\s+LOOP\b", m.group(1), re.S)
    if not loop:
        sys.exit(f"cases_bench.py: no FOR ... IN SELECT ... LOOP in {function}")
    sql = " ".join(loop.group(1).split())
    if "p_now" not in sql:
        sys.exit(f"cases_bench.py: the candidate query of {function} does not use p_now")
    return sql.replace("p_now", "$1")


def cmd_candidates():
    print("\\set ON_ERROR_STOP 1")
    print("\\pset pager off")
    for name, path, fn in [("scheduler_case_signals", "sql/0004_cases.sql", "scheduler_case_signals"),
                           ("scheduler_consultation_signals", "sql/0003_consultations.sql",
                            "scheduler_consultation_signals")]:
        print(f"PREPARE {name}_candidates(timestamptz) AS {candidate(path, fn)};")
        print(f"\\echo '### {name}: {candidate(path, fn)}'")
        print(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE {name}_candidates(now());")


def cmd_plans(path):
    plans, name, lines = {}, None, []

    def flush():
        if name is None:
            return
        text = "\n".join(l.rstrip() for l in lines if l.strip() and "QUERY PLAN" not in l
                         and not re.match(r"^-+$", l.strip())
                         and not re.match(r"^\(\d+ rows?\)$", l.strip())
                         and not re.match(r"^(UPDATE \d+|Pager usage is off\.)$", l.strip()))
        # a whole-row reference spells out every column of the table: say so instead
        text = re.sub(r"ROW\(id, status, level, [a-z_, ]*, version\)", "ROW(<every column of cases>)", text)
        ms = re.search(r"Execution Time: ([0-9.]+) ms", text)
        scans = [re.sub(r"\s*\(cost=.*$", "", l).strip().lstrip("-> ").strip()
                 for l in text.splitlines()
                 if re.search(r"\b(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan|Bitmap Heap Scan)\b", l)]
        plans[name] = {"plan": text, "ms": float(ms.group(1)) if ms else None, "scans": scans}

    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("### "):
            flush()
            name, lines = line[4:], []
        elif name is not None and line not in ("BEGIN", "ROLLBACK", "PREPARE"):
            lines.append(line)
    flush()
    print(json.dumps(plans))


def cmd_passes(path):
    label, row = None, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("### "):
            label, row = line[4:], None
        elif label and re.match(r"^\d+\|\d+\|\d+$", line):
            row = line.split("|")
        elif label and row and line.startswith("Time: "):
            print(label, line.split()[1], *row)
            label = None


def main():
    a = sys.argv[1:]
    if a[:1] == ["pgbench"] and len(a) == 2:
        cmd_pgbench(a[1])
    elif a == ["explain"]:
        cmd_explain()
    elif a == ["candidates"]:
        cmd_candidates()
    elif a[:1] == ["plans"] and len(a) == 2:
        cmd_plans(a[1])
    elif a[:1] == ["passes"] and len(a) == 2:
        cmd_passes(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
