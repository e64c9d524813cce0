/*
 * S2's chained Rosenbrock on a plain tape, written once for both: included
 * by s2_chained.c with PT(f) naming the tape's functions (il_f of
 * inltape.h, or bt_f of baretape.h) and PW(name) the functions defined
 * here.  Eight ops a term, in the order tapegrad records them.
 */

/* From an empty tape that keeps its storage: the n leaves, the constants
 * 100 and 1, then f; returns f. */
static inline il_id PW(chained_record)(il_tape *t, const double *xv, il_id *x, size_t n)
{
    PT(rewind)(t, 0);
    for (size_t i = 0; i < n; i++) x[i] = PT(leaf)(t, xv[i]);
    il_id hundred = PT(leaf)(t, 100.0), one = PT(leaf)(t, 1.0), f = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        il_id a = PT(sub)(t, x[i + 1], PT(mul)(t, x[i], x[i]));
        il_id p = PT(mul)(t, PT(mul)(t, a, a), hundred);
        il_id b = PT(sub)(t, one, x[i]);
        il_id term = PT(add)(t, p, PT(mul)(t, b, b));
        f = i ? PT(add)(t, f, term) : term;
    }
    return f;
}

/* Backward from f and the n gradients into grad[]. */
static inline void PW(chained_reverse)(il_tape *t, il_id f, const il_id *x, size_t n, double *grad)
{
    PT(backward)(t, f);
    for (size_t i = 0; i < n; i++) grad[i] = PT(grad)(t, x[i]);
}

/* One repetition: record at xa, reverse into ga, replay at xb (set the
 * leaves, forward, reverse) into gb.  ns[] gets the three times, fv[] f at
 * xa and at xb. */
static void PW(chained_once)(il_tape *t, const double *xa, const double *xb, il_id *x, size_t n,
                             double *ga, double *gb, double ns[3], double fv[2])
{
    uint64_t t0 = bench_now_ns();
    il_id f = PW(chained_record)(t, xa, x, n);
    uint64_t t1 = bench_now_ns();
    PW(chained_reverse)(t, f, x, n, ga);
    uint64_t t2 = bench_now_ns();
    fv[0] = PT(val)(t, f);
    uint64_t t3 = bench_now_ns();
    for (size_t i = 0; i < n; i++) PT(set)(t, x[i], xb[i]);
    PT(forward)(t);
    PW(chained_reverse)(t, f, x, n, gb);
    uint64_t t4 = bench_now_ns();
    fv[1] = PT(val)(t, f);
    ns[0] = (double)(t1 - t0);
    ns[1] = (double)(t2 - t1);
    ns[2] = (double)(t4 - t3);
}
