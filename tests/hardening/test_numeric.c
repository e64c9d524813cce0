/*
 * IEEE edge cases: what each op gives where its math breaks down, against
 * the C library's own answer (C11 Annex F), and checking mode naming the
 * first node that produced a non-finite value.
 *
 *   exp(1000) = inf, exp(-1000) = 0          log(0) = -inf, log(-1) = NaN
 *   0^0 = 1 (pow and powc)                   (-2)^0.5 = NaN, (-2)^3 = -8
 *   1/0 = inf, 1/-0 = -inf                   softmax of +-1000: exact
 */
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "hard.h"
#include "runner.h"

/* Value and gradient of a unary function built on a fresh graph. */
typedef struct vg { double v, d; tg_status st; } vg;

static vg unary_at(tg_node (*op)(tg_graph *, tg_node), double x)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    tg_node a = tg_var(g, "a", x);
    tg_node y = op(g, a);
    vg r;
    r.st = tg_backward(g, y);
    r.v = tg_value(g, y);
    r.d = tg_grad(g, a);
    tg_graph_free(g);
    return r;
}

static void assert_same(double got, double want, const char *what)
{
    ck_assert_msg(same_bits(got, want) || (isnan(got) && isnan(want)),
                  "%s: got %.17g, expected %.17g", what, got, want);
}

START_TEST(exp_overflow_and_underflow)
{
    vg r = unary_at(tg_exp, 1000.0);
    ck_assert_int_eq(r.st, TG_OK);
    assert_same(r.v, exp(1000.0), "exp(1000)");
    ck_assert(isinf(r.v) && r.v > 0);
    ck_assert(isinf(r.d) && r.d > 0);           /* d exp = exp */
    r = unary_at(tg_exp, -1000.0);
    assert_same(r.v, 0.0, "exp(-1000)");
    assert_same(r.d, 0.0, "d exp(-1000)");
    r = unary_at(tg_exp, 709.0);                /* the largest finite */
    ck_assert(isfinite(r.v) && r.v > 1e307);
    /* Overflow times zero is NaN, as IEEE says: exp(1000) * 0. */
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1000.0);
    tg_node y = tg_mul(g, tg_exp(g, x), tg_const(g, 0.0));
    ck_assert(isnan(tg_value(g, y)));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert(isnan(tg_grad(g, x)));            /* 0 * inf */
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(log_of_zero_and_negative)
{
    vg r = unary_at(tg_log, 0.0);
    ck_assert(isinf(r.v) && r.v < 0);           /* log(0) = -inf */
    ck_assert(isinf(r.d) && r.d > 0);           /* 1/0 */
    r = unary_at(tg_log, -0.0);
    ck_assert(isinf(r.v) && r.v < 0);           /* log(-0) = -inf too */
    ck_assert(isinf(r.d) && r.d < 0);           /* 1/-0 */
    r = unary_at(tg_log, -1.0);
    ck_assert(isnan(r.v));
    assert_same(r.d, -1.0, "d log(-1)");        /* 1/a stays defined */
    r = unary_at(tg_log, INFINITY);
    ck_assert(isinf(r.v));
    assert_same(r.d, 0.0, "d log(inf)");
    r = unary_at(tg_log, 5e-324);               /* smallest subnormal */
    assert_same(r.v, log(5e-324), "log(denormal min)");
    ck_assert(isinf(r.d));                      /* 1/5e-324 overflows */
}
END_TEST

START_TEST(zero_to_the_zero)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 0.0);
    tg_node b = tg_var(g, "b", 0.0);
    tg_node y = tg_pow(g, a, b);
    assert_same(tg_value(g, y), pow(0.0, 0.0), "0^0");
    assert_same(tg_value(g, y), 1.0, "0^0");
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    assert_same(tg_grad(g, a), 0.0, "d 0^b/da at b = 0");   /* x^0 is constant 1 */
    /* d a^b/db = a^b ln a: ln 0 = -inf */
    ck_assert(isinf(tg_grad(g, b)) && tg_grad(g, b) < 0);
    tg_graph_free(g);

    g = tg_graph_new();
    a = tg_var(g, "a", 0.0);
    y = tg_powc(g, a, 0.0);
    assert_same(tg_value(g, y), 1.0, "powc(0, 0)");
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    assert_same(tg_grad(g, a), 0.0, "d powc(a, 0)/da at 0");
    /* 0^2: value 0, slope 0; 0^b for b > 0 is flat in b. */
    tg_node c = tg_var(g, "c", 0.0), k = tg_var(g, "k", 2.0);
    y = tg_pow(g, c, k);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    assert_same(tg_value(g, y), 0.0, "0^2");
    assert_same(tg_grad(g, c), 0.0, "d 0^2/da");
    assert_same(tg_grad(g, k), 0.0, "d 0^b/db, b = 2");
    tg_graph_free(g);
}
END_TEST

START_TEST(negative_base)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", -2.0);
    tg_node y = tg_powc(g, a, 0.5);
    ck_assert(isnan(tg_value(g, y)));           /* pow(-2, 0.5): domain error, NaN */
    ck_assert(isnan(pow(-2.0, 0.5)));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert(isnan(tg_grad(g, a)));
    tg_graph_free(g);

    /* An integer exponent is fine on a negative base: (-2)^3 = -8, slope
     * 3*4 = 12; d/db = y ln(-2) is NaN. */
    g = tg_graph_new();
    a = tg_var(g, "a", -2.0);
    tg_node b = tg_var(g, "b", 3.0);
    y = tg_pow(g, a, b);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    assert_same(tg_value(g, y), -8.0, "(-2)^3");
    assert_same(tg_grad(g, a), 12.0, "d (-2)^3/da");
    ck_assert(isnan(tg_grad(g, b)));
    tg_graph_free(g);
}
END_TEST

START_TEST(division_by_zero)
{
    vg r = unary_at(tg_recip, 0.0);
    ck_assert(isinf(r.v) && r.v > 0);
    ck_assert(isinf(r.d) && r.d < 0);           /* -1/x^2 */
    r = unary_at(tg_recip, -0.0);
    ck_assert(isinf(r.v) && r.v < 0);
    ck_assert(isinf(r.d) && r.d < 0);
    r = unary_at(tg_recip, INFINITY);
    assert_same(r.v, 0.0, "1/inf");
    ck_assert_msg(r.d == 0.0, "d 1/x at inf: %.17g", r.d);   /* -0 added into a +0 adjoint */

    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 1.0), b = tg_var(g, "b", 0.0);
    tg_node y = tg_div(g, a, b);
    ck_assert(isinf(tg_value(g, y)) && tg_value(g, y) > 0);
    tg_node z = tg_div(g, b, b);                /* 0/0 = 0 * inf = NaN */
    ck_assert(isnan(tg_value(g, z)));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* relu and the saturating functions at their extremes. */
START_TEST(saturation)
{
    vg r = unary_at(tg_sigmoid, 1000.0);
    assert_same(r.v, 1.0, "sigmoid(1000)");
    assert_same(r.d, 0.0, "d sigmoid(1000)");
    r = unary_at(tg_sigmoid, -1000.0);
    assert_same(r.v, 0.0, "sigmoid(-1000)");
    assert_same(r.d, 0.0, "d sigmoid(-1000)");
    r = unary_at(tg_sigmoid, -700.0);           /* no overflow in exp(-x) */
    ck_assert(r.v > 0 && isfinite(r.v));
    ck_assert_double_eq_tol(r.d / r.v, 1.0, 1e-12);  /* y(1-y) ~ y */
    r = unary_at(tg_tanh, 1000.0);
    assert_same(r.v, 1.0, "tanh(1000)");
    assert_same(r.d, 0.0, "d tanh(1000)");
    r = unary_at(tg_sigmoid, INFINITY);
    assert_same(r.v, 1.0, "sigmoid(inf)");
    r = unary_at(tg_sigmoid, -INFINITY);
    assert_same(r.v, 0.0, "sigmoid(-inf)");
    r = unary_at(tg_relu, -INFINITY);
    assert_same(r.v, 0.0, "relu(-inf)");
    r = unary_at(tg_relu, INFINITY);
    ck_assert(isinf(r.v));
    assert_same(r.d, 1.0, "d relu(inf)");
    r = unary_at(tg_relu, -0.0);
    assert_same(r.d, 0.0, "d relu(-0)");
}
END_TEST

/* NaN in, NaN out: every op, so that a NaN cannot vanish on the way to
 * the loss (numpy's maximum(x, 0) and the book's Relu, which masks
 * x <= 0, both keep NaN). */
START_TEST(nan_propagates)
{
    tg_node (*const ops[])(tg_graph *, tg_node) = {
        tg_exp, tg_recip, tg_log, tg_tanh, tg_sigmoid, tg_relu, tg_neg, tg_sigmoid_decomposed,
    };
    const char *const names[] = { "exp", "recip", "log", "tanh", "sigmoid", "relu", "neg",
                                  "sigmoid_decomposed" };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        vg r = unary_at(ops[i], NAN);
        ck_assert_msg(isnan(r.v), "%s(NaN) = %.17g, expected NaN", names[i], r.v);
    }
    /* The same elementwise on a tensor. */
    tg_graph *g = tg_graph_new();
    const double v[2] = { NAN, 1.0 };
    tg_node t = tg_tensor_var(g, NULL, 1, 2, v);
    double out[2];
    ck_assert_int_eq(tg_tensor_get(g, tg_relu(g, t), out), TG_OK);
    ck_assert_msg(isnan(out[0]), "tensor relu(NaN) = %.17g, expected NaN", out[0]);
    tg_graph_free(g);
}
END_TEST

START_TEST(softmax_huge_logits)
{
    tg_graph *g = tg_graph_new();
    const double z[6] = { 1000, 0, -1000, 1e308, 1e308, -1e308 };
    const double t[6] = { 0, 0, 1, 1, 0, 0 };
    tg_node lz = tg_tensor_var(g, "z", 2, 3, z);
    tg_node lt = tg_tensor_const(g, 2, 3, t);
    tg_node s = tg_softmax(g, lz);
    double y[6];
    ck_assert_int_eq(tg_tensor_get(g, s, y), TG_OK);
    /* row 0: exp(0), exp(-1000), exp(-2000) over their sum: 1, 0, 0 */
    assert_same(y[0], 1.0, "softmax row 0 [0]");
    assert_same(y[1], 0.0, "softmax row 0 [1]");
    assert_same(y[2], 0.0, "softmax row 0 [2]");
    /* row 1: 1e308 twice: 1/2, 1/2, and exp(-2e308 -> -inf) = 0 */
    assert_same(y[3], 0.5, "softmax row 1 [0]");
    assert_same(y[4], 0.5, "softmax row 1 [1]");
    assert_same(y[5], 0.0, "softmax row 1 [2]");

    /* The fused loss from the logits stays finite where log(softmax)
     * would be log(0): row 0 targets the -1000 logit, loss 2000;
     * row 1 loss log 2.  Mean over 2 rows. */
    tg_node loss = tg_softmax_cross_entropy(g, lz, lt);
    ck_assert_graph_ok(g);
    double want = (2000.0 + log(2.0)) / 2.0;
    ck_assert_double_eq_tol(tg_value(g, loss), want, 1e-12 * want);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double dz[6];
    ck_assert_int_eq(tg_tensor_get_grad(g, lz, dz), TG_OK);
    /* (softmax - onehot) / N */
    const double dwant[6] = { 0.5, 0, -0.5, -0.25, 0.25, 0 };
    for (int i = 0; i < 6; i++) ck_assert_double_eq_tol(dz[i], dwant[i], 1e-15);
    tg_graph_free(g);

    /* An infinite logit: inf - inf in the shift is NaN, and says so. */
    g = tg_graph_new();
    const double zi[2] = { INFINITY, 0 };
    s = tg_softmax(g, tg_tensor_var(g, NULL, 1, 2, zi));
    ck_assert_int_eq(tg_tensor_get(g, s, y), TG_OK);
    ck_assert(isnan(y[0]));
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ checking */

static void assert_domain(tg_graph *g, const char *msg)
{
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_DOMAIN);
    ck_assert_str_eq(tg_graph_errmsg(g), msg);
}

START_TEST(checking_names_first_recorded)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 1000.0);
    tg_node e = tg_exp(g, x);                   /* node 1: inf */
    tg_node l = tg_log(g, tg_neg(g, e));        /* -inf, then NaN: later, not named */
    (void)l;
    assert_domain(g, "tg_exp: node 1 (exp) produced a non-finite value");
    tg_graph_free(g);

    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    x = tg_var(g, "zero", 0.0);
    tg_log(g, x);
    assert_domain(g, "tg_log: node 1 (log) produced a non-finite value");
    tg_graph_free(g);

    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_var(g, "bad", NAN);
    assert_domain(g, "tg_var: node 0 'bad' (var) produced a non-finite value");
    tg_graph_free(g);

    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node a = tg_var(g, "a", -2.0);
    tg_powc(g, a, 0.5);                          /* node 1 is the constant 0.5 */
    assert_domain(g, "tg_powc: node 2 (powc) produced a non-finite value");
    tg_graph_free(g);

    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_recip(g, tg_const(g, 0.0));
    assert_domain(g, "tg_recip: node 1 (recip) produced a non-finite value");
    tg_graph_free(g);
}
END_TEST

START_TEST(checking_names_first_replayed)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 1.0);
    tg_node e = tg_exp(g, x);                   /* node 1 */
    tg_node m = tg_mul(g, e, e);                /* node 2 */
    tg_node r = tg_recip(g, tg_add(g, x, tg_const(g, -1.0)));  /* node 5: 1/0 at x = 1 */
    (void)m;
    assert_domain(g, "tg_recip: node 5 (recip) produced a non-finite value");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, x, 800.0), TG_OK);
    /* exp(800) = inf at node 1 comes first on the tape */
    ck_assert_int_eq(tg_forward(g), TG_ERR_DOMAIN);
    assert_domain(g, "tg_forward: node 1 (exp) produced a non-finite value");
    /* the replay stopped there: node 2 still holds its old value */
    ck_assert_double_eq_tol(tg_value(g, m), exp(2.0), 1e-12);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, x, 2.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_double_eq(tg_value(g, r), 1.0);
    tg_graph_free(g);
}
END_TEST

START_TEST(checking_names_first_gradient)
{
    /* sqrt at 0: value 0 (finite), slope inf; the sweep names the powc
     * node, whose local derivative made x's gradient infinite. */
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 0.0);
    tg_node y = tg_powc(g, x, 0.5);
    ck_assert_graph_ok(g);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_DOMAIN);
    assert_domain(g, "tg_backward: node 2 (powc) made the gradient of node 0 'x' (var) non-finite");
    tg_graph_free(g);

    /* Checking off: the same sweep runs through and leaves inf. */
    g = tg_graph_new();
    x = tg_var(g, "x", 0.0);
    y = tg_powc(g, x, 0.5);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert(isinf(tg_grad(g, x)));
    tg_graph_free(g);
}
END_TEST

START_TEST(checking_tensors)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    const double v[4] = { 1, 2, 800, 4 };
    tg_node t = tg_tensor_var(g, "t", 2, 2, v);
    tg_node e = tg_exp(g, t);
    (void)e;
    assert_domain(g, "tg_exp: node 1 (exp) produced a non-finite value");
    tg_graph_free(g);

    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    const double big[2] = { DBL_MAX, DBL_MAX };
    tg_sum(g, tg_tensor_var(g, NULL, 1, 2, big));
    assert_domain(g, "tg_sum: node 1 (sum) produced a non-finite value");
    tg_graph_free(g);

    /* Huge but finite logits pass the check: the loss is exact. */
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    const double z[3] = { 1000, 0, -1000 }, oh[3] = { 0, 0, 1 };
    tg_node loss = tg_softmax_cross_entropy(g, tg_tensor_var(g, NULL, 1, 3, z),
                                            tg_tensor_const(g, 1, 3, oh));
    ck_assert_graph_ok(g);
    ck_assert_double_eq(tg_value(g, loss), 2000.0);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    tg_graph_free(g);

    /* tensor_set with a NaN under checking */
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    t = tg_tensor_var(g, "w", 1, 2, NULL);
    const double bad[2] = { 0, NAN };
    ck_assert_int_eq(tg_tensor_set(g, t, bad), TG_ERR_DOMAIN);
    assert_domain(g, "tg_tensor_set: node 0 'w' (tensor var) produced a non-finite value");
    tg_graph_free(g);
}
END_TEST

static Suite *numeric_suite(void)
{
    Suite *s = suite_create("numeric");
    TCase *tc = tcase_create("ieee");
    tcase_add_test(tc, exp_overflow_and_underflow);
    tcase_add_test(tc, log_of_zero_and_negative);
    tcase_add_test(tc, zero_to_the_zero);
    tcase_add_test(tc, negative_base);
    tcase_add_test(tc, division_by_zero);
    tcase_add_test(tc, saturation);
    tcase_add_test(tc, nan_propagates);
    tcase_add_test(tc, softmax_huge_logits);
    suite_add_tcase(s, tc);
    tc = tcase_create("checking");
    tcase_add_test(tc, checking_names_first_recorded);
    tcase_add_test(tc, checking_names_first_replayed);
    tcase_add_test(tc, checking_names_first_gradient);
    tcase_add_test(tc, checking_tensors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(numeric_suite());
}
