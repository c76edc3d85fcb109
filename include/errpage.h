#ifndef OVERLEG_ERRPAGE_H
#define OVERLEG_ERRPAGE_H
/* errpage - the text/html error pages evhttp writes itself leave as problem+json. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stddef.h>

/* Watches `bev`'s output: an evhttp error page at its end is replaced by problem+json. */
void errpage_guard(struct bufferevent *bev);
/* The same on an output buffer itself (errpage_guard uses it; tests too). */
void errpage_watch(struct evbuffer *out);

/* The pure part, for tests: when `page` (the last `len` bytes of a connection's output) ends with
 * an evhttp error page, writes the problem+json response that replaces it, with request id `id`,
 * to `out` and returns the page's offset in `page`; else -1. */
int errpage_problem(const char *page, size_t len, const char *id, char *out, size_t outsz);
/* Writes a whole problem+json response that closes its connection (HTTP/1.`minor`) to `out`;
 * returns its length, or -1 when it does not fit. conn.c's 408 uses it too. */
int errpage_format(char *out, size_t outsz, int minor, int status, const char *reason,
                   const char *slug, const char *title, const char *detail, const char *id);
#endif
