/*
 * What the tapegrad command works on: one graph, its variables and the
 * output, and the ways of showing them.
 */
#ifndef TOOL_SESSION_H
#define TOOL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <tapegrad/tapegrad.h>

#include "outfile.h"

typedef struct session {
    tg_graph *g;
    tg_node out;
    const char *out_name;   /* its statement name, or "f" */
    bool exact;             /* every digit (num_exact) instead of 15 */
} session;

/* The graph's variables in tape order: their count; up to max handles in vars. */
size_t session_vars(const session *s, tg_node *vars, size_t max);
/* A number as the person reads it (or every digit with exact), in buf. */
const char *session_num(const session *s, char *buf, size_t len, double v);

/* "price = 715" and the gradient, one variable a line. */
void print_value_and_gradient(session *s, FILE *f);
/* The same as one JSON object with the keys "value" and "gradient". */
void print_json(session *s, FILE *f);
/* --check: central differences of the whole output against the gradient,
 * and tg_check_partials node by node.  0 when both agree, 1 otherwise. */
int run_check(session *s, FILE *f);
/* --at -: CSV points (a header of variable names, then one line of values
 * a point) from in, one result line a point on f, replaying the tape.
 * 0, or 1 after a malformed line (said on stderr, with its line number). */
int run_points(session *s, FILE *in, FILE *f);
/* --step: the forward and backward walk with the chain-rule ledger. */
int run_step(session *s, FILE *f);
/* --html: the page that steps through the graph (html.c), written into o
 * (opened by outfile_open) and renamed into place; 0, or -1 with o
 * discarded and the reason on stderr. */
int write_html(session *s, outfile *o);

#endif
