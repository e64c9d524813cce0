/*
 * The error of a double result against a reference held in MPFR, in ulps
 * of the double grid at the reference.
 */
#ifndef ACCURACY_ULP_H
#define ACCURACY_ULP_H

#include <mpfr.h>

/* |got - want| / ulp(want), where ulp(w) is the spacing of the doubles
 * next to w: 2^(e-52) for 2^e <= |w| < 2^(e+1) and e >= -1022, the
 * subnormal spacing 2^-1074 below that, and past DBL_MAX the spacing at
 * DBL_MAX, with an infinite got counted as 2^1024 (so a reference just past
 * the largest double is met by inf or by DBL_MAX, each within an ulp).
 * A reference of exactly 0 (or one that underflowed in MPFR) measures got
 * in subnormal ulps.  A NaN or infinite reference, or one of 2^1024 or
 * more (which rounds to inf), must be met exactly (the same infinity): 0
 * if it is, INFINITY if not; a NaN got against a number is INFINITY.  The
 * sign of a zero is not compared. */
double ulp_error(double got, const mpfr_t want);

#endif
