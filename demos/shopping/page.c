/* The stepping page (--html of the tapegrad command and of shopping):
 * one self-contained page (no network: the script, the style and the data
 * are inline) that draws the graph as the book does, inputs on
 * the left and the output on the right, and steps through it: forward
 * values appear on the edges left to right, then gradients right to left,
 * each step with its ledger line from the walk (walk.h).  The page itself
 * is page.html (built into html_page.h); this file writes the data it
 * reads, between its two halves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo_support.h"
#include "html_page.h"
#include "page.h"
#include "walk.h"

/* The ledger text, cut into steps where the walk calls on_step. */
typedef struct cuts {
    FILE *mem;
    long *at;
    size_t n, cap;
} cuts;

static void cut(walk *d, void *ctx)
{
    (void)d;
    cuts *c = ctx;
    fflush(c->mem);
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        long *at = realloc(c->at, cap * sizeof *at);
        if (!at) return;
        c->at = at;
        c->cap = cap;
    }
    c->at[c->n++] = ftell(c->mem);
}

static void js_string(FILE *f, const char *s, size_t len)
{
    fputc('"', f);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '<') fputs("\\u003c", f);  /* no "</script>" inside the script */
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* What the page shows: the graph, its output, how numbers print. */
typedef struct page {
    tg_graph *g;
    tg_node out;
    const char *out_name;
    bool exact;
} page;

static void js_number(FILE *f, const page *s, double v)
{
    char b[40];
    if (s->exact) num_exact(b, sizeof b, v);
    else num_str(b, sizeof b, v);
    js_string(f, b, strlen(b));
}

/* The symbol drawn in an op's circle. */
static const char *symbol(const char *op)
{
    if (!strcmp(op, "mul")) return "\xc3\x97";  /* U+00D7 */
    if (!strcmp(op, "add")) return "+";
    if (!strcmp(op, "recip")) return "1/x";
    if (!strcmp(op, "powc") || !strcmp(op, "pow")) return "^";
    return op;
}

static void write_data(FILE *f, const page *s, char (*labels)[WALK_LABEL], size_t n, const char *text,
                       const cuts *c)
{
    fprintf(f, "const DATA = {\"out\": %u, \"outName\": ", (unsigned)s->out.id);
    js_string(f, s->out_name, strlen(s->out_name));
    fputs(", \"nodes\": [\n", f);
    for (size_t i = 0; i < n; i++) {
        tg_node x = tg_node_at(s->g, i);
        const char *op = tg_node_op(s->g, x);
        fprintf(f, "{\"label\": ");
        js_string(f, labels[i], strlen(labels[i]));
        fprintf(f, ", \"op\": ");
        js_string(f, op, strlen(op));
        fprintf(f, ", \"symbol\": ");
        js_string(f, symbol(op), strlen(symbol(op)));
        fprintf(f, ", \"named\": %s, \"value\": ", tg_node_name(s->g, x) ? "true" : "false");
        js_number(f, s, tg_value(s->g, x));
        fprintf(f, ", \"inputs\": [");
        size_t k = tg_node_arity(s->g, x);
        double part[2] = { 0, 0 };
        tg_node_partials(s->g, x, part);
        for (size_t j = 0; j < k; j++) fprintf(f, "%s%u", j ? ", " : "", (unsigned)tg_node_input(s->g, x, j).id);
        fprintf(f, "], \"flows\": [");
        /* the gradient each input receives from this node: grad x partial */
        for (size_t j = 0; j < k && j < 2; j++) {
            fputs(j ? ", " : "", f);
            js_number(f, s, tg_grad(s->g, x) * part[j]);
        }
        fprintf(f, "], \"grad\": ");
        js_number(f, s, tg_grad(s->g, x));
        fprintf(f, "}%s\n", i + 1 < n ? "," : "");
    }
    fputs("],\n\"steps\": [", f);
    long from = 0;
    for (size_t k = 0; k < c->n; k++) {
        fputs(k ? ",\n" : "\n", f);
        js_string(f, text + from, (size_t)(c->at[k] - from));
        from = c->at[k];
    }
    fputs("]};\n", f);
}

int page_write(tg_graph *g, tg_node out, const char *out_name, bool exact, outfile *o, const char *prog)
{
    page pg = { g, out, out_name, exact }, *s = &pg;
    size_t n = (size_t)s->out.id + 1;
    char (*labels)[WALK_LABEL] = calloc(n, sizeof *labels);
    char *text = NULL;
    size_t text_len = 0;
    cuts c = { .mem = open_memstream(&text, &text_len) };
    int rc = -1;
    if (!labels || !c.mem) goto done;

    walk d = { .g = s->g, .out = s->out, .n = n, .label = labels, .label_cap = n, .exact = s->exact,
               .out_file = c.mem, .on_step = cut, .ctx = &c };
    walk_label_rest(&d);
    walk_forward(&d);
    walk_backward(&d);
    fflush(c.mem);
    if (c.n != n + n) {
        fprintf(stderr, "%s: --html: the walk gave %zu steps for %zu nodes\n", prog, c.n, n);
        goto done;
    }

    FILE *f = fopen(o->tmp, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s\n", prog, o->path);
        goto done;
    }
    for (size_t k = 0; html_head[k]; k++) fputs(html_head[k], f);
    write_data(f, s, labels, n, text, &c);
    for (size_t k = 0; html_tail[k]; k++) fputs(html_tail[k], f);
    bool written = !ferror(f);
    if (fclose(f) != 0 || !written) {
        fprintf(stderr, "%s: cannot write %s\n", prog, o->path);
        goto done;
    }
    rc = outfile_commit(o, prog) ? 0 : -1;
done:
    if (rc != 0) outfile_discard(o);
    if (c.mem) fclose(c.mem);
    free(text);
    free(c.at);
    free(labels);
    return rc;
}
