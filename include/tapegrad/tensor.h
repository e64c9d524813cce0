/*
 * tapegrad tensors: 2-D row-major arrays of doubles (float64) or floats
 * (float32) that are nodes of the same graph as scalars.  A tensor op records one node; its backward is a
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
 *
 * Float32.  A tensor has an element type, its dtype: float64 (the default,
 * and what tg_tensor_var and tg_tensor_const make) or float32, chosen when
 * a leaf is created (tg_tensor_var_ex, tg_tensor_const_ex) and inherited by
 * every op computed from it.  Scalar nodes are always float64.  Every
 * tensor op takes float32 operands; a float32 op stores float32 results but
 * does its arithmetic in double and rounds once per element, and its sums
 * (tg_sum, tg_mean, the cross-entropy, the softmax's row sums, a broadcast
 * operand's gradient summed over the batch) accumulate in double, so a
 * float32 network trains as well as a float64 one.  Products go through
 * BLAS sgemm.  The reductions (tg_sum, tg_mean, the cross-entropy) give
 * float64 scalars.
 *
 * Dtypes mix only through tg_convert, an op with its own backward (the
 * adjoint converted back).  An op given a float32 tensor and a float64 one,
 * or a float32 tensor and a scalar node, is TG_ERR_ARG with both in the
 * message: "tg_add: a is float32 (2x3), b is float64 (1x3); convert one
 * with tg_convert".
 *
 * tg_tensor_get, tg_tensor_get_grad and tg_tensor_set exchange doubles
 * with tensors of either dtype (a float32 tensor's numbers are widened
 * exactly on the way out and rounded to nearest on the way in).
 * tg_tensor_data and tg_tensor_gradp point into float64 storage only: on a
 * float32 tensor use tg_tensor_data_f32 and tg_tensor_gradp_f32.
 *
 * Forward mode and second order (tg_jvp, tg_vjp, tg_jacobian, tg_hvp,
 * tg_hessian) work on float64 tensors only; see tapegrad.h.
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

/* Element types of tensors. */
typedef enum tg_dtype { TG_F64 = 0, TG_F32 = 1 } tg_dtype;

/* The same with a dtype: data is rows*cols elements of it (doubles for
 * TG_F64, floats for TG_F32), copied, or NULL for zeros.  A dtype that is
 * neither is TG_ERR_ARG. */
tg_node tg_tensor_var_ex(tg_graph *g, const char *name, size_t rows, size_t cols, tg_dtype dtype,
                         const void *data);
tg_node tg_tensor_const_ex(tg_graph *g, size_t rows, size_t cols, tg_dtype dtype,
                           const void *data);  /* see tg_tensor_var_ex */

/* TG_F32 for a live float32 tensor; TG_F64 for any other node, an empty
 * or invalid handle, or a NULL graph. */
tg_dtype tg_tensor_dtype(const tg_graph *g, tg_node n);

/* x (a tensor, or a scalar node, read as 1 x 1) as a tensor of dtype: each
 * element widened exactly or rounded to nearest.  Backward hands the
 * adjoint to x converted back to x's dtype.  Converting to x's own dtype
 * is a copy.  TG_ERR_ARG for a dtype that is neither. */
tg_node tg_convert(tg_graph *g, tg_node x, tg_dtype dtype);

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
/* tg_tensor_data and tg_tensor_gradp on a float32 tensor: tg_tensor_data
 * records TG_ERR_ARG ("... is float32; use tg_tensor_data_f32"), both
 * return NULL.  The _f32 forms are the same for float32 tensors, and NULL
 * (tg_tensor_data_f32 recording TG_ERR_ARG) for a float64 one. */
float       *tg_tensor_data_f32(tg_graph *g, tg_node n);
const float *tg_tensor_gradp_f32(const tg_graph *g, tg_node n);  /* see tg_tensor_data_f32 */

/* Matrix product through BLAS dgemm (sgemm for float32).  flags transposes an operand in place
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
