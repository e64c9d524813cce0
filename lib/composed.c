/* Ops composed from public calls only, so that on the tape they are the
 * primitives a student would draw: the book's sigmoid is x*-1 -> exp -> +1
 * -> 1/x, four nodes (plus the two constants it reads). */
#include "tapegrad/tapegrad.h"

tg_node tg_neg(tg_graph *g, tg_node a)
{
    if (tg_is_none(a)) return TG_NONE;
    return tg_mul(g, a, tg_const(g, -1.0));
}

tg_node tg_sub(tg_graph *g, tg_node a, tg_node b)
{
    if (tg_is_none(a) || tg_is_none(b)) return TG_NONE;
    return tg_add(g, a, tg_neg(g, b));
}

tg_node tg_div(tg_graph *g, tg_node a, tg_node b)
{
    if (tg_is_none(a) || tg_is_none(b)) return TG_NONE;
    return tg_mul(g, a, tg_recip(g, b));
}

tg_node tg_sigmoid_decomposed(tg_graph *g, tg_node a)
{
    if (tg_is_none(a)) return TG_NONE;
    tg_node t = tg_mul(g, a, tg_const(g, -1.0));
    tg_node e = tg_exp(g, t);
    tg_node s = tg_add(g, e, tg_const(g, 1.0));
    return tg_recip(g, s);
}
