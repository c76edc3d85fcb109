/* Unit tests for errpage (evhttp's own HTML error pages become problem+json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "errpage.h"

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
static void check_reply(const char *reply, const char *status_line, int status, const char *type)
{
    assert_true(strncmp(reply, status_line, strlen(status_line)) == 0);
    assert_non_null(strstr(reply, "\r\nContent-Type: application/problem+json\r\n"));
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

static void test_pages_become_problems(void **state)
{
    (void)state;
    char in[1024], out[1024];
    page(in, sizeof in, "HTTP/1.1", 400, "Bad Request");
    assert_int_equal(errpage_problem(in, strlen(in), out, sizeof out), 0);
    check_reply(out, "HTTP/1.1 400 ", 400, "/problems/bad-request");
    page(in, sizeof in, "HTTP/1.1", 413, "Request Entity Too Large");
    assert_int_equal(errpage_problem(in, strlen(in), out, sizeof out), 0);
    check_reply(out, "HTTP/1.1 413 ", 413, "/problems/payload-too-large");
    page(in, sizeof in, "HTTP/1.0", 501, "Not Implemented");
    assert_int_equal(errpage_problem(in, strlen(in), out, sizeof out), 0);
    check_reply(out, "HTTP/1.0 501 ", 501, "/problems/not-implemented");
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
    assert_int_equal(errpage_problem(in, strlen(in), out, sizeof out), (int)strlen(before));
    check_reply(out, "HTTP/1.1 400 ", 400, "/problems/bad-request");
}

static void test_other_output_is_left_alone(void **state)
{
    (void)state;
    char out[1024], in[2048];
    const char *json = "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}";
    assert_int_equal(errpage_problem(json, strlen(json), out, sizeof out), -1);
    /* the closing line alone, without evhttp's page start */
    const char *fake = "HTTP/1.1 400 X\r\n\r\nhello</BODY></HTML>\n";
    assert_int_equal(errpage_problem(fake, strlen(fake), out, sizeof out), -1);
    /* a success status is never rewritten */
    page(in, sizeof in, "HTTP/1.1", 200, "OK");
    assert_int_equal(errpage_problem(in, strlen(in), out, sizeof out), -1);
    /* longer than evhttp's page can be */
    memset(in, 'a', sizeof in);
    page(in + 1200, sizeof in - 1200, "HTTP/1.1", 400, "Bad Request");
    assert_int_equal(errpage_problem(in, strlen(in), out, sizeof out), -1);
    /* a NUL before the page (binary data) hides it: left alone rather than misparsed */
    char nul[512];
    page(nul + 1, sizeof nul - 1, "HTTP/1.1", 400, "Bad Request");
    nul[0] = '\0';
    assert_int_equal(errpage_problem(nul, 1 + strlen(nul + 1), out, sizeof out), -1);
    /* too small an output buffer */
    page(in, sizeof in, "HTTP/1.1", 400, "Bad Request");
    assert_int_equal(errpage_problem(in, strlen(in), out, 64), -1);
}

int test_errpage_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_become_problems),
        cmocka_unit_test(test_page_after_earlier_replies),
        cmocka_unit_test(test_other_output_is_left_alone),
    };
    return cmocka_run_group_tests_name("errpage", tests, NULL, NULL);
}
