/* Clock, statistics, memory, random numbers and the report printer. */
#include "harness.h"

#include "commit.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ timing */

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

bench_stats bench_stats_of(double *samples, size_t n)
{
    bench_stats s = { NAN, NAN };
    if (n == 0) return s;
    qsort(samples, n, sizeof *samples, cmp_double);
    s.min = samples[0];
    s.median = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
    return s;
}

long bench_peak_rss_kib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return ru.ru_maxrss;  /* KiB on Linux */
}

long bench_current_rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long size = 0, resident = 0;
    int got = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (got != 2) return 0;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ------------------------------------------------------------ random */

uint64_t bench_rng_next(bench_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double bench_rng_uniform(bench_rng *r, double lo, double hi)
{
    double u = (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;  /* [0, 1) */
    return lo + (hi - lo) * u;
}

/* Box-Muller; the second value of each pair is dropped to keep the stream
 * stateless beyond `state`. */
double bench_rng_normal(bench_rng *r)
{
    double u1 = bench_rng_uniform(r, 0.0, 1.0), u2 = bench_rng_uniform(r, 0.0, 1.0);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586477 * u2);  /* 2 pi u2 */
}

size_t bench_rng_below(bench_rng *r, size_t n)
{
    return (size_t)(bench_rng_next(r) % n);  /* bias below 2^-40 for n < 2^24 */
}

/* ------------------------------------------------------------ report */

typedef enum entry_kind { E_PHASE, E_NUM, E_STR, E_NOTE } entry_kind;

typedef struct entry {
    entry_kind kind;
    char key[48];
    char label[64];     /* "" keeps it out of the table */
    char unit[64];
    char text[160];     /* E_STR value, E_NOTE line */
    bench_stats ns;     /* E_PHASE */
    double per;         /* E_PHASE: divisor of the per-column, 0 for none */
    double value;       /* E_NUM */
    int digits;
} entry;

struct bench_report {
    char workload[8];
    char name[96];
    char title[200];
    entry *e;
    size_t n, cap;
};

bench_report *bench_report_new(const char *workload, const char *name)
{
    bench_report *r = calloc(1, sizeof *r);
    if (!r) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    snprintf(r->workload, sizeof r->workload, "%s", workload);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->title, sizeof r->title, "%s", name);
    return r;
}

void bench_report_free(bench_report *r)
{
    if (!r) return;
    free(r->e);
    free(r);
}

void bench_report_title(bench_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->title, sizeof r->title, fmt, ap);
    va_end(ap);
}

static entry *add_entry(bench_report *r, entry_kind kind, const char *key, const char *label)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 32;
        entry *e = realloc(r->e, cap * sizeof *e);
        if (!e) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
        r->e = e;
        r->cap = cap;
    }
    entry *e = &r->e[r->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    snprintf(e->key, sizeof e->key, "%s", key ? key : "");
    snprintf(e->label, sizeof e->label, "%s", label ? label : "");
    return e;
}

void bench_report_phase(bench_report *r, const char *key, const char *label,
                        bench_stats ns, double per, const char *per_unit)
{
    entry *e = add_entry(r, E_PHASE, key, label);
    e->ns = ns;
    e->per = per;
    snprintf(e->unit, sizeof e->unit, "%s", per_unit ? per_unit : "");
}

void bench_report_num(bench_report *r, const char *key, const char *label,
                      double v, int digits, const char *unit)
{
    entry *e = add_entry(r, E_NUM, key, label);
    e->value = v;
    e->digits = digits;
    snprintf(e->unit, sizeof e->unit, "%s", unit ? unit : "");
}

void bench_report_str(bench_report *r, const char *key, const char *label, const char *v)
{
    entry *e = add_entry(r, E_STR, key, label);
    snprintf(e->text, sizeof e->text, "%s", v);
}

void bench_report_note(bench_report *r, const char *fmt, ...)
{
    entry *e = add_entry(r, E_NOTE, NULL, NULL);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof e->text, fmt, ap);
    va_end(ap);
}

/* A duration in the unit that keeps 3-4 significant digits readable. */
static void format_ns(char *buf, size_t len, double ns)
{
    if (!isfinite(ns))          snprintf(buf, len, "%9s   ", "-");
    else if (ns < 1e3)          snprintf(buf, len, "%9.2f ns", ns);
    else if (ns < 1e6)          snprintf(buf, len, "%9.2f us", ns / 1e3);
    else if (ns < 1e9)          snprintf(buf, len, "%9.2f ms", ns / 1e6);
    else                        snprintf(buf, len, "%9.3f s ", ns / 1e9);
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* JSON has no NaN or infinity: they become null. */
static void print_json_number(double v)
{
    if (!isfinite(v)) fputs("null", stdout);
    else if (v == floor(v) && fabs(v) < 1e15) printf("%.0f", v);
    else printf("%.9g", v);
}

static void emit_json(const bench_report *r)
{
    printf("{\"workload\":");
    print_json_string(r->workload);
    printf(",\"name\":");
    print_json_string(r->name);
    printf(",\"commit\":");
    print_json_string(TGBENCH_COMMIT);
    for (size_t i = 0; i < r->n; i++) {
        const entry *e = &r->e[i];
        switch (e->kind) {
        case E_PHASE:
            printf(",\"%s_median_ns\":", e->key);
            print_json_number(e->ns.median);
            printf(",\"%s_min_ns\":", e->key);
            print_json_number(e->ns.min);
            break;
        case E_NUM:
            printf(",\"%s\":", e->key);
            print_json_number(e->value);
            break;
        case E_STR:
            printf(",\"%s\":", e->key);
            print_json_string(e->text);
            break;
        case E_NOTE:
            break;
        }
    }
    printf("}\n");
}

static void emit_table(const bench_report *r)
{
    printf("\n%s  %s\n    [tgbench at %s]\n", r->workload, r->title, TGBENCH_COMMIT);
    bool header = false;
    for (size_t i = 0; i < r->n; i++) {
        const entry *e = &r->e[i];
        if (e->kind == E_NOTE) {
            printf("    %s\n", e->text);
            continue;
        }
        if (!e->label[0]) continue;
        char med[32], min[32];
        switch (e->kind) {
        case E_PHASE:
            if (!header) {
                printf("  %-40s %12s %12s %14s\n", "phase", "median", "min", "median per");
                header = true;
            }
            format_ns(med, sizeof med, e->ns.median);
            format_ns(min, sizeof min, e->ns.min);
            if (e->per > 0) {
                char per[32];
                format_ns(per, sizeof per, e->ns.median / e->per);
                printf("  %-40s %12s %12s %12s/%s\n", e->label, med, min, per, e->unit);
            } else {
                printf("  %-40s %12s %12s\n", e->label, med, min);
            }
            break;
        case E_NUM:
            if (e->digits < 0)  /* significant digits, for tiny differences */
                printf("  %-40s %.*g%s%s\n", e->label, -e->digits, e->value,
                       e->unit[0] ? " " : "", e->unit);
            else
                printf("  %-40s %.*f%s%s\n", e->label, e->digits, e->value,
                       e->unit[0] ? " " : "", e->unit);
            break;
        case E_STR:
            printf("  %-40s %s\n", e->label, e->text);
            break;
        case E_NOTE:
            break;
        }
    }
}

void bench_report_emit(const bench_report *r, bool json)
{
    if (json) emit_json(r);
    else emit_table(r);
    fflush(stdout);
}
