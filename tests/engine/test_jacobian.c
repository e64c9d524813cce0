/*
 * tg_jvp, tg_vjp and tg_jacobian: the Jacobian of several outputs (scalars
 * and a tensor) w.r.t. several inputs (scalars and a tensor) against one
 * tg_backward per scalar output and the closed form of the tensor output;
 * J v and w^T J against the full Jacobian; more outputs than inputs and
 * the reverse; a variable as an output; an input nothing depends on; after
 * a replay the same as recorded there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "rng.h"
#include "runner.h"
#include "second.h"

/* Inputs: a, b (scalars), T (2x2 tensor): N = 4 + 2 = 6 entries.
 * Outputs: f1 = a sin(b) + sum(T), f2 = exp(a b) / (1 + a^2), Y = exp(T a)
 * (2x2), and b itself: M = 1 + 1 + 4 + 1 = 7 entries. */
typedef struct vecfn {
    tg_node x[3], y[4];
    double a, b, t[4];
} vecfn;

static void record(tg_graph *g, vecfn *v, double a, double b, const double *t)
{
    v->a = a;
    v->b = b;
    memcpy(v->t, t, sizeof v->t);
    v->x[0] = tg_var(g, "a", a);
    v->x[1] = tg_var(g, "b", b);
    v->x[2] = tg_tensor_var(g, "T", 2, 2, t);
    v->y[0] = tg_add(g, tg_mul(g, v->x[0], tg_sin(g, v->x[1])), tg_sum(g, v->x[2]));
    v->y[1] = tg_div(g, tg_exp(g, tg_mul(g, v->x[0], v->x[1])),
                     tg_add(g, tg_const(g, 1.0), tg_mul(g, v->x[0], v->x[0])));
    v->y[2] = tg_exp(g, tg_mul(g, v->x[2], v->x[0]));
    v->y[3] = v->x[1];
    ck_assert_graph_ok(g);
}

enum { N = 6, M = 7 };

/* The Jacobian another way: rows of the scalar outputs by tg_backward,
 * the tensor output's rows in closed form (dY_k/dT_k = a Y_k,
 * dY_k/da = T_k Y_k), the variable's row a unit row. */
static void jacobian_reference(tg_graph *g, const vecfn *v, double *J)
{
    memset(J, 0, M * N * sizeof *J);
    gradient_of(g, v->y[0], 3, v->x, J);
    gradient_of(g, v->y[1], 3, v->x, J + N);
    for (int k = 0; k < 4; k++) {
        double Yk = exp(v->t[k] * v->a);
        J[(2 + k) * N + 0] = v->t[k] * Yk;
        J[(2 + k) * N + 2 + k] = v->a * Yk;
    }
    J[6 * N + 1] = 1.0;
}

static const double T0[4] = { 0.5, -1.0, 0.25, 2.0 };

START_TEST(jacobian_against_reverse_sweeps_and_closed_form)
{
    tg_graph *g = tg_graph_new();
    vecfn v;
    record(g, &v, 0.7, -1.3, T0);
    double J[M * N], R[M * N];
    ck_assert_int_eq(tg_jacobian(g, 4, v.y, 3, v.x, J), TG_OK);
    jacobian_reference(g, &v, R);
    size_t at;
    double e = max_scaled_diff(J, R, M * N, &at);
    ck_assert_msg(e <= 1e-15, "J[%zu][%zu] = %.17g, reference %.17g", at / N, at % N, J[at], R[at]);
    /* structural zeros are exact */
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 4; j++)
            if (j != k) ck_assert_double_eq(J[(2 + k) * N + 2 + j], 0.0);
    tg_graph_free(g);
}
END_TEST

START_TEST(jvp_and_vjp_against_the_jacobian)
{
    tg_graph *g = tg_graph_new();
    vecfn v;
    record(g, &v, -0.4, 0.9, T0);
    double J[M * N];
    ck_assert_int_eq(tg_jacobian(g, 4, v.y, 3, v.x, J), TG_OK);
    uint64_t seed = 5;
    for (int trial = 0; trial < 10; trial++) {
        double dir[N], w[M], jv[M], wj[N];
        rng_fill(&seed, dir, N, -1, 1);
        rng_fill(&seed, w, M, -1, 1);
        ck_assert_int_eq(tg_jvp(g, 3, v.x, dir, 4, v.y, jv), TG_OK);
        ck_assert_int_eq(tg_vjp(g, 4, v.y, w, 3, v.x, wj), TG_OK);
        for (int i = 0; i < M; i++) {
            long double s = 0, mag = 0;
            for (int j = 0; j < N; j++) {
                s += (long double)J[i * N + j] * dir[j];
                mag += fabsl((long double)J[i * N + j] * dir[j]);
            }
            ck_assert_msg(fabsl(jv[i] - s) <= 1e-15L * (mag > 1 ? mag : 1), "(J v)[%d] = %.17g, want %.20Lg",
                          i, jv[i], s);
        }
        for (int j = 0; j < N; j++) {
            long double s = 0, mag = 0;
            for (int i = 0; i < M; i++) {
                s += (long double)w[i] * J[i * N + j];
                mag += fabsl((long double)w[i] * J[i * N + j]);
            }
            ck_assert_msg(fabsl(wj[j] - s) <= 1e-15L * (mag > 1 ? mag : 1), "(w J)[%d] = %.17g, want %.20Lg",
                          j, wj[j], s);
        }
    }
    /* a unit w picks a row of J; a unit v a column */
    for (int i = 0; i < M; i++) {
        double w[M] = { 0 }, wj[N];
        w[i] = 1;
        ck_assert_int_eq(tg_vjp(g, 4, v.y, w, 3, v.x, wj), TG_OK);
        for (int j = 0; j < N; j++)
            ck_assert_msg(fabs(wj[j] - J[i * N + j]) <= 1e-15 * fmax(1, fabs(J[i * N + j])),
                          "e_%d^T J [%d] = %.17g, J = %.17g", i, j, wj[j], J[i * N + j]);
    }
    for (int j = 0; j < N; j++) {
        double dir[N] = { 0 }, jv[M];
        dir[j] = 1;
        ck_assert_int_eq(tg_jvp(g, 3, v.x, dir, 4, v.y, jv), TG_OK);
        for (int i = 0; i < M; i++)
            ck_assert_msg(fabs(jv[i] - J[i * N + j]) <= 1e-15 * fmax(1, fabs(J[i * N + j])),
                          "J e_%d [%d] = %.17g, J = %.17g", j, i, jv[i], J[i * N + j]);
    }
    tg_graph_free(g);
}
END_TEST

/* Many inputs, one output (reverse is cheaper) and one input, many outputs
 * (forward is cheaper): either way the same numbers as the other call. */
START_TEST(wide_and_tall_jacobians)
{
    enum { K = 9 };
    uint64_t seed = 31;
    double p[K];
    rng_fill(&seed, p, K, -1, 1);
    tg_graph *g = tg_graph_new();
    tg_node x[K], y[K];
    tg_node s = tg_const(g, 0.0);
    for (int i = 0; i < K; i++) {
        x[i] = tg_var(g, NULL, p[i]);
        s = tg_add(g, s, tg_mul(g, tg_tanh(g, x[i]), tg_const(g, (double)(i + 1))));
    }
    for (int i = 0; i < K; i++) y[i] = tg_mul(g, tg_sin(g, x[0]), tg_const(g, (double)i));
    ck_assert_graph_ok(g);
    /* wide: 1 x K, d s / d x_i = (i + 1) (1 - tanh^2 x_i) */
    double row[K];
    ck_assert_int_eq(tg_jacobian(g, 1, &s, K, x, row), TG_OK);
    for (int i = 0; i < K; i++) {
        long double c = coshl(p[i]);
        ck_assert_rel(row[i], (i + 1) / (c * c), 1e-15, "wide row");
    }
    /* tall: K x 1, d y_i / d x_0 = i cos x_0 */
    double col[K];
    ck_assert_int_eq(tg_jacobian(g, K, y, 1, x, col), TG_OK);
    for (int i = 0; i < K; i++) ck_assert_rel(col[i], i * cosl(p[0]), 1e-15, "tall column");
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(jacobian_after_replay_equals_rerecord)
{
    const double T1[4] = { -0.3, 0.8, 1.5, -2.0 };
    tg_graph *fresh = tg_graph_new();
    vecfn vf;
    record(fresh, &vf, 1.2, 0.4, T1);
    double Jf[M * N], jvf[M], wjf[N];
    const double dir[N] = { 1, -1, 0.5, 0.25, -2, 3 }, w[M] = { 1, 2, 3, 4, 5, 6, 7 };
    ck_assert_int_eq(tg_jacobian(fresh, 4, vf.y, 3, vf.x, Jf), TG_OK);
    ck_assert_int_eq(tg_jvp(fresh, 3, vf.x, dir, 4, vf.y, jvf), TG_OK);
    ck_assert_int_eq(tg_vjp(fresh, 4, vf.y, w, 3, vf.x, wjf), TG_OK);

    for (int call = 0; call < 3; call++) {
        tg_graph *g = tg_graph_new();
        vecfn v;
        record(g, &v, 0.7, -1.3, T0);
        const double p1[N] = { 1.2, 0.4, -0.3, 0.8, 1.5, -2.0 };
        set_entries(g, 3, v.x, p1);   /* the tape replays inside the call */
        double out[M * N];
        if (call == 0) {
            ck_assert_int_eq(tg_jacobian(g, 4, v.y, 3, v.x, out), TG_OK);
            ck_assert_msg(memcmp(out, Jf, sizeof Jf) == 0, "jacobian after replay differs");
        } else if (call == 1) {
            ck_assert_int_eq(tg_jvp(g, 3, v.x, dir, 4, v.y, out), TG_OK);
            ck_assert_msg(memcmp(out, jvf, sizeof jvf) == 0, "jvp after replay differs");
        } else {
            ck_assert_int_eq(tg_vjp(g, 4, v.y, w, 3, v.x, out), TG_OK);
            ck_assert_msg(memcmp(out, wjf, sizeof wjf) == 0, "vjp after replay differs");
        }
        /* and the values are those of the new point */
        ck_assert_double_eq(tg_value(g, v.y[1]), tg_value(fresh, vf.y[1]));
        tg_graph_free(g);
    }
    tg_graph_free(fresh);
}
END_TEST

/* A JVP is the derivative along v: (f(p + h v) - f(p - h v)) / 2h. */
START_TEST(jvp_against_directional_difference)
{
    tg_graph *g = tg_graph_new();
    vecfn v;
    record(g, &v, 0.3, 0.6, T0);
    const double p[N] = { 0.3, 0.6, 0.5, -1.0, 0.25, 2.0 };
    const double dir[N] = { 0.5, -1, 1, 0.25, -0.75, 0.1 };
    double jv[M];
    ck_assert_int_eq(tg_jvp(g, 3, v.x, dir, 4, v.y, jv), TG_OK);
    const double h = 1e-6;
    double up[M], down[M], q[N];
    for (int side = 0; side < 2; side++) {
        for (int j = 0; j < N; j++) q[j] = p[j] + (side ? -h : h) * dir[j];
        set_entries(g, 3, v.x, q);
        ck_assert_int_eq(tg_forward(g), TG_OK);
        double *o = side ? down : up;
        o[0] = tg_value(g, v.y[0]);
        o[1] = tg_value(g, v.y[1]);
        ck_assert_int_eq(tg_tensor_get(g, v.y[2], o + 2), TG_OK);
        o[6] = tg_value(g, v.y[3]);
    }
    for (int i = 0; i < M; i++) {
        double d = (up[i] - down[i]) / (2 * h);
        ck_assert_msg(fabs(jv[i] - d) <= 1e-8 * fmax(1, fabs(d)), "(J v)[%d] = %.17g, difference %.17g", i,
                      jv[i], d);
    }
    tg_graph_free(g);
}
END_TEST

/* A custom op's first partials carry tangents and adjoints whether or not
 * it has second partials. */
static double cube_value(void *ctx, const double *x) { (void)ctx; return x[0] * x[0] * x[0]; }
static void cube_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = 3 * x[0] * x[0];
}

START_TEST(first_order_through_a_custom_op_without_second)
{
    static const tg_custom_op cube = { "cube", 1, cube_value, cube_partials, NULL, NULL };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.5);
    tg_node y = tg_mul(g, tg_custom(g, &cube, &x), tg_const(g, 2.0));
    double v = 1.0, out;
    ck_assert_int_eq(tg_jvp(g, 1, &x, &v, 1, &y, &out), TG_OK);
    ck_assert_double_eq_tol(out, 6 * 1.5 * 1.5, 1e-15);
    ck_assert_int_eq(tg_vjp(g, 1, &y, &v, 1, &x, &out), TG_OK);
    ck_assert_double_eq_tol(out, 6 * 1.5 * 1.5, 1e-15);
    ck_assert_int_eq(tg_jacobian(g, 1, &y, 1, &x, &out), TG_OK);
    ck_assert_double_eq_tol(out, 6 * 1.5 * 1.5, 1e-15);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jacobian");
    TCase *tc = tcase_create("jacobian");
    tcase_add_test(tc, jacobian_against_reverse_sweeps_and_closed_form);
    tcase_add_test(tc, jvp_and_vjp_against_the_jacobian);
    tcase_add_test(tc, wide_and_tall_jacobians);
    tcase_add_test(tc, jacobian_after_replay_equals_rerecord);
    tcase_add_test(tc, jvp_against_directional_difference);
    tcase_add_test(tc, first_order_through_a_custom_op_without_second);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
