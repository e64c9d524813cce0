/*
 * Different graphs share nothing (tapegrad.h, "Threads"): four threads at
 * once each record, replay, backward-sweep, rewind and draw their own
 * graphs, scalar and tensor, and train their own TwoLayerNet; every number
 * they produce must equal, bit for bit, what the same work gives on one
 * thread.  .ci/hardening runs this under ThreadSanitizer.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad/nn.h>

#include "alloc.h"
#include "hard.h"
#include "runner.h"

enum { NTHREADS = 4, STEPS = 250, OUTS = 9 + 2 * STEPS };

typedef struct job {
    unsigned seed;
    pthread_barrier_t *start;  /* NULL when run alone */
    inj_alloc mem;            /* each thread's graph has its own allocator */
    double out[OUTS];
    int n;
    char err[256];
} job;

static void put(job *j, double v)
{
    if (j->n < OUTS) j->out[j->n++] = v;
}

static void job_fail(job *j, const char *what, const tg_graph *g)
{
    if (!j->err[0]) snprintf(j->err, sizeof j->err, "%s: %s", what, g ? tg_graph_errmsg(g) : "");
}

/* A scalar expression with a relu kink far away, recorded once, replayed
 * at several points, swept each time. */
static void scalar_work(job *j)
{
    tg_allocator a = inj_use(&j->mem);
    tg_graph *g = tg_graph_new_with(&a);
    if (!g) { job_fail(j, "graph", NULL); return; }
    double s = j->seed;
    tg_node x = tg_var(g, "x", 0.5 + s);
    tg_node y = tg_var(g, "y", -1.25);
    tg_group_begin(g, "layer");
    tg_node u = tg_mul(g, tg_sigmoid(g, tg_mul(g, x, y)), tg_tanh(g, x));
    tg_group_end(g);
    tg_node f = tg_add(g, tg_div(g, u, tg_add(g, tg_exp(g, y), tg_const(g, 1.0))),
                       tg_relu(g, tg_add(g, x, tg_const(g, 100.0))));
    for (int k = 0; k < 4; k++) {
        if (tg_set_value(g, x, 0.5 + s + 0.25 * k) != TG_OK || tg_forward(g) != TG_OK ||
            tg_backward(g, f) != TG_OK) {
            job_fail(j, "scalar replay", g);
            break;
        }
        put(j, tg_value(g, f));
        put(j, tg_grad(g, x));
    }
    FILE *dot = tmpfile();
    if (dot) {
        if (tg_graph_write_dot(g, dot) != TG_OK) job_fail(j, "dot", g);
        put(j, (double)ftell(dot));
        fclose(dot);
    }
    tg_graph_free(g);
}

/* A small network trained by hand: mark, record, backward, SGD, rewind. */
static void tensor_work(job *j)
{
    tg_allocator a = inj_use(&j->mem);
    tg_graph *g = tg_graph_new_with(&a);
    if (!g) { job_fail(j, "graph", NULL); return; }
    tg_rng r = tg_rng_seed(j->seed);
    double w1[6 * 8], b1[8] = { 0 }, w2[8 * 3], b2[3] = { 0 }, xs[5 * 6], ts[5 * 3] = { 0 };
    for (size_t i = 0; i < sizeof w1 / sizeof *w1; i++) w1[i] = 0.3 * tg_rng_normal(&r);
    for (size_t i = 0; i < sizeof w2 / sizeof *w2; i++) w2[i] = 0.3 * tg_rng_normal(&r);
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) xs[i] = tg_rng_uniform(&r);
    for (int i = 0; i < 5; i++) ts[i * 3 + (int)tg_rng_below(&r, 3)] = 1.0;
    tg_node W1 = tg_tensor_var(g, "W1", 6, 8, w1), B1 = tg_tensor_var(g, "b1", 1, 8, b1);
    tg_node W2 = tg_tensor_var(g, "W2", 8, 3, w2), B2 = tg_tensor_var(g, "b2", 1, 3, b2);
    tg_node X = tg_tensor_const(g, 5, 6, xs), T = tg_tensor_const(g, 5, 3, ts);
    size_t mark = tg_graph_mark(g);
    tg_node params[4] = { W1, B1, W2, B2 };
    for (int step = 0; step < STEPS; step++) {
        tg_node h = tg_relu(g, tg_add(g, tg_matmul(g, X, W1), B1));
        tg_node loss = tg_softmax_cross_entropy(g, tg_add(g, tg_matmul(g, h, W2), B2), T);
        if (tg_backward(g, loss) != TG_OK) { job_fail(j, "tensor backward", g); break; }
        put(j, tg_value(g, loss));
        for (int p = 0; p < 4; p++) {
            size_t rows, cols;
            tg_shape(g, params[p], &rows, &cols);
            double *v = tg_tensor_data(g, params[p]);
            const double *d = tg_tensor_gradp(g, params[p]);
            for (size_t i = 0; i < rows * cols; i++) v[i] -= 0.5 * d[i];
        }
        if (tg_graph_rewind(g, mark) != TG_OK) { job_fail(j, "rewind", g); break; }
    }
    tg_graph_free(g);
}

/* The nn layer's own training step. */
static void net_work(job *j)
{
    tg_allocator a = inj_use(&j->mem);
    tg_net *net = tg_net_new_with(12, 6, 4, j->seed, &a);
    if (!net) { job_fail(j, "net", NULL); return; }
    tg_rng r = tg_rng_seed(j->seed + 1000);
    double x[7 * 12], t[7 * 4] = { 0 };
    for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = tg_rng_uniform(&r);
    for (int i = 0; i < 7; i++) t[i * 4 + (int)tg_rng_below(&r, 4)] = 1.0;
    if (tg_net_batch(net, x, t, 7) != TG_OK) job_fail(j, "batch", tg_net_graph(net));
    for (int step = 0; step < STEPS; step++) {
        double loss;
        if (tg_net_train_step(net, 0.3, &loss) != TG_OK) { job_fail(j, "train", tg_net_graph(net)); break; }
        put(j, loss);
    }
    tg_net_free(net);
}

static void *run_job(void *arg)
{
    job *j = arg;
    j->n = 0;
    if (j->start) pthread_barrier_wait(j->start);   /* all threads at once */
    scalar_work(j);
    tensor_work(j);
    net_work(j);
    return NULL;
}

START_TEST(threads_match_one_thread)
{
    job ref[NTHREADS], par[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        memset(&ref[i], 0, sizeof ref[i]);
        memset(&par[i], 0, sizeof par[i]);
        ref[i].seed = par[i].seed = 11u + 7u * (unsigned)i;
        run_job(&ref[i]);
        ck_assert_msg(!ref[i].err[0], "single thread, job %d: %s", i, ref[i].err);
        ck_assert_int_eq(ref[i].n, OUTS);
        ck_assert_int_eq(ref[i].mem.live, 0);
    }
    /* Jobs differ from each other: the comparison below can tell threads apart. */
    ck_assert(!same_bits(ref[0].out[0], ref[1].out[0]));

    pthread_barrier_t start;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, NTHREADS), 0);
    for (int round = 0; round < 3; round++) {
        pthread_t th[NTHREADS];
        for (int i = 0; i < NTHREADS; i++) {
            par[i].start = &start;
            memset(&par[i].mem, 0, sizeof par[i].mem);
            par[i].err[0] = '\0';
            ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &par[i]), 0);
        }
        for (int i = 0; i < NTHREADS; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        for (int i = 0; i < NTHREADS; i++) {
            ck_assert_msg(!par[i].err[0], "thread %d: %s", i, par[i].err);
            ck_assert_int_eq(par[i].n, OUTS);
            ck_assert_int_eq(par[i].mem.live, 0);
            ck_assert_int_eq(par[i].mem.bad_frees, 0);
            for (int k = 0; k < OUTS; k++)
                ck_assert_msg(same_bits(par[i].out[k], ref[i].out[k]),
                              "round %d, thread %d, output %d: %.17g, one thread gave %.17g",
                              round, i, k, par[i].out[k], ref[i].out[k]);
        }
    }
    pthread_barrier_destroy(&start);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("independent graphs");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, threads_match_one_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(threads_suite());
}
