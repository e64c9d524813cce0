/* A user-defined op: the standard normal CDF
 *     Phi(x) = erfc(-x / sqrt 2) / 2,
 * given to tapegrad by its value and its derivative, the normal density
 *     Phi'(x) = exp(-x^2 / 2) / sqrt(2 pi).
 * It is recorded inside p = Phi((x - mu) / sigma), swept backward like any
 * op, and tg_check_partials compares the derivative given with central
 * differences of the value given. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>

#include <tapegrad/tapegrad.h>

#include "cli.h"

static double phi_value(void *ctx, const double *x)
{
    (void)ctx;
    return 0.5 * erfc(-x[0] / sqrt(2.0));
}

static void phi_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = exp(-0.5 * x[0] * x[0]) * 0.39894228040143268;  /* 1/sqrt(2 pi) */
}

/* The demo has no settings: --help and --version, nothing else.  0 to run,
 * 1 when done, -1 on a bad command line. */
static int parse_args(int argc, char **argv)
{
    enum { VERSION = 256 };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, VERSION },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            puts("Usage: phi [--help] [--version]\n\n"
                 "The normal CDF Phi as a user-defined op (tg_custom), given by its value and\n"
                 "its density: p = Phi((x - mu) / sigma) at x = 1.5, mu = 0.5, sigma = 2, its\n"
                 "gradients, and tg_check_partials on every node.");
            return 1;
        case VERSION: cli_version("phi"); return 1;
        default: cli_bad_option("phi", argv, c); return -1;
        }
    }
    return cli_no_operands("phi", argc, argv) ? 0 : -1;
}

int main(int argc, char **argv)
{
    int parsed = parse_args(argc, argv);
    if (parsed != 0) return parsed > 0 ? 0 : CLI_USAGE;
    static const tg_custom_op Phi = { "Phi", 1, phi_value, phi_partials, NULL, NULL };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.5), mu = tg_var(g, "mu", 0.5), sigma = tg_var(g, "sigma", 2.0);
    tg_node z = tg_div(g, tg_sub(g, x, mu), sigma);
    tg_node p = tg_custom(g, &Phi, &z);
    tg_backward(g, p);
    printf("p = Phi((x - mu) / sigma) at x = 1.5, mu = 0.5, sigma = 2\n");
    printf("p          %.15g\n", tg_value(g, p));
    printf("dp/dx      %.15g\n", tg_grad(g, x));
    printf("dp/dmu     %.15g\n", tg_grad(g, mu));
    printf("dp/dsigma  %.15g\n", tg_grad(g, sigma));
    size_t bad = tg_check_partials(g, 1e-6, NULL);
    printf("tg_check_partials: %zu nodes disagree (rtol 1e-6)\n", bad);
    int failed = tg_graph_status(g) != TG_OK;
    if (failed) fprintf(stderr, "phi: %s\n", tg_graph_errmsg(g));
    tg_graph_free(g);
    return failed;
}
