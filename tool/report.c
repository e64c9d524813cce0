/* The command's outputs for one point: value and gradient, JSON, the
 * derivative check and the step-by-step walk. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "demo_support.h"
#include "page.h"
#include "session.h"
#include "walk.h"

size_t session_vars(const session *s, tg_node *vars, size_t max)
{
    size_t k = 0, n = tg_graph_size(s->g);
    for (size_t i = 0; i < n; i++) {
        tg_node x = tg_node_at(s->g, i);
        if (strcmp(tg_node_op(s->g, x), "var")) continue;
        if (k < max) vars[k] = x;
        k++;
    }
    return k;
}

const char *session_num(const session *s, char *buf, size_t len, double v)
{
    return s->exact ? num_exact(buf, len, v) : num_str(buf, len, v);
}

/* The variables, in an array the caller frees; NULL when out of memory. */
static tg_node *all_vars(const session *s, size_t *n)
{
    *n = session_vars(s, NULL, 0);
    tg_node *v = malloc((*n ? *n : 1) * sizeof *v);
    if (v) session_vars(s, v, *n);
    return v;
}

void print_value_and_gradient(session *s, FILE *f)
{
    char b[40];
    size_t n;
    tg_node *v = all_vars(s, &n);
    if (!v) return;
    fprintf(f, "%s = %s\n", s->out_name, session_num(s, b, sizeof b, tg_value(s->g, s->out)));
    int width = 0;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(tg_node_name(s->g, v[i]));
        if (w > width) width = w;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  d %s/d %-*s  %s\n", s->out_name, width, tg_node_name(s->g, v[i]),
                session_num(s, b, sizeof b, tg_grad(s->g, v[i])));
    free(v);
}

/* ------------------------------------------------------------ JSON */

void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* Every digit, so a tool reads back the double; non-finite as a string. */
void json_double(FILE *f, double v)
{
    char b[40];
    if (isnan(v)) fputs("\"nan\"", f);
    else if (isinf(v)) fputs(v > 0 ? "\"inf\"" : "\"-inf\"", f);
    else fputs(num_exact(b, sizeof b, v), f);
}

void print_json(session *s, const derived *d, FILE *f)
{
    size_t n;
    tg_node *v = all_vars(s, &n);
    if (!v) return;
    fputs("{\"output\": ", f);
    json_string(f, s->out_name);
    fputs(", \"value\": ", f);
    json_double(f, tg_value(s->g, s->out));
    fputs(", \"gradient\": {", f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : "", f);
        json_string(f, tg_node_name(s->g, v[i]));
        fputs(": ", f);
        json_double(f, tg_grad(s->g, v[i]));
    }
    fputc('}', f);
    if (d) json_derived(s, d, f);
    fputs("}\n", f);
    free(v);
}

/* ------------------------------------------------------------ --check */

/* The output at the variables' current values, replayed; NaN when the
 * replay crossed a recorded branch (the tape is not the function there). */
static double replay(session *s)
{
    tg_status st = tg_forward(s->g);
    tg_graph_clear_error(s->g);
    return st == TG_OK ? tg_value(s->g, s->out) : NAN;
}

int run_check(session *s, FILE *f)
{
    char b1[40], b2[40];
    size_t n;
    tg_node *v = all_vars(s, &n);
    if (!v) return 1;
    fprintf(f, "Central differences of %s, step 1e-6 scaled to each variable:\n", s->out_name);
    double worst = 0.0;
    const char *worst_at = NULL;
    for (size_t i = 0; i < n; i++) {
        double x = tg_value(s->g, v[i]);
        double h = 1e-6 * fmax(1.0, fabs(x));
        volatile double up = x + h, down = x - h;  /* the step really taken */
        tg_set_value(s->g, v[i], up);
        double fu = replay(s);
        tg_set_value(s->g, v[i], down);
        double fd = replay(s);
        tg_set_value(s->g, v[i], x);
        double fdiff = (fu - fd) / (up - down);
        double g = tg_grad(s->g, v[i]);
        double rel = fabs(fdiff - g) / fmax(fabs(g), 1e-8);
        fprintf(f, "  d %s/d %-10s tg_grad %-22s difference %-22s", s->out_name, tg_node_name(s->g, v[i]),
                session_num(s, b1, sizeof b1, g), session_num(s, b2, sizeof b2, fdiff));
        if (isnan(fu) || isnan(fd)) {
            fprintf(f, "(a step crosses a recorded branch: not compared)\n");
            continue;
        }
        fprintf(f, "relative %.2g\n", rel);
        if (rel > worst || isnan(rel)) {
            worst = rel;
            worst_at = tg_node_name(s->g, v[i]);
        }
    }
    replay(s);
    tg_backward(s->g, s->out);
    free(v);

    size_t ops = 0, size = tg_graph_size(s->g);
    for (size_t i = 0; i < size; i++) ops += tg_node_arity(s->g, tg_node_at(s->g, i)) > 0;
    tg_node first;
    size_t bad = tg_check_partials(s->g, 1e-6, &first);
    fprintf(f, "Worst disagreement: %.2g", worst);
    if (worst_at) fprintf(f, " (d %s/d %s)", s->out_name, worst_at);
    fprintf(f, "\nLocal derivatives (tg_check_partials, rtol 1e-6): %zu of %zu ops disagree\n", bad, ops);
    if (bad) fprintf(f, "  the first: %s\n", tg_graph_errmsg(s->g));
    tg_graph_clear_error(s->g);
    return bad || !(worst <= 1e-6) ? 1 : 0;
}

/* ------------------------------------------------------------ --step */

int run_step(session *s, FILE *f)
{
    size_t n = (size_t)s->out.id + 1;
    char (*labels)[WALK_LABEL] = calloc(n, sizeof *labels);
    if (!labels) return 1;
    walk d = { .g = s->g, .out = s->out, .n = n, .label = labels, .label_cap = n, .exact = s->exact,
               .out_file = f };
    walk_label_rest(&d);
    fprintf(f, "%s: %zu nodes on the tape.\n\n", s->out_name, n);
    walk_forward(&d);
    walk_backward(&d);
    walk_gradients(&d);
    free(labels);
    return 0;
}

int write_html(session *s, outfile *o)
{
    return page_write(s->g, s->out, s->out_name, s->exact, o, "tapegrad");
}
