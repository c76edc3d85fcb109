#include "checkpointer.h"

#include "checkpoint.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static int running, stopping;
static PGconn *conn;
static int fd = -1;
static int writer;      /* this process holds the file's lock: the one that writes it */
static int told_shared; /* said once that another process writes the file */
static char last_seq[24], last_hash[72];

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* PQexec with a deadline (as db.c's guard): a database that hangs must not hold up a clean stop.
 * NULL when it failed; the connection is dropped on a timeout and made again next time. */
static PGresult *exec_bounded(const char *sql)
{
    if (!PQsendQuery(conn, sql))
        return NULL;
    int64_t deadline = mono_ms() + 8000;
    while (PQisBusy(conn)) {
        struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
        int64_t left = deadline - mono_ms();
        int n = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (n == 0 || (n < 0 && errno != EINTR)) {
            PQfinish(conn);
            conn = NULL;
            return NULL;
        }
        if (n > 0 && !PQconsumeInput(conn))
            return NULL;
    }
    PGresult *r = PQgetResult(conn), *more;
    while ((more = PQgetResult(conn)))
        PQclear(more);
    return r;
}

/* A connection of our own, remade when it broke. */
static int connected(void)
{
    if (conn && PQstatus(conn) == CONNECTION_OK)
        return 1;
    PQfinish(conn);
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {"5", cfg.database_url, NULL};
    conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        log_warn("audit checkpoint: cannot connect to the database");
        return 0;
    }
    PQclear(exec_bounded("SET statement_timeout = 5000"));
    return conn != NULL;
}

/* Several processes may be given one file (instances on one host): the one holding its lock
 * writes, the others only read it when verifying. The lock goes when its holder exits, and
 * another takes over at its next checkpoint. */
static int is_writer(void)
{
    if (fd < 0 || writer)
        return writer;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        writer = 1;
        log_info("audit checkpoint: this process writes %s", cfg.audit_checkpoint_file);
    } else if (!told_shared) {
        told_shared = 1;
        log_info("audit checkpoint: another process writes %s", cfg.audit_checkpoint_file);
    }
    return writer;
}

static void checkpoint_once(void)
{
    if (cfg.audit_checkpoint_file && !is_writer())
        return;
    if (!connected())
        return;
    PGresult *r = exec_bounded("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        log_warn("audit checkpoint: reading the head failed (%s)", st ? st : "no answer");
        PQclear(r);
        return;
    }
    /* Nothing to anchor in an empty log, and nothing new when the head has not moved. */
    if (PQntuples(r) == 1 && (strcmp(PQgetvalue(r, 0, 0), last_seq) != 0 ||
                              strcmp(PQgetvalue(r, 0, 1), last_hash) != 0)) {
        char line[CHECKPOINT_LINE_MAX];
        int n = checkpoint_format(line, sizeof line, real_us(), PQgetvalue(r, 0, 0),
                                  PQgetvalue(r, 0, 1));
        if (n > 0) {
            log_info("audit checkpoint: %.*s", n - 1, line);
            if (fd >= 0 && (write(fd, line, (size_t)n) != n || fsync(fd) != 0))
                log_error("audit checkpoint: cannot write %s: %s", cfg.audit_checkpoint_file,
                          strerror(errno));
            snprintf(last_seq, sizeof last_seq, "%s", PQgetvalue(r, 0, 0));
            snprintf(last_hash, sizeof last_hash, "%s", PQgetvalue(r, 0, 1));
        }
    }
    PQclear(r);
}

static void *run(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += cfg.audit_checkpoint_seconds;
        while (!stopping && pthread_cond_timedwait(&cv, &mu, &until) != ETIMEDOUT)
            ;
        int last = stopping; /* the last one, at a clean stop, after every request */
        pthread_mutex_unlock(&mu);
        checkpoint_once();
        pthread_mutex_lock(&mu);
        if (last)
            break;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* The directory entry of a new file survives a crash only once its directory is synced. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    int d = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (d >= 0) {
        fsync(d);
        close(d);
    }
    free(copy);
}

int checkpointer_start(void)
{
    if (cfg.audit_checkpoint_seconds <= 0)
        return 0;
    if (cfg.audit_checkpoint_file) {
        fd = open(cfg.audit_checkpoint_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            fprintf(stderr, "overlegd: OVERLEG_AUDIT_CHECKPOINT_FILE %s cannot be opened: %s\n",
                    cfg.audit_checkpoint_file, strerror(errno));
            return -1;
        }
        sync_dir(cfg.audit_checkpoint_file);
        is_writer(); /* the first process to start keeps the file */
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&thread, NULL, run, NULL) != 0) {
        fprintf(stderr, "overlegd: cannot start the audit checkpoint thread\n");
        return -1;
    }
    running = 1;
    return 0;
}

void checkpointer_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    pthread_cond_destroy(&cv);
    running = 0;
    PQfinish(conn);
    conn = NULL;
    if (fd >= 0)
        close(fd); /* also gives up the lock */
    fd = -1;
}
