/* The data keys against the database: the start-up check and `overlegd rekey`
 * (include/rekey.h, docs/encryption.md). Synchronous libpq: both run before or beside the
 * server, never inside its event loops. */
#include "rekey.h"

#include "datakeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Every sealed column, by table. `pk` orders the table for a resumable pass (an expression of
 * type `pk_type`); the associated data is "<noun>:<ad_col>". */
struct sealed_table {
    const char *table, *pk, *pk_type, *noun, *ad_col;
    const char *cols[8];
};

static const struct sealed_table tables[] = {
    {"consultations",
     "id",
     "uuid",
     "consultation",
     "id",
     {"subject", "question", "proposed_next_step", "answer_advice", "outcome_note",
      "patient_identity", NULL}},
    {"consultation_messages", "id", "uuid", "consultation", "consultation_id", {"body", NULL}},
    {"consultation_appointments",
     "id",
     "uuid",
     "consultation",
     "consultation_id",
     {"location", NULL}},
    {"consultation_events", "seq", "bigint", "consultation", "consultation_id", {"detail", NULL}},
    {"cases",
     "id",
     "uuid",
     "case",
     "id",
     {"title", "summary", "stagnation", "attempts", "proposed_solution", "solution",
      "patient_identity", NULL}},
    {"case_actions", "id", "uuid", "case", "case_id", {"description", "result", NULL}},
    {"case_conferences", "id", "uuid", "case", "case_id", {"agenda", NULL}},
    {"case_events", "seq", "bigint", "case", "case_id", {"detail", NULL}},
    /* A stored reply is sealed to "idempotency:<user id>:<key>"; the table holds a day. */
    {"idempotency_keys",
     "user_id::text || ':' || key",
     "text",
     "idempotency",
     "user_id::text || ':' || key",
     {"body_enc", NULL}},
};
#define NTABLES (sizeof tables / sizeof tables[0])

#define PROBE_TEXT "overleg data key probe"

static void probe_ad(char out[DATAKEYS_AD_MAX], const char *id)
{
    snprintf(out, DATAKEYS_AD_MAX, "data_keys:%s", id);
}

/* A probe sealed under the current key. Older keys are checked by the probe they got when they
 * were current; a key never current with this database has none and opens nothing here. */
static char *probe_seal(void)
{
    char ad[DATAKEYS_AD_MAX];
    probe_ad(ad, datakeys_current());
    return datakeys_seal(ad, PROBE_TEXT, strlen(PROBE_TEXT));
}

static int probe_opens(const char *id, const char *probe)
{
    char ad[DATAKEYS_AD_MAX], kid[DATAKEY_ID_MAX + 1];
    probe_ad(ad, id);
    if (datakeys_key_of(probe, kid) != 0 || strcmp(kid, id) != 0)
        return 0;
    char *plain = datakeys_open(ad, probe, NULL);
    int ok = plain && !strcmp(plain, PROBE_TEXT);
    free(plain);
    return ok;
}

static int given(const char *id)
{
    for (int i = 0; i < datakeys_count(); i++)
        if (!strcmp(datakeys_id(i), id))
            return 1;
    return 0;
}

/* Registers the current key with a probe, or takes it out of retirement: it seals from now. */
static int register_current(PGconn *c)
{
    char *probe = probe_seal();
    if (!probe) {
        fprintf(stderr, "overlegd: the data key probe cannot be sealed\n");
        return -1;
    }
    const char *p[] = {datakeys_current(), probe};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO data_keys (id, probe, added_at) VALUES ($1, $2, now())"
                               " ON CONFLICT (id) DO UPDATE SET retired_at = NULL"
                               " WHERE data_keys.retired_at IS NOT NULL",
                               2, NULL, p, NULL, NULL, 0);
    free(probe);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "overlegd: data keys: %s", PQerrorMessage(c));
    PQclear(r);
    return rc;
}

int rekey_check_keys(PGconn *c)
{
    PGresult *r =
        PQexec(c, "SELECT id, probe, retired_at IS NOT NULL FROM data_keys ORDER BY added_at");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "overlegd: data keys: %s", PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *id = PQgetvalue(r, i, 0), *pr = PQgetvalue(r, i, 1);
        int retired = !strcmp(PQgetvalue(r, i, 2), "t");
        if (given(id) && !probe_opens(id, pr)) {
            fprintf(stderr,
                    "overlegd: data key \"%s\" is not the key this database was sealed with "
                    "under that id: check the data keys\n",
                    id);
            rc = -1;
        } else if (!given(id) && !retired) {
            fprintf(stderr,
                    "overlegd: the database may hold texts sealed under data key \"%s\", which "
                    "is not given: list it after the current key until `overlegd rekey` has "
                    "retired it\n",
                    id);
            rc = -1;
        }
    }
    PQclear(r);
    /* Only a ring that passed registers its current key (two processes starting at once both
     * insert; one wins, and its probe is the same key's). */
    return rc == 0 ? register_current(c) : -1;
}

/* ---------- rekey ---------- */

static int exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "overlegd: rekey: %s", PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

/* Growing arrays of SQL array literals' elements: one per sealed column. */
struct column_changes {
    char **keys, **olds, **news;
    int n, cap;
};

static void changes_add(struct column_changes *cc, const char *key, const char *old, char *new_)
{
    if (cc->n == cc->cap) {
        cc->cap = cc->cap ? cc->cap * 2 : 64;
        cc->keys = realloc(cc->keys, (size_t)cc->cap * sizeof *cc->keys);
        cc->olds = realloc(cc->olds, (size_t)cc->cap * sizeof *cc->olds);
        cc->news = realloc(cc->news, (size_t)cc->cap * sizeof *cc->news);
    }
    cc->keys[cc->n] = strdup(key);
    cc->olds[cc->n] = strdup(old);
    cc->news[cc->n] = new_;
    cc->n++;
}

static void changes_clear(struct column_changes *cc)
{
    for (int i = 0; i < cc->n; i++) {
        free(cc->keys[i]);
        free(cc->olds[i]);
        free(cc->news[i]);
    }
    cc->n = 0;
}

/* An SQL array literal of `n` strings, every element quoted. */
static char *array_literal(char **v, int n)
{
    size_t len = 3;
    for (int i = 0; i < n; i++)
        len += 2 * strlen(v[i]) + 3;
    char *out = malloc(len), *p = out;
    *p++ = '{';
    for (int i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *s = v[i]; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = 0;
    return out;
}

/* Writes one column's changes; a row changed meanwhile (by the server, which seals under the
 * current key itself) keeps its new value. */
static int write_column(PGconn *c, const struct sealed_table *t, const char *col,
                        struct column_changes *cc)
{
    if (!cc->n)
        return 0;
    char sql[768];
    snprintf(sql, sizeof sql,
             "UPDATE %s t SET %s = v.new FROM unnest($1::text[], $2::text[], $3::text[])"
             " v(k, old, new) WHERE (%s) = v.k::%s AND t.%s = v.old",
             t->table, col, t->pk, t->pk_type, col);
    char *a[3] = {array_literal(cc->keys, cc->n), array_literal(cc->olds, cc->n),
                  array_literal(cc->news, cc->n)};
    const char *p[] = {a[0], a[1], a[2]};
    PGresult *r = PQexecParams(c, sql, 3, NULL, p, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        fprintf(stderr, "overlegd: rekey: %s.%s: %s", t->table, col, PQerrorMessage(c));
    PQclear(r);
    for (int i = 0; i < 3; i++)
        free(a[i]);
    return rc;
}

struct table_run {
    long rows, sealed, failed;
};

/* The value sealed anew under the current key, or NULL when it is sealed under it already (or
 * does not open: counted in *failed). */
static char *reseal(const char *ad, const char *v, long *failed)
{
    char kid[DATAKEY_ID_MAX + 1];
    if (datakeys_key_of(v, kid) == 0) {
        if (!strcmp(kid, datakeys_current()))
            return NULL;
        size_t len = 0;
        char *plain = datakeys_open(ad, v, &len);
        if (!plain) {
            (*failed)++;
            return NULL;
        }
        char *out = datakeys_seal(ad, plain, len);
        free(plain);
        return out;
    }
    if (!strncmp(v, DATAKEYS_PREFIX, strlen(DATAKEYS_PREFIX))) {
        (*failed)++; /* the format, but no key id: not a clear text to seal */
        return NULL;
    }
    return datakeys_seal(ad, v, strlen(v)); /* written in clear */
}

/* One batch after `after` (NULL: from the start). Returns rows read (0: the table is done), or
 * -1 on error; `after` becomes the last key read. */
static long batch(PGconn *c, const struct sealed_table *t, char **after, int size,
                  struct table_run *tr)
{
    char sql[1024];
    /* Aliased: an output column named like the key column would be what ORDER BY sorts by,
     * as text ("10" before "9"), and the pass would skip rows. */
    int n = snprintf(sql, sizeof sql, "SELECT (%s)::text AS rekey_k, (%s)::text AS rekey_ad", t->pk,
                     t->ad_col);
    int ncols = 0;
    for (; t->cols[ncols]; ncols++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, ", %s", t->cols[ncols]);
    snprintf(sql + n, sizeof sql - (size_t)n,
             " FROM %s WHERE $1::%s IS NULL OR (%s) > $1::%s ORDER BY (%s) LIMIT %d", t->table,
             t->pk_type, t->pk, t->pk_type, t->pk, size);
    if (exec_ok(c, "BEGIN") != 0)
        return -1;
    const char *p[] = {*after};
    PGresult *r = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "overlegd: rekey: %s: %s", t->table, PQerrorMessage(c));
        PQclear(r);
        exec_ok(c, "ROLLBACK");
        return -1;
    }
    long rows = PQntuples(r);
    struct column_changes cc[8] = {{0}};
    for (long i = 0; i < rows; i++) {
        char ad[DATAKEYS_AD_MAX];
        datakeys_ad(ad, t->noun, PQgetvalue(r, (int)i, 1));
        for (int k = 0; k < ncols; k++) {
            if (PQgetisnull(r, (int)i, 2 + k))
                continue;
            const char *v = PQgetvalue(r, (int)i, 2 + k);
            char *nv = reseal(ad, v, &tr->failed);
            if (nv)
                changes_add(&cc[k], PQgetvalue(r, (int)i, 0), v, nv);
        }
    }
    int rc = 0;
    for (int k = 0; k < ncols; k++) {
        tr->sealed += cc[k].n;
        if (rc == 0)
            rc = write_column(c, t, t->cols[k], &cc[k]);
        changes_clear(&cc[k]);
        free(cc[k].keys);
        free(cc[k].olds);
        free(cc[k].news);
    }
    if (rows) {
        free(*after);
        *after = strdup(PQgetvalue(r, (int)rows - 1, 0));
    }
    PQclear(r);
    /* Where this run is, in the same transaction as what it wrote: a crash resumes here. */
    if (rc == 0 && rows) {
        const char *q[] = {t->table, datakeys_current(), *after};
        char cnt[24];
        snprintf(cnt, sizeof cnt, "%ld", rows);
        const char *qp[] = {q[0], q[1], q[2], cnt};
        PGresult *u = PQexecParams(
            c,
            "INSERT INTO rekey_progress (table_name, key_id, after_key, rows_done, updated_at)"
            " VALUES ($1, $2, $3, $4, now()) ON CONFLICT (table_name) DO UPDATE"
            " SET key_id = $2, after_key = $3, rows_done = rekey_progress.rows_done + $4,"
            " updated_at = now()",
            4, NULL, qp, NULL, NULL, 0);
        if (PQresultStatus(u) != PGRES_COMMAND_OK) {
            fprintf(stderr, "overlegd: rekey: progress: %s", PQerrorMessage(c));
            rc = -1;
        }
        PQclear(u);
    }
    if (rc != 0) {
        exec_ok(c, "ROLLBACK");
        return -1;
    }
    if (exec_ok(c, "COMMIT") != 0)
        return -1;
    tr->rows += rows;
    return rows;
}

/* Where a stopped run for the current key left this table, or NULL (from the start). */
static char *resume_point(PGconn *c, const char *table, long *done)
{
    const char *p[] = {table, datakeys_current()};
    PGresult *r = PQexecParams(c,
                               "SELECT after_key, rows_done FROM rekey_progress"
                               " WHERE table_name = $1 AND key_id = $2",
                               2, NULL, p, NULL, NULL, 0);
    char *after = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        after = strdup(PQgetvalue(r, 0, 0));
        *done = atol(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return after;
}

/* Retires every key no sealed value names any more; prints what is left under others. */
static int retire_keys(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT id FROM data_keys WHERE retired_at IS NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        const char *id = PQgetvalue(r, i, 0);
        if (!strcmp(id, datakeys_current()))
            continue;
        long left = 0;
        for (size_t ti = 0; ti < NTABLES && rc == 0; ti++)
            for (int k = 0; tables[ti].cols[k] && rc == 0; k++) {
                char sql[512], pattern[DATAKEY_ID_MAX + 8];
                snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s LIKE $1",
                         tables[ti].table, tables[ti].cols[k]);
                snprintf(pattern, sizeof pattern, "%s%s:%%", DATAKEYS_PREFIX, id);
                const char *p[] = {pattern};
                PGresult *q = PQexecParams(c, sql, 1, NULL, p, NULL, NULL, 0);
                if (PQresultStatus(q) == PGRES_TUPLES_OK)
                    left += atol(PQgetvalue(q, 0, 0));
                else
                    rc = -1;
                PQclear(q);
            }
        if (rc == 0 && left == 0) {
            const char *p[] = {id};
            PGresult *u = PQexecParams(
                c, "UPDATE data_keys SET retired_at = now() WHERE id = $1 AND retired_at IS NULL",
                1, NULL, p, NULL, NULL, 0);
            rc = PQresultStatus(u) == PGRES_COMMAND_OK ? 0 : -1;
            PQclear(u);
            printf("key \"%s\": no value is sealed under it any more; retired (it may be removed "
                   "from the keys)\n",
                   id);
        } else if (rc == 0) {
            printf("key \"%s\": %ld values still sealed under it (written by a server that "
                   "still seals with it?); run rekey again\n",
                   id, left);
        }
    }
    PQclear(r);
    return rc;
}

int rekey_run(PGconn *c, const struct rekey_options *o)
{
    long batches = 0, failed = 0;
    printf("rekey: sealing under data key \"%s\"\n", datakeys_current());
    fflush(stdout);
    for (size_t ti = 0; ti < NTABLES; ti++) {
        const struct sealed_table *t = &tables[ti];
        struct table_run tr = {0};
        long before = 0;
        char *after = resume_point(c, t->table, &before);
        if (after)
            printf("%s: resuming after %ld rows\n", t->table, before);
        time_t last = time(NULL);
        for (;;) {
            if (o->max_batches && batches >= o->max_batches) {
                printf("%s: stopped after %ld batches (--max-batches); run rekey again to "
                       "resume\n",
                       t->table, batches);
                free(after);
                return 2;
            }
            long n = batch(c, t, &after, o->batch, &tr);
            if (n < 0) {
                free(after);
                return -1;
            }
            batches++;
            if (n == 0)
                break;
            if (time(NULL) - last >= 2) {
                printf("%s: %ld rows read, %ld values sealed anew\n", t->table, before + tr.rows,
                       tr.sealed);
                fflush(stdout);
                last = time(NULL);
            }
            if (o->pause_ms > 0)
                usleep((useconds_t)o->pause_ms * 1000);
        }
        free(after);
        printf("%s: %ld rows read, %ld values sealed anew\n", t->table, before + tr.rows,
               tr.sealed);
        if (tr.failed)
            printf("%s: %ld values do not open with the keys given (left as they are)\n", t->table,
                   tr.failed);
        fflush(stdout);
        failed += tr.failed;
    }
    /* The pass is complete: the next run starts from the beginning. */
    if (exec_ok(c, "DELETE FROM rekey_progress") != 0 || retire_keys(c) != 0)
        return -1;
    printf("rekey: done%s\n", failed ? ", with values that do not open" : "");
    return failed ? 1 : 0;
}
