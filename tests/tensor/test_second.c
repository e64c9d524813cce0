/*
 * Forward mode and second order through the tensor ops, against the same
 * function built from scalar nodes (twin.h): for each op, a tensor output
 * Y of tensor variables, its Jacobian (tg_jacobian) and J v (tg_jvp), and
 * the Hessian and H v of f = sum(tanh(Y) * K) (K a constant of Y's shape),
 * each compared with its scalar twin's, entry for entry in the same order.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "rng.h"
#include "runner.h"
#include "twin.h"

enum { MAX_IN = 3, MAX_ENTRIES = 32 };

typedef struct shape { size_t r, c; double lo, hi; } shape;

/* One op under test: its inputs' shapes (and the range their values are
 * drawn from), and the output built both ways. */
typedef struct tcase_def {
    const char *name;
    int nin;
    shape in[MAX_IN];
    tg_node (*tensor)(tg_graph *g, const tg_node *x, const tg_node *c);
    smat (*twin)(tg_graph *g, const smat *x, const smat *c);
} tcase_def;

/* The constants each case may use: c[0] 2x3 (one-hot rows), c[1] 2x3. */
static const double ONEHOT[6] = { 0, 1, 0, 1, 0, 0 };
static const double C23[6] = { 0.5, -1, 2, 0.25, 1.5, -0.75 };

static smat scalar_as_smat(tg_node n)
{
    smat m = smat_new(1, 1);
    m.e[0] = n;
    return m;
}

static tg_node t_matmul(tg_graph *g, const tg_node *x, const tg_node *c) { (void)c; return tg_matmul(g, x[0], x[1]); }
static smat s_matmul(tg_graph *g, const smat *x, const smat *c) { (void)c; return smat_matmul(g, x[0], x[1], 0); }
static tg_node t_matmul_ta(tg_graph *g, const tg_node *x, const tg_node *c)
{
    (void)c;
    return tg_matmul_ex(g, x[0], x[1], TG_TRANS_A);
}
static smat s_matmul_ta(tg_graph *g, const smat *x, const smat *c) { (void)c; return smat_matmul(g, x[0], x[1], TG_TRANS_A); }
static tg_node t_matmul_tb(tg_graph *g, const tg_node *x, const tg_node *c)
{
    (void)c;
    return tg_matmul_ex(g, x[0], x[1], TG_TRANS_B);
}
static smat s_matmul_tb(tg_graph *g, const smat *x, const smat *c) { (void)c; return smat_matmul(g, x[0], x[1], TG_TRANS_B); }
/* (A + row) * col, broadcasting both ways */
static tg_node t_bcast(tg_graph *g, const tg_node *x, const tg_node *c)
{
    (void)c;
    return tg_mul(g, tg_add(g, x[0], x[1]), x[2]);
}
static smat s_bcast(tg_graph *g, const smat *x, const smat *c)
{
    (void)c;
    smat s = smat_binary(g, tg_add, x[0], x[1]);
    smat y = smat_binary(g, tg_mul, s, x[2]);
    smat_free(&s);
    return y;
}
/* A * s with s a scalar variable, plus A / col */
static tg_node t_scalar_bcast(tg_graph *g, const tg_node *x, const tg_node *c)
{
    (void)c;
    return tg_add(g, tg_mul(g, x[0], x[1]), tg_div(g, x[0], x[2]));
}
static smat s_scalar_bcast(tg_graph *g, const smat *x, const smat *c)
{
    (void)c;
    smat p = smat_binary(g, tg_mul, x[0], x[1]), q = smat_binary(g, tg_div, x[0], x[2]);
    smat y = smat_binary(g, tg_add, p, q);
    smat_free(&p);
    smat_free(&q);
    return y;
}
static tg_node t_sum(tg_graph *g, const tg_node *x, const tg_node *c) { (void)c; return tg_sum(g, tg_mul(g, x[0], x[0])); }
static smat s_sum(tg_graph *g, const smat *x, const smat *c)
{
    (void)c;
    smat sq = smat_binary(g, tg_mul, x[0], x[0]);
    tg_node s = smat_sum(g, sq);
    smat_free(&sq);
    return scalar_as_smat(s);
}
static tg_node t_mean(tg_graph *g, const tg_node *x, const tg_node *c) { (void)c; return tg_mean(g, tg_exp(g, x[0])); }
static smat s_mean(tg_graph *g, const smat *x, const smat *c)
{
    (void)c;
    smat e = smat_unary(g, tg_exp, x[0]);
    tg_node s = smat_mean(g, e);
    smat_free(&e);
    return scalar_as_smat(s);
}
static tg_node t_softmax(tg_graph *g, const tg_node *x, const tg_node *c) { (void)c; return tg_softmax(g, x[0]); }
static smat s_softmax(tg_graph *g, const smat *x, const smat *c) { (void)c; return smat_softmax(g, x[0]); }
static tg_node t_xent(tg_graph *g, const tg_node *x, const tg_node *c) { return tg_softmax_cross_entropy(g, x[0], c[0]); }
static smat s_xent(tg_graph *g, const smat *x, const smat *c) { return scalar_as_smat(smat_xent(g, x[0], c[0])); }
static tg_node t_relu(tg_graph *g, const tg_node *x, const tg_node *c)
{
    (void)c;
    return tg_mul(g, tg_relu(g, x[0]), tg_mul(g, x[0], x[1]));
}
static smat s_relu(tg_graph *g, const smat *x, const smat *c)
{
    (void)c;
    smat r = smat_unary(g, tg_relu, x[0]), p = smat_binary(g, tg_mul, x[0], x[1]);
    smat y = smat_binary(g, tg_mul, r, p);
    smat_free(&r);
    smat_free(&p);
    return y;
}
/* elementwise functions of one and two tensors */
static tg_node t_elementwise(tg_graph *g, const tg_node *x, const tg_node *c)
{
    tg_node a = tg_add(g, tg_log1p(g, tg_mul(g, x[0], x[0])), tg_sigmoid(g, tg_mul(g, x[0], c[1])));
    tg_node b = tg_add(g, tg_pow(g, x[1], x[0]), tg_atan2(g, x[0], x[1]));
    tg_node d = tg_add(g, tg_hypot(g, x[0], x[1]), tg_mul(g, tg_sqrt(g, x[1]), tg_erf(g, x[0])));
    tg_node e = tg_add(g, tg_max(g, x[0], x[1]), tg_abs(g, x[0]));
    return tg_add(g, tg_add(g, a, b), tg_add(g, d, e));
}
static smat s_elementwise(tg_graph *g, const smat *x, const smat *c)
{
    smat sq = smat_binary(g, tg_mul, x[0], x[0]), l = smat_unary(g, tg_log1p, sq);
    smat xc = smat_binary(g, tg_mul, x[0], c[1]), s = smat_unary(g, tg_sigmoid, xc);
    smat a = smat_binary(g, tg_add, l, s);
    smat p = smat_binary(g, tg_pow, x[1], x[0]), t = smat_binary(g, tg_atan2, x[0], x[1]);
    smat b = smat_binary(g, tg_add, p, t);
    smat h = smat_binary(g, tg_hypot, x[0], x[1]);
    smat r = smat_unary(g, tg_sqrt, x[1]), er = smat_unary(g, tg_erf, x[0]), re = smat_binary(g, tg_mul, r, er);
    smat d = smat_binary(g, tg_add, h, re);
    smat mx = smat_binary(g, tg_max, x[0], x[1]), ab = smat_unary(g, tg_abs, x[0]);
    smat e = smat_binary(g, tg_add, mx, ab);
    smat ab2 = smat_binary(g, tg_add, a, b), de = smat_binary(g, tg_add, d, e);
    smat y = smat_binary(g, tg_add, ab2, de);
    smat *tmp[] = { &sq, &l, &xc, &s, &a, &p, &t, &b, &h, &r, &er, &re, &d, &mx, &ab, &e, &ab2, &de };
    for (size_t i = 0; i < sizeof tmp / sizeof tmp[0]; i++) smat_free(tmp[i]);
    return y;
}

static const tcase_def cases[] = {
    { "matmul", 2, { { 2, 3, -1, 1 }, { 3, 2, -1, 1 } }, t_matmul, s_matmul },
    { "matmul_ex A^T", 2, { { 3, 2, -1, 1 }, { 3, 2, -1, 1 } }, t_matmul_ta, s_matmul_ta },
    { "matmul_ex B^T", 2, { { 2, 3, -1, 1 }, { 2, 3, -1, 1 } }, t_matmul_tb, s_matmul_tb },
    { "add and mul broadcasting a row and a column", 3, { { 2, 3, -1, 1 }, { 1, 3, -1, 1 }, { 2, 1, -1, 1 } },
      t_bcast, s_bcast },
    { "scalar and column broadcasting, div", 3, { { 2, 3, -1, 1 }, { 1, 1, -1, 1 }, { 2, 1, 0.5, 2 } },
      t_scalar_bcast, s_scalar_bcast },
    { "sum", 1, { { 2, 3, -1, 1 } }, t_sum, s_sum },
    { "mean", 1, { { 2, 3, -1, 1 } }, t_mean, s_mean },
    { "softmax", 1, { { 2, 3, -2, 2 } }, t_softmax, s_softmax },
    { "softmax_cross_entropy", 1, { { 2, 3, -2, 2 } }, t_xent, s_xent },
    { "relu", 2, { { 2, 3, -1, 1 }, { 2, 3, -1, 1 } }, t_relu, s_relu },
    { "elementwise functions", 2, { { 2, 3, -1, 1 }, { 2, 3, 0.5, 2 } }, t_elementwise, s_elementwise },
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static void expect_close_scaled(const double *got, const double *want, size_t n, double tol, const char *what,
                                const char *name)
{
    char label[128];
    snprintf(label, sizeof label, "%s: %s", name, what);
    expect_close(got, want, n, tol, label);
}

START_TEST(tensor_op_against_scalar_twin)
{
    const tcase_def *c = &cases[_i];
    uint64_t seed = 1000 + (uint64_t)_i;
    double data[MAX_IN][MAX_ENTRIES];
    size_t N = 0;
    for (int k = 0; k < c->nin; k++) {
        size_t len = c->in[k].r * c->in[k].c;
        /* kept off relu's, abs's and max's kinks */
        rng_fill_away_from_zero(&seed, data[k], len, c->in[k].lo, c->in[k].hi, 0.05);
        N += len;
    }
    if (c->tensor == t_elementwise)
        for (size_t e = 0; e < 6; e++)   /* max(a, b): a and b apart */
            if (fabs(data[0][e] - data[1][e]) < 0.05) data[1][e] += 0.1;

    /* the tensor graph */
    tg_graph *gt = tg_graph_new();
    tg_node xt[MAX_IN], ct[2];
    for (int k = 0; k < c->nin; k++) xt[k] = tg_tensor_var(gt, NULL, c->in[k].r, c->in[k].c, data[k]);
    ct[0] = tg_tensor_const(gt, 2, 3, ONEHOT);
    ct[1] = tg_tensor_const(gt, 2, 3, C23);
    tg_node Y = c->tensor(gt, xt, ct);
    size_t yr, yc;
    ck_assert_msg(tg_graph_status(gt) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(gt));
    ck_assert_int_eq(tg_shape(gt, Y, &yr, &yc), TG_OK);
    size_t M = yr * yc;
    double kdata[MAX_ENTRIES];
    rng_fill(&seed, kdata, M, -1, 1);
    tg_node K = tg_tensor_const(gt, yr, yc, kdata);
    tg_node f = tg_sum(gt, tg_mul(gt, tg_tanh(gt, Y), K));
    ck_assert_graph_ok(gt);

    /* the twin, its variables in the same order */
    tg_graph *gs = tg_graph_new();
    smat xs[MAX_IN], cs[2];
    tg_node *xl = malloc(N * sizeof *xl);
    ck_assert_ptr_nonnull(xl);
    size_t at = 0;
    for (int k = 0; k < c->nin; k++) {
        xs[k] = smat_vars(gs, c->in[k].r, c->in[k].c, data[k]);
        for (size_t e = 0; e < c->in[k].r * c->in[k].c; e++) xl[at++] = xs[k].e[e];
    }
    cs[0] = smat_consts(gs, 2, 3, ONEHOT);
    cs[1] = smat_consts(gs, 2, 3, C23);
    smat Ys = c->twin(gs, xs, cs);
    ck_assert_uint_eq(Ys.rows * Ys.cols, M);
    smat Ks = smat_consts(gs, yr, yc, kdata);
    smat th = smat_unary(gs, tg_tanh, Ys), pr = smat_binary(gs, tg_mul, th, Ks);
    tg_node fs = smat_sum(gs, pr);
    ck_assert_graph_ok(gs);

    double *a = malloc(N * N * sizeof *a), *b = malloc(N * N * sizeof *b);
    double v[MAX_IN * MAX_ENTRIES], va[MAX_ENTRIES * MAX_IN], vb[MAX_ENTRIES * MAX_IN];
    ck_assert(a && b);
    rng_fill(&seed, v, N, -1, 1);

    /* first order: the Jacobian of Y and J v */
    ck_assert_msg(tg_jacobian(gt, 1, &Y, (size_t)c->nin, xt, a) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(gt));
    ck_assert_int_eq(tg_jacobian(gs, M, Ys.e, N, xl, b), TG_OK);
    expect_close_scaled(a, b, M * N, 1e-13, "Jacobian", c->name);
    ck_assert_int_eq(tg_jvp(gt, (size_t)c->nin, xt, v, 1, &Y, va), TG_OK);
    ck_assert_int_eq(tg_jvp(gs, N, xl, v, M, Ys.e, vb), TG_OK);
    expect_close_scaled(va, vb, M, 1e-13, "J v", c->name);
    ck_assert_int_eq(tg_vjp(gt, 1, &Y, kdata, (size_t)c->nin, xt, va), TG_OK);
    ck_assert_int_eq(tg_vjp(gs, M, Ys.e, kdata, N, xl, vb), TG_OK);
    expect_close_scaled(va, vb, N, 1e-13, "w^T J", c->name);

    /* second order of f */
    ck_assert_msg(tg_hessian(gt, f, (size_t)c->nin, xt, a) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(gt));
    ck_assert_int_eq(tg_hessian(gs, fs, N, xl, b), TG_OK);
    expect_close_scaled(a, b, N * N, 1e-12, "Hessian", c->name);
    double norm = 0;
    for (size_t e = 0; e < N * N; e++) norm += fabs(a[e]);
    ck_assert_msg(norm > 1e-3, "%s: a Hessian of zeros", c->name);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(memcmp(&a[i * N + j], &a[j * N + i], sizeof *a) == 0, "%s: H[%zu][%zu] != H[%zu][%zu]",
                          c->name, i, j, j, i);
    ck_assert_int_eq(tg_hvp(gt, f, (size_t)c->nin, xt, v, va), TG_OK);
    ck_assert_int_eq(tg_hvp(gs, fs, N, xl, v, vb), TG_OK);
    expect_close_scaled(va, vb, N, 1e-12, "H v", c->name);

    free(a);
    free(b);
    free(xl);
    smat *all[] = { &Ys, &Ks, &th, &pr, &cs[0], &cs[1] };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) smat_free(all[k]);
    for (int k = 0; k < c->nin; k++) smat_free(&xs[k]);
    tg_graph_free(gs);
    tg_graph_free(gt);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tensor second order");
    TCase *tc = tcase_create("ops");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, tensor_op_against_scalar_twin, 0, NCASES);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
