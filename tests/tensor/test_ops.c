/* Every tensor op against its scalar twin (the same computation built
 * element by element from scalar nodes) and against central differences.
 *
 * Each case computes loss = sum(op(inputs) * W) for a fixed random W, so
 * every output element carries a different upstream gradient, and
 * compares the op's values, the loss and every input's gradient. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "rng.h"
#include "runner.h"
#include "twin.h"

#define MAX_IN 2
#define MAX_ELEMS 16
#define TWIN_TOL 1e-12
#define FD_STEP 1e-5
#define FD_TOL 1e-7

typedef enum in_kind {
    IN_VAR,     /* tensor variable */
    IN_CONST,   /* tensor constant: must receive no gradient */
    IN_SCALAR,  /* scalar variable, broadcast both ways */
    IN_ONEHOT   /* tensor constant with one 1 per row */
} in_kind;

typedef struct input {
    size_t rows, cols;
    in_kind kind;
    double lo, hi;
} input;

typedef tg_node (*tensor_fn)(tg_graph *g, const tg_node *in);
typedef smat (*twin_fn)(tg_graph *g, const smat *in);

typedef struct op_case {
    char name[64];
    int nin;
    input in[MAX_IN];
    tensor_fn tensor;
    twin_fn twin;
    bool kink;  /* inputs kept away from 0 */
} op_case;

static smat one(tg_node n)
{
    smat m = smat_new(1, 1);
    m.e[0] = n;
    return m;
}

/* ------------------------------------------------------------ the ops */

static tg_node t_exp(tg_graph *g, const tg_node *in)     { return tg_exp(g, in[0]); }
static tg_node t_recip(tg_graph *g, const tg_node *in)   { return tg_recip(g, in[0]); }
static tg_node t_log(tg_graph *g, const tg_node *in)     { return tg_log(g, in[0]); }
static tg_node t_tanh(tg_graph *g, const tg_node *in)    { return tg_tanh(g, in[0]); }
static tg_node t_sigmoid(tg_graph *g, const tg_node *in) { return tg_sigmoid(g, in[0]); }
static tg_node t_relu(tg_graph *g, const tg_node *in)    { return tg_relu(g, in[0]); }
static tg_node t_neg(tg_graph *g, const tg_node *in)     { return tg_neg(g, in[0]); }
static tg_node t_sigdec(tg_graph *g, const tg_node *in)  { return tg_sigmoid_decomposed(g, in[0]); }
static smat w_exp(tg_graph *g, const smat *in)     { return smat_unary(g, tg_exp, in[0]); }
static smat w_recip(tg_graph *g, const smat *in)   { return smat_unary(g, tg_recip, in[0]); }
static smat w_log(tg_graph *g, const smat *in)     { return smat_unary(g, tg_log, in[0]); }
static smat w_tanh(tg_graph *g, const smat *in)    { return smat_unary(g, tg_tanh, in[0]); }
static smat w_sigmoid(tg_graph *g, const smat *in) { return smat_unary(g, tg_sigmoid, in[0]); }
static smat w_relu(tg_graph *g, const smat *in)    { return smat_unary(g, tg_relu, in[0]); }
static smat w_neg(tg_graph *g, const smat *in)     { return smat_unary(g, tg_neg, in[0]); }
static smat w_sigdec(tg_graph *g, const smat *in)  { return smat_unary(g, tg_sigmoid, in[0]); }

static tg_node t_add(tg_graph *g, const tg_node *in) { return tg_add(g, in[0], in[1]); }
static tg_node t_mul(tg_graph *g, const tg_node *in) { return tg_mul(g, in[0], in[1]); }
static tg_node t_pow(tg_graph *g, const tg_node *in) { return tg_pow(g, in[0], in[1]); }
static tg_node t_sub(tg_graph *g, const tg_node *in) { return tg_sub(g, in[0], in[1]); }
static tg_node t_div(tg_graph *g, const tg_node *in) { return tg_div(g, in[0], in[1]); }
static smat w_add(tg_graph *g, const smat *in) { return smat_binary(g, tg_add, in[0], in[1]); }
static smat w_mul(tg_graph *g, const smat *in) { return smat_binary(g, tg_mul, in[0], in[1]); }
static smat w_pow(tg_graph *g, const smat *in) { return smat_binary(g, tg_pow, in[0], in[1]); }
static smat w_sub(tg_graph *g, const smat *in) { return smat_binary(g, tg_sub, in[0], in[1]); }
static smat w_div(tg_graph *g, const smat *in) { return smat_binary(g, tg_div, in[0], in[1]); }

static tg_node t_square(tg_graph *g, const tg_node *in) { return tg_mul(g, in[0], in[0]); }
static smat w_square(tg_graph *g, const smat *in) { return smat_binary(g, tg_mul, in[0], in[0]); }
static tg_node t_powc(tg_graph *g, const tg_node *in) { return tg_powc(g, in[0], 2.5); }
static smat w_powc(tg_graph *g, const smat *in) { return smat_powc(g, in[0], 2.5); }

static tg_node t_mm(tg_graph *g, const tg_node *in)    { return tg_matmul(g, in[0], in[1]); }
static tg_node t_mm_ta(tg_graph *g, const tg_node *in) { return tg_matmul_ex(g, in[0], in[1], TG_TRANS_A); }
static tg_node t_mm_tb(tg_graph *g, const tg_node *in) { return tg_matmul_ex(g, in[0], in[1], TG_TRANS_B); }
static tg_node t_mm_tab(tg_graph *g, const tg_node *in)
{
    return tg_matmul_ex(g, in[0], in[1], TG_TRANS_A | TG_TRANS_B);
}
static tg_node t_gram(tg_graph *g, const tg_node *in) { return tg_matmul_ex(g, in[0], in[0], TG_TRANS_B); }
static smat w_mm(tg_graph *g, const smat *in)     { return smat_matmul(g, in[0], in[1], 0); }
static smat w_mm_ta(tg_graph *g, const smat *in)  { return smat_matmul(g, in[0], in[1], TG_TRANS_A); }
static smat w_mm_tb(tg_graph *g, const smat *in)  { return smat_matmul(g, in[0], in[1], TG_TRANS_B); }
static smat w_mm_tab(tg_graph *g, const smat *in)
{
    return smat_matmul(g, in[0], in[1], TG_TRANS_A | TG_TRANS_B);
}
static smat w_gram(tg_graph *g, const smat *in) { return smat_matmul(g, in[0], in[0], TG_TRANS_B); }

static tg_node t_softmax(tg_graph *g, const tg_node *in) { return tg_softmax(g, in[0]); }
static smat w_softmax(tg_graph *g, const smat *in) { return smat_softmax(g, in[0]); }
static tg_node t_sum(tg_graph *g, const tg_node *in)  { return tg_sum(g, in[0]); }
static smat w_sum(tg_graph *g, const smat *in)  { return one(smat_sum(g, in[0])); }
static tg_node t_mean(tg_graph *g, const tg_node *in) { return tg_mean(g, in[0]); }
static smat w_mean(tg_graph *g, const smat *in) { return one(smat_mean(g, in[0])); }
static tg_node t_xent(tg_graph *g, const tg_node *in) { return tg_softmax_cross_entropy(g, in[0], in[1]); }
static smat w_xent(tg_graph *g, const smat *in) { return one(smat_xent(g, in[0], in[1])); }

/* The cross-entropy beside a softmax of the same logits feeding another
 * consumer: the logits get both paths, the loss's straight from its own
 * node (whose inputs are the logits and the targets). */
static tg_node t_xent_shared(tg_graph *g, const tg_node *in)
{
    tg_node x = tg_softmax_cross_entropy(g, in[0], in[1]);
    tg_node s[2];
    ck_assert_int_eq(tg_node_inputs(g, x, s), 2);
    ck_assert(s[0].id == in[0].id && s[0].gen == in[0].gen);
    ck_assert(s[1].id == in[1].id && s[1].gen == in[1].gen);
    tg_node y = tg_softmax(g, in[0]);
    ck_assert_str_eq(tg_node_op(g, y), "softmax");
    return tg_add(g, x, tg_sum(g, tg_mul(g, y, y)));
}
static smat w_xent_shared(tg_graph *g, const smat *in)
{
    smat y = smat_softmax(g, in[0]);
    smat yy = smat_binary(g, tg_mul, y, y);
    tg_node loss = tg_add(g, smat_xent(g, in[0], in[1]), smat_sum(g, yy));
    smat_free(&y);
    smat_free(&yy);
    return one(loss);
}

/* ------------------------------------------------------------ the cases */

#define MAX_CASES 160
static op_case cases[MAX_CASES];
static int ncases;

static input T(size_t r, size_t c) { return (input){ r, c, IN_VAR, -2.0, 2.0 }; }
static input K(size_t r, size_t c) { return (input){ r, c, IN_CONST, -2.0, 2.0 }; }
static input S(void)               { return (input){ 1, 1, IN_SCALAR, -2.0, 2.0 }; }
static input range(input x, double lo, double hi) { x.lo = lo; x.hi = hi; return x; }

static void add_case(const char *name, int nin, input a, input b, tensor_fn tf, twin_fn wf, bool kink)
{
    if (ncases == MAX_CASES) abort();  /* runs outside a test: no ck_assert here */
    op_case *c = &cases[ncases++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->nin = nin;
    c->in[0] = a;
    c->in[1] = b;
    c->tensor = tf;
    c->twin = wf;
    c->kink = kink;
}

static void describe(char *buf, size_t len, const char *op, input a, input b, int nin)
{
    static const char *kinds[] = { "", " const", " scalar", " onehot" };
    if (nin == 1)
        snprintf(buf, len, "%s %zux%zu%s", op, a.rows, a.cols, kinds[a.kind]);
    else
        snprintf(buf, len, "%s %zux%zu%s, %zux%zu%s", op, a.rows, a.cols, kinds[a.kind],
                 b.rows, b.cols, kinds[b.kind]);
}

static void build_cases(void)
{
    if (ncases) return;
    char name[64];
    input none = { 0, 0, IN_VAR, 0, 0 };

    /* elementwise unary, on 2x3 and 3x2 */
    struct { const char *op; tensor_fn t; twin_fn w; double lo, hi; bool kink; } un[] = {
        { "exp", t_exp, w_exp, -2, 2, false },
        { "recip", t_recip, w_recip, 0.5, 2, false },
        { "log", t_log, w_log, 0.5, 3, false },
        { "tanh", t_tanh, w_tanh, -2, 2, false },
        { "sigmoid", t_sigmoid, w_sigmoid, -3, 3, false },
        { "relu", t_relu, w_relu, -2, 2, true },
        { "neg", t_neg, w_neg, -2, 2, false },
        { "sigmoid_decomposed", t_sigdec, w_sigdec, -3, 3, false },
    };
    for (size_t k = 0; k < sizeof un / sizeof un[0]; k++) {
        input shapes[] = { T(2, 3), T(3, 2) };
        for (int s = 0; s < 2; s++) {
            input a = range(shapes[s], un[k].lo, un[k].hi);
            describe(name, sizeof name, un[k].op, a, none, 1);
            add_case(name, 1, a, none, un[k].t, un[k].w, un[k].kink);
        }
    }

    /* elementwise binary, every broadcast */
    struct { input a, b; } pairs[] = {
        { T(2, 3), T(2, 3) }, { T(2, 3), T(1, 3) }, { T(1, 3), T(2, 3) },
        { T(3, 2), T(3, 1) }, { T(3, 1), T(3, 2) }, { T(2, 3), S() }, { S(), T(2, 3) },
        { T(2, 1), T(1, 3) }, { T(1, 3), T(2, 1) }, { T(1, 1), T(2, 3) }, { T(3, 2), T(1, 1) },
        { T(2, 3), K(1, 3) }, { K(2, 3), T(1, 3) }, { T(3, 1), T(3, 1) },
    };
    struct { const char *op; tensor_fn t; twin_fn w; double alo, ahi, blo, bhi; } bin[] = {
        { "add", t_add, w_add, -2, 2, -2, 2 },
        { "mul", t_mul, w_mul, -2, 2, -2, 2 },
        { "pow", t_pow, w_pow, 0.5, 2, -1.5, 1.5 },
        { "sub", t_sub, w_sub, -2, 2, -2, 2 },
        { "div", t_div, w_div, -2, 2, 0.5, 2 },
    };
    for (size_t k = 0; k < sizeof bin / sizeof bin[0]; k++)
        for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
            input a = range(pairs[p].a, bin[k].alo, bin[k].ahi);
            input b = range(pairs[p].b, bin[k].blo, bin[k].bhi);
            describe(name, sizeof name, bin[k].op, a, b, 2);
            add_case(name, 2, a, b, bin[k].t, bin[k].w, false);
        }
    add_case("x*x 2x3 (one node, both operands)", 1, T(2, 3), none, t_square, w_square, false);
    add_case("powc 2.5 2x3", 1, range(T(2, 3), 0.5, 2), none, t_powc, w_powc, false);
    add_case("powc 2.5 3x1", 1, range(T(3, 1), 0.5, 2), none, t_powc, w_powc, false);

    /* matmul with each transpose flag */
    add_case("matmul 2x3 . 3x2", 2, T(2, 3), T(3, 2), t_mm, w_mm, false);
    add_case("matmul 3x2^T . 3x4", 2, T(3, 2), T(3, 4), t_mm_ta, w_mm_ta, false);
    add_case("matmul 2x3 . 4x3^T", 2, T(2, 3), T(4, 3), t_mm_tb, w_mm_tb, false);
    add_case("matmul 3x2^T . 4x3^T", 2, T(3, 2), T(4, 3), t_mm_tab, w_mm_tab, false);
    add_case("matmul 2x3 . 2x3^T (one node)", 1, T(2, 3), none, t_gram, w_gram, false);
    add_case("matmul const 2x3 . 3x2", 2, K(2, 3), T(3, 2), t_mm, w_mm, false);
    add_case("matmul scalar . 1x3", 2, S(), T(1, 3), t_mm, w_mm, false);
    add_case("matmul 3x1 . 1x2", 2, T(3, 1), T(1, 2), t_mm, w_mm, false);

    /* softmax, reductions, cross-entropy */
    add_case("softmax 2x3", 1, T(2, 3), none, t_softmax, w_softmax, false);
    add_case("softmax 3x2", 1, T(3, 2), none, t_softmax, w_softmax, false);
    add_case("softmax 1x4", 1, T(1, 4), none, t_softmax, w_softmax, false);
    add_case("sum 2x3", 1, T(2, 3), none, t_sum, w_sum, false);
    add_case("sum 3x1", 1, T(3, 1), none, t_sum, w_sum, false);
    add_case("sum scalar", 1, S(), none, t_sum, w_sum, false);
    add_case("mean 3x2", 1, T(3, 2), none, t_mean, w_mean, false);
    input onehot = { 3, 4, IN_ONEHOT, 0, 0 };
    add_case("xent 3x4 one-hot", 2, T(3, 4), onehot, t_xent, w_xent, false);
    add_case("xent 3x4 soft labels (variable)", 2, T(3, 4), range(T(3, 4), 0, 1), t_xent, w_xent, false);
    add_case("xent 3x4 with softmax shared", 2, T(3, 4), onehot, t_xent_shared, w_xent_shared, false);
    onehot.rows = 2;
    onehot.cols = 3;
    add_case("xent 2x3 one-hot", 2, T(2, 3), onehot, t_xent, w_xent, false);
}

/* ------------------------------------------------------------ harness */

typedef struct run {
    double data[MAX_IN][MAX_ELEMS];
    double w[MAX_ELEMS];
    size_t out_rows, out_cols;
} run;

static void make_data(const op_case *c, run *r)
{
    uint64_t seed = 12345;
    for (int i = 0; i < c->nin; i++) {
        const input *in = &c->in[i];
        size_t n = in->rows * in->cols;
        ck_assert_uint_le(n, MAX_ELEMS);
        if (in->kind == IN_ONEHOT) {
            memset(r->data[i], 0, sizeof r->data[i]);
            for (size_t row = 0; row < in->rows; row++)
                r->data[i][row * in->cols + (row * 7 + 1) % in->cols] = 1.0;
        } else if (c->kink) {
            rng_fill_away_from_zero(&seed, r->data[i], n, in->lo, in->hi, 0.1);
        } else {
            rng_fill(&seed, r->data[i], n, in->lo, in->hi);
        }
    }
    rng_fill(&seed, r->w, MAX_ELEMS, -1.5, 1.5);
}

static tg_node make_input(tg_graph *g, const input *in, const double *data)
{
    switch (in->kind) {
    case IN_VAR:    return tg_tensor_var(g, NULL, in->rows, in->cols, data);
    case IN_CONST:
    case IN_ONEHOT: return tg_tensor_const(g, in->rows, in->cols, data);
    case IN_SCALAR: return tg_var(g, NULL, data[0]);
    }
    return TG_NONE;
}

/* Records inputs, op and loss = sum(out * W) in g. */
static tg_node tensor_loss(tg_graph *g, const op_case *c, run *r, tg_node *in, tg_node *out)
{
    for (int i = 0; i < c->nin; i++) in[i] = make_input(g, &c->in[i], r->data[i]);
    *out = c->tensor(g, in);
    ck_assert_msg(tg_graph_status(g) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(g));
    ck_assert_int_eq(tg_shape(g, *out, &r->out_rows, &r->out_cols), TG_OK);
    ck_assert_uint_le(r->out_rows * r->out_cols, MAX_ELEMS);
    tg_node w = tg_tensor_const(g, r->out_rows, r->out_cols, r->w);
    tg_node loss = tg_sum(g, tg_mul(g, *out, w));
    ck_assert_msg(tg_graph_status(g) == TG_OK, "%s: %s", c->name, tg_graph_errmsg(g));
    ck_assert(!tg_is_tensor(g, loss));
    return loss;
}

static double loss_at(const op_case *c, run *r)
{
    tg_graph *g = tg_graph_new();
    tg_node in[MAX_IN], out;
    double v = tg_value(g, tensor_loss(g, c, r, in, &out));
    tg_graph_free(g);
    return v;
}

START_TEST(op_matches_twin_and_differences)
{
    build_cases();
    const op_case *c = &cases[_i];
    run r;
    make_data(c, &r);
    char what[128];

    /* the tensor graph */
    tg_graph *gt = tg_graph_new();
    tg_node tin[MAX_IN], tout;
    tg_node tloss = tensor_loss(gt, c, &r, tin, &tout);
    ck_assert_int_eq(tg_backward(gt, tloss), TG_OK);
    size_t nout = r.out_rows * r.out_cols;

    /* its scalar twin */
    tg_graph *gs = tg_graph_new();
    smat sin[MAX_IN];
    for (int i = 0; i < c->nin; i++) {
        const input *in = &c->in[i];
        sin[i] = in->kind == IN_CONST || in->kind == IN_ONEHOT
                     ? smat_consts(gs, in->rows, in->cols, r.data[i])
                     : smat_vars(gs, in->rows, in->cols, r.data[i]);
    }
    smat sout = c->twin(gs, sin);
    ck_assert_uint_eq(sout.rows, r.out_rows);
    ck_assert_uint_eq(sout.cols, r.out_cols);
    tg_node sloss = tg_mul(gs, sout.e[0], tg_const(gs, r.w[0]));
    for (size_t k = 1; k < nout; k++)
        sloss = tg_add(gs, sloss, tg_mul(gs, sout.e[k], tg_const(gs, r.w[k])));
    ck_assert_msg(tg_graph_status(gs) == TG_OK, "%s twin: %s", c->name, tg_graph_errmsg(gs));
    ck_assert_int_eq(tg_backward(gs, sloss), TG_OK);

    double got[MAX_ELEMS], want[MAX_ELEMS];
    ck_assert_int_eq(tg_tensor_get(gt, tout, got), TG_OK);
    smat_values(gs, sout, want);
    snprintf(what, sizeof what, "%s: value", c->name);
    expect_close(got, want, nout, TWIN_TOL, what);
    got[0] = tg_value(gt, tloss);
    want[0] = tg_value(gs, sloss);
    snprintf(what, sizeof what, "%s: loss", c->name);
    expect_close(got, want, 1, TWIN_TOL, what);

    for (int i = 0; i < c->nin; i++) {
        const input *in = &c->in[i];
        size_t n = in->rows * in->cols;
        ck_assert_int_eq(tg_tensor_get_grad(gt, tin[i], got), TG_OK);
        if (in->kind == IN_CONST || in->kind == IN_ONEHOT) {
            for (size_t k = 0; k < n; k++) ck_assert_double_eq(got[k], 0.0);
            continue;
        }
        smat_grads(gs, sin[i], want);
        snprintf(what, sizeof what, "%s: gradient of input %d vs scalar twin", c->name, i);
        expect_close(got, want, n, TWIN_TOL, what);

        /* central differences, each recording afresh */
        double fd[MAX_ELEMS];
        for (size_t k = 0; k < n; k++) {
            double x = r.data[i][k];
            r.data[i][k] = x + FD_STEP;
            double up = loss_at(c, &r);
            r.data[i][k] = x - FD_STEP;
            double down = loss_at(c, &r);
            r.data[i][k] = x;
            fd[k] = (up - down) / (2 * FD_STEP);
        }
        snprintf(what, sizeof what, "%s: gradient of input %d vs differences", c->name, i);
        expect_close(got, fd, n, FD_TOL, what);
    }

    for (int i = 0; i < c->nin; i++) smat_free(&sin[i]);
    smat_free(&sout);
    tg_graph_free(gs);
    tg_graph_free(gt);
}
END_TEST

/* The bias case by hand: dB = sum(dY, axis 0), dX = dY. */
START_TEST(bias_gradient_is_column_sum)
{
    tg_graph *g = tg_graph_new();
    double x[6] = { 1, 2, 3, 4, 5, 6 }, bias[3] = { 10, 20, 30 };
    double w[6] = { 1, -2, 3, 0.5, 0.25, -1 };
    tg_node X = tg_tensor_var(g, "X", 2, 3, x);
    tg_node b = tg_tensor_var(g, "b", 1, 3, bias);
    tg_node Y = tg_add(g, X, b);
    tg_node loss = tg_sum(g, tg_mul(g, Y, tg_tensor_const(g, 2, 3, w)));
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double y[6], db[3], dx[6];
    tg_tensor_get(g, Y, y);
    tg_tensor_get_grad(g, b, db);
    tg_tensor_get_grad(g, X, dx);
    const double want_y[6] = { 11, 22, 33, 14, 25, 36 };
    const double want_db[3] = { 1.5, -1.75, 2 };
    expect_close(y, want_y, 6, 0, "Y");
    expect_close(db, want_db, 3, 0, "dB");
    expect_close(dx, w, 6, 0, "dX");
    ck_assert_str_eq(tg_node_op(g, Y), "add");
    ck_assert_str_eq(tg_node_op(g, X), "var");
    ck_assert_int_eq(tg_is_tensor(g, X), 1);
    ck_assert_str_eq(tg_node_name(g, b), "b");
    tg_graph_free(g);
}
END_TEST

/* A matmul the reader can check by eye. */
START_TEST(matmul_by_hand)
{
    tg_graph *g = tg_graph_new();
    double a[6] = { 1, 2, 3, 4, 5, 6 };       /* 2x3 */
    double b[6] = { 7, 8, 9, 10, 11, 12 };    /* 3x2 */
    tg_node A = tg_tensor_var(g, NULL, 2, 3, a);
    tg_node B = tg_tensor_var(g, NULL, 3, 2, b);
    tg_node C = tg_matmul(g, A, B);
    double c[4];
    ck_assert_int_eq(tg_tensor_get(g, C, c), TG_OK);
    const double want[4] = { 58, 64, 139, 154 };
    expect_close(c, want, 4, 0, "C");
    /* d sum(C) / dA = 1 B^T: row sums of B in every row */
    ck_assert_int_eq(tg_backward(g, tg_sum(g, C)), TG_OK);
    double da[6], db[6];
    tg_tensor_get_grad(g, A, da);
    tg_tensor_get_grad(g, B, db);
    const double want_da[6] = { 15, 19, 23, 15, 19, 23 };
    const double want_db[6] = { 5, 5, 7, 7, 9, 9 };
    expect_close(da, want_da, 6, 0, "dA");
    expect_close(db, want_db, 6, 0, "dB");
    tg_graph_free(g);
}
END_TEST

/* Two backward passes give the same gradients: the sweep zeroes tensor
 * adjoints it has touched before. */
START_TEST(second_backward_does_not_accumulate)
{
    tg_graph *g = tg_graph_new();
    double a[6] = { 1, -2, 3, -4, 5, -6 };
    tg_node A = tg_tensor_var(g, NULL, 2, 3, a);
    tg_node loss = tg_mean(g, tg_mul(g, tg_relu(g, A), A));
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double g1[6], g2[6];
    tg_tensor_get_grad(g, A, g1);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    tg_tensor_get_grad(g, A, g2);
    expect_close(g2, g1, 6, 0, "second sweep");
    const double want[6] = { 2.0 / 6, 0, 6.0 / 6, 0, 10.0 / 6, 0 };
    expect_close(g1, want, 6, 1e-15, "d mean(relu(a) a)");
    tg_graph_free(g);
}
END_TEST

/* A scalar born of a tensor, infinite, below an inactive relu: the zero
 * adjoint reaching it still gives NaN (0 x inf) to the scalar multiplied by
 * it, as IEEE arithmetic on the path has it. */
START_TEST(infinite_sum_under_zero_adjoint)
{
    tg_graph *g = tg_graph_new();
    double a[2] = { 1.0, INFINITY };
    tg_node A = tg_tensor_const(g, 1, 2, a);
    tg_node x = tg_var(g, "x", 2.0);
    tg_node s = tg_sum(g, A);                                  /* inf */
    tg_node y = tg_relu(g, tg_mul(g, tg_mul(g, s, x), tg_const(g, -1.0)));  /* relu(-inf) */
    ck_assert(isinf(tg_value(g, s)));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_msg(isnan(tg_grad(g, x)), "d relu(-sum x)/dx: %g, expected NaN", tg_grad(g, x));
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    build_cases();
    Suite *s = suite_create("tensor ops");
    TCase *tc = tcase_create("ops");
    tcase_add_loop_test(tc, op_matches_twin_and_differences, 0, ncases);
    tcase_add_test(tc, bias_gradient_is_column_sum);
    tcase_add_test(tc, matmul_by_hand);
    tcase_add_test(tc, second_backward_does_not_accumulate);
    tcase_add_test(tc, infinite_sum_under_zero_adjoint);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
