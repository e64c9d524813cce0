/* The graph: storage, handles, errors, mark and rewind. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "tapegrad/extend.h"

const char *const op_names[OP_COUNT] = {
    [OP_VAR] = "var",       [OP_CONST] = "const",
    [OP_ADD] = "add",       [OP_MUL] = "mul",       [OP_EXP] = "exp",
    [OP_RECIP] = "recip",   [OP_POW] = "pow",       [OP_POWC] = "powc",
    [OP_LOG] = "log",       [OP_TANH] = "tanh",     [OP_SIGMOID] = "sigmoid",
    [OP_RELU] = "relu",
    [OP_TVAR] = "tensor var", [OP_TCONST] = "tensor const",
    [OP_TUNARY] = "elementwise", [OP_TBINARY] = "elementwise",
    [OP_MATMUL] = "matmul", [OP_SOFTMAX] = "softmax",
    [OP_SUM] = "sum",       [OP_MEAN] = "mean",     [OP_XENT] = "softmax cross-entropy",
};
_Static_assert(sizeof op_names / sizeof op_names[0] == OP_COUNT, "one name per op");

const uint8_t op_arity[OP_COUNT] = {
    [OP_VAR] = 0, [OP_CONST] = 0,
    [OP_ADD] = 2, [OP_MUL] = 2, [OP_EXP] = 1, [OP_RECIP] = 1, [OP_POW] = 2, [OP_POWC] = 2,
    [OP_LOG] = 1, [OP_TANH] = 1, [OP_SIGMOID] = 1, [OP_RELU] = 1,
    [OP_TVAR] = 0, [OP_TCONST] = 0, [OP_TUNARY] = 1, [OP_TBINARY] = 2,
    [OP_MATMUL] = 2, [OP_SOFTMAX] = 1, [OP_SUM] = 1, [OP_MEAN] = 1, [OP_XENT] = 2,
};

const char *tg_status_str(tg_status s)
{
    switch (s) {
    case TG_OK:         return "ok";
    case TG_ERR_NOMEM:  return "out of memory";
    case TG_ERR_ARG:    return "invalid argument";
    case TG_ERR_HANDLE: return "invalid handle";
    case TG_ERR_NAME:   return "bad name";
    case TG_ERR_SHAPE:  return "shape mismatch";
    case TG_ERR_DOMAIN: return "non-finite value";
    case TG_ERR_FORMAT: return "malformed file";
    case TG_ERR_IO:     return "input/output error";
    case TG_ERR_STALE:  return "stale handle or tape";
    }
    return "unknown status";
}

/* ------------------------------------------------------------ memory */

static void *std_realloc(void *ctx, void *p, size_t size)
{
    (void)ctx;
    return realloc(p, size ? size : 1);
}

static void std_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
}

tg_allocator tg_default_allocator(void)
{
    return tg__std_allocator();
}

tg_allocator tg__std_allocator(void)
{
    tg_allocator mem = { std_realloc, std_free, NULL };
    return mem;
}

void *tg__realloc(tg_graph *g, void *p, size_t size)
{
    return g->mem.realloc(g->mem.ctx, p, size);
}

void tg__free(tg_graph *g, void *p)
{
    if (p) g->mem.free(g->mem.ctx, p);
}

int tg__grow(tg_graph *g, void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2) return -1;
        c *= 2;
    }
    if (c > SIZE_MAX / elem) return -1;
    void *p = tg__realloc(g, *arr, c * elem);
    if (!p) return -1;
    *arr = p;
    *cap = c;
    return 0;
}

/* The tape arrays grow together; cap changes only when all have grown, so
 * a failure part way leaves a consistent (larger-than-needed) graph. */
static int grow_tape(tg_graph *g, size_t need)
{
    if (need <= g->cap) return 0;
    if (need > UINT32_MAX) return -1;
    size_t c = g->cap ? g->cap : 64;
    while (c < need) c *= 2;
    if (c > (size_t)UINT32_MAX + 1) c = (size_t)UINT32_MAX + 1;
    void *p;
#define GROW(field, type)                                       \
    if (!(p = tg__realloc(g, g->field, c * sizeof(type)))) return -1; \
    g->field = p;
    GROW(op, uint8_t)
    GROW(a, uint32_t)
    GROW(b, uint32_t)
    if (!(p = tg__realloc(g, g->touched, (c / 64 + 1) * sizeof(uint64_t)))) return -1;
    g->touched = p;
    GROW(val, double)
    GROW(grad, double)
#undef GROW
    g->cap = c;
    return 0;
}

/* op, two inputs, value, adjoint, and the backward's one "touched" bit,
 * rounded up to whole bytes. */
size_t tg_graph_bytes_per_node(void)
{
    return sizeof(uint8_t) + 2 * sizeof(uint32_t) + 2 * sizeof(double) + 1;
}

/* ------------------------------------------------------------ lifetime */

tg_graph *tg_graph_new(void)
{
    return tg_graph_new_with(NULL);
}

tg_graph *tg_graph_new_with(const tg_allocator *alloc)
{
    tg_allocator mem = tg__std_allocator();
    if (alloc) {
        if (!alloc->realloc || !alloc->free) return NULL;
        mem = *alloc;
    }
    tg_graph *g = mem.realloc(mem.ctx, NULL, sizeof *g);
    if (!g) return NULL;
    memset(g, 0, sizeof *g);
    g->mem = mem;
    /* Generations start at a value drawn from the graph's address, so a
     * handle of another graph is recognised as foreign, not misread. */
    uint64_t h = (uint64_t)(uintptr_t)g * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    g->gen_base = ((uint32_t)(h >> 33) | 1u);  /* below 2^31: 2^31 rewinds before a wrap */
    g->low_mark = UINT32_MAX;
    return g;
}

void tg_graph_free(tg_graph *g)
{
    if (!g) return;
    tg__names_free(g);
    tg__groups_free(g);
    tg__free(g, g->op);
    tg__free(g, g->a);
    tg__free(g, g->b);
    tg__free(g, g->rew);
    tg__free(g, g->touched);
    tg__free(g, g->val);
    tg__free(g, g->grad);
    tg__free(g, g->tens);
    tg__free(g, g->tval);
    tg__free(g, g->tgrad);
    tg_allocator mem = g->mem;
    mem.free(mem.ctx, g);
}

/* ------------------------------------------------------------ errors */

tg_status tg_graph_status(const tg_graph *g)
{
    return g ? g->status : TG_ERR_ARG;
}

const char *tg_graph_errmsg(const tg_graph *g)
{
    if (!g) return "graph is NULL";
    return g->status == TG_OK ? "" : g->errmsg;
}

void tg_graph_clear_error(tg_graph *g)
{
    if (!g) return;
    g->status = TG_OK;
    g->errmsg[0] = '\0';
}

tg_status tg__fail(tg_graph *g, tg_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tg_graph_failv(g, s, fmt, ap);
    va_end(ap);
    return s;
}

tg_status tg_graph_failv(tg_graph *g, tg_status s, const char *fmt, va_list ap)
{
    if (!g || g->status != TG_OK || s == TG_OK) return s;
    g->status = s;
    if (!fmt) fmt = "";
    vsnprintf(g->errmsg, sizeof g->errmsg, fmt, ap);
    return s;
}

tg_status tg_graph_fail(tg_graph *g, tg_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tg_graph_failv(g, s, fmt, ap);
    va_end(ap);
    return s;
}

const char *tg__describe(const tg_graph *g, uint32_t id, char *buf, size_t len)
{
    const char *name = tg__name_of(g, id);
    const char *op = op_names[g->op[id]];
    if (g->op[id] == OP_TUNARY || g->op[id] == OP_TBINARY)
        op = op_names[tg__trec(g, id)->elem_op];
    if (name)
        snprintf(buf, len, "node %u '%s' (%s)", (unsigned)id, name, op);
    else
        snprintf(buf, len, "node %u (%s)", (unsigned)id, op);
    return buf;
}

void tg_graph_set_checking(tg_graph *g, int on)
{
    if (g) g->checking = on != 0;
}

/* ------------------------------------------------------------ handles */

/* The first rewind entry of generation >= e: node ids below its mark
 * recorded in generation e are alive.  NULL when e is current. */
static const rewind_rec *rewind_after(const tg_graph *g, uint32_t e)
{
    size_t lo = 0, hi = g->nrew;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->rew[mid].epoch < e) lo = mid + 1;
        else hi = mid;
    }
    return lo < g->nrew ? &g->rew[lo] : NULL;
}

bool tg__live_old(const tg_graph *g, tg_node h)
{
    uint32_t age = h.gen - g->gen_base;
    if (h.gen == 0 || age >= g->epoch) return false;
    const rewind_rec *r = rewind_after(g, age);
    return r && h.id < r->mark;
}

/* An older node: any generation whose rewind entry covers it names it. */
tg_node tg__handle_old(const tg_graph *g, uint32_t id)
{
    size_t lo = 0, hi = g->nrew;
    while (lo < hi) {  /* first entry with mark > id */
        size_t mid = lo + (hi - lo) / 2;
        if (g->rew[mid].mark <= id) lo = mid + 1;
        else hi = mid;
    }
    tg_node h = { id, g->gen_base + g->rew[lo].epoch };
    return h;
}

tg_status tg__classify(const tg_graph *g, tg_node h)
{
    if (tg_is_none(h)) return TG_ERR_HANDLE;
    if (tg__live(g, h)) return TG_OK;
    /* Generations this graph has used are gen_base .. gen_base + epoch. */
    uint32_t age = h.gen - g->gen_base;
    if (age < g->epoch && h.gen != 0) return TG_ERR_STALE;
    return TG_ERR_HANDLE;
}

int tg__check_slow(tg_graph *g, const char *fn, const char *arg, tg_node h)
{
    if (tg__live(g, h)) return 1;
    if (tg_is_none(h)) {  /* kept quiet when it carries an earlier error */
        tg__fail(g, TG_ERR_HANDLE, "%s: %s is the empty handle", fn, arg);
        return 0;
    }
    if (tg__classify(g, h) == TG_ERR_STALE)
        tg__fail(g, TG_ERR_STALE, "%s: %s refers to node %u, dropped by a rewind",
                 fn, arg, (unsigned)h.id);
    else
        tg__fail(g, TG_ERR_HANDLE, "%s: %s is not a node of this graph", fn, arg);
    return -1;
}

int tg_node_check(tg_graph *g, const char *fn, const char *arg, tg_node n)
{
    if (!g) return -1;
    return tg__check(g, fn ? fn : "?", arg ? arg : "?", n);
}

tg_node tg_node_at(const tg_graph *g, size_t i)
{
    if (!g || i >= g->n) return TG_NONE;
    return tg__handle(g, (uint32_t)i);
}

/* ------------------------------------------------------------ recording */

int tg__grow_tape(tg_graph *g, const char *fn)
{
    if (grow_tape(g, g->n + 1) == 0) return 0;
    tg__fail(g, TG_ERR_NOMEM, "%s: out of memory growing the tape past %zu nodes", fn, g->n);
    return -1;
}

bool tg__nonfinite(const tg_graph *g, uint32_t id, bool grads)
{
    if (!tg__is_tensor(g, id)) return !isfinite(grads ? g->grad[id] : g->val[id]);
    const tensor_rec *r = tg__trec(g, id);
    const double *x = (grads ? g->tgrad : g->tval) + r->off;
    for (size_t k = 0, n = (size_t)r->rows * r->cols; k < n; k++)
        if (!isfinite(x[k])) return true;
    return false;
}

bool tg__check_finite(tg_graph *g, const char *fn, uint32_t id)
{
    if (!tg__nonfinite(g, id, false)) return true;
    char d[96];
    tg__fail(g, TG_ERR_DOMAIN, "%s: %s produced a non-finite value", fn,
             tg__describe(g, id, d, sizeof d));
    return false;
}

void tg__truncate(tg_graph *g, size_t mark)
{
    if (mark >= g->n) return;
    if (g->names) tg__names_rewind(g, mark);
    if (g->ngroups) tg__groups_rewind(g, mark);
    if (g->ntens) tg__tensor_rewind(g, mark);
    g->n = mark;
    if (g->dirty > mark) g->dirty = mark;
    if (g->stale_at > mark) g->stale_at = 0;
}

tg_status tg_graph_undo(tg_graph *g, size_t mark)
{
    if (!g || mark > g->n) return TG_ERR_ARG;
    tg__truncate(g, mark);
    return TG_OK;
}

size_t tg_graph_size(const tg_graph *g)
{
    return g ? g->n : 0;
}

size_t tg_graph_mark(const tg_graph *g)
{
    return g ? g->n : 0;
}

tg_status tg_graph_reserve(tg_graph *g, size_t n)
{
    if (!g) return TG_ERR_ARG;
    if (grow_tape(g, n) != 0)
        return tg__fail(g, TG_ERR_NOMEM, "tg_graph_reserve: out of memory reserving %zu nodes", n);
    return TG_OK;
}

tg_status tg_graph_rewind(tg_graph *g, size_t mark)
{
    if (!g) return TG_ERR_ARG;
    if (mark > g->n)
        return tg__fail(g, TG_ERR_ARG, "tg_graph_rewind: mark %zu is past the tape's %zu nodes",
                        mark, g->n);
    if (mark == g->n) return TG_OK;
    /* The one allocation a rewind may need comes first, so that a failure
     * leaves the graph untouched; a loop rewinding to one mark never grows it. */
    if (g->nrew == g->rew_cap &&
        tg__grow(g, (void **)&g->rew, &g->rew_cap, g->nrew + 1, sizeof *g->rew) != 0)
        return tg__fail(g, TG_ERR_NOMEM, "tg_graph_rewind: out of memory");
    tg__truncate(g, mark);
    /* Handles may have escaped: the dropped nodes' generation ends here. */
    while (g->nrew > 0 && g->rew[g->nrew - 1].mark >= mark) g->nrew--;
    g->rew[g->nrew].epoch = g->epoch;
    g->rew[g->nrew].mark = (uint32_t)mark;
    g->nrew++;
    g->low_mark = g->rew[0].mark;
    g->epoch++;
    if (g->gen_base + g->epoch == 0) g->epoch++;  /* generation 0 is the empty handle's */
    return TG_OK;
}
