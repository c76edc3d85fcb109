#ifndef OVERLEG_REKEY_H
#define OVERLEG_REKEY_H
/* The data keys against the database (docs/encryption.md): the start-up check, and
 * `overlegd rekey`, which seals every sealed column anew under the current key. */
#include <libpq-fe.h>

/* Checks the key ring against the table data_keys: every key given must open its probe (or gets
 * one), and every key that may still have sealed a value must be given. On a mismatch prints
 * one line to stderr naming the key (never the key itself) and returns -1. */
int rekey_check_keys(PGconn *c);

struct rekey_options {
    int batch;        /* rows per transaction */
    long max_batches; /* stop after this many (0: no limit): a run cut short, for tests */
    int pause_ms;     /* between batches, to spare a busy server */
};

/* Seals anew, under the current key, every value of the sealed columns that is sealed under
 * another key or written in clear (the demo data, benchmark seeds); resumes where a stopped run
 * left off; retires the keys no value is sealed under any more. Progress goes to stdout.
 * Returns 0 when every value is sealed under the current key, 1 when some value did not open
 * (reported), 2 when --max-batches stopped it, -1 on a database error. */
int rekey_run(PGconn *c, const struct rekey_options *o);
#endif
