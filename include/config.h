#ifndef OVERLEG_CONFIG_H
#define OVERLEG_CONFIG_H
#include <stdbool.h>

/* Settings from the environment (API.md §1), validated once at start. */
struct config {
    const char *database_url;
    char listen_host[256];
    int listen_port;
    int threads;
    int db_pool;
    int jobs_interval;
    int request_timeout; /* seconds for a request's head and body */
    int max_connections; /* open HTTP connections per process */
    bool test_clock;
    /* OVERLEG_TEST_CRASH (tests only, with the test clock): where an Idempotency-Key's request
     * makes the process _exit, to show what a crash there leaves. */
    enum test_crash { CRASH_NONE, CRASH_BEFORE_COMMIT, CRASH_AFTER_COMMIT } test_crash;
    const char *tls_cert;
    const char *tls_key;
    int log_level;
    /* Peers whose X-Forwarded-For is believed (space-separated IP addresses), or NULL. */
    const char *trusted_proxies;
    /* `migrate` connects with this (the schema's owner) when set, else with database_url. */
    const char *migrate_database_url;
    int audit_checkpoint_seconds;
    const char *audit_checkpoint_file; /* NULL: checkpoints go to the log only */
};

extern struct config cfg;

/* What a sub-command needs; config_load checks only those. */
#define CFG_NEED_DB 1u
#define CFG_NEED_KEY 2u

/* Loads and validates the environment. On error prints one line naming the variable to stderr
 * and returns -1. */
int config_load(unsigned need);
#endif
