/*
 * The shopping graphs of Deep Learning from Scratch, chapter 5: 2 apples at
 * 100 with 10% tax (220), and with --orange 3 oranges at 150 as well (715).
 *
 * The demo records the graph with tapegrad, lets the engine run its
 * backward sweep, and then walks the tape through the public inspection
 * calls only (tg_node_at, tg_node_op, tg_node_inputs, tg_node_partials,
 * tg_value, tg_grad), printing each step of the forward and the backward
 * pass the way the book draws them.  Every gradient in the ledger is the
 * product of two numbers printed beside it, and the final table is the
 * engine's own tg_grad, so what is shown is what the engine did.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tapegrad/tapegrad.h>

#include "demo_support.h"

#define MAX_NODES 32
#define MAX_SETS 16
#define NUM_BUFS 8

typedef struct what_if {
    const char *name;
    double value;
} what_if;

typedef struct options {
    bool orange, no_pause, exact, check;
    const char *dot_path;
    what_if sets[MAX_SETS];
    int nsets;
} options;

typedef struct demo {
    tg_graph *g;
    tg_node out;
    size_t n;
    /* A readable name per tape position: the variable's own name, a name
     * the demo gives an intermediate node (apple_price), or a constant's
     * value.  tapegrad names only variables; the rest is the demo's. */
    char label[MAX_NODES][32];
    bool exact;
    bool rounded;       /* a number was shown rounded (see the closing note) */
    double rounded_example;
    bool pausing;       /* stdin is a terminal and --no-pause was not given */
    char bufs[NUM_BUFS][40];
    int next_buf;
} demo;

/* ------------------------------------------------------------ numbers */

/* A number for printing; several may be used in one printf. */
static const char *num(demo *d, double v)
{
    char *b = d->bufs[d->next_buf];
    d->next_buf = (d->next_buf + 1) % NUM_BUFS;
    if (d->exact) return num_exact(b, sizeof d->bufs[0], v);
    num_str(b, sizeof d->bufs[0], v);
    if (isfinite(v) && strtod(b, NULL) != v && !d->rounded) {
        d->rounded = true;
        d->rounded_example = v;
    }
    return b;
}

/* ------------------------------------------------------------ stepping */

/* After a step: wait for Enter (next), c (run to the end) or q (quit).
 * Returns false on q. */
static bool pause_step(demo *d)
{
    if (!d->pausing) return true;
    fputs("    [Enter] next step   [c Enter] run to the end   [q Enter] quit > ", stdout);
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) {   /* end of input: run on */
        putchar('\n');
        d->pausing = false;
        return true;
    }
    if (line[0] == 'q' || line[0] == 'Q') return false;
    if (line[0] == 'c' || line[0] == 'C') d->pausing = false;
    return true;
}

/* ------------------------------------------------------------ the graphs */

static void name_node(demo *d, tg_node n, const char *label)
{
    if (n.id < MAX_NODES) snprintf(d->label[n.id], sizeof d->label[0], "%s", label);
}

static tg_node build(demo *d, bool orange)
{
    tg_graph *g = d->g;
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node apple_num = tg_var(g, "apple_num", 2.0);
    if (!orange) {
        tg_node tax = tg_var(g, "tax", 1.1);
        tg_node apple_price = tg_mul(g, apple, apple_num);
        tg_node price = tg_mul(g, apple_price, tax);
        name_node(d, apple_price, "apple_price");
        name_node(d, price, "price");
        return price;
    }
    tg_node orange_v = tg_var(g, "orange", 150.0);
    tg_node orange_num = tg_var(g, "orange_num", 3.0);
    tg_node tax = tg_var(g, "tax", 1.1);
    tg_node apple_price = tg_mul(g, apple, apple_num);       /* (1) */
    tg_node orange_price = tg_mul(g, orange_v, orange_num);  /* (2) */
    tg_node all_price = tg_add(g, apple_price, orange_price); /* (3) */
    tg_node price = tg_mul(g, all_price, tax);               /* (4) */
    name_node(d, apple_price, "apple_price");
    name_node(d, orange_price, "orange_price");
    name_node(d, all_price, "all_price");
    name_node(d, price, "price");
    return price;
}

/* Labels for everything the builder did not name. */
static void label_rest(demo *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->label[i][0]) continue;
        tg_node n = tg_node_at(d->g, i);
        const char *name = tg_node_name(d->g, n);
        if (name)
            snprintf(d->label[i], sizeof d->label[0], "%s", name);
        else if (!strcmp(tg_node_op(d->g, n), "const"))
            snprintf(d->label[i], sizeof d->label[0], "%s", num(d, tg_value(d->g, n)));
        else
            snprintf(d->label[i], sizeof d->label[0], "t%zu", i);
    }
}

static bool is_leaf(const demo *d, tg_node n)
{
    tg_node in[2];
    return tg_node_inputs(d->g, n, in) == 0;
}

/* How the op reads, with its inputs: "apple x apple_num". */
static void expr(const demo *d, tg_node n, char *buf, size_t len)
{
    tg_node in[2];
    int k = tg_node_inputs(d->g, n, in);
    const char *op = tg_node_op(d->g, n);
    if (k == 2 && !strcmp(op, "mul"))
        snprintf(buf, len, "%s x %s", d->label[in[0].id], d->label[in[1].id]);
    else if (k == 2 && !strcmp(op, "add"))
        snprintf(buf, len, "%s + %s", d->label[in[0].id], d->label[in[1].id]);
    else if (k == 2)
        snprintf(buf, len, "%s(%s, %s)", op, d->label[in[0].id], d->label[in[1].id]);
    else if (k == 1)
        snprintf(buf, len, "%s(%s)", op, d->label[in[0].id]);
    else
        snprintf(buf, len, "%s", op);
}

/* The same with the input values in place of the names: "100 x 2". */
static void expr_values(demo *d, tg_node n, char *buf, size_t len)
{
    tg_node in[2];
    int k = tg_node_inputs(d->g, n, in);
    const char *op = tg_node_op(d->g, n);
    if (k == 2 && (!strcmp(op, "mul") || !strcmp(op, "add")))
        snprintf(buf, len, "%s %s %s", num(d, tg_value(d->g, in[0])),
                 !strcmp(op, "mul") ? "x" : "+", num(d, tg_value(d->g, in[1])));
    else if (k == 2)
        snprintf(buf, len, "%s(%s, %s)", op, num(d, tg_value(d->g, in[0])),
                 num(d, tg_value(d->g, in[1])));
    else if (k == 1)
        snprintf(buf, len, "%s(%s)", op, num(d, tg_value(d->g, in[0])));
    else
        buf[0] = '\0';
}

/* ------------------------------------------------------------ the passes */

static bool walk_forward(demo *d)
{
    printf("Forward pass, left to right: each node computed from its inputs.\n\n");
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(d->g, i);
        printf("  step %zu/%zu  ", i + 1, d->n);
        if (is_leaf(d, n)) {
            printf("%s = %s   (%s)\n", d->label[i], num(d, tg_value(d->g, n)),
                   !strcmp(tg_node_op(d->g, n), "var") ? "variable" : "constant");
        } else {
            char e[96], ev[96];
            expr(d, n, e, sizeof e);
            expr_values(d, n, ev, sizeof ev);
            printf("%s = %s = %s = %s\n", d->label[i], e, ev, num(d, tg_value(d->g, n)));
        }
        if (!pause_step(d)) return false;
    }
    printf("\n");
    return true;
}

/* Why an op's local derivatives are what they are, in the book's words. */
static const char *op_rule(const char *op)
{
    if (!strcmp(op, "mul")) return "x multiplies the gradient by the other input (the inputs swap)";
    if (!strcmp(op, "add")) return "+ passes the gradient on unchanged (local derivatives 1)";
    return "the gradient times each local derivative";
}

/* The chain rule, one node at a time in reverse tape order.  Gradients are
 * summed here as the ledger goes, so a node used twice shows its "+="; the
 * engine's own totals (tg_grad) are what the final table prints. */
static bool walk_backward(demo *d)
{
    const char *out = d->label[d->out.id];
    double total[MAX_NODES] = { 0 };
    bool reached[MAX_NODES] = { false };
    size_t steps = d->out.id + 1;

    printf("Backward pass, right to left (reverse tape order): each node multiplies\n"
           "the gradient it received by its local derivatives and passes them on.\n\n");
    total[d->out.id] = 1.0;
    reached[d->out.id] = true;

    for (size_t s = 0; s < steps; s++) {
        size_t i = d->out.id - s;
        tg_node n = tg_node_at(d->g, i);
        const char *me = d->label[i];
        int pad = printf("  step %zu/%zu  ", s + 1, steps);
        if (is_leaf(d, n)) {
            if (!reached[i])
                printf("%s: not used by %s, gradient 0\n", me, out);
            else
                printf("%s is a %s: d %s/d %s = %s, complete\n", me,
                       !strcmp(tg_node_op(d->g, n), "var") ? "variable" : "constant", out, me,
                       num(d, total[i]));
        } else {
            tg_node in[2];
            double part[2];
            char e[96];
            int k = tg_node_inputs(d->g, n, in);
            tg_node_partials(d->g, n, part);
            expr(d, n, e, sizeof e);
            printf("%s = %s", me, e);
            if (i == d->out.id) printf("   (the output: start with d %s/d %s = 1)", out, me);
            printf("\n%*s%s:\n", pad, "", op_rule(tg_node_op(d->g, n)));
            for (int j = 0; j < k; j++) {
                uint32_t a = in[j].id;
                double contrib = total[i] * part[j];
                printf("%*sd %s/d %s %s d %s/d %s (%s) x d %s/d %s (%s) = %s", pad, "",
                       out, d->label[a], reached[a] ? "+=" : "=", out, me, num(d, total[i]),
                       me, d->label[a], num(d, part[j]), num(d, contrib));
                if (reached[a])
                    printf(", total %s", num(d, total[a] + contrib));
                printf("\n");
                total[a] += contrib;
                reached[a] = true;
            }
        }
        if (!pause_step(d)) return false;
    }
    printf("\n");
    return true;
}

static void print_gradients(demo *d)
{
    const char *out = d->label[d->out.id];
    printf("%s = %s.  Gradients, d %s/d variable (tg_grad):\n", out,
           num(d, tg_value(d->g, d->out)), out);
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(d->g, i);
        if (strcmp(tg_node_op(d->g, n), "var")) continue;
        printf("  %-12s %s\n", d->label[i], num(d, tg_grad(d->g, n)));
    }
    printf("\n");
}

/* ------------------------------------------------------------ what if */

/* Print "old -> new" for every node whose value (or gradient) moved, then
 * name the ones that did not. */
static void list_changes(demo *d, const double *old, bool grads)
{
    const char *out = d->label[d->out.id];
    char what[48];
    int changed = 0, same = 0;
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(d->g, i);
        double now = grads ? tg_grad(d->g, n) : tg_value(d->g, n);
        if (now == old[i]) continue;
        if (grads) snprintf(what, sizeof what, "d %s/d %s", out, d->label[i]);
        else snprintf(what, sizeof what, "%s", d->label[i]);
        printf("    %-24s %s -> %s\n", what, num(d, old[i]), num(d, now));
        changed++;
    }
    if (!changed) printf("    none\n");
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(d->g, i);
        double now = grads ? tg_grad(d->g, n) : tg_value(d->g, n);
        if (now != old[i]) continue;
        printf("%s%s", same++ ? ", " : "    (unchanged: ", d->label[i]);
    }
    if (same) printf(")\n");
}

/* Every --set must name a variable; checked before anything is shown. */
static bool check_sets(const demo *d, const options *o)
{
    for (int s = 0; s < o->nsets; s++) {
        tg_node leaf = tg_find(d->g, o->sets[s].name);
        if (!tg_is_none(leaf) && !strcmp(tg_node_op(d->g, leaf), "var")) continue;
        fprintf(stderr, "shopping: --set %s: no variable of that name; the variables are",
                o->sets[s].name);
        for (size_t i = 0; i < d->n; i++)
            if (!strcmp(tg_node_op(d->g, tg_node_at(d->g, i)), "var"))
                fprintf(stderr, " %s", d->label[i]);
        fprintf(stderr, "\n");
        return false;
    }
    return true;
}

static int apply_sets(demo *d, const options *o)
{
    tg_graph *g = d->g;
    double old_val[MAX_NODES], old_grad[MAX_NODES];
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(g, i);
        old_val[i] = tg_value(g, n);
        old_grad[i] = tg_grad(g, n);
    }

    printf("What if");
    for (int s = 0; s < o->nsets; s++) {
        tg_set_value(g, tg_find(g, o->sets[s].name), o->sets[s].value);
        printf("%s %s = %s", s ? "," : "", o->sets[s].name, num(d, o->sets[s].value));
    }
    printf("?\nThe recorded tape is replayed, not re-recorded: tg_set_value on the\n"
           "variables, then tg_forward and tg_backward.\n\n");
    if (tg_graph_status(g) != TG_OK || tg_forward(g) != TG_OK || tg_backward(g, d->out) != TG_OK) {
        fprintf(stderr, "shopping: %s\n", tg_graph_errmsg(g));
        return 1;
    }

    printf("  values that changed:\n");
    list_changes(d, old_val, false);
    printf("  gradients that changed:\n");
    list_changes(d, old_grad, true);
    printf("\n");
    print_gradients(d);
    return 0;
}

/* ------------------------------------------------------------ --check */

/* Every op's local derivatives against central differences of its value,
 * at the values shown last (tg_check_partials).  1 when one disagrees. */
static int print_check(demo *d)
{
    size_t ops = 0;
    for (size_t i = 0; i < d->n; i++) ops += !is_leaf(d, tg_node_at(d->g, i));
    size_t bad = tg_check_partials(d->g, 1e-6, NULL);
    if (bad == 0 && tg_graph_status(d->g) != TG_OK) {
        fprintf(stderr, "shopping: %s\n", tg_graph_errmsg(d->g));
        return 1;
    }
    printf("Derivative check (tg_check_partials, rtol 1e-6): %zu of %zu ops disagree with\n"
           "central differences of their values.\n", bad, ops);
    if (bad) printf("  the first: %s\n", tg_graph_errmsg(d->g));
    printf("\n");
    return bad ? 1 : 0;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
    fputs("Usage: shopping [--orange] [--no-pause] [--exact] [--set NAME=VALUE]... [--check]\n"
          "                [--dot FILE]\n"
          "\n"
          "Steps through the shopping graph of Deep Learning from Scratch, chapter 5:\n"
          "2 apples at 100 with 10% tax, or with --orange 3 oranges at 150 as well.\n"
          "\n"
          "  --orange          the apple + orange graph (715)\n"
          "  --no-pause        print every step without waiting (the default when\n"
          "                    stdin is not a terminal)\n"
          "  --exact           print every digit the doubles hold (220.00000000000003)\n"
          "  --set NAME=VALUE  change a variable and replay the tape; repeatable\n"
          "  --check           compare every op's local derivatives with central\n"
          "                    differences of its value (tg_check_partials)\n"
          "  --dot FILE        write the graph as Graphviz DOT; FILE.png or FILE.svg\n"
          "                    is drawn with Graphviz's dot when it is installed\n"
          "\n"
          "At a pause: Enter shows the next step; c then Enter runs to the end;\n"
          "q then Enter quits.\n", f);
}

static int parse_args(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--orange")) o->orange = true;
        else if (!strcmp(a, "--no-pause")) o->no_pause = true;
        else if (!strcmp(a, "--exact")) o->exact = true;
        else if (!strcmp(a, "--check")) o->check = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        else if (!strcmp(a, "--dot") && i + 1 < argc) o->dot_path = argv[++i];
        else if (!strcmp(a, "--set") && i + 1 < argc) {
            char *spec = argv[++i];
            char *eq = strchr(spec, '=');
            if (!eq || eq == spec || o->nsets == MAX_SETS) {
                fprintf(stderr, "shopping: --set wants NAME=VALUE (at most %d), got '%s'\n", MAX_SETS, spec);
                return -1;
            }
            char *end;
            errno = 0;
            double v = strtod(eq + 1, &end);
            if (end == eq + 1 || *end || errno == ERANGE || !isfinite(v)) {
                fprintf(stderr, "shopping: --set %s: '%s' is not a finite number\n", spec, eq + 1);
                return -1;
            }
            *eq = '\0';
            o->sets[o->nsets].name = spec;
            o->sets[o->nsets].value = v;
            o->nsets++;
        } else {
            fprintf(stderr, "shopping: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o = { 0 };
    if (parse_args(argc, argv, &o) != 0) return 2;

    demo d = { 0 };
    d.exact = o.exact;
    d.pausing = !o.no_pause && isatty(STDIN_FILENO);
    d.g = tg_graph_new();
    if (!d.g) {
        fprintf(stderr, "shopping: out of memory\n");
        return 1;
    }
    d.out = build(&d, o.orange);
    tg_backward(d.g, d.out);
    if (tg_graph_status(d.g) != TG_OK) {
        fprintf(stderr, "shopping: %s\n", tg_graph_errmsg(d.g));
        tg_graph_free(d.g);
        return 1;
    }
    d.n = tg_graph_size(d.g);
    label_rest(&d);
    if (!check_sets(&d, &o)) {
        tg_graph_free(d.g);
        return 2;
    }

    if (o.orange)
        printf("Shopping: 2 apples at 100 and 3 oranges at 150, plus 10%% tax\n"
               "(Deep Learning from Scratch, 5.4.2).  %zu nodes on the tape.\n\n", d.n);
    else
        printf("Shopping: 2 apples at 100, plus 10%% tax (Deep Learning from Scratch, 5.3.3).\n"
               "%zu nodes on the tape.\n\n", d.n);
    if (d.pausing) printf("Press Enter after each step (c and Enter: run to the end; q and Enter: quit).\n\n");

    int rc = 0;
    if (walk_forward(&d) && walk_backward(&d)) {
        print_gradients(&d);
        if (o.nsets) rc = apply_sets(&d, &o);
        if (rc == 0 && o.check) rc = print_check(&d);
        if (rc == 0 && d.rounded)
            printf("(Numbers are shown to 15 significant digits; --exact prints every digit\n"
                   " the doubles hold, e.g. %s is really %s.)\n",
                   num_str(d.bufs[0], sizeof d.bufs[0], d.rounded_example),
                   num_exact(d.bufs[1], sizeof d.bufs[1], d.rounded_example));
    } else {
        printf("\n(quit)\n");
    }
    if (rc == 0 && o.dot_path && write_graph_picture(d.g, o.dot_path, stdout) != 0) rc = 1;
    tg_graph_free(d.g);
    return rc;
}
