/*
 * Replay (tg_set_value + tg_forward) against re-recording, branch flips,
 * and handles that outlive a rewind or belong to another graph.
 */
#include <math.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "rng.h"
#include "runner.h"

/* ------------------------------------------------------------ replay = re-record */

/* x^y tanh(x - y) + sigmoid(x y) */
static tg_node replay_f1(tg_graph *g, const tg_node *v)
{
    return tg_add(g, tg_mul(g, tg_pow(g, v[0], v[1]), tg_tanh(g, tg_sub(g, v[0], v[1]))),
                  tg_sigmoid(g, tg_mul(g, v[0], v[1])));
}

/* log(sigmoid(x) + y^2) / (1 + e^(-z x)) + tanh(z) - sigmoid_decomposed(y z) */
static tg_node replay_f2(tg_graph *g, const tg_node *v)
{
    tg_node l = tg_log(g, tg_add(g, tg_sigmoid(g, v[0]), tg_powc(g, v[1], 2.0)));
    tg_node d = tg_add(g, tg_const(g, 1.0), tg_exp(g, tg_neg(g, tg_mul(g, v[2], v[0]))));
    tg_node t = tg_add(g, tg_div(g, l, d), tg_tanh(g, v[2]));
    return tg_sub(g, t, tg_sigmoid_decomposed(g, tg_mul(g, v[1], v[2])));
}

/* relu(x + 5) / y + (y^2 + 1)^x, with relu on one side for the whole range */
static tg_node replay_f3(tg_graph *g, const tg_node *v)
{
    tg_node r = tg_relu(g, tg_add(g, v[0], tg_const(g, 5.0)));
    tg_node p = tg_pow(g, tg_add(g, tg_mul(g, v[1], v[1]), tg_const(g, 1.0)), v[0]);
    return tg_add(g, tg_mul(g, r, tg_recip(g, v[1])), p);
}

/* sum(tanh(M x) + y) x - sigmoid(y) / x: tensor kernels between scalar runs */
static tg_node replay_f4(tg_graph *g, const tg_node *v)
{
    static const double m[6] = { 0.5, -1.25, 2.0, 0.75, -0.3, 1.5 };
    tg_node M = tg_tensor_const(g, 2, 3, m);
    tg_node s = tg_sum(g, tg_add(g, tg_tanh(g, tg_mul(g, M, v[0])), v[1]));
    return tg_sub(g, tg_mul(g, s, v[0]), tg_div(g, tg_sigmoid(g, v[1]), v[0]));
}

typedef struct replay_case {
    const char *name;
    tg_node (*build)(tg_graph *, const tg_node *);
    size_t nvars;
    double lo[3], hi[3];
} replay_case;

static const replay_case replay_cases[] = {
    { "x^y tanh(x-y) + sigmoid(xy)", replay_f1, 2, { 0.3, -2 }, { 3, 2 } },
    { "log(sigmoid(x)+y^2)/(1+e^-zx) + tanh z - sigmoid(yz)", replay_f2, 3,
      { -2, -2, -2 }, { 2, 2, 2 } },
    { "relu(x+5)/y + (y^2+1)^x", replay_f3, 2, { -2, 0.5 }, { 2, 3 } },
    { "sum(tanh(M x) + y) x - sigmoid(y)/x", replay_f4, 2, { 0.5, -2 }, { 2, 2 } },
};
#define N_REPLAY (sizeof replay_cases / sizeof replay_cases[0])

START_TEST(test_replay_equals_rerecord)
{
    const replay_case *c = &replay_cases[_i];
    uint64_t seed = 0x9E3779B97F4A7C15ULL + (uint64_t)_i;
    tg_graph *g = tg_graph_new();
    tg_node v[3];
    for (size_t i = 0; i < c->nvars; i++)
        v[i] = tg_var(g, NULL, rng_uniform(&seed, c->lo[i], c->hi[i]));
    tg_node out = c->build(g, v);
    ck_assert_graph_ok(g);
    ck_assert_int_eq(tg_backward(g, out), TG_OK);

    for (int trial = 0; trial < 50; trial++) {
        double p[3];
        for (size_t i = 0; i < c->nvars; i++) {
            p[i] = rng_uniform(&seed, c->lo[i], c->hi[i]);
            ck_assert_int_eq(tg_set_value(g, v[i], p[i]), TG_OK);
        }
        ck_assert_int_eq(tg_forward(g), TG_OK);
        ck_assert_int_eq(tg_backward(g, out), TG_OK);

        tg_graph *h = tg_graph_new();
        tg_node w[3];
        for (size_t i = 0; i < c->nvars; i++) w[i] = tg_var(h, NULL, p[i]);
        tg_node hout = c->build(h, w);
        ck_assert_int_eq(tg_backward(h, hout), TG_OK);
        ck_assert_graph_ok(h);

        /* The same tape, so every value and every adjoint agree to the bit. */
        ck_assert_uint_eq(tg_graph_size(g), tg_graph_size(h));
        for (size_t i = 0; i < tg_graph_size(g); i++) {
            tg_node a = tg_node_at(g, i), b = tg_node_at(h, i);
            ck_assert_str_eq(tg_node_op(g, a), tg_node_op(h, b));
            if (tg_is_tensor(g, a)) continue;  /* its elements are the kernels' */
            ck_assert_msg(tg_value(g, a) == tg_value(h, b),
                          "%s at (%.17g, %.17g, %.17g): node %zu replayed %.17g, recorded %.17g",
                          c->name, p[0], p[1], c->nvars > 2 ? p[2] : 0.0, i,
                          tg_value(g, a), tg_value(h, b));
            ck_assert_msg(tg_grad(g, a) == tg_grad(h, b),
                          "%s at (%.17g, %.17g, %.17g): node %zu gradient replayed %.17g, recorded %.17g",
                          c->name, p[0], p[1], c->nvars > 2 ? p[2] : 0.0, i,
                          tg_grad(g, a), tg_grad(h, b));
        }
        tg_graph_free(h);
    }
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* Checking mode sweeps one node at a time; the plain sweeps take runs of
 * plain steps between the others.  Both give the same numbers, bit for
 * bit, on every node. */
START_TEST(test_checking_sweeps_equal_plain)
{
    const replay_case *c = &replay_cases[_i];
    uint64_t seed = 0xD1B54A32D192ED03ULL + (uint64_t)_i;
    tg_graph *g = tg_graph_new(), *h = tg_graph_new();
    tg_graph_set_checking(h, 1);
    tg_node v[3], w[3];
    for (size_t i = 0; i < c->nvars; i++) {
        double x = rng_uniform(&seed, c->lo[i], c->hi[i]);
        v[i] = tg_var(g, NULL, x);
        w[i] = tg_var(h, NULL, x);
    }
    tg_node out = c->build(g, v), hout = c->build(h, w);
    for (int trial = 0; trial < 20; trial++) {
        for (size_t i = 0; i < c->nvars; i++) {
            double x = rng_uniform(&seed, c->lo[i], c->hi[i]);
            ck_assert_int_eq(tg_set_value(g, v[i], x), TG_OK);
            ck_assert_int_eq(tg_set_value(h, w[i], x), TG_OK);
        }
        ck_assert_int_eq(tg_forward(g), TG_OK);
        ck_assert_int_eq(tg_forward(h), TG_OK);
        ck_assert_int_eq(tg_backward(g, out), TG_OK);
        ck_assert_int_eq(tg_backward(h, hout), TG_OK);
        ck_assert_uint_eq(tg_graph_size(g), tg_graph_size(h));
        for (size_t i = 0; i < tg_graph_size(g); i++) {
            tg_node a = tg_node_at(g, i), b = tg_node_at(h, i);
            if (tg_is_tensor(g, a)) continue;  /* its elements are the kernels' */
            double va = tg_value(g, a), vb = tg_value(h, b), ga = tg_grad(g, a), gb = tg_grad(h, b);
            ck_assert_msg(memcmp(&va, &vb, sizeof va) == 0, "%s: node %zu value %.17g, checking %.17g",
                          c->name, i, va, vb);
            ck_assert_msg(memcmp(&ga, &gb, sizeof ga) == 0, "%s: node %zu gradient %.17g, checking %.17g",
                          c->name, i, ga, gb);
        }
    }
    ck_assert_graph_ok(g);
    ck_assert_graph_ok(h);
    tg_graph_free(g);
    tg_graph_free(h);
}
END_TEST

/* A new value takes effect at the next tg_forward, not before. */
START_TEST(test_set_value_waits_for_forward)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    tg_node y = tg_mul(g, x, x);
    ck_assert_int_eq(tg_set_value(g, x, 3.0), TG_OK);
    ck_assert_double_eq(tg_value(g, x), 3.0);
    ck_assert_double_eq(tg_value(g, y), 4.0);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_double_eq(tg_value(g, y), 9.0);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 6.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ branch flips */

/* x (node 0), 2 (1), 2x (2), relu(2x) (3), relu(2x) x (4), recorded at x = 1. */
static tg_graph *relu_graph(tg_node *x, tg_node *y)
{
    tg_graph *g = tg_graph_new();
    *x = tg_var(g, "x", 1.0);
    tg_node r = tg_relu(g, tg_mul(g, *x, tg_const(g, 2.0)));
    ck_assert_uint_eq(r.id, 3);
    *y = tg_mul(g, r, *x);
    ck_assert_int_eq(tg_backward(g, *y), TG_OK);
    ck_assert_double_eq(tg_grad(g, *x), 4.0);
    return g;
}

#define FLIP_MSG "tg_forward: node 3 (relu) changed branch since it was recorded; re-record the tape"
#define REFUSE_MSG "tg_backward: the last replay flipped the branch of node 3 (relu); re-record the tape"

START_TEST(test_relu_flip_is_stale)
{
    tg_node x, y;
    tg_graph *g = relu_graph(&x, &y);

    ck_assert_int_eq(tg_set_value(g, x, -1.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    ck_assert_ptr_nonnull(strstr(tg_graph_errmsg(g), "relu"));
    ck_assert_ptr_nonnull(strstr(tg_graph_errmsg(g), "node 3"));
    ck_assert_graph_error(g, TG_ERR_STALE, FLIP_MSG);

    /* The refusal does not depend on the sticky error. */
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE, REFUSE_MSG);

    /* Back on the recorded side: the tape describes the function again. */
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, x, 2.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_graph_ok(g);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_value(g, y), 8.0);
    ck_assert_double_eq(tg_grad(g, x), 8.0);     /* d(2x * x) = 4x */
    tg_graph_free(g);
}
END_TEST

/* Two replays on the wrong side in a row: the tape still holds the x > 0
 * branch, so the second must be stale too (it is compared with the
 * recording, not with the previous replay). */
START_TEST(test_relu_flip_stays_stale)
{
    tg_node x, y;
    tg_graph *g = relu_graph(&x, &y);
    ck_assert_int_eq(tg_set_value(g, x, -1.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, x, -2.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE, FLIP_MSG);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE, REFUSE_MSG);
    tg_graph_free(g);
}
END_TEST

/* A relu recorded at x <= 0 flips when replayed above 0. */
START_TEST(test_relu_flip_from_below)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.0);
    tg_node r = tg_relu(g, x);
    ck_assert_int_eq(tg_set_value(g, x, -3.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_set_value(g, x, 0.5), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE,
                          "tg_forward: node 1 (relu) changed branch since it was recorded; re-record the tape");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, r), TG_ERR_STALE);
    tg_graph_free(g);
}
END_TEST

/* Rewinding below the flipped node (re-recording) lifts the refusal. */
START_TEST(test_relu_flip_cleared_by_rewind)
{
    tg_node x, y;
    tg_graph *g = relu_graph(&x, &y);
    ck_assert_int_eq(tg_set_value(g, x, -1.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_graph_rewind(g, 3), TG_OK);
    tg_node r = tg_relu(g, tg_node_at(g, 2));
    tg_node y2 = tg_mul(g, r, x);
    ck_assert_int_eq(tg_backward(g, y2), TG_OK);
    ck_assert_double_eq(tg_value(g, y2), 0.0);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ stale handles */

START_TEST(test_stale_handles)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    size_t mark = tg_graph_mark(g);
    tg_node t = tg_var(g, "t", 3.0);         /* node 1 */
    tg_node y = tg_mul(g, t, x);              /* node 2 */
    ck_assert_uint_eq(y.id, 2);
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    ck_assert_uint_eq(tg_graph_size(g), 1);

    /* Dropped, not yet reused. */
    ck_assert(isnan(tg_value(g, y)));
    ck_assert(isnan(tg_grad(g, t)));
    ck_assert(tg_is_none(tg_find(g, "t")));
    ck_assert_ptr_null(tg_node_name(g, t));
    ck_assert(tg_is_none(tg_add(g, x, y)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_add: b refers to node 2, dropped by a rewind");
    tg_graph_clear_error(g);

    /* Reused slots: the old handles still read nothing. */
    tg_node u = tg_var(g, "t", 5.0);         /* the name is free again */
    ck_assert_graph_ok(g);
    ck_assert_uint_eq(u.id, t.id);
    tg_node found = tg_find(g, "t");
    ck_assert_uint_eq(found.id, u.id);
    ck_assert_uint_eq(found.gen, u.gen);
    tg_node z = tg_add(g, u, x);
    ck_assert_uint_eq(z.id, y.id);
    ck_assert_double_eq(tg_value(g, z), 7.0);
    ck_assert(isnan(tg_value(g, y)));
    ck_assert(isnan(tg_value(g, t)));
    ck_assert(isnan(tg_grad(g, y)));
    ck_assert_ptr_null(tg_node_name(g, t));
    ck_assert_str_eq(tg_node_op(g, y), "");
    tg_node in[2];
    double d[2];
    ck_assert_int_eq(tg_node_inputs(g, y, in), 0);
    ck_assert_int_eq(tg_node_partials(g, y, d), 0);

    ck_assert(tg_is_none(tg_add(g, y, x)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_add: a refers to node 2, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_mul(g, x, t)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_mul: b refers to node 1, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_sigmoid(g, y)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_sigmoid: a refers to node 2, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_powc(g, t, 2.0)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_powc: a refers to node 1, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_backward: out refers to node 2, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, t, 1.0), TG_ERR_STALE);
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_set_value: leaf refers to node 1, dropped by a rewind");
    tg_graph_clear_error(g);
    ck_assert_double_eq(tg_value(g, u), 5.0);

    /* Still stale many rewinds later. */
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        tg_var(g, NULL, (double)i);
    }
    ck_assert(isnan(tg_value(g, t)));
    ck_assert(isnan(tg_value(g, u)));
    ck_assert(tg_is_none(tg_exp(g, u)));
    ck_assert_graph_error(g, TG_ERR_STALE, "tg_exp: a refers to node 1, dropped by a rewind");
    tg_graph_free(g);
}
END_TEST

/* A rewind to the current size drops nothing: handles stay valid. */
START_TEST(test_rewind_to_size_keeps_handles)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    tg_node y = tg_exp(g, x);
    ck_assert_int_eq(tg_graph_rewind(g, tg_graph_size(g)), TG_OK);
    ck_assert_double_eq(tg_value(g, y), exp(2.0));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, tg_find(g, "x")), exp(2.0));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_foreign_handles)
{
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    tg_var(g, "y", 3.0);
    tg_node h = tg_var(other, "h", 4.0);     /* id 0, like x */
    ck_assert_uint_eq(h.id, x.id);
    ck_assert(isnan(tg_value(g, h)));
    ck_assert(isnan(tg_grad(g, h)));

    ck_assert(tg_is_none(tg_mul(g, x, h)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_mul: b is not a node of this graph");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_mul(g, h, x)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_mul: a is not a node of this graph");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_tanh(g, h)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_tanh: a is not a node of this graph");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, h), TG_ERR_HANDLE);
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_backward: out is not a node of this graph");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_value(g, h, 1.0), TG_ERR_HANDLE);
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_set_value: leaf is not a node of this graph");
    tg_graph_clear_error(g);

    /* A made-up handle. */
    tg_node forged = { 1, 12345 };
    ck_assert(isnan(tg_value(g, forged)));
    ck_assert(tg_is_none(tg_add(g, forged, x)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_add: a is not a node of this graph");
    tg_graph_clear_error(g);
    tg_node far = { 1000000, x.gen };
    ck_assert(isnan(tg_value(g, far)));
    ck_assert(tg_is_none(tg_add(g, x, far)));
    ck_assert_graph_error(g, TG_ERR_HANDLE, "tg_add: b is not a node of this graph");

    /* The other graph is untouched by all this. */
    ck_assert_graph_ok(other);
    ck_assert_double_eq(tg_value(other, h), 4.0);
    ck_assert_uint_eq(tg_graph_size(other), 1);
    ck_assert_uint_eq(tg_graph_size(g), 2);
    tg_graph_free(other);
    tg_graph_free(g);
}
END_TEST

/* tg_set_values and tg_grads give what tg_set_value and tg_grad give one
 * by one, and a bad handle among them changes nothing. */
START_TEST(bulk_set_and_read_match_one_by_one)
{
    enum { N = 50 };
    tg_graph *g = tg_graph_new(), *h = tg_graph_new();
    tg_node xg[N], xh[N];
    double v[N], ga[N], gb[N];
    for (int i = 0; i < N; i++) {
        xg[i] = tg_var(g, NULL, 0.1 * i);
        xh[i] = tg_var(h, NULL, 0.1 * i);
        v[i] = 0.7 - 0.013 * i;
    }
    tg_node yg = tg_const(g, 0.0), yh = tg_const(h, 0.0);
    for (int i = 0; i + 1 < N; i++) {
        yg = tg_add(g, yg, tg_mul(g, tg_sin(g, xg[i]), tg_sub(g, xg[i + 1], xg[i])));
        yh = tg_add(h, yh, tg_mul(h, tg_sin(h, xh[i]), tg_sub(h, xh[i + 1], xh[i])));
    }
    ck_assert_int_eq(tg_set_values(g, N, xg, v), TG_OK);
    for (int i = 0; i < N; i++) ck_assert_int_eq(tg_set_value(h, xh[i], v[i]), TG_OK);
    ck_assert_int_eq(tg_backward(g, yg), TG_OK);
    ck_assert_int_eq(tg_backward(h, yh), TG_OK);
    ck_assert_int_eq(tg_grads(g, N, xg, ga), TG_OK);
    for (int i = 0; i < N; i++) gb[i] = tg_grad(h, xh[i]);
    ck_assert_mem_eq(ga, gb, sizeof ga);
    ck_assert_double_eq(tg_value(g, yg), tg_value(h, yh));

    /* a constant as x[3]: refused, named, nothing written */
    tg_node bad[4] = { xg[0], xg[1], xg[2], tg_const(g, 1.0) };
    double w[4] = { 9, 9, 9, 9 };
    ck_assert_int_eq(tg_set_values(g, 4, bad, w), TG_ERR_ARG);
    ck_assert_msg(strstr(tg_graph_errmsg(g), "tg_set_values: x[3]") != NULL, "%s", tg_graph_errmsg(g));
    ck_assert_double_eq(tg_value(g, xg[0]), v[0]);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_values(g, 2, NULL, w), TG_ERR_ARG);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_set_values(g, 0, NULL, NULL), TG_OK);

    /* a handle of another graph reads NaN and says so; the rest are read */
    tg_node mixed[3] = { xg[0], xh[1], xg[2] };
    double out[3];
    ck_assert_int_eq(tg_grads(g, 3, mixed, out), TG_ERR_HANDLE);
    ck_assert_double_eq(out[0], ga[0]);
    ck_assert(isnan(out[1]));
    ck_assert_double_eq(out[2], ga[2]);
    ck_assert_int_eq(tg_graph_status(g), TG_OK);  /* an accessor records nothing */
    ck_assert_int_eq(tg_grads(g, 1, NULL, out), TG_ERR_ARG);
    tg_graph_free(g);
    tg_graph_free(h);
}
END_TEST

static Suite *replay_suite(void)
{
    Suite *s = suite_create("engine replay");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_replay_equals_rerecord, 0, (int)N_REPLAY);
    tcase_add_loop_test(tc, test_checking_sweeps_equal_plain, 0, (int)N_REPLAY);
    tcase_add_test(tc, test_set_value_waits_for_forward);
    tcase_add_test(tc, test_relu_flip_is_stale);
    tcase_add_test(tc, test_relu_flip_stays_stale);
    tcase_add_test(tc, test_relu_flip_from_below);
    tcase_add_test(tc, test_relu_flip_cleared_by_rewind);
    suite_add_tcase(s, tc);

    tc = tcase_create("handles");
    tcase_add_test(tc, test_stale_handles);
    tcase_add_test(tc, test_rewind_to_size_keeps_handles);
    tcase_add_test(tc, test_foreign_handles);
    tcase_add_test(tc, bulk_set_and_read_match_one_by_one);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(replay_suite());
}
