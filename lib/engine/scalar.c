/* Builders of the elementwise ops and leaves, and the accessors of scalar
 * nodes.  An op on a tensor operand is handed to the tensor layer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"

/* Append scalar node op(a, b) with value v, and for a branch op the side
 * of its kink that a is on (graph.h).  Assumes room on the tape. */
static inline __attribute__((always_inline)) uint32_t
append_scalar(tg_graph *g, tg_op op, uint32_t a, uint32_t b, double va, double vb, double v)
{
    uint32_t id = tg__append(g, (uint8_t)op, a, b, v);
    if (op_table[op].branch) tg__set_branch(g, id, op_side(op, va, vb));
    return id;
}

/* The general path: tensors, errors, checking mode, a full tape. */
static __attribute__((noinline)) tg_node
record_slow(tg_graph *g, const char *fn, tg_op op, tg_node a, tg_node b)
{
    if (!g) return TG_NONE;
    bool unary = op_table[op].arity == 1;
    bool yx = op == OP_ATAN2;  /* atan2(y, x), as C names them */
    int ka = tg__check(g, fn, yx ? "y" : "a", a);
    int kb = unary ? ka : tg__check(g, fn, yx ? "x" : "b", b);
    if (ka <= 0 || kb <= 0) return TG_NONE;
    if (tg__is_tensor(g, a.id) || tg__is_tensor(g, b.id))
        return tg__tensor_elementwise(g, fn, op, a.id, b.id);
    if (g->n == g->cap && tg__grow_tape(g, fn) != 0) return TG_NONE;
    double va = g->val[a.id], vb = g->val[b.id];
    uint32_t id = append_scalar(g, op, a.id, b.id, va, vb, op_value(op, va, vb));
    return tg__finish(g, fn, id);
}

/* The fast path, inlined into each builder with its op a constant: live
 * scalar inputs, room on the tape, checking mode off (fast_cap is 0 then).
 * Recording is most of what a scalar program does, so it is kept to a few
 * loads and compares, the op and tg__append's five stores; a graph without
 * tensors skips even the look at the inputs' op codes.  A unary op passes
 * its input as b too.  Everything else is the slow path's. */
static inline __attribute__((always_inline)) tg_node
record(tg_graph *g, const char *fn, tg_op op, tg_node a, tg_node b)
{
    if (__builtin_expect(g != NULL, 1) && tg__live_fast(g, a) && tg__live_fast(g, b) &&
        g->n < g->fast_cap &&
        (g->ntens == 0 || !((g->op[a.id] | g->op[b.id]) & TENSOR_CODE))) {
        uint32_t gen = g->gen;  /* read before the stores: see tg__append */
        double va = g->val[a.id], vb = g->val[b.id];
        double v = op_value(op, va, vb);
        return (tg_node){ append_scalar(g, op, a.id, b.id, va, vb, v), gen };
    }
    return record_slow(g, fn, op, a, b);
}

/* A leaf with a name, in checking mode, or on a full tape. */
static __attribute__((noinline)) tg_node
leaf_slow(tg_graph *g, const char *fn, tg_op op, const char *name, double value)
{
    if (!g) return TG_NONE;
    uint32_t gen = g->gen;
    uint32_t id = tg__push(g, fn, (uint8_t)op, 0, 0, value);
    if (id == UINT32_MAX) return TG_NONE;
    if (name && tg__name_add(g, fn, name, id) != TG_OK) {
        g->n--;  /* never handed out: the graph is as before the call */
        return TG_NONE;
    }
    tg__leaf_recorded(g, id);
    if (g->checking) tg__check_finite(g, fn, id);
    return (tg_node){ id, gen };
}

static inline __attribute__((always_inline)) tg_node
leaf(tg_graph *g, const char *fn, tg_op op, const char *name, double value)
{
    if (__builtin_expect(g != NULL && name == NULL && g->n < g->fast_cap, 1)) {
        uint32_t gen = g->gen;  /* read before the stores: see tg__append */
        uint32_t id = tg__append(g, (uint8_t)op, 0, 0, value);
        tg__leaf_recorded(g, id);
        return (tg_node){ id, gen };
    }
    return leaf_slow(g, fn, op, name, value);
}

tg_node tg_var(tg_graph *g, const char *name, double value)
{
    return leaf(g, "tg_var", OP_VAR, name, value);
}

tg_node tg_const(tg_graph *g, double value)
{
    return leaf(g, "tg_const", OP_CONST, NULL, value);
}

/* The builders: one line an op. */
tg_node tg_add(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_add", OP_ADD, a, b); }
tg_node tg_mul(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_mul", OP_MUL, a, b); }
tg_node tg_sub(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_sub", OP_SUB, a, b); }
tg_node tg_div(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_div", OP_DIV, a, b); }
tg_node tg_neg(tg_graph *g, tg_node a)          { return record(g, "tg_neg", OP_NEG, a, a); }
tg_node tg_pow(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_pow", OP_POW, a, b); }
tg_node tg_exp(tg_graph *g, tg_node a)          { return record(g, "tg_exp", OP_EXP, a, a); }
tg_node tg_recip(tg_graph *g, tg_node a)        { return record(g, "tg_recip", OP_RECIP, a, a); }
tg_node tg_log(tg_graph *g, tg_node a)          { return record(g, "tg_log", OP_LOG, a, a); }
tg_node tg_tanh(tg_graph *g, tg_node a)         { return record(g, "tg_tanh", OP_TANH, a, a); }
tg_node tg_sigmoid(tg_graph *g, tg_node a)      { return record(g, "tg_sigmoid", OP_SIGMOID, a, a); }
tg_node tg_relu(tg_graph *g, tg_node a)         { return record(g, "tg_relu", OP_RELU, a, a); }
tg_node tg_sqrt(tg_graph *g, tg_node a)         { return record(g, "tg_sqrt", OP_SQRT, a, a); }
tg_node tg_cbrt(tg_graph *g, tg_node a)         { return record(g, "tg_cbrt", OP_CBRT, a, a); }
tg_node tg_sin(tg_graph *g, tg_node a)          { return record(g, "tg_sin", OP_SIN, a, a); }
tg_node tg_cos(tg_graph *g, tg_node a)          { return record(g, "tg_cos", OP_COS, a, a); }
tg_node tg_tan(tg_graph *g, tg_node a)          { return record(g, "tg_tan", OP_TAN, a, a); }
tg_node tg_asin(tg_graph *g, tg_node a)         { return record(g, "tg_asin", OP_ASIN, a, a); }
tg_node tg_acos(tg_graph *g, tg_node a)         { return record(g, "tg_acos", OP_ACOS, a, a); }
tg_node tg_atan(tg_graph *g, tg_node a)         { return record(g, "tg_atan", OP_ATAN, a, a); }
tg_node tg_sinh(tg_graph *g, tg_node a)         { return record(g, "tg_sinh", OP_SINH, a, a); }
tg_node tg_cosh(tg_graph *g, tg_node a)         { return record(g, "tg_cosh", OP_COSH, a, a); }
tg_node tg_asinh(tg_graph *g, tg_node a)        { return record(g, "tg_asinh", OP_ASINH, a, a); }
tg_node tg_acosh(tg_graph *g, tg_node a)        { return record(g, "tg_acosh", OP_ACOSH, a, a); }
tg_node tg_atanh(tg_graph *g, tg_node a)        { return record(g, "tg_atanh", OP_ATANH, a, a); }
tg_node tg_expm1(tg_graph *g, tg_node a)        { return record(g, "tg_expm1", OP_EXPM1, a, a); }
tg_node tg_log1p(tg_graph *g, tg_node a)        { return record(g, "tg_log1p", OP_LOG1P, a, a); }
tg_node tg_log2(tg_graph *g, tg_node a)         { return record(g, "tg_log2", OP_LOG2, a, a); }
tg_node tg_log10(tg_graph *g, tg_node a)        { return record(g, "tg_log10", OP_LOG10, a, a); }
tg_node tg_erf(tg_graph *g, tg_node a)          { return record(g, "tg_erf", OP_ERF, a, a); }
tg_node tg_erfc(tg_graph *g, tg_node a)         { return record(g, "tg_erfc", OP_ERFC, a, a); }
tg_node tg_softplus(tg_graph *g, tg_node a)     { return record(g, "tg_softplus", OP_SOFTPLUS, a, a); }
tg_node tg_abs(tg_graph *g, tg_node a)          { return record(g, "tg_abs", OP_ABS, a, a); }
tg_node tg_atan2(tg_graph *g, tg_node a, tg_node b) { return record(g, "tg_atan2", OP_ATAN2, a, b); }
tg_node tg_hypot(tg_graph *g, tg_node a, tg_node b) { return record(g, "tg_hypot", OP_HYPOT, a, b); }
tg_node tg_min(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_min", OP_MIN, a, b); }
tg_node tg_max(tg_graph *g, tg_node a, tg_node b)   { return record(g, "tg_max", OP_MAX, a, b); }

/* The same under the names the public header's inline builders call, which
 * version their layout (tapegrad.h, "the inline fast path"). */
tg_node tg__v1_leaf(tg_graph *g, unsigned code, const char *name, double value)
{
    return code == OP_VAR ? tg_var(g, name, value) : tg_const(g, value);
}
tg_node tg__v1_add(tg_graph *g, tg_node a, tg_node b)   { return tg_add(g, a, b); }
tg_node tg__v1_sub(tg_graph *g, tg_node a, tg_node b)   { return tg_sub(g, a, b); }
tg_node tg__v1_mul(tg_graph *g, tg_node a, tg_node b)   { return tg_mul(g, a, b); }
tg_node tg__v1_div(tg_graph *g, tg_node a, tg_node b)   { return tg_div(g, a, b); }
tg_node tg__v1_neg(tg_graph *g, tg_node a, tg_node b)   { (void)b; return tg_neg(g, a); }
tg_node tg__v1_recip(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_recip(g, a); }
tg_node tg__v1_exp(tg_graph *g, tg_node a, tg_node b)   { (void)b; return tg_exp(g, a); }
tg_node tg__v1_tanh(tg_graph *g, tg_node a, tg_node b)  { (void)b; return tg_tanh(g, a); }
tg_node tg__v1_sigmoid(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_sigmoid(g, a); }
double tg__v1_value(const tg_graph *g, tg_node n) { return tg_value(g, n); }
double tg__v1_grad(const tg_graph *g, tg_node n)  { return tg_grad(g, n); }

/* a^k records k as a constant input, so replay and drawing see it: for a
 * float32 tensor a, a 1 x 1 float32 constant (dtypes do not mix). */
tg_node tg_powc(tg_graph *g, tg_node a, double k)
{
    if (!g || tg__check(g, "tg_powc", "a", a) <= 0) return TG_NONE;
    size_t mark = g->n;
    float kf = (float)k;
    tg_node kn = tg_tensor_dtype(g, a) == TG_F32 ? tg_tensor_const_ex(g, 1, 1, TG_F32, &kf)
                                                 : leaf(g, "tg_powc", OP_CONST, NULL, k);
    if (tg_is_none(kn)) return TG_NONE;
    tg_node y = record(g, "tg_powc", OP_POWC, a, kn);
    if (tg_is_none(y)) tg__truncate(g, mark);
    return y;
}

/* ------------------------------------------------------------ accessors */

double tg_value(const tg_graph *g, tg_node n)
{
    if (!g || !tg__live(g, n) || tg__is_tensor(g, n.id)) return NAN;
    return g->val[n.id];
}

double tg_grad(const tg_graph *g, tg_node n)
{
    if (!g || !tg__live(g, n) || tg__is_tensor(g, n.id)) return NAN;
    return g->grad[n.id];
}

/* Whether leaf_node, argument `arg` of fn, is a scalar variable; the
 * error recorded and returned when not. */
static tg_status settable(tg_graph *g, const char *fn, const char *arg, tg_node leaf_node)
{
    if (__builtin_expect(tg__live_fast(g, leaf_node) && g->op[leaf_node.id] == OP_VAR, 1)) return TG_OK;
    int k = tg__check(g, fn, arg, leaf_node);
    if (k == 0) return tg__fail(g, TG_ERR_HANDLE, "%s: %s is the empty handle", fn, arg);
    if (k < 0) return tg__classify(g, leaf_node);
    uint32_t id = leaf_node.id;
    char d[128];
    /* "node 3 (const)", or where an array was given "x[2] = node 3 (const)" */
    size_t at = strcmp(arg, "leaf") ? (size_t)snprintf(d, sizeof d, "%s = ", arg) : 0;
    tg__describe(g, id, d + at, sizeof d - at);
    if (tg__is_tensor(g, id) && tg__is_leaf(g, id))
        return tg__fail(g, TG_ERR_SHAPE, "%s: %s is a tensor; use tg_tensor_set", fn, d);
    if (g->op[id] == OP_CONST) return tg__fail(g, TG_ERR_ARG, "%s: %s is a constant", fn, d);
    if (g->op[id] != OP_VAR) return tg__fail(g, TG_ERR_ARG, "%s: %s is not a variable", fn, d);
    return TG_OK;
}

tg_status tg_set_value(tg_graph *g, tg_node leaf_node, double v)
{
    if (!g) return TG_ERR_ARG;
    tg_status s = settable(g, "tg_set_value", "leaf", leaf_node);
    if (s != TG_OK) return s;
    g->val[leaf_node.id] = v;
    tg__leaf_changed(g, leaf_node.id);
    return TG_OK;
}

tg_status tg_set_values(tg_graph *g, size_t n, const tg_node *x, const double *v)
{
    if (!g) return TG_ERR_ARG;
    if (n && (!x || !v)) return tg__fail(g, TG_ERR_ARG, "tg_set_values: %s is NULL", x ? "v" : "x");
    /* all checked before any is written: a failure changes nothing */
    uint32_t lowest = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (__builtin_expect(!tg__live_fast(g, x[i]) || g->op[x[i].id] != OP_VAR, 0)) {
            /* an older generation's variable is fine; anything else is refused */
            char arg[32];
            snprintf(arg, sizeof arg, "x[%zu]", i);
            tg_status s = settable(g, "tg_set_values", arg, x[i]);
            if (s != TG_OK) return s;
        }
        if (x[i].id < lowest) lowest = x[i].id;
    }
    double *val = g->val;
    for (size_t i = 0; i < n; i++) val[x[i].id] = v[i];
    if (n) tg__leaf_changed(g, lowest);
    return TG_OK;
}

tg_status tg_grads(const tg_graph *g, size_t n, const tg_node *x, double *out)
{
    if (!g || (n && (!x || !out))) return TG_ERR_ARG;
    tg_status first = TG_OK;
    const double *grad = g->grad;
    for (size_t i = 0; i < n; i++) {
        tg_node h = x[i];
        if (__builtin_expect(tg__live_fast(g, h) && !(g->op[h.id] & TENSOR_CODE), 1)) {
            out[i] = grad[h.id];
            continue;
        }
        out[i] = tg_grad(g, h);  /* a live scalar of an older generation, or NaN */
        tg_status s = !tg__live(g, h) ? tg__classify(g, h) : tg__is_tensor(g, h.id) ? TG_ERR_SHAPE : TG_OK;
        if (first == TG_OK) first = s;
    }
    return first;
}

const char *tg_node_op(const tg_graph *g, tg_node n)
{
    if (!g || !tg__live(g, n)) return "";
    return tg__op_name(g, n.id);
}

size_t tg_node_arity(const tg_graph *g, tg_node n)
{
    if (!g || !tg__live(g, n)) return 0;
    return tg__arity(g, n.id);
}

tg_node tg_node_input(const tg_graph *g, tg_node n, size_t k)
{
    if (!g || !tg__live(g, n) || k >= tg__arity(g, n.id)) return TG_NONE;
    return tg__handle(g, tg__input(g, n.id, (uint32_t)k));
}

int tg_node_inputs(const tg_graph *g, tg_node n, tg_node in[2])
{
    if (!g || !in || !tg__live(g, n)) return 0;
    uint32_t k = tg__arity(g, n.id);
    if (k > 2) k = 2;
    for (uint32_t j = 0; j < k; j++) in[j] = tg__handle(g, tg__input(g, n.id, j));
    return (int)k;
}

int tg_node_partials(const tg_graph *g, tg_node n, double d[2])
{
    if (!g || !d || !tg__live(g, n)) return 0;
    uint32_t id = n.id;
    if ((g->op[id] & TENSOR_CODE) || tg__is_leaf(g, id)) return 0;
    if (tg__op(g, id) == OP_CUSTOM) {
        double all[TG_CUSTOM_MAX_ARITY];
        tg__custom_partials(g, id, all);
        uint32_t k = tg__arity(g, id) > 2 ? 2 : tg__arity(g, id);
        memcpy(d, all, k * sizeof *d);
        return (int)k;
    }
    op_partials(tg__op(g, id), g->val[g->a[id]], g->val[g->b[id]], g->val[id], &d[0], &d[1]);
    return tg__info(g, id)->arity;
}
