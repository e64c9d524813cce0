/*
 * Where each op is measured: random points from a fixed seed (the same on
 * every run), spread over the op's whole domain in exponent as well as in
 * value, and lists of special points (zeros, subnormals, the edges of the
 * domains, overflow thresholds, the doubles nearest the poles of tan).
 */
#ifndef ACCURACY_POINTS_H
#define ACCURACY_POINTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng { uint64_t state; } rng;

/* A generator seeded from a name, so each op draws the same points however
 * the table around it changes. */
rng rng_named(const char *name);

/* Where a unary op's random points fall.  Half are spread uniformly over
 * the bit patterns of the doubles in the domain (so uniformly in exponent,
 * subnormals included), a third uniformly in [lo, hi], where the op does
 * its work, and the rest at relative distances 2^-1 ... 2^-60 on either
 * side of one of the edges (a branch of the formula, a pole, a bound of
 * the domain). */
typedef enum domain {
    DOMAIN_REAL,        /* every double */
    DOMAIN_UNIT,        /* |x| <= 1 */
    DOMAIN_POSITIVE,    /* x >= 0 */
    DOMAIN_FROM_ONE,    /* x >= 1 */
    DOMAIN_FROM_M1      /* x >= -1 */
} domain;

enum { MAX_EDGES = 4 };
typedef struct sampler {
    domain dom;
    double lo, hi;
    size_t n_edges;
    double edges[MAX_EDGES];
} sampler;

double sample_unary(rng *r, const sampler *s);

/* Two-input ops' random points. */
typedef enum pair_kind {
    PAIRS_POLAR,        /* atan2, hypot: magnitudes within 2^64 of each other, and apart */
    PAIRS_POW,          /* a^b mostly finite and nonzero: b = t / ln a, negative a with integer b */
    PAIRS_ORDER         /* min, max: ties and neighbours as well as far apart */
} pair_kind;

void sample_pair(rng *r, pair_kind kind, double *a, double *b);

/* The special points shared by every unary op: both signs of 0, the
 * subnormals' ends, 1 -+ an ulp, the overflow thresholds of exp, sinh and
 * cosh, erf's and erfc's underflows, DBL_MAX, the infinities, NaN, and the
 * doubles nearest (2k+1) pi/2 with their neighbours.  Written into out
 * (up to max); returns how many. */
size_t special_points(double *out, size_t max);

/* The values whose every pair (a, b) two-input ops meet: zeros,
 * subnormals, 1e-300, 2^-30, 1, 3, 1e200, DBL_MAX, inf, NaN, both signs.
 * Returns how many (up to max). */
size_t special_pair_values(double *out, size_t max);

#endif
