/*
 * One op measured: its value and local derivatives as tapegrad gives them
 * through the public API (the op recorded on tg_var nodes, tg_value, then
 * tg_backward and tg_grad, checked against tg_node_partials), against the
 * MPFR reference, at every point of its sample.
 */
#ifndef ACCURACY_MEASURE_H
#define ACCURACY_MEASURE_H

#include <stdbool.h>
#include <stddef.h>

#include <tapegrad/tapegrad.h>

#include "points.h"
#include "reference.h"

/* An op of the table.  Exactly one of unary, binary, with_constant is set;
 * with_constant (tg_powc) takes b as a constant, so only d/da is measured.
 * A unary op draws from `points`; the others from `pairs`. */
typedef struct op_row {
    const char *name;
    tg_node (*unary)(tg_graph *, tg_node);
    tg_node (*binary)(tg_graph *, tg_node, tg_node);
    tg_node (*with_constant)(tg_graph *, tg_node, double);
    reference_fn *ref;
    sampler points;
    pair_kind pairs;
    double value_ulps;  /* bound on the value's error */
    double deriv_ulps;  /* bound on every derivative's error */
    bool arithmetic;    /* sub, div, neg: the partials are their formulas' IEEE results also
                           where the value is NaN, as add's and mul's are */
} op_row;

/* The point where an error was largest. */
typedef struct worst_case {
    double ulps;        /* 0 until a point is measured */
    double a, b;        /* b is NaN for a unary op */
    int input;          /* 0 for the value; k for d/d(input k), 1-based */
    double got, want;   /* want: the reference rounded to double */
} worst_case;

typedef struct row_result {
    size_t points;
    worst_case value, deriv;
    /* Points where the reference at 256 bits and at 320 bits gave errors
     * more than 2^-30 ulps apart: a closed form too ill-conditioned to
     * trust there.  Any is a failure of the reference, not of tapegrad. */
    size_t unstable;
    worst_case unstable_at;
} row_result;

/* Measure row at its special points and n_random random ones.  Asserts
 * (Check) that tapegrad records, sweeps and rewinds without error and that
 * tg_grad and tg_node_partials agree bit for bit. */
row_result measure_row(const op_row *row, size_t n_random);

#endif
