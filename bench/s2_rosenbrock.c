/*
 * S2: the chained Rosenbrock function of the headline figures (s2_chained.c),
 * then, with the keys its figures had before, the pairwise extended
 * Rosenbrock function of n variables (n even),
 *
 *     f(x) = sum_{i < n/2} 100 (x_{2i}^2 - x_{2i+1})^2 + (1 - x_{2i})^2,
 *
 * recorded on the tape, swept backward for the full gradient, then replayed
 * at a new x on the same tape.  The reference is the same gradient written
 * by hand (S2-limit): a forward loop that keeps the two intermediates each
 * pair needs, then the adjoint loop.  It is what any engine is trying to
 * approach, so limit_ratio = tapegrad (record + reverse) / hand-written.
 *
 * One pair is recorded as nine nodes, with the constants -1 and 100 shared:
 *     s = x0*x0, m = x1*(-1), t = s + m          t = x0^2 - x1
 *     u = x0 + (-1)                              u = x0 - 1 (squared below)
 *     q = t*t, h = q*100, v = u*u, p = h + v     the pair's term
 *     acc = acc + p
 * "ops" below are these nodes; leaves are timed with the recording but
 * not counted as ops.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "baretape.h"
#include "harness.h"
#include "s2.h"
#include "tapegrad/tapegrad.h"

/* ------------------------------------------------------------ the tape */

/* The independent variables x[i] with values xv[i]. */
static void rosen_leaves(tg_graph *g, const double *xv, tg_node *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = tg_var(g, NULL, xv[i]);
}

/* f of the leaves x[]; returns the output node. */
static tg_node rosen_record(tg_graph *g, const tg_node *x, size_t n)
{
    tg_node minus1 = tg_const(g, -1.0), hundred = tg_const(g, 100.0);
    tg_node acc = TG_NONE;
    for (size_t i = 0; i + 1 < n; i += 2) {
        tg_node x0 = x[i], x1 = x[i + 1];
        tg_node t = tg_add(g, tg_mul(g, x0, x0), tg_mul(g, x1, minus1));
        tg_node u = tg_add(g, x0, minus1);
        tg_node p = tg_add(g, tg_mul(g, tg_mul(g, t, t), hundred), tg_mul(g, u, u));
        acc = i ? tg_add(g, acc, p) : p;
    }
    return acc;
}

/* The same nine nodes a pair on the bare tape (leaves x[] first). */
static bt_id rosen_bare(bt_tape *t, const double *xv, bt_id *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = bt_leaf(t, xv[i]);
    bt_id minus1 = bt_leaf(t, -1.0), hundred = bt_leaf(t, 100.0);
    bt_id acc = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        bt_id x0 = x[i], x1 = x[i + 1];
        bt_id tt = bt_add(t, bt_mul(t, x0, x0), bt_mul(t, x1, minus1));
        bt_id u = bt_add(t, x0, minus1);
        bt_id p = bt_add(t, bt_mul(t, bt_mul(t, tt, tt), hundred), bt_mul(t, u, u));
        acc = i ? bt_add(t, acc, p) : p;
    }
    return acc;
}

/* ------------------------------------------------------------ by hand */

/* Forward keeping t and u of every pair in work[2n/2], then the adjoint
 * sweep in reverse order: fbar = 1, tbar = 200 t, ubar = 2 u,
 * dx0 = 2 x0 tbar + ubar, dx1 = -tbar.  Returns f. */
static double rosen_by_hand(const double *x, double *grad, double *work, size_t n)
{
    double f = 0.0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        double t = x[i] * x[i] - x[i + 1];
        double u = x[i] - 1.0;
        work[i] = t;
        work[i + 1] = u;
        f += 100.0 * t * t + u * u;
    }
    for (size_t i = n & ~(size_t)1; i >= 2; i -= 2) {
        size_t k = i - 2;
        double tbar = 200.0 * work[k];
        double ubar = 2.0 * work[k + 1];
        grad[k] = 2.0 * x[k] * tbar + ubar;
        grad[k + 1] = -tbar;
    }
    return f;
}

/* f alone, for checking the replay. */
static double rosen_value(const double *x, size_t n)
{
    double f = 0.0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        double t = x[i] * x[i] - x[i + 1], u = x[i] - 1.0;
        f += 100.0 * t * t + u * u;
    }
    return f;
}

/* ------------------------------------------------------------ one size */

typedef struct s2_result {
    size_t n, ops, nodes;
    int reps;
    bench_stats leaves, record, reverse, taped, readout, replay, by_hand;
    bench_stats bare_record, bare_reverse, bare_taped;
    double rss_bytes_per_node;  /* resident memory the graph holds / nodes */
    double max_grad_diff, max_grad_rel, replay_value_rel;
} s2_result;

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "S2: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, bytes);  /* touch now, so it counts before the baseline */
    return p;
}

static int s2_fail(tg_graph *g, const char *when)
{
    fprintf(stderr, "S2: %s: %s\n", when, tg_graph_errmsg(g));
    return 1;
}

static int s2_measure(size_t n, int reps, s2_result *res)
{
    memset(res, 0, sizeof *res);
    res->n = n;
    res->reps = reps;

    bench_rng rng = { 0x5eed0002u + n };
    double *xa = xmalloc(n * sizeof *xa), *xb = xmalloc(n * sizeof *xb);
    double *g_tape = xmalloc(n * sizeof *g_tape), *g_hand = xmalloc(n * sizeof *g_hand);
    double *work = xmalloc(n * sizeof *work);
    tg_node *x = xmalloc(n * sizeof *x);
    double *s_leaves = xmalloc((size_t)reps * sizeof(double));
    double *s_record = xmalloc((size_t)reps * sizeof(double));
    double *s_reverse = xmalloc((size_t)reps * sizeof(double));
    double *s_taped = xmalloc((size_t)reps * sizeof(double));
    double *s_readout = xmalloc((size_t)reps * sizeof(double));
    double *s_replay = xmalloc((size_t)reps * sizeof(double));
    double *s_hand = xmalloc((size_t)reps * sizeof(double));
    double *s_bare_rec = xmalloc((size_t)reps * sizeof(double));
    double *s_bare_rev = xmalloc((size_t)reps * sizeof(double));
    double *s_bare = xmalloc((size_t)reps * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        xa[i] = bench_rng_uniform(&rng, -1.5, 1.5);
        xb[i] = xa[i] + bench_rng_uniform(&rng, -0.25, 0.25);
    }
    long rss_base_kib = bench_current_rss_kib();
    int rc = 0;

    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "S2: tg_graph_new failed\n");
        exit(1);
    }
    tg_node f = TG_NONE;
    bt_tape bt;
    bt_init(&bt);
    bt_id *bx = xmalloc(n * sizeof *bx);
    double f_hand = 0.0;
    /* Each repetition runs tapegrad, the bare tape and the hand-written
     * gradient in turn, so that all three meet the same interference from
     * the rest of the machine.  Both tapes start each repetition empty and
     * keep their storage, as a loop re-taping at new points would. */
    for (int r = 0; r < reps; r++) {
        tg_graph_rewind(g, 0);
        uint64_t t0 = bench_now_ns();
        rosen_leaves(g, xa, x, n);
        uint64_t t1 = bench_now_ns();
        f = rosen_record(g, x, n);
        uint64_t t2 = bench_now_ns();
        tg_backward(g, f);
        uint64_t t3 = bench_now_ns();
        for (size_t i = 0; i < n; i++) g_tape[i] = tg_grad(g, x[i]);
        uint64_t t4 = bench_now_ns();
        s_leaves[r] = (double)(t1 - t0);
        s_record[r] = (double)(t2 - t0);
        s_reverse[r] = (double)(t3 - t2);
        s_taped[r] = (double)(t3 - t0);
        s_readout[r] = (double)(t4 - t3);
        if (r == 0) {
            /* resident, not peak: a heap-allocated tape that grows by
             * copying briefly holds both copies, which says nothing about
             * its size; and only the graph has grown since the baseline */
            res->rss_bytes_per_node = (double)(bench_current_rss_kib() - rss_base_kib) * 1024.0 /
                                      (double)tg_graph_size(g);
        }

        bt_rewind(&bt, 0);
        t0 = bench_now_ns();
        bt_id out = rosen_bare(&bt, xa, bx, n);
        t1 = bench_now_ns();
        bt_backward(&bt, out);
        t2 = bench_now_ns();
        s_bare_rec[r] = (double)(t1 - t0);
        s_bare_rev[r] = (double)(t2 - t1);
        s_bare[r] = (double)(t2 - t0);

        t0 = bench_now_ns();
        f_hand = rosen_by_hand(xa, g_hand, work, n);
        t1 = bench_now_ns();
        s_hand[r] = (double)(t1 - t0);
    }
    double bare_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(bt_grad(&bt, bx[i]) - g_hand[i]);
        if (!(d <= bare_diff)) bare_diff = d;
    }
    free(bx);
    bt_free(&bt);
    if (!(bare_diff <= 1e-9)) {
        fprintf(stderr, "S2: the bare tape's gradient is off by %g\n", bare_diff);
        rc = 1;
    }
    if (tg_graph_status(g) != TG_OK) {
        rc = s2_fail(g, "record/backward");
        goto done;
    }
    res->nodes = tg_graph_size(g);
    res->ops = res->nodes - n - 2;  /* minus leaves and the two constants */
    double f_tape = tg_value(g, f);

    /* replay at xb, then at xa, alternating, on the same tape */
    for (int r = 0; r < reps; r++) {
        const double *xv = r % 2 ? xa : xb;
        uint64_t t0 = bench_now_ns();
        for (size_t i = 0; i < n; i++) tg_set_value(g, x[i], xv[i]);
        tg_forward(g);
        uint64_t t1 = bench_now_ns();
        s_replay[r] = (double)(t1 - t0);
    }
    if (tg_graph_status(g) != TG_OK) {
        rc = s2_fail(g, "replay");
        goto done;
    }
    /* check the replay at xb */
    for (size_t i = 0; i < n; i++) tg_set_value(g, x[i], xb[i]);
    tg_forward(g);
    double f_replay = tg_value(g, f), f_b = rosen_value(xb, n);
    res->replay_value_rel = fabs(f_replay - f_b) / fabs(f_b);
    tg_graph_free(g);
    g = NULL;

    for (size_t i = 0; i < n; i++) {
        double d = fabs(g_tape[i] - g_hand[i]);
        double rel = d / (fabs(g_hand[i]) > 1.0 ? fabs(g_hand[i]) : 1.0);
        if (!(d <= res->max_grad_diff)) res->max_grad_diff = d;
        if (!(rel <= res->max_grad_rel)) res->max_grad_rel = rel;
    }
    if (!(fabs(f_tape - f_hand) <= 1e-12 * fabs(f_hand)) || !(res->max_grad_rel <= 1e-12) ||
        !(res->replay_value_rel <= 1e-12)) {
        fprintf(stderr, "S2: tapegrad disagrees with the hand-written gradient: f %.17g vs %.17g, "
                        "max |grad diff| %.3g (relative %.3g), replayed f off by %.3g\n",
                f_tape, f_hand, res->max_grad_diff, res->max_grad_rel, res->replay_value_rel);
        rc = 1;
    }

    res->leaves = bench_stats_of(s_leaves, (size_t)reps);
    res->record = bench_stats_of(s_record, (size_t)reps);
    res->reverse = bench_stats_of(s_reverse, (size_t)reps);
    res->taped = bench_stats_of(s_taped, (size_t)reps);
    res->readout = bench_stats_of(s_readout, (size_t)reps);
    res->replay = bench_stats_of(s_replay, (size_t)reps);
    res->by_hand = bench_stats_of(s_hand, (size_t)reps);
    res->bare_record = bench_stats_of(s_bare_rec, (size_t)reps);
    res->bare_reverse = bench_stats_of(s_bare_rev, (size_t)reps);
    res->bare_taped = bench_stats_of(s_bare, (size_t)reps);

done:
    tg_graph_free(g);
    free(xa); free(xb); free(g_tape); free(g_hand); free(work); free(x);
    free(s_leaves); free(s_record); free(s_reverse); free(s_taped);
    free(s_readout); free(s_replay); free(s_hand);
    free(s_bare_rec); free(s_bare_rev); free(s_bare);
    return rc;
}

/* ------------------------------------------------------------ reports */

/* The targets, per op, and the hand-written figure it quotes. */
enum { TARGET_TAPED_NS_PER_OP = 5, TARGET_REPLAY_NS_PER_OP = 8, TARGET_BYTES_PER_NODE = 32 };

static void s2_report(const s2_chained *c, const s2_result *s, bool json)
{
    double ops = (double)s->ops;
    double limit_ratio = s->taped.median / s->by_hand.median;
    bench_report *r = bench_report_new("S2", "chained Rosenbrock: record, reverse, replay; "
                                             "extended Rosenbrock");
    bench_report_title(r, "chained Rosenbrock, n = %zu, %d repetitions; then the pairwise "
                          "extended Rosenbrock (%zu ops, %zu nodes), %d repetitions",
                       c->n, c->reps, s->ops, s->nodes, s->reps);
    s2_chained_report(r, c);
    bench_report_note(r, "pairwise extended Rosenbrock, n = %zu: %zu ops, %zu nodes", s->n,
                      s->ops, s->nodes);
    bench_report_num(r, "n", NULL, (double)s->n, 0, NULL);
    bench_report_num(r, "size", NULL, (double)s->n, 0, NULL);
    bench_report_num(r, "ops", NULL, ops, 0, NULL);
    bench_report_num(r, "nodes", NULL, (double)s->nodes, 0, NULL);
    bench_report_num(r, "repetitions", NULL, s->reps, 0, NULL);
    bench_report_phase(r, "leaves", "  of which leaves (n tg_var)", s->leaves, 0, NULL);
    bench_report_phase(r, "record", "record (leaves + function)", s->record, ops, "op");
    bench_report_phase(r, "reverse", "reverse (tg_backward)", s->reverse, ops, "op");
    bench_report_phase(r, "taped", "record + reverse", s->taped, ops, "op");
    bench_report_phase(r, "readout", "read the gradient (n tg_grad)", s->readout, (double)s->n, "var");
    bench_report_phase(r, "replay", "replay (n tg_set_value + tg_forward)", s->replay, ops, "op");
    bench_report_phase(r, "by_hand", "hand-written forward + adjoint", s->by_hand, ops, "op");
    bench_report_phase(r, "bare_record", "bare C tape: record", s->bare_record, ops, "op");
    bench_report_phase(r, "bare_reverse", "bare C tape: reverse", s->bare_reverse, ops, "op");
    bench_report_phase(r, "bare_taped", "bare C tape: record + reverse", s->bare_taped, ops, "op");
    bench_report_num(r, "record_ns_per_op", NULL, s->record.median / ops, 3, NULL);
    bench_report_num(r, "reverse_ns_per_op", NULL, s->reverse.median / ops, 3, NULL);
    bench_report_num(r, "taped_ns_per_op", "record + reverse per op", s->taped.median / ops, 2,
                     "ns (target <= 5, stretch 3.5)");
    bench_report_num(r, "replay_ns_per_op", "replay per op", s->replay.median / ops, 2,
                     "ns (target <= 8)");
    bench_report_num(r, "taped_ms", "record + reverse", s->taped.median / 1e6, 2,
                     "ms (issue: <= 40 ms at n = 1e6)");
    bench_report_num(r, "by_hand_ms", NULL, s->by_hand.median / 1e6, 4, NULL);
    bench_report_num(r, "limit_ratio", "limit ratio (tapegrad / hand-written)", limit_ratio, 1, "x");
    bench_report_num(r, "bare_ratio", "tapegrad / bare tape, record + reverse",
                     s->taped.median / s->bare_taped.median, 2, "(target 40 / 75 = 0.53)");
    bench_report_num(r, "target_bare_ratio", NULL, 40.0 / 75.0, 3, NULL);
    bench_report_num(r, "bytes_per_node", "tape bytes per node", (double)tg_graph_bytes_per_node(),
                     0, "(target <= 32)");
    bench_report_num(r, "rss_bytes_per_node", "resident memory per node", s->rss_bytes_per_node, 1,
                     "bytes");
    bench_report_num(r, "peak_rss_kib", "peak RSS (both functions, references)",
                     (double)bench_peak_rss_kib(), 0, "KiB");
    bench_report_num(r, "max_grad_diff", "max |grad - hand-written grad|", s->max_grad_diff, -3, "");
    bench_report_num(r, "max_grad_rel_diff", "  relative to max(1, |grad|)", s->max_grad_rel, -3, "");
    bench_report_num(r, "target_taped_ns_per_op", NULL, TARGET_TAPED_NS_PER_OP, 0, NULL);
    bench_report_num(r, "target_replay_ns_per_op", NULL, TARGET_REPLAY_NS_PER_OP, 0, NULL);
    bench_report_num(r, "target_bytes_per_node", NULL, TARGET_BYTES_PER_NODE, 0, NULL);
    bench_report_str(r, "reference", NULL,
                     "S2-limit: hand-written forward + adjoint in plain C, same run; issue 5 at "
                     "n = 1e6: ADOL-C 138 + 33 ms, replay 97 ms; bare C tape 14 + 61 ms; "
                     "hand-written 1.9 ms");
    bench_report_note(r, "others at n = 1e6 on this kind of machine: hand-written 1.9 ms, bare C "
                         "tape 14 + 61 ms, ADOL-C 138 + 33 ms");
    bench_report_emit(r, json);
    bench_report_free(r);
}

static void scaling_header(void)
{
    printf("\nS2  scaling: chained Rosenbrock at growing n (medians; inline and replay: "
           "tapegrad / inline tape;\n    RSS/node: the pairwise function's tape)\n");
    printf("  %10s %10s %11s %11s %11s %11s %8s %8s %10s %10s\n", "n", "ops", "record/op",
           "reverse/op", "rec+rev/op", "replay/op", "inline", "replay", "RSS/node", "peak RSS");
}

static void scaling_row(const s2_chained *c, const s2_result *s)
{
    double ops = (double)c->ops;
    printf("  %10zu %10zu %8.2f ns %8.2f ns %8.2f ns %8.2f ns %7.2fx %7.2fx %7.1f B %7.0f MiB\n",
           c->n, c->ops, c->tg.ph[S2_RECORD].median / ops, c->tg.ph[S2_REVERSE].median / ops,
           c->tg.ph[S2_TAPED].median / ops, c->tg.ph[S2_REPLAY].median / ops,
           c->tg.ph[S2_TAPED].median / c->inl.ph[S2_TAPED].median,
           c->tg.ph[S2_REPLAY].median / c->inl.ph[S2_REPLAY].median,
           s->rss_bytes_per_node, (double)bench_peak_rss_kib() / 1024.0);
    fflush(stdout);
}

/* Both functions at one size; 0, or 1 after saying why. */
static int s2_both(size_t n, int reps, s2_chained *c, s2_result *s)
{
    /* the pairwise function first: its resident memory per node is
     * measured from a heap that no larger tape has been through */
    int rc = s2_measure(n & ~(size_t)1, reps, s);
    return rc ? rc : s2_chained_measure(n, reps, c);
}

int bench_s2(const bench_opts *o)
{
    if (!o->scaling) {
        size_t n = o->n ? (size_t)o->n : (o->quick ? 100000 : 1000000);
        if (n < 2) n = 2;
        int reps = o->reps ? o->reps : (o->quick ? 3 : 11);
        s2_chained c;
        s2_result s;
        int rc = s2_both(n, reps, &c, &s);
        if (rc == 0) s2_report(&c, &s, o->json);
        return rc;
    }

    /* Each size runs in a child process of its own, so that its memory
     * figures start from a fresh heap: per node is the growth of resident
     * memory from just before the graph is created to just after its last
     * sweep. */
    static const size_t sizes[] = { 10000, 100000, 1000000, 10000000 };
    size_t nsizes = o->quick ? 3 : 4;
    if (!o->json) scaling_header();
    int worst = 0;
    for (size_t k = 0; k < nsizes; k++) {
        size_t n = o->quick ? sizes[k] / 10 : sizes[k];
        /* about 0.5-1 s of work per size */
        int reps = o->reps ? o->reps : (int)(n <= 100000 ? 31 : n <= 1000000 ? 11 : 5);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            s2_chained c;
            s2_result s;
            int rc = s2_both(n, reps, &c, &s);
            if (rc == 0 && o->json) s2_report(&c, &s, true);
            else if (rc == 0) scaling_row(&c, &s);
            fflush(stdout);
            _exit(rc);
        }
        int status = 0, rc = 1;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
            rc = WEXITSTATUS(status);
        else
            fprintf(stderr, "S2: the run at n = %zu did not finish\n", n);
        if (rc > worst) worst = rc;
    }
    return worst;
}
