/*
 * tg_check_partials: a wrong local derivative planted in the middle of an
 * expression is found at the node that has it, named with its op, input
 * and both numbers; random graphs of every built-in elementwise op, scalar
 * and tensor, inside the ops' domains, pass and record nothing; tensor
 * nodes are counted like scalar ones; the documented skips (kinks, values
 * that are not finite) hold; a negative or NaN rtol is refused.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad/extend.h>

#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "helpers.h"
#include "rng.h"
#include "runner.h"

/* ------------------------------------------------------------ custom ops */

/* sin with a partial of cos x + 1e-3 (bad_sin), or cos x (good_sin). */
static double sin_value(void *ctx, const double *x) { (void)ctx; return sin(x[0]); }
static void bad_sin_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = cos(x[0]) + 1e-3;
}
static void good_sin_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = cos(x[0]);
}
static const tg_custom_op bad_sin = { "bad_sin", 1, sin_value, bad_sin_partials, NULL, NULL };
static const tg_custom_op good_sin = { "good_sin", 1, sin_value, good_sin_partials, NULL, NULL };

/* x0 x1 x2 with d/dx1 off by a factor 1.01 in its second input. */
static double prod3_value(void *ctx, const double *x) { (void)ctx; return x[0] * x[1] * x[2]; }
static void prod3_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = x[1] * x[2];
    d[1] = 1.01 * x[0] * x[2];
    d[2] = x[0] * x[1];
}
static const tg_custom_op bad_prod3 = { "bad_prod3", 3, prod3_value, prod3_partials, NULL, NULL };

/* The message's two numbers: the local partial and the differences. */
static void parse_numbers(const char *msg, double *partial, double *fd)
{
    const char *p = strstr(msg, "local partial ");
    const char *q = strstr(msg, ", central differences ");
    ck_assert_msg(p && q, "no numbers in \"%s\"", msg);
    *partial = strtod(p + strlen("local partial "), NULL);
    *fd = strtod(q + strlen(", central differences "), NULL);
}

/* The values of every node of a scalar tape. */
static void values_of(const tg_graph *g, double *v, size_t n)
{
    for (size_t i = 0; i < n; i++) v[i] = tg_value(g, tg_node_at(g, i));
}

START_TEST(a_wrong_partial_is_named_at_its_node)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.7), y = tg_var(g, "y", -1.3);
    /* before: x y + tanh(x) and friends */
    tg_node a = tg_add(g, tg_mul(g, x, y), tg_tanh(g, x));
    tg_node b = tg_div(g, tg_exp(g, a), tg_add(g, y, tg_const(g, 3.0)));   /* one div node */
    tg_node good = tg_custom(g, &good_sin, &b);
    tg_node bad = tg_custom(g, &bad_sin, &b);
    /* after: the bad node's output used by more ops */
    tg_node c = tg_mul(g, tg_add(g, bad, good), tg_sigmoid(g, y));
    tg_node out = tg_add(g, tg_log(g, tg_add(g, tg_powc(g, c, 2.0), tg_const(g, 1.0))), tg_sin(g, x));
    ck_assert_graph_ok(g);
    size_t n = tg_graph_size(g);
    ck_assert_uint_ge(n, 20);
    ck_assert_uint_lt(bad.id, n - 8);   /* in the middle */
    double before[64], after[64];
    values_of(g, before, n);

    tg_node first = { 77, 77 };
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, &first), 1);
    ck_assert_uint_eq(first.id, bad.id);
    ck_assert_uint_eq(first.gen, bad.gen);
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_CHECK);
    char prefix[160];
    snprintf(prefix, sizeof prefix, "tg_check_partials: node %u (bad_sin), input 0 (node %u (div)): local partial ",
             (unsigned)bad.id, (unsigned)b.id);
    const char *msg = tg_graph_errmsg(g);
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "\"%s\" does not start \"%s\"", msg, prefix);
    double partial, fd;
    parse_numbers(msg, &partial, &fd);
    double v = tg_value(g, b);
    ck_assert_double_eq(partial, cos(v) + 1e-3);           /* the op's own number, all 17 digits */
    ck_assert_double_eq_tol(fd, cos(v), 1e-9);              /* the true derivative */
    /* the message is exactly that, with %.17g numbers */
    char want[256];
    snprintf(want, sizeof want, "%s%.17g, central differences %.17g", prefix, partial, fd);
    ck_assert_str_eq(msg, want);
    /* checking changed no value */
    values_of(g, after, n);
    ck_assert(memcmp(before, after, n * sizeof *before) == 0);
    ck_assert_uint_eq(tg_graph_size(g), n);
    (void)out;

    /* a looser rtol lets the 1e-3 pass: nothing counted, nothing recorded */
    tg_graph_clear_error(g);
    ck_assert_uint_eq(tg_check_partials(g, 1e-2, &first), 0);
    ck_assert(tg_is_none(first));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(every_wrong_node_is_counted_and_the_first_named)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.4), y = tg_var(g, "y", 1.7), z = tg_var(g, "z", -0.6);
    tg_node s = tg_add(g, x, y);
    tg_node xs[3] = { x, s, z };
    tg_node p = tg_custom(g, &bad_prod3, xs);
    tg_node q = tg_custom(g, &bad_sin, &p);
    tg_node r = tg_custom(g, &bad_sin, &x);
    ck_assert_graph_ok(g);
    (void)q;
    (void)r;
    tg_node first;
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, &first), 3);
    ck_assert_uint_eq(first.id, p.id);
    const char *msg = tg_graph_errmsg(g);
    char prefix[160];
    snprintf(prefix, sizeof prefix, "tg_check_partials: node %u (bad_prod3), input 1 (node %u (add)): ",
             (unsigned)p.id, (unsigned)s.id);
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "\"%s\"", msg);
    double partial, fd;
    parse_numbers(msg, &partial, &fd);
    ck_assert_double_eq(partial, 1.01 * 0.4 * -0.6);
    ck_assert_double_eq_tol(fd, 0.4 * -0.6, 1e-9);

    /* the first error sticks: a second check counts, names in *first, and
     * leaves the message alone */
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, NULL), 3);
    ck_assert_str_eq(tg_graph_errmsg(g), msg);
    tg_graph_free(g);
}
END_TEST

/* partial right for x < 0, 10% off for x > 0 */
static void half_wrong_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = x[0] < 0 ? cos(x[0]) : 1.1 * cos(x[0]);
}
static const tg_custom_op half_wrong = { "half_wrong", 1, sin_value, half_wrong_partials, NULL, NULL };

START_TEST(the_check_is_at_the_current_values)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", -1.0);
    tg_node y = tg_custom(g, &half_wrong, &x);
    tg_node out = tg_mul(g, y, y);
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, NULL), 0);
    ck_assert_graph_ok(g);
    /* a changed leaf: the check replays first */
    ck_assert_int_eq(tg_set_value(g, x, 1.0), TG_OK);
    tg_node first;
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, &first), 1);
    ck_assert_uint_eq(first.id, y.id);
    ck_assert_double_eq(tg_value(g, out), sin(1.0) * sin(1.0));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_CHECK);
    tg_graph_free(g);
}
END_TEST

START_TEST(kinks_and_non_finite_values_are_skipped)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1e-9), z = tg_var(g, "z", 0.0), t = tg_var(g, "t", 2.0);
    tg_relu(g, x);              /* within a step of its kink */
    tg_abs(g, z);               /* at its kink */
    tg_min(g, t, t);            /* a tie */
    tg_max(g, t, tg_add(g, t, tg_const(g, 1e-8)));
    tg_sqrt(g, z);              /* partial +inf */
    tg_log(g, x);               /* log of x - h is NaN */
    tg_cbrt(g, z);              /* partial +inf */
    ck_assert_graph_ok(g);
    tg_node first = { 1, 1 };
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, &first), 0);
    ck_assert(tg_is_none(first));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(tensor_elementwise_nodes_are_counted)
{
    /* atan2 along its branch cut (y = 0, x < 0) jumps by 2 pi: no partial
     * agrees with the differences there.  Elements 1 and 5 of Y/X sit on
     * it; the node counts once, named with its first such element. */
    static const double y6[6] = { 0.5, 0.0, 0.3, 1.0, 1.0, 0.0 };
    static const double x6[6] = { 1.0, -1.0, 2.0, 1.0, 1.0, -2.0 };
    tg_graph *g = tg_graph_new();
    tg_node Y = tg_tensor_var(g, "Y", 2, 3, y6), X = tg_tensor_var(g, "X", 2, 3, x6);
    tg_node a = tg_atan2(g, Y, X);
    tg_node fine = tg_atan2(g, X, tg_const(g, 1.0));   /* away from the cut */
    tg_node b = tg_atan2(g, tg_mul(g, Y, tg_const(g, 2.0)), X);
    tg_node ys = tg_var(g, "ys", 0.0), xs = tg_var(g, "xs", -1.0);
    tg_node c = tg_atan2(g, ys, xs);                    /* a scalar on the cut */
    ck_assert_graph_ok(g);
    (void)fine;
    (void)b;
    (void)c;
    tg_node first;
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, &first), 3);
    ck_assert_uint_eq(first.id, a.id);
    const char *msg = tg_graph_errmsg(g);
    char prefix[160];
    snprintf(prefix, sizeof prefix, "tg_check_partials: node %u (atan2), element 1, input 0 (node 0 'Y' "
             "(tensor var)): local partial -1, central differences ", (unsigned)a.id);
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "\"%s\"", msg);
    double partial, fd;
    parse_numbers(msg, &partial, &fd);
    ck_assert_double_gt(fabs(fd), 1e4);   /* 2 pi over a step */
    tg_graph_clear_error(g);

    /* moved off the cut, nothing is counted */
    static const double y_off[6] = { 0.5, 0.25, 0.3, 1.0, 1.0, -0.25 };
    ck_assert_int_eq(tg_tensor_set(g, Y, y_off), TG_OK);
    ck_assert_int_eq(tg_set_value(g, ys, 0.5), TG_OK);
    ck_assert_uint_eq(tg_check_partials(g, 1e-6, &first), 0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(a_negative_or_nan_rtol_is_refused)
{
    static const struct { double rtol; const char *msg; } bad[] = {
        { -1.0, "tg_check_partials: rtol -1 is not a number >= 0" },
        { -1e-300, "tg_check_partials: rtol -1e-300 is not a number >= 0" },
        { -INFINITY, "tg_check_partials: rtol -inf is not a number >= 0" },
        { NAN, "tg_check_partials: rtol nan is not a number >= 0" },
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        tg_graph *g = tg_graph_new();
        tg_node x = tg_var(g, "x", 0.3);
        tg_custom(g, &bad_sin, &x);
        tg_node first = { 5, 5 };
        ck_assert_uint_eq(tg_check_partials(g, bad[k].rtol, &first), 0);
        ck_assert(tg_is_none(first));
        ck_assert_graph_error(g, TG_ERR_ARG, bad[k].msg);
        tg_graph_free(g);
    }
    /* 0 and -0 are numbers >= 0 */
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.3);
    tg_custom(g, &bad_sin, &x);
    ck_assert_uint_eq(tg_check_partials(g, -0.0, NULL), 1);
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_CHECK);
    tg_graph_free(g);
    /* a NULL graph: 0, first emptied */
    tg_node first = { 5, 5 };
    ck_assert_uint_eq(tg_check_partials(NULL, 1e-6, &first), 0);
    ck_assert(tg_is_none(first));
}
END_TEST

/* Near the bottom of the double range values are subnormal: spaced
 * DBL_TRUE_MIN apart whatever their size, so that central differences of
 * them carry a rounding error near DBL_TRUE_MIN / h, far above eps |f| / h.
 * exp's partial is its value, exact, and erfc's is within one spacing of
 * the true derivative (long double): neither is wrong, and neither may be
 * reported. */
START_TEST(subnormal_values_are_not_reported)
{
    static const struct { double x; bool erfc; } points[] = {
        { -740.0, false }, { -745.0, false }, { 27.0, true }, { 27.2, true },
    };
    for (size_t k = 0; k < sizeof points / sizeof points[0]; k++) {
        double x0 = points[k].x;
        tg_graph *g = tg_graph_new();
        tg_node x = tg_var(g, "x", x0);
        tg_node y = points[k].erfc ? tg_erfc(g, x) : tg_exp(g, x);
        ck_assert(tg_value(g, y) != 0 && fabs(tg_value(g, y)) < DBL_MIN);   /* subnormal */
        double d[2];
        ck_assert_int_eq(tg_node_partials(g, y, d), 1);
        long double truth = points[k].erfc ? -2 / sqrtl(3.14159265358979323846264338327950288L) * expl(-(long double)x0 * x0)
                                           : expl(x0);
        ck_assert_msg(fabsl(d[0] - truth) <= DBL_TRUE_MIN, "%s'(%g) = %g, truly %Lg", points[k].erfc ? "erfc" : "exp",
                      x0, d[0], truth);
        size_t bad = tg_check_partials(g, 1e-6, NULL);
        ck_assert_msg(bad == 0, "%s at %g: %s", points[k].erfc ? "erfc" : "exp", x0, tg_graph_errmsg(g));
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------------------ random graphs */

/* splitmix64 with a fixed seed. */
static uint64_t rng_state;
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double uniform(double lo, double hi)
{
    return lo + (hi - lo) * (double)(next_u64() >> 11) / 9007199254740992.0;
}
static size_t below(size_t n) { return (size_t)(next_u64() % n); }

/* Every built-in elementwise op, and the composed ones, with the part of
 * its domain a random graph keeps to: away from poles, branch cuts and the
 * edges of domains, where a step of differences would leave the domain or
 * the derivative is not finite.  Kinks may be anywhere (the check skips
 * them).  A value is accepted only if it is finite and at most 1e3. */
typedef enum rop {
    R_ADD, R_MUL, R_EXP, R_RECIP, R_POW, R_POWC, R_LOG, R_TANH, R_SIGMOID, R_RELU,
    R_SQRT, R_CBRT, R_SIN, R_COS, R_TAN, R_ASIN, R_ACOS, R_ATAN, R_SINH, R_COSH, R_ASINH,
    R_ACOSH, R_ATANH, R_EXPM1, R_LOG1P, R_LOG2, R_LOG10, R_ERF, R_ERFC, R_SOFTPLUS, R_ABS,
    R_ATAN2, R_HYPOT, R_MIN, R_MAX, R_NEG, R_SUB, R_DIV, R_SIGMOID_DEC, R_COUNT
} rop;

static const char *const rop_names[R_COUNT] = {
    "add", "mul", "exp", "recip", "pow", "powc", "log", "tanh", "sigmoid", "relu",
    "sqrt", "cbrt", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh",
    "acosh", "atanh", "expm1", "log1p", "log2", "log10", "erf", "erfc", "softplus", "abs",
    "atan2", "hypot", "min", "max", "neg", "sub", "div", "sigmoid_decomposed",
};

static bool binary_op(rop op)
{
    return op == R_ADD || op == R_MUL || op == R_POW || op == R_ATAN2 || op == R_HYPOT || op == R_MIN ||
           op == R_MAX || op == R_SUB || op == R_DIV;
}

/* Whether op may be applied at (a, b). */
static bool in_domain(rop op, double a, double b)
{
    switch (op) {
    case R_EXP: case R_EXPM1: case R_SINH: case R_COSH: return fabs(a) < 6;
    case R_RECIP: return fabs(a) > 0.2;
    case R_POW: return a > 0.2 && a < 5 && fabs(b) < 2;
    case R_POWC: return a > 0.2 && a < 5;
    case R_LOG: case R_LOG2: case R_LOG10: return a > 0.1;
    case R_SQRT: return a > 0.05;
    case R_CBRT: return fabs(a) > 0.05;
    case R_SIN: case R_COS: return fabs(a) < 50;
    case R_TAN: return fabs(cos(a)) > 0.2;
    case R_ASIN: case R_ACOS: case R_ATANH: return fabs(a) < 0.9;
    case R_ACOSH: return a > 1.1;
    case R_LOG1P: return a > -0.9;
    case R_ATAN2: return hypot(a, b) > 0.1 && !(b < 0 && fabs(a) < 0.1);   /* atan2(y = a, x = b) */
    case R_HYPOT: return hypot(a, b) > 0.1;
    case R_DIV: return fabs(b) > 0.2;
    case R_ADD: case R_MUL: case R_TANH: case R_SIGMOID: case R_RELU: case R_ATAN: case R_ASINH:
    case R_ERF: case R_ERFC: case R_SOFTPLUS: case R_ABS: case R_MIN: case R_MAX: case R_NEG:
    case R_SUB: case R_SIGMOID_DEC: case R_COUNT:
        return true;
    }
    return false;
}

static tg_node apply(tg_graph *g, rop op, tg_node a, tg_node b, double k)
{
    switch (op) {
    case R_ADD: return tg_add(g, a, b);
    case R_MUL: return tg_mul(g, a, b);
    case R_EXP: return tg_exp(g, a);
    case R_RECIP: return tg_recip(g, a);
    case R_POW: return tg_pow(g, a, b);
    case R_POWC: return tg_powc(g, a, k);
    case R_LOG: return tg_log(g, a);
    case R_TANH: return tg_tanh(g, a);
    case R_SIGMOID: return tg_sigmoid(g, a);
    case R_RELU: return tg_relu(g, a);
    case R_SQRT: return tg_sqrt(g, a);
    case R_CBRT: return tg_cbrt(g, a);
    case R_SIN: return tg_sin(g, a);
    case R_COS: return tg_cos(g, a);
    case R_TAN: return tg_tan(g, a);
    case R_ASIN: return tg_asin(g, a);
    case R_ACOS: return tg_acos(g, a);
    case R_ATAN: return tg_atan(g, a);
    case R_SINH: return tg_sinh(g, a);
    case R_COSH: return tg_cosh(g, a);
    case R_ASINH: return tg_asinh(g, a);
    case R_ACOSH: return tg_acosh(g, a);
    case R_ATANH: return tg_atanh(g, a);
    case R_EXPM1: return tg_expm1(g, a);
    case R_LOG1P: return tg_log1p(g, a);
    case R_LOG2: return tg_log2(g, a);
    case R_LOG10: return tg_log10(g, a);
    case R_ERF: return tg_erf(g, a);
    case R_ERFC: return tg_erfc(g, a);
    case R_SOFTPLUS: return tg_softplus(g, a);
    case R_ABS: return tg_abs(g, a);
    case R_ATAN2: return tg_atan2(g, a, b);
    case R_HYPOT: return tg_hypot(g, a, b);
    case R_MIN: return tg_min(g, a, b);
    case R_MAX: return tg_max(g, a, b);
    case R_NEG: return tg_neg(g, a);
    case R_SUB: return tg_sub(g, a, b);
    case R_DIV: return tg_div(g, a, b);
    case R_SIGMOID_DEC: return tg_sigmoid_decomposed(g, a);
    case R_COUNT: break;
    }
    return TG_NONE;
}

/* A node of the random graph: its handle and shape. */
typedef struct rnode { tg_node h; size_t r, c; } rnode;

/* Element (i, j) of n's value as it broadcasts to a larger shape. */
static double element(const tg_graph *g, const rnode *n, size_t i, size_t j)
{
    double v[6];
    ck_assert_int_eq(tg_tensor_get(g, n->h, v), TG_OK);
    return v[(n->r > 1 ? i : 0) * n->c + (n->c > 1 ? j : 0)];
}

static bool fits(size_t x, size_t y, size_t *out)
{
    if (x == y || y == 1) *out = x;
    else if (x == 1) *out = y;
    else return false;
    return true;
}

/* Whether op at a (and b) is in its domain for every element, with the
 * result's shape in *r, *c. */
static bool applicable(const tg_graph *g, rop op, const rnode *a, const rnode *b, size_t *r, size_t *c)
{
    *r = a->r;
    *c = a->c;
    if (binary_op(op) && !(fits(a->r, b->r, r) && fits(a->c, b->c, c))) return false;
    for (size_t i = 0; i < *r; i++)
        for (size_t j = 0; j < *c; j++)
            if (!in_domain(op, element(g, a, i, j), binary_op(op) ? element(g, b, i, j) : 0.0)) return false;
    return true;
}

static bool bounded(const tg_graph *g, const rnode *n)
{
    double v[6];
    ck_assert_int_eq(tg_tensor_get(g, n->h, v), TG_OK);
    for (size_t k = 0; k < n->r * n->c; k++)
        if (!(fabs(v[k]) <= 1e3)) return false;
    return true;
}

/* A random graph of `size` nodes or a little more: inputs first (scalars;
 * with tensors also 2x3, 1x3 and 2x1), then ops on random earlier nodes,
 * each op kept only when its inputs are in its domain and its value
 * bounded.  Counts the nodes of each op recorded into per_op. */
static void random_graph(tg_graph *g, size_t size, bool tensors, size_t *per_op, size_t *tensor_ops)
{
    static const size_t shapes[4][2] = { { 1, 1 }, { 2, 3 }, { 1, 3 }, { 2, 1 } };
    rnode nodes[400];
    size_t n = 0;
    size_t inputs = 4 + below(5);
    for (size_t k = 0; k < inputs; k++) {
        const size_t *s = shapes[tensors ? below(4) : 0];
        double v[6];
        for (size_t e = 0; e < 6; e++) v[e] = uniform(-2.0, 2.0);
        if (k == 0) v[0] = v[1] = v[2] = uniform(1.2, 2.0);   /* some values > 1 from the start */
        tg_node h = s[0] * s[1] == 1 ? tg_var(g, NULL, v[0]) : tg_tensor_var(g, NULL, s[0], s[1], v);
        nodes[n++] = (rnode){ h, s[0], s[1] };
    }
    while (tg_graph_size(g) < size) {
        rop op = (rop)below(R_COUNT);
        const rnode *a = &nodes[below(n)], *b = &nodes[below(n)];
        size_t r, c;
        if (!applicable(g, op, a, b, &r, &c)) continue;
        size_t mark = tg_graph_size(g);
        tg_node y = apply(g, op, a->h, b->h, uniform(-2.0, 3.0));
        ck_assert_msg(!tg_is_none(y), "%s: %s", rop_names[op], tg_graph_errmsg(g));
        rnode ny = { y, r, c };
        if (!bounded(g, &ny)) {
            ck_assert_int_eq(tg_graph_undo(g, mark), TG_OK);
            continue;
        }
        per_op[op]++;
        if (tg_is_tensor(g, y)) (*tensor_ops)++;
        if (n < sizeof nodes / sizeof nodes[0]) nodes[n++] = ny;
    }
    ck_assert_graph_ok(g);
}

START_TEST(random_graphs_of_every_op_pass)
{
    bool tensors = _i == 1;
    rng_state = 0x7a9e0c4eu + (uint64_t)_i;
    size_t per_op[R_COUNT] = { 0 }, tensor_ops = 0, nodes = 0;
    for (int graph = 0; graph < 500; graph++) {
        tg_graph *g = tg_graph_new();
        random_graph(g, 50 + below(151), tensors, per_op, &tensor_ops);
        nodes += tg_graph_size(g);
        tg_node first = { 9, 9 };
        size_t bad = tg_check_partials(g, 1e-6, &first);
        ck_assert_msg(bad == 0, "graph %d: %zu nodes disagree; %s", graph, bad, tg_graph_errmsg(g));
        ck_assert(tg_is_none(first));
        ck_assert_graph_ok(g);   /* nothing recorded */
        tg_graph_free(g);
    }
    printf("%s: 500 graphs, %zu nodes, %zu tensor ops, none disagreeing\n", tensors ? "tensors" : "scalars",
           nodes, tensor_ops);
    for (int op = 0; op < R_COUNT; op++)
        ck_assert_msg(per_op[op] >= 20, "%s recorded only %zu times", rop_names[op], per_op[op]);
    if (tensors) ck_assert_uint_ge(tensor_ops, 5000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("check");
    TCase *tc = tcase_create("check");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_wrong_partial_is_named_at_its_node);
    tcase_add_test(tc, every_wrong_node_is_counted_and_the_first_named);
    tcase_add_test(tc, the_check_is_at_the_current_values);
    tcase_add_test(tc, kinks_and_non_finite_values_are_skipped);
    tcase_add_test(tc, tensor_elementwise_nodes_are_counted);
    tcase_add_test(tc, a_negative_or_nan_rtol_is_refused);
    tcase_add_test(tc, subnormal_values_are_not_reported);
    tcase_add_loop_test(tc, random_graphs_of_every_op_pass, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
