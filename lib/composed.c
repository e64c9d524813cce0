/* Ops composed from public calls, so that on the tape they are the
 * primitives a student would draw: the book's sigmoid is x*-1 -> exp -> +1
 * -> 1/x, four nodes (plus the two constants it reads).  The inputs are
 * checked here first so that an error names the function the caller
 * wrote, and nothing is recorded for it. */
#include "graph.h"

static bool usable(tg_graph *g, const char *fn, tg_node a, tg_node b)
{
    if (!g) return false;
    int ka = tg__check(g, fn, "a", a);
    int kb = tg__check(g, fn, "b", b);
    return ka > 0 && kb > 0;
}

/* All or nothing: a failure part way drops the nodes already recorded. */
static tg_node done(tg_graph *g, size_t mark, tg_node y)
{
    if (tg_is_none(y)) tg__truncate(g, mark);
    return y;
}

tg_node tg_neg(tg_graph *g, tg_node a)
{
    if (!usable(g, "tg_neg", a, a)) return TG_NONE;
    size_t mark = g->n;
    return done(g, mark, tg_mul(g, a, tg_const(g, -1.0)));
}

tg_node tg_sub(tg_graph *g, tg_node a, tg_node b)
{
    if (!usable(g, "tg_sub", a, b)) return TG_NONE;
    size_t mark = g->n;
    return done(g, mark, tg_add(g, a, tg_neg(g, b)));
}

tg_node tg_div(tg_graph *g, tg_node a, tg_node b)
{
    if (!usable(g, "tg_div", a, b)) return TG_NONE;
    size_t mark = g->n;
    return done(g, mark, tg_mul(g, a, tg_recip(g, b)));
}

tg_node tg_sigmoid_decomposed(tg_graph *g, tg_node a)
{
    if (!usable(g, "tg_sigmoid_decomposed", a, a)) return TG_NONE;
    size_t mark = g->n;
    tg_node t = tg_mul(g, a, tg_const(g, -1.0));
    tg_node e = tg_exp(g, t);
    tg_node s = tg_add(g, e, tg_const(g, 1.0));
    return done(g, mark, tg_recip(g, s));
}
