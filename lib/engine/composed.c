/* Ops composed from public calls, so that on the tape they are the
 * primitives a student would draw: the book's sigmoid is x*-1 -> exp -> +1
 * -> 1/x, four nodes (plus the two constants it reads).  The inputs are
 * checked here first so that an error names the function the caller
 * wrote, and nothing is recorded for it. */
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

/* The constant `value` in a's dtype: a scalar, or for a float32 tensor a
 * 1 x 1 float32 tensor (scalars are float64, and dtypes do not mix). */
static tg_node constant_like(tg_graph *g, tg_node a, double value)
{
    if (!tg__is_tensor(g, a.id) || tg_tensor_dtype(g, a) != TG_F32) return tg_const(g, value);
    float v = (float)value;
    return tg_tensor_const_ex(g, 1, 1, TG_F32, &v);
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

tg_node tg_neg(tg_graph *g, tg_node a)
{
    if (!usable(g, "tg_neg", a, a)) return TG_NONE;
    size_t mark = g->n;
    tg_status before = g->status;
    return done(g, "tg_neg", mark, before, tg_mul(g, a, constant_like(g, a, -1.0)));
}

tg_node tg_sub(tg_graph *g, tg_node a, tg_node b)
{
    if (!usable(g, "tg_sub", a, b)) return TG_NONE;
    size_t mark = g->n;
    tg_status before = g->status;
    return done(g, "tg_sub", mark, before, tg_add(g, a, tg_neg(g, b)));
}

tg_node tg_div(tg_graph *g, tg_node a, tg_node b)
{
    if (!usable(g, "tg_div", a, b)) return TG_NONE;
    size_t mark = g->n;
    tg_status before = g->status;
    return done(g, "tg_div", mark, before, tg_mul(g, a, tg_recip(g, b)));
}

tg_node tg_sigmoid_decomposed(tg_graph *g, tg_node a)
{
    if (!usable(g, "tg_sigmoid_decomposed", a, a)) return TG_NONE;
    size_t mark = g->n;
    tg_status before = g->status;
    tg_node t = tg_mul(g, a, constant_like(g, a, -1.0));
    tg_node e = tg_exp(g, t);
    tg_node s = tg_add(g, e, constant_like(g, a, 1.0));
    return done(g, "tg_sigmoid_decomposed", mark, before, tg_recip(g, s));
}
