/*
 * The demos' command lines as a user mistypes them.  Each refused command
 * line gives a message in the program's name and a non-zero exit, and
 * writes no file: every run is made from an empty scratch directory that
 * must still be empty afterwards.  mnist runs on a small IDX set written
 * here, so none of this needs the real data.
 *
 * Usage: test_cli SHOPPING SIGMOID MNIST PHI VERSION
 */
#define _XOPEN_SOURCE 700   /* realpath: the runs change directory */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "rng.h"
#include "runner.h"
#include "scratch.h"

static char shopping[PATH_MAX], sigmoid[PATH_MAX], mnist[PATH_MAX], phi[PATH_MAX];
static const char *version;

/* ------------------------------------------------------------ helpers */

/* Files in dir, "." and ".." aside. */
static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* Run program with args in a fresh directory, stderr merged into out, and
 * check it was refused: `status`, the message starts with "name: " and
 * holds `says`, and the directory is still empty. */
static void assert_refused(const char *program, const char *name, const char *args, int status,
                           const char *says)
{
    char dir[256], prefix[64];
    scratch_dir(dir, sizeof dir);
    capture c = run_demo_in(dir, program, args, 1);
    ck_assert_msg(c.status == status, "%s %s: exit %d, want %d; printed:\n%s", name, args, c.status,
                  status, c.out);
    snprintf(prefix, sizeof prefix, "%s: ", name);
    ck_assert_msg(strstr(c.out, prefix) != NULL && strstr(c.out, says) != NULL,
                  "%s %s: no '%s%s' in:\n%s", name, args, prefix, says, c.out);
    ck_assert_msg(files_in(dir) == 0, "%s %s wrote a file", name, args);
    capture_free(&c);
    scratch_remove(dir);
}

/* A small MNIST: 28x28 images whose label is where a bright bar lies, so a
 * net learns it in a few hundred steps.  Plain IDX files in dir. */
enum { TRAIN_N = 200, TEST_N = 50 };

static void write_idx(const char *dir, const char *name, int images, uint32_t n, uint64_t seed)
{
    size_t pixels = images ? (size_t)n * 784 : 0, len = 8 + (images ? 8 : 0) + (images ? pixels : n);
    unsigned char *b = calloc(1, len);
    ck_assert_ptr_nonnull(b);
    uint32_t head[4] = { images ? 0x803u : 0x801u, n, 28, 28 };
    for (int k = 0; k < (images ? 4 : 2); k++)
        for (int j = 0; j < 4; j++) b[4 * k + j] = (unsigned char)(head[k] >> (24 - 8 * j));
    unsigned char *p = b + (images ? 16 : 8);
    uint64_t labels = seed;   /* the same labels for the images and their file */
    for (uint32_t i = 0; i < n; i++) {
        unsigned label = (unsigned)rng_below(&labels, 10);
        if (!images) {
            p[i] = (unsigned char)label;
            continue;
        }
        for (int row = 2 * (int)label; row < 2 * (int)label + 3; row++)
            for (int col = 4; col < 24; col++) p[i * 784 + (size_t)row * 28 + (size_t)col] = 255;
    }
    char path[512];
    write_bytes(path_in(path, sizeof path, dir, name), b, len, 0);
    free(b);
}

static void write_small_mnist(const char *dir)
{
    write_idx(dir, "train-images-idx3-ubyte", 1, TRAIN_N, 7);
    write_idx(dir, "train-labels-idx1-ubyte", 0, TRAIN_N, 7);
    write_idx(dir, "t10k-images-idx3-ubyte", 1, TEST_N, 8);
    write_idx(dir, "t10k-labels-idx1-ubyte", 0, TEST_N, 8);
}

static char data_dir[256];

static void make_data(void)
{
    scratch_dir(data_dir, sizeof data_dir);
    write_small_mnist(data_dir);
}

static void remove_data(void)
{
    scratch_remove(data_dir);
}

/* mnist on the small set, from dir. */
static capture run_mnist(const char *dir, const char *args)
{
    char all[1024];
    snprintf(all, sizeof all, "--data '%s' %s", data_dir, args);
    return run_demo_in(dir, mnist, all, 1);
}

static void assert_mnist_refused(const char *args, int status, const char *says)
{
    char all[1024];
    snprintf(all, sizeof all, "--data '%s' %s", data_dir, args);
    assert_refused(mnist, "mnist", all, status, says);
}

/* ------------------------------------------------------------ every program */

START_TEST(help_and_version_everywhere)
{
    const char *programs[][2] = { { shopping, "shopping" }, { sigmoid, "sigmoid" },
                                  { mnist, "mnist" }, { phi, "phi" } };
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++) {
        char want[128];
        capture c = run_demo(programs[i][0], "--version", 0);
        ck_assert_int_eq(c.status, 0);
        snprintf(want, sizeof want, "%s (tapegrad) %s\n", programs[i][1], version);
        ck_assert_str_eq(c.out, want);
        capture_free(&c);
        c = run_demo(programs[i][0], "--help", 0);
        ck_assert_int_eq(c.status, 0);
        snprintf(want, sizeof want, "Usage: %s ", programs[i][1]);
        ck_assert_msg(!strncmp(c.out, want, strlen(want)), "%s --help:\n%s", programs[i][1], c.out);
        ck_assert_ptr_nonnull(strstr(c.out, "--version"));
        capture_free(&c);
        assert_refused(programs[i][0], programs[i][1], "--no-such-option", 2,
                       "unknown option --no-such-option");
        assert_refused(programs[i][0], programs[i][1], "stray", 2, "unexpected argument 'stray'");
    }
}
END_TEST

START_TEST(values_follow_with_a_space_or_an_equals_sign)
{
    capture a = run_demo(sigmoid, "--json --from -2 --to 2 --steps 5", 0);
    capture b = run_demo(sigmoid, "--json --from=-2 --to=2 --steps=5", 0);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    ck_assert_str_eq(a.out, b.out);
    capture_free(&a);
    capture_free(&b);
    a = run_demo(shopping, "--no-pause --set apple=150", 0);
    b = run_demo(shopping, "--no-pause --set=apple=150", 0);
    ck_assert_int_eq(a.status, 0);
    ck_assert_ptr_nonnull(strstr(a.out, "What if apple = 150?"));
    ck_assert_str_eq(a.out, b.out);
    capture_free(&a);
    capture_free(&b);
    assert_refused(sigmoid, "sigmoid", "--steps", 2, "--steps needs a value");
    assert_refused(shopping, "shopping", "--no-pause --set apple=1 --set apple=2", 2,
                   "--set apple given twice");
}
END_TEST

/* ------------------------------------------------------------ file options */

START_TEST(a_file_option_does_not_take_the_next_option)
{
    assert_refused(shopping, "shopping", "--no-pause --dot --orange", 2,
                   "--dot wants a file name, not '--orange'");
    assert_refused(sigmoid, "sigmoid", "--dot --json", 2, "--dot wants a file name, not '--json'");
    assert_mnist_refused("--save --json --iters 5", 2, "--save wants a file name, not '--json'");
    assert_mnist_refused("--log --plot p.svg", 2, "--log wants a file name, not '--plot'");
    assert_refused(shopping, "shopping", "--no-pause --dot=", 2, "--dot wants a file name");
}
END_TEST

START_TEST(unwritable_outputs_stop_before_the_work)
{
    assert_refused(shopping, "shopping", "--no-pause --dot /nonexistent/g.dot", 1,
                   "cannot write /nonexistent/g.dot");
    assert_mnist_refused("--iters 50 --save /nonexistent/m.bin", 1, "cannot write /nonexistent/m.bin");
    assert_mnist_refused("--iters 50 --log .", 1, "cannot write .: it is a directory");
    /* Refused before training started: no epoch line was printed. */
    char dir[256];
    scratch_dir(dir, sizeof dir);
    capture c = run_mnist(dir, "--iters 50 --plot /nonexistent/p.svg");
    ck_assert_int_eq(c.status, 1);
    ck_assert_ptr_null(strstr(c.out, "iter "));
    ck_assert_ptr_null(strstr(c.out, "MNIST from"));
    capture_free(&c);
    scratch_remove(dir);
}
END_TEST

START_TEST(outputs_appear_whole_and_alone)
{
    char dir[256], path[512];
    scratch_dir(dir, sizeof dir);
    capture c = run_mnist(dir, "--iters 20 --save m.bin --log l.csv --plot p.svg");
    ck_assert_msg(c.status == 0, "%s", c.out);
    ck_assert_int_eq(files_in(dir), 3);   /* no temporary file left beside them */
    char *log = read_text(path_in(path, sizeof path, dir, "l.csv"));
    ck_assert_int_eq(count_of(log, "\n"), 21);
    ck_assert(!strncmp(log, "iteration,batch_loss,", 21));
    free(log);
    char *svg = read_text(path_in(path, sizeof path, dir, "p.svg"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    free(svg);
    capture_free(&c);

    /* The DOT writer too: one file, no temporary beside it. */
    c = run_demo_in(dir, shopping, "--no-pause --dot g.dot", 1);
    ck_assert_int_eq(c.status, 0);
    ck_assert_int_eq(files_in(dir), 4);
    capture_free(&c);
    scratch_remove(dir);
}
END_TEST

/* ------------------------------------------------------------ mnist */

START_TEST(mnist_refuses_non_finite_and_unbounded_values)
{
    assert_mnist_refused("--lr inf", 2, "--lr wants a finite number, not 'inf'");
    assert_mnist_refused("--lr nan", 2, "--lr wants a finite number, not 'nan'");
    assert_mnist_refused("--lr 1e999", 2, "--lr wants a finite number, not '1e999'");
    assert_mnist_refused("--lr -0.1", 2, "--lr wants a positive number");
    assert_mnist_refused("--batch 100000000", 2, "--batch wants a whole number from 1 to 1000000");
    assert_mnist_refused("--batch 201", 2, "--batch 201 is more than the 200 training images");
    assert_mnist_refused("--hidden 1000000", 2, "--hidden wants a whole number from 1 to 10000");
    assert_mnist_refused("--iters 0", 2, "--iters wants a whole number");
    assert_mnist_refused("--iters -5", 2, "--iters wants a whole number");
}
END_TEST

START_TEST(mnist_stops_when_the_loss_diverges)
{
    char dir[256];
    scratch_dir(dir, sizeof dir);
    capture c = run_mnist(dir, "--lr 1e300 --iters 40 --save m.bin --log l.csv --plot p.svg --json");
    ck_assert_int_eq(c.status, 1);
    ck_assert_ptr_nonnull(strstr(c.out, "mnist: the batch loss is "));
    ck_assert_ptr_nonnull(strstr(c.out, "training diverged"));
    ck_assert_ptr_null(strstr(c.out, "{"));   /* no summary claims a result */
    ck_assert_int_eq(files_in(dir), 0);
    capture_free(&c);
    scratch_remove(dir);
}
END_TEST

START_TEST(mnist_json_is_json)
{
    char dir[256];
    scratch_dir(dir, sizeof dir);
    char args[512];
    snprintf(args, sizeof args, "--data '%s' --iters 30 --json", data_dir);
    capture c = run_demo_in(dir, mnist, args, 0);   /* stdout alone */
    ck_assert_int_eq(c.status, 0);
    assert_json_shape(c.out);
    double last = number_after(c.out, "\"last_batch_loss\":");
    ck_assert(isfinite(last) && last > 0);
    ck_assert(number_after(c.out, "\"test_accuracy\":") >= 0);
    capture_free(&c);
    snprintf(args, sizeof args, "--data '%s' --gradcheck --json", data_dir);
    c = run_demo_in(dir, mnist, args, 0);
    ck_assert_int_eq(c.status, 0);
    assert_json_shape(c.out);
    ck_assert(number_after(c.out, "\"W1\":") < 1e-6);
    capture_free(&c);
    scratch_remove(dir);
}
END_TEST

START_TEST(mnist_load_refuses_what_it_would_ignore)
{
    const char *ignored[] = { "--save m2.bin", "--log l.csv", "--plot p.svg", "--iters 5",
                              "--lr 0.5", "--hidden 20", "--batch 10", "--seed 3" };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        char args[256], says[128], opt[32];
        size_t len = strcspn(ignored[i], " ");
        ck_assert_uint_lt(len, sizeof opt);
        memcpy(opt, ignored[i], len);  /* the option's name, without its value */
        opt[len] = '\0';
        snprintf(args, sizeof args, "--load m.bin %s", ignored[i]);
        snprintf(says, sizeof says, "--load does not go with %s", opt);
        assert_mnist_refused(args, 2, says);
    }
    assert_mnist_refused("--gradcheck --iters 5", 2, "--gradcheck does not go with --iters");
}
END_TEST

START_TEST(mnist_gradcheck_checks_the_loaded_net)
{
    char dir[256];
    scratch_dir(dir, sizeof dir);
    capture c = run_mnist(dir, "--iters 300 --lr 0.5 --save m.bin");
    ck_assert_msg(c.status == 0, "%s", c.out);
    capture_free(&c);
    c = run_mnist(dir, "--gradcheck");
    ck_assert_int_eq(c.status, 0);
    double fresh = number_after(c.out, "on 3 training images: loss");
    capture_free(&c);
    c = run_mnist(dir, "--load m.bin --gradcheck");
    ck_assert_int_eq(c.status, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "the net in m.bin (784-50-10)"));
    double trained = number_after(c.out, "on 3 training images: loss");
    /* A fresh net scores the 10 classes alike, loss ln 10; the trained one
     * knows the bars. */
    ck_assert_double_eq_tol(fresh, log(10.0), 0.05);
    ck_assert_msg(trained < 0.5 * fresh, "loaded net's loss %g, fresh %g", trained, fresh);
    ck_assert(number_after(c.out, "W1:") < 1e-6);
    capture_free(&c);
    scratch_remove(dir);
}
END_TEST

START_TEST(mnist_names_its_three_losses)
{
    char dir[256];
    scratch_dir(dir, sizeof dir);
    capture c = run_mnist(dir, "--iters 5");
    ck_assert_int_eq(c.status, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "epoch mean loss "));
    ck_assert_ptr_nonnull(strstr(c.out, "last batch loss "));
    ck_assert_ptr_null(strstr(c.out, "  loss "));   /* never a bare "loss" */
    capture_free(&c);
    c = run_demo(mnist, "--help", 0);
    ck_assert_ptr_nonnull(strstr(c.out, "batch loss"));
    ck_assert_ptr_nonnull(strstr(c.out, "epoch mean loss"));
    ck_assert_ptr_nonnull(strstr(c.out, "last batch loss"));
    capture_free(&c);
    scratch_remove(dir);
}
END_TEST

/* ------------------------------------------------------------ sigmoid */

START_TEST(sigmoid_refuses_options_explain_ignores)
{
    assert_refused(sigmoid, "sigmoid", "--json --explain 1", 2, "--explain does not go with --json");
    assert_refused(sigmoid, "sigmoid", "--explain 1 --from 3", 2, "--explain does not go with --from");
    assert_refused(sigmoid, "sigmoid", "--from inf", 2, "--from wants a finite number, not 'inf'");
    assert_refused(sigmoid, "sigmoid", "--steps 100001", 2, "--steps wants a whole number from 1 to 100000");
}
END_TEST

/* The x column of the table, row by row. */
static int table_xs(const char *out, double *x, int max)
{
    const char *p = strstr(out, "dec   fused  y(1-y)\n");   /* the header's last line */
    ck_assert_ptr_nonnull(p);
    p += strlen("dec   fused  y(1-y)\n");
    int n = 0;
    while (n < max && *p && *p != '\n') {
        char tok[32];
        ck_assert_int_eq(sscanf(p, "%31s", tok), 1);
        x[n++] = strtod(tok, NULL);
        ck_assert_msg(isfinite(x[n - 1]), "row %d has x = %s", n, tok);
        p = strchr(p, '\n') + 1;
    }
    return n;
}

START_TEST(sigmoid_range_to_the_largest_doubles)
{
    double x[8];
    capture c = run_demo(sigmoid, "--from -1e308 --to 1e308 --steps 3", 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_int_eq(table_xs(c.out, x, 8), 3);
    ck_assert_double_eq(x[0], -1e308);
    ck_assert_double_eq(x[1], 0);
    ck_assert_double_eq(x[2], 1e308);
    ck_assert_ptr_null(strstr(c.out, "nan"));
    capture_free(&c);
    c = run_demo(sigmoid, "--from 1e300 --to 1e308 --steps 3", 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_int_eq(table_xs(c.out, x, 8), 3);
    ck_assert_double_eq(x[2], 1e308);
    ck_assert_double_eq_tol(x[1], 5.0000000e307, 1e300);
    capture_free(&c);
    /* Non-finite slopes (the decomposed one at -800) are null in JSON. */
    c = run_demo(sigmoid, "--json --from -800 --to -700 --steps 2", 0);
    ck_assert_int_eq(c.status, 0);
    assert_json_shape(c.out);
    ck_assert_ptr_nonnull(strstr(c.out, "\"decomposed\": {\"slope\": null"));
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_explain_collects_the_y_it_listed)
{
    capture c = run_demo(sigmoid, "--explain -710", 0);
    ck_assert_int_eq(c.status, 0);
    double listed = number_after(c.out, "y          = 1 / (1+exp(-x))    =");
    double collected = number_after(c.out, "dL/dx = dL/dy * y(1-y) = 1 *");
    ck_assert(!isnan(listed));
    ck_assert_double_eq(listed, collected);
    ck_assert_double_eq(listed, 0.0);   /* 1/inf: exp(710) overflows */
    ck_assert_ptr_nonnull(strstr(c.out, "the fused node's y is 4.47628622567513e-309"));
    capture_free(&c);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s SHOPPING SIGMOID MNIST PHI VERSION\n", argv[0]);
        return 77;
    }
    char *paths[] = { shopping, sigmoid, mnist, phi };
    for (int i = 0; i < 4; i++)
        if (!realpath(argv[i + 1], paths[i])) {
            fprintf(stderr, "%s: no such program\n", argv[i + 1]);
            return 77;
        }
    version = argv[5];

    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, make_data, remove_data);
    tcase_add_test(tc, help_and_version_everywhere);
    tcase_add_test(tc, values_follow_with_a_space_or_an_equals_sign);
    tcase_add_test(tc, a_file_option_does_not_take_the_next_option);
    tcase_add_test(tc, unwritable_outputs_stop_before_the_work);
    tcase_add_test(tc, outputs_appear_whole_and_alone);
    tcase_add_test(tc, mnist_refuses_non_finite_and_unbounded_values);
    tcase_add_test(tc, mnist_stops_when_the_loss_diverges);
    tcase_add_test(tc, mnist_json_is_json);
    tcase_add_test(tc, mnist_load_refuses_what_it_would_ignore);
    tcase_add_test(tc, mnist_gradcheck_checks_the_loaded_net);
    tcase_add_test(tc, mnist_names_its_three_losses);
    tcase_add_test(tc, sigmoid_refuses_options_explain_ignores);
    tcase_add_test(tc, sigmoid_range_to_the_largest_doubles);
    tcase_add_test(tc, sigmoid_explain_collects_the_y_it_listed);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
