/*
 * Every error path of the scalar API: the status returned, the status and
 * message left on the graph, and that the graph is unchanged by the call.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "helpers.h"
#include "runner.h"

START_TEST(test_status_strings)
{
    ck_assert_str_eq(tg_status_str(TG_OK), "ok");
    ck_assert_str_eq(tg_status_str(TG_ERR_NOMEM), "out of memory");
    ck_assert_str_eq(tg_status_str(TG_ERR_ARG), "invalid argument");
    ck_assert_str_eq(tg_status_str(TG_ERR_HANDLE), "invalid handle");
    ck_assert_str_eq(tg_status_str(TG_ERR_NAME), "bad name");
    ck_assert_str_eq(tg_status_str(TG_ERR_SHAPE), "shape mismatch");
    ck_assert_str_eq(tg_status_str(TG_ERR_DOMAIN), "non-finite value");
    ck_assert_str_eq(tg_status_str(TG_ERR_FORMAT), "malformed file");
    ck_assert_str_eq(tg_status_str(TG_ERR_IO), "input/output error");
    ck_assert_str_eq(tg_status_str(TG_ERR_STALE), "stale handle or tape");
}
END_TEST

/* Every function of the scalar API accepts a NULL graph and does nothing. */
START_TEST(test_null_graph)
{
    tg_node h = { 0, 1 }, in[2] = { { 7, 7 }, { 7, 7 } };
    double d[2] = { 5, 5 };
    tg_graph_free(NULL);
    ck_assert_int_eq(tg_graph_status(NULL), TG_ERR_ARG);
    ck_assert_str_eq(tg_graph_errmsg(NULL), "graph is NULL");
    tg_graph_clear_error(NULL);
    ck_assert_uint_eq(tg_graph_size(NULL), 0);
    ck_assert_uint_eq(tg_graph_mark(NULL), 0);
    ck_assert_int_eq(tg_graph_rewind(NULL, 0), TG_ERR_ARG);
    ck_assert_int_eq(tg_graph_reserve(NULL, 10), TG_ERR_ARG);
    tg_graph_set_checking(NULL, 1);

    ck_assert(tg_is_none(tg_var(NULL, "x", 1.0)));
    ck_assert(tg_is_none(tg_var(NULL, NULL, 1.0)));
    ck_assert(tg_is_none(tg_const(NULL, 1.0)));
    ck_assert(tg_is_none(tg_find(NULL, "x")));

    tg_node none = TG_NONE;
    for (int k = 0; k < 2; k++) {
        tg_node a = k ? h : none;
        ck_assert(tg_is_none(tg_add(NULL, a, a)));
        ck_assert(tg_is_none(tg_sub(NULL, a, a)));
        ck_assert(tg_is_none(tg_mul(NULL, a, a)));
        ck_assert(tg_is_none(tg_div(NULL, a, a)));
        ck_assert(tg_is_none(tg_neg(NULL, a)));
        ck_assert(tg_is_none(tg_exp(NULL, a)));
        ck_assert(tg_is_none(tg_log(NULL, a)));
        ck_assert(tg_is_none(tg_recip(NULL, a)));
        ck_assert(tg_is_none(tg_pow(NULL, a, a)));
        ck_assert(tg_is_none(tg_powc(NULL, a, 2.0)));
        ck_assert(tg_is_none(tg_sigmoid(NULL, a)));
        ck_assert(tg_is_none(tg_sigmoid_decomposed(NULL, a)));
        ck_assert(tg_is_none(tg_relu(NULL, a)));
        ck_assert(tg_is_none(tg_tanh(NULL, a)));
        ck_assert(isnan(tg_value(NULL, a)));
        ck_assert(isnan(tg_grad(NULL, a)));
        ck_assert_int_eq(tg_backward(NULL, a), TG_ERR_ARG);
        ck_assert_int_eq(tg_set_value(NULL, a, 1.0), TG_ERR_ARG);
        ck_assert_str_eq(tg_node_op(NULL, a), "");
        ck_assert_ptr_null(tg_node_name(NULL, a));
        ck_assert_int_eq(tg_node_inputs(NULL, a, in), 0);
        ck_assert_int_eq(tg_node_partials(NULL, a, d), 0);
    }
    ck_assert_int_eq(tg_forward(NULL), TG_ERR_ARG);
    ck_assert(tg_is_none(tg_node_at(NULL, 0)));
    ck_assert_int_eq(tg_group_begin(NULL, "layer"), TG_ERR_ARG);
    ck_assert_int_eq(tg_group_end(NULL), TG_ERR_ARG);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot(NULL, f), TG_ERR_ARG);
    ck_assert_int_eq(ftell(f), 0);
    fclose(f);

    /* Nothing was written through the output arrays. */
    ck_assert_uint_eq(in[0].id, 7);
    ck_assert_double_eq(d[0], 5);
}
END_TEST

START_TEST(test_allocator_without_functions)
{
    tg_allocator half = { NULL, NULL, NULL };
    ck_assert_ptr_null(tg_graph_new_with(&half));
    inj_alloc c = { 0 };
    tg_allocator a = inj_use(&c);
    a.free = NULL;
    ck_assert_ptr_null(tg_graph_new_with(&a));
    ck_assert_int_eq(c.live, 0);
    /* NULL means the C library's allocator. */
    tg_graph *g = tg_graph_new_with(NULL);
    ck_assert_ptr_nonnull(g);
    ck_assert_graph_ok(g);
    ck_assert_str_eq(tg_graph_errmsg(g), "");
    tg_graph_free(g);
}
END_TEST

/* The first error sticks; builders given the empty handle pass it on
 * without recording anything, so the first message survives. */
START_TEST(test_empty_handle_propagation)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0);
    tg_node dup = tg_var(g, "x", 2.0);
    const char *first = "tg_var: name 'x' is already node 0";
    ck_assert(tg_is_none(dup));
    ck_assert_graph_error(g, TG_ERR_NAME, first);
    ck_assert_uint_eq(tg_graph_size(g), 1);

    tg_node e = tg_mul(g, dup, x);
    ck_assert(tg_is_none(e));
    ck_assert(tg_is_none(tg_add(g, x, e)));
    ck_assert(tg_is_none(tg_sub(g, e, x)));
    ck_assert(tg_is_none(tg_sub(g, x, e)));
    ck_assert(tg_is_none(tg_div(g, x, e)));
    ck_assert(tg_is_none(tg_div(g, e, x)));
    ck_assert(tg_is_none(tg_neg(g, e)));
    ck_assert(tg_is_none(tg_exp(g, e)));
    ck_assert(tg_is_none(tg_log(g, e)));
    ck_assert(tg_is_none(tg_recip(g, e)));
    ck_assert(tg_is_none(tg_pow(g, e, x)));
    ck_assert(tg_is_none(tg_pow(g, x, e)));
    ck_assert(tg_is_none(tg_powc(g, e, 3.0)));
    ck_assert(tg_is_none(tg_sigmoid(g, e)));
    ck_assert(tg_is_none(tg_sigmoid_decomposed(g, e)));
    ck_assert(tg_is_none(tg_relu(g, e)));
    ck_assert(tg_is_none(tg_tanh(g, e)));
    ck_assert(isnan(tg_value(g, e)));
    ck_assert(isnan(tg_grad(g, e)));
    /* Nothing was recorded for them. */
    ck_assert_uint_eq(tg_graph_size(g), 1);

    ck_assert_int_eq(tg_backward(g, e), TG_ERR_HANDLE);
    ck_assert_int_eq(tg_set_value(g, e, 1.0), TG_ERR_HANDLE);
    ck_assert_int_eq(tg_graph_rewind(g, 9), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_NAME, first);

    /* A valid computation still works under a sticky error. */
    tg_node y = tg_mul(g, x, x);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 2.0);
    ck_assert_graph_error(g, TG_ERR_NAME, first);

    tg_graph_clear_error(g);
    ck_assert_graph_ok(g);
    ck_assert_str_eq(tg_graph_errmsg(g), "");
    tg_graph_free(g);
}
END_TEST

/* TG_ERR_HANDLE is "empty handle where a node is required": on a clean
 * graph an empty operand (say from tg_find of a misspelt name) must leave
 * an error, or an expression checked once would report TG_OK and an empty
 * result. */
START_TEST(test_empty_handle_on_clean_graph)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0);
    ck_assert(tg_is_none(tg_mul(g, tg_find(g, "typo"), x)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_mul: a is the empty handle");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_sub(g, x, TG_NONE)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_sub: b is the empty handle");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_neg(g, TG_NONE)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_neg: a is the empty handle");
    ck_assert_uint_eq(tg_graph_size(g), 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_duplicate_name)
{
    tg_graph *g = tg_graph_new();
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_var(g, "orange", 150.0);
    ck_assert(tg_is_none(tg_var(g, "apple", 1.0)));
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_var: name 'apple' is already node 0");
    ck_assert_uint_eq(tg_graph_size(g), 2);
    tg_node found = tg_find(g, "apple");
    ck_assert_uint_eq(found.id, apple.id);
    ck_assert_double_eq(tg_value(g, found), 100.0);
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_var(g, "orange", 1.0)));
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_var: name 'orange' is already node 1");
    /* Unnamed variables never clash, and an unknown name is no error. */
    tg_graph_clear_error(g);
    ck_assert(!tg_is_none(tg_var(g, NULL, 1.0)));
    ck_assert(!tg_is_none(tg_var(g, NULL, 2.0)));
    ck_assert(tg_is_none(tg_find(g, "banana")));
    ck_assert(tg_is_none(tg_find(g, NULL)));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_rewind_past_end)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0);
    tg_exp(g, x);
    tg_const(g, 3.0);
    ck_assert_int_eq(tg_graph_rewind(g, 5), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_graph_rewind: mark 5 is past the tape's 3 nodes");
    ck_assert_uint_eq(tg_graph_size(g), 3);
    ck_assert_double_eq(tg_value(g, x), 1.0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_set_value_refused)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.5);
    tg_node c = tg_const(g, 2.0);
    tg_node y = tg_mul(g, x, c);
    ck_assert_int_eq(tg_set_value(g, y, 4.0), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_set_value: node 2 (mul) is not a variable");
    ck_assert_double_eq(tg_value(g, y), 3.0);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, c, 4.0), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_set_value: node 1 (const) is a constant");
    ck_assert_double_eq(tg_value(g, c), 2.0);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, TG_NONE, 4.0), TG_ERR_HANDLE);
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_set_value: leaf is the empty handle");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, x, 4.0), TG_OK);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_backward_empty)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.5);
    ck_assert_int_eq(tg_backward(g, TG_NONE), TG_ERR_HANDLE);
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_backward: out is the empty handle");
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_groups_misuse)
{
    tg_graph *g = tg_graph_new();
    ck_assert_int_eq(tg_group_end(g), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_group_end: no group is open");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_group_begin(g, NULL), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_group_begin: label is NULL");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_reserve_too_many)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    size_t n = (size_t)UINT32_MAX + 2;
    ck_assert_int_eq(tg_graph_reserve(g, n), TG_ERR_NOMEM);
    char want[96];
    snprintf(want, sizeof want, "tg_graph_reserve: out of memory reserving %zu nodes", n);
    ck_assert_graph_error(g, TG_ERR_NOMEM, want);
    tg_graph_clear_error(g);
    tg_node y = tg_mul(g, x, x);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 4.0);
    ck_assert_int_eq(tg_graph_reserve(g, 1000), TG_OK);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ checking mode */

/* Off by default: IEEE values flow through. */
START_TEST(test_nonfinite_without_checking)
{
    tg_graph *g = tg_graph_new();
    tg_node z = tg_var(g, "z", 0.0);
    tg_node m = tg_var(g, "m", -1.0);
    ck_assert(isinf(tg_value(g, tg_log(g, z))));
    ck_assert(isinf(tg_value(g, tg_recip(g, z))));
    ck_assert(isnan(tg_value(g, tg_log(g, m))));
    ck_assert(isinf(tg_value(g, tg_div(g, m, z))));
    ck_assert_graph_ok(g);
    tg_graph_free(g);

    g = tg_graph_new();
    z = tg_var(g, "z", 0.0);
    tg_node s = tg_powc(g, z, 0.5);            /* sqrt: slope inf at 0 */
    ck_assert_int_eq(tg_backward(g, s), TG_OK);
    ck_assert_msg(isinf(tg_grad(g, z)) && tg_grad(g, z) > 0, "d sqrt(z)/dz at 0: got %g", tg_grad(g, z));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_checking_names_first_node)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 0.0);
    tg_node l = tg_log(g, x);                  /* node 1: -inf */
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_log: node 1 (log) produced a non-finite value");
    tg_recip(g, x);                            /* inf as well, but not first */
    tg_exp(g, l);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_log: node 1 (log) produced a non-finite value");
    tg_graph_free(g);

    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node big = tg_var(g, "big", INFINITY);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_var: node 0 'big' (var) produced a non-finite value");
    (void)big;
    tg_graph_free(g);

    /* A composed op names the primitive that produced the value. */
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node zero = tg_var(g, "zero", 0.0);
    tg_sigmoid_decomposed(g, tg_recip(g, zero));
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_recip: node 1 (recip) produced a non-finite value");
    tg_graph_free(g);
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node low = tg_var(g, "low", -1000.0);
    tg_sigmoid_decomposed(g, low);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_exp: node 3 (exp) produced a non-finite value");
    tg_graph_free(g);

    /* Division is one node. */
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node one = tg_var(g, "one", 1.0);
    zero = tg_var(g, "zero", 0.0);
    tg_div(g, one, zero);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_div: node 2 (div) produced a non-finite value");
    tg_graph_free(g);

    /* Finite values raise nothing; checking can be switched off. */
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node a = tg_var(g, "a", 2.0);
    tg_node b = tg_sigmoid(g, tg_mul(g, tg_log(g, a), tg_exp(g, a)));
    ck_assert_int_eq(tg_backward(g, b), TG_OK);
    ck_assert_graph_ok(g);
    tg_graph_set_checking(g, 0);
    tg_log(g, tg_const(g, -1.0));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_checking_in_backward)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 0.0);
    tg_node s = tg_powc(g, x, 0.5);            /* sqrt: value 0, slope inf */
    ck_assert_graph_ok(g);
    ck_assert_int_eq(tg_backward(g, s), TG_ERR_DOMAIN);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_backward: node 2 (powc) made the gradient of node 0 'x' (var) non-finite");
    (void)s;
    tg_graph_free(g);
}
END_TEST

START_TEST(test_checking_in_forward)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 1.0);
    tg_node y = tg_exp(g, tg_log(g, x));
    ck_assert_int_eq(tg_set_value(g, x, 0.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_DOMAIN);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_forward: node 1 (log) produced a non-finite value");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, x, 2.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq_tol(tg_grad(g, x), 1.0, 1e-15);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("engine errors");
    TCase *tc = tcase_create("arguments");
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_null_graph);
    tcase_add_test(tc, test_allocator_without_functions);
    tcase_add_test(tc, test_empty_handle_propagation);
    tcase_add_test(tc, test_empty_handle_on_clean_graph);
    tcase_add_test(tc, test_duplicate_name);
    tcase_add_test(tc, test_rewind_past_end);
    tcase_add_test(tc, test_set_value_refused);
    tcase_add_test(tc, test_backward_empty);
    tcase_add_test(tc, test_groups_misuse);
    tcase_add_test(tc, test_reserve_too_many);
    suite_add_tcase(s, tc);

    tc = tcase_create("checking mode");
    tcase_add_test(tc, test_nonfinite_without_checking);
    tcase_add_test(tc, test_checking_names_first_node);
    tcase_add_test(tc, test_checking_in_backward);
    tcase_add_test(tc, test_checking_in_forward);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(errors_suite());
}
