/* Tensor nodes: their records, the two element arenas, the builders and the
 * public accessors.  The arithmetic is in tensor_kernels.c: a builder
 * records the node and then asks tg__tensor_forward for its value, so a
 * recording and a replay compute through the same code.
 *
 * Storage.  g->tens holds one record per tensor node, in node order; a
 * float64 record's elements are g->tval[off .. off + rows*cols) and its
 * adjoints g->tgrad at the same offsets.  A float32 record's are floats
 * packed from the same slot on, half as many slots (tg__slots): one pair
 * of arenas for both dtypes, so a rewind pops them alike.  The arenas are stacks: a new tensor takes
 * the top, a rewind pops back to the first dropped record, and the
 * capacity stays, so a training loop that marks, records and rewinds
 * allocates only on its first pass.
 *
 * A record may own `extra` elements just past its values.  A branch op
 * (relu, abs, min, max) keeps there the side of its kink each element was
 * recorded on (1 or 0): a replay compares against those, not against the
 * previous replay, so a tape replayed off its branches and back is valid
 * again.  The
 * cross-entropy, a scalar node, has a record whose elements are the
 * softmax of its logits, which its backward reads.
 *
 * A node finds its record by binary search over the records (in node
 * order): the tape keeps no record index of its own. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"

/* ------------------------------------------------------------ records */

tensor_rec *tg__trec(const tg_graph *g, uint32_t id)
{
    size_t lo = 0, hi = g->ntens;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->tens[mid].node <= id) lo = mid;
        else hi = mid;
    }
    return &g->tens[lo];
}

/* ------------------------------------------------------------ dtypes */

/* A scalar node is float64. */
static tg_dtype dtype_of(const tg_graph *g, uint32_t id)
{
    return tg__is_tensor(g, id) ? (tg_dtype)tg__trec(g, id)->dtype : TG_F64;
}

static const char *dtype_name(tg_dtype d)
{
    return d == TG_F32 ? "float32" : "float64";
}

static bool dtype_ok(tg_graph *g, const char *fn, tg_dtype dtype)
{
    if (dtype == TG_F64 || dtype == TG_F32) return true;
    tg__fail(g, TG_ERR_ARG, "%s: dtype %d is neither TG_F64 nor TG_F32", fn, (int)dtype);
    return false;
}

/* "float32 (2x3)", or "a float64 scalar", into buf. */
static const char *dtype_desc(const tg_graph *g, uint32_t id, char *buf, size_t len)
{
    if (!tg__is_tensor(g, id)) {
        snprintf(buf, len, "a float64 scalar");
    } else {
        const tensor_rec *r = tg__trec(g, id);
        snprintf(buf, len, "%s (%ux%u)", dtype_name((tg_dtype)r->dtype), (unsigned)r->rows,
                 (unsigned)r->cols);
    }
    return buf;
}

/* Whether operands a and b (named an, bn) have one dtype: dtypes mix only
 * through tg_convert.  Records TG_ERR_ARG naming both when not. */
static bool same_dtype(tg_graph *g, const char *fn, const char *an, uint32_t a, const char *bn,
                       uint32_t b)
{
    if (dtype_of(g, a) == dtype_of(g, b)) return true;
    char da[64], db[64];
    tg__fail(g, TG_ERR_ARG, "%s: %s is %s, %s is %s; convert one with tg_convert", fn, an,
             dtype_desc(g, a, da, sizeof da), bn, dtype_desc(g, b, db, sizeof db));
    return false;
}

/* ------------------------------------------------------------ shapes */

/* A scalar node is seen as 1 x 1. */
static void shape_of(const tg_graph *g, uint32_t id, size_t *rows, size_t *cols)
{
    if (tg__is_tensor(g, id)) {
        const tensor_rec *r = tg__trec(g, id);
        *rows = r->rows;
        *cols = r->cols;
    } else {
        *rows = 1;
        *cols = 1;
    }
}

/* Dimensions are size_t in the API and uint32 in a record; the element
 * count must also fit in bytes.  Records `s` with fn's name when not. */
static bool dims_ok(tg_graph *g, const char *fn, tg_status s, size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0) {
        tg__fail(g, s, "%s: shape %zux%zu has a zero dimension", fn, rows, cols);
        return false;
    }
    if (rows > UINT32_MAX || cols > UINT32_MAX) {
        tg__fail(g, s, "%s: shape %zux%zu has a dimension above %lu", fn, rows, cols,
                 (unsigned long)UINT32_MAX);
        return false;
    }
    if (rows > SIZE_MAX / sizeof(double) / cols) {
        tg__fail(g, s, "%s: shape %zux%zu has more elements than memory can hold", fn, rows, cols);
        return false;
    }
    return true;
}

/* Make room for `count` more slots in both arenas.  tval and tgrad keep
 * one capacity, tcap, which is raised only when both have grown: a failure
 * in between leaves tval larger than tcap, which is harmless. */
static bool grow_arenas(tg_graph *g, size_t count)
{
    if (count > SIZE_MAX - g->ttop) return false;
    size_t need = g->ttop + count;
    if (need <= g->tcap) return true;
    void *p = g->tval;
    size_t cap_val = g->tcap;
    if (tg__grow(g, &p, &cap_val, need, sizeof(double)) != 0) return false;
    g->tval = p;
    p = g->tgrad;
    size_t cap_grad = g->tcap;
    if (tg__grow(g, &p, &cap_grad, need, sizeof(double)) != 0) return false;
    g->tgrad = p;
    g->tcap = cap_grad;
    return true;
}

/* Append node (op, a, b) owning a fresh rows x cols tensor of dtype, plus
 * `extra` elements after it, whose adjoint is zero (the sweep zeroes only adjoints
 * that a previous sweep touched).  Its values are left for the caller.
 * Returns the id, or UINT32_MAX with the error recorded and nothing
 * appended.  rows and cols passed dims_ok; extra is 0 or rows*cols. */
static uint32_t tensor_node(tg_graph *g, const char *fn, tg_op op, uint32_t a, uint32_t b,
                            size_t rows, size_t cols, tg_dtype dtype, unsigned flags, size_t extra)
{
    size_t count = rows * cols;
    if (extra > SIZE_MAX - count) {
        tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for a %zux%zu tensor", fn, rows, cols);
        return UINT32_MAX;
    }
    count = tg__slots(dtype, count + extra);
    void *p = g->tens;
    int grown = tg__grow(g, &p, &g->tens_cap, g->ntens + 1, sizeof *g->tens);
    g->tens = p;
    if (grown != 0 || !grow_arenas(g, count)) {
        tg__fail(g, TG_ERR_NOMEM, "%s: out of memory for a %zux%zu tensor", fn, rows, cols);
        return UINT32_MAX;
    }
    uint32_t id = tg__push(g, fn, (uint8_t)(TENSOR_CODE | op), a, b, 0.0);
    if (id == UINT32_MAX) return UINT32_MAX;
    tensor_rec *r = &g->tens[g->ntens++];
    r->node = id;
    r->rows = (uint32_t)rows;
    r->cols = (uint32_t)cols;
    r->dtype = (uint8_t)dtype;
    r->flags = (uint8_t)flags;
    r->off = g->ttop;
    r->extra = extra;
    g->ttop += count;
    memset(g->tgrad + r->off, 0, count * sizeof(double));  /* count is in slots */
    return id;
}

/* Undo the last tensor_node (never handed out). */
static void pop_tensor_node(tg_graph *g)
{
    g->n--;
    g->ntens--;
    g->ttop = g->tens[g->ntens].off;
}

/* The bytes of one element of dtype. */
static size_t elem_size(tg_dtype dtype)
{
    return dtype == TG_F32 ? sizeof(float) : sizeof(double);
}

void tg__tensor_rewind(tg_graph *g, size_t mark)
{
    size_t k = g->ntens;
    while (k > 0 && g->tens[k - 1].node >= mark) k--;
    if (k == g->ntens) return;
    g->ttop = g->tens[k].off;
    g->ntens = k;
}

/* ------------------------------------------------------------ leaves */

static tg_node tensor_leaf(tg_graph *g, const char *fn, tg_op op, const char *name,
                           size_t rows, size_t cols, tg_dtype dtype, const void *data)
{
    if (!g || !dtype_ok(g, fn, dtype) || !dims_ok(g, fn, TG_ERR_ARG, rows, cols)) return TG_NONE;
    uint32_t id = tensor_node(g, fn, op, 0, 0, rows, cols, dtype, 0, 0);
    if (id == UINT32_MAX) return TG_NONE;
    void *x = g->tval + tg__trec(g, id)->off;
    if (data) memcpy(x, data, rows * cols * elem_size(dtype));
    else memset(x, 0, rows * cols * elem_size(dtype));
    if (name && tg__name_add(g, fn, name, id) != TG_OK) {
        pop_tensor_node(g);
        return TG_NONE;
    }
    tg__leaf_recorded(g, id);
    return tg__finish(g, fn, id);
}

tg_node tg_tensor_var(tg_graph *g, const char *name, size_t rows, size_t cols, const double *data)
{
    return tensor_leaf(g, "tg_tensor_var", OP_VAR, name, rows, cols, TG_F64, data);
}

tg_node tg_tensor_const(tg_graph *g, size_t rows, size_t cols, const double *data)
{
    return tensor_leaf(g, "tg_tensor_const", OP_CONST, NULL, rows, cols, TG_F64, data);
}

tg_node tg_tensor_var_ex(tg_graph *g, const char *name, size_t rows, size_t cols, tg_dtype dtype,
                         const void *data)
{
    return tensor_leaf(g, "tg_tensor_var_ex", OP_VAR, name, rows, cols, dtype, data);
}

tg_node tg_tensor_const_ex(tg_graph *g, size_t rows, size_t cols, tg_dtype dtype, const void *data)
{
    return tensor_leaf(g, "tg_tensor_const_ex", OP_CONST, NULL, rows, cols, dtype, data);
}

tg_dtype tg_tensor_dtype(const tg_graph *g, tg_node n)
{
    return g && tg__live(g, n) ? dtype_of(g, n.id) : TG_F64;
}

/* ------------------------------------------------------------ convert */

tg_node tg_convert(tg_graph *g, tg_node x, tg_dtype dtype)
{
    const char *fn = "tg_convert";
    if (!g || tg__check(g, fn, "x", x) <= 0 || !dtype_ok(g, fn, dtype)) return TG_NONE;
    size_t rows, cols;
    shape_of(g, x.id, &rows, &cols);
    uint32_t id = tensor_node(g, fn, OP_CONVERT, x.id, x.id, rows, cols, dtype, 0, 0);
    if (id == UINT32_MAX) return TG_NONE;
    tg__tensor_forward(g, id);
    return tg__finish(g, fn, id);
}

/* ------------------------------------------------------------ elementwise */

/* numpy's rule, in 2-D: equal extents, or one of them 1. */
static bool broadcast(size_t x, size_t y, size_t *out)
{
    if (x == y || y == 1) *out = x;
    else if (x == 1) *out = y;
    else return false;
    return true;
}

/* The shape a binary op of a and b has; records TG_ERR_SHAPE when none. */
static bool binary_shape(tg_graph *g, const char *fn, uint32_t a, uint32_t b,
                         size_t *rows, size_t *cols)
{
    size_t ra, ca, rb, cb;
    shape_of(g, a, &ra, &ca);
    shape_of(g, b, &rb, &cb);
    if (broadcast(ra, rb, rows) && broadcast(ca, cb, cols)) return true;
    tg__fail(g, TG_ERR_SHAPE, "%s: a is %zux%zu, b is %zux%zu", fn, ra, ca, rb, cb);
    return false;
}

bool tg__shapes_fit(tg_graph *g, const char *fn, uint32_t a, uint32_t b)
{
    size_t rows, cols;
    return same_dtype(g, fn, "a", a, "b", b) && binary_shape(g, fn, a, b, &rows, &cols);
}

tg_node tg__tensor_elementwise(tg_graph *g, const char *fn, tg_op op, uint32_t a, uint32_t b)
{
    size_t rows, cols;
    if (!same_dtype(g, fn, "a", a, "b", b)) return TG_NONE;
    if (!binary_shape(g, fn, a, b, &rows, &cols)) return TG_NONE;
    if (!dims_ok(g, fn, TG_ERR_SHAPE, rows, cols)) return TG_NONE;
    size_t count = rows * cols;
    bool branch = op_table[op].branch;
    uint32_t id = tensor_node(g, fn, op, a, b, rows, cols, dtype_of(g, a), 0, branch ? count : 0);
    if (id == UINT32_MAX) return TG_NONE;
    if (branch) tg__tensor_record_sides(g, id);  /* see the top of this file */
    tg__tensor_forward(g, id);
    return tg__finish(g, fn, id);
}

/* ------------------------------------------------------------ matmul */

static tg_node matmul(tg_graph *g, const char *fn, tg_node a, tg_node b, unsigned flags)
{
    if (!g) return TG_NONE;
    int ka = tg__check(g, fn, "a", a);
    int kb = tg__check(g, fn, "b", b);
    if (ka <= 0 || kb <= 0) return TG_NONE;
    if (flags & ~(unsigned)(TG_TRANS_A | TG_TRANS_B)) {
        tg__fail(g, TG_ERR_ARG, "%s: flags 0x%x has bits other than TG_TRANS_A and TG_TRANS_B",
                 fn, flags);
        return TG_NONE;
    }
    if (!same_dtype(g, fn, "a", a.id, "b", b.id)) return TG_NONE;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    size_t ra, ca, rb, cb;
    shape_of(g, a.id, &ra, &ca);
    shape_of(g, b.id, &rb, &cb);
    /* op(a) is m x k, op(b) is k x n; the message shows op(a) and op(b). */
    size_t m = ta ? ca : ra, k = ta ? ra : ca;
    size_t kk = tb ? cb : rb, n = tb ? rb : cb;
    if (k != kk) {
        tg__fail(g, TG_ERR_SHAPE, "%s: a%s is %zux%zu, b%s is %zux%zu", fn, ta ? "^T" : "", m, k,
                 tb ? "^T" : "", kk, n);
        return TG_NONE;
    }
    if (ra > INT_MAX || ca > INT_MAX || rb > INT_MAX || cb > INT_MAX) {
        tg__fail(g, TG_ERR_SHAPE, "%s: a is %zux%zu, b is %zux%zu: BLAS takes dimensions up to %d",
                 fn, ra, ca, rb, cb, INT_MAX);
        return TG_NONE;
    }
    if (!dims_ok(g, fn, TG_ERR_SHAPE, m, n)) return TG_NONE;
    uint32_t id = tensor_node(g, fn, OP_MATMUL, a.id, b.id, m, n, dtype_of(g, a.id), flags, 0);
    if (id == UINT32_MAX) return TG_NONE;
    tg__tensor_forward(g, id);
    return tg__finish(g, fn, id);
}

tg_node tg_matmul(tg_graph *g, tg_node a, tg_node b)
{
    return matmul(g, "tg_matmul", a, b, 0);
}

tg_node tg_matmul_ex(tg_graph *g, tg_node a, tg_node b, unsigned flags)
{
    return matmul(g, "tg_matmul_ex", a, b, flags);
}

/* ------------------------------------------------------------ reductions */

static tg_node reduce(tg_graph *g, const char *fn, tg_op op, tg_node a)
{
    if (!g || tg__check(g, fn, "a", a) <= 0) return TG_NONE;
    uint32_t id = tg__push(g, fn, (uint8_t)(TENSOR_CODE | op), a.id, a.id, 0.0);
    if (id == UINT32_MAX) return TG_NONE;
    tg__tensor_forward(g, id);
    return tg__finish(g, fn, id);
}

tg_node tg_sum(tg_graph *g, tg_node a)
{
    return reduce(g, "tg_sum", OP_SUM, a);
}

tg_node tg_mean(tg_graph *g, tg_node a)
{
    return reduce(g, "tg_mean", OP_MEAN, a);
}

/* ------------------------------------------------------------ softmax */

/* The softmax node of logits a, values computed. */
static uint32_t softmax_node(tg_graph *g, const char *fn, uint32_t a)
{
    size_t rows, cols;
    shape_of(g, a, &rows, &cols);
    uint32_t id = tensor_node(g, fn, OP_SOFTMAX, a, a, rows, cols, dtype_of(g, a), 0, 0);
    if (id != UINT32_MAX) tg__tensor_forward(g, id);
    return id;
}

tg_node tg_softmax(tg_graph *g, tg_node logits)
{
    const char *fn = "tg_softmax";
    if (!g || tg__check(g, fn, "logits", logits) <= 0) return TG_NONE;
    uint32_t id = softmax_node(g, fn, logits.id);
    return tg__finish(g, fn, id);
}

/* One scalar node reading the logits and the targets.  Its record keeps
 * the softmax of the logits, which the forward kernel computes on the way
 * to the loss and the backward reads: the gradient (y - t) / N goes
 * straight to the logits, with no softmax Jacobian in between. */
tg_node tg_softmax_cross_entropy(tg_graph *g, tg_node logits, tg_node onehot)
{
    const char *fn = "tg_softmax_cross_entropy";
    if (!g) return TG_NONE;
    int kl = tg__check(g, fn, "logits", logits);
    int kt = tg__check(g, fn, "onehot", onehot);
    if (kl <= 0 || kt <= 0) return TG_NONE;
    if (!same_dtype(g, fn, "logits", logits.id, "onehot", onehot.id)) return TG_NONE;
    size_t rl, cl, rt, ct;
    shape_of(g, logits.id, &rl, &cl);
    shape_of(g, onehot.id, &rt, &ct);
    if (rl != rt || cl != ct) {
        tg__fail(g, TG_ERR_SHAPE, "%s: logits are %zux%zu, onehot is %zux%zu", fn, rl, cl, rt, ct);
        return TG_NONE;
    }
    uint32_t id = tensor_node(g, fn, OP_XENT, logits.id, onehot.id, rl, cl, dtype_of(g, logits.id), 0, 0);
    if (id == UINT32_MAX) return TG_NONE;
    tg__tensor_forward(g, id);
    return tg__finish(g, fn, id);
}

/* ------------------------------------------------------------ accessors */

int tg_is_tensor(const tg_graph *g, tg_node n)
{
    return g && tg__live(g, n) && tg__is_tensor(g, n.id);
}

tg_status tg_shape(const tg_graph *g, tg_node n, size_t *rows, size_t *cols)
{
    if (!g) return TG_ERR_ARG;
    tg_status s = tg__classify(g, n);
    if (s != TG_OK) return s;
    size_t r, c;
    shape_of(g, n.id, &r, &c);
    if (rows) *rows = r;
    if (cols) *cols = c;
    return TG_OK;
}

/* Copy n's values (or adjoints) out; a scalar node gives one number. */
static tg_status get(const tg_graph *g, tg_node n, double *out, bool grads)
{
    if (!g || !out) return TG_ERR_ARG;
    tg_status s = tg__classify(g, n);
    if (s != TG_OK) return s;
    if (!tg__is_tensor(g, n.id)) {
        *out = grads ? g->grad[n.id] : g->val[n.id];
        return TG_OK;
    }
    const tensor_rec *r = tg__trec(g, n.id);
    size_t count = (size_t)r->rows * r->cols;
    const double *src = (grads ? g->tgrad : g->tval) + r->off;
    if (r->dtype == TG_F32) {
        const float *f = (const float *)(const void *)src;
        for (size_t i = 0; i < count; i++) out[i] = f[i];
    } else {
        memcpy(out, src, count * sizeof(double));
    }
    return TG_OK;
}

tg_status tg_tensor_get(const tg_graph *g, tg_node n, double *out)
{
    return get(g, n, out, false);
}

tg_status tg_tensor_get_grad(const tg_graph *g, tg_node n, double *out)
{
    return get(g, n, out, true);
}

tg_status tg_tensor_set(tg_graph *g, tg_node leaf, const double *data)
{
    const char *fn = "tg_tensor_set";
    if (!g) return TG_ERR_ARG;
    int k = tg__check(g, fn, "leaf", leaf);
    if (k == 0) return tg__fail(g, TG_ERR_HANDLE, "%s: leaf is the empty handle", fn);
    if (k < 0) return tg__classify(g, leaf);
    char d[96];
    uint32_t id = leaf.id;
    bool is_leaf = tg__is_leaf(g, id);
    if (is_leaf && !tg__is_tensor(g, id))  /* a scalar where a tensor is required */
        return tg__fail(g, TG_ERR_SHAPE, "%s: %s is a scalar; use tg_set_value", fn,
                        tg__describe(g, id, d, sizeof d));
    if (!is_leaf)
        return tg__fail(g, TG_ERR_ARG, "%s: %s is not a tensor variable or constant", fn,
                        tg__describe(g, id, d, sizeof d));
    if (!data) return tg__fail(g, TG_ERR_ARG, "%s: data is NULL", fn);
    const tensor_rec *r = tg__trec(g, id);
    size_t count = (size_t)r->rows * r->cols;
    if (r->dtype == TG_F32) {
        float *f = (float *)(void *)(g->tval + r->off);
        for (size_t i = 0; i < count; i++) f[i] = (float)data[i];
    } else {
        memcpy(g->tval + r->off, data, count * sizeof(double));
    }
    tg__leaf_changed(g, id);
    if (g->checking && !tg__check_finite(g, fn, id)) return TG_ERR_DOMAIN;
    return TG_OK;
}

/* The storage of tensor n for fn, which wants dtype: NULL with the error
 * recorded when n is no tensor or of the other dtype. */
static double *storage(tg_graph *g, const char *fn, tg_node n, tg_dtype dtype)
{
    if (!g || tg__check(g, fn, "n", n) <= 0) return NULL;
    char d[96];
    if (!tg__is_tensor(g, n.id)) {
        tg__fail(g, TG_ERR_SHAPE, "%s: %s is a scalar, not a tensor", fn,
                 tg__describe(g, n.id, d, sizeof d));
        return NULL;
    }
    const tensor_rec *r = tg__trec(g, n.id);
    if (r->dtype != dtype) {
        tg__fail(g, TG_ERR_ARG, "%s: %s is %s; use %s", fn, tg__describe(g, n.id, d, sizeof d),
                 dtype_name((tg_dtype)r->dtype),
                 r->dtype == TG_F32 ? "tg_tensor_data_f32" : "tg_tensor_data");
        return NULL;
    }
    /* The caller may write through it: nodes computed from it are then
     * replayed before the next sweep. */
    tg__leaf_changed(g, n.id);
    return g->tval + r->off;
}

double *tg_tensor_data(tg_graph *g, tg_node n)
{
    return storage(g, "tg_tensor_data", n, TG_F64);
}

float *tg_tensor_data_f32(tg_graph *g, tg_node n)
{
    return (float *)(void *)storage(g, "tg_tensor_data_f32", n, TG_F32);
}

/* The adjoints of tensor n if it is of dtype, else NULL. */
static const double *grad_storage(const tg_graph *g, tg_node n, tg_dtype dtype)
{
    if (!g || !tg__live(g, n) || !tg__is_tensor(g, n.id)) return NULL;
    const tensor_rec *r = tg__trec(g, n.id);
    return r->dtype == dtype ? g->tgrad + r->off : NULL;
}

const double *tg_tensor_gradp(const tg_graph *g, tg_node n)
{
    return grad_storage(g, n, TG_F64);
}

const float *tg_tensor_gradp_f32(const tg_graph *g, tg_node n)
{
    return (const float *)(const void *)grad_storage(g, n, TG_F32);
}
