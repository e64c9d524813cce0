/*
 * The bare tape: the inline tape of inltape.h with its builders, sweep and
 * replay behind out-of-line calls in their own file, as tapegrad's are.
 * Same nodes, same arithmetic, same storage; the two references differ
 * only in what the compiler can fold into the caller, so tapegrad / bare
 * tape isolates the rest of tapegrad's cost from that of a call per op.
 */
#ifndef BENCH_BARETAPE_H
#define BENCH_BARETAPE_H

#include "inltape.h"

typedef il_tape bt_tape;
typedef il_id bt_id;

void  bt_init(bt_tape *t);
void  bt_free(bt_tape *t);
/* Leaves (variables and constants alike: nothing flows out of a leaf). */
bt_id bt_leaf(bt_tape *t, double v);
bt_id bt_add(bt_tape *t, bt_id a, bt_id b);
bt_id bt_sub(bt_tape *t, bt_id a, bt_id b);
bt_id bt_mul(bt_tape *t, bt_id a, bt_id b);
bt_id bt_exp(bt_tape *t, bt_id a);
bt_id bt_recip(bt_tape *t, bt_id a);
bt_id bt_tanh(bt_tape *t, bt_id a);
bt_id bt_sigmoid(bt_tape *t, bt_id a);
bt_id bt_relu(bt_tape *t, bt_id a);
/* Zero the adjoints a previous sweep left, seed out with 1, sweep down. */
void  bt_backward(bt_tape *t, bt_id out);
/* Recompute every value from the leaves' values. */
void  bt_forward(bt_tape *t);
/* Reading and writing a node is a load or a store, inline in both tapes. */
static inline size_t bt_mark(const bt_tape *t) { return il_mark(t); }
static inline void bt_rewind(bt_tape *t, size_t mark) { il_rewind(t, mark); }
static inline double bt_val(const bt_tape *t, bt_id i) { return il_val(t, i); }
static inline double bt_grad(const bt_tape *t, bt_id i) { return il_grad(t, i); }
static inline void   bt_set(bt_tape *t, bt_id i, double v) { il_set(t, i, v); }

#endif
