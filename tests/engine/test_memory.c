/*
 * Memory: allocation failure at every allocation, reuse after rewind, a
 * chain of ten million nodes, and graphs in two threads at once.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "helpers.h"
#include "runner.h"

/* ------------------------------------------------------------ allocation failure */

static const char *const book_names[] = { "apple", "apple_num", "orange", "orange_num", "tax" };

static tg_node build_apple_orange(tg_graph *g)
{
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node apple_num = tg_var(g, "apple_num", 2.0);
    tg_node orange = tg_var(g, "orange", 150.0);
    tg_node orange_num = tg_var(g, "orange_num", 3.0);
    tg_node tax = tg_var(g, "tax", 1.1);
    return tg_mul(g, tg_add(g, tg_mul(g, apple, apple_num), tg_mul(g, orange, orange_num)), tax);
}

static void check_apple_orange(tg_graph *g, tg_node price)
{
    ck_require_msg(tg_graph_status(g) == TG_OK, "%s", tg_graph_errmsg(g));
    ck_require(fabs(tg_value(g, price) - 715.0) < 1e-12);
    ck_require(fabs(tg_grad(g, tg_find(g, "apple_num")) - 110.0) < 1e-12);
    ck_require(fabs(tg_grad(g, tg_find(g, "apple")) - 2.2) < 1e-12);
    ck_require(fabs(tg_grad(g, tg_find(g, "orange")) - 3.3) < 1e-12);
    ck_require(fabs(tg_grad(g, tg_find(g, "orange_num")) - 165.0) < 1e-12);
    ck_require(fabs(tg_grad(g, tg_find(g, "tax")) - 650.0) < 1e-12);
}

/* Whatever failed, the tape is well formed: inputs precede their node,
 * and every name that was stored names a variable. */
static void check_consistent(tg_graph *g, const char *const *names, size_t nnames)
{
    size_t n = tg_graph_size(g);
    for (size_t i = 0; i < n; i++) {
        tg_node h = tg_node_at(g, i), in[2];
        ck_require(!tg_is_none(h));
        ck_require(h.id == i);
        ck_require(strcmp(tg_node_op(g, h), "") != 0);
        int k = tg_node_inputs(g, h, in);
        for (int j = 0; j < k; j++) ck_require(in[j].id < i);
    }
    for (size_t i = 0; i < nnames; i++) {
        tg_node f = tg_find(g, names[i]);
        if (tg_is_none(f)) continue;
        ck_require(f.id < n);
        ck_require(tg_node_name(g, f) && strcmp(tg_node_name(g, f), names[i]) == 0);
        ck_require(strcmp(tg_node_op(g, f), "var") == 0);
    }
}

/* The book's graph with names, a backward, a rewind and the same again. */
static tg_node book_run(tg_graph *g)
{
    tg_node price = build_apple_orange(g);
    tg_backward(g, price);
    tg_graph_rewind(g, 0);
    price = build_apple_orange(g);
    tg_backward(g, price);
    return price;
}

/* Three hundred named variables: enough for the name table to grow. */
#define MANY 300

static void many_name(char *buf, size_t len, int i)
{
    snprintf(buf, len, "w%d", i);
}

static tg_node many_build(tg_graph *g)
{
    tg_node sum = tg_const(g, 0.0);
    for (int i = 0; i < MANY; i++) {
        char name[16];
        many_name(name, sizeof name, i);
        tg_node w = tg_var(g, name, 0.01 * i);
        sum = tg_add(g, sum, tg_mul(g, w, w));
    }
    return sum;
}

static tg_node many_run(tg_graph *g)
{
    tg_node s = many_build(g);
    tg_backward(g, s);
    tg_graph_rewind(g, 0);
    s = many_build(g);
    tg_backward(g, s);
    return s;
}

static void many_check(tg_graph *g, tg_node s)
{
    ck_require_msg(tg_graph_status(g) == TG_OK, "%s", tg_graph_errmsg(g));
    double want = 0;
    for (int i = 0; i < MANY; i++) want += (0.01 * i) * (0.01 * i);
    ck_require(fabs(tg_value(g, s) - want) < 1e-9);
    for (int i = 0; i < MANY; i += 37) {
        char name[16];
        many_name(name, sizeof name, i);
        ck_require(fabs(tg_grad(g, tg_find(g, name)) - 0.02 * i) < 1e-12);
    }
}

/* _i: bit 0 fails every allocation from k on instead of only the k-th;
 * bit 1 uses the many-names graph instead of the book's. */
START_TEST(test_alloc_failure_sweep)
{
    bool from_k = _i & 1, many = _i & 2;
    const char *names[MANY];
    char store[MANY][16];
    size_t nnames = 0;
    if (many) {
        for (int i = 0; i < MANY; i++) {
            many_name(store[i], sizeof store[i], i);
            names[nnames++] = store[i];
        }
    } else {
        for (size_t i = 0; i < 5; i++) names[nnames++] = book_names[i];
    }

    size_t failing_runs = 0;
    for (size_t k = 1;; k++) {
        ck_require_msg(k < 100000, "the run never completes without a failure");
        inj_alloc c = { 0 };
        if (from_k) c.fail_from = k;
        else c.fail_at = k;
        tg_allocator a = inj_use(&c);
        tg_graph *g = tg_graph_new_with(&a);
        if (!g) {
            ck_require_msg(c.failures == 1 && c.live == 0,
                           "failing allocation %zu: tg_graph_new_with failed with %ld blocks live",
                           k, c.live);
            failing_runs++;
            continue;
        }
        tg_node out = many ? many_run(g) : book_run(g);
        bool reached = c.calls >= k;
        tg_status st = tg_graph_status(g);
        ck_require_msg(st == TG_OK || st == TG_ERR_NOMEM,
                      "failing allocation %zu: status %d (%s)", k, (int)st, tg_graph_errmsg(g));
        check_consistent(g, names, nnames);
        if (st == TG_OK) {
            if (many) many_check(g, out);
            else check_apple_orange(g, out);
        } else {
            ck_require_msg(strstr(tg_graph_errmsg(g), "out of memory") != NULL,
                          "failing allocation %zu: message '%s'", k, tg_graph_errmsg(g));
            failing_runs++;
            /* Usable again once the error is cleared and memory is back. */
            c.fail_at = c.fail_from = 0;
            tg_graph_clear_error(g);
            ck_require(tg_graph_status(g) == TG_OK);
            tg_node x = tg_var(g, NULL, 3.0);
            tg_node y = tg_mul(g, x, x);
            ck_require_msg(tg_backward(g, y) == TG_OK && tg_value(g, y) == 9.0 && tg_grad(g, x) == 6.0,
                           "failing allocation %zu: after clearing, backward gives %d (%s), "
                           "value %g, gradient %g", k, (int)tg_graph_status(g),
                           tg_graph_errmsg(g), tg_value(g, y), tg_grad(g, x));
            ck_require(tg_graph_rewind(g, 0) == TG_OK);
            out = many ? many_run(g) : book_run(g);
            if (many) many_check(g, out);
            else check_apple_orange(g, out);
        }
        tg_graph_free(g);
        ck_require_msg(c.live == 0, "failing allocation %zu: %ld blocks leaked", k, c.live);
        ck_require(c.bad_frees == 0);
        if (!reached) break;
    }
    ck_assert_uint_gt(failing_runs, 3);
}
END_TEST

/* ------------------------------------------------------------ reuse after rewind */

/* A small training step: squared error of sigmoid(w t + b) over 100 points,
 * with an optional named node and an optional group inside the step. */
static tg_node step(tg_graph *g, tg_node w, tg_node b, bool named, bool grouped)
{
    if (grouped) tg_group_begin(g, "loss");
    tg_node loss = tg_const(g, 0.0);
    for (int i = 0; i < 100; i++) {
        double t = -2.0 + 0.04 * i, target = t > 0 ? 1.0 : 0.0;
        tg_node p = tg_sigmoid(g, tg_add(g, tg_mul(g, w, tg_const(g, t)), b));
        tg_node e = tg_sub(g, p, tg_const(g, target));
        loss = tg_add(g, loss, tg_powc(g, e, 2.0));
    }
    if (named) loss = tg_mul(g, loss, tg_var(g, "scale", 0.01));
    if (grouped) tg_group_end(g);
    return loss;
}

/* _i: bit 0 names a node inside the step, bit 1 opens a group in it. */
START_TEST(test_rewind_reuses_memory)
{
    bool named = _i & 1, grouped = _i & 2;
    inj_alloc c = { 0 };
    tg_allocator a = inj_use(&c);
    tg_graph *g = tg_graph_new_with(&a);
    tg_node w = tg_var(g, "w", 0.5), b = tg_var(g, "b", -0.3);
    size_t after_first = 0;
    double gw = 0, gb = 0;
    for (int pass = 0; pass < 5; pass++) {
        size_t mark = tg_graph_mark(g);
        tg_node loss = step(g, w, b, named, grouped);
        ck_assert_int_eq(tg_backward(g, loss), TG_OK);
        ck_assert_graph_ok(g);
        if (pass == 0) {
            gw = tg_grad(g, w);
            gb = tg_grad(g, b);
            ck_assert(gw != 0 && gb != 0);
        } else {
            ck_assert_double_eq(tg_grad(g, w), gw);
            ck_assert_double_eq(tg_grad(g, b), gb);
        }
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        if (pass == 0) after_first = c.calls;
        else ck_assert_msg(c.calls == after_first,
                           "pass %d (names %d, groups %d): %zu allocations after the first pass",
                           pass, named, grouped, c.calls - after_first);
    }
    tg_graph_free(g);
    ck_assert_int_eq(c.live, 0);
}
END_TEST

/* ------------------------------------------------------------ long chain */

/* y <- y c + d, five million times: ten million nodes, swept without
 * recursion.  With M = 5e6: y = x c^M + d S, S = sum_{j<M} c^j. */
START_TEST(test_ten_million_chain)
{
    const long M = 5000000;
    const double x0 = 1.5, c0 = 1.0000001, d0 = 0.25;
    tg_graph *g = tg_graph_new();
    ck_assert_int_eq(tg_graph_reserve(g, 2 * (size_t)M + 3), TG_OK);
    tg_node x = tg_var(g, "x", x0), c = tg_var(g, "c", c0), d = tg_var(g, "d", d0);
    tg_node y = x;
    for (long k = 0; k < M; k++) y = tg_add(g, tg_mul(g, y, c), d);
    ck_assert_graph_ok(g);
    ck_assert_uint_eq(tg_graph_size(g), 2 * (size_t)M + 3);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);

    long double cl = c0, cM = powl(cl, (long double)M), h = cl - 1.0L;
    long double S = (cM - 1.0L) / h;
    long double dS = ((long double)M * powl(cl, (long double)(M - 1)) * h - (cM - 1.0L)) / (h * h);
    ck_assert_rel(tg_value(g, y), x0 * cM + d0 * S, 1e-8, "chain value");
    ck_assert_rel(tg_grad(g, x), cM, 1e-8, "d chain/dx");
    ck_assert_rel(tg_grad(g, d), S, 1e-7, "d chain/dd");
    ck_assert_rel(tg_grad(g, c), x0 * (long double)M * powl(cl, (long double)(M - 1)) + d0 * dS,
                  1e-7, "d chain/dc");
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ threads */

typedef struct job {
    double x0;
    pthread_barrier_t *start;
    double value, grad;
    tg_status status;
} job;

/* A deep mix of ops, rebuilt after rewinds, so two graphs working at the
 * same time would disturb each other if they shared anything. */
static void *job_run(void *arg)
{
    job *j = arg;
    if (j->start) pthread_barrier_wait(j->start);
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", j->x0);
    tg_node k = tg_const(g, 0.9), eps = tg_const(g, 1e-5);
    for (int round = 0; round < 4; round++) {
        size_t mark = tg_graph_mark(g);
        tg_node y = x;
        for (int i = 0; i < 50000; i++) {
            tg_node s = tg_sigmoid(g, tg_mul(g, y, k));
            tg_node t = tg_add(g, tg_tanh(g, y), tg_powc(g, s, 1.5));
            y = tg_add(g, y, tg_mul(g, t, eps));   /* y + eps t: the gradient neither dies nor explodes */
        }
        char name[16];
        snprintf(name, sizeof name, "y%d", round);
        tg_node named = tg_var(g, name, 1.0);
        y = tg_mul(g, y, named);
        tg_backward(g, y);
        j->value = tg_value(g, y);
        j->grad = tg_grad(g, x);
        if (round < 3) tg_graph_rewind(g, mark);
    }
    j->status = tg_graph_status(g);
    tg_graph_free(g);
    return NULL;
}

START_TEST(test_two_threads)
{
    job alone[2] = { { .x0 = 0.3 }, { .x0 = -0.7 } };
    job_run(&alone[0]);
    job_run(&alone[1]);
    ck_assert_int_eq(alone[0].status, TG_OK);
    ck_assert(isfinite(alone[0].grad) && alone[0].grad != 0);
    ck_assert(alone[0].value != alone[1].value);

    pthread_barrier_t start;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, 2), 0);
    job both[2] = { { .x0 = 0.3, .start = &start }, { .x0 = -0.7, .start = &start } };
    pthread_t t[2];
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, job_run, &both[i]), 0);
    for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(both[i].status, TG_OK);
        ck_assert_double_eq(both[i].value, alone[i].value);
        ck_assert_double_eq(both[i].grad, alone[i].grad);
    }
}
END_TEST

static Suite *memory_suite(void)
{
    Suite *s = suite_create("engine memory");
    TCase *tc = tcase_create("allocation failure");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_alloc_failure_sweep, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("reuse");
    tcase_add_loop_test(tc, test_rewind_reuses_memory, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("long chain");
    tcase_set_timeout(tc, 100);
    tcase_add_test(tc, test_ten_million_chain);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_two_threads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(memory_suite());
}
