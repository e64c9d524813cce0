// ADOL-C's side of S1, S2 and S4 (adolc.h): each workload written with
// adoubles the way an ADOL-C user writes it, the same ops in the same order
// as tapegrad records them, recorded with trace_on / trace_off and
// differentiated with the drivers zos_forward and fos_reverse.
#include <adolc/adolc.h>

#if defined(__has_include)
#if __has_include(<malloc.h>)
#include <malloc.h>  // mallopt, where the C library has it
#endif
#endif

#include <climits>
#include <cstddef>

#include "adolc.h"
extern "C" {
#include "harness.h"
}

namespace {

// One tag per tape, so that the S4 variants each keep their buffers.
enum : short { TAG_S1 = 1, TAG_S2, TAG_S4_DECOMPOSED, TAG_S4_FUSED };

unsigned fit(size_t n) { return n < UINT_MAX ? (unsigned)n : UINT_MAX; }

// Every trace_on frees the tag's buffers and allocates them again (and
// zos_forward its Taylor buffer): glibc serves such large blocks from
// fresh mappings, so each repetition would fault in some 200 MB at n = 1e6,
// disturbing the other tools' repetitions too.  Keeping freed memory in
// the heap gives ADOL-C what the others have, a tape that keeps its
// storage.  Set at ADOL-C's first call, when the others have grown theirs.
void keep_storage()
{
#if defined(M_MMAP_MAX) && defined(M_TRIM_THRESHOLD)
    static bool done;
    if (!done) {
        mallopt(M_MMAP_MAX, 0);
        mallopt(M_TRIM_THRESHOLD, INT_MAX);
        done = true;
    }
#endif
}

// trace_on, keeping the Taylor values for the reverse sweep, with buffers
// for a tape of `units` terms (S2) or x's (S4).  ADOL-C 2.7 records about
// 10 ops, 23 locations, 2 constants and 11 Taylor values a chained term
// (7, 12, 2 and 8 a sigmoid); these sizes leave room, and a tape that
// outgrows a buffer would go to a file in the working directory.
void trace_sized(short tag, size_t units)
{
    size_t u = units + 64;
    keep_storage();
    trace_on(tag, 1, fit(16 * u), fit(32 * u), fit(4 * u), fit(16 * u));
}

// 0 if the tape and its Taylor values stayed in memory, else -1.
int in_core(short tag)
{
    size_t st[STAT_SIZE];
    tapestats(tag, st);
    bool file = st[OP_FILE_ACCESS] || st[LOC_FILE_ACCESS] || st[VAL_FILE_ACCESS] ||
                st[TAY_STACK_SIZE] > st[TAY_BUFFER_SIZE];
    return file ? -1 : 0;
}

// The drivers return a negative code on an error.
int checked(int driver_rc, int rc) { return driver_rc < 0 ? -1 : rc; }

// ------------------------------------------------------------------ S1

// price = (apple * apple_num + orange * orange_num) * tax at the book's
// point; returns price.
double s1_record()
{
    double price_v;
    trace_sized(TAG_S1, 1);
    {
        adouble apple, apple_num, orange, orange_num, tax;
        apple <<= 100.0;
        apple_num <<= 2.0;
        orange <<= 150.0;
        orange_num <<= 3.0;
        tax <<= 1.1;
        adouble price = (apple * apple_num + orange * orange_num) * tax;
        price >>= price_v;
    }
    trace_off();
    return price_v;
}

// ------------------------------------------------------------------ S2

// f at xv on TAG_S2.  The constants are doubles in the expressions, as
// ADOL-C code writes them: an adouble-double op keeps its constant in the
// tape's value buffer, one op as tapegrad's op on a constant node.
double s2_record(const double *xv, size_t n)
{
    double fv;
    trace_sized(TAG_S2, n);
    {
        adouble *x = new adouble[n];
        for (size_t i = 0; i < n; i++) x[i] <<= xv[i];
        adouble f = 0.0;
        for (size_t i = 0; i + 1 < n; i++) {
            adouble a = x[i + 1] - x[i] * x[i];
            adouble p = a * a * 100.0;
            adouble b = 1.0 - x[i];
            f += p + b * b;
        }
        f >>= fv;
        delete[] x;
    }
    trace_off();
    return fv;
}

// ------------------------------------------------------------------ S4

void s4_record(const double *xv, size_t n, int fused)
{
    double yv;
    trace_sized(fused ? TAG_S4_FUSED : TAG_S4_DECOMPOSED, n);
    {
        adouble *x = new adouble[n];
        for (size_t i = 0; i < n; i++) x[i] <<= xv[i];
        adouble y = 0.0;
        for (size_t i = 0; i < n; i++) {
            if (fused) y += 1.0 / (1.0 + exp(-x[i]));
            else y += 1.0 / (exp(x[i] * -1.0) + 1.0);
        }
        y >>= yv;
        delete[] x;
    }
    trace_off();
}

}  // namespace

extern "C" int adolc_s1_once(double out[6])
{
    double u = 1.0;
    out[0] = s1_record();
    return checked(fos_reverse(TAG_S1, 1, 5, &u, out + 1), in_core(TAG_S1));
}

extern "C" int adolc_s1_loop(long loops, double *sum)
{
    double u = 1.0, g[5], s = 0.0;
    int rc = 0;
    for (long k = 0; k < loops; k++) {
        s1_record();
        rc = checked(fos_reverse(TAG_S1, 1, 5, &u, g), rc);
        s += g[0] + g[1] + g[2] + g[3] + g[4];
    }
    *sum = s;
    return rc ? rc : in_core(TAG_S1);
}

extern "C" int adolc_s2_once(const double *xa, const double *xb, size_t n, double *ga, double *gb,
                             double ns[3], double fv[2])
{
    if (n > INT_MAX) return -1;
    int m = (int)n, rc = 0;
    double u = 1.0;
    uint64_t t0 = bench_now_ns();
    fv[0] = s2_record(xa, n);
    uint64_t t1 = bench_now_ns();
    rc = checked(fos_reverse(TAG_S2, 1, m, &u, ga), rc);
    uint64_t t2 = bench_now_ns();
    rc = checked(zos_forward(TAG_S2, 1, m, 1, xb, &fv[1]), rc);
    rc = checked(fos_reverse(TAG_S2, 1, m, &u, gb), rc);
    uint64_t t3 = bench_now_ns();
    ns[0] = (double)(t1 - t0);
    ns[1] = (double)(t2 - t1);
    ns[2] = (double)(t3 - t2);
    return rc ? rc : in_core(TAG_S2);
}

extern "C" int adolc_s4_once(const double *xv, size_t n, int fused, double *grad, double ns[2])
{
    if (n > INT_MAX) return -1;
    short tag = fused ? TAG_S4_FUSED : TAG_S4_DECOMPOSED;
    double u = 1.0;
    uint64_t t0 = bench_now_ns();
    s4_record(xv, n, fused);
    uint64_t t1 = bench_now_ns();
    int rc = checked(fos_reverse(tag, 1, (int)n, &u, grad), 0);
    uint64_t t2 = bench_now_ns();
    ns[0] = (double)(t1 - t0);
    ns[1] = (double)(t2 - t1);
    return rc ? rc : in_core(tag);
}
