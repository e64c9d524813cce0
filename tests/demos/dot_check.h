/* Reading back what tg_graph_write_dot wrote, for the DOT tests. */
#ifndef DOT_CHECK_H
#define DOT_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include <tapegrad/tapegrad.h>

/* The DOT text of g, as a NUL-terminated string (free it); the status of
 * the write goes to *status. */
char *dot_text(tg_graph *g, tg_status *status);

/* Braces balance outside quoted strings and HTML-like <...> labels, and
 * never go below zero.  Returns the deepest nesting seen, or -1 when
 * unbalanced. */
int brace_depth(const char *dot);

/* The line declaring node n<id>, or NULL; *depth receives the brace
 * depth (0 = directly in the digraph) at that line. */
const char *node_line(const char *dot, unsigned id, int *depth);

/* The line of the edge n<from> -> n<to>, or NULL. */
const char *edge_line(const char *dot, unsigned from, unsigned to);

/* Number of node declarations "n<digits> [" and of edges "-> n<digits>". */
int count_nodes(const char *dot);
int count_edges(const char *dot);

/* Whether the line starting at `line` contains needle. */
bool line_has(const char *line, const char *needle);

/* ----- graphs the DOT tests draw (NULL when out of memory) */

/* The book's apple + orange graph, nodes 0..4 the variables apple,
 * apple_num, orange, orange_num, tax; 5 apple_price, 6 orange_price,
 * 7 all_price, 8 price; swept backward from price when `backward`. */
tg_graph *graph_orange(bool backward);
/* a (0); group "outer" { b = a*a (1); group INNER_LABEL { c = exp(b) (2) };
 * d = b + c (3) }; e = d*a (4); swept backward from e. */
tg_graph *graph_nested_groups(void);
#define INNER_LABEL "inner <&\"1\">"
/* x (0); group "Sigmoid layer" { the decomposed sigmoid, nodes 1..6 };
 * swept backward from its output. */
tg_graph *graph_sigmoid_layer(void);
/* A variable whose name holds markup and a newline (TRICKY_NAME). */
tg_graph *graph_tricky_name(void);
#define TRICKY_NAME "a<b>&\"c\"\nd"
/* Names Graphviz cannot take as they are: a (0) holds bytes that are not
 * UTF-8, b (1) is UTF-8 with a euro sign, c (2) is LONG_NAME_LENGTH
 * characters long, all inside a group whose label is not UTF-8 either;
 * a*b*c swept backward. */
tg_graph *graph_unreadable_names(void);
#define BAD_UTF8_NAME "x\xff\xc3(\xed\xa0\x80)"
#define EURO_NAME "prix_\xe2\x82\xac"
#define LONG_NAME_LENGTH 20000
/* A 2x3 tensor variable (0) summed to a scalar (1), swept backward. */
tg_graph *graph_tensor(void);

#endif
