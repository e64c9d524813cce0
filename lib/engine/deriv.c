/* Forward mode, seeded reverse mode and second order on the recorded tape:
 * tg_jvp, tg_vjp, tg_jacobian, tg_hvp, tg_hessian.
 *
 * All of them sweep the tape at its current values with the local partials
 * the reverse sweep uses (op_partials), so there is one derivative per op:
 *   - tangent sweep, in recording order:  t_i = da t_a + db t_b;
 *   - seeded reverse sweep: tg_backward's own loop (tg__sweep), run on
 *     adjoint arrays of this file swapped in for the graph's, so that the
 *     gradients a tg_backward left are kept;
 *   - second order, forward over reverse: after a tangent sweep along v, a
 *     reverse sweep that carries each adjoint g_i and its tangent h_i:
 *         g_a += g_i da
 *         h_a += h_i da + g_i (d2y/da2 t_a + d2y/dadb t_b)
 *     (op_second), so h at the variables is H v.
 * A zero tangent or adjoint adds nothing, also where a partial is infinite
 * (sqrt at 0), as in the reverse sweep: 0 x inf would be NaN.
 */
#include <string.h>

#include "graph.h"

/* ------------------------------------------------------------ workspace */

void tg__deriv_free(tg_graph *g)
{
    tg__free(g, g->dtan);
    tg__free(g, g->dadj);
    tg__free(g, g->dtadj);
    tg__free(g, g->dtouched);
    tg__free(g, g->ttan);
    tg__free(g, g->tadj);
    tg__free(g, g->ttadj);
    tg__free(g, g->dseed);
    tg__free(g, g->bmem);
}

/* Grow one array to n doubles (or words); the old contents need not stay. */
static int grow_array(tg_graph *g, void **p, size_t n, size_t elem)
{
    void *q = tg__realloc(g, *p, n * elem);
    if (!q) return -1;
    *p = q;
    return 0;
}

/* The workspace for the whole tape as it is: all or nothing. */
static tg_status workspace(tg_graph *g, const char *fn)
{
    size_t n = g->n, words = n / 64 + 1, t = g->ttop ? g->ttop : 1;
    if (n > g->dcap) {
        /* each array grows on its own; dcap moves once all four have */
        if (grow_array(g, (void **)&g->dtan, n, sizeof(double)) ||
            grow_array(g, (void **)&g->dadj, n, sizeof(double)) ||
            grow_array(g, (void **)&g->dtadj, n, sizeof(double)) ||
            grow_array(g, (void **)&g->dtouched, words, sizeof(uint64_t)))
            return tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for the derivatives of %zu nodes",
                            fn, n);
        g->dcap = n;
    }
    if (t > g->tdcap) {
        if (grow_array(g, (void **)&g->ttan, t, sizeof(double)) ||
            grow_array(g, (void **)&g->tadj, t, sizeof(double)) ||
            grow_array(g, (void **)&g->ttadj, t, sizeof(double)))
            return tg__fail(g, TG_ERR_NOMEM,
                            "%s: out of memory for the derivatives of %zu tensor elements", fn, t);
        g->tdcap = t;
    }
    return TG_OK;
}

/* Swap the seeded sweep's adjoints in for the graph's (and back): the
 * kernels and tg__sweep then work on them unchanged. */
static void swap_adjoints(tg_graph *g)
{
    double *p = g->grad;
    g->grad = g->dadj;
    g->dadj = p;
    p = g->tgrad;
    g->tgrad = g->tadj;
    g->tadj = p;
    uint64_t *w = g->touched;
    g->touched = g->dtouched;
    g->dtouched = w;
}

static inline void touch(uint64_t *touched, uint32_t k)
{
    touched[k >> 6] |= 1ull << (k & 63);
}

/* ------------------------------------------------------------ entry lists */

/* The entries of node id: 1 for a scalar, rows*cols for a tensor. */
static size_t entries(const tg_graph *g, uint32_t id)
{
    if (!tg__is_tensor(g, id)) return 1;
    const tensor_rec *r = tg__trec(g, id);
    return (size_t)r->rows * r->cols;
}

/* A slot of node id's entries in one of the two storages. */
static double *slot(const tg_graph *g, uint32_t id, double *scalars, double *tensors)
{
    return tg__is_tensor(g, id) ? tensors + tg__trec(g, id)->off : scalars + id;
}

/* Check a handle list for fn: live nodes, variables when vars; the number
 * of entries in *count.  Records the error and returns it. */
static tg_status check_list(tg_graph *g, const char *fn, char name, size_t k, const tg_node *h,
                            bool vars, size_t *count)
{
    char arg[32], d[96];
    size_t total = 0;
    for (size_t i = 0; i < k; i++) {
        int c = 1;
        if (!tg__live(g, h[i])) {  /* the argument's name only for the message */
            snprintf(arg, sizeof arg, "%c[%zu]", name, i);
            c = tg__check(g, fn, arg, h[i]);
        }
        if (c == 0) return tg__fail(g, TG_ERR_HANDLE, "%s: %s is the empty handle", fn, arg);
        if (c < 0) return tg__classify(g, h[i]);
        if (vars && tg__op(g, h[i].id) != OP_VAR)
            return tg__fail(g, TG_ERR_ARG, "%s: %c[%zu] is %s, not a variable", fn, name, i,
                            tg__describe(g, h[i].id, d, sizeof d));
        size_t e = entries(g, h[i].id);
        if (total > SIZE_MAX - e)
            return tg__fail(g, TG_ERR_ARG, "%s: the entries of %c overflow", fn, name);
        total += e;
    }
    *count = total;
    return TG_OK;
}

/* The checks every call starts with, and the workspace: x variables of N
 * entries, y nodes of M entries, values up to date. */
typedef struct call {
    tg_graph *g;
    const char *fn;
    size_t n, m, N, M;
    const tg_node *x, *y;
    uint32_t lo, hi;  /* the lowest x, the highest y */
} call;

/* Forward mode and second order run on float64 tensors only: a float32
 * tensor among the nodes up to the last x or y is TG_ERR_ARG, before
 * anything is computed. */
static tg_status no_float32(call *c)
{
    tg_graph *g = c->g;
    uint32_t top = c->hi;
    for (size_t i = 0; i < c->n; i++) top = c->x[i].id > top ? c->x[i].id : top;
    for (size_t t = 0; t < g->ntens && g->tens[t].node <= top; t++) {
        if (g->tens[t].dtype != TG_F32) continue;
        char d[96];
        return tg__fail(g, TG_ERR_ARG, "%s: %s is float32; forward mode and second order take "
                        "float64 tensors only", c->fn, tg__describe(g, g->tens[t].node, d, sizeof d));
    }
    return TG_OK;
}

static tg_status begin(call *c)
{
    tg_graph *g = c->g;
    const char *fn = c->fn;
    if (c->n && !c->x) return tg__fail(g, TG_ERR_ARG, "%s: x is NULL", fn);
    if (c->m && !c->y) return tg__fail(g, TG_ERR_ARG, "%s: y is NULL", fn);
    tg_status s = check_list(g, fn, 'x', c->n, c->x, true, &c->N);
    if (s == TG_OK) s = check_list(g, fn, 'y', c->m, c->y, false, &c->M);
    if (s != TG_OK) return s;
    c->lo = UINT32_MAX;
    c->hi = 0;
    for (size_t i = 0; i < c->n; i++) c->lo = c->x[i].id < c->lo ? c->x[i].id : c->lo;
    for (size_t i = 0; i < c->m; i++) c->hi = c->y[i].id > c->hi ? c->y[i].id : c->hi;
    return no_float32(c);
}

/* After the argument checks: values up to date, no flipped branch, room. */
static tg_status ready(call *c)
{
    tg_graph *g = c->g;
    char d[96];
    tg_status s = tg__refresh(g, c->fn);
    if (s != TG_OK) return s;
    if (g->stale_at)
        return tg__fail(g, TG_ERR_STALE, "%s: the last replay flipped the branch of %s; re-record the tape",
                        c->fn, tg__describe(g, (uint32_t)(g->stale_at - 1), d, sizeof d));
    return workspace(g, c->fn);
}

/* ------------------------------------------------------------ the tangent sweep */

typedef struct tan_ctx {
    tg_graph *g;
    uint32_t i;
} tan_ctx;

/* Node c->i's tangent, compiled per op.  A leaf keeps its seed. */
static inline __attribute__((always_inline)) void tan_step(tg_op op, void *ctx)
{
    tan_ctx *c = ctx;
    tg_graph *g = c->g;
    uint32_t i = c->i;
    if (op_table[op].kind == OPK_LEAF) return;
    if (op_table[op].kind == OPK_CUSTOM) {
        tg__custom_tangent(g, i);
        return;
    }
    uint32_t a = g->a[i], b = g->b[i];
    double ta = g->dtan[a], tb = g->dtan[b], da, db;
    if (ta == 0 && tb == 0) {
        g->dtan[i] = 0.0;
        return;
    }
    int k = op_partials(op, g->val[a], g->val[b], g->val[i], &da, &db);
    double t = ta != 0 ? da * ta : 0.0;
    if (k == 2 && tb != 0) t += db * tb;
    g->dtan[i] = t;
}

/* Tangents of every node up to hi along v (N entries over the n handles
 * of x): zero, seed, sweep from the first variable on. */
static void tangents(call *c, const double *v)
{
    tg_graph *g = c->g;
    memset(g->dtan, 0, g->n * sizeof *g->dtan);
    if (g->ttop) memset(g->ttan, 0, g->ttop * sizeof *g->ttan);
    size_t at = 0;
    for (size_t k = 0; k < c->n; k++) {
        uint32_t id = c->x[k].id;
        size_t e = entries(g, id);
        double *t = slot(g, id, g->dtan, g->ttan);
        for (size_t j = 0; j < e; j++) t[j] += v[at + j];
        at += e;
    }
    tan_ctx tc = { g, 0 };
    uint32_t hi = c->hi > c->lo ? c->hi : c->lo;
    for (uint32_t i = c->lo; c->n && i <= hi && i < g->n; i++) {
        uint8_t code = g->op[i];
        if (code & TENSOR_CODE) {
            if (op_table[code & OP_MASK].kind != OPK_LEAF) tg__tensor_tangent(g, i);
        } else {
            tc.i = i;
            op_dispatch((tg_op)code, tan_step, &tc);
        }
    }
}

/* The tangents of y's entries into out (M). */
static void read_tangents(const call *c, double *out)
{
    size_t at = 0;
    for (size_t k = 0; k < c->m; k++) {
        uint32_t id = c->y[k].id;
        size_t e = entries(c->g, id);
        memcpy(out + at, slot(c->g, id, c->g->dtan, c->g->ttan), e * sizeof *out);
        at += e;
    }
}

/* ------------------------------------------------------------ the seeded reverse sweep */

/* With the workspace's adjoints swapped in: zero them, seed y's
 * with w (M; NULL seeds the single output with 1). */
static void seed_adjoints(call *c, const double *w)
{
    tg_graph *g = c->g;
    memset(g->grad, 0, g->n * sizeof *g->grad);
    if (g->ttop) memset(g->tgrad, 0, g->ttop * sizeof *g->tgrad);
    memset(g->touched, 0, (g->n / 64 + 1) * sizeof *g->touched);
    size_t at = 0;
    for (size_t k = 0; k < c->m; k++) {
        uint32_t id = c->y[k].id;
        size_t e = entries(g, id);
        double *s = slot(g, id, g->grad, g->tgrad);
        for (size_t j = 0; j < e; j++) s[j] += w ? w[at + j] : 1.0;
        touch(g->touched, id);
        at += e;
    }
}

/* The adjoints of x's entries into out (N), from the swapped-in arrays. */
static void read_adjoints(const call *c, const double *scalars, const double *tensors, double *out)
{
    size_t at = 0;
    for (size_t k = 0; k < c->n; k++) {
        uint32_t id = c->x[k].id;
        size_t e = entries(c->g, id);
        const double *s = tg__is_tensor(c->g, id) ? tensors + tg__trec(c->g, id)->off : scalars + id;
        memcpy(out + at, s, e * sizeof *out);
        at += e;
    }
}

/* One seeded reverse sweep: w^T J into out (N). */
static void reverse(call *c, const double *w, double *out)
{
    tg_graph *g = c->g;
    swap_adjoints(g);
    seed_adjoints(c, w);
    if (c->m) tg__sweep(g, c->hi);
    read_adjoints(c, g->grad, g->tgrad, out);
    swap_adjoints(g);
}

/* ------------------------------------------------------------ second order */

typedef struct back2_ctx {
    tg_graph *g;
    uint32_t i;
} back2_ctx;

/* One input's adjoint and its tangent: g_a += g_i da, h_a += h_i da +
 * g_i (haa t_a + hab t_b). */
static inline __attribute__((always_inline)) void
flow2(tg_graph *g, uint32_t a, double gi, double hi, double da, double haa, double ta,
      double hab, double tb)
{
    double h = hi != 0 ? hi * da : 0.0;
    if (gi != 0) {
        if (ta != 0) h += gi * haa * ta;
        if (tb != 0) h += gi * hab * tb;
        g->grad[a] += gi * da;
    }
    g->dtadj[a] += h;
    if (g->grad[a] == 0.0 && g->dtadj[a] == 0.0) touch(g->touched, a);
}

static inline __attribute__((always_inline)) void back2_step(tg_op op, void *ctx)
{
    back2_ctx *c = ctx;
    tg_graph *g = c->g;
    uint32_t i = c->i;
    if (op_table[op].kind == OPK_LEAF) return;
    if (op_table[op].kind == OPK_CUSTOM) {
        tg__custom_backward2(g, i);  /* missing_second() ran first: it has them where needed */
        return;
    }
    uint32_t a = g->a[i], b = g->b[i];
    double va = g->val[a], vb = g->val[b], y = g->val[i];
    double da, db, haa, hab, hbb;
    int k = op_partials(op, va, vb, y, &da, &db);
    op_second(op, va, vb, y, da, db, &haa, &hab, &hbb);
    double gi = g->grad[i], hi = g->dtadj[i], ta = g->dtan[a], tb = g->dtan[b];
    if (k == 1) {
        flow2(g, a, gi, hi, da, haa, ta, 0.0, 0.0);
    } else if (k == 2) {
        flow2(g, a, gi, hi, da, haa, ta, hab, tb);
        flow2(g, b, gi, hi, db, hab, ta, hbb, tb);
    }
}

/* After tangents(): the reverse sweep with tangents from y (seed 1), H v
 * into out (N). */
static void reverse2(call *c, double *out)
{
    tg_graph *g = c->g;
    swap_adjoints(g);
    seed_adjoints(c, NULL);
    memset(g->dtadj, 0, g->n * sizeof *g->dtadj);
    if (g->ttop) memset(g->ttadj, 0, g->ttop * sizeof *g->ttadj);
    back2_ctx bc = { g, 0 };
    for (uint32_t i = c->hi + 1; i-- > 0;) {
        uint8_t code = g->op[i];
        bool tensor = code & TENSOR_CODE;
        /* a reduction's adjoint is a scalar's; a tensor's is only touched */
        if (g->grad[i] == 0 && g->dtadj[i] == 0 && !(g->touched[i >> 6] >> (i & 63) & 1)) continue;
        if (tensor) {
            if (op_table[code & OP_MASK].kind == OPK_LEAF) continue;
            tg__tensor_backward2(g, i);
            touch(g->touched, g->a[i]);
            touch(g->touched, g->b[i]);
        } else {
            bc.i = i;
            op_dispatch((tg_op)code, back2_step, &bc);
        }
    }
    read_adjoints(c, g->dtadj, g->ttadj, out);
    swap_adjoints(g);
}

/* ------------------------------------------------------------ the calls */

tg_status tg_jvp(tg_graph *g, size_t n, const tg_node *x, const double *v, size_t m,
                 const tg_node *y, double *jv)
{
    if (!g) return TG_ERR_ARG;
    call c = { g, "tg_jvp", n, m, 0, 0, x, y, 0, 0 };
    tg_status s = begin(&c);
    if (s != TG_OK) return s;
    if (c.N && !v) return tg__fail(g, TG_ERR_ARG, "tg_jvp: v is NULL");
    if (c.M && !jv) return tg__fail(g, TG_ERR_ARG, "tg_jvp: jv is NULL");
    if ((s = ready(&c)) != TG_OK) return s;
    tangents(&c, v);
    read_tangents(&c, jv);
    return TG_OK;
}

tg_status tg_vjp(tg_graph *g, size_t m, const tg_node *y, const double *w, size_t n,
                 const tg_node *x, double *wj)
{
    if (!g) return TG_ERR_ARG;
    call c = { g, "tg_vjp", n, m, 0, 0, x, y, 0, 0 };
    tg_status s = begin(&c);
    if (s != TG_OK) return s;
    if (c.M && !w) return tg__fail(g, TG_ERR_ARG, "tg_vjp: w is NULL");
    if (c.N && !wj) return tg__fail(g, TG_ERR_ARG, "tg_vjp: wj is NULL");
    if ((s = ready(&c)) != TG_OK) return s;
    reverse(&c, w, wj);
    return TG_OK;
}

/* M x N for fn, or TG_ERR_ARG when it overflows. */
static tg_status product(tg_graph *g, const char *fn, size_t a, size_t b, size_t *ab)
{
    if (b && a > SIZE_MAX / sizeof(double) / b)
        return tg__fail(g, TG_ERR_ARG, "%s: %zu x %zu entries overflow", fn, a, b);
    *ab = a * b;
    return TG_OK;
}

/* Room for k numbers of scratch (unit seeds, one column), kept. */
static tg_status scratch(call *c, size_t k)
{
    tg_graph *g = c->g;
    if (k <= g->dscap) return TG_OK;
    if (grow_array(g, (void **)&g->dseed, k, sizeof(double)))
        return tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for %zu seeds", c->fn, k);
    g->dscap = k;
    return TG_OK;
}

tg_status tg_jacobian(tg_graph *g, size_t m, const tg_node *y, size_t n, const tg_node *x,
                      double *jac)
{
    if (!g) return TG_ERR_ARG;
    call c = { g, "tg_jacobian", n, m, 0, 0, x, y, 0, 0 };
    tg_status s = begin(&c);
    size_t size = 0;
    if (s != TG_OK || (s = product(g, c.fn, c.M, c.N, &size)) != TG_OK) return s;
    if (size && !jac) return tg__fail(g, TG_ERR_ARG, "tg_jacobian: jac is NULL");
    if ((s = ready(&c)) != TG_OK) return s;
    if (size == 0) return TG_OK;
    if ((s = scratch(&c, c.M + c.N)) != TG_OK) return s;
    double *seed = g->dseed;
    if (c.M <= c.N) {  /* M reverse sweeps: row i = e_i^T J */
        memset(seed, 0, c.M * sizeof *seed);
        for (size_t i = 0; i < c.M; i++) {
            seed[i] = 1.0;
            reverse(&c, seed, jac + i * c.N);
            seed[i] = 0.0;
        }
    } else {           /* N tangent sweeps: column j = J e_j */
        double *col = seed + c.N;
        memset(seed, 0, c.N * sizeof *seed);
        for (size_t j = 0; j < c.N; j++) {
            seed[j] = 1.0;
            tangents(&c, seed);
            read_tangents(&c, col);
            for (size_t i = 0; i < c.M; i++) jac[i * c.N + j] = col[i];
            seed[j] = 0.0;
        }
    }
    return TG_OK;
}

/* The checks of tg_hvp and tg_hessian: y one scalar node, and no custom
 * node without second partials between x and y that depends on x (found
 * before anything is computed, so nothing is written when there is one). */
static tg_status begin_second(call *c, tg_node y)
{
    tg_status s = begin(c);
    if (s != TG_OK) return s;
    tg_graph *g = c->g;
    if (tg__is_tensor(g, y.id)) {
        const tensor_rec *r = tg__trec(g, y.id);
        return tg__fail(g, TG_ERR_SHAPE, "%s: y is a %ux%u tensor; second order needs a scalar",
                        c->fn, (unsigned)r->rows, (unsigned)r->cols);
    }
    return TG_OK;
}

/* After ready(): the first custom node without second partials that lies
 * between x and y (y depends on it, it depends on x), or UINT32_MAX.
 * Scratch: dependence on x in dtouched, y's dependence in dadj's words. */
static uint32_t missing_second(call *c)
{
    tg_graph *g = c->g;
    if (!g->ncrecs || !c->n || c->hi < c->lo) return UINT32_MAX;
    uint64_t *dep = g->dtouched, *need = (uint64_t *)g->dadj;
    size_t words = (size_t)c->hi / 64 + 1;
    memset(dep, 0, words * sizeof *dep);
    memset(need, 0, words * sizeof *need);
    for (size_t k = 0; k < c->n; k++) touch(dep, c->x[k].id);
#define BIT(set, k) ((set)[(k) >> 6] >> ((k) & 63) & 1)
    for (uint32_t i = c->lo; i <= c->hi; i++) {
        if (op_table[tg__op(g, i)].kind == OPK_LEAF) continue;
        for (uint32_t k = 0, ar = tg__arity(g, i); k < ar; k++)
            if (BIT(dep, tg__input(g, i, k))) {
                touch(dep, i);
                break;
            }
    }
    touch(need, c->hi);
    uint32_t found = UINT32_MAX;
    for (uint32_t i = c->hi + 1; i-- > c->lo;) {
        if (!BIT(need, i) || op_table[tg__op(g, i)].kind == OPK_LEAF) continue;
        for (uint32_t k = 0, ar = tg__arity(g, i); k < ar; k++) touch(need, tg__input(g, i, k));
        if (tg__op(g, i) == OP_CUSTOM && BIT(dep, i) && !g->cdefs[tg__crec(g, i)->def].op.second)
            found = i;  /* the first on the tape is the last found */
    }
#undef BIT
    return found;
}

/* A custom node without second partials on the way from x to y. */
static tg_status no_second(call *c, uint32_t id)
{
    char d[96];
    return tg__fail(c->g, TG_ERR_ARG, "%s: %s has no second partials (its op's second is NULL)",
                    c->fn, tg__describe(c->g, id, d, sizeof d));
}

tg_status tg_hvp(tg_graph *g, tg_node y, size_t n, const tg_node *x, const double *v, double *hv)
{
    if (!g) return TG_ERR_ARG;
    call c = { g, "tg_hvp", n, 1, 0, 0, x, &y, 0, 0 };
    tg_status s = begin_second(&c, y);
    if (s != TG_OK) return s;
    if (c.N && !v) return tg__fail(g, TG_ERR_ARG, "tg_hvp: v is NULL");
    if (c.N && !hv) return tg__fail(g, TG_ERR_ARG, "tg_hvp: hv is NULL");
    if ((s = ready(&c)) != TG_OK) return s;
    uint32_t bad = missing_second(&c);
    if (bad != UINT32_MAX) return no_second(&c, bad);
    if (c.N == 0) return TG_OK;
    tangents(&c, v);
    reverse2(&c, hv);
    return TG_OK;
}

tg_status tg_hessian(tg_graph *g, tg_node y, size_t n, const tg_node *x, double *hess)
{
    if (!g) return TG_ERR_ARG;
    call c = { g, "tg_hessian", n, 1, 0, 0, x, &y, 0, 0 };
    tg_status s = begin_second(&c, y);
    size_t size = 0;
    if (s != TG_OK || (s = product(g, c.fn, c.N, c.N, &size)) != TG_OK) return s;
    if (size && !hess) return tg__fail(g, TG_ERR_ARG, "tg_hessian: hess is NULL");
    if ((s = ready(&c)) != TG_OK) return s;
    uint32_t bad = missing_second(&c);
    if (bad != UINT32_MAX) return no_second(&c, bad);
    if (size == 0) return TG_OK;
    if ((s = scratch(&c, 2 * c.N)) != TG_OK) return s;
    double *seed = g->dseed, *col = seed + c.N;
    memset(seed, 0, c.N * sizeof *seed);
    for (size_t j = 0; j < c.N; j++) {  /* column j = H e_j */
        seed[j] = 1.0;
        tangents(&c, seed);
        reverse2(&c, col);
        for (size_t i = 0; i < c.N; i++) hess[i * c.N + j] = col[i];
        seed[j] = 0.0;
    }
    /* H is symmetric; its two computed halves differ by rounding, so each
     * pair becomes their mean: symmetric to the last bit. */
    for (size_t i = 0; i < c.N; i++)
        for (size_t j = i + 1; j < c.N; j++) {
            double h = 0.5 * (hess[i * c.N + j] + hess[j * c.N + i]);
            hess[i * c.N + j] = hess[j * c.N + i] = h;
        }
    return TG_OK;
}
