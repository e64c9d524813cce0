/*
 * T1's reference: the book's TwoLayerNet written directly against CBLAS,
 * with every buffer allocated once and no graph (T1-floor).  It does the
 * work a perfect engine would still have to do: the same five products,
 * the same elementwise passes, the same SGD on a separate gradient block.
 */
#ifndef BENCH_T1_H
#define BENCH_T1_H

#include <stddef.h>

#include "tapegrad/mnist.h"

typedef struct floor_net {
    size_t in, hid, out, batch;
    double *params;          /* W1 (in x hid), b1 (1 x hid), W2 (hid x out), b2 (1 x out) */
    double *grads;           /* dW1 db1 dW2 db2, the same layout */
    double *W1, *b1, *W2, *b2;
    double *dW1, *db1, *dW2, *db2;
    double *x, *t;           /* batch x hid... : x (batch x in), t one-hot (batch x out) */
    double *a1, *a2;         /* affine outputs: a1 (batch x hid), a2 (batch x out) */
    double *z1;              /* relu(a1) (batch x hid) */
    double *da2, *dz1;       /* (softmax - t) / batch; dz1 = da2 W2^T, masked by a1 > 0 */
} floor_net;

/* Buffers for a batch of at most `batch` rows; params (in*hid + hid +
 * hid*out + out doubles, W1 b1 W2 b2) are copied.  0, or -1 out of memory. */
int  floor_net_init(floor_net *f, size_t in, size_t hid, size_t out, size_t batch,
                    const double *params);
void floor_net_free(floor_net *f);

/* Forward, loss, backward and p -= lr * dp on the images idx[0..batch-1];
 * returns the mean cross-entropy of the batch. */
double floor_net_step(floor_net *f, const tg_mnist_set *set, const size_t *idx, double lr);
/* Forward and backward only (the gradients stay in f->grads). */
double floor_net_gradient(floor_net *f, const tg_mnist_set *set, const size_t *idx);
/* Fraction of set classified right, `batch` images at a time. */
double floor_net_accuracy(floor_net *f, const tg_mnist_set *set);

/* Time `iters` passes of the five dgemm calls of one step at these shapes
 * on f's buffers; returns nanoseconds per pass (median of chunks), and the
 * flops of one pass in *flops. */
double floor_dgemm_ns(floor_net *f, int iters, double *flops);

/* The same network in float32 on sgemm (T1 float32's floor): the same
 * products and passes on floats, with the sums tapegrad's float32 kernels
 * keep in double (the softmax's row sums, the loss, the bias gradients)
 * kept in double here too, so both do the same work. */
typedef struct floor_net32 {
    size_t in, hid, out, batch;
    float *params, *grads;   /* as floor_net's, in floats */
    float *W1, *b1, *W2, *b2;
    float *dW1, *db1, *dW2, *db2;
    float *x, *t, *a1, *a2, *z1, *da2, *dz1;
} floor_net32;

int    floor_net32_init(floor_net32 *f, size_t in, size_t hid, size_t out, size_t batch,
                        const double *params);   /* params rounded to float */
void   floor_net32_free(floor_net32 *f);
double floor_net32_step(floor_net32 *f, const tg_mnist_set *set, const size_t *idx, double lr);
double floor_net32_accuracy(floor_net32 *f, const tg_mnist_set *set);

#endif
