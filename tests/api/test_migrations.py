"""`overlegd migrate` and the schema it makes (docs/migrations.md): one migration per capability
with the final definitions, applied once, on a database no other build migrated."""

import re
import subprocess

import pytest

from conftest import BIN, REPO, clean_env, data_key, sql_count, uid

SQL_FILES = sorted((REPO / "sql").glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate_env(pg, db):
    return clean_env({"DATABASE_URL": pg.url(db), "OVERLEG_DATA_KEY": data_key(pg.url(db)),
                      "OVERLEG_LOG_LEVEL": "warn"})


def migrate(pg, db):
    return subprocess.run([BIN, "migrate"], env=migrate_env(pg, db), capture_output=True, text=True,
                          timeout=60)


def new_db(pg, migrated=True):
    db = f"t_mig_{uid()}"
    pg.createdb(db)
    if migrated:
        p = migrate(pg, db)
        assert p.returncode == 0, p.stderr
    return db


# One line per object of the public schema, in a fixed order: what "the same schema" means here.
# Functions by their whole definition (volatility, parallel safety, settings, body); columns with
# their position, type, nullability, default and identity; constraints, indexes, triggers (and
# whether they fire always); the text search configuration's mapping; the vocabulary's rows.
CATALOG = """
SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
       || pg_get_functiondef(p.oid)
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace AND p.prokind <> 'a'
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'column ' || c.relname || '.' || a.attname || ' #' || a.attnum || ' '
       || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE a.attidentity WHEN '' THEN '' ELSE ' IDENTITY ' || a.attidentity::text END
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
   AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'relation ' || c.relname || ' kind ' || c.relkind::text
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind NOT IN ('i', 'I')
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'extension ' || extname FROM pg_extension
UNION ALL
SELECT 'ts_config ' || cfg.cfgname || ' ' || prs.prsname || ' ' || t.alias || ' #' || m.mapseqno
       || ' ' || dict.dictname
  FROM pg_ts_config cfg JOIN pg_ts_parser prs ON prs.oid = cfg.cfgparser
  JOIN pg_ts_config_map m ON m.mapcfg = cfg.oid
  JOIN pg_ts_dict dict ON dict.oid = m.mapdict
  JOIN ts_token_type(cfg.cfgparser) t ON t.tokid = m.maptokentype
 WHERE cfg.cfgnamespace = 'public'::regnamespace
UNION ALL
SELECT 'vocabulary ' || v::text FROM vocabulary v
ORDER BY 1
"""


def catalog(pg, db):
    conn = pg.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(CATALOG)
            return [r[0] for r in cur.fetchall() if "schema_migrations" not in r[0]]
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# overlegd migrate
# ---------------------------------------------------------------------------------------------

def test_migrate_is_idempotent(pg):
    db = new_db(pg, migrated=False)
    p = migrate(pg, db)
    assert p.returncode == 0, p.stderr
    assert [ln for ln in p.stdout.splitlines() if ln.startswith("applied ")] == \
        [f"applied sql/{f.name}" for f in SQL_FILES]
    p = migrate(pg, db)
    assert p.returncode == 0, p.stderr
    assert "applied sql/" not in p.stdout and "(0 applied now)" in p.stdout, p.stdout
    conn = pg.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
            assert cur.fetchall() == [(int(f.name[:4]), f"sql/{f.name}") for f in SQL_FILES]
    finally:
        conn.close()


@pytest.mark.parametrize("change", [
    "UPDATE schema_migrations SET name = 'sql/0002_something_else.sql' WHERE version = 2",
    "INSERT INTO schema_migrations (version, name) VALUES (9999, 'sql/9999_from_a_newer_build.sql')",
    # a file changed after it was applied (migrations are append-only, docs/migrations.md)
    "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE version = 1",
    # a database migrated before checksums were recorded
    "UPDATE schema_migrations SET checksum = NULL WHERE version = 3",
])
def test_migrate_refuses_another_builds_history(pg, change):
    """A database whose recorded migrations are not this build's files (numbers reused by
    another build of the schema) is refused with a message, and left as it is."""
    db = new_db(pg)
    conn = pg.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(change)
        before = sql_count(conn, "SELECT count(*) FROM schema_migrations")
        p = migrate(pg, db)
        assert p.returncode != 0
        assert "another build of the schema" in p.stderr, p.stderr
        assert sql_count(conn, "SELECT count(*) FROM schema_migrations") == before
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# The schema is what the files say
# ---------------------------------------------------------------------------------------------

def test_migrated_schema_is_what_the_files_say(pg):
    """`overlegd migrate` (the files compiled into the binary) makes the same schema as the files
    in sql/ applied with a plain client, in order, in one transaction."""
    migrated = new_db(pg)
    by_hand = new_db(pg, migrated=False)
    conn = pg.connect(by_hand, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SET client_min_messages = warning")
            for f in SQL_FILES:
                cur.execute(f.read_text())
        conn.commit()
    finally:
        conn.close()
    want, got = catalog(pg, by_hand), catalog(pg, migrated)
    assert len(want) > 300
    assert got == want, "\n".join(
        [f"- {line[:200]}" for line in want if line not in got]
        + [f"+ {line[:200]}" for line in got if line not in want])


CREATE_FUNCTION = re.compile(r"^\s*CREATE\s+(OR\s+REPLACE\s+)?FUNCTION\s+(?:public\.)?(\w+)\s*\(",
                             re.I | re.M)


def test_each_function_is_created_in_one_place():
    """Until the first release the migrations hold the final definitions (docs/migrations.md): a
    function is created once, never replaced, altered or dropped later. Overloads of one name
    (consultant_item) stand together, so a reader finds every definition of a name in one place."""
    assert SQL_FILES
    places = {}   # name -> [(file, index among that file's CREATE FUNCTIONs)]
    for f in SQL_FILES:
        text = re.sub(r"--[^\n]*", "", f.read_text())  # comments may name functions freely
        assert not re.search(r"\b(ALTER|DROP)\s+FUNCTION\b", text, re.I), f.name
        for i, m in enumerate(CREATE_FUNCTION.finditer(text)):
            assert not m.group(1), f"{f.name}: CREATE OR REPLACE FUNCTION {m.group(2)}"
            places.setdefault(m.group(2).lower(), []).append((f.name, i))
    assert len(places) > 40
    scattered = {name: p for name, p in places.items()
                 if len({file for file, _ in p}) > 1
                 or [i for _, i in p] != list(range(p[0][1], p[0][1] + len(p)))}
    assert scattered == {}


# ---------------------------------------------------------------------------------------------
# Rules of the migrated schema that no endpoint can reach
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def schema_db(pg):
    """A database of its own, migrated, for tests that change rows in ways the API never does."""
    db = new_db(pg)
    conn = pg.connect(db)
    yield conn
    conn.close()


def make_org(cur, region, kind="general_practice"):
    cur.execute("INSERT INTO organisations (name, kind, region, created_at) VALUES (%s, %s, %s, now())"
                " RETURNING id::text", (f"Org {uid()}", kind, region))
    return cur.fetchone()[0]


def make_user(cur, org, role="poh", name="Schema Test", active=True):
    cur.execute("INSERT INTO users (email, name, role, organisation_id, password_hash, active, created_at)"
                " VALUES (%s, %s, %s, %s, 'x', %s, now()) RETURNING id::text",
                (f"schema-{uid()}@test.example", name, role, org, active))
    return cur.fetchone()[0]


def open_session(cur, user):
    cur.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at)"
                " VALUES (%s, %s, now(), now() + interval '1 hour')"
                " RETURNING organisation_id::text, role, region", (f"h-{uid()}", user))
    return cur.fetchall()


def open_sessions(cur, user):
    cur.execute("SELECT count(*) FROM sessions WHERE user_id = %s AND revoked_at IS NULL", (user,))
    return cur.fetchone()[0]


@pytest.mark.parametrize("replication_role", ["origin", "replica"])
def test_session_rules_hold_for_any_writer(schema_db, replication_role):
    """A session carries its user's principal, is never made for an inactive user, and ends when
    the principal changes, whoever writes the rows: also with session_replication_role = replica
    (as a logical replication apply or a restore runs), where ordinary triggers do not fire."""
    with schema_db.cursor() as cur:
        cur.execute("SET session_replication_role = " + replication_role)
        try:
            org, other_org = make_org(cur, "twente"), make_org(cur, "drenthe")
            active, inactive = make_user(cur, org), make_user(cur, org, active=False)
            assert open_session(cur, active) == [(org, "poh", "twente")]
            assert open_session(cur, inactive) == []
            for change, args in [("UPDATE users SET role = 'gp' WHERE id = %s", (active,)),
                                 ("UPDATE users SET organisation_id = %s WHERE id = %s", (other_org, active)),
                                 ("UPDATE organisations SET region = 'zeeland' WHERE id = %s", (other_org,)),
                                 ("UPDATE users SET active = false WHERE id = %s", (active,))]:
                assert open_sessions(cur, active) == 1
                cur.execute(change, args)
                assert open_sessions(cur, active) == 0, change
                open_session(cur, active)  # signs in again (none after the deactivation)
            assert open_sessions(cur, active) == 0
        finally:
            cur.execute("RESET session_replication_role")


def test_directory_rows_follow_consultants_written_in_sql(schema_db):
    """Consultants written straight into the tables (as sql/demo/ does): the directory's derived
    rows follow through the triggers. Every card with its stats is the consultant's JSON, the
    search and region tables hold the active profiles only, and search and pages find them."""
    reg = f"schema-{uid()}"
    with schema_db.cursor() as cur:
        org = make_org(cur, "utrecht", kind="mental_health_provider")
        ids = []
        for name, bio, regions, active in [
                ("Anke Schema", "Angst en depressie bij volwassenen.", [reg, reg + "-b"], True),
                ("Bram Schema", "Angst bij jongeren; angst en paniek.", [reg], True),
                ("Cor Schema", "Angst, niet meer actief.", [reg], False)]:
            user = make_user(cur, org, role="consultant", name=name)
            ids.append(user)
            cur.execute("UPDATE consultant_profiles SET discipline = 'psychiater', expertise = '{angst}',"
                        " regions = %s, modes = '{video}', languages = '{nl}', accepting = true, bio = %s"
                        " WHERE user_id = %s", (regions, bio, user))
            if not active:
                cur.execute("UPDATE users SET active = false WHERE id = %s", (user,))
        cur.execute("""SELECT count(*), count(*) FILTER (WHERE consultant_item(c.card,
                               consultant_stats(p.user_id, now()))::jsonb = consultant_json(p, now()))
                         FROM consultant_cards c JOIN consultant_profiles p USING (user_id)
                        WHERE p.user_id = ANY (%s::uuid[])""", (ids,))
        assert cur.fetchone() == (3, 3)
        cur.execute("SELECT DISTINCT user_id::text FROM directory_terms WHERE user_id = ANY (%s::uuid[])"
                    " ORDER BY 1", (ids,))
        assert [r[0] for r in cur.fetchall()] == sorted(ids[:2])
        cur.execute("SELECT region, user_id::text FROM directory_regions WHERE user_id = ANY (%s::uuid[])"
                    " ORDER BY 1, 2", (ids,))
        assert cur.fetchall() == sorted([(reg, ids[0]), (reg + "-b", ids[0]), (reg, ids[1])])
        cur.execute("SELECT user_id::text FROM directory_search(now(), 'angst', NULL, NULL, NULL, %s,"
                    " NULL, NULL, NULL, NULL, NULL, 10)", (reg,))
        assert [r[0] for r in cur.fetchall()] == [ids[1], ids[0]]  # "angst" three times first
        cur.execute("SELECT user_id::text FROM directory_region_page(now(), NULL, NULL, %s, NULL,"
                    " NULL, NULL, NULL, NULL, NULL, 10)", (reg,))
        assert [r[0] for r in cur.fetchall()] == ids[:2]
