#ifndef OVERLEG_CHECKPOINT_H
#define OVERLEG_CHECKPOINT_H
/* The audit checkpoint file (docs/architecture.md, Audit log): the chain's head as it was,
 * outside the database, one line each, "<RFC 3339 time> <seq> <hash>\n". Writing it is
 * checkpointer.c; this is its format, reading it, and the verification report that
 * GET /v1/audit/verify and `overlegd audit-verify` share. Pure but for reading the file. */
#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_LINE_MAX 128

/* Formats one line (with its newline) into `out`; returns its length, or -1 when `seq` is not
 * 1 to 18 digits or `hash` is not 64 lowercase hexadecimal characters. */
int checkpoint_format(char *out, size_t sz, int64_t epoch_us, const char *seq, const char *hash);

struct checkpoints {
    char *text;      /* the file's contents */
    size_t n;        /* well-formed lines before the first malformed one: line i is checkpoint i */
    size_t bad_line; /* the first malformed line (1-based; reading stops there), 0 when none */
    char *seqs;      /* the n sequence numbers as an SQL array literal, "{1,5}" */
    char *hashes;    /* their hashes, "{ab12…,cd34…}" */
};

/* Parses `text` (taken over, NUL-terminated, `len` bytes). Returns 0, or -1 when out of memory. */
int checkpoint_parse(char *text, size_t len, struct checkpoints *cp);
/* Reads and parses the file at `path`. A file that does not exist is no checkpoints when
 * `missing_ok`. Returns 0, or -1 with errno set. */
int checkpoint_read(const char *path, int missing_ok, struct checkpoints *cp);
void checkpoint_free(struct checkpoints *cp);

/* A row of audit_verify() (sql/0001_foundation.sql) as text, NULL for SQL NULL. */
struct verify_row {
    const char *entries, *first_bad_id, *head_seq, *head_hash, *issued_seq, *tail_ok, *checkpoint,
        *problem;
};

/* The report as JSON text (malloc'd; NULL when out of memory). `cp` NULL: no checkpoint file
 * was given; `cp_error` set: it could not be read. `*ok` says whether everything verified. */
char *checkpoint_report(const struct verify_row *v, const struct checkpoints *cp,
                        const char *cp_error, int *ok);
#endif
