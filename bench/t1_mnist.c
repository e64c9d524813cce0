/*
 * T1: the book's TwoLayerNet 784-50-10 trained on real MNIST, batch 100,
 * lr 0.1, 10000 iterations, float64 and then float32, through tapegrad's tensor layer
 * (tg_net_train_step: mark, record, tg_backward, SGD, rewind).  Only the
 * training loop is timed: batch gather, forward, backward, update.
 *
 * In the same run, T1-floor (t1_floor.c) trains the same network from the
 * same initial weights on the same batches with plain CBLAS calls, the two
 * interleaved chunk by chunk, and the five dgemm calls of one step are
 * timed alone: the machine's own rate for these shapes.  floor_ratio =
 * tapegrad / floor; the dgemm fraction = dgemm time / training time, the
 * share of the loop that the matrix products alone would take at the rate
 * BLAS reaches here.
 */
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "t1.h"
#include "tapegrad/mnist.h"
#include "tapegrad/nn.h"

#ifndef TGBENCH_MNIST_FALLBACK
#define TGBENCH_MNIST_FALLBACK NULL
#endif

enum { T1_IN = 784, T1_HID = 50, T1_OUT = 10, T1_BATCH = 100, T1_CHUNK = 100 };
static const double t1_lr = 0.1;
static const uint64_t t1_seed = 1;  /* build/demos/mnist's default */

typedef struct t1_run {
    double seconds;          /* sum of the timed iterations */
    double accuracy, loss_first, loss_last;
    bench_stats iter_ns;
} t1_run;

/* The two trainings, interleaved: `chunk` iterations of one, then the same
 * iterations of the other, the order swapping each chunk.  On a machine
 * shared with other jobs both then meet the same interference, and the
 * ratio of their sums stays meaningful even when the sums are not.  Each
 * training's own memory (weights, batch, tape) is small next to the cache
 * a chunk of 100 steps runs through, so the interleaving costs either
 * little.  f is left trained; the tapegrad parameters go to params_out. */
/* The floor's side of a training, float64 (floor_net) or float32
 * (floor_net32). */
typedef struct floor_side {
    void *net;
    double (*step)(void *net, const tg_mnist_set *set, const size_t *idx, double lr);
    double (*accuracy)(void *net, const tg_mnist_set *set);
} floor_side;

static double step64(void *f, const tg_mnist_set *set, const size_t *idx, double lr)
{
    return floor_net_step(f, set, idx, lr);
}
static double accuracy64(void *f, const tg_mnist_set *set) { return floor_net_accuracy(f, set); }
static double step32(void *f, const tg_mnist_set *set, const size_t *idx, double lr)
{
    return floor_net32_step(f, set, idx, lr);
}
static double accuracy32(void *f, const tg_mnist_set *set) { return floor_net32_accuracy(f, set); }

static int train_both(const tg_mnist *data, const size_t *idx, long iters, long chunk,
                      tg_dtype dtype, floor_side f, double *tg_ns, double *fl_ns, t1_run *tg,
                      t1_run *fl, double *params_out)
{
    tg_net *net = tg_net_new_ex(T1_IN, T1_HID, T1_OUT, t1_seed, dtype, NULL);
    if (!net) {
        fprintf(stderr, "T1: tg_net_new failed\n");
        return 1;
    }
    double tg_loss = NAN, fl_loss = NAN;
    for (long start = 0; start < iters; start += chunk) {
        long end = start + chunk < iters ? start + chunk : iters;
        bool floor_first = (start / chunk) % 2 == 0;
        for (int side = 0; side < 2; side++) {
            if ((side == 0) == floor_first) {
                for (long it = start; it < end; it++) {
                    uint64_t t0 = bench_now_ns();
                    fl_loss = f.step(f.net, &data->train, idx + (size_t)it * T1_BATCH, t1_lr);
                    fl_ns[it] = (double)(bench_now_ns() - t0);
                    if (it == 0) fl->loss_first = fl_loss;
                }
            } else {
                for (long it = start; it < end; it++) {
                    uint64_t t0 = bench_now_ns();
                    tg_net_batch_mnist(net, &data->train, idx + (size_t)it * T1_BATCH, 0, T1_BATCH);
                    tg_net_train_step(net, t1_lr, &tg_loss);
                    tg_ns[it] = (double)(bench_now_ns() - t0);
                    if (it == 0) tg->loss_first = tg_loss;
                }
            }
        }
    }
    tg->seconds = fl->seconds = 0.0;
    for (long it = 0; it < iters; it++) {
        tg->seconds += tg_ns[it] / 1e9;
        fl->seconds += fl_ns[it] / 1e9;
    }
    tg->loss_last = tg_loss;
    fl->loss_last = fl_loss;
    tg->iter_ns = bench_stats_of(tg_ns, (size_t)iters);
    fl->iter_ns = bench_stats_of(fl_ns, (size_t)iters);
    fl->accuracy = f.accuracy(f.net, &data->test);
    int rc = 0;
    if (tg_net_accuracy(net, &data->test, &tg->accuracy) != TG_OK ||
        tg_graph_status(tg_net_graph(net)) != TG_OK) {
        fprintf(stderr, "T1: %s\n", tg_graph_errmsg(tg_net_graph(net)));
        rc = 1;
    }
    tg_net_get_params(net, params_out);
    tg_net_free(net);
    return rc;
}

/* Before timing anything: one gradient of each on the first batch must
 * agree, or the floor is not the same network. */
static int check_same_network(const tg_mnist *data, const size_t *idx, const double *init,
                              size_t np, double *max_diff)
{
    tg_net *net = tg_net_new(T1_IN, T1_HID, T1_OUT, t1_seed);
    floor_net f;
    double *gt = malloc(np * sizeof *gt);
    if (!net || !gt || floor_net_init(&f, T1_IN, T1_HID, T1_OUT, T1_BATCH, init) != 0) {
        fprintf(stderr, "T1: out of memory\n");
        exit(1);
    }
    double loss_tg = NAN;
    tg_net_batch_mnist(net, &data->train, idx, 0, T1_BATCH);
    tg_net_gradient(net, &loss_tg);
    tg_net_get_grads(net, gt);
    double loss_floor = floor_net_gradient(&f, &data->train, idx);
    *max_diff = 0.0;
    for (size_t i = 0; i < np; i++) {
        double d = fabs(gt[i] - f.grads[i]);
        if (!(d <= *max_diff)) *max_diff = d;
    }
    int rc = 0;
    if (tg_graph_status(tg_net_graph(net)) != TG_OK) {
        fprintf(stderr, "T1: %s\n", tg_graph_errmsg(tg_net_graph(net)));
        rc = 1;
    } else if (!(*max_diff <= 1e-12) || !(fabs(loss_tg - loss_floor) <= 1e-12)) {
        fprintf(stderr, "T1: tapegrad and the CBLAS floor disagree on the first batch: "
                        "loss %.17g vs %.17g, max |grad diff| %.3g\n",
                loss_tg, loss_floor, *max_diff);
        rc = 1;
    }
    floor_net_free(&f);
    free(gt);
    tg_net_free(net);
    return rc;
}

/* T1's data, in the order bench/README.md gives: --data DIR, else
 * $TAPEGRAD_MNIST, else ../shared/data/mnist, else the same beside the
 * source tree.  A directory named by flag or variable is the only place
 * looked at.  NULL, having said why on stderr, when there is none. */
static const char *t1_data_dir(const char *given)
{
    const char *env = getenv("TAPEGRAD_MNIST");
    const char *named = given ? given : env && *env ? env : NULL;
    tg_error err;
    if (named) {
        if (tg_mnist_probe(named, &err) == TG_OK) return named;
        fprintf(stderr, "T1: skipped: %s (%s)\n", err.msg, given ? "--data" : "$TAPEGRAD_MNIST");
        return NULL;
    }
    const char *const places[] = { "../shared/data/mnist", TGBENCH_MNIST_FALLBACK };
    for (size_t k = 0; k < sizeof places / sizeof places[0]; k++)
        if (places[k] && tg_mnist_probe(places[k], NULL) == TG_OK) return places[k];
    fprintf(stderr, "T1: skipped: no MNIST in %s%s%s; $TAPEGRAD_MNIST is not set (see --data DIR)\n",
            places[0], places[1] ? " nor in " : "", places[1] ? places[1] : "");
    return NULL;
}

int bench_t1(const bench_opts *o)
{
    const long iters = o->iters ? o->iters : (o->quick ? 300 : 10000);
    const int reps = o->reps ? o->reps : 1;

    tg_error err;
    tg_mnist data;
    const char *dir = t1_data_dir(o->data);
    if (!dir) return BENCH_SKIP;
    if (tg_mnist_load(dir, &data, &err) != TG_OK) {
        fprintf(stderr, "T1: %s\n", err.msg);
        return 1;
    }

    /* the batches: iters x 100 indices drawn with replacement, as
     * np.random.choice(train_size, batch_size) */
    bench_rng rng = { 0x5eed0005u };
    size_t *idx = malloc((size_t)iters * T1_BATCH * sizeof *idx);
    double *tg_ns = malloc((size_t)iters * sizeof *tg_ns);
    double *fl_ns = malloc((size_t)iters * sizeof *fl_ns);
    tg_net *proto = tg_net_new(T1_IN, T1_HID, T1_OUT, t1_seed);
    size_t np = proto ? tg_net_param_count(proto) : 0;
    double *init = malloc(np * sizeof *init), *trained_tg = malloc(np * sizeof *trained_tg);
    if (!idx || !tg_ns || !fl_ns || !proto || !init || !trained_tg) {
        fprintf(stderr, "T1: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < (size_t)iters * T1_BATCH; i++) idx[i] = bench_rng_below(&rng, data.train.count);
    tg_net_get_params(proto, init);
    tg_net_free(proto);

    double first_diff = 0.0;
    int rc = check_same_network(&data, idx, init, np, &first_diff);
    if (rc) goto done;

    /* Whole runs repeat with --reps; the median of each is reported. */
    t1_run tg_runs[16], fl_runs[16], tg32_runs[16], fl32_runs[16];
    int nruns = reps < 16 ? reps : 16;
    floor_net f;
    double dgemm_ns = NAN, flops = 0, param_drift = 0.0;
    for (int r = 0; r < nruns && rc == 0; r++) {
        if (floor_net_init(&f, T1_IN, T1_HID, T1_OUT, T1_BATCH, init) != 0) {
            fprintf(stderr, "T1: out of memory\n");
            rc = 1;
            break;
        }
        rc = train_both(&data, idx, iters, T1_CHUNK, TG_F64, (floor_side){ &f, step64, accuracy64 },
                        tg_ns, fl_ns, &tg_runs[r], &fl_runs[r], trained_tg);
        if (r == nruns - 1) {
            /* how far the two trainings drift apart through rounding
             * differences over all the steps (informative, not a check) */
            for (size_t i = 0; i < np; i++) {
                double e = fabs(trained_tg[i] - f.params[i]);
                if (!(e <= param_drift)) param_drift = e;
            }
            dgemm_ns = floor_dgemm_ns(&f, o->quick ? 200 : 2000, &flops);
        }
        floor_net_free(&f);
        if (rc) break;
        /* float32: tapegrad against the float32 floor, from the same
         * weights rounded to float, on the same batches */
        floor_net32 f32;
        if (floor_net32_init(&f32, T1_IN, T1_HID, T1_OUT, T1_BATCH, init) != 0) {
            fprintf(stderr, "T1: out of memory\n");
            rc = 1;
            break;
        }
        rc = train_both(&data, idx, iters, T1_CHUNK, TG_F32,
                        (floor_side){ &f32, step32, accuracy32 }, tg_ns, fl_ns, &tg32_runs[r],
                        &fl32_runs[r], trained_tg);
        floor_net32_free(&f32);
    }
    if (rc) goto done;

    {
        double tg_sec[16], fl_sec[16], tg_it[16], fl_it[16];
        for (int r = 0; r < nruns; r++) {
            tg_sec[r] = tg_runs[r].seconds;
            fl_sec[r] = fl_runs[r].seconds;
            tg_it[r] = tg_runs[r].iter_ns.median;
            fl_it[r] = fl_runs[r].iter_ns.median;
        }
        bench_stats tgs = bench_stats_of(tg_sec, (size_t)nruns);
        bench_stats fls = bench_stats_of(fl_sec, (size_t)nruns);
        bench_stats tgi = bench_stats_of(tg_it, (size_t)nruns);
        bench_stats fli = bench_stats_of(fl_it, (size_t)nruns);
        const t1_run *last_tg = &tg_runs[nruns - 1], *last_fl = &fl_runs[nruns - 1];
        double dgemm_sec = dgemm_ns * (double)iters / 1e9;
        double gflops = flops / dgemm_ns;
        double floor_ratio = tgs.median / fls.median;

        bench_report *r = bench_report_new("T1", "TwoLayerNet 784-50-10 on MNIST: training loop");
        bench_report_title(r, "TwoLayerNet 784-50-10 on MNIST, batch %d, lr %g, %ld iterations, "
                              "float64 then float32; %d run%s each", T1_BATCH, t1_lr, iters, nruns,
                           nruns > 1 ? "s" : "");
        bench_report_num(r, "size", NULL, (double)np, 0, NULL);
        bench_report_num(r, "iterations", NULL, (double)iters, 0, NULL);
        bench_report_num(r, "batch", NULL, T1_BATCH, 0, NULL);
        bench_report_num(r, "repetitions", NULL, nruns, 0, NULL);
        bench_report_phase(r, "iteration", "tapegrad: one iteration", last_tg->iter_ns, 0, NULL);
        bench_report_phase(r, "floor_iteration", "CBLAS floor: one iteration", last_fl->iter_ns, 0,
                           NULL);
        bench_report_phase(r, "dgemm_iteration", "the five dgemm calls alone",
                           (bench_stats){ dgemm_ns, NAN }, 0, NULL);
        bench_report_phase(r, "train", "tapegrad: training loop",
                           (bench_stats){ tgs.median * 1e9, tgs.min * 1e9 }, 0, NULL);
        bench_report_phase(r, "floor_train", "CBLAS floor: training loop",
                           (bench_stats){ fls.median * 1e9, fls.min * 1e9 }, 0, NULL);
        bench_report_num(r, "train_seconds", "tapegrad training", tgs.median, 3,
                         "s (target <= 4.0, stretch 3.0)");
        bench_report_num(r, "floor_seconds", "CBLAS floor training", fls.median, 3, "s");
        bench_report_num(r, "train_seconds_from_median", "tapegrad median iteration x iterations",
                         tgi.median * (double)iters / 1e9, 3, "s");
        bench_report_num(r, "floor_seconds_from_median", "floor median iteration x iterations",
                         fli.median * (double)iters / 1e9, 3, "s");
        bench_report_num(r, "floor_ratio", "floor ratio (tapegrad / floor)", floor_ratio, 3,
                         "(aim <= 1.15)");
        bench_report_num(r, "iteration_ratio", "per-iteration median ratio", tgi.median / fli.median,
                         3, "");
        bench_report_num(r, "test_accuracy", "tapegrad test accuracy", last_tg->accuracy, 4,
                         "(target >= 0.97)");
        bench_report_num(r, "floor_test_accuracy", "floor test accuracy", last_fl->accuracy, 4, "");
        bench_report_num(r, "loss_first", NULL, last_tg->loss_first, 6, NULL);
        bench_report_num(r, "loss_last", "tapegrad loss, last batch", last_tg->loss_last, 4, "");
        bench_report_num(r, "floor_loss_last", "floor loss, last batch", last_fl->loss_last, 4, "");
        bench_report_num(r, "first_grad_diff", NULL, first_diff, 3, NULL);
        bench_report_num(r, "param_drift", NULL, param_drift, 3, NULL);
        bench_report_num(r, "dgemm_gflops", "dgemm rate at the T1 shapes", gflops, 2, "GFLOP/s");
        bench_report_num(r, "dgemm_seconds", "dgemm alone for all iterations", dgemm_sec, 3, "s");
        bench_report_num(r, "dgemm_fraction", "fraction of dgemm rate T1 reaches",
                         dgemm_sec / tgs.median, 3, "");
        bench_report_num(r, "floor_dgemm_fraction", "fraction the floor reaches",
                         dgemm_sec / fls.median, 3, "");
        {
            double tg32[16], fl32[16], tg32_it[16], fl32_it[16];
            for (int k = 0; k < nruns; k++) {
                tg32[k] = tg32_runs[k].seconds;
                fl32[k] = fl32_runs[k].seconds;
                tg32_it[k] = tg32_runs[k].iter_ns.median;
                fl32_it[k] = fl32_runs[k].iter_ns.median;
            }
            bench_stats t32 = bench_stats_of(tg32, (size_t)nruns);
            bench_stats f32s = bench_stats_of(fl32, (size_t)nruns);
            bench_stats t32i = bench_stats_of(tg32_it, (size_t)nruns);
            bench_stats f32i = bench_stats_of(fl32_it, (size_t)nruns);
            const t1_run *l32 = &tg32_runs[nruns - 1], *lf32 = &fl32_runs[nruns - 1];
            bench_report_num(r, "f32_train_seconds", "float32: tapegrad training", t32.median, 3, "s");
            bench_report_num(r, "f32_floor_seconds", "float32: sgemm floor training", f32s.median, 3,
                             "s");
            bench_report_num(r, "f32_floor_ratio", "float32 floor ratio (tapegrad / floor)",
                             t32.median / f32s.median, 3, "(target <= 1.10)");
            bench_report_num(r, "f32_iteration_ratio", "float32 per-iteration median ratio",
                             t32i.median / f32i.median, 3, "");
            bench_report_num(r, "f32_speedup", "float64 / float32 tapegrad training",
                             tgs.median / t32.median, 3, "");
            bench_report_num(r, "f32_test_accuracy", "float32: tapegrad test accuracy",
                             l32->accuracy, 4, "(target >= 0.97)");
            bench_report_num(r, "f32_floor_test_accuracy", "float32: floor test accuracy",
                             lf32->accuracy, 4, "");
            bench_report_num(r, "f32_loss_last", "float32: tapegrad loss, last batch",
                             l32->loss_last, 4, "");
        }
        bench_report_num(r, "peak_rss_kib", "peak RSS", (double)bench_peak_rss_kib(), 0, "KiB");
        bench_report_num(r, "target_seconds", NULL, 4.0, 1, NULL);
#ifdef OPENBLAS_VERSION
        bench_report_num(r, "blas_threads", "OpenBLAS threads", openblas_get_num_threads(), 0, "");
#endif
        bench_report_str(r, "data", NULL, dir);
        bench_report_str(r, "reference", NULL,
                         "T1-floor: the same net on plain CBLAS, same run; issue 5: numpy 6.1 s, "
                         "PyTorch float64 5.1 s, hand-written C + OpenBLAS 4.4 s, dgemm floor ~2.7 s");
        bench_report_note(r, "first batch: max |grad tapegrad - grad floor| = %.3g; after training: "
                             "max |param tapegrad - param floor| = %.3g", first_diff, param_drift);
        bench_report_note(r, "others on this kind of machine: numpy 6.1 s, PyTorch float64 5.1 s, "
                             "C + OpenBLAS by hand 4.4 s");
        bench_report_emit(r, o->json);
        bench_report_free(r);
    }

done:
    free(idx);
    free(tg_ns);
    free(fl_ns);
    free(init);
    free(trained_tg);
    tg_mnist_free(&data);
    return rc;
}
