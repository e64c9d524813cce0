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

/* A float32 tensor as a matrix (kernels of tensor_f32.c): its elements
 * and adjoints are floats from its record's slot on (graph.h). */
typedef struct mat32 {
    float *x, *dx;
    size_t rows, cols;
} mat32;

static inline mat32 view32(const tg_graph *g, uint32_t id)
{
    const tensor_rec *r = tg__trec(g, id);
    mat32 m = { (float *)(void *)(g->tval + r->off), (float *)(void *)(g->tgrad + r->off),
                r->rows, r->cols };
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

/* The strides of an operand of ra x ca in a broadcast op whose output is
 * m x n, and of the other operand of rb x cb.  Operands that are full
 * m x n or single numbers index the same way in every row, so the caller
 * may hand them over as one row of m*n; the common bias case (a 1 x n row)
 * keeps cs = 1 and rs = 0, so every inner loop runs over contiguous
 * memory. */
static inline void broadcast_strides(size_t ra, size_t ca, size_t rb, size_t cb, size_t *m,
                                     size_t *n, size_t *a_rs, size_t *a_cs, size_t *b_rs,
                                     size_t *b_cs)
{
    bool a_flat = (ra == *m && ca == *n) || (ra == 1 && ca == 1);
    bool b_flat = (rb == *m && cb == *n) || (rb == 1 && cb == 1);
    if (a_flat && b_flat) {
        *a_cs = ra * ca > 1;
        *b_cs = rb * cb > 1;
        *a_rs = *b_rs = 0;
        *n *= *m;
        *m = 1;
        return;
    }
    *a_cs = ca > 1;
    *a_rs = ra > 1 ? ca : 0;
    *b_cs = cb > 1;
    *b_rs = rb > 1 ? cb : 0;
}

/* The operands of a broadcast op with output m x n (see broadcast_strides). */
static inline void broadcast_operands(mat a, mat b, size_t *m, size_t *n, operand *A, operand *B)
{
    A->x = a.x;
    A->dx = a.dx;
    A->t = a.t;
    A->dt = a.dt;
    B->x = b.x;
    B->dx = b.dx;
    B->t = b.t;
    B->dt = b.dt;
    broadcast_strides(a.rows, a.cols, b.rows, b.cols, m, n, &A->rs, &A->cs, &B->rs, &B->cs);
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

/* The float32 kernels (tensor_f32.c): forward and backward of each op
 * on float32 tensors, as the kernel table's float32 columns, and the
 * conversion between dtypes, which is one kernel for every pair. */
bool tg__elementwise_forward32(tg_graph *g, uint32_t id);
void tg__elementwise_backward32(tg_graph *g, uint32_t id);
void tg__record_sides32(tg_graph *g, uint32_t id);
bool tg__matmul_forward32(tg_graph *g, uint32_t id);
void tg__matmul_backward32(tg_graph *g, uint32_t id);
bool tg__softmax_forward32(tg_graph *g, uint32_t id);
void tg__softmax_backward32(tg_graph *g, uint32_t id);
bool tg__sum_forward32(tg_graph *g, uint32_t id);
void tg__sum_backward32(tg_graph *g, uint32_t id);
bool tg__mean_forward32(tg_graph *g, uint32_t id);
void tg__mean_backward32(tg_graph *g, uint32_t id);
bool tg__xent_forward32(tg_graph *g, uint32_t id);
void tg__xent_backward32(tg_graph *g, uint32_t id);
bool tg__convert_forward(tg_graph *g, uint32_t id);
void tg__convert_backward(tg_graph *g, uint32_t id);
/* A conversion between float64 tensors (the only one forward mode sees). */
void tg__convert_tangent(tg_graph *g, uint32_t id);
void tg__convert_backward2(tg_graph *g, uint32_t id);

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
