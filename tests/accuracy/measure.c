#include <check.h>
#include <math.h>
#include <string.h>

#include "measure.h"
#include "ulp.h"

enum { PREC = 256, PREC_CHECK = 320 };
#define UNSTABLE_ULPS 0x1p-30

/* The reference at one precision. */
typedef struct reference { mpfr_t y, d[2], a, b; } reference;

static void reference_init(reference *r, mpfr_prec_t prec)
{
    mpfr_inits2(prec, r->y, r->d[0], r->d[1], r->a, r->b, (mpfr_ptr)0);
}

static void reference_clear(reference *r)
{
    mpfr_clears(r->y, r->d[0], r->d[1], r->a, r->b, (mpfr_ptr)0);
}

/* Evaluate; where the value of a function is NaN (outside the domain) the
 * derivatives are NaN too, as tapegrad.h promises.  Arithmetic keeps its
 * formulas' partials (d(a - b)/da is 1 at a NaN b). */
static void reference_eval(reference *r, const op_row *row, double a, double b)
{
    mpfr_set_d(r->a, a, MPFR_RNDN);
    mpfr_set_d(r->b, b, MPFR_RNDN);
    row->ref(r->y, r->d[0], r->d[1], r->a, r->b);
    if (mpfr_nan_p(r->y) && !row->arithmetic) {
        mpfr_set_nan(r->d[0]);
        mpfr_set_nan(r->d[1]);
    }
}

/* Equal, or both NaN.  The zeros are equal: the sweep adds a partial of
 * -0 to an adjoint of +0. */
static int same(double x, double y)
{
    return x == y || (isnan(x) && isnan(y));
}

/* tapegrad's value and derivatives at (a, b): got[0] the value, got[k]
 * d/d(input k).  Returns how many inputs take a derivative. */
static int run_tapegrad(tg_graph *g, const op_row *row, double a, double b, double got[3])
{
    tg_node x = tg_var(g, NULL, a), z = TG_NONE, y;
    int inputs = 1;
    if (row->unary) {
        y = row->unary(g, x);
    } else if (row->binary) {
        z = tg_var(g, NULL, b);
        y = row->binary(g, x, z);
        inputs = 2;
    } else {
        y = row->with_constant(g, x, b);
    }
    ck_assert_msg(!tg_is_none(y), "%s(%a, %a): %s", row->name, a, b, tg_graph_errmsg(g));
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    got[0] = tg_value(g, y);
    got[1] = tg_grad(g, x);
    got[2] = inputs == 2 ? tg_grad(g, z) : NAN;

    double partials[2];  /* tg_powc's constant is an input too, with partial 0 */
    ck_assert_int_ge(tg_node_partials(g, y, partials), inputs);
    for (int k = 0; k < inputs; k++)
        ck_assert_msg(same(partials[k], got[k + 1]),
                      "%s(%a, %a): partial %d is %a but the gradient %a",
                      row->name, a, b, k + 1, partials[k], got[k + 1]);
    ck_assert_int_eq(tg_graph_rewind(g, 0), TG_OK);
    return inputs;
}

static void keep_worst(worst_case *w, double ulps, double a, double b, int input,
                       double got, mpfr_srcptr want)
{
    if (!(ulps > w->ulps)) return;  /* the first of equal errors stays */
    *w = (worst_case){ ulps, a, b, input, got, mpfr_get_d(want, MPFR_RNDN) };
}

static void measure_point(const op_row *row, tg_graph *g, reference *ref, reference *check,
                          double a, double b, row_result *out)
{
    double got[3];
    int inputs = run_tapegrad(g, row, a, b, got);
    reference_eval(ref, row, a, b);
    reference_eval(check, row, a, b);
    for (int k = 0; k <= inputs; k++) {
        mpfr_srcptr want = k == 0 ? ref->y : ref->d[k - 1];
        mpfr_srcptr want2 = k == 0 ? check->y : check->d[k - 1];
        double e = ulp_error(got[k], want), e2 = ulp_error(got[k], want2);
        keep_worst(k == 0 ? &out->value : &out->deriv, e, a, b, k, got[k], want);
        if (e != e2 && !(fabs(e - e2) <= UNSTABLE_ULPS * fmax(1.0, e))) {
            out->unstable++;
            keep_worst(&out->unstable_at, fabs(e - e2), a, b, k, got[k], want);
        }
    }
    out->points++;
}

row_result measure_row(const op_row *row, size_t n_random)
{
    row_result out;
    memset(&out, 0, sizeof out);
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    reference ref, check;
    reference_init(&ref, PREC);
    reference_init(&check, PREC_CHECK);

    double special[1024];
    rng r = rng_named(row->name);
    if (row->unary) {
        size_t n = special_points(special, sizeof special / sizeof special[0]);
        ck_assert_uint_le(n, sizeof special / sizeof special[0]);
        for (size_t i = 0; i < n; i++)
            measure_point(row, g, &ref, &check, special[i], NAN, &out);
        for (size_t i = 0; i < n_random; i++)
            measure_point(row, g, &ref, &check, sample_unary(&r, &row->points), NAN, &out);
    } else {
        size_t n = special_pair_values(special, sizeof special / sizeof special[0]);
        ck_assert_uint_le(n, sizeof special / sizeof special[0]);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                measure_point(row, g, &ref, &check, special[i], special[j], &out);
        for (size_t i = 0; i < n_random; i++) {
            double a, b;
            sample_pair(&r, row->pairs, &a, &b);
            measure_point(row, g, &ref, &check, a, b, &out);
        }
    }

    reference_clear(&ref);
    reference_clear(&check);
    tg_graph_free(g);
    return out;
}
