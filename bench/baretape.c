/* The bare tape of baretape.h.  Out of memory ends the program: it is a
 * reference for timing, not a library. */
#include "baretape.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bt_init(bt_tape *t)
{
    memset(t, 0, sizeof *t);
}

void bt_free(bt_tape *t)
{
    free(t->node);
    memset(t, 0, sizeof *t);
}

static void grow(bt_tape *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1024;
    bt_node *p = realloc(t->node, cap * sizeof *p);
    if (!p) {
        fprintf(stderr, "bare tape: out of memory\n");
        exit(1);
    }
    t->node = p;
    t->cap = cap;
}

static inline bt_id push(bt_tape *t, bt_op op, bt_id a, bt_id b, double v)
{
    if (t->n == t->cap) grow(t);
    bt_node *nd = &t->node[t->n];
    nd->val = v;
    nd->grad = 0.0;
    nd->a = a;
    nd->b = b;
    nd->op = op;
    return (bt_id)t->n++;
}

bt_id bt_leaf(bt_tape *t, double v) { return push(t, BT_LEAF, 0, 0, v); }

bt_id bt_add(bt_tape *t, bt_id a, bt_id b)
{
    return push(t, BT_ADD, a, b, t->node[a].val + t->node[b].val);
}

bt_id bt_mul(bt_tape *t, bt_id a, bt_id b)
{
    return push(t, BT_MUL, a, b, t->node[a].val * t->node[b].val);
}

bt_id bt_exp(bt_tape *t, bt_id a) { return push(t, BT_EXP, a, a, exp(t->node[a].val)); }
bt_id bt_recip(bt_tape *t, bt_id a) { return push(t, BT_RECIP, a, a, 1.0 / t->node[a].val); }
bt_id bt_tanh(bt_tape *t, bt_id a) { return push(t, BT_TANH, a, a, tanh(t->node[a].val)); }

bt_id bt_sigmoid(bt_tape *t, bt_id a)
{
    double x = t->node[a].val;
    return push(t, BT_SIGMOID, a, a, 1.0 / (1.0 + exp(-x)));
}

bt_id bt_relu(bt_tape *t, bt_id a)
{
    double x = t->node[a].val;
    return push(t, BT_RELU, a, a, x > 0 ? x : 0.0);
}

void bt_backward(bt_tape *t, bt_id out)
{
    bt_node *nd = t->node;
    for (size_t i = 0; i < t->dirty; i++) nd[i].grad = 0.0;
    t->dirty = (size_t)out + 1;
    nd[out].grad = 1.0;
    for (size_t i = (size_t)out + 1; i-- > 0;) {
        double g = nd[i].grad, y = nd[i].val;
        bt_id a = nd[i].a, b = nd[i].b;
        switch ((bt_op)nd[i].op) {
        case BT_LEAF:    break;
        case BT_ADD:     nd[a].grad += g; nd[b].grad += g; break;
        case BT_MUL:     nd[a].grad += g * nd[b].val; nd[b].grad += g * nd[a].val; break;
        case BT_EXP:     nd[a].grad += g * y; break;
        case BT_RECIP:   nd[a].grad -= g * y * y; break;
        case BT_TANH:    nd[a].grad += g * (1.0 - y * y); break;
        case BT_SIGMOID: nd[a].grad += g * y * (1.0 - y); break;
        case BT_RELU:    nd[a].grad += y > 0 ? g : 0.0; break;
        }
    }
}
