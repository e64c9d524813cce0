/*
 * Shared by the engine suites: ulp distances, relative errors, central
 * differences, and asserts that print the case that failed.
 */
#ifndef ENGINE_HELPERS_H
#define ENGINE_HELPERS_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Steps between two doubles of the same sign, counting subnormals; the
 * distance between +0 and -0 is 0.  UINT64_MAX when either is NaN or the
 * signs differ (apart from zero). */
uint64_t ulp_distance(double a, double b);

/* |got - ref| / |ref| in long double; |got - ref| when ref is 0. */
long double rel_err(double got, long double ref);

/* Central difference of f along coordinate i at v (n coordinates), with a
 * step of 1e-6 scaled to |v[i]| and taken as the exactly representable
 * distance between the two evaluation points. */
double central_difference(double (*f)(const double *v), const double *v, size_t n, size_t i);

/* Like ck_assert and ck_assert_msg, but silent when they pass: Check
 * records every passing assert with a write to its pipe, which dominates a
 * loop of many thousands of them. */
#define ck_require(expr)                                                            \
    do {                                                                            \
        if (!(expr)) ck_abort_msg("Assertion '%s' failed", #expr);                  \
    } while (0)
#define ck_require_msg(expr, ...)                                                   \
    do {                                                                            \
        if (!(expr)) ck_abort_msg(__VA_ARGS__);                                     \
    } while (0)

/* got is within ulps of ref (both doubles). */
#define ck_assert_ulps(got, ref, ulps, what)                                        \
    do {                                                                            \
        double got_ = (got), ref_ = (ref);                                          \
        uint64_t d_ = ulp_distance(got_, ref_);                                     \
        ck_require_msg(d_ <= (uint64_t)(ulps),                                      \
                      "%s: got %.17g, expected %.17g (%llu ulps apart, at most %d)", \
                      (what), got_, ref_, (unsigned long long)d_, (int)(ulps));     \
    } while (0)

/* got is within relative tolerance tol of ref. */
#define ck_assert_rel(got, ref, tol, what)                                          \
    do {                                                                            \
        double got_ = (got);                                                        \
        long double ref_ = (ref);                                                   \
        long double e_ = rel_err(got_, ref_);                                       \
        ck_require_msg(e_ <= (long double)(tol),                                    \
                      "%s: got %.17g, expected %.20Lg (relative error %.3Lg > %.3g)", \
                      (what), got_, ref_, e_, (double)(tol));                       \
    } while (0)

#endif
