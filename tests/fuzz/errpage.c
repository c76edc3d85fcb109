/* Fuzzes the error-page rewriter: errpage_problem on any tail of output, and errpage_watch on an
 * evbuffer written in pieces, against a model: the output before a page is kept byte for byte,
 * the page becomes a problem+json reply, and anything else is left as written. The first byte
 * seeds the piece sizes and says whether the buffer's front is frozen, as a socket's is. */
#include "fuzz.h"

#include <event2/buffer.h>
#include <jansson.h>

#include "errpage.h"
#include "log.h"

#define ID "00000000-0000-4000-8000-000000000000"
#define PAGE_END "</BODY></HTML>\n"
#define PAGE_MAX 1024

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_threshold = LOG_ERROR; /* each rewrite logs a line at info */
    return 0;
}

/* A reply errpage_problem wrote: one status line, a Content-Length that fits, problem+json. */
static void check_reply(const char *reply, int status)
{
    int minor, st;
    FUZZ_CHECK(sscanf(reply, "HTTP/1.%1d %3d ", &minor, &st) == 2);
    FUZZ_CHECK(st >= 400 && st <= 599 && (st == status || status < 0));
    FUZZ_CHECK(strstr(reply, "HTML") == NULL);
    const char *body = strstr(reply, "\r\n\r\n");
    const char *cl = strstr(reply, "\r\nContent-Length: ");
    FUZZ_CHECK(body != NULL && cl != NULL && cl < body);
    body += 4;
    FUZZ_CHECK(atoi(cl + 18) == (int)strlen(body));
    json_t *j = json_loads(body, 0, NULL);
    FUZZ_CHECK(j != NULL);
    FUZZ_CHECK(json_integer_value(json_object_get(j, "status")) == st);
    json_decref(j);
}

static void check_pure(const uint8_t *data, size_t size)
{
    char *page = malloc(size ? size : 1);
    FUZZ_CHECK(page != NULL);
    if (size)
        memcpy(page, data, size);
    char out[1024];
    int off = errpage_problem(page, size, ID, out, sizeof out);
    if (off >= 0) {
        FUZZ_CHECK((size_t)off < size && size <= PAGE_MAX);
        FUZZ_CHECK(memcmp(page + off, "HTTP/1.", 7) == 0);
        FUZZ_CHECK(memcmp(page + size - strlen(PAGE_END), PAGE_END, strlen(PAGE_END)) == 0);
        check_reply(out, -1);
        FUZZ_CHECK(strstr(out, "\r\nX-Request-Id: " ID "\r\n") != NULL);
        /* an output buffer one short is refused, without writing past it */
        size_t need = strlen(out) + 1;
        char *small = malloc(need - 1);
        FUZZ_CHECK(small != NULL);
        FUZZ_CHECK(errpage_problem(page, size, ID, small, need - 1) == -1);
        free(small);
    }
    free(page);
}

static char *contents(struct evbuffer *b, size_t *len)
{
    *len = evbuffer_get_length(b);
    char *s = malloc(*len + 1);
    FUZZ_CHECK(s != NULL);
    FUZZ_CHECK(evbuffer_copyout(b, s, *len) == (ev_ssize_t)*len);
    s[*len] = '\0';
    return s;
}

static void check_watch(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    unsigned seed = data[0];
    int freeze = data[0] & 1;
    data++;
    size--;
    struct evbuffer *buf = evbuffer_new();
    FUZZ_CHECK(buf != NULL);
    errpage_watch(buf);
    size_t mlen = 0;
    char *model = malloc(1);
    FUZZ_CHECK(model != NULL);
    size_t pos = 0;
    while (pos < size) {
        seed = seed * 1103515245u + 12345u;
        size_t piece = 1 + (seed >> 16) % 200;
        if (piece > size - pos)
            piece = size - pos;
        if (freeze)
            evbuffer_freeze(buf, 1);
        FUZZ_CHECK(evbuffer_add(buf, data + pos, piece) == 0);
        if (freeze)
            evbuffer_unfreeze(buf, 1);
        /* the model: the old output, the piece, and the rewrite errpage_problem asks for */
        char *next = realloc(model, mlen + piece + 1);
        FUZZ_CHECK(next != NULL);
        model = next;
        memcpy(model + mlen, data + pos, piece);
        mlen += piece;
        pos += piece;
        size_t n = mlen < PAGE_MAX ? mlen : PAGE_MAX;
        char reply[1024];
        int off = piece >= strlen(PAGE_END)
                      ? errpage_problem(model + mlen - n, n, ID, reply, sizeof reply)
                      : -1;
        size_t alen;
        char *actual = contents(buf, &alen);
        if (off < 0) {
            FUZZ_CHECK(alen == mlen && memcmp(actual, model, mlen) == 0);
        } else {
            size_t keep = mlen - n + (size_t)off;
            FUZZ_CHECK(alen == keep + strlen(reply)); /* same length: only id and date differ */
            FUZZ_CHECK(memcmp(actual, model, keep) == 0);
            check_reply(actual + keep, -1);
            FUZZ_CHECK(memcmp(actual + keep, reply, 13) == 0); /* "HTTP/1.x NNN " */
        }
        free(model);
        model = actual;
        mlen = alen;
    }
    free(model);
    evbuffer_free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_pure(data, size);
    check_watch(data, size);
    return 0;
}
