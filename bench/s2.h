/*
 * S2's two functions: the chained Rosenbrock of the headline figures
 * (s2_chained.c) and the pairwise extended Rosenbrock measured before it,
 * kept with its keys (s2_rosenbrock.c, which runs both).
 */
#ifndef BENCH_S2_H
#define BENCH_S2_H

#include <stddef.h>

#include "harness.h"

/* The phases of one tool on the chained function. */
enum {
    S2_RECORD,   /* the n leaves and f, from an empty tape */
    S2_REVERSE,  /* backward and the n gradients read */
    S2_TAPED,    /* record + reverse */
    S2_REPLAY,   /* set the n leaves, forward, reverse, read at a new x */
    S2_NPHASES
};
typedef struct s2_phases {
    bench_stats ph[S2_NPHASES];
} s2_phases;

typedef struct s2_chained {
    size_t n, ops, nodes;  /* ops = 8 (n - 1); nodes: tapegrad's tape */
    int reps;
    s2_phases tg, inl, bare, adolc;  /* adolc: zero unless TGBENCH_ADOLC */
    double max_grad_diff, max_grad_rel;  /* tapegrad vs by hand, both points */
} s2_chained;

/* Check the three tapes (and ADOL-C when built in) against the gradient
 * by hand, then time them; 0, or 1 after saying why on stderr. */
int  s2_chained_measure(size_t n, int reps, s2_chained *c);
/* Its entries in S2's report. */
void s2_chained_report(bench_report *r, const s2_chained *c);

#endif
