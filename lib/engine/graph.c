/* The graph: storage, handles, errors, mark and rewind. */
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "tapegrad/extend.h"

#define SAME_CODE(x, y) ((int)(x) == (int)(y))
_Static_assert(SAME_CODE(TG__OP_VAR, OP_VAR) && SAME_CODE(TG__OP_CONST, OP_CONST) &&
               SAME_CODE(TG__OP_ADD, OP_ADD) && SAME_CODE(TG__OP_SUB, OP_SUB) &&
               SAME_CODE(TG__OP_MUL, OP_MUL) && SAME_CODE(TG__OP_DIV, OP_DIV) &&
               SAME_CODE(TG__OP_NEG, OP_NEG) && SAME_CODE(TG__OP_RECIP, OP_RECIP) &&
               SAME_CODE(TG__OP_EXP, OP_EXP) && SAME_CODE(TG__OP_TANH, OP_TANH) &&
               SAME_CODE(TG__OP_SIGMOID, OP_SIGMOID) && SAME_CODE(TG__OP_TENSOR, TENSOR_CODE),
               "the inline builders' op codes are the registry's");

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
    case TG_ERR_LIMIT:  return "limit reached";
    case TG_ERR_CHECK:  return "derivative check failed";
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

/* One array of the tape to c entries of elem bytes. */
static bool grow_array(tg_graph *g, void **arr, size_t c, size_t elem)
{
    void *p = tg__realloc(g, *arr, c * elem);
    if (!p) return false;
    *arr = p;
    return true;
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
    size_t words = c / 64 + 1;
    if (!grow_array(g, (void **)&g->op, c, sizeof *g->op) ||
        !grow_array(g, (void **)&g->a, c, sizeof *g->a) ||
        !grow_array(g, (void **)&g->b, c, sizeof *g->b) ||
        !grow_array(g, (void **)&g->touched, words, sizeof *g->touched) ||
        !grow_array(g, (void **)&g->branch, words, sizeof *g->branch) ||
        !grow_array(g, (void **)&g->val, c, sizeof *g->val) ||
        !grow_array(g, (void **)&g->grad, c, sizeof *g->grad))
        return -1;
    g->cap = c;
    g->fast_cap = g->checking ? 0 : c;
    return 0;
}

/* op code, two inputs, value, adjoint, and two bits (the backward's
 * "touched" and a branch op's recorded side), rounded up to whole bytes. */
size_t tg_graph_bytes_per_node(void)
{
    return sizeof(uint8_t) + 2 * sizeof(uint32_t) + 2 * sizeof(double) + 1;
}

/* ------------------------------------------------------------ generations */

/* The one piece of state the process shares between graphs: the next
 * generation no graph has taken.  Every generation is handed out once, so
 * a handle of one graph is never taken for a handle of another, alive or
 * freed.  Generation 0 belongs to the empty handle; past UINT32_MAX there
 * are none left. */
static _Atomic uint64_t next_generation = 1;

/* Take a run of up to `want` fresh generations (at least 1) into g's
 * runs; false when the process has none left. */
static bool take_generations(tg_graph *g, uint64_t want)
{
    if (g->nruns == GEN_RUNS) return false;
    uint64_t lo = atomic_load(&next_generation);
    uint64_t len;
    do {
        if (lo > UINT32_MAX) return false;
        len = want < (uint64_t)UINT32_MAX + 1 - lo ? want : (uint64_t)UINT32_MAX + 1 - lo;
    } while (!atomic_compare_exchange_weak(&next_generation, &lo, lo + len));
    g->runs[g->nruns].lo = (uint32_t)lo;
    g->runs[g->nruns].len = (uint32_t)len;
    g->nruns++;
    return true;
}

/* The generation after g's current one, taking a new run (twice the
 * last's length) when the current run is used up; 0 when none is left.
 * g->gen is not changed. */
/* Whether g's current run of generations has one after g->gen. */
static inline bool run_has_next(const tg_graph *g)
{
    const gen_run *r = &g->runs[g->nruns - 1];
    return g->gen - r->lo + 1u < r->len;
}

static uint32_t following_generation(tg_graph *g)
{
    const gen_run *r = &g->runs[g->nruns - 1];
    if (run_has_next(g)) return g->gen + 1u;
    if (!take_generations(g, 2 * (uint64_t)r->len)) return 0;
    return g->runs[g->nruns - 1].lo;
}

/* Whether g has handed out generation e: it lies in one of g's runs and
 * not past the current generation. */
static bool owns_generation(const tg_graph *g, uint32_t e)
{
    if (e == 0 || e > g->gen) return false;
    for (uint32_t k = 0; k < g->nruns; k++)
        if (e - g->runs[k].lo < g->runs[k].len) return true;
    return false;
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
    if (!take_generations(g, 1)) {
        mem.free(mem.ctx, g);
        return NULL;
    }
    g->gen = g->gen0 = g->runs[0].lo;
    return g;
}

void tg_graph_free(tg_graph *g)
{
    if (!g) return;
    tg__names_free(g);
    tg__groups_free(g);
    tg__custom_free(g);
    tg__free(g, g->op);
    tg__free(g, g->a);
    tg__free(g, g->b);
    tg__free(g, g->rew);
    tg__free(g, g->touched);
    tg__free(g, g->branch);
    tg__free(g, g->val);
    tg__free(g, g->grad);
    tg__free(g, g->tens);
    tg__free(g, g->tval);
    tg__free(g, g->tgrad);
    tg__deriv_free(g);
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
    const char *op = tg__op_name(g, id);
    const char *kind = tg__is_tensor(g, id) && tg__is_leaf(g, id) ? "tensor " : "";
    if (name)
        snprintf(buf, len, "node %u '%s' (%s%s)", (unsigned)id, name, kind, op);
    else
        snprintf(buf, len, "node %u (%s%s)", (unsigned)id, kind, op);
    return buf;
}

void tg_graph_set_checking(tg_graph *g, int on)
{
    if (!g) return;
    g->checking = on != 0;
    g->fast_cap = g->checking ? 0 : g->cap;
}

/* ------------------------------------------------------------ handles */

/* The first rewind entry of generation >= e: nodes below its mark that
 * were recorded in generation e are alive.  NULL when e is current. */
static const rewind_rec *rewind_after(const tg_graph *g, uint32_t e)
{
    size_t lo = 0, hi = g->nrew;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->rew[mid].gen < e) lo = mid + 1;
        else hi = mid;
    }
    return lo < g->nrew ? &g->rew[lo] : NULL;
}

bool tg__live_old(const tg_graph *g, tg_node h)
{
    if (h.id >= g->n || h.gen == g->gen || !owns_generation(g, h.gen)) return false;
    const rewind_rec *r = rewind_after(g, h.gen);
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
    tg_node h = { id, g->rew[lo].gen };
    return h;
}

tg_status tg__classify(const tg_graph *g, tg_node h)
{
    if (tg_is_none(h)) return TG_ERR_HANDLE;
    if (tg__live(g, h)) return TG_OK;
    /* The current generation has dropped nothing: an id past the tape was
     * never a node. */
    return h.gen != g->gen && owns_generation(g, h.gen) ? TG_ERR_STALE : TG_ERR_HANDLE;
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
    size_t n = (size_t)r->rows * r->cols;
    if (r->dtype == TG_F32) {
        const float *f = (const float *)(const void *)x;
        for (size_t k = 0; k < n; k++)
            if (!isfinite(f[k])) return true;
        return false;
    }
    for (size_t k = 0; k < n; k++)
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

/* Whether a node computed by an op lies after leaf id: its value was
 * computed before the leaf changed.  Beyond the all-leaf start of the tape
 * it looks at the last 64 nodes at most, and answers yes past them (the
 * cost of a wrong yes is one replay). */
static bool ops_after(const tg_graph *g, uint32_t id)
{
    if (g->n <= g->lead) return false;
    if (id < g->lead) return true;
    for (size_t i = g->n, seen = 0; i > (size_t)id + 1; i--, seen++)
        if (seen == 64 || !tg__is_leaf(g, (uint32_t)(i - 1))) return true;
    return false;
}

void tg__leaf_changed(tg_graph *g, uint32_t id)
{
    if (g->values_old) {
        if (id < g->changed_leaf) g->changed_leaf = id;
    } else if (ops_after(g, id)) {
        g->values_old = true;
        g->changed_leaf = id;
    }
}

/* The side tables keyed by node: names, groups, tensor and custom records. */
static void truncate_tables(tg_graph *g, size_t mark)
{
    if (g->names) tg__names_rewind(g, mark);
    if (g->ngroups) tg__groups_rewind(g, mark);
    if (g->ntens) tg__tensor_rewind(g, mark);
    if (g->ncrecs) tg__custom_rewind(g, mark);
}

/* tg__truncate, inline in tg_graph_rewind: a scalar graph's rewind is a
 * few stores. */
/* The tape itself and the marks kept on it, cut to mark (< n). */
static inline void truncate_tape(tg_graph *g, size_t mark)
{
    g->n = mark;
    if (g->lead > mark) g->lead = mark;
    if (g->dirty > mark) g->dirty = mark;
    if (g->stale_at > mark) g->stale_at = 0;
}

static inline void truncate(tg_graph *g, size_t mark)
{
    if (mark >= g->n) return;
    if (g->names || (g->ngroups | g->ntens | g->ncrecs)) truncate_tables(g, mark);
    truncate_tape(g, mark);
    /* A training step changes its parameters and rewinds to just after
     * them and its batch: nothing computed from them is left. */
    if (g->values_old && !ops_after(g, g->changed_leaf)) g->values_old = false;
}

void tg__truncate(tg_graph *g, size_t mark)
{
    truncate(g, mark);
}

tg_status tg_graph_undo(tg_graph *g, size_t mark)
{
    if (!g || mark > g->n) return TG_ERR_ARG;
    /* Nodes below the last rewind's mark are of older generations: their
     * handles have left any call. */
    if (g->nrew > 0 && mark < g->rew[g->nrew - 1].mark) return TG_ERR_ARG;
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

size_t tg__v1_mark(const tg_graph *g) { return tg_graph_mark(g); }

tg_status tg_graph_reserve(tg_graph *g, size_t n)
{
    if (!g) return TG_ERR_ARG;
    if (grow_tape(g, n) != 0)
        return tg__fail(g, TG_ERR_NOMEM, "tg_graph_reserve: out of memory reserving %zu nodes", n);
    return TG_OK;
}

static tg_status rewind_general(tg_graph *g, size_t mark);

tg_status tg_graph_rewind(tg_graph *g, size_t mark)
{
    if (!g) return TG_ERR_ARG;
    /* A loop rewinding to the mark it last rewound to, on a graph with no
     * side tables and nothing to replay, within its run of generations:
     * the top record only changes its generation (the stack's marks rise
     * strictly, so this is what rewind_general does with that mark), in a
     * few stores and no call. */
    if (g->nrew && g->rew[g->nrew - 1].mark == mark && mark < g->n &&
        !(g->names || (g->ngroups | g->ntens | g->ncrecs) || g->values_old) && run_has_next(g)) {
        truncate_tape(g, mark);
        g->rew[g->nrew - 1].gen = g->gen;
        g->gen++;
        return TG_OK;
    }
    return rewind_general(g, mark);
}

static __attribute__((noinline)) tg_status rewind_general(tg_graph *g, size_t mark)
{
    if (mark > g->n)
        return tg__fail(g, TG_ERR_ARG, "tg_graph_rewind: mark %zu is past the tape's %zu nodes",
                        mark, g->n);
    if (mark == g->n) return TG_OK;
    /* What a rewind may need comes first, so that a failure leaves the
     * graph untouched.  Entries at or above the mark are replaced by the
     * new one, so a loop rewinding to one mark never grows the stack. */
    size_t keep = g->nrew;
    while (keep > 0 && g->rew[keep - 1].mark >= mark) keep--;
    if (keep == g->rew_cap &&
        tg__grow(g, (void **)&g->rew, &g->rew_cap, keep + 1, sizeof *g->rew) != 0)
        return tg__fail(g, TG_ERR_NOMEM, "tg_graph_rewind: out of memory");
    uint32_t next = following_generation(g);
    if (next == 0)
        return tg__fail(g, TG_ERR_LIMIT,
                        "tg_graph_rewind: the process has used all 2^32 handle generations");
    truncate(g, mark);
    /* Handles may have escaped: the dropped nodes' generation ends here. */
    g->nrew = keep;
    g->rew[g->nrew].gen = g->gen;
    g->rew[g->nrew].mark = (uint32_t)mark;
    g->nrew++;
    g->low_mark = g->rew[0].mark;
    g->gen = next;
    return TG_OK;
}
