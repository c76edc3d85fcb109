#!/usr/bin/env python3
"""Helpers of the directory benchmark (tests/bench/directory.sh). Run from the repository root.

  directory_bench.py sql STMT [N=VALUE ...]
      The SQL of DB_STMT(STMT, ...) in server/directory.c, or else in server/session.c (sql_auth,
      for the /v1/me benchmark), verbatim, with each $N given replaced by VALUE (parameters not
      given stay $N).
  directory_bench.py pgbench MIX OUTDIR
      One pgbench script per query string in MIX (OUTDIR/dir_NN.sql): the statements overlegd
      runs for it, NULL inlined where overlegd passes NULL, every other parameter a variable.
      Prints the pgbench arguments, one a line: -f OUTDIR/dir_NN.sql@1 ... -D name=value ...
      (`now` and `lim` are left for the caller to define).
  directory_bench.py pgbench MIX OUTDIR --with-session
      The same, each statement behind the session check exactly as overlegd sends it
      (WITH_SESSION_SQL in server/session.c); the caller also defines `tok`, the session's token
      hash.
  directory_bench.py explain MIX NOW TIMEOUT_MS
      A psql script for one connection, as a pooled one runs the mix: PREPARE the statements
      (the functions they call plan their own queries), run the whole mix once, then run each query string's statements again with
      auto_explain logging every plan, the nested ones included (ANALYZE, BUFFERS), to stderr
      through client_min_messages = log, each after a line "### QS". A statement still running
      after TIMEOUT_MS is cancelled.
  directory_bench.py plans EXPLAIN_OUT
      Reads that psql output (stderr); prints a JSON object {query string: {"plan": text,
      "ms": execution ms or null, "scans": [scan lines], "cancelled": null or a note}}: the plan
      of the statement that found the page (the browse statement, or directory_search's query),
      and the time of all the statements overlegd runs for the query string.

overlegd's parameters: browse (no q; sql_directory_region with a region, else
sql_directory_browse): $1 now, $2 expertise, $3 target_group, $4 region, $5 mode,
$6 language, $7 accepting, $8..$10 the cursor, $11 the limit + 1; search (sql_directory_search):
$1 now, $2 q, $3..$8 the filters in the same order, $9..$10 the cursor, $11 the limit + 1 (a
search that finds no one as typed corrects its typos inside the same statement). A first page has
no cursor.
"""
import json
import re
import sys
from urllib.parse import parse_qsl

SRC = "server/directory.c"
SRC_HTTP = "server/session.c"  # sql_auth
FILTERS = ["expertise", "target_group", "region", "mode", "language", "accepting"]
LIMIT = "21"  # default page size 20, plus one to know whether there is a next page
NOW_, LIMIT_ = "\0now", "\0limit"  # where steps() puts them


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


def c_macros(src):
    """The object-like macros of C source `src` made only of string literals and such macros
    defined before them (PRINCIPAL_COLS, WITH_SESSION_SQL, ...), as {name: text}."""
    macros = {}
    for m in re.finditer(r"^#define\s+([A-Z_][A-Z0-9_]*)\s+((?:.*\\\n)*.*)$", src, re.M):
        parts = c_strings(m.group(2).replace("\\\n", "\n"))
        if parts and all(isinstance(p, str) or p[1] in macros for p in parts):
            macros[m.group(1)] = "".join(p if isinstance(p, str) else macros[p[1]] for p in parts)
    return macros


def c_macro(path, name):
    """The text of string macro `name` in the C file `path` (see c_macros)."""
    macros = c_macros(open(path, encoding="utf-8").read())
    if name not in macros:
        sys.exit(f"directory_bench.py: no string macro {name} in {path}")
    return macros[name]


def c_stmt(path, name):
    """(nparams, SQL) of DB_STMT(name, ...) in the C file `path`: its string literals joined, with
    the string macros (c_macros) expanded."""
    src = open(path, encoding="utf-8").read()
    macros = c_macros(src)
    m = re.search(r"DB_STMT\(\s*" + re.escape(name) + r"\s*,\s*(\d+)\s*,(.*?)\);", src, re.S)
    if not m:
        sys.exit(f"directory_bench.py: DB_STMT({name}, ...) not found in {path}")
    nparams, sql = int(m.group(1)), []
    for p in c_strings(m.group(2)):
        if isinstance(p, tuple):
            if p[1] not in macros:
                sys.exit(f"directory_bench.py: {name} uses {p[1]}, not a string macro")
            sql.append(macros[p[1]])
        else:
            sql.append(p)
    return nparams, "".join(sql)


def stmt_sql(name, subs=None, path=SRC):
    subs = subs or {}
    nparams, sql = c_stmt(path, name)
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


def steps(qs):
    """[(statement, [values or None, 1-based order])]: what overlegd runs for a first page."""
    filters = [qs.get(f) for f in FILTERS]
    if "q" not in qs:
        stmt = "sql_directory_region" if qs.get("region") else "sql_directory_browse"
        return [(stmt, [NOW_] + filters + [None, None, None, LIMIT_])]
    return [("sql_directory_search", [NOW_, qs["q"]] + filters + [None, None, LIMIT_])]


def with_session(sql):
    """`sql` as overlegd sends it for a directory read: behind the session check of
    with_session() in server/session.c, its token hash and clock the variables `tok` and `now`."""
    fmt = c_macro("server/session.c", "WITH_SESSION_SQL")
    if fmt.count("$%d") != 2 or fmt.count("%s") != 1 or fmt.count("%") != 3:
        sys.exit("directory_bench.py: WITH_SESSION_SQL is not two $%d and one %s")
    return fmt.replace("$%d", ":tok", 1).replace("$%d", ":now", 1).replace("%s", sql)


def cmd_pgbench(mix_path, outdir, session=False):
    files, args = [], []
    for k, (line, qs) in enumerate(read_mix(mix_path), start=1):
        text = f"-- GET /v1/consultants?{line}\n"
        for j, (stmt, vals) in enumerate(steps(qs)):
            subs = {}
            for n, v in enumerate(vals, start=1):
                if v == NOW_:
                    subs[n] = ":now"
                elif v == LIMIT_:
                    subs[n] = ":lim"
                elif v is None:
                    subs[n] = "NULL"
                else:
                    var = f"d{k:02d}_{j}_{n}"
                    subs[n] = ":" + var
                    args += ["-D", f"{var}={v}"]
            sql = stmt_sql(stmt, subs)
            text += (with_session(sql) if session else sql) + ";\n"
        fn = f"{outdir}/dir_{k:02d}.sql"
        with open(fn, "w", encoding="utf-8") as f:
            f.write(text)
        files += ["-f", f"{fn}@1"]
    print("\n".join(files + args))


def lit(v):
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


def cmd_explain(mix_path, now, timeout_ms):
    names = {"sql_directory_browse": "dir_browse", "sql_directory_region": "dir_region",
             "sql_directory_search": "dir_search"}
    out = ["\\set ON_ERROR_STOP 1", "\\pset pager off", "LOAD 'auto_explain';",
           "SET auto_explain.log_min_duration = 0;", "SET auto_explain.log_analyze = on;",
           "SET auto_explain.log_buffers = on;", "SET auto_explain.log_nested_statements = on;"]
    out += [f"PREPARE {name} AS {stmt_sql(stmt)};" for stmt, name in names.items()]
    out += ["\\set ON_ERROR_STOP 0", "\\o /dev/null"]
    runs = []
    for line, qs in read_mix(mix_path):
        ex = []
        for stmt, vals in steps(qs):
            vals = [{NOW_: now, LIMIT_: LIMIT}.get(v, v) for v in vals]
            ex.append(f"EXECUTE {names[stmt]}({', '.join(lit(v) for v in vals)});")
        runs.append((line, ex))
    # The whole mix once, as a pooled connection would have run it: the plans directory_search
    # keeps are made on first use. The plan is made before the statement runs, so a short
    # timeout does not change what is kept.
    out += ["SET statement_timeout = '200ms';"] + [e for _, ex in runs for e in ex]
    out += [f"SET statement_timeout = '{int(timeout_ms)}ms';"]
    for line, ex in runs:
        out += [f"\\warn '### {line}'", "SET client_min_messages = log;"] + ex
        out += ["\\if :ERROR", f"\\warn '!!! cancelled after {int(timeout_ms)} ms'", "\\endif",
                "SET client_min_messages = warning;"]
    print("\n".join(out))


def cmd_plans(path):
    """Each "### QS" section holds auto_explain's "LOG:  duration: MS ms  plan:" blocks: the
    query text, then the plan (its lines carry "(cost="). The prepared statements (their text is
    the PREPARE) are what overlegd sends; the plans shown are those of the queries that read
    tables inside directory_search or directory_region_page, each after a line naming it, or the
    statement's own (browse)."""
    res, cur, buf = {}, None, []

    def flush():
        if cur is None:
            return
        errors = [l for l in buf if "ERROR:" in l and "canceling statement due to statement timeout" not in l]
        if errors:
            sys.exit(f"directory_bench.py: running {cur!r} failed: {errors[0]}")
        cancelled = next((l.strip("! ") for l in buf if l.startswith("!!! ")), None)
        blocks = []  # [duration ms, query text, plan lines]
        for l in buf:
            m = re.search(r"LOG:\s+duration: ([0-9.]+) ms\s+plan:", l)
            if m:
                blocks.append([float(m.group(1)), [], []])
            elif blocks:
                b = blocks[-1]
                if b[2] or "(cost=" in l:
                    if not l.startswith("!!! ") and "ERROR:" not in l:
                        b[2].append(l)
                else:
                    b[1].append(re.sub(r"^Query Text:\s*", "", l))
        top = [b for b in blocks if re.match(r"(PREPARE|EXECUTE) ", " ".join(b[1]).strip())]
        # the queries inside directory_search that read tables (not a lone Result node)
        inner = [b for b in blocks if b not in top and len(b[2]) > 1]
        lines = []
        for b in inner or top[:1]:
            if inner:
                text = " ".join(" ".join(b[1]).split())
                lines.append(f"-- {b[0]:.3f} ms: {text[:100]}{'...' if len(text) > 100 else ''}")
            lines += b[2]
        ms = sum(b[0] for b in top) if top and not cancelled else None
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
        has = re.search(r"DB_STMT\(\s*" + re.escape(a[1]) + r"\s*,", open(SRC, encoding="utf-8").read())
        print(stmt_sql(a[1], subs, SRC if has else SRC_HTTP))
    elif a[:1] == ["pgbench"] and (len(a) == 3 or a[3:] == ["--with-session"]):
        cmd_pgbench(a[1], a[2], session=len(a) == 4)
    elif a[:1] == ["explain"] and len(a) == 4:
        cmd_explain(a[1], a[2], a[3])
    elif a[:1] == ["plans"] and len(a) == 2:
        cmd_plans(a[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
