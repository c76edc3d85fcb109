"""Least privilege in the database (docs/migrations.md, deploy/README.md): `overlegd migrate` runs as
the schema's owner and grants the application role what `overlegd serve` needs; the server
connects as that role, which may read and write rows but not change the schema, empty tables,
or change or delete audit entries."""

import subprocess

import psycopg2
import pytest

from conftest import APP, BIN, OWNER, Server, as_role, clean_env, data_key, sql_count, uid


@pytest.fixture
def app_db(pg, server, main_db_name):
    """A connection to the main database as the application role, rolled back afterwards."""
    conn = pg.connect(main_db_name, autocommit=False, role=APP)
    yield conn
    conn.rollback()
    conn.close()


def test_server_connects_as_the_application_role(db, api, admin_token, main_db_name):
    api.get("/v1/me", token=admin_token)
    with db.cursor() as cur:
        cur.execute("SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (main_db_name,))
        assert {r[0] for r in cur.fetchall()} == {APP}
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = %s",
                    (APP,))
        assert cur.fetchone() == (False, False, False, False)


def test_the_owner_owns_every_object(db):
    # objects of (trusted) extensions belong to the bootstrap superuser, whoever creates them
    owners = """
        SELECT pg_get_userbyid(relowner) FROM pg_class c WHERE relnamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT FROM pg_depend WHERE objid = c.oid AND deptype = 'e')
        UNION SELECT pg_get_userbyid(proowner) FROM pg_proc p WHERE pronamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT FROM pg_depend WHERE objid = p.oid AND deptype = 'e')
        UNION SELECT pg_get_userbyid(typowner) FROM pg_type t WHERE typnamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT FROM pg_depend WHERE objid IN (t.oid, t.typrelid, t.typelem) AND deptype = 'e')
        UNION SELECT pg_get_userbyid(cfgowner) FROM pg_ts_config WHERE cfgnamespace = 'public'::regnamespace
    """
    with db.cursor() as cur:
        cur.execute(owners)
        assert {r[0] for r in cur.fetchall()} == {OWNER}
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (OWNER,))
        assert cur.fetchone() == (False,)


@pytest.mark.parametrize("stmt,message", [
    ("CREATE TABLE t_intruder (x int)", "permission denied for schema public"),
    ("CREATE FUNCTION t_intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'", "permission denied for schema public"),
    ("CREATE INDEX t_intruder ON users (name)", "must be owner"),
    ("ALTER TABLE users ADD COLUMN t_intruder int", "must be owner"),
    ("ALTER TABLE audit_log DISABLE TRIGGER USER", "must be owner"),
    ("DROP TABLE notifications", "must be owner"),
    ("DROP FUNCTION audit_hash(audit_log)", "must be owner"),
    ("CREATE OR REPLACE FUNCTION ts(t timestamptz) RETURNS text LANGUAGE sql AS 'SELECT null'",
     "permission denied for schema public"),
    ("TRUNCATE sessions", "permission denied for table sessions"),
    ("TRUNCATE audit_log", "permission denied for table audit_log"),
    ("UPDATE audit_log SET action = action", "permission denied for table audit_log"),
    ("DELETE FROM audit_log", "permission denied for table audit_log"),
    ("UPDATE audit_head SET seq = 0", "permission denied for table audit_head"),
    ("DELETE FROM schema_migrations", "permission denied for table schema_migrations"),
    ("CREATE TEMP TABLE t_intruder AS SELECT * FROM users", None),
])
def test_application_role_may_not(app_db, stmt, message):
    with app_db.cursor() as cur, pytest.raises(psycopg2.Error) as e:
        cur.execute(stmt)
    # refused for want of the right, not by the audit log's triggers
    assert e.value.pgcode == "42501", e.value.pgerror
    assert message is None or message in e.value.pgerror, e.value.pgerror


def test_application_role_reads_and_appends_the_audit_log(app_db):
    with app_db.cursor() as cur:
        cur.execute("SELECT seq FROM audit_head")
        (before,) = cur.fetchone()
        cur.execute("INSERT INTO audit_log SELECT * FROM audit_entry(now(), NULL, NULL, NULL, 'test.append',"
                    " NULL, NULL, 'success') RETURNING seq")
        (seq,) = cur.fetchone()
        assert seq > before
        cur.execute("SELECT seq FROM audit_head")  # moved by the chain trigger, as the owner
        assert cur.fetchone() == (seq,)
        assert sql_count(app_db, "SELECT count(*) FROM schema_migrations") > 0


def test_migrate_grants_and_is_repeatable(pg):
    db = f"t_roles_{uid()}"
    s = Server(pg.createdb(db), pg.root, name="roles")
    for _ in range(2):
        p = s.run_cmd("migrate")
        assert p.returncode == 0, p.stderr
        assert f"granted the application role {APP} its rights" in p.stdout
    conn = pg.connect(db)
    try:
        assert sql_count(conn, "SELECT count(*) FROM pg_class WHERE relowner = %s::regrole", APP) == 0
        assert sql_count(conn, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                               " AND relkind = 'r' AND NOT has_table_privilege(%s, oid, 'SELECT')", APP) == 0
    finally:
        conn.close()


def test_migrate_needs_the_application_role_named(pg):
    db = f"t_roles_{uid()}"
    url = pg.createdb(db)
    env = clean_env({"DATABASE_URL": url.replace("postgresql://overleg@", "postgresql://"),
                     "OVERLEG_MIGRATE_DATABASE_URL": as_role(url, OWNER), "OVERLEG_DATA_KEY": data_key()})
    p = subprocess.run([BIN, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "DATABASE_URL must name its user" in p.stderr
