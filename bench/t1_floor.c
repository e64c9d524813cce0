/* T1-floor: TwoLayerNet by hand on CBLAS (see t1.h).  Shapes, batch N:
 *     x  N x in     a1 = x W1 + b1    N x hid    z1 = relu(a1)
 *     a2 = z1 W2 + b2                 N x out    y = softmax(a2)
 *     da2 = (y - t) / N               N x out
 *     dW2 = z1^T da2   hid x out      db2 = sum(da2, axis 0)
 *     dz1 = (da2 W2^T) * [a1 > 0]     N x hid
 *     dW1 = x^T dz1    in x hid       db1 = sum(dz1, axis 0)
 * No dx: the input is not a parameter. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "t1.h"

int floor_net_init(floor_net *f, size_t in, size_t hid, size_t out, size_t batch,
                   const double *params)
{
    memset(f, 0, sizeof *f);
    f->in = in;
    f->hid = hid;
    f->out = out;
    f->batch = batch;
    size_t np = in * hid + hid + hid * out + out;
    f->params = malloc(np * sizeof(double));
    f->grads = calloc(np, sizeof(double));
    f->x = malloc(batch * in * sizeof(double));
    f->t = malloc(batch * out * sizeof(double));
    f->a1 = malloc(batch * hid * sizeof(double));
    f->z1 = malloc(batch * hid * sizeof(double));
    f->dz1 = malloc(batch * hid * sizeof(double));
    f->a2 = malloc(batch * out * sizeof(double));
    f->da2 = malloc(batch * out * sizeof(double));
    if (!f->params || !f->grads || !f->x || !f->t || !f->a1 || !f->z1 || !f->dz1 || !f->a2 ||
        !f->da2) {
        floor_net_free(f);
        return -1;
    }
    memcpy(f->params, params, np * sizeof(double));
    f->W1 = f->params;
    f->b1 = f->W1 + in * hid;
    f->W2 = f->b1 + hid;
    f->b2 = f->W2 + hid * out;
    f->dW1 = f->grads;
    f->db1 = f->dW1 + in * hid;
    f->dW2 = f->db1 + hid;
    f->db2 = f->dW2 + hid * out;
    return 0;
}

void floor_net_free(floor_net *f)
{
    free(f->params);
    free(f->grads);
    free(f->x);
    free(f->t);
    free(f->a1);
    free(f->z1);
    free(f->dz1);
    free(f->a2);
    free(f->da2);
    memset(f, 0, sizeof *f);
}

/* a = x W + b (x: n x k, W: k x m, b: 1 x m), by dgemm with beta = 1 on a
 * that already holds b in every row. */
static void affine_forward(size_t n, size_t k, size_t m, const double *x, const double *W,
                           const double *b, double *a)
{
    for (size_t i = 0; i < n; i++) memcpy(a + i * m, b, m * sizeof *a);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, 1.0, x, (int)k,
                W, (int)m, 1.0, a, (int)m);
}

/* Forward into a1, z1, a2 for n rows of f->x. */
static void forward(floor_net *f, size_t n)
{
    const size_t in = f->in, hid = f->hid, out = f->out;
    affine_forward(n, in, hid, f->x, f->W1, f->b1, f->a1);
    for (size_t i = 0; i < n * hid; i++) f->z1[i] = f->a1[i] > 0 ? f->a1[i] : 0.0;
    affine_forward(n, hid, out, f->z1, f->W2, f->b2, f->a2);
}

/* Softmax with cross-entropy: da2 = (softmax(a2) - t) / n; returns the
 * mean loss, log sum exp(a) - a_label, computed after subtracting the row
 * max. */
static double softmax_xent(floor_net *f, size_t n)
{
    const size_t out = f->out;
    double loss = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double *a = f->a2 + i * out, *t = f->t + i * out;
        double *d = f->da2 + i * out;
        double max = a[0];
        for (size_t j = 1; j < out; j++)
            if (a[j] > max) max = a[j];
        double s = 0.0;
        for (size_t j = 0; j < out; j++) s += d[j] = exp(a[j] - max);
        double log_s = log(s), inv = 1.0 / s;
        for (size_t j = 0; j < out; j++) {
            loss += t[j] * (log_s - (a[j] - max));
            d[j] = (d[j] * inv - t[j]) / (double)n;
        }
    }
    return loss / (double)n;
}

static void column_sums(size_t n, size_t m, const double *d, double *sum)
{
    memset(sum, 0, m * sizeof *sum);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) sum[j] += d[i * m + j];
}

static void backward(floor_net *f, size_t n)
{
    const size_t in = f->in, hid = f->hid, out = f->out;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)hid, (int)out, (int)n, 1.0, f->z1,
                (int)hid, f->da2, (int)out, 0.0, f->dW2, (int)out);
    column_sums(n, out, f->da2, f->db2);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)hid, (int)out, 1.0, f->da2,
                (int)out, f->W2, (int)out, 0.0, f->dz1, (int)hid);
    for (size_t i = 0; i < n * hid; i++)
        if (!(f->a1[i] > 0)) f->dz1[i] = 0.0;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)in, (int)hid, (int)n, 1.0, f->x,
                (int)in, f->dz1, (int)hid, 0.0, f->dW1, (int)hid);
    column_sums(n, hid, f->dz1, f->db1);
}

double floor_net_gradient(floor_net *f, const tg_mnist_set *set, const size_t *idx)
{
    tg_mnist_batch(set, idx, 0, f->batch, f->x, f->t);
    forward(f, f->batch);
    double loss = softmax_xent(f, f->batch);
    backward(f, f->batch);
    return loss;
}

double floor_net_step(floor_net *f, const tg_mnist_set *set, const size_t *idx, double lr)
{
    double loss = floor_net_gradient(f, set, idx);
    size_t np = f->in * f->hid + f->hid + f->hid * f->out + f->out;
    for (size_t i = 0; i < np; i++) f->params[i] -= lr * f->grads[i];
    return loss;
}

double floor_net_accuracy(floor_net *f, const tg_mnist_set *set)
{
    size_t right = 0;
    for (size_t first = 0; first < set->count; first += f->batch) {
        size_t n = set->count - first < f->batch ? set->count - first : f->batch;
        tg_mnist_batch(set, NULL, first, n, f->x, NULL);
        forward(f, n);
        for (size_t i = 0; i < n; i++) {
            const double *a = f->a2 + i * f->out;
            size_t best = 0;
            for (size_t j = 1; j < f->out; j++)
                if (a[j] > a[best]) best = j;
            right += best == set->labels[first + i];
        }
    }
    return (double)right / (double)set->count;
}

double floor_dgemm_ns(floor_net *f, int iters, double *flops)
{
    const int N = (int)f->batch, in = (int)f->in, hid = (int)f->hid, out = (int)f->out;
    /* x W1, z1 W2, z1^T da2, da2 W2^T, x^T dz1 */
    *flops = 2.0 * ((double)N * in * hid + (double)N * hid * out + (double)hid * N * out +
                    (double)N * out * hid + (double)in * N * hid);
    enum { CHUNKS = 5 };
    double samples[CHUNKS];
    int per_chunk = iters / CHUNKS > 0 ? iters / CHUNKS : 1;
    for (int c = 0; c < CHUNKS; c++) {
        uint64_t t0 = bench_now_ns();
        for (int it = 0; it < per_chunk; it++) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, hid, in, 1.0, f->x, in,
                        f->W1, hid, 1.0, f->a1, hid);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, out, hid, 1.0, f->z1, hid,
                        f->W2, out, 1.0, f->a2, out);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hid, out, N, 1.0, f->z1, hid,
                        f->da2, out, 0.0, f->dW2, out);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, hid, out, 1.0, f->da2, out,
                        f->W2, out, 0.0, f->dz1, hid);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, hid, N, 1.0, f->x, in,
                        f->dz1, hid, 0.0, f->dW1, hid);
        }
        samples[c] = (double)(bench_now_ns() - t0) / per_chunk;
    }
    return bench_stats_of(samples, CHUNKS).median;
}

/* ------------------------------------------------------------ float32 */

int floor_net32_init(floor_net32 *f, size_t in, size_t hid, size_t out, size_t batch,
                     const double *params)
{
    memset(f, 0, sizeof *f);
    f->in = in;
    f->hid = hid;
    f->out = out;
    f->batch = batch;
    size_t np = in * hid + hid + hid * out + out;
    /* one block: params, grads, then the batch buffers */
    size_t total = 2 * np + batch * (in + out + 3 * hid + 2 * out);
    f->params = calloc(total, sizeof(float));
    if (!f->params) return -1;
    for (size_t i = 0; i < np; i++) f->params[i] = (float)params[i];
    f->grads = f->params + np;
    f->x = f->grads + np;
    f->t = f->x + batch * in;
    f->a1 = f->t + batch * out;
    f->z1 = f->a1 + batch * hid;
    f->dz1 = f->z1 + batch * hid;
    f->a2 = f->dz1 + batch * hid;
    f->da2 = f->a2 + batch * out;
    f->W1 = f->params;
    f->b1 = f->W1 + in * hid;
    f->W2 = f->b1 + hid;
    f->b2 = f->W2 + hid * out;
    f->dW1 = f->grads;
    f->db1 = f->dW1 + in * hid;
    f->dW2 = f->db1 + hid;
    f->db2 = f->dW2 + hid * out;
    return 0;
}

void floor_net32_free(floor_net32 *f)
{
    free(f->params);
    memset(f, 0, sizeof *f);
}

/* a = x W + b by sgemm with beta = 1 on a that holds b in every row. */
static void affine_forward32(size_t n, size_t k, size_t m, const float *x, const float *W,
                             const float *b, float *a)
{
    for (size_t i = 0; i < n; i++) memcpy(a + i * m, b, m * sizeof *a);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, 1.0f, x, (int)k,
                W, (int)m, 1.0f, a, (int)m);
}

static void forward32(floor_net32 *f, size_t n)
{
    affine_forward32(n, f->in, f->hid, f->x, f->W1, f->b1, f->a1);
    for (size_t i = 0; i < n * f->hid; i++) f->z1[i] = f->a1[i] > 0 ? f->a1[i] : 0.0f;
    affine_forward32(n, f->hid, f->out, f->z1, f->W2, f->b2, f->a2);
}

/* da2 = (softmax(a2) - t) / n, and the mean loss, the sums in double. */
static double softmax_xent32(floor_net32 *f, size_t n)
{
    const size_t out = f->out;
    double loss = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *a = f->a2 + i * out, *t = f->t + i * out;
        float *d = f->da2 + i * out;
        double max = a[0], s = 0.0;
        for (size_t j = 1; j < out; j++) max = a[j] > max ? a[j] : max;
        for (size_t j = 0; j < out; j++) s += exp(a[j] - max);
        double log_s = log(s);
        for (size_t j = 0; j < out; j++) {
            loss += t[j] * (log_s - (a[j] - max));
            d[j] = (float)((exp(a[j] - max - log_s) - t[j]) / (double)n);
        }
    }
    return loss / (double)n;
}

/* sum over the n rows of d (n x m), in double. */
static void column_sums32(size_t n, size_t m, const float *d, float *sum)
{
    double acc[256];
    for (size_t j0 = 0; j0 < m; j0 += 256) {
        size_t w = m - j0 < 256 ? m - j0 : 256;
        memset(acc, 0, w * sizeof *acc);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < w; j++) acc[j] += d[i * m + j0 + j];
        for (size_t j = 0; j < w; j++) sum[j0 + j] = (float)acc[j];
    }
}

static void backward32(floor_net32 *f, size_t n)
{
    const int in = (int)f->in, hid = (int)f->hid, out = (int)f->out, N = (int)n;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hid, out, N, 1.0f, f->z1, hid, f->da2,
                out, 0.0f, f->dW2, out);
    column_sums32(n, f->out, f->da2, f->db2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, hid, out, 1.0f, f->da2, out, f->W2,
                out, 0.0f, f->dz1, hid);
    for (size_t i = 0; i < n * f->hid; i++)
        if (!(f->a1[i] > 0)) f->dz1[i] = 0.0f;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, hid, N, 1.0f, f->x, in, f->dz1, hid,
                0.0f, f->dW1, hid);
    column_sums32(n, f->hid, f->dz1, f->db1);
}

double floor_net32_step(floor_net32 *f, const tg_mnist_set *set, const size_t *idx, double lr)
{
    tg_mnist_batch_f32(set, idx, 0, f->batch, f->x, f->t);
    forward32(f, f->batch);
    double loss = softmax_xent32(f, f->batch);
    backward32(f, f->batch);
    size_t np = f->in * f->hid + f->hid + f->hid * f->out + f->out;
    for (size_t i = 0; i < np; i++) f->params[i] = (float)(f->params[i] - lr * f->grads[i]);
    return loss;
}

double floor_net32_accuracy(floor_net32 *f, const tg_mnist_set *set)
{
    size_t right = 0;
    for (size_t first = 0; first < set->count; first += f->batch) {
        size_t n = set->count - first < f->batch ? set->count - first : f->batch;
        tg_mnist_batch_f32(set, NULL, first, n, f->x, NULL);
        forward32(f, n);
        for (size_t i = 0; i < n; i++) {
            const float *a = f->a2 + i * f->out;
            size_t best = 0;
            for (size_t j = 1; j < f->out; j++)
                if (a[j] > a[best]) best = j;
            right += best == set->labels[first + i];
        }
    }
    return (double)right / (double)set->count;
}
