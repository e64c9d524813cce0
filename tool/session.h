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

/* Second order and forward mode (second.c): what was asked, for the
 * variables in tape order and the outputs (the --output statements, or
 * the expression's own output). */
typedef struct derived {
    size_t nvars, nout;
    tg_node *vars, *outs;
    const char **out_names;
    double *hess;   /* nvars x nvars, or NULL */
    double *jac;    /* nout x nvars, or NULL */
    double *jvp;    /* nout, or NULL */
} derived;
/* Compute them; direction (one entry per variable) asks for the JVP.  0,
 * or 1 with the reason on stderr. */
int derive(session *s, derived *d, bool hessian, bool jacobian, const char *const *outputs, size_t nout,
           const double *direction);
void derived_free(derived *d);
/* As tables after the gradient, and as the JSON object's further keys
 * ("hessian", "jacobian", "jvp"). */
void print_derived(session *s, const derived *d, FILE *f);
void json_derived(session *s, const derived *d, FILE *f);

/* JSON text: a string, and a number with every digit or, non-finite, the
 * string "nan", "inf" or "-inf". */
void json_string(FILE *f, const char *s);
void json_double(FILE *f, double v);

/* "price = 715" and the gradient, one variable a line. */
void print_value_and_gradient(session *s, FILE *f);
/* The same as one JSON object with the keys "value" and "gradient", and
 * those of d (may be NULL). */
void print_json(session *s, const derived *d, FILE *f);
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
