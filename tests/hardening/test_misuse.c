/*
 * API misuse, table-driven.  Every public function of tapegrad.h and
 * tensor.h taking a graph or a handle is called with each kind of bad
 * argument the header names: a NULL graph, the empty handle, a handle of
 * another graph, a forged handle, a handle that outlived a rewind (its slot
 * empty, or reused by a newer node), a tensor where a scalar is required
 * and the reverse.  A second table holds the one-off misuses: NULL
 * pointers, bad marks and flags, duplicate names, shape mismatches.
 *
 * Each case asserts the documented result (status returned, status and
 * message prefix "tg_<fn>:" recorded on the graph, or the function's error
 * value) and then that the graph still works: after tg_graph_clear_error a
 * small scalar graph and a small tensor graph recorded on it give, bit for
 * bit, what a fresh graph gives, and the nodes it held keep their values.
 *
 * A third table does the same for mnist.h and nn.h: NULL nets, sets and
 * pointers, sizes of 0, handles of every bad kind given to the layers, a
 * net used without a batch or while an error stands, data of the wrong
 * shape.  After each, the net's parameters must be unchanged and, with the
 * error cleared, a training step must give what a fresh net gives.
 *
 * Each case runs in its own forked process (a Check loop test), so a crash
 * fails that case alone and names it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <tapegrad/expr.h>
#include <tapegrad/extend.h>
#include <tapegrad/mnist.h>
#include <tapegrad/nn.h>

#include "alloc.h"
#include "hard.h"
#include "runner.h"
#include "scratch.h"

/* ------------------------------------------------------------- fixture */

typedef struct fx {
    inj_alloc mem;           /* g's allocator: counts its blocks, refuses > 64 MiB */
    tg_graph *g, *other;
    tg_node x, y, c, s;      /* scalar var "x" = 2, var "y" = 3, const 5, op x*y */
    tg_node t, u, tc, tt;    /* tensor var "t" 2x3, var u 3x2, const tc 2x3, op t+t */
    tg_node foreign;         /* a var of the other graph, with an id that g also has */
    tg_node forged;          /* an id past g's tape with a generation g never used */
    tg_node stale;           /* dropped by a rewind, slot empty */
    tg_node reused;          /* dropped by a rewind, slot since taken by a newer node */
    size_t size;             /* tape size after setup */
} fx;

static const double T23[6] = { 1, -2, 3, -4, 5, -6 };
static const double U32[6] = { 0.5, 1, -1, 2, 0.25, -0.5 };
static const double ONEHOT23[6] = { 0, 1, 0, 1, 0, 0 };

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->mem.max_size = (size_t)64 << 20;
    tg_allocator a = inj_use(&f->mem);
    f->g = tg_graph_new_with(&a);
    f->other = tg_graph_new();
    ck_assert_ptr_nonnull(f->g);
    ck_assert_ptr_nonnull(f->other);
    tg_graph *g = f->g;

    /* stale: record, rewind, leave the slot empty */
    size_t m0 = tg_graph_mark(g);
    tg_var(g, "gone", 1.0);
    tg_node st = tg_var(g, NULL, 1.0);
    tg_graph_rewind(g, m0);

    /* reused: record at id 0, rewind, record again at id 0 */
    f->reused = tg_var(g, NULL, 7.0);
    tg_graph_rewind(g, m0);

    f->x = tg_var(g, "x", 2.0);
    f->y = tg_var(g, "y", 3.0);
    f->c = tg_const(g, 5.0);
    f->s = tg_mul(g, f->x, f->y);
    f->t = tg_tensor_var(g, "t", 2, 3, T23);
    f->u = tg_tensor_var(g, NULL, 3, 2, U32);
    f->tc = tg_tensor_const(g, 2, 3, ONEHOT23);
    f->tt = tg_add(g, f->t, f->t);
    ck_assert_graph_ok(g);
    ck_assert_uint_eq(f->reused.id, f->x.id);

    /* st's id is 1; after the setup above, id 1 is y: that makes st a
     * reused slot too.  An empty slot needs an id past the tape. */
    (void)st;
    size_t m1 = tg_graph_mark(g);
    tg_var(g, NULL, 0.0);
    f->stale = tg_var(g, NULL, 0.0);
    tg_graph_rewind(g, m1);
    ck_assert_uint_ge(f->stale.id, tg_graph_size(g));

    for (int i = 0; i < 8; i++) tg_var(f->other, NULL, (double)i);
    f->foreign = tg_node_at(f->other, 3);
    ck_assert_uint_lt(f->foreign.id, tg_graph_size(g));
    f->forged = (tg_node){ 1000000u, 0x5eed5eedu };
    f->size = tg_graph_size(g);
    ck_assert_graph_ok(g);
}

static void fx_done(fx *f)
{
    tg_graph_free(f->g);
    tg_graph_free(f->other);
    ck_assert_msg(f->mem.live == 0, "%ld blocks leaked", f->mem.live);
    ck_assert_int_eq(f->mem.bad_frees, 0);
}

/* The graph works after the misuse, and the fixture's nodes are intact. */
static void fx_assert_consistent(fx *f, const char *what)
{
    tg_graph_clear_error(f->g);
    ck_assert_graph_ok(f->g);
    ck_assert_str_eq(tg_graph_errmsg(f->g), "");
    ck_assert_double_eq(tg_value(f->g, f->x), 2.0);
    ck_assert_double_eq(tg_value(f->g, f->s), 6.0);
    ck_assert_msg(tg_find(f->g, "x").id == f->x.id, "%s: name 'x' lost", what);
    double t[6];
    ck_assert_int_eq(tg_tensor_get(f->g, f->t, t), TG_OK);
    ck_assert_msg(memcmp(t, T23, sizeof t) == 0, "%s: tensor t changed", what);
    assert_graph_works(f->g, what);
    assert_tensor_graph_works(f->g, what);
    /* The whole fixture graph sweeps too. */
    ck_assert_int_eq(tg_backward(f->g, f->s), TG_OK);
    ck_assert_double_eq(tg_grad(f->g, f->x), 3.0);
    ck_assert_double_eq(tg_grad(f->g, f->y), 2.0);
}

/* -------------------------------------------------------------- outcomes */

typedef enum ret_kind { R_STATUS, R_NODE, R_DOUBLE, R_INT, R_PTR, R_STR } ret_kind;

typedef struct outcome {
    ret_kind kind;
    tg_status st;
    tg_node n;
    double d;
    long i;
    const void *p;
} outcome;

static outcome o_status(tg_status s) { return (outcome){ .kind = R_STATUS, .st = s }; }
static outcome o_node(tg_node n)     { return (outcome){ .kind = R_NODE, .n = n }; }
static outcome o_double(double d)    { return (outcome){ .kind = R_DOUBLE, .d = d }; }
static outcome o_int(long i)         { return (outcome){ .kind = R_INT, .i = i }; }
static outcome o_ptr(const void *p)  { return (outcome){ .kind = R_PTR, .p = p }; }
static outcome o_str(const char *p)  { return (outcome){ .kind = R_STR, .p = p }; }

/* The function's documented "nothing" value: empty handle, NaN, 0, NULL,
 * "" (tg_node_op) or NULL (tg_node_name). */
static int is_error_value(outcome o)
{
    switch (o.kind) {
    case R_STATUS: return o.st != TG_OK;
    case R_NODE:   return tg_is_none(o.n);
    case R_DOUBLE: return isnan(o.d);
    case R_INT:    return o.i == 0;
    case R_PTR:    return o.p == NULL;
    case R_STR:    return o.p == NULL || *(const char *)o.p == '\0';
    }
    return 0;
}

/* ------------------------------------------------------ handle-kind table */

typedef enum kind {
    K_NULLG,     /* NULL graph, valid handle */
    K_NONE,      /* the empty handle */
    K_FOREIGN,   /* a node of another graph */
    K_FORGED,    /* an id and generation nobody issued */
    K_STALE,     /* dropped by a rewind, slot empty */
    K_REUSED,    /* dropped by a rewind, slot reused */
    K_TENSOR,    /* a tensor variable where a scalar is required */
    K_SCALAR,    /* a scalar variable where a tensor is required */
    K_COUNT
} kind;

static const char *const kind_names[K_COUNT] = {
    "NULL graph", "empty handle", "handle of another graph", "forged handle",
    "handle dropped by a rewind", "handle whose slot a rewind reused",
    "tensor where a scalar is required", "scalar where a tensor is required",
};

/* Which valid handle the argument takes. */
typedef enum valid { V_X, V_S, V_T, V_U, V_TC, V_TT } valid;

static tg_node pick_valid(const fx *f, valid v)
{
    switch (v) {
    case V_X:  return f->x;
    case V_S:  return f->s;
    case V_T:  return f->t;
    case V_U:  return f->u;
    case V_TC: return f->tc;
    case V_TT: return f->tt;
    }
    return TG_NONE;
}

/* What one (function, argument, kind) must give.  rec: the status recorded
 * on the graph (TG_OK: nothing recorded); ret: for functions returning a
 * status, the one returned.  Other functions return their error value. */
typedef struct expect { int applies; tg_status rec, ret; } expect;

/* Packed in one int so that the tables' macros can pass it around. */
#define E(r, s) (0x100 | (TG_##r << 4) | TG_##s)
#define NA      0

static expect unpack(int code)
{
    expect e = { (code & 0x100) != 0, (tg_status)((code >> 4) & 0xF), (tg_status)(code & 0xF) };
    return e;
}

/* A builder: returns the empty handle for every bad operand; records
 * TG_ERR_HANDLE for the empty handle too when nothing is recorded yet
 * (tapegrad.h, "Errors"). */
#define BUILDER_SCALAR_OR_TENSOR \
    { [K_NULLG] = E(OK, OK), [K_NONE] = E(ERR_HANDLE, OK), [K_FOREIGN] = E(ERR_HANDLE, OK), \
      [K_FORGED] = E(ERR_HANDLE, OK), [K_STALE] = E(ERR_STALE, OK), [K_REUSED] = E(ERR_STALE, OK), \
      [K_TENSOR] = NA, [K_SCALAR] = NA }
/* A tensor builder: a scalar operand is a 1x1 tensor, which fits or not
 * by the shapes alone: those cases are in the one-off table. */
#define BUILDER_TENSOR BUILDER_SCALAR_OR_TENSOR
/* A const accessor: records nothing, returns its error value. */
#define ACCESSOR2(tensor, scalar) \
    { [K_NULLG] = E(OK, OK), [K_NONE] = E(OK, OK), [K_FOREIGN] = E(OK, OK), \
      [K_FORGED] = E(OK, OK), [K_STALE] = E(OK, OK), [K_REUSED] = E(OK, OK), \
      [K_TENSOR] = tensor, [K_SCALAR] = scalar }
#define ACCESSOR(tensor) ACCESSOR2(tensor, NA)
/* A status-returning call on a mutable graph: records what it returns. */
#define RECORDING(tensor, scalar) \
    { [K_NULLG] = E(OK, ERR_ARG), [K_NONE] = E(ERR_HANDLE, ERR_HANDLE), \
      [K_FOREIGN] = E(ERR_HANDLE, ERR_HANDLE), [K_FORGED] = E(ERR_HANDLE, ERR_HANDLE), \
      [K_STALE] = E(ERR_STALE, ERR_STALE), [K_REUSED] = E(ERR_STALE, ERR_STALE), \
      [K_TENSOR] = tensor, [K_SCALAR] = scalar }
/* A status-returning call on a const graph: returns, records nothing. */
#define CONST_STATUS2(tensor, scalar) \
    { [K_NULLG] = E(OK, ERR_ARG), [K_NONE] = E(OK, ERR_HANDLE), \
      [K_FOREIGN] = E(OK, ERR_HANDLE), [K_FORGED] = E(OK, ERR_HANDLE), \
      [K_STALE] = E(OK, ERR_STALE), [K_REUSED] = E(OK, ERR_STALE), \
      [K_TENSOR] = tensor, [K_SCALAR] = scalar }
#define CONST_STATUS(scalar) CONST_STATUS2(NA, scalar)

typedef outcome (*call_fn)(tg_graph *g, fx *f, tg_node h);

typedef struct row {
    const char *fn, *arg;
    call_fn call;
    valid v;
    int e[K_COUNT];
} row;

/* The wrappers: h in the argument under test, valid handles elsewhere. */
static double buf[64];

#define UN(name, fnc) static outcome name(tg_graph *g, fx *f, tg_node h) { (void)f; return o_node(fnc(g, h)); }
UN(c_exp, tg_exp) UN(c_recip, tg_recip) UN(c_log, tg_log) UN(c_tanh, tg_tanh)
UN(c_sigmoid, tg_sigmoid) UN(c_relu, tg_relu) UN(c_neg, tg_neg)
UN(c_sigdec, tg_sigmoid_decomposed) UN(c_sum, tg_sum) UN(c_mean, tg_mean) UN(c_softmax, tg_softmax)
UN(c_sqrt, tg_sqrt) UN(c_cbrt, tg_cbrt) UN(c_sin, tg_sin) UN(c_cos, tg_cos) UN(c_tan, tg_tan)
UN(c_asin, tg_asin) UN(c_acos, tg_acos) UN(c_atan, tg_atan) UN(c_sinh, tg_sinh) UN(c_cosh, tg_cosh)
UN(c_asinh, tg_asinh) UN(c_acosh, tg_acosh) UN(c_atanh, tg_atanh) UN(c_expm1, tg_expm1)
UN(c_log1p, tg_log1p) UN(c_log2, tg_log2) UN(c_log10, tg_log10) UN(c_erf, tg_erf) UN(c_erfc, tg_erfc)
UN(c_softplus, tg_softplus) UN(c_abs, tg_abs)
#undef UN

#define BIN(name, fnc, other) \
    static outcome name##_a(tg_graph *g, fx *f, tg_node h) { return o_node(fnc(g, h, f->other)); } \
    static outcome name##_b(tg_graph *g, fx *f, tg_node h) { return o_node(fnc(g, f->other, h)); }
BIN(c_add, tg_add, x) BIN(c_mul, tg_mul, x) BIN(c_pow, tg_pow, x)
BIN(c_sub, tg_sub, x) BIN(c_div, tg_div, x)
BIN(c_atan2, tg_atan2, x) BIN(c_hypot, tg_hypot, x) BIN(c_min, tg_min, x) BIN(c_max, tg_max, x)
#undef BIN

static outcome c_powc(tg_graph *g, fx *f, tg_node h) { (void)f; return o_node(tg_powc(g, h, 2.0)); }
static outcome c_matmul_a(tg_graph *g, fx *f, tg_node h) { return o_node(tg_matmul(g, h, f->u)); }
static outcome c_matmul_b(tg_graph *g, fx *f, tg_node h) { return o_node(tg_matmul(g, f->t, h)); }
static outcome c_matmul_ex_a(tg_graph *g, fx *f, tg_node h) { return o_node(tg_matmul_ex(g, h, f->t, TG_TRANS_B)); }
static outcome c_matmul_ex_b(tg_graph *g, fx *f, tg_node h) { return o_node(tg_matmul_ex(g, f->t, h, TG_TRANS_B)); }
static outcome c_xent_a(tg_graph *g, fx *f, tg_node h) { return o_node(tg_softmax_cross_entropy(g, h, f->tc)); }
static outcome c_xent_b(tg_graph *g, fx *f, tg_node h) { return o_node(tg_softmax_cross_entropy(g, f->t, h)); }

/* A user-defined op, a * b, for the tg_custom rows: h as one of its two
 * inputs.  A custom op takes scalars only. */
static double my_mul_value(void *ctx, const double *x) { (void)ctx; return x[0] * x[1]; }
static void my_mul_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = x[1];
    d[1] = x[0];
}
static const tg_custom_op my_mul = { "my_mul", 2, my_mul_value, my_mul_partials, NULL, NULL };
static outcome c_custom_0(tg_graph *g, fx *f, tg_node h) { tg_node x[2] = { h, f->y }; return o_node(tg_custom(g, &my_mul, x)); }
static outcome c_custom_1(tg_graph *g, fx *f, tg_node h) { tg_node x[2] = { f->x, h }; return o_node(tg_custom(g, &my_mul, x)); }
#define BUILDER_SCALAR \
    { [K_NULLG] = E(OK, OK), [K_NONE] = E(ERR_HANDLE, OK), [K_FOREIGN] = E(ERR_HANDLE, OK), \
      [K_FORGED] = E(ERR_HANDLE, OK), [K_STALE] = E(ERR_STALE, OK), [K_REUSED] = E(ERR_STALE, OK), \
      [K_TENSOR] = E(ERR_SHAPE, OK), [K_SCALAR] = NA }

static outcome c_set_name(tg_graph *g, fx *f, tg_node h) { (void)f; return o_status(tg_node_set_name(g, h, "fresh")); }
static outcome c_value(tg_graph *g, fx *f, tg_node h) { (void)f; return o_double(tg_value(g, h)); }
static outcome c_grad(tg_graph *g, fx *f, tg_node h) { (void)f; return o_double(tg_grad(g, h)); }
static outcome c_node_op(tg_graph *g, fx *f, tg_node h) { (void)f; return o_str(tg_node_op(g, h)); }
static outcome c_node_name(tg_graph *g, fx *f, tg_node h)
{
    (void)f;
    const char *n = tg_node_name(g, h);
    /* x is named: a valid call gives "x", a bad one NULL. */
    return o_ptr(n);
}
static outcome c_node_inputs(tg_graph *g, fx *f, tg_node h)
{
    (void)f;
    tg_node in[2];
    return o_int(tg_node_inputs(g, h, in));
}
static outcome c_node_partials(tg_graph *g, fx *f, tg_node h)
{
    (void)f;
    double d[2];
    return o_int(tg_node_partials(g, h, d));
}
static outcome c_node_arity(tg_graph *g, fx *f, tg_node h) { (void)f; return o_int((long)tg_node_arity(g, h)); }
static outcome c_node_input(tg_graph *g, fx *f, tg_node h) { (void)f; return o_node(tg_node_input(g, h, 1)); }
static outcome c_backward(tg_graph *g, fx *f, tg_node h) { (void)f; return o_status(tg_backward(g, h)); }
static outcome c_set_value(tg_graph *g, fx *f, tg_node h) { (void)f; return o_status(tg_set_value(g, h, 4.0)); }
/* tg_set_values with h as x[0] and y as x[1]: both set, or neither
 * changed (nor, for a handle of the other graph, its node there).  A bad
 * handle after good ones is in the one-off table. */
static outcome c_set_values(tg_graph *g, fx *f, tg_node h)
{
    tg_node x[2] = { h, f->y };
    const double v[2] = { 4.0, 4.5 };
    double h0 = tg_value(f->g, h), y0 = tg_value(f->g, f->y), o0 = tg_value(f->other, h);
    tg_status st = tg_set_values(g, 2, x, v);
    if (st == TG_OK) {
        ck_assert_msg(same_bits(tg_value(f->g, h), v[0]) && same_bits(tg_value(f->g, f->y), v[1]),
                      "tg_set_values returned TG_OK; x[0] is %.17g, x[1] %.17g, expected %g and %g",
                      tg_value(f->g, h), tg_value(f->g, f->y), v[0], v[1]);
    } else {
        ck_assert_msg(same_bits(tg_value(f->g, h), h0), "tg_set_values failed but changed x[0]");
        ck_assert_msg(same_bits(tg_value(f->g, f->y), y0), "tg_set_values failed but changed x[1]");
        ck_assert_msg(same_bits(tg_value(f->other, h), o0), "tg_set_values changed the other graph");
    }
    return o_status(st);
}
/* tg_grads with h as x[1] between y and x, after a sweep of s = x*y: the
 * good entries read what tg_grad reads (d s/dy = x, d s/dx = y), h's what
 * tg_grad reads when the call succeeds and NaN when it fails. */
static outcome c_grads(tg_graph *g, fx *f, tg_node h)
{
    ck_assert_int_eq(tg_backward(f->g, f->s), TG_OK);
    tg_node x[3] = { f->y, h, f->x };
    double out[3] = { -7.25, -7.25, -7.25 };
    tg_status st = tg_grads(g, 3, x, out);
    if (g) {
        ck_assert(same_bits(out[0], tg_grad(f->g, f->y)) && out[0] == tg_value(f->g, f->x));
        ck_assert(same_bits(out[2], tg_grad(f->g, f->x)) && out[2] == tg_value(f->g, f->y));
        if (st == TG_OK)
            ck_assert_msg(same_bits(out[1], tg_grad(f->g, h)), "out[1] is %.17g, tg_grad %.17g",
                          out[1], tg_grad(f->g, h));
        else
            ck_assert_msg(isnan(out[1]), "tg_grads refused x[1] but wrote %.17g", out[1]);
    }
    return o_status(st);
}
static outcome c_is_tensor(tg_graph *g, fx *f, tg_node h) { (void)f; return o_int(tg_is_tensor(g, h)); }
static outcome c_shape(tg_graph *g, fx *f, tg_node h)
{
    (void)f;
    size_t r = 99, c = 99;
    return o_status(tg_shape(g, h, &r, &c));
}
static outcome c_tensor_get(tg_graph *g, fx *f, tg_node h) { (void)f; return o_status(tg_tensor_get(g, h, buf)); }
static outcome c_tensor_get_grad(tg_graph *g, fx *f, tg_node h) { (void)f; return o_status(tg_tensor_get_grad(g, h, buf)); }
static outcome c_tensor_set(tg_graph *g, fx *f, tg_node h) { (void)f; return o_status(tg_tensor_set(g, h, T23)); }
static outcome c_tensor_data(tg_graph *g, fx *f, tg_node h) { (void)f; return o_ptr(tg_tensor_data(g, h)); }
static outcome c_tensor_gradp(tg_graph *g, fx *f, tg_node h) { (void)f; return o_ptr(tg_tensor_gradp(g, h)); }
static outcome c_convert(tg_graph *g, fx *f, tg_node h) { (void)f; return o_node(tg_convert(g, h, TG_F32)); }

/* Forward mode and second order: h as x[1] (x[0] valid) or as an output. */
static const double ones[2] = { 1.0, 1.0 };
static outcome c_jvp_x(tg_graph *g, fx *f, tg_node h)
{
    tg_node x[2] = { f->y, h };
    return o_status(tg_jvp(g, 2, x, ones, 1, &f->s, buf));
}
static outcome c_jvp_y(tg_graph *g, fx *f, tg_node h)
{
    tg_node y[2] = { f->s, h };
    return o_status(tg_jvp(g, 1, &f->x, ones, 2, y, buf));
}
static outcome c_vjp_x(tg_graph *g, fx *f, tg_node h)
{
    tg_node x[2] = { f->y, h };
    return o_status(tg_vjp(g, 1, &f->s, ones, 2, x, buf));
}
static outcome c_vjp_y(tg_graph *g, fx *f, tg_node h)
{
    tg_node y[2] = { f->s, h };
    return o_status(tg_vjp(g, 2, y, ones, 1, &f->x, buf));
}
static outcome c_jacobian_x(tg_graph *g, fx *f, tg_node h)
{
    tg_node x[2] = { f->y, h };
    return o_status(tg_jacobian(g, 1, &f->s, 2, x, buf));
}
static outcome c_jacobian_y(tg_graph *g, fx *f, tg_node h)
{
    tg_node y[2] = { f->s, h };
    return o_status(tg_jacobian(g, 2, y, 1, &f->x, buf));
}
static outcome c_hvp_x(tg_graph *g, fx *f, tg_node h)
{
    tg_node x[2] = { f->y, h };
    return o_status(tg_hvp(g, f->s, 2, x, ones, buf));
}
static outcome c_hvp_y(tg_graph *g, fx *f, tg_node h) { return o_status(tg_hvp(g, h, 1, &f->x, ones, buf)); }
static outcome c_hessian_x(tg_graph *g, fx *f, tg_node h)
{
    tg_node x[2] = { f->y, h };
    return o_status(tg_hessian(g, f->s, 2, x, buf));
}
static outcome c_hessian_y(tg_graph *g, fx *f, tg_node h) { return o_status(tg_hessian(g, h, 1, &f->x, buf)); }

static const row rows[] = {
    { "tg_add", "a", c_add_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_add", "b", c_add_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_mul", "a", c_mul_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_mul", "b", c_mul_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_pow", "a", c_pow_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_pow", "b", c_pow_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_exp", "a", c_exp, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_recip", "a", c_recip, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_powc", "a", c_powc, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_log", "a", c_log, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_tanh", "a", c_tanh, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sigmoid", "a", c_sigmoid, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_relu", "a", c_relu, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_neg", "a", c_neg, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sub", "a", c_sub_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sub", "b", c_sub_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_div", "a", c_div_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_div", "b", c_div_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sigmoid_decomposed", "a", c_sigdec, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sqrt", "a", c_sqrt, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_cbrt", "a", c_cbrt, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sin", "a", c_sin, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_cos", "a", c_cos, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_tan", "a", c_tan, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_asin", "a", c_asin, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_acos", "a", c_acos, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_atan", "a", c_atan, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_sinh", "a", c_sinh, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_cosh", "a", c_cosh, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_asinh", "a", c_asinh, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_acosh", "a", c_acosh, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_atanh", "a", c_atanh, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_expm1", "a", c_expm1, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_log1p", "a", c_log1p, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_log2", "a", c_log2, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_log10", "a", c_log10, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_erf", "a", c_erf, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_erfc", "a", c_erfc, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_softplus", "a", c_softplus, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_abs", "a", c_abs, V_X, BUILDER_SCALAR_OR_TENSOR },
    /* atan2(y, x), as C names them */
    { "tg_atan2", "y", c_atan2_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_atan2", "x", c_atan2_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_hypot", "a", c_hypot_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_hypot", "b", c_hypot_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_min", "a", c_min_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_min", "b", c_min_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_max", "a", c_max_a, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_max", "b", c_max_b, V_X, BUILDER_SCALAR_OR_TENSOR },
    { "tg_custom", "x[0]", c_custom_0, V_X, BUILDER_SCALAR },
    { "tg_custom", "x[1]", c_custom_1, V_X, BUILDER_SCALAR },

    { "tg_node_set_name", "n", c_set_name, V_TT, RECORDING(NA, NA) },
    { "tg_value", "n", c_value, V_X, ACCESSOR(E(OK, OK)) },
    { "tg_grad", "n", c_grad, V_X, ACCESSOR(E(OK, OK)) },
    { "tg_node_op", "n", c_node_op, V_X, ACCESSOR(NA) },
    { "tg_node_name", "n", c_node_name, V_X, ACCESSOR(NA) },
    { "tg_node_inputs", "n", c_node_inputs, V_S, ACCESSOR(NA) },
    { "tg_node_partials", "n", c_node_partials, V_S, ACCESSOR(E(OK, OK)) },
    { "tg_node_arity", "n", c_node_arity, V_S, ACCESSOR(NA) },
    { "tg_node_input", "n", c_node_input, V_S, ACCESSOR(NA) },
    { "tg_backward", "out", c_backward, V_S, RECORDING(E(ERR_SHAPE, ERR_SHAPE), NA) },
    { "tg_set_value", "leaf", c_set_value, V_X, RECORDING(E(ERR_SHAPE, ERR_SHAPE), NA) },
    { "tg_set_values", "x[0]", c_set_values, V_X, RECORDING(E(ERR_SHAPE, ERR_SHAPE), NA) },
    { "tg_grads", "x[1]", c_grads, V_X, CONST_STATUS2(E(OK, ERR_SHAPE), NA) },

    { "tg_is_tensor", "n", c_is_tensor, V_T, ACCESSOR(NA) },
    { "tg_shape", "n", c_shape, V_T, CONST_STATUS(NA) },
    /* A scalar node reads as one number (tensor.c: "a scalar node gives
     * one number"), so get on a scalar is not misuse. */
    { "tg_tensor_get", "n", c_tensor_get, V_T, CONST_STATUS(NA) },
    { "tg_tensor_get_grad", "n", c_tensor_get_grad, V_T, CONST_STATUS(NA) },
    /* A scalar where a tensor is required is a shape error, as the
     * reverse is for tg_set_value. */
    { "tg_tensor_set", "leaf", c_tensor_set, V_T, RECORDING(NA, E(ERR_SHAPE, ERR_SHAPE)) },
    /* Not const: records the bad handle like a builder, and a scalar
     * where storage was asked for is a shape error. */
    { "tg_tensor_data", "n", c_tensor_data, V_T, { [K_NULLG] = E(OK, OK), [K_NONE] = E(ERR_HANDLE, OK),
      [K_FOREIGN] = E(ERR_HANDLE, OK), [K_FORGED] = E(ERR_HANDLE, OK), [K_STALE] = E(ERR_STALE, OK),
      [K_REUSED] = E(ERR_STALE, OK), [K_TENSOR] = NA, [K_SCALAR] = E(ERR_SHAPE, OK) } },
    { "tg_tensor_gradp", "n", c_tensor_gradp, V_T, ACCESSOR2(NA, E(OK, OK)) },
    { "tg_convert", "x", c_convert, V_T, BUILDER_SCALAR_OR_TENSOR },
    { "tg_matmul", "a", c_matmul_a, V_T, BUILDER_TENSOR },
    { "tg_matmul", "b", c_matmul_b, V_U, BUILDER_TENSOR },
    { "tg_matmul_ex", "a", c_matmul_ex_a, V_T, BUILDER_TENSOR },
    { "tg_matmul_ex", "b", c_matmul_ex_b, V_T, BUILDER_TENSOR },
    { "tg_sum", "a", c_sum, V_T, BUILDER_TENSOR },
    { "tg_mean", "a", c_mean, V_T, BUILDER_TENSOR },
    { "tg_softmax", "logits", c_softmax, V_T, BUILDER_TENSOR },
    { "tg_softmax_cross_entropy", "logits", c_xent_a, V_T, BUILDER_TENSOR },
    { "tg_softmax_cross_entropy", "onehot", c_xent_b, V_TC, BUILDER_TENSOR },
    /* x may hold tensor variables, y tensor nodes, except the scalar y of
     * tg_hvp and tg_hessian */
    { "tg_jvp", "x[1]", c_jvp_x, V_X, RECORDING(NA, NA) },
    { "tg_jvp", "y[1]", c_jvp_y, V_S, RECORDING(NA, NA) },
    { "tg_vjp", "x[1]", c_vjp_x, V_X, RECORDING(NA, NA) },
    { "tg_vjp", "y[1]", c_vjp_y, V_S, RECORDING(NA, NA) },
    { "tg_jacobian", "x[1]", c_jacobian_x, V_X, RECORDING(NA, NA) },
    { "tg_jacobian", "y[1]", c_jacobian_y, V_S, RECORDING(NA, NA) },
    { "tg_hvp", "x[1]", c_hvp_x, V_X, RECORDING(NA, NA) },
    { "tg_hvp", "y", c_hvp_y, V_S, RECORDING(E(ERR_SHAPE, ERR_SHAPE), NA) },
    { "tg_hessian", "x[1]", c_hessian_x, V_X, RECORDING(NA, NA) },
    { "tg_hessian", "y", c_hessian_y, V_S, RECORDING(E(ERR_SHAPE, ERR_SHAPE), NA) },
};
enum { NROWS = sizeof rows / sizeof rows[0] };

/* ------------------------------------------------------ one-off misuses */

typedef struct special {
    const char *what;
    const char *prefix;   /* expected message prefix when rec != TG_OK */
    outcome (*call)(fx *f);
    int e;
} special;

static outcome s_rewind_past(fx *f) { return o_status(tg_graph_rewind(f->g, f->size + 1)); }
static outcome s_rewind_huge(fx *f) { return o_status(tg_graph_rewind(f->g, SIZE_MAX)); }
static outcome s_reserve_huge(fx *f) { return o_status(tg_graph_reserve(f->g, SIZE_MAX)); }
static outcome s_reserve_past_u32(fx *f) { return o_status(tg_graph_reserve(f->g, (size_t)UINT32_MAX + 2)); }
static outcome s_group_end_none(fx *f) { return o_status(tg_group_end(f->g)); }
static outcome s_group_begin_null(fx *f) { return o_status(tg_group_begin(f->g, NULL)); }
static outcome s_dot_null(fx *f) { return o_status(tg_graph_write_dot(f->g, NULL)); }
static outcome s_var_dup(fx *f) { return o_node(tg_var(f->g, "x", 1.0)); }
static outcome s_var_dup_tensor_name(fx *f) { return o_node(tg_var(f->g, "t", 1.0)); }
static outcome s_set_const(fx *f) { return o_status(tg_set_value(f->g, f->c, 1.0)); }
static outcome s_set_op(fx *f) { return o_status(tg_set_value(f->g, f->s, 1.0)); }
static outcome s_inputs_null(fx *f) { return o_int(tg_node_inputs(f->g, f->s, NULL)); }
static outcome s_partials_null(fx *f) { return o_int(tg_node_partials(f->g, f->s, NULL)); }
static outcome s_partials_tensor_op(fx *f)
{
    double d[2];
    return o_int(tg_node_partials(f->g, f->tt, d));
}
static outcome s_convert_bad_dtype(fx *f) { return o_node(tg_convert(f->g, f->t, (tg_dtype)7)); }
static outcome s_tensor_var_bad_dtype(fx *f) { return o_node(tg_tensor_var_ex(f->g, NULL, 2, 2, (tg_dtype)2, NULL)); }
static outcome s_data_f32_of_f64(fx *f) { return o_ptr(tg_tensor_data_f32(f->g, f->t)); }
static outcome s_data_f32_of_scalar(fx *f) { return o_ptr(tg_tensor_data_f32(f->g, f->x)); }
static outcome s_find_null(fx *f) { return o_node(tg_find(f->g, NULL)); }
static outcome s_find_unknown(fx *f) { return o_node(tg_find(f->g, "nosuch")); }
static outcome s_find_dropped(fx *f) { return o_node(tg_find(f->g, "gone")); }
static outcome s_node_at_end(fx *f) { return o_node(tg_node_at(f->g, f->size)); }
static outcome s_node_at_huge(fx *f) { return o_node(tg_node_at(f->g, SIZE_MAX)); }
static outcome s_new_with_null_realloc(fx *f)
{
    (void)f;
    tg_allocator a = { NULL, NULL, NULL };
    tg_graph *g = tg_graph_new_with(&a);
    tg_graph_free(g);
    return o_ptr(g);
}
static void *real_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n ? n : 1); }
static outcome s_new_with_null_free(fx *f)
{
    (void)f;
    tg_allocator a = { real_realloc, NULL, NULL };
    tg_graph *g = tg_graph_new_with(&a);
    tg_graph_free(g);
    return o_ptr(g);
}
static outcome s_status_str_bad(fx *f)
{
    (void)f;
    const char *s = tg_status_str((tg_status)999);
    /* Never NULL or empty: 0 (the expected value) when it holds. */
    return o_int(s == NULL || *s == '\0');
}
/* Replay across relu's kink: STALE naming the relu; re-recording (a rewind
 * below it) makes the tape usable again. */
static outcome s_forward_flip(fx *f)
{
    tg_relu(f->g, f->x);
    ck_assert_graph_ok(f->g);
    tg_set_value(f->g, f->x, -1.0);
    tg_status st = tg_forward(f->g);
    char want[128];
    snprintf(want, sizeof want, "tg_forward: node %zu (relu) changed branch since it was recorded; "
             "re-record the tape", f->size);
    ck_assert_str_eq(tg_graph_errmsg(f->g), want);
    /* re-record: drop the relu and replay at x = 2 (the error stays) */
    tg_set_value(f->g, f->x, 2.0);
    ck_assert_int_eq(tg_graph_rewind(f->g, f->size), TG_OK);
    ck_assert_int_eq(tg_forward(f->g), TG_OK);
    return o_status(st);
}
static outcome s_backward_after_flip(fx *f)
{
    tg_node r = tg_relu(f->g, f->x);
    tg_set_value(f->g, f->x, -1.0);
    tg_forward(f->g);
    tg_graph_clear_error(f->g);
    tg_status st = tg_backward(f->g, r);
    tg_set_value(f->g, f->x, 2.0);
    ck_assert_int_eq(tg_graph_rewind(f->g, f->size), TG_OK);
    ck_assert_int_eq(tg_forward(f->g), TG_OK);
    return o_status(st);
}
/* tapegrad.h: backward is refused after a flipped replay "until the tape
 * is re-recorded or replayed back onto its branches".  Replaying back must
 * therefore succeed, and backward with it. */
static outcome s_replay_back_onto_branch_tensor(fx *f)
{
    tg_node r = tg_relu(f->g, f->t);            /* t = 1 -2 3 -4 5 -6 */
    tg_node l = tg_sum(f->g, r);
    double *v = tg_tensor_data(f->g, f->t);
    v[0] = -1.0;                                /* element 0 flips */
    ck_assert_int_eq(tg_forward(f->g), TG_ERR_STALE);
    tg_graph_clear_error(f->g);
    v = tg_tensor_data(f->g, f->t);
    v[0] = 1.0;
    tg_status st = tg_forward(f->g);
    if (st == TG_OK) st = tg_backward(f->g, l);
    if (st == TG_OK) ck_assert_int_eq(tg_graph_rewind(f->g, f->size), TG_OK);
    return o_status(st);
}
static outcome s_replay_back_onto_branch(fx *f)
{
    tg_node r = tg_relu(f->g, f->x);
    tg_set_value(f->g, f->x, -1.0);
    ck_assert_int_eq(tg_forward(f->g), TG_ERR_STALE);
    tg_graph_clear_error(f->g);
    tg_set_value(f->g, f->x, 2.0);
    tg_status st = tg_forward(f->g);
    if (st == TG_OK) st = tg_backward(f->g, r);
    if (st == TG_OK) ck_assert_double_eq(tg_grad(f->g, f->x), 1.0);
    if (st == TG_OK) ck_assert_int_eq(tg_graph_rewind(f->g, f->size), TG_OK);
    return o_status(st);
}
/* The first error sticks: a later misuse does not overwrite it. */
static outcome s_first_error_sticks(fx *f)
{
    tg_add(f->g, f->foreign, f->x);
    tg_mul(f->g, f->stale, f->x);
    tg_exp(f->g, TG_NONE);
    tg_backward(f->g, TG_NONE);
    tg_graph_rewind(f->g, SIZE_MAX);
    return o_node(tg_add(f->g, f->x, TG_NONE));
}

/* tg_custom given a bad op: each is refused before its inputs are read. */
static outcome custom_with(fx *f, const char *name, size_t arity, int callbacks)
{
    tg_custom_op op = { name, arity, callbacks & 1 ? my_mul_value : NULL,
                        callbacks & 2 ? my_mul_partials : NULL, NULL, NULL };
    tg_node x[2] = { f->x, f->y };
    return o_node(tg_custom(f->g, &op, x));
}
static outcome s_custom_null_op(fx *f) { tg_node x[2] = { f->x, f->y }; return o_node(tg_custom(f->g, NULL, x)); }
static outcome s_custom_null_name(fx *f) { return custom_with(f, NULL, 2, 3); }
static outcome s_custom_bad_name(fx *f) { return custom_with(f, "my mul", 2, 3); }
static outcome s_custom_builtin_name(fx *f) { return custom_with(f, "exp", 2, 3); }
static outcome s_custom_arity0(fx *f) { return custom_with(f, "my_mul", 0, 3); }
static outcome s_custom_arity9(fx *f) { return custom_with(f, "my_mul", 9, 3); }
static outcome s_custom_no_value(fx *f) { return custom_with(f, "my_mul", 2, 2); }
static outcome s_custom_no_partials(fx *f) { return custom_with(f, "my_mul", 2, 1); }
static outcome s_custom_null_x(fx *f) { return o_node(tg_custom(f->g, &my_mul, NULL)); }
static outcome s_check_negative_rtol(fx *f) { return o_int((long)tg_check_partials(f->g, -1.0, NULL)); }
static outcome s_check_nan_rtol(fx *f) { return o_int((long)tg_check_partials(f->g, NAN, NULL)); }
/* Replay across abs's and min's kinks, then re-record as s_forward_flip. */
static outcome forward_across(fx *f, tg_node k, double x)
{
    ck_assert(!tg_is_none(k));
    tg_set_value(f->g, f->x, x);
    tg_status st = tg_forward(f->g);
    tg_set_value(f->g, f->x, 2.0);
    ck_assert_int_eq(tg_graph_rewind(f->g, f->size), TG_OK);
    ck_assert_int_eq(tg_forward(f->g), TG_OK);
    return o_status(st);
}
static outcome s_forward_abs_flip(fx *f) { return forward_across(f, tg_abs(f->g, f->x), -1.0); }
static outcome s_forward_min_flip(fx *f) { return forward_across(f, tg_min(f->g, f->x, f->y), 4.0); }

static outcome s_tensor_var_rows0(fx *f) { return o_node(tg_tensor_var(f->g, NULL, 0, 3, NULL)); }
static outcome s_tensor_var_cols0(fx *f) { return o_node(tg_tensor_var(f->g, NULL, 3, 0, NULL)); }
static outcome s_tensor_const_rows0(fx *f) { return o_node(tg_tensor_const(f->g, 0, 1, NULL)); }
static outcome s_tensor_var_overflow(fx *f) { return o_node(tg_tensor_var(f->g, NULL, SIZE_MAX / 2, 4, NULL)); }
static outcome s_tensor_var_past_u32(fx *f) { return o_node(tg_tensor_var(f->g, NULL, (size_t)UINT32_MAX + 1, 1, NULL)); }
static outcome s_tensor_var_max_dims(fx *f) { return o_node(tg_tensor_var(f->g, NULL, UINT32_MAX, UINT32_MAX, NULL)); }
static outcome s_tensor_var_2_31(fx *f) { return o_node(tg_tensor_var(f->g, NULL, (size_t)1 << 31, (size_t)1 << 31, NULL)); }
/* Fits every limit but memory (g refuses blocks over 64 MiB). */
static outcome s_tensor_var_too_big(fx *f) { return o_node(tg_tensor_var(f->g, "big", (size_t)1 << 20, (size_t)1 << 20, NULL)); }
static outcome s_reserve_u32(fx *f) { return o_status(tg_graph_reserve(f->g, UINT32_MAX)); }
static outcome s_matmul_too_big(fx *f)
{
    tg_node colv = tg_tensor_var(f->g, NULL, 1 << 14, 1, NULL);
    tg_node rowv = tg_tensor_var(f->g, NULL, 1, 1 << 14, NULL);
    ck_assert_graph_ok(f->g);
    tg_node y = tg_matmul(f->g, colv, rowv);   /* 2^28 doubles: 2 GiB */
    ck_assert_int_eq(tg_graph_status(f->g), TG_ERR_NOMEM);
    ck_assert_int_eq(tg_graph_size(f->g), f->size + 2);
    tg_graph_rewind(f->g, f->size);
    return o_node(y);
}
static outcome s_tensor_var_dup(fx *f) { return o_node(tg_tensor_var(f->g, "x", 1, 1, NULL)); }
static outcome s_add_shapes(fx *f) { return o_node(tg_add(f->g, f->t, f->u)); }
static outcome s_mul_shapes(fx *f) { return o_node(tg_mul(f->g, f->u, f->t)); }
static outcome s_pow_shapes(fx *f) { return o_node(tg_pow(f->g, f->t, f->u)); }
static outcome s_matmul_shapes(fx *f) { return o_node(tg_matmul(f->g, f->t, f->t)); }
static outcome s_matmul_ex_shapes(fx *f) { return o_node(tg_matmul_ex(f->g, f->t, f->u, TG_TRANS_A)); }
static outcome s_matmul_ex_flags(fx *f) { return o_node(tg_matmul_ex(f->g, f->t, f->u, 4u)); }
static outcome s_xent_shapes(fx *f) { return o_node(tg_softmax_cross_entropy(f->g, f->t, f->u)); }
static outcome s_tensor_get_null(fx *f) { return o_status(tg_tensor_get(f->g, f->t, NULL)); }
static outcome s_tensor_get_grad_null(fx *f) { return o_status(tg_tensor_get_grad(f->g, f->t, NULL)); }
static outcome s_tensor_set_null(fx *f) { return o_status(tg_tensor_set(f->g, f->t, NULL)); }
static outcome s_tensor_set_op(fx *f) { return o_status(tg_tensor_set(f->g, f->tt, T23)); }
static outcome s_backward_tensor_op(fx *f) { return o_status(tg_backward(f->g, f->tt)); }
static outcome s_set_value_tensor_op(fx *f) { return o_status(tg_set_value(f->g, f->tt, 1.0)); }

static outcome s_parse_null_graph(fx *f) { (void)f; return o_node(tg_parse(NULL, "x")); }
static outcome s_parse_null(fx *f) { return o_node(tg_parse(f->g, NULL)); }
static outcome s_parse_syntax(fx *f) { return o_node(tg_parse(f->g, "z = x +")); }
static outcome s_parse_unknown(fx *f) { return o_node(tg_parse(f->g, "z = x + q")); }
static outcome s_parse_taken(fx *f) { return o_node(tg_parse(f->g, "x = 1")); }
static outcome s_parse_arity(fx *f) { return o_node(tg_parse(f->g, "exp(x, y)")); }
static outcome s_parse_shapes(fx *f) { return o_node(tg_parse(f->g, "z = x * 2; matmul(t, t)")); }
static outcome s_parse_deep(fx *f)
{
    char src[2 * TG_PARSE_MAX_DEPTH + 2];
    memset(src, '(', TG_PARSE_MAX_DEPTH);
    memcpy(src + TG_PARSE_MAX_DEPTH, "x", 2);
    return o_node(tg_parse(f->g, src));
}
static outcome s_register_null(fx *f) { return o_status(tg_custom_register(f->g, NULL)); }
static outcome s_register_null_graph(fx *f) { (void)f; return o_status(tg_custom_register(NULL, &my_mul)); }
static outcome s_register_builtin(fx *f)
{
    tg_custom_op op = my_mul;
    op.name = "sigmoid";
    return o_status(tg_custom_register(f->g, &op));
}
static outcome s_register_other(fx *f)
{
    ck_assert_int_eq(tg_custom_register(f->g, &my_mul), TG_OK);
    tg_custom_op op = my_mul;
    op.ctx = f;
    return o_status(tg_custom_register(f->g, &op));
}
static outcome s_lookup_null(fx *f) { return o_ptr(tg_custom_lookup(f->g, NULL)); }
static outcome s_lookup_unknown(fx *f) { return o_ptr(tg_custom_lookup(f->g, "my_mul")); }
static outcome s_set_name_null(fx *f) { return o_status(tg_node_set_name(f->g, f->tt, NULL)); }
static outcome s_set_name_older(fx *f) { return o_status(tg_node_set_name(f->g, f->s, "older")); }
static outcome s_set_name_taken(fx *f) { return o_status(tg_node_set_name(f->g, f->tt, "x")); }

/* The five calls given a constant or an op where a variable is required,
 * NULL arrays with non-zero counts, a tensor op as the scalar output. */
static outcome s_jvp_const_x(fx *f) { return o_status(tg_jvp(f->g, 1, &f->c, ones, 1, &f->s, buf)); }
static outcome s_vjp_op_x(fx *f) { return o_status(tg_vjp(f->g, 1, &f->s, ones, 1, &f->s, buf)); }
static outcome s_jacobian_tconst_x(fx *f) { return o_status(tg_jacobian(f->g, 1, &f->s, 1, &f->tc, buf)); }
static outcome s_hvp_tensor_op_x(fx *f) { return o_status(tg_hvp(f->g, f->s, 1, &f->tt, ones, buf)); }
static outcome s_hessian_const_x(fx *f) { return o_status(tg_hessian(f->g, f->s, 1, &f->c, buf)); }
static outcome s_jvp_null_v(fx *f) { return o_status(tg_jvp(f->g, 1, &f->x, NULL, 1, &f->s, buf)); }
static outcome s_jvp_null_y(fx *f) { return o_status(tg_jvp(f->g, 1, &f->x, ones, 1, NULL, buf)); }
static outcome s_vjp_null_w(fx *f) { return o_status(tg_vjp(f->g, 1, &f->s, NULL, 1, &f->x, buf)); }
static outcome s_vjp_null_out(fx *f) { return o_status(tg_vjp(f->g, 1, &f->s, ones, 1, &f->x, NULL)); }
static outcome s_jacobian_null_x(fx *f) { return o_status(tg_jacobian(f->g, 1, &f->s, 1, NULL, buf)); }
static outcome s_hvp_null_v(fx *f) { return o_status(tg_hvp(f->g, f->s, 1, &f->x, NULL, buf)); }
static outcome s_hessian_null_out(fx *f) { return o_status(tg_hessian(f->g, f->s, 1, &f->x, NULL)); }
static outcome s_hvp_tensor_y(fx *f) { return o_status(tg_hvp(f->g, f->tt, 1, &f->t, T23, buf)); }
static outcome s_hessian_tensor_y(fx *f) { return o_status(tg_hessian(f->g, f->tt, 1, &f->x, buf)); }

/* tg_set_values and tg_grads: NULL arrays, no entries, bad handles among
 * good ones. */
static const double five_vals[5] = { -1.25, -2.25, -3.25, -4.25, -5.25 };
static outcome s_set_values_null_x(fx *f) { return o_status(tg_set_values(f->g, 2, NULL, five_vals)); }
static outcome s_set_values_null_v(fx *f) { tg_node x[2] = { f->x, f->y }; return o_status(tg_set_values(f->g, 2, x, NULL)); }
static outcome s_set_values_none(fx *f)
{
    tg_status st = tg_set_values(f->g, 0, NULL, NULL);
    ck_assert_double_eq(tg_value(f->g, f->x), 2.0);
    ck_assert_double_eq(tg_value(f->g, f->y), 3.0);
    return o_status(st);
}
/* x = three variables recorded here, bad at x[2], then the fixture's x:
 * refused naming x[2] with `says` in the message, every variable as it was
 * (all or nothing).  The three are dropped again. */
static outcome set_values_middle(fx *f, tg_node bad, const char *says)
{
    tg_node a = tg_var(f->g, NULL, 0.5), b = tg_var(f->g, NULL, 1.5), c = tg_var(f->g, NULL, -2.5);
    ck_assert_graph_ok(f->g);
    tg_node x[5] = { a, b, bad, c, f->x };
    double before[5];
    for (int i = 0; i < 5; i++) before[i] = tg_value(f->g, x[i]);
    tg_status st = tg_set_values(f->g, 5, x, five_vals);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(same_bits(tg_value(f->g, x[i]), before[i]),
                      "tg_set_values refused x[2] but x[%d] went from %g to %g", i, before[i],
                      tg_value(f->g, x[i]));
    const char *msg = tg_graph_errmsg(f->g);
    ck_assert_prefix(msg, "tg_set_values: x[2] ");
    ck_assert_msg(strstr(msg, says) != NULL, "message \"%s\" does not say \"%s\"", msg, says);
    ck_assert_int_eq(tg_graph_rewind(f->g, f->size), TG_OK);
    return o_status(st);
}
static outcome s_set_values_mid_none(fx *f) { return set_values_middle(f, TG_NONE, "is the empty handle"); }
static outcome s_set_values_mid_foreign(fx *f) { return set_values_middle(f, f->foreign, "is not a node of this graph"); }
static outcome s_set_values_mid_forged(fx *f) { return set_values_middle(f, f->forged, "is not a node of this graph"); }
static outcome s_set_values_mid_stale(fx *f) { return set_values_middle(f, f->stale, "dropped by a rewind"); }
static outcome s_set_values_mid_tensor(fx *f) { return set_values_middle(f, f->t, "is a tensor"); }
static outcome s_set_values_mid_const(fx *f) { return set_values_middle(f, f->c, "is a constant"); }
static outcome s_set_values_mid_op(fx *f) { return set_values_middle(f, f->s, "is not a variable"); }
static outcome s_set_values_mid_tensor_op(fx *f) { return set_values_middle(f, f->tt, "is not a variable"); }
/* The fixture's variables were recorded before its last rewind: they are
 * as settable as new ones, by tg_set_value and tg_set_values alike. */
static outcome s_set_values_older(fx *f)
{
    tg_node x[2] = { f->x, f->y };
    tg_status st = tg_set_values(f->g, 2, x, five_vals);
    ck_assert_msg(same_bits(tg_value(f->g, f->x), five_vals[0]) && same_bits(tg_value(f->g, f->y), five_vals[1]),
                  "tg_set_values returned %d; x is %g, y %g, expected %g and %g", (int)st,
                  tg_value(f->g, f->x), tg_value(f->g, f->y), five_vals[0], five_vals[1]);
    ck_assert_int_eq(tg_set_value(f->g, f->x, 2.0), TG_OK);
    ck_assert_int_eq(tg_set_value(f->g, f->y, 3.0), TG_OK);
    return o_status(st);
}
static outcome s_set_values_none_after_older(fx *f)
{
    tg_node x[2] = { f->x, TG_NONE };
    tg_status st = tg_set_values(f->g, 2, x, five_vals);
    ck_assert_double_eq(tg_value(f->g, f->x), 2.0);
    return o_status(st);
}
static outcome s_grads_null_x(fx *f) { double out[2]; return o_status(tg_grads(f->g, 2, NULL, out)); }
static outcome s_grads_null_out(fx *f) { tg_node x[2] = { f->x, f->y }; return o_status(tg_grads(f->g, 2, x, NULL)); }
static outcome s_grads_none(fx *f) { return o_status(tg_grads(f->g, 0, NULL, NULL)); }
/* After a sweep of s = x*y: bad handles of several kinds among good ones.
 * NaN at exactly the bad entries, tg_grad's number at the others (d s/dx
 * = y, d s/dy = x, d s/ds = 1), the first bad one's status returned, and
 * the graph's status and message as they were (tensor_first puts the
 * tensor before the others). */
static outcome grads_several_bad(fx *f, int tensor_first)
{
    ck_assert_int_eq(tg_backward(f->g, f->s), TG_OK);
    tg_node x[9] = { f->y, f->stale, f->x, f->foreign, f->t, TG_NONE, f->s, f->tt, f->c };
    const int bad[9] = { 0, 1, 0, 1, 1, 1, 0, 1, 0 };
    if (tensor_first) {
        x[1] = f->t;
        x[4] = f->stale;
    }
    tg_status st0 = tg_graph_status(f->g);
    char msg0[256];
    snprintf(msg0, sizeof msg0, "%s", tg_graph_errmsg(f->g));
    double out[9];
    for (int i = 0; i < 9; i++) out[i] = -7.25;
    tg_status st = tg_grads(f->g, 9, x, out);
    for (int i = 0; i < 9; i++) {
        if (bad[i])
            ck_assert_msg(isnan(out[i]), "x[%d] is refused but out[%d] is %.17g", i, i, out[i]);
        else
            ck_assert_msg(!isnan(out[i]) && same_bits(out[i], tg_grad(f->g, x[i])),
                          "out[%d] is %.17g, tg_grad %.17g", i, out[i], tg_grad(f->g, x[i]));
    }
    ck_assert(out[0] == tg_value(f->g, f->x) && out[2] == tg_value(f->g, f->y) && out[6] == 1.0);
    ck_assert_int_eq(tg_graph_status(f->g), st0);
    ck_assert_str_eq(tg_graph_errmsg(f->g), msg0);
    return o_status(st);
}
static outcome s_grads_several_bad(fx *f) { return grads_several_bad(f, 0); }
static outcome s_grads_tensor_first(fx *f) { return grads_several_bad(f, 1); }
/* An error standing: tg_grads reads all the same and leaves it as it was. */
static outcome s_grads_error_stands(fx *f)
{
    ck_assert_int_eq(tg_backward(f->g, f->s), TG_OK);
    tg_exp(f->g, f->foreign);
    ck_assert_int_eq(tg_graph_status(f->g), TG_ERR_HANDLE);
    return grads_several_bad(f, 0);
}

#define SP(what, prefix, call, r, s) { what, prefix, call, E(r, s) }
static const special specials[] = {
    SP("rewind past the tape", "tg_graph_rewind:", s_rewind_past, ERR_ARG, ERR_ARG),
    SP("convert to no dtype", "tg_convert:", s_convert_bad_dtype, ERR_ARG, OK),
    SP("tensor var of no dtype", "tg_tensor_var_ex:", s_tensor_var_bad_dtype, ERR_ARG, OK),
    SP("float32 storage of a float64 tensor", "tg_tensor_data_f32:", s_data_f32_of_f64, ERR_ARG, OK),
    SP("float32 storage of a scalar", "tg_tensor_data_f32:", s_data_f32_of_scalar, ERR_SHAPE, OK),
    SP("rewind to SIZE_MAX", "tg_graph_rewind:", s_rewind_huge, ERR_ARG, ERR_ARG),
    SP("reserve SIZE_MAX nodes", "tg_graph_reserve:", s_reserve_huge, ERR_NOMEM, ERR_NOMEM),
    SP("reserve past 2^32 nodes", "tg_graph_reserve:", s_reserve_past_u32, ERR_NOMEM, ERR_NOMEM),
    SP("group end with none open", "tg_group_end:", s_group_end_none, ERR_ARG, ERR_ARG),
    SP("group begin with NULL label", "tg_group_begin:", s_group_begin_null, ERR_ARG, ERR_ARG),
    SP("write dot to NULL", "tg_graph_write_dot:", s_dot_null, ERR_ARG, ERR_ARG),
    SP("duplicate variable name", "tg_var:", s_var_dup, ERR_NAME, OK),
    SP("variable named like a tensor", "tg_var:", s_var_dup_tensor_name, ERR_NAME, OK),
    SP("set_value of a constant", "tg_set_value:", s_set_const, ERR_ARG, ERR_ARG),
    SP("set_value of an op node", "tg_set_value:", s_set_op, ERR_ARG, ERR_ARG),
    SP("node_inputs into NULL", "", s_inputs_null, OK, OK),
    SP("node_partials into NULL", "", s_partials_null, OK, OK),
    SP("node_partials of a tensor op", "", s_partials_tensor_op, OK, OK),
    SP("find NULL", "", s_find_null, OK, OK),
    SP("find an unknown name", "", s_find_unknown, OK, OK),
    SP("find a name dropped by rewind", "", s_find_dropped, OK, OK),
    SP("node_at the tape size", "", s_node_at_end, OK, OK),
    SP("node_at SIZE_MAX", "", s_node_at_huge, OK, OK),
    SP("allocator without realloc", "", s_new_with_null_realloc, OK, OK),
    SP("allocator without free", "", s_new_with_null_free, OK, OK),
    SP("status_str of an unknown status", "", s_status_str_bad, OK, OK),
    SP("forward across a relu kink", "tg_forward:", s_forward_flip, ERR_STALE, ERR_STALE),
    SP("backward after a flipped replay", "tg_backward:", s_backward_after_flip, ERR_STALE, ERR_STALE),
    SP("replay back onto the recorded branch", "", s_replay_back_onto_branch, OK, OK),
    SP("tensor replay back onto the recorded branch", "", s_replay_back_onto_branch_tensor, OK, OK),
    SP("first error sticks", "tg_add: a is not a node of this graph", s_first_error_sticks, ERR_HANDLE, OK),
    SP("tensor var with 0 rows", "tg_tensor_var:", s_tensor_var_rows0, ERR_ARG, OK),
    SP("tensor var with 0 cols", "tg_tensor_var:", s_tensor_var_cols0, ERR_ARG, OK),
    SP("tensor const with 0 rows", "tg_tensor_const:", s_tensor_const_rows0, ERR_ARG, OK),
    SP("tensor var whose size overflows", "tg_tensor_var:", s_tensor_var_overflow, ERR_ARG, OK),
    SP("tensor var of 2^32 rows", "tg_tensor_var:", s_tensor_var_past_u32, ERR_ARG, OK),
    SP("tensor var of 2^32-1 x 2^32-1", "tg_tensor_var:", s_tensor_var_max_dims, ERR_ARG, OK),
    SP("tensor var of 2^31 x 2^31", "tg_tensor_var:", s_tensor_var_2_31, ERR_ARG, OK),
    SP("tensor var of 2^20 x 2^20, memory short", "tg_tensor_var:", s_tensor_var_too_big, ERR_NOMEM, OK),
    SP("reserve 2^32-1 nodes, memory short", "tg_graph_reserve:", s_reserve_u32, ERR_NOMEM, ERR_NOMEM),
    SP("matmul of 2^14x1 by 1x2^14, memory short", "tg_matmul:", s_matmul_too_big, ERR_NOMEM, OK),
    SP("tensor var with a taken name", "tg_tensor_var:", s_tensor_var_dup, ERR_NAME, OK),
    SP("add 2x3 + 3x2", "tg_add:", s_add_shapes, ERR_SHAPE, OK),
    SP("mul 3x2 * 2x3", "tg_mul:", s_mul_shapes, ERR_SHAPE, OK),
    SP("pow 2x3 ^ 3x2", "tg_pow:", s_pow_shapes, ERR_SHAPE, OK),
    SP("matmul 2x3 @ 2x3", "tg_matmul:", s_matmul_shapes, ERR_SHAPE, OK),
    SP("matmul_ex 2x3^T @ 3x2", "tg_matmul_ex:", s_matmul_ex_shapes, ERR_SHAPE, OK),
    SP("matmul_ex with unknown flags", "tg_matmul_ex:", s_matmul_ex_flags, ERR_ARG, OK),
    SP("softmax_cross_entropy 2x3 vs 3x2", "tg_softmax_cross_entropy:", s_xent_shapes, ERR_SHAPE, OK),
    SP("tensor_get into NULL", "", s_tensor_get_null, OK, ERR_ARG),
    SP("tensor_get_grad into NULL", "", s_tensor_get_grad_null, OK, ERR_ARG),
    SP("tensor_set from NULL", "tg_tensor_set:", s_tensor_set_null, ERR_ARG, ERR_ARG),
    SP("tensor_set of an op node", "tg_tensor_set:", s_tensor_set_op, ERR_ARG, ERR_ARG),
    SP("backward from a tensor op", "tg_backward:", s_backward_tensor_op, ERR_SHAPE, ERR_SHAPE),
    SP("set_value of a tensor op", "tg_set_value:", s_set_value_tensor_op, ERR_ARG, ERR_ARG),
    SP("custom with a NULL op", "tg_custom: op is NULL", s_custom_null_op, ERR_ARG, OK),
    SP("custom op without a name", "tg_custom: op->name is NULL", s_custom_null_name, ERR_ARG, OK),
    SP("custom op named with a space", "tg_custom: op->name \"my mul\"", s_custom_bad_name, ERR_ARG, OK),
    SP("custom op named like a built-in", "tg_custom: \"exp\"", s_custom_builtin_name, ERR_NAME, OK),
    SP("custom op of arity 0", "tg_custom: op 'my_mul' has arity 0", s_custom_arity0, ERR_ARG, OK),
    SP("custom op of arity 9", "tg_custom: op 'my_mul' has arity 9", s_custom_arity9, ERR_ARG, OK),
    SP("custom op without value", "tg_custom: op 'my_mul' has no value", s_custom_no_value, ERR_ARG, OK),
    SP("custom op without partials", "tg_custom: op 'my_mul' has no partials", s_custom_no_partials, ERR_ARG, OK),
    SP("custom with x NULL", "tg_custom: x is NULL", s_custom_null_x, ERR_ARG, OK),
    SP("check_partials with rtol -1", "tg_check_partials: rtol -1", s_check_negative_rtol, ERR_ARG, OK),
    SP("check_partials with rtol NaN", "tg_check_partials: rtol nan", s_check_nan_rtol, ERR_ARG, OK),
    SP("forward across an abs kink", "tg_forward: node 8 (abs) changed branch", s_forward_abs_flip, ERR_STALE, ERR_STALE),
    SP("parse with a NULL graph", "", s_parse_null_graph, OK, OK),
    SP("parse NULL", "tg_parse: src is NULL", s_parse_null, ERR_ARG, OK),
    SP("parse a syntax error", "tg_parse: 1:8: expected", s_parse_syntax, ERR_FORMAT, OK),
    SP("parse an unknown name", "tg_parse: 1:9: unknown name 'q'", s_parse_unknown, ERR_NAME, OK),
    SP("parse a taken name", "tg_parse: 1:1: 'x' is already", s_parse_taken, ERR_NAME, OK),
    SP("parse a call of the wrong arity", "tg_parse: 1:1: exp takes 1 argument", s_parse_arity, ERR_FORMAT, OK),
    SP("parse a shape mismatch", "tg_parse: 1:12: tg_matmul:", s_parse_shapes, ERR_SHAPE, OK),
    SP("parse nesting too deep", "tg_parse: 1:201: nested deeper", s_parse_deep, ERR_FORMAT, OK),
    SP("register a NULL op", "tg_custom_register: op is NULL", s_register_null, ERR_ARG, ERR_ARG),
    SP("register with a NULL graph", "", s_register_null_graph, OK, ERR_ARG),
    SP("register a built-in's name", "tg_custom_register: \"sigmoid\"", s_register_builtin, ERR_NAME, ERR_NAME),
    SP("register another op under a name", "tg_custom_register: another op", s_register_other, ERR_NAME, ERR_NAME),
    SP("lookup NULL", "", s_lookup_null, OK, OK),
    SP("lookup an unregistered name", "", s_lookup_unknown, OK, OK),
    SP("set_name NULL", "tg_node_set_name: name is NULL", s_set_name_null, ERR_ARG, ERR_ARG),
    SP("set_name of an older node", "tg_node_set_name: node 3 is older", s_set_name_older, ERR_ARG, ERR_ARG),
    SP("set_name to a taken name", "tg_node_set_name: name 'x'", s_set_name_taken, ERR_NAME, ERR_NAME),
    SP("forward across a min kink", "tg_forward: node 8 (min) changed branch", s_forward_min_flip, ERR_STALE, ERR_STALE),
    SP("jvp with a constant in x", "tg_jvp:", s_jvp_const_x, ERR_ARG, ERR_ARG),
    SP("vjp with an op node in x", "tg_vjp:", s_vjp_op_x, ERR_ARG, ERR_ARG),
    SP("jacobian with a tensor constant in x", "tg_jacobian:", s_jacobian_tconst_x, ERR_ARG, ERR_ARG),
    SP("hvp with a tensor op in x", "tg_hvp:", s_hvp_tensor_op_x, ERR_ARG, ERR_ARG),
    SP("hessian with a constant in x", "tg_hessian:", s_hessian_const_x, ERR_ARG, ERR_ARG),
    SP("jvp with v NULL", "tg_jvp:", s_jvp_null_v, ERR_ARG, ERR_ARG),
    SP("jvp with y NULL", "tg_jvp:", s_jvp_null_y, ERR_ARG, ERR_ARG),
    SP("vjp with w NULL", "tg_vjp:", s_vjp_null_w, ERR_ARG, ERR_ARG),
    SP("vjp into NULL", "tg_vjp:", s_vjp_null_out, ERR_ARG, ERR_ARG),
    SP("jacobian with x NULL", "tg_jacobian:", s_jacobian_null_x, ERR_ARG, ERR_ARG),
    SP("hvp with v NULL", "tg_hvp:", s_hvp_null_v, ERR_ARG, ERR_ARG),
    SP("hessian into NULL", "tg_hessian:", s_hessian_null_out, ERR_ARG, ERR_ARG),
    SP("hvp of a tensor op", "tg_hvp:", s_hvp_tensor_y, ERR_SHAPE, ERR_SHAPE),
    SP("hessian of a tensor op", "tg_hessian:", s_hessian_tensor_y, ERR_SHAPE, ERR_SHAPE),
    SP("set_values with x NULL", "tg_set_values: x is NULL", s_set_values_null_x, ERR_ARG, ERR_ARG),
    SP("set_values with v NULL", "tg_set_values: v is NULL", s_set_values_null_v, ERR_ARG, ERR_ARG),
    SP("set_values of no variables, arrays NULL", "", s_set_values_none, OK, OK),
    SP("set_values, the empty handle among variables", "tg_set_values: x[2]", s_set_values_mid_none, ERR_HANDLE, ERR_HANDLE),
    SP("set_values, a handle of another graph among variables", "tg_set_values: x[2]", s_set_values_mid_foreign, ERR_HANDLE, ERR_HANDLE),
    SP("set_values, a forged handle among variables", "tg_set_values: x[2]", s_set_values_mid_forged, ERR_HANDLE, ERR_HANDLE),
    SP("set_values, a handle dropped by a rewind among variables", "tg_set_values: x[2]", s_set_values_mid_stale, ERR_STALE, ERR_STALE),
    SP("set_values, a tensor among variables", "tg_set_values: x[2]", s_set_values_mid_tensor, ERR_SHAPE, ERR_SHAPE),
    SP("set_values, a constant among variables", "tg_set_values: x[2]", s_set_values_mid_const, ERR_ARG, ERR_ARG),
    SP("set_values, an op node among variables", "tg_set_values: x[2]", s_set_values_mid_op, ERR_ARG, ERR_ARG),
    SP("set_values, a tensor op among variables", "tg_set_values: x[2]", s_set_values_mid_tensor_op, ERR_ARG, ERR_ARG),
    SP("set_values of variables recorded before a rewind", "", s_set_values_older, OK, OK),
    SP("set_values, the empty handle after a variable recorded before a rewind",
       "tg_set_values: x[1] is the empty handle", s_set_values_none_after_older, ERR_HANDLE, ERR_HANDLE),
    SP("grads with x NULL", "", s_grads_null_x, OK, ERR_ARG),
    SP("grads into NULL", "", s_grads_null_out, OK, ERR_ARG),
    SP("grads of no handles, arrays NULL", "", s_grads_none, OK, OK),
    SP("grads, bad handles among good ones, a stale one first", "", s_grads_several_bad, OK, ERR_STALE),
    SP("grads, bad handles among good ones, a tensor first", "", s_grads_tensor_first, OK, ERR_SHAPE),
    SP("grads while an error stands", "tg_exp: a is not a node of this graph", s_grads_error_stands, ERR_HANDLE, ERR_STALE),
};
enum { NSPECIALS = sizeof specials / sizeof specials[0] };

/* Every function that takes a graph, given NULL, with its other arguments
 * valid: none crashes, each returns its error value.  Those of the row
 * table are covered there; these have no handle argument. */
static outcome n_free(fx *f) { (void)f; tg_graph_free(NULL); return o_int(0); }
static outcome n_status(fx *f) { (void)f; return o_status(tg_graph_status(NULL)); }
static outcome n_errmsg(fx *f) { (void)f; return o_int(tg_graph_errmsg(NULL) == NULL); }
static outcome n_clear(fx *f) { (void)f; tg_graph_clear_error(NULL); return o_int(0); }
static outcome n_size(fx *f) { (void)f; return o_int((long)tg_graph_size(NULL)); }
static outcome n_mark(fx *f) { (void)f; return o_int((long)tg_graph_mark(NULL)); }
static outcome n_rewind(fx *f) { (void)f; return o_status(tg_graph_rewind(NULL, 0)); }
static outcome n_reserve(fx *f) { (void)f; return o_status(tg_graph_reserve(NULL, 10)); }
static outcome n_checking(fx *f) { (void)f; tg_graph_set_checking(NULL, 1); return o_int(0); }
static outcome n_var(fx *f) { (void)f; return o_node(tg_var(NULL, "x", 1.0)); }
static outcome n_const(fx *f) { (void)f; return o_node(tg_const(NULL, 1.0)); }
static outcome n_find(fx *f) { (void)f; return o_node(tg_find(NULL, "x")); }
static outcome n_forward(fx *f) { (void)f; return o_status(tg_forward(NULL)); }
static outcome n_node_at(fx *f) { (void)f; return o_node(tg_node_at(NULL, 0)); }
static outcome n_group_begin(fx *f) { (void)f; return o_status(tg_group_begin(NULL, "g")); }
static outcome n_group_end(fx *f) { (void)f; return o_status(tg_group_end(NULL)); }
static outcome n_write_dot(fx *f)
{
    (void)f;
    FILE *out = tmpfile();
    ck_assert_ptr_nonnull(out);
    tg_status st = tg_graph_write_dot(NULL, out);
    long len = ftell(out);
    fclose(out);
    ck_assert_int_eq(len, 0);  /* nothing written */
    return o_status(st);
}
static outcome n_tensor_var(fx *f) { (void)f; return o_node(tg_tensor_var(NULL, "t", 2, 3, T23)); }
static outcome n_tensor_const(fx *f) { (void)f; return o_node(tg_tensor_const(NULL, 2, 3, T23)); }
static outcome n_custom(fx *f) { tg_node x[2] = { f->x, f->y }; return o_node(tg_custom(NULL, &my_mul, x)); }
static outcome n_check_partials(fx *f)
{
    (void)f;
    tg_node first = { 3, 3 };
    long n = (long)tg_check_partials(NULL, 1e-6, &first);
    ck_assert(tg_is_none(first));
    return o_int(n);
}

typedef struct nullcase { const char *fn; outcome (*call)(fx *f); tg_status ret; } nullcase;
static const nullcase nullcases[] = {
    { "tg_graph_free", n_free, TG_OK },
    { "tg_graph_status", n_status, TG_ERR_ARG },
    { "tg_graph_errmsg", n_errmsg, TG_OK },
    { "tg_graph_clear_error", n_clear, TG_OK },
    { "tg_graph_size", n_size, TG_OK },
    { "tg_graph_mark", n_mark, TG_OK },
    { "tg_graph_rewind", n_rewind, TG_ERR_ARG },
    { "tg_graph_reserve", n_reserve, TG_ERR_ARG },
    { "tg_graph_set_checking", n_checking, TG_OK },
    { "tg_var", n_var, TG_OK },
    { "tg_const", n_const, TG_OK },
    { "tg_find", n_find, TG_OK },
    { "tg_forward", n_forward, TG_ERR_ARG },
    { "tg_node_at", n_node_at, TG_OK },
    { "tg_group_begin", n_group_begin, TG_ERR_ARG },
    { "tg_group_end", n_group_end, TG_ERR_ARG },
    { "tg_graph_write_dot", n_write_dot, TG_ERR_ARG },
    { "tg_tensor_var", n_tensor_var, TG_OK },
    { "tg_tensor_const", n_tensor_const, TG_OK },
    { "tg_custom", n_custom, TG_OK },
    { "tg_check_partials", n_check_partials, TG_OK },
};
enum { NNULL = sizeof nullcases / sizeof nullcases[0] };

/* ------------------------------------------------------ mnist.h, nn.h */

enum { IN = 4, HID = 3, OUT = 10, NPAR = IN * HID + HID + HID * OUT + OUT };

typedef struct nfx {
    inj_alloc mem;            /* the net's allocator; refuses blocks over 64 MiB */
    tg_net *net;
    tg_graph *g;              /* the net's graph */
    tg_graph *other;
    tg_mnist_set set;         /* 3 images of 2x2 pixels */
    uint8_t images[12], labels[3];
    double x[2 * IN], t[2 * OUT];
    double params0[NPAR];
    tg_node stale;            /* a node of the net's graph dropped by a rewind */
    tg_error err;
    char dir[512];
} nfx;

static void nfx_init(nfx *f)
{
    memset(f, 0, sizeof *f);
    f->mem.max_size = (size_t)64 << 20;
    tg_allocator a = inj_use(&f->mem);
    f->net = tg_net_new_with(IN, HID, OUT, 1, &a);
    ck_assert_ptr_nonnull(f->net);
    f->g = tg_net_graph(f->net);
    f->other = tg_graph_new();
    tg_var(f->other, NULL, 1.0);
    for (int i = 0; i < 12; i++) f->images[i] = (uint8_t)(20 * i);
    f->labels[0] = 3;
    f->labels[1] = 9;
    f->labels[2] = 0;
    f->set = (tg_mnist_set){ 3, 2, 2, f->images, f->labels };
    for (int i = 0; i < 2 * IN; i++) f->x[i] = 0.125 * i - 0.3;
    f->t[0 * OUT + 3] = 1.0;
    f->t[1 * OUT + 7] = 1.0;
    ck_assert_int_eq(tg_net_get_params(f->net, f->params0), TG_OK);
    ck_assert_int_eq(tg_net_batch(f->net, f->x, f->t, 2), TG_OK);
    size_t m = tg_graph_mark(f->g);
    tg_var(f->g, NULL, 0.0);
    f->stale = tg_var(f->g, NULL, 0.0);
    tg_graph_rewind(f->g, m);
    memset(&f->err, 0x55, sizeof f->err);
    scratch_dir(f->dir, sizeof f->dir);
}

/* The same training step on a fresh net: the reference. */
static double fresh_step_loss(const nfx *f)
{
    tg_net *net = tg_net_new(IN, HID, OUT, 1);
    double loss = NAN;
    ck_assert_int_eq(tg_net_batch(net, f->x, f->t, 2), TG_OK);
    ck_assert_int_eq(tg_net_train_step(net, 0.1, &loss), TG_OK);
    tg_net_free(net);
    return loss;
}

static void nfx_assert_consistent(nfx *f, const char *what)
{
    double p[NPAR];
    ck_assert_int_eq(tg_net_get_params(f->net, p), TG_OK);
    ck_assert_msg(memcmp(p, f->params0, sizeof p) == 0, "%s: the parameters changed", what);
    tg_graph_clear_error(f->g);
    double loss = NAN;
    ck_assert_int_eq(tg_net_batch(f->net, f->x, f->t, 2), TG_OK);
    ck_assert_int_eq(tg_net_train_step(f->net, 0.1, &loss), TG_OK);
    double want = fresh_step_loss(f);
    ck_assert_msg(same_bits(loss, want), "%s: step loss %.17g, a fresh net's %.17g", what, loss, want);
    assert_graph_works(f->g, what);
}

static void nfx_done(nfx *f)
{
    tg_net_free(f->net);
    tg_graph_free(f->other);
    ck_assert_msg(f->mem.live == 0, "%ld blocks leaked", f->mem.live);
    scratch_remove(f->dir);
}

/* Outcome of a call that reports through a tg_error: the status, with the
 * message in f->err. */
static outcome o_err(nfx *f, tg_status s)
{
    ck_assert_int_eq(f->err.status, s);
    if (s == TG_OK) ck_assert_str_eq(f->err.msg, "");
    return o_status(s);
}

static double dbuf[NPAR];

static outcome m_net_new_0in(nfx *f) { (void)f; return o_ptr(tg_net_new(0, 3, 2, 1)); }
static outcome m_net_new_0hid(nfx *f) { (void)f; return o_ptr(tg_net_new(4, 0, 2, 1)); }
static outcome m_net_new_0out(nfx *f) { (void)f; return o_ptr(tg_net_new(4, 3, 0, 1)); }
static outcome m_net_new_overflow(nfx *f) { (void)f; return o_ptr(tg_net_new(SIZE_MAX / 2, 4, 2, 1)); }
static outcome m_net_new_huge(nfx *f)
{
    inj_alloc a;
    memset(&a, 0, sizeof a);
    a.max_size = (size_t)64 << 20;
    tg_allocator al = inj_use(&a);
    tg_net *n = tg_net_new_with((size_t)1 << 20, (size_t)1 << 12, 2, 1, &al);   /* 32 GiB of W1 */
    ck_assert_int_eq(a.live, 0);
    tg_net_free(n);
    (void)f;
    return o_ptr(n);
}
static outcome m_net_new_bad_alloc(nfx *f)
{
    (void)f;
    tg_allocator a = { NULL, NULL, NULL };
    return o_ptr(tg_net_new_with(4, 3, 2, 1, &a));
}
static outcome m_net_free_null(nfx *f) { (void)f; tg_net_free(NULL); return o_int(0); }
static outcome m_net_graph_null(nfx *f) { (void)f; return o_ptr(tg_net_graph(NULL)); }
static outcome m_net_sizes_null(nfx *f)
{
    (void)f;
    return o_int((long)(tg_net_input_size(NULL) + tg_net_hidden_size(NULL) + tg_net_output_size(NULL) +
                        tg_net_param_count(NULL) + tg_net_param_size(NULL, 0)));
}
static outcome m_param_name_bad(nfx *f) { (void)f; return o_ptr(tg_net_param_name(4) ? "" : tg_net_param_name(-1)); }
static outcome m_param_size_bad(nfx *f) { return o_int((long)(tg_net_param_size(f->net, 4) + tg_net_param_size(f->net, -1))); }
static outcome m_get_params_null_net(nfx *f) { (void)f; return o_status(tg_net_get_params(NULL, dbuf)); }
static outcome m_get_params_null_out(nfx *f) { return o_status(tg_net_get_params(f->net, NULL)); }
static outcome m_get_grads_null_net(nfx *f) { (void)f; return o_status(tg_net_get_grads(NULL, dbuf)); }
static outcome m_get_grads_null_out(nfx *f) { return o_status(tg_net_get_grads(f->net, NULL)); }
static outcome m_predict_null(nfx *f) { return o_node(tg_net_predict(NULL, tg_net_batch_x(f->net))); }
static outcome m_loss_null(nfx *f) { return o_node(tg_net_loss(NULL, tg_net_batch_x(f->net), tg_net_batch_t(f->net))); }

/* The layers given each bad kind of handle. */
static tg_node bad_handle(nfx *f, int k)
{
    switch (k) {
    case 0:  return TG_NONE;
    case 1:  return tg_node_at(f->other, 0);
    case 2:  return (tg_node){ 1000000u, 0x5eed5eedu };
    default: return f->stale;
    }
}
#define LAYER(name, k, call) \
    static outcome name##_##k(nfx *f) { tg_node h = bad_handle(f, k); (void)h; return o_node(call); }
#define LAYER4(name, call) LAYER(name, 0, call) LAYER(name, 1, call) LAYER(name, 2, call) LAYER(name, 3, call)
LAYER4(m_affine_x, tg_affine(f->g, h, tg_find(f->g, "W1"), tg_find(f->g, "b1")))
LAYER4(m_affine_w, tg_affine(f->g, tg_net_batch_x(f->net), h, tg_find(f->g, "b1")))
LAYER4(m_affine_b, tg_affine(f->g, tg_net_batch_x(f->net), tg_find(f->g, "W1"), h))
LAYER4(m_predict_x, tg_net_predict(f->net, h))
LAYER4(m_loss_x, tg_net_loss(f->net, h, tg_net_batch_t(f->net)))
LAYER4(m_loss_t, tg_net_loss(f->net, tg_net_batch_x(f->net), h))
#undef LAYER4
#undef LAYER

static outcome m_affine_shapes(nfx *f)
{
    /* x is 2x4, W2 is 3x10 */
    return o_node(tg_affine(f->g, tg_net_batch_x(f->net), tg_find(f->g, "W2"), tg_find(f->g, "b1")));
}
static outcome m_affine_bias_shape(nfx *f)
{
    /* x W1 is 2x3, b2 is 1x10 */
    return o_node(tg_affine(f->g, tg_net_batch_x(f->net), tg_find(f->g, "W1"), tg_find(f->g, "b2")));
}
static outcome m_loss_t_shape(nfx *f)
{
    return o_node(tg_net_loss(f->net, tg_net_batch_x(f->net), tg_net_batch_x(f->net)));
}
static outcome m_batch_null_net(nfx *f) { return o_status(tg_net_batch(NULL, f->x, f->t, 2)); }
static outcome m_batch_null_x(nfx *f) { return o_status(tg_net_batch(f->net, NULL, f->t, 2)); }
static outcome m_batch_zero(nfx *f) { return o_status(tg_net_batch(f->net, f->x, f->t, 0)); }
static outcome m_batch_huge(nfx *f) { return o_status(tg_net_batch(f->net, f->x, f->t, (size_t)1 << 24)); }
static outcome m_batch_mnist_null_net(nfx *f) { return o_status(tg_net_batch_mnist(NULL, &f->set, NULL, 0, 2)); }
static outcome m_batch_mnist_null_set(nfx *f) { return o_status(tg_net_batch_mnist(f->net, NULL, NULL, 0, 2)); }
static outcome m_batch_mnist_shape(nfx *f)
{
    f->set.cols = 3;   /* 6 pixels for a net of 4 inputs */
    f->set.count = 2;
    return o_status(tg_net_batch_mnist(f->net, &f->set, NULL, 0, 2));
}
static outcome m_batch_mnist_idx(nfx *f)
{
    size_t idx[2] = { 1, 3 };
    return o_status(tg_net_batch_mnist(f->net, &f->set, idx, 0, 2));
}
static outcome m_batch_mnist_past(nfx *f) { return o_status(tg_net_batch_mnist(f->net, &f->set, NULL, 2, 2)); }
static outcome m_batch_mnist_wrap(nfx *f) { return o_status(tg_net_batch_mnist(f->net, &f->set, NULL, 1, SIZE_MAX)); }
static outcome m_batch_mnist_zero(nfx *f) { return o_status(tg_net_batch_mnist(f->net, &f->set, NULL, 0, 0)); }
static outcome m_batch_x_null(nfx *f) { (void)f; return o_node(tg_net_batch_x(NULL)); }
static outcome m_batch_t_null(nfx *f) { (void)f; return o_node(tg_net_batch_t(NULL)); }

/* The functions on the batch: NULL net, and no batch (used up by
 * tg_net_accuracy). */
static void use_up_batch(nfx *f)
{
    double acc;
    ck_assert_int_eq(tg_net_accuracy(f->net, &f->set, &acc), TG_OK);
}
static outcome m_batch_loss_null(nfx *f) { (void)f; double l; return o_status(tg_net_batch_loss(NULL, &l)); }
static outcome m_batch_loss_nobatch(nfx *f) { double l; use_up_batch(f); return o_status(tg_net_batch_loss(f->net, &l)); }
static outcome m_gradient_null(nfx *f) { (void)f; return o_status(tg_net_gradient(NULL, NULL)); }
static outcome m_gradient_nobatch(nfx *f) { use_up_batch(f); return o_status(tg_net_gradient(f->net, NULL)); }
static outcome m_numgrad_null(nfx *f) { (void)f; return o_status(tg_net_numerical_gradient(NULL, dbuf)); }
static outcome m_numgrad_null_out(nfx *f) { return o_status(tg_net_numerical_gradient(f->net, NULL)); }
static outcome m_numgrad_nobatch(nfx *f) { use_up_batch(f); return o_status(tg_net_numerical_gradient(f->net, dbuf)); }
static outcome m_gradcheck_null(nfx *f) { (void)f; double d[4]; return o_status(tg_net_gradcheck(NULL, d)); }
static outcome m_gradcheck_null_out(nfx *f) { return o_status(tg_net_gradcheck(f->net, NULL)); }
static outcome m_gradcheck_nobatch(nfx *f) { double d[4]; use_up_batch(f); return o_status(tg_net_gradcheck(f->net, d)); }
static outcome m_sgd_null(nfx *f) { (void)f; return o_status(tg_net_sgd(NULL, 0.1)); }
static outcome m_train_null(nfx *f) { (void)f; return o_status(tg_net_train_step(NULL, 0.1, NULL)); }
static outcome m_train_nobatch(nfx *f) { use_up_batch(f); return o_status(tg_net_train_step(f->net, 0.1, NULL)); }
static outcome m_accuracy_null(nfx *f) { double a; return o_status(tg_net_accuracy(NULL, &f->set, &a)); }
static outcome m_accuracy_null_set(nfx *f) { double a; return o_status(tg_net_accuracy(f->net, NULL, &a)); }
static outcome m_accuracy_null_out(nfx *f) { return o_status(tg_net_accuracy(f->net, &f->set, NULL)); }
static outcome m_accuracy_empty(nfx *f) { double a; f->set.count = 0; return o_status(tg_net_accuracy(f->net, &f->set, &a)); }
static outcome m_accuracy_shape(nfx *f) { double a; f->set.rows = 1; return o_status(tg_net_accuracy(f->net, &f->set, &a)); }
/* nn.h: "While an error stands they refuse to run (returning it) and
 * change nothing": the step after a failed batch neither trains nor
 * overwrites the first message. */
static outcome m_refuse_while_error(nfx *f)
{
    tg_net_batch(f->net, NULL, f->t, 2);
    double l = 42.0;
    tg_status s = tg_net_train_step(f->net, 0.1, &l);
    ck_assert_int_eq(s, TG_ERR_ARG);
    ck_assert_int_eq(tg_net_batch(f->net, f->x, f->t, 2), TG_ERR_ARG);
    ck_assert_int_eq(tg_net_gradient(f->net, NULL), TG_ERR_ARG);
    double a;
    ck_assert_int_eq(tg_net_accuracy(f->net, &f->set, &a), TG_ERR_ARG);
    return o_status(s);
}

static outcome m_save_null_net(nfx *f) { return o_err(f, tg_net_save(NULL, "x.tgn", &f->err)); }
static outcome m_save_null_path(nfx *f) { return o_err(f, tg_net_save(f->net, NULL, &f->err)); }
static outcome m_load_null_net(nfx *f) { return o_err(f, tg_net_load(NULL, "x.tgn", &f->err)); }
static outcome m_load_null_path(nfx *f) { return o_err(f, tg_net_load(f->net, NULL, &f->err)); }
static outcome m_sizes_null_path(nfx *f) { return o_err(f, tg_net_file_sizes(NULL, NULL, NULL, NULL, &f->err)); }
static outcome m_file_fns_null_err(nfx *f)
{
    /* err NULL is allowed: the status alone */
    ck_assert_int_eq(tg_net_save(NULL, NULL, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_net_load(f->net, "/nonexistent/x.tgn", NULL), TG_ERR_IO);
    ck_assert_int_eq(tg_net_file_sizes("/nonexistent/x.tgn", NULL, NULL, NULL, NULL), TG_ERR_IO);
    ck_assert_int_eq(tg_mnist_read_set(NULL, NULL, NULL, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_mnist_load("/nonexistent", NULL, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_mnist_probe(NULL, NULL), TG_ERR_ARG);
    return o_status(TG_ERR_ARG);
}

static outcome m_read_set_null_images(nfx *f)
{
    tg_mnist_set out;
    return o_err(f, tg_mnist_read_set(NULL, "labels", &out, &f->err));
}
static outcome m_read_set_null_labels(nfx *f)
{
    tg_mnist_set out;
    return o_err(f, tg_mnist_read_set("images", NULL, &out, &f->err));
}
static outcome m_read_set_null_out(nfx *f) { return o_err(f, tg_mnist_read_set("images", "labels", NULL, &f->err)); }
static outcome m_load_null_dir(nfx *f)
{
    tg_mnist m;
    return o_err(f, tg_mnist_load(NULL, &m, &f->err));
}
static outcome m_load_null_mnist(nfx *f) { return o_err(f, tg_mnist_load(f->dir, NULL, &f->err)); }
static outcome m_probe_null_dir(nfx *f) { return o_err(f, tg_mnist_probe(NULL, &f->err)); }
static outcome m_probe_not_there(nfx *f)
{
    char p[600], want[700];
    snprintf(p, sizeof p, "%s/%s", f->dir, TG_MNIST_TRAIN_IMAGES);
    write_bytes(p, "", 0, 0);   /* tg_mnist_probe only opens the files */
    outcome o = o_err(f, tg_mnist_probe(f->dir, &f->err));
    snprintf(want, sizeof want, "%s: no %s[.gz] there", f->dir, TG_MNIST_TRAIN_LABELS);
    ck_assert_str_eq(f->err.msg, want);
    return o;
}
static outcome m_mnist_batch_null(nfx *f) { return o_status(tg_mnist_batch(NULL, NULL, 0, 1, f->x, f->t)); }
static outcome m_mnist_batch_idx(nfx *f) { size_t idx[1] = { 3 }; return o_status(tg_mnist_batch(&f->set, idx, 0, 1, f->x, f->t)); }
static outcome m_mnist_batch_past(nfx *f) { return o_status(tg_mnist_batch(&f->set, NULL, 3, 1, f->x, f->t)); }
static outcome m_mnist_batch_wrap(nfx *f) { return o_status(tg_mnist_batch(&f->set, NULL, 1, SIZE_MAX, f->x, f->t)); }
static outcome m_mnist_batch_no_images(nfx *f)
{
    f->set.images = NULL;
    tg_status s = tg_mnist_batch(&f->set, NULL, 0, 1, f->x, f->t);
    f->set.images = f->images;
    return o_status(s);
}
static outcome m_mnist_free_null(nfx *f) { (void)f; tg_mnist_set_free(NULL); tg_mnist_free(NULL); return o_int(0); }
static outcome m_rng_below_zero(nfx *f) { (void)f; tg_rng r = tg_rng_seed(1); return o_int((long)tg_rng_below(&r, 0)); }

typedef struct netcase {
    const char *what;
    const char *prefix;    /* of the net graph's message, or of f->err.msg for file calls */
    outcome (*call)(nfx *f);
    int e;                 /* rec: status on the net's graph; ret: returned */
    int via_err;           /* the message is in f->err */
} netcase;

#define NC(what, prefix, call, r, s) { what, prefix, call, E(r, s), 0 }
#define NE(what, prefix, call, s) { what, prefix, call, E(OK, s), 1 }
#define NC4(what, fn, call) \
    NC(what " (empty handle)", fn, call##_0, ERR_HANDLE, OK), \
    NC(what " (handle of another graph)", fn, call##_1, ERR_HANDLE, OK), \
    NC(what " (forged handle)", fn, call##_2, ERR_HANDLE, OK), \
    NC(what " (dropped by a rewind)", fn, call##_3, ERR_STALE, OK)

static const netcase netcases[] = {
    NC("tg_net_new with 0 inputs", "", m_net_new_0in, OK, OK),
    NC("tg_net_new with 0 hidden", "", m_net_new_0hid, OK, OK),
    NC("tg_net_new with 0 outputs", "", m_net_new_0out, OK, OK),
    NC("tg_net_new whose sizes overflow", "", m_net_new_overflow, OK, OK),
    NC("tg_net_new_with, memory short", "", m_net_new_huge, OK, OK),
    NC("tg_net_new_with an allocator without functions", "", m_net_new_bad_alloc, OK, OK),
    NC("tg_net_free(NULL)", "", m_net_free_null, OK, OK),
    NC("tg_net_graph(NULL)", "", m_net_graph_null, OK, OK),
    NC("sizes of a NULL net", "", m_net_sizes_null, OK, OK),
    NC("tg_net_param_name out of range", "", m_param_name_bad, OK, OK),
    NC("tg_net_param_size out of range", "", m_param_size_bad, OK, OK),
    NC("tg_net_get_params(NULL net)", "", m_get_params_null_net, OK, ERR_ARG),
    NC("tg_net_get_params into NULL", "", m_get_params_null_out, OK, ERR_ARG),
    NC("tg_net_get_grads(NULL net)", "", m_get_grads_null_net, OK, ERR_ARG),
    NC("tg_net_get_grads into NULL", "", m_get_grads_null_out, OK, ERR_ARG),
    NC("tg_net_predict(NULL net)", "", m_predict_null, OK, OK),
    NC("tg_net_loss(NULL net)", "", m_loss_null, OK, OK),
    NC4("tg_affine x", "tg_affine: x", m_affine_x),
    NC4("tg_affine W", "tg_affine: W", m_affine_w),
    NC4("tg_affine b", "tg_affine: b", m_affine_b),
    NC4("tg_net_predict x", "tg_net_predict: x", m_predict_x),
    NC4("tg_net_loss x", "tg_net_loss: x", m_loss_x),
    NC4("tg_net_loss t", "tg_net_loss: t", m_loss_t),
    NC("tg_affine 2x4 by 3x10", "tg_affine:", m_affine_shapes, ERR_SHAPE, OK),
    NC("tg_affine bias 1x10 on 2x3", "tg_affine:", m_affine_bias_shape, ERR_SHAPE, OK),
    NC("tg_net_loss with 2x4 labels", "tg_net_loss:", m_loss_t_shape, ERR_SHAPE, OK),
    NC("tg_net_batch(NULL net)", "", m_batch_null_net, OK, ERR_ARG),
    NC("tg_net_batch with x NULL", "tg_net_batch:", m_batch_null_x, ERR_ARG, ERR_ARG),
    NC("tg_net_batch of 0 rows", "tg_net_batch:", m_batch_zero, ERR_ARG, ERR_ARG),
    NC("tg_net_batch of 2^24 rows, memory short", "tg_net_batch:", m_batch_huge, ERR_NOMEM, ERR_NOMEM),
    NC("tg_net_batch_mnist(NULL net)", "", m_batch_mnist_null_net, OK, ERR_ARG),
    NC("tg_net_batch_mnist(NULL set)", "tg_net_batch_mnist:", m_batch_mnist_null_set, ERR_ARG, ERR_ARG),
    NC("tg_net_batch_mnist, 6 pixels for 4 inputs", "tg_net_batch_mnist:", m_batch_mnist_shape, ERR_SHAPE, ERR_SHAPE),
    NC("tg_net_batch_mnist, index past the set", "tg_net_batch_mnist:", m_batch_mnist_idx, ERR_ARG, ERR_ARG),
    NC("tg_net_batch_mnist, rows past the set", "tg_net_batch_mnist:", m_batch_mnist_past, ERR_ARG, ERR_ARG),
    NC("tg_net_batch_mnist, first + n wraps", "tg_net_batch_mnist:", m_batch_mnist_wrap, ERR_ARG, ERR_ARG),
    NC("tg_net_batch_mnist of 0 rows", "tg_net_batch_mnist:", m_batch_mnist_zero, ERR_ARG, ERR_ARG),
    NC("tg_net_batch_x(NULL)", "", m_batch_x_null, OK, OK),
    NC("tg_net_batch_t(NULL)", "", m_batch_t_null, OK, OK),
    NC("tg_net_batch_loss(NULL net)", "", m_batch_loss_null, OK, ERR_ARG),
    NC("tg_net_batch_loss without a batch", "tg_net_batch_loss:", m_batch_loss_nobatch, ERR_ARG, ERR_ARG),
    NC("tg_net_gradient(NULL net)", "", m_gradient_null, OK, ERR_ARG),
    NC("tg_net_gradient without a batch", "tg_net_gradient:", m_gradient_nobatch, ERR_ARG, ERR_ARG),
    NC("tg_net_numerical_gradient(NULL net)", "", m_numgrad_null, OK, ERR_ARG),
    NC("tg_net_numerical_gradient into NULL", "tg_net_numerical_gradient:", m_numgrad_null_out, ERR_ARG, ERR_ARG),
    NC("tg_net_numerical_gradient without a batch", "tg_net_", m_numgrad_nobatch, ERR_ARG, ERR_ARG),
    NC("tg_net_gradcheck(NULL net)", "", m_gradcheck_null, OK, ERR_ARG),
    NC("tg_net_gradcheck into NULL", "tg_net_gradcheck:", m_gradcheck_null_out, ERR_ARG, ERR_ARG),
    NC("tg_net_gradcheck without a batch", "tg_net_", m_gradcheck_nobatch, ERR_ARG, ERR_ARG),
    NC("tg_net_sgd(NULL net)", "", m_sgd_null, OK, ERR_ARG),
    NC("tg_net_train_step(NULL net)", "", m_train_null, OK, ERR_ARG),
    NC("tg_net_train_step without a batch", "tg_net_train_step:", m_train_nobatch, ERR_ARG, ERR_ARG),
    NC("tg_net_accuracy(NULL net)", "", m_accuracy_null, OK, ERR_ARG),
    NC("tg_net_accuracy(NULL set)", "tg_net_accuracy:", m_accuracy_null_set, ERR_ARG, ERR_ARG),
    NC("tg_net_accuracy into NULL", "tg_net_accuracy:", m_accuracy_null_out, ERR_ARG, ERR_ARG),
    NC("tg_net_accuracy of an empty set", "tg_net_accuracy:", m_accuracy_empty, ERR_ARG, ERR_ARG),
    NC("tg_net_accuracy of 1x2 images", "tg_net_accuracy:", m_accuracy_shape, ERR_SHAPE, ERR_SHAPE),
    NC("net functions refuse while an error stands", "tg_net_batch: x is NULL", m_refuse_while_error, ERR_ARG, ERR_ARG),
    NE("tg_net_save(NULL net)", "tg_net_save:", m_save_null_net, ERR_ARG),
    NE("tg_net_save(NULL path)", "tg_net_save:", m_save_null_path, ERR_ARG),
    NE("tg_net_load(NULL net)", "tg_net_load:", m_load_null_net, ERR_ARG),
    NE("tg_net_load(NULL path)", "tg_net_load:", m_load_null_path, ERR_ARG),
    NE("tg_net_file_sizes(NULL path)", "tg_net_file_sizes:", m_sizes_null_path, ERR_ARG),
    NC("file functions with err NULL", "", m_file_fns_null_err, OK, ERR_ARG),
    NE("tg_mnist_read_set(NULL images)", "tg_mnist_read_set:", m_read_set_null_images, ERR_ARG),
    NE("tg_mnist_read_set(NULL labels)", "tg_mnist_read_set:", m_read_set_null_labels, ERR_ARG),
    NE("tg_mnist_read_set(NULL out)", "tg_mnist_read_set:", m_read_set_null_out, ERR_ARG),
    NE("tg_mnist_load(NULL dir)", "tg_mnist_load:", m_load_null_dir, ERR_ARG),
    NE("tg_mnist_load(NULL out)", "tg_mnist_load:", m_load_null_mnist, ERR_ARG),
    NE("tg_mnist_probe(NULL dir)", "tg_mnist_probe:", m_probe_null_dir, ERR_ARG),
    NE("tg_mnist_probe in a directory without the data", "", m_probe_not_there, ERR_IO),
    NC("tg_mnist_batch(NULL set)", "", m_mnist_batch_null, OK, ERR_ARG),
    NC("tg_mnist_batch, index past the set", "", m_mnist_batch_idx, OK, ERR_ARG),
    NC("tg_mnist_batch, rows past the set", "", m_mnist_batch_past, OK, ERR_ARG),
    NC("tg_mnist_batch, first + n wraps", "", m_mnist_batch_wrap, OK, ERR_ARG),
    NC("tg_mnist_batch of a set without images", "", m_mnist_batch_no_images, OK, ERR_ARG),
    NC("tg_mnist_set_free(NULL), tg_mnist_free(NULL)", "", m_mnist_free_null, OK, OK),
    NC("tg_rng_below(r, 0)", "", m_rng_below_zero, OK, OK),
};
enum { NNET = sizeof netcases / sizeof netcases[0] };

START_TEST(net_case)
{
    const netcase *c = &netcases[_i];
    nfx f;
    nfx_init(&f);
    size_t n0 = tg_graph_size(f.g);
    double x0[2 * IN];
    memcpy(x0, f.x, sizeof x0);
    outcome o = c->call(&f);
    expect e = unpack(c->e);
    tg_status rec = tg_graph_status(f.g);
    ck_assert_msg(rec == e.rec, "%s: the net's graph holds %d (%s) \"%s\", expected %d", c->what,
                  (int)rec, tg_status_str(rec), tg_graph_errmsg(f.g), (int)e.rec);
    if (o.kind == R_STATUS)
        ck_assert_msg(o.st == e.ret, "%s: returned %d (%s), expected %d (%s)", c->what, (int)o.st,
                      tg_status_str(o.st), (int)e.ret, tg_status_str(e.ret));
    else
        ck_assert_msg(is_error_value(o), "%s: did not return its error value", c->what);
    const char *msg = c->via_err ? f.err.msg : tg_graph_errmsg(f.g);
    if (e.rec != TG_OK)   /* "A builder that fails records nothing on the tape." */
        ck_assert_msg(tg_graph_size(f.g) == n0, "%s (\"%s\"): the tape went from %zu to %zu nodes",
                      c->what, msg, n0, tg_graph_size(f.g));
    if (c->prefix[0])
        ck_assert_msg(strncmp(msg, c->prefix, strlen(c->prefix)) == 0,
                      "%s: message \"%s\" does not start with \"%s\"", c->what, msg, c->prefix);
    /* repair what a case changed in the fixture's data, then check the net */
    f.set = (tg_mnist_set){ 3, 2, 2, f.images, f.labels };
    memcpy(f.x, x0, sizeof x0);
    nfx_assert_consistent(&f, c->what);
    nfx_done(&f);
}
END_TEST

/* ------------------------------------------------------ the flat case list */

typedef struct flat { int table; int idx; kind k; } flat;  /* table 0 rows, 1 specials, 2 nullcases */
static flat cases[NROWS * K_COUNT + NSPECIALS + NNULL];
static int ncases;

static void build_cases(void)
{
    ncases = 0;
    for (int r = 0; r < NROWS; r++)
        for (int k = 0; k < K_COUNT; k++)
            if (unpack(rows[r].e[k]).applies) cases[ncases++] = (flat){ 0, r, (kind)k };
    for (int s = 0; s < NSPECIALS; s++) cases[ncases++] = (flat){ 1, s, K_COUNT };
    for (int n = 0; n < NNULL; n++) cases[ncases++] = (flat){ 2, n, K_COUNT };
}

static tg_node pick_bad(const fx *f, const row *r, kind k)
{
    switch (k) {
    case K_NULLG:   return pick_valid(f, r->v);
    case K_NONE:    return TG_NONE;
    case K_FOREIGN: return f->foreign;
    case K_FORGED:  return f->forged;
    case K_STALE:   return f->stale;
    case K_REUSED:  return f->reused;
    case K_TENSOR:  return f->t;
    case K_SCALAR:  return f->x;
    case K_COUNT:   break;
    }
    return TG_NONE;
}

static void check_outcome(fx *f, const char *what, const char *prefix, outcome o, expect e)
{
    tg_status rec = tg_graph_status(f->g);
    const char *msg = tg_graph_errmsg(f->g);
    ck_assert_msg(rec == e.rec, "%s: recorded status %d (%s) \"%s\", expected %d (%s)",
                  what, (int)rec, tg_status_str(rec), msg, (int)e.rec, tg_status_str(e.rec));
    if (e.rec != TG_OK) {
        ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0,
                      "%s: message \"%s\" does not start with \"%s\"", what, msg, prefix);
        size_t lp = strlen(prefix);
        ck_assert_msg(prefix[lp - 1] != ':' || strlen(msg) > lp + 1,
                      "%s: message \"%s\" says nothing", what, msg);
    }
    if (o.kind == R_STATUS)
        ck_assert_msg(o.st == e.ret, "%s: returned %d (%s), expected %d (%s)", what, (int)o.st,
                      tg_status_str(o.st), (int)e.ret, tg_status_str(e.ret));
    else
        ck_assert_msg(is_error_value(o), "%s: did not return its error value", what);
    /* A misused call adds nothing to the tape. */
    ck_assert_msg(tg_graph_size(f->g) == f->size || e.rec == TG_OK,
                  "%s: tape grew from %zu to %zu nodes on error", what, f->size, tg_graph_size(f->g));
}

START_TEST(misuse_case)
{
    const flat c = cases[_i];
    fx f;
    fx_init(&f);
    char what[256], prefix[64];
    if (c.table == 0) {
        const row *r = &rows[c.idx];
        snprintf(what, sizeof what, "%s(%s = %s)", r->fn, r->arg, kind_names[c.k]);
        if (c.k == K_TENSOR || c.k == K_SCALAR) snprintf(prefix, sizeof prefix, "%s:", r->fn);
        else snprintf(prefix, sizeof prefix, "%s: %s", r->fn, r->arg);
        tg_node h = pick_bad(&f, r, c.k);
        outcome o = r->call(c.k == K_NULLG ? NULL : f.g, &f, h);
        check_outcome(&f, what, prefix, o, unpack(r->e[c.k]));
        fx_assert_consistent(&f, what);
    } else if (c.table == 1) {
        const special *s = &specials[c.idx];
        snprintf(what, sizeof what, "%s", s->what);
        outcome o = s->call(&f);
        check_outcome(&f, what, s->prefix, o, unpack(s->e));
        fx_assert_consistent(&f, what);
    } else {
        const nullcase *n = &nullcases[c.idx];
        snprintf(what, sizeof what, "%s(NULL graph)", n->fn);
        outcome o = n->call(&f);
        if (o.kind == R_STATUS)
            ck_assert_msg(o.st == n->ret, "%s: returned %d, expected %d", what, (int)o.st, (int)n->ret);
        else if (o.kind == R_NODE)
            ck_assert_msg(tg_is_none(o.n), "%s: returned a node", what);
        else
            ck_assert_msg(o.i == 0, "%s: returned %ld, expected 0", what, o.i);
        fx_assert_consistent(&f, what);
    }
    fx_done(&f);
}
END_TEST

/* Each row's wrapper with valid arguments succeeds: the errors above come
 * from the misuse, not from the wrapper. */
START_TEST(rows_work_when_used_right)
{
    const row *rw = &rows[_i];
    fx f;
    fx_init(&f);
    outcome o = rw->call(f.g, &f, pick_valid(&f, rw->v));
    ck_assert_msg(tg_graph_status(f.g) == TG_OK, "%s(%s valid): %s", rw->fn, rw->arg, tg_graph_errmsg(f.g));
    ck_assert_msg(!is_error_value(o), "%s(%s valid) returned its error value", rw->fn, rw->arg);
    fx_done(&f);
}
END_TEST

static Suite *misuse_suite(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("cases");
    tcase_add_loop_test(tc, misuse_case, 0, ncases);
    tcase_add_loop_test(tc, rows_work_when_used_right, 0, NROWS);
    tcase_add_loop_test(tc, net_case, 0, NNET);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    build_cases();
    int nrow = 0;
    for (int i = 0; i < ncases; i++) nrow += cases[i].table == 0;
    printf("misuse cases: %d (%d function x argument x misuse, %d one-off, %d NULL graph, "
           "%d mnist.h and nn.h)\n", ncases + NNET, nrow, NSPECIALS, NNULL, NNET);
    fflush(stdout);
    return run_suite(misuse_suite());
}
