/*
 * Walking a recorded tape node by node, forward and then backward with
 * each chain-rule product spelled out, for a person to follow.  Used by
 * the shopping demo; it knows nothing of command lines.
 *
 *     walk w = { .g = g, .out = price, .n = tg_graph_size(g),
 *                .pausing = isatty(0), .erase_prompt = isatty(1) };
 *     walk_name_node(&w, apple_price, "apple_price");   // optional
 *     walk_label_rest(&w);
 *     if (walk_forward(&w) && walk_backward(&w)) walk_gradients(&w);
 */
#ifndef DEMO_WALK_H
#define DEMO_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <tapegrad/tapegrad.h>

#define MAX_NODES 32
#define NUM_BUFS 8
#define WALK_LABEL 32

/* The prompt shown at each pause. */
#define WALK_PROMPT "    [Enter] next step   [c Enter] run to the end   [q Enter] quit > "

typedef struct walk {
    tg_graph *g;
    tg_node out;        /* swept with tg_backward already */
    size_t n;           /* nodes on the tape, at most label_cap */
    /* A readable name per tape position: the variable's own name, a name
     * the caller gives an intermediate node (apple_price), or a constant's
     * value.  tapegrad names only variables; the rest is the caller's.
     * The caller's storage, label_cap of them (at least n). */
    char (*label)[WALK_LABEL];
    size_t label_cap;
    bool exact;         /* every digit the doubles hold */
    bool rounded;       /* a number was shown rounded (see rounded_example) */
    double rounded_example;
    bool pausing;       /* wait for Enter after each step (stdin a terminal) */
    bool erase_prompt;  /* stdout is a terminal: take each answered prompt back */
    FILE *out_file;     /* where the walk is printed; NULL: stdout */
    /* Called after each node's step is printed, paused or not (the
     * tapegrad command's HTML page cuts the ledger there); may be NULL. */
    void (*on_step)(struct walk *w, void *ctx);
    void *ctx;
    char bufs[NUM_BUFS][40];
    int next_buf;
} walk;

/* A number for printing (15 digits, or every digit when exact); several
 * may be used in one printf. */
const char *walk_num(walk *w, double v);

/* Name an intermediate node; then label the rest from the tape. */
void walk_name_node(walk *w, tg_node n, const char *label);
void walk_label_rest(walk *w);

bool walk_is_leaf(const walk *w, tg_node n);

/* The forward pass, then the backward pass with its ledger; false when the
 * person quit at a pause. */
bool walk_forward(walk *w);
bool walk_backward(walk *w);

/* "price = 715.  Gradients, d price/d variable (tg_grad):" and the table. */
void walk_gradients(walk *w);

#endif
