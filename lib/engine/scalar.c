/* Builders of the primitive ops, leaves, and the accessors of scalar nodes.
 * An op on a tensor operand is handed to the tensor layer. */
#include <math.h>
#include <string.h>

#include "graph.h"

/* The b slot of a new node: relu keeps there the side of 0 it was
 * recorded on (graph.h); other ops their second input. */
static inline uint32_t b_slot(const tg_graph *g, tg_op op, uint32_t a, uint32_t b)
{
    return op == OP_RELU && !(g->val[a] > 0) ? (uint32_t)g->n : b;
}

/* The general paths: tensors, errors, checking. */
static __attribute__((noinline)) tg_node unary_slow(tg_graph *g, const char *fn, tg_op op, tg_node a)
{
    if (!g || tg__check(g, fn, "a", a) <= 0) return TG_NONE;
    if (tg__is_tensor(g, a.id)) return tg__tensor_unary(g, fn, op, a.id);
    double v = op_value(op, g->val[a.id], 0.0);
    return tg__finish(g, fn, tg__push(g, fn, op, a.id, b_slot(g, op, a.id, a.id), v));
}

static __attribute__((noinline)) tg_node binary_slow(tg_graph *g, const char *fn, tg_op op, tg_node a, tg_node b)
{
    if (!g) return TG_NONE;
    int ka = tg__check(g, fn, "a", a);
    int kb = tg__check(g, fn, "b", b);
    if (ka <= 0 || kb <= 0) return TG_NONE;
    if (tg__is_tensor(g, a.id) || tg__is_tensor(g, b.id))
        return tg__tensor_binary(g, fn, op, a.id, b.id);
    double v = op_value(op, g->val[a.id], g->val[b.id]);
    return tg__finish(g, fn, tg__push(g, fn, op, a.id, b.id, v));
}

/* The fast path, inlined into each builder with its op a constant: live
 * scalar inputs, no checking, room on the tape.  Recording is most of what
 * a scalar program does, so it is kept to a few loads and compares, the op
 * and tg__append's five stores; a graph without tensors skips even the
 * look at the inputs' op codes.  Everything else is the slow path's. */
static inline __attribute__((always_inline)) tg_node
record(tg_graph *g, const char *fn, tg_op op, tg_node a, tg_node b, int arity)
{
    if (__builtin_expect(g != NULL, 1) && tg__live_fast(g, a) && tg__live_fast(g, b) &&
        !g->checking && g->n < g->cap &&
        (g->ntens == 0 || (!tg__is_tensor(g, a.id) && !tg__is_tensor(g, b.id)))) {
        uint32_t gen = g->gen_base + g->epoch;  /* read before the stores: see tg__append */
        double v = op_value(op, g->val[a.id], g->val[b.id]);
        return (tg_node){ tg__append(g, op, a.id, b_slot(g, op, a.id, b.id), v), gen };
    }
    return arity == 1 ? unary_slow(g, fn, op, a) : binary_slow(g, fn, op, a, b);
}

static inline __attribute__((always_inline)) tg_node
unary(tg_graph *g, const char *fn, tg_op op, tg_node a)
{
    return record(g, fn, op, a, a, 1);
}

static inline __attribute__((always_inline)) tg_node
binary(tg_graph *g, const char *fn, tg_op op, tg_node a, tg_node b)
{
    return record(g, fn, op, a, b, 2);
}

/* A leaf with a name, in checking mode, or on a full tape. */
static __attribute__((noinline)) tg_node
leaf_slow(tg_graph *g, const char *fn, tg_op op, const char *name, double value)
{
    if (!g) return TG_NONE;
    uint32_t gen = g->gen_base + g->epoch;
    uint32_t id = tg__push(g, fn, op, 0, 0, value);
    if (id == UINT32_MAX) return TG_NONE;
    if (name && tg__name_add(g, fn, name, id) != TG_OK) {
        g->n--;  /* never handed out: the graph is as before the call */
        return TG_NONE;
    }
    if (g->checking) tg__check_finite(g, fn, id);
    return (tg_node){ id, gen };
}

static inline __attribute__((always_inline)) tg_node
leaf(tg_graph *g, const char *fn, tg_op op, const char *name, double value)
{
    if (__builtin_expect(g != NULL && name == NULL && !g->checking && g->n < g->cap, 1)) {
        uint32_t gen = g->gen_base + g->epoch;  /* read before the stores: see tg__append */
        return (tg_node){ tg__append(g, op, 0, 0, value), gen };
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

tg_node tg_add(tg_graph *g, tg_node a, tg_node b)   { return binary(g, "tg_add", OP_ADD, a, b); }
tg_node tg_mul(tg_graph *g, tg_node a, tg_node b)   { return binary(g, "tg_mul", OP_MUL, a, b); }
tg_node tg_pow(tg_graph *g, tg_node a, tg_node b)   { return binary(g, "tg_pow", OP_POW, a, b); }
tg_node tg_exp(tg_graph *g, tg_node a)              { return unary(g, "tg_exp", OP_EXP, a); }
tg_node tg_recip(tg_graph *g, tg_node a)            { return unary(g, "tg_recip", OP_RECIP, a); }
tg_node tg_log(tg_graph *g, tg_node a)              { return unary(g, "tg_log", OP_LOG, a); }
tg_node tg_tanh(tg_graph *g, tg_node a)             { return unary(g, "tg_tanh", OP_TANH, a); }
tg_node tg_sigmoid(tg_graph *g, tg_node a)          { return unary(g, "tg_sigmoid", OP_SIGMOID, a); }
tg_node tg_relu(tg_graph *g, tg_node a)             { return unary(g, "tg_relu", OP_RELU, a); }

/* a^k records k as a constant input, so replay and drawing see it. */
tg_node tg_powc(tg_graph *g, tg_node a, double k)
{
    if (!g || tg__check(g, "tg_powc", "a", a) <= 0) return TG_NONE;
    size_t mark = g->n;
    tg_node kn = tg_const(g, k);
    if (tg_is_none(kn)) return TG_NONE;
    tg_node y = binary(g, "tg_powc", OP_POWC, a, kn);
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

tg_status tg_set_value(tg_graph *g, tg_node leaf_node, double v)
{
    if (!g) return TG_ERR_ARG;
    int k = tg__check(g, "tg_set_value", "leaf", leaf_node);
    if (k == 0) return tg__fail(g, TG_ERR_HANDLE, "tg_set_value: leaf is the empty handle");
    if (k < 0) return tg__classify(g, leaf_node);
    char d[96];
    switch ((tg_op)g->op[leaf_node.id]) {
    case OP_VAR:
        g->val[leaf_node.id] = v;
        return TG_OK;
    case OP_TVAR: case OP_TCONST:
        return tg__fail(g, TG_ERR_SHAPE, "tg_set_value: %s is a tensor; use tg_tensor_set",
                        tg__describe(g, leaf_node.id, d, sizeof d));
    case OP_CONST:
        return tg__fail(g, TG_ERR_ARG, "tg_set_value: %s is a constant",
                        tg__describe(g, leaf_node.id, d, sizeof d));
    case OP_ADD: case OP_MUL: case OP_EXP: case OP_RECIP: case OP_POW: case OP_POWC:
    case OP_LOG: case OP_TANH: case OP_SIGMOID: case OP_RELU: case OP_TUNARY:
    case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM: case OP_MEAN:
    case OP_XENT: case OP_COUNT:
        break;
    }
    return tg__fail(g, TG_ERR_ARG, "tg_set_value: %s is not a variable",
                    tg__describe(g, leaf_node.id, d, sizeof d));
}

const char *tg_node_op(const tg_graph *g, tg_node n)
{
    if (!g || !tg__live(g, n)) return "";
    tg_op op = (tg_op)g->op[n.id];
    if (op == OP_TUNARY || op == OP_TBINARY) op = (tg_op)tg__trec(g, n.id)->elem_op;
    return op_names[op];
}

int tg_node_inputs(const tg_graph *g, tg_node n, tg_node in[2])
{
    if (!g || !in || !tg__live(g, n)) return 0;
    int k = op_arity[g->op[n.id]];
    if (k >= 1) in[0] = tg__handle(g, g->a[n.id]);
    if (k >= 2) in[1] = tg__handle(g, g->b[n.id]);
    return k;
}

int tg_node_partials(const tg_graph *g, tg_node n, double d[2])
{
    if (!g || !d || !tg__live(g, n)) return 0;
    tg_op op = (tg_op)g->op[n.id];
    int k = op_arity[op];
    if (k == 0 || op_is_tensor(op) || op == OP_SUM || op == OP_MEAN || op == OP_XENT) return 0;
    op_partials(op, g->val[g->a[n.id]], g->val[g->b[n.id]], g->val[n.id], &d[0], &d[1]);
    return k;
}
