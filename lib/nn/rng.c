/* The seeded generator of nn.h: splitmix64 for bits, Box-Muller for
 * normals, rejection for an exactly uniform index. */
#include <math.h>

#include "tapegrad/nn.h"

tg_rng tg_rng_seed(uint64_t seed)
{
    tg_rng r = { seed, 0.0, 0 };
    return r;
}

uint64_t tg_rng_next(tg_rng *r)
{
    /* splitmix64 (Steele, Lea, Flood 2014): a Weyl sequence through a
     * 64-bit finaliser; every seed gives a full-period stream. */
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tg_rng_uniform(tg_rng *r)
{
    return (double)(tg_rng_next(r) >> 11) * 0x1.0p-53;
}

double tg_rng_normal(tg_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    /* Box-Muller: for u1 in (0,1] and u2 in [0,1), sqrt(-2 ln u1) (cos, sin)(2 pi u2)
     * are two independent N(0,1). */
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - tg_rng_uniform(r);
    double u2 = tg_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    r->spare = rad * sin(two_pi * u2);
    r->has_spare = 1;
    return rad * cos(two_pi * u2);
}

size_t tg_rng_below(tg_rng *r, size_t n)
{
    if (n == 0) return 0;
    /* Reject the top 2^64 mod n values so that x % n is exactly uniform. */
    uint64_t m = (uint64_t)n;
    uint64_t reject_below = (0 - m) % m;
    uint64_t x;
    do x = tg_rng_next(r); while (x < reject_below);
    return (size_t)(x % m);
}
