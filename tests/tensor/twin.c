#include "twin.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

smat smat_new(size_t rows, size_t cols)
{
    smat m = { rows, cols, calloc(rows * cols, sizeof(tg_node)) };
    ck_assert_ptr_nonnull(m.e);
    return m;
}

void smat_free(smat *m)
{
    free(m->e);
    m->e = NULL;
}

tg_node smat_at(smat m, size_t i, size_t j)
{
    size_t r = m.rows == 1 ? 0 : i, c = m.cols == 1 ? 0 : j;
    return m.e[r * m.cols + c];
}

smat smat_vars(tg_graph *g, size_t rows, size_t cols, const double *data)
{
    smat m = smat_new(rows, cols);
    for (size_t k = 0; k < rows * cols; k++) m.e[k] = tg_var(g, NULL, data[k]);
    return m;
}

smat smat_consts(tg_graph *g, size_t rows, size_t cols, const double *data)
{
    smat m = smat_new(rows, cols);
    for (size_t k = 0; k < rows * cols; k++) m.e[k] = tg_const(g, data[k]);
    return m;
}

void smat_values(const tg_graph *g, smat m, double *out)
{
    for (size_t k = 0; k < m.rows * m.cols; k++) out[k] = tg_value(g, m.e[k]);
}

void smat_grads(const tg_graph *g, smat m, double *out)
{
    for (size_t k = 0; k < m.rows * m.cols; k++) out[k] = tg_grad(g, m.e[k]);
}

smat smat_unary(tg_graph *g, tg_node (*f)(tg_graph *, tg_node), smat a)
{
    smat y = smat_new(a.rows, a.cols);
    for (size_t k = 0; k < a.rows * a.cols; k++) y.e[k] = f(g, a.e[k]);
    return y;
}

static size_t bdim(size_t x, size_t y)
{
    return x == 1 ? y : x;
}

smat smat_binary(tg_graph *g, tg_node (*f)(tg_graph *, tg_node, tg_node), smat a, smat b)
{
    smat y = smat_new(bdim(a.rows, b.rows), bdim(a.cols, b.cols));
    for (size_t i = 0; i < y.rows; i++)
        for (size_t j = 0; j < y.cols; j++)
            y.e[i * y.cols + j] = f(g, smat_at(a, i, j), smat_at(b, i, j));
    return y;
}

smat smat_powc(tg_graph *g, smat a, double k)
{
    smat y = smat_new(a.rows, a.cols);
    for (size_t e = 0; e < a.rows * a.cols; e++) y.e[e] = tg_powc(g, a.e[e], k);
    return y;
}

/* Element (i, j) of op(m): m itself or its transpose. */
static tg_node op_at(smat m, bool trans, size_t i, size_t j)
{
    return trans ? m.e[j * m.cols + i] : m.e[i * m.cols + j];
}

smat smat_matmul(tg_graph *g, smat a, smat b, unsigned flags)
{
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    size_t m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols, n = tb ? b.rows : b.cols;
    smat c = smat_new(m, n);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            tg_node s = tg_mul(g, op_at(a, ta, i, 0), op_at(b, tb, 0, j));
            for (size_t p = 1; p < k; p++)
                s = tg_add(g, s, tg_mul(g, op_at(a, ta, i, p), op_at(b, tb, p, j)));
            c.e[i * n + j] = s;
        }
    return c;
}

smat smat_softmax(tg_graph *g, smat a)
{
    smat y = smat_new(a.rows, a.cols);
    for (size_t i = 0; i < a.rows; i++) {
        tg_node *ex = &y.e[i * a.cols];
        for (size_t j = 0; j < a.cols; j++) ex[j] = tg_exp(g, a.e[i * a.cols + j]);
        tg_node s = ex[0];
        for (size_t j = 1; j < a.cols; j++) s = tg_add(g, s, ex[j]);
        tg_node r = tg_recip(g, s);
        for (size_t j = 0; j < a.cols; j++) ex[j] = tg_mul(g, ex[j], r);
    }
    return y;
}

tg_node smat_sum(tg_graph *g, smat a)
{
    tg_node s = a.e[0];
    for (size_t k = 1; k < a.rows * a.cols; k++) s = tg_add(g, s, a.e[k]);
    return s;
}

tg_node smat_mean(tg_graph *g, smat a)
{
    return tg_mul(g, smat_sum(g, a), tg_const(g, 1.0 / (double)(a.rows * a.cols)));
}

tg_node smat_xent(tg_graph *g, smat logits, smat t)
{
    smat y = smat_softmax(g, logits);
    smat l = smat_unary(g, tg_log, y);
    smat tl = smat_binary(g, tg_mul, t, l);
    tg_node loss = tg_mul(g, smat_sum(g, tl), tg_const(g, -1.0 / (double)logits.rows));
    smat_free(&y);
    smat_free(&l);
    smat_free(&tl);
    return loss;
}

void expect_close(const double *got, const double *want, size_t n, double tol, const char *what)
{
    for (size_t k = 0; k < n; k++) {
        double bound = tol * fmax(1.0, fabs(want[k]));
        ck_assert_msg(fabs(got[k] - want[k]) <= bound,
                      "%s[%zu]: got %.17g, want %.17g (tolerance %g)", what, k, got[k], want[k], bound);
    }
}
