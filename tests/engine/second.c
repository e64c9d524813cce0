#include "second.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

static size_t entries_one(const tg_graph *g, tg_node h)
{
    size_t r = 0, c = 0;
    ck_assert_int_eq(tg_shape(g, h, &r, &c), TG_OK);
    return r * c;
}

size_t entries_of(const tg_graph *g, size_t n, const tg_node *x)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += entries_one(g, x[i]);
    return total;
}

void get_entries(const tg_graph *g, size_t n, const tg_node *x, double *out)
{
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(tg_tensor_get(g, x[i], out), TG_OK);
        out += entries_one(g, x[i]);
    }
}

void set_entries(tg_graph *g, size_t n, const tg_node *x, const double *vals)
{
    for (size_t i = 0; i < n; i++) {
        if (tg_is_tensor(g, x[i])) ck_assert_int_eq(tg_tensor_set(g, x[i], vals), TG_OK);
        else ck_assert_int_eq(tg_set_value(g, x[i], vals[0]), TG_OK);
        vals += entries_one(g, x[i]);
    }
}

void gradient_of(tg_graph *g, tg_node y, size_t n, const tg_node *x, double *grad)
{
    ck_assert_msg(tg_backward(g, y) == TG_OK, "tg_backward: %s", tg_graph_errmsg(g));
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(tg_tensor_get_grad(g, x[i], grad), TG_OK);
        grad += entries_one(g, x[i]);
    }
}

void hessian_by_differences(tg_graph *g, tg_node y, size_t n, const tg_node *x, double step,
                            double *hess)
{
    size_t N = entries_of(g, n, x);
    double *p = malloc(N * sizeof *p), *q = malloc(N * sizeof *q);
    double *gp = malloc(N * sizeof *gp), *gm = malloc(N * sizeof *gm);
    ck_assert(p && q && gp && gm);
    get_entries(g, n, x, p);
    for (size_t j = 0; j < N; j++) {
        double h = step * fmax(1.0, fabs(p[j]));
        volatile double up = p[j] + h, down = p[j] - h;
        memcpy(q, p, N * sizeof *q);
        q[j] = up;
        set_entries(g, n, x, q);
        gradient_of(g, y, n, x, gp);
        q[j] = down;
        set_entries(g, n, x, q);
        gradient_of(g, y, n, x, gm);
        double width = up - down;
        for (size_t i = 0; i < N; i++) hess[i * N + j] = (gp[i] - gm[i]) / width;
    }
    set_entries(g, n, x, p);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    free(p);
    free(q);
    free(gp);
    free(gm);
}

static const uint64_t SENTINEL_BITS = 0x7ff4dead5eed0badULL;  /* a signalling NaN */

void fill_sentinel(double *a, size_t n)
{
    for (size_t i = 0; i < n; i++) memcpy(&a[i], &SENTINEL_BITS, sizeof a[i]);
}

int all_sentinel(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &SENTINEL_BITS, sizeof a[i]) != 0) return 0;
    return 1;
}

double max_scaled_diff(const double *a, const double *b, size_t n, size_t *at)
{
    double worst = 0.0;
    size_t where = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i]));
        if (!(d <= worst)) {   /* NaN counts as worst */
            worst = isnan(d) ? INFINITY : d;
            where = i;
            if (isnan(d)) break;
        }
    }
    if (at) *at = where;
    return worst;
}
