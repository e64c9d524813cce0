/* TwoLayerNet without the data set: its generator, its initialisation and
 * layout, and on a tiny net (5-4-3, 6 rows) its loss, scores and gradients
 * against the same network written out by hand in long double, with
 * central differences of that hand-written loss as the gradient reference. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/nn.h"

#include "alloc.h"
#include "runner.h"

/* ------------------------------------------------------------ generator */

START_TEST(rng_known_values)
{
    /* splitmix64's published outputs */
    tg_rng r = tg_rng_seed(0);
    ck_assert_uint_eq(tg_rng_next(&r), 0xE220A8397B1DCDAFull);
    ck_assert_uint_eq(tg_rng_next(&r), 0x6E789E6AA1B965F4ull);
    ck_assert_uint_eq(tg_rng_next(&r), 0x06C45D188009454Full);
    r = tg_rng_seed(1234567);
    ck_assert_uint_eq(tg_rng_next(&r), 6457827717110365317ull);
    ck_assert_uint_eq(tg_rng_next(&r), 3203168211198807973ull);
}
END_TEST

START_TEST(rng_distributions)
{
    tg_rng r = tg_rng_seed(99);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; i++) {
        double u = tg_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        double z = tg_rng_normal(&r);
        sum += z;
        sum2 += z * z;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_double_eq_tol(mean, 0.0, 0.01);   /* 4.5 standard errors */
    ck_assert_double_eq_tol(var, 1.0, 0.015);

    size_t count[10] = { 0 };
    for (int i = 0; i < 100000; i++) count[tg_rng_below(&r, 10)]++;
    for (int k = 0; k < 10; k++) ck_assert_uint_le(count[k] > 10000 ? count[k] - 10000 : 10000 - count[k], 500);
    ck_assert_uint_eq(tg_rng_below(&r, 1), 0);
    ck_assert_uint_eq(tg_rng_below(&r, 0), 0);
}
END_TEST

/* ------------------------------------------------------------ the net */

START_TEST(init_and_layout)
{
    tg_net *net = tg_net_new(784, 50, 10, 7);
    ck_assert_ptr_nonnull(net);
    tg_graph *g = tg_net_graph(net);
    ck_assert_uint_eq(tg_net_param_count(net), 784 * 50 + 50 + 50 * 10 + 10);

    /* The params dictionary is the name table; the four tensors are adjacent. */
    const size_t rows[4] = { 784, 1, 50, 1 }, cols[4] = { 50, 50, 10, 10 };
    const double *base = tg_tensor_data(g, tg_find(g, "W1"));
    size_t off = 0;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        tg_node p = tg_find(g, tg_net_param_name(k));
        size_t r, c;
        ck_assert_int_eq(tg_shape(g, p, &r, &c), TG_OK);
        ck_assert_uint_eq(r, rows[k]);
        ck_assert_uint_eq(c, cols[k]);
        ck_assert_uint_eq(tg_net_param_size(net, k), r * c);
        ck_assert_ptr_eq(tg_tensor_data(g, p), base + off);
        off += r * c;
    }
    ck_assert_ptr_null(tg_net_param_name(4));

    /* weights 0.01 N(0,1) drawn W1 then W2 from the seed; biases zero */
    size_t n = tg_net_param_count(net);
    double *p = malloc(n * sizeof *p);
    ck_assert_int_eq(tg_net_get_params(net, p), TG_OK);
    tg_rng r = tg_rng_seed(7);
    ck_assert_double_eq(p[0], 0.01 * tg_rng_normal(&r));
    ck_assert_double_eq(p[1], 0.01 * tg_rng_normal(&r));
    double sum = 0, sum2 = 0;
    for (size_t i = 0; i < 784 * 50; i++) {
        sum += p[i];
        sum2 += p[i] * p[i];
    }
    ck_assert_double_eq_tol(sqrt(sum2 / 39200 - (sum / 39200) * (sum / 39200)), 0.01, 2e-4);
    for (size_t i = 0; i < 50; i++) ck_assert_double_eq(p[39200 + i], 0.0);
    for (size_t i = 0; i < 10; i++) ck_assert_double_eq(p[n - 10 + i], 0.0);

    /* the same seed gives the same net, another seed another */
    tg_net *same = tg_net_new(784, 50, 10, 7), *other = tg_net_new(784, 50, 10, 8);
    double *q = malloc(n * sizeof *q);
    ck_assert_int_eq(tg_net_get_params(same, q), TG_OK);
    ck_assert_mem_eq(p, q, n * sizeof *p);
    ck_assert_int_eq(tg_net_get_params(other, q), TG_OK);
    ck_assert(memcmp(p, q, n * sizeof *p) != 0);
    free(p);
    free(q);
    tg_net_free(net);
    tg_net_free(same);
    tg_net_free(other);
    ck_assert_ptr_null(tg_net_new(0, 50, 10, 1));
    tg_net_free(NULL);
}
END_TEST

/* ------------------------------------------------------------ tiny net by hand */

enum { IN = 5, HID = 4, OUT = 3, ROWS = 6 };
enum { NW1 = IN * HID, NB1 = HID, NW2 = HID * OUT, NB2 = OUT, NP = NW1 + NB1 + NW2 + NB2 };

typedef struct tiny {
    double x[ROWS * IN], t[ROWS * OUT];
    double p[NP];   /* W1 b1 W2 b2 */
} tiny;

static tiny make_tiny(uint64_t seed)
{
    tiny d;
    tg_rng r = tg_rng_seed(seed);
    for (int i = 0; i < ROWS * IN; i++) d.x[i] = 2.0 * tg_rng_uniform(&r) - 1.0;
    memset(d.t, 0, sizeof d.t);
    for (int i = 0; i < ROWS; i++) d.t[i * OUT + tg_rng_below(&r, OUT)] = 1.0;
    for (int i = 0; i < NP; i++) d.p[i] = 0.7 * tg_rng_normal(&r);
    return d;
}

/* The network written out: scores (ROWS x OUT) and the mean cross-entropy. */
static long double ref_forward(const tiny *d, const long double *p, long double *scores,
                               long double *min_abs_preact)
{
    const long double *W1 = p, *b1 = p + NW1, *W2 = b1 + NB1, *b2 = W2 + NW2;
    long double loss = 0, kink = INFINITY;
    for (int i = 0; i < ROWS; i++) {
        long double h[HID], s[OUT];
        for (int j = 0; j < HID; j++) {
            long double a = b1[j];
            for (int k = 0; k < IN; k++) a += d->x[i * IN + k] * W1[k * HID + j];
            if (fabsl(a) < kink) kink = fabsl(a);
            h[j] = a > 0 ? a : 0;
        }
        long double max = -INFINITY;
        for (int j = 0; j < OUT; j++) {
            s[j] = b2[j];
            for (int k = 0; k < HID; k++) s[j] += h[k] * W2[k * OUT + j];
            if (scores) scores[i * OUT + j] = s[j];
            if (s[j] > max) max = s[j];
        }
        long double z = 0;
        for (int j = 0; j < OUT; j++) z += expl(s[j] - max);
        for (int j = 0; j < OUT; j++) loss -= d->t[i * OUT + j] * (s[j] - max - logl(z));
    }
    if (min_abs_preact) *min_abs_preact = kink;
    return loss / ROWS;
}

/* d loss / d p[k] by central differences in long double. */
static void ref_gradient(const tiny *d, long double *grad)
{
    long double p[NP];
    for (int i = 0; i < NP; i++) p[i] = d->p[i];
    const long double h = 1e-6L;
    for (int i = 0; i < NP; i++) {
        long double keep = p[i];
        p[i] = keep + h;
        long double f1 = ref_forward(d, p, NULL, NULL);
        p[i] = keep - h;
        long double f2 = ref_forward(d, p, NULL, NULL);
        p[i] = keep;
        grad[i] = (f1 - f2) / (2 * h);
    }
}

static tg_net *tiny_net(const tiny *d)
{
    tg_net *net = tg_net_new(IN, HID, OUT, 1);
    ck_assert_ptr_nonnull(net);
    tg_graph *g = tg_net_graph(net);
    const double *p = d->p;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        ck_assert_int_eq(tg_tensor_set(g, tg_find(g, tg_net_param_name(k)), p), TG_OK);
        p += tg_net_param_size(net, k);
    }
    ck_assert_int_eq(tg_net_batch(net, d->x, d->t, ROWS), TG_OK);
    return net;
}

START_TEST(tiny_loss_and_scores)
{
    tiny d = make_tiny(11);
    long double p[NP], scores[ROWS * OUT], kink;
    for (int i = 0; i < NP; i++) p[i] = d.p[i];
    long double want = ref_forward(&d, p, scores, &kink);
    ck_assert(kink > 1e-3L);   /* finite differences stay on one side of relu's kink */

    tg_net *net = tiny_net(&d);
    double loss;
    ck_assert_int_eq(tg_net_batch_loss(net, &loss), TG_OK);
    ck_assert_double_eq_tol(loss, (double)want, 1e-13);

    /* predict recorded by hand on the batch node; the caller rewinds */
    tg_graph *g = tg_net_graph(net);
    size_t mark = tg_graph_mark(g);
    tg_node y = tg_net_predict(net, tg_net_batch_x(net));
    double got[ROWS * OUT];
    ck_assert_int_eq(tg_tensor_get(g, y, got), TG_OK);
    for (int i = 0; i < ROWS * OUT; i++) ck_assert_double_eq_tol(got[i], (double)scores[i], 1e-13);
    tg_node L = tg_net_loss(net, tg_net_batch_x(net), tg_net_batch_t(net));
    ck_assert_double_eq(tg_value(g, L), loss);
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    tg_net_free(net);
}
END_TEST

START_TEST(tiny_gradient)
{
    tiny d = make_tiny(12);
    long double want[NP];
    ref_gradient(&d, want);
    tg_net *net = tiny_net(&d);
    size_t size = tg_graph_size(tg_net_graph(net));
    double loss, got[NP];
    ck_assert_int_eq(tg_net_gradient(net, &loss), TG_OK);
    ck_assert_uint_eq(tg_graph_size(tg_net_graph(net)), size);  /* the tape is as it was */
    ck_assert_int_eq(tg_net_get_grads(net, got), TG_OK);
    double biggest = 0;
    for (int i = 0; i < NP; i++) {
        ck_assert_double_eq_tol(got[i], (double)want[i], 1e-9);
        if (fabs(got[i]) > biggest) biggest = fabs(got[i]);
    }
    ck_assert(biggest > 0.05);  /* a gradient worth checking */
    /* through the name table too */
    tg_graph *g = tg_net_graph(net);
    const double *db2 = tg_tensor_gradp(g, tg_find(g, "b2"));
    ck_assert_double_eq(db2[0], got[NW1 + NB1 + NW2]);
    tg_net_free(net);
}
END_TEST

/* H v of the loss in all the parameters, against the network written out
 * in long double: (Hv)_k from four loss values at p +- h e_k +- h v. */
START_TEST(tiny_hessian_vector_product)
{
    tiny d = make_tiny(11);
    long double p[NP], kink;
    for (int i = 0; i < NP; i++) p[i] = d.p[i];
    ref_forward(&d, p, NULL, &kink);
    ck_assert(kink > 1e-3L);  /* the differences stay on one side of every kink */
    double v[NP];
    tg_rng r = tg_rng_seed(5);
    for (int i = 0; i < NP; i++) v[i] = 2.0 * tg_rng_uniform(&r) - 1.0;

    tg_net *net = tiny_net(&d);
    double grads_before[NP], grads_after[NP], hv[NP];
    ck_assert_int_eq(tg_net_gradient(net, NULL), TG_OK);
    ck_assert_int_eq(tg_net_get_grads(net, grads_before), TG_OK);
    size_t size = tg_graph_size(tg_net_graph(net));
    ck_assert_int_eq(tg_net_hvp(net, v, hv), TG_OK);
    ck_assert_uint_eq(tg_graph_size(tg_net_graph(net)), size);
    ck_assert_int_eq(tg_net_get_grads(net, grads_after), TG_OK);
    ck_assert_mem_eq(grads_before, grads_after, sizeof grads_before);

    const long double h = 1e-4L;
    double biggest = 0;
    for (int k = 0; k < NP; k++) {
        long double f[4];
        for (int c = 0; c < 4; c++) {
            long double q[NP];
            long double sk = c < 2 ? h : -h, sv = c % 2 ? -h : h;
            for (int i = 0; i < NP; i++) q[i] = p[i] + sv * v[i];
            q[k] += sk;
            f[c] = ref_forward(&d, q, NULL, NULL);
        }
        long double want = (f[0] - f[1] - f[2] + f[3]) / (4 * h * h);
        ck_assert_double_eq_tol(hv[k], (double)want, 1e-6);
        if (fabs(hv[k]) > biggest) biggest = fabs(hv[k]);
    }
    ck_assert(biggest > 0.05);  /* curvature worth checking */

    double sentinel[NP];
    for (int i = 0; i < NP; i++) sentinel[i] = hv[i] = -7.0;
    ck_assert_int_eq(tg_net_hvp(net, NULL, hv), TG_ERR_ARG);
    ck_assert_str_eq(tg_graph_errmsg(tg_net_graph(net)), "tg_net_hvp: v is NULL");
    ck_assert_mem_eq(hv, sentinel, sizeof hv);
    tg_net_free(net);
}
END_TEST

START_TEST(tiny_numerical_gradient)
{
    tiny d = make_tiny(13);
    long double want[NP];
    ref_gradient(&d, want);
    tg_net *net = tiny_net(&d);
    double num[NP], before[NP], after[NP];
    tg_net_get_params(net, before);
    ck_assert_int_eq(tg_net_numerical_gradient(net, num), TG_OK);
    tg_net_get_params(net, after);
    ck_assert_mem_eq(before, after, sizeof before);  /* every parameter restored */
    /* h = 1e-4: truncation error h^2 f'''/6 */
    for (int i = 0; i < NP; i++) ck_assert_double_eq_tol(num[i], (double)want[i], 1e-7);

    double diff[TG_NET_NPARAMS];
    ck_assert_int_eq(tg_net_gradcheck(net, diff), TG_OK);
    for (int k = 0; k < TG_NET_NPARAMS; k++) ck_assert_double_lt(diff[k], 1e-7);
    tg_net_free(net);
}
END_TEST

START_TEST(train_step_is_sgd)
{
    tiny d = make_tiny(14);
    tg_net *net = tiny_net(&d);
    double p0[NP], g0[NP], p1[NP], loss0, loss_step;
    tg_net_get_params(net, p0);
    ck_assert_int_eq(tg_net_batch_loss(net, &loss0), TG_OK);
    ck_assert_int_eq(tg_net_gradient(net, NULL), TG_OK);
    tg_net_get_grads(net, g0);
    ck_assert_int_eq(tg_net_train_step(net, 0.5, &loss_step), TG_OK);
    ck_assert_double_eq(loss_step, loss0);
    tg_net_get_params(net, p1);
    for (int i = 0; i < NP; i++) ck_assert_double_eq(p1[i], p0[i] - 0.5 * g0[i]);
    double loss1;
    ck_assert_int_eq(tg_net_batch_loss(net, &loss1), TG_OK);
    ck_assert_double_lt(loss1, loss0);  /* a small step downhill lowers the loss */
    tg_net_free(net);
}
END_TEST

/* ------------------------------------------------------------ memory */

/* A data set of `count` 2x3 images with random pixels and labels. */
static tg_mnist_set synthetic(size_t count, uint64_t seed)
{
    tg_mnist_set s = { count, 2, 3, malloc(count * 6), malloc(count) };
    tg_rng r = tg_rng_seed(seed);
    for (size_t i = 0; i < count * 6; i++) s.images[i] = (uint8_t)tg_rng_below(&r, 256);
    for (size_t i = 0; i < count; i++) s.labels[i] = (uint8_t)tg_rng_below(&r, 10);
    return s;
}

START_TEST(no_allocation_after_first_step)
{
    inj_alloc c = { 0 };
    tg_allocator a = inj_use(&c);
    tg_net *net = tg_net_new_with(6, 8, 10, 3, &a);
    ck_assert_ptr_nonnull(net);
    tg_mnist_set set = synthetic(2345, 5);
    tg_rng r = tg_rng_seed(4);
    size_t idx[32];
    double acc;
    /* one full cycle (steps, then an evaluation that changes the batch size) */
    for (int cycle = 0; cycle < 3; cycle++) {
        size_t calls = c.calls;
        for (int step = 0; step < 20; step++) {
            for (int b = 0; b < 32; b++) idx[b] = tg_rng_below(&r, set.count);
            ck_assert_int_eq(tg_net_batch_mnist(net, &set, idx, 0, 32), TG_OK);
            ck_assert_int_eq(tg_net_train_step(net, 0.1, NULL), TG_OK);
        }
        ck_assert_int_eq(tg_net_accuracy(net, &set, &acc), TG_OK);
        if (cycle > 0) ck_assert_uint_eq(c.calls, calls);
    }
    ck_assert_uint_gt(c.calls, 0);  /* the allocator is the one in use */
    tg_net_free(net);
    tg_mnist_set_free(&set);
}
END_TEST

START_TEST(batch_resize_is_all_or_nothing)
{
    inj_alloc small = { .max_size = 1u << 20 };  /* refuses any single request above a megabyte */
    tg_allocator a = inj_use(&small);
    tiny d = make_tiny(16);
    tg_net *net = tg_net_new_with(IN, HID, OUT, 1, &a);
    ck_assert_ptr_nonnull(net);
    tg_graph *g = tg_net_graph(net);
    ck_assert_int_eq(tg_net_batch(net, d.x, d.t, ROWS), TG_OK);
    double before[NP], after[NP];
    ck_assert_int_eq(tg_net_gradient(net, NULL), TG_OK);
    tg_net_get_grads(net, before);

    /* 100000 rows of 5 inputs need 4 MB: refused, the old batch stays */
    size_t size = tg_graph_size(g);
    double *big = calloc(100000 * IN, sizeof *big);
    ck_assert_int_eq(tg_net_batch(net, big, NULL, 100000), TG_ERR_NOMEM);
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_net_batch: no room for a batch of 100000 rows "
                                         "(tg_tensor_const: out of memory for a 100000x5 tensor)");
    ck_assert_uint_eq(tg_graph_size(g), size);
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_net_gradient(net, NULL), TG_OK);
    tg_net_get_grads(net, after);
    ck_assert_mem_eq(before, after, sizeof before);
    free(big);
    tg_net_free(net);
}
END_TEST

/* nn.h: a call on the batch leaves the tape as it found it, nodes of the
 * caller's included; a batch of the same size is refilled in place; a new
 * size drops the old batch nodes and what follows them. */
START_TEST(calls_leave_the_tape)
{
    tiny d = make_tiny(16);
    tg_net *net = tiny_net(&d);
    tg_graph *g = tg_net_graph(net);
    tg_node mine = tg_var(g, "mine", 4.5);
    tg_node y = tg_net_predict(net, tg_net_batch_x(net));
    size_t size = tg_graph_size(g);
    double scores[ROWS * OUT], again[ROWS * OUT], loss_with, loss_without;
    ck_assert_int_eq(tg_tensor_get(g, y, scores), TG_OK);

    ck_assert_int_eq(tg_net_batch_loss(net, &loss_with), TG_OK);
    ck_assert_int_eq(tg_net_gradient(net, NULL), TG_OK);
    tg_mnist_set set = synthetic(30, 3);
    tg_net *m = tg_net_new(6, 4, 10, 2);
    tg_graph *gm = tg_net_graph(m);
    tg_node other = tg_var(gm, "other", 1.0);
    double acc;
    size_t msize = tg_graph_size(gm);
    ck_assert_int_eq(tg_net_accuracy(m, &set, &acc), TG_OK);
    ck_assert_uint_eq(tg_graph_size(gm), msize);
    ck_assert_uint_eq(tg_find(gm, "other").id, other.id);
    tg_net_free(m);
    tg_mnist_set_free(&set);

    ck_assert_uint_eq(tg_graph_size(g), size);
    ck_assert_uint_eq(tg_find(g, "mine").id, mine.id);
    ck_assert_double_eq(tg_value(g, mine), 4.5);
    ck_assert_int_eq(tg_tensor_get(g, y, again), TG_OK);   /* y is still a live handle */
    ck_assert_mem_eq(scores, again, sizeof scores);

    /* the same size: refilled in place, the caller's nodes stay */
    ck_assert_int_eq(tg_net_batch(net, d.x, d.t, ROWS), TG_OK);
    ck_assert_uint_eq(tg_graph_size(g), size);
    ck_assert_double_eq(tg_value(g, mine), 4.5);

    /* a new size: the old batch nodes and all after them go, and their
     * handles are stale */
    tg_node old_x = tg_net_batch_x(net);
    ck_assert_int_eq(tg_net_batch(net, d.x, d.t, ROWS - 1), TG_OK);
    ck_assert_uint_eq(tg_graph_size(g), TG_NET_NPARAMS + 2);
    ck_assert(tg_is_none(tg_find(g, "mine")));
    ck_assert(isnan(tg_value(g, mine)));
    ck_assert_int_eq(tg_tensor_get(g, old_x, again), TG_ERR_STALE);
    ck_assert_int_eq(tg_net_batch_loss(net, &loss_without), TG_OK);
    ck_assert(isfinite(loss_without) && loss_without != loss_with);
    tg_net_free(net);
}
END_TEST

START_TEST(accuracy_in_chunks)
{
    /* 2500 images: two full blocks of 1000 and one of 500. */
    tg_mnist_set set = synthetic(2500, 8);
    tg_net *net = tg_net_new(6, 5, 10, 9);
    tg_graph *g = tg_net_graph(net);
    double p[6 * 5 + 5 + 5 * 10 + 10];
    tg_rng r = tg_rng_seed(10);
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) p[i] = tg_rng_normal(&r);
    const double *q = p;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        tg_tensor_set(g, tg_find(g, tg_net_param_name(k)), q);
        q += tg_net_param_size(net, k);
    }
    /* argmax of the scores, computed by hand in long double */
    size_t correct = 0;
    for (size_t i = 0; i < set.count; i++) {
        long double h[5], best = -INFINITY;
        int arg = -1;
        for (int j = 0; j < 5; j++) {
            long double a = p[30 + j];
            for (int k = 0; k < 6; k++) a += set.images[i * 6 + k] / 255.0L * p[k * 5 + j];
            h[j] = a > 0 ? a : 0;
        }
        for (int j = 0; j < 10; j++) {
            long double s = p[35 + 50 + j];
            for (int k = 0; k < 5; k++) s += h[k] * p[35 + k * 10 + j];
            if (s > best) {
                best = s;
                arg = j;
            }
        }
        correct += arg == set.labels[i];
    }
    double acc = -1;
    ck_assert_int_eq(tg_net_accuracy(net, &set, &acc), TG_OK);
    ck_assert_double_eq(acc, (double)correct / 2500.0);
    ck_assert_uint_gt(correct, 0);
    tg_net_free(net);
    tg_mnist_set_free(&set);
}
END_TEST

/* ------------------------------------------------------------ errors */

START_TEST(errors)
{
    tg_net *net = tg_net_new(IN, HID, OUT, 1);
    tg_graph *g = tg_net_graph(net);
    ck_assert_int_eq(tg_net_gradient(net, NULL), TG_ERR_ARG);
    ck_assert_str_eq(tg_graph_errmsg(g),
                     "tg_net_gradient: no batch yet (tg_net_batch or tg_net_batch_mnist)");
    tg_graph_clear_error(g);

    tg_mnist_set set = synthetic(10, 1);
    ck_assert_int_eq(tg_net_batch_mnist(net, &set, NULL, 0, 4), TG_ERR_SHAPE);
    ck_assert_str_eq(tg_graph_errmsg(g),
                     "tg_net_batch_mnist: images are 2x3 = 6 pixels with 10 classes, the net is 5-4-3");
    tg_graph_clear_error(g);
    tg_mnist_set_free(&set);

    tiny d = make_tiny(15);
    ck_assert_int_eq(tg_net_batch(net, d.x, d.t, 0), TG_ERR_ARG);
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_net_batch: n is 0");
    tg_graph_clear_error(g);

    /* a loss against labels of the wrong width: the tensor layer's message */
    ck_assert_int_eq(tg_net_batch(net, d.x, d.t, ROWS), TG_OK);
    size_t mark = tg_graph_mark(g);
    tg_node t2 = tg_tensor_const(g, ROWS, 2, NULL);
    size_t size = tg_graph_size(g);
    ck_assert(tg_is_none(tg_net_loss(net, tg_net_batch_x(net), t2)));
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_SHAPE);
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_net_loss: t is 6x2, the scores are 6x3");
    ck_assert_uint_eq(tg_graph_size(g), size);  /* a failing layer records nothing */

    /* while an error stands, a training step refuses and changes nothing */
    double p0[NP], p1[NP];
    tg_net_get_params(net, p0);
    ck_assert_int_eq(tg_net_train_step(net, 0.1, NULL), TG_ERR_SHAPE);
    tg_net_get_params(net, p1);
    ck_assert_mem_eq(p0, p1, sizeof p0);
    tg_graph_clear_error(g);
    tg_graph_rewind(g, mark);
    ck_assert_int_eq(tg_net_train_step(net, 0.1, NULL), TG_OK);

    /* affine's shapes are checked by the matmul it records */
    size_t m2 = tg_graph_mark(g);
    tg_node x = tg_tensor_const(g, 2, 3, NULL), W = tg_tensor_var(g, "W", 4, 5, NULL);
    tg_node b = tg_tensor_var(g, "b", 1, 5, NULL);
    ck_assert(tg_is_none(tg_affine(g, x, W, b)));
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_affine: x is 2x3, W is 4x5");
    tg_graph_clear_error(g);
    tg_node W2 = tg_tensor_var(g, "W2b", 3, 5, NULL);
    size = tg_graph_size(g);
    ck_assert(tg_is_none(tg_affine(g, x, W2, tg_tensor_var(g, "b7", 1, 7, NULL))));
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_affine: x W is 2x5, b is 1x7");
    ck_assert_uint_eq(tg_graph_size(g), size + 1);  /* only the b7 leaf */
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_net_predict(net, TG_NONE)));
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_net_predict: x is the empty handle");
    tg_graph_clear_error(g);
    ck_assert(tg_is_none(tg_net_predict(net, x)));
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_net_predict: x is 2x3, the net takes 5 inputs");
    tg_graph_clear_error(g);
    tg_graph_rewind(g, m2);

    /* an evaluation uses the batch up: no gradient of a stale batch */
    tg_net *m = tg_net_new(6, 4, 10, 1);
    tg_mnist_set small = synthetic(10, 2);
    double acc;
    ck_assert_int_eq(tg_net_batch_mnist(m, &small, NULL, 0, 10), TG_OK);
    ck_assert_int_eq(tg_net_accuracy(m, &small, &acc), TG_OK);
    ck_assert_int_eq(tg_net_gradient(m, NULL), TG_ERR_ARG);
    ck_assert_str_eq(tg_graph_errmsg(tg_net_graph(m)),
                     "tg_net_gradient: no batch yet (tg_net_batch or tg_net_batch_mnist)");
    tg_mnist_set_free(&small);
    tg_net_free(m);

    ck_assert_ptr_null(tg_net_graph(NULL));
    ck_assert_uint_eq(tg_net_param_count(NULL), 0);
    ck_assert_int_eq(tg_net_train_step(NULL, 0.1, NULL), TG_ERR_ARG);
    tg_net_free(net);
}
END_TEST

START_TEST(affine_values)
{
    /* x W + b on a 2x3 case, by hand */
    tg_graph *g = tg_graph_new();
    const double xv[6] = { 1, 2, 3, 4, 5, 6 }, Wv[6] = { 1, -1, 0.5, 2, -2, 0 }, bv[2] = { 10, 20 };
    tg_node y = tg_affine(g, tg_tensor_const(g, 2, 3, xv), tg_tensor_var(g, "W", 3, 2, Wv),
                          tg_tensor_var(g, "b", 1, 2, bv));
    double out[4];
    ck_assert_int_eq(tg_tensor_get(g, y, out), TG_OK);
    ck_assert_double_eq(out[0], 1 * 1 + 2 * 0.5 + 3 * -2 + 10.0);
    ck_assert_double_eq(out[1], 1 * -1 + 2 * 2 + 3 * 0 + 20.0);
    ck_assert_double_eq(out[2], 4 * 1 + 5 * 0.5 + 6 * -2 + 10.0);
    ck_assert_double_eq(out[3], 4 * -1 + 5 * 2 + 6 * 0 + 20.0);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, rng_known_values);
    tcase_add_test(tc, rng_distributions);
    tcase_add_test(tc, init_and_layout);
    tcase_add_test(tc, tiny_loss_and_scores);
    tcase_add_test(tc, tiny_gradient);
    tcase_add_test(tc, tiny_numerical_gradient);
    tcase_add_test(tc, tiny_hessian_vector_product);
    tcase_add_test(tc, train_step_is_sgd);
    tcase_add_test(tc, no_allocation_after_first_step);
    tcase_add_test(tc, batch_resize_is_all_or_nothing);
    tcase_add_test(tc, calls_leave_the_tape);
    tcase_add_test(tc, accuracy_in_chunks);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, affine_values);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
