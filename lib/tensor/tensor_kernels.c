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
 * the loop. */
#include <cblas.h>
#include <string.h>

#include "graph.h"

#define KERNEL static inline __attribute__((always_inline))

/* A node as a matrix: a scalar node is 1 x 1, its number and its adjoint
 * in the tape's own slots. */
typedef struct mat {
    double *x, *dx;
    size_t rows, cols;
} mat;

static mat view(const tg_graph *g, uint32_t id)
{
    mat m;
    if (tg__is_tensor(g, id)) {
        const tensor_rec *r = tg__trec(g, id);
        m.x = g->tval + r->off;
        m.dx = g->tgrad + r->off;
        m.rows = r->rows;
        m.cols = r->cols;
    } else {
        m.x = &g->val[id];
        m.dx = &g->grad[id];
        m.rows = m.cols = 1;
    }
    return m;
}

/* Constants take no gradient, so their adjoints are not computed at all:
 * for a network's input batch that skips the largest product. */
static bool wants_grad(const tg_graph *g, uint32_t id)
{
    tg_op op = (tg_op)g->op[id];
    return op != OP_CONST && op != OP_TCONST;
}

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

/* relu, also reporting whether an element is on another side of 0 than
 * when the tape was recorded (the derivative recorded there no longer
 * holds).  recorded is the input at recording time, kept by tensor.c just
 * past y.  x, y, recorded: n */
static bool relu_forward(const double *restrict x, double *restrict y,
                         const double *restrict recorded, size_t n)
{
    int flipped = 0;
    for (size_t i = 0; i < n; i++) {
        flipped |= (recorded[i] > 0) != (x[i] > 0);
        y[i] = op_value(OP_RELU, x[i], 0.0);
    }
    return !flipped;
}

static void unary_forward(tg_op f, const double *x, double *y, size_t n)
{
    switch (f) {
    case OP_EXP:     unary_forward_op(OP_EXP, x, y, n); return;
    case OP_RECIP:   unary_forward_op(OP_RECIP, x, y, n); return;
    case OP_LOG:     unary_forward_op(OP_LOG, x, y, n); return;
    case OP_TANH:    unary_forward_op(OP_TANH, x, y, n); return;
    case OP_SIGMOID: unary_forward_op(OP_SIGMOID, x, y, n); return;
    case OP_RELU:    unary_forward_op(OP_RELU, x, y, n); return;
    case OP_VAR: case OP_CONST: case OP_ADD: case OP_MUL: case OP_POW: case OP_POWC:
    case OP_TVAR: case OP_TCONST: case OP_TUNARY: case OP_TBINARY: case OP_MATMUL:
    case OP_SOFTMAX: case OP_SUM: case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
}

static void unary_backward(tg_op f, const double *x, const double *y, const double *dy,
                           double *dx, size_t n)
{
    switch (f) {
    case OP_EXP:     unary_backward_op(OP_EXP, x, y, dy, dx, n); return;
    case OP_RECIP:   unary_backward_op(OP_RECIP, x, y, dy, dx, n); return;
    case OP_LOG:     unary_backward_op(OP_LOG, x, y, dy, dx, n); return;
    case OP_TANH:    unary_backward_op(OP_TANH, x, y, dy, dx, n); return;
    case OP_SIGMOID: unary_backward_op(OP_SIGMOID, x, y, dy, dx, n); return;
    case OP_RELU:    unary_backward_op(OP_RELU, x, y, dy, dx, n); return;
    case OP_VAR: case OP_CONST: case OP_ADD: case OP_MUL: case OP_POW: case OP_POWC:
    case OP_TVAR: case OP_TCONST: case OP_TUNARY: case OP_TBINARY: case OP_MATMUL:
    case OP_SOFTMAX: case OP_SUM: case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
}

/* ============================================================ binary */

/* One operand of a broadcast op: element (i, j) of the output reads
 * x[i*rs + j*cs]; a stretched axis has stride 0.  dx is its adjoint, at
 * the same offsets. */
typedef struct operand {
    const double *x;
    double *dx;
    size_t rs, cs;
} operand;

/* The output is m x n.  Operands that are full m x n or single numbers
 * index the same way in every row, so the caller may hand them over as one
 * row of m*n; the common bias case (a 1 x n row) keeps cs = 1 and rs = 0,
 * so every inner loop below runs over contiguous memory. */
static void broadcast_operands(mat a, mat b, size_t *m, size_t *n, operand *A, operand *B)
{
    bool a_flat = (a.rows == *m && a.cols == *n) || (a.rows == 1 && a.cols == 1);
    bool b_flat = (b.rows == *m && b.cols == *n) || (b.rows == 1 && b.cols == 1);
    A->x = a.x;
    A->dx = a.dx;
    B->x = b.x;
    B->dx = b.dx;
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

static void binary_forward(tg_op f, operand A, operand B, double *y, size_t m, size_t n)
{
    switch (f) {
    case OP_ADD:  binary_forward_op(OP_ADD, A, B, y, m, n); return;
    case OP_MUL:  binary_forward_op(OP_MUL, A, B, y, m, n); return;
    case OP_POW:  binary_forward_op(OP_POW, A, B, y, m, n); return;
    case OP_POWC: binary_forward_op(OP_POWC, A, B, y, m, n); return;
    case OP_VAR: case OP_CONST: case OP_EXP: case OP_RECIP: case OP_LOG: case OP_TANH:
    case OP_SIGMOID: case OP_RELU: case OP_TVAR: case OP_TCONST: case OP_TUNARY:
    case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM: case OP_MEAN:
    case OP_XENT: case OP_COUNT:
        break;
    }
}

static void binary_backward(tg_op f, bool wrt_b, operand A, operand B, const double *y,
                            const double *dy, size_t m, size_t n)
{
    switch (f) {
    case OP_ADD:
        if (wrt_b) binary_backward_op(OP_ADD, true, A, B, y, dy, m, n);
        else binary_backward_op(OP_ADD, false, A, B, y, dy, m, n);
        return;
    case OP_MUL:
        if (wrt_b) binary_backward_op(OP_MUL, true, A, B, y, dy, m, n);
        else binary_backward_op(OP_MUL, false, A, B, y, dy, m, n);
        return;
    case OP_POW:
        if (wrt_b) binary_backward_op(OP_POW, true, A, B, y, dy, m, n);
        else binary_backward_op(OP_POW, false, A, B, y, dy, m, n);
        return;
    case OP_POWC:  /* the exponent is a constant: only a gets a gradient */
        if (!wrt_b) binary_backward_op(OP_POWC, false, A, B, y, dy, m, n);
        return;
    case OP_VAR: case OP_CONST: case OP_EXP: case OP_RECIP: case OP_LOG: case OP_TANH:
    case OP_SIGMOID: case OP_RELU: case OP_TVAR: case OP_TCONST: case OP_TUNARY:
    case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM: case OP_MEAN:
    case OP_XENT: case OP_COUNT:
        break;
    }
}

/* ============================================================ matmul */

/* C = op(A) op(B) through dgemm; op transposes when its flag is set.
 * A: ra x ca (op(A): m x k), B: rb x cb (op(B): k x n), C: m x n.  BLAS
 * reads a transposed operand in place: only its leading dimension, the
 * stored row length, is passed. */
static void matmul_forward(mat a, mat b, double *c, bool ta, bool tb, size_t m, size_t n, size_t k)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, 1.0, a.x, (int)a.cols, b.x, (int)b.cols, 0.0, c, (int)n);
}

/* dA += dC op(B)^T (transposed back when A was read transposed),
 * dB += op(A)^T dC (likewise), each with beta = 1.  dC: m x n */
static void matmul_backward_a(mat a, mat b, const double *dc, bool ta, bool tb,
                              size_t m, size_t n, size_t k)
{
    if (!ta)  /* dA (m x k) += dC (m x n) . op(B)^T (n x k) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, tb ? CblasNoTrans : CblasTrans,
                    (int)m, (int)k, (int)n, 1.0, dc, (int)n, b.x, (int)b.cols, 1.0, a.dx, (int)a.cols);
    else      /* dA (k x m) += op(B) (k x n) . dC^T (n x m) */
        cblas_dgemm(CblasRowMajor, tb ? CblasTrans : CblasNoTrans, CblasTrans,
                    (int)k, (int)m, (int)n, 1.0, b.x, (int)b.cols, dc, (int)n, 1.0, a.dx, (int)a.cols);
}

static void matmul_backward_b(mat a, mat b, const double *dc, bool ta, bool tb,
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
static void logsumexp_row(const double *z, size_t cols, double *max, double *log_s)
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
        logsumexp_row(zr, C, &max, &log_s);
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
        logsumexp_row(zr, C, &max, &log_s);
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

/* ============================================================ dispatch */

bool tg__tensor_forward(tg_graph *g, uint32_t id)
{
    tg_op op = (tg_op)g->op[id];
    switch (op) {
    case OP_TUNARY: {
        mat x = view(g, g->a[id]), y = view(g, id);
        tg_op f = (tg_op)tg__trec(g, id)->elem_op;
        size_t n = y.rows * y.cols;
        if (f == OP_RELU) return relu_forward(x.x, y.x, y.x + n, n);
        unary_forward(f, x.x, y.x, n);
        return true;
    }
    case OP_TBINARY: {
        mat y = view(g, id);
        size_t m = y.rows, n = y.cols;
        operand A, B;
        broadcast_operands(view(g, g->a[id]), view(g, g->b[id]), &m, &n, &A, &B);
        binary_forward((tg_op)tg__trec(g, id)->elem_op, A, B, y.x, m, n);
        return true;
    }
    case OP_MATMUL: {
        mat a = view(g, g->a[id]), b = view(g, g->b[id]), c = view(g, id);
        unsigned flags = tg__trec(g, id)->elem_op;
        bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
        matmul_forward(a, b, c.x, ta, tb, c.rows, c.cols, ta ? a.rows : a.cols);
        return true;
    }
    case OP_SOFTMAX: {
        mat x = view(g, g->a[id]), y = view(g, id);
        softmax_forward(x.x, y.x, y.rows, y.cols);
        return true;
    }
    case OP_SUM: {
        mat x = view(g, g->a[id]);
        g->val[id] = sum_forward(x.x, x.rows * x.cols);
        return true;
    }
    case OP_MEAN: {
        mat x = view(g, g->a[id]);
        size_t n = x.rows * x.cols;
        g->val[id] = sum_forward(x.x, n) / (double)n;
        return true;
    }
    case OP_XENT: {
        mat z = view(g, g->a[g->a[id]]), t = view(g, g->b[id]);
        g->val[id] = xent_forward(z.x, t.x, z.rows, z.cols);
        return true;
    }
    case OP_VAR: case OP_CONST: case OP_ADD: case OP_MUL: case OP_EXP: case OP_RECIP:
    case OP_POW: case OP_POWC: case OP_LOG: case OP_TANH: case OP_SIGMOID: case OP_RELU:
    case OP_TVAR: case OP_TCONST: case OP_COUNT:
        break;
    }
    return true;
}

void tg__tensor_backward(tg_graph *g, uint32_t id)
{
    tg_op op = (tg_op)g->op[id];
    uint32_t ia = g->a[id], ib = g->b[id];
    switch (op) {
    case OP_TUNARY: {
        if (!wants_grad(g, ia)) return;
        mat x = view(g, ia), y = view(g, id);
        unary_backward((tg_op)tg__trec(g, id)->elem_op, x.x, y.x, y.dx, x.dx, y.rows * y.cols);
        return;
    }
    case OP_TBINARY: {
        mat y = view(g, id);
        size_t m = y.rows, n = y.cols;
        operand A, B;
        broadcast_operands(view(g, ia), view(g, ib), &m, &n, &A, &B);
        tg_op f = (tg_op)tg__trec(g, id)->elem_op;
        if (wants_grad(g, ia)) binary_backward(f, false, A, B, y.x, y.dx, m, n);
        if (wants_grad(g, ib)) binary_backward(f, true, A, B, y.x, y.dx, m, n);
        return;
    }
    case OP_MATMUL: {
        mat a = view(g, ia), b = view(g, ib), c = view(g, id);
        unsigned flags = tg__trec(g, id)->elem_op;
        bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
        size_t k = ta ? a.rows : a.cols;
        if (wants_grad(g, ia)) matmul_backward_a(a, b, c.dx, ta, tb, c.rows, c.cols, k);
        if (wants_grad(g, ib)) matmul_backward_b(a, b, c.dx, ta, tb, c.rows, c.cols, k);
        return;
    }
    case OP_SOFTMAX: {
        if (!wants_grad(g, ia)) return;
        mat x = view(g, ia), y = view(g, id);
        softmax_backward(y.x, y.dx, x.dx, y.rows, y.cols);
        return;
    }
    case OP_SUM: case OP_MEAN: {
        if (!wants_grad(g, ia)) return;
        mat x = view(g, ia);
        size_t n = x.rows * x.cols;
        sum_backward(op == OP_SUM ? g->grad[id] : g->grad[id] / (double)n, x.dx, n);
        return;
    }
    case OP_XENT: {
        /* a is the softmax node; its input, the logits, takes the gradient. */
        uint32_t iz = g->a[ia];
        mat z = view(g, iz), y = view(g, ia), t = view(g, ib);
        if (wants_grad(g, iz)) xent_backward_logits(g->grad[id], y.x, t.x, z.dx, z.rows, z.cols);
        if (wants_grad(g, ib)) xent_backward_labels(g->grad[id], z.x, t.dx, z.rows, z.cols);
        return;
    }
    case OP_VAR: case OP_CONST: case OP_ADD: case OP_MUL: case OP_EXP: case OP_RECIP:
    case OP_POW: case OP_POWC: case OP_LOG: case OP_TANH: case OP_SIGMOID: case OP_RELU:
    case OP_TVAR: case OP_TCONST: case OP_COUNT:
        break;
    }
}
