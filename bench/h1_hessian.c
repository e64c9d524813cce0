/*
 * H1: second order on the tape, each figure a ratio to one gradient
 * (tg_backward) of the same tape in the same run.
 *
 *   - The extended Rosenbrock function (S2's, recorded the same way) at
 *     n = 1000 and n = 1e4: one Hessian-vector product (tg_hvp), and the
 *     full Hessian (tg_hessian) at n = 1000, also against the same Hessian
 *     written by hand (its closed form: 2 x 2 blocks on the diagonal,
 *     stored into an n x n array as tg_hessian's is).  At n = 1e4 the full
 *     Hessian is 800 MB: it is not formed.  Instead its structure is used:
 *     the blocks pair x_{2i} with x_{2i+1} only, so two products, with v
 *     the indicator of the even and of the odd entries, give every non-zero
 *     entry ("two colours").  That is timed against the hand-written
 *     blocks, and tg_hessian's cost there is n products, estimated as n
 *     times one.
 *   - The TwoLayerNet's loss (784-50-10, a batch of 100 random images):
 *     one tg_hvp with respect to all four parameters.
 *
 * Before timing, the Hessian at n = 1000 and the two-colour blocks at
 * n = 1e4 are checked against the hand-written ones, and the net's H v
 * against central differences of its gradient.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tapegrad/nn.h"
#include "tapegrad/tapegrad.h"

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "tgbench h1: out of memory\n");
        exit(1);
    }
    return p;
}

/* f(x) = sum_{i < n/2} 100 (x_{2i}^2 - x_{2i+1})^2 + (1 - x_{2i})^2, the
 * nine nodes per pair of S2 */
static tg_node rosen(tg_graph *g, const tg_node *x, size_t n)
{
    tg_node minus1 = tg_const(g, -1.0), hundred = tg_const(g, 100.0), acc = TG_NONE;
    for (size_t i = 0; i + 1 < n; i += 2) {
        tg_node t = tg_add(g, tg_mul(g, x[i], x[i]), tg_mul(g, x[i + 1], minus1));
        tg_node u = tg_add(g, x[i], minus1);
        tg_node p = tg_add(g, tg_mul(g, tg_mul(g, t, t), hundred), tg_mul(g, u, u));
        acc = i ? tg_add(g, acc, p) : p;
    }
    return acc;
}

/* The Hessian by hand: for each pair, with t = x0^2 - x1,
 *   d2f/dx0^2 = 1200 x0^2 - 400 x1 + 2,  d2f/dx0 dx1 = -400 x0,  d2f/dx1^2 = 200.
 * band[3i/2 ...]: the three numbers of pair i.  dense (n x n) when not NULL
 * gets the whole matrix, zeros included. */
static void rosen_hessian_by_hand(const double *x, size_t n, double *band, double *dense)
{
    if (dense) memset(dense, 0, n * n * sizeof *dense);
    for (size_t i = 0; i + 1 < n; i += 2) {
        double a = 1200 * x[i] * x[i] - 400 * x[i + 1] + 2, b = -400 * x[i], c = 200;
        if (band) {
            band[3 * (i / 2)] = a;
            band[3 * (i / 2) + 1] = b;
            band[3 * (i / 2) + 2] = c;
        }
        if (dense) {
            dense[i * n + i] = a;
            dense[i * n + i + 1] = dense[(i + 1) * n + i] = b;
            dense[(i + 1) * n + i + 1] = c;
        }
    }
}

typedef struct timing {
    double *s;
    int reps;
} timing;

static bench_stats stats(timing *t) { return bench_stats_of(t->s, (size_t)t->reps); }

static bool close_enough(double got, double want)
{
    return fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want));
}

/* One size of the Rosenbrock part; full: time tg_hessian and the dense
 * hand-written Hessian, else the two-colour products and the blocks. */
static int rosen_size(bench_report *rep, size_t n, int reps, bool full, const char *tag)
{
    bench_rng rng = { 0x5eed + n };
    double *xv = xcalloc(n, sizeof *xv), *v = xcalloc(n, sizeof *v), *hv = xcalloc(n, sizeof *hv);
    for (size_t i = 0; i < n; i++) {
        xv[i] = bench_rng_uniform(&rng, -2, 2);
        v[i] = bench_rng_uniform(&rng, -1, 1);
    }
    tg_graph *g = tg_graph_new();
    tg_node *x = xcalloc(n, sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = tg_var(g, NULL, xv[i]);
    tg_node f = rosen(g, x, n);
    double *band = xcalloc(3 * (n / 2), sizeof *band);
    double *H = full ? xcalloc(n * n, sizeof *H) : NULL, *Hh = full ? xcalloc(n * n, sizeof *Hh) : NULL;
    double *even = xcalloc(n, sizeof *even), *odd = xcalloc(n, sizeof *odd);
    double *he = xcalloc(n, sizeof *he), *ho = xcalloc(n, sizeof *ho);
    for (size_t i = 0; i < n; i++) (i % 2 ? odd : even)[i] = 1.0;

    /* check first */
    int bad = 0;
    if (tg_hvp(g, f, n, x, v, hv) != TG_OK) bad = 1;
    rosen_hessian_by_hand(xv, n, band, Hh);
    for (size_t i = 0; i + 1 < n && !bad; i += 2) {
        const double *b = &band[3 * (i / 2)];
        if (!close_enough(hv[i], b[0] * v[i] + b[1] * v[i + 1]) || !close_enough(hv[i + 1], b[1] * v[i] + b[2] * v[i + 1]))
            bad = 2;
    }
    if (!bad && full) {
        if (tg_hessian(g, f, n, x, H) != TG_OK) bad = 1;
        for (size_t i = 0; i < n * n && !bad; i++)
            if (!close_enough(H[i], Hh[i])) bad = 3;
    }
    if (!bad) {
        if (tg_hvp(g, f, n, x, even, he) != TG_OK || tg_hvp(g, f, n, x, odd, ho) != TG_OK) bad = 1;
        /* column 2i of H is in he, column 2i+1 in ho: the block is
         * [he[2i] ho[2i]; he[2i+1] ho[2i+1]] */
        for (size_t i = 0; i + 1 < n && !bad; i += 2) {
            const double *b = &band[3 * (i / 2)];
            if (!close_enough(he[i], b[0]) || !close_enough(ho[i], b[1]) || !close_enough(he[i + 1], b[1]) ||
                !close_enough(ho[i + 1], b[2]))
                bad = 4;
        }
    }
    if (bad) {
        fprintf(stderr, "tgbench h1: Rosenbrock n = %zu: %s\n", n,
                bad == 1 ? tg_graph_errmsg(g) : bad == 2 ? "H v differs from the hand-written H times v"
                : bad == 3 ? "tg_hessian differs from the hand-written Hessian"
                           : "the two-colour products differ from the hand-written blocks");
        return 1;
    }

    timing grad = { xcalloc((size_t)reps, sizeof(double)), reps }, hvp = grad, hess = grad, hand = grad, two = grad;
    hvp.s = xcalloc((size_t)reps, sizeof(double));
    hess.s = xcalloc((size_t)reps, sizeof(double));
    hand.s = xcalloc((size_t)reps, sizeof(double));
    two.s = xcalloc((size_t)reps, sizeof(double));
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        tg_backward(g, f);
        uint64_t t1 = bench_now_ns();
        tg_hvp(g, f, n, x, v, hv);
        uint64_t t2 = bench_now_ns();
        if (full) tg_hessian(g, f, n, x, H);
        else {
            tg_hvp(g, f, n, x, even, he);
            tg_hvp(g, f, n, x, odd, ho);
        }
        uint64_t t3 = bench_now_ns();
        rosen_hessian_by_hand(xv, n, full ? NULL : band, full ? Hh : NULL);
        uint64_t t4 = bench_now_ns();
        grad.s[r] = (double)(t1 - t0);
        hvp.s[r] = (double)(t2 - t1);
        (full ? hess : two).s[r] = (double)(t3 - t2);
        hand.s[r] = (double)(t4 - t3);
    }
    char key[64], label[96];
    bench_stats sg = stats(&grad), sh = stats(&hvp), sx = stats(full ? &hess : &two), sd = stats(&hand);
    snprintf(key, sizeof key, "gradient_%s", tag);
    snprintf(label, sizeof label, "gradient (tg_backward), n = %zu", n);
    bench_report_phase(rep, key, label, sg, 0, NULL);
    snprintf(key, sizeof key, "hvp_%s", tag);
    snprintf(label, sizeof label, "one H v (tg_hvp), n = %zu", n);
    bench_report_phase(rep, key, label, sh, 0, NULL);
    snprintf(key, sizeof key, "%s_%s", full ? "hessian" : "two_colour", tag);
    snprintf(label, sizeof label, full ? "full Hessian (tg_hessian), n = %zu" : "every block by two tg_hvp, n = %zu", n);
    bench_report_phase(rep, key, label, sx, 0, NULL);
    snprintf(key, sizeof key, "hand_%s", tag);
    snprintf(label, sizeof label, full ? "Hessian by hand into n x n, n = %zu" : "blocks by hand, n = %zu", n);
    bench_report_phase(rep, key, label, sd, 0, NULL);

    snprintf(key, sizeof key, "hvp_ratio_%s", tag);
    bench_report_num(rep, key, "  H v / gradient", sh.median / sg.median, 2, "x");
    if (full) {
        snprintf(key, sizeof key, "hessian_ratio_%s", tag);
        bench_report_num(rep, key, "  tg_hessian / gradient", sx.median / sg.median, 1, "x");
        snprintf(key, sizeof key, "hessian_hand_ratio_%s", tag);
        bench_report_num(rep, key, "  tg_hessian / by hand", sx.median / sd.median, 1, "x");
    } else {
        snprintf(key, sizeof key, "hessian_ratio_estimate_%s", tag);
        bench_report_num(rep, key, "  tg_hessian / gradient, estimated as n x (H v / gradient)",
                         (double)n * sh.median / sg.median, -3, "x");
        snprintf(key, sizeof key, "two_colour_ratio_%s", tag);
        bench_report_num(rep, key, "  two H v / gradient", sx.median / sg.median, 2, "x");
        snprintf(key, sizeof key, "two_colour_hand_ratio_%s", tag);
        bench_report_num(rep, key, "  two H v / blocks by hand", sx.median / sd.median, 1, "x");
    }
    free(grad.s); free(hvp.s); free(hess.s); free(hand.s); free(two.s);
    free(xv); free(v); free(hv); free(x); free(band); free(H); free(Hh); free(even); free(odd); free(he); free(ho);
    tg_graph_free(g);
    return 0;
}

enum { NET_IN = 784, NET_HID = 50, NET_OUT = 10, NET_BATCH = 100 };

/* The net's loss: H v against central differences of the gradient, then
 * one gradient and one H v timed. */
static int net_part(bench_report *rep, int reps)
{
    tg_net *net = tg_net_new(NET_IN, NET_HID, NET_OUT, 1);
    if (!net) return 1;
    tg_graph *g = tg_net_graph(net);
    bench_rng rng = { 77 };
    double *xb = xcalloc(NET_BATCH * NET_IN, sizeof *xb), *tb = xcalloc(NET_BATCH * NET_OUT, sizeof *tb);
    for (size_t i = 0; i < NET_BATCH * NET_IN; i++) xb[i] = bench_rng_uniform(&rng, 0, 1);
    for (size_t i = 0; i < NET_BATCH; i++) tb[i * NET_OUT + bench_rng_below(&rng, NET_OUT)] = 1;
    tg_net_batch(net, xb, tb, NET_BATCH);
    tg_node p[TG_NET_NPARAMS];
    for (int k = 0; k < TG_NET_NPARAMS; k++) p[k] = tg_find(g, tg_net_param_name(k));
    tg_node loss = tg_net_loss(net, tg_net_batch_x(net), tg_net_batch_t(net));
    size_t np = tg_net_param_count(net);
    double *v = xcalloc(np, sizeof *v), *hv = xcalloc(np, sizeof *hv), *w = xcalloc(np, sizeof *w);
    double *gp = xcalloc(np, sizeof *gp), *gm = xcalloc(np, sizeof *gm);
    /* checked along a v that moves W2 and b2 only, so that the differences
     * cross no relu; timed along a v that moves every parameter */
    size_t first = tg_net_param_size(net, 0) + tg_net_param_size(net, 1);
    for (size_t i = first; i < np; i++) v[i] = bench_rng_uniform(&rng, -1, 1);
    if (tg_graph_status(g) != TG_OK || tg_hvp(g, loss, TG_NET_NPARAMS, p, v, hv) != TG_OK) {
        fprintf(stderr, "tgbench h1: net: %s\n", tg_graph_errmsg(g));
        return 1;
    }
    /* differences of the gradient along v */
    const double h = 1e-4;
    double *base = xcalloc(np, sizeof *base);
    tg_net_get_params(net, base);
    for (int side = 0; side < 2; side++) {
        for (size_t i = 0; i < np; i++) w[i] = base[i] + (side ? -h : h) * v[i];
        const double *at = w;
        for (int k = 0; k < TG_NET_NPARAMS; k++) {
            tg_tensor_set(g, p[k], at);
            at += tg_net_param_size(net, k);
        }
        if (tg_backward(g, loss) != TG_OK) {
            fprintf(stderr, "tgbench h1: net: %s\n", tg_graph_errmsg(g));
            return 1;
        }
        double *out = side ? gm : gp;
        for (int k = 0; k < TG_NET_NPARAMS; k++) {
            tg_tensor_get_grad(g, p[k], out);
            out += tg_net_param_size(net, k);
        }
    }
    const double *at = base;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        tg_tensor_set(g, p[k], at);
        at += tg_net_param_size(net, k);
    }
    tg_forward(g);
    double worst = 0, scale = 0;
    for (size_t i = 0; i < np; i++) {
        worst = fmax(worst, fabs(hv[i] - (gp[i] - gm[i]) / (2 * h)));
        scale = fmax(scale, fabs(hv[i]));
    }
    if (!(worst <= 1e-6 * fmax(1.0, scale))) {
        fprintf(stderr, "tgbench h1: net H v differs from differences of the gradient by %g (scale %g)\n", worst,
                scale);
        return 1;
    }
    for (size_t i = 0; i < first; i++) v[i] = bench_rng_uniform(&rng, -1, 1);
    timing grad = { xcalloc((size_t)reps, sizeof(double)), reps }, hvp = { xcalloc((size_t)reps, sizeof(double)), reps };
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        tg_backward(g, loss);
        uint64_t t1 = bench_now_ns();
        tg_hvp(g, loss, TG_NET_NPARAMS, p, v, hv);
        uint64_t t2 = bench_now_ns();
        grad.s[r] = (double)(t1 - t0);
        hvp.s[r] = (double)(t2 - t1);
    }
    bench_stats sg = stats(&grad), sh = stats(&hvp);
    bench_report_phase(rep, "net_gradient", "net gradient (tg_backward), 784-50-10, batch 100", sg, 0, NULL);
    bench_report_phase(rep, "net_hvp", "net H v (tg_hvp), all 39760 parameters", sh, 0, NULL);
    bench_report_num(rep, "net_hvp_ratio", "  net H v / gradient", sh.median / sg.median, 2, "x");
    bench_report_num(rep, "net_hvp_max_diff", NULL, worst, -3, NULL);
    free(grad.s); free(hvp.s); free(xb); free(tb); free(v); free(hv); free(w); free(gp); free(gm); free(base);
    tg_net_free(net);
    return 0;
}

int bench_h1(const bench_opts *o)
{
    size_t small = o->quick ? 100 : 1000, large = o->quick ? 1000 : 10000;
    int reps = o->reps ? o->reps : o->quick ? 3 : 11;
    bench_report *rep = bench_report_new("H1", "second order: Rosenbrock Hessian and H v, the net's H v");
    bench_report_title(rep, "H1 second order, each a ratio to one gradient on the same tape (%d repetitions)", reps);
    bench_report_num(rep, "size", NULL, (double)large, 0, NULL);
    bench_report_num(rep, "repetitions", NULL, reps, 0, NULL);
    bench_report_str(rep, "reference", NULL, "one tg_backward of the same tape; the Rosenbrock Hessian by hand");
    bench_report_num(rep, "n_small", NULL, (double)small, 0, NULL);
    bench_report_num(rep, "n_large", NULL, (double)large, 0, NULL);
    int rc = rosen_size(rep, small, reps, true, "small");
    if (!rc) {
        bench_report_note(rep, "n = %zu: the full Hessian (%.0f MB) is not formed; its blocks come from two H v", large,
                          (double)large * (double)large * 8 / 1e6);
        rc = rosen_size(rep, large, reps, false, "large");
    }
    if (!rc) rc = net_part(rep, reps);
    bench_report_num(rep, "peak_rss_kib", NULL, (double)bench_peak_rss_kib(), 0, NULL);
    if (!rc) bench_report_emit(rep, o->json);
    bench_report_free(rep);
    return rc;
}
