/* Newton's method against gradient descent on the extended Rosenbrock
 * function of n (even) variables,
 *     f(x) = sum_{i < n/2} 100 (x_{2i}^2 - x_{2i+1})^2 + (1 - x_{2i})^2,
 * whose only minimum is f(1, ..., 1) = 0, at the bottom of n/2 long curved
 * valleys; n = 2 is Rosenbrock's own function.
 *
 * f is recorded once on a tape; every step writes the new point into the
 * variables (tg_set_value), and the calls that follow replay the tape
 * there.  Both methods start at (-1.2, 1, -1.2, 1, ...) and stop when the
 * gradient's largest entry is below --tol:
 *   - gradient descent: x -= t g, t found by backtracking (Armijo);
 *   - Newton: solve H p = -g with the Hessian from tg_hessian (Cholesky,
 *     with a multiple of I added while H is not positive definite), or for
 *     n above --cg-above by conjugate gradients on tg_hvp without ever
 *     forming H (truncated at negative curvature), then the same
 *     backtracking on p.
 * Prints the iterations each needed and how far each ended from (1, ..., 1).
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "cli.h"

typedef struct problem {
    size_t n;
    tg_graph *g;
    tg_node *x;
    tg_node f;
} problem;

static bool problem_new(problem *p, size_t n)
{
    p->n = n;
    p->g = tg_graph_new();
    p->x = malloc(n * sizeof *p->x);
    if (!p->g || !p->x) return false;
    tg_graph *g = p->g;
    tg_node one = tg_const(g, 1.0), hundred = tg_const(g, 100.0);
    for (size_t i = 0; i < n; i++) p->x[i] = tg_var(g, NULL, 0.0);
    tg_node f = tg_const(g, 0.0);
    for (size_t i = 0; i + 1 < n; i += 2) {
        tg_node a = tg_sub(g, tg_mul(g, p->x[i], p->x[i]), p->x[i + 1]);
        tg_node b = tg_sub(g, one, p->x[i]);
        f = tg_add(g, f, tg_add(g, tg_mul(g, hundred, tg_mul(g, a, a)), tg_mul(g, b, b)));
    }
    p->f = f;
    return tg_graph_status(g) == TG_OK;
}

static void problem_free(problem *p)
{
    tg_graph_free(p->g);
    free(p->x);
}

static void set_point(problem *p, const double *x)
{
    for (size_t i = 0; i < p->n; i++) tg_set_value(p->g, p->x[i], x[i]);
}

/* f at x, and its gradient into grad when grad is not NULL. */
static double eval(problem *p, const double *x, double *grad)
{
    set_point(p, x);
    if (grad) {
        tg_backward(p->g, p->f);
        for (size_t i = 0; i < p->n; i++) grad[i] = tg_grad(p->g, p->x[i]);
    } else {
        tg_forward(p->g);
    }
    return tg_value(p->g, p->f);
}

static double max_abs(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Backtracking along d from x (f0 = f(x), slope = g.d < 0): the first t
 * in 1, 1/2, 1/4 ... with f(x + t d) <= f0 + 1e-4 t slope.  The new point
 * goes to x.  false when no step decreases f. */
static bool line_search(problem *p, double *x, const double *d, double f0, double slope, double *trial)
{
    for (double t = 1.0; t > 1e-20; t *= 0.5) {
        for (size_t i = 0; i < p->n; i++) trial[i] = x[i] + t * d[i];
        if (eval(p, trial, NULL) <= f0 + 1e-4 * t * slope) {
            memcpy(x, trial, p->n * sizeof *x);
            return true;
        }
    }
    return false;
}

typedef struct result {
    size_t iters;
    bool converged;
    double dist;     /* max |x_i - 1| at the end */
} result;

static void start_point(double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = i % 2 ? 1.0 : -1.2;
}

static result finish(const double *x, size_t n, size_t iters, bool converged)
{
    result r = { iters, converged, 0 };
    for (size_t i = 0; i < n; i++) r.dist = fmax(r.dist, fabs(x[i] - 1));
    return r;
}

static result gradient_descent(problem *p, double tol, size_t max_iters)
{
    size_t n = p->n;
    double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *d = malloc(n * sizeof *d),
           *trial = malloc(n * sizeof *trial);
    start_point(x, n);
    size_t k = 0;
    bool ok = false;
    for (;; k++) {
        double f0 = eval(p, x, g);
        if (max_abs(g, n) < tol) { ok = true; break; }
        if (k == max_iters) break;
        for (size_t i = 0; i < n; i++) d[i] = -g[i];
        if (!line_search(p, x, d, f0, -dot(g, g, n), trial)) break;
    }
    result r = finish(x, n, k, ok);
    free(x); free(g); free(d); free(trial);
    return r;
}

/* Solve (H + mu I) p = -g by Cholesky, raising mu from 0 until H + mu I is
 * positive definite.  H is n x n, row-major; L is scratch of the same size. */
static void newton_direction_dense(const double *H, const double *g, size_t n, double *L, double *p)
{
    for (double mu = 0;; mu = mu ? 10 * mu : 1e-3 * fmax(1.0, max_abs(H, n * n))) {
        bool pd = true;
        for (size_t j = 0; j < n && pd; j++) {
            for (size_t i = j; i < n; i++) {
                double s = H[i * n + j] + (i == j ? mu : 0);
                for (size_t k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
                if (i == j) {
                    if (!(s > 0)) { pd = false; break; }
                    L[j * n + j] = sqrt(s);
                } else {
                    L[i * n + j] = s / L[j * n + j];
                }
            }
        }
        if (!pd) continue;
        for (size_t i = 0; i < n; i++) {   /* L y = -g */
            double s = -g[i];
            for (size_t k = 0; k < i; k++) s -= L[i * n + k] * p[k];
            p[i] = s / L[i * n + i];
        }
        for (size_t i = n; i-- > 0;) {     /* L^T p = y */
            double s = p[i];
            for (size_t k = i + 1; k < n; k++) s -= L[k * n + i] * p[k];
            p[i] = s / L[i * n + i];
        }
        return;
    }
}

/* Truncated conjugate gradients on H p = -g with H v from tg_hvp: stops at
 * a relative residual of min(0.5, sqrt|g|), or at a direction of negative
 * curvature (then the steepest descent direction if nothing was found). */
static void newton_direction_cg(problem *p, const double *g, double *dir, double *r, double *q, double *hq)
{
    size_t n = p->n;
    double gnorm = sqrt(dot(g, g, n)), eta = fmin(0.5, sqrt(gnorm));
    memset(dir, 0, n * sizeof *dir);
    for (size_t i = 0; i < n; i++) r[i] = q[i] = -g[i];
    double rr = dot(r, r, n);
    for (size_t k = 0; k < 2 * n && sqrt(rr) > eta * gnorm; k++) {
        tg_hvp(p->g, p->f, n, p->x, q, hq);
        double curv = dot(q, hq, n);
        if (!(curv > 0)) {
            if (k == 0) memcpy(dir, r, n * sizeof *dir);
            return;
        }
        double alpha = rr / curv;
        for (size_t i = 0; i < n; i++) {
            dir[i] += alpha * q[i];
            r[i] -= alpha * hq[i];
        }
        double rr_new = dot(r, r, n);
        for (size_t i = 0; i < n; i++) q[i] = r[i] + rr_new / rr * q[i];
        rr = rr_new;
    }
}

static result newton(problem *p, double tol, size_t max_iters, bool by_cg)
{
    size_t n = p->n;
    double *x = malloc(n * sizeof *x), *g = malloc(n * sizeof *g), *d = malloc(n * sizeof *d),
           *trial = malloc(n * sizeof *trial);
    double *H = by_cg ? NULL : malloc(n * n * sizeof *H), *L = by_cg ? NULL : malloc(n * n * sizeof *L);
    double *r = malloc(n * sizeof *r), *q = malloc(n * sizeof *q), *hq = malloc(n * sizeof *hq);
    start_point(x, n);
    size_t k = 0;
    bool ok = false;
    for (;; k++) {
        double f0 = eval(p, x, g);
        if (max_abs(g, n) < tol) { ok = true; break; }
        if (k == max_iters) break;
        if (by_cg) {
            newton_direction_cg(p, g, d, r, q, hq);
        } else {
            tg_hessian(p->g, p->f, n, p->x, H);
            newton_direction_dense(H, g, n, L, d);
        }
        if (!line_search(p, x, d, f0, dot(g, d, n), trial)) break;
    }
    result res = finish(x, n, k, ok);
    free(x); free(g); free(d); free(trial); free(H); free(L); free(r); free(q); free(hq);
    return res;
}

typedef struct options {
    size_t n, cg_above, max_gd;
    double tol;
} options;

/* 0 to run, 1 when done (--help, --version), -1 on a bad command line. */
static int parse_args(int argc, char **argv, options *o)
{
    enum { VERSION = 256, CG_ABOVE, MAX_GD, TOL };
    static const struct option longopts[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, VERSION },
        { "n", required_argument, NULL, 'n' },
        { "cg-above", required_argument, NULL, CG_ABOVE },
        { "max-gd", required_argument, NULL, MAX_GD },
        { "tol", required_argument, NULL, TOL },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":hn:", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            puts("Usage: newton [--n N] [--cg-above N] [--max-gd K] [--tol T] [--help] [--version]\n\n"
                 "Minimizes the extended Rosenbrock function, the sum over pairs of\n"
                 "100 (x[2i]^2 - x[2i+1])^2 + (1 - x[2i])^2, in 2 and in N dimensions from\n"
                 "(-1.2, 1, -1.2, 1, ...) to its minimum (1, ..., 1), by gradient descent and\n"
                 "by Newton's method, and prints the iterations each needed to bring every\n"
                 "gradient entry below T.  Newton's steps solve with the Hessian from\n"
                 "tg_hessian, or, when N is above the --cg-above size, by conjugate gradients\n"
                 "on Hessian-vector products (tg_hvp) without forming the Hessian.\n\n"
                 "  -n, --n N        dimensions of the second problem, even (2 .. 100000; default 10)\n"
                 "  --cg-above N     use conjugate gradients above N dimensions (default 200)\n"
                 "  --max-gd K       give gradient descent at most K iterations (default 100000)\n"
                 "  --tol T          stop when max |gradient| < T (default 1e-8)\n\n"
                 "Exit status 0 when Newton's method reached (1, ..., 1) in both problems.");
            return 1;
        case VERSION: cli_version("newton"); return 1;
        case 'n':
            if (!cli_size("newton", "--n", optarg, 2, 100000, &o->n)) return -1;
            if (o->n % 2) {
                fprintf(stderr, "newton: --n must be even (the variables go in pairs), got %zu\n", o->n);
                return -1;
            }
            break;
        case CG_ABOVE:
            if (!cli_size("newton", "--cg-above", optarg, 0, 100000, &o->cg_above)) return -1;
            break;
        case MAX_GD:
            if (!cli_size("newton", "--max-gd", optarg, 0, 100000000, &o->max_gd)) return -1;
            break;
        case TOL:
            if (!cli_double("newton", "--tol", optarg, &o->tol)) return -1;
            if (!(o->tol > 0)) {
                fprintf(stderr, "newton: --tol must be positive, got %s\n", optarg);
                return -1;
            }
            break;
        default: cli_bad_option("newton", argv, c); return -1;
        }
    }
    return cli_no_operands("newton", argc, argv) ? 0 : -1;
}

static void report(const char *method, result r, double tol)
{
    if (r.converged)
        printf("  %-34s %8zu iterations, max |x - 1| = %.1e\n", method, r.iters, r.dist);
    else
        printf("  %-34s stopped after %zu iterations, max |gradient| still >= %g, max |x - 1| = %.1e\n", method,
               r.iters, tol, r.dist);
}

int main(int argc, char **argv)
{
    options o = { 10, 200, 100000, 1e-8 };
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0) return parsed > 0 ? 0 : CLI_USAGE;
    const size_t sizes[2] = { 2, o.n };
    bool newton_ok = true;
    for (int k = 0; k < 2; k++) {
        size_t n = sizes[k];
        problem p;
        if (!problem_new(&p, n)) {
            fprintf(stderr, "newton: cannot record the %zu-D problem: %s\n", n,
                    p.g ? tg_graph_errmsg(p.g) : "out of memory");
            problem_free(&p);
            return 1;
        }
        bool by_cg = n > o.cg_above;
        printf("%zu-D %s from (-1.2, 1%s), minimum at (1, ..., 1); stop at max |gradient| < %g\n", n,
               n > 2 ? "extended Rosenbrock" : "Rosenbrock", n > 2 ? ", ..." : "", o.tol);
        result gd = gradient_descent(&p, o.tol, o.max_gd);
        report("gradient descent:", gd, o.tol);
        result nt = newton(&p, o.tol, 1000, by_cg);
        report(by_cg ? "Newton (CG on tg_hvp):" : "Newton (tg_hessian):", nt, o.tol);
        if (tg_graph_status(p.g) != TG_OK) {
            fprintf(stderr, "newton: %s\n", tg_graph_errmsg(p.g));
            newton_ok = false;
        }
        newton_ok = newton_ok && nt.converged && nt.dist < 1e-6;
        problem_free(&p);
    }
    return newton_ok ? 0 : 1;
}
