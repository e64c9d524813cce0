/*
 * tapegrad tensors: 2-D row-major arrays of doubles that are nodes of the
 * same graph as scalars.  A tensor op records one node; its backward is a
 * kernel run by the same reverse sweep, so a scalar loss at the end of a
 * tensor graph is trained with tg_backward(g, loss).
 *
 * Every scalar op of tapegrad.h accepts tensors element by element.  Binary
 * ops broadcast numpy-style: a scalar node, a 1 x n row (a bias) or an
 * m x 1 column stretches to the other operand's shape; the backward sums
 * over the stretched axes (dB = sum(dY, axis 0)).  Shapes that do not fit
 * are TG_ERR_SHAPE with both shapes in the message.
 *
 * Tensor storage lives in the graph and is reused after tg_graph_rewind().
 * Pointers returned by tg_tensor_data/tg_tensor_gradp stay valid until the
 * next call that records a node or rewinds; copy out with tg_tensor_get.
 */
#ifndef TAPEGRAD_TENSOR_H
#define TAPEGRAD_TENSOR_H

#include "tapegrad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A tensor variable (differentiable) or constant of rows x cols, filled
 * from data (rows*cols doubles, copied) or with zeros when data is NULL.
 * rows and cols are at least 1.  name as for tg_var. */
tg_node tg_tensor_var(tg_graph *g, const char *name, size_t rows, size_t cols, const double *data);
tg_node tg_tensor_const(tg_graph *g, size_t rows, size_t cols, const double *data);  /* see tg_tensor_var */

/* 1 if n is a tensor node, 0 otherwise (scalar, empty or invalid). */
int       tg_is_tensor(const tg_graph *g, tg_node n);
/* The shape; a scalar node is 1 x 1.  Error status on a bad handle. */
tg_status tg_shape(const tg_graph *g, tg_node n, size_t *rows, size_t *cols);

/* Values and gradients, row-major.  Get copies out rows*cols doubles (one
 * for a scalar node); set copies into a tensor variable or constant.  As
 * with tg_set_value, the leaf changes at once and the nodes computed from
 * it at the next tg_forward or tg_backward (which replays first).  A
 * scalar where a tensor is required, or the reverse, is TG_ERR_SHAPE. */
tg_status tg_tensor_get(const tg_graph *g, tg_node n, double *out);
tg_status tg_tensor_get_grad(const tg_graph *g, tg_node n, double *out);  /* gradients, see tg_tensor_get */
tg_status tg_tensor_set(tg_graph *g, tg_node leaf, const double *data);    /* see tg_tensor_get */

/* Direct access to a tensor's storage, or NULL on a bad handle (recorded).
 * Writing through tg_tensor_data changes a leaf's value in place (an SGD
 * step), and counts as a change like tg_tensor_set: the next tg_backward
 * replays first if nodes computed from it remain on the tape (after a
 * rewind to just past the parameters, none do).  See the validity rule
 * above. */
double       *tg_tensor_data(tg_graph *g, tg_node n);
const double *tg_tensor_gradp(const tg_graph *g, tg_node n);  /* the gradients, see tg_tensor_data */

/* Matrix product through BLAS dgemm.  flags transposes an operand in place
 * of copying it: C = op(a) op(b). */
enum { TG_TRANS_A = 1, TG_TRANS_B = 2 };
tg_node tg_matmul(tg_graph *g, tg_node a, tg_node b);                    /* a b */
tg_node tg_matmul_ex(tg_graph *g, tg_node a, tg_node b, unsigned flags);  /* op(a) op(b) */

/* Reductions to a scalar node. */
tg_node tg_sum(tg_graph *g, tg_node a);
tg_node tg_mean(tg_graph *g, tg_node a);   /* the sum over the element count */

/* Row-wise softmax (stable: the row max is subtracted). */
tg_node tg_softmax(tg_graph *g, tg_node logits);
/* Fused softmax + cross-entropy, averaged over the batch: a scalar node.
 * logits and onehot are N x C; backward gives (softmax - onehot) / N. */
tg_node tg_softmax_cross_entropy(tg_graph *g, tg_node logits, tg_node onehot);

#ifdef __cplusplus
}
#endif

#endif
