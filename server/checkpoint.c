#include "checkpoint.h"

#include "timefmt.h"
#include "validate.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_seq(const char *s, size_t n)
{
    if (n < 1 || n > 18 || s[0] == '0')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int is_hash(const char *s, size_t n)
{
    if (n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int checkpoint_format(char *out, size_t sz, int64_t epoch_us, const char *seq, const char *hash)
{
    if (!is_seq(seq, strlen(seq)) || !is_hash(hash, strlen(hash)))
        return -1;
    char at[TIMEFMT_RFC3339_LEN];
    timefmt_rfc3339(epoch_us, at);
    int n = snprintf(out, sz, "%s %s %s\n", at, seq, hash);
    return n < 0 || (size_t)n >= sz ? -1 : n;
}

/* The three fields of the line at `s` (up to `end`, its newline excluded), or -1. */
struct fields {
    const char *at, *seq, *hash;
    size_t at_n, seq_n, hash_n;
};

static int split(const char *s, const char *end, struct fields *f)
{
    if (memchr(s, 0, (size_t)(end - s)))
        return -1;
    const char *sp1 = memchr(s, ' ', (size_t)(end - s));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (!sp2)
        return -1;
    *f = (struct fields){
        s, sp1 + 1, sp2 + 1, (size_t)(sp1 - s), (size_t)(sp2 - sp1 - 1), (size_t)(end - sp2 - 1)};
    char at[40];
    int64_t us;
    if (f->at_n >= sizeof at)
        return -1;
    memcpy(at, s, f->at_n);
    at[f->at_n] = 0;
    if (!val_timestamp(at, &us) || !is_seq(f->seq, f->seq_n) || !is_hash(f->hash, f->hash_n))
        return -1;
    return 0;
}

int checkpoint_parse(char *text, size_t len, struct checkpoints *cp)
{
    *cp = (struct checkpoints){.text = text};
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    /* "{" + per line up to 18 digits or 64 characters and a comma + "}" */
    cp->seqs = malloc(lines * 19 + 3);
    cp->hashes = malloc(lines * 65 + 3);
    if (!cp->seqs || !cp->hashes)
        return -1;
    char *sp = cp->seqs, *hp = cp->hashes;
    *sp++ = '{';
    *hp++ = '{';
    const char *s = text, *end = text + len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        struct fields f;
        if (!nl || split(s, nl, &f) != 0) {
            cp->bad_line = cp->n + 1;
            break;
        }
        if (cp->n) {
            *sp++ = ',';
            *hp++ = ',';
        }
        memcpy(sp, f.seq, f.seq_n);
        sp += f.seq_n;
        memcpy(hp, f.hash, f.hash_n);
        hp += f.hash_n;
        cp->n++;
        s = nl + 1;
    }
    memcpy(sp, "}", 2);
    memcpy(hp, "}", 2);
    return 0;
}

int checkpoint_read(const char *path, int missing_ok, struct checkpoints *cp)
{
    *cp = (struct checkpoints){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing_ok)
            return checkpoint_parse(strdup(""), 0, cp);
        return -1;
    }
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    if (fstat(fd, &st) == 0 && (text = malloc((size_t)st.st_size + 1))) {
        /* The file may grow while it is read: what was there at fstat is enough. */
        while (len < (size_t)st.st_size) {
            ssize_t got = read(fd, text + len, (size_t)st.st_size - len);
            if (got <= 0) {
                if (got < 0 && errno == EINTR)
                    continue;
                break;
            }
            len += (size_t)got;
        }
        text[len] = 0;
    }
    int e = errno;
    close(fd);
    if (!text) {
        errno = e;
        return -1;
    }
    if (checkpoint_parse(text, len, cp) != 0) {
        checkpoint_free(cp);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

void checkpoint_free(struct checkpoints *cp)
{
    free(cp->text);
    free(cp->seqs);
    free(cp->hashes);
    *cp = (struct checkpoints){0};
}

static json_t *num(const char *v)
{
    return v ? json_integer(strtoll(v, NULL, 10)) : json_null();
}

static json_t *str(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* Checkpoint `k` (1-based, k <= cp->n) as the report names it. */
static json_t *failed_line(const struct checkpoints *cp, size_t k, const char *problem)
{
    const char *s = cp->text;
    for (size_t i = 1; i < k; i++)
        s = strchr(s, '\n') + 1;
    struct fields f;
    split(s, strchr(s, '\n'), &f);
    return json_pack("{s:I, s:s%, s:I, s:s%, s:s}", "line", (json_int_t)k, "at", f.at, f.at_n,
                     "seq", (json_int_t)strtoll(f.seq, NULL, 10), "hash", f.hash, f.hash_n,
                     "problem", problem);
}

char *checkpoint_report(const struct verify_row *v, const struct checkpoints *cp,
                        const char *cp_error, int *ok)
{
    json_t *failed = json_null(), *cps = json_null();
    if (cp_error)
        failed = json_pack("{s:n, s:n, s:n, s:n, s:s}", "line", "at", "seq", "hash", "problem",
                           cp_error);
    else if (cp && v->checkpoint)
        failed = failed_line(cp, (size_t)strtoull(v->checkpoint, NULL, 10), v->problem);
    else if (cp && cp->bad_line)
        failed = json_pack("{s:I, s:n, s:n, s:n, s:s}", "line", (json_int_t)cp->bad_line, "at",
                           "seq", "hash", "problem", "malformed");
    if (cp || cp_error)
        cps = json_pack("{s:I, s:O}", "checked", (json_int_t)(cp ? cp->n : 0), "failed", failed);
    int tail_ok = v->tail_ok && v->tail_ok[0] == 't';
    *ok = !v->first_bad_id && tail_ok && json_is_null(failed);
    json_t *head = v->head_seq
                       ? json_pack("{s:o, s:o}", "seq", num(v->head_seq), "hash", str(v->head_hash))
                       : json_null();
    json_t *out = json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "ok", *ok, "entries", num(v->entries),
                            "first_bad_id", str(v->first_bad_id), "head", head, "issued_seq",
                            num(v->issued_seq), "checkpoints", cps);
    json_decref(failed);
    char *text = out ? json_dumps(out, JSON_COMPACT) : NULL;
    json_decref(out);
    return text;
}
