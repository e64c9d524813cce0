/*
 * The math of every elementwise op: its value and its local partials, one
 * case each (op.h has the rest of each op's definition).  Included by op.h
 * only.
 *
 * Accuracy is the point.  Each partial is written so that it stays within
 * a few ulps of the true derivative at the double argument wherever that is
 * finite, across the whole range: no formula that cancels near a domain's
 * edge (asin near 1), overflows in an intermediate where the result does
 * not (atan at 1e200), or multiplies 0 by inf where the result is 0 (erf at
 * 40).  Where an argument is outside the op's domain the partial is NaN,
 * like the value.
 */
#ifndef TG_OP_MATH_H
#define TG_OP_MATH_H

#include <float.h>

#ifndef TG_OP_H
#error "op_math.h is included by op.h"
#endif

/* sigmoid(x) without overflow (tapegrad.h: the inline builder's too). */
static inline double sigmoid_value(double x)
{
    return tg__sigmoid_value(x);
}

/* d sigmoid/dx = e/(1+e)^2 with e = exp(-|x|), for x of either sign: no
 * 1 - y that cancels where y rounds to 1, and no branch on the sign of x,
 * which a sweep over mixed signs mispredicts half the time (that cost
 * more than the exp that y(1-y) saves for x <= 0). */
static inline double sigmoid_slope(double x)
{
    double e = exp(-fabs(x));
    return e / ((1.0 + e) * (1.0 + e));
}

/* log(1 + exp(x)) without overflow, and without losing exp(x) when it is
 * tiny. */
static inline double softplus_value(double x)
{
    if (x > 0) return x + log1p(exp(-x));
    return log1p(exp(x));
}

/* min and max that turn a NaN operand into NaN (fmin and fmax ignore it),
 * and on a tie return the first operand. */
static inline double min_value(double a, double b)
{
    return a <= b ? a : b < a ? b : a + b;
}

static inline double max_value(double a, double b)
{
    return a >= b ? a : b > a ? b : a + b;
}

/* f a^e given p = a^e, also where p is subnormal, 0 or inf but f p is not:
 * then (f a^(e/2)) a^(e/2). */
static inline double pow_times(double p, double a, double e, double f)
{
    if ((fabs(p) >= DBL_MIN && !isinf(p)) || isnan(p) || a == 0 || isinf(a)) return f * p;
    double q = pow(fabs(a), 0.5 * e), r = (f * q) * q;
    return signbit(p) ? -r : r;
}

/* d pow(a,b) / da = b a^(b-1), with b-1 split exactly into h + l (b - 1
 * rounds), and without overflow or underflow where the slope has none.
 * b == 0 is constant 1 (even at a == 0, where the literal formula gives
 * 0 * inf). */
static inline double pow_da(double a, double b)
{
    if (b == 0) return 0.0;
    if (isnan(a)) return a;
    if (a == 0 || isinf(a)) {  /* 0 or inf; negative for a < 0 when b - 1 is odd */
        double m = b == 1 ? 1.0 : pow(fabs(a), b > 1 ? 1.0 : -1.0);
        return b * (signbit(a) && fmod(b, 2.0) == 0 ? -m : m);
    }
    if (fabs(b) < 0.5) return b * pow(a, b) / a;  /* a^(b-1) may overflow, the slope not */
    double h = b - 1.0;
    if (isinf(h)) return b * pow(a, h);
    double bb = h - b, l = (b - (h - bb)) + (-1.0 - bb);  /* b - 1 = h + l exactly */
    double d = pow_times(pow(a, h), a, h, b);
    if (l == 0) return d;
    if (d == 0 || isinf(d)) return a < 0 ? -d : d;
    return d * pow(a, l);
}

/* The partials of atan2(a, b) (n = 0) or hypot(a, b) (n = 1) with the
 * inputs scaled by a power of two, so that neither a^2 + b^2 nor a quotient
 * overflows or loses the bits of a subnormal. */
static inline void scaled_partials(int n, double a, double b, double *da, double *db)
{
    double m = fmax(fabs(a), fabs(b));
    if (!(m > 0) || isinf(m)) {  /* 0, inf or NaN: the plain formulas */
        double r = hypot(a, b);
        *da = n ? (r == 0 ? 0.0 : a / r) : b / r / r;
        *db = n ? (r == 0 ? 0.0 : b / r) : -a / r / r;
        return;
    }
    int e = ilogb(m);
    double as = scalbn(a, -e), bs = scalbn(b, -e), r2 = fma(as, as, bs * bs);
    if (n) {
        double s = sqrt(r2);
        *da = as / s;
        *db = bs / s;
        return;
    }
    double qa = bs / r2, qb = -as / r2;
    *da = e < 0 && fabs(qa) < DBL_MIN ? scalbn(bs, -e) / r2 : scalbn(qa, -e);
    *db = e < 0 && fabs(qb) < DBL_MIN ? scalbn(-as, -e) / r2 : scalbn(qb, -e);
}

/* d cbrt(a)/da = 1/(3 y^2), with y corrected by its residual y^3 - a, so
 * that the C library's error in y is not doubled. */
static inline double cbrt_slope(double a, double y)
{
    if (!isfinite(y) || y == 0) return 1.0 / (3.0 * y * y);
    int k = ilogb(a) / 3;
    double as = scalbn(a, -3 * k), ys = scalbn(y, -k);
    double y2 = ys * ys, e2 = fma(ys, ys, -y2), y3 = y2 * ys, e3 = fma(y2, ys, -y3);
    double r = ((y3 - as) + e3 + e2 * ys) / as;  /* ys^3/as - 1 */
    return scalbn(1.0 / (3.0 * y2) * (1.0 - e2 / y2 + (2.0 / 3.0) * r), -2 * k);
}

/* exp(-a*a) with a*a split exactly into hi + lo (fma), so that the
 * rounding of a*a does not cost a^2 ulps: exp(-hi) (1 - lo). */
static inline double exp_minus_square(double a)
{
    double hi = a * a;
    if (!(hi < 746.0)) return isnan(hi) ? hi : 0.0;  /* exp(-746) is 0 */
    double lo = fma(a, a, -hi);
    return exp(-hi) * (1.0 - lo);
}

/* 1 / sqrt(1 + a*a), without overflow for |a| > 1e154. */
static inline double inv_sqrt_one_plus_square(double a)
{
    double m = fabs(a);
    if (m <= 1.0) return 1.0 / sqrt(1.0 + m * m);
    double r = 1.0 / m;
    return r / sqrt(1.0 + r * r);
}

/* d(a/b)/db = -a/b^2 as -y/b from y = a/b, which has no b^2 to overflow;
 * where y is subnormal it has lost bits that dividing by a small b would
 * magnify, so there the quotient is formed 2^64 higher and scaled back
 * in one rounding. */
static inline double div_db(double a, double b, double y)
{
    if (__builtin_expect(fabs(y) >= DBL_MIN || y == 0 || y != y, 1)) return -y / b;
    return -(a * 0x1p64 / b / b) * 0x1p-64;
}

/* The value of an elementwise op at inputs a, b (b repeats a for a unary
 * op).  The others have no scalar formula and are never asked. */
static inline __attribute__((always_inline)) double op_value(tg_op op, double a, double b)
{
    switch (op) {
    case OP_ADD:      return a + b;
    case OP_SUB:      return a - b;
    case OP_MUL:      return a * b;
    case OP_DIV:      return a / b;
    case OP_NEG:      return -a;
    case OP_EXP:      return exp(a);
    case OP_RECIP:    return 1.0 / a;
    case OP_POW:      return pow(a, b);
    case OP_POWC:     return pow(a, b);
    case OP_LOG:      return log(a);
    case OP_TANH:     return tanh(a);
    case OP_SIGMOID:  return sigmoid_value(a);
    case OP_RELU:     return a <= 0 ? 0.0 : a;  /* NaN stays NaN */
    case OP_SQRT:     return sqrt(a);
    case OP_CBRT:     return cbrt(a);
    case OP_SIN:      return sin(a);
    case OP_COS:      return cos(a);
    case OP_TAN:      return tan(a);
    case OP_ASIN:     return asin(a);
    case OP_ACOS:     return acos(a);
    case OP_ATAN:     return atan(a);
    case OP_SINH:     return sinh(a);
    case OP_COSH:     return cosh(a);
    case OP_ASINH:    return asinh(a);
    case OP_ACOSH:    return acosh(a);
    case OP_ATANH:    return atanh(a);
    case OP_EXPM1:    return expm1(a);
    case OP_LOG1P:    return log1p(a);
    case OP_LOG2:     return log2(a);
    case OP_LOG10:    return log10(a);
    case OP_ERF:      return erf(a);
    case OP_ERFC:     return erfc(a);
    case OP_SOFTPLUS: return softplus_value(a);
    case OP_ABS:      return fabs(a);
    case OP_ATAN2:    return atan2(a, b);
    case OP_HYPOT:    return hypot(a, b);
    case OP_MIN:      return min_value(a, b);
    case OP_MAX:      return max_value(a, b);
    case OP_VAR: case OP_CONST: case OP_CUSTOM: case OP_MATMUL: case OP_SOFTMAX: case OP_CONVERT: case OP_SUM:
    case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
    return NAN;
}

/* Local derivatives of y = op(a, b): *da = dy/da, *db = dy/db.  Returns
 * how many inputs take a derivative: 2, 1 (only a; *db is 0), or 0 for an
 * op without scalar math.  The count is a constant in each case, so a
 * caller's test of it folds into the case.  They read the inputs as well
 * as y where that keeps them accurate. */
static inline __attribute__((always_inline)) int op_partials(tg_op op, double a, double b, double y, double *da, double *db)
{
    *db = 0.0;
    switch (op) {
    case OP_ADD:      /* d(a+b) = 1, 1 */
        *da = 1.0; *db = 1.0; return 2;
    case OP_SUB:      /* d(a-b) = 1, -1 */
        *da = 1.0; *db = -1.0; return 2;
    case OP_MUL:      /* d(ab) = b, a */
        *da = b; *db = a; return 2;
    case OP_DIV:      /* d(a/b) = 1/b, -a/b^2 = -y/b (no b^2 to overflow) */
        *da = 1.0 / b; *db = div_db(a, b, y); return 2;
    case OP_NEG:      /* d(-a)/da = -1 */
        *da = -1.0; return 1;
    case OP_EXP:      /* d exp(a)/da = y */
        *da = y; return 1;
    case OP_RECIP:    /* d(1/a)/da = -y*y */
        *da = -y * y; return 1;
    case OP_POW:      /* d a^b = b a^(b-1), y ln a; 0^b is flat in b for b > 0 */
        *da = pow_da(a, b);
        *db = (a == 0 && b > 0) ? 0.0 : pow_times(y, a, b, log(a));
        return 2;
    case OP_POWC:     /* d a^k/da = k a^(k-1); k is a constant */
        *da = pow_da(a, b); return 1;
    case OP_LOG:      /* d ln a/da = 1/a (continued below 0, where the value is NaN) */
        *da = 1.0 / a; return 1;
    case OP_TANH: {   /* d tanh/da = (1-y)(1+y); where |y| > 1/2 that cancels, so 4e/(1+e)^2, e = exp(-2|a|) */
        if (fabs(y) <= 0.5) { *da = (1.0 - y) * (1.0 + y); return 1; }
        double e = exp(-2.0 * fabs(a));
        *da = 4.0 * e / ((1.0 + e) * (1.0 + e));
        return 1;
    }
    case OP_SIGMOID:  /* d sig/da = y(1-y) = sig(|a|) sig(-|a|), as sigmoid_slope computes it */
        *da = sigmoid_slope(a); return 1;
    case OP_RELU:     /* d relu/da = [a > 0]; NaN at NaN */
        *da = a > 0 ? 1.0 : a <= 0 ? 0.0 : a; return 1;
    case OP_SQRT:     /* d sqrt(a)/da = 1/(2y): +inf at 0 */
        *da = 0.5 / y; return 1;
    case OP_CBRT:     /* d cbrt(a)/da = 1/(3y^2): +inf at 0 */
        *da = cbrt_slope(a, y); return 1;
    case OP_SIN:      /* d sin/da = cos a */
        *da = cos(a); return 1;
    case OP_COS:      /* d cos/da = -sin a */
        *da = -sin(a); return 1;
    case OP_TAN:      /* d tan/da = 1 + y^2 (= 1/cos^2 a) */
        *da = 1.0 + y * y; return 1;
    case OP_ASIN:     /* d asin/da = 1/sqrt(1-a^2), with 1-a^2 as (1-a)(1+a): exact near |a| = 1 */
        *da = 1.0 / sqrt((1.0 - a) * (1.0 + a)); return 1;
    case OP_ACOS:     /* d acos/da = -1/sqrt((1-a)(1+a)) */
        *da = -1.0 / sqrt((1.0 - a) * (1.0 + a)); return 1;
    case OP_ATAN: {   /* d atan/da = 1/(1+a^2); for |a| > 1, r^2/(1+r^2) with r = 1/a: no overflow */
        if (fabs(a) <= 1.0) { *da = 1.0 / (1.0 + a * a); return 1; }
        double r = 1.0 / a;
        *da = r * r / (1.0 + r * r);
        return 1;
    }
    case OP_SINH:     /* d sinh/da = cosh a */
        *da = cosh(a); return 1;
    case OP_COSH:     /* d cosh/da = sinh a */
        *da = sinh(a); return 1;
    case OP_ASINH:    /* d asinh/da = 1/sqrt(1+a^2), scaled for large |a| */
        *da = inv_sqrt_one_plus_square(a); return 1;
    case OP_ACOSH: {  /* d acosh/da = 1/sqrt((a-1)(a+1)); for a >= 2, r/sqrt((1-r)(1+r)), r = 1/a */
        if (!(a >= 1.0)) { *da = NAN; return 1; }
        if (a < 2.0) { *da = 1.0 / sqrt((a - 1.0) * (a + 1.0)); return 1; }
        double r = 1.0 / a;
        *da = r / sqrt((1.0 - r) * (1.0 + r));
        return 1;
    }
    case OP_ATANH:    /* d atanh/da = 1/((1-a)(1+a)): exact near |a| = 1 */
        *da = fabs(a) <= 1.0 ? 1.0 / ((1.0 - a) * (1.0 + a)) : NAN; return 1;
    case OP_EXPM1:    /* d expm1/da = exp a (y + 1 cancels for a << 0) */
        *da = exp(a); return 1;
    case OP_LOG1P:    /* d log1p/da = 1/(1+a) */
        *da = a >= -1.0 ? 1.0 / (1.0 + a) : NAN; return 1;
    case OP_LOG2:     /* d log2/da = log2(e)/a (a ln 2 would be subnormal near 1e-308) */
        *da = a >= 0 ? 1.4426950408889634 / a : NAN; return 1;
    case OP_LOG10:    /* d log10/da = log10(e)/a */
        *da = a >= 0 ? 0.43429448190325182 / a : NAN; return 1;
    case OP_ERF:      /* d erf/da = 2/sqrt(pi) exp(-a^2) */
        *da = 1.1283791670955126 * exp_minus_square(a); return 1;
    case OP_ERFC:     /* d erfc/da = -2/sqrt(pi) exp(-a^2): 0, not 0 x inf, for large a */
        *da = -1.1283791670955126 * exp_minus_square(a); return 1;
    case OP_SOFTPLUS: /* d softplus/da = sigmoid(a), accurate for every a */
        *da = sigmoid_value(a); return 1;
    case OP_ABS:      /* d|a|/da = sign a; 0 at the kink, as relu's */
        *da = a > 0 ? 1.0 : a < 0 ? -1.0 : a == 0 ? 0.0 : a; return 1;
    case OP_ATAN2:    /* d atan2(a, b) = b/r^2, -a/r^2, r^2 = a^2 + b^2; NaN at the origin */
        scaled_partials(0, a, b, da, db); return 2;
    case OP_HYPOT:    /* d hypot = a/y, b/y; 0 at the origin (a subgradient of the cone) */
        scaled_partials(1, a, b, da, db); return 2;
    case OP_MIN:      /* d min = [a <= b], [b < a]: a tie goes to a */
        *da = a <= b ? 1.0 : b < a ? 0.0 : NAN;
        *db = a <= b ? 0.0 : b < a ? 1.0 : NAN;
        return 2;
    case OP_MAX:      /* d max = [a >= b], [b > a]: a tie goes to a */
        *da = a >= b ? 1.0 : b > a ? 0.0 : NAN;
        *db = a >= b ? 0.0 : b > a ? 1.0 : NAN;
        return 2;
    case OP_VAR: case OP_CONST: case OP_CUSTOM: case OP_MATMUL: case OP_SOFTMAX: case OP_CONVERT: case OP_SUM:
    case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
    *da = NAN;
    return 0;
}

/* erf''(a) = -2a erf'(a), from d = erf'(a).  Where erf' is subnormal
 * (a^2 > 700) its few bits would be multiplied by 2a: there the product
 * is formed at normal scale, exp(700 - a^2) 2|a| 2/sqrt(pi), and scaled
 * down by exp(-700) in one last rounding (a^2 split exactly, as in
 * exp_minus_square; 700 - a^2 is exact). */
static inline double erf_second(double a, double d)
{
    double hi = a * a;
    if (d == 0 || isnan(d) || !(hi > 700.0)) return d == 0 ? 0.0 : -2.0 * a * d;
    double lo = fma(a, a, -hi);
    double m = exp(700.0 - hi) * (2.0 * fabs(a) * 1.1283791670955126) * (1.0 - lo);
    m *= 9.8596765437597708e-305;  /* exp(-700) */
    return a > 0 ? -m : m;
}

/* The second partials of an elementwise op at inputs a, b with value y and
 * first partials da, db (op_partials'): d2y/da2 into *haa, d2y/dadb into
 * *hab, d2y/db2 into *hbb (0 where an input takes none).  Returns
 * op_partials' count.  Written from y and the first partials where that is
 * exact, so the accuracy rules of the first partials carry over: no
 * 1 - y that cancels (sigmoid'' uses tanh(a/2)), no square that overflows
 * before its quotient (atan'' is (a da) da). */
static inline __attribute__((always_inline)) int
op_second(tg_op op, double a, double b, double y, double da, double db, double *haa, double *hab,
          double *hbb)
{
    *haa = *hab = *hbb = 0.0;
    switch (op) {
    case OP_ADD:      /* linear */
        return 2;
    case OP_SUB:      /* linear */
        return 2;
    case OP_MUL:      /* d2(ab)/dadb = 1 */
        *hab = 1.0; return 2;
    case OP_DIV:      /* a/b: 0; -1/b^2 = -da^2; 2a/b^3 = -2 db/b (no power of b to overflow) */
        *hab = -da * da;
        *hbb = -2.0 * db / b;
        return 2;
    case OP_NEG:      /* linear */
        return 1;
    case OP_EXP:      /* exp'' = y */
        *haa = y; return 1;
    case OP_RECIP:    /* (1/a)'' = 2/a^3 = -2 y da */
        *haa = -2.0 * y * da; return 1;
    case OP_POW:      /* a^b: b (b-1) a^(b-2); a^(b-1) (1 + b ln a); y ln^2 a */
        *haa = b == 0 ? 0.0 : b * pow_da(a, b - 1.0);
        *hab = (a == 0 && b > 1) ? 0.0 : pow_times(pow(a, b - 1.0), a, b - 1.0, 1.0 + b * log(a));
        *hbb = (a == 0 && b > 0) ? 0.0 : pow_times(y, a, b, log(a) * log(a));
        (void)db;
        return 2;
    case OP_POWC:     /* a^k: k (k-1) a^(k-2) */
        *haa = b == 0 ? 0.0 : b * pow_da(a, b - 1.0); return 1;
    case OP_LOG:      /* ln'' = -1/a^2 */
        *haa = -da * da; return 1;
    case OP_TANH:     /* tanh'' = -2 y tanh' */
        *haa = -2.0 * y * da; return 1;
    case OP_SIGMOID:  /* sig'' = sig' (1 - 2y) = -sig' tanh(a/2): no 1 - 2y that cancels near 0 */
        *haa = -da * tanh(0.5 * a); return 1;
    case OP_RELU:     /* 0 off the kink */
        *haa = a == a ? 0.0 : a; return 1;
    case OP_SQRT:     /* sqrt'' = -1/(4 a^1.5) = -da/(2a) */
        *haa = -0.5 * da / a; return 1;
    case OP_CBRT:     /* cbrt'' = -2/(9 a^(5/3)) = -(2/3) da/a */
        *haa = -(2.0 / 3.0) * da / a; return 1;
    case OP_SIN:      /* sin'' = -sin */
        *haa = -y; return 1;
    case OP_COS:      /* cos'' = -cos */
        *haa = -y; return 1;
    case OP_TAN:      /* tan'' = 2 y (1 + y^2) */
        *haa = 2.0 * y * da; return 1;
    case OP_ASIN:     /* asin'' = a/(1-a^2)^1.5 = a da^3 */
    case OP_ACOS:     /* acos'' = -a/(1-a^2)^1.5 = a da^3 (da < 0) */
        *haa = a * da * da * da; return 1;
    case OP_ATAN:     /* atan'' = -2a/(1+a^2)^2 = -2 (a da) da */
        *haa = -2.0 * (a * da) * da; return 1;
    case OP_SINH:     /* sinh'' = sinh */
    case OP_COSH:     /* cosh'' = cosh */
        *haa = y; return 1;
    case OP_ASINH:    /* asinh'' = -a/(1+a^2)^1.5 = -(a da) da^2 */
    case OP_ACOSH:    /* acosh'' = -a/(a^2-1)^1.5 = -(a da) da^2 */
        *haa = -(a * da) * da * da; return 1;
    case OP_ATANH:    /* atanh'' = 2a/(1-a^2)^2 = 2 (a da) da */
        *haa = 2.0 * (a * da) * da; return 1;
    case OP_EXPM1:    /* expm1'' = exp a = da */
        *haa = da; return 1;
    case OP_LOG1P:    /* log1p'' = -1/(1+a)^2 */
        *haa = -da * da; return 1;
    case OP_LOG2:     /* log2'' = -log2(e)/a^2 = -da/a */
    case OP_LOG10:
        *haa = -da / a; return 1;
    case OP_ERF:      /* erf'' = -2a erf' */
    case OP_ERFC:     /* erfc'' = -2a erfc' */
        *haa = erf_second(a, op == OP_ERF ? da : -da);
        if (op == OP_ERFC) *haa = -*haa;
        return 1;
    case OP_SOFTPLUS: /* softplus'' = sigmoid' */
        *haa = sigmoid_slope(a); return 1;
    case OP_ABS:      /* 0 off the kink */
        *haa = a == a ? 0.0 : a; return 1;
    case OP_ATAN2:    /* with fa = b/r^2, fb = -a/r^2: faa = 2 fa fb, fab = fb^2 - fa^2, fbb = -faa */
        *haa = 2.0 * da * db;
        *hab = (db - da) * (db + da);
        *hbb = -*haa;
        return 2;
    case OP_HYPOT:    /* with fa = a/y, fb = b/y: faa = fb^2/y, fab = -fa fb/y, fbb = fa^2/y */
        *haa = db * db / y;
        *hab = -da * db / y;
        *hbb = da * da / y;
        return 2;
    case OP_MIN:      /* 0 off the kink */
    case OP_MAX:
        *haa = da == da ? 0.0 : da;
        *hbb = db == db ? 0.0 : db;
        return 2;
    case OP_VAR: case OP_CONST: case OP_CUSTOM: case OP_MATMUL: case OP_SOFTMAX: case OP_CONVERT: case OP_SUM:
    case OP_MEAN: case OP_XENT: case OP_COUNT:
        break;
    }
    *haa = NAN;
    return 0;
}

/* The side of its kink a branch op (op_table's `branch`) is on at a, b:
 * whether its partial in a is positive (relu and abs: a > 0; min: a <= b;
 * max: a >= b).  A replay compares it with the side recorded. */
static inline __attribute__((always_inline)) bool op_side(tg_op op, double a, double b)
{
    double da, db;
    op_partials(op, a, b, 0.0, &da, &db);
    return da > 0;
}

/* A branch op's value and partials on the side of its kink it was recorded
 * on (op_side's `side`), whatever side a, b are on now: the recorded
 * branch's function, continued.  relu: a or 0; abs: a or -a; min and max:
 * a or b. */
static inline __attribute__((always_inline)) double
branch_value(tg_op op, bool side, double a, double b)
{
    if (op == OP_ABS) return side ? a : -a;
    if (op == OP_RELU) return side ? a : 0.0;
    return side ? a : b;  /* min, max */
}

static inline __attribute__((always_inline)) void
branch_partials(tg_op op, bool side, double *da, double *db)
{
    *da = side ? 1.0 : op == OP_ABS ? -1.0 : 0.0;
    *db = (op == OP_MIN || op == OP_MAX) && !side ? 1.0 : 0.0;
}

#endif
