/* --hessian, --jacobian (with --output) and --jvp: the engine's second
 * order and forward mode (tg_hessian, tg_jacobian, tg_jvp) on the parsed
 * graph, as tables and as JSON. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

int derive(session *s, derived *d, bool hessian, bool jacobian, const char *const *outputs, size_t nout,
           const double *direction)
{
    size_t n = d->nvars = session_vars(s, NULL, 0);
    d->vars = malloc((n ? n : 1) * sizeof *d->vars);
    d->nout = nout ? nout : 1;
    d->outs = malloc(d->nout * sizeof *d->outs);
    d->out_names = malloc(d->nout * sizeof *d->out_names);
    if (!d->vars || !d->outs || !d->out_names) goto nomem;
    session_vars(s, d->vars, n);
    for (size_t k = 0; k < d->nout; k++) {
        d->out_names[k] = nout ? outputs[k] : s->out_name;
        d->outs[k] = nout ? tg_find(s->g, outputs[k]) : s->out;
        if (tg_is_none(d->outs[k])) {
            fprintf(stderr, "tapegrad: --output %s: no statement of that name\n", outputs[k]);
            return 1;
        }
    }
    if (hessian) {
        d->hess = malloc((n ? n * n : 1) * sizeof *d->hess);
        if (!d->hess) goto nomem;
        if (tg_hessian(s->g, s->out, n, d->vars, d->hess) != TG_OK) goto failed;
    }
    if (jacobian) {
        d->jac = malloc((n ? d->nout * n : 1) * sizeof *d->jac);
        if (!d->jac) goto nomem;
        if (tg_jacobian(s->g, d->nout, d->outs, n, d->vars, d->jac) != TG_OK) goto failed;
    }
    if (direction) {
        d->jvp = malloc(d->nout * sizeof *d->jvp);
        if (!d->jvp) goto nomem;
        if (tg_jvp(s->g, n, d->vars, direction, d->nout, d->outs, d->jvp) != TG_OK) goto failed;
    }
    return 0;
failed:
    fprintf(stderr, "tapegrad: %s\n", tg_graph_errmsg(s->g));
    return 1;
nomem:
    fprintf(stderr, "tapegrad: out of memory\n");
    return 1;
}

void derived_free(derived *d)
{
    free(d->vars);
    free(d->outs);
    free(d->out_names);
    free(d->hess);
    free(d->jac);
    free(d->jvp);
    memset(d, 0, sizeof *d);
}

/* rows x the variables, each row named, in columns as wide as the widest. */
static void table(session *s, const derived *d, FILE *f, size_t rows, const char *const *row_name,
                  const double *m)
{
    char b[40];
    int w = 1, first = 1;
    for (size_t j = 0; j < d->nvars; j++) {
        int l = (int)strlen(tg_node_name(s->g, d->vars[j]));
        if (l > w) w = l;
    }
    for (size_t i = 0; i < rows * d->nvars; i++) {
        int l = (int)strlen(session_num(s, b, sizeof b, m[i]));
        if (l > w) w = l;
    }
    for (size_t i = 0; i < rows; i++) {
        int l = (int)strlen(row_name[i]);
        if (l > first) first = l;
    }
    fprintf(f, "  %-*s", first, "");
    for (size_t j = 0; j < d->nvars; j++) fprintf(f, "  %*s", w, tg_node_name(s->g, d->vars[j]));
    fputc('\n', f);
    for (size_t i = 0; i < rows; i++) {
        fprintf(f, "  %-*s", first, row_name[i]);
        for (size_t j = 0; j < d->nvars; j++)
            fprintf(f, "  %*s", w, session_num(s, b, sizeof b, m[i * d->nvars + j]));
        fputc('\n', f);
    }
}

void print_derived(session *s, const derived *d, FILE *f)
{
    char b[40];
    if (d->hess) {
        const char **names = malloc((d->nvars ? d->nvars : 1) * sizeof *names);
        if (!names) return;
        for (size_t j = 0; j < d->nvars; j++) names[j] = tg_node_name(s->g, d->vars[j]);
        fprintf(f, "\nHessian of %s (tg_hessian), d2 %s/d row d column:\n", s->out_name, s->out_name);
        table(s, d, f, d->nvars, names, d->hess);
        free(names);
    }
    if (d->jac) {
        fprintf(f, "\nJacobian (tg_jacobian), d row/d column:\n");
        table(s, d, f, d->nout, d->out_names, d->jac);
    }
    if (d->jvp) {
        fprintf(f, "\nDirectional derivatives along the --jvp direction (tg_jvp):\n");
        for (size_t k = 0; k < d->nout; k++)
            fprintf(f, "  %s  %s\n", d->out_names[k], session_num(s, b, sizeof b, d->jvp[k]));
    }
}

/* "name": {"var": number, ...} for each row. */
static void json_rows(session *s, const derived *d, FILE *f, size_t rows, const char *const *row_name,
                      const double *m)
{
    for (size_t i = 0; i < rows; i++) {
        fprintf(f, "%s", i ? ", " : "");
        json_string(f, row_name[i]);
        fputs(": {", f);
        for (size_t j = 0; j < d->nvars; j++) {
            fputs(j ? ", " : "", f);
            json_string(f, tg_node_name(s->g, d->vars[j]));
            fputs(": ", f);
            json_double(f, m[i * d->nvars + j]);
        }
        fputc('}', f);
    }
}

void json_derived(session *s, const derived *d, FILE *f)
{
    if (d->hess) {
        const char **names = malloc((d->nvars ? d->nvars : 1) * sizeof *names);
        if (!names) return;
        for (size_t j = 0; j < d->nvars; j++) names[j] = tg_node_name(s->g, d->vars[j]);
        fputs(", \"hessian\": {", f);
        json_rows(s, d, f, d->nvars, names, d->hess);
        fputc('}', f);
        free(names);
    }
    if (d->jac) {
        fputs(", \"jacobian\": {", f);
        json_rows(s, d, f, d->nout, d->out_names, d->jac);
        fputc('}', f);
    }
    if (d->jvp) {
        fputs(", \"jvp\": {", f);
        for (size_t k = 0; k < d->nout; k++) {
            fputs(k ? ", " : "", f);
            json_string(f, d->out_names[k]);
            fputs(": ", f);
            json_double(f, d->jvp[k]);
        }
        fputc('}', f);
    }
}
