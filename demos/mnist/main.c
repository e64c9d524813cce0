/*
 * mnist: the book's section 5.7.4 in C.  A TwoLayerNet (784-50-10) learns
 * the MNIST digits by backpropagation: mini-batches of 100 drawn at
 * random, SGD with learning rate 0.1, train and test accuracy printed
 * every epoch (600 iterations).  tg_backward does the backward pass; the
 * layers only record the forward one.
 *
 *     $ build/demos/mnist
 *     MNIST from ../shared/data/mnist: 60000 training, 10000 test images
 *     epoch  1  iter   600  loss 0.8012  train acc 0.9025  test acc 0.9071
 *     ...
 *     epoch 16  iter  9600  loss 0.0924  train acc 0.9763  test acc 0.9706
 *     done     iter 10000  loss 0.0871  train acc 0.9770  test acc 0.9712
 *     10000 iterations in 3.1 s (3200 it/s); evaluation took 1.4 s more
 *
 * Run with --help for the flags (--gradcheck, --save/--load, --log,
 * --plot, --json ...).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data_dir.h"
#include "plot.h"
#include "tapegrad/nn.h"

#ifndef TAPEGRAD_SOURCE_ROOT
#define TAPEGRAD_SOURCE_ROOT "."
#endif

typedef struct options {
    size_t iters, batch, hidden;
    double lr;
    uint64_t seed;
    const char *data, *save, *load, *log, *plot;
    int gradcheck, json;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mnist [options]\n"
            "Train the book's TwoLayerNet on MNIST (chapter 5.7) and report its accuracy.\n\n"
            "  --iters N       training iterations (10000)\n"
            "  --batch N       mini-batch size, drawn at random with replacement (100)\n"
            "  --lr X          SGD learning rate (0.1)\n"
            "  --hidden N      hidden units (50)\n"
            "  --seed N        seed of the weights and of the batches (1)\n"
            "  --data DIR      MNIST directory (else $TAPEGRAD_MNIST, else ../shared/data/mnist,\n"
            "                  else the same beside the source tree)\n"
            "  --gradcheck     compare backprop with numerical gradients on 3 images, then exit\n"
            "  --save FILE     save the trained parameters\n"
            "  --load FILE     evaluate parameters saved with --save instead of training\n"
            "  --log FILE      write iteration, loss and accuracies as CSV\n"
            "  --plot FILE     draw the loss and accuracy curves as SVG\n"
            "  --json          print only a JSON summary on stdout (progress goes to stderr)\n"
            "  --help          this text\n");
}

static int parse_size(const char *flag, const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v == 0 || v > SIZE_MAX) {
        fprintf(stderr, "mnist: %s wants a positive integer, not '%s'\n", flag, s);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    *o = (options){ .iters = 10000, .batch = 100, .hidden = 50, .lr = 0.1, .seed = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--gradcheck")) { o->gradcheck = 1; continue; }
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        /* every other flag takes a value, as "--flag v" or "--flag=v" */
        const char *v = NULL;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        char flag[32];
        snprintf(flag, sizeof flag, "%.*s", (int)(len < 31 ? len : 31), a);
        static const char *const valued[] = { "--iters", "--batch", "--hidden", "--seed", "--lr",
                                              "--data", "--save", "--load", "--log", "--plot" };
        int known = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0]; k++) known |= !strcmp(flag, valued[k]);
        if (!known) {
            fprintf(stderr, "mnist: unknown option %s (see --help)\n", flag);
            return -1;
        }
        if (!v) {
            fprintf(stderr, "mnist: %s needs a value (see --help)\n", flag);
            return -1;
        }
        if (!strcmp(flag, "--iters")) { if (parse_size(flag, v, &o->iters)) return -1; }
        else if (!strcmp(flag, "--batch")) { if (parse_size(flag, v, &o->batch)) return -1; }
        else if (!strcmp(flag, "--hidden")) { if (parse_size(flag, v, &o->hidden)) return -1; }
        else if (!strcmp(flag, "--seed")) {
            char *end;
            errno = 0;
            o->seed = strtoull(v, &end, 10);
            if (errno || end == v || *end || *v == '-') {
                fprintf(stderr, "mnist: --seed wants a non-negative integer, not '%s'\n", v);
                return -1;
            }
        } else if (!strcmp(flag, "--lr")) {
            char *end;
            o->lr = strtod(v, &end);
            if (end == v || *end || !(o->lr > 0)) {
                fprintf(stderr, "mnist: --lr wants a positive number, not '%s'\n", v);
                return -1;
            }
        }
        else if (!strcmp(flag, "--data")) o->data = v;
        else if (!strcmp(flag, "--save")) o->save = v;
        else if (!strcmp(flag, "--load")) o->load = v;
        else if (!strcmp(flag, "--log")) o->log = v;
        else if (!strcmp(flag, "--plot")) o->plot = v;
    }
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* s as a JSON string: quoted, with quotes, backslashes and control
 * characters escaped. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static int net_failed(tg_net *net, const char *what)
{
    fprintf(stderr, "mnist: %s: %s\n", what, tg_graph_errmsg(tg_net_graph(net)));
    return 1;
}

/* ------------------------------------------------------------ progress */

/* A one-line bar redrawn in place, at most ten times a second. */
typedef struct progress {
    int on;
    double start, last;
} progress;

static void progress_draw(progress *p, size_t done, size_t total, double loss)
{
    double t = now();
    if (!p->on || (t - p->last < 0.1 && done < total)) return;
    p->last = t;
    double rate = done / (t - p->start + 1e-9);
    double eta = rate > 0 ? (double)(total - done) / rate : 0.0;
    int width = 30, fill = (int)((double)width * (double)done / (double)total);
    printf("\r[%.*s%*s] %5zu/%zu  %6.0f it/s  ETA %5.1f s  loss %.4f", fill,
           "##############################", width - fill, "", done, total, rate, eta, loss);
    fflush(stdout);
}

static void progress_clear(progress *p)
{
    if (p->on) printf("\r%*s\r", 100, "");
}

/* ------------------------------------------------------------ modes */

static int gradcheck(const options *o, const tg_mnist *d, FILE *info)
{
    tg_net *net = tg_net_new(784, o->hidden, 10, o->seed);
    if (!net) {
        fprintf(stderr, "mnist: out of memory\n");
        return 1;
    }
    double diff[TG_NET_NPARAMS];
    if (tg_net_batch_mnist(net, &d->train, NULL, 0, 3) != TG_OK || tg_net_gradcheck(net, diff) != TG_OK) {
        int rc = net_failed(net, "gradient check");
        tg_net_free(net);
        return rc;
    }
    fprintf(info, "mean |backprop - numerical| on 3 training images:\n");
    for (int k = 0; k < TG_NET_NPARAMS; k++) fprintf(info, "%s: %.1e\n", tg_net_param_name(k), diff[k]);
    if (o->json) {
        printf("{\"gradcheck\": {");
        for (int k = 0; k < TG_NET_NPARAMS; k++)
            printf("%s\"%s\": %.3e", k ? ", " : "", tg_net_param_name(k), diff[k]);
        printf("}}\n");
    }
    tg_net_free(net);
    return 0;
}

static int evaluate_saved(const options *o, const tg_mnist *d, FILE *info)
{
    tg_error err;
    size_t in, hid, out;
    if (tg_net_file_sizes(o->load, &in, &hid, &out, &err) != TG_OK) {
        fprintf(stderr, "mnist: %s\n", err.msg);
        return 1;
    }
    if (in != 784 || out != 10) {
        fprintf(stderr, "mnist: %s holds a %zu-%zu-%zu net; MNIST needs 784 inputs and 10 outputs\n",
                o->load, in, hid, out);
        return 1;
    }
    tg_net *net = tg_net_new(in, hid, out, o->seed);
    if (!net) {
        fprintf(stderr, "mnist: out of memory\n");
        return 1;
    }
    int rc = 0;
    double train = 0, test = 0;
    if (tg_net_load(net, o->load, &err) != TG_OK) {
        fprintf(stderr, "mnist: %s\n", err.msg);
        rc = 1;
    } else if (tg_net_accuracy(net, &d->train, &train) != TG_OK ||
               tg_net_accuracy(net, &d->test, &test) != TG_OK) {
        rc = net_failed(net, "evaluation");
    } else {
        fprintf(info, "%s (784-%zu-10): train acc %.4f  test acc %.4f\n", o->load, hid, train, test);
        if (o->json) {
            printf("{\"model\": ");
            json_string(stdout, o->load);
            printf(", \"hidden\": %zu, \"train_accuracy\": %.6f, \"test_accuracy\": %.6f}\n", hid,
                   train, test);
        }
    }
    tg_net_free(net);
    return rc;
}

static int write_log(const char *path, const double *loss, size_t iters, const eval_point *ev,
                     size_t nev)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "iteration,loss,train_accuracy,test_accuracy\n");
    size_t e = 0;
    for (size_t i = 0; i < iters; i++) {
        fprintf(f, "%zu,%.17g", i + 1, loss[i]);
        if (e < nev && ev[e].iter == i + 1) {
            fprintf(f, ",%.6f,%.6f\n", ev[e].train, ev[e].test);
            e++;
        } else {
            fprintf(f, ",,\n");
        }
    }
    int bad = ferror(f);
    return fclose(f) != 0 || bad ? -1 : 0;
}

static int train(const options *o, const tg_mnist *d, FILE *info)
{
    tg_net *net = tg_net_new(784, o->hidden, 10, o->seed);
    size_t per_epoch = d->train.count / o->batch ? d->train.count / o->batch : 1;
    size_t max_evals = o->iters / per_epoch + 1;
    double *loss = malloc(o->iters * sizeof *loss);
    eval_point *ev = malloc(max_evals * sizeof *ev);
    size_t *idx = malloc(o->batch * sizeof *idx);
    int rc = 0;
    if (!net || !loss || !ev || !idx) {
        fprintf(stderr, "mnist: out of memory\n");
        rc = 1;
        goto done;
    }
    /* The batches draw from their own stream, so the weights depend on the seed alone. */
    tg_rng batches = tg_rng_seed(o->seed ^ 0xD1B54A32D192ED03ull);
    progress bar = { isatty(STDOUT_FILENO) && !o->json, now(), 0.0 };
    double train_s = 0.0, eval_s = 0.0, epoch_loss = 0.0;
    size_t nev = 0;
    for (size_t i = 0; i < o->iters; i++) {
        double t0 = now();
        for (size_t b = 0; b < o->batch; b++) idx[b] = tg_rng_below(&batches, d->train.count);
        if (tg_net_batch_mnist(net, &d->train, idx, 0, o->batch) != TG_OK ||
            tg_net_train_step(net, o->lr, &loss[i]) != TG_OK) {
            progress_clear(&bar);
            rc = net_failed(net, "training step");
            goto done;
        }
        train_s += now() - t0;
        epoch_loss += loss[i];
        size_t done = i + 1;
        if (done % per_epoch == 0 || done == o->iters) {
            double t1 = now();
            eval_point *e = &ev[nev];
            e->iter = done;
            if (tg_net_accuracy(net, &d->train, &e->train) != TG_OK ||
                tg_net_accuracy(net, &d->test, &e->test) != TG_OK) {
                progress_clear(&bar);
                rc = net_failed(net, "evaluation");
                goto done;
            }
            eval_s += now() - t1;
            size_t since = done % per_epoch ? done % per_epoch : per_epoch;
            progress_clear(&bar);
            if (done % per_epoch == 0)
                fprintf(info, "epoch %2zu  ", done / per_epoch);
            else
                fprintf(info, "done      ");
            fprintf(info, "iter %5zu  loss %.4f  train acc %.4f  test acc %.4f\n", done,
                    epoch_loss / (double)since, e->train, e->test);
            fflush(info);
            epoch_loss = 0.0;
            nev++;
        }
        progress_draw(&bar, done, o->iters, loss[i]);
    }
    progress_clear(&bar);
    const eval_point *last = &ev[nev - 1];
    fprintf(info, "%zu iterations in %.2f s (%.0f it/s); evaluation took %.2f s more\n", o->iters,
            train_s, (double)o->iters / train_s, eval_s);

    tg_error err;
    if (o->save) {
        if (tg_net_save(net, o->save, &err) != TG_OK) {
            fprintf(stderr, "mnist: %s\n", err.msg);
            rc = 1;
        } else {
            fprintf(info, "saved the parameters to %s\n", o->save);
        }
    }
    if (o->log && write_log(o->log, loss, o->iters, ev, nev) != 0) {
        fprintf(stderr, "mnist: %s: %s\n", o->log, strerror(errno));
        rc = 1;
    }
    char caption[256];
    snprintf(caption, sizeof caption,
             "TwoLayerNet 784-%zu-10, batch %zu, SGD lr %g, seed %" PRIu64
             ": train accuracy %.4f, test accuracy %.4f after %zu iterations",
             o->hidden, o->batch, o->lr, o->seed, last->train, last->test, o->iters);
    if (o->plot && plot_write_svg(o->plot, caption, loss, o->iters, ev, nev) != 0) {
        fprintf(stderr, "mnist: %s: %s\n", o->plot, strerror(errno));
        rc = 1;
    }
    if (o->json)
        printf("{\"iterations\": %zu, \"batch\": %zu, \"lr\": %g, \"hidden\": %zu, \"seed\": %" PRIu64
               ", \"seconds\": %.4f, \"eval_seconds\": %.4f, \"final_loss\": %.6f, "
               "\"train_accuracy\": %.6f, \"test_accuracy\": %.6f}\n",
               o->iters, o->batch, o->lr, o->hidden, o->seed, train_s, eval_s,
               loss[o->iters - 1], last->train, last->test);
done:
    free(idx);
    free(ev);
    free(loss);
    tg_net_free(net);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    if (parse_args(argc, argv, &o) != 0) return 2;
    /* With --json, stdout carries only the summary. */
    FILE *info = o.json ? stderr : stdout;

    tg_error err;
    tg_mnist data;
    double t0 = now();
    const char *dir = data_dir_find(o.data, TAPEGRAD_SOURCE_ROOT "/../shared/data/mnist", &err);
    if (!dir || tg_mnist_load(dir, &data, &err) != TG_OK) {
        fprintf(stderr, "mnist: %s\n", err.msg);
        return 1;
    }
    fprintf(info, "MNIST from %s: %zu training, %zu test images (read in %.1f s)\n", dir,
            data.train.count, data.test.count, now() - t0);
    if (data.train.rows * data.train.cols != 784 || data.test.rows * data.test.cols != 784) {
        fprintf(stderr, "mnist: expected 28x28 images, found %zux%zu and %zux%zu\n",
                data.train.rows, data.train.cols, data.test.rows, data.test.cols);
        tg_mnist_free(&data);
        return 1;
    }

    int rc;
    if (o.gradcheck) rc = gradcheck(&o, &data, info);
    else if (o.load) rc = evaluate_saved(&o, &data, info);
    else rc = train(&o, &data, info);
    tg_mnist_free(&data);
    return rc;
}
