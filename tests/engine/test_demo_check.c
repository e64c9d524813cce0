/*
 * The demos that check their derivatives, run as a user runs them: phi (a
 * user-defined op, the normal CDF) and shopping --check.  Their numbers
 * are checked against values computed here another way.
 *
 * Usage: engine-demo-check PHI SHOPPING (the demo programs).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "capture.h"
#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "helpers.h"
#include "rng.h"
#include "runner.h"

static const char *phi_path, *shopping_path;

/* The normal density and CDF in long double, the CDF by its series
 *     Phi(z) = 1/2 + phi(z) (z + z^3/3 + z^5/(3 5) + z^7/(3 5 7) + ...),
 * which for |z| <= 1 converges to every digit in a few dozen terms. */
static long double density(long double z)
{
    return expl(-z * z / 2) / sqrtl(2 * 3.14159265358979323846264338327950288L);
}

static long double cdf(long double z)
{
    long double term = z, sum = z;
    for (int n = 1; n < 60; n++) {
        term *= z * z / (2 * n + 1);
        sum += term;
    }
    return 0.5L + density(z) * sum;
}

static void assert_near(const char *out, const char *key, long double want)
{
    double got = number_after(out, key);
    ck_assert_msg(fabsl((long double)got - want) <= 1e-14L * fabsl(want),
                  "%s%.17g, expected %.17Lg, in:\n%s", key, got, want, out);
}

START_TEST(phi_prints_its_value_gradient_and_check)
{
    capture c = run_demo(phi_path, "", 1);
    ck_assert_int_eq(c.status, 0);
    /* x = 1.5, mu = 0.5, sigma = 2: z = 1/2 */
    long double x = 1.5L, mu = 0.5L, sigma = 2.0L, z = (x - mu) / sigma;
    ck_assert_msg(strstr(c.out, "p = Phi((x - mu) / sigma) at x = 1.5, mu = 0.5, sigma = 2\n") == c.out,
                  "%s", c.out);
    assert_near(c.out, "\np ", cdf(z));
    /* dp/dx = phi(z)/sigma, dp/dmu = -phi(z)/sigma, dp/dsigma = -phi(z) z/sigma */
    assert_near(c.out, "dp/dx ", density(z) / sigma);
    assert_near(c.out, "dp/dmu ", -density(z) / sigma);
    assert_near(c.out, "dp/dsigma ", -density(z) * z / sigma);
    ck_assert_msg(strstr(c.out, "\ntg_check_partials: 0 nodes disagree (rtol 1e-6)\n") != NULL, "%s", c.out);
    ck_assert_int_eq(count_of(c.out, "\n"), 6);
    capture_free(&c);
}
END_TEST

START_TEST(shopping_check_finds_every_op_agreeing)
{
    /* the book's graphs: two multiplications (apple), four ops (orange) */
    static const struct { const char *args; int ops; } runs[] = {
        { "--no-pause --check", 2 },
        { "--orange --no-pause --check", 4 },
        { "--orange --no-pause --set apple=150 --check", 4 },
    };
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        capture c = run_demo(shopping_path, runs[k].args, 1);
        ck_assert_int_eq(c.status, 0);
        char want[128];
        snprintf(want, sizeof want, "Derivative check (tg_check_partials, rtol 1e-6): 0 of %d ops disagree with\n"
                 "central differences of their values.\n", runs[k].ops);
        ck_assert_msg(count_of(c.out, want) == 1, "%s: no '%s' in\n%s", runs[k].args, want, c.out);
        /* the rest of the run is as without --check */
        ck_assert_msg(strstr(c.out, k == 0 ? "price = 220." : "price = 715.") != NULL, "%s", c.out);
        capture_free(&c);
    }
    capture c = run_demo(shopping_path, "--no-pause", 1);
    ck_assert_int_eq(c.status, 0);
    ck_assert_int_eq(count_of(c.out, "tg_check_partials"), 0);
    capture_free(&c);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PHI SHOPPING\n", argv[0]);
        return 2;
    }
    phi_path = argv[1];
    shopping_path = argv[2];
    Suite *s = suite_create("demo-check");
    TCase *tc = tcase_create("demos");
    tcase_add_test(tc, phi_prints_its_value_gradient_and_check);
    tcase_add_test(tc, shopping_check_finds_every_op_agreeing);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
