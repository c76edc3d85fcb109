/* Runs every unit test group; exits non-zero when any test failed. Each group prints
 * cmocka's own summary lines, which the test runner counts. */
#include <stdio.h>

int test_b64_run(void);
int test_validate_run(void);
int test_timefmt_run(void);
int test_cursor_run(void);
int test_etag_run(void);
int test_jsonx_run(void);
int test_crypto_run(void);
int test_pii_run(void);
int test_workdays_run(void);
int test_errpage_run(void);
int test_roles_run(void);
int test_datakeys_run(void);
int test_checkpoint_run(void);
int test_qstring_run(void);

int main(void)
{
    static int (*const groups[])(void) = {
        test_b64_run,   test_validate_run, test_timefmt_run,    test_cursor_run,   test_etag_run,
        test_jsonx_run, test_crypto_run,   test_pii_run,        test_workdays_run, test_errpage_run,
        test_roles_run, test_datakeys_run, test_checkpoint_run, test_qstring_run,
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        failed += groups[i]();
    if (failed != 0)
        fprintf(stderr, "unit tests: %d failed\n", failed);
    return failed != 0;
}
