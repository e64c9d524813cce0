/*
 * The op registry (lib/engine/op.h) walked row by row: every op has an
 * identifier name of its own, a symbol, an arity and kind that agree with
 * what its public builder records, and local partials that agree with
 * central differences of its value.  An op added to the table without a
 * builder listed here fails the walk, so this file is one of the places a
 * new op must name, and says so.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "runner.h"
#include "op.h"

/* Records the op on inputs in[] (arity of them; scalars or tensors). */
typedef tg_node (*builder)(tg_graph *g, const tg_node *in);

static tg_node b_var(tg_graph *g, const tg_node *in)     { (void)in; return tg_var(g, NULL, 0.5); }
static tg_node b_const(tg_graph *g, const tg_node *in)   { (void)in; return tg_const(g, 0.5); }
static tg_node b_add(tg_graph *g, const tg_node *in)     { return tg_add(g, in[0], in[1]); }
static tg_node b_mul(tg_graph *g, const tg_node *in)     { return tg_mul(g, in[0], in[1]); }
static tg_node b_sub(tg_graph *g, const tg_node *in)     { return tg_sub(g, in[0], in[1]); }
static tg_node b_div(tg_graph *g, const tg_node *in)     { return tg_div(g, in[0], in[1]); }
static tg_node b_neg(tg_graph *g, const tg_node *in)     { return tg_neg(g, in[0]); }
static tg_node b_exp(tg_graph *g, const tg_node *in)     { return tg_exp(g, in[0]); }
static tg_node b_recip(tg_graph *g, const tg_node *in)   { return tg_recip(g, in[0]); }
static tg_node b_pow(tg_graph *g, const tg_node *in)     { return tg_pow(g, in[0], in[1]); }
static tg_node b_powc(tg_graph *g, const tg_node *in)    { return tg_powc(g, in[0], 2.5); }
static tg_node b_log(tg_graph *g, const tg_node *in)     { return tg_log(g, in[0]); }
static tg_node b_tanh(tg_graph *g, const tg_node *in)    { return tg_tanh(g, in[0]); }
static tg_node b_sigmoid(tg_graph *g, const tg_node *in) { return tg_sigmoid(g, in[0]); }
static tg_node b_relu(tg_graph *g, const tg_node *in)    { return tg_relu(g, in[0]); }
static tg_node b_sqrt(tg_graph *g, const tg_node *in)     { return tg_sqrt(g, in[0]); }
static tg_node b_cbrt(tg_graph *g, const tg_node *in)     { return tg_cbrt(g, in[0]); }
static tg_node b_sin(tg_graph *g, const tg_node *in)      { return tg_sin(g, in[0]); }
static tg_node b_cos(tg_graph *g, const tg_node *in)      { return tg_cos(g, in[0]); }
static tg_node b_tan(tg_graph *g, const tg_node *in)      { return tg_tan(g, in[0]); }
static tg_node b_asin(tg_graph *g, const tg_node *in)     { return tg_asin(g, in[0]); }
static tg_node b_acos(tg_graph *g, const tg_node *in)     { return tg_acos(g, in[0]); }
static tg_node b_atan(tg_graph *g, const tg_node *in)     { return tg_atan(g, in[0]); }
static tg_node b_sinh(tg_graph *g, const tg_node *in)     { return tg_sinh(g, in[0]); }
static tg_node b_cosh(tg_graph *g, const tg_node *in)     { return tg_cosh(g, in[0]); }
static tg_node b_asinh(tg_graph *g, const tg_node *in)    { return tg_asinh(g, in[0]); }
static tg_node b_acosh(tg_graph *g, const tg_node *in)    { return tg_acosh(g, in[0]); }
static tg_node b_atanh(tg_graph *g, const tg_node *in)    { return tg_atanh(g, in[0]); }
static tg_node b_expm1(tg_graph *g, const tg_node *in)    { return tg_expm1(g, in[0]); }
static tg_node b_log1p(tg_graph *g, const tg_node *in)    { return tg_log1p(g, in[0]); }
static tg_node b_log2(tg_graph *g, const tg_node *in)     { return tg_log2(g, in[0]); }
static tg_node b_log10(tg_graph *g, const tg_node *in)    { return tg_log10(g, in[0]); }
static tg_node b_erf(tg_graph *g, const tg_node *in)      { return tg_erf(g, in[0]); }
static tg_node b_erfc(tg_graph *g, const tg_node *in)     { return tg_erfc(g, in[0]); }
static tg_node b_softplus(tg_graph *g, const tg_node *in) { return tg_softplus(g, in[0]); }
static tg_node b_abs(tg_graph *g, const tg_node *in)      { return tg_abs(g, in[0]); }
static tg_node b_atan2(tg_graph *g, const tg_node *in)    { return tg_atan2(g, in[0], in[1]); }
static tg_node b_hypot(tg_graph *g, const tg_node *in)    { return tg_hypot(g, in[0], in[1]); }
static tg_node b_min(tg_graph *g, const tg_node *in)      { return tg_min(g, in[0], in[1]); }
static tg_node b_max(tg_graph *g, const tg_node *in)      { return tg_max(g, in[0], in[1]); }
/* A custom op of two inputs, x sin y, for the custom row. */
static double xsy_value(void *ctx, const double *x) { (void)ctx; return x[0] * sin(x[1]); }
static void xsy_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = sin(x[1]);
    d[1] = x[0] * cos(x[1]);
}
static const tg_custom_op xsy = { "x_sin_y", 2, xsy_value, xsy_partials, NULL, NULL };
static tg_node b_custom(tg_graph *g, const tg_node *in) { return tg_custom(g, &xsy, in); }

static tg_node b_matmul(tg_graph *g, const tg_node *in)  { return tg_matmul(g, in[0], in[1]); }
static tg_node b_softmax(tg_graph *g, const tg_node *in) { return tg_softmax(g, in[0]); }
static tg_node b_convert(tg_graph *g, const tg_node *in) { return tg_convert(g, in[0], TG_F32); }
static tg_node b_sum(tg_graph *g, const tg_node *in)     { return tg_sum(g, in[0]); }
static tg_node b_mean(tg_graph *g, const tg_node *in)    { return tg_mean(g, in[0]); }
static tg_node b_xent(tg_graph *g, const tg_node *in)
{
    return tg_softmax_cross_entropy(g, in[0], in[1]);
}

/* Each op's public builder, by its registry name. */
static const struct { const char *name; builder build; } builders[] = {
    { "var", b_var },         { "const", b_const },     { "add", b_add },
    { "mul", b_mul },         { "exp", b_exp },         { "recip", b_recip },
    { "pow", b_pow },         { "powc", b_powc },       { "log", b_log },
    { "tanh", b_tanh },       { "sigmoid", b_sigmoid }, { "relu", b_relu },
    { "matmul", b_matmul },   { "softmax", b_softmax }, { "sum", b_sum },
    { "mean", b_mean },       { "softmax_cross_entropy", b_xent }, { "custom", b_custom },
    { "convert", b_convert },
    { "sub", b_sub },         { "div", b_div },         { "neg", b_neg },
    { "sqrt", b_sqrt },
    { "cbrt", b_cbrt },
    { "sin", b_sin },
    { "cos", b_cos },
    { "tan", b_tan },
    { "asin", b_asin },
    { "acos", b_acos },
    { "atan", b_atan },
    { "sinh", b_sinh },
    { "cosh", b_cosh },
    { "asinh", b_asinh },
    { "acosh", b_acosh },
    { "atanh", b_atanh },
    { "expm1", b_expm1 },
    { "log1p", b_log1p },
    { "log2", b_log2 },
    { "log10", b_log10 },
    { "erf", b_erf },
    { "erfc", b_erfc },
    { "softplus", b_softplus },
    { "abs", b_abs },
    { "atan2", b_atan2 },
    { "hypot", b_hypot },
    { "min", b_min },
    { "max", b_max },
};

static builder builder_of(const char *name)
{
    for (size_t k = 0; k < sizeof builders / sizeof builders[0]; k++)
        if (strcmp(builders[k].name, name) == 0) return builders[k].build;
    return NULL;
}

static int is_identifier(const char *s)
{
    if (!s || !islower((unsigned char)s[0])) return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '_') return 0;
    return 1;
}

START_TEST(every_row_is_complete)
{
    for (int op = 0; op < OP_COUNT; op++) {
        const op_info *r = &op_table[op];
        ck_assert_msg(r->name != NULL, "op %d has no row (no name)", op);
        ck_assert_msg(is_identifier(r->name), "op %d: name \"%s\" is not an identifier", op,
                      r->name);
        ck_assert_msg(r->symbol != NULL && r->symbol[0] != '\0', "op %s has no symbol", r->name);
        ck_assert_msg(r->arity <= 2, "op %s: arity %d", r->name, r->arity);
        ck_assert_msg((r->kind == OPK_LEAF) == (r->arity == 0), "op %s: a leaf is what has no inputs",
                      r->name);
        ck_assert_msg(!r->plain || r->kind == OPK_LEAF || r->kind == OPK_ELEMENTWISE,
                      "op %s: only a leaf or an elementwise op has plain partials", r->name);
        for (int o = 0; o < op; o++)
            ck_assert_msg(strcmp(op_table[o].name, r->name) != 0, "ops %d and %d are both \"%s\"", o,
                          op, r->name);
        ck_assert_msg(builder_of(r->name) != NULL,
                      "op %s has no builder in tests/engine/test_registry.c", r->name);
    }
}
END_TEST

/* Inputs for op: scalars for an elementwise op, 2x3 tensors (and 3x2 for
 * a matmul's b, one-hot rows for the cross-entropy's targets) otherwise. */
static void make_inputs(tg_graph *g, int op, tg_node in[2])
{
    static const double a6[6] = { 0.3, -1.2, 0.8, 1.5, -0.4, 0.9 };
    static const double b6[6] = { 0.7, 0.2, -0.6, 1.1, 0.5, -0.9 };
    static const double t6[6] = { 0, 1, 0, 1, 0, 0 };
    if (op_table[op].kind == OPK_ELEMENTWISE || op_table[op].kind == OPK_CUSTOM) {
        in[0] = tg_var(g, NULL, 0.8);
        in[1] = tg_var(g, NULL, 1.3);
        return;
    }
    in[0] = tg_tensor_var(g, NULL, 2, 3, a6);
    if (op == OP_MATMUL) in[1] = tg_tensor_var(g, NULL, 3, 2, b6);
    else if (op == OP_XENT) in[1] = tg_tensor_const(g, 2, 3, t6);
    else in[1] = tg_tensor_var(g, NULL, 2, 3, b6);
}

START_TEST(builders_record_what_the_row_says)
{
    for (int op = 0; op < OP_COUNT; op++) {
        const op_info *r = &op_table[op];
        tg_graph *g = tg_graph_new();
        tg_node in[2];
        make_inputs(g, op, in);
        size_t before = tg_graph_size(g);
        tg_node y = builder_of(r->name)(g, in);
        ck_assert_graph_ok(g);
        ck_assert_msg(!tg_is_none(y), "op %s: builder returned the empty handle", r->name);
        /* a custom node shows its op's own name */
        ck_assert_str_eq(tg_node_op(g, y), r->kind == OPK_CUSTOM ? xsy.name : r->name);
        tg_node got[2];
        ck_assert_msg(tg_node_inputs(g, y, got) == r->arity, "op %s: %d inputs recorded, arity %d",
                      r->name, tg_node_inputs(g, y, got), r->arity);
        for (int k = 0; k < r->arity; k++) {
            /* powc records its exponent as a constant input of its own */
            if (op == OP_POWC && k == 1) {
                ck_assert_str_eq(tg_node_op(g, got[1]), "const");
                continue;
            }
            ck_assert_msg(got[k].id == in[k].id, "op %s: input %d is node %u, not %u", r->name, k,
                          got[k].id, in[k].id);
        }
        /* one node, or two for powc (its exponent) */
        ck_assert_uint_eq(tg_graph_size(g), before + 1 + (op == OP_POWC));
        /* the kind says whether the result is a tensor */
        if (r->kind == OPK_TENSOR) ck_assert(tg_is_tensor(g, y));
        if (r->kind == OPK_REDUCE || r->kind == OPK_ELEMENTWISE || r->kind == OPK_CUSTOM)
            ck_assert(!tg_is_tensor(g, y));
        /* every kind sweeps and replays */
        tg_node out = r->kind == OPK_TENSOR ? tg_sum(g, y) : y;
        if (r->kind != OPK_LEAF) {
            ck_assert_int_eq(tg_backward(g, out), TG_OK);
            ck_assert_int_eq(tg_forward(g), TG_OK);
        }
        tg_graph_free(g);
    }
}
END_TEST

/* Central difference of op's value along input k at (x0, x1), through
 * the public builders. */
static double op_at(int op, double x0, double x1)
{
    tg_graph *g = tg_graph_new();
    tg_node in[2] = { tg_var(g, NULL, x0), tg_var(g, NULL, x1) };
    double v = tg_value(g, builder_of(op_table[op].name)(g, in));
    tg_graph_free(g);
    return v;
}

static double difference(int op, const double x[2], int k)
{
    double h = 1e-6 * fmax(1.0, fabs(x[k]));
    double lo[2] = { x[0], x[1] }, hi[2] = { x[0], x[1] };
    volatile double up = x[k] + h, down = x[k] - h;
    hi[k] = up;
    lo[k] = down;
    return (op_at(op, hi[0], hi[1]) - op_at(op, lo[0], lo[1])) / (up - down);
}

/* A point of the plane moved into op's domain. */
static void into_domain(int op, const double in[2], double out[2])
{
    out[0] = in[0];
    out[1] = in[1];
    if (op == OP_ASIN || op == OP_ACOS || op == OP_ATANH) out[0] = in[0] / 3.0;
    if (op == OP_ACOSH) out[0] = in[0] + 1.2;
}

START_TEST(partials_agree_with_differences)
{
    /* points away from every kink (relu's 0) and inside every domain */
    static const double points[][2] = { { 0.8, 1.3 }, { 2.5, -0.7 }, { 0.35, 2.0 }, { 1.7, 0.45 } };
    int checked = 0;
    for (int op = 0; op < OP_COUNT; op++) {
        if (op_table[op].kind != OPK_ELEMENTWISE && op_table[op].kind != OPK_CUSTOM) continue;
        for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
            double x[2];
            into_domain(op, points[p], x);
            tg_graph *g = tg_graph_new();
            tg_node in[2] = { tg_var(g, NULL, x[0]), tg_var(g, NULL, x[1]) };
            tg_node y = builder_of(op_table[op].name)(g, in);
            double d[2];
            int k = tg_node_partials(g, y, d);
            ck_assert_int_eq(k, op_table[op].arity);
            int differentiable = op == OP_POWC ? 1 : k;  /* powc's exponent is a constant */
            for (int j = 0; j < differentiable; j++) {
                double fd = difference(op, x, j);
                ck_assert_msg(fabs(d[j] - fd) <= 1e-6 * fmax(1.0, fabs(fd)),
                              "%s: d/dx%d at (%g, %g) is %.17g, central difference %.17g",
                              op_table[op].name, j, x[0], x[1], d[j], fd);
                checked++;
            }
            /* the sweep uses the same partials */
            ck_assert_int_eq(tg_backward(g, y), TG_OK);
            ck_assert_double_eq(tg_grad(g, in[0]), d[0]);
            tg_graph_free(g);
        }
    }
    ck_assert_int_ge(checked, 40);
}
END_TEST

START_TEST(elementwise_tensor_matches_scalar)
{
    /* Every elementwise op on a 1x2 tensor gives, element by element, the
     * scalar op's value and gradient bit for bit: both are the same row. */
    static const double xa[2] = { 0.8, 2.5 }, xb[2] = { 1.3, 0.45 };  /* NaN where outside a domain */
    for (int op = 0; op < OP_COUNT; op++) {
        if (op_table[op].kind != OPK_ELEMENTWISE) continue;
        builder build = builder_of(op_table[op].name);
        tg_graph *g = tg_graph_new();
        tg_node t[2] = { tg_tensor_var(g, NULL, 1, 2, xa), tg_tensor_var(g, NULL, 1, 2, xb) };
        tg_node ty = build(g, t);
        ck_assert_int_eq(tg_backward(g, tg_sum(g, ty)), TG_OK);
        double tv[2], tga[2];
        ck_assert_int_eq(tg_tensor_get(g, ty, tv), TG_OK);
        ck_assert_int_eq(tg_tensor_get_grad(g, t[0], tga), TG_OK);
        for (int e = 0; e < 2; e++) {
            tg_graph *h = tg_graph_new();
            tg_node s[2] = { tg_var(h, NULL, xa[e]), tg_var(h, NULL, xb[e]) };
            tg_node sy = build(h, s);
            ck_assert_int_eq(tg_backward(h, sy), TG_OK);
            double sv = tg_value(h, sy), sg = tg_grad(h, s[0]);
            ck_assert_msg(memcmp(&tv[e], &sv, sizeof sv) == 0 || (isnan(tv[e]) && isnan(sv)),
                          "%s: tensor value %.17g, scalar %.17g", op_table[op].name, tv[e], sv);
            ck_assert_msg(memcmp(&tga[e], &sg, sizeof sg) == 0 || (isnan(tga[e]) && isnan(sg)),
                          "%s: tensor gradient %.17g, scalar %.17g", op_table[op].name, tga[e], sg);
            tg_graph_free(h);
        }
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(cross_entropy_is_one_node_on_the_logits)
{
    /* Its gradient goes to its own input: the logits, (softmax - t) / N. */
    static const double z[6] = { 0.3, -1.2, 0.8, 1.5, -0.4, 0.9 };
    static const double t[6] = { 0, 0, 1, 1, 0, 0 };
    tg_graph *g = tg_graph_new();
    tg_node Z = tg_tensor_var(g, "z", 2, 3, z), T = tg_tensor_const(g, 2, 3, t);
    size_t before = tg_graph_size(g);
    tg_node L = tg_softmax_cross_entropy(g, Z, T);
    ck_assert_uint_eq(tg_graph_size(g), before + 1);
    ck_assert_int_eq(tg_backward(g, L), TG_OK);
    double dz[6];
    ck_assert_int_eq(tg_tensor_get_grad(g, Z, dz), TG_OK);
    for (int i = 0; i < 2; i++) {
        long double m = fmaxl(fmaxl(z[3 * i], z[3 * i + 1]), z[3 * i + 2]), s = 0;
        for (int j = 0; j < 3; j++) s += expl(z[3 * i + j] - m);
        for (int j = 0; j < 3; j++) {
            long double y = expl(z[3 * i + j] - m) / s;
            ck_assert_double_eq_tol(dz[3 * i + j], (double)((y - t[3 * i + j]) / 2), 1e-15);
        }
    }
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("rows");
    tcase_add_test(tc, every_row_is_complete);
    tcase_add_test(tc, builders_record_what_the_row_says);
    tcase_add_test(tc, partials_agree_with_differences);
    tcase_add_test(tc, elementwise_tensor_matches_scalar);
    tcase_add_test(tc, cross_entropy_is_one_node_on_the_logits);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
