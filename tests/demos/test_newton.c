/*
 * The newton demo as a user runs it: both methods reach the Rosenbrock
 * function's known minimum (1, ..., 1) in 2 and in n dimensions, Newton's
 * method in far fewer iterations than gradient descent, by tg_hessian and
 * by conjugate gradients on tg_hvp; its command line (--help, --version,
 * refused values).
 *
 * Usage: test_newton NEWTON VERSION
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "runner.h"

static const char *newton_path, *version;

/* The iterations and max |x - 1| on the line after `label`, from `from`
 * on; the text after that line into *rest. */
static void method_line(const char *from, const char *label, double *iters, double *dist, const char **rest)
{
    const char *at = strstr(from, label);
    ck_assert_msg(at != NULL, "no '%s' in:\n%s", label, from);
    const char *eol = strchr(at, '\n');
    ck_assert_ptr_nonnull(eol);
    ck_assert_msg(strstr(at, "stopped") == NULL || strstr(at, "stopped") > eol, "%.*s", (int)(eol - at), at);
    *iters = number_after(at, label);
    *dist = number_after(at, "max |x - 1| =");
    ck_assert_msg(!isnan(*iters) && !isnan(*dist), "cannot read: %.*s", (int)(eol - at), at);
    *rest = eol;
}

START_TEST(both_methods_reach_the_minimum)
{
    capture c = run_demo(newton_path, "--n 10", 0);
    ck_assert_msg(c.status == 0, "exit %d:\n%s", c.status, c.out);
    ck_assert_int_eq(count_of(c.out, "Rosenbrock from"), 2);
    const char *p = strstr(c.out, "2-D Rosenbrock");
    ck_assert_ptr_nonnull(p);
    for (int k = 0; k < 2; k++) {
        double gd, gd_dist, nt, nt_dist;
        method_line(p, "gradient descent:", &gd, &gd_dist, &p);
        method_line(p, "Newton (tg_hessian):", &nt, &nt_dist, &p);
        /* stopped at a gradient below 1e-8, near a minimum with Hessian
         * eigenvalues from about 0.4 to 1000: within 1e-7 of (1, ..., 1) */
        ck_assert_msg(gd_dist < 1e-6 && nt_dist < 1e-6, "problem %d: %g, %g from the minimum", k, gd_dist, nt_dist);
        ck_assert_msg(nt >= 5 && nt * 100 < gd, "problem %d: Newton %g iterations, gradient descent %g", k, nt, gd);
    }
    capture_free(&c);
}
END_TEST

START_TEST(conjugate_gradients_on_hvp_for_large_n)
{
    capture c = run_demo(newton_path, "--n 2000 --cg-above 100 --max-gd 50", 0);
    ck_assert_msg(c.status == 0, "exit %d:\n%s", c.status, c.out);
    const char *p = strstr(c.out, "2000-D extended Rosenbrock");
    ck_assert_msg(p != NULL, "%s", c.out);
    ck_assert_ptr_nonnull(strstr(p, "gradient descent:   "));
    ck_assert_ptr_nonnull(strstr(p, "stopped after 50 iterations"));
    double nt, dist;
    method_line(p, "Newton (CG on tg_hvp):", &nt, &dist, &p);
    ck_assert_msg(dist < 1e-6, "%g from the minimum", dist);
    ck_assert_double_lt(nt, 1000);
    capture_free(&c);
}
END_TEST

START_TEST(command_line)
{
    capture h = run_demo(newton_path, "--help", 0);
    ck_assert_int_eq(h.status, 0);
    ck_assert_ptr_nonnull(strstr(h.out, "Usage: newton"));
    ck_assert_ptr_nonnull(strstr(h.out, "tg_hessian"));
    capture_free(&h);
    capture v = run_demo(newton_path, "--version", 0);
    ck_assert_int_eq(v.status, 0);
    char want[128];
    snprintf(want, sizeof want, "newton (tapegrad) %s\n", version);
    ck_assert_str_eq(v.out, want);
    capture_free(&v);
    const char *const bad[] = { "--n 3", "--n 1", "--n x", "--tol 0", "--tol nan", "--cg-above -1", "--bogus", "extra" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        capture b = run_demo(newton_path, bad[i], 1);
        ck_assert_msg(b.status == 2, "'%s' exited %d", bad[i], b.status);
        ck_assert_msg(strncmp(b.out, "newton: ", 8) == 0, "'%s' said: %s", bad[i], b.out);
        capture_free(&b);
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_newton NEWTON VERSION\n");
        return 2;
    }
    newton_path = argv[1];
    version = argv[2];
    Suite *s = suite_create("newton");
    TCase *tc = tcase_create("newton");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, both_methods_reach_the_minimum);
    tcase_add_test(tc, conjugate_gradients_on_hvp_for_large_n);
    tcase_add_test(tc, command_line);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
