/* Float32 tensors: every tensor op against the float64 op on the same
 * inputs (values and gradients, to float32 rounding), gradients against
 * central differences of the float32 function, the double accumulators
 * (a long bias-gradient sum, a long mean), the stable cross-entropy, the
 * conversion op, and the mistakes: mixed dtypes, the wrong accessor,
 * forward mode on a float32 tape. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>
#include <tapegrad/tensor.h>

#include "runner.h"

/* Inputs that are exact floats, so both dtypes start from the same numbers. */
static void fill(float *x, size_t n, unsigned seed, double lo, double hi)
{
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)(lo + (hi - lo) * ((s >> 8) & 0xffff) / 65535.0);
    }
}

typedef tg_node (*op_fn)(tg_graph *g, tg_node a, tg_node b);

static tg_node o_add(tg_graph *g, tg_node a, tg_node b) { return tg_add(g, a, b); }
static tg_node o_sub(tg_graph *g, tg_node a, tg_node b) { return tg_sub(g, a, b); }
static tg_node o_mul(tg_graph *g, tg_node a, tg_node b) { return tg_mul(g, a, b); }
static tg_node o_div(tg_graph *g, tg_node a, tg_node b) { return tg_div(g, a, b); }
static tg_node o_pow(tg_graph *g, tg_node a, tg_node b) { return tg_pow(g, a, b); }
static tg_node o_max(tg_graph *g, tg_node a, tg_node b) { return tg_max(g, a, b); }
static tg_node o_atan2(tg_graph *g, tg_node a, tg_node b) { return tg_atan2(g, a, b); }
static tg_node o_exp(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_exp(g, a); }
static tg_node o_log(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_log(g, a); }
static tg_node o_tanh(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_tanh(g, a); }
static tg_node o_sigmoid(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_sigmoid(g, a); }
static tg_node o_sigmoid_d(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_sigmoid_decomposed(g, a); }
static tg_node o_relu(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_relu(g, a); }
static tg_node o_sqrt(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_sqrt(g, a); }
static tg_node o_neg(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_neg(g, a); }
static tg_node o_powc(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_powc(g, a, 1.5); }
static tg_node o_abs(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_abs(g, a); }
static tg_node o_softmax(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_softmax(g, a); }
static tg_node o_sum(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_sum(g, a); }
static tg_node o_mean(tg_graph *g, tg_node a, tg_node b) { (void)b; return tg_mean(g, a); }
static tg_node o_matmul(tg_graph *g, tg_node a, tg_node b) { return tg_matmul(g, a, b); }
static tg_node o_matmul_ta(tg_graph *g, tg_node a, tg_node b) { return tg_matmul_ex(g, a, b, TG_TRANS_A); }
static tg_node o_matmul_tb(tg_graph *g, tg_node a, tg_node b) { return tg_matmul_ex(g, a, b, TG_TRANS_B); }
static tg_node o_xent(tg_graph *g, tg_node a, tg_node b) { return tg_softmax_cross_entropy(g, a, b); }

static const struct {
    const char *name;
    op_fn f;
    size_t ra, ca, rb, cb;  /* shapes of a and b */
    double lo, hi;          /* the inputs' range */
    double rtol;            /* on the values, relative to the largest */
} ops[] = {
    { "add (bias row)", o_add, 5, 4, 1, 4, -2, 2, 2 * FLT_EPSILON },
    { "add (column)", o_add, 5, 4, 5, 1, -2, 2, 2 * FLT_EPSILON },
    { "add (1x1)", o_add, 5, 4, 1, 1, -2, 2, 2 * FLT_EPSILON },
    { "sub", o_sub, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "mul (bias row)", o_mul, 6, 3, 1, 3, -2, 2, 2 * FLT_EPSILON },
    { "div", o_div, 3, 4, 3, 4, 0.5, 2, 2 * FLT_EPSILON },
    { "pow", o_pow, 3, 4, 1, 4, 0.5, 2, 2 * FLT_EPSILON },
    { "max", o_max, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "atan2", o_atan2, 3, 4, 3, 1, -2, 2, 2 * FLT_EPSILON },
    { "exp", o_exp, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "log", o_log, 3, 4, 3, 4, 0.5, 2, 2 * FLT_EPSILON },
    { "tanh", o_tanh, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "sigmoid", o_sigmoid, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "sigmoid decomposed", o_sigmoid_d, 3, 4, 3, 4, -2, 2, 8 * FLT_EPSILON },
    { "relu", o_relu, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "abs", o_abs, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "sqrt", o_sqrt, 3, 4, 3, 4, 0.5, 2, 2 * FLT_EPSILON },
    { "neg", o_neg, 3, 4, 3, 4, -2, 2, 2 * FLT_EPSILON },
    { "powc", o_powc, 3, 4, 3, 4, 0.5, 2, 2 * FLT_EPSILON },
    { "softmax", o_softmax, 4, 5, 4, 5, -3, 3, 4 * FLT_EPSILON },
    { "sum", o_sum, 7, 9, 7, 9, -1, 1, 2 * FLT_EPSILON },
    { "mean", o_mean, 7, 9, 7, 9, -1, 1, 2 * FLT_EPSILON },
    { "matmul", o_matmul, 6, 20, 20, 3, -1, 1, 32 * FLT_EPSILON },
    { "matmul a^T", o_matmul_ta, 20, 6, 20, 3, -1, 1, 32 * FLT_EPSILON },
    { "matmul b^T", o_matmul_tb, 6, 20, 3, 20, -1, 1, 32 * FLT_EPSILON },
    { "softmax cross-entropy", o_xent, 4, 5, 4, 5, 0, 3, 4 * FLT_EPSILON },
};
enum { NOPS = sizeof ops / sizeof ops[0] };

/* Largest |x| of n numbers, at least 1e-30. */
static double scale_of(const double *x, size_t n)
{
    double s = 1e-30;
    for (size_t i = 0; i < n; i++) s = fabs(x[i]) > s ? fabs(x[i]) : s;
    return s;
}

/* y = op(A, B) in dtype, loss = sum(y * W) (or y itself for a scalar
 * result); the value of y and the gradients of A and B into the outputs. */
static void run_op(int k, tg_dtype dtype, const float *a, const float *b, const float *w,
                   double *y, size_t *ny, double *da, double *db)
{
    tg_graph *g = tg_graph_new();
    size_t na = ops[k].ra * ops[k].ca, nb = ops[k].rb * ops[k].cb;
    double *a64 = malloc(na * sizeof *a64), *b64 = malloc(nb * sizeof *b64);
    for (size_t i = 0; i < na; i++) a64[i] = a[i];
    for (size_t i = 0; i < nb; i++) b64[i] = b[i];
    const void *pa = dtype == TG_F32 ? (const void *)a : a64, *pb = dtype == TG_F32 ? (const void *)b : b64;
    tg_node A = tg_tensor_var_ex(g, "A", ops[k].ra, ops[k].ca, dtype, pa);
    tg_node B = tg_tensor_var_ex(g, "B", ops[k].rb, ops[k].cb, dtype, pb);
    tg_node Y = ops[k].f(g, A, B);
    ck_assert_graph_ok(g);
    tg_node L = Y;
    *ny = 1;
    if (tg_is_tensor(g, Y)) {
        size_t r, c;
        tg_shape(g, Y, &r, &c);
        *ny = r * c;
        ck_assert_int_eq(tg_tensor_dtype(g, Y), dtype);
        double *w64 = malloc(*ny * sizeof *w64);
        for (size_t i = 0; i < *ny; i++) w64[i] = w[i];
        tg_node W = tg_tensor_const_ex(g, r, c, dtype, dtype == TG_F32 ? (const void *)w : w64);
        L = tg_sum(g, tg_mul(g, Y, W));
        free(w64);
    }
    ck_assert_int_eq(tg_backward(g, L), TG_OK);
    ck_assert_int_eq(tg_tensor_get(g, Y, y), TG_OK);
    ck_assert_int_eq(tg_tensor_get_grad(g, A, da), TG_OK);
    ck_assert_int_eq(tg_tensor_get_grad(g, B, db), TG_OK);
    ck_assert_graph_ok(g);
    free(a64);
    free(b64);
    tg_graph_free(g);
}

static void assert_close(const char *op, const char *what, const double *x32, const double *x64,
                         size_t n, double rtol)
{
    double s = scale_of(x64, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(x32[i] - x64[i]) <= rtol * s, "%s: %s[%zu] float32 %.9g, float64 %.9g",
                      op, what, i, x32[i], x64[i]);
}

START_TEST(ops_match_float64)
{
    int k = _i;
    size_t na = ops[k].ra * ops[k].ca, nb = ops[k].rb * ops[k].cb;
    float a[128], b[128], w[128];
    fill(a, na, 1u + (unsigned)k, ops[k].lo, ops[k].hi);
    fill(b, nb, 100u + (unsigned)k, ops[k].lo, ops[k].hi);
    fill(w, 128, 7u, -1, 1);
    if (ops[k].f == o_xent) {  /* one-hot targets */
        memset(b, 0, nb * sizeof *b);
        for (size_t i = 0; i < ops[k].rb; i++) b[i * ops[k].cb + (i * 3) % ops[k].cb] = 1.0f;
    }
    double y32[128], y64[128], da32[128], da64[128], db32[128], db64[128];
    size_t ny32, ny64;
    run_op(k, TG_F32, a, b, w, y32, &ny32, da32, db32);
    run_op(k, TG_F64, a, b, w, y64, &ny64, da64, db64);
    ck_assert_uint_eq(ny32, ny64);
    assert_close(ops[k].name, "y", y32, y64, ny32, ops[k].rtol);
    /* The gradients pass through a few more roundings (the product with W
     * and its adjoint). */
    assert_close(ops[k].name, "dA", da32, da64, na, 4 * ops[k].rtol);
    assert_close(ops[k].name, "dB", db32, db64, nb, 4 * ops[k].rtol);
}
END_TEST

/* f(P) = softmax_cross_entropy(tanh(X P + b) V, T) with float32
 * parameters, and its gradient against central differences of the float32
 * function computed in double: (f(p + h) - f(p - h)) / (p+h - (p-h)), the
 * steps as they round to float. */
static double f32_loss(const float *p, float *dp, size_t np)
{
    tg_graph *g = tg_graph_new();
    float x[3 * 4], v[5 * 2], t[3 * 2] = { 1, 0, 0, 1, 1, 0 };
    fill(x, 12, 3, -1, 1);
    fill(v, 10, 4, -1, 1);
    tg_node P = tg_tensor_var_ex(g, "P", 4, 5, TG_F32, p);
    tg_node b = tg_tensor_var_ex(g, "b", 1, 5, TG_F32, p + 20);
    tg_node X = tg_tensor_const_ex(g, 3, 4, TG_F32, x);
    tg_node V = tg_tensor_const_ex(g, 5, 2, TG_F32, v);
    tg_node T = tg_tensor_const_ex(g, 3, 2, TG_F32, t);
    tg_node H = tg_tanh(g, tg_add(g, tg_matmul(g, X, P), b));
    tg_node L = tg_softmax_cross_entropy(g, tg_matmul(g, H, V), T);
    ck_assert_graph_ok(g);
    double loss = tg_value(g, L);
    if (dp) {
        ck_assert_int_eq(tg_backward(g, L), TG_OK);
        memcpy(dp, tg_tensor_gradp_f32(g, P), 20 * sizeof *dp);
        memcpy(dp + 20, tg_tensor_gradp_f32(g, b), 5 * sizeof *dp);
    }
    (void)np;
    tg_graph_free(g);
    return loss;
}

START_TEST(gradients_against_differences)
{
    enum { NP = 25 };
    float p[NP], dp[NP];
    fill(p, NP, 11, -1, 1);
    f32_loss(p, dp, NP);
    for (size_t i = 0; i < NP; i++) {
        float orig = p[i];
        float up = orig + 1e-2f, down = orig - 1e-2f;
        p[i] = up;
        double fu = f32_loss(p, NULL, NP);
        p[i] = down;
        double fd = f32_loss(p, NULL, NP);
        p[i] = orig;
        double num = (fu - fd) / ((double)up - (double)down);
        /* truncation ~h^2 f''' and float32 noise ~eps |f| / h */
        ck_assert_msg(fabs(dp[i] - num) <= 2e-4 + 1e-3 * fabs(num), "dp[%zu] = %.7g, differences %.7g",
                      i, (double)dp[i], num);
    }
}
END_TEST

/* The gradient of a bias row summed over 100000 rows, and a mean over as
 * many elements: double accumulators give the sum of the float inputs
 * rounded once; a float accumulator would be off by hundreds of ulps. */
START_TEST(long_sums_accumulate_in_double)
{
    enum { M = 100000 };
    float *x = malloc(2 * M * sizeof *x);
    for (size_t i = 0; i < 2 * M; i++) x[i] = 0.1f;
    tg_graph *g = tg_graph_new();
    tg_node X = tg_tensor_const_ex(g, M, 2, TG_F32, x);
    float b0[2] = { 1, 1 };
    tg_node b = tg_tensor_var_ex(g, "b", 1, 2, TG_F32, b0);
    tg_node L = tg_sum(g, tg_mul(g, X, b));   /* dL/db_j = sum_i x_ij */
    ck_assert_int_eq(tg_backward(g, L), TG_OK);
    float want = (float)(M * (double)0.1f);
    const float *db = tg_tensor_gradp_f32(g, b);
    ck_assert_float_eq(db[0], want);
    ck_assert_float_eq(db[1], want);
    ck_assert_double_eq_tol(tg_value(g, L), 2.0 * M * (double)0.1f, 1e-9);
    tg_node mean = tg_mean(g, X);
    ck_assert_double_eq_tol(tg_value(g, mean), (double)0.1f, 1e-15);
    tg_graph_free(g);
    free(x);
}
END_TEST

/* Logits of 1e4 give a finite loss, the float64 one. */
START_TEST(cross_entropy_stable)
{
    float z[2 * 3] = { 1e4f, 0, -1e4f, 0, 1e4f, 1e4f - 2 };
    float t[2 * 3] = { 0, 1, 0, 0, 0, 1 };
    tg_graph *g = tg_graph_new();
    tg_node Z = tg_tensor_var_ex(g, "Z", 2, 3, TG_F32, z);
    tg_node T = tg_tensor_const_ex(g, 2, 3, TG_F32, t);
    tg_node L = tg_softmax_cross_entropy(g, Z, T);
    ck_assert_int_eq(tg_backward(g, L), TG_OK);
    /* row 0: lse = 1e4 + log(1 + e^-1e4 + ...) = 1e4, loss 1e4 - 0;
     * row 1: lse = 1e4 + log(1 + e^-2), loss = lse - (1e4 - 2) */
    double want = (1e4 + (2.0 + log1p(exp(-2.0)))) / 2;
    ck_assert(isfinite(tg_value(g, L)));
    ck_assert_double_eq_tol(tg_value(g, L), want, 1e-9 * want);
    double dz[6];
    tg_tensor_get_grad(g, Z, dz);
    for (int i = 0; i < 6; i++) ck_assert(isfinite(dz[i]));
    ck_assert_double_eq_tol(dz[0], 0.5, 1e-7);    /* (1 - 0) / 2 */
    ck_assert_double_eq_tol(dz[1], -0.5, 1e-7);   /* (0 - 1) / 2 */
    tg_graph_free(g);
}
END_TEST

/* float32 -> float64 -> float32: values widened exactly and rounded back;
 * adjoints converted back the other way. */
START_TEST(convert_and_its_backward)
{
    float x[4] = { 0.1f, -2.5f, 3.0f, 1e-3f };
    tg_graph *g = tg_graph_new();
    tg_node X = tg_tensor_var_ex(g, "X", 2, 2, TG_F32, x);
    tg_node Y = tg_convert(g, X, TG_F64);
    ck_assert_int_eq(tg_tensor_dtype(g, Y), TG_F64);
    const double *y = tg_tensor_data(g, Y);
    for (int i = 0; i < 4; i++) ck_assert_double_eq(y[i], (double)x[i]);
    double w[4] = { 1.0 / 3, 2, -1, 0.5 };
    tg_node W = tg_tensor_const(g, 2, 2, w);
    tg_node L = tg_sum(g, tg_mul(g, Y, W));
    tg_node S = tg_convert(g, tg_const(g, 2.0), TG_F32);  /* a scalar, as 1 x 1 */
    ck_assert_int_eq(tg_tensor_dtype(g, S), TG_F32);
    ck_assert_int_eq(tg_backward(g, L), TG_OK);
    const float *dx = tg_tensor_gradp_f32(g, X);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(dx[i], (float)w[i]);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

START_TEST(mixed_dtypes_refused)
{
    static const struct {
        int which;
        const char *msg;
    } want[] = {
        { 0, "tg_add: a is float32 (2x3), b is float64 (1x3); convert one with tg_convert" },
        { 1, "tg_mul: a is float32 (2x3), b is a float64 scalar; convert one with tg_convert" },
        { 2, "tg_matmul: a is float64 (1x3), b is float32 (2x3); convert one with tg_convert" },
        { 3, "tg_sub: a is float64 (1x3), b is float32 (2x3); convert one with tg_convert" },
        { 4, "tg_softmax_cross_entropy: logits is float32 (2x3), onehot is float64 (2x3); "
             "convert one with tg_convert" },
        { 5, "tg_tensor_var_ex: dtype 7 is neither TG_F64 nor TG_F32" },
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        tg_graph *g = tg_graph_new();
        tg_node A = tg_tensor_var_ex(g, "A", 2, 3, TG_F32, NULL);
        tg_node B = tg_tensor_var(g, "B", 1, 3, NULL);
        tg_node T = tg_tensor_const(g, 2, 3, NULL);
        size_t before = tg_graph_size(g);
        tg_node r = TG_NONE;
        switch (want[k].which) {
        case 0: r = tg_add(g, A, B); break;
        case 1: r = tg_mul(g, A, tg_const(g, 2.0)); before++; break;
        case 2: r = tg_matmul(g, B, A); break;
        case 3: r = tg_sub(g, B, A); break;
        case 4: r = tg_softmax_cross_entropy(g, A, T); break;
        default: r = tg_tensor_var_ex(g, NULL, 2, 2, (tg_dtype)7, NULL); break;
        }
        ck_assert(tg_is_none(r));
        ck_assert_uint_eq(tg_graph_size(g), before);
        ck_assert_graph_error(g, TG_ERR_ARG, want[k].msg);
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(accessors_by_dtype)
{
    tg_graph *g = tg_graph_new();
    tg_node A = tg_tensor_var_ex(g, "A", 2, 2, TG_F32, NULL);
    tg_node B = tg_tensor_var(g, "B", 2, 2, NULL);
    ck_assert_ptr_nonnull(tg_tensor_data_f32(g, A));
    ck_assert_ptr_nonnull(tg_tensor_gradp_f32(g, A));
    ck_assert_ptr_null(tg_tensor_gradp(g, A));
    ck_assert_ptr_null(tg_tensor_gradp_f32(g, B));
    ck_assert_int_eq(tg_tensor_dtype(g, B), TG_F64);
    ck_assert_int_eq(tg_tensor_dtype(g, tg_const(g, 1)), TG_F64);
    ck_assert_int_eq(tg_tensor_dtype(NULL, A), TG_F64);
    double in[4] = { 0.1, 2, 3, 4 }, out[4];
    ck_assert_int_eq(tg_tensor_set(g, A, in), TG_OK);
    ck_assert_int_eq(tg_tensor_get(g, A, out), TG_OK);
    ck_assert_double_eq(out[0], (double)0.1f);
    ck_assert_double_eq(out[3], 4.0);
    ck_assert_ptr_null(tg_tensor_data(g, A));
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_tensor_data: node 0 'A' (tensor var) is float32; use tg_tensor_data_f32");
    tg_graph_clear_error(g);
    ck_assert_ptr_null(tg_tensor_data_f32(g, B));
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_tensor_data_f32: node 1 'B' (tensor var) is float64; use tg_tensor_data");
    tg_graph_free(g);
}
END_TEST

START_TEST(forward_mode_refuses_float32)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0);
    tg_node A = tg_tensor_var_ex(g, "A", 2, 2, TG_F32, NULL);
    tg_node y = tg_sum(g, tg_exp(g, A));
    double v = 1, out = 0, h = 0;
    ck_assert_int_eq(tg_jvp(g, 1, &x, &v, 1, &y, &out), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_jvp: node 1 'A' (tensor var) is float32; forward mode and "
                                         "second order take float64 tensors only");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_hessian(g, y, 1, &x, &h), TG_ERR_ARG);
    ck_assert_graph_error(g, TG_ERR_ARG, "tg_hessian: node 1 'A' (tensor var) is float32; forward mode and "
                                         "second order take float64 tensors only");
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("float32 tensors");
    TCase *tc = tcase_create("f32");
    tcase_add_loop_test(tc, ops_match_float64, 0, NOPS);
    tcase_add_test(tc, gradients_against_differences);
    tcase_add_test(tc, long_sums_accumulate_in_double);
    tcase_add_test(tc, cross_entropy_stable);
    tcase_add_test(tc, convert_and_its_backward);
    tcase_add_test(tc, mixed_dtypes_refused);
    tcase_add_test(tc, accessors_by_dtype);
    tcase_add_test(tc, forward_mode_refuses_float32);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
