/* Every line is a command (help, grad, hess, step, dot, vars, quit), a
 * new value for a variable (x = 4, the tape replayed), or statements for
 * tg_parse, which add to the one graph of the session. */
#include "repl.h"

#include <stdlib.h>
#include <string.h>

#include <editline/readline.h>
#include <tapegrad/expr.h>

#include "demo_support.h"

static const char help[] =
    "  x = 3              a variable (again: a new value, the tape replayed)\n"
    "  f = x^2 * sin(x)   a statement: recorded and named\n"
    "  x*f + 1            an expression: its value\n"
    "  grad f             f and its gradient\n"
    "  hess f             f's Hessian (tg_hessian)\n"
    "  step f             the forward and backward walk with the chain-rule ledger\n"
    "  dot f FILE         the graph as DOT (FILE.dot) or drawn (FILE.svg, FILE.png)\n"
    "  vars               the variables and their values\n"
    "  help, quit\n";

/* The node named by the word after a command, or the empty handle (said). */
static tg_node named(session *s, const char *word)
{
    tg_node n = word && *word ? tg_find(s->g, word) : TG_NONE;
    if (tg_is_none(n)) printf("no node named '%s' (vars lists the variables)\n", word ? word : "");
    return n;
}

static void show_grad(session *s, tg_node n, const char *name)
{
    s->out = n;
    s->out_name = name;
    if (tg_backward(s->g, n) != TG_OK) {
        printf("%s\n", tg_graph_errmsg(s->g));
        tg_graph_clear_error(s->g);
        return;
    }
    print_value_and_gradient(s, stdout);
}

/* "x = 4" for an existing variable: a new value, replayed. */
static bool set_variable(session *s, const char *line)
{
    char name[128];
    double v;
    int used = 0;
    if (sscanf(line, " %127[A-Za-z0-9_] = %lf %n", name, &v, &used) != 2 || line[used] != '\0') return false;
    tg_node x = tg_find(s->g, name);
    if (tg_is_none(x) || strcmp(tg_node_op(s->g, x), "var")) return false;
    tg_set_value(s->g, x, v);
    if (tg_forward(s->g) != TG_OK) printf("%s\n", tg_graph_errmsg(s->g));
    tg_graph_clear_error(s->g);
    char b[40];
    printf("%s = %s\n", name, session_num(s, b, sizeof b, v));
    return true;
}

static void statements(session *s, const char *line)
{
    tg_node n = tg_parse(s->g, line);
    if (tg_is_none(n)) {
        printf("%s\n", tg_graph_errmsg(s->g));
        tg_graph_clear_error(s->g);
        return;
    }
    const char *name = tg_node_name(s->g, n);
    char b[40];
    printf("%s = %s\n", name ? name : "value", session_num(s, b, sizeof b, tg_value(s->g, n)));
}

static void vars(session *s)
{
    size_t n = session_vars(s, NULL, 0);
    tg_node *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return;
    session_vars(s, v, n);
    char b[40];
    for (size_t i = 0; i < n; i++)
        printf("  %s = %s\n", tg_node_name(s->g, v[i]), session_num(s, b, sizeof b, tg_value(s->g, v[i])));
    if (n == 0) printf("  none yet: x = 3 makes one\n");
    free(v);
}

/* One line; false to quit. */
static bool line_run(session *s, char *line)
{
    char *cmd = strtok(line, " \t");
    if (!cmd) return true;
    char *rest = strtok(NULL, "");
    char *arg = rest ? strtok(rest, " \t") : NULL;
    char *arg2 = arg ? strtok(NULL, " \t") : NULL;
    if (!strcmp(cmd, "quit") || !strcmp(cmd, "exit")) return false;
    if (!strcmp(cmd, "help")) fputs(help, stdout);
    else if (!strcmp(cmd, "vars")) vars(s);
    else if (!strcmp(cmd, "grad") && !tg_is_none(named(s, arg))) show_grad(s, tg_find(s->g, arg), arg);
    else if (!strcmp(cmd, "hess") && !tg_is_none(named(s, arg))) {
        derived d = { 0 };
        s->out = tg_find(s->g, arg);
        s->out_name = arg;
        if (derive(s, &d, true, false, NULL, 0, NULL) == 0) print_derived(s, &d, stdout);
        derived_free(&d);
        tg_graph_clear_error(s->g);
    } else if (!strcmp(cmd, "step") && !tg_is_none(named(s, arg))) {
        s->out = tg_find(s->g, arg);
        s->out_name = arg;
        if (tg_backward(s->g, s->out) == TG_OK) run_step(s, stdout);
        tg_graph_clear_error(s->g);
    } else if (!strcmp(cmd, "dot") && !tg_is_none(named(s, arg))) {
        if (!arg2) printf("dot %s FILE: which file?\n", arg);
        else {
            picture pic = { 0 };
            if (tg_backward(s->g, tg_find(s->g, arg)) == TG_OK && picture_open(&pic, "tapegrad", arg2))
                picture_write(&pic, "tapegrad", s->g, stdout);
        }
        tg_graph_clear_error(s->g);
    }
    return true;
}

int repl(session *s)
{
    printf("tapegrad: statements and commands; help lists them, quit or Ctrl-D ends.\n");
    for (;;) {
        char *line = readline("tapegrad> ");
        if (!line) {
            putchar('\n');
            return 0;
        }
        if (*line) add_history(line);
        static const char *const commands[] = { "help", "vars", "grad", "hess", "step", "dot", "quit", "exit" };
        char word[16] = "";
        sscanf(line, " %15[a-z]", word);
        bool command = false;
        for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) command |= !strcmp(word, commands[k]);
        /* a command word followed by '=' or an operator is a statement */
        const char *after = line + strspn(line, " \t") + strlen(word);
        if (command && (*after == '\0' || *after == ' ' || *after == '\t') && !strchr(after, '=')) {
            bool go_on = line_run(s, line);
            free(line);
            if (!go_on) return 0;
        } else {
            if (!set_variable(s, line)) statements(s, line);
            free(line);
        }
        fflush(stdout);
    }
}
