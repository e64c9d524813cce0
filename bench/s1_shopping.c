/*
 * S1: the book's apple + orange graph (chapter 5.4), with unnamed leaves.
 *
 *     price = (apple * apple_num + orange * orange_num) * tax
 *
 * nine nodes: five leaves, three products, one sum.  One repetition is what
 * a loop that rebuilds a small graph per sample does: mark, build, backward,
 * read the five gradients, rewind.  It measures the fixed cost of each
 * call, since the arithmetic is four flops.  The inline tape (inltape.h)
 * and the bare tape (baretape.h) run the same loop in the same run, and
 * ADOL-C when built in (adolc.cc: trace, fos_reverse, read).
 */
#include <math.h>
#include <stdio.h>

#include "adolc.h"
#include "baretape.h"
#include "harness.h"
#include "tapegrad/tapegrad.h"

typedef struct shopping {
    tg_node apple, apple_num, orange, orange_num, tax, price;
} shopping;

static inline shopping shopping_build(tg_graph *g)
{
    shopping s;
    s.apple = tg_var(g, NULL, 100.0);
    s.apple_num = tg_var(g, NULL, 2.0);
    s.orange = tg_var(g, NULL, 150.0);
    s.orange_num = tg_var(g, NULL, 3.0);
    s.tax = tg_var(g, NULL, 1.1);
    tg_node apple_price = tg_mul(g, s.apple, s.apple_num);
    tg_node orange_price = tg_mul(g, s.orange, s.orange_num);
    tg_node all_price = tg_add(g, apple_price, orange_price);
    s.price = tg_mul(g, all_price, s.tax);
    return s;
}

/* The same graph on the inline tape and on the bare tape. */
#define PLAIN_TEMPLATE "s1_plain.h"
#include "plaintapes.h"

/* The sum of the five gradients the book gives. */
static const double grad_sum = 2.2 + 110.0 + 3.3 + 165.0 + 650.0;

/* The book's figures: price 715, d/dapple 2.2, d/dapple_num 110,
 * d/dorange 3.3, d/dorange_num 165, d/dtax 650. */
static int shopping_check(tg_graph *g)
{
    size_t mark = tg_graph_mark(g);
    shopping s = shopping_build(g);
    tg_backward(g, s.price);
    const struct { const char *what; double got, want; } c[] = {
        { "price", tg_value(g, s.price), 715.0 },
        { "d price/d apple", tg_grad(g, s.apple), 2.2 },
        { "d price/d apple_num", tg_grad(g, s.apple_num), 110.0 },
        { "d price/d orange", tg_grad(g, s.orange), 3.3 },
        { "d price/d orange_num", tg_grad(g, s.orange_num), 165.0 },
        { "d price/d tax", tg_grad(g, s.tax), 650.0 },
    };
    int bad = 0;
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "S1: %s\n", tg_graph_errmsg(g));
        bad = 1;
    }
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (!(fabs(c[i].got - c[i].want) <= 1e-9 * fabs(c[i].want))) {
            fprintf(stderr, "S1: %s is %.17g, the book says %g\n", c[i].what, c[i].got, c[i].want);
            bad = 1;
        }
    }
    tg_graph_rewind(g, mark);
#if TGBENCH_ADOLC
    double a[6];
    if (adolc_s1_once(a)) {
        fprintf(stderr, "S1: ADOL-C failed or wrote its tape to a file\n");
        bad = 1;
    }
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (!(fabs(a[i] - c[i].want) <= 1e-9 * fabs(c[i].want))) {
            fprintf(stderr, "S1: ADOL-C's %s is %.17g, the book says %g\n", c[i].what, a[i],
                    c[i].want);
            bad = 1;
        }
    }
#endif
    return bad;
}

int bench_s1(const bench_opts *o)
{
    const long loops = o->quick ? 100000 : 1000000;
    const int reps = o->reps ? o->reps : (o->quick ? 3 : 7);

    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "S1: tg_graph_new failed\n");
        return 1;
    }
    if (shopping_check(g)) {
        tg_graph_free(g);
        return 1;
    }

    /* tapegrad, the inline tape and the bare tape (and ADOL-C) take turns,
     * one sample each, so that all meet the same interference from the
     * rest of the machine */
    double samples[64], inline_samples[64], bare_samples[64], adolc_samples[64];
    int nsamples = reps < 64 ? reps : 64;
    il_tape it;
    bt_tape bt;
    il_init(&it);
    bt_init(&bt);
    double sum = 0.0, inline_sum = 0.0, bare_sum = 0.0, adolc_sum = 0.0;
    int adolc_rc = 0;
    for (int r = 0; r < nsamples; r++) {
        uint64_t t0 = bench_now_ns();
        for (long k = 0; k < loops; k++) {
            size_t mark = tg_graph_mark(g);
            shopping s = shopping_build(g);
            tg_backward(g, s.price);
            sum += tg_grad(g, s.apple) + tg_grad(g, s.apple_num) + tg_grad(g, s.orange) +
                   tg_grad(g, s.orange_num) + tg_grad(g, s.tax);
            tg_graph_rewind(g, mark);
        }
        uint64_t t1 = bench_now_ns();
        for (long k = 0; k < loops; k++) inline_sum += inline_shopping(&it);
        uint64_t t2 = bench_now_ns();
        for (long k = 0; k < loops; k++) bare_sum += bare_shopping(&bt);
        uint64_t t3 = bench_now_ns();
        samples[r] = (double)(t1 - t0) / (double)loops;
        inline_samples[r] = (double)(t2 - t1) / (double)loops;
        bare_samples[r] = (double)(t3 - t2) / (double)loops;
#if TGBENCH_ADOLC
        double part;
        adolc_rc |= adolc_s1_loop(loops, &part);
        adolc_sum += part;
        adolc_samples[r] = (double)(bench_now_ns() - t3) / (double)loops;
#else
        adolc_samples[r] = 0.0;
#endif
    }
    il_free(&it);
    bt_free(&bt);
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "S1: %s\n", tg_graph_errmsg(g));
        tg_graph_free(g);
        return 1;
    }
    const double reads = (double)loops * nsamples;
    const struct { const char *who; double sum; } sums[] = {
        { "tapegrad", sum }, { "the inline tape", inline_sum }, { "the bare tape", bare_sum },
        { "ADOL-C", adolc_sum },  /* checked only when built in */
    };
    if (adolc_rc) {
        fprintf(stderr, "S1: ADOL-C failed or wrote its tape to a file\n");
        tg_graph_free(g);
        return 1;
    }
    for (size_t i = 0; i < 3 + TGBENCH_ADOLC; i++) {
        if (!(fabs(sums[i].sum / reads - grad_sum) < 1e-9 * grad_sum)) {
            fprintf(stderr, "S1: %s's five gradients add up to %.17g, the book's to %g\n",
                    sums[i].who, sums[i].sum / reads, grad_sum);
            tg_graph_free(g);
            return 1;
        }
    }
    size_t nodes;
    {   /* node count of one repetition, for the table */
        size_t mark = tg_graph_mark(g);
        shopping_build(g);
        nodes = tg_graph_size(g) - mark;
        tg_graph_rewind(g, mark);
    }
    tg_graph_free(g);
    bench_stats st = bench_stats_of(samples, (size_t)nsamples);
    bench_stats inl = bench_stats_of(inline_samples, (size_t)nsamples);
    bench_stats bare = bench_stats_of(bare_samples, (size_t)nsamples);
    bench_stats adolc = bench_stats_of(adolc_samples, (size_t)nsamples);

    const double target_ns = 30.0;

    bench_report *r = bench_report_new("S1", "apple + orange graph: mark, build, backward, "
                                             "read 5 gradients, rewind");
    bench_report_title(r, "apple + orange graph (%zu nodes, unnamed leaves): mark, build, backward, "
                          "read 5 gradients, rewind; %ld per repetition, %d repetitions",
                       nodes, loops, nsamples);
    bench_report_num(r, "size", NULL, (double)nodes, 0, NULL);
    bench_report_num(r, "loops", NULL, (double)loops, 0, NULL);
    bench_report_num(r, "repetitions", NULL, nsamples, 0, NULL);
    bench_report_phase(r, "rep", "mark + build + backward + read + rewind", st, (double)nodes,
                       "node");
    bench_report_phase(r, "inline", "inline tape, same loop", inl, (double)nodes, "node");
    bench_report_phase(r, "bare", "bare C tape, same loop", bare, (double)nodes, "node");
    if (TGBENCH_ADOLC)
        bench_report_phase(r, "adolc", "ADOL-C: trace, fos_reverse, read", adolc, (double)nodes,
                           "node");
    bench_report_num(r, "ns_per_rep", "ns per repetition (median)", st.median, 1, "ns");
    bench_report_num(r, "inline_ns_per_rep", NULL, inl.median, 2, NULL);
    bench_report_num(r, "bare_ns_per_rep", NULL, bare.median, 2, NULL);
    bench_report_num(r, "inline_ratio", "tapegrad / inline tape", st.median / inl.median, 2,
                     "(target <= 1.5)");
    bench_report_num(r, "target_inline_ratio", NULL, 1.5, 2, NULL);
    bench_report_num(r, "bare_ratio", "tapegrad / bare tape", st.median / bare.median, 2,
                     "(target 30 / 24 = 1.25)");
    bench_report_num(r, "target_bare_ratio", NULL, 30.0 / 24.0, 3, NULL);
    bench_report_num(r, "adolc", NULL, TGBENCH_ADOLC, 0, NULL);
    if (TGBENCH_ADOLC) {
        bench_report_num(r, "adolc_ns", NULL, adolc.median, 2, NULL);
        bench_report_num(r, "adolc_over_tapegrad", "ADOL-C / tapegrad", adolc.median / st.median, 2,
                         "");
    } else {
        bench_report_note(r, "ADOL-C: not built in");
    }
    bench_report_num(r, "target_ns", "target", target_ns, 0, "ns");
    bench_report_num(r, "ratio", "ratio to target (<= 1 meets it)", st.median / target_ns, 2, "");
    bench_report_num(r, "peak_rss_kib", "peak RSS", (double)bench_peak_rss_kib(), 0, "KiB");
    bench_report_str(r, "reference", NULL,
                     "issue 5: ADOL-C 2.0 us (replay) / 2.2 us (retape), micrograd 8.7 us, "
                     "PyTorch scalar 41 us, bare C tape 24 ns");
    bench_report_note(r, "others on this kind of machine: bare C tape 24 ns, ADOL-C 2.0 us, "
                         "micrograd 8.7 us, PyTorch scalar 41 us");
    bench_report_emit(r, o->json);
    bench_report_free(r);
    return 0;
}
