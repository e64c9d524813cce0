/*
 * tg_hessian and tg_hvp on scalar graphs, against answers found another
 * way: Hessians in closed form (Rosenbrock in 2 and n dimensions, products,
 * exp(sin(x*y))), central differences of tg_backward's gradient, H v
 * computed from the full Hessian, and the same Hessian after a replay and
 * after recording again.  The Hessian is symmetric bit for bit.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "runner.h"
#include "second.h"

/* |got - want| <= tol * max(1, |want|), entry by entry. */
static void assert_close(const double *got, const long double *want, size_t n, double tol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++) {
        long double scale = fabsl(want[i]) > 1 ? fabsl(want[i]) : 1;
        long double e = fabsl((long double)got[i] - want[i]) / scale;
        ck_require_msg(e <= tol, "%s[%zu]: got %.17g, expected %.20Lg (error %.3Lg > %.3g)", what, i,
                       got[i], want[i], e, tol);
    }
}

static void assert_symmetric_bits(const double *h, size_t N, const char *what)
{
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < i; j++)
            ck_require_msg(memcmp(&h[i * N + j], &h[j * N + i], sizeof(double)) == 0,
                           "%s: H[%zu][%zu] = %a but H[%zu][%zu] = %a", what, i, j, h[i * N + j], j, i,
                           h[j * N + i]);
}

/* ---------------------------------------------------------- Rosenbrock */

/* f = 100 (y - x^2)^2 + (1 - x)^2 */
static tg_node rosen2(tg_graph *g, tg_node x, tg_node y)
{
    tg_node a = tg_sub(g, y, tg_mul(g, x, x));
    tg_node b = tg_sub(g, tg_const(g, 1.0), x);
    return tg_add(g, tg_mul(g, tg_const(g, 100.0), tg_mul(g, a, a)), tg_mul(g, b, b));
}

START_TEST(rosenbrock_2d_closed_form)
{
    const double pts[][2] = { { 1, 1 }, { -1.2, 1 }, { 0, 0 }, { 0.5, -3 }, { 1e3, -2e5 }, { -7.25, 49 } };
    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        tg_graph *g = tg_graph_new();
        tg_node x[2] = { tg_var(g, "x", pts[k][0]), tg_var(g, "y", pts[k][1]) };
        tg_node f = rosen2(g, x[0], x[1]);
        double h[4];
        ck_assert_int_eq(tg_hessian(g, f, 2, x, h), TG_OK);
        long double X = pts[k][0], Y = pts[k][1];
        const long double want[4] = { 1200 * X * X - 400 * Y + 2, -400 * X, -400 * X, 200 };
        char what[64];
        snprintf(what, sizeof what, "Rosenbrock H at (%g, %g)", pts[k][0], pts[k][1]);
        assert_close(h, want, 4, 1e-13, what);
        assert_symmetric_bits(h, 2, what);
        ck_assert_graph_ok(g);
        tg_graph_free(g);
    }
}
END_TEST

/* The chained n-D Rosenbrock, sum_{i<n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2:
 * a tridiagonal Hessian,
 *   H_ii = [i < n-1] (1200 x_i^2 - 400 x_{i+1} + 2) + [i > 0] 200,
 *   H_i,i+1 = -400 x_i,
 * and every other entry exactly 0 (no path couples those variables). */
START_TEST(rosenbrock_nd_tridiagonal)
{
    enum { N = 12 };
    uint64_t seed = 12;
    double p[N];
    rng_fill(&seed, p, N, -2, 2);
    tg_graph *g = tg_graph_new();
    tg_node x[N];
    for (size_t i = 0; i < N; i++) x[i] = tg_var(g, NULL, p[i]);
    tg_node f = tg_const(g, 0.0);
    for (size_t i = 0; i + 1 < N; i++) f = tg_add(g, f, rosen2(g, x[i], x[i + 1]));
    double *h = malloc(N * N * sizeof *h);
    long double *want = calloc(N * N, sizeof *want);
    ck_assert(h && want);
    ck_assert_int_eq(tg_hessian(g, f, N, x, h), TG_OK);
    for (size_t i = 0; i < N; i++) {
        long double xi = p[i];
        if (i + 1 < N) {
            want[i * N + i] += 1200 * xi * xi - 400 * (long double)p[i + 1] + 2;
            want[i * N + i + 1] = want[(i + 1) * N + i] = -400 * xi;
        }
        if (i > 0) want[i * N + i] += 200;
    }
    assert_close(h, want, N * N, 1e-13, "chained Rosenbrock");
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            if (i > j + 1 || j > i + 1)
                ck_require_msg(h[i * N + j] == 0, "H[%zu][%zu] = %g, not 0", i, j, h[i * N + j]);
    assert_symmetric_bits(h, N, "chained Rosenbrock");
    free(h);
    free(want);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------- products, compositions */

START_TEST(products_closed_form)
{
    tg_graph *g = tg_graph_new();
    const double X = 1.5, Y = -0.75, Z = 3.25;
    tg_node x[3] = { tg_var(g, "x", X), tg_var(g, "y", Y), tg_var(g, "z", Z) };
    /* x y z: H = [[0 z y] [z 0 x] [y x 0]], exactly */
    tg_node xyz = tg_mul(g, tg_mul(g, x[0], x[1]), x[2]);
    double h[9];
    ck_assert_int_eq(tg_hessian(g, xyz, 3, x, h), TG_OK);
    const double want[9] = { 0, Z, Y, Z, 0, X, Y, X, 0 };
    for (int i = 0; i < 9; i++) ck_assert_double_eq(h[i], want[i]);

    /* x^2 y^3: [[2 y^3, 6 x y^2], [6 x y^2, 6 x^2 y]] */
    tg_node p = tg_mul(g, tg_powc(g, x[0], 2.0), tg_powc(g, x[1], 3.0));
    double h2[4];
    ck_assert_int_eq(tg_hessian(g, p, 2, x, h2), TG_OK);
    long double lx = X, ly = Y;
    const long double w2[4] = { 2 * ly * ly * ly, 6 * lx * ly * ly, 6 * lx * ly * ly, 6 * lx * lx * ly };
    assert_close(h2, w2, 4, 1e-15, "x^2 y^3");

    /* x / y: [[0, -1/y^2], [-1/y^2, 2x/y^3]] */
    tg_node q = tg_div(g, x[0], x[1]);
    ck_assert_int_eq(tg_hessian(g, q, 2, x, h2), TG_OK);
    const long double w3[4] = { 0, -1 / (ly * ly), -1 / (ly * ly), 2 * lx / (ly * ly * ly) };
    assert_close(h2, w3, 4, 1e-15, "x / y");
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* f = exp(sin(u)), u = x y; with s = sin u, c = cos u:
 *   f_xx = f y^2 (c^2 - s),  f_yy = f x^2 (c^2 - s),  f_xy = f (x y (c^2 - s) + c) */
START_TEST(exp_sin_product_closed_form)
{
    const double pts[][2] = { { 0.3, 0.7 }, { -1.1, 2.5 }, { 2.0, 2.0 }, { 0, 0 }, { 10.5, -3.25 } };
    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        tg_graph *g = tg_graph_new();
        tg_node x[2] = { tg_var(g, NULL, pts[k][0]), tg_var(g, NULL, pts[k][1]) };
        tg_node f = tg_exp(g, tg_sin(g, tg_mul(g, x[0], x[1])));
        double h[4];
        ck_assert_int_eq(tg_hessian(g, f, 2, x, h), TG_OK);
        long double X = pts[k][0], Y = pts[k][1], u = X * Y, s = sinl(u), c = cosl(u), F = expl(s);
        const long double want[4] = { F * Y * Y * (c * c - s), F * (X * Y * (c * c - s) + c),
                                      F * (X * Y * (c * c - s) + c), F * X * X * (c * c - s) };
        char what[64];
        snprintf(what, sizeof what, "exp(sin(xy)) at (%g, %g)", pts[k][0], pts[k][1]);
        assert_close(h, want, 4, 1e-13, what);
        assert_symmetric_bits(h, 2, what);
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------- against differences, by H v */

/* A mixed function of four variables touching many ops. */
static tg_node mixed(tg_graph *g, const tg_node *x)
{
    tg_node a = x[0], b = x[1], c = x[2], d = x[3];
    tg_node t1 = tg_sigmoid(g, tg_mul(g, a, b));
    tg_node t2 = tg_mul(g, tg_log1p(g, tg_mul(g, c, c)), tg_tanh(g, d));
    tg_node t3 = tg_div(g, a, tg_add(g, tg_mul(g, b, b), tg_const(g, 1.0)));
    tg_node t4 = tg_hypot(g, tg_hypot(g, c, d), tg_const(g, 1.0));
    tg_node t5 = tg_mul(g, tg_atan2(g, a, tg_add(g, d, tg_const(g, 3.0))), tg_cos(g, c));
    tg_node t6 = tg_pow(g, tg_add(g, tg_mul(g, a, a), tg_const(g, 0.5)), tg_mul(g, b, tg_const(g, 0.3)));
    tg_node t7 = tg_mul(g, tg_erf(g, b), tg_softplus(g, tg_sub(g, c, a)));
    return tg_add(g, tg_add(g, tg_add(g, t1, t2), tg_add(g, t3, t4)), tg_add(g, tg_add(g, t5, t6), t7));
}

START_TEST(hessian_against_differences_of_gradients)
{
    uint64_t seed = 7;
    for (int trial = 0; trial < 20; trial++) {
        double p[4];
        rng_fill(&seed, p, 4, -1.5, 1.5);
        tg_graph *g = tg_graph_new();
        tg_node x[4];
        for (int i = 0; i < 4; i++) x[i] = tg_var(g, NULL, p[i]);
        tg_node f = mixed(g, x);
        ck_assert_graph_ok(g);
        double h[16], d[16];
        ck_assert_int_eq(tg_hessian(g, f, 4, x, h), TG_OK);
        hessian_by_differences(g, f, 4, x, 1e-5, d);
        size_t at;
        double e = max_scaled_diff(h, d, 16, &at);
        ck_assert_msg(e < 1e-7, "trial %d: H[%zu] = %.17g, differences %.17g (%.3g)", trial, at, h[at], d[at], e);
        assert_symmetric_bits(h, 4, "mixed");
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(hvp_is_hessian_times_v)
{
    uint64_t seed = 99;
    for (int trial = 0; trial < 20; trial++) {
        double p[4], v[4], h[16], hv[4];
        rng_fill(&seed, p, 4, -1.5, 1.5);
        rng_fill(&seed, v, 4, -2, 2);
        tg_graph *g = tg_graph_new();
        tg_node x[4];
        for (int i = 0; i < 4; i++) x[i] = tg_var(g, NULL, p[i]);
        tg_node f = mixed(g, x);
        ck_assert_int_eq(tg_hessian(g, f, 4, x, h), TG_OK);
        ck_assert_int_eq(tg_hvp(g, f, 4, x, v, hv), TG_OK);
        for (int i = 0; i < 4; i++) {
            long double want = 0, mag = 0;
            for (int j = 0; j < 4; j++) {
                want += (long double)h[i * 4 + j] * v[j];
                mag += fabsl((long double)h[i * 4 + j] * v[j]);
            }
            ck_assert_msg(fabsl(hv[i] - want) <= 1e-14L * (mag > 1 ? mag : 1),
                          "trial %d: (Hv)[%d] = %.17g, H times v = %.20Lg", trial, i, hv[i], want);
        }
        /* each column of H is H e_j, bit for bit when H is built from H e_j */
        for (int j = 0; j < 4; j++) {
            double e[4] = { 0 }, col[4];
            e[j] = 1;
            ck_assert_int_eq(tg_hvp(g, f, 4, x, e, col), TG_OK);
            for (int i = 0; i < 4; i++)
                ck_assert_msg(fabs(col[i] - h[i * 4 + j]) <= 1e-14 * fmax(1, fabs(h[i * 4 + j])),
                              "H e_%d [%d] = %.17g, H[%d][%d] = %.17g", j, i, col[i], i, j, h[i * 4 + j]);
        }
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------------- the entry rules */

/* A variable no output depends on is a zero row and column; x may repeat
 * a variable the output uses once; the output may be a variable itself. */
START_TEST(unused_variable_and_variable_as_output)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 0.5), b = tg_var(g, "b", 2.0), unused = tg_var(g, "u", 9.0);
    tg_node f = tg_mul(g, tg_mul(g, a, a), b);   /* H = [[2b 2a] [2a 0]] */
    tg_node x[3] = { a, unused, b };
    double h[9];
    ck_assert_int_eq(tg_hessian(g, f, 3, x, h), TG_OK);
    const double want[9] = { 4.0, 0, 1.0, 0, 0, 0, 1.0, 0, 0 };
    for (int i = 0; i < 9; i++) ck_assert_double_eq(h[i], want[i]);
    double v[3] = { 1, 5, -1 }, hv[3];
    ck_assert_int_eq(tg_hvp(g, f, 3, x, v, hv), TG_OK);
    ck_assert_double_eq(hv[0], 4.0 - 1.0);
    ck_assert_double_eq(hv[1], 0.0);
    ck_assert_double_eq(hv[2], 1.0);
    /* y = a: every second derivative is 0 */
    ck_assert_int_eq(tg_hessian(g, a, 3, x, h), TG_OK);
    for (int i = 0; i < 9; i++) ck_assert_double_eq(h[i], 0.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* No variables: nothing to compute, nothing written, success. */
START_TEST(zero_variables)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 0.5);
    tg_node f = tg_exp(g, a);
    ck_assert_int_eq(tg_hessian(g, f, 0, NULL, NULL), TG_OK);
    ck_assert_int_eq(tg_hvp(g, f, 0, NULL, NULL, NULL), TG_OK);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ----------------------------------------------------- replay, re-record */

static void record_mixed_at(tg_graph *g, const double *p, tg_node *x, tg_node *f)
{
    for (int i = 0; i < 4; i++) x[i] = tg_var(g, NULL, p[i]);
    *f = mixed(g, x);
    ck_assert_graph_ok(g);
}

START_TEST(replay_equals_rerecord)
{
    const double p0[4] = { 0.3, -0.4, 1.1, 0.2 }, p1[4] = { -0.9, 0.6, 0.25, -1.3 };
    const double v[4] = { 1.0, -0.5, 0.25, 2.0 };
    /* recorded at p1 */
    tg_graph *fresh = tg_graph_new();
    tg_node xf[4], ff;
    record_mixed_at(fresh, p1, xf, &ff);
    double hf[16], vf[4];
    ck_assert_int_eq(tg_hessian(fresh, ff, 4, xf, hf), TG_OK);
    ck_assert_int_eq(tg_hvp(fresh, ff, 4, xf, v, vf), TG_OK);

    for (int mode = 0; mode < 3; mode++) {
        /* recorded at p0, a second-order call there, then moved to p1:
         * with no tg_forward (the call replays), after tg_forward, and
         * after a tg_backward that replayed */
        tg_graph *g = tg_graph_new();
        tg_node x[4], f;
        record_mixed_at(g, p0, x, &f);
        double h[16], hv[4];
        ck_assert_int_eq(tg_hessian(g, f, 4, x, h), TG_OK);
        set_entries(g, 4, x, p1);
        if (mode == 1) ck_assert_int_eq(tg_forward(g), TG_OK);
        if (mode == 2) ck_assert_int_eq(tg_backward(g, f), TG_OK);
        ck_assert_int_eq(tg_hvp(g, f, 4, x, v, hv), TG_OK);
        ck_assert_msg(memcmp(hv, vf, sizeof hv) == 0, "mode %d: H v after the replay differs", mode);
        ck_assert_int_eq(tg_hessian(g, f, 4, x, h), TG_OK);
        ck_assert_msg(memcmp(h, hf, sizeof h) == 0, "mode %d: H after the replay differs", mode);
        ck_assert_double_eq(tg_value(g, f), tg_value(fresh, ff));
        tg_graph_free(g);
    }
    tg_graph_free(fresh);
}
END_TEST

/* The graph's gradients of an earlier tg_backward stay as they were. */
START_TEST(graph_gradients_untouched)
{
    const double p[4] = { 0.3, -0.4, 1.1, 0.2 };
    tg_graph *g = tg_graph_new();
    tg_node x[4], f;
    record_mixed_at(g, p, x, &f);
    tg_node other = tg_mul(g, x[0], tg_exp(g, x[1]));
    ck_assert_int_eq(tg_backward(g, other), TG_OK);
    size_t n = tg_graph_size(g);
    double *before = malloc(n * sizeof *before);
    ck_assert_ptr_nonnull(before);
    for (size_t i = 0; i < n; i++) before[i] = tg_grad(g, tg_node_at(g, i));
    double h[16], v[4] = { 1, 2, 3, 4 }, out[16];
    ck_assert_int_eq(tg_hessian(g, f, 4, x, h), TG_OK);
    ck_assert_int_eq(tg_hvp(g, f, 4, x, v, out), TG_OK);
    ck_assert_int_eq(tg_jvp(g, 4, x, v, 1, &f, out), TG_OK);
    ck_assert_int_eq(tg_vjp(g, 1, &f, v, 4, x, out), TG_OK);
    ck_assert_int_eq(tg_jacobian(g, 1, &f, 4, x, out), TG_OK);
    for (size_t i = 0; i < n; i++) {
        double now = tg_grad(g, tg_node_at(g, i));
        ck_assert_msg(memcmp(&now, &before[i], sizeof now) == 0, "node %zu's gradient went from %g to %g", i,
                      before[i], now);
    }
    free(before);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------- the kinks */

/* relu, abs, min, max have second derivative 0 away from the kink, so the
 * Hessian of an expression through them is that of the branch taken. */
START_TEST(kinks_second_derivative_zero)
{
    const double pts[][2] = { { 1.5, -0.5 }, { -1.5, 0.5 }, { 0.75, 2.0 }, { -2.0, -3.0 } };
    for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++) {
        double X = pts[k][0], Y = pts[k][1], h[4];
        tg_graph *g = tg_graph_new();
        tg_node x[2] = { tg_var(g, NULL, X), tg_var(g, NULL, Y) };
        /* relu(x) y + abs(x) x: branch x>0: x y + x^2; x<0: -x^2 */
        tg_node f = tg_add(g, tg_mul(g, tg_relu(g, x[0]), x[1]), tg_mul(g, tg_abs(g, x[0]), x[0]));
        ck_assert_int_eq(tg_hessian(g, f, 2, x, h), TG_OK);
        double s = X > 0 ? 1 : -1, r = X > 0 ? 1 : 0;
        const double w1[4] = { 2 * s, r, r, 0 };
        for (int i = 0; i < 4; i++)
            ck_assert_msg(h[i] == w1[i], "relu/abs at (%g, %g): H[%d] = %g, want %g", X, Y, i, h[i], w1[i]);
        /* min(x^2, y) * y and max(x^2, y) * x */
        tg_node m = tg_mul(g, tg_min(g, tg_mul(g, x[0], x[0]), x[1]), x[1]);
        ck_assert_int_eq(tg_hessian(g, m, 2, x, h), TG_OK);
        int xsq_smaller = X * X < Y;   /* min takes x^2: x^2 y; else y^2 */
        const double w2[4] = { xsq_smaller ? 2 * Y : 0, xsq_smaller ? 2 * X : 0, xsq_smaller ? 2 * X : 0,
                               xsq_smaller ? 0 : 2 };
        for (int i = 0; i < 4; i++)
            ck_assert_msg(h[i] == w2[i], "min at (%g, %g): H[%d] = %g, want %g", X, Y, i, h[i], w2[i]);
        tg_node M = tg_mul(g, tg_max(g, tg_mul(g, x[0], x[0]), x[1]), x[0]);
        ck_assert_int_eq(tg_hessian(g, M, 2, x, h), TG_OK);
        /* max takes x^2: x^3, H = [[6x 0] [0 0]]; else x y: [[0 1] [1 0]] */
        const double w3[4] = { xsq_smaller ? 0 : 6 * X, xsq_smaller ? 1 : 0, xsq_smaller ? 1 : 0, 0 };
        for (int i = 0; i < 4; i++)
            ck_assert_msg(h[i] == w3[i], "max at (%g, %g): H[%d] = %g, want %g", X, Y, i, h[i], w3[i]);
        ck_assert_graph_ok(g);
        tg_graph_free(g);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hessian");
    TCase *tc = tcase_create("hessian");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, rosenbrock_2d_closed_form);
    tcase_add_test(tc, rosenbrock_nd_tridiagonal);
    tcase_add_test(tc, products_closed_form);
    tcase_add_test(tc, exp_sin_product_closed_form);
    tcase_add_test(tc, hessian_against_differences_of_gradients);
    tcase_add_test(tc, hvp_is_hessian_times_v);
    tcase_add_test(tc, unused_variable_and_variable_as_output);
    tcase_add_test(tc, zero_variables);
    tcase_add_test(tc, replay_equals_rerecord);
    tcase_add_test(tc, graph_gradients_untouched);
    tcase_add_test(tc, kinks_second_derivative_zero);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
