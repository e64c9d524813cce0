/*
 * The book's shopping examples (chapter 5): the apple graph and the apple
 * and orange graph, checked against the numbers printed in the book and
 * against the book's MulLayer / AddLayer written out by hand in C.
 */
#include <math.h>
#include <stdlib.h>

#include "helpers.h"
#include "runner.h"

#define BOOK_TOL 1e-12

/* The book's layers: forward keeps the inputs, backward swaps them. */
typedef struct mul_layer { double x, y; } mul_layer;

static double mul_forward(mul_layer *l, double x, double y)
{
    l->x = x;
    l->y = y;
    return x * y;
}

static void mul_backward(const mul_layer *l, double dout, double *dx, double *dy)
{
    *dx = dout * l->y;
    *dy = dout * l->x;
}

static void add_backward(double dout, double *dx, double *dy)
{
    *dx = dout * 1;
    *dy = dout * 1;
}

static void assert_same_handle(tg_node a, tg_node b)
{
    ck_assert_uint_eq(a.id, b.id);
    ck_assert_uint_eq(a.gen, b.gen);
}

static tg_node build_apple(tg_graph *g)
{
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node n = tg_var(g, "apple_num", 2.0);
    tg_node tax = tg_var(g, "tax", 1.1);
    return tg_mul(g, tg_mul(g, apple, n), tax);
}

START_TEST(test_apple)
{
    tg_graph *g = tg_graph_new();
    tg_node price = build_apple(g);
    ck_assert_graph_ok(g);
    ck_assert_int_eq(tg_backward(g, price), TG_OK);

    tg_node apple = tg_find(g, "apple"), n = tg_find(g, "apple_num"), tax = tg_find(g, "tax");
    ck_assert(!tg_is_none(apple) && !tg_is_none(n) && !tg_is_none(tax));
    ck_assert_str_eq(tg_node_name(g, apple), "apple");
    ck_assert_str_eq(tg_node_name(g, n), "apple_num");
    ck_assert_str_eq(tg_node_name(g, tax), "tax");
    ck_assert_ptr_null(tg_node_name(g, price));
    ck_assert_str_eq(tg_node_op(g, price), "mul");

    ck_assert_double_eq_tol(tg_value(g, price), 220.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, apple), 2.2, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, n), 110.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tax), 200.0, BOOK_TOL);
    ck_assert_double_eq(tg_grad(g, price), 1.0);

    /* The inner node apple_price receives dprice * tax = 1.1 (the book's 1 -> 1.1 -> 2.2). */
    tg_node in[2];
    ck_assert_int_eq(tg_node_inputs(g, price, in), 2);
    assert_same_handle(in[1], tax);
    ck_assert_double_eq_tol(tg_value(g, in[0]), 200.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, in[0]), 1.1, BOOK_TOL);

    /* The same numbers, to the bit, from the book's layers. */
    mul_layer mul_apple, mul_tax;
    double apple_price = mul_forward(&mul_apple, 100.0, 2.0);
    double p = mul_forward(&mul_tax, apple_price, 1.1);
    double dapple_price, dtax, dapple, dapple_num;
    mul_backward(&mul_tax, 1.0, &dapple_price, &dtax);
    mul_backward(&mul_apple, dapple_price, &dapple, &dapple_num);
    ck_assert_double_eq(tg_value(g, price), p);
    ck_assert_double_eq(tg_grad(g, apple), dapple);
    ck_assert_double_eq(tg_grad(g, n), dapple_num);
    ck_assert_double_eq(tg_grad(g, tax), dtax);

    ck_assert(tg_is_none(tg_find(g, "orange")));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

static tg_node build_apple_orange(tg_graph *g)
{
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node apple_num = tg_var(g, "apple_num", 2.0);
    tg_node orange = tg_var(g, "orange", 150.0);
    tg_node orange_num = tg_var(g, "orange_num", 3.0);
    tg_node tax = tg_var(g, "tax", 1.1);
    tg_node apple_price = tg_mul(g, apple, apple_num);
    tg_node orange_price = tg_mul(g, orange, orange_num);
    tg_node all_price = tg_add(g, apple_price, orange_price);
    return tg_mul(g, all_price, tax);
}

static void check_apple_orange(tg_graph *g, tg_node price)
{
    ck_assert_graph_ok(g);
    ck_assert_double_eq_tol(tg_value(g, price), 715.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "apple_num")), 110.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "apple")), 2.2, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "orange")), 3.3, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "orange_num")), 165.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "tax")), 650.0, BOOK_TOL);
}

START_TEST(test_apple_orange)
{
    tg_graph *g = tg_graph_new();
    tg_node price = build_apple_orange(g);
    ck_assert_int_eq(tg_backward(g, price), TG_OK);
    check_apple_orange(g, price);
    ck_assert_uint_eq(tg_graph_size(g), 9);

    /* The book's layers, called in reverse order by hand. */
    mul_layer mul_apple, mul_orange, mul_tax;
    double apple_price = mul_forward(&mul_apple, 100.0, 2.0);
    double orange_price = mul_forward(&mul_orange, 150.0, 3.0);
    double all_price = apple_price + orange_price;
    double p = mul_forward(&mul_tax, all_price, 1.1);
    double dall_price, dtax, dapple_price, dorange_price, dorange, dorange_num, dapple, dapple_num;
    mul_backward(&mul_tax, 1.0, &dall_price, &dtax);
    add_backward(dall_price, &dapple_price, &dorange_price);
    mul_backward(&mul_orange, dorange_price, &dorange, &dorange_num);
    mul_backward(&mul_apple, dapple_price, &dapple, &dapple_num);
    ck_assert_double_eq(tg_value(g, price), p);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "apple_num")), dapple_num);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "apple")), dapple);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "orange")), dorange);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "orange_num")), dorange_num);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "tax")), dtax);

    /* The add node passes 1.1 to both prices. */
    tg_node in[2], parts[2];
    ck_assert_int_eq(tg_node_inputs(g, price, in), 2);
    ck_assert_str_eq(tg_node_op(g, in[0]), "add");
    ck_assert_double_eq_tol(tg_value(g, in[0]), 650.0, BOOK_TOL);
    ck_assert_int_eq(tg_node_inputs(g, in[0], parts), 2);
    ck_assert_double_eq_tol(tg_grad(g, parts[0]), 1.1, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, parts[1]), 1.1, BOOK_TOL);
    ck_assert_double_eq_tol(tg_value(g, parts[1]), 450.0, BOOK_TOL);
    tg_graph_free(g);
}
END_TEST

/* Rewinding to 0 drops the names; rebuilding gives the same numbers. */
START_TEST(test_apple_orange_rebuilt)
{
    tg_graph *g = tg_graph_new();
    for (int pass = 0; pass < 3; pass++) {
        size_t mark = tg_graph_mark(g);
        ck_assert_uint_eq(mark, 0);
        tg_node price = build_apple_orange(g);
        ck_assert_int_eq(tg_backward(g, price), TG_OK);
        check_apple_orange(g, price);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        ck_assert(tg_is_none(tg_find(g, "apple")));
        ck_assert_uint_eq(tg_graph_size(g), 0);
    }
    tg_graph_free(g);
}
END_TEST

/* Change the apple's price through its name and replay: 150 * 2 * 1.1. */
START_TEST(test_apple_replayed)
{
    tg_graph *g = tg_graph_new();
    tg_node price = build_apple(g);
    ck_assert_int_eq(tg_set_value(g, tg_find(g, "apple"), 150.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, price), TG_OK);
    ck_assert_double_eq_tol(tg_value(g, price), 330.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "apple")), 2.2, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "apple_num")), 165.0, BOOK_TOL);
    ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "tax")), 300.0, BOOK_TOL);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

static Suite *book_suite(void)
{
    Suite *s = suite_create("engine book");
    TCase *tc = tcase_create("shopping");
    tcase_add_test(tc, test_apple);
    tcase_add_test(tc, test_apple_orange);
    tcase_add_test(tc, test_apple_orange_rebuilt);
    tcase_add_test(tc, test_apple_replayed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(book_suite());
}
