#include "config.h"

#include "datakeys.h"
#include "log.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct config cfg;

/* One row per variable: its default and the function that parses it into cfg. */
struct setting {
    const char *name;
    const char *def; /* NULL: unset by default */
    unsigned need;   /* required when the sub-command needs this */
    int (*parse)(const char *value, const char **why);
};

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int p_database_url(const char *v, const char **why)
{
    if (!*v) {
        *why = "must not be empty";
        return -1;
    }
    cfg.database_url = v;
    return 0;
}

static int p_listen(const char *v, const char **why)
{
    const char *colon = strrchr(v, ':');
    *why = "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080";
    if (!colon || colon == v)
        return -1;
    size_t hl = (size_t)(colon - v);
    const char *h = v;
    if (h[0] == '[') {
        if (hl < 3 || h[hl - 1] != ']')
            return -1;
        h++;
        hl -= 2;
    }
    if (hl >= sizeof cfg.listen_host)
        return -1;
    memcpy(cfg.listen_host, h, hl);
    cfg.listen_host[hl] = 0;
    return parse_int(colon + 1, 1, 65535, &cfg.listen_port);
}

/* The data keys (include/datakeys.h) come from exactly one of three settings. */
static const char *key_setting;

static int key_source(const char *name, const char **why)
{
    if (key_setting) {
        static char msg[96];
        snprintf(msg, sizeof msg, "cannot be set together with %s: give the keys once",
                 key_setting);
        *why = msg;
        return -1;
    }
    key_setting = name;
    return 0;
}

/* One key, 64 hex characters: the ring of one key with id "1". */
static int p_data_key(const char *v, const char **why)
{
    *why = "must be 64 hexadecimal characters (32 bytes)";
    if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64)
        return -1;
    if (key_source("OVERLEG_DATA_KEY", why))
        return -1;
    char spec[80];
    snprintf(spec, sizeof spec, "1:%s", v);
    int rc = datakeys_add(spec, why);
    OPENSSL_cleanse(spec, sizeof spec);
    return rc;
}

static int p_data_keys(const char *v, const char **why)
{
    if (key_source("OVERLEG_DATA_KEYS", why))
        return -1;
    return datakeys_add(v, why);
}

/* A file of keys, as OVERLEG_DATA_KEYS one per line; readable by its owner (and group) only. */
static int p_data_keys_file(const char *v, const char **why)
{
    if (key_source("OVERLEG_DATA_KEYS_FILE", why))
        return -1;
    int fd = open(v, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        *why = "must name a readable file";
        return -1;
    }
    if (st.st_mode & 007) {
        close(fd);
        *why = "must not be readable or writable by others (chmod 600 or 640)";
        return -1;
    }
    char buf[4096];
    ssize_t n = st.st_size < (off_t)sizeof buf ? read(fd, buf, sizeof buf - 1) : -1;
    close(fd);
    if (n < 0) {
        *why = "must be a file of at most 4 KiB";
        return -1;
    }
    buf[n] = 0;
    int rc = datakeys_add(buf, why);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

static int p_threads(const char *v, const char **why)
{
    *why = "must be an integer from 1 to 64";
    return parse_int(v, 1, 64, &cfg.threads);
}

static int p_db_pool(const char *v, const char **why)
{
    *why = "must be an integer from 1 to 100";
    return parse_int(v, 1, 100, &cfg.db_pool);
}

static int p_jobs_interval(const char *v, const char **why)
{
    *why = "must be an integer from 0 to 86400 (seconds)";
    return parse_int(v, 0, 86400, &cfg.jobs_interval);
}

static int p_request_timeout(const char *v, const char **why)
{
    *why = "must be an integer from 1 to 300 (seconds)";
    return parse_int(v, 1, 300, &cfg.request_timeout);
}

static int p_max_connections(const char *v, const char **why)
{
    *why = "must be an integer from 1 to 1000000";
    return parse_int(v, 1, 1000000, &cfg.max_connections);
}

static int p_test_clock(const char *v, const char **why)
{
    *why = "must be 1 or 0";
    if (strcmp(v, "1") && strcmp(v, "0"))
        return -1;
    cfg.test_clock = v[0] == '1';
    return 0;
}

static int p_test_crash(const char *v, const char **why)
{
    *why = "must be before-commit or after-commit";
    if (!strcmp(v, "before-commit"))
        cfg.test_crash = CRASH_BEFORE_COMMIT;
    else if (!strcmp(v, "after-commit"))
        cfg.test_crash = CRASH_AFTER_COMMIT;
    else
        return -1;
    return 0;
}

static int p_readable(const char *v, const char **why, const char **slot)
{
    *why = "must name a readable file";
    if (access(v, R_OK))
        return -1;
    *slot = v;
    return 0;
}

static int p_tls_cert(const char *v, const char **why)
{
    return p_readable(v, why, &cfg.tls_cert);
}

static int p_tls_key(const char *v, const char **why)
{
    return p_readable(v, why, &cfg.tls_key);
}

static int p_log_level(const char *v, const char **why)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    *why = "must be debug, info, warn or error";
    for (int i = 0; i < 4; i++)
        if (strcmp(v, names[i]) == 0) {
            cfg.log_level = i;
            log_threshold = (enum log_level)i;
            return 0;
        }
    return -1;
}

static int p_trusted_proxies(const char *v, const char **why)
{
    *why = "must be IP addresses separated by commas or spaces";
    for (const char *p = v; *p; p++)
        if (!strchr("0123456789abcdefABCDEF.:, ", *p))
            return -1;
    cfg.trusted_proxies = v;
    return 0;
}

static int p_migrate_database_url(const char *v, const char **why)
{
    *why = "must not be empty";
    cfg.migrate_database_url = v;
    return *v ? 0 : -1;
}

static int p_checkpoint_seconds(const char *v, const char **why)
{
    *why = "must be an integer from 0 to 86400 (seconds)";
    return parse_int(v, 0, 86400, &cfg.audit_checkpoint_seconds);
}

static int p_checkpoint_file(const char *v, const char **why)
{
    *why = "must be an absolute path";
    cfg.audit_checkpoint_file = v;
    return v[0] == '/' ? 0 : -1;
}

static const struct setting settings[] = {
    {"OVERLEG_LOG_LEVEL", "info", 0, p_log_level},
    {"DATABASE_URL", NULL, CFG_NEED_DB, p_database_url},
    {"OVERLEG_LISTEN", "127.0.0.1:8080", 0, p_listen},
    {"OVERLEG_DATA_KEY", NULL, 0, p_data_key},
    {"OVERLEG_DATA_KEYS", NULL, 0, p_data_keys},
    {"OVERLEG_DATA_KEYS_FILE", NULL, 0, p_data_keys_file},
    {"OVERLEG_THREADS", NULL, 0, p_threads},
    {"OVERLEG_DB_POOL", "8", 0, p_db_pool},
    {"OVERLEG_JOBS_INTERVAL", "60", 0, p_jobs_interval},
    {"OVERLEG_REQUEST_TIMEOUT", "15", 0, p_request_timeout},
    {"OVERLEG_MAX_CONNECTIONS", "4096", 0, p_max_connections},
    {"OVERLEG_TEST_CLOCK", "0", 0, p_test_clock},
    {"OVERLEG_TEST_CRASH", NULL, 0, p_test_crash},
    {"OVERLEG_TLS_CERT", NULL, 0, p_tls_cert},
    {"OVERLEG_TLS_KEY", NULL, 0, p_tls_key},
    {"OVERLEG_TRUSTED_PROXIES", NULL, 0, p_trusted_proxies},
    {"OVERLEG_MIGRATE_DATABASE_URL", NULL, 0, p_migrate_database_url},
    {"OVERLEG_AUDIT_CHECKPOINT_SECONDS", "60", 0, p_checkpoint_seconds},
    {"OVERLEG_AUDIT_CHECKPOINT_FILE", NULL, 0, p_checkpoint_file},
};

int config_load(unsigned need)
{
    datakeys_clear();
    key_setting = NULL;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.threads = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        const struct setting *s = &settings[i];
        const char *v = getenv(s->name);
        if (v && !*v && !s->def)
            v = NULL; /* an empty optional variable counts as unset */
        if (!v)
            v = s->def;
        if (!v) {
            if (s->need & need) {
                fprintf(stderr, "overlegd: %s is not set\n", s->name);
                return -1;
            }
            continue;
        }
        const char *why = "is invalid";
        if (s->parse(v, &why)) {
            fprintf(stderr, "overlegd: %s %s\n", s->name, why);
            return -1;
        }
    }
    if ((need & CFG_NEED_KEY) && !datakeys_count()) {
        fprintf(stderr, "overlegd: OVERLEG_DATA_KEY is not set (nor OVERLEG_DATA_KEYS or "
                        "OVERLEG_DATA_KEYS_FILE)\n");
        return -1;
    }
    if (cfg.test_crash && !cfg.test_clock) { /* never in production by mistake */
        fprintf(stderr, "overlegd: OVERLEG_TEST_CRASH needs OVERLEG_TEST_CLOCK=1\n");
        return -1;
    }
    if (!cfg.tls_cert != !cfg.tls_key) {
        fprintf(stderr, "overlegd: %s must be set together with %s\n",
                cfg.tls_cert ? "OVERLEG_TLS_KEY" : "OVERLEG_TLS_CERT",
                cfg.tls_cert ? "OVERLEG_TLS_CERT" : "OVERLEG_TLS_KEY");
        return -1;
    }
    return 0;
}
