/*
 * The inline tape: the scalar reverse-mode tape a C programmer writes in an
 * afternoon, whole in this header.  One array of 32-byte nodes (value,
 * adjoint, two input indices, op), builders as `static inline` functions
 * that the compiler folds into the caller, no handle checks, no errors, no
 * names, no tensors.  Growth doubles the array; out of memory ends the
 * program (it is a reference for timing, not a library).
 *
 * It is the in-run reference of S1-S4: tapegrad / inline tape, measured in
 * the same run, is the form of each target that does not drift with the
 * machine.  baretape.c puts the same builders behind out-of-line calls.
 */
#ifndef BENCH_INLTAPE_H
#define BENCH_INLTAPE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Growth stays out of the builders' inlined fast path. */
#if defined(__GNUC__)
#define IL_COLD __attribute__((noinline, cold, unused))
#else
#define IL_COLD
#endif

typedef enum il_op {
    IL_LEAF, IL_ADD, IL_SUB, IL_MUL, IL_DIV, IL_NEG, IL_SQUARE,
    IL_EXP, IL_RECIP, IL_TANH, IL_SIGMOID, IL_RELU
} il_op;

typedef struct il_node {
    double val, grad;
    uint32_t a, b;
    uint32_t op;
} il_node;

typedef struct il_tape {
    il_node *node;
    size_t n, cap;
    size_t dirty;  /* adjoints [0, dirty) may be non-zero: nodes are born with 0 */
} il_tape;

typedef uint32_t il_id;

static inline void il_init(il_tape *t) { memset(t, 0, sizeof *t); }

static inline void il_free(il_tape *t)
{
    free(t->node);
    memset(t, 0, sizeof *t);
}

static IL_COLD void il_grow(il_tape *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1024;
    il_node *p = realloc(t->node, cap * sizeof *p);
    if (!p) {
        fprintf(stderr, "inline tape: out of memory\n");
        exit(1);
    }
    t->node = p;
    t->cap = cap;
}

static inline il_id il_push(il_tape *t, il_op op, il_id a, il_id b, double v)
{
    if (t->n == t->cap) il_grow(t);
    il_node *nd = &t->node[t->n];
    nd->val = v;
    nd->grad = 0.0;
    nd->a = a;
    nd->b = b;
    nd->op = op;
    return (il_id)t->n++;
}

static inline double il_val(const il_tape *t, il_id i) { return t->node[i].val; }
static inline double il_grad(const il_tape *t, il_id i) { return t->node[i].grad; }
/* A leaf's new value; il_forward recomputes the rest. */
static inline void il_set(il_tape *t, il_id i, double v) { t->node[i].val = v; }
static inline size_t il_mark(const il_tape *t) { return t->n; }
static inline void il_rewind(il_tape *t, size_t mark)
{
    t->n = mark;
    if (t->dirty > mark) t->dirty = mark;
}

/* Variables and constants alike: nothing flows out of a leaf. */
static inline il_id il_leaf(il_tape *t, double v) { return il_push(t, IL_LEAF, 0, 0, v); }

#define IL_BINARY(name, OP, expr)                                          \
    static inline il_id il_##name(il_tape *t, il_id a, il_id b)            \
    {                                                                      \
        double x = t->node[a].val, y = t->node[b].val;                     \
        return il_push(t, OP, a, b, expr);                                 \
    }
#define IL_UNARY(name, OP, expr)                                           \
    static inline il_id il_##name(il_tape *t, il_id a)                     \
    {                                                                      \
        double x = t->node[a].val;                                         \
        return il_push(t, OP, a, a, expr);                                 \
    }
IL_BINARY(add, IL_ADD, x + y)
IL_BINARY(sub, IL_SUB, x - y)
IL_BINARY(mul, IL_MUL, x * y)
IL_BINARY(div, IL_DIV, x / y)
IL_UNARY(neg, IL_NEG, -x)
IL_UNARY(square, IL_SQUARE, x * x)
IL_UNARY(exp, IL_EXP, exp(x))
IL_UNARY(recip, IL_RECIP, 1.0 / x)
IL_UNARY(tanh, IL_TANH, tanh(x))
IL_UNARY(sigmoid, IL_SIGMOID, 1.0 / (1.0 + exp(-x)))
IL_UNARY(relu, IL_RELU, x > 0 ? x : 0.0)
#undef IL_BINARY
#undef IL_UNARY

/* Zero the adjoints a previous sweep left, seed out with 1, sweep down. */
static inline void il_backward(il_tape *t, il_id out)
{
    il_node *nd = t->node;
    for (size_t i = 0; i < t->dirty; i++) nd[i].grad = 0.0;
    t->dirty = (size_t)out + 1;
    nd[out].grad = 1.0;
    for (size_t i = (size_t)out + 1; i-- > 0;) {
        double g = nd[i].grad, y = nd[i].val;
        il_id a = nd[i].a, b = nd[i].b;
        switch ((il_op)nd[i].op) {
        case IL_LEAF:    break;
        case IL_ADD:     nd[a].grad += g; nd[b].grad += g; break;
        case IL_SUB:     nd[a].grad += g; nd[b].grad -= g; break;
        case IL_MUL:     nd[a].grad += g * nd[b].val; nd[b].grad += g * nd[a].val; break;
        case IL_DIV:     nd[a].grad += g / nd[b].val; nd[b].grad -= g * y / nd[b].val; break;
        case IL_NEG:     nd[a].grad -= g; break;
        case IL_SQUARE:  nd[a].grad += 2.0 * g * nd[a].val; break;
        case IL_EXP:     nd[a].grad += g * y; break;
        case IL_RECIP:   nd[a].grad -= g * y * y; break;
        case IL_TANH:    nd[a].grad += g * (1.0 - y * y); break;
        case IL_SIGMOID: nd[a].grad += g * y * (1.0 - y); break;
        case IL_RELU:    nd[a].grad += y > 0 ? g : 0.0; break;
        }
    }
}

/* Replay: recompute every value along the tape from the leaves' values. */
static inline void il_forward(il_tape *t)
{
    il_node *nd = t->node;
    for (size_t i = 0; i < t->n; i++) {
        double x = nd[nd[i].a].val, y = nd[nd[i].b].val, v;
        switch ((il_op)nd[i].op) {
        case IL_LEAF:    continue;
        case IL_ADD:     v = x + y; break;
        case IL_SUB:     v = x - y; break;
        case IL_MUL:     v = x * y; break;
        case IL_DIV:     v = x / y; break;
        case IL_NEG:     v = -x; break;
        case IL_SQUARE:  v = x * x; break;
        case IL_EXP:     v = exp(x); break;
        case IL_RECIP:   v = 1.0 / x; break;
        case IL_TANH:    v = tanh(x); break;
        case IL_SIGMOID: v = 1.0 / (1.0 + exp(-x)); break;
        case IL_RELU:    v = x > 0 ? x : 0.0; break;
        default:         continue;
        }
        nd[i].val = v;
    }
}

#endif
