/* Errors of the tensor layer: shape messages asserted exactly, bad
 * dimensions, handles, accessors, checking mode, and out-of-memory at
 * every allocation a builder makes (the graph must stay as it was). */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "runner.h"
#include "twin.h"

static tg_node zeros(tg_graph *g, size_t rows, size_t cols)
{
    return tg_tensor_var(g, NULL, rows, cols, NULL);
}

START_TEST(shape_messages)
{
    struct {
        const char *msg;
        tg_status status;
    } want[] = {
        { "tg_add: a is 100x10, b is 1x9", TG_ERR_SHAPE },
        { "tg_mul: a is 2x3, b is 3x2", TG_ERR_SHAPE },
        { "tg_pow: a is 2x3, b is 2x2", TG_ERR_SHAPE },
        { "tg_matmul: a is 100x783, b is 784x50", TG_ERR_SHAPE },
        { "tg_matmul_ex: a^T is 100x783, b is 784x50", TG_ERR_SHAPE },
        { "tg_matmul_ex: a is 100x784, b^T is 50x784", TG_ERR_SHAPE },
        { "tg_matmul_ex: flags 0x4 has bits other than TG_TRANS_A and TG_TRANS_B", TG_ERR_ARG },
        { "tg_softmax_cross_entropy: logits are 100x10, onehot is 100x9", TG_ERR_SHAPE },
        /* sub is composed as a + b*-1, but checks the shapes first and names itself */
        { "tg_sub: a is 3x1, b is 2x1", TG_ERR_SHAPE },
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        tg_graph *g = tg_graph_new();
        tg_node r = TG_NONE;
        switch (k) {
        case 0: r = tg_add(g, zeros(g, 100, 10), zeros(g, 1, 9)); break;
        case 1: r = tg_mul(g, zeros(g, 2, 3), zeros(g, 3, 2)); break;
        case 2: r = tg_pow(g, zeros(g, 2, 3), zeros(g, 2, 2)); break;
        case 3: r = tg_matmul(g, zeros(g, 100, 783), zeros(g, 784, 50)); break;
        case 4: r = tg_matmul_ex(g, zeros(g, 783, 100), zeros(g, 784, 50), TG_TRANS_A); break;
        case 5: r = tg_matmul_ex(g, zeros(g, 100, 784), zeros(g, 784, 50), TG_TRANS_B); break;
        case 6: r = tg_matmul_ex(g, zeros(g, 2, 2), zeros(g, 2, 2), 4); break;
        case 7: r = tg_softmax_cross_entropy(g, zeros(g, 100, 10), zeros(g, 100, 9)); break;
        case 8: r = tg_sub(g, zeros(g, 3, 1), zeros(g, 2, 1)); break;
        }
        ck_assert(tg_is_none(r));
        ck_assert_graph_error(g, want[k].status, want[k].msg);
        tg_graph_free(g);
    }
}
END_TEST

/* A failed builder appends nothing; the first message sticks; the empty
 * handle passes through silently. */
START_TEST(failures_append_nothing_and_stick)
{
    tg_graph *g = tg_graph_new();
    tg_node a = zeros(g, 2, 3), b = zeros(g, 3, 3);
    size_t n = tg_graph_size(g);
    ck_assert(tg_is_none(tg_add(g, a, b)));
    ck_assert(tg_is_none(tg_matmul(g, b, a)));
    ck_assert(tg_is_none(tg_softmax_cross_entropy(g, a, b)));
    ck_assert_uint_eq(tg_graph_size(g), n);
    ck_assert_graph_error(g, TG_ERR_SHAPE, "tg_add: a is 2x3, b is 3x3");

    /* a whole expression over the failure stays empty, message kept */
    tg_node y = tg_sum(g, tg_softmax(g, tg_relu(g, tg_matmul(g, tg_add(g, a, b), b))));
    ck_assert(tg_is_none(y));
    ck_assert_graph_error(g, TG_ERR_SHAPE, "tg_add: a is 2x3, b is 3x3");
    ck_assert_uint_eq(tg_graph_size(g), n);

    /* the graph still works */
    tg_graph_clear_error(g);
    tg_node c = tg_matmul(g, a, b);
    ck_assert(!tg_is_none(c));
    size_t rows, cols;
    ck_assert_int_eq(tg_shape(g, c, &rows, &cols), TG_OK);
    ck_assert_uint_eq(rows, 2);
    ck_assert_uint_eq(cols, 3);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);

    /* an empty handle on a clean graph is itself the first error */
    n = tg_graph_size(g);
    ck_assert(tg_is_none(tg_matmul(g, TG_NONE, a)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_matmul: a is the empty handle");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_softmax_cross_entropy(g, a, TG_NONE)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_softmax_cross_entropy: onehot is the empty handle");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_mean(g, TG_NONE)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_mean: a is the empty handle");
    ck_assert(tg_is_none(tg_softmax(g, TG_NONE)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_mean: a is the empty handle");
    ck_assert_uint_eq(tg_graph_size(g), n);
    tg_graph_free(g);
}
END_TEST

START_TEST(bad_dimensions)
{
    tg_graph *g = tg_graph_new();
    ck_assert(tg_is_none(tg_tensor_var(g, "w", 0, 3, NULL)));
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_tensor_var: shape 0x3 has a zero dimension");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_tensor_const(g, 4, 0, NULL)));
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_tensor_const: shape 4x0 has a zero dimension");
    tg_graph_clear_error(g);
#if SIZE_MAX > UINT32_MAX
    ck_assert(tg_is_none(tg_tensor_const(g, (size_t)UINT32_MAX + 1, 1, NULL)));
    ck_assert_graph_error(g, TG_ERR_ARG,
                          "tg_tensor_const: shape 4294967296x1 has a dimension above 4294967295");
    tg_graph_clear_error(g);
#endif
    ck_assert(tg_is_none(tg_tensor_var(g, NULL, UINT32_MAX, UINT32_MAX, NULL)));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(tg_graph_errmsg(g), "more elements than memory can hold"));
    ck_assert_uint_eq(tg_graph_size(g), 0);
    /* the name of a refused tensor is free to use */
    tg_graph_clear_error(g);
    ck_assert(!tg_is_none(tg_tensor_var(g, "w", 1, 1, NULL)));
    tg_graph_free(g);
}
END_TEST

START_TEST(names)
{
    tg_graph *g = tg_graph_new();
    tg_node w = tg_tensor_var(g, "W1", 2, 2, NULL);
    ck_assert(!tg_is_none(w));
    ck_assert_int_eq(tg_find(g, "W1").id, w.id);
    ck_assert_str_eq(tg_node_name(g, w), "W1");
    size_t n = tg_graph_size(g);
    ck_assert(tg_is_none(tg_tensor_var(g, "W1", 3, 3, NULL)));
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_tensor_var: name 'W1' is already node 0");
    ck_assert_uint_eq(tg_graph_size(g), n);
    /* the refused tensor left no storage behind: the next one follows W1 */
    tg_graph_clear_error(g);
    tg_node v = tg_tensor_var(g, "W2", 1, 2, NULL);
    ck_assert_ptr_eq(tg_tensor_data(g, v), tg_tensor_data(g, w) + 4);
    tg_graph_free(g);
}
END_TEST

START_TEST(handles_and_accessors)
{
    tg_graph *g = tg_graph_new();
    double d[6] = { 1, 2, 3, 4, 5, 6 }, out[6];
    tg_node s = tg_var(g, "s", 7.0);
    tg_node t = tg_tensor_var(g, "t", 2, 3, d);
    size_t mark = tg_graph_mark(g);
    tg_node u = tg_relu(g, t);
    tg_node p = tg_matmul_ex(g, t, t, TG_TRANS_B);

    ck_assert(tg_is_tensor(g, t));
    ck_assert(!tg_is_tensor(g, s));
    ck_assert(!tg_is_tensor(g, TG_NONE));
    ck_assert(!tg_is_tensor(NULL, t));
    size_t r = 0, c = 0;
    ck_assert_int_eq(tg_shape(g, s, &r, &c), TG_OK);
    ck_assert(r == 1 && c == 1);
    ck_assert_int_eq(tg_shape(g, p, &r, &c), TG_OK);
    ck_assert(r == 2 && c == 2);
    ck_assert_int_eq(tg_shape(g, TG_NONE, &r, &c), TG_ERR_HANDLE);
    ck_assert_int_eq(tg_shape(NULL, t, &r, &c), TG_ERR_ARG);
    ck_assert(isnan(tg_value(g, t)));
    ck_assert(isnan(tg_grad(g, t)));

    /* a scalar reads as 1 x 1 */
    ck_assert_int_eq(tg_tensor_get(g, s, out), TG_OK);
    ck_assert_double_eq(out[0], 7.0);
    ck_assert_int_eq(tg_tensor_get(g, t, NULL), TG_ERR_ARG);
    ck_assert_ptr_null(tg_tensor_gradp(g, s));
    ck_assert_ptr_null(tg_tensor_gradp(g, TG_NONE));
    ck_assert_int_eq(tg_graph_status(g), TG_OK);

    /* set: leaves only */
    ck_assert_int_eq(tg_tensor_set(g, u, d), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_tensor_set: node 2 (relu) is not a tensor variable or constant");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_tensor_set(g, s, d), TG_ERR_SHAPE);
    ck_assert_graph_error(g, TG_ERR_SHAPE, "tg_tensor_set: node 0 's' (var) is a scalar; use tg_set_value");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_tensor_set(g, t, NULL), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_tensor_set: data is NULL");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_tensor_set(g, TG_NONE, d), TG_ERR_HANDLE);
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_tensor_set: leaf is the empty handle");
    tg_graph_clear_error(g);
    ck_assert_ptr_null(tg_tensor_data(g, s));
    ck_assert_graph_error(g, TG_ERR_SHAPE, "tg_tensor_data: node 0 's' (var) is a scalar, not a tensor");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, p), TG_ERR_SHAPE);
    ck_assert_graph_error(g, TG_ERR_SHAPE, "tg_backward: out is a 2x2 tensor; backward needs a scalar");
    tg_graph_clear_error(g);

    /* after a rewind the dropped tensors are stale, the kept ones fine */
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    ck_assert_int_eq(tg_tensor_get(g, u, out), TG_ERR_STALE);
    ck_assert_int_eq(tg_shape(g, p, &r, &c), TG_ERR_STALE);
    ck_assert_ptr_null(tg_tensor_gradp(g, p));
    ck_assert(tg_is_none(tg_softmax(g, p)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_softmax: logits refers to node 3, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_tensor_get(g, t, out), TG_OK);
    expect_close(out, d, 6, 0, "kept tensor");

    /* a handle of another graph */
    tg_graph *h = tg_graph_new();
    ck_assert(tg_is_none(tg_sum(h, t)));
    ck_assert_int_eq(tg_graph_status(h), TG_ERR_HANDLE);
    tg_graph_free(h);
    tg_graph_free(g);
}
END_TEST

START_TEST(null_graph)
{
    tg_node none = TG_NONE;
    ck_assert(tg_is_none(tg_tensor_var(NULL, "x", 2, 2, NULL)));
    ck_assert(tg_is_none(tg_tensor_const(NULL, 2, 2, NULL)));
    ck_assert(tg_is_none(tg_matmul(NULL, none, none)));
    ck_assert(tg_is_none(tg_matmul_ex(NULL, none, none, 0)));
    ck_assert(tg_is_none(tg_sum(NULL, none)));
    ck_assert(tg_is_none(tg_mean(NULL, none)));
    ck_assert(tg_is_none(tg_softmax(NULL, none)));
    ck_assert(tg_is_none(tg_softmax_cross_entropy(NULL, none, none)));
    ck_assert_int_eq(tg_tensor_set(NULL, none, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_tensor_get(NULL, none, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_tensor_get_grad(NULL, none, NULL), TG_ERR_ARG);
    ck_assert_ptr_null(tg_tensor_data(NULL, none));
    ck_assert_ptr_null(tg_tensor_gradp(NULL, none));
    ck_assert_int_eq(tg_is_tensor(NULL, none), 0);
}
END_TEST

START_TEST(checking_mode)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    double d[4] = { 1, 2, -1, 4 };
    tg_node x = tg_tensor_var(g, "x", 2, 2, d);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    tg_log(g, x);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_log: node 1 (log) produced a non-finite value");
    tg_graph_clear_error(g);

    /* a non-finite leaf value */
    d[1] = INFINITY;
    ck_assert_int_eq(tg_tensor_set(g, x, d), TG_ERR_DOMAIN);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_tensor_set: node 0 'x' (tensor var) produced a non-finite value");
    tg_graph_clear_error(g);
    d[0] = NAN;
    tg_tensor_const(g, 2, 2, d);
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_DOMAIN);
    tg_graph_free(g);

    /* off (the default): IEEE results, no error */
    g = tg_graph_new();
    d[0] = 1;
    d[1] = 2;
    tg_node y = tg_log(g, tg_tensor_var(g, NULL, 2, 2, d));
    double out[4];
    tg_tensor_get(g, y, out);
    ck_assert(isnan(out[2]));
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ out of memory */

/* Every builder, under every allocation budget until it succeeds: a failure
 * is TG_ERR_NOMEM naming the builder, appends nothing, and leaves a graph
 * on which the same call then succeeds with the right value. */
static tg_node build(tg_graph *g, int which, tg_node x, tg_node w, tg_node t)
{
    switch (which) {
    case 0: return tg_tensor_var(g, "fresh", 3, 4, NULL);
    case 1: return tg_matmul(g, x, w);
    case 2: return tg_add(g, x, tg_tensor_const(g, 1, 3, NULL));
    case 3: return tg_relu(g, x);
    case 4: return tg_softmax_cross_entropy(g, x, t);
    case 5: return tg_sum(g, x);
    default: return TG_NONE;
    }
}

static const char *const builder_names[] = {
    "tg_tensor_var", "tg_matmul", "tg_", "tg_relu", "tg_softmax_cross_entropy", "tg_sum",
};

START_TEST(out_of_memory_everywhere)
{
    inj_alloc b = { 0 };
    tg_allocator alloc = inj_use(&b);
    int which = _i;
    bool succeeded = false;
    for (long allowed = 0; !succeeded && allowed < 50; allowed++) {
        inj_stop_failing(&b);
        tg_graph *g = tg_graph_new_with(&alloc);
        ck_assert_ptr_nonnull(g);
        double xd[6] = { 1, 2, 3, 4, 5, 6 }, td[6] = { 1, 0, 0, 0, 0, 1 }, wd[9] = { 1, 0, 0, 0, 1, 0, 0, 0, 1 };
        tg_node x = tg_tensor_var(g, "x", 2, 3, xd);
        tg_node w = tg_tensor_var(g, "w", 3, 3, wd);
        tg_node t = tg_tensor_const(g, 2, 3, td);
        ck_assert_int_eq(tg_graph_status(g), TG_OK);
        size_t n = tg_graph_size(g);

        b.fail_from = b.calls + (size_t)allowed + 1;
        b.failures = 0;
        tg_node y = build(g, which, x, w, t);
        if (!tg_is_none(y)) {
            succeeded = true;
        } else {
            ck_assert_int_gt(b.failures, 0);
            ck_assert_int_eq(tg_graph_status(g), TG_ERR_NOMEM);
            ck_assert_msg(strncmp(tg_graph_errmsg(g), builder_names[which], strlen(builder_names[which])) == 0,
                          "message '%s'", tg_graph_errmsg(g));
            if (which != 2) ck_assert_uint_eq(tg_graph_size(g), n);
            tg_graph_clear_error(g);
            inj_stop_failing(&b);
            y = build(g, which, x, w, t);
            ck_assert_msg(!tg_is_none(y), "%s", tg_graph_errmsg(g));
        }
        /* the result is right and differentiable */
        if (which == 1 || which == 3) {
            double out[6];
            ck_assert_int_eq(tg_tensor_get(g, y, out), TG_OK);
            expect_close(out, xd, 6, 0, "result after recovery");
        }
        tg_node loss = tg_is_tensor(g, y) ? tg_sum(g, y) : y;
        ck_assert_int_eq(tg_backward(g, loss), TG_OK);
        ck_assert_int_eq(tg_graph_status(g), TG_OK);
        tg_graph_free(g);
    }
    ck_assert(succeeded);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tensor errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, shape_messages);
    tcase_add_test(tc, failures_append_nothing_and_stick);
    tcase_add_test(tc, bad_dimensions);
    tcase_add_test(tc, names);
    tcase_add_test(tc, handles_and_accessors);
    tcase_add_test(tc, null_graph);
    tcase_add_test(tc, checking_mode);
    tcase_add_loop_test(tc, out_of_memory_everywhere, 0, 6);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
