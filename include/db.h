#ifndef OVERLEG_DB_H
#define OVERLEG_DB_H
/* Asynchronous PostgreSQL pool driven by one libevent loop (one pool per loop thread).
 * Nothing here blocks: connections start with PQconnectStartParams, queries are sent with
 * PQsendQueryPrepared, results are read when the socket is readable. */
#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>

struct event_base;
struct db_pool;

/* A statement prepared lazily on each connection the first time it runs there (and again after a
 * reconnect). Declare with DB_STMT; `id` is assigned on first use. */
struct db_stmt {
    const char *sql;
    int nparams;
    _Atomic int id;
    /* A statement the layer above derives from this one, built once and kept for the program's
     * life (http.c: the same statement with the session check in front). */
    struct db_stmt *_Atomic derived;
};
#define DB_STMT(var, n, text) static struct db_stmt var = {text, n, 0, NULL}

enum db_status {
    DB_OK = 0,
    DB_ERR_QUERY = -1,       /* PostgreSQL refused the statement: see sqlstate */
    DB_ERR_UNAVAILABLE = -2, /* no connection to the database */
    DB_ERR_TIMEOUT = -3,     /* waited too long in the queue or for the answer */
    DB_ERR_BUSY = -4,        /* the wait queue is full */
};

struct db_result {
    enum db_status status;
    PGresult *res;        /* DB_OK and DB_ERR_QUERY; cleared by the pool after the callback */
    const char *sqlstate; /* DB_ERR_QUERY: five-character SQLSTATE, else "" */
};

/* Called exactly once per db_query, always from the event loop and never from inside db_query. */
typedef void (*db_cb)(struct db_result *r, void *arg);

struct db_pool *db_pool_new(struct event_base *base, const char *conninfo, int size);
void db_pool_free(struct db_pool *pool);
/* Runs one statement (a single statement is its own transaction). Params are text, NULL is SQL
 * NULL; they are copied, so the caller may pass stack buffers. */
void db_query(struct db_pool *pool, struct db_stmt *stmt, const char *const *params, db_cb cb,
              void *arg);

/* A transaction on one connection (an Idempotency-Key's request: docs/architecture.md). Nothing
 * happens until its first statement, which waits in the queue as db_query's do; the connection
 * that takes it sends BEGIN first and is held until db_txn_end. Requests without one never pay
 * for it. */
struct db_txn;
struct db_txn *db_txn_new(struct db_pool *pool);
/* Has a statement run (or the connection been lost)? */
bool db_txn_begun(const struct db_txn *t);
/* As db_query, in the transaction; one statement at a time. A failed statement rolls back the
 * transaction, and what came before it (changes are one statement each, so only reads); the
 * next statement begins another. Once the held connection is lost, every statement fails with
 * DB_ERR_UNAVAILABLE: its work is gone. */
void db_txn_query(struct db_txn *t, struct db_stmt *stmt, const char *const *params, db_cb cb,
                  void *arg);
/* COMMIT, or ROLLBACK; then the connection goes back to the pool and `t` is freed. `cb` (may be
 * NULL) gets DB_OK once committed (or rolled back, or when nothing began), else an error: a
 * COMMIT that failed or met a transaction in error, or DB_ERR_UNAVAILABLE/TIMEOUT when the
 * connection went during it (it may have committed). A statement still out is abandoned (its
 * callback is not called) and the transaction rolled back. */
void db_txn_end(struct db_txn *t, bool commit, db_cb cb, void *arg);

/* Gauges summed over every pool in the process, for /metrics. */
struct db_gauges {
    _Atomic long size, connected, busy, waiting;
    _Atomic unsigned long errors_total, reconnects_total, timeouts_total;
};
extern struct db_gauges db_gauges;

/* Is SQLSTATE `s` of class 23 (integrity) with code 23505 (unique violation)? */
#define DB_UNIQUE_VIOLATION "23505"
#endif
