/*
 * The tests' random numbers: splitmix64 (Steele, Lea and Flood, 2014) on a
 * state of one uint64_t that the caller holds and seeds with any value, 0
 * included.  A test's data then depend on its seed alone, on every machine.
 */
#ifndef TEST_RNG_H
#define TEST_RNG_H

#include <stddef.h>
#include <stdint.h>

/* The next 64 random bits; advances *state. */
uint64_t rng_next(uint64_t *state);
/* Uniform in [lo, hi), from the top 53 bits. */
double rng_uniform(uint64_t *state, double lo, double hi);
/* Uniform in [0, n) for n > 0 (the modulo bias, below 2^-50 for the n
 * tests use, does not matter here). */
uint64_t rng_below(uint64_t *state, uint64_t n);
/* x[0..n) uniform in [lo, hi). */
void rng_fill(uint64_t *state, double *x, size_t n, double lo, double hi);
/* The same, each kept at least gap away from 0 (for relu's kink). */
void rng_fill_away_from_zero(uint64_t *state, double *x, size_t n, double lo, double hi, double gap);

#endif
