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
#include "walk.h"

#define MAX_NODES 32
#define MAX_SETS 16

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

/* The walk (walk.h) with the demo's labels: the variable's own name, a
 * name the demo gives an intermediate node (apple_price), or a constant's
 * value.  tapegrad names only variables; the rest is the demo's. */
typedef walk demo;
static char labels[MAX_NODES][WALK_LABEL];

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
        printf("    %-24s %s -> %s\n", what, walk_num(d, old[i]), walk_num(d, now));
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
        printf("%s %s = %s", s ? "," : "", o->sets[s].name, walk_num(d, o->sets[s].value));
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
    walk_gradients(d);
    return 0;
}

/* ------------------------------------------------------------ --check */

/* Every op's local derivatives against central differences of its value,
 * at the values shown last (tg_check_partials).  1 when one disagrees. */
static int print_check(demo *d)
{
    size_t ops = 0;
    for (size_t i = 0; i < d->n; i++) ops += !walk_is_leaf(d, tg_node_at(d->g, i));
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

    demo d = { .label = labels };
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
    walk_label_rest(&d);
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
        walk_gradients(&d);
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
