/*
 * Second order through a user-defined op: with a `second` callback its
 * second partials are used (the same Hessian as the op built from
 * built-ins; a callback that states other numbers changes the Hessian
 * accordingly); without one, tg_hvp and tg_hessian through it fail with a
 * message naming the op and write nothing, while first order through it
 * and second order of an output that does not go through it work.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "runner.h"
#include "second.h"

/* sinprod(a, b) = a sin(b) */
static double sp_value(void *ctx, const double *x) { (void)ctx; return x[0] * sin(x[1]); }
static void sp_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = sin(x[1]);
    d[1] = x[0] * cos(x[1]);
}
static void sp_second(void *ctx, const double *x, double y, double *h)
{
    (void)ctx;
    (void)y;
    h[0] = 0;                      /* d2/da2 */
    h[1] = h[2] = cos(x[1]);       /* d2/da db */
    h[3] = -x[0] * sin(x[1]);      /* d2/db2 */
}
static const tg_custom_op sinprod = { "sinprod", 2, sp_value, sp_partials, sp_second, NULL };
static const tg_custom_op sinprod_first_only = { "sinprod_first_only", 2, sp_value, sp_partials, NULL, NULL };

/* f(x, y) = sinprod(x y, y) + x^2 sinprod(y, x), and the same from built-ins */
static tg_node with_custom(tg_graph *g, const tg_custom_op *op, const tg_node *x)
{
    tg_node in1[2] = { tg_mul(g, x[0], x[1]), x[1] }, in2[2] = { x[1], x[0] };
    return tg_add(g, tg_custom(g, op, in1), tg_mul(g, tg_mul(g, x[0], x[0]), tg_custom(g, op, in2)));
}
static tg_node with_builtins(tg_graph *g, const tg_node *x)
{
    tg_node t1 = tg_mul(g, tg_mul(g, x[0], x[1]), tg_sin(g, x[1]));
    tg_node t2 = tg_mul(g, tg_mul(g, x[0], x[0]), tg_mul(g, x[1], tg_sin(g, x[0])));
    return tg_add(g, t1, t2);
}

START_TEST(second_callback_is_used)
{
    const double pts[][2] = { { 0.5, 1.25 }, { -2, 0.3 }, { 3, -4 } };
    for (size_t k = 0; k < 3; k++) {
        tg_graph *g = tg_graph_new();
        tg_node x[2] = { tg_var(g, NULL, pts[k][0]), tg_var(g, NULL, pts[k][1]) };
        tg_node fc = with_custom(g, &sinprod, x), fb = with_builtins(g, x);
        ck_assert_graph_ok(g);
        double hc[4], hb[4], v[2] = { 1.5, -0.5 }, hvc[2], hvb[2];
        ck_assert_msg(tg_hessian(g, fc, 2, x, hc) == TG_OK, "%s", tg_graph_errmsg(g));
        ck_assert_int_eq(tg_hessian(g, fb, 2, x, hb), TG_OK);
        ck_assert_int_eq(tg_hvp(g, fc, 2, x, v, hvc), TG_OK);
        ck_assert_int_eq(tg_hvp(g, fb, 2, x, v, hvb), TG_OK);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(fabs(hc[i] - hb[i]) <= 1e-14 * fmax(1, fabs(hb[i])), "H[%d] %.17g vs built-ins %.17g", i,
                          hc[i], hb[i]);
        for (int i = 0; i < 2; i++)
            ck_assert_msg(fabs(hvc[i] - hvb[i]) <= 1e-14 * fmax(1, fabs(hvb[i])), "Hv[%d] %.17g vs %.17g", i,
                          hvc[i], hvb[i]);
        ck_assert_msg(memcmp(&hc[1], &hc[2], sizeof hc[1]) == 0, "not symmetric bit for bit");
        tg_graph_free(g);
    }
}
END_TEST

/* sq(a) = a^2 with partial 2a and a second partial of 7: the Hessian is
 * what the callback says, 7, not what the value implies. */
static double sq_value(void *ctx, const double *x) { (void)ctx; return x[0] * x[0]; }
static void sq_partials(void *ctx, const double *x, double y, double *d) { (void)ctx; (void)y; d[0] = 2 * x[0]; }
static void sq_second(void *ctx, const double *x, double y, double *h) { (void)ctx; (void)x; (void)y; h[0] = 7; }

START_TEST(second_callback_defines_the_hessian)
{
    static const tg_custom_op sq = { "sq_seven", 1, sq_value, sq_partials, sq_second, NULL };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.5);
    tg_node y = tg_mul(g, tg_custom(g, &sq, &x), tg_const(g, 3.0));
    double h;
    ck_assert_int_eq(tg_hessian(g, y, 1, &x, &h), TG_OK);
    ck_assert_double_eq(h, 21.0);
    /* through a chain: z = exp(sq(x)): z'' = z (sq'^2 + sq'') = z (4x^2 + 7) */
    tg_node z = tg_exp(g, tg_custom(g, &sq, &x));
    ck_assert_int_eq(tg_hessian(g, z, 1, &x, &h), TG_OK);
    ck_assert_rel(h, expl(2.25L) * (4 * 2.25L + 7), 1e-15, "exp(sq(x))''");
    tg_graph_free(g);
}
END_TEST

START_TEST(without_second_fails_naming_the_op)
{
    tg_graph *g = tg_graph_new();
    tg_node x[2] = { tg_var(g, "x", 0.5), tg_var(g, "y", 1.5) };
    tg_node f = with_custom(g, &sinprod_first_only, x);
    ck_assert_graph_ok(g);
    double out[4], v[2] = { 1, 1 };
    const char *const fns[2] = { "tg_hessian", "tg_hvp" };
    for (int k = 0; k < 2; k++) {
        fill_sentinel(out, 4);
        tg_status st = k == 0 ? tg_hessian(g, f, 2, x, out) : tg_hvp(g, f, 2, x, v, out);
        ck_assert_msg(st != TG_OK, "%s through an op without second partials succeeded", fns[k]);
        ck_assert_int_eq(tg_graph_status(g), st);
        const char *msg = tg_graph_errmsg(g);
        ck_assert_msg(strncmp(msg, fns[k], strlen(fns[k])) == 0 && msg[strlen(fns[k])] == ':', "message \"%s\"",
                      msg);
        ck_assert_msg(strstr(msg, "sinprod_first_only") != NULL, "message \"%s\" does not name the op", msg);
        ck_assert_msg(all_sentinel(out, 4), "%s wrote on failure", fns[k]);
        tg_graph_clear_error(g);
    }
    /* first order through it works */
    double J[2], jv;
    ck_assert_int_eq(tg_jacobian(g, 1, &f, 2, x, J), TG_OK);
    ck_assert_int_eq(tg_jvp(g, 2, x, v, 1, &f, &jv), TG_OK);
    ck_assert_double_eq_tol(jv, J[0] + J[1], 1e-15 * fmax(1, fabs(jv)));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* Only second order through the op needs its second partials: an output
 * recorded after it, of the same variables, that does not go through it,
 * has its Hessian.  other = e^x y, H = [[e^x y, e^x] [e^x, 0]]. */
START_TEST(without_second_other_outputs_work)
{
    tg_graph *g = tg_graph_new();
    tg_node x[2] = { tg_var(g, "x", 0.5), tg_var(g, "y", 1.5) };
    (void)with_custom(g, &sinprod_first_only, x);
    tg_node other = tg_mul(g, tg_exp(g, x[0]), x[1]);
    double h[4];
    ck_assert_msg(tg_hessian(g, other, 2, x, h) == TG_OK, "%s", tg_graph_errmsg(g));
    ck_assert_rel(h[0], expl(0.5L) * 1.5L, 1e-15, "H[0][0]");
    ck_assert_rel(h[1], expl(0.5L), 1e-15, "H[0][1]");
    ck_assert_double_eq(h[3], 0.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("second-custom");
    TCase *tc = tcase_create("custom");
    tcase_add_test(tc, second_callback_is_used);
    tcase_add_test(tc, second_callback_defines_the_hessian);
    tcase_add_test(tc, without_second_fails_naming_the_op);
    tcase_add_test(tc, without_second_other_outputs_work);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
