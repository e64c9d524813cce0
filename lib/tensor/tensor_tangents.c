/* Forward mode and second order of the tensor ops: the tangent and
 * backward2 columns of the kernel table (tensor_kernels.c).
 *
 * tangent computes a node's tangent t from its inputs' (the same local
 * partials as its backward: elementwise ops through op_partials).
 * backward2 adds the tangent of its backward step into its inputs' dt,
 * with dx the adjoint and dt the adjoint's tangent:
 *     d(dx) = J^T d(dy) + (dJ^T) dy,
 * the first-order part being tg__tensor_backward's.  A zero tangent or
 * adjoint adds nothing, also where a partial is infinite. */
#include <string.h>

#include "kernels.h"

/* x y, or 0 when y is 0 (x may be infinite). */
static inline double times(double x, double y)
{
    return y != 0 ? x * y : 0.0;
}

/* ============================================================ elementwise */

typedef struct ew2_ctx {
    operand A, B;
    mat y;
    size_t m, n;  /* y: m x n as broadcast_operands flattened it */
    bool wrt_b;   /* backward2: which operand takes the flow */
    bool second;  /* backward2, else tangent */
} ew2_ctx;

/* Element (i, j): its inputs, value and first partials. */
typedef struct ew_at {
    double a, b, y, da, db;
    size_t ia, ib, iy;
} ew_at;

KERNEL ew_at element(tg_op f, const ew2_ctx *c, size_t i, size_t j)
{
    ew_at e;
    e.ia = i * c->A.rs + j * c->A.cs;
    e.ib = i * c->B.rs + j * c->B.cs;
    e.iy = i * c->n + j;
    e.a = c->A.x[e.ia];
    e.b = c->B.x[e.ib];
    e.y = c->y.x[e.iy];
    op_partials(f, e.a, e.b, e.y, &e.da, &e.db);
    return e;
}

/* t_y = da t_a + db t_b */
KERNEL void ew_tangent(tg_op f, ew2_ctx *c)
{
    bool binary = op_table[f].arity == 2;
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < c->n; j++) {
            ew_at e = element(f, c, i, j);
            double t = times(e.da, c->A.t[e.ia]);
            if (binary) t += times(e.db, c->B.t[e.ib]);
            c->y.t[e.iy] = t;
        }
}

/* dt_T += dT dt_y + dy (d2y/dTda t_a + d2y/dTdb t_b), T = a or b, summed
 * over T's stretched axes (its strides are 0 there). */
KERNEL void ew_backward2(tg_op f, ew2_ctx *c)
{
    bool binary = op_table[f].arity == 2;
    operand T = c->wrt_b ? c->B : c->A;
    for (size_t i = 0; i < c->m; i++)
        for (size_t j = 0; j < c->n; j++) {
            ew_at e = element(f, c, i, j);
            double haa, hab, hbb;
            op_second(f, e.a, e.b, e.y, e.da, e.db, &haa, &hab, &hbb);
            double dy = c->y.dx[e.iy], ta = c->A.t[e.ia], tb = binary ? c->B.t[e.ib] : 0.0;
            double curv = c->wrt_b ? times(hab, ta) + times(hbb, tb) : times(haa, ta) + times(hab, tb);
            double flow = times(c->wrt_b ? e.db : e.da, c->y.dt[e.iy]) + times(curv, dy);
            T.dt[c->wrt_b ? e.ib : e.ia] += flow;
        }
}

KERNEL void ew2_step(tg_op f, void *ctx)
{
    ew2_ctx *c = ctx;
    if (op_table[f].kind != OPK_ELEMENTWISE) return;
    if (c->second) ew_backward2(f, c);
    else ew_tangent(f, c);
}

static void ew2_setup(tg_graph *g, uint32_t id, ew2_ctx *c)
{
    c->y = view(g, id);
    c->m = c->y.rows;
    c->n = c->y.cols;
    broadcast_operands(view(g, g->a[id]), view(g, g->b[id]), &c->m, &c->n, &c->A, &c->B);
}

void tg__elementwise_tangent(tg_graph *g, uint32_t id)
{
    ew2_ctx c;
    ew2_setup(g, id, &c);
    c.wrt_b = false;
    c.second = false;
    op_dispatch(tg__op(g, id), ew2_step, &c);
}

void tg__elementwise_backward2(tg_graph *g, uint32_t id)
{
    ew2_ctx c;
    ew2_setup(g, id, &c);
    c.second = true;
    tg_op f = tg__op(g, id);
    c.wrt_b = false;
    if (wants_grad(g, g->a[id])) op_dispatch(f, ew2_step, &c);
    c.wrt_b = true;
    if (op_table[f].arity == 2 && wants_grad(g, g->b[id])) op_dispatch(f, ew2_step, &c);
}

/* ============================================================ matmul */

/* C = op(A) op(B):  tC = op(tA) op(B) + op(A) op(tB) */
void tg__matmul_tangent(tg_graph *g, uint32_t id)
{
    mat a = view(g, g->a[id]), b = view(g, g->b[id]), c = view(g, id);
    unsigned flags = tg__trec(g, id)->flags;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    size_t k = ta ? a.rows : a.cols;
    /* a constant's tangent is 0: its product is skipped (a network's input
     * batch is the largest operand) */
    bool va = wants_grad(g, g->a[id]), vb = wants_grad(g, g->b[id]);
    if (va) tg__gemm(a.t, a.cols, ta, b.x, b.cols, tb, c.t, c.rows, c.cols, k, 0.0);
    if (vb) tg__gemm(a.x, a.cols, ta, b.t, b.cols, tb, c.t, c.rows, c.cols, k, va ? 1.0 : 0.0);
    if (!va && !vb) memset(c.t, 0, c.rows * c.cols * sizeof *c.t);
}

/* dtA += dtC op(B)^T + dC op(tB)^T;  dtB += op(A)^T dtC + op(tA)^T dC */
void tg__matmul_backward2(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id], ib = g->b[id];
    mat a = view(g, ia), b = view(g, ib), c = view(g, id);
    unsigned flags = tg__trec(g, id)->flags;
    bool ta = flags & TG_TRANS_A, tb = flags & TG_TRANS_B;
    size_t k = ta ? a.rows : a.cols;
    if (wants_grad(g, ia)) {
        mat into = a, tangent_b = b;
        into.dx = a.dt;
        tangent_b.x = b.t;
        tg__matmul_backward_a(into, b, c.dt, ta, tb, c.rows, c.cols, k);
        if (wants_grad(g, ib)) tg__matmul_backward_a(into, tangent_b, c.dx, ta, tb, c.rows, c.cols, k);
    }
    if (wants_grad(g, ib)) {
        mat into = b, tangent_a = a;
        into.dx = b.dt;
        tangent_a.x = a.t;
        tg__matmul_backward_b(a, into, c.dt, ta, tb, c.rows, c.cols, k);
        if (wants_grad(g, ia)) tg__matmul_backward_b(tangent_a, into, c.dx, ta, tb, c.rows, c.cols, k);
    }
}

/* ============================================================ softmax */

static double dot(const double *u, const double *v, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += u[j] * v[j];
    return s;
}

/* ty = y (tx - <tx, y>), row by row */
void tg__softmax_tangent(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]), y = view(g, id);
    for (size_t i = 0; i < y.rows; i++) {
        const double *yr = y.x + i * y.cols, *txr = x.t + i * y.cols;
        double *tyr = y.t + i * y.cols, d = dot(txr, yr, y.cols);
        for (size_t j = 0; j < y.cols; j++) tyr[j] = yr[j] * (txr[j] - d);
    }
}

/* The backward dx = y (dy - <dy, y>), differentiated:
 * dtx += ty (dy - <dy, y>) + y (dty - <dty, y> - <dy, ty>) */
void tg__softmax_backward2(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia), y = view(g, id);
    for (size_t i = 0; i < y.rows; i++) {
        size_t o = i * y.cols, n = y.cols;
        const double *yr = y.x + o, *dyr = y.dx + o, *tyr = y.t + o, *dtyr = y.dt + o;
        double *dtxr = x.dt + o;
        double dy_y = dot(dyr, yr, n), dty_y = dot(dtyr, yr, n), dy_ty = dot(dyr, tyr, n);
        for (size_t j = 0; j < n; j++)
            dtxr[j] += tyr[j] * (dyr[j] - dy_y) + yr[j] * (dtyr[j] - dty_y - dy_ty);
    }
}

/* ============================================================ sum, mean */

void tg__sum_tangent(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]);
    double s = 0.0;
    for (size_t k = 0; k < x.rows * x.cols; k++) s += x.t[k];
    g->dtan[id] = s;
}

void tg__sum_backward2(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia);
    double h = g->dtadj[id];
    for (size_t k = 0; k < x.rows * x.cols; k++) x.dt[k] += h;
}

void tg__mean_tangent(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]);
    tg__sum_tangent(g, id);
    g->dtan[id] /= (double)(x.rows * x.cols);
}

void tg__mean_backward2(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia);
    size_t n = x.rows * x.cols;
    double h = g->dtadj[id] / (double)n;
    for (size_t k = 0; k < n; k++) x.dt[k] += h;
}

/* ============================================================ cross-entropy */

/* loss = (1/N) sum_i [sum_j t_ij (lse_i - z_ij)], with y = softmax(z) in
 * the node's record.  dloss/dz_ij = (s_i y_ij - t_ij)/N, s_i = sum_j t_ij;
 * dloss/dt_ij = (lse_i - z_ij)/N. */
void tg__xent_tangent(tg_graph *g, uint32_t id)
{
    uint32_t iz = g->a[id], it = g->b[id];
    mat z = view(g, iz), t = view(g, it);
    const double *y = g->tval + tg__trec(g, id)->off;
    size_t N = z.rows, C = z.cols;
    bool labels = wants_grad(g, it);
    double sum = 0.0;
    for (size_t i = 0; i < N; i++) {
        const double *yr = y + i * C, *tr = t.x + i * C, *tzr = z.t + i * C, *ttr = t.t + i * C;
        double s = 0.0;
        for (size_t j = 0; j < C; j++) s += tr[j];
        for (size_t j = 0; j < C; j++) sum += times(s * yr[j] - tr[j], tzr[j]);
        if (labels) {
            double max, log_s;
            tg__logsumexp_row(z.x + i * C, C, &max, &log_s);
            for (size_t j = 0; j < C; j++) sum += times((max - z.x[i * C + j]) + log_s, ttr[j]);
        }
    }
    g->dtan[id] = sum / (double)N;
}

/* With g the loss's adjoint and h its tangent, ty = y (tz - <tz, y>):
 *   dtz += h/N (s y - t) + g/N (ts y + s ty - tt)
 *   dtt += h/N (lse - z) + g/N (<tz, y> - tz)   (only when t is not a constant) */
void tg__xent_backward2(tg_graph *g, uint32_t id)
{
    uint32_t iz = g->a[id], it = g->b[id];
    mat z = view(g, iz), t = view(g, it);
    const double *y = g->tval + tg__trec(g, id)->off;
    size_t N = z.rows, C = z.cols;
    double gs = g->grad[id] / (double)N, hs = g->dtadj[id] / (double)N;
    bool logits = wants_grad(g, iz), labels = wants_grad(g, it);
    for (size_t i = 0; i < N; i++) {
        size_t o = i * C;
        const double *yr = y + o, *tr = t.x + o, *tzr = z.t + o, *ttr = t.t + o;
        double s = 0.0, ts = 0.0, tz_y = dot(tzr, yr, C);
        for (size_t j = 0; j < C; j++) {
            s += tr[j];
            ts += ttr[j];
        }
        if (logits)
            for (size_t j = 0; j < C; j++) {
                double ty = yr[j] * (tzr[j] - tz_y);
                z.dt[o + j] += times(s * yr[j] - tr[j], hs) + times(ts * yr[j] + s * ty - ttr[j], gs);
            }
        if (labels) {
            double max, log_s;
            tg__logsumexp_row(z.x + o, C, &max, &log_s);
            for (size_t j = 0; j < C; j++)
                t.dt[o + j] += times((max - z.x[o + j]) + log_s, hs) + times(tz_y - tzr[j], gs);
        }
    }
}

/* ============================================================ convert */

/* Forward mode sees float64 tensors only (deriv.c), so a conversion there
 * is a copy: ty = tx, and backward2's dtx += dty. */
void tg__convert_tangent(tg_graph *g, uint32_t id)
{
    mat x = view(g, g->a[id]), y = view(g, id);
    for (size_t i = 0, n = y.rows * y.cols; i < n; i++) y.t[i] = x.t[i];
}

void tg__convert_backward2(tg_graph *g, uint32_t id)
{
    uint32_t ia = g->a[id];
    if (!wants_grad(g, ia)) return;
    mat x = view(g, ia), y = view(g, id);
    for (size_t i = 0, n = y.rows * y.cols; i < n; i++) x.dt[i] += y.dt[i];
}
