/*
 * The op table: every op's forward value and local derivatives, in one
 * place.  Scalar nodes and tensor elements both go through op_value and
 * op_partials, and so will forward-mode tangents (dy = da*ta + db*tb) and
 * second-order sweeps (a sibling op_second_partials beside these two).
 *
 * The switches have no default: -Wswitch-enum then names any op that one
 * pass handles and another forgets.
 */
#ifndef TG_OP_H
#define TG_OP_H

#include <math.h>
#include <stdint.h>

typedef enum tg_op {
    /* scalar leaves */
    OP_VAR, OP_CONST,
    /* scalar primitives */
    OP_ADD, OP_MUL, OP_EXP, OP_RECIP, OP_POW, OP_POWC,
    /* scalar fused primitives */
    OP_LOG, OP_TANH, OP_SIGMOID, OP_RELU,
    /* tensors; their element op, flags and shape sit in the tensor record */
    OP_TVAR, OP_TCONST,
    OP_TUNARY,      /* elementwise exp, recip, log, tanh, sigmoid, relu */
    OP_TBINARY,     /* elementwise add, mul, pow, powc with broadcasting */
    OP_MATMUL,      /* C = op(A) op(B) */
    OP_SOFTMAX,     /* row-wise */
    /* scalar results of tensors */
    OP_SUM, OP_MEAN,
    OP_XENT,        /* a: the softmax node, b: one-hot labels */
    OP_COUNT
} tg_op;

extern const char *const op_names[OP_COUNT];
extern const uint8_t op_arity[OP_COUNT];

static inline int op_is_tensor(tg_op op)
{
    return op >= OP_TVAR && op <= OP_SOFTMAX;
}

/* sigmoid(x) without overflow: exp only of -|x|. */
static inline double sigmoid_value(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* The value of a scalar op at inputs a, b.  Leaves and tensor ops have no
 * scalar formula; their callers never ask. */
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
    case OP_VAR: case OP_CONST: case OP_TVAR: case OP_TCONST: case OP_TUNARY:
    case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM: case OP_MEAN:
    case OP_XENT: case OP_COUNT:
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

/* Local derivatives of y = op(a, b): *da = dy/da, *db = dy/db.  They read
 * the inputs as well as y where that keeps them accurate. */
static inline void op_partials(tg_op op, double a, double b, double y,
                               double *da, double *db)
{
    *db = 0.0;
    switch (op) {
    case OP_ADD:     /* d(a+b) = 1, 1 */
        *da = 1.0; *db = 1.0; return;
    case OP_MUL:     /* d(ab) = b, a */
        *da = b; *db = a; return;
    case OP_EXP:     /* d exp(a)/da = y */
        *da = y; return;
    case OP_RECIP:   /* d(1/a)/da = -y*y */
        *da = -y * y; return;
    case OP_POW:     /* d a^b = b a^(b-1), y ln a; 0^b is flat in b for b > 0 */
        *da = pow_da(a, b);
        *db = (a == 0 && b > 0) ? 0.0 : y * log(a);
        return;
    case OP_POWC:    /* d a^k/da = k a^(k-1); k is a constant */
        *da = pow_da(a, b); return;
    case OP_LOG:     /* d ln a/da = 1/a */
        *da = 1.0 / a; return;
    case OP_TANH: {  /* d tanh/da = (1-y)(1+y); where |y| > 1/2 that cancels, so 4e/(1+e)^2, e = exp(-2|a|) */
        if (fabs(y) <= 0.5) { *da = (1.0 - y) * (1.0 + y); return; }
        double e = exp(-2.0 * fabs(a));
        *da = 4.0 * e / ((1.0 + e) * (1.0 + e));
        return;
    }
    case OP_SIGMOID: { /* d sig/da = y(1-y): exact enough for a <= 0; for a > 0, where y rounds to 1, e/(1+e)^2, e = exp(-a) */
        if (!(a > 0)) { *da = y * (1.0 - y); return; }
        double e = exp(-a);
        *da = e / ((1.0 + e) * (1.0 + e));
        return;
    }
    case OP_RELU:    /* d relu/da = [a > 0] */
        *da = a > 0 ? 1.0 : 0.0; return;
    case OP_VAR: case OP_CONST: case OP_TVAR: case OP_TCONST: case OP_TUNARY:
    case OP_TBINARY: case OP_MATMUL: case OP_SOFTMAX: case OP_SUM: case OP_MEAN:
    case OP_XENT: case OP_COUNT:
        break;
    }
    *da = NAN;
}

#endif
