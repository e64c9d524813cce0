/*
 * Every op's value against the C library and its derivatives against
 * central finite differences; compositions; reuse of a node and the zeroing
 * of adjoints; accuracy at extreme arguments against long double.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "rng.h"
#include "runner.h"

/* Derivatives from a finite difference agree to this relative error. */
#define FD_TOL 1e-6

static void assert_fd(double got, double fd, const char *what, double at0, double at1)
{
    double err = fabs(got - fd);
    ck_assert_msg(err <= FD_TOL * fmax(fabs(fd), 1e-10),
                  "%s at (%.17g, %.17g): got %.17g, finite difference %.17g",
                  what, at0, at1, got, fd);
}

/* ------------------------------------------------------------ unary ops */

static tg_node powc_2(tg_graph *g, tg_node a)     { return tg_powc(g, a, 2.0); }
static tg_node powc_half(tg_graph *g, tg_node a)  { return tg_powc(g, a, 0.5); }
static tg_node powc_m1_5(tg_graph *g, tg_node a)  { return tg_powc(g, a, -1.5); }
static tg_node powc_3(tg_graph *g, tg_node a)     { return tg_powc(g, a, 3.0); }

/* References computed without tapegrad, and not by the same formula where
 * another one exists. */
static double ref_exp(double x)     { return exp(x); }
static double ref_log(double x)     { return log(x); }
static double ref_tanh(double x)    { return tanh(x); }
static double ref_neg(double x)     { return -x; }
static double ref_recip(double x)   { return 1.0 / x; }
static double ref_relu(double x)    { return x > 0 ? x : 0.0; }
static double ref_square(double x)  { return x * x; }
static double ref_sqrt(double x)    { return sqrt(x); }
static double ref_m1_5(double x)    { return (double)(1.0L / ((long double)x * sqrtl(x))); }
static double ref_cube(double x)    { return (double)((long double)x * x * x); }
static double ref_sigmoid(double x) { return (double)(1.0L / (1.0L + expl(-(long double)x))); }

typedef struct unary_case {
    const char *name;
    tg_node (*build)(tg_graph *, tg_node);
    double (*ref)(double);
    unsigned ulps;       /* the value is within this many ulps of ref */
    int npts;
    double pts[6];       /* away from kinks */
} unary_case;

static const unary_case unary_cases[] = {
    { "exp",      tg_exp,      ref_exp,     0, 5, { -5, -0.3, 0, 1.2, 10 } },
    { "log",      tg_log,      ref_log,     0, 5, { 0.05, 0.5, 1, 3, 1e4 } },
    { "recip",    tg_recip,    ref_recip,   0, 5, { -4, -0.2, 0.3, 5, 1e3 } },
    { "neg",      tg_neg,      ref_neg,     0, 4, { -2, 0, 3.5, 1e-3 } },
    { "tanh",     tg_tanh,     ref_tanh,    0, 5, { -3, -0.4, 0, 0.9, 2.5 } },
    { "sigmoid",  tg_sigmoid,  ref_sigmoid, 4, 6, { -8, -1.3, 0, 0.7, 3, 5 } },
    { "sigmoid_decomposed", tg_sigmoid_decomposed, ref_sigmoid, 4, 6, { -8, -1.3, 0, 0.7, 3, 5 } },
    { "relu",     tg_relu,     ref_relu,    0, 4, { -2, -0.5, 0.5, 3 } },
    { "powc 2",   powc_2,      ref_square,  1, 4, { -1.5, 0.3, 2.5, 7 } },
    { "powc 0.5", powc_half,   ref_sqrt,    1, 4, { 0.01, 0.7, 4, 100 } },
    { "powc -1.5", powc_m1_5,  ref_m1_5,    2, 3, { 0.2, 1.3, 4 } },
    { "powc 3",   powc_3,      ref_cube,    1, 4, { -2, -0.4, 0.6, 3 } },
};
#define N_UNARY (sizeof unary_cases / sizeof unary_cases[0])

static double fd_unary(double (*f)(double), double x)
{
    double h = 1e-6 * fmax(1.0, fabs(x));
    volatile double hi = x + h, lo = x - h;
    return (f(hi) - f(lo)) / (hi - lo);
}

START_TEST(test_unary_value_and_derivative)
{
    const unary_case *c = &unary_cases[_i];
    for (int k = 0; k < c->npts; k++) {
        double x0 = c->pts[k];
        tg_graph *g = tg_graph_new();
        ck_assert_ptr_nonnull(g);
        tg_node x = tg_var(g, "x", x0);
        tg_node y = c->build(g, x);
        ck_assert_graph_ok(g);
        ck_assert(!tg_is_none(y));
        char what[64];
        snprintf(what, sizeof what, "%s(%.17g) value", c->name, x0);
        ck_assert_ulps(tg_value(g, y), c->ref(x0), c->ulps, what);

        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        ck_assert_double_eq(tg_grad(g, y), 1.0);
        snprintf(what, sizeof what, "d %s/dx", c->name);
        assert_fd(tg_grad(g, x), fd_unary(c->ref, x0), what, x0, 0);
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------------------ binary ops */

static double ref_add(double a, double b) { return a + b; }
static double ref_sub(double a, double b) { return a - b; }
static double ref_mul(double a, double b) { return a * b; }
static double ref_div(double a, double b) { return a / b; }
static double ref_pow(double a, double b) { return pow(a, b); }

typedef struct binary_case {
    const char *name;
    tg_node (*build)(tg_graph *, tg_node, tg_node);
    double (*ref)(double, double);
    unsigned ulps;
    int npts;
    double pts[5][2];
} binary_case;

static const binary_case binary_cases[] = {
    { "add", tg_add, ref_add, 0, 4, { { 1.5, -2.25 }, { -3.7, 0.4 }, { 1e3, 7e-3 }, { 0.1, 10 } } },
    { "sub", tg_sub, ref_sub, 0, 4, { { 1.5, -2.25 }, { -3.7, 0.4 }, { 1e3, 7e-3 }, { 0.1, 10 } } },
    { "mul", tg_mul, ref_mul, 0, 4, { { 1.5, -2.25 }, { -3.7, 0.4 }, { 1e3, 7e-3 }, { 0.1, 10 } } },
    { "div", tg_div, ref_div, 2, 4, { { 1.5, -2.25 }, { -3.7, 0.4 }, { 1e3, 7e-3 }, { 0.1, 10 } } },
    { "pow", tg_pow, ref_pow, 1, 5, { { 1.5, 2.5 }, { 0.3, -1.7 }, { 7, 0.5 }, { 2, 10 }, { 0.9, 3 } } },
};
#define N_BINARY (sizeof binary_cases / sizeof binary_cases[0])

static double fd_binary(double (*f)(double, double), double a, double b, int wrt_b)
{
    double x = wrt_b ? b : a;
    double h = 1e-6 * fmax(1.0, fabs(x));
    volatile double hi = x + h, lo = x - h;
    double fhi = wrt_b ? f(a, hi) : f(hi, b);
    double flo = wrt_b ? f(a, lo) : f(lo, b);
    return (fhi - flo) / (hi - lo);
}

START_TEST(test_binary_value_and_derivatives)
{
    const binary_case *c = &binary_cases[_i];
    for (int k = 0; k < c->npts; k++) {
        double a0 = c->pts[k][0], b0 = c->pts[k][1];
        tg_graph *g = tg_graph_new();
        tg_node a = tg_var(g, "a", a0);
        tg_node b = tg_var(g, "b", b0);
        tg_node y = c->build(g, a, b);
        ck_assert_graph_ok(g);
        char what[80];
        snprintf(what, sizeof what, "%s(%.17g, %.17g) value", c->name, a0, b0);
        ck_assert_ulps(tg_value(g, y), c->ref(a0, b0), c->ulps, what);

        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        snprintf(what, sizeof what, "d %s/da", c->name);
        assert_fd(tg_grad(g, a), fd_binary(c->ref, a0, b0, 0), what, a0, b0);
        snprintf(what, sizeof what, "d %s/db", c->name);
        assert_fd(tg_grad(g, b), fd_binary(c->ref, a0, b0, 1), what, a0, b0);
        tg_graph_free(g);
    }
}
END_TEST

/* The primitives' tg_node_partials agree with what backward leaves in the
 * inputs of a single node. */
START_TEST(test_partials_match_backward)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 1.7), b = tg_var(g, "b", -0.6);
    tg_node ops[] = { tg_add(g, a, b), tg_mul(g, a, b), tg_pow(g, a, b), tg_exp(g, b),
                      tg_recip(g, b), tg_log(g, a), tg_tanh(g, b), tg_sigmoid(g, b),
                      tg_relu(g, a), tg_powc(g, a, 2.5) };
    ck_assert_graph_ok(g);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        double d[2] = { NAN, NAN };
        int k = tg_node_partials(g, ops[i], d);
        tg_node in[2];
        ck_assert_int_eq(tg_node_inputs(g, ops[i], in), 2 - (i >= 3 && i <= 8));
        ck_assert_int_ge(k, 1);
        ck_assert_int_eq(tg_backward(g, ops[i]), TG_OK);
        if (k == 2 && in[0].id != in[1].id) {
            ck_assert_double_eq(tg_grad(g, in[0]), d[0]);
            ck_assert_double_eq(tg_grad(g, in[1]), d[1]);
        } else {
            ck_assert_double_eq(tg_grad(g, in[0]), d[0]);
        }
    }
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ compositions */

/* f(x, y) = log(x y) + tanh(x) / y^2 */
static double comp1_ref(const double *v)
{
    return log(v[0] * v[1]) + tanh(v[0]) / (v[1] * v[1]);
}

static tg_node comp1_build(tg_graph *g, const tg_node *v)
{
    return tg_add(g, tg_log(g, tg_mul(g, v[0], v[1])),
                  tg_div(g, tg_tanh(g, v[0]), tg_powc(g, v[1], 2.0)));
}

/* f(x, y, z) = sigmoid(x y + z) exp(-z) - relu(x - y) / z + x^y */
static double comp2_ref(const double *v)
{
    double x = v[0], y = v[1], z = v[2];
    double s = 1.0 / (1.0 + exp(-(x * y + z)));
    double r = x - y > 0 ? x - y : 0.0;
    return s * exp(-z) - r / z + pow(x, y);
}

static tg_node comp2_build(tg_graph *g, const tg_node *v)
{
    tg_node s = tg_sigmoid(g, tg_add(g, tg_mul(g, v[0], v[1]), v[2]));
    tg_node t = tg_mul(g, s, tg_exp(g, tg_neg(g, v[2])));
    tg_node r = tg_div(g, tg_relu(g, tg_sub(g, v[0], v[1])), v[2]);
    return tg_add(g, tg_sub(g, t, r), tg_pow(g, v[0], v[1]));
}

/* f(x) = x sigmoid(x) + tanh(x^2) - 1/(1 + e^x): x used five times */
static double comp3_ref(const double *v)
{
    double x = v[0];
    return x / (1.0 + exp(-x)) + tanh(x * x) - 1.0 / (1.0 + exp(x));
}

static tg_node comp3_build(tg_graph *g, const tg_node *v)
{
    tg_node x = v[0];
    tg_node one = tg_const(g, 1.0);
    tg_node a = tg_mul(g, x, tg_sigmoid_decomposed(g, x));
    tg_node b = tg_tanh(g, tg_mul(g, x, x));
    tg_node c = tg_recip(g, tg_add(g, one, tg_exp(g, x)));
    return tg_sub(g, tg_add(g, a, b), c);
}

typedef struct comp_case {
    const char *name;
    double (*ref)(const double *);
    tg_node (*build)(tg_graph *, const tg_node *);
    size_t nvars;
    int npts;
    double pts[4][3];
} comp_case;

static const comp_case comp_cases[] = {
    { "log(xy)+tanh(x)/y^2", comp1_ref, comp1_build, 2, 4,
      { { 0.7, 1.3 }, { 2.0, 0.5 }, { -1.5, -2.0 }, { 3.0, 4.0 } } },
    { "sigmoid(xy+z)e^-z-relu(x-y)/z+x^y", comp2_ref, comp2_build, 3, 3,
      { { 1.2, 0.3, 0.8 }, { 2.5, -1.0, 1.7 }, { 0.6, 1.5, -0.9 } } },
    { "x sigmoid(x)+tanh(x^2)-1/(1+e^x)", comp3_ref, comp3_build, 1, 4,
      { { -2 }, { -0.3 }, { 0.8 }, { 2 } } },
};
#define N_COMP (sizeof comp_cases / sizeof comp_cases[0])

START_TEST(test_composition)
{
    const comp_case *c = &comp_cases[_i];
    for (int k = 0; k < c->npts; k++) {
        const double *p = c->pts[k];
        tg_graph *g = tg_graph_new();
        tg_node v[3];
        for (size_t i = 0; i < c->nvars; i++) v[i] = tg_var(g, NULL, p[i]);
        tg_node y = c->build(g, v);
        ck_assert_graph_ok(g);
        char what[96];
        snprintf(what, sizeof what, "%s at point %d value", c->name, k);
        ck_assert_rel(tg_value(g, y), c->ref(p), 1e-14, what);
        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        for (size_t i = 0; i < c->nvars; i++) {
            snprintf(what, sizeof what, "%s d/dv%zu", c->name, i);
            assert_fd(tg_grad(g, v[i]), central_difference(c->ref, p, c->nvars, i), what,
                      p[0], p[1]);
        }
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------------------ reuse and zeroing */

START_TEST(test_reuse_accumulates)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 3.0);
    tg_node b = tg_add(g, a, a);
    tg_node c = tg_add(g, b, b);
    ck_assert_int_eq(tg_backward(g, c), TG_OK);
    ck_assert_double_eq(tg_value(g, c), 12.0);
    ck_assert_double_eq(tg_grad(g, a), 4.0);
    ck_assert_double_eq(tg_grad(g, b), 2.0);

    tg_node cube = tg_mul(g, tg_mul(g, a, a), a);           /* d a^3 = 3 a^2 */
    ck_assert_int_eq(tg_backward(g, cube), TG_OK);
    ck_assert_double_eq(tg_grad(g, a), 27.0);

    tg_node aa = tg_pow(g, a, a);                            /* d a^a = a^a (ln a + 1) */
    ck_assert_int_eq(tg_backward(g, aa), TG_OK);
    ck_assert_rel(tg_grad(g, a), 27.0L * (logl(3.0L) + 1.0L), 1e-15, "d a^a/da at 3");
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_backward_twice_same_grads)
{
    tg_graph *g = tg_graph_new();
    tg_node v[2] = { tg_var(g, "x", 0.7), tg_var(g, "y", 1.3) };
    tg_node f = comp1_build(g, v);
    ck_assert_int_eq(tg_backward(g, f), TG_OK);
    size_t n = tg_graph_size(g);
    double first[64];
    ck_assert_uint_le(n, 64);
    for (size_t i = 0; i < n; i++) first[i] = tg_grad(g, tg_node_at(g, i));
    ck_assert_int_eq(tg_backward(g, f), TG_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(tg_grad(g, tg_node_at(g, i)) == first[i],
                      "node %zu: second backward %.17g, first %.17g", i,
                      tg_grad(g, tg_node_at(g, i)), first[i]);
    tg_graph_free(g);
}
END_TEST

/* Every adjoint is zeroed, not only the leaves': intermediates and nodes
 * recorded after the output read 0 after a backward from another output. */
START_TEST(test_backward_other_output)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.5);
    tg_node sq = tg_mul(g, x, x);
    tg_node three = tg_const(g, 3.0);
    tg_node lin = tg_mul(g, three, x);

    ck_assert_int_eq(tg_backward(g, sq), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 5.0);
    ck_assert_double_eq(tg_grad(g, lin), 0.0);

    ck_assert_int_eq(tg_backward(g, lin), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 3.0);
    ck_assert_double_eq(tg_grad(g, sq), 0.0);
    ck_assert_double_eq(tg_grad(g, lin), 1.0);

    ck_assert_int_eq(tg_backward(g, sq), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 5.0);
    ck_assert_double_eq(tg_grad(g, lin), 0.0);
    ck_assert_double_eq(tg_grad(g, three), 0.0);

    /* A node recorded after a backward starts with a zero adjoint. */
    tg_node z = tg_mul(g, sq, x);
    ck_assert_double_eq(tg_grad(g, z), 0.0);
    ck_assert_int_eq(tg_backward(g, z), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 3 * 2.5 * 2.5);
    ck_assert_double_eq(tg_grad(g, sq), 2.5);
    ck_assert_double_eq(tg_grad(g, lin), 0.0);

    /* Backward from an intermediate leaves the later nodes at 0. */
    ck_assert_int_eq(tg_backward(g, sq), TG_OK);
    ck_assert_double_eq(tg_grad(g, z), 0.0);
    ck_assert_double_eq(tg_grad(g, x), 5.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* Nodes that do not lead to the output take no part in its gradient, even
 * when their values are infinite: a zero adjoint times an infinite local
 * derivative must not turn into NaN in their inputs. */
START_TEST(test_unrelated_infinite_nodes)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    tg_node z = tg_var(g, "z", 0.0);
    tg_node inf = tg_recip(g, z);              /* 1/0 = inf, d/dz = -inf */
    tg_node side = tg_mul(g, x, inf);          /* d/dx = inf */
    tg_node y = tg_mul(g, x, x);
    ck_assert(isinf(tg_value(g, side)));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 4.0);
    ck_assert_double_eq(tg_grad(g, z), 0.0);
    ck_assert_double_eq(tg_grad(g, side), 0.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* On the path, IEEE arithmetic is kept even where an adjoint is exactly 0:
 * an inactive relu above a node whose local derivative is infinite still
 * gives 0 x inf = NaN below it.  Each way such a node can appear is tried:
 * recorded with a finite value but an infinite derivative (sqrt and log at
 * the edge of their domain), made so by a replay after recording without
 * one, and rewound away. */
static tg_node dead_relu_above(tg_graph *g, tg_node p)
{
    /* y = relu(-p): p >= 0 keeps the relu inactive, so dy/dp = 0 exactly */
    return tg_relu(g, tg_mul(g, p, tg_const(g, -1.0)));
}

START_TEST(test_zero_adjoint_meets_infinite_derivative)
{
    /* sqrt at 0: value 0, derivative +inf */
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.0);
    tg_node y = dead_relu_above(g, tg_powc(g, x, 0.5));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_msg(isnan(tg_grad(g, x)), "d relu(-sqrt x)/dx at 0: %g, expected NaN", tg_grad(g, x));
    tg_graph_free(g);

    /* log of the smallest subnormal: value -744.4, derivative 1/a overflows */
    g = tg_graph_new();
    x = tg_var(g, "x", 4.9406564584124654e-324);
    tg_node l = tg_log(g, x);
    ck_assert(isfinite(tg_value(g, l)));
    y = dead_relu_above(g, tg_mul(g, l, tg_const(g, -1.0)));  /* -log x > 0 */
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_msg(isnan(tg_grad(g, x)), "d relu(log x)/dx at 5e-324: %g, expected NaN", tg_grad(g, x));
    tg_graph_free(g);

    /* recorded at x = 4, where all is finite (the gradient is then 0),
     * replayed at x = 0 */
    g = tg_graph_new();
    x = tg_var(g, "x", 4.0);
    y = dead_relu_above(g, tg_powc(g, x, 0.5));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    ck_assert_int_eq(tg_set_value(g, x, 0.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_msg(isnan(tg_grad(g, x)), "after replay at 0: %g, expected NaN", tg_grad(g, x));
    /* and back at 4: finite again */
    ck_assert_int_eq(tg_set_value(g, x, 4.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    tg_graph_free(g);

    /* the node rewound away takes its infinity with it */
    g = tg_graph_new();
    x = tg_var(g, "x", 0.0);
    size_t mark = tg_graph_mark(g);
    y = dead_relu_above(g, tg_powc(g, x, 0.5));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert(isnan(tg_grad(g, x)));
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    y = dead_relu_above(g, tg_mul(g, x, x));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* The path is found only when a zero adjoint meets a derivative that is
 * not finite; once found it serves the rest of the sweep, so nodes below
 * that point still tell on-path from off-path.  Here, in one sweep: an
 * off-path sqrt at 0 recorded before everything else, on-path sqrt and
 * custom nodes at 0 under an inactive relu, and an off-path custom node
 * with an infinite partial.  The expected NaNs and zeros are those of the
 * chain rule with IEEE 0 x inf on the path and nothing off it. */
static double inf_slope_value(void *ctx, const double *x)
{
    (void)ctx;
    return x[0] * x[1];
}
static void inf_slope_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = x[1] == 0.0 ? INFINITY : x[1];
    d[1] = x[0];
}

START_TEST(test_zero_adjoint_path_found_once)
{
    const tg_custom_op op = { "infslope", 2, inf_slope_value, inf_slope_partials, NULL, NULL };
    for (int checking = 0; checking < 2; checking++) {
        tg_graph *g = tg_graph_new();
        tg_graph_set_checking(g, checking);
        tg_node off = tg_var(g, "off", 0.0), on = tg_var(g, "on", 0.0);
        tg_node u = tg_var(g, "u", 2.0), v = tg_var(g, "v", 0.0), w = tg_var(g, "w", 3.0);
        tg_node side = tg_powc(g, off, 0.5);                       /* off the path: sqrt'(0) = inf */
        tg_node c_off = tg_custom(g, &op, (tg_node[]){ w, v });      /* off the path, d/dw = inf */
        tg_node c_on = tg_custom(g, &op, (tg_node[]){ u, v });       /* on it, under the dead relu */
        tg_node dead = dead_relu_above(g, tg_add(g, tg_powc(g, on, 0.5), c_on));
        tg_node y = tg_add(g, dead, tg_mul(g, w, w));
        ck_assert(!tg_is_none(side) && !tg_is_none(c_off));
        tg_status st = tg_backward(g, y);
        if (checking) {
            /* checking mode stops at the first non-finite adjoint */
            ck_assert_int_eq(st, TG_ERR_DOMAIN);
            tg_graph_free(g);
            continue;
        }
        ck_assert_int_eq(st, TG_OK);
        ck_assert_msg(isnan(tg_grad(g, on)), "on: %g, expected NaN", tg_grad(g, on));
        ck_assert_msg(isnan(tg_grad(g, u)), "u: %g, expected NaN", tg_grad(g, u));
        ck_assert_double_eq(tg_grad(g, v), 0.0);   /* 0 x 2, finite */
        ck_assert_double_eq(tg_grad(g, off), 0.0); /* off the path */
        ck_assert_double_eq(tg_grad(g, w), 6.0);   /* only through w*w */

        /* a seeded sweep with weight 0 on the dead output: the same path */
        tg_node ys[2] = { dead, y };
        tg_node xs[4] = { off, on, u, w };
        double wj[4];
        ck_assert_int_eq(tg_vjp(g, 2, ys, (double[]){ 0.0, 0.0 }, 4, xs, wj), TG_OK);
        ck_assert_double_eq(wj[0], 0.0);
        ck_assert_msg(isnan(wj[1]) && isnan(wj[2]), "seeded with 0: %g %g, expected NaN", wj[1], wj[2]);
        ck_assert_double_eq(wj[3], 0.0);
        tg_graph_free(g);
    }
}
END_TEST

/* Checking mode sweeps with its own loop; where every value and derivative
 * is finite it gives the plain sweep's gradients bit for bit: random graphs
 * in which relus cut off part of the flow. */
START_TEST(test_checking_sweep_same_gradients)
{
    for (unsigned seed = 1; seed <= 20; seed++) {
        double grads[2][16];
        for (int checking = 0; checking < 2; checking++) {
            tg_graph *g = tg_graph_new();
            tg_graph_set_checking(g, checking);
            uint64_t r = seed;
            tg_node leaf[16], node[64];
            for (int i = 0; i < 16; i++) {
                leaf[i] = tg_var(g, NULL, (double)rng_below(&r, 2001) / 500.0 - 2.0);
                node[i] = leaf[i];
            }
            for (int i = 16; i < 64; i++) {
                tg_node a = node[rng_below(&r, (uint64_t)i)], b = node[rng_below(&r, (uint64_t)i)];
                switch (rng_below(&r, 5)) {
                case 0: node[i] = tg_add(g, a, b); break;
                case 1: node[i] = tg_mul(g, a, b); break;
                case 2: node[i] = tg_relu(g, a); break;
                case 3: node[i] = tg_tanh(g, a); break;
                default: node[i] = tg_relu(g, tg_sub(g, a, b)); break;
                }
            }
            ck_assert_int_eq(tg_backward(g, node[63]), TG_OK);
            for (int i = 0; i < 16; i++) grads[checking][i] = tg_grad(g, leaf[i]);
            ck_assert_graph_ok(g);
            tg_graph_free(g);
        }
        for (int i = 0; i < 16; i++)
            ck_assert_msg(grads[0][i] == grads[1][i], "seed %u leaf %d: %.17g vs %.17g", seed, i,
                          grads[0][i], grads[1][i]);
    }
}
END_TEST

/* ------------------------------------------------------------ accuracy */

static void sigmoid_at(double x0, double *value, double *deriv)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, NULL, x0);
    tg_node y = tg_sigmoid(g, x);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    *value = tg_value(g, y);
    *deriv = tg_grad(g, x);
    double d[2];
    ck_assert_int_eq(tg_node_partials(g, y, d), 1);
    ck_assert_msg(d[0] == *deriv || (isnan(d[0]) && isnan(*deriv)),
                  "sigmoid(%.17g): partial %.17g but gradient %.17g", x0, d[0], *deriv);
    tg_graph_free(g);
}

/* sigmoid(x) and sigmoid'(x) = 1 / (4 cosh^2(x/2)) in long double. */
static void sigmoid_check(double x0)
{
    double v, d;
    sigmoid_at(x0, &v, &d);
    long double xl = x0;
    long double vref = 1.0L / (1.0L + expl(-xl));
    long double ch = coshl(xl / 2);
    long double dref = 0.25L / (ch * ch);
    char what[64];
    snprintf(what, sizeof what, "sigmoid(%.17g)", x0);
    ck_assert_ulps(v, (double)vref, 4, what);
    snprintf(what, sizeof what, "sigmoid'(%.17g)", x0);
    if (dref >= DBL_MIN) ck_assert_rel(d, dref, 1e-13, what);
    else ck_assert_ulps(d, (double)dref, 4, what);
}

START_TEST(test_sigmoid_extremes)
{
    static const double special[] = { 0, 1e-300, 36.7, 37, 40, 100, 700, 708.3, 708.5,
                                      709.8, 710, 744, 745, -36.7, -40, -100, -700,
                                      -708.5, -745, 1e-8, -1e-8 };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) sigmoid_check(special[i]);
    for (double x = -745; x <= 745; x += 0.37) sigmoid_check(x);

    /* Past the range the true values round to 0 and 1 and the derivative to 0. */
    static const double far[] = { 746, 800, 1e300, INFINITY };
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        double v, d;
        sigmoid_at(far[i], &v, &d);
        ck_assert_double_eq(v, 1.0);
        ck_assert_double_eq(d, 0.0);
        sigmoid_at(-far[i], &v, &d);
        ck_assert_double_eq(v, 0.0);
        ck_assert_double_eq(d, 0.0);
    }
}
END_TEST

/* tanh'(x) = 1 / cosh^2(x), accurate where 1 - tanh^2 would cancel. */
START_TEST(test_tanh_extremes)
{
    static const double xs[] = { 0.5, 5, 10, 19, 20, 25, 50, 100, 300, 354, 355, 360, 370,
                                 -0.5, -20, -50, -300, -354, -360 };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x0 = xs[i];
        tg_graph *g = tg_graph_new();
        tg_node x = tg_var(g, NULL, x0);
        tg_node y = tg_tanh(g, x);
        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        long double ch = coshl((long double)x0);
        long double dref = 1.0L / (ch * ch);
        char what[64];
        snprintf(what, sizeof what, "tanh(%.17g)", x0);
        ck_assert_ulps(tg_value(g, y), (double)tanhl((long double)x0), 2, what);
        snprintf(what, sizeof what, "tanh'(%.17g)", x0);
        if (dref >= DBL_MIN) ck_assert_rel(tg_grad(g, x), dref, 1e-13, what);
        else ck_assert_ulps(tg_grad(g, x), (double)dref, 4, what);
        tg_graph_free(g);
    }
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, NULL, 800);
    ck_assert_int_eq(tg_backward(g, tg_tanh(g, x)), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    tg_graph_free(g);
}
END_TEST

/* Local derivative of a unary node, read back two ways. */
static double unary_partial(tg_node (*build)(tg_graph *, tg_node), double x0)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, NULL, x0);
    tg_node y = build(g, x);
    double d[2];
    ck_assert_int_eq(tg_node_partials(g, y, d), 1);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_msg(tg_grad(g, x) == d[0], "partial %.17g, gradient %.17g", d[0], tg_grad(g, x));
    tg_graph_free(g);
    return d[0];
}

START_TEST(test_exp_log_recip_extremes)
{
    static const double ex[] = { -745, -700, -1, 0.5, 300, 700, 709.7 };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "d exp/dx at %.17g", ex[i]);
        ck_assert_ulps(unary_partial(tg_exp, ex[i]), (double)expl(ex[i]), 2, what);
    }
    static const double lx[] = { DBL_MIN, 1e-300, 1e-10, 0.3, 7, 1e300, DBL_MAX };
    for (size_t i = 0; i < sizeof lx / sizeof lx[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "d log/dx at %.17g", lx[i]);
        ck_assert_ulps(unary_partial(tg_log, lx[i]), (double)(1.0L / lx[i]), 1, what);
    }
    static const double rx[] = { 1e-154, 3e-100, -0.7, 2, 1e100, -1e153, 1e154 };
    for (size_t i = 0; i < sizeof rx / sizeof rx[0]; i++) {
        char what[64];
        long double r = rx[i];
        snprintf(what, sizeof what, "d recip/dx at %.17g", rx[i]);
        ck_assert_ulps(unary_partial(tg_recip, rx[i]), (double)(-1.0L / (r * r)), 4, what);
    }
    /* Where the true derivative overflows, the IEEE result is -inf. */
    ck_assert(isinf(unary_partial(tg_recip, 1e-160)));
}
END_TEST

START_TEST(test_pow_extremes)
{
    static const double ab[][2] = { { 1e10, 30 }, { 0.5, 1000 }, { 2, -1020 }, { 3.7, 2.5 },
                                    { 0.01, -150 }, { 1.0000001, 6e9 }, { 1e-300, 0.5 } };
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
        double a0 = ab[i][0], b0 = ab[i][1];
        long double al = a0, bl = b0;
        tg_graph *g = tg_graph_new();
        tg_node a = tg_var(g, NULL, a0), b = tg_var(g, NULL, b0);
        tg_node y = tg_pow(g, a, b);
        double d[2];
        ck_assert_int_eq(tg_node_partials(g, y, d), 2);
        char what[80];
        snprintf(what, sizeof what, "pow(%.17g, %.17g)", a0, b0);
        ck_assert_ulps(tg_value(g, y), (double)powl(al, bl), 2, what);
        snprintf(what, sizeof what, "d pow/da at (%.17g, %.17g)", a0, b0);
        ck_assert_ulps(d[0], (double)(bl * powl(al, bl - 1)), 8, what);
        snprintf(what, sizeof what, "d pow/db at (%.17g, %.17g)", a0, b0);
        ck_assert_ulps(d[1], (double)(powl(al, bl) * logl(al)), 8, what);

        /* The same through tg_powc, whose constant exponent takes no gradient. */
        tg_node yc = tg_powc(g, a, b0);
        ck_assert_int_eq(tg_backward(g, yc), TG_OK);
        ck_assert_double_eq(tg_grad(g, a), d[0]);
        ck_assert_double_eq(tg_grad(g, b), 0.0);
        ck_assert_graph_ok(g);
        tg_graph_free(g);
    }
    /* 0^b for b > 0 is flat in b; x^0 is flat in x, even at 0. */
    tg_graph *g = tg_graph_new();
    tg_node z = tg_var(g, NULL, 0.0);
    double d[2];
    ck_assert_int_eq(tg_node_partials(g, tg_pow(g, z, tg_const(g, 2.0)), d), 2);
    ck_assert_double_eq(d[0], 0.0);
    ck_assert_double_eq(d[1], 0.0);
    ck_assert_int_eq(tg_node_partials(g, tg_powc(g, z, 0.0), d), 2);
    ck_assert_double_eq(d[0], 0.0);
    tg_graph_free(g);
}
END_TEST

/* The book's sigmoid (x*-1 -> exp -> +1 -> 1/x) and the fused node agree
 * to a few ulps, in value and derivative. */
START_TEST(test_sigmoid_decomposed_vs_fused)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.0);
    size_t mark = tg_graph_mark(g);
    for (int i = -2999; i <= 2999; i++) {
        double x0 = i * 0.01 - 0.001 * (i % 7);
        ck_assert_int_eq(tg_set_value(g, x, x0), TG_OK);
        tg_node f = tg_sigmoid(g, x);
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        double fv = tg_value(g, f), fd = tg_grad(g, x);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);

        tg_node s = tg_sigmoid_decomposed(g, x);
        ck_assert_int_eq(tg_backward(g, s), TG_OK);
        char what[64];
        snprintf(what, sizeof what, "decomposed vs fused sigmoid(%.17g)", x0);
        ck_assert_ulps(tg_value(g, s), fv, 8, what);
        snprintf(what, sizeof what, "decomposed vs fused sigmoid'(%.17g)", x0);
        ck_assert_ulps(tg_grad(g, x), fd, 8, what);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    }
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* The decomposed sigmoid really is four primitive nodes, as in the book. */
START_TEST(test_sigmoid_decomposed_shape)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.5);
    size_t before = tg_graph_size(g);
    tg_node s = tg_sigmoid_decomposed(g, x);
    const char *want[] = { "mul", "exp", "add", "recip" };
    size_t found = 0;
    for (size_t i = before; i < tg_graph_size(g); i++) {
        const char *op = tg_node_op(g, tg_node_at(g, i));
        if (strcmp(op, "const") == 0) continue;
        ck_assert_uint_lt(found, 4);
        ck_assert_str_eq(op, want[found]);
        found++;
    }
    ck_assert_uint_eq(found, 4);
    ck_assert_str_eq(tg_node_op(g, s), "recip");
    ck_assert_uint_eq(tg_node_at(g, tg_graph_size(g) - 1).id, s.id);
    tg_graph_free(g);
}
END_TEST

/* Its constants -1 and 1 are recorded once and shared by later calls,
 * while they are alive: after a rewind below them, they are recorded
 * again, and the values stay right. */
START_TEST(test_sigmoid_decomposed_shares_constants)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.5);
    size_t mark = tg_graph_mark(g);
    tg_node s1 = tg_sigmoid_decomposed(g, x);
    ck_assert_uint_eq(tg_graph_size(g) - mark, 6);          /* 4 ops, 2 constants */
    size_t second = tg_graph_size(g);
    tg_node s2 = tg_sigmoid_decomposed(g, s1);
    ck_assert_uint_eq(tg_graph_size(g) - second, 4);        /* the ops alone */
    tg_node in[2];
    ck_assert_int_eq(tg_node_inputs(g, tg_node_at(g, second), in), 2);
    ck_assert_str_eq(tg_node_op(g, in[1]), "const");
    ck_assert_double_eq(tg_value(g, in[1]), -1.0);
    ck_assert_uint_lt(in[1].id, second);
    double want = 1.0 / (1.0 + exp(-1.0 / (1.0 + exp(-0.5))));
    ck_assert_ulps(tg_value(g, s2), want, 4, "sigmoid(sigmoid(0.5))");

    /* a rewind drops them; the next call records them again */
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    tg_const(g, 7.0);  /* takes the id the first -1 had */
    size_t after = tg_graph_size(g);
    tg_node s3 = tg_sigmoid_decomposed(g, x);
    ck_assert_uint_eq(tg_graph_size(g) - after, 6);
    ck_assert_ulps(tg_value(g, s3), 1.0 / (1.0 + exp(-0.5)), 4, "sigmoid(0.5) after a rewind");
    ck_assert_int_eq(tg_backward(g, s3), TG_OK);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* Its common case is recorded in one go; the tape is the one the four
 * builders record, node for node and bit for bit.  Checking mode takes
 * the builders' way, and so does a tape with room for fewer than six
 * nodes, or an input from before a rewind. */
static void sigmoid_chain(tg_graph *g, tg_node p)
{
    size_t mark = tg_graph_mark(g);
    for (int round = 0; round < 3; round++) {
        tg_node acc = p;
        for (int i = 0; i < 40; i++) {
            double x = (i % 2 ? 1.0 : -1.0) * 0.1 * i + 0.37 * round;
            tg_node s = tg_sigmoid_decomposed(g, tg_mul(g, acc, tg_const(g, x)));
            acc = tg_add(g, acc, tg_sigmoid_decomposed(g, s));
        }
        tg_backward(g, acc);
        if (round < 2) tg_graph_rewind(g, mark);
    }
}

START_TEST(test_sigmoid_decomposed_one_go)
{
    tg_graph *g = tg_graph_new(), *h = tg_graph_new();
    tg_node p = tg_var(g, "p", 0.8), q = tg_var(h, "p", 0.8);
    tg_graph_set_checking(h, 1);
    sigmoid_chain(g, p);
    sigmoid_chain(h, q);
    ck_assert_graph_ok(g);
    ck_assert_graph_ok(h);
    ck_assert_uint_eq(tg_graph_size(g), tg_graph_size(h));
    for (size_t i = 0; i < tg_graph_size(g); i++) {
        tg_node a = tg_node_at(g, i), b = tg_node_at(h, i);
        ck_assert_str_eq(tg_node_op(g, a), tg_node_op(h, b));
        tg_node ia[2], ib[2];
        int na = tg_node_inputs(g, a, ia), nb = tg_node_inputs(h, b, ib);
        ck_assert_int_eq(na, nb);
        for (int k = 0; k < na; k++) ck_assert_uint_eq(ia[k].id, ib[k].id);
        double va = tg_value(g, a), vb = tg_value(h, b), ga = tg_grad(g, a), gb = tg_grad(h, b);
        ck_assert_mem_eq(&va, &vb, sizeof va);
        ck_assert_mem_eq(&ga, &gb, sizeof ga);
    }
    tg_graph_free(g);
    tg_graph_free(h);
}
END_TEST

START_TEST(test_bytes_per_node)
{
    ck_assert_uint_gt(tg_graph_bytes_per_node(), 0);
    ck_assert_uint_le(tg_graph_bytes_per_node(), 32);
}
END_TEST

/* tg_backward from each kind of output, through each way in: the first
 * sweep, a repeated one (the last sweep's adjoints to clear), a handle of
 * the first generation after a rewind, checking mode.  The outputs: a
 * leading leaf past the first 64 nodes (the sweep's bits for [lead, out]
 * are then none), a leaf recorded after an op, and a product.  The
 * gradients are the closed forms: 1 for out itself, the other factor for
 * a product's inputs, 0 elsewhere. */
START_TEST(test_backward_every_way_in)
{
    enum { LEAVES = 200, A = 150, B = 199 };
    for (int state = 0; state < 4; state++) {
        tg_graph *g = tg_graph_new();
        tg_node x[LEAVES];
        for (int i = 0; i < LEAVES; i++) x[i] = tg_var(g, NULL, 0.5 + i);
        tg_node y = tg_mul(g, x[A], x[B]);
        tg_node z = tg_var(g, NULL, 7.0);
        if (state == 1) ck_assert_int_eq(tg_backward(g, y), TG_OK);
        if (state == 2) {
            size_t mark = tg_graph_mark(g);
            tg_add(g, y, z);
            ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        }
        if (state == 3) tg_graph_set_checking(g, 1);
        const tg_node outs[] = { x[A], z, y, x[3], y };
        for (size_t o = 0; o < sizeof outs / sizeof outs[0]; o++) {
            tg_node out = outs[o];
            ck_assert_int_eq(tg_backward(g, out), TG_OK);
            for (int i = 0; i < LEAVES; i++) {
                double want = 0.0;
                if (out.id == y.id) want = i == A ? 0.5 + B : i == B ? 0.5 + A : 0.0;
                else if (out.id == x[i].id) want = 1.0;
                ck_assert_msg(tg_grad(g, x[i]) == want, "state %d, out %zu: d/dx[%d] = %g, want %g",
                              state, o, i, tg_grad(g, x[i]), want);
            }
            ck_assert_double_eq(tg_grad(g, z), out.id == z.id ? 1.0 : 0.0);
            ck_assert_double_eq(tg_grad(g, y), out.id == y.id ? 1.0 : 0.0);
        }
        ck_assert_int_eq(tg_graph_status(g), TG_OK);
        tg_graph_free(g);
    }
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("engine ops");
    TCase *tc = tcase_create("finite differences");
    tcase_add_loop_test(tc, test_unary_value_and_derivative, 0, (int)N_UNARY);
    tcase_add_loop_test(tc, test_binary_value_and_derivatives, 0, (int)N_BINARY);
    tcase_add_test(tc, test_partials_match_backward);
    tcase_add_loop_test(tc, test_composition, 0, (int)N_COMP);
    suite_add_tcase(s, tc);

    tc = tcase_create("reuse and zeroing");
    tcase_add_test(tc, test_reuse_accumulates);
    tcase_add_test(tc, test_backward_twice_same_grads);
    tcase_add_test(tc, test_backward_other_output);
    tcase_add_test(tc, test_unrelated_infinite_nodes);
    tcase_add_test(tc, test_zero_adjoint_meets_infinite_derivative);
    tcase_add_test(tc, test_zero_adjoint_path_found_once);
    tcase_add_test(tc, test_checking_sweep_same_gradients);
    tcase_add_test(tc, test_backward_every_way_in);
    suite_add_tcase(s, tc);

    tc = tcase_create("accuracy");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_sigmoid_extremes);
    tcase_add_test(tc, test_tanh_extremes);
    tcase_add_test(tc, test_exp_log_recip_extremes);
    tcase_add_test(tc, test_pow_extremes);
    tcase_add_test(tc, test_sigmoid_decomposed_vs_fused);
    tcase_add_test(tc, test_sigmoid_decomposed_shape);
    tcase_add_test(tc, test_sigmoid_decomposed_shares_constants);
    tcase_add_test(tc, test_sigmoid_decomposed_one_go);
    tcase_add_test(tc, test_bytes_per_node);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(ops_suite());
}
