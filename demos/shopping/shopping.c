/*
 * The shopping graphs of Deep Learning from Scratch, chapter 5: 2 apples at
 * 100 with 10% tax (220), and with --orange 3 oranges at 150 as well (715).
 *
 * The demo records the graph with tapegrad, lets the engine run its
 * backward sweep, and walks the tape node by node (walk.h), printing each
 * step of the forward and the backward pass the way the book draws them.
 * Every gradient in the ledger is the product of two numbers printed beside
 * it, and the final table is the engine's own tg_grad, so what is shown is
 * what the engine did.  This file holds the command line and the graphs.
 */
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tapegrad/tapegrad.h>

#include "cli.h"
#include "demo_support.h"
#include "outfile.h"
#include "page.h"
#include "walk.h"

#define PROG "shopping"
#define MAX_SETS 16

typedef struct what_if {
    const char *name;
    double value;
} what_if;

typedef struct options {
    bool orange, no_pause, exact, check, hessian;
    const char *dot_path, *html_path;
    what_if sets[MAX_SETS];
    int nsets;
} options;

/* ------------------------------------------------------------ the graphs */

static tg_node build(walk *d, bool orange)
{
    tg_graph *g = d->g;
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node apple_num = tg_var(g, "apple_num", 2.0);
    if (!orange) {
        tg_node tax = tg_var(g, "tax", 1.1);
        tg_node apple_price = tg_mul(g, apple, apple_num);
        tg_node price = tg_mul(g, apple_price, tax);
        walk_name_node(d, apple_price, "apple_price");
        walk_name_node(d, price, "price");
        return price;
    }
    tg_node orange_v = tg_var(g, "orange", 150.0);
    tg_node orange_num = tg_var(g, "orange_num", 3.0);
    tg_node tax = tg_var(g, "tax", 1.1);
    tg_node apple_price = tg_mul(g, apple, apple_num);       /* (1) */
    tg_node orange_price = tg_mul(g, orange_v, orange_num);  /* (2) */
    tg_node all_price = tg_add(g, apple_price, orange_price); /* (3) */
    tg_node price = tg_mul(g, all_price, tax);               /* (4) */
    walk_name_node(d, apple_price, "apple_price");
    walk_name_node(d, orange_price, "orange_price");
    walk_name_node(d, all_price, "all_price");
    walk_name_node(d, price, "price");
    return price;
}

/* ------------------------------------------------------------ what if */

/* Print "old -> new" for every node whose value (or gradient) moved, then
 * name the ones that did not. */
static void list_changes(walk *d, const double *old, bool grads)
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
static bool check_sets(const walk *d, const options *o)
{
    for (int s = 0; s < o->nsets; s++) {
        tg_node leaf = tg_find(d->g, o->sets[s].name);
        if (!tg_is_none(leaf) && !strcmp(tg_node_op(d->g, leaf), "var")) continue;
        fprintf(stderr, PROG ": --set %s: no variable of that name; the variables are",
                o->sets[s].name);
        for (size_t i = 0; i < d->n; i++)
            if (!strcmp(tg_node_op(d->g, tg_node_at(d->g, i)), "var"))
                fprintf(stderr, " %s", d->label[i]);
        fprintf(stderr, "\n");
        return false;
    }
    return true;
}

static int apply_sets(walk *d, const options *o)
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
        fprintf(stderr, PROG ": %s\n", tg_graph_errmsg(g));
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
static int print_check(walk *d)
{
    size_t ops = 0;
    for (size_t i = 0; i < d->n; i++) ops += !walk_is_leaf(d, tg_node_at(d->g, i));
    size_t bad = tg_check_partials(d->g, 1e-6, NULL);
    if (bad == 0 && tg_graph_status(d->g) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", tg_graph_errmsg(d->g));
        return 1;
    }
    printf("Derivative check (tg_check_partials, rtol 1e-6): %zu of %zu ops disagree with\n"
           "central differences of their values.\n", bad, ops);
    if (bad) printf("  the first: %s\n", tg_graph_errmsg(d->g));
    printf("\n");
    return bad ? 1 : 0;
}

/* ------------------------------------------------------------ --hessian */

/* The second derivatives of the output by every pair of variables
 * (tg_hessian), with what each says: a non-zero d2 out/dx dy is how much
 * d out/dy moves when x goes up by 1; a zero says the pair does not
 * interact. */
static int print_hessian(walk *d)
{
    tg_graph *g = d->g;
    tg_node vars[MAX_NODES] = { TG_NONE };
    size_t nv = 0;
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(tg_node_op(g, tg_node_at(g, i)), "var")) vars[nv++] = tg_node_at(g, i);
    double h[MAX_NODES * MAX_NODES];
    if (tg_hessian(g, d->out, nv, vars, h) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", tg_graph_errmsg(g));
        return 1;
    }
    const char *out = d->label[d->out.id];
    printf("Second derivatives (tg_hessian): how each gradient moves when a variable\n"
           "moves.  Symmetric, so each pair is shown once.\n");
    char what[96];
    for (size_t i = 0; i < nv; i++)
        for (size_t j = i; j < nv; j++) {
            const char *a = d->label[vars[i].id], *b = d->label[vars[j].id];
            double v = h[i * nv + j];
            if (v == 0) continue;
            if (i == j) snprintf(what, sizeof what, "d2 %s / d %s^2", out, a);
            else snprintf(what, sizeof what, "d2 %s / d %s d %s", out, a, b);
            printf("  %s = %s: %s + 1 moves d %s/d %s by %s\n", what, walk_num(d, v), a, out, b,
                   walk_num(d, v));
        }
    printf("  0 for the other pairs, which do not interact: the slope in one does not\n"
           "  depend on the other (%s is linear in each variable alone):\n   ", out);
    int col = 3;
    for (size_t i = 0; i < nv; i++)
        for (size_t j = i; j < nv; j++) {
            if (h[i * nv + j] != 0) continue;
            int w = (int)(strlen(d->label[vars[i].id]) + (i == j ? 3 : strlen(d->label[vars[j].id]) + 5));
            if (col + w > 78) {
                printf("\n   ");
                col = 3;
            }
            if (i == j) printf(" %s^2", d->label[vars[i].id]);
            else printf(" (%s, %s)", d->label[vars[i].id], d->label[vars[j].id]);
            col += w;
        }
    printf("\n\n");
    return 0;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
    fputs("Usage: shopping [--orange] [--no-pause] [--exact] [--set NAME=VALUE]... [--check]\n"
          "                [--hessian] [--dot FILE] [--html FILE] [--help] [--version]\n"
          "\n"
          "Steps through the shopping graph of Deep Learning from Scratch, chapter 5:\n"
          "2 apples at 100 with 10% tax, or with --orange 3 oranges at 150 as well.\n"
          "An option's value follows it as --dot FILE or --dot=FILE.\n"
          "\n"
          "  --orange          the apple + orange graph (715)\n"
          "  --no-pause        print every step without waiting (the default when\n"
          "                    stdin is not a terminal)\n"
          "  --exact           print every digit the doubles hold (220.00000000000003)\n"
          "  --set NAME=VALUE  change a variable and replay the tape; repeatable, once\n"
          "                    a variable\n"
          "  --check           compare every op's local derivatives with central\n"
          "                    differences of its value (tg_check_partials)\n"
          "  --hessian         the second derivatives of the price by every pair of\n"
          "                    variables (tg_hessian), and what they mean\n"
          "  --dot FILE        write the graph as Graphviz DOT; FILE.png, FILE.svg or\n"
          "                    FILE.pdf is drawn with Graphviz's dot when it is installed\n"
          "  --html FILE       one self-contained page (open it in a browser) that steps\n"
          "                    through the graph: values left to right, then gradients\n"
          "  --help            this text\n"
          "  --version         the version of tapegrad\n"
          "\n"
          "At a pause: Enter shows the next step; c then Enter runs to the end;\n"
          "q then Enter quits.\n", f);
}

static bool parse_set(char *spec, options *o)
{
    char *eq = strchr(spec, '=');
    if (!eq || eq == spec || o->nsets == MAX_SETS) {
        fprintf(stderr, PROG ": --set wants NAME=VALUE (at most %d), got '%s'\n", MAX_SETS, spec);
        return false;
    }
    *eq = '\0';
    double v;
    char opt[64];
    snprintf(opt, sizeof opt, "--set %.50s", spec);
    if (!cli_double(PROG, opt, eq + 1, &v)) return false;
    for (int s = 0; s < o->nsets; s++)
        if (!strcmp(o->sets[s].name, spec)) {
            fprintf(stderr, PROG ": --set %s given twice\n", spec);
            return false;
        }
    o->sets[o->nsets].name = spec;
    o->sets[o->nsets].value = v;
    o->nsets++;
    return true;
}

/* 0 to run, 1 when done (--help, --version), -1 on a bad command line. */
static int parse_args(int argc, char **argv, options *o)
{
    enum { ORANGE = 256, NO_PAUSE, EXACT, CHECK, HESSIAN, DOT, HTML, SET, VERSION };
    static const struct option longopts[] = {
        { "orange", no_argument, NULL, ORANGE },     { "no-pause", no_argument, NULL, NO_PAUSE },
        { "exact", no_argument, NULL, EXACT },       { "check", no_argument, NULL, CHECK },
        { "hessian", no_argument, NULL, HESSIAN },    { "html", required_argument, NULL, HTML },
        { "dot", required_argument, NULL, DOT },     { "set", required_argument, NULL, SET },
        { "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, VERSION },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case ORANGE: o->orange = true; break;
        case NO_PAUSE: o->no_pause = true; break;
        case EXACT: o->exact = true; break;
        case CHECK: o->check = true; break;
        case HESSIAN: o->hessian = true; break;
        case DOT:
            if (!cli_path(PROG, "--dot", optarg)) return -1;
            o->dot_path = optarg;
            break;
        case HTML:
            if (!cli_path(PROG, "--html", optarg)) return -1;
            o->html_path = optarg;
            break;
        case SET:
            if (!parse_set(optarg, o)) return -1;
            break;
        case 'h': usage(stdout); return 1;
        case VERSION: cli_version(PROG); return 1;
        default: cli_bad_option(PROG, argv, c); return -1;
        }
    }
    return cli_no_operands(PROG, argc, argv) ? 0 : -1;
}

int main(int argc, char **argv)
{
    options o = { 0 };
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0) return parsed > 0 ? 0 : CLI_USAGE;

    picture pic = { 0 };
    outfile html = { 0 };
    if (o.dot_path && !picture_open(&pic, PROG, o.dot_path)) return 1;
    if (o.html_path && !outfile_open(&html, PROG, o.html_path)) {
        picture_discard(&pic);
        return 1;
    }

    static char labels[MAX_NODES][WALK_LABEL];
    walk d = { .label = labels, .label_cap = MAX_NODES };
    d.exact = o.exact;
    d.pausing = !o.no_pause && isatty(STDIN_FILENO);
    d.erase_prompt = isatty(STDOUT_FILENO);
    d.g = tg_graph_new();
    if (!d.g) {
        fprintf(stderr, PROG ": out of memory\n");
        picture_discard(&pic);
        outfile_discard(&html);
        return 1;
    }
    d.out = build(&d, o.orange);
    tg_backward(d.g, d.out);
    int rc = 0;
    if (tg_graph_status(d.g) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", tg_graph_errmsg(d.g));
        rc = 1;
        goto done;
    }
    d.n = tg_graph_size(d.g);
    walk_label_rest(&d);
    if (!check_sets(&d, &o)) {
        rc = CLI_USAGE;
        goto done;
    }

    if (o.orange)
        printf("Shopping: 2 apples at 100 and 3 oranges at 150, plus 10%% tax\n"
               "(Deep Learning from Scratch, 5.4.2).  %zu nodes on the tape.\n\n", d.n);
    else
        printf("Shopping: 2 apples at 100, plus 10%% tax (Deep Learning from Scratch, 5.3.3).\n"
               "%zu nodes on the tape.\n\n", d.n);
    if (d.pausing) printf("Press Enter after each step (c and Enter: run to the end; q and Enter: quit).\n\n");

    if (walk_forward(&d) && walk_backward(&d)) {
        walk_gradients(&d);
        if (o.nsets) rc = apply_sets(&d, &o);
        if (rc == 0 && o.check) rc = print_check(&d);
        if (rc == 0 && o.hessian) rc = print_hessian(&d);
        if (rc == 0 && d.rounded)
            printf("(Numbers are shown to 15 significant digits; --exact prints every digit\n"
                   " the doubles hold, e.g. %s is really %s.)\n",
                   num_str(d.bufs[0], sizeof d.bufs[0], d.rounded_example),
                   num_exact(d.bufs[1], sizeof d.bufs[1], d.rounded_example));
    } else {
        printf("\n(quit)\n");
    }
    if (rc == 0 && o.dot_path && picture_write(&pic, PROG, d.g, stdout) != 0) rc = 1;
    if (rc == 0 && o.html_path) {
        /* the page steps through the recorded point, whatever --set changed */
        if (page_write(d.g, d.out, d.label[d.out.id], o.exact, &html, PROG) != 0) rc = 1;
        else printf("Wrote %s: open it in a browser to step through the graph.\n", o.html_path);
    }
done:
    picture_discard(&pic);
    outfile_discard(&html);
    tg_graph_free(d.g);
    return rc;
}
