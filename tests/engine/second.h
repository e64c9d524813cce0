/*
 * Shared by the suites of forward mode, Jacobians and Hessians: the entry
 * lists the five calls read and write (a scalar is one entry, a tensor its
 * rows*cols row-major, handles in order), gradients and their central
 * differences through tg_backward, and output arrays filled with a
 * sentinel to show that a failed call wrote nothing.
 */
#ifndef ENGINE_SECOND_H
#define ENGINE_SECOND_H

#include <stddef.h>

#include <tapegrad/tapegrad.h>

/* Entries of the n handles in x (N of the calls' contract). */
size_t entries_of(const tg_graph *g, size_t n, const tg_node *x);
/* Values of those entries into out, and from vals into the leaves
 * (tg_set_value / tg_tensor_set; the graph replays at its next sweep). */
void get_entries(const tg_graph *g, size_t n, const tg_node *x, double *out);
void set_entries(tg_graph *g, size_t n, const tg_node *x, const double *vals);

/* The gradient of scalar y w.r.t. the entries of x at the leaves' current
 * values, by tg_backward (which replays first when a leaf changed). */
void gradient_of(tg_graph *g, tg_node y, size_t n, const tg_node *x, double *grad);

/* The Hessian by central differences of tg_backward's gradient: column j
 * is (grad(p + h_j e_j) - grad(p - h_j e_j)) / (2 h_j), h_j = step *
 * max(1, |p_j|) rounded so that p_j +- h_j are exact.  The leaves are
 * restored (and the tape replayed) before it returns.  hess is N x N. */
void hessian_by_differences(tg_graph *g, tg_node y, size_t n, const tg_node *x, double step,
                            double *hess);

/* A bit pattern no computation returns, and tests for it. */
void fill_sentinel(double *a, size_t n);
int  all_sentinel(const double *a, size_t n);

/* max |a - b| / max(1, |b|) over n entries; where *at is not NULL it gets
 * the index of the largest. */
double max_scaled_diff(const double *a, const double *b, size_t n, size_t *at);

#endif
