/*
 * M1: one recorded scalar tape at many points.  tg_eval_batch at k = 64
 * points against k single-point replays of the same tape (tg_set_value
 * on every variable, tg_forward, tg_backward, tg_grad of every variable),
 * in the same run, with the numbers checked equal bit for bit first.
 *
 *   - the chained Rosenbrock function of S2 at n = 1e4 (variables: x);
 *     points 0.7 - 0.002 ((i + p) mod 50);
 *   - S3's MLP 2-16-16-1 (tanh) on one sample, its variables the two
 *     inputs and the 337 parameters: each point is a sample with the same
 *     parameters, so the batch's gradient rows are the sample-wise
 *     gradients.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tapegrad/tapegrad.h"

enum { K = 64 };

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "tgbench m1: out of memory\n");
        exit(1);
    }
    return p;
}

/* sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 */
static tg_node chained_rosen(tg_graph *g, const tg_node *x, size_t n)
{
    tg_node hundred = tg_const(g, 100.0), one = tg_const(g, 1.0), f = TG_NONE;
    for (size_t i = 0; i + 1 < n; i++) {
        tg_node a = tg_sub(g, x[i + 1], tg_mul(g, x[i], x[i]));
        tg_node b = tg_sub(g, one, x[i]);
        tg_node t = tg_add(g, tg_mul(g, hundred, tg_mul(g, a, a)), tg_mul(g, b, b));
        f = i ? tg_add(g, f, t) : t;
    }
    return f;
}

/* 2-16-16-1 tanh on inputs x[0], x[1], parameters x[2...] (337). */
static tg_node mlp(tg_graph *g, const tg_node *x)
{
    const tg_node *p = x + 2;
    tg_node h1[16], h2[16];
    for (int j = 0; j < 16; j++) {
        tg_node s = *p++;
        for (int k = 0; k < 2; k++) s = tg_add(g, s, tg_mul(g, *p++, x[k]));
        h1[j] = tg_tanh(g, s);
    }
    for (int j = 0; j < 16; j++) {
        tg_node s = *p++;
        for (int k = 0; k < 16; k++) s = tg_add(g, s, tg_mul(g, *p++, h1[k]));
        h2[j] = tg_tanh(g, s);
    }
    tg_node s = *p++;
    for (int k = 0; k < 16; k++) s = tg_add(g, s, tg_mul(g, *p++, h2[k]));
    return s;
}

/* k single-point replays: values into ys, gradients into grads. */
static void singles(tg_graph *g, tg_node y, size_t n, const tg_node *x, const double *xs, double *ys,
                    double *grads)
{
    for (size_t p = 0; p < K; p++) {
        for (size_t i = 0; i < n; i++) tg_set_value(g, x[i], xs[p * n + i]);
        tg_forward(g);
        tg_backward(g, y);
        ys[p] = tg_value(g, y);
        for (size_t i = 0; i < n; i++) grads[p * n + i] = tg_grad(g, x[i]);
    }
}

/* One tape: check, then time the two alternately. */
static int one_tape(bench_report *rep, const char *key, const char *what, tg_graph *g, tg_node y,
                    size_t n, const tg_node *x, const double *xs, int reps)
{
    double *ys = xcalloc(K, sizeof *ys), *ys1 = xcalloc(K, sizeof *ys1);
    double *gr = xcalloc(K * n, sizeof *gr), *gr1 = xcalloc(K * n, sizeof *gr1);
    int rc = 0;
    if (tg_eval_batch(g, y, n, x, K, xs, ys, gr, NULL) != TG_OK) {
        fprintf(stderr, "tgbench m1: %s\n", tg_graph_errmsg(g));
        rc = 1;
    }
    singles(g, y, n, x, xs, ys1, gr1);
    if (!rc && (memcmp(ys, ys1, K * sizeof *ys) || memcmp(gr, gr1, K * n * sizeof *gr))) {
        fprintf(stderr, "tgbench m1: %s: the batch differs from the single points\n", what);
        rc = 1;
    }
    if (!rc) {
        double *tb = xcalloc((size_t)reps, sizeof *tb), *ts = xcalloc((size_t)reps, sizeof *ts);
        for (int r = 0; r < reps; r++) {  /* alternately */
            uint64_t t0 = bench_now_ns();
            tg_eval_batch(g, y, n, x, K, xs, ys, gr, NULL);
            uint64_t t1 = bench_now_ns();
            singles(g, y, n, x, xs, ys1, gr1);
            uint64_t t2 = bench_now_ns();
            tb[r] = (double)(t1 - t0);
            ts[r] = (double)(t2 - t1);
        }
        bench_stats sb = bench_stats_of(tb, (size_t)reps), ss = bench_stats_of(ts, (size_t)reps);
        char k1[64], k2[64], k3[64], label[96];
        snprintf(k1, sizeof k1, "%s_batch", key);
        snprintf(k2, sizeof k2, "%s_singles", key);
        snprintf(k3, sizeof k3, "%s_ratio", key);
        snprintf(label, sizeof label, "%s: tg_eval_batch, k = %d", what, K);
        bench_report_phase(rep, k1, label, sb, K, "point");
        snprintf(label, sizeof label, "%s: %d single-point replays", what, K);
        bench_report_phase(rep, k2, label, ss, K, "point");
        bench_report_num(rep, k3, "    batch / single points (target <= 0.125)", sb.median / ss.median, 3, "x");
        free(tb);
        free(ts);
    }
    free(ys);
    free(ys1);
    free(gr);
    free(gr1);
    return rc;
}

int bench_m1(const bench_opts *o)
{
    int reps = o->reps ? o->reps : o->quick ? 3 : 11;
    size_t n = o->quick ? 1000 : 10000;
    bench_report *rep = bench_report_new("M1", "one tape at k points: tg_eval_batch vs single-point replays");
    bench_report_title(rep, "tg_eval_batch at k = %d points vs %d replays, alternately (%d repetitions)", K, K,
                       reps);
    bench_report_num(rep, "k", NULL, K, 0, NULL);
    bench_report_num(rep, "n", NULL, (double)n, 0, NULL);

    tg_graph *g = tg_graph_new();
    tg_node *x = xcalloc(n, sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = tg_var(g, NULL, 0.5 + 0.001 * (double)(i % 100));
    tg_node f = chained_rosen(g, x, n);
    double *xs = xcalloc(K * n, sizeof *xs);
    for (size_t p = 0; p < K; p++)
        for (size_t i = 0; i < n; i++) xs[p * n + i] = 0.7 - 0.002 * (double)((i + p) % 50);
    int rc = one_tape(rep, "rosen", "Rosenbrock", g, f, n, x, xs, reps);
    tg_graph_free(g);
    free(x);
    free(xs);

    enum { NM = 2 + 16 * 3 + 16 * 17 + 17 };
    bench_rng rng = { 0x3a1 };
    g = tg_graph_new();
    tg_node xm[NM];
    double x0[NM];
    for (int i = 0; i < NM; i++) {
        x0[i] = i < 2 ? bench_rng_uniform(&rng, -1, 1) : 0.5 * bench_rng_normal(&rng);
        xm[i] = tg_var(g, NULL, x0[i]);
    }
    tg_node s = mlp(g, xm);
    double *xsm = xcalloc(K * NM, sizeof *xsm);
    for (size_t p = 0; p < K; p++) {
        memcpy(xsm + p * NM, x0, sizeof x0);
        xsm[p * NM] = bench_rng_uniform(&rng, -1.5, 2.5);  /* the sample */
        xsm[p * NM + 1] = bench_rng_uniform(&rng, -1, 1.5);
    }
    if (!rc) rc = one_tape(rep, "mlp", "MLP sample-wise gradients", g, s, NM, xm, xsm, reps);
    tg_graph_free(g);
    free(xsm);
    if (!rc) bench_report_emit(rep, o->json);
    bench_report_free(rep);
    return rc;
}
