/* The two sweeps over the tape: backward (reverse, the chain rule) and
 * forward replay.  Both are plain loops over the recording order; the local
 * derivatives come from op_partials in op.h. */
#include <math.h>
#include <string.h>

#include "graph.h"

/* Which nodes the sweep visits.  A node off the path from out keeps a
 * zero adjoint and is skipped, even where its local derivative is infinite
 * (0 x inf would be NaN); on the path IEEE arithmetic is kept as it is.  An
 * adjoint is non-zero only if something flowed into it, so the one case to
 * record is an adjoint that is exactly zero after a contribution: its bit
 * in `touched` is set then (rarely), and tensor nodes, whose adjoints live
 * in the arenas, always get theirs. */
static inline void touch(uint64_t *touched, uint32_t k)
{
    touched[k >> 6] |= 1ull << (k & 63);
}

static inline bool visited(const uint64_t *touched, const double *grad, uint32_t i)
{
    return grad[i] != 0.0 || (touched[i >> 6] >> (i & 63) & 1);
}

/* One reverse step of a scalar op; `op` is a literal at every call, so the
 * compiler folds op_partials down to that op's one or two lines. */
static inline __attribute__((always_inline)) void
back1(tg_op op, uint32_t i, const uint32_t *A, const uint32_t *B, const double *val,
      double *grad, uint64_t *touched)
{
    double da, db;
    uint32_t a = A[i];
    op_partials(op, val[a], val[B[i]], val[i], &da, &db);
    if ((grad[a] += grad[i] * da) == 0.0) touch(touched, a);
}

static inline __attribute__((always_inline)) void
back2(tg_op op, uint32_t i, const uint32_t *A, const uint32_t *B, const double *val,
      double *grad, uint64_t *touched)
{
    double da, db;
    uint32_t a = A[i], b = B[i];
    op_partials(op, val[a], val[b], val[i], &da, &db);
    double gi = grad[i];
    if ((grad[a] += gi * da) == 0.0) touch(touched, a);
    if ((grad[b] += gi * db) == 0.0) touch(touched, b);
}

/* Checking mode, after node i's step: the input whose adjoint it made
 * non-finite, or UINT32_MAX.  The cross-entropy writes into the logits,
 * its softmax's input, and gives the labels nothing. */
static uint32_t bad_input(const tg_graph *g, uint32_t i)
{
    tg_op op = (tg_op)g->op[i];
    uint32_t a = op == OP_XENT ? g->a[g->a[i]] : g->a[i];
    if (tg__nonfinite(g, a, true)) return a;
    if (op_arity[op] == 2 && op != OP_XENT && tg__nonfinite(g, g->b[i], true)) return g->b[i];
    return UINT32_MAX;
}

/* The reverse loop from node `from` down to 0.  Instantiated twice, with
 * checking a constant, so the plain sweep carries no test for it.  Returns
 * UINT32_MAX, or in checking mode the node whose step made the gradient of
 * *bad non-finite. */
static inline __attribute__((always_inline)) uint32_t
sweep(tg_graph *g, uint32_t from, bool checking, uint32_t *bad)
{
    const uint8_t *op = g->op;
    const uint32_t *A = g->a, *B = g->b;
    const double *val = g->val;
    double *grad = g->grad;
    uint64_t *touched = g->touched;

    for (uint32_t i = from + 1; i-- > 0;) {
        if (!visited(touched, grad, i)) continue;
        switch ((tg_op)op[i]) {
        case OP_VAR: case OP_CONST: case OP_TVAR: case OP_TCONST:
            continue;
        case OP_ADD:     back2(OP_ADD, i, A, B, val, grad, touched); break;
        case OP_MUL:     back2(OP_MUL, i, A, B, val, grad, touched); break;
        case OP_POW:     back2(OP_POW, i, A, B, val, grad, touched); break;
        case OP_POWC:    back1(OP_POWC, i, A, B, val, grad, touched); break;
        case OP_EXP:     back1(OP_EXP, i, A, B, val, grad, touched); break;
        case OP_RECIP:   back1(OP_RECIP, i, A, B, val, grad, touched); break;
        case OP_LOG:     back1(OP_LOG, i, A, B, val, grad, touched); break;
        case OP_TANH:    back1(OP_TANH, i, A, B, val, grad, touched); break;
        case OP_SIGMOID: back1(OP_SIGMOID, i, A, B, val, grad, touched); break;
        case OP_RELU:    back1(OP_RELU, i, A, B, val, grad, touched); break;
        case OP_TUNARY: case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX:
        case OP_SUM: case OP_MEAN: case OP_XENT:
            tg__tensor_backward(g, i);
            touch(touched, A[i]);
            if (op_arity[op[i]] == 2) touch(touched, B[i]);
            break;
        case OP_COUNT:
            break;
        }
        if (checking && (*bad = bad_input(g, i)) != UINT32_MAX) return i;
    }
    return UINT32_MAX;
}

tg_status tg_backward(tg_graph *g, tg_node out)
{
    if (!g) return TG_ERR_ARG;
    int k = tg__check(g, "tg_backward", "out", out);
    if (k == 0) return tg__fail(g, TG_ERR_HANDLE, "tg_backward: out is the empty handle");
    if (k < 0) return tg__classify(g, out);
    char d[96], d2[96];
    if (tg__is_tensor(g, out.id)) {
        const tensor_rec *r = tg__trec(g, out.id);
        return tg__fail(g, TG_ERR_SHAPE, "tg_backward: out is a %ux%u tensor; backward needs a scalar",
                        (unsigned)r->rows, (unsigned)r->cols);
    }
    if (g->stale_at)
        return tg__fail(g, TG_ERR_STALE,
                        "tg_backward: the last replay flipped the branch of %s; re-record the tape",
                        tg__describe(g, (uint32_t)(g->stale_at - 1), d, sizeof d));

    /* Every adjoint is zeroed, not only the leaves'.  Nodes recorded since
     * the last sweep were born with zero adjoints. */
    if (g->dirty) {
        memset(g->grad, 0, g->dirty * sizeof *g->grad);
        for (size_t t = 0; t < g->ntens && g->tens[t].node < g->dirty; t++) {
            const tensor_rec *r = &g->tens[t];
            if (g->op[r->node] == OP_TCONST) continue;  /* no kernel writes a constant's adjoint */
            memset(g->tgrad + r->off, 0, (size_t)r->rows * r->cols * sizeof *g->tgrad);
        }
    }
    g->dirty = out.id + 1;

    memset(g->touched, 0, (out.id / 64 + 1) * sizeof *g->touched);
    g->grad[out.id] = 1.0;

    uint32_t bad = UINT32_MAX;
    uint32_t at = g->checking ? sweep(g, out.id, true, &bad) : sweep(g, out.id, false, &bad);
    if (at != UINT32_MAX)
        return tg__fail(g, TG_ERR_DOMAIN, "tg_backward: %s made the gradient of %s non-finite",
                        tg__describe(g, at, d, sizeof d), tg__describe(g, bad, d2, sizeof d2));
    return TG_OK;
}

/* Replay.  relu's recorded branch is kept in its b slot (graph.h). */
static inline __attribute__((always_inline)) void
fwd(tg_op op, uint32_t i, const uint32_t *A, const uint32_t *B, double *val)
{
    val[i] = op_value(op, val[A[i]], val[B[i]]);
}

/* The replay loop, instantiated with and without checking like sweep().
 * Returns 1 + the first node whose branch flipped, or 0; in checking mode
 * stops with *domain set at the first non-finite value. */
static inline __attribute__((always_inline)) size_t
replay(tg_graph *g, bool checking, bool *domain)
{
    const uint8_t *op = g->op;
    const uint32_t *A = g->a, *B = g->b;
    double *val = g->val;
    const size_t n = g->n;
    size_t flipped = 0;

    for (uint32_t i = 0; i < n; i++) {
        switch ((tg_op)op[i]) {
        case OP_VAR: case OP_CONST: case OP_TVAR: case OP_TCONST:
            break;
        case OP_ADD:     fwd(OP_ADD, i, A, B, val); break;
        case OP_MUL:     fwd(OP_MUL, i, A, B, val); break;
        case OP_POW:     fwd(OP_POW, i, A, B, val); break;
        case OP_POWC:    fwd(OP_POWC, i, A, B, val); break;
        case OP_EXP:     fwd(OP_EXP, i, A, B, val); break;
        case OP_RECIP:   fwd(OP_RECIP, i, A, B, val); break;
        case OP_LOG:     fwd(OP_LOG, i, A, B, val); break;
        case OP_TANH:    fwd(OP_TANH, i, A, B, val); break;
        case OP_SIGMOID: fwd(OP_SIGMOID, i, A, B, val); break;
        case OP_RELU:  /* recorded on the positive side iff b == a */
            if (!flipped && (B[i] == A[i]) != (val[A[i]] > 0)) flipped = i + 1;
            fwd(OP_RELU, i, A, A, val);
            break;
        case OP_TUNARY: case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX:
        case OP_SUM: case OP_MEAN: case OP_XENT:
            if (!tg__tensor_forward(g, i) && !flipped) flipped = i + 1;
            break;
        case OP_COUNT:
            break;
        }
        if (checking && !tg__check_finite(g, "tg_forward", i)) {
            *domain = true;
            break;
        }
    }
    return flipped;
}

tg_status tg_forward(tg_graph *g)
{
    if (!g) return TG_ERR_ARG;
    bool domain = false;
    size_t flipped = g->checking ? replay(g, true, &domain) : replay(g, false, &domain);
    if (domain) return TG_ERR_DOMAIN;
    g->stale_at = flipped;
    char d[96];
    if (flipped)
        return tg__fail(g, TG_ERR_STALE,
                        "tg_forward: %s changed branch since it was recorded; re-record the tape",
                        tg__describe(g, (uint32_t)(flipped - 1), d, sizeof d));
    return TG_OK;
}
