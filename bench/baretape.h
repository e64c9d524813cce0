/*
 * A bare scalar tape: what a C programmer writes in an afternoon when no
 * engine is at hand.  One array of 32-byte nodes (value, adjoint, two
 * input indices, op), no handles to validate, no errors, no names, no
 * tensors.  It is the in-run reference of S1, S3 and S4 (and a second one
 * for S2): the issue measured such a tape at 24 ns for S1, 14 + 61 ms for
 * S2, 0.32 ms for S3 and 32 / 24 ms for S4, and tapegrad's targets sit
 * near those figures, so tapegrad / bare tape on the same machine in the
 * same run is the drift-free form of each target.
 *
 * Its builders are out-of-line calls in their own file, like tapegrad's,
 * so the comparison is between two libraries, not a library and inlined
 * code.
 */
#ifndef BENCH_BARETAPE_H
#define BENCH_BARETAPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum bt_op {
    BT_LEAF, BT_ADD, BT_MUL, BT_EXP, BT_RECIP, BT_TANH, BT_SIGMOID, BT_RELU
} bt_op;

typedef struct bt_node {
    double val, grad;
    uint32_t a, b;
    uint32_t op;
} bt_node;

typedef struct bt_tape {
    bt_node *node;
    size_t n, cap;
    size_t dirty;  /* adjoints [0, dirty) may be non-zero: nodes are born with 0 */
} bt_tape;

typedef uint32_t bt_id;

void  bt_init(bt_tape *t);
void  bt_free(bt_tape *t);
/* Leaves (variables and constants alike: nothing flows out of a leaf). */
bt_id bt_leaf(bt_tape *t, double v);
bt_id bt_add(bt_tape *t, bt_id a, bt_id b);
bt_id bt_mul(bt_tape *t, bt_id a, bt_id b);
bt_id bt_exp(bt_tape *t, bt_id a);
bt_id bt_recip(bt_tape *t, bt_id a);
bt_id bt_tanh(bt_tape *t, bt_id a);
bt_id bt_sigmoid(bt_tape *t, bt_id a);
bt_id bt_relu(bt_tape *t, bt_id a);
/* Zero the adjoints a previous sweep left, seed out with 1, sweep down. */
void  bt_backward(bt_tape *t, bt_id out);
static inline size_t bt_mark(const bt_tape *t) { return t->n; }
static inline void bt_rewind(bt_tape *t, size_t mark)
{
    t->n = mark;
    if (t->dirty > mark) t->dirty = mark;
}
static inline double bt_val(const bt_tape *t, bt_id i) { return t->node[i].val; }
static inline double bt_grad(const bt_tape *t, bt_id i) { return t->node[i].grad; }
static inline void   bt_set(bt_tape *t, bt_id i, double v) { t->node[i].val = v; }

#endif
