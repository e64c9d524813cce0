/* User-defined ops: tg_custom, and the calls the sweeps make into a custom
 * node's callbacks.
 *
 * A custom node is one tape entry of op OP_CUSTOM whose a and b slots hold
 * its first inputs (b repeats a for one input), like any op's; its record
 * (g->crecs, in node order, found by search) names its definition and
 * where its inputs start in g->cin, since it may have up to
 * TG_CUSTOM_MAX_ARITY.  Definitions are kept until the graph is freed and
 * shared by every node of an identical op, so a loop that records the same
 * op after each rewind allocates nothing after its first pass. */
#include <ctype.h>
#include <string.h>

#include "graph.h"

enum { NAME_MAX_LEN = 63 };

const custom_rec *tg__crec(const tg_graph *g, uint32_t id)
{
    size_t lo = 0, hi = g->ncrecs;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->crecs[mid].node <= id) lo = mid;
        else hi = mid;
    }
    return &g->crecs[lo];
}

/* Its inputs' values into x. */
static void gather(const tg_graph *g, const custom_rec *r, size_t arity, double *x)
{
    for (size_t k = 0; k < arity; k++) x[k] = g->val[g->cin[r->in + k]];
}

double tg__custom_value(const tg_graph *g, uint32_t id)
{
    const custom_rec *r = tg__crec(g, id);
    const tg_custom_op *op = &g->cdefs[r->def].op;
    double x[TG_CUSTOM_MAX_ARITY];
    gather(g, r, op->arity, x);
    return op->value(op->ctx, x);
}

void tg__custom_partials(const tg_graph *g, uint32_t id, double *d)
{
    const custom_rec *r = tg__crec(g, id);
    const tg_custom_op *op = &g->cdefs[r->def].op;
    double x[TG_CUSTOM_MAX_ARITY];
    gather(g, r, op->arity, x);
    for (size_t k = 0; k < op->arity; k++) d[k] = 0.0;
    op->partials(op->ctx, x, g->val[id], d);
}

void tg__custom_backward(tg_graph *g, uint32_t id)
{
    const custom_rec *r = tg__crec(g, id);
    size_t arity = g->cdefs[r->def].op.arity;
    double d[TG_CUSTOM_MAX_ARITY];
    tg__custom_partials(g, id, d);
    double gi = g->grad[id];
    for (size_t k = 0; k < arity; k++) {
        uint32_t in = g->cin[r->in + k];
        g->grad[in] += gi * d[k];
    }
}

/* dy = sum_k d[k] dx[k]; a zero tangent adds nothing, also where d[k] is
 * infinite. */
void tg__custom_tangent(tg_graph *g, uint32_t id)
{
    const custom_rec *r = tg__crec(g, id);
    size_t arity = g->cdefs[r->def].op.arity;
    double d[TG_CUSTOM_MAX_ARITY], t = 0.0;
    tg__custom_partials(g, id, d);
    for (size_t k = 0; k < arity; k++) {
        double tk = g->dtan[g->cin[r->in + k]];
        if (tk != 0) t += d[k] * tk;
    }
    g->dtan[id] = t;
}

/* With adjoint gi and its tangent hi: dx[k] += gi d[k], and its tangent
 * hi d[k] + gi sum_j h[k][j] tx[j] (the op's second partials, needed only
 * where gi and some input tangent are non-zero). */
bool tg__custom_backward2(tg_graph *g, uint32_t id)
{
    const custom_rec *r = tg__crec(g, id);
    const tg_custom_op *op = &g->cdefs[r->def].op;
    size_t arity = op->arity;
    double gi = g->grad[id], hi = g->dtadj[id];
    double tx[TG_CUSTOM_MAX_ARITY], x[TG_CUSTOM_MAX_ARITY];
    double h[TG_CUSTOM_MAX_ARITY * TG_CUSTOM_MAX_ARITY];
    bool curved = false;
    for (size_t k = 0; k < arity; k++) {
        tx[k] = g->dtan[g->cin[r->in + k]];
        curved |= tx[k] != 0;
    }
    curved &= gi != 0;
    if (curved) {
        if (!op->second) return false;
        gather(g, r, arity, x);
        for (size_t k = 0; k < arity * arity; k++) h[k] = 0.0;
        op->second(op->ctx, x, g->val[id], h);
    }
    double d[TG_CUSTOM_MAX_ARITY];
    tg__custom_partials(g, id, d);
    for (size_t k = 0; k < arity; k++) {
        uint32_t in = g->cin[r->in + k];
        double t = hi != 0 ? hi * d[k] : 0.0;
        if (curved)
            for (size_t j = 0; j < arity; j++)
                if (tx[j] != 0) t += gi * h[k * arity + j] * tx[j];
        if (gi != 0) g->grad[in] += gi * d[k];
        g->dtadj[in] += t;
        if (g->grad[in] == 0.0 && g->dtadj[in] == 0.0) g->touched[in >> 6] |= 1ull << (in & 63);
    }
    return true;
}

void tg__custom_rewind(tg_graph *g, size_t mark)
{
    size_t k = g->ncrecs;
    while (k > 0 && g->crecs[k - 1].node >= mark) k--;
    if (k == g->ncrecs) return;
    g->ncin = g->crecs[k].in;
    g->ncrecs = k;
}

void tg__custom_free(tg_graph *g)
{
    for (size_t k = 0; k < g->ncdefs; k++) tg__free(g, g->cdefs[k].name);
    tg__free(g, g->cdefs);
    tg__free(g, g->crecs);
    tg__free(g, g->cin);
}

/* ------------------------------------------------------------ tg_custom */

static bool is_identifier(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
    for (size_t i = 1; s[i]; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return false;
    return true;
}

/* Check op; records the error and returns it when op is not usable. */
static tg_status op_check(tg_graph *g, const char *fn, const tg_custom_op *op)
{
    if (!op) return tg__fail(g, TG_ERR_ARG, "%s: op is NULL", fn);
    if (!op->name) return tg__fail(g, TG_ERR_ARG, "%s: op->name is NULL", fn);
    size_t len = strnlen(op->name, NAME_MAX_LEN + 1);
    if (len == 0 || len > NAME_MAX_LEN || !is_identifier(op->name))
        return tg__fail(g, TG_ERR_ARG, "%s: op->name \"%.*s%s\" is not an identifier of at most %d characters",
                        fn, NAME_MAX_LEN, op->name, len > NAME_MAX_LEN ? "..." : "", NAME_MAX_LEN);
    for (int k = 0; k < OP_COUNT; k++)
        if (strcmp(op_table[k].name, op->name) == 0)
            return tg__fail(g, TG_ERR_NAME, "%s: \"%s\" is the name of a built-in op", fn, op->name);
    if (op->arity < 1 || op->arity > TG_CUSTOM_MAX_ARITY)
        return tg__fail(g, TG_ERR_ARG, "%s: op '%s' has arity %zu; 1 to %d are supported", fn,
                        op->name, op->arity, TG_CUSTOM_MAX_ARITY);
    if (!op->value || !op->partials)
        return tg__fail(g, TG_ERR_ARG, "%s: op '%s' has no %s callback", fn, op->name,
                        !op->value ? "value" : "partials");
    return TG_OK;
}

/* The index of op's definition, added when new; UINT32_MAX when out of
 * memory (recorded). */
static uint32_t find_or_add_def(tg_graph *g, const char *fn, const tg_custom_op *op)
{
    for (size_t k = 0; k < g->ncdefs; k++) {
        const tg_custom_op *d = &g->cdefs[k].op;
        if (d->arity == op->arity && d->value == op->value && d->partials == op->partials &&
            d->second == op->second && d->ctx == op->ctx && strcmp(d->name, op->name) == 0)
            return (uint32_t)k;
    }
    size_t len = strlen(op->name);
    char *name = tg__realloc(g, NULL, len + 1);
    if (!name || tg__grow(g, (void **)&g->cdefs, &g->cdefs_cap, g->ncdefs + 1, sizeof *g->cdefs) != 0) {
        tg__free(g, name);
        tg__fail(g, TG_ERR_NOMEM, "%s: out of memory", fn);
        return UINT32_MAX;
    }
    memcpy(name, op->name, len + 1);
    custom_def *d = &g->cdefs[g->ncdefs];
    d->op = *op;
    d->op.name = name;
    d->name = name;
    d->registered = false;
    return (uint32_t)g->ncdefs++;
}

tg_node tg_custom(tg_graph *g, const tg_custom_op *op, const tg_node *x)
{
    const char *fn = "tg_custom";
    if (!g || op_check(g, fn, op) != TG_OK) return TG_NONE;
    if (!x) {
        tg__fail(g, TG_ERR_ARG, "%s: x is NULL", fn);
        return TG_NONE;
    }
    bool usable = true;
    for (size_t k = 0; k < op->arity; k++) {
        char arg[32];
        snprintf(arg, sizeof arg, "x[%zu]", k);
        if (tg__check(g, fn, arg, x[k]) <= 0) {
            usable = false;
            continue;
        }
        if (tg__is_tensor(g, x[k].id)) {
            const tensor_rec *r = tg__trec(g, x[k].id);
            tg__fail(g, TG_ERR_SHAPE, "%s: %s is a %ux%u tensor; a custom op takes scalars", fn, arg,
                     (unsigned)r->rows, (unsigned)r->cols);
            usable = false;
        }
    }
    if (!usable) return TG_NONE;

    /* Room for everything first, so that nothing below can fail. */
    size_t before = g->ncdefs;
    uint32_t def = find_or_add_def(g, fn, op);
    if (def == UINT32_MAX) return TG_NONE;
    if (tg__grow(g, (void **)&g->crecs, &g->crecs_cap, g->ncrecs + 1, sizeof *g->crecs) != 0 ||
        tg__grow(g, (void **)&g->cin, &g->cin_cap, g->ncin + op->arity, sizeof *g->cin) != 0 ||
        (g->n == g->cap && tg__grow_tape(g, fn) != 0)) {
        if (g->ncdefs > before) tg__free(g, g->cdefs[--g->ncdefs].name);  /* as before the call */
        tg__fail(g, TG_ERR_NOMEM, "%s: out of memory", fn);
        return TG_NONE;
    }
    double xv[TG_CUSTOM_MAX_ARITY];
    for (size_t k = 0; k < op->arity; k++) xv[k] = g->val[x[k].id];
    double y = op->value(op->ctx, xv);
    uint32_t a = x[0].id, b = op->arity > 1 ? x[1].id : x[0].id;
    uint32_t id = tg__append(g, (uint8_t)OP_CUSTOM, a, b, y);
    custom_rec *r = &g->crecs[g->ncrecs++];
    r->node = id;
    r->def = def;
    r->in = (uint32_t)g->ncin;
    for (size_t k = 0; k < op->arity; k++) g->cin[g->ncin++] = x[k].id;
    return tg__finish(g, fn, id);
}

/* ------------------------------------------------- ops known by name */

static const custom_def *registered(const tg_graph *g, const char *name)
{
    for (size_t k = 0; k < g->ncdefs; k++)
        if (g->cdefs[k].registered && strcmp(g->cdefs[k].name, name) == 0) return &g->cdefs[k];
    return NULL;
}

/* The definition is the one tg_custom shares with identical ops, so a
 * node recorded through the name and one recorded with the caller's struct
 * share it too. */
tg_status tg_custom_register(tg_graph *g, const tg_custom_op *op)
{
    const char *fn = "tg_custom_register";
    if (!g) return TG_ERR_ARG;
    tg_status s = op_check(g, fn, op);
    if (s != TG_OK) return s;
    const custom_def *old = registered(g, op->name);
    if (old) {
        const tg_custom_op *d = &old->op;
        if (d->arity == op->arity && d->value == op->value && d->partials == op->partials &&
            d->second == op->second && d->ctx == op->ctx)
            return TG_OK;
        return tg__fail(g, TG_ERR_NAME, "%s: another op is registered as '%s'", fn, op->name);
    }
    uint32_t def = find_or_add_def(g, fn, op);
    if (def == UINT32_MAX) return TG_ERR_NOMEM;
    g->cdefs[def].registered = true;
    return TG_OK;
}

const tg_custom_op *tg_custom_lookup(const tg_graph *g, const char *name)
{
    if (!g || !name) return NULL;
    const custom_def *d = registered(g, name);
    return d ? &d->op : NULL;
}
