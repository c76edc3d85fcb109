/* overlegd: serve (default), migrate, create-admin, rekey, audit-verify, routes, --version
 * (API.md §1). */
#include "audit.h"
#include "checkpoint.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "rekey.h"
#include "router.h"
#include "validate.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: overlegd [serve | migrate | create-admin --email E --name N "
                    "[--organisation ID] | rekey [--batch N] [--pause-ms N] [--max-batches N] | "
                    "audit-verify [--checkpoint FILE] | routes | --version]\n");
    return 2;
}

/* A connection for a command that needs the database at once, or NULL (said on stderr). */
static PGconn *connect_db(void)
{
    PGconn *c = PQconnectdb(cfg.database_url);
    if (PQstatus(c) == CONNECTION_OK)
        return c;
    fprintf(stderr, "overlegd: DATABASE_URL: cannot connect: %s", PQerrorMessage(c));
    PQfinish(c);
    return NULL;
}

/* A wrong or missing data key stops start-up here, before any reply could be garbled. A
 * database that is not reachable yet is not waited for: the server starts and answers 503 until
 * it is, as always. */
static int check_keys(void)
{
    PGconn *c = PQconnectdb(cfg.database_url);
    if (PQstatus(c) != CONNECTION_OK) {
        log_warn("data keys not checked: the database is not reachable (%s)", PQerrorMessage(c));
        PQfinish(c);
        return 0;
    }
    /* Not migrated yet: nothing sealed to check against (/readyz says 503 until it is). */
    PGresult *r = PQexec(c, "SELECT to_regclass('data_keys') IS NOT NULL");
    int migrated = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    int rc = 0;
    if (migrated)
        rc = rekey_check_keys(c);
    else
        log_warn("data keys not checked: the database is not migrated");
    PQfinish(c);
    return rc;
}

static int cmd_serve(void)
{
    /* argon2id allocates 19 MiB per hash. Without a fixed threshold glibc raises its mmap
     * threshold after the first free and keeps those blocks in each worker's arena for good;
     * fixed, they are mapped and unmapped every time. */
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    if (config_load(CFG_NEED_DB | CFG_NEED_KEY) != 0)
        return 1;
    if (check_keys() != 0)
        return 1;
    if (cfg.test_clock)
        log_warn("OVERLEG_TEST_CLOCK=1: the application clock can be set through the API; "
                 "never use this in production");
    return http_serve() == 0 ? 0 : 1;
}

/* overlegd rekey [--batch N] [--pause-ms N] [--max-batches N] */
static int cmd_rekey(int argc, char **argv)
{
    struct rekey_options o = {.batch = 500, .max_batches = 0, .pause_ms = 0};
    for (int i = 2; i < argc; i += 2) {
        long v = i + 1 < argc ? strtol(argv[i + 1], NULL, 10) : -1;
        if (!strcmp(argv[i], "--batch") && v >= 1 && v <= 100000)
            o.batch = (int)v;
        else if (!strcmp(argv[i], "--pause-ms") && v >= 0 && v <= 60000)
            o.pause_ms = (int)v;
        else if (!strcmp(argv[i], "--max-batches") && v >= 1)
            o.max_batches = v;
        else
            return usage();
    }
    if (config_load(CFG_NEED_DB | CFG_NEED_KEY) != 0)
        return 1;
    PGconn *c = connect_db();
    if (!c)
        return 1;
    int rc = rekey_check_keys(c) != 0 ? 1 : rekey_run(c, &o);
    PQfinish(c);
    return rc < 0 ? 1 : rc;
}

/* As the schema's owner when OVERLEG_MIGRATE_DATABASE_URL is set; the role DATABASE_URL names is
 * then the application's, and gets its rights. */
static int cmd_migrate(void)
{
    if (config_load(CFG_NEED_DB) != 0)
        return 1;
    if (!cfg.migrate_database_url)
        return migrate_run(cfg.database_url, NULL) == 0 ? 0 : 1;
    PQconninfoOption *opts = PQconninfoParse(cfg.database_url, NULL);
    const char *app = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, "user") && o->val && *o->val)
            app = o->val;
    int rc = 1;
    if (!app)
        fprintf(stderr, "overlegd: DATABASE_URL must name its user (the application role) when "
                        "OVERLEG_MIGRATE_DATABASE_URL is set\n");
    else
        rc = migrate_run(cfg.migrate_database_url, app) == 0 ? 0 : 1;
    PQconninfoFree(opts);
    return rc;
}

/* Exit status: 0 the chain and every checkpoint verify, 1 they do not, 2 no verdict (usage, an
 * unreadable checkpoint file, no database). */
static int cmd_audit_verify(int argc, char **argv)
{
    const char *file = NULL;
    if (argc == 4 && !strcmp(argv[2], "--checkpoint"))
        file = argv[3];
    else if (argc != 2)
        return usage();
    if (config_load(CFG_NEED_DB) != 0)
        return 2;
    int missing_ok = !file; /* the server's own file may not have been written yet */
    if (!file)
        file = cfg.audit_checkpoint_file;
    struct checkpoints cp = {0};
    if (file && checkpoint_read(file, missing_ok, &cp) != 0) {
        fprintf(stderr, "overlegd: audit-verify: cannot read %s: %s\n", file, strerror(errno));
        return 2;
    }
    PGconn *c = PQconnectdb(cfg.database_url);
    int rc = 2;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "overlegd: DATABASE_URL: cannot connect: %s", PQerrorMessage(c));
        goto out;
    }
    char now[40];
    clock_now_param(now);
    const char *p[] = {now, NULL, NULL, NULL, file ? cp.seqs : "{}", file ? cp.hashes : "{}"};
    PGresult *r = PQexecParams(c, AUDIT_VERIFY_SQL, 6, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "overlegd: audit-verify: %s", PQresultErrorMessage(r));
        PQclear(r);
        goto out;
    }
    const char *col[8];
    for (int i = 0; i < 8; i++)
        col[i] = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
    struct verify_row row = {col[0], col[1], col[2], col[3], col[4], col[5], col[6], col[7]};
    int ok;
    char *report = checkpoint_report(&row, file ? &cp : NULL, NULL, &ok);
    PQclear(r);
    if (report) {
        puts(report);
        free(report);
        rc = ok ? 0 : 1;
    }
out:
    PQfinish(c);
    checkpoint_free(&cp);
    return rc;
}

/* Password from OVERLEG_ADMIN_PASSWORD, else one line on stdin. */
static int read_password(char *buf, size_t sz)
{
    const char *env = getenv("OVERLEG_ADMIN_PASSWORD");
    if (env) {
        snprintf(buf, sz, "%s", env);
        return 0;
    }
    if (!fgets(buf, (int)sz, stdin))
        return -1;
    buf[strcspn(buf, "\r\n")] = 0;
    return 0;
}

static int cmd_create_admin(int argc, char **argv)
{
    const char *email = NULL, *name = NULL, *org = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--email"))
            email = argv[i + 1];
        else if (!strcmp(argv[i], "--name"))
            name = argv[i + 1];
        else if (!strcmp(argv[i], "--organisation"))
            org = argv[i + 1];
        else
            return usage();
    }
    if (!email || !name || (argc % 2) != 0)
        return usage();
    if (config_load(CFG_NEED_DB) != 0)
        return 1;
    char lower[256];
    snprintf(lower, sizeof lower, "%s", email);
    for (char *c = lower; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    if (!val_email(lower) || !val_name(name) || (org && !val_uuid(org))) {
        fprintf(stderr, "overlegd: create-admin: invalid --email, --name or --organisation\n");
        return 1;
    }
    char password[1100], hash[128];
    if (read_password(password, sizeof password) != 0 ||
        !val_password(password, strlen(password))) {
        fprintf(stderr, "overlegd: create-admin: the password must be 12 to 256 characters "
                        "(OVERLEG_ADMIN_PASSWORD or one line on stdin)\n");
        return 1;
    }
    if (crypto_password_hash(password, strlen(password), hash) != 0)
        return 1;
    PGconn *c = connect_db();
    if (!c)
        return 1;
    /* Without --organisation the admin belongs to the platform's own organisation. */
    const char *p[] = {lower, name, hash, org};
    PGresult *r = PQexecParams(
        c,
        "WITH org AS (SELECT id FROM organisations WHERE id = $4::uuid"
        "  UNION ALL SELECT id FROM organisations WHERE $4::uuid IS NULL AND name = 'Overleg "
        "beheer'"
        "  AND kind = 'other' LIMIT 1),"
        " new_org AS (INSERT INTO organisations (name, kind, region, created_at)"
        "  SELECT 'Overleg beheer', 'other', 'landelijk', now()"
        "  WHERE $4::uuid IS NULL AND NOT EXISTS (SELECT 1 FROM org) RETURNING id),"
        " u AS (INSERT INTO users (email, name, role, organisation_id, password_hash, created_at)"
        "  SELECT $1, btrim($2, E' \\t\\r\\n'), 'admin', id, $3, now() FROM (SELECT id FROM org "
        "UNION ALL"
        "  SELECT id FROM new_org) o LIMIT 1 RETURNING id),"
        " a AS (INSERT INTO audit_log SELECT e.* FROM u, audit_entry(now(), NULL, NULL, NULL,"
        "  'users.create', 'user', u.id, 'success') e)"
        " SELECT id FROM u",
        4, NULL, p, NULL, NULL, 0);
    int rc = 1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (st && !strcmp(st, "23505"))
            fprintf(stderr, "overlegd: create-admin: a user with this e-mail already exists\n");
        else
            fprintf(stderr, "overlegd: create-admin: %s", PQresultErrorMessage(r));
    } else if (PQntuples(r) != 1) {
        fprintf(stderr, "overlegd: create-admin: no such organisation\n");
    } else {
        printf("created admin %s (%s)\n", lower, PQgetvalue(r, 0, 0));
        rc = 0;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* The route table as JSON, for the authorization matrix test: one object per route. */
static int cmd_routes(void)
{
    static const char *const role_names[] = {"gp",          "poh",     "consultant",
                                             "coordinator", "billing", "admin"};
    static const struct {
        unsigned bit;
        const char *name;
    } flag_names[] = {{ROUTE_BODY, "body"},
                      {ROUTE_IDEM, "idempotent"},
                      {ROUTE_PAGED, "paged"},
                      {ROUTE_TEST_CLOCK, "test_clock"},
                      {ROUTE_SESSION_IN_STMT, "session_in_stmt"}};
    json_t *out = json_array();
    for (int i = 0; i < route_count; i++) {
        json_t *roles = json_array(), *flags = json_array();
        for (size_t b = 0; b < sizeof role_names / sizeof role_names[0]; b++)
            if (routes[i].roles & (1u << b))
                json_array_append_new(roles, json_string(role_names[b]));
        for (size_t f = 0; f < sizeof flag_names / sizeof flag_names[0]; f++)
            if (routes[i].flags & flag_names[f].bit)
                json_array_append_new(flags, json_string(flag_names[f].name));
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:s, s:o, s:o}", "method", routes[i].method,
                                        "pattern", routes[i].pattern, "action", routes[i].action,
                                        "roles", roles, "flags", flags));
    }
    int rc = json_dumpf(out, stdout, JSON_INDENT(1)) == 0 && puts("") != EOF ? 0 : 1;
    json_decref(out);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("overlegd %s\n", OVERLEG_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "serve"))
        return argc > 2 ? usage() : cmd_serve();
    if (!strcmp(cmd, "migrate"))
        return argc > 2 ? usage() : cmd_migrate();
    if (!strcmp(cmd, "routes"))
        return argc > 2 ? usage() : cmd_routes();
    if (!strcmp(cmd, "create-admin"))
        return cmd_create_admin(argc, argv);
    if (!strcmp(cmd, "rekey"))
        return cmd_rekey(argc, argv);
    if (!strcmp(cmd, "audit-verify"))
        return cmd_audit_verify(argc, argv);
    return usage();
}
