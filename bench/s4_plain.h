/*
 * S4 on a plain tape, written once for both: included through
 * plaintapes.h by s4_sigmoid.c, with PT(f) naming the tape's functions and
 * PW(name) the function defined here.
 */

/* One repetition, timed into s at r: from an empty tape that keeps its
 * storage, the n leaves, y = sum_i sigmoid(x_i), backward.  Decomposed is
 * the book's x*-1, exp, +1, 1/x with the constants -1 and 1 recorded once;
 * fused is one node.  grad (NULL: not read) gets the n gradients. */
static void PW(s4_once)(il_tape *t, const double *xv, il_id *x, size_t n, int fused,
                        s4_samples *s, int r, double *grad)
{
    PT(rewind)(t, 0);
    uint64_t t0 = bench_now_ns();
    for (size_t i = 0; i < n; i++) x[i] = PT(leaf)(t, xv[i]);
    uint64_t t1 = bench_now_ns();
    il_id minus1 = 0, one = 0, acc = 0;
    if (!fused) {
        minus1 = PT(leaf)(t, -1.0);
        one = PT(leaf)(t, 1.0);
    }
    for (size_t i = 0; i < n; i++) {
        il_id y = fused ? PT(sigmoid)(t, x[i])
                        : PT(recip)(t, PT(add)(t, PT(exp)(t, PT(mul)(t, x[i], minus1)), one));
        acc = i ? PT(add)(t, acc, y) : y;
    }
    uint64_t t2 = bench_now_ns();
    PT(backward)(t, acc);
    uint64_t t3 = bench_now_ns();
    s->leaves[r] = (double)(t1 - t0);
    s->record[r] = (double)(t2 - t0);
    s->backward[r] = (double)(t3 - t2);
    s->total[r] = (double)(t3 - t0);
    if (grad)
        for (size_t i = 0; i < n; i++) grad[i] = PT(grad)(t, x[i]);
}
