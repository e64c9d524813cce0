#include "reference.h"

#define RN MPFR_RNDN

/* A scratch number at the precision of like. */
static void scratch(mpfr_ptr t, mpfr_srcptr like)
{
    mpfr_init2(t, mpfr_get_prec(like));
}

/* d = sign / sqrt(s), s given: the shape of asin', acos', asinh', acosh'. */
static void signed_inv_sqrt(mpfr_ptr d, long sign, mpfr_ptr s)
{
    mpfr_sqrt(s, s, RN);
    mpfr_si_div(d, sign, s, RN);
}

/* 1 - a^2 (sign -1) or 1 + a^2 (sign +1) or a^2 - 1 (sign 0) into t. */
static void one_and_square(mpfr_ptr t, mpfr_srcptr a, int sign)
{
    mpfr_sqr(t, a, RN);
    if (sign > 0) mpfr_add_ui(t, t, 1, RN);
    else if (sign < 0) mpfr_ui_sub(t, 1, t, RN);
    else mpfr_sub_ui(t, t, 1, RN);
}

void ref_exp(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_exp(y, a, RN);
    mpfr_set(da, y, RN);                    /* d exp = exp */
}

void ref_log(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_log(y, a, RN);
    mpfr_ui_div(da, 1, a, RN);              /* d ln a = 1/a */
}

void ref_recip(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_ui_div(y, 1, a, RN);
    mpfr_sqr(da, a, RN);
    mpfr_si_div(da, -1, da, RN);            /* d(1/a) = -1/a^2 */
}

void ref_tanh(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_tanh(y, a, RN);
    mpfr_sech(da, a, RN);
    mpfr_sqr(da, da, RN);                   /* d tanh = sech^2 */
}

void ref_sigmoid(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_t e;
    scratch(e, y);
    mpfr_neg(e, a, RN);
    mpfr_exp(e, e, RN);
    mpfr_add_ui(e, e, 1, RN);
    mpfr_ui_div(y, 1, e, RN);               /* 1/(1+exp(-a)) */
    /* d sig = e/(1+e)^2 with e = exp(-|a|): even in a, and no 1 - y */
    mpfr_abs(e, a, RN);
    mpfr_neg(e, e, RN);
    mpfr_exp(e, e, RN);
    mpfr_add_ui(da, e, 1, RN);
    mpfr_sqr(da, da, RN);
    mpfr_div(da, e, da, RN);
    mpfr_clear(e);
}

void ref_relu(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    if (mpfr_nan_p(a)) { mpfr_set_nan(y); mpfr_set_nan(da); return; }
    int pos = mpfr_sgn(a) > 0;
    if (pos) mpfr_set(y, a, RN); else mpfr_set_zero(y, 1);
    mpfr_set_ui(da, pos, RN);               /* [a > 0]: relu'(0) = 0 */
}

void ref_pow(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_pow(y, a, b, RN);
    /* d a^b/da = b a^(b-1); 0 for b = 0, where a^0 is the constant 1 */
    if (mpfr_zero_p(b)) {
        mpfr_set_zero(da, 1);
    } else {
        mpfr_t bm1;
        mpfr_init2(bm1, 2200);              /* b - 1 exactly, for every double b */
        mpfr_sub_ui(bm1, b, 1, RN);
        mpfr_pow(da, a, bm1, RN);
        mpfr_mul(da, da, b, RN);
        mpfr_clear(bm1);
    }
    /* d a^b/db = a^b ln a; 0 at a = 0 < b (documented: flat from the right) */
    if (mpfr_zero_p(a) && mpfr_sgn(b) > 0) {
        mpfr_set_zero(db, 1);
    } else {
        mpfr_log(db, a, RN);
        mpfr_mul(db, db, y, RN);
    }
}

void ref_sqrt(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_sqrt(y, a, RN);
    mpfr_mul_2ui(da, y, 1, RN);
    mpfr_ui_div(da, 1, da, RN);             /* 1/(2 sqrt a) */
}

void ref_cbrt(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_cbrt(y, a, RN);
    mpfr_sqr(da, y, RN);
    mpfr_mul_ui(da, da, 3, RN);
    mpfr_ui_div(da, 1, da, RN);             /* 1/(3 cbrt(a)^2) */
}

void ref_sin(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_sin(y, a, RN);
    mpfr_cos(da, a, RN);
}

void ref_cos(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_cos(y, a, RN);
    mpfr_sin(da, a, RN);
    mpfr_neg(da, da, RN);
}

void ref_tan(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_tan(y, a, RN);
    mpfr_sec(da, a, RN);
    mpfr_sqr(da, da, RN);                   /* d tan = sec^2 */
}

void ref_asin(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_asin(y, a, RN);
    one_and_square(da, a, -1);
    signed_inv_sqrt(da, 1, da);             /* 1/sqrt(1 - a^2) */
}

void ref_acos(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_acos(y, a, RN);
    one_and_square(da, a, -1);
    signed_inv_sqrt(da, -1, da);            /* -1/sqrt(1 - a^2) */
}

void ref_atan(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_atan(y, a, RN);
    one_and_square(da, a, 1);
    mpfr_ui_div(da, 1, da, RN);             /* 1/(1 + a^2) */
}

void ref_sinh(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_sinh(y, a, RN);
    mpfr_cosh(da, a, RN);
}

void ref_cosh(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_cosh(y, a, RN);
    mpfr_sinh(da, a, RN);
}

void ref_asinh(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_asinh(y, a, RN);
    one_and_square(da, a, 1);
    signed_inv_sqrt(da, 1, da);             /* 1/sqrt(1 + a^2) */
}

void ref_acosh(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_acosh(y, a, RN);
    one_and_square(da, a, 0);
    signed_inv_sqrt(da, 1, da);             /* 1/sqrt(a^2 - 1) */
}

void ref_atanh(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_atanh(y, a, RN);
    one_and_square(da, a, -1);
    mpfr_ui_div(da, 1, da, RN);             /* 1/(1 - a^2) */
}

void ref_expm1(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_expm1(y, a, RN);
    mpfr_exp(da, a, RN);
}

void ref_log1p(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_log1p(y, a, RN);
    mpfr_add_ui(da, a, 1, RN);
    mpfr_ui_div(da, 1, da, RN);             /* 1/(1 + a) */
}

/* 1/(a ln base) */
static void inv_times_log(mpfr_ptr da, mpfr_srcptr a, unsigned long base)
{
    mpfr_set_ui(da, base, RN);
    mpfr_log(da, da, RN);
    mpfr_mul(da, da, a, RN);
    mpfr_ui_div(da, 1, da, RN);
}

void ref_log2(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_log2(y, a, RN);
    inv_times_log(da, a, 2);
}

void ref_log10(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_log10(y, a, RN);
    inv_times_log(da, a, 10);
}

/* sign 2/sqrt(pi) exp(-a^2) */
static void gaussian(mpfr_ptr da, mpfr_srcptr a, int sign)
{
    mpfr_t t;
    scratch(t, da);
    mpfr_const_pi(t, RN);
    mpfr_rec_sqrt(t, t, RN);
    mpfr_mul_si(t, t, 2 * sign, RN);
    mpfr_sqr(da, a, RN);
    mpfr_neg(da, da, RN);
    mpfr_exp(da, da, RN);
    mpfr_mul(da, da, t, RN);
    mpfr_clear(t);
}

void ref_erf(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_erf(y, a, RN);
    gaussian(da, a, 1);
}

void ref_erfc(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_erfc(y, a, RN);
    gaussian(da, a, -1);
}

void ref_softplus(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_t e;
    scratch(e, y);
    /* log(1 + exp(a)) = a + log(1 + exp(-a)): exp of -|a| only, as
     * exp(1e300) would overflow even MPFR's exponent range */
    int pos = mpfr_sgn(a) > 0;
    if (pos) mpfr_neg(e, a, RN); else mpfr_set(e, a, RN);
    mpfr_exp(e, e, RN);
    mpfr_log1p(y, e, RN);
    if (pos) mpfr_add(y, y, a, RN);
    /* d softplus = 1/(1 + exp(-a)); exp(-a) overflowing gives 0, rightly */
    mpfr_neg(e, a, RN);
    mpfr_exp(e, e, RN);
    mpfr_add_ui(e, e, 1, RN);
    mpfr_ui_div(da, 1, e, RN);
    mpfr_clear(e);
}

void ref_abs(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_abs(y, a, RN);
    mpfr_set_si(da, mpfr_sgn(a), RN);       /* sign a: abs'(0) = 0 */
}

void ref_atan2(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_t r2;
    scratch(r2, y);
    mpfr_atan2(y, a, b, RN);
    mpfr_sqr(r2, a, RN);
    mpfr_fma(r2, b, b, r2, RN);             /* a^2 + b^2 */
    mpfr_div(da, b, r2, RN);                /* d atan2(a, b)/da = b/(a^2 + b^2) */
    mpfr_div(db, a, r2, RN);
    mpfr_neg(db, db, RN);                   /* d/db = -a/(a^2 + b^2) */
    mpfr_clear(r2);
}

void ref_hypot(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_hypot(y, a, b, RN);
    if (mpfr_zero_p(y)) {                   /* documented: 0 at the origin */
        mpfr_set_zero(da, 1);
        mpfr_set_zero(db, 1);
        return;
    }
    mpfr_div(da, a, y, RN);                 /* a / hypot */
    mpfr_div(db, b, y, RN);
}

/* min (sign -1) or max (sign +1): a NaN operand gives NaN; a tie, a. */
static void min_or_max(int sign, mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    if (mpfr_nan_p(a) || mpfr_nan_p(b)) {
        mpfr_set_nan(y); mpfr_set_nan(da); mpfr_set_nan(db);
        return;
    }
    int take_a = sign * mpfr_cmp(a, b) >= 0;
    mpfr_set(y, take_a ? a : b, RN);
    mpfr_set_ui(da, take_a, RN);
    mpfr_set_ui(db, !take_a, RN);
}

void ref_min(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    min_or_max(-1, y, da, db, a, b);
}

void ref_max(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    min_or_max(1, y, da, db, a, b);
}

void ref_sub(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_sub(y, a, b, RN);
    mpfr_set_si(da, 1, RN);                 /* d(a - b) = 1, -1 */
    mpfr_set_si(db, -1, RN);
}

void ref_div(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    mpfr_div(y, a, b, RN);
    mpfr_ui_div(da, 1, b, RN);              /* d(a/b)/da = 1/b */
    mpfr_sqr(db, b, RN);
    mpfr_div(db, a, db, RN);
    mpfr_neg(db, db, RN);                   /* d(a/b)/db = -a/b^2 */
}

void ref_neg(mpfr_ptr y, mpfr_ptr da, mpfr_ptr db, mpfr_srcptr a, mpfr_srcptr b)
{
    (void)db; (void)b;
    mpfr_neg(y, a, RN);
    mpfr_set_si(da, -1, RN);                /* d(-a) = -1 */
}
