/*
 * The demos run as a user runs them (--no-pause, stdin not a terminal) and
 * their output is checked against the book's numbers, hand arithmetic and
 * independent double / long double formulas.
 *
 * Usage: test_demos EXAMPLE SHOPPING SIGMOID EXCERPT README EXAMPLE_C (the
 * demo programs, the excerpt of shopping's output that the README shows,
 * the README and the first program's source).
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "runner.h"
#include "scratch.h"

static const char *example_path, *shopping_path, *sigmoid_path, *excerpt_path;
static const char *readme_path, *example_source_path;

/* ------------------------------------------------------------ helpers */

/* The text from the first `from` to the next `to` (or the end), copied. */
static char *section(const char *text, const char *from, const char *to)
{
    const char *a = strstr(text, from);
    ck_assert_msg(a != NULL, "no '%s' in output:\n%s", from, text);
    const char *b = to ? strstr(a + strlen(from), to) : NULL;
    size_t n = b ? (size_t)(b - a) : strlen(a);
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, a, n);
    s[n] = '\0';
    return s;
}

/* In a table of "  name  value" lines, the value token for name. */
static const char *table_token(const char *table, const char *name, char *tok, size_t len)
{
    const char *p = table;
    while ((p = strchr(p, '\n'))) {
        p++;
        char key[64], val[64];
        if (sscanf(p, " %63s %63s", key, val) == 2 && !strcmp(key, name)) {
            snprintf(tok, len, "%s", val);
            return tok;
        }
    }
    ck_abort_msg("no row '%s' in:\n%s", name, table);
    return NULL;
}

static double table_value(const char *table, const char *name)
{
    char tok[64];
    return strtod(table_token(table, name, tok, sizeof tok), NULL);
}

/* sigmoid'(x) = e/(1+e)^2, e = exp(-|x|), in long double. */
static long double slope_ref(long double x)
{
    long double e = expl(-fabsl(x));
    return e / ((1 + e) * (1 + e));
}

/* ------------------------------------------------------------ example */

START_TEST(example_prints_the_book_numbers)
{
    capture c = run_demo(example_path, "", 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_str_eq(c.out, "price 220\ngrads 2.2 110 200\n");
    capture_free(&c);
}
END_TEST

/* The README's first program is demos/example/example.c byte for byte,
 * and the output it shows is what the program prints. */
START_TEST(readme_first_program_is_example_c)
{
    char *readme = read_text(readme_path);
    char *source = read_text(example_source_path);
    char *part = section(readme, "\n## A first program\n", "\n## ");
    char *code = section(part, "```c\n", "```\n");
    ck_assert_str_eq(code + strlen("```c\n"), source);
    char *shown = section(part, "```text\n$ build/demos/example\n", "```\n");
    capture c = run_demo(example_path, "", 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_str_eq(shown + strlen("```text\n$ build/demos/example\n"), c.out);
    capture_free(&c);
    free(shown);
    free(code);
    free(part);
    free(source);
    free(readme);
}
END_TEST

/* ------------------------------------------------------------ shopping */

START_TEST(shopping_apple_matches_the_book)
{
    capture c = run_demo(shopping_path, "--no-pause", 0);
    ck_assert_int_eq(c.status, 0);
    /* Book 5.4.1: price 220; dapple 2.2, dapple_num 110, dtax 200. */
    ck_assert_double_eq_tol(number_after(c.out, "\nprice = "), 220.0, 1e-9);
    char *t = section(c.out, "Gradients, d price/d variable", "\n\n");
    char tok[64];
    ck_assert_str_eq(table_token(t, "apple", tok, sizeof tok), "2.2");
    ck_assert_str_eq(table_token(t, "apple_num", tok, sizeof tok), "110");
    ck_assert_str_eq(table_token(t, "tax", tok, sizeof tok), "200");
    free(t);
    /* The chain rule, spelled out with the two factors of each product. */
    ck_assert_ptr_nonnull(strstr(c.out,
        "d price/d apple = d price/d apple_price (1.1) x d apple_price/d apple (2) = 2.2\n"));
    ck_assert_ptr_nonnull(strstr(c.out,
        "d price/d apple_num = d price/d apple_price (1.1) x d apple_price/d apple_num (100) = 110\n"));
    ck_assert_ptr_nonnull(strstr(c.out,
        "d price/d tax = d price/d price (1) x d(apple_price x tax)/d tax (200) = 200\n"));
    ck_assert_ptr_nonnull(strstr(c.out, "step 4/5  apple_price = apple x apple_num = 100 x 2 = 200\n"));
    ck_assert_ptr_nonnull(strstr(c.out, "step 5/5  price = apple_price x tax = 200 x 1.1 = 220\n"));
    capture_free(&c);
}
END_TEST

START_TEST(shopping_orange_matches_the_book)
{
    capture c = run_demo(shopping_path, "--orange --no-pause", 0);
    ck_assert_int_eq(c.status, 0);
    /* Book 5.4.2: 715; 110 2.2 3.3 165 650. */
    ck_assert_double_eq_tol(number_after(c.out, "\nprice = "), 715.0, 1e-9);
    char *t = section(c.out, "Gradients, d price/d variable", "\n\n");
    char tok[64];
    ck_assert_str_eq(table_token(t, "apple_num", tok, sizeof tok), "110");
    ck_assert_str_eq(table_token(t, "apple", tok, sizeof tok), "2.2");
    ck_assert_str_eq(table_token(t, "orange", tok, sizeof tok), "3.3");
    ck_assert_str_eq(table_token(t, "orange_num", tok, sizeof tok), "165");
    ck_assert_str_eq(table_token(t, "tax", tok, sizeof tok), "650");
    free(t);
    /* Numbers as a person writes them, everywhere but the --exact note. */
    char *walk = section(c.out, "Forward pass", "(Numbers are shown");
    ck_assert_ptr_null(strstr(walk, "00000000"));
    free(walk);
    ck_assert_ptr_nonnull(strstr(c.out,
        "d price/d orange = d price/d orange_price (1.1) x d orange_price/d orange (3) = 3.3\n"));
    ck_assert_ptr_nonnull(strstr(c.out,
        "d price/d apple_price = d price/d all_price (1.1) x d all_price/d apple_price (1) = 1.1\n"));
    capture_free(&c);
}
END_TEST

START_TEST(shopping_backward_runs_in_reverse_tape_order)
{
    capture c = run_demo(shopping_path, "--orange --no-pause", 0);
    ck_assert_int_eq(c.status, 0);
    char *fw = section(c.out, "Forward pass", "Backward pass");
    char *bw = section(c.out, "Backward pass", "Gradients");
    /* Forward: the book's order (1) apple_price (2) orange_price (3)
     * all_price (4) price, after the five inputs. */
    const char *f[] = { "step 1/9  apple = 100", "step 3/9  orange = 150",
                        "step 6/9  apple_price = apple x apple_num = 100 x 2 = 200",
                        "step 7/9  orange_price = orange x orange_num = 150 x 3 = 450",
                        "step 8/9  all_price = apple_price + orange_price = 200 + 450 = 650",
                        "step 9/9  price = all_price x tax = 650 x 1.1 = 715" };
    const char *b[] = { "step 1/9  price = all_price x tax", "step 2/9  all_price = ",
                        "step 3/9  orange_price = ", "step 4/9  apple_price = ",
                        "step 5/9  tax is a variable: d price/d tax = 650",
                        "step 9/9  apple is a variable: d price/d apple = 2.2" };
    const char *prev = fw;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const char *at = strstr(fw, f[i]);
        ck_assert_msg(at && at >= prev, "forward step '%s' missing or out of order", f[i]);
        prev = at;
    }
    prev = bw;
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        const char *at = strstr(bw, b[i]);
        ck_assert_msg(at && at >= prev, "backward step '%s' missing or out of order", b[i]);
        prev = at;
    }
    free(fw);
    free(bw);
    capture_free(&c);
}
END_TEST

START_TEST(shopping_set_replays_and_reports_changes)
{
    capture c = run_demo(shopping_path, "--orange --no-pause --set apple=150 --set orange_num=4", 0);
    ck_assert_int_eq(c.status, 0);
    char *w = section(c.out, "What if apple = 150, orange_num = 4?", NULL);
    /* By hand: (150*2 + 150*4) * 1.1 = 990; d/d apple = 2*1.1,
     * d/d apple_num = 150*1.1, d/d orange = 4*1.1, d/d orange_num = 150*1.1,
     * d/d tax = 900. */
    ck_assert_ptr_nonnull(strstr(w, "price"));
    ck_assert_double_eq_tol(number_after(w, "\nprice = "), 990.0, 1e-9);
    char *t = section(w, "Gradients, d price/d variable", "\n\n");
    ck_assert_double_eq_tol(table_value(t, "apple"), 2.2, 1e-12);
    ck_assert_double_eq_tol(table_value(t, "apple_num"), 165.0, 1e-9);
    ck_assert_double_eq_tol(table_value(t, "orange"), 4.4, 1e-12);
    ck_assert_double_eq_tol(table_value(t, "orange_num"), 165.0, 1e-9);
    ck_assert_double_eq_tol(table_value(t, "tax"), 900.0, 1e-9);
    free(t);
    char *vals = section(w, "values that changed:", "gradients that changed:");
    ck_assert_ptr_nonnull(strstr(vals, "100 -> 150"));
    ck_assert_ptr_nonnull(strstr(vals, "3 -> 4"));
    ck_assert_ptr_nonnull(strstr(vals, "715 -> 990"));
    ck_assert_ptr_nonnull(strstr(vals, "(unchanged: apple_num, orange, tax)"));
    free(vals);
    char *grads = section(w, "gradients that changed:", "\n\n");
    ck_assert_ptr_nonnull(strstr(grads, "d price/d orange         3.3 -> 4.4"));
    ck_assert_ptr_nonnull(strstr(grads, "d price/d tax            650 -> 900"));
    ck_assert_ptr_null(strstr(grads, "d price/d apple    "));  /* 2.2 both times */
    free(grads);
    free(w);
    capture_free(&c);
}
END_TEST

START_TEST(shopping_hessian_gives_the_products_cross_terms)
{
    capture c = run_demo(shopping_path, "--orange --no-pause --hessian", 0);
    ck_assert_int_eq(c.status, 0);
    char *h = section(c.out, "Second derivatives (tg_hessian)", "\n\n");
    /* price = (apple apple_num + orange orange_num) tax: each cross term of
     * a product is the remaining factor, the rest 0. */
    ck_assert_double_eq_tol(number_after(h, "d2 price / d apple d apple_num ="), 1.1, 1e-12);
    ck_assert_double_eq_tol(number_after(h, "d2 price / d apple d tax ="), 2.0, 1e-12);
    ck_assert_double_eq_tol(number_after(h, "d2 price / d apple_num d tax ="), 100.0, 1e-12);
    ck_assert_double_eq_tol(number_after(h, "d2 price / d orange d orange_num ="), 1.1, 1e-12);
    ck_assert_double_eq_tol(number_after(h, "d2 price / d orange d tax ="), 3.0, 1e-12);
    ck_assert_double_eq_tol(number_after(h, "d2 price / d orange_num d tax ="), 150.0, 1e-12);
    ck_assert_int_eq(count_of(h, " = "), 6);  /* 15 pairs, 9 of them zero */
    ck_assert_ptr_nonnull(strstr(h, "(apple, orange)"));
    ck_assert_ptr_nonnull(strstr(h, "tax^2"));
    free(h);
    capture_free(&c);
}
END_TEST

START_TEST(shopping_set_rejects_unknown_names_and_bad_values)
{
    capture c = run_demo(shopping_path, "--no-pause --set banana=3", 1);
    ck_assert_int_eq(c.status, 2);
    ck_assert_ptr_nonnull(strstr(c.out, "--set banana: no variable of that name; the variables are apple apple_num tax"));
    ck_assert_ptr_null(strstr(c.out, "Forward pass"));
    capture_free(&c);

    c = run_demo(shopping_path, "--no-pause --set apple_price=3", 1);
    ck_assert_int_eq(c.status, 2);
    capture_free(&c);

    c = run_demo(shopping_path, "--no-pause --set apple=lots", 1);
    ck_assert_int_eq(c.status, 2);
    ck_assert_ptr_nonnull(strstr(c.out, "shopping: --set apple wants a finite number, not 'lots'"));
    capture_free(&c);
}
END_TEST

START_TEST(shopping_exact_shows_every_digit)
{
    capture c = run_demo(shopping_path, "--no-pause --exact", 0);
    ck_assert_int_eq(c.status, 0);
    /* 100 * 2 * 1.1 in doubles, computed here the same way. */
    char want[64];
    snprintf(want, sizeof want, "\nprice = %.17g.", 100.0 * 2.0 * 1.1);
    ck_assert_str_eq(want, "\nprice = 220.00000000000003.");
    ck_assert_ptr_nonnull(strstr(c.out, want));
    capture_free(&c);
}
END_TEST

START_TEST(shopping_writes_dot_text)
{
    char dir[] = "/tmp/tg-demo-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128], args[192];
    snprintf(path, sizeof path, "%s/apple.dot", dir);
    snprintf(args, sizeof args, "--no-pause --dot '%s'", path);
    capture c = run_demo(shopping_path, args, 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "Graph written to"));
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char head[32] = "";
    ck_assert_ptr_nonnull(fgets(head, sizeof head, f));
    fclose(f);
    ck_assert_str_eq(head, "digraph tapegrad {\n");
    remove(path);
    rmdir(dir);
    capture_free(&c);
}
END_TEST

/* The README's excerpt is real output: every line it keeps is still
 * printed, in the same order. */
START_TEST(readme_excerpt_matches_the_demo)
{
    FILE *f = fopen(excerpt_path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", excerpt_path);
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "$ build/demos/shopping --orange --no-pause\n");
    capture c = run_demo(shopping_path, "--orange --no-pause", 0);
    ck_assert_int_eq(c.status, 0);
    const char *at = c.out;
    int kept = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strcmp(line, "\n") || !strcmp(line, "[...]\n")) continue;
        const char *hit = strstr(at, line);
        ck_assert_msg(hit != NULL, "excerpt line not in the output (or out of order):\n%s", line);
        at = hit + strlen(line);
        kept++;
    }
    fclose(f);
    ck_assert_int_ge(kept, 10);
    capture_free(&c);
}
END_TEST

/* ------------------------------------------------------------ sigmoid */

START_TEST(sigmoid_table_agrees_with_the_reference)
{
    capture c = run_demo(sigmoid_path, "", 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "Nodes on the tape: decomposed 6 (4 ops and 2 constants"));
    ck_assert_ptr_nonnull(strstr(c.out, "fused 1."));
    char *t = section(c.out, "dec   fused  y(1-y)\n", "\nNodes");
    int rows = 0;
    for (const char *p = strchr(t, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        double x, y, dec, fus, tb;
        int ud, uf;
        ck_assert_int_eq(sscanf(p, "%lf %lf %lf %lf %lf %d %d", &x, &y, &dec, &fus, &tb, &ud, &uf), 7);
        ck_assert_double_eq_tol(x, -10.0 + rows, 1e-12);
        long double ref = slope_ref(x);
        /* The table prints 7 significant digits. */
        ck_assert_double_eq_tol(dec, (double)ref, 1e-6 * (double)ref);
        ck_assert_double_eq_tol(fus, (double)ref, 1e-6 * (double)ref);
        ck_assert_double_eq_tol(tb, (double)ref, 1e-6 * (double)ref);
        ck_assert_double_eq_tol(y, 1.0 / (1.0 + exp(-x)), 1e-6);
        ck_assert_int_le(ud, 4);
        ck_assert_int_le(uf, 4);
        rows++;
        if (!strchr(p, '\n')) break;
    }
    ck_assert_int_eq(rows, 21);
    free(t);
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_finds_where_each_form_breaks)
{
    capture c = run_demo(sigmoid_path, "", 0);
    ck_assert_int_eq(c.status, 0);
    char *dec = section(c.out, "\n  decomposed\n", "\n  fused\n");
    char *fus = section(c.out, "\n  fused\n", "\n  textbook y(1-y)\n");
    char *tb = section(c.out, "\n  textbook y(1-y)\n", "\n\n");

    /* Decomposed: NaN exactly from the first x where exp(-x) overflows. */
    double v = number_after(strstr(dec, "returns NaN or inf"), "from x =");
    ck_assert_msg(isinf(exp(-v)) && isfinite(exp(-nextafter(v, 0))),
                  "NaN reported from x = %.17g, but exp(-x) overflows elsewhere", v);
    ck_assert_double_eq_tol(v, -709.78, 0.01);
    ck_assert_ptr_nonnull(strstr(dec, "x > 0: accurate all the way"));

    /* y(1-y): 0 from the first x where 1/(1+exp(-x)) rounds to 1. */
    double z = number_after(strstr(tb, "returns 0"), "from x =");
    ck_assert_msg(1.0 / (1.0 + exp(-z)) == 1.0 && 1.0 / (1.0 + exp(-nextafter(z, 0))) < 1.0,
                  "y(1-y) reported 0 from x = %.17g, but y rounds to 1 elsewhere", z);
    ck_assert_double_eq_tol(z, 36.7368, 1e-3);
    ck_assert_ptr_nonnull(strstr(tb, "x < 0: accurate all the way"));

    /* Fused: never fails. */
    ck_assert_int_eq(count_of(fus, "accurate all the way"), 2);
    ck_assert_ptr_null(strstr(fus, "from x ="));

    ck_assert_ptr_nonnull(strstr(c.out, "What this shows:"));
    ck_assert_ptr_nonnull(strstr(c.out, "0 * inf = NaN"));
    free(dec);
    free(fus);
    free(tb);
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_json_is_well_formed)
{
    capture c = run_demo(sigmoid_path, "--json --from -2 --to 2 --steps 5", 0);
    ck_assert_int_eq(c.status, 0);
    assert_json_shape(c.out);
    ck_assert_int_eq(count_of(c.out, "{\"x\": "), 5);
    ck_assert_ptr_nonnull(strstr(c.out, "\"nodes\": {\"decomposed\": 6, \"decomposed_ops\": 4, \"fused\": 1}"));
    ck_assert_ptr_nonnull(strstr(c.out,
        "\"fused\": {\"negative\": {\"loses_digits\": null, \"gives_zero\": null, \"not_a_number\": null}, "
        "\"positive\": {\"loses_digits\": null, \"gives_zero\": null, \"not_a_number\": null}"));
    double v = number_after(c.out, "\"not_a_number\":");
    ck_assert_double_eq_tol(v, -709.78, 0.01);
    ck_assert_double_eq(number_after(c.out, "{\"x\": 0, \"y\":"), 0.5);
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_explain_walks_the_four_nodes)
{
    capture c = run_demo(sigmoid_path, "--explain 2", 0);
    ck_assert_int_eq(c.status, 0);
    const char *order[] = { "step 1  1/x: local derivative dy/d(1+exp(-x)) = -y^2",
                            "step 2  +: local derivative", "step 3  exp: local derivative",
                            "step 4  *: local derivative d(-x)/dx = -1",
                            "dL/dx = dL/dy * y(1-y) = 1 * " };
    const char *prev = c.out;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *at = strstr(c.out, order[i]);
        ck_assert_msg(at && at >= prev, "'%s' missing or out of order", order[i]);
        prev = at;
    }
    double ref = (double)slope_ref(2.0L);
    ck_assert_double_eq_tol(number_after(c.out, "the sweep through the four nodes gave"), ref, 4e-16);
    ck_assert_double_eq_tol(number_after(c.out, "tapegrad's fused sigmoid gives"), ref, 4e-16);
    ck_assert_double_eq_tol(number_after(c.out, "dL/dx = dL/dy * y(1-y) = 1 * "),
                            1.0 / (1.0 + exp(-2.0)), 1e-15);
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_explain_shows_the_nan)
{
    capture c = run_demo(sigmoid_path, "--explain -800", 0);
    ck_assert_int_eq(c.status, 0);
    ck_assert_ptr_nonnull(strstr(c.out, "the sweep through the four nodes gave  NaN"));
    ck_assert_ptr_nonnull(strstr(c.out, "tapegrad's fused sigmoid gives         0\n"));
    ck_assert_ptr_nonnull(strstr(c.out, "(inf)"));
    capture_free(&c);
}
END_TEST

START_TEST(sigmoid_rejects_bad_options)
{
    capture c = run_demo(sigmoid_path, "--steps 0", 1);
    ck_assert_int_eq(c.status, 2);
    capture_free(&c);
    c = run_demo(sigmoid_path, "--explain", 1);
    ck_assert_int_eq(c.status, 2);
    capture_free(&c);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s EXAMPLE SHOPPING SIGMOID EXCERPT README EXAMPLE_C\n", argv[0]);
        return 77;
    }
    example_path = argv[1];
    shopping_path = argv[2];
    sigmoid_path = argv[3];
    excerpt_path = argv[4];
    readme_path = argv[5];
    example_source_path = argv[6];
    for (int i = 1; i < 4; i++)
        if (access(argv[i], X_OK) != 0) {
            fprintf(stderr, "%s: no such program\n", argv[i]);
            return 77;
        }

    Suite *s = suite_create("demos");
    TCase *tc = tcase_create("output");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, example_prints_the_book_numbers);
    tcase_add_test(tc, readme_first_program_is_example_c);
    tcase_add_test(tc, shopping_apple_matches_the_book);
    tcase_add_test(tc, shopping_orange_matches_the_book);
    tcase_add_test(tc, shopping_backward_runs_in_reverse_tape_order);
    tcase_add_test(tc, shopping_hessian_gives_the_products_cross_terms);
    tcase_add_test(tc, shopping_set_replays_and_reports_changes);
    tcase_add_test(tc, shopping_set_rejects_unknown_names_and_bad_values);
    tcase_add_test(tc, shopping_exact_shows_every_digit);
    tcase_add_test(tc, shopping_writes_dot_text);
    tcase_add_test(tc, readme_excerpt_matches_the_demo);
    tcase_add_test(tc, sigmoid_table_agrees_with_the_reference);
    tcase_add_test(tc, sigmoid_finds_where_each_form_breaks);
    tcase_add_test(tc, sigmoid_json_is_well_formed);
    tcase_add_test(tc, sigmoid_explain_walks_the_four_nodes);
    tcase_add_test(tc, sigmoid_explain_shows_the_nan);
    tcase_add_test(tc, sigmoid_rejects_bad_options);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
