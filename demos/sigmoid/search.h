/*
 * Where each form of sigmoid's derivative stops being right, found by
 * search: a scan outward from 0 in small steps finds the first sample
 * where a form fails, then bisection on the doubles between that sample
 * and the good one before it finds the exact first failing double.
 */
#ifndef SIGMOID_SEARCH_H
#define SIGMOID_SEARCH_H

#include "rig.h"

enum level {
    LOSES_DIGITS,   /* relative error above ACCURATE (half the digits gone) */
    GIVES_ZERO,     /* exactly 0 where the true slope is a normal double */
    NOT_A_NUMBER,   /* NaN or infinite */
    NLEVELS
};

#define ACCURATE 1e-8
#define EVERYDAY 30.0

extern const char *const level_name[NLEVELS];

enum side { NEGATIVE, POSITIVE, NSIDES };

typedef struct breakdown {
    bool found;
    double last_good, first_bad;  /* adjacent doubles */
    sample at;                    /* the sample at first_bad */
} breakdown;

typedef struct search_result {
    double limit, step;                   /* scanned -limit..limit */
    breakdown b[NFORMS][NSIDES][NLEVELS];
    /* Largest relative error of each form on each side, over the scan
     * samples closer to 0 than its first LOSES_DIGITS, and where. */
    double worst_err[NFORMS][NSIDES], worst_err_at[NFORMS][NSIDES];
    /* Largest distance in ulps from the reference and largest relative
     * error for |x| <= EVERYDAY (LLONG_MAX ulps for a NaN). */
    long long worst_ulps_everyday[NFORMS];
    double worst_err_everyday[NFORMS];
} search_result;

bool is_broken(enum level l, double got, long double ref);

void search_breakdowns(rig *r, double limit, double step, search_result *out);

#endif
