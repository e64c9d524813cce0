#include <float.h>
#include <math.h>
#include <string.h>

#include <mpfr.h>

#include "points.h"

/* ----------------------------------------------------------- generator */

rng rng_named(const char *name)
{
    uint64_t h = 0xcbf29ce484222325u;  /* FNV-1a */
    for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 0x100000001b3u;
    return (rng){ h };
}

/* splitmix64 */
static uint64_t next(rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double unit(rng *r) { return (double)(next(r) >> 11) * 0x1p-53; }  /* [0, 1) */

static double uniform(rng *r, double lo, double hi) { return lo + (hi - lo) * unit(r); }

static long uniform_int(rng *r, long lo, long hi)
{
    return lo + (long)(next(r) % (uint64_t)(hi - lo + 1));
}

static double random_sign(rng *r, double x) { return next(r) & 1 ? -x : x; }

static uint64_t bits_of(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static double double_of(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* Uniform over the bit patterns of the doubles in (0, max]: uniform in the
 * exponent, and uniform within each binade. */
static double spread(rng *r, double max)
{
    return double_of(1 + next(r) % bits_of(max));
}

/* e (1 + s 2^-k u), k in 1..60: close to e on either side. */
static double near(rng *r, double e)
{
    double offset = ldexp(unit(r), -(int)uniform_int(r, 1, 60));
    return e * (1.0 + random_sign(r, offset));
}

/* ------------------------------------------------------------ unary */

static double spread_in(rng *r, domain dom)
{
    switch (dom) {
    case DOMAIN_REAL:     return random_sign(r, spread(r, DBL_MAX));
    case DOMAIN_UNIT:     return random_sign(r, spread(r, 1.0));
    case DOMAIN_POSITIVE: return spread(r, DBL_MAX);
    case DOMAIN_FROM_ONE: /* the exponents above 1, and the distances above 1 */
        return next(r) & 1 ? double_of(bits_of(1.0) + next(r) % (bits_of(DBL_MAX) - bits_of(1.0)))
                           : 1.0 + spread(r, 1.0);
    case DOMAIN_FROM_M1:  /* the distances above -1, and the positive doubles */
        return next(r) & 1 ? -1.0 + spread(r, 1.0) : spread(r, DBL_MAX);
    }
    return NAN;
}

double sample_unary(rng *r, const sampler *s)
{
    double u = unit(r);
    if (u < 0.5) return spread_in(r, s->dom);
    if (u < 5.0 / 6.0 || s->n_edges == 0) return uniform(r, s->lo, s->hi);
    return near(r, s->edges[next(r) % s->n_edges]);
}

/* ------------------------------------------------------------ pairs */

static void polar(rng *r, double *a, double *b)
{
    double u = unit(r);
    *a = random_sign(r, spread(r, DBL_MAX));
    if (u < 0.4)            /* comparable: within 2^64 */
        *b = random_sign(r, ldexp(*a * uniform(r, 0.5, 1.0), (int)uniform_int(r, -64, 64)));
    else if (u < 0.6)       /* far apart, one of them possibly subnormal */
        *b = random_sign(r, ldexp(*a * uniform(r, 0.5, 1.0), (int)uniform_int(r, -1100, 1100)));
    else if (u < 0.8)
        *b = random_sign(r, spread(r, DBL_MAX));
    else {
        *a = uniform(r, -10, 10);
        *b = uniform(r, -10, 10);
    }
}

static void pow_pair(rng *r, double *a, double *b)
{
    double u = unit(r);
    if (u < 0.3) {          /* a^b between 2^-1100 and 2^1030: b = t / ln a */
        *a = spread(r, DBL_MAX);
        *b = uniform(r, -760, 715) / log(*a);
    } else if (u < 0.45) {  /* a near 1, b large */
        *a = near(r, 1.0);
        *b = uniform(r, -760, 715) / log(*a);
    } else if (u < 0.65) {
        *a = uniform(r, 0, 10);
        *b = uniform(r, -10, 10);
    } else if (u < 0.8) {   /* negative a: real only for integer b */
        *a = uniform(r, -10, 0);
        *b = (double)uniform_int(r, -300, 300);
    } else {
        *a = random_sign(r, spread(r, DBL_MAX));
        *b = random_sign(r, spread(r, DBL_MAX));
    }
}

static void order_pair(rng *r, double *a, double *b)
{
    double u = unit(r);
    *a = uniform(r, -10, 10);
    if (u < 0.2) *b = *a;
    else if (u < 0.3) *b = nextafter(*a, random_sign(r, INFINITY));
    else if (u < 0.6) *b = uniform(r, -10, 10);
    else {
        *a = random_sign(r, spread(r, DBL_MAX));
        *b = random_sign(r, spread(r, DBL_MAX));
    }
}

void sample_pair(rng *r, pair_kind kind, double *a, double *b)
{
    switch (kind) {
    case PAIRS_POLAR: polar(r, a, b); return;
    case PAIRS_POW:   pow_pair(r, a, b); return;
    case PAIRS_ORDER: order_pair(r, a, b); return;
    }
}

/* ---------------------------------------------------------- specials */

/* The double nearest f(k) = (2k + 1) pi/2, from MPFR. */
static double odd_half_pi(double k)
{
    mpfr_t t;
    mpfr_init2(t, 2200);
    mpfr_const_pi(t, MPFR_RNDN);
    mpfr_mul_d(t, t, 2 * k + 1, MPFR_RNDN);
    mpfr_div_2ui(t, t, 1, MPFR_RNDN);
    double x = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clear(t);
    return x;
}

/* ln(x) rounded to the nearest double. */
static double log_of(double x)
{
    mpfr_t t;
    mpfr_init2(t, 256);
    mpfr_set_d(t, x, MPFR_RNDN);
    mpfr_log(t, t, MPFR_RNDN);
    double y = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clear(t);
    return y;
}

static size_t push(double *out, size_t n, size_t max, double x)
{
    if (n < max) out[n] = x;
    return n + 1;
}

size_t special_points(double *out, size_t max)
{
    const double base[] = {
        DBL_TRUE_MIN, 3 * DBL_TRUE_MIN, 0x1.23456789abcdep-1060, DBL_MIN - DBL_TRUE_MIN,
        DBL_MIN, 0x1p-1000, 1e-300, 0x1p-540, 1e-200, 1e-160, 0x1p-511, 0x1p-27, 1e-8,
        0x1p-26, 0.1, 0.5, 0.5493061443340549 /* tanh = 1/2 */, 1 - 0x1p-53, 1.0,
        1 + 0x1p-52, 1.5, 2 - 0x1p-52, 2.0, 3.0, 10.0, 19.0615, 20.0, 26.54, 26.55,
        27.2264, 27.2977, 36.7368, 37.0, 40.0, 700.0,
        log_of(DBL_MAX), log_of(DBL_MAX) + log_of(2),   /* exp, and sinh/cosh overflow */
        log_of(DBL_MIN), log_of(DBL_TRUE_MIN),                 /* exp goes subnormal, to 0 */
        1e10, 1e15, 0x1p53, 1e17, 0x1p511, 1e154, 0x1.fffffffffffffp511 /* sqrt(DBL_MAX) */,
        1e200, 0x1p1022, 1e300, 1e308, DBL_MAX,
        6381956970095103.0 * 0x1p797,  /* the double nearest a multiple of pi/2 */
    };
    const double poles[] = { 0, 1, 2, 3, 10, 100, 1e4, 1e6, 1e9 };
    size_t n = 0;
    n = push(out, n, max, 0.0);
    n = push(out, n, max, -0.0);
    n = push(out, n, max, INFINITY);
    n = push(out, n, max, -INFINITY);
    n = push(out, n, max, NAN);
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        double x = base[i];
        double around[] = { nextafter(x, 0), x, nextafter(x, INFINITY) };
        for (size_t j = 0; j < 3; j++) {
            if (!isfinite(around[j]) || around[j] == 0) continue;
            n = push(out, n, max, around[j]);
            n = push(out, n, max, -around[j]);
        }
    }
    for (size_t i = 0; i < sizeof poles / sizeof poles[0]; i++) {
        double x = odd_half_pi(poles[i]);
        double around[] = { nextafter(nextafter(x, 0), 0), nextafter(x, 0), x,
                            nextafter(x, INFINITY), nextafter(nextafter(x, INFINITY), INFINITY) };
        for (size_t j = 0; j < 5; j++) {
            n = push(out, n, max, around[j]);
            n = push(out, n, max, -around[j]);
        }
    }
    return n;
}

size_t special_pair_values(double *out, size_t max)
{
    const double base[] = {
        0.0, DBL_TRUE_MIN, 0x1.23456789abcdep-1060, DBL_MIN, 1e-300, 1e-200, 0x1p-30,
        0.5, 1.0, 3.0, 1e200, 1e300, DBL_MAX, INFINITY,
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        n = push(out, n, max, base[i]);
        n = push(out, n, max, -base[i]);
    }
    return push(out, n, max, NAN);
}
