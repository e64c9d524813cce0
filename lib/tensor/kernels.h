/*
 * What the tensor kernels share (tensor_kernels.c: values and adjoints;
 * tensor_tangents.c: tangents and second order): a node seen as a matrix,
 * the operands of a broadcast op, and the kernel pairs the kernel table
 * of tensor_kernels.c points at.  Private to lib/tensor.
 */
#ifndef TG_TENSOR_KERNELS_H
#define TG_TENSOR_KERNELS_H

#include "graph.h"

#define KERNEL static inline __attribute__((always_inline))

/* A node as a matrix: a scalar node is 1 x 1, its number and its adjoint
 * in the tape's own slots.  t and dt are its tangent and its adjoint's
 * tangent (deriv.c's workspace), NULL before forward mode was first used. */
typedef struct mat {
    double *x, *dx, *t, *dt;
    size_t rows, cols;
} mat;

static inline mat view(const tg_graph *g, uint32_t id)
{
    mat m;
    if (tg__is_tensor(g, id)) {
        const tensor_rec *r = tg__trec(g, id);
        m.x = g->tval + r->off;
        m.dx = g->tgrad + r->off;
        m.t = g->ttan ? g->ttan + r->off : NULL;
        m.dt = g->ttadj ? g->ttadj + r->off : NULL;
        m.rows = r->rows;
        m.cols = r->cols;
    } else {
        m.x = &g->val[id];
        m.dx = &g->grad[id];
        m.t = g->dtan ? &g->dtan[id] : NULL;
        m.dt = g->dtadj ? &g->dtadj[id] : NULL;
        m.rows = m.cols = 1;
    }
    return m;
}

/* Constants take no gradient, so their adjoints are not computed at all:
 * for a network's input batch that skips the largest product. */
static inline bool wants_grad(const tg_graph *g, uint32_t id)
{
    return tg__op(g, id) != OP_CONST;
}

/* One operand of a broadcast op: element (i, j) of the output reads
 * x[i*rs + j*cs]; a stretched axis has stride 0.  dx is its adjoint, at
 * the same offsets. */
typedef struct operand {
    const double *x;
    double *dx;
    const double *t;  /* tangents and the adjoint's tangents, as in mat */
    double *dt;
    size_t rs, cs;
} operand;

/* The output is m x n.  Operands that are full m x n or single numbers
 * index the same way in every row, so the caller may hand them over as one
 * row of m*n; the common bias case (a 1 x n row) keeps cs = 1 and rs = 0,
 * so every inner loop below runs over contiguous memory. */
static inline void broadcast_operands(mat a, mat b, size_t *m, size_t *n, operand *A, operand *B)
{
    bool a_flat = (a.rows == *m && a.cols == *n) || (a.rows == 1 && a.cols == 1);
    bool b_flat = (b.rows == *m && b.cols == *n) || (b.rows == 1 && b.cols == 1);
    A->x = a.x;
    A->dx = a.dx;
    A->t = a.t;
    A->dt = a.dt;
    B->x = b.x;
    B->dx = b.dx;
    B->t = b.t;
    B->dt = b.dt;
    if (a_flat && b_flat) {
        A->cs = a.rows * a.cols > 1;
        B->cs = b.rows * b.cols > 1;
        A->rs = B->rs = 0;
        *n *= *m;
        *m = 1;
        return;
    }
    A->cs = a.cols > 1;
    A->rs = a.rows > 1 ? a.cols : 0;
    B->cs = b.cols > 1;
    B->rs = b.rows > 1 ? b.cols : 0;
}

/* Tangents (forward mode) and second-order reverse steps of tensor node
 * id: the tangent and backward2 columns of the kernel table. */
void tg__elementwise_tangent(tg_graph *g, uint32_t id);
void tg__elementwise_backward2(tg_graph *g, uint32_t id);
void tg__matmul_tangent(tg_graph *g, uint32_t id);
void tg__matmul_backward2(tg_graph *g, uint32_t id);
void tg__softmax_tangent(tg_graph *g, uint32_t id);
void tg__softmax_backward2(tg_graph *g, uint32_t id);
void tg__sum_tangent(tg_graph *g, uint32_t id);
void tg__sum_backward2(tg_graph *g, uint32_t id);
void tg__mean_tangent(tg_graph *g, uint32_t id);
void tg__mean_backward2(tg_graph *g, uint32_t id);
void tg__xent_tangent(tg_graph *g, uint32_t id);
void tg__xent_backward2(tg_graph *g, uint32_t id);

/* dgemm with the flags of a matmul node: C = beta C + op(A) op(B).
 * A: ra x ca, B: rb x cb (ldA = ca, ldB = cb), C: m x n. */
void tg__gemm(const double *a, size_t lda, bool ta, const double *b, size_t ldb, bool tb,
              double *c, size_t m, size_t n, size_t k, double beta);

/* dA += dC op(B)^T and dB += op(A)^T dC (transposed back where the
 * node read its operand transposed), into a.dx and b.dx.  dC: m x n */
void tg__matmul_backward_a(mat a, mat b, const double *dc, bool ta, bool tb, size_t m, size_t n,
                           size_t k);
void tg__matmul_backward_b(mat a, mat b, const double *dc, bool ta, bool tb, size_t m, size_t n,
                           size_t k);

/* Row z (cols) as max + log(sum exp(z - max)). */
void tg__logsumexp_row(const double *z, size_t cols, double *max, double *log_s);

#endif
