/* Tensor kernels: a <name>_forward / <name>_backward pair per op, and the
 * dispatch that recording and both sweeps go through.
 *
 * Every buffer is row-major; each kernel gives the shapes.  A gradient is
 * named after its buffer with a d in front, and backward kernels add into
 * it (+=): a node may feed several consumers, and the sweep zeroes every
 * adjoint before it starts.  Elementwise derivatives come from op.h's
 * op_value and op_partials, never from formulas of their own here; each
 * elementwise kernel is instantiated per op (the op a literal), so the
 * compiler reduces the switch in op.h to that op's line and can vectorise
 * the loop.  The other tensor ops are rows of the kernel table at the end:
 * a forward and a backward function each. */
#include <cblas.h>
#include <string.h>

#include "kernels.h"

/* ============================================================ unary */

/* y = f(x).  x, y, dy, dx: n */
KERNEL void unary_forward_op(tg_op f, const double *restrict x, double *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = op_value(f, x[i], 0.0);
}

/* dx += f'(x) dy, with f' from the input and the output. */
KERNEL void unary_backward_op(tg_op f, const double *restrict x, const double *restrict y,
                              const double *restrict dy, double *restrict dx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d, unused;
        op_partials(f, x[i], 0.0, y[i], &d, &unused);
        dx[i] += d * dy[i];
    }
}

/* ============================================================ binary */

/* y = f(a, b), broadcast.  y: m x n; a, b: see operand */
KERNEL void binary_forward_op(tg_op f, operand A, operand B, double *restrict y, size_t m, size_t n)
{
    for (size_t i = 0; i < m; i++) {
        const double *restrict a = A.x + i * A.rs;
        const double *restrict b = B.x + i * B.rs;
        double *restrict yr = y + i * n;
        if (A.cs && B.cs) {
            for (size_t j = 0; j < n; j++) yr[j] = op_value(f, a[j], b[j]);
        } else if (A.cs) {
            double bv = b[0];
            for (size_t j = 0; j < n; j++) yr[j] = op_value(f, a[j], bv);
        } else if (B.cs) {
            double av = a[0];
            for (size_t j = 0; j < n; j++) yr[j] = op_value(f, av, b[j]);
        } else {
            double v = op_value(f, a[0], b[0]);
            for (size_t j = 0; j < n; j++) yr[j] = v;
        }
    }
}

/* dT += (dy/dT) dy for T = b when wrt_b, else T = a, summed over T's
 * stretched axes: a row-broadcast bias gets dB = sum(dY, axis 0), a scalar
 * the sum of everything.  y, dy: m x n */
KERNEL void binary_backward_op(tg_op f, bool wrt_b, operand A, operand B, const double *y,
                               const double *dy, size_t m, size_t n)
{
    operand T = wrt_b ? B : A;
    for (size_t i = 0; i < m; i++) {
        const double *restrict a = A.x + i * A.rs;
        const double *restrict b = B.x + i * B.rs;
        const double *restrict yr = y + i * n;
        const double *restrict dyr = dy + i * n;
        double *restrict dt = T.dx + i * T.rs;
        double da, db;
        if (A.cs && B.cs) {
            for (size_t j = 0; j < n; j++) {
                op_partials(f, a[j], b[j], yr[j], &da, &db);
                dt[j] += (wrt_b ? db : da) * dyr[j];
            }
        } else if (T.cs) {  /* T runs along the row, the other operand is one number */
            double av = a[0], bv = b[0];
            for (size_t j = 0; j < n; j++) {
                op_partials(f, wrt_b ? av : a[j], wrt_b ? b[j] : bv, yr[j], &da, &db);
                dt[j] += (wrt_b ? db : da) * dyr[j];
            }
        } else {            /* T is one number in this row: reduce the row into it */
            double s = 0.0;
            for (size_t j = 0; j < n; j++) {
                op_partials(f, a[j * A.cs], b[j * B.cs], yr[j], &da, &db);
                s += (wrt_b ? db : da) * dyr[j];
            }
            dt[0] += s;
        }
    }
}

/* One pass of an elementwise op over its operands, compiled per op through
 * op_dispatch (op.h) so that the loops are built for that op alone and
 * vectorised where they can be. */
typedef enum ew_pass {
    EW_FORWARD, EW_BACKWARD_A, EW_BACKWARD_B,
    EW_SIDES_RECORD, EW_SIDES_CHECK  /* a branch op's sides of its kink */
} ew_pass;

typedef struct ew_ctx {
    ew_pass pass;
    operand A, B;
    double *y;
    const double *dy;
    size_t m, n;     /* y: m x n */
    double *sides;   /* EW_SIDES_*: m x n, 1 or 0 (op_side) */
    bool same;       /* EW_SIDES_CHECK: every side as recorded */
} ew_ctx;

/* The side of its kink each element of a branch op is on: recorded into
 * c->sides, or compared with them.  sides: m x n */
KERNEL void sides_op(tg_op f, ew_ctx *c)
{
    int differ = 0;
    for (size_t i = 0; i < c->m; i++) {
        const double *a = c->A.x + i * c->A.rs, *b = c->B.x + i * c->B.rs;
        double *s = c->sides + i * c->n;
        for (size_t j = 0; j < c->n; j++) {
            double side = op_side(f, a[j * c->A.cs], b[j * c->B.cs]) ? 1.0 : 0.0;
            if (c->pass == EW_SIDES_RECORD) s[j] = side;
            else differ |= s[j] != side;
        }
    }
    c->same = !differ;
}

KERNEL void elementwise_step(tg_op f, void *ctx)
{
    ew_ctx *c = ctx;
    if (op_table[f].kind != OPK_ELEMENTWISE) return;
    if (c->pass == EW_SIDES_RECORD || c->pass == EW_SIDES_CHECK) {
        if (op_table[f].branch) sides_op(f, c);
        return;
    }
    if (op_table[f].arity == 1) {  /* one operand, never broadcast: flat */
        size_t count = c->m * c->n;
        if (c->pass == EW_FORWARD) unary_forward_op(f, c->A.x, c->y, count);
        else if (c->pass == EW_BACKWARD_A) unary_backward_op(f, c->A.x, c->y, c->dy, c->A.dx, count);
        return;
    }
    if (c->pass == EW_FORWARD) binary_forward_op(f, c->A, c->B, c->y, c->m, c->n);
    else binary_backward_op(f, c->pass == EW_BACKWARD_B, c->A, c->B, c->y, c->dy, c->m, c->n);
}

static bool elementwise(tg_op f, ew_pass pass, operand A, operand B, double *y,
                        const double *dy, size_t m, size_t n)
{
    ew_ctx c = { pass, A, B, y, dy, m, n, pass >= EW_SIDES_RECORD ? y : NULL, true };
    op_dispatch(f, elementwise_step, &c);
    return c.same;
}

/* ============================================================ matmul */

void tg__gemm(const double *a, size_t lda, bool ta, const double *b, size_t ldb, bool tb,
              double *c, size_t m, size_t n, size_t k, double beta)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, 1.0, a, (int)lda, b, (int)ldb, beta, c, (int)n);
}

/* C = op(A) op(B) through dgemm; op transposes when its flag is set.
 * A: ra x ca (op(A): m x k), B: rb x cb (op(B): k x n), C: m x n.  BLAS
 * reads a transposed operand in place: only its leading dimension, the
 * stored row length, is passed. */
static void matmul_forward(mat a, mat b, double *c, bool ta, bool tb, size_t m, size_t n, size_t k)
{
    tg__gemm(a.x, a.cols, ta, b.x, b.cols, tb, c, m, n, k, 0.0);
}

/* dA += dC op(B)^T (transposed back when A was read transposed),
 * dB += op(A)^T dC (likewise), each with beta = 1.  dC: m x n */
void tg__matmul_backward_a(mat a, mat b, const double *dc, bool ta, bool tb,
                              size_t m, size_t n, size_t k)
{
    if (!ta)  /* dA (m x k) += dC (m x n) . op(B)^T (n x k) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans,
                    (int)m, (int)k, (int)n, 1.0, dc, (int)n, b.x, (int)b.cols, 1.0, a.dx, (int)a.cols);
    else      /* dA (k x m) += op(B) (k x n) . dC^T (n x m) */
        cblas_dgemm(CblasRowMajor, tb ? CblasTrans : CblasNoTrans, CblasTrans,
                    (int)k, (int)m, (int)n, 1.0, b.x, (int)b.cols, dc, (int)n, 1.0, a.dx, (int)a.cols);
}

void tg__matmul_backward_b(mat a, mat b, const double *dc, bool ta, bool tb,
                              size_t m, size_t n, size_t k)
{
    if (!tb)  /* dB (k x n) += op(A)^T (k x m) . dC (m x n) */
        cblas_dgemm(CblasRowMajor, ta ? CblasNoTrans : CblasTrans, CblasNoTrans,
                    (int)k, (int)n, (int)m, 1.0, a.x, (int)a.cols, dc, (int)n, 1.0, b.dx, (int)b.cols);
    else      /* dB (n x k) += dC^T (n x m) . op(A) (m x k) */
        cblas_dgemm(CblasRowMajor, CblasTrans, ta ? CblasTrans : CblasNoTrans,
                    (int)n, (int)k, (int)m, 1.0, dc, (int)n, a.x, (int)a.cols, 1.0, b.dx, (int)b.cols);
}

/* ============================================================ softmax */

/* y = exp(x - max) / sum exp(x - max), row by row: the largest exponent is
 * 0, so nothing overflows.  x, y: rows x cols */
static void softmax_forward(const double *restrict x, double *restrict y, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++) {
        const double *xr = x + i * cols;
        double *yr = y + i * cols;
        double max = xr[0];
        for (size_t j = 1; j < cols; j++) max = xr[j] > max ? xr[j] : max;
        double s = 0.0;
        for (size_t j = 0; j < cols; j++) {
            yr[j] = exp(xr[j] - max);
            s += yr[j];
        }
        double r = 1.0 / s;
        for (size_t j = 0; j < cols; j++) yr[j] *= r;
    }
}

/* dx += y * (dy - sum_j dy_j y_j), the softmax Jacobian applied row by row.
 * y, dy, dx: rows x cols */
static void softmax_backward(const double *restrict y, const double *restrict dy,
                             double *restrict dx, size_t rows, size_t cols)
{
    for (size_t i = 0; i < rows; i++) {
        const double *yr = y + i * cols, *dyr = dy + i * cols;
        double *dxr = dx + i * cols;
        double dot = 0.0;
        for (size_t j = 0; j < cols; j++) dot += dyr[j] * yr[j];
        for (size_t j = 0; j < cols; j++) dxr[j] += yr[j] * (dyr[j] - dot);
    }
}

/* ============================================================ cross-entropy */

/* Row i's log-sum-exp split as max + log(sum exp(z - max)).  z: cols */
void tg__logsumexp_row(const double *z, size_t cols, double *max, double *log_s)
{
    double m = z[0];
    for (size_t j = 1; j < cols; j++) m = z[j] > m ? z[j] : m;
    double s = 0.0;
    for (size_t j = 0; j < cols; j++) s += exp(z[j] - m);
    *max = m;
    *log_s = log(s);
}

/* loss = -(1/N) sum_ij t_ij log softmax(z)_ij
 *      = (1/N) sum_i [ sum_j t_ij (max_i - z_ij) + (sum_j t_ij) log sum_j exp(z_ij - max_i) ]
 * from the logits, so a probability that rounds to 0 never reaches log:
 * logits of 1000 give exact, finite losses.  A zero target adds nothing,
 * also where max - z overflows (logits of +-1e308), which 0 * inf would
 * turn into NaN.  z, t: N x C */
static double xent_forward(const double *z, const double *t, size_t N, size_t C)
{
    double loss = 0.0;
    for (size_t i = 0; i < N; i++) {
        const double *zr = z + i * C, *tr = t + i * C;
        double max, log_s, tz = 0.0, tsum = 0.0;
        tg__logsumexp_row(zr, C, &max, &log_s);
        for (size_t j = 0; j < C; j++) {
            if (tr[j] != 0) tz += tr[j] * (max - zr[j]);
            tsum += tr[j];
        }
        loss += tz + tsum * log_s;
    }
    return loss / (double)N;
}

/* With g = d out / d loss:
 *   dz += g/N (y sum_j t_ij - t)     ((y - t)/N for one-hot rows)
 *   dt += g/N (lse_i - z)            (= -g/N log y; only when t is not a constant)
 * y is the softmax node's value.  z, y, t: N x C */
static void xent_backward_logits(double g, const double *restrict y, const double *restrict t,
                                 double *restrict dz, size_t N, size_t C)
{
    double scale = g / (double)N;
    for (size_t i = 0; i < N; i++) {
        const double *yr = y + i * C, *tr = t + i * C;
        double *dzr = dz + i * C;
        double tsum = 0.0;
        for (size_t j = 0; j < C; j++) tsum += tr[j];
        for (size_t j = 0; j < C; j++) dzr[j] += scale * (tsum * yr[j] - tr[j]);
    }
}

static void xent_backward_labels(double g, const double *restrict z, double *restrict dt,
                                 size_t N, size_t C)
{
    double scale = g / (double)N;
    for (size_t i = 0; i < N; i++) {
        const double *zr = z + i * C;
        double *dtr = dt + i * C;
        double max, log_s;
        tg__logsumexp_row(zr, C, &max, &log_s);
        for (size_t j = 0; j < C; j++) dtr[j] += scale * ((max - zr[j]) + log_s);
    }
}

/* ============================================================ sum, mean */

/* sum of x.  x: n */
static double sum_forward(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += x[i];
    return s;
}

/* dx += ds, every element weighing 1 in the sum.  dx: n */
static void sum_backward(double ds, double *dx, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] += ds;
}

/* ============================================================ the kernel table */

/* Each tensor op's pair, on node id of the graph: forward computes its
 * value from its inputs' (false when a recorded branch flipped), backward
 * adds its adjoint's contributions into its inputs' adjoints. */

/* A branch op keeps the sides its elements were recorded on just past its
 * values (tensor.c): a replay compares with those. */
static bool elementwise_forward(tg_graph *g, uint32_t id)
{
    mat y = view(g, id);
    size_t m = y.rows, n = y.cols;
    operand A, B;
    broadcast_operands(view(g, g->a[id]), view(g, g->b[id]), &m, &n, &A, &B);
    tg_op f = tg__op(g, id);
    bool same = true;
    if (op_table[f].branch)
        same = elementwise(f, EW_SIDES_CHECK, A, B, y.x + y.rows * y.cols, NULL, m, n);
    elementwise(f, EW_FORWARD, A, B, y.x, NULL, m, n);
    return same;
}

void tg__tensor_record_sides(tg_graph *g, uint32_t id)
{
    if (tg__trec(g, id)->dtype == TG_F32) {
        tg__record_sides32(g, id);
        return;
    }
    mat y = view(g, id);
    size_t m = y.rows, n = y.cols;
    operand A, B;
    broadcast_operands(view(g, g->a[id]), view(g, g->b[id]), &m, &n, &A, &B);
    elementwise(tg__op(g, id), EW_SIDES_RECORD, A, B, y.x + y.rows * y.cols, NULL, m, n);
}

static void elementwise_backward(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id], ib = g->b[id];
    mat y = view(g, id);
    size_t m = y.rows, n = y.cols;
    operand A, B;
    broadcast_operands(view(g, ia), view(g, ib), &m, &n, &A, &B);
    tg_op f = tg__op(g, id);
    if (wants_grad(g, ia)) elementwise(f, EW_BACKWARD_A, A, B, y.x, y.dx, m, n);
    if (op_table[f].arity == 2 && wants_grad(g, ib))
        elementwise(f, EW_BACKWARD_B, A, B, y.x, y.dx, m, n);
}

static bool matmul_fwd(tg_graph *g, uint32_t id)
{
    mat a = view(g, g->a[id]), b = view(g, g->b[id]), c = view(g, id);
    unsigned flags = tg__trec(g, id)->flags;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    matmul_forward(a, b, c.x, ta, tb, c.rows, c.cols, ta ? a.rows : a.cols);
    return true;
}

static void matmul_bwd(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id], ib = g->b[id];
    mat a = view(g, ia), b = view(g, ib), c = view(g, id);
    unsigned flags = tg__trec(g, id)->flags;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    size_t k = ta ? a.rows : a.cols;
    if (wants_grad(g, ia)) tg__matmul_backward_a(a, b, c.dx, ta, tb, c.rows, c.cols, k);
    if (wants_grad(g, ib)) tg__matmul_backward_b(a, b, c.dx, ta, tb, c.rows, c.cols, k);
}

static bool softmax_fwd(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]), y = view(g, id);
    softmax_forward(x.x, y.x, y.rows, y.cols);
    return true;
}

static void softmax_bwd(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia), y = view(g, id);
    softmax_backward(y.x, y.dx, x.dx, y.rows, y.cols);
}

static bool sum_fwd(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]);
    g->val[id] = sum_forward(x.x, x.rows * x.cols);
    return true;
}

static void sum_bwd(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia);
    sum_backward(g->grad[id], x.dx, x.rows * x.cols);
}

static bool mean_fwd(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]);
    size_t n = x.rows * x.cols;
    g->val[id] = sum_forward(x.x, n) / (double)n;
    return true;
}

static void mean_bwd(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia);
    size_t n = x.rows * x.cols;
    sum_backward(g->grad[id] / (double)n, x.dx, n);
}

/* The cross-entropy's record holds the softmax of its logits. */
static bool xent_fwd(tg_graph *g, uint32_t id)
{
    mat z = view(g, g->a[id]), t = view(g, g->b[id]);
    double *y = g->tval + tg__trec(g, id)->off;
    softmax_forward(z.x, y, z.rows, z.cols);
    g->val[id] = xent_forward(z.x, t.x, z.rows, z.cols);
    return true;
}

static void xent_bwd(tg_graph *g, uint32_t id)
{
    uint32_t iz = g->a[id], it = g->b[id];
    mat z = view(g, iz), t = view(g, it);
    const double *y = g->tval + tg__trec(g, id)->off;
    if (wants_grad(g, iz)) xent_backward_logits(g->grad[id], y, t.x, z.dx, z.rows, z.cols);
    if (wants_grad(g, it)) xent_backward_labels(g->grad[id], z.x, t.dx, z.rows, z.cols);
}

/* forward and backward here; tangent (forward mode) and backward2 (the
 * reverse step with tangents, for second order) in tensor_tangents.c;
 * forward32 and backward32, the same on float32 tensors, in tensor_f32.c. */
typedef struct kernel_row {
    bool (*forward)(tg_graph *g, uint32_t id);
    void (*backward)(tg_graph *g, uint32_t id);
    void (*tangent)(tg_graph *g, uint32_t id);
    void (*backward2)(tg_graph *g, uint32_t id);
    bool (*forward32)(tg_graph *g, uint32_t id);
    void (*backward32)(tg_graph *g, uint32_t id);
} kernel_row;

/* A row for each op of kind OPK_TENSOR and OPK_REDUCE; elementwise ops
 * share the elementwise pairs, leaves have none.  The conversion is one
 * kernel for every pair of dtypes. */
static const kernel_row kernels[OP_COUNT] = {
    [OP_MATMUL]  = { matmul_fwd,  matmul_bwd,  tg__matmul_tangent,  tg__matmul_backward2,
                     tg__matmul_forward32, tg__matmul_backward32 },
    [OP_SOFTMAX] = { softmax_fwd, softmax_bwd, tg__softmax_tangent, tg__softmax_backward2,
                     tg__softmax_forward32, tg__softmax_backward32 },
    [OP_CONVERT] = { tg__convert_forward, tg__convert_backward, tg__convert_tangent,
                     tg__convert_backward2, tg__convert_forward, tg__convert_backward },
    [OP_SUM]     = { sum_fwd,     sum_bwd,     tg__sum_tangent,     tg__sum_backward2,
                     tg__sum_forward32, tg__sum_backward32 },
    [OP_MEAN]    = { mean_fwd,    mean_bwd,    tg__mean_tangent,    tg__mean_backward2,
                     tg__mean_forward32, tg__mean_backward32 },
    [OP_XENT]    = { xent_fwd,    xent_bwd,    tg__xent_tangent,    tg__xent_backward2,
                     tg__xent_forward32, tg__xent_backward32 },
};

/* Whether node id's kernel works on float32 elements: a tensor node's own,
 * or a reduction's input's (the cross-entropy's record, its softmax, has
 * the dtype of its logits). */
static bool float32_kernel(const tg_graph *g, uint32_t id, tg_op op)
{
    uint32_t t = op_table[op].kind == OPK_REDUCE ? g->a[id] : id;
    return tg__is_tensor(g, t) && tg__trec(g, t)->dtype == TG_F32;
}

bool tg__tensor_forward(tg_graph *g, uint32_t id)
{
    tg_op op = tg__op(g, id);
    bool f32 = float32_kernel(g, id, op);
    if (op_table[op].kind == OPK_ELEMENTWISE)
        return f32 ? tg__elementwise_forward32(g, id) : elementwise_forward(g, id);
    bool (*forward)(tg_graph *, uint32_t) = f32 ? kernels[op].forward32 : kernels[op].forward;
    return forward ? forward(g, id) : true;
}

void tg__tensor_backward(tg_graph *g, uint32_t id)
{
    tg_op op = tg__op(g, id);
    bool f32 = float32_kernel(g, id, op);
    if (op_table[op].kind == OPK_ELEMENTWISE) {
        if (f32) tg__elementwise_backward32(g, id);
        else elementwise_backward(g, id);
        return;
    }
    void (*backward)(tg_graph *, uint32_t) = f32 ? kernels[op].backward32 : kernels[op].backward;
    if (backward) backward(g, id);
}

void tg__tensor_tangent(tg_graph *g, uint32_t id)
{
    tg_op op = tg__op(g, id);
    if (op_table[op].kind == OPK_ELEMENTWISE) tg__elementwise_tangent(g, id);
    else if (kernels[op].tangent) kernels[op].tangent(g, id);
}

void tg__tensor_backward2(tg_graph *g, uint32_t id)
{
    tg_op op = tg__op(g, id);
    tg__tensor_backward(g, id);
    if (op_table[op].kind == OPK_ELEMENTWISE) tg__elementwise_backward2(g, id);
    else if (kernels[op].backward2) kernels[op].backward2(g, id);
}
