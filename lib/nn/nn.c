/* The book's layers and TwoLayerNet (sections 5.6 and 5.7), recorded on a
 * graph.  The net's tape is laid out once:
 *
 *     W1 b1 W2 b2 | x t | nodes a caller recorded | one call's forward and loss
 *     0           4     6
 *
 * A call records after whatever the tape holds and, before it returns,
 * drops what it recorded with tg_graph_undo (those handles never leave the
 * call, so no new generation is needed and nothing is allocated).  The tape
 * and the tensor arenas therefore stop growing after the first step, and a
 * call that fails leaves the tape as it found it.  Parameters are found by
 * name, as the book indexes self.params['W1']. */
/* The SGD loop is compiled for the baseline ISA and, on x86-64, for AVX2
 * and AVX-512 too, picked at run time.  A wider ISA changes no number
 * while p - lr * dp stays two roundings: GCC in ISO C mode (this
 * project's -std=c11) contracts nothing, clang nothing after this pragma;
 * GCC in GNU C mode would, so there the baseline code only. */
#if defined(__x86_64__) && !defined(__FAST_MATH__) && (defined(__clang__) || defined(__STRICT_ANSI__))
#define WIDE_SGD 1
#ifdef __clang__
#pragma clang fp contract(off)
#endif
#endif

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/extend.h"
#include "tapegrad/nn.h"

/* ------------------------------------------------------------ failures */

/* End call fn, which recorded from top on and failed: drop what it
 * recorded and, when the error is its own (before, the status when fn
 * began, was TG_OK), state it in fn's name: "tg_net_loss: tg_matmul: out
 * of memory ...".  ended_empty: fn's last node could not be recorded.
 * After a non-finite value in checking mode that means memory ran out
 * after it, and the node the checking message names is gone with the
 * rest: the error that ended fn is then the memory failure. */
static tg_status failed(tg_graph *g, const char *fn, size_t top, tg_status before, bool ended_empty)
{
    tg_graph_undo(g, top);  /* cannot fail: top is a size the tape has had since */
    tg_status s = tg_graph_status(g);
    if (before != TG_OK || s == TG_OK) return s;
    tg_error why;
    snprintf(why.msg, sizeof why.msg, "%s", tg_graph_errmsg(g));
    tg_graph_clear_error(g);
    if (s == TG_ERR_DOMAIN && ended_empty) return tg_graph_fail(g, TG_ERR_NOMEM, "%s: out of memory", fn);
    size_t n = strlen(fn);
    if (strncmp(why.msg, fn, n) == 0 && why.msg[n] == ':') return tg_graph_fail(g, s, "%s", why.msg);
    return tg_graph_fail(g, s, "%s: %s", fn, why.msg);
}

/* A builder's result y, recorded from top on: all of it or, when y is
 * empty, nothing (and the error in fn's name). */
static tg_node all_or_nothing(tg_graph *g, const char *fn, size_t top, tg_status before, tg_node y)
{
    if (tg_is_none(y)) failed(g, fn, top, before, true);
    return y;
}

/* ---------------------------------------------------------------- layers */

/* x W + b without checks: dx = dY W^T, dW = x^T dY, db = sum(dY, axis 0),
 * all three from the matmul and broadcast-add kernels. */
static tg_node affine(tg_graph *g, tg_node x, tg_node W, tg_node b)
{
    return tg_add(g, tg_matmul(g, x, W), b);
}

tg_node tg_affine(tg_graph *g, tg_node x, tg_node W, tg_node b)
{
    const char *fn = "tg_affine";
    if (!g) return TG_NONE;
    if (tg_node_check(g, fn, "x", x) <= 0 || tg_node_check(g, fn, "W", W) <= 0 ||
        tg_node_check(g, fn, "b", b) <= 0)
        return TG_NONE;
    size_t xr, xc, wr, wc, br, bc;
    tg_shape(g, x, &xr, &xc);
    tg_shape(g, W, &wr, &wc);
    tg_shape(g, b, &br, &bc);
    if (xc != wr) {
        tg_graph_fail(g, TG_ERR_SHAPE, "%s: x is %zux%zu, W is %zux%zu", fn, xr, xc, wr, wc);
        return TG_NONE;
    }
    if ((br != 1 && br != xr) || (bc != 1 && bc != wc)) {
        tg_graph_fail(g, TG_ERR_SHAPE, "%s: x W is %zux%zu, b is %zux%zu", fn, xr, wc, br, bc);
        return TG_NONE;
    }
    /* With the shapes checked, only memory can stop it part way. */
    size_t top = tg_graph_size(g);
    tg_status before = tg_graph_status(g);
    return all_or_nothing(g, fn, top, before, affine(g, x, W, b));
}

/* ---------------------------------------------------------- TwoLayerNet */

static const char *const param_names[TG_NET_NPARAMS] = { "W1", "b1", "W2", "b2" };

struct tg_net {
    tg_graph *g;
    tg_allocator mem;
    tg_dtype dtype;           /* of the parameters, the batch and every tensor recorded */
    size_t in, hid, out;
    size_t params_end;        /* tape size after the parameters */
    tg_node param[TG_NET_NPARAMS];
    tg_node x, t;             /* the batch, right after the parameters */
    size_t batch;             /* rows of x and t; 0 before the first batch */
    bool filled;              /* x and t hold a caller's batch (accuracy uses it up) */
};

const char *tg_net_param_name(int k)
{
    return k >= 0 && k < TG_NET_NPARAMS ? param_names[k] : NULL;
}

size_t tg_net_param_size(const tg_net *net, int k)
{
    if (!net) return 0;
    switch (k) {
    case 0: return net->in * net->hid;
    case 1: return net->hid;
    case 2: return net->hid * net->out;
    case 3: return net->out;
    default: return 0;
    }
}

size_t tg_net_param_count(const tg_net *net)
{
    if (!net) return 0;
    return net->in * net->hid + net->hid + net->hid * net->out + net->out;
}

tg_graph *tg_net_graph(const tg_net *net) { return net ? net->g : NULL; }
tg_dtype tg_net_dtype(const tg_net *net) { return net ? net->dtype : TG_F64; }
size_t tg_net_input_size(const tg_net *net) { return net ? net->in : 0; }
size_t tg_net_hidden_size(const tg_net *net) { return net ? net->hid : 0; }
size_t tg_net_output_size(const tg_net *net) { return net ? net->out : 0; }

/* A float64 net's parameters' values and gradients as one block each:
 * recorded first, they are adjacent in the tensor arenas (checked by
 * tg_net_new).  A float32 net's are reached one parameter at a time: each
 * tensor starts on a slot of 8 bytes, so an odd-sized one leaves a gap. */
static double *param_block(tg_net *net)
{
    return tg_tensor_data(net->g, net->param[0]);
}

static const double *grad_block(const tg_net *net)
{
    return tg_tensor_gradp(net->g, net->param[0]);
}

static int blocks_adjacent(tg_net *net)
{
    if (net->dtype == TG_F32) return 1;
    const double *v0 = tg_tensor_data(net->g, net->param[0]);
    const double *g0 = tg_tensor_gradp(net->g, net->param[0]);
    size_t off = 0;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        if (!v0 || !g0 || tg_tensor_data(net->g, net->param[k]) != v0 + off ||
            tg_tensor_gradp(net->g, net->param[k]) != g0 + off)
            return 0;
        off += tg_net_param_size(net, k);
    }
    return 1;
}

/* Parameter element i, in the order of tg_net_get_params, as parameter k
 * and its element *j. */
static int param_of(const tg_net *net, size_t i, size_t *j)
{
    int k = 0;
    while (k < TG_NET_NPARAMS - 1 && i >= tg_net_param_size(net, k)) i -= tg_net_param_size(net, k++);
    *j = i;
    return k;
}

/* Parameter element i's value, read or written in the net's dtype.  NULL
 * storage (an error recorded) reads as NaN and writes nothing. */
static double param_get(tg_net *net, size_t i)
{
    if (net->dtype == TG_F64) {
        const double *p = param_block(net);
        return p ? p[i] : NAN;
    }
    size_t j;
    const float *p = tg_tensor_data_f32(net->g, net->param[param_of(net, i, &j)]);
    return p ? p[j] : NAN;
}

static void param_set(tg_net *net, size_t i, double v)
{
    if (net->dtype == TG_F64) {
        double *p = param_block(net);
        if (p) p[i] = v;
        return;
    }
    size_t j;
    float *p = tg_tensor_data_f32(net->g, net->param[param_of(net, i, &j)]);
    if (p) p[j] = (float)v;
}

/* Every parameter value, or gradient when grads, into out as doubles;
 * the graph's status. */
static tg_status copy_out(const tg_net *net, double *out, bool grads)
{
    tg_graph *g = net->g;
    if (net->dtype == TG_F64) {
        const double *p = grads ? grad_block(net) : tg_tensor_data(g, net->param[0]);
        if (!p) return tg_graph_status(g);
        memcpy(out, p, tg_net_param_count(net) * sizeof *out);
        return TG_OK;
    }
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        const float *p = grads ? tg_tensor_gradp_f32(g, net->param[k]) : tg_tensor_data_f32(g, net->param[k]);
        if (!p) return tg_graph_status(g);
        for (size_t i = 0, n = tg_net_param_size(net, k); i < n; i++) *out++ = p[i];
    }
    return TG_OK;
}

tg_net *tg_net_new(size_t input, size_t hidden, size_t output, uint64_t seed)
{
    return tg_net_new_with(input, hidden, output, seed, NULL);
}

tg_net *tg_net_new_with(size_t input, size_t hidden, size_t output, uint64_t seed,
                        const tg_allocator *alloc)
{
    return tg_net_new_ex(input, hidden, output, seed, TG_F64, alloc);
}

tg_net *tg_net_new_ex(size_t input, size_t hidden, size_t output, uint64_t seed, tg_dtype dtype,
                      const tg_allocator *alloc)
{
    if (!input || !hidden || !output || (dtype != TG_F64 && dtype != TG_F32)) return NULL;
    if (hidden > SIZE_MAX / input || output > SIZE_MAX / hidden) return NULL;
    tg_allocator mem = tg_default_allocator();
    if (alloc) {
        if (!alloc->realloc || !alloc->free) return NULL;
        mem = *alloc;
    }
    tg_net *net = mem.realloc(mem.ctx, NULL, sizeof *net);
    if (!net) return NULL;
    memset(net, 0, sizeof *net);
    net->mem = mem;
    net->dtype = dtype;
    net->in = input;
    net->hid = hidden;
    net->out = output;
    net->g = tg_graph_new_with(&mem);
    if (!net->g) {
        mem.free(mem.ctx, net);
        return NULL;
    }
    tg_graph *g = net->g;
    size_t rows[TG_NET_NPARAMS] = { input, 1, hidden, 1 };
    size_t cols[TG_NET_NPARAMS] = { hidden, hidden, output, output };
    for (int k = 0; k < TG_NET_NPARAMS; k++)
        net->param[k] = dtype == TG_F64 ? tg_tensor_var(g, param_names[k], rows[k], cols[k], NULL)
                                        : tg_tensor_var_ex(g, param_names[k], rows[k], cols[k], dtype, NULL);
    net->params_end = tg_graph_size(g);
    if (tg_graph_status(g) != TG_OK || !blocks_adjacent(net)) {
        tg_net_free(net);
        return NULL;
    }
    /* weight_init_std * np.random.randn(...): W1 then W2, row-major. */
    tg_rng r = tg_rng_seed(seed);
    for (int k = 0; k < TG_NET_NPARAMS; k += 2) {
        double *w = dtype == TG_F64 ? tg_tensor_data(g, net->param[k]) : NULL;
        float *wf = dtype == TG_F32 ? tg_tensor_data_f32(g, net->param[k]) : NULL;
        for (size_t i = 0, n = tg_net_param_size(net, k); i < n; i++) {
            double v = 0.01 * tg_rng_normal(&r);
            if (w) w[i] = v;
            else wf[i] = (float)v;
        }
    }
    return net;
}

void tg_net_free(tg_net *net)
{
    if (!net) return;
    tg_graph_free(net->g);
    tg_allocator mem = net->mem;
    mem.free(mem.ctx, net);
}

tg_status tg_net_get_params(const tg_net *net, double *out)
{
    if (!net || !out) return TG_ERR_ARG;
    return copy_out(net, out, false);
}

tg_status tg_net_get_grads(const tg_net *net, double *out)
{
    if (!net || !out) return TG_ERR_ARG;
    return copy_out(net, out, true);
}

/* ------------------------------------------------------------ recording */

/* Check x (n x input) for fn; its rows into *n.  0 when it is not usable
 * (the error recorded, or kept quiet for an empty handle after one). */
static int check_input(tg_net *net, const char *fn, tg_node x, size_t *n)
{
    tg_graph *g = net->g;
    if (tg_node_check(g, fn, "x", x) <= 0) return 0;
    size_t c;
    tg_shape(g, x, n, &c);
    if (c != net->in) {
        tg_graph_fail(g, TG_ERR_SHAPE, "%s: x is %zux%zu, the net takes %zu inputs", fn, *n, c, net->in);
        return 0;
    }
    return 1;
}

/* Affine -> Relu -> Affine, without checks. */
static tg_node scores(tg_net *net, tg_node x)
{
    tg_graph *g = net->g;
    tg_node a1 = affine(g, x, tg_find(g, "W1"), tg_find(g, "b1"));
    tg_node z1 = tg_relu(g, a1);
    return affine(g, z1, tg_find(g, "W2"), tg_find(g, "b2"));
}

/* SoftmaxWithLoss of the scores against one-hot t, without checks. */
static tg_node loss_of(tg_net *net, tg_node x, tg_node t)
{
    return tg_softmax_cross_entropy(net->g, scores(net, x), t);
}

tg_node tg_net_predict(tg_net *net, tg_node x)
{
    const char *fn = "tg_net_predict";
    size_t n;
    if (!net || !check_input(net, fn, x, &n)) return TG_NONE;
    size_t top = tg_graph_size(net->g);
    tg_status before = tg_graph_status(net->g);
    return all_or_nothing(net->g, fn, top, before, scores(net, x));
}

tg_node tg_net_loss(tg_net *net, tg_node x, tg_node t)
{
    const char *fn = "tg_net_loss";
    size_t n;
    if (!net || !check_input(net, fn, x, &n)) return TG_NONE;
    tg_graph *g = net->g;
    if (tg_node_check(g, fn, "t", t) <= 0) return TG_NONE;
    size_t tr, tc;
    tg_shape(g, t, &tr, &tc);
    if (tr != n || tc != net->out) {
        tg_graph_fail(g, TG_ERR_SHAPE, "%s: t is %zux%zu, the scores are %zux%zu", fn, tr, tc, n, net->out);
        return TG_NONE;
    }
    size_t top = tg_graph_size(g);
    tg_status before = tg_graph_status(g);
    return all_or_nothing(g, fn, top, before, loss_of(net, x, t));
}

/* ------------------------------------------------------------ the batch */

/* A tensor constant of the net's dtype (float64 through tg_tensor_const,
 * whose name its errors carry). */
static tg_node net_const(tg_net *net, size_t rows, size_t cols)
{
    if (net->dtype == TG_F64) return tg_tensor_const(net->g, rows, cols, NULL);
    return tg_tensor_const_ex(net->g, rows, cols, net->dtype, NULL);
}

/* Record the two batch constants of n rows at the end of the tape. */
static int record_slots(tg_net *net, size_t n)
{
    net->x = net_const(net, n, net->in);
    net->t = net_const(net, n, net->out);
    return !tg_is_none(net->x) && !tg_is_none(net->t);
}

/* Make the batch slots n rows; their contents are left to the caller.  The
 * same size keeps the slots and everything after them.  A new size is all
 * or nothing: the new slots are first recorded at the end of the tape, so
 * that running out of memory leaves the old batch in place; once that
 * worked, the storage exists for recording them again next to the
 * parameters without allocating.  The old slots, and every node after
 * them, go through a rewind: their handles may be held (tg_net_batch_x). */
static tg_status make_batch(tg_net *net, const char *fn, size_t n)
{
    tg_graph *g = net->g;
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    if (n == 0) return tg_graph_fail(g, TG_ERR_ARG, "%s: n is 0", fn);
    if (n == net->batch) return TG_OK;
    size_t top = tg_graph_size(g);
    tg_node old_x = net->x, old_t = net->t;
    bool moved = top != net->params_end;
    if (!record_slots(net, n) || (moved && tg_graph_rewind(g, net->params_end) != TG_OK)) {
        /* Nothing is dropped yet: the new slots' handles never left this
         * call, the old ones are restored. */
        net->x = old_x;
        net->t = old_t;
        tg_graph_undo(g, top);
        tg_error why;
        snprintf(why.msg, sizeof why.msg, "%s", tg_graph_errmsg(g));
        tg_status s = tg_graph_status(g);
        tg_graph_clear_error(g);
        return tg_graph_fail(g, s, "%s: no room for a batch of %zu rows (%s)", fn, n, why.msg);
    }
    if (moved && !record_slots(net, n)) {  /* cannot happen: the storage is there */
        tg_graph_undo(g, net->params_end);
        net->x = net->t = TG_NONE;
        net->batch = 0;
        net->filled = false;
        return tg_graph_status(g);
    }
    net->batch = n;
    net->filled = false;
    return TG_OK;
}

tg_status tg_net_batch(tg_net *net, const double *x, const double *t, size_t n)
{
    if (!net) return TG_ERR_ARG;
    if (!x) return tg_graph_fail(net->g, TG_ERR_ARG, "tg_net_batch: x is NULL");
    tg_status s = make_batch(net, "tg_net_batch", n);
    if (s != TG_OK) return s;
    if (net->dtype == TG_F32) {
        float *dx = tg_tensor_data_f32(net->g, net->x), *dt = tg_tensor_data_f32(net->g, net->t);
        for (size_t i = 0; i < n * net->in; i++) dx[i] = (float)x[i];
        for (size_t i = 0; i < n * net->out; i++) dt[i] = t ? (float)t[i] : 0.0f;
        net->filled = true;
        return TG_OK;
    }
    memcpy(tg_tensor_data(net->g, net->x), x, n * net->in * sizeof *x);
    double *dt = tg_tensor_data(net->g, net->t);
    if (t)
        memcpy(dt, t, n * net->out * sizeof *t);
    else
        memset(dt, 0, n * net->out * sizeof *dt);
    net->filled = true;
    return TG_OK;
}

/* Whether set's images fit the net: TG_ERR_SHAPE in fn's name if not. */
static tg_status check_images(tg_net *net, const char *fn, const tg_mnist_set *set)
{
    if (set->rows * set->cols == net->in && net->out == TG_MNIST_CLASSES) return TG_OK;
    return tg_graph_fail(net->g, TG_ERR_SHAPE,
                         "%s: images are %zux%zu = %zu pixels with %d classes, the net is %zu-%zu-%zu",
                         fn, set->rows, set->cols, set->rows * set->cols, (int)TG_MNIST_CLASSES,
                         net->in, net->hid, net->out);
}

tg_status tg_net_batch_mnist(tg_net *net, const tg_mnist_set *set, const size_t *idx,
                             size_t first, size_t n)
{
    const char *fn = "tg_net_batch_mnist";
    if (!net) return TG_ERR_ARG;
    tg_graph *g = net->g;
    if (!set) return tg_graph_fail(g, TG_ERR_ARG, "%s: set is NULL", fn);
    if (check_images(net, fn, set) != TG_OK) return tg_graph_status(g);
    if (idx) {
        for (size_t i = 0; i < n; i++)
            if (idx[i] >= set->count)
                return tg_graph_fail(g, TG_ERR_ARG, "%s: idx[%zu] = %zu is past the set's %zu images",
                                fn, i, idx[i], set->count);
    } else if (first > set->count || n > set->count - first) {
        return tg_graph_fail(g, TG_ERR_ARG, "%s: images %zu..%zu are past the set's %zu", fn, first,
                        first + n, set->count);
    }
    tg_status s = make_batch(net, fn, n);
    if (s != TG_OK) return s;
    if (net->dtype == TG_F32)
        tg_mnist_batch_f32(set, idx, first, n, tg_tensor_data_f32(g, net->x),
                           tg_tensor_data_f32(g, net->t));
    else
        tg_mnist_batch(set, idx, first, n, tg_tensor_data(g, net->x), tg_tensor_data(g, net->t));
    net->filled = true;
    return TG_OK;
}

tg_node tg_net_batch_x(const tg_net *net) { return net ? net->x : TG_NONE; }
tg_node tg_net_batch_t(const tg_net *net) { return net ? net->t : TG_NONE; }

/* ------------------------------------------------------ on the batch */

/* Whether fn may run on the batch: no error stands and a batch is set. */
static tg_status need_batch(tg_net *net, const char *fn)
{
    if (tg_graph_status(net->g) != TG_OK) return tg_graph_status(net->g);
    if (!net->filled)
        return tg_graph_fail(net->g, TG_ERR_ARG, "%s: no batch yet (tg_net_batch or tg_net_batch_mnist)", fn);
    return TG_OK;
}

/* The loss of the batch, and with backward its gradient, for fn. */
static tg_status batch_pass(tg_net *net, const char *fn, bool backward, double *loss)
{
    tg_status s = need_batch(net, fn);
    if (s != TG_OK) return s;
    tg_graph *g = net->g;
    size_t top = tg_graph_size(g);
    tg_node L = loss_of(net, net->x, net->t);
    if (backward && !tg_is_none(L)) tg_backward(g, L);
    double value = tg_value(g, L);
    if (tg_graph_status(g) != TG_OK) return failed(g, fn, top, TG_OK, tg_is_none(L));
    tg_graph_undo(g, top);  /* cannot fail: top is a size the tape has had since */
    if (loss) *loss = value;
    return TG_OK;
}

tg_status tg_net_hvp(tg_net *net, const double *v, double *hv)
{
    const char *fn = "tg_net_hvp";
    if (!net) return TG_ERR_ARG;
    tg_graph *g = net->g;
    if (!v || !hv) return tg_graph_fail(g, TG_ERR_ARG, "%s: %s is NULL", fn, v ? "hv" : "v");
    tg_status s = need_batch(net, fn);
    if (s != TG_OK) return s;
    size_t top = tg_graph_size(g);
    tg_node L = loss_of(net, net->x, net->t);
    if (!tg_is_none(L)) tg_hvp(g, L, TG_NET_NPARAMS, net->param, v, hv);
    if (tg_graph_status(g) != TG_OK) return failed(g, fn, top, TG_OK, tg_is_none(L));
    tg_graph_undo(g, top);  /* cannot fail: top is a size the tape has had since */
    return TG_OK;
}

tg_status tg_net_batch_loss(tg_net *net, double *loss)
{
    if (!net) return TG_ERR_ARG;
    return batch_pass(net, "tg_net_batch_loss", false, loss);
}

tg_status tg_net_gradient(tg_net *net, double *loss)
{
    if (!net) return TG_ERR_ARG;
    return batch_pass(net, "tg_net_gradient", true, loss);
}

/* p -= lr * dp over n parameters: doubles (p, dp), or floats (pf, dpf)
 * each updated in double and rounded once.  Values and gradients live in
 * different arenas, so they never overlap. */
static inline __attribute__((always_inline)) void sgd_loop(double *restrict p, const double *restrict dp,
                                                           float *restrict pf, const float *restrict dpf,
                                                           size_t n, double lr)
{
    if (pf)
        for (size_t i = 0; i < n; i++) pf[i] = (float)(pf[i] - lr * dpf[i]);
    else
        for (size_t i = 0; i < n; i++) p[i] -= lr * dp[i];
}

typedef void sgd_fn(double *p, const double *dp, float *pf, const float *dpf, size_t n, double lr);

static void sgd_base(double *p, const double *dp, float *pf, const float *dpf, size_t n, double lr)
{
    sgd_loop(p, dp, pf, dpf, n, lr);
}

#ifdef WIDE_SGD
__attribute__((target("avx2"))) static void sgd_avx2(double *p, const double *dp, float *pf,
                                                      const float *dpf, size_t n, double lr)
{
    sgd_loop(p, dp, pf, dpf, n, lr);
}

__attribute__((target("avx512f"))) static void sgd_avx512(double *p, const double *dp, float *pf,
                                                           const float *dpf, size_t n, double lr)
{
    sgd_loop(p, dp, pf, dpf, n, lr);
}
#endif

static sgd_fn *pick_sgd(void)
{
#ifdef WIDE_SGD
    if (__builtin_cpu_supports("avx512f")) return sgd_avx512;
    if (__builtin_cpu_supports("avx2")) return sgd_avx2;
#endif
    return sgd_base;
}

/* p -= lr * dp for a float32 net, parameter by parameter. */
static tg_status sgd32(tg_net *net, double lr)
{
    sgd_fn *step = pick_sgd();
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        float *p = tg_tensor_data_f32(net->g, net->param[k]);
        const float *dp = tg_tensor_gradp_f32(net->g, net->param[k]);
        if (!p || !dp) return tg_graph_status(net->g);
        step(NULL, NULL, p, dp, tg_net_param_size(net, k), lr);
    }
    return TG_OK;
}

tg_status tg_net_sgd(tg_net *net, double lr)
{
    if (!net) return TG_ERR_ARG;
    if (net->dtype == TG_F32) return sgd32(net, lr);
    double *p = param_block(net);
    const double *dp = grad_block(net);
    if (!p || !dp) return tg_graph_status(net->g);
    pick_sgd()(p, dp, NULL, NULL, tg_net_param_count(net), lr);
    return TG_OK;
}

tg_status tg_net_train_step(tg_net *net, double lr, double *loss)
{
    if (!net) return TG_ERR_ARG;
    tg_status s = batch_pass(net, "tg_net_train_step", true, loss);
    if (s != TG_OK) return s;
    return tg_net_sgd(net, lr);
}

/* Central differences of the batch loss for every parameter, into grad,
 * for fn.  Each parameter is restored, bit for bit, before the next. */
static tg_status numerical_gradient(tg_net *net, const char *fn, double *grad)
{
    const double h = 1e-4;
    for (size_t i = 0, n = tg_net_param_count(net); i < n; i++) {
        /* The storage is re-fetched after each pass: recording may move it. */
        double orig = param_get(net, i), f_plus, f_minus;
        param_set(net, i, orig + h);
        double up = param_get(net, i);
        tg_status s = batch_pass(net, fn, false, &f_plus);
        param_set(net, i, orig - h);
        double down = param_get(net, i);
        if (s == TG_OK) s = batch_pass(net, fn, false, &f_minus);
        param_set(net, i, orig);
        if (s != TG_OK) return s;
        /* float64: 2h, as the book; float32: the step as it rounded */
        grad[i] = (f_plus - f_minus) / (net->dtype == TG_F32 ? up - down : 2.0 * h);
    }
    return TG_OK;
}

tg_status tg_net_numerical_gradient(tg_net *net, double *grad)
{
    const char *fn = "tg_net_numerical_gradient";
    if (!net) return TG_ERR_ARG;
    if (!grad) return tg_graph_fail(net->g, TG_ERR_ARG, "%s: grad is NULL", fn);
    return numerical_gradient(net, fn, grad);
}

tg_status tg_net_gradcheck(tg_net *net, double diff[TG_NET_NPARAMS])
{
    const char *fn = "tg_net_gradcheck";
    if (!net) return TG_ERR_ARG;
    if (!diff) return tg_graph_fail(net->g, TG_ERR_ARG, "%s: diff is NULL", fn);
    tg_status s = need_batch(net, fn);
    if (s != TG_OK) return s;
    size_t n = tg_net_param_count(net);
    double *num = net->mem.realloc(net->mem.ctx, NULL, n * sizeof *num);
    if (!num) return tg_graph_fail(net->g, TG_ERR_NOMEM, "%s: out of memory for %zu doubles", fn, n);
    s = numerical_gradient(net, fn, num);
    if (s == TG_OK) s = batch_pass(net, fn, true, NULL);
    if (s == TG_OK) {
        size_t off = 0;
        for (int k = 0; k < TG_NET_NPARAMS; k++) {
            size_t m = tg_net_param_size(net, k);
            const double *bp = net->dtype == TG_F64 ? grad_block(net) + off : NULL;
            const float *bpf = net->dtype == TG_F32 ? tg_tensor_gradp_f32(net->g, net->param[k]) : NULL;
            double sum = 0.0;
            for (size_t i = 0; i < m; i++) sum += fabs((bp ? bp[i] : (double)bpf[i]) - num[off + i]);
            diff[k] = sum / (double)m;
            off += m;
        }
    }
    net->mem.free(net->mem.ctx, num);
    return s;
}

/* Index of the largest score in row (the first of equals, as np.argmax). */
static size_t argmax(const double *row, size_t n)
{
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

static size_t argmax32(const float *row, size_t n)
{
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (row[j] > row[best]) best = j;
    return best;
}

tg_status tg_net_accuracy(tg_net *net, const tg_mnist_set *set, double *accuracy)
{
    const char *fn = "tg_net_accuracy";
    if (!net) return TG_ERR_ARG;
    tg_graph *g = net->g;
    if (!accuracy) return tg_graph_fail(g, TG_ERR_ARG, "%s: accuracy is NULL", fn);
    if (!set) return tg_graph_fail(g, TG_ERR_ARG, "%s: set is NULL", fn);
    if (set->count == 0) return tg_graph_fail(g, TG_ERR_ARG, "%s: the set is empty", fn);
    if (check_images(net, fn, set) != TG_OK) return tg_graph_status(g);
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    /* Blocks of 1000 images keep dgemm efficient.  Each is a constant
     * recorded at the end of the tape and dropped with its scores, so the
     * tape is left as it was, batch included, whatever happens. */
    const size_t chunk = 1000;
    size_t top = tg_graph_size(g), correct = 0;
    for (size_t first = 0; first < set->count; first += chunk) {
        size_t n = set->count - first < chunk ? set->count - first : chunk;
        tg_node x = net_const(net, n, net->in);
        bool f32 = net->dtype == TG_F32;
        if (!tg_is_none(x) && f32) tg_mnist_batch_f32(set, NULL, first, n, tg_tensor_data_f32(g, x), NULL);
        else if (!tg_is_none(x)) tg_mnist_batch(set, NULL, first, n, tg_tensor_data(g, x), NULL);
        tg_node y = scores(net, x);
        if (tg_graph_status(g) != TG_OK) return failed(g, fn, top, TG_OK, tg_is_none(y));
        const double *s = f32 ? NULL : tg_tensor_data(g, y);
        const float *sf = f32 ? tg_tensor_data_f32(g, y) : NULL;
        for (size_t i = 0; i < n; i++)
            correct += (f32 ? argmax32(sf + i * net->out, net->out) : argmax(s + i * net->out, net->out))
                       == set->labels[first + i];
        tg_graph_undo(g, top);  /* cannot fail: top is a size the tape has had since */
    }
    /* nn.h: an evaluation uses the batch up; set one again before the
     * next gradient. */
    net->filled = false;
    *accuracy = (double)correct / (double)set->count;
    return TG_OK;
}
