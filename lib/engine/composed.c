/* The op composed from public calls, so that on the tape it is the
 * primitives a student would draw: the book's sigmoid is x*-1 -> exp -> +1
 * -> 1/x, four nodes (plus the constants -1 and 1, recorded once and
 * shared by later calls).  The input is checked here first so that an
 * error names the function the caller wrote, and nothing is recorded for
 * it. */
#include "graph.h"

/* Handles and shapes are checked before anything is recorded, so a
 * failure part way can only be memory. */
static bool usable(tg_graph *g, const char *fn, tg_node a, tg_node b)
{
    if (!g) return false;
    int ka = tg__check(g, fn, "a", a);
    int kb = tg__check(g, fn, "b", b);
    if (ka <= 0 || kb <= 0) return false;
    /* two scalars always fit: only tensors have shapes and dtypes */
    return (!tg__is_tensor(g, a.id) && !tg__is_tensor(g, b.id)) || tg__shapes_fit(g, fn, a.id, b.id);
}

/* Whether the shared constant k is still there: alive, a constant, that
 * value. */
static bool still_there(const tg_graph *g, tg_node k, double value)
{
    return tg__live(g, k) && g->op[k.id] == OP_CONST && g->val[k.id] == value;
}

/* The constant `value` in a's dtype: a scalar, or for a float32 tensor a
 * 1 x 1 float32 tensor (scalars are float64, and dtypes do not mix).  A
 * scalar one is shared: *slot remembers the last one recorded, and it is
 * used again while it is alive and still that constant (a failed call may
 * have dropped it and another node taken its place). */
static tg_node constant_like(tg_graph *g, tg_node a, tg_node *slot, double value)
{
    if (tg__is_tensor(g, a.id) && tg_tensor_dtype(g, a) == TG_F32) {
        float v = (float)value;
        return tg_tensor_const_ex(g, 1, 1, TG_F32, &v);
    }
    tg_node k = *slot;
    if (still_there(g, k, value)) return k;
    k = tg_const(g, value);
    if (!tg_is_none(k)) *slot = k;
    return k;
}

/* All or nothing: a failure part way drops the nodes already recorded.
 * Only memory can fail part way (handles and shapes were checked); the
 * error is reported in the name of the function the caller wrote, also
 * when, in checking mode, a dropped node recorded a non-finite value
 * first. */
static tg_node done(tg_graph *g, const char *fn, size_t mark, tg_status before, tg_node y)
{
    if (!tg_is_none(y)) return y;
    tg__truncate(g, mark);
    if (before == TG_OK) {
        tg_graph_clear_error(g);
        tg__fail(g, TG_ERR_NOMEM, "%s: out of memory", fn);
    }
    return y;
}

/* The shared scalar constant of *slot, recorded now if it is gone; room
 * on the tape is the caller's. */
static inline __attribute__((always_inline)) uint32_t
shared_constant(tg_graph *g, tg_node *slot, double value)
{
    if (still_there(g, *slot, value)) return slot->id;
    uint32_t id = tg__append(g, OP_CONST, 0, 0, value);
    tg__leaf_recorded(g, id);
    *slot = (tg_node){ id, g->gen };
    return id;
}

tg_node tg_sigmoid_decomposed(tg_graph *g, tg_node a)
{
    /* A live scalar, room for the four nodes and both constants, checking
     * mode off (fast_cap is 0 then): the nodes the builders below would
     * record, in their order, without checking a's handle four times. */
    if (g && tg__live_fast(g, a) && !(g->op[a.id] & TENSOR_CODE) && g->n + 6 <= g->fast_cap) {
        uint32_t gen = g->gen;
        uint32_t m1 = shared_constant(g, &g->minus_one, -1.0);
        double t = op_value(OP_MUL, g->val[a.id], g->val[m1]);
        uint32_t it = tg__append(g, OP_MUL, a.id, m1, t);
        double e = op_value(OP_EXP, t, t);
        uint32_t ie = tg__append(g, OP_EXP, it, it, e);
        uint32_t one = shared_constant(g, &g->one, 1.0);
        double s = op_value(OP_ADD, e, g->val[one]);
        uint32_t is = tg__append(g, OP_ADD, ie, one, s);
        return (tg_node){ tg__append(g, OP_RECIP, is, is, op_value(OP_RECIP, s, s)), gen };
    }
    if (!usable(g, "tg_sigmoid_decomposed", a, a)) return TG_NONE;
    size_t mark = g->n;
    tg_status before = g->status;
    tg_node t = tg_mul(g, a, constant_like(g, a, &g->minus_one, -1.0));
    tg_node e = tg_exp(g, t);
    tg_node s = tg_add(g, e, constant_like(g, a, &g->one, 1.0));
    return done(g, "tg_sigmoid_decomposed", mark, before, tg_recip(g, s));
}
