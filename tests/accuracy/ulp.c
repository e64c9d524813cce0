#include <math.h>

#include "ulp.h"

double ulp_error(double got, const mpfr_t want)
{
    if (mpfr_nan_p(want)) return isnan(got) ? 0.0 : INFINITY;
    if (isnan(got)) return INFINITY;
    /* an infinity, or a number past 2^1024 that rounds to one */
    if (mpfr_inf_p(want) || (mpfr_regular_p(want) && mpfr_get_exp(want) > 1024))
        return isinf(got) && (signbit(got) != 0) == (mpfr_sgn(want) < 0) ? 0.0 : INFINITY;

    /* floor(log2 |want|), clamped to the exponents of the normal doubles */
    long e = mpfr_zero_p(want) ? -1022 : (long)mpfr_get_exp(want) - 1;
    if (e < -1022) e = -1022;
    if (e > 1023) e = 1023;

    mpfr_t diff;
    mpfr_init2(diff, 64);  /* the error needs a few digits, not the reference's */
    if (isinf(got))
        mpfr_set_si_2exp(diff, got > 0 ? 1 : -1, 1024, MPFR_RNDN);
    else
        mpfr_set_d(diff, got, MPFR_RNDN);
    mpfr_sub(diff, diff, want, MPFR_RNDN);
    mpfr_mul_2si(diff, diff, 52 - e, MPFR_RNDN);
    double err = fabs(mpfr_get_d(diff, MPFR_RNDN));
    mpfr_clear(diff);
    return err;
}
