/* Unit tests for progress: sums over partitions, the smoothed rate, ETA,
 * rewinds, and both renderings (terminal lines into a memory stream; log
 * lines only once per interval). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sluice/progress.h"

static void test_progress_sums_rate_and_eta(void **state)
{
    sluice_progress_t *p = sluice_progress_new(stderr, SLUICE_PROGRESS_LOG, 1000000);
    sluice_progress_stats_t st;
    char line[256];

    (void)state;
    assert_non_null(p);
    assert_int_equal(sluice_progress_update(p, "t", 0, 100, 1100), 0);
    assert_int_equal(sluice_progress_update(p, "t", 1, 0, 1000), 0);
    sluice_progress_tick(p, 0);
    assert_int_equal(sluice_progress_stats(p, "t", &st), 0);
    assert_int_equal(st.done, 0);
    assert_int_equal(st.total, 2000);
    assert_true(st.rate == 0.0);
    assert_int_equal(st.eta_s, -1);
    sluice_progress_format(p, "t", line, sizeof(line));
    assert_string_equal(line, "t  0/2000 (0.0%)  0/s  ETA --");

    /* 500 applied in 1 s: 500/s, 1500 left: 3 s */
    sluice_progress_update(p, "t", 0, 400, 1100);
    sluice_progress_update(p, "t", 1, 200, 1000);
    sluice_progress_tick(p, 1000);
    sluice_progress_stats(p, "t", &st);
    assert_int_equal(st.done, 500);
    assert_int_equal(st.total, 2000);
    assert_true(st.rate > 499.9 && st.rate < 500.1);
    assert_int_equal(st.eta_s, 3);
    sluice_progress_format(p, "t", line, sizeof(line));
    assert_string_equal(line, "t  500/2000 (25.0%)  500/s  ETA 0:00:03");

    /* next second only 100: smoothed 0.3*100 + 0.7*500 = 380/s */
    sluice_progress_update(p, "t", 0, 500, 1100);
    sluice_progress_tick(p, 2000);
    sluice_progress_stats(p, "t", &st);
    assert_true(st.rate > 379.9 && st.rate < 380.1);
    assert_int_equal(st.eta_s, 4); /* 1400 / 380 = 3.68 -> 4 */

    /* new messages arrive: the end moves, total grows */
    sluice_progress_update(p, "t", 1, 200, 1600);
    sluice_progress_tick(p, 2000); /* same instant: no new rate sample */
    sluice_progress_stats(p, "t", &st);
    assert_int_equal(st.total, 2600);
    assert_true(st.rate > 379.9 && st.rate < 380.1);

    /* caught up */
    sluice_progress_update(p, "t", 0, 1100, 1100);
    sluice_progress_update(p, "t", 1, 1600, 1600);
    sluice_progress_tick(p, 3000);
    sluice_progress_stats(p, "t", &st);
    assert_int_equal(st.done, st.total);
    assert_int_equal(st.eta_s, 0);
    sluice_progress_format(p, "t", line, sizeof(line));
    assert_non_null(strstr(line, "2600/2600 (100.0%)"));
    assert_non_null(strstr(line, "caught up"));

    assert_int_equal(sluice_progress_stats(p, "unknown", &st), -1);
    sluice_progress_destroy(p);
}

static void test_progress_rewind_and_odd_input(void **state)
{
    sluice_progress_t *p = sluice_progress_new(stderr, SLUICE_PROGRESS_LOG, 1000);
    sluice_progress_stats_t st;

    (void)state;
    sluice_progress_update(p, "r", 0, 500, 500);
    sluice_progress_tick(p, 0);
    sluice_progress_stats(p, "r", &st);
    assert_int_equal(st.total, 0);
    assert_int_equal(st.eta_s, 0);
    /* replay rewinds to 0: 500 to do again */
    sluice_progress_update(p, "r", 0, 0, 500);
    sluice_progress_tick(p, 1000);
    sluice_progress_stats(p, "r", &st);
    assert_int_equal(st.done, 0);
    assert_int_equal(st.total, 500);
    assert_true(st.rate == 0.0); /* never negative */
    /* unknown applied (-1: no ledger row yet) counts as 0; end below applied is clamped */
    sluice_progress_update(p, "r", 1, -1, 10);
    sluice_progress_update(p, "r", 2, 20, 5);
    sluice_progress_tick(p, 2000);
    sluice_progress_stats(p, "r", &st);
    assert_int_equal(st.total, 510);
    sluice_progress_destroy(p);
}

static void test_progress_eta_format(void **state)
{
    char b[32];

    (void)state;
    sluice_progress_format_eta(-1, b, sizeof(b));
    assert_string_equal(b, "--");
    sluice_progress_format_eta(0, b, sizeof(b));
    assert_string_equal(b, "0:00:00");
    sluice_progress_format_eta(3725, b, sizeof(b));
    assert_string_equal(b, "1:02:05");
    sluice_progress_format_eta(100 * 3600 + 59, b, sizeof(b));
    assert_string_equal(b, "100:00:59");
}

static void test_progress_tty_redraws_in_place(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    sluice_progress_t *p = sluice_progress_new(mem, SLUICE_PROGRESS_TTY, 1000);

    (void)state;
    sluice_progress_update(p, "a", 0, 0, 10);
    sluice_progress_update(p, "b", 0, 0, 20);
    sluice_progress_tick(p, 0);
    fflush(mem);
    assert_string_equal(buf, "\r\033[Ka  0/10 (0.0%)  0/s  ETA --\n"
                             "\r\033[Kb  0/20 (0.0%)  0/s  ETA --\n");
    sluice_progress_update(p, "a", 0, 10, 10);
    sluice_progress_tick(p, 1000);
    fflush(mem);
    /* second frame starts by moving the cursor up over the two lines */
    assert_non_null(strstr(buf, "\033[2A\r\033[Ka  10/10 (100.0%)  10/s  caught up\n"));
    sluice_progress_destroy(p);
    fclose(mem);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_sums_rate_and_eta),
        cmocka_unit_test(test_progress_rewind_and_odd_input),
        cmocka_unit_test(test_progress_eta_format),
        cmocka_unit_test(test_progress_tty_redraws_in_place),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
