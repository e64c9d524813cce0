/*
 * Second derivatives against MPFR, in ulps: tg_hessian of y = f(x) for
 * sigmoid and tanh from x of a few up to where the second derivative
 * underflows (there 1 - y cancels: y rounds to 1 long before), both
 * signs, and for softplus, erf, exp and log over their working ranges.
 * Prints the worst error of each with where it was; fails above BOUND.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpfr.h>

#include <tapegrad/tapegrad.h>

#include "ulp.h"

enum { PREC = 256, STEPS = 4000 };
#define BOUND 8.0   /* ulps, twice the first derivatives' */
#define RN MPFR_RNDN

/* The references, from closed forms that neither cancel nor overflow at
 * 256 bits: with e = exp(-|x|),
 *   sigmoid'' = sign(-x) e (1 - e) / (1 + e)^3
 *   tanh''    = -2 tanh(x) sech^2(x)
 *   softplus'' = e / (1 + e)^2
 *   erf''     = -4x / sqrt(pi) exp(-x^2)
 *   exp''     = exp(x),  log'' = -1/x^2 */
static void ref_sigmoid2(mpfr_t r, const mpfr_t x)
{
    mpfr_t e, t;
    mpfr_inits2(PREC, e, t, (mpfr_ptr)0);
    mpfr_abs(e, x, RN);
    mpfr_neg(e, e, RN);
    mpfr_exp(e, e, RN);
    mpfr_ui_sub(t, 1, e, RN);
    mpfr_mul(r, e, t, RN);
    mpfr_add_ui(t, e, 1, RN);
    mpfr_pow_ui(t, t, 3, RN);
    mpfr_div(r, r, t, RN);
    if (mpfr_sgn(x) > 0) mpfr_neg(r, r, RN);
    mpfr_clears(e, t, (mpfr_ptr)0);
}
static void ref_tanh2(mpfr_t r, const mpfr_t x)
{
    mpfr_t s;
    mpfr_init2(s, PREC);
    mpfr_sech(s, x, RN);
    mpfr_sqr(s, s, RN);
    mpfr_tanh(r, x, RN);
    mpfr_mul(r, r, s, RN);
    mpfr_mul_si(r, r, -2, RN);
    mpfr_clear(s);
}
static void ref_softplus2(mpfr_t r, const mpfr_t x)
{
    mpfr_t e;
    mpfr_init2(e, PREC);
    mpfr_abs(e, x, RN);
    mpfr_neg(e, e, RN);
    mpfr_exp(e, e, RN);
    mpfr_add_ui(r, e, 1, RN);
    mpfr_sqr(r, r, RN);
    mpfr_div(r, e, r, RN);
    mpfr_clear(e);
}
static void ref_erf2(mpfr_t r, const mpfr_t x)
{
    mpfr_t p;
    mpfr_init2(p, PREC);
    mpfr_sqr(r, x, RN);
    mpfr_neg(r, r, RN);
    mpfr_exp(r, r, RN);
    mpfr_mul(r, r, x, RN);
    mpfr_mul_si(r, r, -4, RN);
    mpfr_const_pi(p, RN);
    mpfr_sqrt(p, p, RN);
    mpfr_div(r, r, p, RN);
    mpfr_clear(p);
}
static void ref_exp2(mpfr_t r, const mpfr_t x) { mpfr_exp(r, x, RN); }
static void ref_log2nd(mpfr_t r, const mpfr_t x)
{
    mpfr_sqr(r, x, RN);
    mpfr_si_div(r, -1, r, RN);
}

typedef struct row {
    const char *name;
    tg_node (*op)(tg_graph *, tg_node);
    void (*ref)(mpfr_t, const mpfr_t);
    double lo, hi;      /* |x| from lo to hi, evenly spaced */
    int both_signs;
} row;

static const row rows[] = {
    /* sigmoid'' underflows past x = 745, tanh'' past 373 */
    { "sigmoid", tg_sigmoid, ref_sigmoid2, 2, 745, 1 },
    { "tanh", tg_tanh, ref_tanh2, 0.5, 372, 1 },
    { "softplus", tg_softplus, ref_softplus2, 0.01, 745, 1 },
    { "erf", tg_erf, ref_erf2, 0.01, 27, 1 },
    { "exp", tg_exp, ref_exp2, 0.01, 709, 1 },
    { "log", tg_log, ref_log2nd, 1e-3, 1e3, 0 },
};
enum { NROWS = sizeof rows / sizeof rows[0] };

START_TEST(second_derivative_ulps)
{
    const row *w = &rows[_i];
    mpfr_t x, want;
    mpfr_inits2(PREC, x, want, (mpfr_ptr)0);
    double worst = 0, worst_x = NAN, worst_got = NAN, worst_want = NAN;
    for (int s = 0; s <= w->both_signs; s++) {
        for (int k = 0; k <= STEPS; k++) {
            double a = w->lo + (w->hi - w->lo) * k / STEPS;
            if (s) a = -a;
            tg_graph *g = tg_graph_new();
            tg_node xn = tg_var(g, "x", a);
            tg_node y = w->op(g, xn);
            double got = NAN;
            ck_assert_msg(tg_hessian(g, y, 1, &xn, &got) == TG_OK, "%s: %s", w->name, tg_graph_errmsg(g));
            tg_graph_free(g);
            mpfr_set_d(x, a, RN);
            w->ref(want, x);
            double e = ulp_error(got, want);
            if (!(e <= worst)) {
                worst = e;
                worst_x = a;
                worst_got = got;
                worst_want = mpfr_get_d(want, RN);
            }
        }
    }
    printf("%-9s second derivative: worst %.2f ulps at x = %.17g (got %.17g, want %.17g), |x| in [%g, %g]\n",
           w->name, worst, worst_x, worst_got, worst_want, w->lo, w->hi);
    ck_assert_msg(worst <= BOUND, "%s'': %.3g ulps at x = %.17g: got %.17g, want %.17g", w->name, worst, worst_x,
                  worst_got, worst_want);
    mpfr_clears(x, want, (mpfr_ptr)0);
}
END_TEST

int main(void)
{
    mpfr_set_emin(mpfr_get_emin_min());
    mpfr_set_emax(mpfr_get_emax_max());
    Suite *s = suite_create("accuracy-second");
    TCase *tc = tcase_create("second");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, second_derivative_ulps, 0, NROWS);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
