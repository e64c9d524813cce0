/*
 * Each op's value and local derivatives in MPFR, from the closed form of
 * the derivative, at the precision of y (the inputs are doubles, held
 * exactly).  Written for MPFR's own accuracy, not for speed: a closed form
 * that would cancel or overflow at high precision is replaced by an equal
 * one that does not (sigmoid' as e/(1+e)^2 with e = exp(-|a|)), never by
 * the formula tapegrad uses.
 *
 * Where tapegrad documents a subgradient at a kink (abs'(0) = 0, relu'(0)
 * = 0, a min or max tie sending the gradient to a, hypot's 0 at the
 * origin) or a convention (pow: d/da = 0 for b = 0, d/db = 0 at a = 0 <
 * b), the reference states it too.  Where the value is NaN the harness
 * expects NaN derivatives; the references need not.
 */
#ifndef ACCURACY_REFERENCE_H
#define ACCURACY_REFERENCE_H

#include <mpfr.h>

/* y = f(a, b), da = df/da, db = df/db (left alone by a unary f). */
typedef void reference_fn(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b);

reference_fn ref_exp, ref_log, ref_recip, ref_tanh, ref_sigmoid, ref_relu, ref_pow;
reference_fn ref_sqrt, ref_cbrt, ref_sin, ref_cos, ref_tan, ref_asin, ref_acos, ref_atan;
reference_fn ref_sinh, ref_cosh, ref_asinh, ref_acosh, ref_atanh, ref_expm1, ref_log1p;
reference_fn ref_log2, ref_log10, ref_erf, ref_erfc, ref_softplus, ref_abs;
reference_fn ref_atan2, ref_hypot, ref_min, ref_max, ref_sub, ref_div, ref_neg;

#endif
