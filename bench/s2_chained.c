/*
 * S2, chained Rosenbrock: the function of the headline figures,
 *
 *     f(x) = sum_{i=0..n-2} 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2,
 *
 * eight ops a term (x[i]*x[i], a subtraction, a square, *100, a
 * subtraction, a square, an add, the running sum), the constants 100 and 1
 * recorded once; every "per op" figure divides by 8 (n - 1), whatever the
 * tool records.  x[i] = 0.5 + 0.001 (i mod 100); the replay point is
 * 0.7 - 0.002 (i mod 50).  tapegrad, the inline tape and the bare tape
 * (and ADOL-C, when built in: adolc.cc) each record at x, reverse (reading
 * the n gradients), then replay at the other point (set the leaves,
 * forward, reverse, read), in turn within every repetition.  All are
 * checked against the gradient by hand at both points before anything is
 * timed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adolc.h"
#include "baretape.h"
#include "harness.h"
#include "inltape.h"
#include "s2.h"
#include "tapegrad/tapegrad.h"

#define PLAIN_TEMPLATE "s2_plain.h"
#include "plaintapes.h"

/* ------------------------------------------------------------ tapegrad */

static tg_node tg_chained_record(tg_graph *g, const double *xv, tg_node *x, size_t n)
{
    tg_graph_rewind(g, 0);
    for (size_t i = 0; i < n; i++) x[i] = tg_var(g, NULL, xv[i]);
    tg_node hundred = tg_const(g, 100.0), one = tg_const(g, 1.0), f = TG_NONE;
    for (size_t i = 0; i + 1 < n; i++) {
        tg_node a = tg_sub(g, x[i + 1], tg_mul(g, x[i], x[i]));
        tg_node p = tg_mul(g, tg_mul(g, a, a), hundred);
        tg_node b = tg_sub(g, one, x[i]);
        tg_node term = tg_add(g, p, tg_mul(g, b, b));
        f = i ? tg_add(g, f, term) : term;
    }
    return f;
}

static void tg_chained_reverse(tg_graph *g, tg_node f, const tg_node *x, size_t n, double *grad)
{
    tg_backward(g, f);
    tg_grads(g, n, x, grad);
}

/* As the plain tapes' chained_once; returns the graph's status. */
static tg_status tg_chained_once(tg_graph *g, const double *xa, const double *xb, tg_node *x,
                                 size_t n, double *ga, double *gb, double ns[3], double fv[2])
{
    uint64_t t0 = bench_now_ns();
    tg_node f = tg_chained_record(g, xa, x, n);
    uint64_t t1 = bench_now_ns();
    tg_chained_reverse(g, f, x, n, ga);
    uint64_t t2 = bench_now_ns();
    fv[0] = tg_value(g, f);
    uint64_t t3 = bench_now_ns();
    tg_set_values(g, n, x, xb);
    tg_forward(g);
    tg_chained_reverse(g, f, x, n, gb);
    uint64_t t4 = bench_now_ns();
    fv[1] = tg_value(g, f);
    ns[0] = (double)(t1 - t0);
    ns[1] = (double)(t2 - t1);
    ns[2] = (double)(t4 - t3);
    return tg_graph_status(g);
}

/* ------------------------------------------------------------ by hand */

/* f and its gradient, term by term. */
static double chained_by_hand(const double *x, double *grad, size_t n)
{
    double f = 0.0;
    for (size_t i = 0; i < n; i++) grad[i] = 0.0;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = x[i + 1] - x[i] * x[i], b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        grad[i] += -400.0 * x[i] * a - 2.0 * b;
        grad[i + 1] += 200.0 * a;
    }
    return f;
}

/* The largest difference of grad from want, absolute and relative to
 * max(1, |want|), folded into *diff and *rel. */
static void grad_diff(const double *grad, const double *want, size_t n, double *diff, double *rel)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs(grad[i] - want[i]);
        double r = d / (fabs(want[i]) > 1.0 ? fabs(want[i]) : 1.0);
        if (!(d <= *diff)) *diff = d;
        if (!(r <= *rel)) *rel = r;
    }
}

/* ------------------------------------------------------------ measure */

/* ADOL-C, when built in, is the last and takes its turn like the others */
enum { TOOL_TG, TOOL_INLINE, TOOL_BARE, TOOL_ADOLC, NTOOLS = TOOL_ADOLC + TGBENCH_ADOLC };
static const char *const tool_name[] = { "tapegrad", "the inline tape", "the bare tape", "ADOL-C" };

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "S2: out of memory\n");
        exit(1);
    }
    return p;
}

/* One repetition of one tool. */
typedef struct chained_run {
    tg_graph *g;
    il_tape *it, *bt;
    tg_node *x;
    il_id *ix;
    const double *xa, *xb;
    double *ga, *gb;
    size_t n;
} chained_run;

static int run_tool(chained_run *c, int tool, double ns[3], double fv[2])
{
    switch (tool) {
    case TOOL_TG:
        if (tg_chained_once(c->g, c->xa, c->xb, c->x, c->n, c->ga, c->gb, ns, fv) != TG_OK) {
            fprintf(stderr, "S2: %s\n", tg_graph_errmsg(c->g));
            return 1;
        }
        return 0;
    case TOOL_INLINE:
        inline_chained_once(c->it, c->xa, c->xb, c->ix, c->n, c->ga, c->gb, ns, fv);
        return 0;
#if TGBENCH_ADOLC
    case TOOL_ADOLC:
        if (adolc_s2_once(c->xa, c->xb, c->n, c->ga, c->gb, ns, fv)) {
            fprintf(stderr, "S2: ADOL-C failed or wrote its tape to a file\n");
            return 1;
        }
        return 0;
#endif
    default:
        bare_chained_once(c->bt, c->xa, c->xb, c->ix, c->n, c->ga, c->gb, ns, fv);
        return 0;
    }
}

static s2_phases phases_of(double *s, int reps)
{
    s2_phases p;
    size_t n = (size_t)reps;
    for (int k = 0; k < S2_NPHASES; k++) p.ph[k] = bench_stats_of(s + (size_t)k * n, n);
    return p;
}

int s2_chained_measure(size_t n, int reps, s2_chained *res)
{
    memset(res, 0, sizeof *res);
    if (n < 2) n = 2;
    res->n = n;
    res->reps = reps;
    res->ops = 8 * (n - 1);

    double *xa = xcalloc(n, sizeof *xa), *xb = xcalloc(n, sizeof *xb);
    double *ha = xcalloc(n, sizeof *ha), *hb = xcalloc(n, sizeof *hb);
    double *ga = xcalloc(n, sizeof *ga), *gb = xcalloc(n, sizeof *gb);
    tg_node *x = xcalloc(n, sizeof *x);
    il_id *ix = xcalloc(n, sizeof *ix);
    /* samples[tool][phase][rep] */
    const size_t per_tool = (size_t)S2_NPHASES * (size_t)reps;
    double *samples = xcalloc((size_t)NTOOLS * per_tool, sizeof *samples);
    for (size_t i = 0; i < n; i++) {
        xa[i] = 0.5 + 0.001 * (double)(i % 100);
        xb[i] = 0.7 - 0.002 * (double)(i % 50);
    }
    double fa = chained_by_hand(xa, ha, n), fb = chained_by_hand(xb, hb, n);

    tg_graph *g = tg_graph_new();
    if (!g) {
        fprintf(stderr, "S2: tg_graph_new failed\n");
        exit(1);
    }
    il_tape it, bt;
    il_init(&it);
    bt_init(&bt);
    chained_run c = { g, &it, &bt, x, ix, xa, xb, ga, gb, n };
    int rc = 0;

    /* untimed: each tool once, checked at both points (and its storage
     * grown, as in every timed repetition after it) */
    for (int tool = 0; tool < NTOOLS && rc == 0; tool++) {
        double ns[3], fv[2], diff = 0.0, rel = 0.0;
        rc = run_tool(&c, tool, ns, fv);
        if (rc) break;
        if (tool == TOOL_TG) res->nodes = tg_graph_size(g);
        grad_diff(ga, ha, n, &diff, &rel);
        grad_diff(gb, hb, n, &diff, &rel);
        if (tool == TOOL_TG) {
            res->max_grad_diff = diff;
            res->max_grad_rel = rel;
        }
        if (!(rel <= 1e-12) || !(fabs(fv[0] - fa) <= 1e-12 * fabs(fa)) ||
            !(fabs(fv[1] - fb) <= 1e-12 * fabs(fb))) {
            fprintf(stderr, "S2: %s disagrees with the gradient by hand: f %.17g vs %.17g, "
                            "replayed f %.17g vs %.17g, max |grad diff| %.3g (relative %.3g)\n",
                    tool_name[tool], fv[0], fa, fv[1], fb, diff, rel);
            rc = 1;
        }
    }

    /* the tools take turns every repetition, so that all meet the same
     * interference from the rest of the machine */
    for (int r = 0; r < reps && rc == 0; r++) {
        for (int tool = 0; tool < NTOOLS && rc == 0; tool++) {
            double ns[3], fv[2];
            rc = run_tool(&c, tool, ns, fv);
            double *s = samples + (size_t)tool * per_tool + r;
            s[S2_RECORD * reps] = ns[0];
            s[S2_REVERSE * reps] = ns[1];
            s[S2_TAPED * reps] = ns[0] + ns[1];
            s[S2_REPLAY * reps] = ns[2];
        }
    }
    if (rc == 0) {
        res->tg = phases_of(samples, reps);
        res->inl = phases_of(samples + per_tool, reps);
        res->bare = phases_of(samples + 2 * per_tool, reps);
#if TGBENCH_ADOLC
        res->adolc = phases_of(samples + TOOL_ADOLC * per_tool, reps);
#endif
    }

    tg_graph_free(g);
    il_free(&it);
    bt_free(&bt);
    free(xa); free(xb); free(ha); free(hb); free(ga); free(gb);
    free(x); free(ix); free(samples);
    return rc;
}

/* ------------------------------------------------------------ report */

static const char *const phase_key[S2_NPHASES] = { "record", "reverse", "taped", "replay" };
static const char *const phase_label[S2_NPHASES] = {
    "record", "reverse + read", "record + reverse", "replay at a new x",
};

/* One tool's phases, keys prefix_<phase>, labels "who: phase". */
static void report_phases(bench_report *r, const char *prefix, const char *who,
                          const s2_phases *p, double ops)
{
    for (int k = 0; k < S2_NPHASES; k++) {
        char kbuf[48], lbuf[64];
        snprintf(kbuf, sizeof kbuf, "%s_%s", prefix, phase_key[k]);
        snprintf(lbuf, sizeof lbuf, "%s: %s", who, phase_label[k]);
        bench_report_phase(r, kbuf, lbuf, p->ph[k], ops, "op");
    }
    for (int k = 0; k < S2_NPHASES; k++) {
        char kbuf[48];
        snprintf(kbuf, sizeof kbuf, "%s_%s_ns_per_op", prefix, phase_key[k]);
        bench_report_num(r, kbuf, NULL, p->ph[k].median / ops, 3, NULL);
    }
}

void s2_chained_report(bench_report *r, const s2_chained *c)
{
    double ops = (double)c->ops;
    bench_report_note(r, "chained Rosenbrock, n = %zu: %zu ops (8 (n - 1)), tapegrad records "
                         "%zu nodes", c->n, c->ops, c->nodes);
    bench_report_num(r, "chained_ops", NULL, ops, 0, NULL);
    bench_report_num(r, "chained_nodes", NULL, (double)c->nodes, 0, NULL);
    report_phases(r, "chained", "tapegrad", &c->tg, ops);
    report_phases(r, "inline", "inline tape", &c->inl, ops);
    report_phases(r, "bare_chained", "bare tape", &c->bare, ops);
#if TGBENCH_ADOLC
    report_phases(r, "adolc_chained", "ADOL-C", &c->adolc, ops);
#endif
    /* tapegrad / a reference, phase by phase; target 0 for none */
    static const struct {
        const char *key;
        int bare, phase;
        double target;
    } ratio[] = {
        { "inline_ratio", 0, S2_TAPED, 1.0 },
        { "inline_record_ratio", 0, S2_RECORD, 0 },
        { "inline_reverse_ratio", 0, S2_REVERSE, 0 },
        { "inline_replay_ratio", 0, S2_REPLAY, 0.8 },
        { "bare_chained_ratio", 1, S2_TAPED, 0 },
        { "bare_chained_replay_ratio", 1, S2_REPLAY, 0 },
    };
    for (size_t i = 0; i < sizeof ratio / sizeof ratio[0]; i++) {
        const s2_phases *ref = ratio[i].bare ? &c->bare : &c->inl;
        char label[64], unit[32] = "";
        snprintf(label, sizeof label, "tapegrad / %s: %s", ratio[i].bare ? "bare" : "inline",
                 phase_label[ratio[i].phase]);
        if (ratio[i].target > 0) snprintf(unit, sizeof unit, "(target <= %.1f)", ratio[i].target);
        bench_report_num(r, ratio[i].key, label,
                         c->tg.ph[ratio[i].phase].median / ref->ph[ratio[i].phase].median, 2, unit);
    }
    bench_report_num(r, "adolc", NULL, TGBENCH_ADOLC, 0, NULL);
#if TGBENCH_ADOLC
    /* the other way round: how many times tapegrad's time ADOL-C takes */
    static const struct {
        const char *key, *label, *unit;
        int phase;
    } over[] = {
        { "adolc_over_tapegrad_taped", "ADOL-C / tapegrad: record + reverse", "(target >= 4)",
          S2_TAPED },
        { "adolc_over_tapegrad_record", NULL, NULL, S2_RECORD },
        { "adolc_over_tapegrad_reverse", NULL, NULL, S2_REVERSE },
        { "adolc_over_tapegrad_replay", "ADOL-C / tapegrad: replay at a new x", "", S2_REPLAY },
    };
    for (size_t i = 0; i < sizeof over / sizeof over[0]; i++)
        bench_report_num(r, over[i].key, over[i].label,
                         c->adolc.ph[over[i].phase].median / c->tg.ph[over[i].phase].median, 2,
                         over[i].unit);
    bench_report_num(r, "target_adolc_over_tapegrad_taped", NULL, 4.0, 2, NULL);
#else
    bench_report_note(r, "ADOL-C: not built in");
#endif
    bench_report_num(r, "target_inline_ratio", NULL, 1.0, 2, NULL);
    bench_report_num(r, "target_inline_replay_ratio", NULL, 0.8, 2, NULL);
    bench_report_num(r, "chained_max_grad_diff", "max |grad - by hand| (both points)",
                     c->max_grad_diff, -3, "");
    bench_report_num(r, "chained_max_grad_rel_diff", "  relative to max(1, |grad|)",
                     c->max_grad_rel, -3, "");
    bench_report_note(r, "the issue at n = 1e6, per op: inline tape 3.2 + 12.0 = 15.3 ns, "
                         "replay 22.2 ns; ADOL-C 40.2 + 8.8 = 59.0 ns, replay 26.4 ns");
}
