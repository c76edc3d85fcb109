#include "db.h"

#include "log.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

struct db_gauges db_gauges;

#define STMT_MAX 512          /* distinct statements in the program */
#define QUEUE_MAX 1024        /* requests waiting for a connection, per pool */
#define QUEUE_WAIT_MS 5000    /* longest wait for a free connection */
#define QUERY_TIMEOUT_MS 8000 /* client-side guard; statement_timeout (5 s) fires first */
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 2000

static _Atomic int next_stmt_id = 1;

struct pending {
    struct pending *next;
    struct db_pool *pool;
    struct db_stmt *stmt;
    const char *text;   /* instead of stmt: a transaction's COMMIT or ROLLBACK */
    struct db_txn *txn; /* a statement of this transaction */
    int nparams;
    char **params; /* copied; one allocation with the strings after the array */
    db_cb cb;
    void *arg;
    struct event *timer; /* queue-wait deadline, or the deferred failure */
    enum db_status fail; /* set when delivered as a deferred failure */
};

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };
/* P_BEGIN: BEGIN is out before a transaction's statement; P_HELD: held by a transaction (busy
 * for the pool) with nothing out. */
enum conn_phase { P_PREPARE, P_EXEC, P_ROLLBACK, P_BEGIN, P_HELD };

struct db_conn {
    struct db_pool *pool;
    PGconn *pg;
    enum conn_state state;
    enum conn_phase phase;
    int fd;
    struct event *ev_read, *ev_write, *timer;
    int backoff_ms;
    struct pending *cur;
    struct db_txn *txn; /* the transaction holding this connection */
    PGresult *result;   /* last result of the current query */
    unsigned char prepared[STMT_MAX / 8];
};

struct db_pool {
    struct event_base *base;
    char *conninfo;
    int size;
    struct db_conn *conns;
    struct pending *head, *tail;
    /* While a result's callback runs: the statements it queues go before those of requests
     * that have not started (`cont` is the last of them so far), so a request waits in the queue
     * once, not once per statement. */
    int in_callback;
    struct pending *cont;
    int waiting;
    int up;                  /* connections idle or busy */
    int last_connect_failed; /* fail fast while the database is down */
};

/* A transaction holding one connection from its first statement to its end (db.h). */
struct db_txn {
    struct db_pool *pool;
    struct db_conn *conn; /* NULL before the first statement, or once lost */
    int lost;             /* the connection went away while held: its work is gone */
    struct pending *out;  /* the statement out, queued or on the connection */
    db_cb cb;             /* of the statement out; NULL once abandoned */
    void *arg;
    int ending, commit; /* db_txn_end was called */
    db_cb end_cb;
    void *end_arg;
};

static void conn_start(struct db_conn *c);
static void conn_dispatch(struct db_pool *pool);
static void conn_send(struct db_conn *c);
static void conn_run(struct db_conn *c, struct pending *p);

/* ---- pending requests ---- */

static struct pending *pending_new(struct db_pool *pool, struct db_stmt *stmt,
                                   const char *const *params, db_cb cb, void *arg)
{
    size_t total = 0;
    int n = stmt ? stmt->nparams : 0;
    for (int i = 0; i < n; i++)
        total += params[i] ? strlen(params[i]) + 1 : 0;
    struct pending *p = calloc(1, sizeof *p);
    p->params = malloc(sizeof(char *) * (size_t)(n + 1) + total);
    char *buf = (char *)(p->params + n + 1);
    for (int i = 0; i < n; i++) {
        if (!params[i]) {
            p->params[i] = NULL;
            continue;
        }
        size_t n = strlen(params[i]) + 1;
        memcpy(buf, params[i], n);
        p->params[i] = buf;
        buf += n;
    }
    p->pool = pool;
    p->stmt = stmt;
    p->nparams = n;
    p->cb = cb;
    p->arg = arg;
    return p;
}

static void pending_free(struct pending *p)
{
    if (p->timer)
        event_free(p->timer);
    free(p->params);
    free(p);
}

static void pending_finish(struct pending *p, enum db_status st, PGresult *res)
{
    struct db_result r = {st, res, ""};
    if (st == DB_ERR_QUERY && res) {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        r.sqlstate = s ? s : "";
    }
    if (st != DB_OK)
        atomic_fetch_add(&db_gauges.errors_total, 1);
    struct db_pool *pool = p->pool;
    int outer = !pool->in_callback;
    pool->in_callback = 1;
    p->cb(&r, p->arg);
    if (outer) {
        pool->in_callback = 0;
        pool->cont = NULL;
    }
    pending_free(p);
}

static void deferred_fail_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pending *p = arg;
    pending_finish(p, p->fail, NULL);
}

/* Failures are delivered from the loop, never from inside db_query, so callers need not expect
 * re-entry. */
static void pending_fail_later(struct pending *p, enum db_status st)
{
    p->fail = st;
    if (p->timer)
        event_free(p->timer);
    p->timer = evtimer_new(p->pool->base, deferred_fail_cb, p);
    struct timeval zero = {0, 0};
    evtimer_add(p->timer, &zero);
}

static void queue_remove(struct db_pool *pool, struct pending *p)
{
    struct pending **pp = &pool->head, *prev = NULL;
    while (*pp && *pp != p) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = p->next;
    if (pool->tail == p)
        pool->tail = prev;
    if (pool->cont == p)
        pool->cont = prev;
    p->next = NULL;
    pool->waiting--;
    atomic_fetch_sub(&db_gauges.waiting, 1);
}

static void queue_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pending *p = arg;
    queue_remove(p->pool, p);
    atomic_fetch_add(&db_gauges.timeouts_total, 1);
    pending_finish(p, p->pool->up ? DB_ERR_TIMEOUT : DB_ERR_UNAVAILABLE, NULL);
}

static void stmt_number(struct db_stmt *stmt)
{
    if (atomic_load(&stmt->id) == 0) {
        /* First use anywhere: take a number. A lost race wastes one number, nothing more. */
        int expected = 0;
        atomic_compare_exchange_strong(&stmt->id, &expected, atomic_fetch_add(&next_stmt_id, 1));
    }
}

/* Queues `p` for the next free connection, or fails it (later) at once. */
static void pool_enqueue(struct db_pool *pool, struct pending *p)
{
    if (atomic_load(&p->stmt->id) >= STMT_MAX) {
        log_error("db: too many distinct statements");
        pending_fail_later(p, DB_ERR_UNAVAILABLE);
        return;
    }
    if (pool->up == 0 && pool->last_connect_failed) {
        pending_fail_later(p, DB_ERR_UNAVAILABLE);
        return;
    }
    if (pool->waiting >= QUEUE_MAX) {
        pending_fail_later(p, DB_ERR_BUSY);
        return;
    }
    p->timer = evtimer_new(pool->base, queue_timeout_cb, p);
    struct timeval tv = {QUEUE_WAIT_MS / 1000, (QUEUE_WAIT_MS % 1000) * 1000};
    evtimer_add(p->timer, &tv);
    /* At the end, or (a request's next statement) after the other next statements. */
    struct pending *after = pool->in_callback ? pool->cont : pool->tail;
    struct pending **at = after ? &after->next : &pool->head;
    p->next = *at;
    *at = p;
    if (!p->next)
        pool->tail = p;
    if (pool->in_callback)
        pool->cont = p;
    pool->waiting++;
    atomic_fetch_add(&db_gauges.waiting, 1);
    conn_dispatch(pool);
}

void db_query(struct db_pool *pool, struct db_stmt *stmt, const char *const *params, db_cb cb,
              void *arg)
{
    stmt_number(stmt);
    pool_enqueue(pool, pending_new(pool, stmt, params, cb, arg));
}

/* ---- transactions ---- */

struct db_txn *db_txn_new(struct db_pool *pool)
{
    struct db_txn *t = calloc(1, sizeof *t);
    t->pool = pool;
    return t;
}

bool db_txn_begun(const struct db_txn *t)
{
    return t->conn || t->lost;
}

static void txn_end_now(struct db_txn *t);

static void txn_stmt_done(struct db_result *res, void *arg)
{
    struct db_txn *t = arg;
    db_cb cb = t->cb;
    t->out = NULL;
    t->cb = NULL;
    if (cb)
        cb(res, t->arg);
    else if (t->ending) /* abandoned by db_txn_end: end it now */
        txn_end_now(t);
}

void db_txn_query(struct db_txn *t, struct db_stmt *stmt, const char *const *params, db_cb cb,
                  void *arg)
{
    stmt_number(stmt);
    if (t->out || t->ending) { /* a bug above */
        log_error("db: a transaction's statement was sent while %s",
                  t->ending ? "it was ending" : "another one was out");
        pending_fail_later(pending_new(t->pool, stmt, params, cb, arg), DB_ERR_BUSY);
        return;
    }
    struct pending *p = pending_new(t->pool, stmt, params, txn_stmt_done, t);
    p->txn = t;
    t->out = p;
    t->cb = cb;
    t->arg = arg;
    if (t->lost)
        pending_fail_later(p, DB_ERR_UNAVAILABLE);
    else if (t->conn)
        conn_run(t->conn, p);
    else
        pool_enqueue(t->pool, p); /* the connection that takes it is held from then on */
}

static void txn_end_done(struct db_result *res, void *arg)
{
    struct db_txn *t = arg;
    if (t->conn) /* back to the pool once this callback returns */
        t->conn->txn = NULL;
    struct db_result r = *res;
    if (t->commit && r.status == DB_OK) {
        if (t->lost)
            r.status = DB_ERR_UNAVAILABLE;
        else if (r.res && strcmp(PQcmdStatus(r.res), "COMMIT") != 0) {
            /* COMMIT of a transaction in error rolls it back */
            r.status = DB_ERR_QUERY;
            r.sqlstate = "25P02";
        }
    }
    if (t->end_cb)
        t->end_cb(&r, t->end_arg);
    free(t);
}

/* COMMIT or ROLLBACK on the held connection; without one there is nothing to end. */
static void txn_end_now(struct db_txn *t)
{
    struct pending *p = pending_new(t->pool, NULL, NULL, txn_end_done, t);
    if (!t->conn) {
        if (t->end_cb) {
            pending_fail_later(p, DB_OK); /* from the loop, as every callback */
            return;
        }
        pending_free(p);
        free(t);
        return;
    }
    p->text = t->commit ? "COMMIT" : "ROLLBACK";
    p->txn = t;
    conn_run(t->conn, p);
}

void db_txn_end(struct db_txn *t, bool commit, db_cb cb, void *arg)
{
    t->end_cb = cb;
    t->end_arg = arg;
    t->commit = commit;
    t->ending = 1;
    if (t->out) { /* a bug above: the statement's callback is dropped and its work undone */
        log_error("db: a transaction was ended while its statement was out");
        t->cb = NULL;
        t->commit = 0;
        return;
    }
    txn_end_now(t);
}

/* ---- connections ---- */

static void conn_set_state(struct db_conn *c, enum conn_state s)
{
    int was_up = c->state == C_IDLE || c->state == C_BUSY;
    int is_up = s == C_IDLE || s == C_BUSY;
    if (was_up != is_up) {
        c->pool->up += is_up ? 1 : -1;
        atomic_fetch_add(&db_gauges.connected, is_up ? 1 : -1);
    }
    if ((c->state == C_BUSY) != (s == C_BUSY))
        atomic_fetch_add(&db_gauges.busy, s == C_BUSY ? 1 : -1);
    c->state = s;
}

static void conn_clear_events(struct db_conn *c)
{
    if (c->ev_read) {
        event_free(c->ev_read);
        c->ev_read = NULL;
    }
    if (c->ev_write) {
        event_free(c->ev_write);
        c->ev_write = NULL;
    }
    evtimer_del(c->timer);
    c->fd = -1;
}

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_start(arg);
}

/* Drops the connection (there is no non-blocking cancel in libpq 15) and reconnects later.
 * A query in flight fails with DB_ERR_UNAVAILABLE or `st`. */
static void conn_broken(struct db_conn *c, enum db_status st, const char *why)
{
    struct pending *p = c->cur;
    c->cur = NULL;
    if (c->result) {
        PQclear(c->result);
        c->result = NULL;
    }
    if (c->txn) { /* PostgreSQL rolls it back */
        c->txn->conn = NULL;
        c->txn->lost = 1;
        c->txn = NULL;
    }
    if (c->state != C_CONNECTING)
        log_warn("db: connection lost (%s); reconnecting", why);
    conn_clear_events(c);
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    conn_set_state(c, C_DOWN);
    atomic_fetch_add(&db_gauges.reconnects_total, 1);
    struct timeval tv = {c->backoff_ms / 1000, (c->backoff_ms % 1000) * 1000};
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    event_assign(c->timer, c->pool->base, -1, 0, backoff_cb, c);
    evtimer_add(c->timer, &tv);
    if (p)
        pending_fail_later(p, st);
    /* With no connection left, waiting requests fail now rather than at their deadline. */
    struct db_pool *pool = c->pool;
    if (pool->up == 0 && pool->last_connect_failed) {
        while (pool->head) {
            struct pending *q = pool->head;
            queue_remove(pool, q);
            pending_fail_later(q, DB_ERR_UNAVAILABLE);
        }
    }
}

static void conn_connect_step(evutil_socket_t fd, short what, void *arg);
static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);

static void conn_watch_connect(struct db_conn *c, PostgresPollingStatusType want)
{
    conn_clear_events(c);
    c->fd = PQsocket(c->pg); /* may change between steps */
    short ev = want == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
    c->ev_read = event_new(c->pool->base, c->fd, ev, conn_connect_step, c);
    struct timeval tv = {10, 0};
    event_add(c->ev_read, &tv);
}

static void conn_connected(struct db_conn *c)
{
    conn_clear_events(c);
    PQsetnonblocking(c->pg, 1);
    c->fd = PQsocket(c->pg);
    c->ev_read = event_new(c->pool->base, c->fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    c->ev_write = event_new(c->pool->base, c->fd, EV_WRITE, conn_write_cb, c);
    event_add(c->ev_read, NULL);
    memset(c->prepared, 0, sizeof c->prepared);
    c->backoff_ms = BACKOFF_MIN_MS;
    c->pool->last_connect_failed = 0;
    conn_set_state(c, C_IDLE);
    log_debug("db: connected");
    conn_dispatch(c->pool);
}

static void conn_connect_step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct db_conn *c = arg;
    if (what & EV_TIMEOUT) {
        c->pool->last_connect_failed = 1;
        conn_broken(c, DB_ERR_UNAVAILABLE, "connect timeout");
        return;
    }
    PostgresPollingStatusType st = PQconnectPoll(c->pg);
    if (st == PGRES_POLLING_OK)
        conn_connected(c);
    else if (st == PGRES_POLLING_FAILED) {
        if (!c->pool->last_connect_failed)
            log_warn("db: cannot connect: %s", PQerrorMessage(c->pg));
        c->pool->last_connect_failed = 1;
        conn_broken(c, DB_ERR_UNAVAILABLE, "connect failed");
    } else
        conn_watch_connect(c, st);
}

static void conn_start(struct db_conn *c)
{
    /* Later keywords override what the URL says; statement_timeout bounds every query, and
     * idle_in_transaction_session_timeout a held connection a request forgot (it would keep its
     * locks, the audit chain's among them). */
    const char *keys[] = {"dbname", "options", "application_name", "connect_timeout", NULL};
    const char *vals[] = {c->pool->conninfo,
                          "-c statement_timeout=5000 -c idle_in_transaction_session_timeout=10000"
                          " -c TimeZone=UTC -c client_min_messages=warning",
                          "overlegd", "5", NULL};
    conn_set_state(c, C_CONNECTING);
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        c->pool->last_connect_failed = 1;
        conn_broken(c, DB_ERR_UNAVAILABLE, "connect start failed");
        return;
    }
    conn_watch_connect(c, PGRES_POLLING_WRITING);
}

static void query_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    atomic_fetch_add(&db_gauges.timeouts_total, 1);
    conn_broken(arg, DB_ERR_TIMEOUT, "query timeout");
}

static void conn_flush(struct db_conn *c)
{
    int r = PQflush(c->pg);
    if (r < 0)
        conn_broken(c, DB_ERR_UNAVAILABLE, "flush failed");
    else if (r > 0)
        event_add(c->ev_write, NULL);
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_flush(arg);
}

/* Sends the current statement, preparing it first when this connection has not seen it. */
static void conn_send(struct db_conn *c)
{
    struct pending *p = c->cur;
    if (p->text) {
        c->phase = P_EXEC;
        if (!PQsendQuery(c->pg, p->text))
            conn_broken(c, DB_ERR_UNAVAILABLE, "send failed");
        else
            conn_flush(c);
        return;
    }
    int id = atomic_load(&p->stmt->id);
    char name[16];
    snprintf(name, sizeof name, "s%d", id);
    int ok;
    if (!(c->prepared[id / 8] & (1u << (id % 8)))) {
        c->phase = P_PREPARE;
        ok = PQsendPrepare(c->pg, name, p->stmt->sql, p->nparams, NULL);
    } else {
        c->phase = P_EXEC;
        ok = PQsendQueryPrepared(c->pg, name, p->nparams, (const char *const *)p->params, NULL,
                                 NULL, 0);
    }
    if (!ok) {
        conn_broken(c, DB_ERR_UNAVAILABLE, "send failed");
        return;
    }
    conn_flush(c);
}

/* Puts `p` on busy connection `c`; a transaction's statement gets BEGIN first when no
 * transaction is open (or "ROLLBACK; BEGIN" after a failed statement), in one round trip. */
static void conn_run(struct db_conn *c, struct pending *p)
{
    c->cur = p;
    struct timeval tv = {QUERY_TIMEOUT_MS / 1000, (QUERY_TIMEOUT_MS % 1000) * 1000};
    evtimer_del(c->timer); /* (still set when a callback sends the next statement) */
    event_assign(c->timer, c->pool->base, -1, 0, query_timeout_cb, c);
    evtimer_add(c->timer, &tv);
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    if (!p->txn || p->text || ts == PQTRANS_INTRANS) {
        conn_send(c);
        return;
    }
    c->phase = P_BEGIN;
    if (!PQsendQuery(c->pg, ts == PQTRANS_INERROR ? "ROLLBACK; BEGIN" : "BEGIN"))
        conn_broken(c, DB_ERR_UNAVAILABLE, "send failed");
    else
        conn_flush(c);
}

static void conn_dispatch(struct db_pool *pool)
{
    for (int i = 0; i < pool->size && pool->head; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->state != C_IDLE)
            continue;
        struct pending *p = pool->head;
        queue_remove(pool, p);
        evtimer_del(p->timer);
        conn_set_state(c, C_BUSY);
        if (p->txn) { /* held by the transaction until it ends */
            c->txn = p->txn;
            p->txn->conn = c;
        }
        conn_run(c, p);
    }
}

/* All results of one sent command have arrived. */
static void conn_command_done(struct db_conn *c)
{
    PGresult *res = c->result;
    c->result = NULL;
    if (c->phase == P_BEGIN) {
        PQclear(res);
        if (PQtransactionStatus(c->pg) == PQTRANS_INTRANS)
            conn_send(c);
        else
            conn_broken(c, DB_ERR_UNAVAILABLE, "BEGIN failed");
        return;
    }
    if (c->phase == P_ROLLBACK) {
        PQclear(res);
    } else if (c->phase == P_PREPARE) {
        if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
            int id = atomic_load(&c->cur->stmt->id);
            c->prepared[id / 8] |= (unsigned char)(1u << (id % 8));
            PQclear(res);
            conn_send(c);
            return;
        }
        log_error("db: prepare failed: %s", res ? PQresultErrorMessage(res) : "no result");
        /* (a statement's text has no data in it, so its error message is safe to log) */
        struct pending *p = c->cur;
        c->cur = NULL;
        pending_finish(p, DB_ERR_QUERY, res);
        PQclear(res);
    } else {
        struct pending *p = c->cur;
        c->cur = NULL;
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        int ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
        if (!ok && res) /* no message text: it can quote row values */
            log_debug("db: statement failed: sqlstate=%s",
                      PQresultErrorField(res, PG_DIAG_SQLSTATE));
        pending_finish(p, ok ? DB_OK : DB_ERR_QUERY, res);
        PQclear(res);
    }
    if (!c->pg)
        return;
    if (c->txn) {      /* still held (the callback may have sent the next statement) */
        if (!c->cur) { /* nothing out: wait for the transaction */
            evtimer_del(c->timer);
            c->phase = P_HELD;
        }
        return;
    }
    /* Never hand out a connection inside a transaction. */
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE && c->phase != P_ROLLBACK) {
        c->phase = P_ROLLBACK;
        if (!PQsendQuery(c->pg, "ROLLBACK"))
            conn_broken(c, DB_ERR_UNAVAILABLE, "rollback failed");
        else
            conn_flush(c);
        return;
    }
    evtimer_del(c->timer);
    conn_set_state(c, C_IDLE);
    conn_dispatch(c->pool);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct db_conn *c = arg;
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_broken(c, DB_ERR_UNAVAILABLE, "read failed");
        return;
    }
    if (c->state != C_BUSY || c->phase == P_HELD) {
        PGnotify *n;
        while ((n = PQnotifies(c->pg)))
            PQfreemem(n);
        return;
    }
    while (!PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (!r) {
            conn_command_done(c);
            return;
        }
        if (c->result)
            PQclear(c->result);
        c->result = r;
    }
}

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo, int size)
{
    struct db_pool *pool = calloc(1, sizeof *pool);
    pool->base = base;
    pool->conninfo = strdup(conninfo);
    pool->size = size;
    pool->conns = calloc((size_t)size, sizeof *pool->conns);
    atomic_fetch_add(&db_gauges.size, size);
    for (int i = 0; i < size; i++) {
        struct db_conn *c = &pool->conns[i];
        c->pool = pool;
        c->fd = -1;
        c->backoff_ms = BACKOFF_MIN_MS;
        c->timer = evtimer_new(base, backoff_cb, c);
        conn_start(c);
    }
    return pool;
}

void db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->size; i++) {
        struct db_conn *c = &pool->conns[i];
        if (c->cur)
            pending_free(c->cur);
        c->txn = NULL; /* its request never goes on */
        if (c->result)
            PQclear(c->result);
        conn_clear_events(c);
        event_free(c->timer);
        if (c->pg)
            PQfinish(c->pg);
        conn_set_state(c, C_DOWN);
    }
    while (pool->head) {
        struct pending *p = pool->head;
        queue_remove(pool, p);
        pending_free(p);
    }
    atomic_fetch_sub(&db_gauges.size, pool->size);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}
