/* tg_eval_batch: the recorded scalar tape at many points at once.
 *
 * Points go through the tape in blocks of LANES, side by side: node i of
 * lane l is at [i * LANES + l], so each op is dispatched once per block
 * (op_dispatch, the op a literal) and its inner loop runs over the lanes,
 * which the compiler vectorises where the op's math allows.  Each lane
 * computes exactly what a replay and tg_backward compute for its point
 * (the same op_value, op_partials, the same zero-adjoint rule), so the
 * numbers agree bit for bit.  Large batches are split over threads, each
 * with its own lane storage (kept by the graph for the next call); the
 * tape is only read.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"

enum { LANES = 8 };
/* A thread costs tens of microseconds to start (and its stack's page
 * faults): only batches of at least WORK_PER_THREAD node-points get one
 * more, and a thread at least MIN_POINTS points. */
enum { MAX_THREADS = 8, MIN_POINTS = 4 * LANES };
#define WORK_PER_THREAD (1u << 21)

/* One block's storage: values, adjoints, touched flags, flipped flags. */
typedef struct lanes {
    double *val, *adj;
    uint8_t *touched;
    unsigned char flip[LANES];
} lanes;

/* What every block reads. */
typedef struct job {
    const tg_graph *g;
    uint32_t top;            /* y's id: nodes [0, top] */
    const uint32_t *xmap;    /* node id -> index into x, or UINT32_MAX */
    size_t n;                /* variables */
    const tg_node *x;
    const double *xs;
    double *ys, *grads;
    unsigned char *flipped;
} job;

/* ------------------------------------------------------------ forward */

typedef struct lane_ctx {
    const tg_graph *g;
    uint32_t i;
    lanes *L;
} lane_ctx;

static void custom_forward(const tg_graph *g, uint32_t i, lanes *L)
{
    const custom_rec *r = tg__crec(g, i);
    const tg_custom_op *op = &g->cdefs[r->def].op;
    double x[TG_CUSTOM_MAX_ARITY];
    for (int l = 0; l < LANES; l++) {
        for (size_t k = 0; k < op->arity; k++) x[k] = L->val[(size_t)g->cin[r->in + k] * LANES + l];
        L->val[(size_t)i * LANES + l] = op->value(op->ctx, x);
    }
}

static inline __attribute__((always_inline)) void forward_step(tg_op op, void *ctx)
{
    lane_ctx *c = ctx;
    const tg_graph *g = c->g;
    uint32_t i = c->i;
    if (op_table[op].kind == OPK_LEAF) return;  /* seeded before */
    if (op_table[op].kind == OPK_CUSTOM) {
        custom_forward(g, i, c->L);
        return;
    }
    const double *va = c->L->val + (size_t)g->a[i] * LANES, *vb = c->L->val + (size_t)g->b[i] * LANES;
    double *vy = c->L->val + (size_t)i * LANES;
    if (op_table[op].branch) {
        bool side = tg__branch(g, i);
        for (int l = 0; l < LANES; l++) {
            if (op_side(op, va[l], vb[l]) == side) {
                vy[l] = op_value(op, va[l], vb[l]);
            } else {
                vy[l] = branch_value(op, side, va[l], vb[l]);
                c->L->flip[l] = 1;
            }
        }
        return;
    }
    for (int l = 0; l < LANES; l++) vy[l] = op_value(op, va[l], vb[l]);
}

/* Values of nodes [0, top] at the block's points (count of them; the
 * other lanes repeat the first point). */
static void forward(const job *j, lanes *L, size_t first, size_t count)
{
    const tg_graph *g = j->g;
    memset(L->flip, 0, sizeof L->flip);
    lane_ctx c = { g, 0, L };
    for (uint32_t i = 0; i <= j->top; i++) {
        uint8_t code = g->op[i];
        double *vy = L->val + (size_t)i * LANES;
        if (op_table[code].kind == OPK_LEAF) {
            uint32_t k = j->xmap[i];
            if (k == UINT32_MAX) {
                for (int l = 0; l < LANES; l++) vy[l] = g->val[i];
            } else {
                for (int l = 0; l < LANES; l++)
                    vy[l] = j->xs[(first + ((size_t)l < count ? (size_t)l : 0)) * j->n + k];
            }
            continue;
        }
        c.i = i;
        op_dispatch((tg_op)code, forward_step, &c);
    }
}

/* ------------------------------------------------------------ reverse */

static void custom_backward(const tg_graph *g, uint32_t i, lanes *L)
{
    const custom_rec *r = tg__crec(g, i);
    const tg_custom_op *op = &g->cdefs[r->def].op;
    double x[TG_CUSTOM_MAX_ARITY], d[TG_CUSTOM_MAX_ARITY];
    for (int l = 0; l < LANES; l++) {
        size_t at = (size_t)i * LANES + l;
        if (L->adj[at] == 0 && !L->touched[at]) continue;
        for (size_t k = 0; k < op->arity; k++) {
            x[k] = L->val[(size_t)g->cin[r->in + k] * LANES + l];
            d[k] = 0.0;
        }
        op->partials(op->ctx, x, L->val[at], d);
        for (size_t k = 0; k < op->arity; k++) {
            size_t in = (size_t)g->cin[r->in + k] * LANES + l;
            if ((L->adj[in] += L->adj[at] * d[k]) == 0.0) L->touched[in] = 1;
        }
    }
}

/* adj_in += vis ? gi * d : nothing, and touched where that left it 0:
 * tg_backward's rule per lane, written without branches. */
static inline __attribute__((always_inline)) void
flow(double *adj_in, uint8_t *touched_in, double gi, uint8_t vis, double d)
{
    double sum = *adj_in + gi * d;
    *adj_in = vis ? sum : *adj_in;
    *touched_in |= (uint8_t)(vis & (sum == 0.0));
}

/* adj_in += gi d over the lanes, then touched where a sum came to 0. */
static inline __attribute__((always_inline)) void
lanes_flow(double *restrict adj_in, uint8_t *restrict touched_in, const double *restrict gi,
           const double *restrict d)
{
    int zero = 0;
    for (int l = 0; l < LANES; l++) {
        adj_in[l] += gi[l] * d[l];
        zero |= adj_in[l] == 0.0;
    }
    if (zero)
        for (int l = 0; l < LANES; l++) touched_in[l] |= adj_in[l] == 0.0;
}

static inline __attribute__((always_inline)) void backward_step(tg_op op, void *ctx)
{
    lane_ctx *c = ctx;
    const tg_graph *g = c->g;
    uint32_t i = c->i;
    if (op_table[op].kind == OPK_LEAF) return;
    if (op_table[op].kind == OPK_CUSTOM) {
        custom_backward(g, i, c->L);
        return;
    }
    size_t a = (size_t)g->a[i] * LANES, b = (size_t)g->b[i] * LANES, y = (size_t)i * LANES;
    const double *val = c->L->val;
    double *adj = c->L->adj;
    uint8_t *touched = c->L->touched;
    if (!op_table[op].branch) {
        /* The common case, every lane on the path: loops without tests,
         * which the compiler vectorises; touched only where a sum is 0. */
        int all = 1;
        for (int l = 0; l < LANES; l++) all &= adj[y + l] != 0.0;
        if (all) {
            double da[LANES], db[LANES];
            int k = 0;
            for (int l = 0; l < LANES; l++) k = op_partials(op, val[a + l], val[b + l], val[y + l], &da[l], &db[l]);
            if (k >= 1) lanes_flow(adj + a, touched + a, adj + y, da);
            if (k == 2) lanes_flow(adj + b, touched + b, adj + y, db);
            return;
        }
    }
    bool side = op_table[op].branch && tg__branch(g, i);
    for (int l = 0; l < LANES; l++) {
        double gi = adj[y + l], da, db;
        uint8_t vis = gi != 0.0 || touched[y + l];
        int k;
        if (op_table[op].branch && op_side(op, val[a + l], val[b + l]) != side) {
            branch_partials(op, side, &da, &db);
            k = op_table[op].arity;
        } else {
            k = op_partials(op, val[a + l], val[b + l], val[y + l], &da, &db);
        }
        if (k >= 1) flow(&adj[a + l], &touched[a + l], gi, vis, da);
        if (k == 2) flow(&adj[b + l], &touched[b + l], gi, vis, db);
    }
}

static void backward(const job *j, lanes *L)
{
    const tg_graph *g = j->g;
    size_t cells = ((size_t)j->top + 1) * LANES;
    memset(L->adj, 0, cells * sizeof *L->adj);
    memset(L->touched, 0, cells);
    for (int l = 0; l < LANES; l++) L->adj[(size_t)j->top * LANES + l] = 1.0;
    lane_ctx c = { g, 0, L };
    for (uint32_t i = j->top + 1; i-- > 0;) {
        c.i = i;
        op_dispatch((tg_op)g->op[i], backward_step, &c);
    }
}

/* ------------------------------------------------------------ blocks and threads */

/* Points [from, to) in blocks of LANES, with lane storage L. */
static void run_points(const job *j, lanes *L, size_t from, size_t to)
{
    for (size_t p = from; p < to; p += LANES) {
        size_t count = to - p < LANES ? to - p : LANES;
        forward(j, L, p, count);
        if (j->grads) backward(j, L);
        for (size_t l = 0; l < count; l++) {
            j->ys[p + l] = L->val[(size_t)j->top * LANES + l];
            if (j->flipped) j->flipped[p + l] = L->flip[l];
            if (!j->grads) continue;
            double *row = j->grads + (p + l) * j->n;
            for (size_t k = 0; k < j->n; k++)  /* a variable after y: y does not depend on it */
                row[k] = j->x[k].id <= j->top ? L->adj[(size_t)j->x[k].id * LANES + l] : 0.0;
        }
    }
}

typedef struct part {
    const job *j;
    lanes L;
    size_t from, to;
} part;

static void *run_part(void *arg)
{
    part *p = arg;
    run_points(p->j, &p->L, p->from, p->to);
    return NULL;
}

/* ------------------------------------------------------------ the call */

static tg_status batch_fail(tg_graph *g, tg_status s, const char *what, size_t k)
{
    return tg__fail(g, s, "tg_eval_batch: %s %zu", what, k);
}

tg_status tg_eval_batch(tg_graph *g, tg_node y, size_t n, const tg_node *x, size_t k,
                        const double *xs, double *ys, double *grads, unsigned char *flipped)
{
    const char *fn = "tg_eval_batch";
    if (!g) return TG_ERR_ARG;
    int c = tg__check(g, fn, "y", y);
    if (c == 0) return tg__fail(g, TG_ERR_HANDLE, "%s: y is the empty handle", fn);
    if (c < 0) return tg__classify(g, y);
    char d[96], arg[32];
    if (tg__is_tensor(g, y.id))
        return tg__fail(g, TG_ERR_SHAPE, "%s: y is a tensor; the batch evaluates a scalar", fn);
    if (n && !x) return tg__fail(g, TG_ERR_ARG, "%s: x is NULL", fn);
    for (size_t i = 0; i < n; i++) {
        c = 1;
        if (!tg__live(g, x[i])) {  /* the argument's name only for the message */
            snprintf(arg, sizeof arg, "x[%zu]", i);
            c = tg__check(g, fn, arg, x[i]);
        }
        if (c == 0) return tg__fail(g, TG_ERR_HANDLE, "%s: %s is the empty handle", fn, arg);
        if (c < 0) return tg__classify(g, x[i]);
        if (tg__is_tensor(g, x[i].id))
            return tg__fail(g, TG_ERR_SHAPE, "%s: x[%zu] is a tensor; the batch takes scalar variables",
                            fn, i);
        if (tg__op(g, x[i].id) != OP_VAR)
            return tg__fail(g, TG_ERR_ARG, "%s: x[%zu] is %s, not a variable", fn, i,
                            tg__describe(g, x[i].id, d, sizeof d));
    }
    if (k && n && k > SIZE_MAX / sizeof(double) / n)
        return tg__fail(g, TG_ERR_ARG, "%s: %zu points of %zu values overflow", fn, k, n);
    if (k && n && !xs) return tg__fail(g, TG_ERR_ARG, "%s: xs is NULL", fn);
    if (k && !ys) return tg__fail(g, TG_ERR_ARG, "%s: ys is NULL", fn);
    for (uint32_t i = 0; i <= y.id; i++)
        if (g->op[i] & TENSOR_CODE)
            return batch_fail(g, TG_ERR_SHAPE, "y depends on a tensor node: the batch evaluates scalar tapes; node",
                              i);
    if (k == 0) return TG_OK;

    size_t cells = ((size_t)y.id + 1) * LANES;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t work = ((size_t)y.id + 1) * k / WORK_PER_THREAD, threads = k / MIN_POINTS;
    if (threads > work) threads = work;
    if (threads > (size_t)(cpus > 0 ? cpus : 1)) threads = (size_t)(cpus > 0 ? cpus : 1);
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads < 1) threads = 1;
    if (cells > SIZE_MAX / (2 * sizeof(double) + 1) / threads)
        return tg__fail(g, TG_ERR_ARG, "%s: a tape of %u nodes is too long to batch", fn, y.id + 1);

    /* Storage: the node -> variable map, then each thread's lanes. */
    size_t per = cells * (2 * sizeof(double) + 1);
    size_t map_bytes = ((size_t)y.id + 1) * sizeof(uint32_t);
    map_bytes = (map_bytes + 7) & ~(size_t)7;
    size_t need = map_bytes + threads * per;
    if (need > g->bcap) {  /* kept for the next call: no page faults then */
        char *more = tg__realloc(g, g->bmem, need);
        if (!more) return tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for %zu lanes of %u nodes", fn,
                                   threads * LANES, y.id + 1);
        g->bmem = more;
        g->bcap = need;
    }
    char *mem = g->bmem;
    uint32_t *xmap = (uint32_t *)mem;
    for (uint32_t i = 0; i <= y.id; i++) xmap[i] = UINT32_MAX;
    for (size_t i = 0; i < n; i++)
        if (x[i].id <= y.id) xmap[x[i].id] = (uint32_t)i;  /* a variable listed twice: the last */

    job j = { g, y.id, xmap, n, x, xs, ys, grads, flipped };
    part parts[MAX_THREADS];
    size_t blocks = (k + LANES - 1) / LANES;
    for (size_t t = 0; t < threads; t++) {
        char *base = mem + map_bytes + t * per;
        parts[t].j = &j;
        parts[t].L.val = (double *)base;
        parts[t].L.adj = (double *)base + cells;
        parts[t].L.touched = (uint8_t *)((double *)base + 2 * cells);
        parts[t].from = blocks * t / threads * LANES;
        parts[t].to = blocks * (t + 1) / threads * LANES;
        if (parts[t].to > k) parts[t].to = k;
    }
    /* Threads for all parts but the first, which runs here; a thread that
     * cannot be started has its part run here too. */
    pthread_t tid[MAX_THREADS];
    bool started[MAX_THREADS] = { false };
    for (size_t t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, run_part, &parts[t]) == 0;
    run_part(&parts[0]);
    for (size_t t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else run_part(&parts[t]);
    }
    return TG_OK;
}
