/*
 * Every scalar op's second derivatives: tg_hessian of y = op(x) (1 x 1),
 * or of y = op(a, b) (2 x 2), against the closed form evaluated in long
 * double, at ordinary points and at extreme ones (where 1 - y cancels in
 * sigmoid and tanh, near overflow and underflow, near the edges of the
 * domains).  The kinks (relu, abs, min, max) give 0 away from the kink.
 * tg_hvp of the same y with v = 1 gives the same number.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "runner.h"
#include "second.h"

typedef long double ld;

/* ------------------------------------------------ unary closed forms */

static ld d2_exp(ld x)      { return expl(x); }
static ld d2_recip(ld x)    { return 2 / (x * x * x); }
static ld d2_log(ld x)      { return -1 / (x * x); }
static ld d2_tanh(ld x)     { ld c = coshl(x); return -2 * tanhl(x) / (c * c); }
/* sigmoid'' = s (1-s) (1-2s) = e (e - 1) / (1 + e)^3 with e = exp(-x) for
 * x > 0, odd in x; no 1 - s anywhere */
static ld d2_sigmoid(ld x)
{
    ld e = expl(-fabsl(x)), v = e * (e - 1) / ((1 + e) * (1 + e) * (1 + e));
    return x > 0 ? v : -v;
}
static ld d2_zero(ld x)     { (void)x; return 0; }
static ld d2_sqrt(ld x)     { return -1 / (4 * x * sqrtl(x)); }
static ld d2_cbrt(ld x)     { return -2 * cbrtl(x) / (9 * x * x); }
static ld d2_sin(ld x)      { return -sinl(x); }
static ld d2_cos(ld x)      { return -cosl(x); }
static ld d2_tan(ld x)      { ld t = tanl(x); return 2 * t * (1 + t * t); }
static ld d2_asin(ld x)     { ld u = (1 - x) * (1 + x); return x / (u * sqrtl(u)); }
static ld d2_acos(ld x)     { ld u = (1 - x) * (1 + x); return -x / (u * sqrtl(u)); }
static ld d2_atan(ld x)     { ld u = 1 + x * x; return -2 * x / (u * u); }
static ld d2_sinh(ld x)     { return sinhl(x); }
static ld d2_cosh(ld x)     { return coshl(x); }
static ld d2_asinh(ld x)    { ld u = 1 + x * x; return -x / (u * sqrtl(u)); }
static ld d2_acosh(ld x)    { ld u = (x - 1) * (x + 1); return -x / (u * sqrtl(u)); }
static ld d2_atanh(ld x)    { ld u = (1 - x) * (1 + x); return 2 * x / (u * u); }
static ld d2_log1p(ld x)    { return -1 / ((1 + x) * (1 + x)); }
static ld d2_log2(ld x)     { return -1 / (x * x * logl(2)); }
static ld d2_log10(ld x)    { return -1 / (x * x * logl(10)); }
static ld d2_erf(ld x)      { return -4 * x / sqrtl(acosl(-1)) * expl(-x * x); }
static ld d2_erfc(ld x)     { return 4 * x / sqrtl(acosl(-1)) * expl(-x * x); }
/* softplus'' = sigmoid' = e / (1 + e)^2, e = exp(-|x|) */
static ld d2_softplus(ld x) { ld e = expl(-fabsl(x)); return e / ((1 + e) * (1 + e)); }
static ld d2_square(ld x)   { (void)x; return 2; }
static ld d2_cube(ld x)     { return 6 * x; }
static ld d2_inv_sqrt(ld x) { return 0.75L / (x * x * sqrtl(x)); }

static tg_node square(tg_graph *g, tg_node a) { return tg_powc(g, a, 2.0); }
static tg_node cube(tg_graph *g, tg_node a)   { return tg_powc(g, a, 3.0); }
static tg_node inv_sqrt(tg_graph *g, tg_node a) { return tg_powc(g, a, -0.5); }

typedef struct unary_case {
    const char *name;
    tg_node (*op)(tg_graph *, tg_node);
    ld (*d2)(ld);
    double tol;           /* relative, against the long double closed form */
    double points[12];    /* NaN ends the list */
} unary_case;

#define END NAN
static const unary_case unary_cases[] = {
    { "exp", tg_exp, d2_exp, 1e-15, { -3, 0, 0.5, 7, 700, -700, -745, END } },
    { "recip", tg_recip, d2_recip, 1e-15, { 0.5, -3, 1e-100, -1e100, 1e-102, END } },
    { "log", tg_log, d2_log, 1e-15, { 0.5, 3, 1e-150, 1e150, 1e-300, END } },
    { "tanh", tg_tanh, d2_tanh, 4e-15, { 0.1, -0.5, 0.6, 1, 3, -5, 10, 20, -40, 100, 300, END } },
    { "sigmoid", tg_sigmoid, d2_sigmoid, 4e-15, { 0.1, -0.5, 1, 3, -5, 20, 36.7, 40, -100, 300, 700, END } },
    { "sigmoid_decomposed", tg_sigmoid_decomposed, d2_sigmoid, 1e-13, { 0.1, -0.5, 1, 3, -5, END } },
    { "relu", tg_relu, d2_zero, 0, { 1, -1, 1e300, -1e-300, END } },
    { "abs", tg_abs, d2_zero, 0, { 1, -1, 1e300, -1e-300, END } },
    { "neg", tg_neg, d2_zero, 0, { 1, -2.5, END } },
    { "sqrt", tg_sqrt, d2_sqrt, 1e-15, { 0.25, 2, 1e-200, 1e200, END } },
    { "cbrt", tg_cbrt, d2_cbrt, 1e-15, { 0.25, -2, 1e-100, -1e100, END } },
    { "sin", tg_sin, d2_sin, 1e-15, { 0.5, -2, 3.14159, 1e5, END } },
    { "cos", tg_cos, d2_cos, 1e-15, { 0.5, -2, 1.5707963, 1e5, END } },
    { "tan", tg_tan, d2_tan, 1e-14, { 0.5, -1.2, 1.5, 1e-8, END } },
    { "asin", tg_asin, d2_asin, 1e-14, { 0.5, -0.9, 0.999999, 1e-8, END } },
    { "acos", tg_acos, d2_acos, 1e-14, { 0.5, -0.9, 0.999999, 1e-8, END } },
    { "atan", tg_atan, d2_atan, 1e-15, { 0.5, -3, 1e8, 1e-8, END } },
    { "sinh", tg_sinh, d2_sinh, 1e-15, { 0.5, -3, 700, -700, END } },
    { "cosh", tg_cosh, d2_cosh, 1e-15, { 0.5, -3, 700, -700, END } },
    { "asinh", tg_asinh, d2_asinh, 1e-14, { 0.5, -3, 1e8, -1e-8, END } },
    { "acosh", tg_acosh, d2_acosh, 1e-13, { 1.5, 3, 1e8, 1.0000001, END } },
    { "atanh", tg_atanh, d2_atanh, 1e-13, { 0.5, -0.3, 0.999999, 1e-8, END } },
    { "expm1", tg_expm1, d2_exp, 1e-15, { 0.5, -3, 1e-10, 700, END } },
    { "log1p", tg_log1p, d2_log1p, 1e-15, { 0.5, -0.999, 1e-10, 1e100, END } },
    { "log2", tg_log2, d2_log2, 1e-15, { 0.5, 3, 1e-100, END } },
    { "log10", tg_log10, d2_log10, 1e-15, { 0.5, 3, 1e-100, END } },
    { "erf", tg_erf, d2_erf, 1e-14, { 0.5, -1.5, 1e-8, 5, 25, END } },
    { "erfc", tg_erfc, d2_erfc, 1e-14, { 0.5, -1.5, 1e-8, 5, 25, END } },
    { "softplus", tg_softplus, d2_softplus, 4e-15, { 0.5, -3, 30, -30, 700, -700, END } },
    { "powc 2", square, d2_square, 0, { 0.5, -3, 1e100, END } },
    { "powc 3", cube, d2_cube, 1e-15, { 0.5, -3, 1e100, END } },
    { "powc -1/2", inv_sqrt, d2_inv_sqrt, 1e-15, { 0.5, 3, 1e-100, END } },
};
enum { NUNARY = sizeof unary_cases / sizeof unary_cases[0] };

/* got against a long double reference: relative error within tol, or,
 * where the reference is beyond the doubles, the same infinity or the
 * largest double; a reference below the subnormals, a zero or a
 * subnormal within one subnormal step. */
static void assert_second(double got, ld want, double tol, const char *what)
{
    if (fabsl(want) > DBL_MAX) {
        ck_require_msg(isinf(got) && (got > 0) == (want > 0),
                       "%s: got %.17g, expected %Lg (beyond the doubles)", what, got, want);
        return;
    }
    if (fabsl(want) < DBL_MIN) {
        ck_require_msg(fabsl(got - want) <= DBL_TRUE_MIN, "%s: got %.17g, expected %.20Lg (subnormal)", what, got,
                       want);
        return;
    }
    ld e = want == 0 ? fabsl((ld)got) : fabsl((got - want) / want);
    ck_require_msg(e <= tol, "%s: got %.17g, expected %.20Lg (relative error %.3Lg > %.3g)", what, got, want, e,
                   tol);
}

START_TEST(unary_second_derivative)
{
    const unary_case *c = &unary_cases[_i];
    for (int k = 0; k < 12 && !isnan(c->points[k]); k++) {
        double x0 = c->points[k];
        tg_graph *g = tg_graph_new();
        tg_node x = tg_var(g, "x", x0);
        tg_node y = c->op(g, x);
        ck_assert_graph_ok(g);
        double h = NAN, hv = NAN, one = 1.0;
        ck_assert_msg(tg_hessian(g, y, 1, &x, &h) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(g));
        ck_assert_int_eq(tg_hvp(g, y, 1, &x, &one, &hv), TG_OK);
        char what[96];
        snprintf(what, sizeof what, "%s'' at %.17g", c->name, x0);
        assert_second(h, c->d2(x0), c->tol, what);
        ck_assert_msg(memcmp(&h, &hv, sizeof h) == 0, "%s: hessian %.17g, hvp with v = 1 %.17g", what, h, hv);
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------- binary closed forms */

/* H = [[f_aa f_ab] [f_ab f_bb]] of f(a, b) */
static void h_add(ld a, ld b, ld *h)   { (void)a; (void)b; h[0] = h[1] = h[2] = 0; }
static void h_sub(ld a, ld b, ld *h)   { (void)a; (void)b; h[0] = h[1] = h[2] = 0; }
static void h_mul(ld a, ld b, ld *h)   { (void)a; (void)b; h[0] = 0; h[1] = 1; h[2] = 0; }
static void h_div(ld a, ld b, ld *h)   { h[0] = 0; h[1] = -1 / (b * b); h[2] = 2 * a / (b * b * b); }
/* a^b: b(b-1) a^(b-2), a^(b-1) (1 + b ln a), a^b ln^2 a */
static void h_pow(ld a, ld b, ld *h)
{
    ld l = logl(a);
    h[0] = b * (b - 1) * powl(a, b - 2);
    h[1] = powl(a, b - 1) * (1 + b * l);
    h[2] = powl(a, b) * l * l;
}
/* atan2(y, x) with r2 = x^2 + y^2: f_yy = -2xy/r2^2, f_yx = (y^2 - x^2)/r2^2, f_xx = 2xy/r2^2 */
static void h_atan2(ld y, ld x, ld *h)
{
    ld r2 = x * x + y * y;
    h[0] = -2 * x * y / (r2 * r2);
    h[1] = (y * y - x * x) / (r2 * r2);
    h[2] = 2 * x * y / (r2 * r2);
}
/* hypot: b^2/r^3, -ab/r^3, a^2/r^3 */
static void h_hypot(ld a, ld b, ld *h)
{
    ld r = sqrtl(a * a + b * b), r3 = r * r * r;
    h[0] = b * b / r3;
    h[1] = -a * b / r3;
    h[2] = a * a / r3;
}
static void h_zero(ld a, ld b, ld *h)  { (void)a; (void)b; h[0] = h[1] = h[2] = 0; }

typedef struct binary_case {
    const char *name;
    tg_node (*op)(tg_graph *, tg_node, tg_node);
    void (*h)(ld, ld, ld *);
    double tol;
    double points[6][2];
    int npoints;
} binary_case;

static const binary_case binary_cases[] = {
    { "add", tg_add, h_add, 0, { { 1, 2 }, { -3, 0.5 } }, 2 },
    { "sub", tg_sub, h_sub, 0, { { 1, 2 }, { -3, 0.5 } }, 2 },
    { "mul", tg_mul, h_mul, 0, { { 1, 2 }, { -3, 0.5 }, { 1e300, 1e-300 } }, 3 },
    { "div", tg_div, h_div, 1e-15, { { 1, 2 }, { -3, 0.5 }, { 1e100, 1e-50 } }, 3 },
    { "pow", tg_pow, h_pow, 1e-14, { { 2, 3 }, { 0.5, -1.5 }, { 3, 0.5 }, { 1.5, 100 }, { 10, -20 } }, 5 },
    { "atan2", tg_atan2, h_atan2, 1e-14, { { 1, 2 }, { -3, 0.5 }, { 1e100, 1e100 }, { 1e-100, -1 } }, 4 },
    { "hypot", tg_hypot, h_hypot, 1e-14, { { 1, 2 }, { -3, 0.5 }, { 1e200, 1e200 }, { 1e-200, 3e-200 } }, 4 },
    { "min", tg_min, h_zero, 0, { { 1, 2 }, { -3, -4 } }, 2 },
    { "max", tg_max, h_zero, 0, { { 1, 2 }, { -3, -4 } }, 2 },
};
enum { NBINARY = sizeof binary_cases / sizeof binary_cases[0] };

START_TEST(binary_second_derivatives)
{
    const binary_case *c = &binary_cases[_i];
    for (int k = 0; k < c->npoints; k++) {
        double a0 = c->points[k][0], b0 = c->points[k][1];
        tg_graph *g = tg_graph_new();
        tg_node x[2] = { tg_var(g, NULL, a0), tg_var(g, NULL, b0) };
        tg_node y = c->op(g, x[0], x[1]);
        double h[4];
        ck_assert_msg(tg_hessian(g, y, 2, x, h) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(g));
        ld w[3];
        c->h(a0, b0, w);
        const ld want[4] = { w[0], w[1], w[1], w[2] };
        for (int i = 0; i < 4; i++) {
            char what[96];
            snprintf(what, sizeof what, "%s H[%d][%d] at (%g, %g)", c->name, i / 2, i % 2, a0, b0);
            assert_second(h[i], want[i], c->tol, what);
        }
        ck_assert_msg(memcmp(&h[1], &h[2], sizeof h[1]) == 0, "%s: H not symmetric bit for bit", c->name);
        tg_graph_free(g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("second-ops");
    TCase *tc = tcase_create("ops");
    tcase_add_loop_test(tc, unary_second_derivative, 0, NUNARY);
    tcase_add_loop_test(tc, binary_second_derivatives, 0, NBINARY);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
