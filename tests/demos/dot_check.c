#include "dot_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *dot_text(tg_graph *g, tg_status *status)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    *status = tg_graph_write_dot(g, f);
    fclose(f);
    return buf;
}

/* Skip a quoted string or an HTML-like label (nested <...>) starting at p;
 * returns the character after it. */
static const char *skip_quoted(const char *p)
{
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1]) p++;
        return *p ? p + 1 : p;
    }
    int depth = 0;
    do {
        if (*p == '<') depth++;
        else if (*p == '>') depth--;
        p++;
    } while (*p && depth > 0);
    return p;
}

int brace_depth(const char *dot)
{
    int depth = 0, deepest = 0;
    for (const char *p = dot; *p;) {
        if (*p == '"' || *p == '<') {
            p = skip_quoted(p);
            continue;
        }
        if (*p == '{' && ++depth > deepest) deepest = depth;
        if (*p == '}' && --depth < 0) return -1;
        p++;
    }
    return depth == 0 ? deepest : -1;
}

/* Brace depth just before position `at`. */
static int depth_at(const char *dot, const char *at)
{
    int depth = 0;
    for (const char *p = dot; *p && p < at;) {
        if (*p == '"' || *p == '<') {
            p = skip_quoted(p);
            continue;
        }
        if (*p == '{') depth++;
        if (*p == '}') depth--;
        p++;
    }
    return depth - 1;  /* the digraph's own brace */
}

static const char *line_start_with(const char *dot, const char *prefix)
{
    for (const char *p = dot; p; p = strchr(p, '\n')) {
        if (*p == '\n') p++;
        const char *q = p;
        while (*q == ' ') q++;
        if (!strncmp(q, prefix, strlen(prefix))) return q;
    }
    return NULL;
}

const char *node_line(const char *dot, unsigned id, int *depth)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "n%u [", id);
    const char *l = line_start_with(dot, prefix);
    if (l && depth) *depth = depth_at(dot, l);
    return l;
}

const char *edge_line(const char *dot, unsigned from, unsigned to)
{
    char prefix[48];
    snprintf(prefix, sizeof prefix, "n%u -> n%u [", from, to);
    return line_start_with(dot, prefix);
}

static int count_lines(const char *dot, bool edges)
{
    int n = 0;
    for (const char *p = dot; p; p = strchr(p, '\n')) {
        if (*p == '\n') p++;
        while (*p == ' ') p++;
        unsigned a, b;
        char c;
        if (edges ? sscanf(p, "n%u -> n%u %c", &a, &b, &c) == 3 && c == '['
                  : sscanf(p, "n%u %c", &a, &c) == 2 && c == '[')
            n++;
    }
    return n;
}

int count_nodes(const char *dot) { return count_lines(dot, false); }
int count_edges(const char *dot) { return count_lines(dot, true); }

bool line_has(const char *line, const char *needle)
{
    if (!line) return false;
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!strncmp(line + i, needle, k)) return true;
    return false;
}

/* ------------------------------------------------------------ graphs */

tg_graph *graph_orange(bool backward)
{
    tg_graph *g = tg_graph_new();
    tg_node apple = tg_var(g, "apple", 100);
    tg_node apple_num = tg_var(g, "apple_num", 2);
    tg_node orange = tg_var(g, "orange", 150);
    tg_node orange_num = tg_var(g, "orange_num", 3);
    tg_node tax = tg_var(g, "tax", 1.1);
    tg_node apple_price = tg_mul(g, apple, apple_num);
    tg_node orange_price = tg_mul(g, orange, orange_num);
    tg_node price = tg_mul(g, tg_add(g, apple_price, orange_price), tax);
    if (backward) tg_backward(g, price);
    return g;
}

tg_graph *graph_nested_groups(void)
{
    tg_graph *g = tg_graph_new();
    tg_node a = tg_var(g, "a", 0.5);
    tg_group_begin(g, "outer");
    tg_node b = tg_mul(g, a, a);
    tg_group_begin(g, INNER_LABEL);
    tg_node c = tg_exp(g, b);
    tg_group_end(g);
    tg_node d = tg_add(g, b, c);
    tg_group_end(g);
    tg_node e = tg_mul(g, d, a);
    tg_backward(g, e);
    return g;
}

tg_graph *graph_sigmoid_layer(void)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 1.0);
    tg_group_begin(g, "Sigmoid layer");
    tg_node y = tg_sigmoid_decomposed(g, x);
    tg_group_end(g);
    tg_backward(g, y);
    return g;
}

tg_graph *graph_tricky_name(void)
{
    tg_graph *g = tg_graph_new();
    tg_node v = tg_var(g, TRICKY_NAME, 2);
    tg_backward(g, tg_mul(g, v, v));
    return g;
}

tg_graph *graph_unreadable_names(void)
{
    char *long_name = malloc(LONG_NAME_LENGTH + 1);
    if (!long_name) return NULL;
    memset(long_name, 'z', LONG_NAME_LENGTH);
    long_name[LONG_NAME_LENGTH] = '\0';
    tg_graph *g = tg_graph_new();
    tg_group_begin(g, "group \xc0\xaf");
    tg_node a = tg_var(g, BAD_UTF8_NAME, 2), b = tg_var(g, EURO_NAME, 3), c = tg_var(g, long_name, 4);
    tg_group_end(g);
    tg_backward(g, tg_mul(g, tg_mul(g, a, b), c));
    free(long_name);
    return g;
}

tg_graph *graph_tensor(void)
{
    tg_graph *g = tg_graph_new();
    const double data[6] = { 1, 2, 3, 4, 5, 6 };
    tg_node t = tg_tensor_var(g, "W", 2, 3, data);
    tg_backward(g, tg_sum(g, t));
    return g;
}
