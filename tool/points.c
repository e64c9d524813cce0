/* --at -: the recorded tape replayed at each point of a CSV stream, never
 * re-parsed.  A point on the other side of a recorded branch (relu, abs,
 * min, max) is evaluated but has no gradient: the tape does not describe
 * the function there, and the line says which node's branch it crossed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

enum { MAX_COLUMNS = 256 };

/* Split line at commas, in place, trimming spaces; the number of fields. */
static size_t split(char *line, char **field, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        char *start = p;
        while (*p && *p != ',' && *p != '\n' && *p != '\r') p++;
        char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        char sep = *p;
        *end = '\0';
        if (n < max) field[n] = start;
        n++;
        if (sep != ',') break;
        p++;
    }
    return n;
}

int run_points(session *s, FILE *in, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    char *field[MAX_COLUMNS];
    tg_node col[MAX_COLUMNS];
    size_t ncols = 0, lineno = 0;
    int rc = 1;
    size_t nvars = session_vars(s, NULL, 0);
    tg_node *vars = malloc((nvars ? nvars : 1) * sizeof *vars);
    if (!vars) goto done;
    session_vars(s, vars, nvars);

    while (getline(&line, &cap, in) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0') continue;  /* blank */
        size_t n = split(line, field, MAX_COLUMNS);
        if (n > MAX_COLUMNS) {
            fprintf(stderr, "tapegrad: --at line %zu: more than %d columns\n", lineno, MAX_COLUMNS);
            goto done;
        }
        if (ncols == 0) {  /* the header */
            for (size_t k = 0; k < n; k++) {
                col[k] = tg_find(s->g, field[k]);
                if (tg_is_none(col[k]) || strcmp(tg_node_op(s->g, col[k]), "var")) {
                    fprintf(stderr, "tapegrad: --at line %zu, column %zu: '%s' is not a variable of the "
                                    "expression\n", lineno, k + 1, field[k]);
                    goto done;
                }
            }
            ncols = n;
            fprintf(f, "%s", field[0]);
            for (size_t k = 1; k < n; k++) fprintf(f, ",%s", field[k]);
            fprintf(f, ",%s", s->out_name);
            for (size_t k = 0; k < nvars; k++) fprintf(f, ",d %s/d %s", s->out_name, tg_node_name(s->g, vars[k]));
            fprintf(f, ",branch\n");
            continue;
        }
        if (n != ncols) {
            fprintf(stderr, "tapegrad: --at line %zu: %zu values for %zu columns\n", lineno, n, ncols);
            goto done;
        }
        for (size_t k = 0; k < n; k++) {
            char *end;
            errno = 0;
            double v = strtod(field[k], &end);
            if (end == field[k] || *end || errno == ERANGE) {
                fprintf(stderr, "tapegrad: --at line %zu, column %zu: '%s' is not a number\n", lineno,
                        k + 1, field[k]);
                goto done;
            }
            tg_set_value(s->g, col[k], v);
        }
        char b[40];
        tg_status st = tg_forward(s->g);
        char crossed[256] = "";
        if (st == TG_ERR_STALE) snprintf(crossed, sizeof crossed, "%s", tg_graph_errmsg(s->g));
        else if (st != TG_OK) {
            fprintf(stderr, "tapegrad: --at line %zu: %s\n", lineno, tg_graph_errmsg(s->g));
            goto done;
        }
        tg_graph_clear_error(s->g);
        if (!crossed[0] && tg_backward(s->g, s->out) != TG_OK) {
            fprintf(stderr, "tapegrad: --at line %zu: %s\n", lineno, tg_graph_errmsg(s->g));
            goto done;
        }
        fprintf(f, "%s", session_num(s, b, sizeof b, tg_value(s->g, col[0])));
        for (size_t k = 1; k < n; k++) fprintf(f, ",%s", session_num(s, b, sizeof b, tg_value(s->g, col[k])));
        fprintf(f, ",%s", session_num(s, b, sizeof b, tg_value(s->g, s->out)));
        for (size_t k = 0; k < nvars; k++)
            fprintf(f, ",%s", crossed[0] ? "" : session_num(s, b, sizeof b, tg_grad(s->g, vars[k])));
        /* "tg_forward: node 5 (relu) changed branch ...": the node is what matters */
        const char *node = strstr(crossed, "node ");
        const char *tail = node ? strstr(node, " changed") : NULL;
        if (crossed[0] && node && tail) fprintf(f, ",crossed %.*s\n", (int)(tail - node), node);
        else fprintf(f, ",%s\n", crossed[0] ? "crossed" : "");
    }
    if (ncols == 0) {
        fprintf(stderr, "tapegrad: --at: no header line of variable names on standard input\n");
        goto done;
    }
    rc = 0;
done:
    free(vars);
    free(line);
    return rc;
}
