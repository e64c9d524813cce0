/*
 * Sigmoid three ways: decomposed into the book's four nodes (x*-1 -> exp ->
 * +1 -> 1/x), as tapegrad's one fused node, and the textbook's fused rule
 * y(1-y) evaluated literally.  A table compares their derivatives, --explain
 * walks the decomposed backward step by step, and a search finds where
 * each form stops being right in double precision.
 */
#include <float.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "demo_support.h"
#include "json.h"
#include "rig.h"
#include "search.h"

#define PROG "sigmoid"
#define SCAN_LIMIT 800.0   /* past |x| = 745 every slope is below the doubles */
#define SCAN_STEP 0.125

typedef struct options {
    double from, to;
    size_t steps;
    bool table_set;      /* --from, --to or --steps given */
    bool explain, json;
    double explain_x;
    const char *dot_path;
} options;

/* ------------------------------------------------------------ printing */

/* Every digit the double holds; -0 (an adjoint that received -0) as 0. */
static const char *exact(char *buf, size_t len, double v)
{
    return num_exact(buf, len, v == 0 ? 0.0 : v);
}

/* ulps as a short column entry. */
static const char *ulps_str(char *buf, size_t len, long long u)
{
    if (u < 0) snprintf(buf, len, "NaN");
    else if (u < 1000000) snprintf(buf, len, "%lld", u);
    else snprintf(buf, len, "%.1e", (double)u);
    return buf;
}

/* A table entry in format, with NaN and the infinities spelled as
 * everywhere else in the demo (printf's is "-nan" for some NaNs). */
static const char *cell(char *buf, size_t len, const char *format, double v)
{
    if (!isfinite(v)) return num_str(buf, len, v);
    snprintf(buf, len, format, v);
    return buf;
}

static void print_table(rig *r, const options *o)
{
    printf("Sigmoid y = 1/(1+exp(-x)) and its slope dy/dx, three ways:\n"
           "  decomposed  the book's graph x*-1 -> exp -> +1 -> 1/x (tg_sigmoid_decomposed),\n"
           "              differentiated node by node by the backward sweep\n"
           "  fused       tapegrad's one sigmoid node (tg_sigmoid)\n"
           "  y(1-y)      the textbook rule, evaluated literally from y\n"
           "ulps: distance from the reference slope (long double e/(1+e)^2, e = exp(-|x|))\n"
           "in units of the last place of a double; 0 means correctly rounded.\n\n");
    printf("%8s %13s %27s %-13s %23s\n", "", "", "dy/dx", "", "ulps from reference");
    printf("%8s %13s %13s %13s %13s %7s %7s %7s\n", "x", "y", "decomposed", "fused", "y(1-y)",
           "dec", "fused", "y(1-y)");
    for (long i = 0; i < (long)o->steps; i++) {
        double x = grid_x(o->from, o->to, (long)o->steps, i);
        sample s = rig_eval(r, x);
        char u[NFORMS][16];
        for (int f = 0; f < NFORMS; f++) ulps_str(u[f], sizeof u[f], ulps_apart(s.d[f], s.ref));
        char c[5][16];
        printf("%8s %13s %13s %13s %13s %7s %7s %7s\n", cell(c[0], sizeof c[0], "%.4g", x),
               cell(c[1], sizeof c[1], "%.6e", s.y), cell(c[2], sizeof c[2], "%.6e", s.d[DECOMPOSED]),
               cell(c[3], sizeof c[3], "%.6e", s.d[FUSED]), cell(c[4], sizeof c[4], "%.6e", s.d[TEXTBOOK]),
               u[DECOMPOSED], u[FUSED], u[TEXTBOOK]);
    }
    printf("\nNodes on the tape: decomposed %zu (%d ops and %zu constants, in a \"Sigmoid layer\" group),\n"
           "fused %zu.\n\n", r->decomposed_nodes, r->nops, r->decomposed_nodes - (size_t)r->nops,
           r->fused_nodes);
}

/* ------------------------------------------------------------ --explain */

/* The book's name for an op. */
static const char *op_symbol(const char *op)
{
    if (!strcmp(op, "recip")) return "1/x";
    if (!strcmp(op, "mul")) return "*";
    if (!strcmp(op, "add")) return "+";
    return op;
}

/* "y" stays y; anything longer is bracketed so "dL/d" + it reads. */
static const char *wrt(char *buf, size_t len, const char *label)
{
    if (strlen(label) == 1) snprintf(buf, len, "%s", label);
    else snprintf(buf, len, "(%.32s)", label);
    return buf;
}

static int explain(rig *r, double x)
{
    char b[6][40];
    sample s = rig_eval(r, x);
    ledger_step st[MAX_DECOMPOSED];
    int n = rig_ledger(r, st);

    printf("Sigmoid at x = %s, decomposed as in the book's figure (5.5.2).\n\nForward:\n",
           exact(b[0], sizeof b[0], x));
    for (int i = 0; i < r->nops; i++) {
        tg_node in[2];
        int k = tg_node_inputs(r->g, r->ops[i], in);
        const char *op = tg_node_op(r->g, r->ops[i]);
        char how[64];
        int c = k == 2 && !strcmp(tg_node_op(r->g, in[0]), "const") ? 1 : 0;
        const char *a = i == 0 ? "x" : r->label[i - 1];
        if (!strcmp(op, "mul")) snprintf(how, sizeof how, "%s * %g", a, tg_value(r->g, in[1 - c]));
        else if (!strcmp(op, "add")) snprintf(how, sizeof how, "%s + %g", a, tg_value(r->g, in[1 - c]));
        else if (!strcmp(op, "recip")) snprintf(how, sizeof how, "1 / %s", wrt(b[2], sizeof b[2], a));
        else snprintf(how, sizeof how, "%s(%s)", op, a);
        printf("  %-10s = %-18s = %s\n", r->label[i], how,
               exact(b[1], sizeof b[1], tg_value(r->g, r->ops[i])));
    }

    printf("\nBackward, right to left, with L = y so dL/dy = 1.  Each node multiplies\n"
           "the gradient it receives by its local derivative:\n");
    for (int i = 0; i < n; i++) {
        const ledger_step *l = &st[i];
        char me[40], to[40];
        wrt(me, sizeof me, r->label[l->op]);
        wrt(to, sizeof to, l->input_label);
        printf("  step %d  %s: local derivative d%s/d%s = %s\n", i + 1,
               op_symbol(tg_node_op(r->g, r->ops[l->op])), me, to, l->local_rule);
        printf("          dL/d%s = dL/d%s (%s) * %s (%s)\n          %*s= %s\n", to, me,
               exact(b[0], sizeof b[0], l->upstream), l->local_rule,
               exact(b[1], sizeof b[1], l->local), (int)strlen(to) + 4, "",
               exact(b[2], sizeof b[2], l->sent));
    }
    /* The y of the listing above, the decomposed graph's: where exp(-x)
     * overflows it is 0 while the fused node's is still positive. */
    double y = tg_value(r->g, r->yd), dx = n ? st[n - 1].sent : NAN;
    printf("\nCollected, the chain is dL/dy * y^2 * exp(-x), and y * exp(-x) = 1 - y, so\n"
           "  dL/dx = dL/dy * y(1-y) = 1 * %s * %s = %s\n",
           exact(b[0], sizeof b[0], y), exact(b[1], sizeof b[1], 1.0 - y),
           exact(b[2], sizeof b[2], y * (1.0 - y)));
    if (y != s.y)
        printf("  (with the y above; the fused node's y is %s, and y(1-y) from it is %s)\n",
               exact(b[0], sizeof b[0], s.y), exact(b[1], sizeof b[1], s.y * (1.0 - s.y)));
    printf("  the sweep through the four nodes gave  %s\n", exact(b[3], sizeof b[3], dx));
    printf("  tapegrad's fused sigmoid gives         %s\n", exact(b[4], sizeof b[4], s.d[FUSED]));
    printf("  reference (long double)                %.21Lg\n", s.ref);
    return 0;
}

/* ------------------------------------------------------------ the search */

/* A paragraph assembled from conditional sentences, printed wrapped. */
typedef struct para {
    char text[2048];
    size_t len;
} para;

static void add(para *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void add(para *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->text + p->len, sizeof p->text - p->len, fmt, ap);
    va_end(ap);
    if (n > 0) p->len = p->len + (size_t)n < sizeof p->text ? p->len + (size_t)n : sizeof p->text - 1;
}

/* Print at most `width` columns a line, each line indented by two. */
static void print_para(para *p, int width)
{
    const char *t = p->text;
    while (*t) {
        while (*t == ' ') t++;
        const char *line = t, *brk = NULL;
        while (*t && t - line < width) {
            if (*t == ' ') brk = t;
            t++;
        }
        if (*t && brk && *t != ' ') t = brk;
        printf("  %.*s\n", (int)(t - line), line);
    }
    printf("\n");
    p->len = 0;
    p->text[0] = '\0';
}

static void print_breakdown(const search_result *sr, enum form f)
{
    static const char *const what[NLEVELS] = {
        [LOSES_DIGITS] = "loses digits (error above 1e-8)",
        [GIVES_ZERO] = "returns 0 (the true slope is not)",
        [NOT_A_NUMBER] = "returns NaN or inf",
    };
    char b[3][40];
    printf("  %s\n", form_name[f]);
    for (int side = 0; side < NSIDES; side++) {
        int shown = 0;
        for (int l = 0; l < NLEVELS; l++) {
            const breakdown *bd = &sr->b[f][side][l];
            if (!bd->found) continue;
            printf("    %-34s from x = %s\n", what[l], exact(b[0], sizeof b[0], bd->first_bad));
            double e = rel_error(bd->at.d[f], bd->at.ref);
            printf("      it gives %s where the reference is %.6Lg (error %s)\n",
                   exact(b[1], sizeof b[1], bd->at.d[f]), bd->at.ref,
                   isnan(e) ? "NaN" : (snprintf(b[2], sizeof b[2], "%.2g", e), b[2]));
            shown++;
        }
        if (!shown)
            printf("    x %s 0: accurate all the way to %s%g (largest error %.2g at x = %s)\n",
                   side == NEGATIVE ? "<" : ">", side == NEGATIVE ? "-" : "", sr->limit,
                   sr->worst_err[f][side], exact(b[2], sizeof b[2], sr->worst_err_at[f][side]));
    }
}

/* At a failure of the decomposed form, the backward step that caused it. */
static int culprit_step(rig *r, enum level l, double x, ledger_step st[MAX_DECOMPOSED])
{
    rig_eval(r, x);
    int n = rig_ledger(r, st);
    for (int i = 0; i < n; i++) {
        const ledger_step *s = &st[i];
        bool hit = false;
        switch (l) {
        case NOT_A_NUMBER: hit = !isfinite(s->sent) && isfinite(s->upstream); break;
        case GIVES_ZERO:   hit = s->sent == 0 && s->upstream != 0; break;
        case LOSES_DIGITS: hit = fabs(s->sent) < DBL_MIN && s->sent != 0; break;
        case NLEVELS:      break;
        }
        if (hit) return i;
    }
    return -1;
}

static void print_why_decomposed(rig *r, const search_result *sr)
{
    static const char *const why[NLEVELS] = {
        [LOSES_DIGITS] = "subnormal: fewer than 53 bits left",
        [GIVES_ZERO] = "underflowed to 0",
        [NOT_A_NUMBER] = "not a number",
    };
    char b[4][40];
    ledger_step st[MAX_DECOMPOSED];
    printf("  Why the decomposed graph fails, read off its backward ledger (dL/dy = 1):\n");
    for (int side = 0; side < NSIDES; side++)
        for (int l = 0; l < NLEVELS; l++) {
            const breakdown *bd = &sr->b[DECOMPOSED][side][l];
            if (!bd->found) continue;
            int i = culprit_step(r, (enum level)l, bd->first_bad, st);
            if (i < 0) continue;
            printf("    x = %s: the backward step of %s (node %s) sends\n"
                   "      %s * %s = %s, %s\n",
                   exact(b[0], sizeof b[0], bd->first_bad), op_symbol(tg_node_op(r->g, r->ops[st[i].op])),
                   r->label[st[i].op],
                   exact(b[1], sizeof b[1], st[i].upstream), exact(b[2], sizeof b[2], st[i].local),
                   exact(b[3], sizeof b[3], st[i].sent), why[l]);
        }
    printf("\n");
}

static bool never_fails(const search_result *sr, enum form f)
{
    for (int side = 0; side < NSIDES; side++)
        for (int l = 0; l < NLEVELS; l++)
            if (sr->b[f][side][l].found) return false;
    return true;
}

/* What the search shows, in plain words, from what it found. */
static void print_conclusion(const search_result *sr)
{
    const breakdown *td = &sr->b[TEXTBOOK][POSITIVE][LOSES_DIGITS];
    const breakdown *tz = &sr->b[TEXTBOOK][POSITIVE][GIVES_ZERO];
    const breakdown *dd = &sr->b[DECOMPOSED][NEGATIVE][LOSES_DIGITS];
    const breakdown *dz = &sr->b[DECOMPOSED][NEGATIVE][GIVES_ZERO];
    const breakdown *dn = &sr->b[DECOMPOSED][NEGATIVE][NOT_A_NUMBER];
    para p = { .len = 0 };

    printf("What this shows:\n");
    add(&p, "For everyday inputs, |x| <= %g, the decomposed graph is at most %lld ulps from the "
            "reference and the fused node at most %lld.", EVERYDAY,
        sr->worst_ulps_everyday[DECOMPOSED], sr->worst_ulps_everyday[FUSED]);
    add(&p, " The textbook y(1-y) is already off by up to %.1g of its value there: "
            "1 - y cancels as y nears 1, and its error grows with x.",
        sr->worst_err_everyday[TEXTBOOK]);
    print_para(&p, 76);

    if (td->found || tz->found) {
        add(&p, "So y(1-y) is the first to fail, on the saturated side:");
        if (td->found) add(&p, " beyond x = %.4g fewer than half its digits are right", td->first_bad);
        if (td->found && tz->found) add(&p, ", and");
        if (tz->found)
            add(&p, " from x = %.6g y rounds to exactly 1 and it returns 0 while the true slope "
                    "is still %.2Le. A unit trained with that rule stops learning there instead "
                    "of learning slowly", tz->first_bad, tz->at.ref);
        add(&p, ".");
        print_para(&p, 76);
    }
    if (dd->found || dz->found || dn->found) {
        add(&p, "The decomposed graph stays accurate much further, then fails on the other side.");
        if (dd->found || dz->found) {
            add(&p, " The backward of 1/x multiplies by -y^2, which underflows long before the "
                    "slope itself does:");
            if (dd->found) add(&p, " digits are lost from x = %.5g", dd->first_bad);
            if (dd->found && dz->found) add(&p, " and");
            if (dz->found) add(&p, " the gradient is 0 from x = %.5g", dz->first_bad);
            add(&p, ".");
        }
        if (dn->found)
            add(&p, " From x = %.8g exp(-x) overflows to inf, and exp's backward multiplies "
                    "the 0 it receives by inf: NaN, which spreads to every gradient it "
                    "touches.", dn->first_bad);
        print_para(&p, 76);
    }
    if (never_fails(sr, FUSED)) {
        double worst = fmax(sr->worst_err[FUSED][NEGATIVE], sr->worst_err[FUSED][POSITIVE]);
        add(&p, "tapegrad's fused sigmoid computes its slope as e/(1+e)^2 from e = exp(-|x|): "
                "nothing cancels and nothing overflows. It stays accurate over the whole "
                "search, |x| <= %g (largest relative error %.2g), and it is one node "
                "instead of six. Use it; the decomposed graph is for seeing the chain rule.",
            sr->limit, worst);
    } else {
        add(&p, "tapegrad's fused sigmoid fails too (see above): that is a bug in tapegrad.");
    }
    print_para(&p, 76);
}

static void print_search(rig *r, const search_result *sr)
{
    printf("Where each form stops being right, searched, not assumed: a scan outward\n"
           "from 0 in steps of %g up to |x| = %g finds the first failing sample, then\n"
           "bisection on the doubles narrows it to the first failing x.  The error is\n"
           "relative to the long double reference (absolute below the smallest normal\n"
           "double, %.3g).\n\n",
           sr->step, sr->limit, DBL_MIN);
    for (int f = 0; f < NFORMS; f++) print_breakdown(sr, (enum form)f);
    printf("\n");
    print_why_decomposed(r, sr);
    print_conclusion(sr);
}

/* ------------------------------------------------------------ --dot */

/* The book's figure: x through the decomposed sigmoid in its "Sigmoid
 * layer" box, swept backward.  A graph of its own, so nothing else on the
 * rig's tape shows up in the picture. */
static int draw(double x, picture *pic, FILE *note)
{
    tg_graph *g = tg_graph_new();
    tg_node xn = tg_var(g, "x", x);
    tg_group_begin(g, "Sigmoid layer");
    tg_node y = tg_sigmoid_decomposed(g, xn);
    tg_group_end(g);
    tg_backward(g, y);
    int rc = 0;
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", tg_graph_errmsg(g));
        rc = 1;
    } else if (picture_write(pic, PROG, g, note) != 0) {
        rc = 1;
    }
    tg_graph_free(g);
    return rc;
}

/* ------------------------------------------------------------ main */

static void usage(FILE *f)
{
    fputs("Usage: sigmoid [--from A] [--to B] [--steps N] [--json] [--dot FILE]\n"
          "       sigmoid --explain X [--dot FILE]\n"
          "       sigmoid --help | --version\n"
          "\n"
          "Compares sigmoid's derivative decomposed into the book's four nodes, as\n"
          "tapegrad's fused node and as the textbook y(1-y), and searches for where\n"
          "each stops being right in double precision.  An option's value follows\n"
          "it as --from -5 or --from=-5.\n"
          "\n"
          "  --from A --to B --steps N   the table's range (default -10 10 21), N from\n"
          "                              1 to 100000 evenly spaced points\n"
          "  --json                      the table and the search as JSON; numbers that\n"
          "                              are not finite are written as null\n"
          "  --explain X                 walk the decomposed backward at x = X (for\n"
          "                              reading: no table, no JSON form)\n"
          "  --dot FILE                  draw the decomposed graph in its Sigmoid layer\n"
          "                              box, at the --explain x (or 1);\n"
          "                              FILE.png, .svg or .pdf is rendered with Graphviz\n"
          "  --help                      this text\n"
          "  --version                   the version of tapegrad\n", f);
}

/* 0 to run, 1 when done (--help, --version), -1 on a bad command line. */
static int parse_args(int argc, char **argv, options *o)
{
    enum { FROM = 256, TO, STEPS, EXPLAIN, JSON, DOT, VERSION };
    static const struct option longopts[] = {
        { "from", required_argument, NULL, FROM },   { "to", required_argument, NULL, TO },
        { "steps", required_argument, NULL, STEPS }, { "explain", required_argument, NULL, EXPLAIN },
        { "json", no_argument, NULL, JSON },         { "dot", required_argument, NULL, DOT },
        { "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, VERSION },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case FROM: ok = cli_double(PROG, "--from", optarg, &o->from); o->table_set = true; break;
        case TO: ok = cli_double(PROG, "--to", optarg, &o->to); o->table_set = true; break;
        case STEPS: ok = cli_size(PROG, "--steps", optarg, 1, 100000, &o->steps); o->table_set = true; break;
        case EXPLAIN: ok = cli_double(PROG, "--explain", optarg, &o->explain_x); o->explain = true; break;
        case JSON: o->json = true; break;
        case DOT: ok = cli_path(PROG, "--dot", optarg); o->dot_path = optarg; break;
        case 'h': usage(stdout); return 1;
        case VERSION: cli_version(PROG); return 1;
        default: cli_bad_option(PROG, argv, c); return -1;
        }
    }
    if (!ok || !cli_no_operands(PROG, argc, argv)) return -1;
    if (o->explain && o->json) {
        cli_conflict(PROG, "--explain", "--json", "the walk-through is written for reading only");
        return -1;
    }
    if (o->explain && o->table_set) {
        cli_conflict(PROG, "--explain", "--from, --to or --steps", "those set the table, which "
                     "--explain does not print");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    options o = { .from = -10, .to = 10, .steps = 21 };
    int parsed = parse_args(argc, argv, &o);
    if (parsed != 0) return parsed > 0 ? 0 : CLI_USAGE;

    picture pic = { 0 };
    if (o.dot_path && !picture_open(&pic, PROG, o.dot_path)) return 1;
    rig r;
    if (!rig_init(&r)) {
        rig_free(&r);
        picture_discard(&pic);
        return 1;
    }
    int rc = 0;
    if (o.explain) {
        rc = explain(&r, o.explain_x);
    } else {
        search_result sr;
        search_breakdowns(&r, SCAN_LIMIT, SCAN_STEP, &sr);
        if (o.json) {
            print_json(&r, o.from, o.to, (long)o.steps, &sr);
        } else {
            print_table(&r, &o);
            print_search(&r, &sr);
        }
    }
    if (tg_graph_status(r.g) != TG_OK) {
        fprintf(stderr, PROG ": %s\n", tg_graph_errmsg(r.g));
        rc = 1;
    }
    if (rc == 0 && o.dot_path)
        rc = draw(o.explain ? o.explain_x : 1.0, &pic, o.json ? stderr : stdout);
    picture_discard(&pic);
    rig_free(&r);
    return rc;
}
