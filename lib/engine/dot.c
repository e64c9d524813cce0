/*
 * Drawing a graph in Graphviz DOT, laid out like the book's figures: data
 * flows left to right, each edge carries the value going forward and,
 * after a backward, the gradient coming back (in red, under the value).
 *
 * Variables and constants are plain text at the edge of the picture; ops
 * are circles with their symbol and value.  A node that feeds nothing (the
 * output) gets an arrow into empty space so its value and seed gradient
 * have a place to be written, as in the book.  Groups become clusters.
 *
 * Every label is an HTML-like label: user text (names, group labels) is
 * escaped as XML character data and made valid UTF-8 of bounded length,
 * so no name can break the file.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"

#define GRAD_COLOR "#c0392b"

/* Labels are for reading at a glance, as in the book's figures: six
 * significant digits, which also drop the last-bit noise of binary
 * fractions (1.1 * 3 is drawn 3.3, not 3.3000000000000003). */
static void put_num(FILE *f, double v)
{
    if (isnan(v)) fputs("NaN", f);
    else if (isinf(v)) fputs(v > 0 ? "inf" : "-inf", f);
    else fprintf(f, "%.6g", v == 0 ? 0.0 : v);   /* -0 reads as 0 */
}

/* The length of the UTF-8 sequence at s, or 0 when it is not a valid one
 * (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF,
 * or cut short). */
static size_t utf8_length(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;   /* the range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return n;
}

/* Characters of user text drawn at most: Graphviz refuses an HTML-like
 * label past 16384 bytes, and a name that long is unreadable anyway. */
#define LABEL_TEXT_MAX 200

/* User text as XML character data: markup characters become entities,
 * control characters, which XML forbids, spaces, and bytes that are not
 * UTF-8, which Graphviz rejects, the replacement character; past
 * LABEL_TEXT_MAX characters an ellipsis ends it. */
static void put_escaped(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t shown = 0; *s; shown++) {
        if (shown == LABEL_TEXT_MAX) {
            fputs("&#8230;", f);
            return;
        }
        size_t n = utf8_length(s);
        switch (n ? *s : 0) {
        case 0: fputs("&#xFFFD;", f); s++; continue;
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if (*s < 0x20 || *s == 0x7f) fputc(' ', f);
            else fwrite(s, 1, n, f);
            break;
        }
        s += n;
    }
}

static void indent(FILE *f, unsigned depth)
{
    for (unsigned i = 0; i < depth + 1; i++) fputs("  ", f);
}

/* What travels along an edge out of node id: its value, or for a tensor
 * its shape. */
static void put_payload(FILE *f, const tg_graph *g, uint32_t id)
{
    if (tg__is_tensor(g, id)) {
        const tensor_rec *r = tg__trec(g, id);
        fprintf(f, "%u&#215;%u", (unsigned)r->rows, (unsigned)r->cols);
    } else {
        put_num(f, g->val[id]);
    }
}

static void put_grad_line(FILE *f, double grad)
{
    fputs("<br/><font color=\"" GRAD_COLOR "\">", f);
    put_num(f, grad);
    fputs("</font>", f);
}

static void write_node(FILE *f, const tg_graph *g, uint32_t id, unsigned depth)
{
    const op_info *info = tg__info(g, id);
    bool tensor = tg__is_tensor(g, id);
    const char *name = tg__name_of(g, id);
    indent(f, depth);
    fprintf(f, "n%u [", (unsigned)id);
    if (tg__op(g, id) == OP_VAR) {
        /* A variable: its name, value and (after a backward) the whole
         * gradient, summed over every use. */
        fputs("shape=plaintext, label=<<b>", f);
        if (name) put_escaped(f, name);
        else fputs(tensor ? "tensor" : "var", f);
        fputs("</b><br/>", f);
        put_payload(f, g, id);
        if (!tensor && id < g->dirty) put_grad_line(f, g->grad[id]);
        fputs(">", f);
    } else if (tg__op(g, id) == OP_CONST) {
        fputs("shape=plaintext, fontcolor=gray30, label=<", f);
        if (name) { put_escaped(f, name); fputs("<br/>", f); }
        put_payload(f, g, id);
        fputs(">", f);
    } else {
        fputs("shape=circle, margin=0.02, label=<", f);
        if (tg__op(g, id) == OP_CUSTOM) put_escaped(f, tg__op_name(g, id));
        else fputs(info->symbol, f);
        fputs("<br/><font point-size=\"9\" color=\"gray35\">", f);
        put_payload(f, g, id);
        fputs("</font>>", f);
    }
    fputs(", tooltip=\"", f);
    fprintf(f, "node %u (%s%s)", (unsigned)id, tensor ? "tensor " : "", tg__op_name(g, id));
    fputs("\"];\n", f);
}

/* Where group gi ends; a group still open (end == UINT32_MAX) runs to the
 * end of the tape. */
static uint32_t group_end(const tg_graph *g, size_t gi)
{
    uint32_t e = g->groups[gi].end;
    return e == UINT32_MAX || e > g->n ? (uint32_t)g->n : e;
}

static void close_cluster(FILE *f, unsigned *depth)
{
    (*depth)--;
    indent(f, *depth);
    fputs("}\n", f);
}

/* Nodes in tape order, each inside the clusters of the groups holding it.
 * Groups are stored in the order they were begun, so a parent comes before
 * its children and the walk needs only the innermost open group: closing a
 * cluster moves to its parent. */
static void write_nodes(FILE *f, const tg_graph *g)
{
    size_t open = 0;       /* innermost open group + 1, 0 at top level */
    size_t next = 0;       /* next group to consider opening */
    unsigned depth = 0;

    for (uint32_t id = 0; id < g->n; id++) {
        while (open && group_end(g, open - 1) <= id) {
            close_cluster(f, &depth);
            open = g->groups[open - 1].parent;
        }
        while (next < g->ngroups && g->groups[next].first <= id) {
            size_t gi = next++;
            if (group_end(g, gi) <= id) continue;  /* empty, or already behind us */
            while (open && open != g->groups[gi].parent) {
                close_cluster(f, &depth);
                open = g->groups[open - 1].parent;
            }
            indent(f, depth);
            fprintf(f, "subgraph cluster_%zu {\n", gi);
            depth++;
            indent(f, depth);
            fputs("label=<", f);
            put_escaped(f, g->groups[gi].label ? g->groups[gi].label : "");
            fputs(">; labelloc=t; style=\"rounded,dashed\"; color=gray45; fontcolor=gray25;\n", f);
            open = gi + 1;
        }
        write_node(f, g, id, depth);
    }
    while (depth > 0) close_cluster(f, &depth);
}

/* The edge in -> id, input k of id: the value flowing forward and, after a
 * backward, what the chain rule sends back along it, d out/d id times the
 * local derivative d id/d in.  Tensor edges carry shapes only, and nothing
 * flows back into a constant. */
static void write_edge(FILE *f, const tg_graph *g, uint32_t in, uint32_t id, int k, const double *partials)
{
    fprintf(f, "  n%u -> n%u [label=<", (unsigned)in, (unsigned)id);
    put_payload(f, g, in);
    if (partials && id < g->dirty)
        put_grad_line(f, g->grad[id] * partials[k]);
    fputs(">];\n", f);
}

tg_status tg_graph_write_dot(tg_graph *g, FILE *f)
{
    if (!g) return TG_ERR_ARG;
    if (!f) return tg__fail(g, TG_ERR_ARG, "tg_graph_write_dot: f is NULL");

    /* Which nodes feed another: those that do not are outputs. */
    unsigned char *used = NULL;
    if (g->n) {
        used = tg__realloc(g, NULL, g->n);
        if (!used) return tg__fail(g, TG_ERR_NOMEM, "tg_graph_write_dot: out of memory");
        memset(used, 0, g->n);
        for (uint32_t id = 0; id < g->n; id++)
            for (uint32_t k = 0, n = tg__arity(g, id); k < n; k++) used[tg__input(g, id, k)] = 1;
    }

    fputs("digraph tapegrad {\n"
          "  rankdir=LR;\n"
          "  node [fontname=\"Helvetica\", fontsize=12];\n"
          "  edge [fontname=\"Helvetica\", fontsize=11, arrowsize=0.7];\n", f);
    if (g->dirty > 0)  /* a backward has left gradients */
        fputs("  labelloc=b; fontname=\"Helvetica\"; fontsize=10;\n"
              "  label=<value forward, <font color=\"" GRAD_COLOR "\">gradient of the output "
              "backward</font>>;\n", f);
    write_nodes(f, g);

    for (uint32_t id = 0; id < g->n; id++) {
        uint32_t k = tg__arity(g, id);
        double d[TG_CUSTOM_MAX_ARITY];
        bool scalar_edge = k > 0 && !(g->op[id] & TENSOR_CODE);
        if (scalar_edge && tg__op(g, id) == OP_CUSTOM) tg__custom_partials(g, id, d);
        else if (scalar_edge)
            op_partials(tg__op(g, id), g->val[g->a[id]], g->val[g->b[id]], g->val[id], &d[0], &d[1]);
        for (uint32_t j = 0; j < k; j++) {
            uint32_t in = tg__input(g, id, j);
            write_edge(f, g, in, id, (int)j,
                       scalar_edge && g->op[in] != OP_CONST && !tg__is_tensor(g, in) ? d : NULL);
        }
    }

    /* Outputs: an arrow into empty space carries the result and the seed. */
    for (uint32_t id = 0; id < g->n; id++) {
        if (used[id] || tg__arity(g, id) == 0) continue;
        fprintf(f, "  out%u [shape=point, style=invis];\n", (unsigned)id);
        fprintf(f, "  n%u -> out%u [label=<", (unsigned)id, (unsigned)id);
        put_payload(f, g, id);
        if (!tg__is_tensor(g, id) && id < g->dirty) put_grad_line(f, g->grad[id]);
        fputs(">];\n", f);
    }
    fputs("}\n", f);
    tg__free(g, used);

    if (fflush(f) != 0 || ferror(f))
        return tg__fail(g, TG_ERR_IO, "tg_graph_write_dot: writing the DOT text failed");
    return TG_OK;
}
