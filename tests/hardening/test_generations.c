/*
 * Handle generations over a whole process's life.  Every graph takes its
 * generations from one process-wide counter, and each rewind that drops
 * nodes starts a new one: a loop of mark / record / rewind takes about
 * 10 ns, so the 2^32 - 1 generations a process has are used up in under a
 * minute.  Up to that point every recorded node gets a non-empty handle of
 * a new generation; at it, tg_graph_rewind fails with TG_ERR_LIMIT and
 * leaves the graph as it was, tg_graph_new returns NULL, and every handle
 * keeps its meaning.
 *
 * Slow (tens of seconds): skipped (77) unless TAPEGRAD_SLOW_TESTS=1;
 * .ci/hardening sets it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"

START_TEST(generations_run_out_cleanly)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);

    /* Parameters below the loop's mark, as a training loop has them. */
    tg_node w = tg_var(g, "w", 0.5);
    size_t mark = tg_graph_mark(g);
    uint64_t steps = 0, limit = (uint64_t)UINT32_MAX + 2;
    uint32_t prev = w.gen;
    tg_node old = TG_NONE;
    for (;;) {
        /* The loop runs billions of times: plain tests, and Check's
         * asserts (each a write to a pipe) only to report. */
        tg_node x = tg_var(g, NULL, 2.0);
        if (tg_is_none(x) || x.gen == 0)
            ck_abort_msg("after %llu rewinds, a recorded node got the empty handle: %s",
                         (unsigned long long)steps, tg_graph_errmsg(g));
        if (steps > 0 && x.gen <= prev)
            ck_abort_msg("after %llu rewinds, generation %u follows %u", (unsigned long long)steps,
                         x.gen, prev);
        prev = x.gen;
        if (steps == 1000) old = x;
        tg_status s = tg_graph_rewind(g, mark);
        if (s == TG_ERR_LIMIT) {
            /* the graph is as before the call */
            ck_assert_str_eq(tg_graph_errmsg(g),
                             "tg_graph_rewind: the process has used all 2^32 handle generations");
            tg_graph_clear_error(g);
            ck_assert_uint_eq(tg_graph_size(g), mark + 1);
            ck_assert_double_eq(tg_value(g, x), 2.0);
            tg_node y = tg_mul(g, w, x);
            ck_assert_graph_ok(g);
            ck_assert_int_eq(tg_backward(g, y), TG_OK);
            ck_assert_double_eq(tg_grad(g, w), 2.0);
            /* an old generation's dropped node is still stale, the empty
             * handle still no node */
            ck_assert(isnan(tg_value(g, old)));
            ck_assert(tg_is_none(tg_exp(g, old)));
            ck_assert_int_eq(tg_graph_status(g), TG_ERR_STALE);
            tg_graph_clear_error(g);
            ck_assert(isnan(tg_value(g, TG_NONE)));
            /* no generation is left for a new graph */
            ck_assert_ptr_null(tg_graph_new());
            break;
        }
        if (s != TG_OK) ck_abort_msg("rewind: %s", tg_graph_errmsg(g));
        if (++steps >= limit) ck_abort_msg("no limit after %llu rewinds", (unsigned long long)steps);
    }
    printf("generations: used up after %llu rewinds\n", (unsigned long long)steps);
    ck_assert_double_eq(tg_value(g, w), 0.5);
    tg_graph_free(g);
}
END_TEST

static Suite *generations_suite(void)
{
    Suite *s = suite_create("generations");
    TCase *tc = tcase_create("limit");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, generations_run_out_cleanly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *slow = getenv("TAPEGRAD_SLOW_TESTS");
    if (!slow || strcmp(slow, "1") != 0) {
        printf("generations: skipped (set TAPEGRAD_SLOW_TESTS=1)\n");
        return 77;
    }
    return run_suite(generations_suite());
}
