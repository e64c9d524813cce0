#include "helpers.h"

#include <math.h>
#include <stdlib.h>

/* Doubles of one sign are ordered like their bit patterns. */
uint64_t ulp_distance(double a, double b)
{
    if (isnan(a) || isnan(b)) return UINT64_MAX;
    if (a == b) return 0;
    if (signbit(a) != signbit(b)) {
        if (a == 0 || b == 0) {
            double nz = a == 0 ? b : a;
            return ulp_distance(fabs(nz), 0.0);
        }
        return UINT64_MAX;
    }
    uint64_t ua, ub;
    double fa = fabs(a), fb = fabs(b);
    memcpy(&ua, &fa, sizeof ua);
    memcpy(&ub, &fb, sizeof ub);
    return ua > ub ? ua - ub : ub - ua;
}

long double rel_err(double got, long double ref)
{
    if (isnan(got) || isnan(ref)) return (isnan(got) && isnan(ref)) ? 0.0L : INFINITY;
    if (isinf(got) || isinf(ref)) return (long double)got == ref ? 0.0L : INFINITY;
    long double d = fabsl((long double)got - ref);
    return ref == 0 ? d : d / fabsl(ref);
}

double central_difference(double (*f)(const double *v), const double *v, size_t n, size_t i)
{
    double w[8];
    ck_assert_uint_le(n, 8);
    memcpy(w, v, n * sizeof *v);
    double h = 1e-6 * fmax(1.0, fabs(v[i]));
    volatile double hi = v[i] + h, lo = v[i] - h;
    w[i] = hi;
    double fhi = f(w);
    w[i] = lo;
    double flo = f(w);
    return (fhi - flo) / (hi - lo);
}
