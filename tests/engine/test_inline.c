/*
 * The inline builders of tapegrad.h record what the library's builders
 * record: the same handles, values, tape sizes, errors and gradients,
 * through names, tape growth, rewinds, bad handles, tensors and checking
 * mode (inline_story.h, compiled both ways).  And the library's functions
 * are still there to take the address of.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "helpers.h"
#include "runner.h"
#include "inline_log.h"

START_TEST(inline_builders_record_what_the_library_records)
{
    inline_log *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    story_inline(a);
    story_library(b);
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_gt(a->n, 100);
    for (size_t i = 0; i < a->n; i++) {
        const inline_entry *x = &a->e[i], *y = &b->e[i];
        ck_assert_msg(x->id == y->id && x->gen == y->gen && x->size == y->size &&
                          x->status == y->status && strcmp(x->msg, y->msg) == 0 &&
                          (memcmp(&x->value, &y->value, sizeof x->value) == 0),
                      "entry %zu: inline {%u,%u} %.17g size %zu status %d \"%s\"; "
                      "library {%u,%u} %.17g size %zu status %d \"%s\"",
                      i, x->id, x->gen, x->value, x->size, x->status, x->msg,
                      y->id, y->gen, y->value, y->size, y->status, y->msg);
    }
    /* the story did meet errors and non-finite values, so it tested them */
    int errors = 0, nonfinite = 0;
    for (size_t i = 0; i < a->n; i++) {
        errors += a->e[i].status != TG_OK;
        nonfinite += !isfinite(a->e[i].value);
    }
    ck_assert_int_ge(errors, 12);
    ck_assert_int_ge(nonfinite, 3);
    free(a);
    free(b);
}
END_TEST

/* Without a call's parentheses the names are the library's functions. */
START_TEST(the_functions_are_the_library_s)
{
    tg_node (*add)(tg_graph *, tg_node, tg_node) = tg_add;
    tg_node (*neg)(tg_graph *, tg_node) = &tg_neg;
    tg_node (*var)(tg_graph *, const char *, double) = tg_var;
    tg_graph *g = tg_graph_new();
    tg_node x = var(g, "x", 1.5);
    tg_node y = add(g, x, neg(g, x));
    ck_assert_str_eq(tg_node_op(g, y), "add");
    ck_assert_double_eq(tg_value(g, y), 0.0);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_grad(g, x), 0.0);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("inline");
    TCase *tc = tcase_create("inline");
    tcase_add_test(tc, inline_builders_record_what_the_library_records);
    tcase_add_test(tc, the_functions_are_the_library_s);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
