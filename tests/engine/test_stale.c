/*
 * Values a leaf change leaves behind.  tg_set_value, tg_tensor_set and
 * writes through tg_tensor_data change a leaf at once; the nodes computed
 * from it keep their old values until a replay, and tg_backward replays
 * first, so a gradient is never that of a mixture of two points.  Each
 * result is checked against the same function recorded afresh at the new
 * point.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "runner.h"

/* f = x * exp(x), recorded at x0. */
static tg_node x_exp_x(tg_graph *g, double x0, tg_node *x)
{
    *x = tg_var(g, "x", x0);
    return tg_mul(g, *x, tg_exp(g, *x));
}

static void check_fresh(tg_graph *g, tg_node f, tg_node x, double at)
{
    tg_graph *h = tg_graph_new();
    tg_node hx;
    tg_node hf = x_exp_x(h, at, &hx);
    ck_assert_int_eq(tg_backward(h, hf), TG_OK);
    ck_assert_double_eq(tg_value(g, f), tg_value(h, hf));
    ck_assert_double_eq(tg_grad(g, x), tg_grad(h, hx));
    /* and the closed form, (1 + x) e^x */
    ck_assert_double_eq_tol(tg_grad(g, x), (1 + at) * exp(at), 1e-14);
    tg_graph_free(h);
}

START_TEST(backward_after_set_value_replays)
{
    for (int checking = 0; checking <= 1; checking++) {
        tg_graph *g = tg_graph_new();
        tg_graph_set_checking(g, checking);
        tg_node x;
        tg_node f = x_exp_x(g, 0.0, &x);
        ck_assert_int_eq(tg_set_value(g, x, 1.0), TG_OK);
        /* until a sweep, f holds its value at x = 0 (documented) */
        ck_assert_double_eq(tg_value(g, f), 0.0);
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        check_fresh(g, f, x, 1.0);
        ck_assert_graph_ok(g);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(nodes_recorded_after_a_change_are_replayed_too)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    tg_node f = tg_mul(g, x, x);
    ck_assert_int_eq(tg_set_value(g, x, 3.0), TG_OK);
    tg_node h = tg_add(g, f, x);           /* recorded from f's old value, 4 */
    ck_assert_double_eq(tg_value(g, h), 7.0);
    ck_assert_int_eq(tg_backward(g, h), TG_OK);
    ck_assert_double_eq(tg_value(g, h), 12.0);
    ck_assert_double_eq(tg_grad(g, x), 7.0);   /* 2x + 1 */
    tg_graph_free(g);
}
END_TEST

START_TEST(a_replay_that_flips_a_branch_is_reported_by_backward)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0);
    tg_node r = tg_relu(g, x);
    ck_assert_int_eq(tg_set_value(g, x, -1.0), TG_OK);
    ck_assert_int_eq(tg_backward(g, r), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE,
                          "tg_backward: node 1 (relu) changed branch since it was recorded; "
                          "re-record the tape");
    tg_graph_clear_error(g);
    /* back on the recorded side, the tape is valid again */
    ck_assert_int_eq(tg_set_value(g, x, 2.0), TG_OK);
    ck_assert_int_eq(tg_backward(g, r), TG_OK);
    ck_assert_double_eq(tg_value(g, r), 2.0);
    ck_assert_double_eq(tg_grad(g, x), 1.0);
    tg_graph_free(g);
}
END_TEST

START_TEST(checking_mode_names_the_node_the_replay_made_non_finite)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 1.0);
    tg_node y = tg_log(g, x);
    ck_assert_int_eq(tg_set_value(g, x, 0.0), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_DOMAIN);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_backward: node 1 (log) produced a non-finite value");
    tg_graph_free(g);
}
END_TEST

/* sum(X * exp(X)) on a 2x2 tensor; gradient (1 + x) e^x. */
static tg_node tensor_f(tg_graph *g, tg_node X)
{
    return tg_sum(g, tg_mul(g, X, tg_exp(g, X)));
}

static void check_tensor_fresh(tg_graph *g, tg_node X, tg_node f, const double *at)
{
    double dx[4];
    ck_assert_int_eq(tg_tensor_get_grad(g, X, dx), TG_OK);
    double want = 0;
    for (int k = 0; k < 4; k++) {
        ck_assert_double_eq_tol(dx[k], (1 + at[k]) * exp(at[k]), 1e-14);
        want += at[k] * exp(at[k]);
    }
    ck_assert_double_eq_tol(tg_value(g, f), want, 1e-14);
}

START_TEST(tensor_set_and_data_writes_are_replayed)
{
    static const double x0[4] = { 0, 0, 0, 0 }, x1[4] = { 1, -0.5, 0.25, 2 };
    for (int path = 0; path < 2; path++) {
        tg_graph *g = tg_graph_new();
        tg_node X = tg_tensor_var(g, "X", 2, 2, x0);
        tg_node f = tensor_f(g, X);
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        if (path == 0) {
            ck_assert_int_eq(tg_tensor_set(g, X, x1), TG_OK);
        } else {
            double *p = tg_tensor_data(g, X);
            ck_assert_ptr_nonnull(p);
            memcpy(p, x1, sizeof x1);
        }
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        check_tensor_fresh(g, X, f, x1);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(a_rewind_past_the_computed_nodes_leaves_nothing_old)
{
    /* The training-step pattern: parameters first, then mark, record,
     * sweep, update, rewind.  After the rewind the update has nothing left
     * to replay, and the next step records from the new values. */
    tg_graph *g = tg_graph_new();
    tg_node w = tg_var(g, "w", 1.0);
    size_t mark = tg_graph_mark(g);
    for (int step = 0; step < 3; step++) {
        tg_node loss = tg_mul(g, w, w);
        ck_assert_int_eq(tg_backward(g, loss), TG_OK);
        double wv = tg_value(g, w);
        ck_assert_double_eq(tg_grad(g, w), 2 * wv);
        ck_assert_int_eq(tg_set_value(g, w, wv - 0.25 * tg_grad(g, w)), TG_OK);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    }
    ck_assert_double_eq(tg_value(g, w), 0.125);
    tg_graph_free(g);
}
END_TEST

START_TEST(each_pass_of_a_rewind_loop_ends_its_own_handles)
{
    /* Rewinding to one mark again and again: every pass's handles are
     * stale after its rewind, not only the last pass's, while the node
     * before the mark stays.  Then a rewind below the mark and back to
     * it: the older passes stay dead. */
    tg_graph *g = tg_graph_new();
    tg_node p = tg_var(g, "p", 3.0);
    size_t mark = tg_graph_mark(g);
    enum { PASSES = 40 };
    tg_node pass[PASSES];
    for (int r = 0; r < PASSES; r++) {
        pass[r] = tg_mul(g, p, tg_const(g, (double)r));
        for (int q = 0; q < r; q++) {
            ck_assert(tg_is_none(tg_add(g, pass[q], p)));
            ck_assert_int_eq(tg_graph_status(g), TG_ERR_STALE);
            tg_graph_clear_error(g);
        }
        ck_assert_double_eq(tg_value(g, pass[r]), 3.0 * r);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        ck_assert_uint_eq(tg_graph_size(g), mark);
    }
    tg_node below = tg_var(g, "q", 1.0);
    ck_assert_int_eq(tg_graph_rewind(g, mark - 1), TG_OK);
    tg_node again = tg_var(g, "r", 5.0);
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    ck_assert_double_eq(tg_value(g, again), 5.0);
    ck_assert_int_eq(tg_graph_rewind(g, mark - 1), TG_OK);
    tg_node fresh = tg_var(g, "p", 7.0);
    ck_assert(!tg_is_none(fresh));
    ck_assert_double_eq(tg_value(g, fresh), 7.0);
    for (int q = 0; q < PASSES; q++) {
        ck_assert(tg_is_none(tg_exp(g, pass[q])));
        ck_assert_int_eq(tg_graph_status(g), TG_ERR_STALE);
        tg_graph_clear_error(g);
    }
    const tg_node gone[] = { p, below, again };
    for (size_t q = 0; q < sizeof gone / sizeof gone[0]; q++) {
        ck_assert(tg_is_none(tg_exp(g, gone[q])));
        ck_assert_int_eq(tg_graph_status(g), TG_ERR_STALE);
        tg_graph_clear_error(g);
    }
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stale");
    TCase *tc = tcase_create("values");
    tcase_add_test(tc, backward_after_set_value_replays);
    tcase_add_test(tc, nodes_recorded_after_a_change_are_replayed_too);
    tcase_add_test(tc, a_replay_that_flips_a_branch_is_reported_by_backward);
    tcase_add_test(tc, checking_mode_names_the_node_the_replay_made_non_finite);
    tcase_add_test(tc, tensor_set_and_data_writes_are_replayed);
    tcase_add_test(tc, a_rewind_past_the_computed_nodes_leaves_nothing_old);
    tcase_add_test(tc, each_pass_of_a_rewind_loop_ends_its_own_handles);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
