#!/usr/bin/env python3
"""Helpers of the directory benchmark (tests/bench/directory.sh). Run from the repository root.

  directory_bench.py sql STMT [N=VALUE ...]
      The SQL of DB_STMT(STMT, ...) in server/directory.c, verbatim, with each $N given
      replaced by VALUE (parameters not given stay $N).
  directory_bench.py pgbench MIX OUTDIR
      One pgbench script per query string in MIX (OUTDIR/dir_NN.sql): the statements overlegd
      runs for it, NULL inlined where overlegd passes NULL, every other parameter a variable.
      Prints the pgbench arguments, one a line: -f OUTDIR/dir_NN.sql@1 ... -D name=value ...
      (`now` and `lim` are left for the caller to define).
  directory_bench.py explain MIX NOW TIMEOUT_MS
      A psql script: PREPARE the list statements (parameter types inferred) and plan them for
      their actual parameters every time (plan_cache_mode = force_custom_plan), as overlegd's
      unprepared statements are; EXECUTE the whole mix once the way one pooled connection would, then
      EXPLAIN (ANALYZE, BUFFERS) EXECUTE each query string, each plan after a line "### QS";
      a statement cancelled after TIMEOUT_MS gets a plain EXPLAIN instead.
  directory_bench.py plans EXPLAIN_OUT
      Reads that psql output; prints a JSON object {query string: {"plan": text,
      "ms": execution ms or null, "scans": [scan lines], "cancelled": null or a note},
      "_statements": [[name, generic plans, custom plans], ...]}.

overlegd's parameters for the list statements: $1 now, $2 expertise, $3 target_group,
$4 region, $5 mode, $6 language, $7 accepting; browse (no q): $8..$10 the cursor, $11 the
limit + 1; search: $8 the lexeme (sql_directory_search_term) or the tsquery
(sql_directory_search), $9..$10 the cursor, $11 the limit + 1. A first page has no cursor.
With q, overlegd first runs sql_directory_plan($1 q), whose answer picks the search statement
and gives its $8; pgbench and psql do the same, and the statement is chosen here by asking
the database named by DATABASE_URL (pgbench and explain).
"""
import json
import os
import re
import subprocess
import sys
from urllib.parse import parse_qsl

SRC = "server/directory.c"
FILTERS = ["expertise", "target_group", "region", "mode", "language", "accepting"]
LIMIT = "21"  # default page size 20, plus one to know whether there is a next page


def c_strings(text):
    out = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)', text):
        if m.group(1) is not None:
            s = m.group(1)
            if re.search(r'\\[^"\\]', s):
                sys.exit(f"directory_bench.py: unsupported escape in {s!r}")
            out.append(s.replace('\\"', '"').replace("\\\\", "\\"))
        else:
            out.append(("NAME", m.group(2)))
    return out


def stmt_sql(name, subs=None):
    subs = subs or {}
    src = open(SRC, encoding="utf-8").read()
    macros = {}  # object-like macros made only of string literals (DIRECTORY_FILTERS)
    for m in re.finditer(r"^#define\s+([A-Z_][A-Z0-9_]*)\s+((?:.*\\\n)*.*)$", src, re.M):
        parts = c_strings(m.group(2).replace("\\\n", "\n"))
        if parts and all(isinstance(p, str) for p in parts):
            macros[m.group(1)] = "".join(parts)
    m = re.search(r"DB_STMT(?:_UNPREPARED)?\(\s*" + re.escape(name) + r"\s*,\s*(\d+)\s*,(.*?)\);", src, re.S)
    if not m:
        sys.exit(f"directory_bench.py: DB_STMT({name}, ...) not found in {SRC}")
    nparams, sql = int(m.group(1)), []
    for p in c_strings(m.group(2)):
        if isinstance(p, tuple):
            if p[1] not in macros:
                sys.exit(f"directory_bench.py: {name} uses {p[1]}, not a string macro")
            sql.append(macros[p[1]])
        else:
            sql.append(p)
    sql = "".join(sql)
    used = {int(x) for x in re.findall(r"\$(\d+)", sql)}
    if used != set(range(1, nparams + 1)):
        sys.exit(f"directory_bench.py: {name} declares {nparams} parameters, uses {sorted(used)}")
    if set(subs) - used:
        sys.exit(f"directory_bench.py: {name} has no parameter(s) {sorted(set(subs) - used)}")
    return re.sub(r"\$(\d+)(?!\d)", lambda x: subs.get(int(x.group(1)), x.group(0)), sql)


def read_mix(path):
    mix = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kv = parse_qsl(line, keep_blank_values=True, strict_parsing=True)
        keys = [k for k, _ in kv]
        bad = set(keys) - set(FILTERS) - {"q"}
        if bad or len(set(keys)) != len(keys):
            sys.exit(f"directory_bench.py: {path}: unsupported or repeated parameter in {line!r}")
        mix.append((line, dict(kv)))
    if not mix:
        sys.exit(f"directory_bench.py: {path}: no query strings")
    return mix


def plan(q):
    """directory_plan(q) of the database: (tsquery text or None, lexeme or None)."""
    sql = stmt_sql("sql_directory_plan", {1: lit(q)})
    out = subprocess.run(["psql", os.environ["DATABASE_URL"], "-X", "-q", "-At", "-F", "\t",
                          "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    tsq, lexeme = out.rstrip("\n").split("\t")
    return tsq or None, lexeme or None


def params(qs):
    """(statement, [11 values or None]) as overlegd passes them for a first page."""
    p = [None] * 12  # 1-based
    p[1] = "NOW"
    for i, f in enumerate(FILTERS, start=2):
        p[i] = qs.get(f)
    p[11] = LIMIT
    if "q" in qs:
        tsq, lexeme = plan(qs["q"])
        p[8] = lexeme or tsq
        return ("sql_directory_search_term" if lexeme else "sql_directory_search"), p[1:]
    return "sql_directory_browse", p[1:]


def cmd_pgbench(mix_path, outdir):
    files, args = [], []
    for k, (line, qs) in enumerate(read_mix(mix_path), start=1):
        stmt, vals = params(qs)
        subs = {}
        for n, v in enumerate(vals, start=1):
            if n == 1:
                subs[n] = ":now"
            elif n == 11:
                subs[n] = ":lim"
            elif v is None:
                subs[n] = "NULL"
            else:
                var = f"d{k:02d}_{n}"
                subs[n] = ":" + var
                args += ["-D", f"{var}={v}"]
        first = ""
        if "q" in qs:  # overlegd's first step, with the same work; its answer is known already
            args += ["-D", f"d{k:02d}_q={qs['q']}"]
            first = stmt_sql("sql_directory_plan", {1: f":d{k:02d}_q"}) + ";\n"
        fn = f"{outdir}/dir_{k:02d}.sql"
        with open(fn, "w", encoding="utf-8") as f:
            f.write(f"-- GET /v1/consultants?{line}\n{first}{stmt_sql(stmt, subs)};\n")
        files += ["-f", f"{fn}@1"]
    print("\n".join(files + args))


def lit(v):
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


def cmd_explain(mix_path, now, timeout_ms):
    mix = read_mix(mix_path)
    names = {"sql_directory_search_term": "dir_search_term", "sql_directory_search": "dir_search",
             "sql_directory_browse": "dir_browse"}
    out = ["\\set ON_ERROR_STOP 1", "\\pset pager off", "SET plan_cache_mode = force_custom_plan;"]
    out += [f"PREPARE {name} AS {stmt_sql(stmt)};" for stmt, name in names.items()]
    out += ["\\set ON_ERROR_STOP 0"]
    execs = []
    for line, qs in mix:
        stmt, vals = params(qs)
        vals[0] = now
        name = names[stmt]
        execs.append((line, f"EXECUTE {name}({', '.join(lit(v) for v in vals)})"))
    # The whole mix once, as a pooled connection would have run it: that is what moves
    # PostgreSQL's plan cache (five custom plans, then maybe a generic one). The plan is made
    # before the statement runs, so a short timeout does not change what the cache learns.
    out += ["\\o /dev/null", "SET statement_timeout = '200ms';"]
    out += [e + ";" for _, e in execs]
    out += ["\\o", f"SET statement_timeout = '{int(timeout_ms)}ms';"]
    for line, e in execs:
        out += [f"\\echo '### {line}'", f"EXPLAIN (ANALYZE, BUFFERS) {e};",
                "\\if :ERROR", f"\\echo '!!! cancelled after {int(timeout_ms)} ms; the plan without ANALYZE:'",
                f"EXPLAIN {e};", "\\endif"]
    out += ["RESET statement_timeout;", "\\echo '### _statements'",
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements ORDER BY name;"]
    print("\n".join(out))


def cmd_plans(path):
    res, cur, buf = {}, None, []

    def flush():
        if cur is None:
            return
        if cur == "_statements":
            rows = [l for l in buf if "|" in l and "generic_plans" not in l]
            res[cur] = [[c.strip() for c in r.split("|")] for r in rows]
            return
        errors = [l for l in buf if "ERROR:" in l and "canceling statement due to statement timeout" not in l]
        if errors:
            sys.exit(f"directory_bench.py: EXPLAIN of {cur!r} failed: {errors[0]}")
        cancelled = next((l.strip("! ").split(";")[0] for l in buf if l.startswith("!!! ")), None)
        lines = [l for l in buf if l.strip() and not l.startswith("!!! ") and "ERROR:" not in l
                 and not re.match(r"^\s*(QUERY PLAN|-+|\(\d+ rows?\))\s*$", l)]
        ms = next((float(m.group(1)) for l in lines
                   for m in [re.search(r"Execution Time: ([0-9.]+) ms", l)] if m), None)
        scans = [re.sub(r"\s*\(cost=.*$", "", l).strip().lstrip("-> ").strip()
                 for l in lines if re.search(r"\b(Seq Scan|Index Scan|Index Only Scan|Bitmap Index Scan)\b", l)]
        res[cur] = {"plan": "\n".join(l.rstrip() for l in lines), "ms": ms, "scans": scans,
                    "cancelled": cancelled}

    for l in open(path, encoding="utf-8"):
        l = l.rstrip("\n")
        if l.startswith("### "):
            flush()
            cur, buf = l[4:], []
        elif cur is not None:
            buf.append(l)
    flush()
    print(json.dumps(res))


def main():
    a = sys.argv[1:]
    if a[:1] == ["sql"] and len(a) >= 2:
        subs = {}
        for s in a[2:]:
            n, eq, v = s.partition("=")
            if not n.isdigit() or not eq:
                sys.exit(f"directory_bench.py: bad substitution {s!r}")
            subs[int(n)] = v
        print(stmt_sql(a[1], subs))
    elif a[:1] == ["pgbench"] and len(a) == 3:
        cmd_pgbench(a[1], a[2])
    elif a[:1] == ["explain"] and len(a) == 4:
        cmd_explain(a[1], a[2], a[3])
    elif a[:1] == ["plans"] and len(a) == 2:
        cmd_plans(a[1])
    else:
        sys.exit(__doc__)


main()
