/* tg_eval_batch: k points at once give, bit for bit, what one replay and
 * tg_backward per point give; crossed branches are flagged and evaluated
 * on the recorded side; errors leave the outputs alone. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/extend.h>
#include <tapegrad/tapegrad.h>
#include <tapegrad/tensor.h>

#include "rng.h"
#include "runner.h"

enum { NV = 4 };

static double cube_value(void *ctx, const double *x)
{
    (void)ctx;
    return x[0] * x[0] * x[1];
}

static void cube_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = 2 * x[0] * x[1];
    d[1] = x[0] * x[0];
}

/* A random expression over the variables: unary and binary ops of the
 * math library, kinks and a custom op, built from a seed. */
static tg_node random_expr(tg_graph *g, const tg_node *x, uint64_t *s, int depth)
{
    static const tg_custom_op cube = { "cube", 2, cube_value, cube_partials, NULL, NULL };
    if (depth == 0 || rng_below(s, 5) == 0) {
        if (rng_below(s, 4) == 0) return tg_const(g, rng_uniform(s, -2, 2));
        return x[rng_below(s, NV)];
    }
    tg_node a = random_expr(g, x, s, depth - 1);
    switch (rng_below(s, 16)) {
    case 0: return tg_add(g, a, random_expr(g, x, s, depth - 1));
    case 1: return tg_mul(g, a, random_expr(g, x, s, depth - 1));
    case 2: return tg_sub(g, a, random_expr(g, x, s, depth - 1));
    case 3: return tg_sin(g, a);
    case 4: return tg_tanh(g, a);
    case 5: return tg_sigmoid(g, a);
    case 6: return tg_exp(g, tg_mul(g, tg_const(g, 0.25), a));
    case 7: return tg_relu(g, a);
    case 8: return tg_abs(g, a);
    case 9: return tg_min(g, a, random_expr(g, x, s, depth - 1));
    case 10: return tg_max(g, a, random_expr(g, x, s, depth - 1));
    case 11: return tg_atan2(g, a, random_expr(g, x, s, depth - 1));
    case 12: return tg_hypot(g, a, random_expr(g, x, s, depth - 1));
    case 13: return tg_softplus(g, a);
    case 14: return tg_log1p(g, tg_mul(g, a, a));
    default: {
        tg_node in[2] = { a, random_expr(g, x, s, depth - 1) };
        return tg_custom(g, &cube, in);
    }
    }
}

/* A point by the single-point path: x[0..n) set from row xs (a variable
 * listed twice takes its last column), forward, backward; the value, the
 * gradient row, and whether a branch flipped. */
static int replay_point(tg_graph *g, tg_node y, size_t n, const tg_node *x, const double *xs, double *val,
                        double *grad)
{
    for (size_t k = 0; k < n; k++) tg_set_value(g, x[k], xs[k]);
    int flipped = tg_forward(g) == TG_ERR_STALE;
    tg_graph_clear_error(g);
    *val = tg_value(g, y);
    tg_backward(g, y);
    for (size_t k = 0; k < n; k++) grad[k] = tg_grad(g, x[k]);
    tg_graph_clear_error(g);
    return flipped;
}

START_TEST(batch_equals_single_points_bit_for_bit)
{
    enum { K = 37 };  /* four blocks of lanes and a partial one */
    uint64_t s = 1000 + (uint64_t)_i;
    for (int trial = 0; trial < 20; trial++) {
        tg_graph *g = tg_graph_new();
        tg_node x[NV];
        double x0[NV];
        for (int k = 0; k < NV; k++) {
            x0[k] = rng_uniform(&s, -2, 2);
            x[k] = tg_var(g, NULL, x0[k]);
        }
        tg_node y = random_expr(g, x, &s, 6);
        ck_assert_graph_ok(g);
        double xs[K * NV], ys[K], grads[K * NV];
        unsigned char flipped[K];
        for (int i = 0; i < K * NV; i++) xs[i] = rng_uniform(&s, -2, 2);
        memcpy(xs, x0, sizeof x0);  /* point 0: the recorded one */
        ck_assert_int_eq(tg_eval_batch(g, y, NV, x, K, xs, ys, grads, flipped), TG_OK);
        ck_assert_int_eq(flipped[0], 0);
        /* the graph's values were not touched */
        for (int k = 0; k < NV; k++) ck_assert_double_eq(tg_value(g, x[k]), x0[k]);
        for (int p = 0; p < K; p++) {
            double v, gr[NV];
            int f = replay_point(g, y, NV, x, xs + p * NV, &v, gr);
            ck_assert_int_eq(flipped[p], f);
            if (f) continue;  /* the replay computed the other branch; checked below */
            ck_assert_msg(memcmp(&v, &ys[p], sizeof v) == 0, "trial %d point %d: %a vs %a", trial, p,
                          v, ys[p]);
            for (int k = 0; k < NV; k++)
                ck_assert_msg(memcmp(&gr[k], &grads[p * NV + k], sizeof gr[k]) == 0,
                              "trial %d point %d d/dx%d: %a vs %a", trial, p, k, gr[k], grads[p * NV + k]);
        }
        tg_graph_free(g);
    }
}
END_TEST

/* A long tape whose nodes read recent nodes mostly and far ones
 * sometimes (adjoints that live across most of the sweep), with kinks, a
 * custom op, constants with equal and distinct values, a variable listed
 * thrice, one left out of x, and a dead branch: every point equals its
 * replay bit for bit.  The last tape is long enough for the batch to
 * recompute its values segment by segment. */
START_TEST(long_tape_equals_single_points_bit_for_bit)
{
    static const tg_custom_op cube = { "cube", 2, cube_value, cube_partials, NULL, NULL };
    enum { NVAR = 6, NX = 7, K = 45 };
    const size_t NODES = _i < 2 ? 3000 : 30000;
    uint64_t s = 77 + (uint64_t)_i;
    tg_graph *g = tg_graph_new();
    tg_node v[NVAR], *pool = malloc(NODES * sizeof *pool);
    double v0[NVAR];
    size_t np = 0;
    for (int k = 0; k < NVAR; k++) {
        v0[k] = rng_uniform(&s, -1, 1);
        pool[np++] = v[k] = tg_var(g, NULL, v0[k]);
    }
    while (np < NODES) {
        size_t far = rng_below(&s, np), near = np - 1 - rng_below(&s, np < 12 ? np : 12);
        tg_node a = pool[near], b = pool[rng_below(&s, 4) == 0 ? far : np - 1 - rng_below(&s, np < 12 ? np : 12)];
        tg_node t;
        switch (rng_below(&s, 12)) {
        case 0: t = tg_add(g, a, b); break;
        case 1: t = tg_tanh(g, tg_mul(g, a, b)); break;
        case 2: t = tg_sub(g, a, tg_const(g, rng_below(&s, 2) ? 0.5 : rng_uniform(&s, -1, 1))); break;
        case 3: t = tg_sin(g, a); break;
        case 4: t = tg_relu(g, a); break;
        case 5: t = tg_abs(g, tg_mul(g, a, tg_const(g, 0.75))); break;
        case 6: t = tg_min(g, a, b); break;
        case 7: t = tg_max(g, a, b); break;
        case 8: t = tg_atan2(g, a, tg_add(g, b, tg_const(g, 2.0))); break;
        case 9: t = tg_sigmoid(g, a); break;
        case 10: t = tg_tanh(g, tg_custom(g, &cube, (tg_node[]){ a, b })); break;
        default: t = tg_mul(g, a, tg_const(g, 0.5)); break;
        }
        pool[np++] = t;
        if (rng_below(&s, 50) == 0) tg_relu(g, tg_sub(g, t, tg_const(g, 0.1)));  /* dead: y does not read it */
    }
    tg_node y = tg_add(g, pool[np - 1], tg_mul(g, pool[NODES / 3], pool[NODES / 2]));
    ck_assert_graph_ok(g);
    ck_assert_uint_gt(tg_graph_size(g), 4 * NODES / 3);

    /* x: v0..v4 with v1 thrice (v5 keeps its recorded value) */
    static const int var_of[NX] = { 0, 1, 2, 3, 1, 4, 1 };
    tg_node x[NX];
    for (int k = 0; k < NX; k++) x[k] = v[var_of[k]];
    double *xs = malloc(K * NX * sizeof *xs), ys[K], *grads = malloc(K * NX * sizeof *grads);
    unsigned char flipped[K];
    for (int p = 0; p < K; p++)  /* point 0 the recorded one, the others near it: few kinks cross */
        for (int k = 0; k < NX; k++) xs[p * NX + k] = v0[var_of[k]] + (p ? rng_uniform(&s, -0.02, 0.02) : 0.0);
    ck_assert_int_eq(tg_eval_batch(g, y, NX, x, K, xs, ys, grads, flipped), TG_OK);
    ck_assert_int_eq(flipped[0], 0);
    int compared = 0;
    for (int p = 0; p < K; p++) {
        double val, grad[NX];
        int f = replay_point(g, y, NX, x, xs + p * NX, &val, grad);
        ck_assert_int_eq(flipped[p], f);
        if (f) continue;
        compared++;
        ck_assert_msg(memcmp(&val, &ys[p], sizeof val) == 0, "point %d: %a vs %a", p, val, ys[p]);
        for (int k = 0; k < NX; k++)
            ck_assert_msg(memcmp(&grad[k], &grads[p * NX + k], sizeof grad[k]) == 0, "point %d d/dx%d: %a vs %a",
                          p, k, grad[k], grads[p * NX + k]);
    }
    ck_assert_int_gt(compared, K / 2);
    free(xs);
    free(grads);
    free(pool);
    tg_graph_free(g);
}
END_TEST

/* The zero-adjoint rule: an adjoint that flows to exactly 0 is still
 * visited, so an infinite local derivative under it gives NaN (sqrt at 0
 * under s - s), as tg_backward's; a gradient of exactly 0 that was
 * reached is +0.0 (x * 0 and x * -0). */
START_TEST(zero_adjoints_follow_the_single_point_rule)
{
    tg_graph *g = tg_graph_new();
    tg_node u = tg_var(g, "u", 4.0), x = tg_var(g, "x", 1.0);
    tg_node sq = tg_sqrt(g, u);
    tg_node zeros = tg_add(g, tg_mul(g, x, tg_const(g, 0.0)), tg_mul(g, x, tg_const(g, -0.0)));
    tg_node y = tg_add(g, tg_sub(g, sq, sq), zeros);
    tg_node in[2] = { u, x };
    double xs[6] = { 0.0, 2.0, 4.0, -3.0, 0.0, 0.0 }, ys[3], gr[6];
    ck_assert_int_eq(tg_eval_batch(g, y, 2, in, 3, xs, ys, gr, NULL), TG_OK);
    ck_assert(isnan(gr[0]));
    for (int p = 0; p < 3; p++) {
        double val, grad[2];
        replay_point(g, y, 2, in, xs + 2 * p, &val, grad);
        ck_assert_msg(memcmp(&val, &ys[p], sizeof val) == 0, "point %d: %a vs %a", p, val, ys[p]);
        ck_assert_msg(memcmp(grad, gr + 2 * p, sizeof grad) == 0, "point %d: %a %a vs %a %a", p, grad[0], grad[1],
                      gr[2 * p], gr[2 * p + 1]);
        ck_assert(!signbit(gr[2 * p + 1]));
    }
    tg_graph_free(g);
}
END_TEST

/* tg_eval_batch at xs (k points of x alone) against replays. */
static void batch_equals_replays(tg_graph *g, tg_node y, tg_node x, size_t k, const double *xs)
{
    double ys[8], gr[8];
    unsigned char f[8];
    ck_assert_uint_le(k, 8);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &x, k, xs, ys, gr, f), TG_OK);
    for (size_t p = 0; p < k; p++) {
        double v, d;
        int flipped = replay_point(g, y, 1, &x, xs + p, &v, &d);
        ck_assert_int_eq(f[p], flipped);
        if (flipped) continue;
        ck_assert_msg(memcmp(&v, &ys[p], sizeof v) == 0, "point %zu: %a vs %a", p, v, ys[p]);
        ck_assert_msg(memcmp(&d, &gr[p], sizeof d) == 0, "point %zu: %a vs %a", p, d, gr[p]);
    }
}

/* A call keeps its plan for the next on the same tape; the next gives
 * what replays give all the same when a variable left out of x changed,
 * when the tape was undone and recorded again with the same handles
 * (another side of a kink, another op), and with another x. */
START_TEST(a_kept_plan_follows_the_tape)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0), v = tg_var(g, "v", 2.0);
    size_t mark = tg_graph_mark(g);
    const double xs[4] = { 0.5, -1.5, 3.0, 0.25 };
    tg_node y = tg_mul(g, tg_relu(g, x), v);
    batch_equals_replays(g, y, x, 4, xs);
    batch_equals_replays(g, y, x, 4, xs);
    tg_set_value(g, v, -3.0);
    batch_equals_replays(g, y, x, 4, xs);

    ck_assert_int_eq(tg_graph_undo(g, mark), TG_OK);
    tg_set_value(g, x, -1.0);  /* relu recorded on its other side */
    tg_node y2 = tg_mul(g, tg_relu(g, x), v);
    ck_assert(y2.id == y.id && y2.gen == y.gen);
    batch_equals_replays(g, y2, x, 4, xs);

    ck_assert_int_eq(tg_graph_undo(g, mark), TG_OK);
    tg_set_value(g, x, -1.0);  /* the same side: only the op differs */
    tg_node y3 = tg_add(g, tg_relu(g, x), v);
    ck_assert(y3.id == y.id && y3.gen == y.gen);
    batch_equals_replays(g, y3, x, 4, xs);
    batch_equals_replays(g, y3, v, 4, xs);
    tg_graph_free(g);
}
END_TEST

/* Many variables, in a gradient row of the batch each: some listed twice,
 * one recorded after y (gradient 0), one y does not read, one whose
 * gradient is a zero reached (+0.0), in a batch whose last block of
 * points is partial. */
START_TEST(wide_gradient_rows)
{
    enum { NVAR = 19, NX = 23, K = 37 };
    uint64_t s = 5;
    tg_graph *g = tg_graph_new();
    tg_node v[NVAR + 1], x[NX];
    for (int k = 0; k < NVAR; k++) v[k] = tg_var(g, NULL, rng_uniform(&s, -1, 1));
    tg_node y = tg_mul(g, v[2], tg_const(g, -0.0));  /* v[2]: only this */
    for (int k = 0; k + 1 < NVAR; k++) {              /* v[NVAR - 1] is left out */
        int m = (k * 7 + 3) % (NVAR - 1);
        if (k != 2) y = tg_add(g, y, tg_mul(g, tg_tanh(g, v[k]), v[m == 2 ? 0 : m]));
    }
    v[NVAR] = tg_var(g, NULL, 0.5);  /* after y */
    for (int k = 0; k < NX; k++) x[k] = v[k < NVAR ? k : k == NX - 1 ? NVAR : (k * 5) % NVAR];
    double *xs = malloc(K * NX * sizeof *xs), ys[K], *grads = malloc(K * NX * sizeof *grads);
    rng_fill(&s, xs, K * NX, -2, 2);
    ck_assert_int_eq(tg_eval_batch(g, y, NX, x, K, xs, ys, grads, NULL), TG_OK);
    for (int p = 0; p < K; p++) {
        double val, grad[NX];
        replay_point(g, y, NX, x, xs + p * NX, &val, grad);
        ck_assert_msg(memcmp(&val, &ys[p], sizeof val) == 0, "point %d: %a vs %a", p, val, ys[p]);
        for (int k = 0; k < NX; k++)
            ck_assert_msg(memcmp(&grad[k], &grads[p * NX + k], sizeof grad[k]) == 0, "point %d d/dx%d: %a vs %a",
                          p, k, grad[k], grads[p * NX + k]);
    }
    free(xs);
    free(grads);
    tg_graph_free(g);
}
END_TEST

/* A crossed kink is evaluated on the side recorded: relu(x - 1) recorded
 * at x = 2 is x - 1 with slope 1 at x = 0; abs(x) recorded at x = -3 is
 * -x; min(x, 2) recorded at x = 1 is x. */
START_TEST(crossed_branches_use_the_recorded_side)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    tg_node r = tg_relu(g, tg_sub(g, x, tg_const(g, 1.0)));
    double xs[3] = { 0.0, 3.0, 1.5 }, ys[3], gr[3];
    unsigned char f[3];
    ck_assert_int_eq(tg_eval_batch(g, r, 1, &x, 3, xs, ys, gr, f), TG_OK);
    ck_assert_int_eq(f[0], 1);
    ck_assert_double_eq(ys[0], -1.0);
    ck_assert_double_eq(gr[0], 1.0);
    ck_assert_int_eq(f[1], 0);
    ck_assert_double_eq(ys[1], 2.0);
    ck_assert_int_eq(f[2], 0);

    tg_node u = tg_var(g, "u", -3.0);
    tg_node a = tg_abs(g, u);
    double us[2] = { 4.0, -1.0 };
    ck_assert_int_eq(tg_eval_batch(g, a, 1, &u, 2, us, ys, gr, f), TG_OK);
    ck_assert_int_eq(f[0], 1);
    ck_assert_double_eq(ys[0], -4.0);
    ck_assert_double_eq(gr[0], -1.0);
    ck_assert_int_eq(f[1], 0);
    ck_assert_double_eq(ys[1], 1.0);

    tg_node w = tg_var(g, "w", 1.0);
    tg_node m = tg_min(g, w, tg_const(g, 2.0));
    double ws[1] = { 5.0 };
    ck_assert_int_eq(tg_eval_batch(g, m, 1, &w, 1, ws, ys, gr, f), TG_OK);
    ck_assert_int_eq(f[0], 1);
    ck_assert_double_eq(ys[0], 5.0);
    ck_assert_double_eq(gr[0], 1.0);
    tg_graph_free(g);
}
END_TEST

/* Enough work for several threads (tapes of thousands of nodes times
 * thousands of points): every row still equals its point bit for bit,
 * values only when grads is NULL, and flipped may be NULL. */
START_TEST(many_points_over_threads)
{
    enum { K = 2048, TERMS = 400 };
    tg_graph *g = tg_graph_new();
    tg_node x[NV];
    for (int k = 0; k < NV; k++) x[k] = tg_var(g, NULL, 0.5);
    tg_node y = tg_const(g, 0.0);
    for (int i = 0; i < TERMS; i++) {
        tg_node t = tg_mul(g, tg_sin(g, tg_add(g, x[0], tg_const(g, 0.01 * i))), x[1]);
        y = tg_add(g, y, tg_add(g, t, tg_tanh(g, tg_mul(g, x[2], x[3]))));
    }
    ck_assert_graph_ok(g);
    ck_assert_uint_ge(tg_graph_size(g) * K, 2u * (1u << 21));  /* two threads' worth */
    double *xs = malloc(K * NV * sizeof *xs), *ys = malloc(K * sizeof *ys);
    double *gr = malloc(K * NV * sizeof *gr), *ys2 = malloc(K * sizeof *ys2);
    uint64_t s = 7;
    rng_fill(&s, xs, K * NV, -3, 3);
    ck_assert_int_eq(tg_eval_batch(g, y, NV, x, K, xs, ys, gr, NULL), TG_OK);
    ck_assert_int_eq(tg_eval_batch(g, y, NV, x, K, xs, ys2, NULL, NULL), TG_OK);
    ck_assert_mem_eq(ys, ys2, K * sizeof *ys);
    for (int p = 0; p < K; p += 7) {
        double v, one[NV];
        ck_assert_int_eq(replay_point(g, y, NV, x, xs + p * NV, &v, one), 0);
        ck_assert_msg(memcmp(&v, &ys[p], sizeof v) == 0, "point %d value", p);
        ck_assert_msg(memcmp(one, gr + p * NV, sizeof one) == 0, "point %d gradient", p);
    }
    free(xs);
    free(ys);
    free(ys2);
    free(gr);
    tg_graph_free(g);
}
END_TEST

START_TEST(errors_leave_outputs_alone)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0), c = tg_const(g, 2.0);
    tg_node y = tg_mul(g, x, c);
    double xs[2] = { 1, 2 }, ys[2] = { -7, -7 }, gr[2] = { -7, -7 };
    ck_assert_int_eq(tg_eval_batch(NULL, y, 1, &x, 2, xs, ys, gr, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_eval_batch(g, TG_NONE, 1, &x, 2, xs, ys, gr, NULL), TG_ERR_HANDLE);
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_eval_batch: y is the empty handle");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &c, 2, xs, ys, gr, NULL), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_eval_batch: x[0] is node 1 (const), not a variable");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &x, 2, NULL, ys, gr, NULL), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_eval_batch: xs is NULL");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &x, 2, xs, NULL, gr, NULL), TG_ERR_ARG);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, NULL, 2, xs, ys, gr, NULL), TG_ERR_ARG);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_eval_batch(g, y, 2, (tg_node[]){ x, x }, SIZE_MAX / 2, xs, ys, gr, NULL),
                     TG_ERR_ARG);
    tg_graph_clear_error(g);
    tg_node t = tg_tensor_var(g, "t", 1, 2, NULL);
    ck_assert_int_eq(tg_eval_batch(g, tg_sum(g, t), 1, &x, 2, xs, ys, gr, NULL), TG_ERR_SHAPE);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &t, 2, xs, ys, gr, NULL), TG_ERR_SHAPE);
    tg_graph_clear_error(g);
    tg_graph *other = tg_graph_new();
    tg_node xo = tg_var(other, "x", 1.0);
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &xo, 2, xs, ys, gr, NULL), TG_ERR_HANDLE);
    tg_graph_clear_error(g);
    for (int i = 0; i < 2; i++) {
        ck_assert_double_eq(ys[i], -7);
        ck_assert_double_eq(gr[i], -7);
    }
    /* k = 0 does nothing, and succeeds */
    ck_assert_int_eq(tg_eval_batch(g, y, 1, &x, 0, NULL, NULL, NULL, NULL), TG_OK);
    tg_graph_free(other);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, batch_equals_single_points_bit_for_bit, 0, 5);
    tcase_add_loop_test(tc, long_tape_equals_single_points_bit_for_bit, 0, 3);
    tcase_add_test(tc, zero_adjoints_follow_the_single_point_rule);
    tcase_add_test(tc, a_kept_plan_follows_the_tape);
    tcase_add_test(tc, wide_gradient_rows);
    tcase_add_test(tc, crossed_branches_use_the_recorded_side);
    tcase_add_test(tc, many_points_over_threads);
    tcase_add_test(tc, errors_leave_outputs_alone);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
