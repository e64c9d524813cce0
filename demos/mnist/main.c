/*
 * mnist: the book's section 5.7.4 in C.  A TwoLayerNet (784-50-10) learns
 * the MNIST digits by backpropagation: mini-batches of 100 drawn at
 * random, SGD with learning rate 0.1, train and test accuracy printed
 * every epoch (600 iterations).  tg_backward does the backward pass; the
 * layers only record the forward one.
 *
 *     $ build/demos/mnist
 *     MNIST from ../shared/data/mnist: 60000 training, 10000 test images
 *     epoch  1  iter   600  epoch mean loss 0.8012  train acc 0.9025  test acc 0.9071
 *     ...
 *     epoch 16  iter  9600  epoch mean loss 0.0924  train acc 0.9763  test acc 0.9706
 *     done      iter 10000  epoch mean loss 0.0871  train acc 0.9770  test acc 0.9712
 *     10000 iterations in 3.1 s (3200 it/s); evaluation took 1.4 s more; last batch loss 0.0713
 *
 * Run with --help for the flags (--gradcheck, --save/--load, --log,
 * --plot, --json ...).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "data_dir.h"
#include "demo_support.h"
#include "outfile.h"
#include "plot.h"
#include "tapegrad/nn.h"

#ifndef TAPEGRAD_SOURCE_ROOT
#define TAPEGRAD_SOURCE_ROOT "."
#endif

#define PROG "mnist"

/* Bounds that keep every allocation sensible, checked before any is made:
 * the losses take 8 bytes an iteration, W1 784 x hidden doubles.  The
 * batch is bounded again by the training set once it is read. */
#define MAX_ITERS 10000000
#define MAX_HIDDEN 10000
#define MAX_BATCH 1000000

enum option_id { ITERS, BATCH, LR, HIDDEN, SEED, DATA, GRADCHECK, SAVE, LOAD, LOG, PLOT, JSON, DTYPE,
                 NOPTIONS };
static const char *const option_name[NOPTIONS] = {
    "--iters", "--batch", "--lr", "--hidden", "--seed", "--data", "--gradcheck", "--save", "--load",
    "--log", "--plot", "--json", "--dtype",
};

typedef struct options {
    size_t iters, batch, hidden, seed;
    double lr;
    tg_dtype dtype;
    const char *data, *save, *load, *log, *plot;
    bool given[NOPTIONS];
} options;

/* The files a run writes, each created whole at the end or not at all. */
typedef struct outputs {
    outfile save, log, plot;
} outputs;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: mnist [--iters N] [--batch N] [--lr X] [--hidden N] [--seed N] [--data DIR]\n"
            "             [--save FILE] [--log FILE] [--plot FILE] [--json] [--dtype f64|f32]\n"
            "       mnist --gradcheck [--hidden N] [--seed N | --load FILE] [--data DIR] [--json]\n"
            "                         [--dtype f64|f32]\n"
            "       mnist --load FILE [--data DIR] [--json] [--dtype f64|f32]\n"
            "       mnist --help | --version\n"
            "\n"
            "Train the book's TwoLayerNet on MNIST (chapter 5.7) and report its accuracy.\n"
            "An option's value follows it as --iters 500 or --iters=500.\n\n"
            "  --iters N       training iterations (10000; at most %d)\n"
            "  --batch N       mini-batch size, drawn at random with replacement (100; at\n"
            "                  most the training set)\n"
            "  --lr X          SGD learning rate, a positive finite number (0.1)\n"
            "  --hidden N      hidden units (50; at most %d)\n"
            "  --seed N        seed of the weights and of the batches (1)\n"
            "  --dtype T       the net's numbers: f64 (float64, the default) or f32 (float32);\n"
            "                  a file saved in the other loads converted\n"
            "  --data DIR      MNIST directory (else $TAPEGRAD_MNIST, else ../shared/data/mnist,\n"
            "                  else the same beside the source tree)\n"
            "  --gradcheck     compare backprop with numerical gradients on 3 images, then exit;\n"
            "                  with --load, of the saved net\n"
            "  --save FILE     save the trained parameters\n"
            "  --load FILE     evaluate parameters saved with --save instead of training\n"
            "  --log FILE      write iteration, batch loss and accuracies as CSV\n"
            "  --plot FILE     draw the loss and accuracy curves as SVG\n"
            "  --json          print only a JSON summary on stdout (progress goes to stderr);\n"
            "                  numbers that are not finite are written as null\n"
            "  --help          this text\n"
            "  --version       the version of tapegrad\n"
            "\n"
            "Three losses are shown: the batch loss (of one mini-batch, on the progress\n"
            "bar and in the log), the epoch mean loss (of every batch since the last\n"
            "evaluation, on each epoch line) and the last batch loss (the summary).\n"
            "Files are written whole when the run succeeds, or not at all.\n",
            MAX_ITERS, MAX_HIDDEN);
}

/* Options that mean nothing with `mode` (--load or --gradcheck): the first
 * one given is refused by name. */
static bool refuse_with(const options *o, enum option_id mode, const enum option_id *unused,
                        size_t n, const char *why)
{
    for (size_t k = 0; k < n; k++)
        if (o->given[unused[k]]) {
            cli_conflict(PROG, option_name[mode], option_name[unused[k]], why);
            return false;
        }
    return true;
}

/* 0 to run, 1 when done (--help, --version), -1 on a bad command line. */
static int parse_args(int argc, char **argv, options *o)
{
    enum { VERSION = NOPTIONS };
    static const struct option longopts[] = {
        { "iters", required_argument, NULL, ITERS },   { "batch", required_argument, NULL, BATCH },
        { "lr", required_argument, NULL, LR },         { "hidden", required_argument, NULL, HIDDEN },
        { "seed", required_argument, NULL, SEED },     { "data", required_argument, NULL, DATA },
        { "gradcheck", no_argument, NULL, GRADCHECK }, { "save", required_argument, NULL, SAVE },
        { "load", required_argument, NULL, LOAD },     { "log", required_argument, NULL, LOG },
        { "plot", required_argument, NULL, PLOT },     { "json", no_argument, NULL, JSON },
        { "dtype", required_argument, NULL, DTYPE },
        { "help", no_argument, NULL, 'h' },            { "version", no_argument, NULL, VERSION },
        { NULL, 0, NULL, 0 },
    };
    *o = (options){ .iters = 10000, .batch = 100, .hidden = 50, .lr = 0.1, .seed = 1 };
    opterr = 0;
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c >= 0 && c < NOPTIONS) o->given[c] = true;
        switch (c) {
        case ITERS: ok = cli_size(PROG, "--iters", optarg, 1, MAX_ITERS, &o->iters); break;
        case BATCH: ok = cli_size(PROG, "--batch", optarg, 1, MAX_BATCH, &o->batch); break;
        case HIDDEN: ok = cli_size(PROG, "--hidden", optarg, 1, MAX_HIDDEN, &o->hidden); break;
        case SEED: ok = cli_size(PROG, "--seed", optarg, 0, SIZE_MAX, &o->seed); break;
        case LR:
            ok = cli_double(PROG, "--lr", optarg, &o->lr);
            if (ok && !(o->lr > 0)) {
                fprintf(stderr, PROG ": --lr wants a positive number, not '%s'\n", optarg);
                ok = false;
            }
            break;
        case DATA: o->data = optarg; break;
        case SAVE: ok = cli_path(PROG, "--save", optarg); o->save = optarg; break;
        case LOAD: o->load = optarg; break;
        case LOG: ok = cli_path(PROG, "--log", optarg); o->log = optarg; break;
        case PLOT: ok = cli_path(PROG, "--plot", optarg); o->plot = optarg; break;
        case DTYPE:
            if (strcmp(optarg, "f64") == 0) o->dtype = TG_F64;
            else if (strcmp(optarg, "f32") == 0) o->dtype = TG_F32;
            else {
                fprintf(stderr, PROG ": --dtype wants f64 or f32, not '%s'\n", optarg);
                ok = false;
            }
            break;
        case GRADCHECK: case JSON: break;
        case 'h': usage(stdout); return 1;
        case VERSION: cli_version(PROG); return 1;
        default: cli_bad_option(PROG, argv, c); return -1;
        }
    }
    if (!ok || !cli_no_operands(PROG, argc, argv)) return -1;
    static const enum option_id training[] = { ITERS, BATCH, LR, SAVE, LOG, PLOT };
    static const enum option_id fresh_net[] = { HIDDEN, SEED };
    if (o->given[GRADCHECK] &&
        !refuse_with(o, GRADCHECK, training, sizeof training / sizeof training[0],
                     "the gradient check trains nothing"))
        return -1;
    if (o->given[LOAD] &&
        (!refuse_with(o, LOAD, training, sizeof training / sizeof training[0],
                      "a loaded net is evaluated, not trained") ||
         !refuse_with(o, LOAD, fresh_net, sizeof fresh_net / sizeof fresh_net[0],
                      "the saved file sets the net")))
        return -1;
    return 0;
}

/* Create every output now, so an unwritable one stops the run before it
 * starts; false after a message, with nothing left behind. */
static bool outputs_open(outputs *out, const options *o)
{
    *out = (outputs){ { 0 }, { 0 }, { 0 } };
    if ((!o->save || outfile_open(&out->save, PROG, o->save)) &&
        (!o->log || outfile_open(&out->log, PROG, o->log)) &&
        (!o->plot || outfile_open(&out->plot, PROG, o->plot)))
        return true;
    outfile_discard(&out->save);
    outfile_discard(&out->log);
    outfile_discard(&out->plot);
    return false;
}

static void outputs_discard(outputs *out)
{
    outfile_discard(&out->save);
    outfile_discard(&out->log);
    outfile_discard(&out->plot);
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
    fprintf(stderr, PROG ": %s: %s\n", what, tg_graph_errmsg(tg_net_graph(net)));
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
    printf("\r[%.*s%*s] %5zu/%zu  %6.0f it/s  ETA %5.1f s  batch loss %.4f", fill,
           "##############################", width - fill, "", done, total, rate, eta, loss);
    fflush(stdout);
}

static void progress_clear(progress *p)
{
    if (p->on) printf("\r%*s\r", 100, "");
}

/* ------------------------------------------------------------ modes */

/* The net saved in o->load, or NULL after a message. */
static tg_net *load_net(const options *o)
{
    tg_error err;
    size_t in, hid, out;
    if (tg_net_file_sizes(o->load, &in, &hid, &out, &err) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        return NULL;
    }
    if (in != 784 || out != 10) {
        fprintf(stderr, PROG ": %s holds a %zu-%zu-%zu net; MNIST needs 784 inputs and 10 outputs\n",
                o->load, in, hid, out);
        return NULL;
    }
    tg_net *net = tg_net_new_ex(in, hid, out, 0, o->dtype, NULL);
    if (!net) {
        fprintf(stderr, PROG ": out of memory\n");
        return NULL;
    }
    if (tg_net_load(net, o->load, &err) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        tg_net_free(net);
        return NULL;
    }
    return net;
}

/* Section 5.7.3 on the net of --load, or on a fresh one. */
static int gradcheck(const options *o, const tg_mnist *d, FILE *info)
{
    tg_net *net = o->load ? load_net(o) : tg_net_new_ex(784, o->hidden, 10, o->seed, o->dtype, NULL);
    if (!net) {
        if (!o->load) fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    double diff[TG_NET_NPARAMS], loss;
    if (tg_net_batch_mnist(net, &d->train, NULL, 0, 3) != TG_OK || tg_net_batch_loss(net, &loss) != TG_OK ||
        tg_net_gradcheck(net, diff) != TG_OK) {
        int rc = net_failed(net, "gradient check");
        tg_net_free(net);
        return rc;
    }
    if (o->load)
        fprintf(info, "the net in %s (784-%zu-10), ", o->load, tg_net_hidden_size(net));
    else
        fprintf(info, "a new net (784-%zu-10, seed %zu), ", o->hidden, o->seed);
    fprintf(info, "on 3 training images: loss %.6f\nmean |backprop - numerical|:\n", loss);
    for (int k = 0; k < TG_NET_NPARAMS; k++) fprintf(info, "%s: %.1e\n", tg_net_param_name(k), diff[k]);
    if (o->given[JSON]) {
        printf("{\"gradcheck\": {");
        for (int k = 0; k < TG_NET_NPARAMS; k++) {
            printf("%s\"%s\": ", k ? ", " : "", tg_net_param_name(k));
            json_number(stdout, diff[k]);
        }
        printf("}, \"loss\": ");
        json_number(stdout, loss);
        printf("}\n");
    }
    tg_net_free(net);
    return 0;
}

static int evaluate_saved(const options *o, const tg_mnist *d, FILE *info)
{
    tg_net *net = load_net(o);
    if (!net) return 1;
    int rc = 0;
    double train = 0, test = 0;
    size_t hid = tg_net_hidden_size(net);
    if (tg_net_accuracy(net, &d->train, &train) != TG_OK ||
        tg_net_accuracy(net, &d->test, &test) != TG_OK) {
        rc = net_failed(net, "evaluation");
    } else {
        fprintf(info, "%s (784-%zu-10): train acc %.4f  test acc %.4f\n", o->load, hid, train, test);
        if (o->given[JSON]) {
            printf("{\"model\": ");
            json_string(stdout, o->load);
            printf(", \"hidden\": %zu, \"train_accuracy\": ", hid);
            json_number(stdout, train);
            printf(", \"test_accuracy\": ");
            json_number(stdout, test);
            printf("}\n");
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
    fprintf(f, "iteration,batch_loss,train_accuracy,test_accuracy\n");
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

/* Write the finished outputs into their temporary files, then put each in
 * place; 0, or 1 after a message (none put in place then). */
static int write_outputs(const options *o, outputs *out, tg_net *net, const double *loss,
                         const eval_point *ev, size_t nev, FILE *info)
{
    tg_error err;
    if (o->save && tg_net_save(net, out->save.tmp, &err) != TG_OK) {
        fprintf(stderr, PROG ": %s: %s\n", o->save, err.msg);
        return 1;
    }
    if (o->log && write_log(out->log.tmp, loss, o->iters, ev, nev) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", o->log, strerror(errno));
        return 1;
    }
    const eval_point *last = &ev[nev - 1];
    char caption[256];
    snprintf(caption, sizeof caption,
             "TwoLayerNet 784-%zu-10, batch %zu, SGD lr %g, seed %zu"
             ": train accuracy %.4f, test accuracy %.4f after %zu iterations",
             o->hidden, o->batch, o->lr, o->seed, last->train, last->test, o->iters);
    if (o->plot && plot_write_svg(out->plot.tmp, caption, loss, o->iters, ev, nev) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", o->plot, strerror(errno));
        return 1;
    }
    if ((o->save && !outfile_commit(&out->save, PROG)) || (o->log && !outfile_commit(&out->log, PROG)) ||
        (o->plot && !outfile_commit(&out->plot, PROG)))
        return 1;
    if (o->save) fprintf(info, "saved the parameters to %s\n", o->save);
    return 0;
}

static int train(const options *o, const tg_mnist *d, outputs *out, FILE *info)
{
    tg_net *net = tg_net_new_ex(784, o->hidden, 10, o->seed, o->dtype, NULL);
    size_t per_epoch = d->train.count / o->batch ? d->train.count / o->batch : 1;
    size_t max_evals = o->iters / per_epoch + 1;
    double *loss = malloc(o->iters * sizeof *loss);
    eval_point *ev = malloc(max_evals * sizeof *ev);
    size_t *idx = malloc(o->batch * sizeof *idx);
    int rc = 0;
    if (!net || !loss || !ev || !idx) {
        fprintf(stderr, PROG ": out of memory\n");
        rc = 1;
        goto done;
    }
    /* The batches draw from their own stream, so the weights depend on the seed alone. */
    tg_rng batches = tg_rng_seed(o->seed ^ 0xD1B54A32D192ED03ull);
    progress bar = { isatty(STDOUT_FILENO) && !o->given[JSON], now(), 0.0 };
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
        if (!isfinite(loss[i])) {
            progress_clear(&bar);
            fprintf(stderr, PROG ": the batch loss is %s at iteration %zu: training diverged "
                    "(try a smaller --lr than %g); nothing was written\n",
                    isnan(loss[i]) ? "NaN" : "inf", i + 1, o->lr);
            rc = 1;
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
            fprintf(info, "iter %5zu  epoch mean loss %.4f  train acc %.4f  test acc %.4f\n", done,
                    epoch_loss / (double)since, e->train, e->test);
            fflush(info);
            epoch_loss = 0.0;
            nev++;
        }
        progress_draw(&bar, done, o->iters, loss[i]);
    }
    progress_clear(&bar);
    const eval_point *last = &ev[nev - 1];
    fprintf(info, "%zu iterations in %.2f s (%.0f it/s); evaluation took %.2f s more; "
            "last batch loss %.4f\n", o->iters, train_s, (double)o->iters / train_s, eval_s,
            loss[o->iters - 1]);
    rc = write_outputs(o, out, net, loss, ev, nev, info);
    if (rc == 0 && o->given[JSON]) {
        printf("{\"iterations\": %zu, \"batch\": %zu, \"lr\": ", o->iters, o->batch);
        json_number(stdout, o->lr);
        printf(", \"hidden\": %zu, \"seed\": %zu, \"seconds\": %.4f, \"eval_seconds\": %.4f, "
               "\"last_batch_loss\": ", o->hidden, o->seed, train_s, eval_s);
        json_number(stdout, loss[o->iters - 1]);
        printf(", \"train_accuracy\": ");
        json_number(stdout, last->train);
        printf(", \"test_accuracy\": ");
        json_number(stdout, last->test);
        printf("}\n");
    }
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
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0) return parsed > 0 ? 0 : CLI_USAGE;
    /* With --json, stdout carries only the summary. */
    FILE *info = o.given[JSON] ? stderr : stdout;
    outputs out;
    if (!outputs_open(&out, &o)) return 1;

    tg_error err;
    tg_mnist data;
    double t0 = now();
    const char *dir = data_dir_find(o.data, TAPEGRAD_SOURCE_ROOT "/../shared/data/mnist", &err);
    if (!dir || tg_mnist_load(dir, &data, &err) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", err.msg);
        outputs_discard(&out);
        return 1;
    }
    fprintf(info, "MNIST from %s: %zu training, %zu test images (read in %.1f s)\n", dir,
            data.train.count, data.test.count, now() - t0);
    int rc;
    if (data.train.rows * data.train.cols != 784 || data.test.rows * data.test.cols != 784) {
        fprintf(stderr, PROG ": expected 28x28 images, found %zux%zu and %zux%zu\n",
                data.train.rows, data.train.cols, data.test.rows, data.test.cols);
        rc = 1;
    } else if (o.batch > data.train.count) {
        fprintf(stderr, PROG ": --batch %zu is more than the %zu training images\n", o.batch,
                data.train.count);
        rc = CLI_USAGE;
    } else if (o.given[GRADCHECK]) {
        rc = gradcheck(&o, &data, info);
    } else if (o.load) {
        rc = evaluate_saved(&o, &data, info);
    } else {
        rc = train(&o, &data, &out, info);
    }
    outputs_discard(&out);
    tg_mnist_free(&data);
    return rc;
}
