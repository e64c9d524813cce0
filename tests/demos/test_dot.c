/*
 * tg_graph_write_dot: every node and edge of a graph is in the text, with
 * the book's values and gradients; groups become properly nested, closed
 * clusters; user text is escaped; errors are reported, not printed.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "dot_check.h"
#include "runner.h"

static char *write_ok(tg_graph *g)
{
    ck_assert_ptr_nonnull(g);
    tg_status s = TG_ERR_ARG;
    char *dot = dot_text(g, &s);
    ck_assert_ptr_nonnull(dot);
    ck_assert_msg(s == TG_OK, "write failed: %s", tg_graph_errmsg(g));
    ck_assert_msg(brace_depth(dot) >= 1, "unbalanced braces:\n%s", dot);
    return dot;
}

START_TEST(orange_graph_has_every_node_edge_value_and_gradient)
{
    tg_graph *g = graph_orange(true);
    char *dot = write_ok(g);
    ck_assert_int_eq(count_nodes(dot), 9);
    ck_assert_int_eq(count_edges(dot), 8);
    static const unsigned edges[8][2] = { {0, 5}, {1, 5}, {2, 6}, {3, 6}, {5, 7}, {6, 7}, {7, 8}, {4, 8} };
    for (int i = 0; i < 8; i++)
        ck_assert_msg(edge_line(dot, edges[i][0], edges[i][1]), "edge n%u -> n%u missing:\n%s",
                      edges[i][0], edges[i][1], dot);
    for (unsigned id = 0; id < 9; id++) {
        int depth = -1;
        ck_assert_ptr_nonnull(node_line(dot, id, &depth));
        ck_assert_int_eq(depth, 0);
    }
    /* Variables by name, with value and the book's gradient. */
    const char *n0 = node_line(dot, 0, NULL);
    ck_assert(line_has(n0, "apple") && line_has(n0, ">100<") && line_has(n0, ">2.2<"));
    const char *n4 = node_line(dot, 4, NULL);
    ck_assert(line_has(n4, "tax") && line_has(n4, ">1.1<") && line_has(n4, ">650<"));
    ck_assert(line_has(node_line(dot, 3, NULL), ">165<"));
    ck_assert(line_has(node_line(dot, 2, NULL), ">3.3<"));
    /* Edges: the value going forward, the gradient coming back. */
    const char *e = edge_line(dot, 0, 5);
    ck_assert(line_has(e, "<100<br/>") && line_has(e, ">2.2<"));
    e = edge_line(dot, 5, 7);
    ck_assert(line_has(e, "<200<br/>") && line_has(e, ">1.1<"));
    e = edge_line(dot, 7, 8);
    ck_assert(line_has(e, "<650<br/>") && line_has(e, ">1.1<"));
    e = edge_line(dot, 4, 8);
    ck_assert(line_has(e, "<1.1<br/>") && line_has(e, ">650<"));
    /* The output's arrow carries 715 and the seed 1. */
    const char *out = strstr(dot, "n8 -> out8 [");
    ck_assert_ptr_nonnull(out);
    ck_assert(line_has(out, "<715<br/>") && line_has(out, ">1<"));
    /* Ops drawn as the book's symbols. */
    ck_assert(line_has(node_line(dot, 7, NULL), "label=<+<br/>"));
    ck_assert(line_has(node_line(dot, 8, NULL), "label=<&#215;<br/>"));
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(no_gradients_before_a_backward)
{
    tg_graph *g = graph_orange(false);
    char *dot = write_ok(g);
    ck_assert(line_has(edge_line(dot, 0, 5), "[label=<100>];"));
    ck_assert(line_has(edge_line(dot, 7, 8), "[label=<650>];"));
    ck_assert_ptr_nonnull(strstr(dot, "n8 -> out8 [label=<715>];"));
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(groups_become_nested_clusters)
{
    tg_graph *g = graph_nested_groups();
    char *dot = write_ok(g);
    ck_assert_int_eq(brace_depth(dot), 3);
    static const int want[5] = { 0, 1, 2, 1, 0 };
    for (unsigned id = 0; id < 5; id++) {
        int depth = -1;
        ck_assert_ptr_nonnull(node_line(dot, id, &depth));
        ck_assert_msg(depth == want[id], "n%u at depth %d, want %d:\n%s", id, depth, want[id], dot);
    }
    ck_assert_int_eq(count_edges(dot), 7);   /* a*a, exp(b), b+c, d*a */
    const char *outer = strstr(dot, "label=<outer>");
    const char *inner = strstr(dot, "label=<inner &lt;&amp;&quot;1&quot;&gt;>");
    ck_assert_ptr_nonnull(outer);
    ck_assert_ptr_nonnull(inner);
    ck_assert(outer < inner);
    ck_assert_ptr_null(strstr(dot, INNER_LABEL));
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(an_open_group_is_closed_in_the_drawing)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 1);
    tg_group_begin(g, "still open");
    tg_exp(g, a);
    char *dot = write_ok(g);
    int depth = -1;
    ck_assert_ptr_nonnull(node_line(dot, 1, &depth));
    ck_assert_int_eq(depth, 1);
    ck_assert_int_eq(brace_depth(dot), 2);
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(empty_and_rewound_groups_are_not_drawn)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 1);
    tg_group_begin(g, "empty");
    tg_group_end(g);
    size_t mark = tg_graph_mark(g);
    tg_group_begin(g, "dropped");
    tg_exp(g, a);
    tg_group_end(g);
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    tg_exp(g, a);
    char *dot = write_ok(g);
    ck_assert_ptr_null(strstr(dot, "subgraph"));
    ck_assert_ptr_null(strstr(dot, "dropped"));
    ck_assert_int_eq(count_nodes(dot), 2);
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(sigmoid_layer_holds_the_decomposed_nodes)
{
    tg_graph *g = graph_sigmoid_layer();
    char *dot = write_ok(g);
    ck_assert_ptr_nonnull(strstr(dot, "subgraph cluster_0 {"));
    ck_assert_ptr_nonnull(strstr(dot, "label=<Sigmoid layer>"));
    for (unsigned id = 0; id < 7; id++) {
        int depth = -1;
        ck_assert_ptr_nonnull(node_line(dot, id, &depth));
        ck_assert_int_eq(depth, id == 0 ? 0 : 1);
    }
    /* The op circles in the book's order: x, exp, +, / */
    const char *mul = strstr(dot, "label=<&#215;<br/>");
    const char *ex = strstr(dot, "label=<exp<br/>");
    const char *add = strstr(dot, "label=<+<br/>");
    const char *rec = strstr(dot, "label=</<br/>");
    ck_assert(mul && ex && add && rec && mul < ex && ex < add && add < rec);
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(names_are_escaped)
{
    tg_graph *g = graph_tricky_name();
    char *dot = write_ok(g);
    const char *n0 = node_line(dot, 0, NULL);
    ck_assert_ptr_nonnull(n0);
    /* One line: the newline in the name did not break it. */
    ck_assert(line_has(n0, "a&lt;b&gt;&amp;&quot;c&quot; d") && line_has(n0, "tooltip="));
    ck_assert_ptr_null(strstr(dot, "a<b>"));
    free(dot);
    tg_graph_free(g);
}
END_TEST

/* Graphviz rejects a file with bytes that are not UTF-8 and an HTML-like
 * label past 16384 bytes: such names are drawn with the replacement
 * character and cut short with an ellipsis; good UTF-8 stays as it is. */
START_TEST(unreadable_names_are_made_drawable)
{
    tg_graph *g = graph_unreadable_names();
    char *dot = write_ok(g);
    /* No byte of the bad sequences survives; each became U+FFFD. */
    for (const unsigned char *p = (const unsigned char *)dot; *p; p++)
        ck_assert_msg(*p != 0xff && *p != 0xc0 && *p != 0xed, "byte 0x%02x in the output", *p);
    ck_assert(line_has(node_line(dot, 0, NULL), "x&#xFFFD;&#xFFFD;(&#xFFFD;&#xFFFD;&#xFFFD;)"));
    ck_assert(line_has(node_line(dot, 1, NULL), EURO_NAME));
    ck_assert_ptr_nonnull(strstr(dot, "label=<group &#xFFFD;&#xFFFD;>"));
    const char *c = node_line(dot, 2, NULL);
    ck_assert(line_has(c, "&#8230;"));
    size_t len = strcspn(c, "\n");
    ck_assert_msg(len < 1000, "the long name's line is %zu bytes", len);
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(tensor_nodes_show_their_shape)
{
    tg_graph *g = graph_tensor();
    char *dot = write_ok(g);
    ck_assert(line_has(node_line(dot, 0, NULL), "<b>W</b><br/>2&#215;3"));
    ck_assert(line_has(edge_line(dot, 0, 1), "label=<2&#215;3>"));
    ck_assert(line_has(node_line(dot, 1, NULL), "label=<sum<br/>"));
    ck_assert(line_has(node_line(dot, 1, NULL), ">21<"));
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(empty_graph)
{
    tg_graph *g = tg_graph_new();
    char *dot = write_ok(g);
    ck_assert_int_eq(count_nodes(dot), 0);
    ck_assert_int_eq(brace_depth(dot), 1);
    free(dot);
    tg_graph_free(g);
}
END_TEST

START_TEST(bad_arguments_are_errors)
{
    ck_assert_int_eq(tg_graph_write_dot(NULL, stdout), TG_ERR_ARG);
    tg_graph *g = graph_orange(true);
    ck_assert_int_eq(tg_graph_write_dot(g, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_graph_status(g), TG_ERR_ARG);
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_graph_write_dot: f is NULL");
    tg_graph_free(g);
}
END_TEST

START_TEST(a_failed_write_is_an_io_error)
{
    FILE *f = fopen("/dev/full", "w");
    ck_assert_msg(f != NULL, "/dev/full is needed for this test");
    tg_graph *g = graph_orange(true);
    ck_assert_int_eq(tg_graph_write_dot(g, f), TG_ERR_IO);
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_graph_write_dot: writing the DOT text failed");
    fclose(f);
    tg_graph_free(g);
}
END_TEST

START_TEST(out_of_memory_writes_nothing)
{
    inj_alloc b = { 0 };
    tg_allocator al = inj_use(&b);
    tg_graph *g = tg_graph_new_with(&al);
    ck_assert_ptr_nonnull(g);
    tg_node x = tg_var(g, "x", 3);
    tg_backward(g, tg_mul(g, x, x));
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    b.fail_from = b.calls + 1;
    tg_status s = TG_OK;
    char *dot = dot_text(g, &s);
    ck_assert_int_eq(s, TG_ERR_NOMEM);
    ck_assert_str_eq(tg_graph_errmsg(g), "tg_graph_write_dot: out of memory");
    ck_assert_str_eq(dot, "");
    free(dot);
    /* The graph is intact: with memory back, the drawing works. */
    inj_stop_failing(&b);
    tg_graph_clear_error(g);
    dot = write_ok(g);
    ck_assert_int_eq(count_nodes(dot), 2);
    free(dot);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dot");
    TCase *tc = tcase_create("structure");
    tcase_add_test(tc, orange_graph_has_every_node_edge_value_and_gradient);
    tcase_add_test(tc, no_gradients_before_a_backward);
    tcase_add_test(tc, groups_become_nested_clusters);
    tcase_add_test(tc, an_open_group_is_closed_in_the_drawing);
    tcase_add_test(tc, empty_and_rewound_groups_are_not_drawn);
    tcase_add_test(tc, sigmoid_layer_holds_the_decomposed_nodes);
    tcase_add_test(tc, names_are_escaped);
    tcase_add_test(tc, unreadable_names_are_made_drawable);
    tcase_add_test(tc, tensor_nodes_show_their_shape);
    tcase_add_test(tc, empty_graph);
    tcase_add_test(tc, bad_arguments_are_errors);
    tcase_add_test(tc, a_failed_write_is_an_io_error);
    tcase_add_test(tc, out_of_memory_writes_nothing);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
