/* Float32 kernels: the kernel table's float32 columns (tensor_kernels.c),
 * and the conversion between dtypes.
 *
 * Storage is float, arithmetic is double: each kernel widens its inputs,
 * computes as the float64 kernel does (op_value and op_partials for the
 * elementwise ops) and rounds each result once.  Every sum runs in a
 * double accumulator and is rounded at its end: the softmax's row sums,
 * tg_sum and tg_mean, the cross-entropy over the batch, and the gradient
 * of a broadcast operand (a bias's db = sum(dY, axis 0)), where a float
 * accumulator would lose the small late terms of a long sum.  Only the
 * products go through float arithmetic, in sgemm, which is where float32
 * earns its speed: half the bytes moved.
 *
 * Every operand of a float32 kernel is a float32 tensor: tensor.c refuses
 * mixed dtypes (and scalar nodes, which are float64) before recording.
 * Buffers are row-major; shapes are given per kernel. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

/* One operand of a broadcast op, as operand in kernels.h. */
typedef struct operand32 {
    const float *x;
    float *dx;
    size_t rs, cs;
} operand32;

static inline void broadcast_operands32(mat32 a, mat32 b, size_t *m, size_t *n, operand32 *A,
                                        operand32 *B)
{
    A->x = a.x;
    A->dx = a.dx;
    B->x = b.x;
    B->dx = b.dx;
    broadcast_strides(a.rows, a.cols, b.rows, b.cols, m, n, &A->rs, &A->cs, &B->rs, &B->cs);
}

/* ============================================================ elementwise */

/* y = f(x).  x, y: n */
KERNEL void unary_forward32(tg_op f, const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = (float)op_value(f, x[i], 0.0);
}

/* dx += f'(x) dy.  x, y, dy, dx: n.  A block at a time, widened into
 * doubles on the stack, so that the loop of op_partials runs on doubles
 * alone, as in the float64 kernel, and vectorises (relu's three-way
 * partial included: converting inside that loop kept it scalar, a branch
 * per element).  Each result is still rounded once. */
KERNEL void unary_backward32(tg_op f, const float *restrict x, const float *restrict y,
                             const float *restrict dy, float *restrict dx, size_t n)
{
    enum { BLOCK = 256 };
    double xb[BLOCK], yb[BLOCK], dyb[BLOCK], dxb[BLOCK];
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t w = n - i0 < BLOCK ? n - i0 : BLOCK;
        for (size_t j = 0; j < w; j++) {
            xb[j] = x[i0 + j];
            yb[j] = y[i0 + j];
            dyb[j] = dy[i0 + j];
            dxb[j] = dx[i0 + j];
        }
        for (size_t j = 0; j < w; j++) {
            double d, unused;
            op_partials(f, xb[j], 0.0, yb[j], &d, &unused);
            dxb[j] += d * dyb[j];
        }
        for (size_t j = 0; j < w; j++) dx[i0 + j] = (float)dxb[j];
    }
}

/* y = f(a, b), broadcast.  y: m x n */
KERNEL void binary_forward32(tg_op f, operand32 A, operand32 B, float *restrict y, size_t m,
                             size_t n)
{
    for (size_t i = 0; i < m; i++) {
        const float *restrict a = A.x + i * A.rs;
        const float *restrict b = B.x + i * B.rs;
        float *restrict yr = y + i * n;
        if (A.cs && B.cs) {
            for (size_t j = 0; j < n; j++) yr[j] = (float)op_value(f, a[j], b[j]);
        } else if (A.cs) {
            double bv = b[0];
            for (size_t j = 0; j < n; j++) yr[j] = (float)op_value(f, a[j], bv);
        } else if (B.cs) {
            double av = a[0];
            for (size_t j = 0; j < n; j++) yr[j] = (float)op_value(f, av, b[j]);
        } else {
            float v = (float)op_value(f, a[0], b[0]);
            for (size_t j = 0; j < n; j++) yr[j] = v;
        }
    }
}

/* The contribution (dy/dT) dy of output element j of row (a, b, y, dy). */
KERNEL double flow32(tg_op f, bool wrt_b, const float *a, size_t a_cs, const float *b,
                     size_t b_cs, const float *y, const float *dy, size_t j)
{
    double da, db;
    op_partials(f, a[j * a_cs], b[j * b_cs], y[j], &da, &db);
    return (wrt_b ? db : da) * dy[j];
}

/* dT += (dy/dT) dy for T = b when wrt_b, else T = a, summed over T's
 * stretched axes in double.  A row stretched over the rows (a bias) sums
 * its columns a block at a time in a double accumulator on the stack.
 * y, dy: m x n */
KERNEL void binary_backward32(tg_op f, bool wrt_b, operand32 A, operand32 B, const float *y,
                              const float *dy, size_t m, size_t n)
{
    operand32 T = wrt_b ? B : A;
    if (!T.cs) {  /* T is one number per row, or one for all rows */
        double total = 0.0;
        for (size_t i = 0; i < m; i++) {
            const float *a = A.x + i * A.rs, *b = B.x + i * B.rs;
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += flow32(f, wrt_b, a, A.cs, b, B.cs, y + i * n, dy + i * n, j);
            if (T.rs) T.dx[i * T.rs] = (float)(T.dx[i * T.rs] + s);
            else total += s;
        }
        if (!T.rs) T.dx[0] = (float)(T.dx[0] + total);
        return;
    }
    if (T.rs || m == 1) {  /* T has an element per output element */
        for (size_t i = 0; i < m; i++) {
            const float *a = A.x + i * A.rs, *b = B.x + i * B.rs;
            float *dt = T.dx + i * T.rs;
            for (size_t j = 0; j < n; j++)
                dt[j] = (float)(dt[j] + flow32(f, wrt_b, a, A.cs, b, B.cs, y + i * n, dy + i * n, j));
        }
        return;
    }
    enum { BLOCK = 256 };  /* T is a row stretched over the m rows */
    double acc[BLOCK];
    for (size_t j0 = 0; j0 < n; j0 += BLOCK) {
        size_t width = n - j0 < BLOCK ? n - j0 : BLOCK;
        memset(acc, 0, width * sizeof *acc);
        for (size_t i = 0; i < m; i++) {
            const float *a = A.x + i * A.rs + j0 * A.cs, *b = B.x + i * B.rs + j0 * B.cs;
            const float *yr = y + i * n + j0, *dyr = dy + i * n + j0;
            for (size_t j = 0; j < width; j++) acc[j] += flow32(f, wrt_b, a, A.cs, b, B.cs, yr, dyr, j);
        }
        for (size_t j = 0; j < width; j++) T.dx[j0 + j] = (float)(T.dx[j0 + j] + acc[j]);
    }
}

typedef enum ew_pass32 { EW32_FORWARD, EW32_BACKWARD_A, EW32_BACKWARD_B, EW32_SIDES_RECORD,
                         EW32_SIDES_CHECK } ew_pass32;

typedef struct ew_ctx32 {
    ew_pass32 pass;
    operand32 A, B;
    float *y;
    const float *dy;
    size_t m, n;     /* y: m x n */
    float *sides;    /* EW32_SIDES_*: m x n, 1 or 0 (op_side) */
    bool same;
} ew_ctx32;

/* A branch op's side of its kink per element, recorded or compared. */
KERNEL void sides32(tg_op f, ew_ctx32 *c)
{
    int differ = 0;
    for (size_t i = 0; i < c->m; i++) {
        const float *a = c->A.x + i * c->A.rs, *b = c->B.x + i * c->B.rs;
        float *s = c->sides + i * c->n;
        for (size_t j = 0; j < c->n; j++) {
            float side = op_side(f, a[j * c->A.cs], b[j * c->B.cs]) ? 1.0f : 0.0f;
            if (c->pass == EW32_SIDES_RECORD) s[j] = side;
            else differ |= s[j] != side;
        }
    }
    c->same = !differ;
}

KERNEL void elementwise_step32(tg_op f, void *ctx)
{
    ew_ctx32 *c = ctx;
    if (op_table[f].kind != OPK_ELEMENTWISE) return;
    if (c->pass == EW32_SIDES_RECORD || c->pass == EW32_SIDES_CHECK) {
        if (op_table[f].branch) sides32(f, c);
        return;
    }
    if (op_table[f].arity == 1) {
        size_t count = c->m * c->n;
        if (c->pass == EW32_FORWARD) unary_forward32(f, c->A.x, c->y, count);
        else if (c->pass == EW32_BACKWARD_A) unary_backward32(f, c->A.x, c->y, c->dy, c->A.dx, count);
        return;
    }
    if (c->pass == EW32_FORWARD) binary_forward32(f, c->A, c->B, c->y, c->m, c->n);
    else binary_backward32(f, c->pass == EW32_BACKWARD_B, c->A, c->B, c->y, c->dy, c->m, c->n);
}

/* Pass `pass` of node id's op over its operands. */
static bool elementwise32(tg_graph *g, uint32_t id, ew_pass32 pass)
{
    mat32 y = view32(g, id);
    ew_ctx32 c = { pass, { 0 }, { 0 }, y.x, y.dx, y.rows, y.cols, y.x + y.rows * y.cols, true };
    broadcast_operands32(view32(g, g->a[id]), view32(g, g->b[id]), &c.m, &c.n, &c.A, &c.B);
    op_dispatch(tg__op(g, id), elementwise_step32, &c);
    return c.same;
}

bool tg__elementwise_forward32(tg_graph *g, uint32_t id)
{
    bool same = true;
    if (op_table[tg__op(g, id)].branch) same = elementwise32(g, id, EW32_SIDES_CHECK);
    elementwise32(g, id, EW32_FORWARD);
    return same;
}

void tg__record_sides32(tg_graph *g, uint32_t id)
{
    elementwise32(g, id, EW32_SIDES_RECORD);
}

void tg__elementwise_backward32(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id], ib = g->b[id];
    if (wants_grad(g, ia)) elementwise32(g, id, EW32_BACKWARD_A);
    if (op_table[tg__op(g, id)].arity == 2 && wants_grad(g, ib)) elementwise32(g, id, EW32_BACKWARD_B);
}

/* ============================================================ matmul */

/* C = beta C + op(A) op(B) through sgemm, as tg__gemm.  C: m x n */
static void sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, const float *a, size_t lda,
                  const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

bool tg__matmul_forward32(tg_graph *g, uint32_t id)
{
    mat32 a = view32(g, g->a[id]), b = view32(g, g->b[id]), c = view32(g, id);
    unsigned flags = tg__trec(g, id)->flags;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    sgemm(ta, tb, c.rows, c.cols, ta ? a.rows : a.cols, a.x, a.cols, b.x, b.cols, 0.0f, c.x, c.cols);
    return true;
}

/* dA += dC op(B)^T and dB += op(A)^T dC, each transposed back where the
 * node read its operand transposed (as tg__matmul_backward_a/_b).
 * dC: m x n, op(A): m x k, op(B): k x n */
void tg__matmul_backward32(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id], ib = g->b[id];
    mat32 a = view32(g, ia), b = view32(g, ib), c = view32(g, id);
    unsigned flags = tg__trec(g, id)->flags;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    size_t m = c.rows, n = c.cols, k = ta ? a.rows : a.cols;
    if (wants_grad(g, ia)) {
        if (!ta)  /* dA (m x k) += dC (m x n) . op(B)^T (n x k) */
            sgemm(false, !tb, m, k, n, c.dx, n, b.x, b.cols, 1.0f, a.dx, a.cols);
        else      /* dA (k x m) += op(B) (k x n) . dC^T (n x m) */
            sgemm(tb, true, k, m, n, b.x, b.cols, c.dx, n, 1.0f, a.dx, a.cols);
    }
    if (wants_grad(g, ib)) {
        if (!tb)  /* dB (k x n) += op(A)^T (k x m) . dC (m x n) */
            sgemm(!ta, false, k, n, m, a.x, a.cols, c.dx, n, 1.0f, b.dx, b.cols);
        else      /* dB (n x k) += dC^T (n x m) . op(A) (m x k) */
            sgemm(true, ta, n, k, m, c.dx, n, a.x, a.cols, 1.0f, b.dx, b.cols);
    }
}

/* ============================================================ softmax */

/* Row z (cols) as max + log(sum exp(z - max)), in double. */
static void logsumexp_row32(const float *z, size_t cols, double *max, double *log_s)
{
    double m = z[0];
    for (size_t j = 1; j < cols; j++) m = z[j] > m ? z[j] : m;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += exp(z[j] - m);
    *max = m;
    *log_s = log(s);
}

/* Row z's softmax into y, and its log-sum-exp as max + log_s, as
 * logsumexp_row32 computes it: y_j = e_j / s rounded once from the double
 * quotient, e_j = exp(z_j - max), s = sum_j e_j.  The e_j of the first ROW
 * columns are kept on the stack for y, so a row of up to ROW costs one exp
 * per element; the columns past ROW compute theirs again.  z, y: cols */
static void softmax_lse_row32(const float *restrict z, float *restrict y, size_t cols,
                              double *max, double *log_s)
{
    enum { ROW = 64 };
    double e[ROW];
    double m = z[0];
    for (size_t j = 1; j < cols; j++) m = z[j] > m ? z[j] : m;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) {
        double v = exp(z[j] - m);
        if (j < ROW) e[j] = v;
        s += v;
    }
    for (size_t j = 0; j < cols; j++) y[j] = (float)((j < ROW ? e[j] : exp(z[j] - m)) / s);
    *max = m;
    *log_s = log(s);
}

/* y = exp(x - max) / sum exp(x - max) row by row.  x, y: rows x cols */
static void softmax_rows32(const float *restrict x, float *restrict y, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++) {
        double max, log_s;
        softmax_lse_row32(x + i * cols, y + i * cols, cols, &max, &log_s);
    }
}

bool tg__softmax_forward32(tg_graph *g, uint32_t id)
{
    mat32 x = view32(g, g->a[id]), y = view32(g, id);
    softmax_rows32(x.x, y.x, y.rows, y.cols);
    return true;
}

/* dx += y * (dy - sum_j dy_j y_j), row by row.  y, dy, dx: rows x cols */
void tg__softmax_backward32(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat32 x = view32(g, ia), y = view32(g, id);
    for (size_t i = 0; i < y.rows; i++) {
        const float *yr = y.x + i * y.cols, *dyr = y.dx + i * y.cols;
        float *dxr = x.dx + i * y.cols;
        double dot = 0.0;
        for (size_t j = 0; j < y.cols; j++) dot += (double)dyr[j] * yr[j];
        for (size_t j = 0; j < y.cols; j++) dxr[j] = (float)(dxr[j] + yr[j] * (dyr[j] - dot));
    }
}

/* ============================================================ cross-entropy */

/* loss = (1/N) sum_i [ sum_j t_ij (max_i - z_ij) + (sum_j t_ij) lse'_i ], as
 * the float64 kernel (tensor_kernels.c), from the logits in double: a
 * logit of 1e4 gives a finite loss.  The record keeps softmax(z).
 * z, t, y: N x C */
bool tg__xent_forward32(tg_graph *g, uint32_t id)
{
    mat32 z = view32(g, g->a[id]), t = view32(g, g->b[id]);
    float *y = (float *)(void *)(g->tval + tg__trec(g, id)->off);
    size_t N = z.rows, C = z.cols;
    double loss = 0.0;
    for (size_t i = 0; i < N; i++) {
        const float *zr = z.x + i * C, *tr = t.x + i * C;
        double max, log_s, tz = 0.0, tsum = 0.0;
        softmax_lse_row32(zr, y + i * C, C, &max, &log_s);
        for (size_t j = 0; j < C; j++) {
            if (tr[j] != 0) tz += tr[j] * (max - zr[j]);
            tsum += tr[j];
        }
        loss += tz + tsum * log_s;
    }
    g->val[id] = loss / (double)N;
    return true;
}

/* dz += g/N (y sum_j t_ij - t); dt += g/N (lse_i - z).  z, y, t: N x C */
void tg__xent_backward32(tg_graph *g, uint32_t id)
{
    uint32_t iz = g->a[id], it = g->b[id];
    mat32 z = view32(g, iz), t = view32(g, it);
    const float *y = (const float *)(const void *)(g->tval + tg__trec(g, id)->off);
    size_t N = z.rows, C = z.cols;
    double scale = g->grad[id] / (double)N;
    for (size_t i = 0; i < N && wants_grad(g, iz); i++) {
        const float *yr = y + i * C, *tr = t.x + i * C;
        float *dzr = z.dx + i * C;
        double tsum = 0.0;
        for (size_t j = 0; j < C; j++) tsum += tr[j];
        for (size_t j = 0; j < C; j++) dzr[j] = (float)(dzr[j] + scale * (tsum * yr[j] - tr[j]));
    }
    for (size_t i = 0; i < N && wants_grad(g, it); i++) {
        const float *zr = z.x + i * C;
        float *dtr = t.dx + i * C;
        double max, log_s;
        logsumexp_row32(zr, C, &max, &log_s);
        for (size_t j = 0; j < C; j++) dtr[j] = (float)(dtr[j] + scale * ((max - zr[j]) + log_s));
    }
}

/* ============================================================ sum, mean */

static double sum32(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

/* dx += ds.  dx: n */
static void spread32(double ds, float *dx, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = (float)(dx[i] + ds);
}

bool tg__sum_forward32(tg_graph *g, uint32_t id)
{
    mat32 x = view32(g, g->a[id]);
    g->val[id] = sum32(x.x, x.rows * x.cols);
    return true;
}

void tg__sum_backward32(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat32 x = view32(g, ia);
    spread32(g->grad[id], x.dx, x.rows * x.cols);
}

bool tg__mean_forward32(tg_graph *g, uint32_t id)
{
    mat32 x = view32(g, g->a[id]);
    size_t n = x.rows * x.cols;
    g->val[id] = sum32(x.x, n) / (double)n;
    return true;
}

void tg__mean_backward32(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat32 x = view32(g, ia);
    size_t n = x.rows * x.cols;
    spread32(g->grad[id] / (double)n, x.dx, n);
}

/* ============================================================ convert */

/* dst (of dtype dd) = src (of dtype ds) converted, or += when add.  n */
static void convert_elements(const void *src, tg_dtype ds, void *dst, tg_dtype dd, size_t n,
                             bool add)
{
    const float *sf = src;
    const double *sd = src;
    float *df = dst;
    double *dd64 = dst;
    for (size_t i = 0; i < n; i++) {
        double v = ds == TG_F32 ? (double)sf[i] : sd[i];
        if (dd == TG_F32) df[i] = add ? (float)(df[i] + v) : (float)v;
        else dd64[i] = add ? dd64[i] + v : v;
    }
}

/* The dtype of node id's numbers: a scalar node's is float64. */
static tg_dtype dtype_at(const tg_graph *g, uint32_t id)
{
    return tg__is_tensor(g, id) ? (tg_dtype)tg__trec(g, id)->dtype : TG_F64;
}

/* y = x in y's dtype.  view() gives each node's first slot whichever its
 * dtype.  x, y: rows x cols */
bool tg__convert_forward(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    mat x = view(g, ia), y = view(g, id);
    convert_elements(x.x, dtype_at(g, ia), y.x, dtype_at(g, id), y.rows * y.cols, false);
    return true;
}

/* dx += dy in x's dtype. */
void tg__convert_backward(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia), y = view(g, id);
    convert_elements(y.dx, dtype_at(g, id), x.dx, dtype_at(g, ia), y.rows * y.cols, true);
}
