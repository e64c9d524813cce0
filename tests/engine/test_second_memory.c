/*
 * Memory of the five calls, through the failure-injecting allocator:
 *   - after the first call of each, calls of the same sizes allocate
 *     nothing (every allocation failing from then on, they all succeed,
 *     at the recorded point and after a replay at a new one);
 *   - with the k-th allocation of a call failing, for every k until the
 *     call succeeds, the call returns and records TG_ERR_NOMEM in its own
 *     name, writes nothing, leaves the tape, its values and the gradients
 *     of an earlier tg_backward as they were, and after
 *     tg_graph_clear_error gives bit for bit what a graph that never
 *     failed gives.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "helpers.h"
#include "runner.h"
#include "second.h"

typedef enum which { JVP, VJP, JACOBIAN, HVP, HESSIAN } which;
static const char *const fn_names[] = { "tg_jvp", "tg_vjp", "tg_jacobian", "tg_hvp", "tg_hessian" };

static const double T6[6] = { 0.5, -1, 2, 0.25, -0.75, 1.25 };

/* f = sum(softmax(T a) * T) + a b sigmoid(b), with scalars a, b and a 2x3
 * tensor T; y = {f, exp(T b)} for the first-order calls.  N = 8, M = 7. */
typedef struct fn {
    tg_node x[3], y[2];
} fn;

enum { N = 8, M = 7 };

static fn record(tg_graph *g)
{
    fn f;
    f.x[0] = tg_var(g, "a", 0.75);
    f.x[1] = tg_var(g, "b", -0.5);
    f.x[2] = tg_tensor_var(g, "T", 2, 3, T6);
    tg_node s = tg_sum(g, tg_mul(g, tg_softmax(g, tg_mul(g, f.x[2], f.x[0])), f.x[2]));
    f.y[0] = tg_add(g, s, tg_mul(g, tg_mul(g, f.x[0], f.x[1]), tg_sigmoid(g, f.x[1])));
    f.y[1] = tg_exp(g, tg_mul(g, f.x[2], f.x[1]));
    return f;
}

static const double V[N] = { 1, -1, 0.5, 0.25, -2, 3, 0.125, -0.5 };
static const double W[M] = { 2, -1, 0.5, 1, 1.5, -0.25, 3 };

static tg_status call(which k, tg_graph *g, const fn *f, double *out)
{
    switch (k) {
    case JVP:      return tg_jvp(g, 3, f->x, V, 2, f->y, out);
    case VJP:      return tg_vjp(g, 2, f->y, W, 3, f->x, out);
    case JACOBIAN: return tg_jacobian(g, 2, f->y, 3, f->x, out);
    case HVP:      return tg_hvp(g, f->y[0], 3, f->x, V, out);
    case HESSIAN:  return tg_hessian(g, f->y[0], 3, f->x, out);
    }
    return TG_OK;
}

static const size_t out_size[] = { M, N, M * N, N, N * N };
enum { OUT_CAP = 128 };

START_TEST(no_allocation_after_the_first_call)
{
    inj_alloc ca = { 0 };
    tg_allocator al = inj_use(&ca);
    tg_graph *g = tg_graph_new_with(&al);
    ck_assert_ptr_nonnull(g);
    fn f = record(g);
    ck_assert_graph_ok(g);
    double out[OUT_CAP];
    for (which k = JVP; k <= HESSIAN; k++) ck_assert_int_eq(call(k, g, &f, out), TG_OK);
    ca.fail_from = ca.calls + 1;
    size_t calls0 = ca.calls;
    const double p1[N] = { -0.25, 1.5, 1, 2, -1, 0.5, 0, -3 };
    for (int round = 0; round < 3; round++) {
        if (round == 2) set_entries(g, 3, f.x, p1);   /* a replay inside the calls */
        for (which k = HESSIAN + 1; k-- > JVP;)
            ck_assert_msg(call(k, g, &f, out) == TG_OK, "%s, round %d, allocating nothing: %s", fn_names[k],
                          round, tg_graph_errmsg(g));
    }
    ck_assert_msg(ca.calls == calls0, "%zu allocations after the first calls", ca.calls - calls0);
    ck_assert_uint_eq(ca.failures, 0);
    tg_graph_free(g);
    ck_assert_int_eq(ca.live, 0);
}
END_TEST

/* The tape's values and the nodes' gradients, in order. */
static double *snapshot(const tg_graph *g, size_t *len)
{
    size_t total = 0, n = tg_graph_size(g);
    for (size_t i = 0; i < n; i++) {
        size_t r, c;
        tg_shape(g, tg_node_at(g, i), &r, &c);
        total += r * c;
    }
    double *s = malloc(2 * total * sizeof *s);
    ck_assert_ptr_nonnull(s);
    double *p = s;
    for (size_t i = 0; i < n; i++) {
        tg_node h = tg_node_at(g, i);
        size_t r, c;
        tg_shape(g, h, &r, &c);
        ck_assert_int_eq(tg_tensor_get(g, h, p), TG_OK);
        ck_assert_int_eq(tg_tensor_get_grad(g, h, p + total), TG_OK);
        p += r * c;
    }
    *len = 2 * total;
    return s;
}

static void sweep(which k, int every_later)
{
    /* the answer of a graph that never fails */
    tg_graph *ref = tg_graph_new();
    fn fr = record(ref);
    double want[OUT_CAP];
    ck_assert_int_eq(call(k, ref, &fr, want), TG_OK);
    tg_graph_free(ref);

    size_t failures = 0;
    for (size_t n = 1;; n++) {
        ck_assert_uint_lt(n, 1000);
        inj_alloc ca = { 0 };
        tg_allocator al = inj_use(&ca);
        tg_graph *g = tg_graph_new_with(&al);
        ck_assert_ptr_nonnull(g);
        fn f = record(g);
        ck_assert_int_eq(tg_backward(g, f.y[0]), TG_OK);
        ck_assert_graph_ok(g);
        size_t size0 = tg_graph_size(g), len0, len1;
        double *before = snapshot(g, &len0);
        double out[OUT_CAP];
        fill_sentinel(out, OUT_CAP);
        if (every_later) ca.fail_from = ca.calls + n;
        else ca.fail_at = ca.calls + n;
        tg_status st = call(k, g, &f, out);
        inj_stop_failing(&ca);
        if (st == TG_OK) {
            ck_assert_msg(memcmp(out, want, out_size[k] * sizeof *out) == 0, "%s: a different answer", fn_names[k]);
            free(before);
            tg_graph_free(g);
            ck_assert_int_eq(ca.live, 0);
            break;
        }
        failures++;
        ck_assert_msg(st == TG_ERR_NOMEM, "%s, allocation %zu failing: %d \"%s\"", fn_names[k], n, (int)st,
                      tg_graph_errmsg(g));
        ck_assert_int_eq(tg_graph_status(g), TG_ERR_NOMEM);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "%s: ", fn_names[k]);
        ck_assert_msg(strncmp(tg_graph_errmsg(g), prefix, strlen(prefix)) == 0, "%s: message \"%s\"", fn_names[k],
                      tg_graph_errmsg(g));
        ck_assert_msg(all_sentinel(out, OUT_CAP), "%s, allocation %zu failing: output written", fn_names[k], n);
        ck_assert_uint_eq(tg_graph_size(g), size0);
        double *after = snapshot(g, &len1);
        ck_assert_msg(len0 == len1 && memcmp(before, after, len0 * sizeof *before) == 0,
                      "%s, allocation %zu failing: values or gradients changed", fn_names[k], n);
        free(after);
        free(before);
        tg_graph_clear_error(g);
        ck_assert_int_eq(call(k, g, &f, out), TG_OK);
        ck_assert_msg(memcmp(out, want, out_size[k] * sizeof *out) == 0,
                      "%s after a failure at allocation %zu: a different answer", fn_names[k], n);
        ck_assert_int_eq(tg_backward(g, f.y[0]), TG_OK);
        ck_assert_graph_ok(g);
        tg_graph_free(g);
        ck_assert_int_eq(ca.live, 0);
        ck_assert_int_eq(ca.bad_frees, 0);
    }
    printf("%s: %zu allocation failures (%s), each refused cleanly\n", fn_names[k], failures,
           every_later ? "that one and every later" : "that one only");
}

START_TEST(allocation_failure_sweep)
{
    which k = (which)(_i / 2);
    sweep(k, _i % 2);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("second-memory");
    TCase *tc = tcase_create("memory");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, no_allocation_after_the_first_call);
    tcase_add_loop_test(tc, allocation_failure_sweep, 0, 10);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
