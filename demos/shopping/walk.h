/*
 * Walking a recorded tape the way the book draws it: the forward pass node
 * by node, the backward pass in reverse tape order with each chain-rule
 * product written out (the ledger), and the gradients.  Shared by the
 * shopping demo and the tapegrad command.
 */
#ifndef WALK_H
#define WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <tapegrad/tapegrad.h>

enum { WALK_LABEL = 32, WALK_BUFS = 8 };

typedef struct walk {
    tg_graph *g;
    tg_node out;            /* the output whose gradient is walked */
    size_t n;               /* nodes walked forward: the tape up to out, or more */
    /* A readable name per tape position, n of them, the caller's storage;
     * label_rest fills the ones left empty. */
    char (*label)[WALK_LABEL];
    bool exact;             /* every digit the doubles hold */
    bool rounded;           /* a number was shown rounded (for a closing note) */
    double rounded_example;
    bool pausing;           /* wait for Enter after each step (stdin a terminal) */
    FILE *out_file;         /* where it is printed; NULL: stdout */
    void (*on_step)(struct walk *d);  /* called after each step is printed; may be NULL */
    void *ctx;              /* the caller's, for on_step */
    char bufs[WALK_BUFS][40];
    int next_buf;
} walk;

/* A number for printing (num_str, or num_exact with exact); several may be
 * used in one printf. */
const char *walk_num(walk *d, double v);
/* Labels for the nodes without one: the node's name, a constant's value,
 * or t<position>. */
void walk_label_rest(walk *d);
bool walk_is_leaf(const walk *d, tg_node n);
/* The passes; false when the person quit at a pause. */
bool walk_forward(walk *d);
bool walk_backward(walk *d);
/* "out = value.  Gradients ..." and one line per variable (tg_grad). */
void walk_gradients(walk *d);

#endif
