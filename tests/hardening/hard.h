/*
 * Shared by the hardening suites: a reference computation to show that a
 * graph still works after an error, and the asserts they make on results.
 */
#ifndef HARD_H
#define HARD_H

#include <check.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

/* ------------------------------------------- "the graph still works" probe */

/* Record f = (x*y + exp(x/y)) * sigmoid(x - y) with x = 1.5, y = -0.75 on g
 * (after whatever g already holds), backward-sweep it and compare value and
 * both gradients, bit for bit, to the same expression on a fresh graph.
 * Fails the test (naming `what`) when they differ or g records an error.
 * The nodes it records are rewound afterwards. */
void assert_graph_works(tg_graph *g, const char *what);

/* Same on tensors: a 2x3 input through matmul, bias add, relu, softmax
 * cross-entropy, compared bit for bit to a fresh graph. */
void assert_tensor_graph_works(tg_graph *g, const char *what);

/* --------------------------------------------------------------- asserts */

/* The message starts with prefix. */
#define ck_assert_prefix(msg, prefix)                                               \
    do {                                                                            \
        const char *m_ = (msg), *p_ = (prefix);                                     \
        ck_assert_msg(m_ && strncmp(m_, p_, strlen(p_)) == 0,                      \
                      "message \"%s\" does not start with \"%s\"", m_ ? m_ : "(null)", p_); \
    } while (0)

/* Bitwise equality of doubles (NaN equals NaN of the same bits). */
int same_bits(double a, double b);

#endif
