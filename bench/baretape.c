/* The bare tape of baretape.h: inltape.h's functions, compiled here once. */
#include "baretape.h"

void bt_init(bt_tape *t) { il_init(t); }
void bt_free(bt_tape *t) { il_free(t); }
bt_id bt_leaf(bt_tape *t, double v) { return il_leaf(t, v); }
bt_id bt_add(bt_tape *t, bt_id a, bt_id b) { return il_add(t, a, b); }
bt_id bt_sub(bt_tape *t, bt_id a, bt_id b) { return il_sub(t, a, b); }
bt_id bt_mul(bt_tape *t, bt_id a, bt_id b) { return il_mul(t, a, b); }
bt_id bt_exp(bt_tape *t, bt_id a) { return il_exp(t, a); }
bt_id bt_recip(bt_tape *t, bt_id a) { return il_recip(t, a); }
bt_id bt_tanh(bt_tape *t, bt_id a) { return il_tanh(t, a); }
bt_id bt_sigmoid(bt_tape *t, bt_id a) { return il_sigmoid(t, a); }
bt_id bt_relu(bt_tape *t, bt_id a) { return il_relu(t, a); }
void bt_backward(bt_tape *t, bt_id out) { il_backward(t, out); }
void bt_forward(bt_tape *t) { il_forward(t); }
