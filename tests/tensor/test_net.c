/* A whole tiny network (affine, activation, affine, softmax-cross-entropy
 * on a 4x3 batch) against its scalar twin and against a central difference
 * along a random direction; the fused loss at logits of 1000. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include <tapegrad/tapegrad.h>

#include "rng.h"
#include "runner.h"
#include "twin.h"

enum { N = 4, IN = 3, HID = 5, OUT = 3 };

typedef struct params {
    double x[N * IN], t[N * OUT];
    double w1[IN * HID], b1[HID], w2[OUT * HID], b2[OUT];  /* w2 stored OUT x HID */
} params;

static void make_params(params *p)
{
    uint64_t seed = 2024;
    rng_fill(&seed, p->x, N * IN, -1, 1);
    rng_fill(&seed, p->w1, IN * HID, -1, 1);
    rng_fill(&seed, p->b1, HID, -0.5, 0.5);
    rng_fill(&seed, p->w2, OUT * HID, -1, 1);
    rng_fill(&seed, p->b2, OUT, -0.5, 0.5);
    for (int i = 0; i < N * OUT; i++) p->t[i] = 0;
    for (int i = 0; i < N; i++) p->t[i * OUT + (i * 2) % OUT] = 1;
}

typedef struct tnet {
    tg_node w1, b1, w2, b2, loss;
} tnet;

/* loss = xent(act(X W1 + b1) W2^T + b2, T); W2 is read transposed by flag. */
static tnet tensor_net(tg_graph *g, const params *p, tg_node (*act)(tg_graph *, tg_node))
{
    tnet n;
    tg_node x = tg_tensor_const(g, N, IN, p->x);
    tg_node t = tg_tensor_const(g, N, OUT, p->t);
    n.w1 = tg_tensor_var(g, "W1", IN, HID, p->w1);
    n.b1 = tg_tensor_var(g, "b1", 1, HID, p->b1);
    n.w2 = tg_tensor_var(g, "W2", OUT, HID, p->w2);
    n.b2 = tg_tensor_var(g, "b2", 1, OUT, p->b2);
    tg_node h = act(g, tg_add(g, tg_matmul(g, x, n.w1), n.b1));
    tg_node z = tg_add(g, tg_matmul_ex(g, h, n.w2, TG_TRANS_B), n.b2);
    n.loss = tg_softmax_cross_entropy(g, z, t);
    ck_assert_msg(tg_graph_status(g) == TG_OK, "%s", tg_graph_errmsg(g));
    return n;
}

static double net_loss(const params *p, tg_node (*act)(tg_graph *, tg_node))
{
    tg_graph *g = tg_graph_new();
    double v = tg_value(g, tensor_net(g, p, act).loss);
    tg_graph_free(g);
    return v;
}

static tg_node (*const activations[])(tg_graph *, tg_node) = { tg_relu, tg_sigmoid, tg_tanh };
static const char *const activation_names[] = { "relu", "sigmoid", "tanh" };

START_TEST(network_matches_scalar_twin)
{
    tg_node (*act)(tg_graph *, tg_node) = activations[_i];
    params p;
    make_params(&p);

    tg_graph *gt = tg_graph_new();
    tnet n = tensor_net(gt, &p, act);
    ck_assert_int_eq(tg_backward(gt, n.loss), TG_OK);

    tg_graph *gs = tg_graph_new();
    smat x = smat_consts(gs, N, IN, p.x), t = smat_consts(gs, N, OUT, p.t);
    smat w1 = smat_vars(gs, IN, HID, p.w1), b1 = smat_vars(gs, 1, HID, p.b1);
    smat w2 = smat_vars(gs, OUT, HID, p.w2), b2 = smat_vars(gs, 1, OUT, p.b2);
    smat xw = smat_matmul(gs, x, w1, 0);
    smat a1 = smat_binary(gs, tg_add, xw, b1);
    smat h = smat_unary(gs, act, a1);
    smat hw = smat_matmul(gs, h, w2, TG_TRANS_B);
    smat z = smat_binary(gs, tg_add, hw, b2);
    tg_node loss = smat_xent(gs, z, t);
    ck_assert_msg(tg_graph_status(gs) == TG_OK, "%s", tg_graph_errmsg(gs));
    ck_assert_int_eq(tg_backward(gs, loss), TG_OK);

    double got = tg_value(gt, n.loss), want = tg_value(gs, loss);
    expect_close(&got, &want, 1, 1e-12, activation_names[_i]);
    struct { tg_node tensor; smat twin; const char *name; } ps[] = {
        { n.w1, w1, "dW1" }, { n.b1, b1, "db1" }, { n.w2, w2, "dW2" }, { n.b2, b2, "db2" },
    };
    for (int k = 0; k < 4; k++) {
        double gg[IN * HID], gw[IN * HID];
        size_t len = ps[k].twin.rows * ps[k].twin.cols;
        ck_assert_int_eq(tg_tensor_get_grad(gt, ps[k].tensor, gg), TG_OK);
        smat_grads(gs, ps[k].twin, gw);
        expect_close(gg, gw, len, 1e-12, ps[k].name);
        /* not trivially zero */
        double norm = 0;
        for (size_t e = 0; e < len; e++) norm += fabs(gg[e]);
        ck_assert_double_gt(norm, 1e-3);
    }
    smat *all[] = { &x, &t, &w1, &b1, &w2, &b2, &xw, &a1, &h, &hw, &z };
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) smat_free(all[k]);
    tg_graph_free(gs);
    tg_graph_free(gt);
}
END_TEST

/* d loss along a random direction v of all parameters: sum(grad * v)
 * against (L(p + h v) - L(p - h v)) / 2h. */
START_TEST(network_directional_derivative)
{
    tg_node (*act)(tg_graph *, tg_node) = activations[_i];
    params p, q;
    make_params(&p);
    size_t sizes[] = { IN * HID, HID, OUT * HID, OUT };
    double v[IN * HID + HID + OUT * HID + OUT];
    uint64_t seed = 99;
    rng_fill(&seed, v, sizeof v / sizeof v[0], -1, 1);

    tg_graph *g = tg_graph_new();
    tnet n = tensor_net(g, &p, act);
    ck_assert_int_eq(tg_backward(g, n.loss), TG_OK);
    tg_node nodes[] = { n.w1, n.b1, n.w2, n.b2 };
    double analytic = 0;
    size_t at = 0;
    for (int k = 0; k < 4; k++) {
        const double *d = tg_tensor_gradp(g, nodes[k]);
        ck_assert_ptr_nonnull(d);
        for (size_t e = 0; e < sizes[k]; e++) analytic += d[e] * v[at + e];
        at += sizes[k];
    }
    tg_graph_free(g);

    const double h = 1e-5;
    double side[2];
    for (int s = 0; s < 2; s++) {
        q = p;
        double *qb[] = { q.w1, q.b1, q.w2, q.b2 };
        at = 0;
        for (int k = 0; k < 4; k++) {
            for (size_t e = 0; e < sizes[k]; e++) qb[k][e] += (s ? -h : h) * v[at + e];
            at += sizes[k];
        }
        side[s] = net_loss(&q, act);
    }
    double numeric = (side[0] - side[1]) / (2 * h);
    ck_assert_double_eq_tol(analytic, numeric, 1e-8);
    ck_assert_double_gt(fabs(analytic), 1e-3);
}
END_TEST

/* Logits of 1000: log-sum-exp from the logits gives the exact loss, and
 * the gradient (softmax - t)/N stays finite. */
START_TEST(cross_entropy_stable_at_large_logits)
{
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    const double z[9] = { 1000, 0, -1000,  1000, 1000, 0,  0, 1000, 0 };
    const double t[9] = { 1, 0, 0,  0, 1, 0,  1, 0, 0 };
    tg_node Z = tg_tensor_var(g, "z", 3, 3, z);
    tg_node T = tg_tensor_const(g, 3, 3, t);
    tg_node loss = tg_softmax_cross_entropy(g, Z, T);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    /* rows: 0, log 2, 1000 */
    ck_assert_double_eq_tol(tg_value(g, loss), (0 + log(2.0) + 1000) / 3, 1e-12);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double dz[9];
    ck_assert_int_eq(tg_tensor_get_grad(g, Z, dz), TG_OK);
    const double want[9] = { 0, 0, 0,  0.5 / 3, -0.5 / 3, 0,  -1.0 / 3, 1.0 / 3, 0 };
    expect_close(dz, want, 9, 1e-15, "dz");

    /* and at -1000, shifted: the same losses */
    const double zs[9] = { -1000, -2000, -3000,  -1000, -1000, -2000,  -2000, -1000, -2000 };
    ck_assert_int_eq(tg_tensor_set(g, Z, zs), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_double_eq_tol(tg_value(g, loss), (0 + log(2.0) + 1000) / 3, 1e-12);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    tg_graph_free(g);

    /* at the edge of double: max - z overflows for the class not targeted */
    g = tg_graph_new();
    const double zh[3] = { 1e308, 1e308, -1e308 }, th[3] = { 1, 0, 0 };
    Z = tg_tensor_var(g, NULL, 1, 3, zh);
    loss = tg_softmax_cross_entropy(g, Z, tg_tensor_const(g, 1, 3, th));
    ck_assert_double_eq_tol(tg_value(g, loss), log(2.0), 1e-15);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    ck_assert_int_eq(tg_tensor_get_grad(g, Z, dz), TG_OK);
    const double want_h[3] = { -0.5, 0.5, 0 };
    expect_close(dz, want_h, 3, 1e-15, "dz at 1e308");
    tg_graph_free(g);
}
END_TEST

/* The softmax itself at large logits: rows sum to 1, no NaN. */
START_TEST(softmax_stable_at_large_logits)
{
    tg_graph *g = tg_graph_new();
    const double z[4] = { 1000, 1000, -1000, 710 };
    tg_node Y = tg_softmax(g, tg_tensor_const(g, 2, 2, z));
    double y[4];
    ck_assert_int_eq(tg_tensor_get(g, Y, y), TG_OK);
    const double want[4] = { 0.5, 0.5, 0, 1 };
    expect_close(y, want, 4, 0, "softmax");
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tensor network");
    TCase *tc = tcase_create("net");
    tcase_add_loop_test(tc, network_matches_scalar_twin, 0, 3);
    tcase_add_loop_test(tc, network_directional_derivative, 0, 3);
    tcase_add_test(tc, cross_entropy_stable_at_large_logits);
    tcase_add_test(tc, softmax_stable_at_large_logits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
