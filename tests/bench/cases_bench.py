#!/usr/bin/env python3
"""Helpers of the escalation-case benchmark (tests/bench/cases.sh). Run from the repository root.

  cases_bench.py pgbench OUTDIR
      OUTDIR/cases_list.sql: the statements overlegd runs for one GET /v1/cases?stalled=true
      (sql_auth in server/session.c, then sql_list in server/cases.c), verbatim from the C
      source, NULL inlined where overlegd passes NULL (status, level, the cursor), every other
      parameter a pgbench variable: tok (sha256 hex of the bearer token), now, actor (the
      coordinator's user id), ip, rid (a request id), who (the principal as overlegd sends it,
      a row literal), stalled (true), lim (the page size + 1). Prints the pgbench arguments, one
      a line: "-f", "OUTDIR/cases_list.sql".
  cases_bench.py explain
      A psql script (variables now, who): the statement case_page (sql/0004_cases.sql) runs for
      stalled = true, read from the migration, prepared with its parameters as $N and planned
      generically, as the function does; after three runs, EXPLAIN (ANALYZE, BUFFERS) EXECUTE of the first page of
      GET /v1/cases?stalled=true, after a line "### case_page".
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

overlegd's parameters (server/cases.c, sql_list): $1 now, $2 actor, $3 ip, $4 request id,
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
    """sql_list's parameters for a first page of ?stalled=true: `values` gives now, actor, ip,
    rid, who, stalled and lim; status, level and the cursor are NULL, as overlegd sends them."""
    return {1: values["now"], 2: values["actor"], 3: values["ip"], 4: values["rid"],
            5: values["who"], 6: "NULL", 7: "NULL", 8: values["stalled"], 9: "NULL", 10: "NULL",
            11: values["lim"]}


def cmd_pgbench(outdir):
    auth = stmt_sql("server/session.c", "sql_auth", {1: ":tok", 2: ":now"})
    lst = stmt_sql("server/cases.c", "sql_list", list_subs(
        {k: ":" + k for k in ("now", "actor", "ip", "rid", "who", "stalled", "lim")}))
    path = os.path.join(outdir, "cases_list.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"-- GET /v1/cases?stalled=true: sql_auth, sql_list\n{auth};\n{lst};\n")
    print("\n".join(["-f", path]))


# case_page's parameters, in order, with their types (sql/0004_cases.sql).
PAGE_PARAMS = [("who", "principal"), ("now", "timestamptz"), ("p_status", "text"),
               ("p_level", "int"), ("stalled", "boolean"), ("after_at", "timestamptz"),
               ("after_id", "uuid"), ("lim", "int")]


def page_stalled_query():
    """The statement case_page runs for stalled = true (its first RETURN QUERY), each parameter as
    $N in the order of PAGE_PARAMS, as PL/pgSQL passes them."""
    src = open("sql/0004_cases.sql", encoding="utf-8").read()
    m = re.search(r"CREATE FUNCTION case_page\(.*?\$\$(.*?)\$\$", src, re.S)
    if not m:
        sys.exit("cases_bench.py: no function case_page in sql/0004_cases.sql")
    q = re.search(r"IF stalled THEN\s+RETURN QUERY\s+(SELECT\b.*?);", m.group(1), re.S)
    if not q:
        sys.exit("cases_bench.py: case_page has no RETURN QUERY under IF stalled THEN")
    sql = " ".join(q.group(1).split())
    for n, (name, _) in enumerate(PAGE_PARAMS, 1):
        sql = re.sub(r"(?<![.\w])" + name + r"\b", f"${n}", sql)
    return sql


def cmd_explain():
    args = ", ".join([":'who'", ":'now'", "NULL", "NULL", "true", "NULL", "NULL", LIMIT])
    types = ", ".join(t for _, t in PAGE_PARAMS)
    print("\\set ON_ERROR_STOP 1")
    print("\\pset pager off")
    # as case_page runs it: a generic plan (its SET plan_cache_mode), kept by the connection
    print("SET plan_cache_mode = force_generic_plan;")
    print(f"PREPARE page_stalled({types}) AS {page_stalled_query()};")
    for _ in range(3):   # warm: the connection's caches, as a pooled connection has them
        print(f"EXECUTE page_stalled({args}) \\g /dev/null")
    print("\\echo '### case_page'")
    print(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE page_stalled({args});")


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
