/*
 * The op registry: every op of tapegrad is defined here, once.
 *
 *   - its code, in enum tg_op below;
 *   - its row in op_table below: the identifier name that tg_node_op
 *     returns (and the expression language will read), the symbol drawn in
 *     DOT, its arity, its kind and whether it records a branch;
 *   - for an elementwise op, its math: one case in op_value and one in
 *     op_partials below, with the derivative as a comment;
 *   - its case in op_dispatch, which turns a recorded code into a literal;
 *   - for a tensor op, its row in the kernel table (tensor/tensor_kernels.c).
 *
 * Nothing else names an op.  The sweeps (sweep.c) and the elementwise
 * tensor kernels are step functions called through op_dispatch, so each is
 * compiled once per op with the op a constant: op_value and op_partials
 * fold to that op's one or two lines, and the op's row to constants.  No
 * switch has a default: -Wswitch-enum names any op that one forgets.
 *
 * Room for the next modes.  A forward-mode tangent needs nothing per op:
 * dy = da*ta + db*tb from op_partials.  Second order adds one sibling,
 * op_second_partials (d2y/da2, d2y/dadb, d2y/db2), with a case per
 * elementwise op beside these two, and the kernel table a tangent and a
 * second-order column for tensor ops.
 */
#ifndef TG_OP_H
#define TG_OP_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum tg_op {
    /* leaves */
    OP_VAR, OP_CONST,
    /* elementwise: scalars, and tensors element by element */
    OP_ADD, OP_MUL, OP_EXP, OP_RECIP, OP_POW, OP_POWC,
    OP_LOG, OP_TANH, OP_SIGMOID, OP_RELU,
    /* tensor kernels with a tensor result */
    OP_MATMUL, OP_SOFTMAX,
    /* tensor kernels with a scalar result */
    OP_SUM, OP_MEAN, OP_XENT,
    OP_COUNT
} tg_op;

typedef enum op_kind {
    OPK_LEAF,         /* a variable or constant: no inputs, no math */
    OPK_ELEMENTWISE,  /* op_value / op_partials; on tensors, the elementwise kernels */
    OPK_TENSOR,       /* a kernel of the kernel table, tensor-valued */
    OPK_REDUCE        /* a kernel of the kernel table, scalar-valued */
} op_kind;

typedef struct op_info {
    const char *name;    /* an identifier: [a-z][a-z0-9_]* */
    const char *symbol;  /* drawn inside the op's circle in DOT (HTML-escaped) */
    uint8_t arity;       /* inputs: 0, 1 or 2 */
    uint8_t kind;        /* op_kind */
    bool branch;         /* records which side of a kink it was taken on (relu) */
} op_info;

/* The rows, indexed by tg_op. */
static const op_info op_table[] = {
    /*              name          symbol           arity kind             branch */
    [OP_VAR]     = { "var",      "var",            0, OPK_LEAF,        false },
    [OP_CONST]   = { "const",    "const",          0, OPK_LEAF,        false },
    [OP_ADD]     = { "add",      "+",              2, OPK_ELEMENTWISE, false },
    [OP_MUL]     = { "mul",      "&#215;",         2, OPK_ELEMENTWISE, false },
    [OP_EXP]     = { "exp",      "exp",            1, OPK_ELEMENTWISE, false },
    [OP_RECIP]   = { "recip",    "/",              1, OPK_ELEMENTWISE, false },
    [OP_POW]     = { "pow",      "^",              2, OPK_ELEMENTWISE, false },
    [OP_POWC]    = { "powc",     "^",              2, OPK_ELEMENTWISE, false },
    [OP_LOG]     = { "log",      "log",            1, OPK_ELEMENTWISE, false },
    [OP_TANH]    = { "tanh",     "tanh",           1, OPK_ELEMENTWISE, false },
    [OP_SIGMOID] = { "sigmoid",  "sigmoid",        1, OPK_ELEMENTWISE, false },
    [OP_RELU]    = { "relu",     "ReLU",           1, OPK_ELEMENTWISE, true  },
    [OP_MATMUL]  = { "matmul",   "dot",            2, OPK_TENSOR,      false },
    [OP_SOFTMAX] = { "softmax",  "softmax",        1, OPK_TENSOR,      false },
    [OP_SUM]     = { "sum",      "sum",            1, OPK_REDUCE,      false },
    [OP_MEAN]    = { "mean",     "mean",           1, OPK_REDUCE,      false },
    [OP_XENT]    = { "softmax_cross_entropy", "softmax + loss", 2, OPK_REDUCE, false },
};
/* A row missing at the end shortens the table; one missing in the middle
 * is a NULL name, which tests/engine/test_registry.c finds.  Defined
 * here, not in a .c file, so that a row read with a literal op folds. */
_Static_assert(sizeof op_table / sizeof op_table[0] == OP_COUNT, "a row per op");


/* A recorded op code: the op, plus TENSOR_CODE when the tensor layer
 * computes the node (a tensor-valued node, or a kernel). */
enum { TENSOR_CODE = 0x80, OP_MASK = 0x7f };
_Static_assert((int)OP_COUNT <= (int)OP_MASK, "an op code fits beside TENSOR_CODE");

/* sigmoid(x) without overflow: exp only of -|x|. */
static inline double sigmoid_value(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* The value of an elementwise op at inputs a, b (b repeats a for a unary
 * op).  The others have no scalar formula and are never asked. */
static inline double op_value(tg_op op, double a, double b)
{
    switch (op) {
    case OP_ADD:     return a + b;
    case OP_MUL:     return a * b;
    case OP_EXP:     return exp(a);
    case OP_RECIP:   return 1.0 / a;
    case OP_POW:     return pow(a, b);
    case OP_POWC:    return pow(a, b);
    case OP_LOG:     return log(a);
    case OP_TANH:    return tanh(a);
    case OP_SIGMOID: return sigmoid_value(a);
    case OP_RELU:    return a <= 0 ? 0.0 : a;  /* NaN stays NaN */
    case OP_VAR: case OP_CONST: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM:
    case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
    return NAN;
}

/* d pow(a,b) / da.  b == 0 is constant 1 (even at a == 0, where the
 * literal formula gives 0 * inf). */
static inline double pow_da(double a, double b)
{
    return b == 0 ? 0.0 : b * pow(a, b - 1.0);
}

/* Local derivatives of y = op(a, b): *da = dy/da, *db = dy/db.  Returns
 * how many inputs take a derivative: 2, 1 (only a; *db is 0), or 0 for an
 * op without scalar math.  The count is a constant in each case, so a
 * caller's test of it folds into the case.  They read the inputs as well
 * as y where that keeps them accurate. */
static inline int op_partials(tg_op op, double a, double b, double y, double *da, double *db)
{
    *db = 0.0;
    switch (op) {
    case OP_ADD:     /* d(a+b) = 1, 1 */
        *da = 1.0; *db = 1.0; return 2;
    case OP_MUL:     /* d(ab) = b, a */
        *da = b; *db = a; return 2;
    case OP_EXP:     /* d exp(a)/da = y */
        *da = y; return 1;
    case OP_RECIP:   /* d(1/a)/da = -y*y */
        *da = -y * y; return 1;
    case OP_POW:     /* d a^b = b a^(b-1), y ln a; 0^b is flat in b for b > 0 */
        *da = pow_da(a, b);
        *db = (a == 0 && b > 0) ? 0.0 : y * log(a);
        return 2;
    case OP_POWC:    /* d a^k/da = k a^(k-1); k is a constant */
        *da = pow_da(a, b); return 1;
    case OP_LOG:     /* d ln a/da = 1/a */
        *da = 1.0 / a; return 1;
    case OP_TANH: {  /* d tanh/da = (1-y)(1+y); where |y| > 1/2 that cancels, so 4e/(1+e)^2, e = exp(-2|a|) */
        if (fabs(y) <= 0.5) { *da = (1.0 - y) * (1.0 + y); return 1; }
        double e = exp(-2.0 * fabs(a));
        *da = 4.0 * e / ((1.0 + e) * (1.0 + e));
        return 1;
    }
    case OP_SIGMOID: { /* d sig/da = y(1-y): exact enough for a <= 0; for a > 0, where y rounds to 1, e/(1+e)^2, e = exp(-a) */
        if (!(a > 0)) { *da = y * (1.0 - y); return 1; }
        double e = exp(-a);
        *da = e / ((1.0 + e) * (1.0 + e));
        return 1;
    }
    case OP_RELU:    /* d relu/da = [a > 0] */
        *da = a > 0 ? 1.0 : 0.0; return 1;
    case OP_VAR: case OP_CONST: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM:
    case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
    *da = NAN;
    return 0;
}

/* Call step(op, ctx) with op a constant: the one switch from a recorded op
 * code to a literal.  op_dispatch and step are inlined into the caller, so
 * each case becomes step compiled for that op alone, with op_table's row
 * and the math of op_value / op_partials folded in: a sweep or kernel is a
 * step function (one per mode), and its dispatch is this switch. */
static inline __attribute__((always_inline)) void
op_dispatch(tg_op op, void (*step)(tg_op op, void *ctx), void *ctx)
{
    switch (op) {
    case OP_VAR:     step(OP_VAR, ctx); return;
    case OP_CONST:   step(OP_CONST, ctx); return;
    case OP_ADD:     step(OP_ADD, ctx); return;
    case OP_MUL:     step(OP_MUL, ctx); return;
    case OP_EXP:     step(OP_EXP, ctx); return;
    case OP_RECIP:   step(OP_RECIP, ctx); return;
    case OP_POW:     step(OP_POW, ctx); return;
    case OP_POWC:    step(OP_POWC, ctx); return;
    case OP_LOG:     step(OP_LOG, ctx); return;
    case OP_TANH:    step(OP_TANH, ctx); return;
    case OP_SIGMOID: step(OP_SIGMOID, ctx); return;
    case OP_RELU:    step(OP_RELU, ctx); return;
    case OP_MATMUL:  step(OP_MATMUL, ctx); return;
    case OP_SOFTMAX: step(OP_SOFTMAX, ctx); return;
    case OP_SUM:     step(OP_SUM, ctx); return;
    case OP_MEAN:    step(OP_MEAN, ctx); return;
    case OP_XENT:    step(OP_XENT, ctx); return;
    case OP_COUNT:   return;
    }
}

/* The side of its kink a branch op is on at input a (relu: a > 0).  The
 * replay compares it with the side recorded. */
static inline bool op_branch_side(double a)
{
    return a > 0;
}

#endif
