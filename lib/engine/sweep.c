/* The two sweeps over the tape: backward (reverse, the chain rule) and
 * forward replay.  Both are plain loops over the recording order; the local
 * derivatives come from op_partials in op.h. */
#include <math.h>
#include <string.h>

#include "graph.h"

/* Which nodes pass their adjoint on.  A node off the path from out keeps a
 * zero adjoint and passes nothing on, even where its local derivative is
 * infinite (0 x inf would be NaN); on the path IEEE arithmetic is kept as
 * it is, 0 x inf included.
 *
 * No flow is tested for that.  An adjoint is never -0.0 (it starts at
 * +0.0 and only sums are added to it, and x + y is -0.0 only when both
 * are), so adding +-0 to one changes nothing: a node whose adjoint is zero
 * and whose partials are finite can be skipped whether it is on the path
 * or not.  Only a zero adjoint times a partial that is not finite needs
 * to know, and only then is the path found (find_reach): `touched` then
 * holds every node a flow from out reaches.  Before that it holds the
 * nodes tensor kernels flowed into (their adjoints live in the arenas),
 * and the seeds. */
static inline __attribute__((always_inline)) void touch(uint64_t *touched, uint32_t k)
{
    touched[k >> 6] |= 1ull << (k & 63);
}

static inline bool touched_bit(const uint64_t *touched, uint32_t i)
{
    return touched[i >> 6] >> (i & 63) & 1;
}

/* A tensor node is visited if its scalar adjoint (a kernel's scalar) is
 * non-zero or a kernel flowed into it. */
static inline bool visited(const uint64_t *touched, const double *grad, uint32_t i)
{
    return grad[i] != 0.0 || touched_bit(touched, i);
}

/* Mark in `touched` every node of [lead, from] that a flow from a seed
 * (from, or a node already marked) reaches: a kernel flows into both its
 * inputs, any other op into all of its (powc's exponent, which has no
 * partial, is a constant: marking it changes nothing). */
static __attribute__((noinline, cold)) void find_reach(tg_graph *g, uint32_t from)
{
    uint64_t *t = g->touched;
    touch(t, from);
    for (uint32_t j = from + 1; j-- > (uint32_t)g->lead;) {
        if (!visited(t, g->grad, j)) continue;
        uint8_t code = g->op[j];
        if (code & TENSOR_CODE) {
            if (op_table[code & OP_MASK].kind == OPK_LEAF) continue;
            touch(t, g->a[j]);
            touch(t, g->b[j]);
            continue;
        }
        for (uint32_t q = 0, k = tg__arity(g, j); q < k; q++) touch(t, tg__input(g, j, q));
    }
}

/* The reverse sweep's state, for its step function. */
typedef struct back_ctx {
    tg_graph *g;
    uint32_t i, from;
    const uint32_t *A, *B;
    const double *val;
    double *grad;
    uint64_t *touched;
    bool reach;    /* find_reach has run */
    bool stepped;  /* the step passed node i's adjoint on */
} back_ctx;

/* Node i, whose adjoint is zero, is on the path from out. */
static inline bool reached(back_ctx *c, uint32_t i)
{
    if (!c->reach) {
        find_reach(c->g, c->from);
        c->reach = true;
    }
    return touched_bit(c->touched, i);
}

/* One reverse step of scalar node c->i, compiled per op: its adjoint times
 * each local derivative into its inputs' adjoints.  A leaf does nothing;
 * so does a zero adjoint, unless a partial is not finite and the node is
 * on the path. */
static inline __attribute__((always_inline)) void back_step(tg_op op, void *ctx)
{
    back_ctx *c = ctx;
    c->stepped = false;
    if (op_table[op].kind == OPK_LEAF) return;
    uint32_t i = c->i;
    double gi = c->grad[i];
    if (op_table[op].kind == OPK_CUSTOM) {
        /* the path first: a callback off it is not called */
        if (gi == 0.0 && !reached(c, i)) return;
        tg__custom_backward(c->g, i);
        c->stepped = true;
        return;
    }
    uint32_t a = c->A[i], b = c->B[i];
    double da, db;
    int k = op_partials(op, c->val[a], c->val[b], c->val[i], &da, &db);
    if (gi == 0.0 && ((isfinite(da) && (k < 2 || isfinite(db))) || !reached(c, i))) return;
    if (k >= 1) c->grad[a] += gi * da;
    if (k == 2) c->grad[b] += gi * db;
    c->stepped = true;
}

/* Checking mode, after node i's step: the input whose adjoint it made
 * non-finite, or UINT32_MAX. */
static uint32_t bad_input(const tg_graph *g, uint32_t i)
{
    for (uint32_t k = 0, n = tg__arity(g, i); k < n; k++)
        if (tg__nonfinite(g, tg__input(g, i, k), true)) return tg__input(g, i, k);
    return UINT32_MAX;
}

static inline back_ctx back_start(tg_graph *g, uint32_t from)
{
    return (back_ctx){ g, 0, from, g->a, g->b, g->val, g->grad, g->touched, false, false };
}

/* Checking mode's reverse loop, one node at a time from node `from` down
 * to the leading leaves (a leaf's step does nothing, and nodes [0, lead)
 * are all leaves).  Returns UINT32_MAX, or the node whose step made the
 * gradient of *bad non-finite. */
static __attribute__((noinline)) uint32_t sweep_checked(tg_graph *g, uint32_t from, uint32_t *bad)
{
    const uint8_t *op = g->op;
    back_ctx c = back_start(g, from);
    const uint32_t lead = (uint32_t)g->lead;

    for (uint32_t i = from + 1; i-- > lead;) {
        uint8_t code = op[i];
        if (code & TENSOR_CODE) {
            if (op_table[code & OP_MASK].kind == OPK_LEAF || !visited(c.touched, c.grad, i)) continue;
            tg__tensor_backward(g, i);
            touch(c.touched, c.A[i]);
            touch(c.touched, c.B[i]);
        } else {
            c.i = i;
            op_dispatch((tg_op)code, back_step, &c);
            if (!c.stepped) continue;
        }
        if ((*bad = bad_input(g, i)) != UINT32_MAX) return i;
    }
    return UINT32_MAX;
}

/* A run's state: the step of an op whose partials are plain arithmetic
 * (op_table's `plain`) is done in the run; any other stops it. */
typedef struct run_ctx {
    back_ctx c;
    bool stop;
} run_ctx;

static inline __attribute__((always_inline)) void run_step(tg_op op, void *ctx)
{
    run_ctx *r = ctx;
    if (op_table[op].plain)
        back_step(op, &r->c);
    else
        r->stop = true;
}

/* The sweep outside checking mode, from node `from` down to the leading
 * leaves: runs of plain steps in a loop that calls nothing, so that the
 * tape's arrays stay in registers, and between them the step of a node
 * that may call (the C library, the tensor layer, a custom op). */
static __attribute__((noinline)) void sweep_plain(tg_graph *g, uint32_t from)
{
    const uint8_t *op = g->op;
    const uint32_t lead = (uint32_t)g->lead;
    run_ctx r = { back_start(g, from), false };
    uint32_t i = from + 1;
    while (i > lead) {
        /* a run, down to the first node it cannot step */
        for (r.stop = false; i > lead; i--) {
            uint32_t k = i - 1;
            uint8_t code = op[k];
            if (code & TENSOR_CODE) break;
            r.c.i = k;
            op_dispatch((tg_op)code, run_step, &r);
            if (r.stop) break;
        }
        if (i == lead) break;
        uint32_t k = --i;
        uint8_t code = op[k];
        if (code & TENSOR_CODE) {
            if (op_table[code & OP_MASK].kind == OPK_LEAF || !visited(r.c.touched, r.c.grad, k))
                continue;
            tg__tensor_backward(g, k);
            touch(r.c.touched, r.c.A[k]);
            touch(r.c.touched, r.c.B[k]);
        } else {
            r.c.i = k;
            op_dispatch((tg_op)code, back_step, &r.c);
        }
    }
}

void tg__sweep(tg_graph *g, uint32_t from)
{
    sweep_plain(g, from);
}

/* The uncommon cases before a sweep: out not a live scalar, values to
 * replay, a branch flipped.  TG_OK after a replay that flipped nothing,
 * else the error, recorded.  Out of line, so that the common path carries
 * no message buffers. */
static __attribute__((noinline, cold)) tg_status backward_refused(tg_graph *g, tg_node out)
{
    int k = tg__check(g, "tg_backward", "out", out);
    if (k == 0) return tg__fail(g, TG_ERR_HANDLE, "tg_backward: out is the empty handle");
    if (k < 0) return tg__classify(g, out);
    if (tg__is_tensor(g, out.id)) {
        const tensor_rec *r = tg__trec(g, out.id);
        return tg__fail(g, TG_ERR_SHAPE, "tg_backward: out is a %ux%u tensor; backward needs a scalar",
                        (unsigned)r->rows, (unsigned)r->cols);
    }
    tg_status s = tg__refresh(g, "tg_backward");
    if (s != TG_OK || !g->stale_at) return s;
    char d[96];
    return tg__fail(g, TG_ERR_STALE,
                    "tg_backward: the last replay flipped the branch of %s; re-record the tape",
                    tg__describe(g, (uint32_t)(g->stale_at - 1), d, sizeof d));
}

static __attribute__((noinline, cold)) tg_status backward_nonfinite(tg_graph *g, uint32_t at, uint32_t bad)
{
    char d[96], d2[96];
    return tg__fail(g, TG_ERR_DOMAIN, "tg_backward: %s made the gradient of %s non-finite",
                    tg__describe(g, at, d, sizeof d), tg__describe(g, bad, d2, sizeof d2));
}

/* The adjoints of nodes [0, dirty), scalar and tensor. */
static void zero_adjoints(tg_graph *g)
{
    memset(g->grad, 0, g->dirty * sizeof *g->grad);
    for (size_t t = 0; t < g->ntens && g->tens[t].node < g->dirty; t++) {
        const tensor_rec *r = &g->tens[t];
        if (g->op[r->node] == (TENSOR_CODE | OP_CONST)) continue;  /* no kernel writes a constant's adjoint */
        memset(g->tgrad + r->off, 0, tg__slots(r->dtype, (size_t)r->rows * r->cols) * sizeof *g->tgrad);
    }
}

/* tg_backward in full: any handle, tensors, old values, checking mode. */
static __attribute__((noinline)) tg_status backward_general(tg_graph *g, tg_node out)
{
    if (!g) return TG_ERR_ARG;
    /* out a live scalar (a kernel's scalar, the loss, is one), values
     * current and no branch flipped since they were computed */
    if (!tg__live(g, out) || tg__is_tensor(g, out.id) || g->values_old || g->stale_at) {
        tg_status s = backward_refused(g, out);
        if (s != TG_OK) return s;
    }

    /* Every adjoint is zeroed, not only the leaves'.  Nodes recorded since
     * the last sweep were born with zero adjoints. */
    if (g->dirty) zero_adjoints(g);
    g->dirty = out.id + 1;

    /* Only the bits the sweep reads, those of nodes [lead, out] (none
     * when out is one of the leading leaves: its own word, for the seed). */
    size_t w0 = g->lead / 64, w1 = out.id / 64;
    if (w0 >= w1)
        g->touched[w1] = 0;
    else
        memset(g->touched + w0, 0, (w1 - w0 + 1) * sizeof *g->touched);
    g->grad[out.id] = 1.0;

    if (!g->checking) {
        sweep_plain(g, out.id);
        return TG_OK;
    }
    uint32_t bad = UINT32_MAX, at = sweep_checked(g, out.id, &bad);
    return at == UINT32_MAX ? TG_OK : backward_nonfinite(g, at, bad);
}

/* The common case, set up without a call or a saved register: out a node
 * of the current generation that is no tensor, values current, nothing to
 * zero (every node recorded since the last sweep), one word of `touched`
 * to clear, checking mode off.  It does what backward_general does then. */
tg_status tg_backward(tg_graph *g, tg_node out)
{
    if (__builtin_expect(g && out.gen == g->gen && out.id < g->n && !(g->op[out.id] & TENSOR_CODE) &&
                             !(g->values_old | (g->stale_at != 0) | (g->dirty != 0) | g->checking) &&
                             g->lead / 64 >= out.id / 64, 1)) {
        g->dirty = out.id + 1;
        g->touched[out.id / 64] = 0;
        g->grad[out.id] = 1.0;
        sweep_plain(g, out.id);
        return TG_OK;
    }
    return backward_general(g, out);
}

/* The replay's state, for its step function. */
typedef struct replay_ctx {
    const tg_graph *g;
    uint32_t i;
    const uint32_t *A, *B;
    double *val;
    const uint64_t *branch;
    size_t flipped;  /* 1 + the first node whose branch flipped, or 0 */
} replay_ctx;

/* Recompute scalar node c->i, compiled per op; a branch op also compares
 * its side of the kink with the side recorded.  A leaf keeps its value. */
static inline __attribute__((always_inline)) void replay_step(tg_op op, void *ctx)
{
    replay_ctx *c = ctx;
    if (op_table[op].kind == OPK_LEAF) return;
    uint32_t i = c->i;
    if (op_table[op].kind == OPK_CUSTOM) {
        c->val[i] = tg__custom_value(c->g, i);
        return;
    }
    double va = c->val[c->A[i]], vb = c->val[c->B[i]];
    if (op_table[op].branch && !c->flipped &&
        (bool)(c->branch[i >> 6] >> (i & 63) & 1) != op_side(op, va, vb))
        c->flipped = i + 1u;
    c->val[i] = op_value(op, va, vb);
}

/* The replay loop, instantiated with and without checking (a constant).
 * Returns 1 + the first node whose branch flipped, or 0; in checking mode
 * stops with *domain set at the first non-finite value. */
static inline __attribute__((always_inline)) size_t
replay(tg_graph *g, const char *fn, bool checking, bool *domain)
{
    const uint8_t *op = g->op;
    const size_t n = g->n;
    replay_ctx c = { g, 0, g->a, g->b, g->val, g->branch, 0 };

    /* the leading leaves (a model's parameters, recorded first) have
     * nothing to recompute; checking mode looks at every value */
    for (uint32_t i = checking ? 0 : (uint32_t)g->lead; i < n; i++) {
        uint8_t code = op[i];
        if (code & TENSOR_CODE) {
            if (op_table[code & OP_MASK].kind != OPK_LEAF && !tg__tensor_forward(g, i) &&
                !c.flipped)
                c.flipped = i + 1u;
        } else {
            c.i = i;
            op_dispatch((tg_op)code, replay_step, &c);
        }
        if (checking && !tg__check_finite(g, fn, i)) {
            *domain = true;
            break;
        }
    }
    return c.flipped;
}

/* Replay the tape, recording errors in fn's name; a flipped branch is
 * TG_ERR_STALE and the values are computed all the same. */
static tg_status replay_all(tg_graph *g, const char *fn)
{
    bool domain = false;
    size_t flipped = g->checking ? replay(g, fn, true, &domain) : replay(g, fn, false, &domain);
    if (domain) return TG_ERR_DOMAIN;
    g->values_old = false;
    g->stale_at = flipped;
    char d[96];
    if (flipped)
        return tg__fail(g, TG_ERR_STALE,
                        "%s: %s changed branch since it was recorded; re-record the tape", fn,
                        tg__describe(g, (uint32_t)(flipped - 1), d, sizeof d));
    return TG_OK;
}

tg_status tg_forward(tg_graph *g)
{
    if (!g) return TG_ERR_ARG;
    return replay_all(g, "tg_forward");
}

tg_status tg__refresh(tg_graph *g, const char *fn)
{
    return g->values_old ? replay_all(g, fn) : TG_OK;
}
