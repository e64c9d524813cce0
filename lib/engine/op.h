/*
 * The op registry: every op of tapegrad is defined here, once.
 *
 *   - its code, in enum tg_op below;
 *   - its row in op_table below: the identifier name that tg_node_op
 *     returns (and the expression language will read), the symbol drawn in
 *     DOT, its arity, its kind, whether it records a branch, and whether
 *     its partials are plain arithmetic (no call: swept in runs);
 *   - for an elementwise op, its math: one case each in op_value,
 *     op_partials and op_second (op_math.h), with the derivatives as
 *     comments;
 *   - its case in op_dispatch, which turns a recorded code into a literal;
 *   - for a tensor op, its row in the kernel table (tensor/tensor_kernels.c).
 *
 * Nothing else names an op.  The sweeps (sweep.c) and the elementwise
 * tensor kernels are step functions called through op_dispatch, so each is
 * compiled once per op with the op a constant: op_value and op_partials
 * fold to that op's one or two lines, and the op's row to constants.  No
 * switch has a default: -Wswitch-enum names any op that one forgets.
 *
 * Forward mode and second order (deriv.c) are columns, not switches: a
 * tangent is dy = da*ta + db*tb from op_partials, and second order reads
 * op_second (d2y/da2, d2y/dadb, d2y/db2), a case per elementwise op beside
 * op_partials; tensor ops have a tangent and a backward2 column in the
 * kernel table.
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
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_NEG, OP_EXP, OP_RECIP, OP_POW, OP_POWC,
    OP_LOG, OP_TANH, OP_SIGMOID, OP_RELU,
    OP_SQRT, OP_CBRT, OP_SIN, OP_COS, OP_TAN, OP_ASIN, OP_ACOS, OP_ATAN,
    OP_SINH, OP_COSH, OP_ASINH, OP_ACOSH, OP_ATANH, OP_EXPM1, OP_LOG1P,
    OP_LOG2, OP_LOG10, OP_ERF, OP_ERFC, OP_SOFTPLUS, OP_ABS,
    OP_ATAN2, OP_HYPOT, OP_MIN, OP_MAX,
    /* a user-defined scalar op (custom.c) */
    OP_CUSTOM,
    /* tensor kernels with a tensor result */
    OP_MATMUL, OP_SOFTMAX, OP_CONVERT,
    /* tensor kernels with a scalar result */
    OP_SUM, OP_MEAN, OP_XENT,
    OP_COUNT
} tg_op;

typedef enum op_kind {
    OPK_LEAF,         /* a variable or constant: no inputs, no math */
    OPK_ELEMENTWISE,  /* op_value / op_partials; on tensors, the elementwise kernels */
    OPK_CUSTOM,       /* a user-defined op: its callbacks (custom.c), scalars only */
    OPK_TENSOR,       /* a kernel of the kernel table, tensor-valued */
    OPK_REDUCE        /* a kernel of the kernel table, scalar-valued */
} op_kind;

typedef struct op_info {
    const char *name;    /* an identifier: [a-z][a-z0-9_]* */
    const char *symbol;  /* drawn inside the op's circle in DOT (HTML-escaped) */
    uint8_t arity;       /* inputs: 0, 1 or 2 (a custom op: its own, up to TG_CUSTOM_MAX_ARITY) */
    uint8_t kind;        /* op_kind */
    bool branch;         /* records which side of a kink it was taken on (relu, abs,
                            min, max): whether its partial in a is positive */
    bool plain;          /* its partials are arithmetic on a, b and y, no call: the
                            reverse sweep takes it in a run (sweep.c) */
} op_info;

/* The rows, indexed by tg_op. */
static const op_info op_table[] = {
    /*             name, symbol, arity, kind, branch, plain */
    [OP_VAR]      = { "var", "var", 0, OPK_LEAF, false, true },
    [OP_CONST]    = { "const", "const", 0, OPK_LEAF, false, true },
    [OP_ADD]      = { "add", "+", 2, OPK_ELEMENTWISE, false, true },
    [OP_SUB]      = { "sub", "&#8722;", 2, OPK_ELEMENTWISE, false, true },
    [OP_MUL]      = { "mul", "&#215;", 2, OPK_ELEMENTWISE, false, true },
    [OP_DIV]      = { "div", "&#247;", 2, OPK_ELEMENTWISE, false, true },
    [OP_NEG]      = { "neg", "&#8722;x", 1, OPK_ELEMENTWISE, false, true },
    [OP_EXP]      = { "exp", "exp", 1, OPK_ELEMENTWISE, false, true },
    [OP_RECIP]    = { "recip", "/", 1, OPK_ELEMENTWISE, false, true },
    [OP_POW]      = { "pow", "^", 2, OPK_ELEMENTWISE, false, false },
    [OP_POWC]     = { "powc", "^", 2, OPK_ELEMENTWISE, false, false },
    [OP_LOG]      = { "log", "log", 1, OPK_ELEMENTWISE, false, true },
    [OP_TANH]     = { "tanh", "tanh", 1, OPK_ELEMENTWISE, false, false },
    [OP_SIGMOID]  = { "sigmoid", "sigmoid", 1, OPK_ELEMENTWISE, false, false },
    [OP_RELU]     = { "relu", "ReLU", 1, OPK_ELEMENTWISE, true, true },
    [OP_SQRT]     = { "sqrt", "&#8730;", 1, OPK_ELEMENTWISE, false, true },
    [OP_CBRT]     = { "cbrt", "&#8731;", 1, OPK_ELEMENTWISE, false, false },
    [OP_SIN]      = { "sin", "sin", 1, OPK_ELEMENTWISE, false, false },
    [OP_COS]      = { "cos", "cos", 1, OPK_ELEMENTWISE, false, false },
    [OP_TAN]      = { "tan", "tan", 1, OPK_ELEMENTWISE, false, true },
    [OP_ASIN]     = { "asin", "asin", 1, OPK_ELEMENTWISE, false, false },
    [OP_ACOS]     = { "acos", "acos", 1, OPK_ELEMENTWISE, false, false },
    [OP_ATAN]     = { "atan", "atan", 1, OPK_ELEMENTWISE, false, true },
    [OP_SINH]     = { "sinh", "sinh", 1, OPK_ELEMENTWISE, false, false },
    [OP_COSH]     = { "cosh", "cosh", 1, OPK_ELEMENTWISE, false, false },
    [OP_ASINH]    = { "asinh", "asinh", 1, OPK_ELEMENTWISE, false, false },
    [OP_ACOSH]    = { "acosh", "acosh", 1, OPK_ELEMENTWISE, false, false },
    [OP_ATANH]    = { "atanh", "atanh", 1, OPK_ELEMENTWISE, false, true },
    [OP_EXPM1]    = { "expm1", "expm1", 1, OPK_ELEMENTWISE, false, false },
    [OP_LOG1P]    = { "log1p", "log1p", 1, OPK_ELEMENTWISE, false, true },
    [OP_LOG2]     = { "log2", "log2", 1, OPK_ELEMENTWISE, false, true },
    [OP_LOG10]    = { "log10", "log10", 1, OPK_ELEMENTWISE, false, true },
    [OP_ERF]      = { "erf", "erf", 1, OPK_ELEMENTWISE, false, false },
    [OP_ERFC]     = { "erfc", "erfc", 1, OPK_ELEMENTWISE, false, false },
    [OP_SOFTPLUS] = { "softplus", "softplus", 1, OPK_ELEMENTWISE, false, false },
    [OP_ABS]      = { "abs", "|x|", 1, OPK_ELEMENTWISE, true, true },
    [OP_ATAN2]    = { "atan2", "atan2", 2, OPK_ELEMENTWISE, false, false },
    [OP_HYPOT]    = { "hypot", "hypot", 2, OPK_ELEMENTWISE, false, false },
    [OP_MIN]      = { "min", "min", 2, OPK_ELEMENTWISE, true, true },
    [OP_MAX]      = { "max", "max", 2, OPK_ELEMENTWISE, true, true },
    [OP_CUSTOM]   = { "custom", "custom", 2, OPK_CUSTOM, false, false },
    [OP_MATMUL]   = { "matmul", "dot", 2, OPK_TENSOR, false, false },
    [OP_SOFTMAX]  = { "softmax", "softmax", 1, OPK_TENSOR, false, false },
    [OP_CONVERT]  = { "convert", "convert", 1, OPK_TENSOR, false, false },
    [OP_SUM]      = { "sum", "sum", 1, OPK_REDUCE, false, false },
    [OP_MEAN]     = { "mean", "mean", 1, OPK_REDUCE, false, false },
    [OP_XENT]     = { "softmax_cross_entropy", "softmax + loss", 2, OPK_REDUCE, false, false },
};
/* A row missing at the end shortens the table; one missing in the middle
 * is a NULL name, which tests/engine/test_registry.c finds.  Defined
 * here, not in a .c file, so that a row read with a literal op folds. */
_Static_assert(sizeof op_table / sizeof op_table[0] == OP_COUNT, "a row per op");


/* A recorded op code: the op, plus TENSOR_CODE when the tensor layer
 * computes the node (a tensor-valued node, or a kernel). */
enum { TENSOR_CODE = 0x80, OP_MASK = 0x7f };
_Static_assert((int)OP_COUNT <= (int)OP_MASK, "an op code fits beside TENSOR_CODE");

#include "op_math.h"

/* Call step(op, ctx) with op a constant: the one switch from a recorded op
 * code to a literal.  op_dispatch and step are inlined into the caller, so
 * each case becomes step compiled for that op alone, with op_table's row
 * and the math of op_value / op_partials folded in: a sweep or kernel is a
 * step function (one per mode), and its dispatch is this switch. */
static inline __attribute__((always_inline)) void
op_dispatch(tg_op op, void (*step)(tg_op op, void *ctx), void *ctx)
{
    switch (op) {
    case OP_VAR:      step(OP_VAR, ctx); return;
    case OP_CONST:    step(OP_CONST, ctx); return;
    case OP_ADD:      step(OP_ADD, ctx); return;
    case OP_SUB:      step(OP_SUB, ctx); return;
    case OP_MUL:      step(OP_MUL, ctx); return;
    case OP_DIV:      step(OP_DIV, ctx); return;
    case OP_NEG:      step(OP_NEG, ctx); return;
    case OP_EXP:      step(OP_EXP, ctx); return;
    case OP_RECIP:    step(OP_RECIP, ctx); return;
    case OP_POW:      step(OP_POW, ctx); return;
    case OP_POWC:     step(OP_POWC, ctx); return;
    case OP_LOG:      step(OP_LOG, ctx); return;
    case OP_TANH:     step(OP_TANH, ctx); return;
    case OP_SIGMOID:  step(OP_SIGMOID, ctx); return;
    case OP_RELU:     step(OP_RELU, ctx); return;
    case OP_SQRT:     step(OP_SQRT, ctx); return;
    case OP_CBRT:     step(OP_CBRT, ctx); return;
    case OP_SIN:      step(OP_SIN, ctx); return;
    case OP_COS:      step(OP_COS, ctx); return;
    case OP_TAN:      step(OP_TAN, ctx); return;
    case OP_ASIN:     step(OP_ASIN, ctx); return;
    case OP_ACOS:     step(OP_ACOS, ctx); return;
    case OP_ATAN:     step(OP_ATAN, ctx); return;
    case OP_SINH:     step(OP_SINH, ctx); return;
    case OP_COSH:     step(OP_COSH, ctx); return;
    case OP_ASINH:    step(OP_ASINH, ctx); return;
    case OP_ACOSH:    step(OP_ACOSH, ctx); return;
    case OP_ATANH:    step(OP_ATANH, ctx); return;
    case OP_EXPM1:    step(OP_EXPM1, ctx); return;
    case OP_LOG1P:    step(OP_LOG1P, ctx); return;
    case OP_LOG2:     step(OP_LOG2, ctx); return;
    case OP_LOG10:    step(OP_LOG10, ctx); return;
    case OP_ERF:      step(OP_ERF, ctx); return;
    case OP_ERFC:     step(OP_ERFC, ctx); return;
    case OP_SOFTPLUS: step(OP_SOFTPLUS, ctx); return;
    case OP_ABS:      step(OP_ABS, ctx); return;
    case OP_ATAN2:    step(OP_ATAN2, ctx); return;
    case OP_HYPOT:    step(OP_HYPOT, ctx); return;
    case OP_MIN:      step(OP_MIN, ctx); return;
    case OP_MAX:      step(OP_MAX, ctx); return;
    case OP_CUSTOM:   step(OP_CUSTOM, ctx); return;
    case OP_MATMUL:   step(OP_MATMUL, ctx); return;
    case OP_SOFTMAX:  step(OP_SOFTMAX, ctx); return;
    case OP_CONVERT:  step(OP_CONVERT, ctx); return;
    case OP_SUM:      step(OP_SUM, ctx); return;
    case OP_MEAN:     step(OP_MEAN, ctx); return;
    case OP_XENT:     step(OP_XENT, ctx); return;
    case OP_COUNT:   return;
    }
}

#endif
