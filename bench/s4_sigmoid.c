/*
 * S4: y = sum_i sigmoid(x_i), n = 1e6, twice: with the book's decomposed
 * sigmoid (tg_sigmoid_decomposed: x*-1, exp, +1, 1/x) and with the fused
 * node (tg_sigmoid).  Each repetition starts from an empty tape that keeps
 * its storage, records the leaves and the sum, and sweeps backward; the two
 * variants alternate so that both see the same machine.  The gradients
 * d y/d x_i = sigmoid'(x_i) of the two must agree: the report gives the
 * largest difference.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baretape.h"
#include "harness.h"
#include "tapegrad/tapegrad.h"

typedef struct s4_samples {
    double *leaves, *record, *backward, *total;
} s4_samples;

/* One repetition; fills grad[] from the sweep when grad is not NULL. */
static int s4_once(tg_graph *g, const double *xv, tg_node *x, size_t n, int fused,
                   s4_samples *s, int r, double *grad, size_t *nodes)
{
    tg_graph_rewind(g, 0);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) x[i] = tg_var(g, NULL, xv[i]);
    uint64_t t1 = bench_now_ns();
    tg_node acc = TG_NONE;
    for (size_t i = 0; i < n; i++) {
        tg_node y = fused ? tg_sigmoid(g, x[i]) : tg_sigmoid_decomposed(g, x[i]);
        acc = i ? tg_add(g, acc, y) : y;
    }
    uint64_t t2 = bench_now_ns();
    tg_backward(g, acc);
    uint64_t t3 = bench_now_ns();
    s->leaves[r] = (double)(t1 - t0);
    s->record[r] = (double)(t2 - t0);
    s->backward[r] = (double)(t3 - t2);
    s->total[r] = (double)(t3 - t0);
    *nodes = tg_graph_size(g);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "S4 (%s): %s\n", fused ? "fused" : "decomposed", tg_graph_errmsg(g));
        return 1;
    }
    if (grad)
        for (size_t i = 0; i < n; i++) grad[i] = tg_grad(g, x[i]);
    return 0;
}

/* The same on the bare tape, node for node: the decomposed sigmoid records
 * its two constants each time, as tg_sigmoid_decomposed does. */
static void s4_bare_once(bt_tape *t, const double *xv, bt_id *x, size_t n, int fused,
                         s4_samples *s, int r, double *grad)
{
    bt_rewind(t, 0);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) x[i] = bt_leaf(t, xv[i]);
    uint64_t t1 = bench_now_ns();
    bt_id acc = 0;
    for (size_t i = 0; i < n; i++) {
        bt_id y;
        if (fused) {
            y = bt_sigmoid(t, x[i]);
        } else {
            bt_id e = bt_exp(t, bt_mul(t, x[i], bt_leaf(t, -1.0)));
            y = bt_recip(t, bt_add(t, e, bt_leaf(t, 1.0)));
        }
        acc = i ? bt_add(t, acc, y) : y;
    }
    uint64_t t2 = bench_now_ns();
    bt_backward(t, acc);
    uint64_t t3 = bench_now_ns();
    s->leaves[r] = (double)(t1 - t0);
    s->record[r] = (double)(t2 - t0);
    s->backward[r] = (double)(t3 - t2);
    s->total[r] = (double)(t3 - t0);
    if (grad)
        for (size_t i = 0; i < n; i++) grad[i] = bt_grad(t, x[i]);
}

static int alloc_samples(s4_samples *s, int reps)
{
    s->leaves = malloc((size_t)reps * sizeof(double));
    s->record = malloc((size_t)reps * sizeof(double));
    s->backward = malloc((size_t)reps * sizeof(double));
    s->total = malloc((size_t)reps * sizeof(double));
    return s->leaves && s->record && s->backward && s->total ? 0 : -1;
}

static void free_samples(s4_samples *s)
{
    free(s->leaves);
    free(s->record);
    free(s->backward);
    free(s->total);
}

int bench_s4(const bench_opts *o)
{
    const size_t n = o->n ? (size_t)o->n : (o->quick ? 100000 : 1000000);
    const int reps = o->reps ? o->reps : (o->quick ? 3 : 11);

    bench_rng rng = { 0x5eed0004u };
    double *xv = malloc(n * sizeof *xv);
    double *g_dec = malloc(n * sizeof *g_dec), *g_fus = malloc(n * sizeof *g_fus);
    tg_node *x = malloc(n * sizeof *x);
    bt_id *bx = malloc(n * sizeof *bx);
    double *g_bare = malloc(n * sizeof *g_bare);
    s4_samples dec, fus, bdec, bfus;
    if (!xv || !g_dec || !g_fus || !x || !bx || !g_bare || alloc_samples(&dec, reps) ||
        alloc_samples(&fus, reps) || alloc_samples(&bdec, reps) || alloc_samples(&bfus, reps)) {
        fprintf(stderr, "S4: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) xv[i] = bench_rng_uniform(&rng, -8.0, 8.0);

    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "S4: tg_graph_new failed\n");
        return 1;
    }
    int rc = 0;
    size_t nodes_dec = 0, nodes_fus = 0;
    /* tapegrad and the bare tape, each variant, take turns every
     * repetition; the bare tape's fused gradient lands in g_bare */
    bt_tape bt;
    bt_init(&bt);
    for (int r = 0; r < reps && rc == 0; r++) {
        rc |= s4_once(g, xv, x, n, 0, &dec, r, r == 0 ? g_dec : NULL, &nodes_dec);
        rc |= s4_once(g, xv, x, n, 1, &fus, r, r == 0 ? g_fus : NULL, &nodes_fus);
        s4_bare_once(&bt, xv, bx, n, 0, &bdec, r, NULL);
        s4_bare_once(&bt, xv, bx, n, 1, &bfus, r, r == 0 ? g_bare : NULL);
    }
    bt_free(&bt);
    long peak = bench_peak_rss_kib();
    tg_graph_free(g);

    double max_diff = 0.0, max_rel = 0.0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        double d = fabs(g_dec[i] - g_fus[i]);
        double rel = d / fabs(g_fus[i]);
        if (!(d <= max_diff)) max_diff = d;
        if (!(rel <= max_rel)) max_rel = rel;
    }
    if (rc == 0 && !(max_rel <= 1e-12)) {
        fprintf(stderr, "S4: the two gradients differ by %.3g (relative %.3g)\n", max_diff, max_rel);
        rc = 1;
    }
    double bare_diff = 0.0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        double d = fabs(g_bare[i] - g_fus[i]);
        if (!(d <= bare_diff)) bare_diff = d;
    }
    if (rc == 0 && !(bare_diff <= 1e-12)) {
        fprintf(stderr, "S4: the bare tape's gradient is off by %g\n", bare_diff);
        rc = 1;
    }

    if (rc == 0) {
        bench_stats dtot = bench_stats_of(dec.total, (size_t)reps);
        bench_stats ftot = bench_stats_of(fus.total, (size_t)reps);
        /* the targets are for n = 1e6; other sizes scale them */
        const double scale = (double)n / 1e6;
        const double target_dec_ms = 25.0 * scale, target_fus_ms = 15.0 * scale;
        char dec_unit[64], fus_unit[64];
        snprintf(dec_unit, sizeof dec_unit, "ms (target <= %.3g)", target_dec_ms);
        snprintf(fus_unit, sizeof fus_unit, "ms (target <= %.3g)", target_fus_ms);
        bench_report *r = bench_report_new("S4", "sum of sigmoid(x_i): decomposed and fused");
        bench_report_title(r, "sum of sigmoid(x_i), n = %zu: record (leaves included) + backward; "
                              "%d repetitions each", n, reps);
        bench_report_num(r, "n", NULL, (double)n, 0, NULL);
        bench_report_num(r, "size", NULL, (double)n, 0, NULL);
        bench_report_num(r, "repetitions", NULL, reps, 0, NULL);
        bench_report_num(r, "decomposed_nodes", NULL, (double)nodes_dec, 0, NULL);
        bench_report_num(r, "fused_nodes", NULL, (double)nodes_fus, 0, NULL);
        bench_report_phase(r, "leaves", "leaves (n tg_var)", bench_stats_of(dec.leaves, (size_t)reps),
                           (double)n, "x");
        bench_report_phase(r, "decomposed_record", "decomposed: record",
                           bench_stats_of(dec.record, (size_t)reps), (double)nodes_dec, "node");
        bench_report_phase(r, "decomposed_backward", "decomposed: backward",
                           bench_stats_of(dec.backward, (size_t)reps), (double)nodes_dec, "node");
        bench_report_phase(r, "decomposed", "decomposed: record + backward", dtot,
                           (double)nodes_dec, "node");
        bench_report_phase(r, "fused_record", "fused: record",
                           bench_stats_of(fus.record, (size_t)reps), (double)nodes_fus, "node");
        bench_report_phase(r, "fused_backward", "fused: backward",
                           bench_stats_of(fus.backward, (size_t)reps), (double)nodes_fus, "node");
        bench_report_phase(r, "fused", "fused: record + backward", ftot, (double)nodes_fus, "node");
        bench_stats bdtot = bench_stats_of(bdec.total, (size_t)reps);
        bench_stats bftot = bench_stats_of(bfus.total, (size_t)reps);
        bench_report_phase(r, "bare_decomposed", "bare C tape: decomposed", bdtot, (double)nodes_dec,
                           "node");
        bench_report_phase(r, "bare_fused", "bare C tape: fused", bftot, (double)nodes_fus, "node");
        bench_report_num(r, "decomposed_ms", "decomposed (median)", dtot.median / 1e6, 2,
                         dec_unit);
        bench_report_num(r, "fused_ms", "fused (median)", ftot.median / 1e6, 2, fus_unit);
        bench_report_num(r, "decomposed_nodes_per_x", "nodes per x: decomposed",
                         (double)nodes_dec / (double)n, 2, "");
        bench_report_num(r, "fused_nodes_per_x", "nodes per x: fused", (double)nodes_fus / (double)n,
                         2, "");
        bench_report_num(r, "max_grad_diff", "max |grad decomposed - grad fused|", max_diff, -3, "");
        bench_report_num(r, "max_grad_rel_diff", "  relative", max_rel, -3, "");
        bench_report_num(r, "peak_rss_kib", "peak RSS (both tapes)", (double)peak, 0, "KiB");
        bench_report_num(r, "target_decomposed_ms", NULL, target_dec_ms, 3, NULL);
        bench_report_num(r, "target_fused_ms", NULL, target_fus_ms, 3, NULL);
        bench_report_num(r, "decomposed_ratio", "decomposed / target", dtot.median / 1e6 / target_dec_ms,
                         2, "");
        bench_report_num(r, "fused_ratio", "fused / target", ftot.median / 1e6 / target_fus_ms, 2, "");
        bench_report_num(r, "bare_decomposed_ratio", "decomposed: tapegrad / bare tape",
                         dtot.median / bdtot.median, 2, "(target 25 / 32 = 0.78)");
        bench_report_num(r, "bare_fused_ratio", "fused: tapegrad / bare tape",
                         ftot.median / bftot.median, 2, "(target 15 / 24 = 0.63)");
        bench_report_num(r, "target_bare_decomposed_ratio", NULL, 25.0 / 32.0, 3, NULL);
        bench_report_num(r, "target_bare_fused_ratio", NULL, 15.0 / 24.0, 3, NULL);
        bench_report_num(r, "fused_speedup", "decomposed / fused", dtot.median / ftot.median, 2, "x");
        bench_report_str(r, "reference", NULL,
                         "issue 5: ADOL-C decomposed 171 ms; bare C tape 32 / 24 ms; "
                         "PyTorch vectorized 7 / 1.4 ms");
        bench_report_note(r, "others on this kind of machine: bare C tape 32 / 24 ms, ADOL-C "
                             "decomposed 171 ms, PyTorch vectorized 7 / 1.4 ms");
        bench_report_emit(r, o->json);
        bench_report_free(r);
    }
    free(xv);
    free(g_dec);
    free(g_fus);
    free(x);
    free_samples(&dec);
    free_samples(&fus);
    free_samples(&bdec);
    free_samples(&bfus);
    free(bx);
    free(g_bare);
    return rc;
}
