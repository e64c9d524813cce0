#include "hard.h"

#include <math.h>

/* ------------------------------------------------------------- the probe */

int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

typedef struct probe { double f, dx, dy; tg_status st; } probe;

static probe run_probe(tg_graph *g)
{
    probe p = { NAN, NAN, NAN, TG_OK };
    size_t mark = tg_graph_mark(g);
    tg_node x = tg_var(g, NULL, 1.5);
    tg_node y = tg_var(g, NULL, -0.75);
    tg_node u = tg_add(g, tg_mul(g, x, y), tg_exp(g, tg_div(g, x, y)));
    tg_node f = tg_mul(g, u, tg_sigmoid(g, tg_sub(g, x, y)));
    p.st = tg_backward(g, f);
    p.f = tg_value(g, f);
    p.dx = tg_grad(g, x);
    p.dy = tg_grad(g, y);
    if (p.st == TG_OK) p.st = tg_graph_status(g);
    if (p.st == TG_OK) p.st = tg_graph_rewind(g, mark);
    return p;
}

void assert_graph_works(tg_graph *g, const char *what)
{
    ck_assert_msg(g != NULL, "%s: graph is NULL", what);
    size_t before = tg_graph_size(g);
    probe got = run_probe(g);
    ck_assert_msg(got.st == TG_OK, "%s: the probe failed: %s", what, tg_graph_errmsg(g));
    ck_assert_msg(tg_graph_size(g) == before, "%s: probe left %zu nodes, expected %zu",
                  what, tg_graph_size(g), before);

    tg_graph *fresh = tg_graph_new();
    ck_assert_ptr_nonnull(fresh);
    probe ref = run_probe(fresh);
    tg_graph_free(fresh);
    ck_assert_int_eq(ref.st, TG_OK);
    ck_assert_msg(same_bits(got.f, ref.f) && same_bits(got.dx, ref.dx) && same_bits(got.dy, ref.dy),
                  "%s: probe gives f=%.17g dx=%.17g dy=%.17g, a fresh graph f=%.17g dx=%.17g dy=%.17g",
                  what, got.f, got.dx, got.dy, ref.f, ref.dx, ref.dy);

    /* And the fresh graph against the closed form, so that both cannot be
     * wrong the same way. */
    double x = 1.5, y = -0.75, e = exp(x / y);
    double u = x * y + e, s = 1.0 / (1.0 + exp(-(x - y)));
    double dudx = y + e / y, dudy = x - e * x / (y * y), ds = s * (1.0 - s);
    ck_assert_double_eq_tol(ref.f, u * s, 1e-14);
    ck_assert_double_eq_tol(ref.dx, dudx * s + u * ds, 1e-13);
    ck_assert_double_eq_tol(ref.dy, dudy * s - u * ds, 1e-13);
}

typedef struct tprobe { double loss, dw[12], db[4], dx[6]; tg_status st; } tprobe;

static tprobe run_tensor_probe(tg_graph *g)
{
    static const double X[6] = { 0.5, -1.0, 2.0, 1.5, 0.25, -0.5 };
    static const double W[12] = { 0.1, -0.2, 0.3, 0.05, -0.4, 0.2, 0.1, 0.3, 0.25, -0.15, 0.05, -0.3 };
    static const double B[4] = { 0.01, 0.2, -0.1, 0.05 };
    static const double T[8] = { 0, 1, 0, 0, 0, 0, 0, 1 };
    tprobe p;
    memset(&p, 0, sizeof p);
    size_t mark = tg_graph_mark(g);
    tg_node x = tg_tensor_var(g, NULL, 2, 3, X);
    tg_node w = tg_tensor_var(g, NULL, 3, 4, W);
    tg_node b = tg_tensor_var(g, NULL, 1, 4, B);
    tg_node t = tg_tensor_const(g, 2, 4, T);
    tg_node h = tg_relu(g, tg_add(g, tg_matmul(g, x, w), b));
    tg_node loss = tg_softmax_cross_entropy(g, h, t);
    p.st = tg_backward(g, loss);
    p.loss = tg_value(g, loss);
    if (p.st == TG_OK) p.st = tg_tensor_get_grad(g, w, p.dw);
    if (p.st == TG_OK) p.st = tg_tensor_get_grad(g, b, p.db);
    if (p.st == TG_OK) p.st = tg_tensor_get_grad(g, x, p.dx);
    if (p.st == TG_OK) p.st = tg_graph_status(g);
    if (p.st == TG_OK) p.st = tg_graph_rewind(g, mark);
    return p;
}

void assert_tensor_graph_works(tg_graph *g, const char *what)
{
    ck_assert_msg(g != NULL, "%s: graph is NULL", what);
    size_t before = tg_graph_size(g);
    tprobe got = run_tensor_probe(g);
    ck_assert_msg(got.st == TG_OK, "%s: the tensor probe failed: %s", what, tg_graph_errmsg(g));
    ck_assert_uint_eq(tg_graph_size(g), before);
    tg_graph *fresh = tg_graph_new();
    ck_assert_ptr_nonnull(fresh);
    tprobe ref = run_tensor_probe(fresh);
    tg_graph_free(fresh);
    ck_assert_int_eq(ref.st, TG_OK);
    ck_assert_msg(isfinite(ref.loss) && ref.loss > 0, "tensor probe loss %g", ref.loss);
    ck_assert_msg(same_bits(got.loss, ref.loss), "%s: tensor probe loss %.17g, fresh graph %.17g",
                  what, got.loss, ref.loss);
    ck_assert_msg(memcmp(got.dw, ref.dw, sizeof got.dw) == 0 &&
                  memcmp(got.db, ref.db, sizeof got.db) == 0 &&
                  memcmp(got.dx, ref.dx, sizeof got.dx) == 0,
                  "%s: tensor probe gradients differ from a fresh graph's", what);
}
