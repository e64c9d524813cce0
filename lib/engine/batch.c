/* tg_eval_batch: the recorded scalar tape at many points at once.
 *
 * The tape up to y is first turned into a plan, once per call: every node
 * gets a row of LANES doubles (a point per lane), the leaves of x first
 * (in the order of their columns in xs), then one per op node in tape
 * order, then the other leaves, whose values are the same at every point
 * and are written once.  Each op node becomes an instruction (op, the
 * rows of its inputs, flags), so the sweeps read a short record per op
 * and never look at a leaf.
 *
 * Points go through the plan in blocks of LANES, side by side: each
 * instruction is dispatched once per block (op_dispatch, the op a
 * literal) and its inner loops run over the lanes, which the compiler
 * vectorises where the op's math allows.  Each lane computes exactly what
 * a replay and tg_backward compute for its point (the same op_value,
 * op_partials, the same zero-adjoint rule, the same order of additions),
 * so the numbers agree bit for bit.  Large batches are split over
 * threads, each with its own rows (kept by the graph for the next call);
 * the tape and the plan are only read.
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

/* ------------------------------------------------------------ the plan */

/* An instruction's flags.  The reverse sweep visits only the active ones:
 * those that depend on a variable of x and that y depends on; the others'
 * adjoints reach no gradient that is returned.  An adjoint flows into an
 * input only where that input is active too (a leaf of x, or an active
 * op). */
enum {
    IN_ACTIVE = 1,
    IN_FLOW_A = 2,  /* the adjoint flows into a */
    IN_FLOW_B = 4,  /* ... into b */
    IN_INIT_A = 8,  /* this is the first flow into a's adjoint (the sweep is
                       reverse, so a's last use): its row starts at 0 here */
    IN_INIT_B = 16,
    IN_SIDE = 32    /* a branch op: the side of its kink recorded */
};

typedef struct instr {
    uint32_t a, b;  /* rows of the inputs (a unary op: b == a); a custom op:
                       a is its record's index, its inputs are in the tape */
    uint8_t op, flags;
} instr;

/* Node marks while planning; NEED stays for the custom ops' inputs. */
enum { M_NEED = 1, M_LIVE = 2, M_SEEN = 4 };

/* One thread's rows: values (every row) and adjoints (x and op rows). */
typedef struct lanes {
    double *val, *adj;
    unsigned char flip[LANES];
} lanes;

/* What every block reads. */
typedef struct plan plan;
struct plan {
    const tg_graph *g;
    void (*block)(const plan *P, lanes *L, size_t first, size_t count);  /* this machine's code */
    const instr *ins;        /* ni of them; instruction i's row is nx + i */
    size_t ni, nx, nc;       /* rows: x leaves [0, nx), ops, other leaves (nc) */
    const uint32_t *rowof;   /* node id -> row */
    const uint8_t *mark;     /* node id -> M_NEED when its adjoint is returned or flows on */
    const uint32_t *xcol;    /* x row -> column of xs */
    const uint32_t *colrow;  /* column of xs -> row, or UINT32_MAX (a variable after y) */
    const double *cval;      /* the values of the other leaves' rows */
    const uint32_t *zero;    /* adjoint rows zeroed before the reverse sweep */
    size_t nzero;
    uint32_t top;            /* y's row */
    bool reverse;            /* y depends on a variable of x */
    size_t n;                /* variables */
    const double *xs;
    double *ys, *grads;
    unsigned char *flipped;
};

/* ------------------------------------------------------------ the sweeps */

/* The step functions' state: the instruction and its row. */
typedef struct step_ctx {
    const plan *P;
    const instr *in;
    size_t y;  /* its row's first cell */
    lanes *L;
} step_ctx;

static void custom_forward(const step_ctx *c)
{
    const tg_graph *g = c->P->g;
    const custom_rec *r = &g->crecs[c->in->a];
    const tg_custom_op *op = &g->cdefs[r->def].op;
    const double *val = c->L->val;
    double x[TG_CUSTOM_MAX_ARITY];
    for (int l = 0; l < LANES; l++) {
        for (size_t k = 0; k < op->arity; k++) x[k] = val[(size_t)c->P->rowof[g->cin[r->in + k]] * LANES + l];
        c->L->val[c->y + l] = op->value(op->ctx, x);
    }
}

/* An instruction's values: op_value's at each lane's inputs; a branch op
 * off its recorded side takes the recorded branch's value (branch_value)
 * and flags its lane. */
static inline __attribute__((always_inline)) void forward_step(tg_op op, void *ctx)
{
    step_ctx *c = ctx;
    if (op_table[op].kind == OPK_CUSTOM) {
        custom_forward(c);
        return;
    }
    if (op_table[op].kind != OPK_ELEMENTWISE) return;  /* leaves and tensors make no instruction */
    const instr *in = c->in;
    double *val = c->L->val;
    double a[LANES], b[LANES], y[LANES];
    memcpy(a, val + (size_t)in->a * LANES, sizeof a);
    memcpy(b, val + (size_t)in->b * LANES, sizeof b);
    if (op_table[op].branch) {
        bool side = in->flags & IN_SIDE;
        for (int l = 0; l < LANES; l++) {
            bool on = op_side(op, a[l], b[l]) == side;
            y[l] = on ? op_value(op, a[l], b[l]) : branch_value(op, side, a[l], b[l]);
            c->L->flip[l] |= !on;
        }
    } else {
        for (int l = 0; l < LANES; l++) y[l] = op_value(op, a[l], b[l]);
    }
    memcpy(val + c->y, y, sizeof y);
}

/* The zero-adjoint rule.  tg_backward visits a node whose adjoint is
 * non-zero or was left at exactly zero by a flow (its `touched` bit); a
 * node off the path keeps a zero adjoint and passes nothing on, even
 * where its local derivative is infinite.  Here the bit is the adjoint's
 * sign: a flow that leaves 0 stores -0.0, which tg_backward's adjoints
 * never are (they start at +0.0, and a sum is -0.0 only when both terms
 * are).  That changes no number: -0.0 + p and +0.0 + p differ only where
 * they are both zero, and (-0.0) d and (+0.0) d only in the sign of a
 * zero or not at all (0 x inf is the same NaN either way).  A returned
 * gradient that is -0.0 is +0.0. */
static inline __attribute__((always_inline)) double mark_zero(double s)
{
    return s == 0.0 ? -0.0 : s;
}

static inline __attribute__((always_inline)) bool was_visited(double adj)
{
    uint64_t bits;
    memcpy(&bits, &adj, sizeof bits);
    return bits != 0;
}

/* Lanes in vectors of VEC (the compiler splits one into what the target
 * has), for the flows: the same IEEE operations, lane by lane. */
enum { VEC = 8 };
_Static_assert(LANES % VEC == 0, "whole vectors of lanes");
typedef double vrow __attribute__((vector_size(VEC * sizeof(double))));
typedef int64_t vbits __attribute__((vector_size(VEC * sizeof(double))));

/* row += gy d in the lanes that were visited (gy not +0.0), a zero sum
 * marked; the other lanes keep the row as it was.  The row starts at 0
 * when init. */
static inline __attribute__((always_inline)) void
flow(double *row, const double *gy, const double *d, bool init)
{
    for (int l = 0; l < LANES; l += VEC) {
        vrow r = { 0 }, g, x;
        if (!init) memcpy(&r, row + l, sizeof r);
        memcpy(&g, gy + l, sizeof g);
        memcpy(&x, d + l, sizeof x);
        vbits vis = (vbits)g != 0;
        vrow s = r + g * x;
        vbits sb = (vbits)s | ((s == 0.0) & INT64_MIN);  /* 0 -> -0.0 */
        sb = (sb & vis) | ((vbits)r & ~vis);
        memcpy(row + l, &sb, sizeof sb);
    }
}

static void custom_backward(const step_ctx *c)
{
    const plan *P = c->P;
    const tg_graph *g = P->g;
    const custom_rec *r = &g->crecs[c->in->a];
    const tg_custom_op *op = &g->cdefs[r->def].op;
    const double *val = c->L->val;
    double *adj = c->L->adj;
    double x[TG_CUSTOM_MAX_ARITY], d[TG_CUSTOM_MAX_ARITY];
    for (int l = 0; l < LANES; l++) {
        double gi = adj[c->y + l];
        if (!was_visited(gi)) continue;
        for (size_t k = 0; k < op->arity; k++) {
            x[k] = val[(size_t)P->rowof[g->cin[r->in + k]] * LANES + l];
            d[k] = 0.0;
        }
        op->partials(op->ctx, x, val[c->y + l], d);
        for (size_t k = 0; k < op->arity; k++) {
            uint32_t in = g->cin[r->in + k];
            if (!(P->mark[in] & M_NEED)) continue;
            size_t at = (size_t)P->rowof[in] * LANES + l;
            adj[at] = mark_zero(adj[at] + gi * d[k]);
        }
    }
}

/* An instruction's reverse step: its adjoint times each local derivative
 * into its inputs' adjoints, in the lanes that tg_backward would visit. */
static inline __attribute__((always_inline)) void backward_step(tg_op op, void *ctx)
{
    step_ctx *c = ctx;
    if (op_table[op].kind == OPK_CUSTOM) {
        custom_backward(c);
        return;
    }
    if (op_table[op].kind != OPK_ELEMENTWISE) return;
    const instr *in = c->in;
    const double *val = c->L->val;
    double *adj = c->L->adj;
    size_t ra = (size_t)in->a * LANES, rb = (size_t)in->b * LANES;
    double a[LANES], b[LANES], y[LANES], gy[LANES], da[LANES], db[LANES];
    memcpy(a, val + ra, sizeof a);
    memcpy(b, val + rb, sizeof b);
    memcpy(y, val + c->y, sizeof y);
    memcpy(gy, adj + c->y, sizeof gy);
    int k = 0;
    if (op_table[op].branch) {
        bool side = in->flags & IN_SIDE;
        for (int l = 0; l < LANES; l++) {
            double pa, pb, qa, qb;
            k = op_partials(op, a[l], b[l], y[l], &pa, &pb);
            branch_partials(op, side, &qa, &qb);
            bool on = op_side(op, a[l], b[l]) == side;
            da[l] = on ? pa : qa;
            db[l] = on ? pb : qb;
        }
    } else {
        for (int l = 0; l < LANES; l++) k = op_partials(op, a[l], b[l], y[l], &da[l], &db[l]);
    }
    uint8_t f = in->flags;
    if (k >= 1 && (f & IN_FLOW_A)) flow(adj + ra, gy, da, f & IN_INIT_A);
    if (k == 2 && (f & IN_FLOW_B)) flow(adj + rb, gy, db, f & IN_INIT_B);
}

/* The block's values: its points' x into their rows, then every
 * instruction in tape order.  Lanes past count repeat the first point. */
static inline __attribute__((always_inline)) void
forward_sweep(const plan *P, lanes *L, size_t first, size_t count)
{
    memset(L->flip, 0, sizeof L->flip);
    const double *src[LANES];
    for (int l = 0; l < LANES; l++) src[l] = P->xs + (first + ((size_t)l < count ? (size_t)l : 0)) * P->n;
    for (size_t r = 0; r < P->nx; r++) {
        double v[LANES];
        for (int l = 0; l < LANES; l++) v[l] = src[l][P->xcol[r]];
        memcpy(L->val + r * LANES, v, sizeof v);
    }
    step_ctx c = { P, NULL, 0, L };
    for (size_t i = 0; i < P->ni; i++) {
        c.in = &P->ins[i];
        c.y = (P->nx + i) * LANES;
        op_dispatch((tg_op)c.in->op, forward_step, &c);
    }
}

/* The block's adjoints: y's is 1, rows that no instruction starts are 0,
 * then the active instructions in reverse order. */
static inline __attribute__((always_inline)) void backward_sweep(const plan *P, lanes *L)
{
    for (size_t z = 0; z < P->nzero; z++) memset(L->adj + (size_t)P->zero[z] * LANES, 0, LANES * sizeof *L->adj);
    for (int l = 0; l < LANES; l++) L->adj[(size_t)P->top * LANES + l] = 1.0;
    step_ctx c = { P, NULL, 0, L };
    for (size_t i = P->ni; i-- > 0;) {
        c.in = &P->ins[i];
        if (!(c.in->flags & IN_ACTIVE)) continue;
        c.y = (P->nx + i) * LANES;
        op_dispatch((tg_op)c.in->op, backward_step, &c);
    }
}

/* One block of points [first, first + count): values, adjoints, and
 * the block's outputs. */
static inline __attribute__((always_inline)) void
block(const plan *P, lanes *L, size_t first, size_t count)
{
    forward_sweep(P, L, first, count);
    bool reverse = P->grads && P->reverse;
    if (reverse) backward_sweep(P, L);
    for (size_t l = 0; l < count; l++) {
        P->ys[first + l] = L->val[(size_t)P->top * LANES + l];
        if (P->flipped) P->flipped[first + l] = L->flip[l];
    }
    if (!P->grads) return;
    for (size_t k = 0; k < P->n; k++) {
        uint32_t r = P->colrow[k];
        double out[LANES];
        for (int l = 0; l < LANES; l += VEC) {
            vrow v = { 0 };
            if (reverse && r != UINT32_MAX) memcpy(&v, L->adj + (size_t)r * LANES + l, sizeof v);
            vbits b = (vbits)v & ~((v == 0.0) & INT64_MIN);  /* -0.0, a zero adjoint that was visited, is +0.0 */
            memcpy(out + l, &b, sizeof b);
        }
        for (size_t l = 0; l < count; l++) P->grads[(first + l) * P->n + k] = out[l];
    }
}

/* The blocks are compiled for the baseline ISA and, on x86-64, for AVX2
 * and AVX-512 too, picked at run time: a row of lanes is then a vector
 * or two.  A wider ISA changes no number only while a*b + c stays two
 * roundings, as in the baseline code of tg_backward: GCC in ISO C mode
 * (this project's -std=c11) and clang with the pragma below contract
 * nothing; GCC in GNU C mode would, so there the baseline code only. */
#if defined(__x86_64__) && !defined(__FAST_MATH__) && (defined(__clang__) || defined(__STRICT_ANSI__))
#define WIDE_BLOCKS 1
#ifdef __clang__
#pragma clang fp contract(off)
#endif
#endif

typedef void block_fn(const plan *P, lanes *L, size_t first, size_t count);

static void block_base(const plan *P, lanes *L, size_t first, size_t count)
{
    block(P, L, first, count);
}

#ifdef WIDE_BLOCKS
__attribute__((target("avx2"))) static void block_avx2(const plan *P, lanes *L, size_t first, size_t count)
{
    block(P, L, first, count);
}

__attribute__((target("avx512f"))) static void block_avx512(const plan *P, lanes *L, size_t first,
                                                               size_t count)
{
    block(P, L, first, count);
}
#endif

static block_fn *pick_block(void)
{
#ifdef WIDE_BLOCKS
    if (__builtin_cpu_supports("avx512f")) return block_avx512;
    if (__builtin_cpu_supports("avx2")) return block_avx2;
#endif
    return block_base;
}

/* ------------------------------------------------------------ blocks and threads */

/* Points [from, to) in blocks of LANES, with rows L. */
static void run_points(const plan *P, lanes *L, size_t from, size_t to)
{
    size_t fixed = (P->nx + P->ni) * LANES;  /* the other leaves' rows: the same at every point */
    for (size_t r = 0; r < P->nc; r++)
        for (int l = 0; l < LANES; l++) L->val[fixed + r * LANES + l] = P->cval[r];
    for (size_t p = from; p < to; p += LANES) P->block(P, L, p, to - p < LANES ? to - p : LANES);
}

typedef struct part {
    const plan *P;
    lanes L;
    size_t from, to;
} part;

static void *run_part(void *arg)
{
    part *p = arg;
    run_points(p->P, &p->L, p->from, p->to);
    return NULL;
}

/* ------------------------------------------------------------ planning */

/* How many inputs take a derivative (op_partials' count), per op. */
static inline __attribute__((always_inline)) void count_step(tg_op op, void *ctx)
{
    double da, db;
    *(int *)ctx = op_table[op].kind == OPK_ELEMENTWISE ? op_partials(op, 0.5, 0.5, 0.5, &da, &db) : 0;
}

/* Rows, instructions and flags for nodes [0, top].  The scratch arrays
 * become P's. */
static void make_plan(plan *P, const tg_node *x, uint32_t *xmap, uint32_t *rowof, uint8_t *mark, instr *ins,
                      uint32_t *xcol, uint32_t *colrow, double *cval, uint32_t *zero)
{
    const tg_graph *g = P->g;
    uint32_t top = P->top, nx = 0, nc = 0, ni = 0;
    for (uint32_t i = 0; i <= top; i++) {
        xmap[i] = UINT32_MAX;
        ni += op_table[g->op[i]].kind != OPK_LEAF;
    }
    for (size_t k = 0; k < P->n; k++)
        if (x[k].id <= top) xmap[x[k].id] = (uint32_t)k;  /* a variable listed twice: the last */
    for (size_t k = 0; k < P->n; k++) {
        uint32_t id = x[k].id;
        if (id <= top && xmap[id] == k) {
            rowof[id] = nx;
            xcol[nx++] = (uint32_t)k;
        }
    }
    for (size_t k = 0; k < P->n; k++) colrow[k] = x[k].id <= top ? rowof[x[k].id] : UINT32_MAX;

    /* Forward: rows, instructions, and which nodes depend on x. */
    uint32_t op_rows = 0;
    size_t crec = 0;
    for (uint32_t i = 0; i <= top; i++) {
        tg_op op = (tg_op)g->op[i];
        if (op_table[op].kind == OPK_LEAF) {
            mark[i] = xmap[i] != UINT32_MAX ? M_NEED : 0;
            if (!mark[i]) {
                rowof[i] = nx + ni + nc;
                cval[nc++] = g->val[i];
            }
            continue;
        }
        instr *in = &ins[op_rows];
        rowof[i] = nx + op_rows++;
        in->op = (uint8_t)op;
        in->flags = op_table[op].branch && tg__branch(g, i) ? IN_SIDE : 0;
        uint8_t need = 0;
        if (op == OP_CUSTOM) {
            while (g->crecs[crec].node != i) crec++;
            const custom_rec *r = &g->crecs[crec];
            in->a = (uint32_t)crec;
            in->b = 0;
            for (size_t k = 0; k < g->cdefs[r->def].op.arity; k++) need |= mark[g->cin[r->in + k]];
        } else {
            in->a = rowof[g->a[i]];
            in->b = rowof[g->b[i]];
            need = mark[g->a[i]] | mark[g->b[i]];
        }
        mark[i] = need & M_NEED;
    }

    /* Reverse: which nodes y depends on, and where each adjoint starts:
     * at its first flow in reverse order, or before the sweep when that
     * is a custom op's (or there is none). */
    P->reverse = mark[top] & M_NEED;
    mark[top] |= M_LIVE | M_SEEN;
    size_t nzero = 0;
    int flows[OP_COUNT];
    for (int op = 0; op < OP_COUNT; op++) op_dispatch((tg_op)op, count_step, &flows[op]);
    for (uint32_t i = top + 1, k = ni; i-- > 0;) {
        tg_op op = (tg_op)g->op[i];
        if (op_table[op].kind == OPK_LEAF) continue;
        instr *in = &ins[--k];
        if ((mark[i] & (M_NEED | M_LIVE)) != (M_NEED | M_LIVE)) continue;
        in->flags |= IN_ACTIVE;
        if (op == OP_CUSTOM) {
            const custom_rec *r = &g->crecs[in->a];
            for (size_t j = 0; j < g->cdefs[r->def].op.arity; j++) {
                uint32_t c = g->cin[r->in + j];
                if (!(mark[c] & M_NEED)) continue;
                if (!(mark[c] & M_SEEN)) zero[nzero++] = rowof[c];
                mark[c] |= M_LIVE | M_SEEN;
            }
            continue;
        }
        uint32_t a = g->a[i], b = g->b[i];
        if (flows[op] >= 1 && (mark[a] & M_NEED)) {
            in->flags |= IN_FLOW_A | (mark[a] & M_SEEN ? 0 : IN_INIT_A);
            mark[a] |= M_LIVE | M_SEEN;
        }
        if (flows[op] == 2 && (mark[b] & M_NEED)) {
            in->flags |= IN_FLOW_B | (mark[b] & M_SEEN ? 0 : IN_INIT_B);
            mark[b] |= M_LIVE | M_SEEN;
        }
    }
    for (uint32_t r = 0; r < nx; r++)  /* a variable y does not depend on: gradient 0 */
        if (!(mark[x[xcol[r]].id] & M_SEEN)) zero[nzero++] = r;
    P->top = rowof[top];
    P->ins = ins;
    P->ni = ni;
    P->nx = nx;
    P->nc = nc;
    P->rowof = rowof;
    P->mark = mark;
    P->xcol = xcol;
    P->colrow = colrow;
    P->cval = cval;
    P->zero = zero;
    P->nzero = nzero;
}

/* ------------------------------------------------------------ the call */

static tg_status batch_fail(tg_graph *g, tg_status s, const char *what, size_t k)
{
    return tg__fail(g, s, "tg_eval_batch: %s %zu", what, k);
}

/* Room for count items of size bytes at *at, 64-byte aligned; its offset. */
static size_t take(size_t *at, size_t count, size_t size)
{
    size_t off = (*at + 63) & ~(size_t)63;
    *at = off + count * size;
    return off;
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

    size_t nodes = (size_t)y.id + 1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t work = nodes * k / WORK_PER_THREAD, threads = k / MIN_POINTS;
    if (threads > work) threads = work;
    if (threads > (size_t)(cpus > 0 ? cpus : 1)) threads = (size_t)(cpus > 0 ? cpus : 1);
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads < 1) threads = 1;
    /* Per node at most: a plan of 3 words, 2 marks and an instruction, and
     * per thread 2 rows; per variable a word. */
    size_t per_node = 3 * sizeof(uint32_t) + 2 + sizeof(instr) + sizeof(double) + threads * 2 * LANES * sizeof(double);
    if (nodes > (SIZE_MAX / 2 - n * sizeof(uint32_t)) / per_node)
        return tg__fail(g, TG_ERR_ARG, "%s: a tape of %zu nodes is too long to batch", fn, nodes);

    /* Storage, all kept for the next call: the plan, then each thread's rows. */
    size_t at = 0;
    size_t o_xmap = take(&at, nodes, sizeof(uint32_t)), o_rowof = take(&at, nodes, sizeof(uint32_t));
    size_t o_mark = take(&at, nodes, 1), o_ins = take(&at, nodes, sizeof(instr));
    size_t o_xcol = take(&at, nodes, sizeof(uint32_t)), o_colrow = take(&at, n, sizeof(uint32_t));
    size_t o_cval = take(&at, nodes, sizeof(double)), o_zero = take(&at, nodes, sizeof(uint32_t));
    size_t o_rows[MAX_THREADS];
    for (size_t t = 0; t < threads; t++) o_rows[t] = take(&at, nodes * 2 * LANES, sizeof(double));
    size_t need = at + 64;
    if (need > g->bcap) {  /* kept for the next call: no page faults then */
        char *more = tg__realloc(g, g->bmem, need);
        if (!more) return tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for %zu lanes of %zu nodes", fn,
                                   threads * LANES, nodes);
        g->bmem = more;
        g->bcap = need;
    }
    char *mem = g->bmem + (-(uintptr_t)g->bmem & 63);

    plan P = { .g = g, .block = pick_block(), .top = y.id, .n = n, .xs = xs, .ys = ys, .grads = grads, .flipped = flipped };
    make_plan(&P, x, (uint32_t *)(mem + o_xmap), (uint32_t *)(mem + o_rowof), (uint8_t *)(mem + o_mark),
              (instr *)(mem + o_ins), (uint32_t *)(mem + o_xcol), (uint32_t *)(mem + o_colrow),
              (double *)(mem + o_cval), (uint32_t *)(mem + o_zero));

    part parts[MAX_THREADS];
    size_t blocks = (k + LANES - 1) / LANES;
    for (size_t t = 0; t < threads; t++) {
        double *base = (double *)(mem + o_rows[t]);
        parts[t].P = &P;
        parts[t].L.val = base;
        parts[t].L.adj = base + nodes * LANES;
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
