/*
 * ADOL-C as one more reference measured in the same run (adolc.cc, C++),
 * built in when meson finds a C++ compiler and ADOL-C: then TGBENCH_ADOLC
 * is 1.  Each call records a fresh trace on its own tag, keeping the Taylor
 * values, in buffers sized so that the tape never leaves memory; each
 * returns 0, or -1 when ADOL-C wrote its tape to a file all the same (the
 * figure would then time the disk) or a driver reported an error.
 */
#ifndef BENCH_ADOLC_H
#define BENCH_ADOLC_H

#include <stddef.h>

#ifndef TGBENCH_ADOLC
#define TGBENCH_ADOLC 0
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* S1 once, untimed: out[] = price and its five gradients. */
int adolc_s1_once(double out[6]);
/* S1 timed: loops repetitions of trace, fos_reverse, read the five
 * gradients; their sum goes to *sum. */
int adolc_s1_loop(long loops, double *sum);

/* S2, chained Rosenbrock, as the plain tapes' chained_once: record at xa
 * (ns[0]), fos_reverse into ga (ns[1]), replay at xb with zos_forward and
 * fos_reverse into gb (ns[2]); fv[] gets f at xa and at xb. */
int adolc_s2_once(const double *xa, const double *xb, size_t n, double *ga, double *gb,
                  double ns[3], double fv[2]);

/* S4: record the n leaves and y = sum_i sigmoid(x_i) (ns[0]), fos_reverse
 * into grad (ns[1]).  Decomposed: 1 / (exp(x * -1) + 1); fused: the
 * expression 1 / (1 + exp(-x)), ADOL-C having no sigmoid op. */
int adolc_s4_once(const double *xv, size_t n, int fused, double *grad, double ns[2]);

#ifdef __cplusplus
}
#endif

#endif
