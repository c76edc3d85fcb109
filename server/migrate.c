#include "migrate.h"

#include "crypto.h"
#include "embedded.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK 7514
#define STR_(x) #x
#define STR(x) STR_(x)

/* "sql/0002_name.sql" -> 2; other embedded files -> 0. */
static int version_of(const char *name)
{
    if (strncmp(name, "sql/", 4) != 0 || name[4] < '0' || name[4] > '9')
        return 0;
    return atoi(name + 4);
}

int migrate_latest(void)
{
    int latest = 0;
    for (const struct embedded_file *f = embedded_files; f->name; f++)
        if (version_of(f->name) > latest)
            latest = version_of(f->name);
    return latest;
}

static int exec_ok(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "overlegd: migrate: %s: %s", what, PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

static int applied(PGconn *c, int version)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {v};
    PGresult *r = PQexecParams(c, "SELECT 1 FROM schema_migrations WHERE version = $1", 1, NULL, p,
                               NULL, NULL, 0);
    int yes = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    return yes;
}

/* The SHA-256 of a migration's text, as schema_migrations records it. */
static void file_checksum(const struct embedded_file *f, char out[65])
{
    crypto_sha256_hex(f->data, strlen(f->data), out);
}

/* Every migration the database records must be this build's file of that number, with the same
 * text. A database migrated by another build of the schema (numbers reused for other files, or a
 * file changed after it was applied, against docs/migrations.md) is refused instead of being
 * left half-right. */
static int history_matches(PGconn *c)
{
    PGresult *r =
        PQexec(c, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        int v = atoi(PQgetvalue(r, i, 0));
        const char *name = PQgetvalue(r, i, 1), *sum = PQgetvalue(r, i, 2);
        const struct embedded_file *ours = NULL;
        for (const struct embedded_file *f = embedded_files; f->name; f++)
            if (version_of(f->name) == v)
                ours = f;
        char want[65] = "";
        if (ours)
            file_checksum(ours, want);
        if (!ours || strcmp(ours->name, name) != 0 || strcmp(want, sum) != 0) {
            fprintf(stderr,
                    "overlegd: migrate: the database records migration %d as %s (sha256 %.12s), "
                    "which this build does not have (%s, sha256 %.12s): it was migrated by "
                    "another build of the schema. Use a new database (for `make run`: make "
                    "stop-db; rm -rf var/pg)\n",
                    v, name, *sum ? sum : "not recorded", ours ? ours->name : "no such migration",
                    want);
            ok = 0;
        }
    }
    PQclear(r);
    return ok;
}

/* What the application role may do, made exact again after every migrate, so a new table is
 * covered without a GRANT in its migration. Everything the role needs and nothing more: rows of
 * every table, but the audit log only read and appended to (audit_head is written by the chain
 * trigger as the owner), the migration history only read; no TRUNCATE, REFERENCES or TRIGGER, no
 * CREATE in the schema and no temporary tables, so no DDL (ALTER and DROP need ownership). */
static int grant_app(PGconn *c, const char *role)
{
    PGresult *r = PQexec(c, "SELECT current_user, current_schema(), current_database()");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 1);
    if (!ok || strcmp(PQgetvalue(r, 0, 0), role) == 0) { /* one role for both: nothing to grant */
        if (!ok)
            fprintf(stderr, "overlegd: migrate: no current schema\n");
        PQclear(r);
        return ok;
    }
    char *app = PQescapeIdentifier(c, role, strlen(role));
    char *schema = PQescapeIdentifier(c, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
    char *db = PQescapeIdentifier(c, PQgetvalue(r, 0, 2), strlen(PQgetvalue(r, 0, 2)));
    PQclear(r);
    char sql[2048];
    snprintf(sql, sizeof sql,
             "BEGIN;"
             " REVOKE TEMPORARY ON DATABASE %3$s FROM PUBLIC;"
             " REVOKE CREATE ON SCHEMA %2$s FROM PUBLIC;"
             " GRANT USAGE ON SCHEMA %2$s TO %1$s;"
             " REVOKE ALL ON ALL TABLES IN SCHEMA %2$s FROM %1$s;"
             " GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %2$s TO %1$s;"
             " REVOKE UPDATE, DELETE ON audit_log FROM %1$s;"
             " REVOKE INSERT, UPDATE, DELETE ON audit_head, schema_migrations FROM %1$s;"
             " GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %2$s TO %1$s;"
             " COMMIT",
             app, schema, db);
    PQfreemem(app);
    PQfreemem(schema);
    PQfreemem(db);
    if (!exec_ok(c, sql, "grants")) {
        exec_ok(c, "ROLLBACK", "rollback");
        return 0;
    }
    printf("granted the application role %s its rights\n", role);
    return 1;
}

int migrate_run(const char *conninfo, const char *app_role)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "overlegd: %s: cannot connect: %s",
                app_role ? "OVERLEG_MIGRATE_DATABASE_URL" : "DATABASE_URL", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int rc = -1, count = 0;
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    if (!exec_ok(c, "SELECT pg_advisory_lock(" STR(MIGRATE_LOCK) ")", "lock") ||
        !exec_ok(c,
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY,"
                 " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());"
                 " ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text",
                 "schema_migrations") ||
        !history_matches(c))
        goto out;
    for (const struct embedded_file *f = embedded_files; f->name; f++) {
        int v = version_of(f->name);
        if (!v || applied(c, v))
            continue;
        if (!exec_ok(c, "BEGIN", "begin"))
            goto out;
        if (!exec_ok(c, f->data, f->name)) {
            exec_ok(c, "ROLLBACK", "rollback");
            goto out;
        }
        char v_s[16], sum[65];
        snprintf(v_s, sizeof v_s, "%d", v);
        file_checksum(f, sum);
        const char *p[] = {v_s, f->name, sum};
        PGresult *r = PQexecParams(c,
                                   "INSERT INTO schema_migrations (version, name, checksum)"
                                   " VALUES ($1, $2, $3)",
                                   3, NULL, p, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok || !exec_ok(c, "COMMIT", "commit"))
            goto out;
        printf("applied %s\n", f->name);
        count++;
    }
    printf("schema at version %d (%d applied now)\n", migrate_latest(), count);
    if (app_role && !grant_app(c, app_role))
        goto out;
    rc = 0;
out:
    PQfinish(c); /* also releases the advisory lock */
    return rc;
}
