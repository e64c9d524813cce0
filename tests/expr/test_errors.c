/*
 * tg_parse's failures, each with its exact status and message, each
 * leaving the tape as it was; nesting limits; statement names; custom ops
 * called by their registered name; and every op of the registry callable
 * by its name.  Sources are copied to blocks of their exact length, so a
 * read past the terminating NUL is an AddressSanitizer error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/expr.h>
#include <tapegrad/extend.h>

#include "op.h"
#include "runner.h"

/* x = 3, y = 2, a constant, tensors M (2x3) and N (3x2). */
enum { FRESH = 5 };
static tg_graph *fresh(void)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    tg_var(g, "x", 3.0);
    tg_var(g, "y", 2.0);
    tg_const(g, 7.0);
    tg_tensor_var(g, "M", 2, 3, NULL);
    tg_tensor_var(g, "N", 3, 2, NULL);
    return g;
}

static tg_node parse_exact(tg_graph *g, const char *src)
{
    size_t n = strlen(src) + 1;
    char *copy = malloc(n);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, src, n);
    tg_node r = tg_parse(g, copy);
    free(copy);
    return r;
}

/* ------------------------------------------------------------ failures */

typedef struct bad { const char *src; tg_status st; const char *msg; } bad;

static const bad bads[] = {
    { "y = (x + 1", TG_ERR_NAME, "tg_parse: 1:1: 'y' is already the name of node 1" },
    { "f = (x + 1", TG_ERR_FORMAT, "tg_parse: 1:11: expected ')' to close '(' at 1:5" },
    { "exp(2*x y)", TG_ERR_FORMAT, "tg_parse: 1:9: expected ')' to close '(' at 1:4, got 'y'" },
    { "x +", TG_ERR_FORMAT, "tg_parse: 1:4: expected a number, a name or '(', got end of input" },
    { "x * * y", TG_ERR_FORMAT, "tg_parse: 1:5: expected a number, a name or '(', got '*'" },
    { "x y", TG_ERR_FORMAT, "tg_parse: 1:3: expected an operator, ';' or the end of the line, got 'y'" },
    { "x\n  + )", TG_ERR_FORMAT, "tg_parse: 2:5: expected a number, a name or '(', got ')'" },
    { "x;\ny*(1;", TG_ERR_FORMAT, "tg_parse: 2:5: expected ')' to close '(' at 2:3" },
    { "f = ", TG_ERR_FORMAT, "tg_parse: 1:5: expected an expression after '=', got end of input" },
    { "", TG_ERR_FORMAT, "tg_parse: 1:1: expected a statement, got end of input" },
    { " ;;\n; ", TG_ERR_FORMAT, "tg_parse: 2:3: expected a statement, got end of input" },
    { "x $ y", TG_ERR_FORMAT, "tg_parse: 1:3: unexpected character '$'" },
    { "x\x01", TG_ERR_FORMAT, "tg_parse: 1:2: unexpected character byte 0x01" },
    { "2 * 1e+", TG_ERR_FORMAT, "tg_parse: 1:5: expected digits in the exponent of the number '1e+'" },
    { "0x1F", TG_ERR_FORMAT, "tg_parse: 1:1: only decimal numbers are read, not '0x1F'" },
    { "x * nan", TG_ERR_NAME, "tg_parse: 1:5: unknown name 'nan'" },
    { "x + zz", TG_ERR_NAME, "tg_parse: 1:5: unknown name 'zz'" },
    { "x + foo(y)", TG_ERR_NAME, "tg_parse: 1:5: unknown function 'foo'" },
    { "foo(zz)", TG_ERR_NAME, "tg_parse: 1:1: unknown function 'foo'" },
    { "1 + atan2(x)", TG_ERR_FORMAT, "tg_parse: 1:5: atan2 takes 2 arguments, got 1" },
    { "sin(x, y)", TG_ERR_FORMAT, "tg_parse: 1:1: sin takes 1 argument, got 2" },
    { "powc(x, y)", TG_ERR_FORMAT, "tg_parse: 1:9: expected a number as powc's exponent, got 'y'" },
    { "sin()", TG_ERR_FORMAT, "tg_parse: 1:5: expected a number, a name or '(', got ')'" },
    { "x = 1", TG_ERR_NAME, "tg_parse: 1:1: 'x' is already the name of node 0" },
    { "f = x*y; f = 2", TG_ERR_NAME, "tg_parse: 1:10: 'f' is already the name of node 5" },
    { "f = +x", TG_ERR_NAME, "tg_parse: 1:1: 'f = ...' records no node to name: the right side is node 0" },
    { "3 = x", TG_ERR_FORMAT, "tg_parse: 1:3: expected an operator, ';' or the end of the line, got '='" },
    { "f = x*y = y", TG_ERR_FORMAT, "tg_parse: 1:9: expected an operator, ';' or the end of the line, got '='" },
    /* a builder's error, after the position of what called it */
    { "x + matmul(N, N)", TG_ERR_SHAPE, NULL },
    { "x + add(M, N)", TG_ERR_SHAPE, NULL },
    { "x + M*N", TG_ERR_SHAPE, NULL },
};

START_TEST(each_failure_has_its_message_and_leaves_the_tape)
{
    const bad *b = &bads[_i];
    tg_graph *g = fresh();
    tg_node r = parse_exact(g, b->src);
    ck_assert(tg_is_none(r));
    ck_assert_int_eq(tg_graph_status(g), b->st);
    if (b->msg) ck_assert_str_eq(tg_graph_errmsg(g), b->msg);
    else ck_assert_msg(!strncmp(tg_graph_errmsg(g), "tg_parse: 1:", 12) && strstr(tg_graph_errmsg(g), ": tg_"),
                       "%s", tg_graph_errmsg(g));
    ck_assert_uint_eq(tg_graph_size(g), FRESH);
    ck_assert(tg_is_none(tg_find(g, "f")));
    ck_assert_double_eq(tg_value(g, tg_find(g, "x")), 3.0);
    /* and the graph records as before */
    tg_graph_clear_error(g);
    tg_node f = tg_parse(g, "f = x*y");
    ck_assert_graph_ok(g);
    ck_assert_uint_eq(f.id, FRESH);
    tg_graph_free(g);
}
END_TEST

START_TEST(a_builder_error_is_prefixed_with_its_position)
{
    tg_graph *g = fresh();
    ck_assert(tg_is_none(tg_parse(g, "(x +\n  matmul(N, N))")));
    char want[256];
    tg_graph *h = tg_graph_new();
    tg_node n = tg_tensor_var(h, "N", 3, 2, NULL);
    tg_matmul(h, n, n);
    snprintf(want, sizeof want, "tg_parse: 2:3: %s", tg_graph_errmsg(h));
    ck_assert_graph_error(g, TG_ERR_SHAPE, want);
    tg_graph_free(h);
    tg_graph_free(g);
}
END_TEST

START_TEST(checking_mode_stops_the_parse_at_a_non_finite_value)
{
    tg_graph *g = fresh();
    tg_graph_set_checking(g, 1);
    ck_assert(tg_is_none(tg_parse(g, "f = x + log(-y)")));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_DOMAIN);
    ck_assert_msg(!strncmp(tg_graph_errmsg(g), "tg_parse: 1:9: ", 15), "%s", tg_graph_errmsg(g));
    ck_assert_uint_eq(tg_graph_size(g), FRESH);
    tg_graph_free(g);
}
END_TEST

START_TEST(an_error_standing_before_stays)
{
    tg_graph *g = fresh();
    tg_var(g, "x", 1.0);  /* TG_ERR_NAME, stands */
    char before[256];
    snprintf(before, sizeof before, "%s", tg_graph_errmsg(g));
    tg_node f = tg_parse(g, "f = x*y");  /* builders still work */
    ck_assert(!tg_is_none(f));
    ck_assert_double_eq(tg_value(g, f), 6.0);
    ck_assert(tg_is_none(tg_parse(g, "x +")));
    ck_assert_graph_error(g, TG_ERR_NAME, before);
    ck_assert_uint_eq(tg_graph_size(g), FRESH + 1);
    tg_graph_free(g);
}
END_TEST

START_TEST(null_arguments)
{
    ck_assert(tg_is_none(tg_parse(NULL, "x")));
    tg_graph *g = fresh();
    ck_assert(tg_is_none(tg_parse(g, NULL)));
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_parse: src is NULL");
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ nesting */

static char *repeat(const char *open, int n, const char *mid, const char *close)
{
    size_t lo = strlen(open), lc = strlen(close), lm = strlen(mid);
    char *s = malloc((size_t)n * (lo + lc) + lm + 1), *p = s;
    ck_assert_ptr_nonnull(s);
    for (int i = 0; i < n; i++, p += lo) memcpy(p, open, lo);
    memcpy(p, mid, lm);
    p += lm;
    for (int i = 0; i < n; i++, p += lc) memcpy(p, close, lc);
    *p = '\0';
    return s;
}

START_TEST(nesting_is_bounded)
{
    tg_graph *g = fresh();
    /* one level for the expression, one per parenthesis */
    char *ok = repeat("(", TG_PARSE_MAX_DEPTH - 1, "x", ")");
    ck_assert_uint_eq(tg_parse(g, ok).id, 0);
    ck_assert_graph_ok(g);
    char *deep = repeat("(", TG_PARSE_MAX_DEPTH, "x", ")");
    ck_assert(tg_is_none(tg_parse(g, deep)));
    char want[128];
    snprintf(want, sizeof want, "tg_parse: 1:%d: nested deeper than %d levels", TG_PARSE_MAX_DEPTH + 1,
             TG_PARSE_MAX_DEPTH);
    ck_assert_graph_error(g, TG_ERR_FORMAT, want);
    tg_graph_clear_error(g);
    /* signs, calls and exponents nest too; a million of them fail at once */
    const char *kinds[][3] = { { "-", "x", "" }, { "sin(", "x", ")" }, { "x^", "y", "" },
                               { "(", "", "" } };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char *s = repeat(kinds[k][0], 1000000, kinds[k][1], kinds[k][2]);
        ck_assert(tg_is_none(parse_exact(g, s)));
        ck_assert_int_eq(tg_graph_status(g), TG_ERR_FORMAT);
        ck_assert_msg(strstr(tg_graph_errmsg(g), "nested deeper than"), "%s", tg_graph_errmsg(g));
        ck_assert_uint_eq(tg_graph_size(g), FRESH);
        tg_graph_clear_error(g);
        free(s);
    }
    free(ok);
    free(deep);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ statements */

START_TEST(statements_name_nodes_for_later_parses)
{
    tg_graph *g = tg_graph_new();
    tg_node r = parse_exact(g, "a = 2; b = -0.5\n\n"
                               "c = a*b;; d = (a +\n b) ;\n"
                               "c + d");
    ck_assert_graph_ok(g);
    tg_node a = tg_find(g, "a"), b = tg_find(g, "b"), c = tg_find(g, "c"), d = tg_find(g, "d");
    ck_assert_str_eq(tg_node_op(g, a), "var");   /* a number alone is a variable */
    ck_assert_str_eq(tg_node_op(g, b), "var");
    ck_assert_double_eq(tg_value(g, b), -0.5);
    ck_assert_str_eq(tg_node_op(g, c), "mul");
    ck_assert_str_eq(tg_node_op(g, d), "add");
    ck_assert_double_eq(tg_value(g, r), -1.0 + 1.5);
    tg_node e = tg_parse(g, "e = c*d");
    ck_assert_uint_eq(tg_node_input(g, e, 0).id, c.id);
    ck_assert_uint_eq(tg_node_input(g, e, 1).id, d.id);
    ck_assert_uint_eq(tg_find(g, "e").id, e.id);
    tg_backward(g, e);
    /* e = ab(a + b): de/da = 2ab + b^2, de/db = a^2 + 2ab */
    ck_assert_double_eq(tg_grad(g, a), 2 * 2 * -0.5 + 0.25);
    ck_assert_double_eq(tg_grad(g, b), 4 + 2 * 2 * -0.5);
    /* a rewind drops the names with the nodes */
    ck_assert_int_eq(tg_graph_rewind(g, e.id), TG_OK);
    ck_assert(tg_is_none(tg_find(g, "e")));
    ck_assert(!tg_is_none(tg_parse(g, "e = 3*c")));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(set_name_takes_only_the_newest_unnamed_nodes)
{
    tg_graph *g = fresh();
    tg_node s = tg_mul(g, tg_find(g, "x"), tg_find(g, "y"));
    ck_assert_int_eq(tg_node_set_name(g, s, "s"), TG_OK);
    ck_assert_uint_eq(tg_find(g, "s").id, s.id);
    ck_assert_int_eq(tg_node_set_name(g, s, "t"), TG_ERR_NAME);
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_node_set_name: node 5 is named 's' already");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_node_set_name(g, tg_node_at(g, 2), "c"), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_node_set_name: node 2 is older than node 5, which is named; "
                                         "only a node recorded after every named one can take a name");
    tg_graph_clear_error(g);
    tg_node t = tg_exp(g, s);
    ck_assert_int_eq(tg_node_set_name(g, t, "x"), TG_ERR_NAME);
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_node_set_name: name 'x' is already node 0");
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ custom ops */

static double sq_value(void *ctx, const double *x) { (void)ctx; return x[0] * x[0] + x[1] * x[2]; }
static void sq_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx, (void)y;
    d[0] = 2 * x[0];
    d[1] = x[2];
    d[2] = x[1];
}
static const tg_custom_op sq3 = { "sq3", 3, sq_value, sq_partials, NULL, NULL };

START_TEST(custom_ops_are_called_by_their_registered_name)
{
    tg_graph *g = fresh();
    ck_assert(tg_is_none(tg_parse(g, "sq3(x, y, 1)")));
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_parse: 1:1: unknown function 'sq3'");
    tg_graph_clear_error(g);
    ck_assert_ptr_null(tg_custom_lookup(g, "sq3"));
    ck_assert_int_eq(tg_custom_register(g, &sq3), TG_OK);
    ck_assert_int_eq(tg_custom_register(g, &sq3), TG_OK);  /* the same again */
    const tg_custom_op *op = tg_custom_lookup(g, "sq3");
    ck_assert_ptr_nonnull(op);
    ck_assert_ptr_ne(op, &sq3);  /* g's copy */
    ck_assert_uint_eq(op->arity, 3);

    tg_node f = tg_parse(g, "f = sq3(x, y, 2*x) + 1");
    ck_assert_graph_ok(g);
    tg_node q = tg_node_input(g, f, 0);
    ck_assert_str_eq(tg_node_op(g, q), "sq3");
    ck_assert_uint_eq(tg_node_arity(g, q), 3);
    ck_assert_double_eq(tg_value(g, f), 9 + 2 * 6 + 1);
    tg_backward(g, f);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "x")), 2 * 3 + 2 * 2);  /* 2x + y*2 */

    ck_assert(tg_is_none(tg_parse(g, "sq3(x, y)")));
    ck_assert_graph_error(g, TG_ERR_FORMAT, "tg_parse: 1:1: sq3 takes 3 arguments, got 2");
    tg_graph_clear_error(g);

    /* another definition under the name, a built-in's name, a bad op */
    tg_custom_op other = sq3;
    other.ctx = g;
    ck_assert_int_eq(tg_custom_register(g, &other), TG_ERR_NAME);
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_custom_register: another op is registered as 'sq3'");
    tg_graph_clear_error(g);
    other.name = "sin";
    ck_assert_int_eq(tg_custom_register(g, &other), TG_ERR_NAME);
    ck_assert_graph_error(g, TG_ERR_NAME, "tg_custom_register: \"sin\" is the name of a built-in op");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_custom_register(g, NULL), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_custom_register: op is NULL");
    ck_assert_int_eq(tg_custom_register(NULL, &sq3), TG_ERR_ARG);
    ck_assert_ptr_null(tg_custom_lookup(NULL, "sq3"));
    ck_assert_ptr_null(tg_custom_lookup(g, NULL));
    /* registration survives a rewind */
    tg_graph_clear_error(g);
    tg_graph_rewind(g, FRESH);
    ck_assert(!tg_is_none(tg_parse(g, "sq3(1, 2, 3)")));
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ registry */

/* Every op of the registry with inputs is callable by its name, and the
 * node it records (or, for the composed ones, the last) has that op. */
START_TEST(every_op_is_callable_by_its_registry_name)
{
    size_t called = 0;
    for (int k = 0; k < OP_COUNT; k++) {
        const op_info *row = &op_table[k];
        if (row->kind == OPK_LEAF || row->kind == OPK_CUSTOM) continue;
        tg_graph *g = tg_graph_new();
        double m[4] = { 0.5, 0.2, 0.3, 0.4 };
        double one_hot[4] = { 0, 1, 1, 0 };
        tg_tensor_var(g, "M", 2, 2, m);
        tg_tensor_const(g, 2, 2, one_hot);
        tg_node_set_name(g, tg_node_at(g, 1), "T");
        tg_var(g, "x", 0.5);
        char src[96];
        int tensor = row->kind == OPK_TENSOR || row->kind == OPK_REDUCE;
        if (!strcmp(row->name, "powc")) snprintf(src, sizeof src, "powc(x, 2)");
        else if (!strcmp(row->name, "softmax_cross_entropy")) snprintf(src, sizeof src, "%s(M, T)", row->name);
        else if (row->arity == 2) snprintf(src, sizeof src, "%s(%s, %s)", row->name, tensor ? "M" : "x", tensor ? "M" : "x");
        else snprintf(src, sizeof src, "%s(%s)", row->name, tensor ? "M" : "x");
        tg_node n = tg_parse(g, src);
        ck_assert_msg(tg_graph_status(g) == TG_OK, "%s: %s", src, tg_graph_errmsg(g));
        ck_assert_str_eq(tg_node_op(g, n), row->name);
        size_t nodes = !strcmp(row->name, "powc") ? 2 : 1;  /* powc records its exponent */
        ck_assert_msg(tg_graph_size(g) == 3 + nodes, "%s recorded %zu nodes", src, tg_graph_size(g) - 3);
        called++;
        tg_graph_free(g);
    }
    /* and the composed one by its C name without tg_ */
    const char *composed[] = { "sigmoid_decomposed(x)" };
    const char *last_op[] = { "recip" };
    for (int k = 0; k < 1; k++) {
        tg_graph *g = tg_graph_new();
        tg_var(g, "x", 0.5);
        tg_node n = tg_parse(g, composed[k]);
        ck_assert_graph_ok(g);
        ck_assert_str_eq(tg_node_op(g, n), last_op[k]);
        tg_graph_free(g);
    }
    ck_assert_uint_ge(called, 40);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("expr-errors");
    TCase *tc = tcase_create("errors");
    tcase_add_loop_test(tc, each_failure_has_its_message_and_leaves_the_tape, 0, sizeof bads / sizeof bads[0]);
    tcase_add_test(tc, a_builder_error_is_prefixed_with_its_position);
    tcase_add_test(tc, checking_mode_stops_the_parse_at_a_non_finite_value);
    tcase_add_test(tc, an_error_standing_before_stays);
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, nesting_is_bounded);
    tcase_add_test(tc, statements_name_nodes_for_later_parses);
    tcase_add_test(tc, set_name_takes_only_the_newest_unnamed_nodes);
    tcase_add_test(tc, custom_ops_are_called_by_their_registered_name);
    tcase_add_test(tc, every_op_is_callable_by_its_registry_name);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
