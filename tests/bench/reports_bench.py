#!/usr/bin/env python3
"""Helpers of the reports benchmark (tests/bench/reports.sh). Run from the repository root.

  reports_bench.py pgbench OUTDIR
      OUTDIR/reports_summary.sql: the statements overlegd runs for one GET /v1/reports/summary
      (sql_auth in server/session.c, then sql_summary in server/reports.c), verbatim from the C
      source, every parameter a pgbench variable: tok (sha256 hex of the bearer token), now,
      region, from, to. Prints the pgbench arguments, one a line: "-f",
      "OUTDIR/reports_summary.sql".
  reports_bench.py explain
      A psql script (variables region, from, to): sql_summary as overlegd sends it, for the
      region and for every region (NULL, as overlegd passes an admin's request without region),
      each run once to warm the connection and the caches, then again with auto_explain logging
      every statement report_summary runs (log_nested_statements; ANALYZE, BUFFERS) to the
      client (stderr), after lines "### region" and "### all" (stderr too, to keep the order).
      billing_bench.py nested reads the output.

overlegd's parameters (server/reports.c, sql_summary): $1 the region (NULL: every region),
$2 from, $3 to.
"""
import os
import sys

from cases_bench import stmt_sql  # verbatim statements of the C source, $N -> pgbench variables


def cmd_pgbench(outdir):
    auth = stmt_sql("server/session.c", "sql_auth", {1: ":tok", 2: ":now"})
    summary = stmt_sql("server/reports.c", "sql_summary", {1: ":region", 2: ":from", 3: ":to"})
    path = os.path.join(outdir, "reports_summary.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"-- GET /v1/reports/summary: sql_auth, sql_summary\n{auth};\n{summary};\n")
    print("\n".join(["-f", path]))


def cmd_explain():
    region = stmt_sql("server/reports.c", "sql_summary", {1: ":'region'", 2: ":'from'", 3: ":'to'"})
    every = stmt_sql("server/reports.c", "sql_summary", {1: "NULL", 2: ":'from'", 3: ":'to'"})
    out = ["\\set ON_ERROR_STOP 1", "\\pset pager off", "SET TimeZone = 'UTC';",
           # warm: PL/pgSQL compiles report_summary, the pages come into shared buffers
           f"{region} \\g /dev/null", f"{every} \\g /dev/null",
           "LOAD 'auto_explain';", "SET auto_explain.log_min_duration = 0;",
           "SET auto_explain.log_analyze = on;", "SET auto_explain.log_buffers = on;",
           "SET auto_explain.log_nested_statements = on;"]
    for label, stmt in (("region", region), ("all", every)):
        out += [f"\\warn '### {label}'", "SET client_min_messages = log;", f"{stmt} \\g /dev/null",
                "SET client_min_messages = warning;"]
    print("\n".join(out))


def main():
    a = sys.argv[1:]
    if a[:1] == ["pgbench"] and len(a) == 2:
        cmd_pgbench(a[1])
    elif a == ["explain"]:
        cmd_explain()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
