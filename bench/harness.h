/*
 * What every workload of the benchmark shares: a monotonic clock, median
 * and minimum of repeated samples, peak memory, a seeded random generator,
 * the command-line options, and a report that prints either as a table a
 * person reads or as one JSON object per line that a tool reads.
 *
 * Times are wall-clock nanoseconds from CLOCK_MONOTONIC.  Every phase is
 * repeated and reported as median and minimum: the median is the figure
 * quoted (robust to the other jobs on a shared machine), the minimum shows
 * what the code does when nothing interferes.
 */
#ifndef BENCH_HARNESS_H
#define BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ options */

typedef struct bench_opts {
    bool json;        /* one JSON object per line instead of tables */
    bool quick;       /* shrink every workload to a smoke run of seconds */
    bool scaling;     /* S2 at n = 1e4 .. 1e7 instead of one size */
    int reps;         /* repetitions per phase; 0 means the workload's default */
    long n;           /* S2/S4 problem size; 0 means the default */
    long iters;       /* S3 steps / T1 iterations; 0 means the default */
    const char *data; /* MNIST directory given with --data, or NULL */
    long blas_threads; /* --blas-threads: OpenBLAS's threads; 0 leaves its own setting */
} bench_opts;

/* ------------------------------------------------------------ timing */

uint64_t bench_now_ns(void);

typedef struct bench_stats {
    double median, min;  /* in the unit of the samples */
} bench_stats;

/* Median and minimum of n samples (n >= 1); samples are reordered. */
bench_stats bench_stats_of(double *samples, size_t n);

/* Peak resident memory of this process so far (getrusage), in KiB. */
long bench_peak_rss_kib(void);
/* Resident memory now (/proc/self/statm), in KiB; 0 if unknown. */
long bench_current_rss_kib(void);

/* ------------------------------------------------------------ random */

/* splitmix64: deterministic across machines, so every run trains on the
 * same points and draws the same batches. */
typedef struct bench_rng {
    uint64_t state;
} bench_rng;

uint64_t bench_rng_next(bench_rng *r);
double   bench_rng_uniform(bench_rng *r, double lo, double hi);  /* [lo, hi) */
double   bench_rng_normal(bench_rng *r);                         /* N(0, 1) */
size_t   bench_rng_below(bench_rng *r, size_t n);                /* [0, n) */

/* ------------------------------------------------------------ report */

/* One workload's result.  Phases are timed steps with median and minimum;
 * values are single figures (ratios, sizes, accuracies).  An entry with a
 * NULL label goes to JSON only; every entry goes to JSON. */
typedef struct bench_report bench_report;

bench_report *bench_report_new(const char *workload, const char *name);
void bench_report_free(bench_report *r);

/* A header line for the table, printf-style (JSON ignores it). */
void bench_report_title(bench_report *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A timed phase: samples are nanoseconds per repetition.  JSON gets
 * "<key>_median_ns" and "<key>_min_ns".  per > 0 adds a column with the
 * median divided by per (ns per op, per node, per step), and per_unit its
 * name. */
void bench_report_phase(bench_report *r, const char *key, const char *label,
                        bench_stats ns, double per, const char *per_unit);

/* A number: label NULL keeps it out of the table.  unit is printed after
 * it; digits is the table's precision, decimals or, when negative, that
 * many significant digits (JSON always prints it in full). */
void bench_report_num(bench_report *r, const char *key, const char *label,
                      double v, int digits, const char *unit);
/* A string value. */
void bench_report_str(bench_report *r, const char *key, const char *label, const char *v);
/* A free line of text in the table only (a target, a note). */
void bench_report_note(bench_report *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Print as a table or a JSON line on stdout, and flush. */
void bench_report_emit(const bench_report *r, bool json);

/* ------------------------------------------------------------ workloads */

/* Each returns 0, or 1 after printing why on stderr (the engine gave a
 * wrong answer or an error, or the data is missing: then 77). */
int bench_s1(const bench_opts *o);
int bench_s2(const bench_opts *o);
int bench_s3(const bench_opts *o);
int bench_s4(const bench_opts *o);
int bench_t1(const bench_opts *o);
int bench_h1(const bench_opts *o);
int bench_m1(const bench_opts *o);

/* Exit status for a workload that cannot run here (no data). */
#define BENCH_SKIP 77

#endif
