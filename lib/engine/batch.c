/* tg_eval_batch: the recorded scalar tape at many points at once.
 *
 * The tape up to y is first turned into a plan (kept for the next call on
 * the same tape, plan_key).  Each op node becomes an instruction (op, the
 * rows of its inputs, flags), so the sweeps read a short record per op
 * and never look at a leaf.  A row holds LANES doubles, a point per lane.
 * The values have a row per leaf of x (in the order of their columns in
 * xs), one per op in tape order (a long tape's share rows, SEG below),
 * and one per distinct value of the other leaves (the same at every
 * point, written once per call); the adjoints have rows of their own
 * (RING below).
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

/* The block's code is compiled for the baseline ISA and, on x86-64, for
 * AVX2 and AVX-512 too, picked at run time: a row of lanes is then a
 * vector or two.  A wider ISA changes no number only while a*b + c stays
 * two roundings, as in the baseline code of tg_backward: GCC in ISO C
 * mode (this project's -std=c11) contracts nothing, and clang nothing
 * after this pragma (before the headers: op_math.h's expressions too);
 * GCC in GNU C mode would, so there the baseline code only. */
#if defined(__x86_64__) && !defined(__FAST_MATH__) && (defined(__clang__) || defined(__STRICT_ANSI__))
#define WIDE_BLOCKS 1
#ifdef __clang__
#pragma clang fp contract(off)
#endif
#endif

#include "graph.h"

enum { LANES = 16 };
/* A thread costs tens of microseconds to start (and its stack's page
 * faults): only batches of at least WORK_PER_THREAD node-points get one
 * more, and a thread at least MIN_POINTS points. */
enum { MAX_THREADS = 8, MIN_POINTS = 32 };
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
    IN_SIDE = 32,   /* a branch op: the side of its kink recorded */
    IN_SHARED = 64  /* its value row is its segment's: recomputed (SEG below) */
};

/* Adjoints have rows of their own: those of x are its value rows; an
 * op's adjoint lives from its first flow (its last use, the sweep being
 * reverse) to its own step, mostly a short while, so it takes the row of
 * a ring of RING by its place (two ops RING apart never live at once);
 * one that lives longer, y's, and a custom op's input (zeroed before the
 * sweep) have rows of their own after the ring.  A block's adjoints thus
 * stay in cache. */
enum { RING = 512 };

/* A long tape's values would not stay in cache: its instructions are cut
 * into segments of SEG, and an op whose value is read only inside its own
 * segment has the row of its place in a segment, shared with the other
 * segments; the reverse sweep recomputes a segment's values before it
 * goes back through it (a second forward sweep, in cache).  Values read
 * across segments, y's, and a custom op's (not called twice) keep rows
 * of their own.  Taken when a block's values would pass SEG_BYTES. */
enum { SEG = 1024 };
#define SEG_BYTES ((size_t)4 << 20)

typedef struct instr {
    uint32_t a, b;    /* value rows of the inputs (a unary op: b == a); a custom
                         op: a is its record's index, its inputs are in the tape */
    uint32_t y;       /* its value row */
    uint32_t ga, gb;  /* adjoint rows of the inputs (where the adjoint flows) */
    uint32_t gy;      /* its own adjoint row (when active) */
    uint8_t op, flags;
} instr;

/* Marks of a node's place while planning (x leaves [0, nx), ops [nx, nx
 * + ni), then the other leaves); NEED stays for the custom ops' inputs. */
enum {
    M_NEED = 1,  /* a leaf of x, or an op that depends on one */
    M_LIVE = 2,  /* y depends on it */
    M_SEEN = 4,  /* a flow into its adjoint was met (in reverse order) */
    M_OWN = 8    /* an op read in a later segment, y, or a custom op: with
                    segments, its value keeps a row of its own */
};

/* One thread's rows: values and adjoints. */
typedef struct lanes {
    double *val, *adj;
    unsigned char flip[LANES];
} lanes;

/* What every block reads. */
typedef struct plan plan;
struct plan {
    const tg_graph *g;
    void (*block)(const plan *P, lanes *L, size_t first, size_t count);  /* this machine's code */
    const instr *ins;        /* ni of them */
    size_t ni, nx, nc;       /* ops, x leaves (rows [0, nx)), other leaves' values */
    bool seg;                /* segments (SEG) */
    bool custom;             /* a custom op up to y */
    size_t nleaves;          /* the other leaves up to y */
    size_t cbase;            /* the other leaves' first value row */
    /* a custom op's inputs: */
    const uint32_t *place;   /* node id -> place (value_row) */
    const uint32_t *grow;    /* place -> adjoint row */
    const uint8_t *mark;     /* place -> M_NEED when its adjoint is returned or flows on */
    const uint32_t *xcol;    /* x row -> column of xs */
    const uint32_t *colrow;  /* column of xs -> row, or UINT32_MAX (a variable after y) */
    const double *cval;      /* the other leaves' values */
    const uint32_t *zero;    /* adjoint rows zeroed before the reverse sweep (no op starts them) */
    size_t nzero;
    uint32_t top, gtop;      /* y's value row and adjoint row */
    bool reverse;            /* y depends on a variable of x */
    size_t n;                /* variables */
    const double *xs;
    double *ys, *grads;
    unsigned char *flipped;
};

/* ------------------------------------------------------------ the sweeps */

/* The step functions' state: the instruction and its value row. */
typedef struct step_ctx {
    const plan *P;
    const instr *in;
    size_t y;  /* its value row's first cell */
    lanes *L;
} step_ctx;

/* Dispatch instruction i's step. */
static inline __attribute__((always_inline)) void
run_step(step_ctx *c, size_t i, void (*step)(tg_op op, void *ctx))
{
    c->in = &c->P->ins[i];
    c->y = (size_t)c->in->y * LANES;
    op_dispatch((tg_op)c->in->op, step, c);
}

/* The value row of place p: the place itself, or with segments (SEG)
 * x's, the other leaves', then op j's, its segment's (shared) or its own
 * at SEG + j. */
static inline uint32_t value_row(const plan *P, uint32_t p, bool shared)
{
    uint32_t j = p - (uint32_t)P->nx;
    if (!P->seg || p < P->nx) return p;
    if (j >= P->ni) return (uint32_t)(P->nx + (j - P->ni));
    return (uint32_t)(P->nx + P->nc + (shared ? j % SEG : SEG + j));
}

/* The value row of a custom op's input k. */
static inline size_t custom_input(const plan *P, const custom_rec *r, size_t k)
{
    uint32_t p = P->place[P->g->cin[r->in + k]], j = p - (uint32_t)P->nx;
    return (size_t)value_row(P, p, j < P->ni && (P->ins[j].flags & IN_SHARED)) * LANES;
}

/* A custom op's values: its callback, lane by lane. */
static void custom_forward(const step_ctx *c)
{
    const tg_graph *g = c->P->g;
    const custom_rec *r = &g->crecs[c->in->a];
    const tg_custom_op *op = &g->cdefs[r->def].op;
    const double *val = c->L->val;
    double x[TG_CUSTOM_MAX_ARITY];
    for (int l = 0; l < LANES; l++) {
        for (size_t k = 0; k < op->arity; k++) x[k] = val[custom_input(c->P, r, k) + l];
        c->L->val[c->y + l] = op->value(op->ctx, x);
    }
}

/* The zero-adjoint rule.  tg_backward passes on the adjoint of every node
 * a flow from y reaches, IEEE 0 x inf included (a zero adjoint with
 * finite partials adds +-0, which changes no adjoint), and nothing from a
 * node off the path (sweep.c).  The reached nodes are the same at every
 * point: here they are the active instructions, whose flows are plain
 * sums in every lane.  As in tg_backward, an adjoint starts at +0.0 and
 * is only added to, so none is -0.0. */

/* The lanes' loops read their input rows in place and write local arrays
 * (so that the compiler sees no aliasing and vectorises them), copied to
 * their rows, or combined with them, in vectors of w doubles: w is the
 * widest that the block's target has (2, 4 or 8), a literal in each
 * block's code (the steps are compiled per width).  Wider vectors would
 * be split by the compiler, their comparisons into scalar code, and a
 * plain 64-byte memcpy into halves of a vector.  Every width does the
 * same IEEE operations, lane by lane. */
#define LANE_VECTORS(w)                                                                         \
    typedef double vrow##w __attribute__((vector_size(w * sizeof(double))));                   \
    typedef int64_t vbits##w __attribute__((vector_size(w * sizeof(double))));                 \
    _Static_assert(LANES % w == 0, "whole vectors of lanes");                                   \
    static inline __attribute__((always_inline)) void copy##w(double *dst, const double *src)   \
    {                                                                                           \
        for (int l = 0; l < LANES; l += w) {                                                    \
            vrow##w v;                                                                          \
            memcpy(&v, src + l, sizeof v);                                                      \
            memcpy(dst + l, &v, sizeof v);                                                      \
        }                                                                                       \
    }                                                                                           \
    /* row += gy d, the row 0 before when init */                                              \
    static inline __attribute__((always_inline)) void                                          \
    flow##w(double *row, const double *gy, const double *d, bool init)                         \
    {                                                                                           \
        for (int l = 0; l < LANES; l += w) {                                                    \
            vrow##w r = { 0 }, g, x;                                                            \
            if (!init) memcpy(&r, row + l, sizeof r);                                           \
            memcpy(&g, gy + l, sizeof g);                                                       \
            memcpy(&x, d + l, sizeof x);                                                        \
            vrow##w s = r + g * x;                                                              \
            memcpy(row + l, &s, sizeof s);                                                      \
        }                                                                                       \
    }
LANE_VECTORS(2)
LANE_VECTORS(4)
LANE_VECTORS(8)
#undef LANE_VECTORS

/* Under AVX-512, the x rows are filled and the gradient rows written by
 * squares of 8 x 8 doubles, transposed in registers (its shuffles; with
 * narrower vectors the compiler's code for this was slower than a double
 * at a time): r[i][j] to r[j][i]. */
#ifdef __clang__
#define SHUFFLE8(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE8(a, b, ...) __builtin_shuffle(a, b, (vbits8){ __VA_ARGS__ })
#endif

static inline __attribute__((always_inline)) void transpose8(vrow8 *r)
{
    vrow8 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = SHUFFLE8(r[i], r[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[i + 1] = SHUFFLE8(r[i], r[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int i = 0; i < 8; i += 4)
        for (int j = i; j < i + 2; j++) {
            u[j] = SHUFFLE8(t[j], t[j + 2], 0, 1, 8, 9, 4, 5, 12, 13);
            u[j + 2] = SHUFFLE8(t[j], t[j + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        }
    for (int j = 0; j < 4; j++) {
        r[j] = SHUFFLE8(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[j + 4] = SHUFFLE8(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}
#undef SHUFFLE8

/* Gradients of 8 columns side by side into the rows of the block's
 * points (count of them, n apart from out), from the x rows (r[i], or
 * UINT32_MAX: 0) of adjoints adj. */
static inline __attribute__((always_inline)) void
gradients8(double *out, size_t n, size_t count, const double *adj, const uint32_t *r)
{
    for (int l0 = 0; l0 < LANES; l0 += 8) {
        vrow8 v[8];
        for (int i = 0; i < 8; i++) {
            v[i] = (vrow8){ 0 };
            if (r[i] != UINT32_MAX) memcpy(&v[i], adj + (size_t)r[i] * LANES + l0, sizeof v[i]);
        }
        transpose8(v);
        for (int j = 0; j < 8 && (size_t)(l0 + j) < count; j++) memcpy(out + (size_t)(l0 + j) * n, &v[j], sizeof v[j]);
    }
}

/* 8 x rows of the block's points (src[l]: lane l's row of xs) from 8
 * columns side by side from column c. */
static inline __attribute__((always_inline)) void points8(double *val, const double *const *src, size_t c)
{
    for (int l0 = 0; l0 < LANES; l0 += 8) {
        vrow8 v[8];
        for (int j = 0; j < 8; j++) memcpy(&v[j], src[l0 + j] + c, sizeof v[j]);
        transpose8(v);
        for (int i = 0; i < 8; i++) memcpy(val + (size_t)i * LANES + l0, &v[i], sizeof v[i]);
    }
}

static inline __attribute__((always_inline)) void copy_row(double *dst, const double *src, int w)
{
    if (w == 8) copy8(dst, src);
    else if (w == 4) copy4(dst, src);
    else copy2(dst, src);
}

static inline __attribute__((always_inline)) void
flow(double *row, const double *gy, const double *d, bool init, int w)
{
    if (w == 8) flow8(row, gy, d, init);
    else if (w == 4) flow4(row, gy, d, init);
    else flow2(row, gy, d, init);
}

/* An instruction's values: op_value's in every lane; a branch op off its
 * recorded side takes the recorded branch's value (branch_value) and
 * flags its lane. */
static inline __attribute__((always_inline)) void forward_step(tg_op op, void *ctx, int w)
{
    step_ctx *c = ctx;
    if (op_table[op].kind == OPK_CUSTOM) {
        custom_forward(c);
        return;
    }
    if (op_table[op].kind != OPK_ELEMENTWISE) return;  /* leaves and tensors make no instruction */
    const instr *in = c->in;
    double *val = c->L->val, y[LANES];
    const double *a = val + (size_t)in->a * LANES, *b = val + (size_t)in->b * LANES;
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
    copy_row(val + c->y, y, w);
}

/* A custom op's reverse step: its partials callback, lane by lane. */
static void custom_backward(const step_ctx *c)
{
    const plan *P = c->P;
    const tg_graph *g = P->g;
    const custom_rec *r = &g->crecs[c->in->a];
    const tg_custom_op *op = &g->cdefs[r->def].op;
    const double *val = c->L->val;
    double *adj = c->L->adj;
    double x[TG_CUSTOM_MAX_ARITY], d[TG_CUSTOM_MAX_ARITY];
    size_t gy = (size_t)c->in->gy * LANES;
    for (int l = 0; l < LANES; l++) {
        double gi = adj[gy + l];
        for (size_t k = 0; k < op->arity; k++) {
            x[k] = val[custom_input(P, r, k) + l];
            d[k] = 0.0;
        }
        op->partials(op->ctx, x, val[c->y + l], d);
        for (size_t k = 0; k < op->arity; k++) {
            uint32_t in = P->place[g->cin[r->in + k]];
            if (!(P->mark[in] & M_NEED)) continue;
            adj[(size_t)P->grow[in] * LANES + l] += gi * d[k];
        }
    }
}

/* An instruction's reverse step: its adjoint times each local derivative
 * (the recorded branch's off its side) into its inputs' adjoints, in the
 * lanes that tg_backward would visit. */
static inline __attribute__((always_inline)) void backward_step(tg_op op, void *ctx, int w)
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
    const double *a = val + ra, *b = val + rb, *y = val + c->y;
    double da[LANES], db[LANES];
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
    const double *gy = adj + (size_t)in->gy * LANES;
    if (k >= 1 && (f & IN_FLOW_A)) flow(adj + (size_t)in->ga * LANES, gy, da, f & IN_INIT_A, w);
    if (k == 2 && (f & IN_FLOW_B)) flow(adj + (size_t)in->gb * LANES, gy, db, f & IN_INIT_B, w);
}

/* The steps for each width, to hand to op_dispatch. */
#define STEPS(w)                                                                            \
    static inline __attribute__((always_inline)) void forward_step##w(tg_op op, void *ctx)  \
    {                                                                                       \
        forward_step(op, ctx, w);                                                           \
    }                                                                                       \
    static inline __attribute__((always_inline)) void backward_step##w(tg_op op, void *ctx) \
    {                                                                                       \
        backward_step(op, ctx, w);                                                          \
    }
STEPS(2)
STEPS(4)
STEPS(8)
#undef STEPS

typedef void step_fn(tg_op op, void *ctx);

/* The block's values: its points' x into their rows, then every
 * instruction in tape order.  Lanes past count repeat the first point. */
static inline __attribute__((always_inline)) void
forward_sweep(const plan *P, lanes *L, size_t first, size_t count, step_fn *step, int w)
{
    memset(L->flip, 0, sizeof L->flip);
    const double *src[LANES];
    for (int l = 0; l < LANES; l++) src[l] = P->xs + (first + ((size_t)l < count ? (size_t)l : 0)) * P->n;
    for (size_t r = 0; r < P->nx;) {
        if (w == 8 && r + 8 <= P->nx && P->xcol[r + 7] == P->xcol[r] + 7) {  /* 8 columns side by side */
            points8(L->val + r * LANES, src, P->xcol[r]);
            r += 8;
            continue;
        }
        double v[LANES];
        for (int l = 0; l < LANES; l++) v[l] = src[l][P->xcol[r]];
        memcpy(L->val + r * LANES, v, sizeof v);
        r++;
    }
    step_ctx c = { P, NULL, 0, L };
    for (size_t i = 0; i < P->ni; i++) run_step(&c, i, step);
}

/* The block's adjoints: y's is 1, rows that no instruction starts are 0,
 * then the active instructions in reverse order, segment by segment with
 * segments: the last one's shared rows still hold its values, an earlier
 * one's are recomputed first (the same values: a branch flags the same
 * lanes). */
static inline __attribute__((always_inline)) void
backward_sweep(const plan *P, lanes *L, step_fn *forward, step_fn *backward)
{
    for (size_t z = 0; z < P->nzero; z++) memset(L->adj + (size_t)P->zero[z] * LANES, 0, LANES * sizeof *L->adj);
    for (int l = 0; l < LANES; l++) L->adj[(size_t)P->gtop * LANES + l] = 1.0;
    step_ctx c = { P, NULL, 0, L };
    for (size_t end = P->ni; end > 0;) {
        size_t start = P->seg ? (end - 1) / SEG * SEG : 0;
        if (end != P->ni)
            for (size_t i = start; i < end; i++)
                if (P->ins[i].flags & IN_SHARED) run_step(&c, i, forward);
        for (size_t i = end; i-- > start;)
            if (P->ins[i].flags & IN_ACTIVE) run_step(&c, i, backward);
        end = start;
    }
}

/* One block of points [first, first + count): values, adjoints, and
 * the block's outputs. */
static inline __attribute__((always_inline)) void
block(const plan *P, lanes *L, size_t first, size_t count, step_fn *forward, step_fn *backward, int w)
{
    forward_sweep(P, L, first, count, forward, w);
    bool reverse = P->grads && P->reverse;
    if (reverse) backward_sweep(P, L, forward, backward);
    for (size_t l = 0; l < count; l++) {
        P->ys[first + l] = L->val[(size_t)P->top * LANES + l];
        if (P->flipped) P->flipped[first + l] = L->flip[l];
    }
    if (!P->grads) return;
    size_t k = 0;
    for (; w == 8 && reverse && k + 8 <= P->n; k += 8)
        gradients8(P->grads + first * P->n + k, P->n, count, L->adj, P->colrow + k);
    for (; k < P->n; k++) {  /* the others, as gradients8 */
        uint32_t r = P->colrow[k];
        double out[LANES];
        for (int l = 0; l < LANES; l++) out[l] = reverse && r != UINT32_MAX ? L->adj[(size_t)r * LANES + l] : 0.0;
        for (size_t l = 0; l < count; l++) P->grads[(first + l) * P->n + k] = out[l];
    }
}

/* The blocks are compiled for the baseline ISA and, on x86-64, for AVX2
 * and AVX-512 too, picked at run time (WIDE_BLOCKS, at the top). */
typedef void block_fn(const plan *P, lanes *L, size_t first, size_t count);

static void block_base(const plan *P, lanes *L, size_t first, size_t count)
{
    block(P, L, first, count, forward_step2, backward_step2, 2);
}

#ifdef WIDE_BLOCKS
__attribute__((target("avx2"))) static void block_avx2(const plan *P, lanes *L, size_t first, size_t count)
{
    block(P, L, first, count, forward_step4, backward_step4, 4);
}

__attribute__((target("avx512f"))) static void block_avx512(const plan *P, lanes *L, size_t first,
                                                               size_t count)
{
    block(P, L, first, count, forward_step8, backward_step8, 8);
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
    for (size_t r = 0; r < P->nc; r++)  /* the other leaves' rows: the same at every point */
        for (int l = 0; l < LANES; l++) L->val[(P->cbase + r) * LANES + l] = P->cval[r];
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
static int flows_of[OP_COUNT];
static pthread_once_t flows_once = PTHREAD_ONCE_INIT;

static inline __attribute__((always_inline)) void count_step(tg_op op, void *ctx)
{
    double da, db;
    *(int *)ctx = op_table[op].kind == OPK_ELEMENTWISE ? op_partials(op, 0.5, 0.5, 0.5, &da, &db) : 0;
}

static void count_flows(void)
{
    for (int op = 0; op < OP_COUNT; op++) op_dispatch((tg_op)op, count_step, &flows_of[op]);
}

/* The plan's arrays while it is made: a slot per node (place), per place
 * (mark, grow, zero), per instruction, constant, x row, and
 * per variable (colrow). */
typedef struct plan_mem {
    uint32_t *place, *grow, *xcol, *colrow, *zero;
    uint32_t *leaves;  /* the other leaves' nodes, in order (plan_key) */
    uint8_t *mark;
    instr *ins;
    double *cval;
} plan_mem;

enum { CONST_WAYS = 64 };  /* distinct constants remembered while planning */

/* Rows, instructions and flags for nodes [0, P->top], of which P->ni are
 * ops, and variables x. */
static void make_plan(plan *P, const tg_node *x, const plan_mem *m)
{
    const tg_graph *g = P->g;
    uint32_t top = P->top, nx = 0, nc = 0, ni = (uint32_t)P->ni, *place = m->place;
    uint8_t *mark = m->mark;

    /* x rows in column order; a variable listed twice takes its last
     * column (found first from the end, its place assigned after). */
    memset(place, 0xff, ((size_t)top + 1) * sizeof *place);
    for (size_t k = P->n; k-- > 0;) {
        uint32_t id = x[k].id;
        if (id <= top && place[id] == UINT32_MAX) {
            place[id] = 0;
            m->colrow[nx++] = (uint32_t)k;  /* descending */
        }
    }
    for (uint32_t r = 0; r < nx; r++) {
        uint32_t k = m->colrow[nx - 1 - r];
        m->xcol[r] = k;
        place[x[k].id] = r;
        mark[r] = M_NEED;
    }
    for (size_t k = 0; k < P->n; k++) m->colrow[k] = x[k].id <= top ? place[x[k].id] : UINT32_MAX;

    /* Forward: the other leaves' places (equal bits, one place, as far as
     * CONST_WAYS remember), the instructions, which depend on x, and which
     * are read in a later segment. */
    uint64_t seen_bits[CONST_WAYS];
    uint32_t seen_row[CONST_WAYS];
    for (int w = 0; w < CONST_WAYS; w++) seen_row[w] = UINT32_MAX;
    size_t crec = 0;
    for (uint32_t i = 0, j = 0; i <= top; i++) {
        tg_op op = (tg_op)g->op[i];
        if (op_table[op].kind == OPK_LEAF) {
            if (place[i] != UINT32_MAX) continue;  /* of x */
            uint64_t bits;
            memcpy(&bits, &g->val[i], sizeof bits);
            m->leaves[P->nleaves++] = i;
            unsigned w = (unsigned)((bits * 0x9e3779b97f4a7c15u) >> 58) % CONST_WAYS;
            if (seen_row[w] == UINT32_MAX || seen_bits[w] != bits) {
                seen_bits[w] = bits;
                seen_row[w] = nx + ni + nc;
                mark[nx + ni + nc] = 0;
                m->cval[nc++] = g->val[i];
            }
            place[i] = seen_row[w];
            continue;
        }
        instr *in = &m->ins[j];
        uint32_t row = nx + j;
        place[i] = row;
        in->y = row;
        in->op = (uint8_t)op;
        in->flags = op_table[op].branch && tg__branch(g, i) ? IN_SIDE : 0;
        uint8_t need = 0;
        if (op == OP_CUSTOM) {
            P->custom = true;
            while (g->crecs[crec].node != i) crec++;
            const custom_rec *r = &g->crecs[crec];
            in->a = (uint32_t)crec;
            in->b = 0;
            for (size_t k = 0; k < g->cdefs[r->def].op.arity; k++) {
                uint32_t c = place[g->cin[r->in + k]];
                need |= mark[c];
                if (c - nx < ni && (c - nx) / SEG != j / SEG) mark[c] |= M_OWN;
            }
        } else {
            in->a = place[g->a[i]];
            in->b = place[g->b[i]];
            need = mark[in->a] | mark[in->b];
            if (in->a - nx < ni && (in->a - nx) / SEG != j / SEG) mark[in->a] |= M_OWN;
            if (in->b - nx < ni && (in->b - nx) / SEG != j / SEG) mark[in->b] |= M_OWN;
        }
        mark[row] = (need & M_NEED) | (op == OP_CUSTOM ? M_OWN : 0);
        j++;
    }

    /* With segments, the value rows are x's, the other leaves', a
     * segment's, then op j's own at SEG + j (value_row). */
    uint32_t ytop = place[top];
    P->nx = nx;
    P->nc = nc;
    P->seg = (size_t)(nx + ni + nc) * LANES * sizeof(double) > SEG_BYTES && ni > SEG;
    P->cbase = P->seg ? nx : nx + ni;
    P->top = value_row(P, ytop, false);
    mark[ytop] |= M_OWN;

    /* Reverse: the value rows; which places y depends on, where each
     * adjoint starts (at its first flow in reverse order, or before the
     * sweep when that is a custom op's or there is none), and its row. */
    pthread_once(&flows_once, count_flows);
    uint32_t *grow = m->grow, nadj = nx + (ni < RING ? ni : RING);
    for (uint32_t r = 0; r < nx; r++) grow[r] = r;
    if (ytop >= nx) grow[ytop] = nadj++;
    P->reverse = mark[ytop] & M_NEED;
    mark[ytop] |= M_LIVE | M_SEEN;
    size_t nzero = 0;
    for (uint32_t j = ni; j-- > 0;) {
        instr *in = &m->ins[j];
        uint32_t pa = in->a, pb = in->b;  /* places (not a custom op's) */
        if (P->seg) {
            bool shared = !(mark[nx + j] & M_OWN);
            in->flags |= shared ? IN_SHARED : 0;
            in->y = value_row(P, nx + j, shared);
            if (in->op != OP_CUSTOM) {
                in->a = value_row(P, pa, !(mark[pa] & M_OWN));
                in->b = value_row(P, pb, !(mark[pb] & M_OWN));
            }
        }
        if ((mark[nx + j] & (M_NEED | M_LIVE)) != (M_NEED | M_LIVE)) continue;
        in->flags |= IN_ACTIVE;
        in->gy = grow[nx + j];
        if (in->op == OP_CUSTOM) {
            const custom_rec *r = &g->crecs[in->a];
            for (size_t k = 0; k < g->cdefs[r->def].op.arity; k++) {
                uint32_t c = place[g->cin[r->in + k]];
                if (!(mark[c] & M_NEED)) continue;
                if (!(mark[c] & M_SEEN)) {
                    if (c >= nx) grow[c] = nadj++;
                    m->zero[nzero++] = grow[c];
                }
                mark[c] |= M_LIVE | M_SEEN;
            }
            continue;
        }
        int flows = flows_of[in->op];
        for (int k = 0; k < flows; k++) {
            uint32_t c = k ? pb : pa;
            if (!(mark[c] & M_NEED)) continue;
            if (!(mark[c] & M_SEEN)) {
                in->flags |= k ? IN_INIT_B : IN_INIT_A;
                if (c >= nx) grow[c] = j - (c - nx) < RING ? nx + (c - nx) % RING : nadj++;
            }
            in->flags |= k ? IN_FLOW_B : IN_FLOW_A;
            *(k ? &in->gb : &in->ga) = grow[c];
            mark[c] |= M_LIVE | M_SEEN;
        }
    }
    for (uint32_t r = 0; r < nx; r++)  /* a variable y does not depend on: gradient 0 */
        if (!(mark[r] & M_SEEN)) m->zero[nzero++] = r;
    P->gtop = grow[ytop];
    P->nzero = nzero;
}

/* The plan's arrays, at m. */
static void plan_at(plan *P, const plan_mem *m)
{
    P->ins = m->ins;
    P->place = m->place;
    P->grow = m->grow;
    P->mark = m->mark;
    P->xcol = m->xcol;
    P->colrow = m->colrow;
    P->cval = m->cval;
    P->zero = m->zero;
}

/* ------------------------------------------------------------ the call */

static tg_status batch_fail(tg_graph *g, tg_status s, const char *what, size_t k)
{
    return tg__fail(g, s, "tg_eval_batch: %s %zu", what, k);
}

/* The plan is kept in g->bmem with what it was made from: the nodes up
 * to y (op codes, inputs, recorded sides) and x, and the values of the
 * other leaves are checked against the plan's.  A call that finds them
 * all the same (a batch after a batch on the same tape) reuses it.  Not
 * with custom ops: their records are not kept. */
typedef struct plan_key {
    bool valid;
    size_t nodes, n;
    plan P;  /* its counts and rows; the pointers are set per call */
} plan_key;

/* Where the key, the tape it was made from, the plan's arrays and each
 * thread's rows are in g->bmem: offsets (from g->bmem, which may move). */
typedef struct batch_layout {
    size_t op, a, b, branch, xid;
    size_t place, grow, mark, ins, xcol, colrow, cval, zero, leaves, rows, end;
} batch_layout;

static size_t take(size_t *at, size_t count, size_t size)
{
    size_t off = (*at + 63) & ~(size_t)63;
    *at = off + count * size;
    return off;
}

static batch_layout layout(size_t nodes, size_t n, size_t threads, size_t per_thread)
{
    batch_layout o;
    size_t at = sizeof(plan_key);
    o.op = take(&at, nodes, 1);
    o.a = take(&at, nodes, sizeof(uint32_t));
    o.b = take(&at, nodes, sizeof(uint32_t));
    o.branch = take(&at, nodes / 64 + 1, sizeof(uint64_t));
    o.xid = take(&at, n, sizeof(uint32_t));
    o.place = take(&at, nodes, sizeof(uint32_t));
    o.grow = take(&at, nodes, sizeof(uint32_t));
    o.mark = take(&at, nodes, 1);
    o.ins = take(&at, nodes, sizeof(instr));
    o.xcol = take(&at, nodes, sizeof(uint32_t));
    o.colrow = take(&at, n, sizeof(uint32_t));
    o.cval = take(&at, nodes, sizeof(double));
    o.zero = take(&at, nodes, sizeof(uint32_t));
    o.leaves = take(&at, nodes, sizeof(uint32_t));
    o.rows = take(&at, threads * per_thread + LANES, sizeof(double));  /* a row more: aligned in it */
    o.end = at;
    return o;
}

static plan_mem plan_mem_at(char *base, const batch_layout *o)
{
    return (plan_mem){ (uint32_t *)(base + o->place), (uint32_t *)(base + o->grow),
                       (uint32_t *)(base + o->xcol), (uint32_t *)(base + o->colrow),
                       (uint32_t *)(base + o->zero), (uint32_t *)(base + o->leaves), (uint8_t *)(base + o->mark),
                       (instr *)(base + o->ins), (double *)(base + o->cval) };
}

/* The tape up to y (nodes of them) and x, as a plan would be made from. */
static void keep_tape(const tg_graph *g, size_t nodes, size_t n, const tg_node *x, char *base, const batch_layout *o)
{
    memcpy(base + o->op, g->op, nodes);
    memcpy(base + o->a, g->a, nodes * sizeof(uint32_t));
    memcpy(base + o->b, g->b, nodes * sizeof(uint32_t));
    memcpy(base + o->branch, g->branch, (nodes + 63) / 64 * sizeof(uint64_t));
    uint32_t *xid = (uint32_t *)(base + o->xid);
    for (size_t k = 0; k < n; k++) xid[k] = x[k].id;
}

/* Whether the kept plan was made from this tape, x and other leaves. */
static bool same_tape(const tg_graph *g, size_t nodes, size_t n, const tg_node *x, char *base, const batch_layout *o)
{
    const plan_key *key = (const plan_key *)base;
    if (!key->valid || key->nodes != nodes || key->n != n) return false;
    const uint32_t *xid = (const uint32_t *)(base + o->xid);
    for (size_t k = 0; k < n; k++)
        if (xid[k] != x[k].id) return false;
    size_t words = (nodes - 1) / 64;  /* the last one holds nodes past y too */
    const uint64_t *branch = (const uint64_t *)(base + o->branch);
    uint64_t tail = ~0ull >> (63 - (nodes - 1) % 64);
    if (memcmp(base + o->op, g->op, nodes) || memcmp(base + o->a, g->a, nodes * sizeof(uint32_t)) ||
        memcmp(base + o->b, g->b, nodes * sizeof(uint32_t)) || memcmp(branch, g->branch, words * sizeof(uint64_t)) ||
        ((branch[words] ^ g->branch[words]) & tail))
        return false;
    const uint32_t *leaves = (const uint32_t *)(base + o->leaves), *place = (const uint32_t *)(base + o->place);
    const double *cval = (const double *)(base + o->cval);
    size_t first = key->P.nx + key->P.ni;
    for (size_t i = 0; i < key->P.nleaves; i++)
        if (memcmp(&g->val[leaves[i]], &cval[place[leaves[i]] - first], sizeof(double))) return false;
    return true;
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
    if (k == 0) return TG_OK;

    size_t nodes = (size_t)y.id + 1;
    size_t work = nodes * k / WORK_PER_THREAD, threads = k / MIN_POINTS;
    if (threads > work) threads = work;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > 1) {  /* (the count of processors is a file read) */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (threads > (size_t)(cpus > 0 ? cpus : 1)) threads = (size_t)(cpus > 0 ? cpus : 1);
    }
    if (threads < 1) threads = 1;
    /* Per node at most: the kept tape and the plan (words, bytes, an
     * instruction, a constant), and per thread 3 rows (values, adjoints,
     * the segments' and the ring's rows); per variable 2 words. */
    size_t per_node = 7 * sizeof(uint32_t) + 3 + sizeof(instr) + sizeof(double) + threads * 3 * LANES * sizeof(double);
    if (nodes + SEG + RING > (SIZE_MAX / 2 - n * 2 * sizeof(uint32_t)) / per_node)
        return tg__fail(g, TG_ERR_ARG, "%s: a tape of %zu nodes is too long to batch", fn, nodes);

    /* Storage, all kept for the next call (no page faults then): the plan
     * (plan_key), then each thread's values and adjoints, a row apart from
     * a multiple of 4 KiB (a load of one would wait on a store to the
     * other).  The plan of the last call is reused if it was made from
     * this tape. */
    size_t per_thread = (2 * nodes + SEG + RING + 1) * LANES;  /* doubles: values, a gap, adjoints */
    batch_layout o = layout(nodes, n, threads, per_thread);
    bool kept = g->bmem && same_tape(g, nodes, n, x, g->bmem, &o);
    size_t ni = 0;  /* ops */
    if (!kept)
        for (uint32_t i = 0; i <= y.id; i++) {
            if (g->op[i] & TENSOR_CODE)
                return batch_fail(g, TG_ERR_SHAPE,
                                  "y depends on a tensor node: the batch evaluates scalar tapes; node", i);
            ni += op_table[g->op[i]].kind != OPK_LEAF;
        }
    if (o.end > g->bcap) {
        char *more = tg__realloc(g, g->bmem, o.end);
        if (!more) return tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for %zu lanes of %zu nodes", fn,
                                   threads * LANES, nodes);
        if (!g->bmem) ((plan_key *)more)->valid = false;
        g->bmem = more;
        g->bcap = o.end;
    }
    plan_key *key = (plan_key *)g->bmem;
    plan_mem pm = plan_mem_at(g->bmem, &o);
    if (!kept) {
        key->valid = false;
        key->P = (plan){ .g = g, .ni = ni, .top = y.id, .n = n };
        make_plan(&key->P, x, &pm);
        keep_tape(g, nodes, n, x, g->bmem, &o);
        key->nodes = nodes;
        key->n = n;
        key->valid = !key->P.custom;
    }
    plan P = key->P;
    plan_at(&P, &pm);
    P.g = g;
    P.block = pick_block();
    P.xs = xs;
    P.ys = ys;
    P.grads = grads;
    P.flipped = flipped;
    char *rowmem = g->bmem + o.rows;
    double *rows = (double *)(rowmem + (-(uintptr_t)rowmem & 63));

    part parts[MAX_THREADS];
    size_t blocks = (k + LANES - 1) / LANES;
    for (size_t t = 0; t < threads; t++) {
        double *base = rows + t * per_thread;
        parts[t].P = &P;
        parts[t].L.val = base;
        parts[t].L.adj = base + (nodes + SEG + 1) * LANES;
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
