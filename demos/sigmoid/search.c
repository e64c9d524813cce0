#include "search.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

const char *const level_name[NLEVELS] = {
    [LOSES_DIGITS] = "loses_digits",
    [GIVES_ZERO] = "gives_zero",
    [NOT_A_NUMBER] = "not_a_number",
};

bool is_broken(enum level l, double got, long double ref)
{
    switch (l) {
    case LOSES_DIGITS: return !(rel_error(got, ref) <= ACCURATE);
    case GIVES_ZERO:   return got == 0 && ref >= (long double)DBL_MIN;
    case NOT_A_NUMBER: return !isfinite(got);
    case NLEVELS:      break;
    }
    return false;
}

/* Doubles in order as integers (adjacent doubles are adjacent integers),
 * so that bisection can run until the bracket is two neighbours. */
static int64_t to_ordered(double v)
{
    int64_t k;
    memcpy(&k, &v, sizeof k);
    return k < 0 ? INT64_MIN - k : k;
}

static double from_ordered(int64_t k)
{
    if (k < 0) k = INT64_MIN - k;
    double v;
    memcpy(&v, &k, sizeof v);
    return v;
}

/* good is a point where form f passes level l, bad one where it fails;
 * narrow the bracket to adjacent doubles. */
static void bisect(rig *r, enum form f, enum level l, double good, double bad, breakdown *out)
{
    int64_t lo = to_ordered(good), hi = to_ordered(bad);
    while (lo - hi > 1 || hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        sample s = rig_eval(r, from_ordered(mid));
        if (is_broken(l, s.d[f], s.ref)) hi = mid;
        else lo = mid;
    }
    out->found = true;
    out->last_good = from_ordered(lo);
    out->first_bad = from_ordered(hi);
    out->at = rig_eval(r, out->first_bad);
}

void search_breakdowns(rig *r, double limit, double step, search_result *out)
{
    memset(out, 0, sizeof *out);
    out->limit = limit;
    out->step = step;
    /* Brackets found by the scan, bisected afterwards (bisection moves the
     * graph to other points). */
    double good[NFORMS][NSIDES][NLEVELS], bad[NFORMS][NSIDES][NLEVELS];
    bool seen[NFORMS][NSIDES][NLEVELS] = { { { false } } };

    for (int side = 0; side < NSIDES; side++) {
        double sign = side == NEGATIVE ? -1.0 : 1.0;
        double prev = 0;
        long n = (long)ceil(limit / step);
        for (long i = 0; i <= n; i++) {
            double x = sign * fmin((double)i * step, limit);
            sample s = rig_eval(r, x);
            for (int f = 0; f < NFORMS; f++) {
                for (int l = 0; l < NLEVELS; l++) {
                    if (seen[f][side][l] || !is_broken((enum level)l, s.d[f], s.ref)) continue;
                    seen[f][side][l] = true;
                    good[f][side][l] = prev;
                    bad[f][side][l] = x;
                }
                double e = rel_error(s.d[f], s.ref);
                if (!seen[f][side][LOSES_DIGITS] && e > out->worst_err[f][side]) {
                    out->worst_err[f][side] = e;
                    out->worst_err_at[f][side] = x;
                }
                if (fabs(x) <= EVERYDAY) {
                    long long u = ulps_apart(s.d[f], s.ref);
                    if (u < 0 || u > out->worst_ulps_everyday[f])
                        out->worst_ulps_everyday[f] = u < 0 ? LLONG_MAX : u;
                    if (!(e <= out->worst_err_everyday[f])) out->worst_err_everyday[f] = e;
                }
            }
            prev = x;
        }
    }

    for (int f = 0; f < NFORMS; f++)
        for (int side = 0; side < NSIDES; side++)
            for (int l = 0; l < NLEVELS; l++) {
                if (!seen[f][side][l]) continue;
                breakdown *b = &out->b[f][side][l];
                if (bad[f][side][l] == 0) {   /* wrong at 0 itself: nothing to bisect */
                    b->found = true;
                    b->last_good = b->first_bad = 0;
                    b->at = rig_eval(r, 0);
                    continue;
                }
                bisect(r, (enum form)f, (enum level)l, good[f][side][l], bad[f][side][l], b);
            }
}
