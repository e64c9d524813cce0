/* tg_check_partials: every node's local partials against central
 * differences of its own value, so that a wrong derivative (a custom op's,
 * typically) is found at the node that has it rather than in a gradient
 * that is merely wrong somewhere.
 *
 * The difference quotient is Richardson-extrapolated from steps h and h/2,
 * h = cbrt(eps) max(1, |x|): its truncation error is then O(h^4), and the
 * two quotients' disagreement bounds what is left of it near a singularity
 * (atanh at 0.999).  A partial passes when it is within rtol of the
 * quotient relative to the larger of the two, plus that truncation bound
 * and the quotient's rounding error, a few eps |f| / h. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "graph.h"

/* A node's value as a function of its inputs' values. */
typedef struct point {
    const tg_graph *g;
    uint32_t id;
    tg_op op;
    size_t arity;
    double x[TG_CUSTOM_MAX_ARITY];
} point;

static double value_at(const point *p, const double *x)
{
    if (p->op == OP_CUSTOM) {
        const tg_custom_op *op = &p->g->cdefs[tg__crec(p->g, p->id)->def].op;
        return op->value(op->ctx, x);
    }
    return op_value(p->op, x[0], p->arity > 1 ? x[1] : x[0]);
}

/* f(x + s e_k) - f(x - s e_k) over the exact distance between the two. */
static double quotient(const point *p, size_t k, double s, double *fmax_seen)
{
    double x[TG_CUSTOM_MAX_ARITY];
    memcpy(x, p->x, sizeof x);
    volatile double up = p->x[k] + s, down = p->x[k] - s;
    x[k] = up;
    double fu = value_at(p, x);
    x[k] = down;
    double fd = value_at(p, x);
    double m = fmax(fabs(fu), fabs(fd));
    if (m > *fmax_seen || isnan(m)) *fmax_seen = m;
    return (fu - fd) / (up - down);
}

/* Whether a branch op changes side between x - h and x + h along k. */
static bool near_kink(const point *p, size_t k, double h)
{
    if (p->op == OP_CUSTOM || !op_table[p->op].branch) return false;
    double lo[2] = { p->x[0], p->arity > 1 ? p->x[1] : p->x[0] }, hi[2] = { lo[0], lo[1] };
    lo[k] -= h;
    hi[k] += h;
    bool s = op_side(p->op, p->x[0], p->arity > 1 ? p->x[1] : p->x[0]);
    return op_side(p->op, lo[0], lo[1]) != s || op_side(p->op, hi[0], hi[1]) != s;
}

/* Compare partial d with the differences along input k: true when they
 * disagree, with the differences' estimate in *fd. */
static bool disagrees(const point *p, size_t k, double d, double rtol, double *fd)
{
    double h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(p->x[k]));
    if (!isfinite(d) || near_kink(p, k, h)) return false;
    double fmax_seen = 0.0;
    double d1 = quotient(p, k, h, &fmax_seen), d2 = quotient(p, k, h / 2, &fmax_seen);
    if (!isfinite(d1) || !isfinite(d2) || !isfinite(fmax_seen)) return false;
    *fd = (4.0 * d2 - d1) / 3.0;
    /* rounding: relative for normal values, one subnormal spacing below */
    double tol = rtol * fmax(fabs(*fd), fabs(d)) + fabs(d2 - d1) +
                 (16.0 * DBL_EPSILON * fmax_seen + 4.0 * DBL_TRUE_MIN) / h;
    return fabs(d - *fd) > tol;
}

/* Record the first disagreement on g. */
static void report(tg_graph *g, const point *p, size_t k, long element, double d, double fd)
{
    char node[96], input[96], where[32] = "";
    tg__describe(g, p->id, node, sizeof node);
    tg__describe(g, tg__input(g, p->id, (uint32_t)k), input, sizeof input);
    if (element >= 0) snprintf(where, sizeof where, ", element %ld", element);
    tg__fail(g, TG_ERR_CHECK,
             "tg_check_partials: %s%s, input %zu (%s): local partial %.17g, central differences %.17g",
             node, where, k, input, d, fd);
}

/* Check one point of node p->id; element is -1 for a scalar node.
 * Returns 1 when some input disagrees (reporting the first of all). */
static size_t check_point(tg_graph *g, const point *p, long element, double rtol, size_t found,
                          tg_node *first)
{
    double d[TG_CUSTOM_MAX_ARITY];
    size_t n;
    if (p->op == OP_CUSTOM) {
        tg__custom_partials(g, p->id, d);
        n = p->arity;
    } else {
        double y = op_value(p->op, p->x[0], p->arity > 1 ? p->x[1] : p->x[0]);
        n = (size_t)op_partials(p->op, p->x[0], p->arity > 1 ? p->x[1] : p->x[0], y, &d[0], &d[1]);
    }
    for (size_t k = 0; k < n; k++) {
        double fd;
        if (!disagrees(p, k, d[k], rtol, &fd)) continue;
        if (found == 0) {
            report(g, p, k, element, d[k], fd);
            if (first) *first = tg__handle(g, p->id);
        }
        return 1;
    }
    return 0;
}

/* The element of input node `in` that output element (i, j) of an
 * elementwise op reads, with numpy's broadcasting. */
static double element_of(const tg_graph *g, uint32_t in, size_t i, size_t j)
{
    if (!tg__is_tensor(g, in)) return g->val[in];
    const tensor_rec *r = tg__trec(g, in);
    size_t k = (r->rows > 1 ? i : 0) * r->cols + (r->cols > 1 ? j : 0);
    if (r->dtype == TG_F32) return ((const float *)(const void *)(g->tval + r->off))[k];
    return g->tval[r->off + k];
}

/* Check every element of a tensor elementwise node; 1 when one disagrees. */
static size_t check_tensor(tg_graph *g, point *p, double rtol, size_t found, tg_node *first)
{
    const tensor_rec *r = tg__trec(g, p->id);
    for (size_t i = 0; i < r->rows; i++)
        for (size_t j = 0; j < r->cols; j++) {
            for (size_t k = 0; k < p->arity; k++)
                p->x[k] = element_of(g, tg__input(g, p->id, (uint32_t)k), i, j);
            if (check_point(g, p, (long)(i * r->cols + j), rtol, found, first)) return 1;
        }
    return 0;
}

size_t tg_check_partials(tg_graph *g, double rtol, tg_node *first)
{
    if (first) *first = TG_NONE;
    if (!g) return 0;
    if (!(rtol >= 0)) {
        tg__fail(g, TG_ERR_ARG, "tg_check_partials: rtol %g is not a number >= 0", rtol);
        return 0;
    }
    if (tg__refresh(g, "tg_check_partials") != TG_OK) return 0;
    size_t found = 0;
    for (uint32_t id = 0; id < g->n; id++) {
        tg_op op = tg__op(g, id);
        uint8_t kind = op_table[op].kind;
        if (kind != OPK_ELEMENTWISE && kind != OPK_CUSTOM) continue;
        point p = { g, id, op, tg__arity(g, id), { 0 } };
        if (g->op[id] & TENSOR_CODE) {
            found += check_tensor(g, &p, rtol, found, first);
            continue;
        }
        for (size_t k = 0; k < p.arity; k++) p.x[k] = g->val[tg__input(g, id, (uint32_t)k)];
        found += check_point(g, &p, -1, rtol, found, first);
    }
    return found;
}
