/* The book's layers and TwoLayerNet (sections 5.6 and 5.7), recorded on a
 * graph.  The net's tape is laid out once:
 *
 *     W1 b1 W2 b2 | x t | forward and loss of one step ...
 *     0           4     mark
 *
 * A step records after the mark and rewinds to it, so the tape and the
 * tensor arenas stop growing after the first step.  Parameters are found
 * by name, as the book indexes self.params['W1']. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/extend.h"
#include "tapegrad/nn.h"

/* ---------------------------------------------------------------- layers */

/* Drop what a layer recorded before it failed: a layer is all or nothing. */
static tg_node all_or_nothing(tg_graph *g, size_t mark, tg_node y)
{
    if (tg_is_none(y)) tg_graph_undo(g, mark);
    return y;
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
    /* forward x W + b; backward dx = dY W^T, dW = x^T dY, db = sum(dY, axis 0),
     * all three from the matmul and broadcast-add kernels. */
    size_t mark = tg_graph_mark(g);
    return all_or_nothing(g, mark, tg_add(g, tg_matmul(g, x, W), b));
}

/* ------------------------------------------------------ random numbers */

tg_rng tg_rng_seed(uint64_t seed)
{
    tg_rng r = { seed, 0.0, 0 };
    return r;
}

uint64_t tg_rng_next(tg_rng *r)
{
    /* splitmix64 (Steele, Lea, Flood 2014): a Weyl sequence through a
     * 64-bit finaliser; every seed gives a full-period stream. */
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tg_rng_uniform(tg_rng *r)
{
    return (double)(tg_rng_next(r) >> 11) * 0x1.0p-53;
}

double tg_rng_normal(tg_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    /* Box-Muller: for u1 in (0,1] and u2 in [0,1), sqrt(-2 ln u1) (cos, sin)(2 pi u2)
     * are two independent N(0,1). */
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - tg_rng_uniform(r);
    double u2 = tg_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    r->spare = rad * sin(two_pi * u2);
    r->has_spare = 1;
    return rad * cos(two_pi * u2);
}

size_t tg_rng_below(tg_rng *r, size_t n)
{
    if (n == 0) return 0;
    /* Reject the top 2^64 mod n values so that x % n is exactly uniform. */
    uint64_t m = (uint64_t)n;
    uint64_t reject_below = (0 - m) % m;
    uint64_t x;
    do x = tg_rng_next(r); while (x < reject_below);
    return (size_t)(x % m);
}

/* ---------------------------------------------------------- TwoLayerNet */

static const char *const param_names[TG_NET_NPARAMS] = { "W1", "b1", "W2", "b2" };

struct tg_net {
    tg_graph *g;
    tg_allocator mem;
    size_t in, hid, out;
    size_t params_end;        /* tape size after the parameters */
    tg_node param[TG_NET_NPARAMS];
    tg_node x, t;             /* the batch, right after the parameters */
    size_t batch;             /* rows of x and t; 0 before the first batch */
    bool filled;              /* x and t hold a caller's batch (accuracy uses them up) */
    size_t mark;              /* tape size after the batch: each step rewinds here */
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
size_t tg_net_input_size(const tg_net *net) { return net ? net->in : 0; }
size_t tg_net_hidden_size(const tg_net *net) { return net ? net->hid : 0; }
size_t tg_net_output_size(const tg_net *net) { return net ? net->out : 0; }

/* The parameters' values and gradients as one block each: recorded first,
 * they are adjacent in the tensor arenas (checked by tg_net_new). */
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

tg_net *tg_net_new(size_t input, size_t hidden, size_t output, uint64_t seed)
{
    return tg_net_new_with(input, hidden, output, seed, NULL);
}

tg_net *tg_net_new_with(size_t input, size_t hidden, size_t output, uint64_t seed,
                        const tg_allocator *alloc)
{
    if (!input || !hidden || !output) return NULL;
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
        net->param[k] = tg_tensor_var(g, param_names[k], rows[k], cols[k], NULL);
    net->params_end = tg_graph_size(g);
    if (tg_graph_status(g) != TG_OK || !blocks_adjacent(net)) {
        tg_net_free(net);
        return NULL;
    }
    /* weight_init_std * np.random.randn(...): W1 then W2, row-major. */
    tg_rng r = tg_rng_seed(seed);
    for (int k = 0; k < TG_NET_NPARAMS; k += 2) {
        double *w = tg_tensor_data(g, net->param[k]);
        for (size_t i = 0, n = tg_net_param_size(net, k); i < n; i++)
            w[i] = 0.01 * tg_rng_normal(&r);
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
    const double *p = tg_tensor_data(net->g, net->param[0]);
    if (!p) return tg_graph_status(net->g);
    memcpy(out, p, tg_net_param_count(net) * sizeof *out);
    return TG_OK;
}

tg_status tg_net_get_grads(const tg_net *net, double *out)
{
    if (!net || !out) return TG_ERR_ARG;
    const double *d = grad_block(net);
    if (!d) return tg_graph_status(net->g);
    memcpy(out, d, tg_net_param_count(net) * sizeof *out);
    return TG_OK;
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
    tg_node a1 = tg_affine(g, x, tg_find(g, "W1"), tg_find(g, "b1"));
    tg_node z1 = tg_relu(g, a1);
    return tg_affine(g, z1, tg_find(g, "W2"), tg_find(g, "b2"));
}

tg_node tg_net_predict(tg_net *net, tg_node x)
{
    size_t n;
    if (!net || !check_input(net, "tg_net_predict", x, &n)) return TG_NONE;
    size_t mark = tg_graph_mark(net->g);
    return all_or_nothing(net->g, mark, scores(net, x));
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
    size_t mark = tg_graph_mark(g);
    return all_or_nothing(g, mark, tg_softmax_cross_entropy(g, scores(net, x), t));
}

/* ------------------------------------------------------------ the batch */

/* Record the two batch constants of n rows at the end of the tape. */
static int record_slots(tg_net *net, size_t n)
{
    net->x = tg_tensor_const(net->g, n, net->in, NULL);
    net->t = tg_tensor_const(net->g, n, net->out, NULL);
    return !tg_is_none(net->x) && !tg_is_none(net->t);
}

/* Make the batch slots n rows; their contents are left to the caller.  A
 * new size is all or nothing: the new slots are first recorded after the
 * old ones, so that running out of memory leaves the old batch in place;
 * once that worked, the storage exists for moving them down next to the
 * parameters without allocating. */
static tg_status make_batch(tg_net *net, const char *fn, size_t n)
{
    tg_graph *g = net->g;
    if (tg_graph_status(g) != TG_OK) return tg_graph_status(g);
    if (n == 0) return tg_graph_fail(g, TG_ERR_ARG, "%s: n is 0", fn);
    if (n == net->batch) return tg_graph_rewind(g, net->mark);
    size_t top = net->batch ? net->mark : net->params_end;
    tg_node old_x = net->x, old_t = net->t;
    tg_graph_rewind(g, top);
    if (!record_slots(net, n)) {
        tg_graph_rewind(g, top);
        net->x = old_x;
        net->t = old_t;
        /* The error is this call's own (none stood when it began): restate
         * it in the caller's terms. */
        tg_status s = tg_graph_status(g);
        char why[256];
        snprintf(why, sizeof why, "%s", tg_graph_errmsg(g));
        tg_graph_clear_error(g);
        return tg_graph_fail(g, s, "%s: no room for a batch of %zu rows (%s)", fn, n, why);
    }
    if (top != net->params_end) {
        tg_graph_rewind(g, net->params_end);
        if (!record_slots(net, n)) {  /* cannot happen: the storage is there */
            tg_graph_rewind(g, net->params_end);
            net->x = net->t = TG_NONE;
            net->batch = 0;
            net->filled = false;
            return tg_graph_status(g);
        }
    }
    net->batch = n;
    net->filled = false;
    net->mark = tg_graph_size(g);
    return TG_OK;
}

tg_status tg_net_batch(tg_net *net, const double *x, const double *t, size_t n)
{
    if (!net) return TG_ERR_ARG;
    if (!x) return tg_graph_fail(net->g, TG_ERR_ARG, "tg_net_batch: x is NULL");
    tg_status s = make_batch(net, "tg_net_batch", n);
    if (s != TG_OK) return s;
    memcpy(tg_tensor_data(net->g, net->x), x, n * net->in * sizeof *x);
    double *dt = tg_tensor_data(net->g, net->t);
    if (t)
        memcpy(dt, t, n * net->out * sizeof *t);
    else
        memset(dt, 0, n * net->out * sizeof *dt);
    net->filled = true;
    return TG_OK;
}

static tg_status fill_from(tg_net *net, const char *fn, const tg_mnist_set *set,
                           const size_t *idx, size_t first, size_t n, int want_t)
{
    tg_graph *g = net->g;
    if (!set) return tg_graph_fail(g, TG_ERR_ARG, "%s: set is NULL", fn);
    if (set->rows * set->cols != net->in || net->out != TG_MNIST_CLASSES)
        return tg_graph_fail(g, TG_ERR_SHAPE,
                        "%s: images are %zux%zu = %zu pixels with %d classes, the net is %zu-%zu-%zu",
                        fn, set->rows, set->cols, set->rows * set->cols, (int)TG_MNIST_CLASSES,
                        net->in, net->hid, net->out);
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
    tg_mnist_batch(set, idx, first, n, tg_tensor_data(g, net->x),
                   want_t ? tg_tensor_data(g, net->t) : NULL);
    net->filled = want_t;
    return TG_OK;
}

tg_status tg_net_batch_mnist(tg_net *net, const tg_mnist_set *set, const size_t *idx,
                             size_t first, size_t n)
{
    if (!net) return TG_ERR_ARG;
    return fill_from(net, "tg_net_batch_mnist", set, idx, first, n, 1);
}

tg_node tg_net_batch_x(const tg_net *net) { return net ? net->x : TG_NONE; }
tg_node tg_net_batch_t(const tg_net *net) { return net ? net->t : TG_NONE; }

/* ------------------------------------------------------ on the batch */

static tg_status need_batch(tg_net *net, const char *fn)
{
    if (tg_graph_status(net->g) != TG_OK) return tg_graph_status(net->g);
    if (!net->filled)
        return tg_graph_fail(net->g, TG_ERR_ARG, "%s: no batch yet (tg_net_batch or tg_net_batch_mnist)", fn);
    return tg_graph_rewind(net->g, net->mark);
}

tg_status tg_net_batch_loss(tg_net *net, double *loss)
{
    if (!net) return TG_ERR_ARG;
    tg_status s = need_batch(net, "tg_net_batch_loss");
    if (s != TG_OK) return s;
    tg_node L = tg_net_loss(net, net->x, net->t);
    if (loss) *loss = tg_value(net->g, L);
    s = tg_graph_status(net->g);
    tg_graph_rewind(net->g, net->mark);
    return s;
}

tg_status tg_net_gradient(tg_net *net, double *loss)
{
    if (!net) return TG_ERR_ARG;
    tg_status s = need_batch(net, "tg_net_gradient");
    if (s != TG_OK) return s;
    tg_graph *g = net->g;
    tg_node L = tg_net_loss(net, net->x, net->t);
    if (!tg_is_none(L)) tg_backward(g, L);
    if (loss) *loss = tg_value(g, L);
    s = tg_graph_status(g);
    tg_graph_rewind(g, net->mark);
    return s;
}

tg_status tg_net_sgd(tg_net *net, double lr)
{
    if (!net) return TG_ERR_ARG;
    double *p = param_block(net);
    const double *dp = grad_block(net);
    if (!p || !dp) return tg_graph_status(net->g);
    for (size_t i = 0, n = tg_net_param_count(net); i < n; i++)
        p[i] -= lr * dp[i];
    return TG_OK;
}

tg_status tg_net_train_step(tg_net *net, double lr, double *loss)
{
    tg_status s = tg_net_gradient(net, loss);
    if (s != TG_OK) return s;
    return tg_net_sgd(net, lr);
}

tg_status tg_net_numerical_gradient(tg_net *net, double *grad)
{
    if (!net) return TG_ERR_ARG;
    if (!grad) return tg_graph_fail(net->g, TG_ERR_ARG, "tg_net_numerical_gradient: grad is NULL");
    const double h = 1e-4;
    for (size_t i = 0, n = tg_net_param_count(net); i < n; i++) {
        /* The block is re-fetched after each pass: recording may move it. */
        double orig = param_block(net)[i], f_plus, f_minus;
        param_block(net)[i] = orig + h;
        tg_status s = tg_net_batch_loss(net, &f_plus);
        param_block(net)[i] = orig - h;
        if (s == TG_OK) s = tg_net_batch_loss(net, &f_minus);
        param_block(net)[i] = orig;
        if (s != TG_OK) return s;
        grad[i] = (f_plus - f_minus) / (2.0 * h);
    }
    return TG_OK;
}

tg_status tg_net_gradcheck(tg_net *net, double diff[TG_NET_NPARAMS])
{
    if (!net) return TG_ERR_ARG;
    if (!diff) return tg_graph_fail(net->g, TG_ERR_ARG, "tg_net_gradcheck: diff is NULL");
    size_t n = tg_net_param_count(net);
    double *num = net->mem.realloc(net->mem.ctx, NULL, n * sizeof *num);
    if (!num) return tg_graph_fail(net->g, TG_ERR_NOMEM, "tg_net_gradcheck: out of memory");
    tg_status s = tg_net_numerical_gradient(net, num);
    if (s == TG_OK) s = tg_net_gradient(net, NULL);
    if (s == TG_OK) {
        const double *bp = grad_block(net);
        size_t off = 0;
        for (int k = 0; k < TG_NET_NPARAMS; k++) {
            size_t m = tg_net_param_size(net, k);
            double sum = 0.0;
            for (size_t i = 0; i < m; i++) sum += fabs(bp[off + i] - num[off + i]);
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

tg_status tg_net_accuracy(tg_net *net, const tg_mnist_set *set, double *accuracy)
{
    if (!net) return TG_ERR_ARG;
    tg_graph *g = net->g;
    if (!accuracy) return tg_graph_fail(g, TG_ERR_ARG, "tg_net_accuracy: accuracy is NULL");
    if (!set) return tg_graph_fail(g, TG_ERR_ARG, "tg_net_accuracy: set is NULL");
    if (set->count == 0) return tg_graph_fail(g, TG_ERR_ARG, "tg_net_accuracy: the set is empty");
    /* Large blocks keep dgemm efficient; nothing of them stays on the tape. */
    const size_t chunk = 1000;
    size_t correct = 0;
    for (size_t first = 0; first < set->count; first += chunk) {
        size_t n = set->count - first < chunk ? set->count - first : chunk;
        tg_status s = fill_from(net, "tg_net_accuracy", set, NULL, first, n, 0);
        if (s != TG_OK) return s;
        tg_node y = tg_net_predict(net, net->x);
        const double *scores = tg_tensor_data(g, y);
        if (scores)
            for (size_t i = 0; i < n; i++)
                correct += argmax(scores + i * net->out, net->out) == set->labels[first + i];
        s = tg_graph_status(g);
        tg_graph_rewind(g, net->mark);
        if (s != TG_OK) return s;
    }
    *accuracy = (double)correct / (double)set->count;
    return TG_OK;
}
