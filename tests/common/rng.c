#include "rng.h"

#include <math.h>

uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double rng_uniform(uint64_t *state, double lo, double hi)
{
    double u = (double)(rng_next(state) >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
}

uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return rng_next(state) % n;
}

void rng_fill(uint64_t *state, double *x, size_t n, double lo, double hi)
{
    for (size_t k = 0; k < n; k++) x[k] = rng_uniform(state, lo, hi);
}

void rng_fill_away_from_zero(uint64_t *state, double *x, size_t n, double lo, double hi, double gap)
{
    for (size_t k = 0; k < n; k++) {
        do x[k] = rng_uniform(state, lo, hi);
        while (fabs(x[k]) < gap);
    }
}
