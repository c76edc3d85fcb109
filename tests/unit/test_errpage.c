/* Unit tests for errpage (evhttp's own HTML error pages become problem+json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errpage.h"

#define ID "0b8f7c1e-4d2a-4f6b-9e3c-1a2b3c4d5e6f"

int test_errpage_run(void);

/* What evhttp 2.1 writes for evhttp_send_error(req, status, NULL). */
static void page(char *out, size_t outsz, const char *version, int status, const char *reason)
{
    char body[256];
    int n =
        snprintf(body, sizeof body,
                 "<HTML><HEAD>\n<TITLE>%d %s</TITLE>\n</HEAD><BODY>\n<H1>%s</H1>\n</BODY></HTML>\n",
                 status, reason, reason);
    snprintf(out, outsz,
             "%s %d %s\r\nContent-Type: text/html\r\nConnection: close\r\n"
             "Date: Mon, 23 Nov 2026 07:07:12 GMT\r\nContent-Length: %d\r\n\r\n%s",
             version, status, reason, n, body);
}

/* Checks `reply` is a whole problem+json response with `status` and returns its "type". */
static void check_reply_id(const char *reply, const char *status_line, int status, const char *type,
                           const char *id)
{
    assert_true(strncmp(reply, status_line, strlen(status_line)) == 0);
    assert_non_null(strstr(reply, "\r\nContent-Type: application/problem+json; charset=utf-8\r\n"));
    if (id) {
        char want[64];
        snprintf(want, sizeof want, "\r\nX-Request-Id: %s\r\n", id);
        assert_non_null(strstr(reply, want));
    }
    assert_non_null(strstr(reply, " GMT\r\n")); /* Date */
    assert_non_null(strstr(reply, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(reply, "\r\nCache-Control: no-store\r\n"));
    assert_non_null(strstr(reply, "\r\nX-Request-Id: "));
    assert_null(strstr(reply, "HTML"));
    const char *body = strstr(reply, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    int declared = -1;
    const char *cl = strstr(reply, "\r\nContent-Length: ");
    assert_non_null(cl);
    assert_int_equal(sscanf(cl, "\r\nContent-Length: %d", &declared), 1);
    assert_int_equal(declared, (int)strlen(body));
    json_t *j = json_loads(body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    assert_string_equal(json_string_value(json_object_get(j, "type")), type);
    assert_non_null(json_string_value(json_object_get(j, "title")));
    assert_non_null(json_string_value(json_object_get(j, "detail")));
    json_decref(j);
}

static void check_reply(const char *reply, const char *status_line, int status, const char *type)
{
    check_reply_id(reply, status_line, status, type, ID);
}

static void test_pages_become_problems(void **state)
{
    (void)state;
    char in[1024], out[1024];
    page(in, sizeof in, "HTTP/1.1", 400, "Bad Request");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), 0);
    check_reply(out, "HTTP/1.1 400 Bad Request\r\n", 400, "/problems/bad-request");
    page(in, sizeof in, "HTTP/1.1", 413, "Request Entity Too Large");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), 0);
    check_reply(out, "HTTP/1.1 413 Content Too Large\r\n", 413, "/problems/payload-too-large");
    page(in, sizeof in, "HTTP/1.0", 501, "Not Implemented");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), 0);
    check_reply(out, "HTTP/1.0 501 Not Implemented\r\n", 501, "/problems/not-implemented");
    page(in, sizeof in, "HTTP/1.1", 417, "Expectation Failed");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), 0);
    check_reply(out, "HTTP/1.1 417 Expectation Failed\r\n", 417, "/problems/expectation-failed");
}

static void test_page_after_earlier_replies(void **state)
{
    (void)state;
    /* An earlier reply still in the buffer, whose JSON even mentions HTTP/1.1. */
    const char *before =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 29\r\n"
        "\r\n{\"note\":\"HTTP/1.1 500 ouch\"}";
    char in[1024], pg[512], out[1024];
    page(pg, sizeof pg, "HTTP/1.1", 400, "Bad Request");
    snprintf(in, sizeof in, "%s%s", before, pg);
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), (int)strlen(before));
    check_reply(out, "HTTP/1.1 400 ", 400, "/problems/bad-request");
}

static void test_other_output_is_left_alone(void **state)
{
    (void)state;
    char out[1024], in[2048];
    const char *json = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
    assert_int_equal(errpage_problem(json, strlen(json), ID, out, sizeof out), -1);
    /* the closing line alone, without evhttp's page start */
    const char *fake = "HTTP/1.1 400 X\r\n\r\nhello</BODY></HTML>\n";
    assert_int_equal(errpage_problem(fake, strlen(fake), ID, out, sizeof out), -1);
    /* a success status is never rewritten */
    page(in, sizeof in, "HTTP/1.1", 200, "OK");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), -1);
    /* longer than evhttp's page can be */
    memset(in, 'a', sizeof in);
    page(in + 1200, sizeof in - 1200, "HTTP/1.1", 400, "Bad Request");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, sizeof out), -1);
    /* a NUL before the page (binary data) hides it: left alone rather than misparsed */
    char nul[512];
    page(nul + 1, sizeof nul - 1, "HTTP/1.1", 400, "Bad Request");
    nul[0] = '\0';
    assert_int_equal(errpage_problem(nul, 1 + strlen(nul + 1), ID, out, sizeof out), -1);
    /* too small an output buffer */
    page(in, sizeof in, "HTTP/1.1", 400, "Bad Request");
    assert_int_equal(errpage_problem(in, strlen(in), ID, out, 64), -1);
}

/* What evhttp does: the head in pieces, then the page body in one add. */
static void write_page(struct evbuffer *b)
{
    char pg[512];
    page(pg, sizeof pg, "HTTP/1.1", 400, "Bad Request");
    char *body = strstr(pg, "\r\n\r\n") + 4;
    evbuffer_add_printf(b, "HTTP/1.1 400 Bad Request\r\n");
    evbuffer_add(b, pg + strlen("HTTP/1.1 400 Bad Request\r\n"),
                 (size_t)(body - pg) - strlen("HTTP/1.1 400 Bad Request\r\n"));
    evbuffer_add(b, body, strlen(body));
}

static char *contents(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    struct evbuffer_iovec v[64];
    int k = evbuffer_peek(b, -1, NULL, v, 64);
    size_t at = 0;
    for (int i = 0; i < k; i++) {
        memcpy(s + at, v[i].iov_base, v[i].iov_len);
        at += v[i].iov_len;
    }
    s[at] = '\0';
    return s;
}

static void test_watch_replaces_page_keeps_earlier_output(void **state)
{
    (void)state;
    for (int frozen = 0; frozen <= 1; frozen++) {
        for (size_t earlier = 0; earlier <= 300000; earlier += 150000) {
            struct evbuffer *b = evbuffer_new();
            errpage_watch(b);
            /* an earlier reply of ours, in several chains, not yet sent */
            char *prefix = malloc(earlier + 64);
            int pn =
                snprintf(prefix, 64, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", earlier);
            memset(prefix + pn, 'j', earlier);
            for (size_t at = 0; at < (size_t)pn + earlier; at += 4096) {
                size_t part = (size_t)pn + earlier - at < 4096 ? (size_t)pn + earlier - at : 4096;
                evbuffer_add(b, prefix + at, part);
            }
            if (frozen)
                evbuffer_freeze(b, 1);
            write_page(b);
            char *got = contents(b);
            assert_memory_equal(got, prefix, (size_t)pn + earlier);
            check_reply_id(got + pn + earlier, "HTTP/1.1 400 Bad Request\r\n", 400,
                           "/problems/bad-request", NULL);
            /* the front is as frozen (or not) as before */
            assert_int_equal(evbuffer_drain(b, 0) != 0, frozen);
            free(got);
            free(prefix);
            if (frozen)
                evbuffer_unfreeze(b, 1);
            evbuffer_free(b);
        }
    }
}

static void test_watch_leaves_our_replies(void **state)
{
    (void)state;
    struct evbuffer *b = evbuffer_new();
    errpage_watch(b);
    const char *ours = "HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\n"
                       "Content-Length: 12\r\n\r\n{\"a\":\"</B>\"}";
    evbuffer_add(b, ours, strlen(ours));
    evbuffer_add_printf(b, "%s", "metric_total 1\n");
    char *got = contents(b);
    assert_int_equal(strlen(got), strlen(ours) + strlen("metric_total 1\n"));
    assert_memory_equal(got, ours, strlen(ours));
    free(got);
    evbuffer_free(b);
}

int test_errpage_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_become_problems),
        cmocka_unit_test(test_page_after_earlier_replies),
        cmocka_unit_test(test_other_output_is_left_alone),
        cmocka_unit_test(test_watch_replaces_page_keeps_earlier_output),
        cmocka_unit_test(test_watch_leaves_our_replies),
    };
    return cmocka_run_group_tests_name("errpage", tests, NULL, NULL);
}
