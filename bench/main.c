/*
 * tgbench: tapegrad's benchmark workloads S1-S4, T1, H1 and M1 (see README.md).
 *
 *     tgbench [all|s1|s2|s3|s4|t1|h1|m1]... [--json] [--quick] [--scaling]
 *             [--reps N] [--n N] [--iters N] [--data DIR] [--blas-threads N]
 *
 * With several workloads (or `all`), each runs in a child process of its
 * own, so that the peak resident memory it reports is its own and not the
 * largest of everything run before it.
 */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

typedef struct workload {
    const char *name;
    int (*run)(const bench_opts *o);
} workload;

static const workload workloads[] = {
    { "s1", bench_s1 },
    { "s2", bench_s2 },
    { "s3", bench_s3 },
    { "s4", bench_s4 },
    { "t1", bench_t1 },
    { "h1", bench_h1 },
    { "m1", bench_m1 },
};
enum { NWORKLOADS = sizeof workloads / sizeof workloads[0] };

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tgbench [all|s1|s2|s3|s4|t1|h1|m1]... [options]\n"
        "  s1   apple + orange graph: build, backward, read 5 gradients, rewind, x 1,000,000\n"
        "  s2   chained Rosenbrock, n = 1e6: record, reverse, replay; then the pairwise\n"
        "       extended Rosenbrock vs a hand-written adjoint\n"
        "  s3   scalar MLP 2-16-16-1 on 100 points, SVM loss: one SGD step\n"
        "  s4   sum of sigmoid(x_i), n = 1e6, x in [-20, 20]: decomposed and fused\n"
        "  (s1-s4 against an inline tape and a bare tape, in the same run)\n"
        "  t1   TwoLayerNet 784-50-10 on MNIST, 10000 iterations; vs plain CBLAS\n"
        "  h1   Rosenbrock Hessian and H v at n = 1000 and 1e4, the net's H v; vs one gradient\n"
        "  m1   tg_eval_batch at 64 points (Rosenbrock n = 1e4, an MLP) vs 64 single replays\n"
        "options:\n"
        "  --json       one JSON object per line and workload\n"
        "  --quick      shrink every workload (a smoke run of seconds)\n"
        "  --scaling    s2 at n = 1e4, 1e5, 1e6, 1e7\n"
        "  --reps N     repetitions of each timed phase\n"
        "  --n N        problem size of s2 and s4\n"
        "  --iters N    steps of s3, iterations of t1\n"
        "  --data DIR   MNIST directory (else $TAPEGRAD_MNIST, ../shared/data/mnist,\n"
        "               then shared/data/mnist beside the source tree)\n"
        "  --blas-threads N  OpenBLAS threads for every workload (default 1; 0 keeps\n"
        "               OpenBLAS's own: OPENBLAS_NUM_THREADS, else one per core)\n");
}

static long parse_long(const char *flag, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s ? s : "", &end);  /* accepts 1e6 */
    if (!s || errno || *end || v < 1 || v > 1e12) {
        fprintf(stderr, "tgbench: %s needs a positive number, got '%s'\n", flag, s ? s : "");
        exit(2);
    }
    return (long)v;
}

/* Run one workload in a child and return its exit status. */
static int run_isolated(const workload *w, const bench_opts *o)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return w->run(o);  /* no fork: run here, peak memory shared */
    if (pid == 0) {
        int rc = w->run(o);
        fflush(stdout);
        _exit(rc);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return 1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    fprintf(stderr, "tgbench: %s died with signal %d\n", w->name, WTERMSIG(status));
    return 1;
}

int main(int argc, char **argv)
{
    bench_opts o = { 0 };
    o.blas_threads = 1;
    bool chosen[NWORKLOADS] = { false };
    int nchosen = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) o.json = true;
        else if (!strcmp(a, "--quick")) o.quick = true;
        else if (!strcmp(a, "--scaling")) o.scaling = true;
        else if (!strcmp(a, "--reps")) {
            long reps = parse_long(a, i + 1 < argc ? argv[++i] : NULL);
            if (reps > 100000) {
                fprintf(stderr, "tgbench: --reps %ld is more than 100000\n", reps);
                return 2;
            }
            o.reps = (int)reps;
        }
        else if (!strcmp(a, "--n")) o.n = parse_long(a, i + 1 < argc ? argv[++i] : NULL);
        else if (!strcmp(a, "--iters")) o.iters = parse_long(a, i + 1 < argc ? argv[++i] : NULL);
        else if (!strcmp(a, "--blas-threads")) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            o.blas_threads = v && !strcmp(v, "0") ? 0 : parse_long(a, v);
            if (o.blas_threads > 1024) {
                fprintf(stderr, "tgbench: --blas-threads %ld is more than 1024\n", o.blas_threads);
                return 2;
            }
        }
        else if (!strcmp(a, "--data")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "tgbench: --data needs a directory\n");
                return 2;
            }
            o.data = argv[++i];
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "all")) {
            for (int k = 0; k < NWORKLOADS; k++) chosen[k] = true;
            nchosen = NWORKLOADS;
        } else {
            int k = 0;
            while (k < NWORKLOADS && strcmp(a, workloads[k].name) != 0) k++;
            if (k == NWORKLOADS) {
                fprintf(stderr, "tgbench: unknown argument '%s'\n", a);
                usage(stderr);
                return 2;
            }
            if (!chosen[k]) nchosen++;
            chosen[k] = true;
        }
    }
    if (nchosen == 0) {
        for (int k = 0; k < NWORKLOADS; k++) chosen[k] = true;
        nchosen = NWORKLOADS;
    }

    /* The products of these workloads are small (T1's largest is 100 x 784
     * by 784 x 50): on this project's 2 shared cores one thread trained T1
     * fastest, a second one waiting for cores that other jobs held (see
     * README.md).  Set here, in the program, as t1_torch.py sets PyTorch's:
     * no environment variable needed. */
#ifdef OPENBLAS_VERSION
    if (o.blas_threads > 0) openblas_set_num_threads((int)o.blas_threads);
#endif

    int worst = 0;
    for (int k = 0; k < NWORKLOADS; k++) {
        if (!chosen[k]) continue;
        int rc = nchosen == 1 ? workloads[k].run(&o) : run_isolated(&workloads[k], &o);
        if (rc == BENCH_SKIP && nchosen > 1) continue;  /* said why on stderr */
        if (rc > worst) worst = rc;
    }
    return worst;
}
