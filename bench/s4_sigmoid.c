/*
 * S4: y = sum_i sigmoid(x_i), n = 1e6, x uniform in [-20, 20], twice:
 * with the book's decomposed sigmoid (tg_sigmoid_decomposed: x*-1, exp,
 * +1, 1/x) and with the fused node (tg_sigmoid).  Each repetition starts
 * from an empty tape that keeps its storage, records the leaves and the
 * sum, and sweeps backward.  The inline tape and the bare tape do the same
 * (their decomposed sigmoid shares its two constants, recorded once), and
 * so does ADOL-C when built in (adolc.cc); all alternate so that all see
 * the same machine.  The gradients d y/d x_i = sigmoid'(x_i) of them all
 * must agree: the report gives the largest difference between tapegrad's
 * two.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adolc.h"
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

/* The same on the inline tape and on the bare tape. */
#define PLAIN_TEMPLATE "s4_plain.h"
#include "plaintapes.h"

static int alloc_samples(s4_samples *s, int reps)
{
    s->leaves = malloc((size_t)reps * sizeof(double));
    s->record = malloc((size_t)reps * sizeof(double));
    s->backward = malloc((size_t)reps * sizeof(double));
    s->total = malloc((size_t)reps * sizeof(double));
    return s->leaves && s->record && s->backward && s->total ? 0 : -1;
}

#if TGBENCH_ADOLC
/* ADOL-C's repetition, timed into s at r as the others are (the leaves
 * are not timed apart); the sweep always writes grad. */
static int adolc_once(const double *xv, size_t n, int fused, s4_samples *s, int r, double *grad)
{
    double ns[2];
    if (adolc_s4_once(xv, n, fused, grad, ns)) {
        fprintf(stderr, "S4: ADOL-C failed or wrote its tape to a file\n");
        return 1;
    }
    s->leaves[r] = 0.0;
    s->record[r] = ns[0];
    s->backward[r] = ns[1];
    s->total[r] = ns[0] + ns[1];
    return 0;
}
#endif

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
    il_id *px = malloc(n * sizeof *px);
    /* the plain tapes: inline decomposed and fused, bare decomposed and fused */
    enum { NPLAIN = 4 };
    static const char *const plain_name[NPLAIN] = {
        "inline tape, decomposed", "inline tape, fused", "bare tape, decomposed", "bare tape, fused",
    };
    double *g_plain = malloc(NPLAIN * n * sizeof *g_plain);
    s4_samples dec, fus, plain[NPLAIN], adolc[2];  /* adolc: decomposed, fused */
    double *g_adolc = malloc((TGBENCH_ADOLC ? 2 * n : 1) * sizeof *g_adolc);
    int nomem = alloc_samples(&dec, reps) | alloc_samples(&fus, reps);
    for (int k = 0; k < NPLAIN; k++) nomem |= alloc_samples(&plain[k], reps);
    for (int k = 0; k < 2; k++) nomem |= alloc_samples(&adolc[k], reps);
    nomem |= !xv || !g_dec || !g_fus || !x || !px || !g_plain || !g_adolc;
    if (nomem) {
        fprintf(stderr, "S4: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) xv[i] = bench_rng_uniform(&rng, -20.0, 20.0);

    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "S4: tg_graph_new failed\n");
        return 1;
    }
    int rc = 0;
    size_t nodes_dec = 0, nodes_fus = 0;
    /* tapegrad, the inline tape and the bare tape, each variant, take
     * turns every repetition.  A first repetition, r = -1, grows every
     * tape's storage and gives the gradients checked below; repetition 0
     * overwrites its times. */
    il_tape it, bt;
    il_init(&it);
    bt_init(&bt);
    for (int r = -1; r < reps && rc == 0; r++) {
        int at = r < 0 ? 0 : r;
        rc |= s4_once(g, xv, x, n, 0, &dec, at, r < 0 ? g_dec : NULL, &nodes_dec);
        rc |= s4_once(g, xv, x, n, 1, &fus, at, r < 0 ? g_fus : NULL, &nodes_fus);
        for (int k = 0; k < NPLAIN; k++) {
            double *grad = r < 0 ? g_plain + (size_t)k * n : NULL;
            if (k < 2) inline_s4_once(&it, xv, px, n, k & 1, &plain[k], at, grad);
            else bare_s4_once(&bt, xv, px, n, k & 1, &plain[k], at, grad);
        }
#if TGBENCH_ADOLC
        for (int k = 0; k < 2 && rc == 0; k++)
            rc |= adolc_once(xv, n, k, &adolc[k], at, g_adolc + (size_t)k * n);
#endif
    }
    il_free(&it);
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
    /* the plain tapes' fused slope is y (1 - y), which loses relative
     * accuracy where y nears 1: their gradients are compared absolutely */
    for (int k = 0; k < NPLAIN && rc == 0; k++) {
        double plain_diff = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs(g_plain[(size_t)k * n + i] - g_fus[i]);
            if (!(d <= plain_diff)) plain_diff = d;
        }
        if (!(plain_diff <= 1e-12)) {
            fprintf(stderr, "S4: the gradient of the %s is off by %g\n", plain_name[k], plain_diff);
            rc = 1;
        }
    }
    /* ADOL-C's two likewise (its sweep does not give y (1 - y), but the
     * chain rule through exp and the division) */
    for (int k = 0; k < 2 * TGBENCH_ADOLC && rc == 0; k++) {
        double adolc_diff = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs(g_adolc[(size_t)k * n + i] - g_fus[i]);
            if (!(d <= adolc_diff)) adolc_diff = d;
        }
        if (!(adolc_diff <= 1e-12)) {
            fprintf(stderr, "S4: ADOL-C's %s gradient is off by %g\n",
                    k ? "fused" : "decomposed", adolc_diff);
            rc = 1;
        }
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
        bench_stats idtot = bench_stats_of(plain[0].total, (size_t)reps);
        bench_stats iftot = bench_stats_of(plain[1].total, (size_t)reps);
        bench_stats bdtot = bench_stats_of(plain[2].total, (size_t)reps);
        bench_stats bftot = bench_stats_of(plain[3].total, (size_t)reps);
        bench_report_phase(r, "inline_decomposed", "inline tape: decomposed", idtot, (double)n, "x");
        bench_report_phase(r, "inline_fused", "inline tape: fused", iftot, (double)n, "x");
        bench_report_phase(r, "bare_decomposed", "bare C tape: decomposed", bdtot, (double)n, "x");
        bench_report_phase(r, "bare_fused", "bare C tape: fused", bftot, (double)n, "x");
        bench_stats adtot = { 0, 0 }, aftot = { 0, 0 };
        if (TGBENCH_ADOLC) {
            adtot = bench_stats_of(adolc[0].total, (size_t)reps);
            aftot = bench_stats_of(adolc[1].total, (size_t)reps);
            bench_report_phase(r, "adolc_decomposed", "ADOL-C: decomposed", adtot, (double)n, "x");
            bench_report_phase(r, "adolc_fused", "ADOL-C: 1 / (1 + exp(-x))", aftot, (double)n,
                               "x");
        }
        bench_report_num(r, "decomposed_ms", "decomposed (median)", dtot.median / 1e6, 2,
                         dec_unit);
        bench_report_num(r, "fused_ms", "fused (median)", ftot.median / 1e6, 2, fus_unit);
        bench_report_num(r, "decomposed_ns_per_x", "decomposed per x", dtot.median / (double)n, 1,
                         "ns");
        bench_report_num(r, "fused_ns_per_x", "fused per x", ftot.median / (double)n, 1, "ns");
        bench_report_num(r, "inline_decomposed_ns_per_x", NULL, idtot.median / (double)n, 2, NULL);
        bench_report_num(r, "inline_fused_ns_per_x", NULL, iftot.median / (double)n, 2, NULL);
        bench_report_num(r, "inline_decomposed_ratio", "decomposed: tapegrad / inline tape",
                         dtot.median / idtot.median, 2, "(target <= 1.0)");
        bench_report_num(r, "inline_fused_ratio", "fused: tapegrad / inline tape",
                         ftot.median / iftot.median, 2, "(target <= 1.0)");
        bench_report_num(r, "adolc", NULL, TGBENCH_ADOLC, 0, NULL);
        if (TGBENCH_ADOLC) {
            bench_report_num(r, "adolc_decomposed_ns_per_x", NULL, adtot.median / (double)n, 2,
                             NULL);
            bench_report_num(r, "adolc_fused_ns_per_x", NULL, aftot.median / (double)n, 2, NULL);
            bench_report_num(r, "adolc_over_tapegrad_decomposed", "decomposed: ADOL-C / tapegrad",
                             adtot.median / dtot.median, 2, "");
            bench_report_num(r, "adolc_over_tapegrad_fused", "fused: ADOL-C / tapegrad",
                             aftot.median / ftot.median, 2, "");
        } else {
            bench_report_note(r, "ADOL-C: not built in");
        }
        bench_report_num(r, "target_inline_decomposed_ratio", NULL, 1.0, 2, NULL);
        bench_report_num(r, "target_inline_fused_ratio", NULL, 1.0, 2, NULL);
        bench_report_num(r, "decomposed_nodes_per_x", "nodes per x: decomposed",
                         (double)nodes_dec / (double)n, 2, "");
        bench_report_num(r, "fused_nodes_per_x", "nodes per x: fused", (double)nodes_fus / (double)n,
                         2, "");
        bench_report_num(r, "max_grad_diff", "max |grad decomposed - grad fused|", max_diff, -3, "");
        bench_report_num(r, "max_grad_rel_diff", "  relative", max_rel, -3, "");
        bench_report_num(r, "peak_rss_kib", "peak RSS (all tapes)", (double)peak, 0, "KiB");
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
    for (int k = 0; k < NPLAIN; k++) free_samples(&plain[k]);
    for (int k = 0; k < 2; k++) free_samples(&adolc[k]);
    free(g_adolc);
    free(px);
    free(g_plain);
    return rc;
}
