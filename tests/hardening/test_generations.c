/*
 * Handle generations over a long run.  Each rewind that drops nodes starts
 * a new generation, and a training loop rewinds every step: a loop of
 * mark / record / rewind takes about 10 ns, so 2^32 generations pass in
 * well under a minute.  Across the wrap, a recorded node must never get
 * the empty handle, the empty handle must stay empty (tg_value gives NaN),
 * and handles must keep working.
 *
 * Slow (tens of seconds): skipped (77) unless TAPEGRAD_SLOW_TESTS=1;
 * .ci/hardening sets it.  The graph is placed, through its allocator, at
 * the address whose first generation is the largest of many tried, which
 * halves the number of rewinds needed to reach the wrap.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"

/* An allocator whose first new block (the graph itself) is placed at a
 * chosen address in an arena; the rest come from malloc. */
enum { ARENA = 4 << 20, STEP = 64, SLOT = 8192 };
static _Alignas(64) unsigned char arena[ARENA + SLOT];

typedef struct placer { unsigned char *next; } placer;

static void *place_realloc(void *ctx, void *p, size_t size)
{
    placer *pl = ctx;
    if (!p && pl->next && size <= SLOT) {
        void *q = pl->next;
        pl->next = NULL;
        return q;
    }
    if (p && (unsigned char *)p >= arena && (unsigned char *)p < arena + sizeof arena) return NULL;
    return realloc(p, size ? size : 1);
}

static void place_free(void *ctx, void *p)
{
    (void)ctx;
    if ((unsigned char *)p >= arena && (unsigned char *)p < arena + sizeof arena) return;
    free(p);
}

START_TEST(generation_wrap)
{
    const char *slow = getenv("TAPEGRAD_SLOW_TESTS");
    if (!slow || strcmp(slow, "1") != 0) {
        printf("generation wrap: skipped (set TAPEGRAD_SLOW_TESTS=1)\n");
        exit(77);
    }
    placer pl = { NULL };
    tg_allocator al = { place_realloc, place_free, &pl };
    size_t best = 0;
    uint32_t best_gen = 0;
    for (size_t off = 0; off + SLOT <= sizeof arena; off += STEP) {
        pl.next = arena + off;
        tg_graph *g = tg_graph_new_with(&al);
        ck_assert_ptr_nonnull(g);
        tg_node x = tg_var(g, NULL, 0.0);
        if (x.gen > best_gen) {
            best_gen = x.gen;
            best = off;
        }
        tg_graph_free(g);
    }
    pl.next = arena + best;
    tg_graph *g = tg_graph_new_with(&al);
    ck_assert_ptr_nonnull(g);

    /* Parameters below the loop's mark, as a training loop has them. */
    tg_node w = tg_var(g, "w", 0.5);
    size_t mark = tg_graph_mark(g);
    uint64_t steps = 0, limit = (uint64_t)UINT32_MAX + 2;
    uint32_t first = 0, prev = 0;
    for (;;) {
        /* The loop runs billions of times: plain tests, and Check's
         * asserts (each a write to a pipe) only to report. */
        tg_node x = tg_var(g, NULL, 2.0);
        if (tg_is_none(x))
            ck_abort_msg("after %llu rewinds, a recorded node got the empty handle: %s",
                         (unsigned long long)steps, tg_graph_errmsg(g));
        if (steps == 0) first = x.gen;
        if (steps > 0 && x.gen < prev) {
            /* at the wrap: the empty handle is still no node, and the
             * graph works */
            double v = tg_value(g, TG_NONE);
            if (!isnan(v))
                ck_abort_msg("after %llu rewinds (generation %u): tg_value(g, TG_NONE) = %g, not NaN",
                             (unsigned long long)steps, x.gen, v);
            tg_node y = tg_mul(g, w, x);
            ck_assert_graph_ok(g);
            ck_assert_int_eq(tg_backward(g, y), TG_OK);
            ck_assert_double_eq(tg_grad(g, w), 2.0);
            /* and a node of this generation survives a rewind above it */
            size_t m2 = tg_graph_mark(g);
            tg_var(g, NULL, 0.0);
            ck_assert_int_eq(tg_graph_rewind(g, m2), TG_OK);
            ck_assert_msg(tg_node_op(g, y)[0] != '\0', "a live node is reported dead after a rewind");
            ck_assert_double_eq(tg_value(g, y), 1.0);
            break;
        }
        prev = x.gen;
        if (tg_graph_rewind(g, mark) != TG_OK) ck_abort_msg("rewind: %s", tg_graph_errmsg(g));
        if (++steps >= limit) ck_abort_msg("no wrap after %llu rewinds", (unsigned long long)steps);
    }
    printf("generation wrap: first generation %u, wrapped after %llu rewinds\n", first,
           (unsigned long long)steps);
    ck_assert_double_eq(tg_value(g, w), 0.5);
    tg_graph_free(g);
}
END_TEST

static Suite *generations_suite(void)
{
    Suite *s = suite_create("generations");
    TCase *tc = tcase_create("wrap");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, generation_wrap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *slow = getenv("TAPEGRAD_SLOW_TESTS");
    if (!slow || strcmp(slow, "1") != 0) {
        printf("generation wrap: skipped (set TAPEGRAD_SLOW_TESTS=1)\n");
        return 77;
    }
    return run_suite(generations_suite());
}
