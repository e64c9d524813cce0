/*
 * Kinks: abs, min, max and relu record which side of their kink they were
 * taken on, as scalars and element by element as tensors (broadcast
 * operands included).  A replay that crosses the kink is TG_ERR_STALE
 * naming the node, and the backward is refused until a replay lands back
 * on the recorded side; at the kink itself the derivative is the
 * documented subgradient: abs'(0) = relu'(0) = 0, and a tie of min or max
 * sends the whole gradient to the first operand.
 *
 * Then every function of the C math library and every kink, on random
 * points inside its domain: a replay to a new point gives bit for bit the
 * values and gradients of recording afresh there (or, for a kink whose
 * side changed, the stale error).
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "helpers.h"
#include "rng.h"
#include "runner.h"

static void assert_flipped(tg_graph *g, const char *fn, unsigned node, const char *op)
{
    char want[160];
    snprintf(want, sizeof want, "%s: node %u (%s) changed branch since it was recorded; re-record the tape",
             fn, node, op);
    ck_assert_graph_error(g, TG_ERR_STALE, want);
}

/* Backward is refused while the last replay has left a branch. */
static void assert_backward_refused(tg_graph *g, tg_node out, unsigned node, const char *op)
{
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, out), TG_ERR_STALE);
    char want[160];
    snprintf(want, sizeof want, "tg_backward: the last replay flipped the branch of node %u (%s); "
             "re-record the tape", node, op);
    ck_assert_graph_error(g, TG_ERR_STALE, want);
    tg_graph_clear_error(g);
}

/* ------------------------------------------------------------ scalars */

/* Replay y = kink(x) at x = v, expecting the recorded side to hold: value
 * want and d y/d x = slope. */
static void replay_to(tg_graph *g, tg_node x, tg_node y, double v, double want, double slope)
{
    ck_assert_int_eq(tg_set_value(g, x, v), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_value(g, y), want);
    ck_assert_double_eq(tg_grad(g, x), slope);
}

START_TEST(abs_keeps_its_side_and_its_subgradient)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", -2.0);
    tg_node y = tg_abs(g, x);
    ck_assert_double_eq(tg_value(g, y), 2.0);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), -1.0);
    replay_to(g, x, y, -0.5, 0.5, -1.0);
    /* 0 is on the side whose slope is not positive, with abs'(0) = 0 */
    replay_to(g, x, y, 0.0, 0.0, 0.0);
    replay_to(g, x, y, -0.0, 0.0, 0.0);

    /* across the kink: stale, the values recomputed all the same */
    ck_assert_int_eq(tg_set_value(g, x, 1.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    assert_flipped(g, "tg_forward", 1, "abs");
    ck_assert_double_eq(tg_value(g, y), 1.0);
    assert_backward_refused(g, y, 1, "abs");
    /* back on the recorded side, the tape is valid again */
    replay_to(g, x, y, -3.0, 3.0, -1.0);
    tg_graph_free(g);

    /* recorded on the positive side, 0 is across the kink */
    g = tg_graph_new();
    x = tg_var(g, "x", 2.0);
    y = tg_abs(g, x);
    replay_to(g, x, y, 0.25, 0.25, 1.0);
    ck_assert_int_eq(tg_set_value(g, x, 0.0), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_STALE);   /* backward replays first */
    assert_flipped(g, "tg_backward", 1, "abs");
    tg_graph_free(g);

    /* recorded at the kink: d|x|/dx = 0 */
    g = tg_graph_new();
    x = tg_var(g, "x", 0.0);
    y = tg_abs(g, x);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    replay_to(g, x, y, -4.0, 4.0, -1.0);
    tg_graph_free(g);
}
END_TEST

START_TEST(relu_keeps_its_side_and_its_subgradient)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.0);
    tg_node y = tg_relu(g, x);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);   /* relu'(0) = 0 */
    replay_to(g, x, y, -1.0, 0.0, 0.0);
    ck_assert_int_eq(tg_set_value(g, x, 1e-300), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    assert_flipped(g, "tg_forward", 1, "relu");
    assert_backward_refused(g, y, 1, "relu");
    replay_to(g, x, y, -2.0, 0.0, 0.0);
    tg_graph_free(g);
}
END_TEST

/* k(a, b) for min or max, recorded at (a0, b0); returns the node. */
typedef tg_node (*binary)(tg_graph *g, tg_node a, tg_node b);

typedef struct pair_graph { tg_graph *g; tg_node a, b, y; } pair_graph;

static pair_graph pair_at(binary k, double a0, double b0)
{
    pair_graph p;
    p.g = tg_graph_new();
    p.a = tg_var(p.g, "a", a0);
    p.b = tg_var(p.g, "b", b0);
    p.y = k(p.g, p.a, p.b);
    ck_assert_graph_ok(p.g);
    return p;
}

/* Replay at (a, b): OK with value want and gradients (da, db), or across
 * the kink (da NaN): stale naming node 2. */
static void pair_replay(pair_graph *p, const char *op, double a, double b, double want, double da, double db)
{
    ck_assert_int_eq(tg_set_value(p->g, p->a, a), TG_OK);
    ck_assert_int_eq(tg_set_value(p->g, p->b, b), TG_OK);
    tg_status s = tg_forward(p->g);
    ck_assert_double_eq(tg_value(p->g, p->y), want);
    if (isnan(da)) {
        ck_assert_int_eq(s, TG_ERR_STALE);
        assert_flipped(p->g, "tg_forward", 2, op);
        assert_backward_refused(p->g, p->y, 2, op);
        return;
    }
    ck_assert_int_eq(s, TG_OK);
    ck_assert_int_eq(tg_backward(p->g, p->y), TG_OK);
    ck_assert_double_eq(tg_grad(p->g, p->a), da);
    ck_assert_double_eq(tg_grad(p->g, p->b), db);
}

START_TEST(min_and_max_send_a_tie_to_the_first_operand)
{
    /* min recorded with a < b: a tie is on a's side, b < a is across */
    pair_graph p = pair_at(tg_min, 1.0, 2.0);
    pair_replay(&p, "min", 1.0, 2.0, 1.0, 1.0, 0.0);
    pair_replay(&p, "min", 2.0, 2.0, 2.0, 1.0, 0.0);
    pair_replay(&p, "min", 3.0, 2.0, 2.0, NAN, NAN);
    pair_replay(&p, "min", 1.5, 2.0, 1.5, 1.0, 0.0);
    tg_graph_free(p.g);

    /* min recorded with b < a: a tie is across */
    p = pair_at(tg_min, 3.0, 2.0);
    pair_replay(&p, "min", 3.0, 2.0, 2.0, 0.0, 1.0);
    pair_replay(&p, "min", 2.0, 2.0, 2.0, NAN, NAN);
    pair_replay(&p, "min", 5.0, -1.0, -1.0, 0.0, 1.0);
    tg_graph_free(p.g);

    /* max: the mirror image */
    p = pair_at(tg_max, 3.0, 2.0);
    pair_replay(&p, "max", 3.0, 2.0, 3.0, 1.0, 0.0);
    pair_replay(&p, "max", 2.0, 2.0, 2.0, 1.0, 0.0);
    pair_replay(&p, "max", 1.0, 2.0, 2.0, NAN, NAN);
    pair_replay(&p, "max", 7.0, 2.0, 7.0, 1.0, 0.0);
    tg_graph_free(p.g);

    p = pair_at(tg_max, 1.0, 2.0);
    pair_replay(&p, "max", 1.0, 2.0, 2.0, 0.0, 1.0);
    pair_replay(&p, "max", 2.0, 2.0, 2.0, NAN, NAN);
    pair_replay(&p, "max", -1.0, 0.5, 0.5, 0.0, 1.0);
    tg_graph_free(p.g);

    /* recorded at a tie */
    p = pair_at(tg_min, 4.0, 4.0);
    ck_assert_int_eq(tg_backward(p.g, p.y), TG_OK);
    ck_assert_double_eq(tg_grad(p.g, p.a), 1.0);
    ck_assert_double_eq(tg_grad(p.g, p.b), 0.0);
    tg_graph_free(p.g);
}
END_TEST

START_TEST(min_and_max_of_a_node_and_itself_have_slope_one)
{
    /* min(x, x) = max(x, x) = x: the tie's whole gradient reaches x once */
    for (int k = 0; k < 2; k++) {
        tg_graph *g = tg_graph_new();
        tg_node x = tg_var(g, "x", -0.75);
        tg_node y = k ? tg_max(g, x, x) : tg_min(g, x, x);
        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        ck_assert_double_eq(tg_value(g, y), -0.75);
        ck_assert_double_eq(tg_grad(g, x), 1.0);
        /* and every replay stays on the tie */
        replay_to(g, x, y, 12.0, 12.0, 1.0);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(a_nan_operand_gives_nan_unlike_fmin)
{
    for (int k = 0; k < 4; k++) {
        bool is_max = k & 1, nan_first = k & 2;
        tg_graph *g = tg_graph_new();
        tg_node a = tg_var(g, "a", nan_first ? NAN : 1.0);
        tg_node b = tg_var(g, "b", nan_first ? 1.0 : NAN);
        tg_node y = is_max ? tg_max(g, a, b) : tg_min(g, a, b);
        ck_assert_msg(isnan(tg_value(g, y)), "%s with a NaN %s operand gave %g", is_max ? "max" : "min",
                      nan_first ? "first" : "second", tg_value(g, y));
        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        ck_assert(isnan(tg_grad(g, a)));
        ck_assert(isnan(tg_grad(g, b)));
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------------------ tensors */

static const double A23[6] = { 1, 5, -2, 4, 0, 3 };   /* 2x3 */
static const double R13[3] = { 2, 0, 3 };             /* a 1x3 row */
static const double W23[6] = { 1, 2, 3, 4, 5, 6 };    /* weights, so each element's gradient shows */

typedef struct tens_graph { tg_graph *g; tg_node A, R, y, out; } tens_graph;

/* out = sum(k(first, second) * W), A the 2x3 operand, R the row or a
 * scalar (R13[0] when scalar). */
static tens_graph tens_at(binary k, bool row_first, bool scalar)
{
    tens_graph t;
    t.g = tg_graph_new();
    t.A = tg_tensor_var(t.g, "A", 2, 3, A23);
    t.R = scalar ? tg_var(t.g, "s", 1.0) : tg_tensor_var(t.g, "R", 1, 3, R13);
    tg_node W = tg_tensor_const(t.g, 2, 3, W23);
    t.y = row_first ? k(t.g, t.R, t.A) : k(t.g, t.A, t.R);
    t.out = tg_sum(t.g, tg_mul(t.g, t.y, W));
    ck_assert_graph_ok(t.g);
    ck_assert_uint_eq(t.y.id, 3);
    return t;
}

static void assert_tensor(const tg_graph *g, tg_node n, const double *want, size_t count, const char *what)
{
    double got[6];
    if (tg_is_tensor(g, n)) ck_assert_int_eq(tg_tensor_get_grad(g, n, got), TG_OK);
    else got[0] = tg_grad(g, n);
    for (size_t k = 0; k < count; k++)
        ck_assert_msg(got[k] == want[k], "%s[%zu]: %g, expected %g", what, k, got[k], want[k]);
}

/* t's values are want, and a backward gives A and R (of nR elements) the
 * gradients dA and dR. */
static void assert_recorded(const tens_graph *t, const double *want, const double *dA, const double *dR, size_t nR)
{
    double v[6];
    ck_assert_int_eq(tg_tensor_get(t->g, t->y, v), TG_OK);
    for (int e = 0; e < 6; e++) ck_assert_double_eq(v[e], want[e]);
    ck_assert_int_eq(tg_backward(t->g, t->out), TG_OK);
    assert_tensor(t->g, t->A, dA, 6, "dA");
    assert_tensor(t->g, t->R, dR, nR, "dR");
}

/* Replace A's values by a with element k set to v; forward gives st. */
static void replay_with(const tens_graph *t, double *a, size_t k, double v, tg_status st)
{
    a[k] = v;
    tg_graph_clear_error(t->g);
    ck_assert_int_eq(tg_tensor_set(t->g, t->A, a), TG_OK);
    ck_assert_int_eq(tg_forward(t->g), st);
}

START_TEST(tensor_abs_and_relu_elementwise)
{
    static const double x[6] = { -2, 0, 3, -0.5, 1, -0.0 };
    static const double abs_slope[6] = { -1, 0, 1, -1, 1, 0 }, relu_slope[6] = { 0, 0, 1, 0, 1, 0 };
    for (int k = 0; k < 2; k++) {
        tg_graph *g = tg_graph_new();
        tg_node X = tg_tensor_var(g, "X", 2, 3, x);
        tg_node y = k ? tg_relu(g, X) : tg_abs(g, X);
        double v[6];
        ck_assert_int_eq(tg_tensor_get(g, y, v), TG_OK);
        for (int e = 0; e < 6; e++) ck_assert_double_eq(v[e], k ? fmax(x[e], 0.0) : fabs(x[e]));
        ck_assert_int_eq(tg_backward(g, tg_sum(g, y)), TG_OK);
        assert_tensor(g, X, k ? relu_slope : abs_slope, 6, k ? "d relu" : "d abs");

        /* element 1 (at the kink, recorded on the side of 0 slope) moves
         * to 1: stale, naming the tensor node; then back */
        double x2[6];
        memcpy(x2, x, sizeof x2);
        x2[1] = 1.0;
        ck_assert_int_eq(tg_tensor_set(g, X, x2), TG_OK);
        ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
        assert_flipped(g, "tg_forward", 1, k ? "relu" : "abs");
        x2[1] = -7.0;
        tg_graph_clear_error(g);
        ck_assert_int_eq(tg_tensor_set(g, X, x2), TG_OK);
        ck_assert_int_eq(tg_forward(g), TG_OK);
        ck_assert_int_eq(tg_tensor_get(g, y, v), TG_OK);
        ck_assert_double_eq(v[1], k ? 0.0 : 7.0);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(tensor_min_with_a_broadcast_row)
{
    /* min(A, R): A = [1 5 -2; 4 0 3], R = [2 0 3]
     *   [1 0 -2; 2 0 3], from A A A / R A(tie) A(tie)
     *   dA = W where A is taken = [1 0 3; 0 5 6]
     *   dR = column sums of W where R is taken = [4, 2, 0] */
    static const double want[6] = { 1, 0, -2, 2, 0, 3 };
    static const double dA[6] = { 1, 0, 3, 0, 5, 6 }, dR[3] = { 4, 2, 0 };
    tens_graph t = tens_at(tg_min, false, false);
    assert_recorded(&t, want, dA, dR, 3);

    /* A[0][0] past R[0]: that element crosses its kink */
    double a2[6];
    memcpy(a2, A23, sizeof a2);
    replay_with(&t, a2, 0, 2.5, TG_ERR_STALE);
    assert_flipped(t.g, "tg_forward", 3, "min");
    assert_backward_refused(t.g, t.out, 3, "min");
    /* onto the tie: still on A's side, valid again */
    replay_with(&t, a2, 0, 2.0, TG_OK);
    ck_assert_int_eq(tg_backward(t.g, t.out), TG_OK);
    assert_tensor(t.g, t.A, dA, 6, "dA at the tie");
    assert_tensor(t.g, t.R, dR, 3, "dR at the tie");

    /* the row moves: R[1] = 6 flips column 1 of the first row (5 < 6) */
    double r2[3] = { 2, 6, 3 };
    ck_assert_int_eq(tg_tensor_set(t.g, t.R, r2), TG_OK);
    ck_assert_int_eq(tg_forward(t.g), TG_ERR_STALE);
    assert_flipped(t.g, "tg_forward", 3, "min");
    tg_graph_free(t.g);
}
END_TEST

START_TEST(tensor_max_with_the_row_first_takes_the_ties)
{
    /* max(R, A): [2 5 3; 4 0 3], from R A R / A R(tie) R(tie)
     *   dR = [W00, W11, W02 + W12] = [1, 5, 9], dA = [0 2 0; 4 0 0] */
    static const double want[6] = { 2, 5, 3, 4, 0, 3 };
    static const double dA[6] = { 0, 2, 0, 4, 0, 0 }, dR[3] = { 1, 5, 9 };
    tens_graph t = tens_at(tg_max, true, false);
    assert_recorded(&t, want, dA, dR, 3);

    /* A[1][1] above R[1] = 0 leaves the tie: stale */
    double a2[6];
    memcpy(a2, A23, sizeof a2);
    replay_with(&t, a2, 4, 0.5, TG_ERR_STALE);
    assert_flipped(t.g, "tg_forward", 3, "max");
    /* below it, R's side still */
    replay_with(&t, a2, 4, -0.5, TG_OK);
    ck_assert_int_eq(tg_backward(t.g, t.out), TG_OK);
    assert_tensor(t.g, t.R, dR, 3, "dR");
    tg_graph_free(t.g);
}
END_TEST

START_TEST(tensor_max_with_a_scalar)
{
    /* max(A, s), s = 1: [1 5 1; 4 1 3], from A(tie) A s A s A
     *   dA = [1 2 0; 4 0 6], ds = W02 + W11 = 8 */
    static const double want[6] = { 1, 5, 1, 4, 1, 3 };
    static const double dA[6] = { 1, 2, 0, 4, 0, 6 }, ds[1] = { 8 };
    tens_graph t = tens_at(tg_max, false, true);
    assert_recorded(&t, want, dA, ds, 1);
    double v[6];
    /* s = 3.5 flips elements 0 and 5 */
    ck_assert_int_eq(tg_set_value(t.g, t.R, 3.5), TG_OK);
    ck_assert_int_eq(tg_forward(t.g), TG_ERR_STALE);
    assert_flipped(t.g, "tg_forward", 3, "max");
    /* s = 0.5: every element on its recorded side; the value moves with s */
    tg_graph_clear_error(t.g);
    ck_assert_int_eq(tg_set_value(t.g, t.R, 0.5), TG_OK);
    ck_assert_int_eq(tg_forward(t.g), TG_OK);
    ck_assert_int_eq(tg_tensor_get(t.g, t.y, v), TG_OK);
    ck_assert_double_eq(v[2], 0.5);
    ck_assert_double_eq(v[4], 0.5);
    ck_assert_int_eq(tg_backward(t.g, t.out), TG_OK);
    assert_tensor(t.g, t.R, ds, 1, "ds at s = 0.5");
    /* s = 0 ties with element 4, and a tie is A's: across */
    ck_assert_int_eq(tg_set_value(t.g, t.R, 0.0), TG_OK);
    ck_assert_int_eq(tg_forward(t.g), TG_ERR_STALE);
    assert_flipped(t.g, "tg_forward", 3, "max");
    tg_graph_free(t.g);
}
END_TEST

/* ------------------------------------------------------------ replay vs recording */

/* Every new function (and relu), with the interval its inputs are drawn
 * from, inside its domain. */
typedef struct fn {
    const char *name;
    tg_node (*unary)(tg_graph *g, tg_node a);
    tg_node (*binary)(tg_graph *g, tg_node a, tg_node b);
    double lo, hi;
} fn;

static const fn fns[] = {
    { "sqrt", tg_sqrt, NULL, 0.01, 10 },      { "cbrt", tg_cbrt, NULL, -10, 10 },
    { "sin", tg_sin, NULL, -10, 10 },         { "cos", tg_cos, NULL, -10, 10 },
    { "tan", tg_tan, NULL, -1.4, 1.4 },       { "asin", tg_asin, NULL, -0.99, 0.99 },
    { "acos", tg_acos, NULL, -0.99, 0.99 },   { "atan", tg_atan, NULL, -50, 50 },
    { "sinh", tg_sinh, NULL, -5, 5 },         { "cosh", tg_cosh, NULL, -5, 5 },
    { "asinh", tg_asinh, NULL, -50, 50 },     { "acosh", tg_acosh, NULL, 1.01, 20 },
    { "atanh", tg_atanh, NULL, -0.99, 0.99 }, { "expm1", tg_expm1, NULL, -5, 5 },
    { "log1p", tg_log1p, NULL, -0.99, 20 },   { "log2", tg_log2, NULL, 0.01, 50 },
    { "log10", tg_log10, NULL, 0.01, 50 },    { "erf", tg_erf, NULL, -4, 4 },
    { "erfc", tg_erfc, NULL, -4, 4 },         { "softplus", tg_softplus, NULL, -30, 30 },
    { "abs", tg_abs, NULL, -3, 3 },           { "relu", tg_relu, NULL, -3, 3 },
    { "atan2", NULL, tg_atan2, -3, 3 },       { "hypot", NULL, tg_hypot, -3, 3 },
    { "min", NULL, tg_min, -3, 3 },           { "max", NULL, tg_max, -3, 3 },
};
enum { NFNS = sizeof fns / sizeof fns[0] };

/* splitmix64: a fixed seed, the same points on every run. */
static uint64_t rng_state;
static double uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

/* The side of its kink, as the header defines it (whether its partial in
 * its first operand is positive), or -1 for a function without a kink. */
static int side(const char *name, double a, double b)
{
    if (!strcmp(name, "abs") || !strcmp(name, "relu")) return a > 0;
    if (!strcmp(name, "min")) return a <= b;
    if (!strcmp(name, "max")) return a >= b;
    return -1;
}

/* out = sum(y * A + y) with y = f(A, B): the function's partials reach A
 * twice, B once.  Scalars (n = 1) or 2x3 tensors with B a 1x3 row. */
typedef struct rec { tg_graph *g; tg_node A, B, y, out; } rec;

static rec record(const fn *f, const double *a, const double *b, bool tensor)
{
    rec r;
    r.g = tg_graph_new();
    if (tensor) {
        r.A = tg_tensor_var(r.g, "A", 2, 3, a);
        r.B = tg_tensor_var(r.g, "B", 1, 3, b);
    } else {
        r.A = tg_var(r.g, "A", a[0]);
        r.B = tg_var(r.g, "B", b[0]);
    }
    r.y = f->unary ? f->unary(r.g, r.A) : f->binary(r.g, r.A, r.B);
    tg_node z = tg_add(r.g, tg_mul(r.g, r.y, r.A), r.y);
    r.out = tensor ? tg_sum(r.g, z) : z;
    ck_assert_graph_ok(r.g);
    return r;
}

static void get(const rec *r, tg_node n, bool grad, double *out)
{
    if (grad) ck_assert_int_eq(tg_tensor_get_grad(r->g, n, out), TG_OK);
    else ck_assert_int_eq(tg_tensor_get(r->g, n, out), TG_OK);
}

static void same_bits(const rec *x, const rec *y, tg_node nx, tg_node ny, bool grad, size_t count,
                      const char *what)
{
    double u[6], v[6];
    get(x, nx, grad, u);
    get(y, ny, grad, v);
    for (size_t k = 0; k < count; k++)
        ck_assert_msg(memcmp(&u[k], &v[k], sizeof u[k]) == 0, "%s[%zu]: replayed %.17g, recorded %.17g",
                      what, k, u[k], v[k]);
}

START_TEST(replay_equals_recording_afresh_on_random_points)
{
    bool tensor = _i == 1;
    size_t na = tensor ? 6 : 1, nb = tensor ? 3 : 1;
    rng_state = 20240611u + (uint64_t)_i;
    int compared = 0, stale = 0;
    for (size_t fi = 0; fi < NFNS; fi++) {
        const fn *f = &fns[fi];
        for (int trial = 0; trial < 40; trial++) {
            double a0[6], b0[3], a1[6], b1[3];
            for (size_t k = 0; k < na; k++) a0[k] = uniform(f->lo, f->hi), a1[k] = uniform(f->lo, f->hi);
            for (size_t k = 0; k < nb; k++) b0[k] = uniform(f->lo, f->hi), b1[k] = uniform(f->lo, f->hi);
            rec g = record(f, a0, b0, tensor);
            ck_assert_int_eq(tg_backward(g.g, g.out), TG_OK);
            /* replay at (a1, b1) */
            if (tensor) {
                ck_assert_int_eq(tg_tensor_set(g.g, g.A, a1), TG_OK);
                ck_assert_int_eq(tg_tensor_set(g.g, g.B, b1), TG_OK);
            } else {
                ck_assert_int_eq(tg_set_value(g.g, g.A, a1[0]), TG_OK);
                ck_assert_int_eq(tg_set_value(g.g, g.B, b1[0]), TG_OK);
            }
            bool crossed = false;
            for (size_t k = 0; k < na; k++)
                crossed |= side(f->name, a0[k], b0[k % nb]) != side(f->name, a1[k], b1[k % nb]);
            tg_status s = tg_forward(g.g);
            rec h = record(f, a1, b1, tensor);
            char what[64];
            snprintf(what, sizeof what, "%s %s, trial %d", tensor ? "tensor" : "scalar", f->name, trial);
            /* replayed values, stale or not, are those of the new point */
            same_bits(&g, &h, g.y, h.y, false, na, what);
            same_bits(&g, &h, g.out, h.out, false, 1, what);
            if (crossed) {
                ck_assert_msg(s == TG_ERR_STALE, "%s: crossed the kink, forward gave %d", what, (int)s);
                assert_flipped(g.g, "tg_forward", (unsigned)g.y.id, f->name);
                stale++;
            } else {
                ck_assert_msg(s == TG_OK, "%s: forward gave %d: %s", what, (int)s, tg_graph_errmsg(g.g));
                ck_assert_int_eq(tg_backward(g.g, g.out), TG_OK);
                ck_assert_int_eq(tg_backward(h.g, h.out), TG_OK);
                same_bits(&g, &h, g.A, h.A, true, na, what);
                same_bits(&g, &h, g.B, h.B, true, nb, what);
                compared++;
            }
            tg_graph_free(g.g);
            tg_graph_free(h.g);
        }
    }
    printf("%s: %d replays equal to recording afresh, %d across a kink\n", tensor ? "tensors" : "scalars",
           compared, stale);
    ck_assert_int_ge(compared, NFNS * 20);
    ck_assert_int_ge(stale, 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("kinks");
    TCase *tc = tcase_create("kinks");
    tcase_add_test(tc, abs_keeps_its_side_and_its_subgradient);
    tcase_add_test(tc, relu_keeps_its_side_and_its_subgradient);
    tcase_add_test(tc, min_and_max_send_a_tie_to_the_first_operand);
    tcase_add_test(tc, min_and_max_of_a_node_and_itself_have_slope_one);
    tcase_add_test(tc, a_nan_operand_gives_nan_unlike_fmin);
    tcase_add_test(tc, tensor_abs_and_relu_elementwise);
    tcase_add_test(tc, tensor_min_with_a_broadcast_row);
    tcase_add_test(tc, tensor_max_with_the_row_first_takes_the_ties);
    tcase_add_test(tc, tensor_max_with_a_scalar);
    tcase_add_loop_test(tc, replay_equals_recording_afresh_on_random_points, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
