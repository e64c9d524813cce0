/*
 * tapegrad: type an expression, get its value, its gradient and, on
 * request, its walk, its graph and a check of its derivatives.
 *
 *     tapegrad 'price = (apple*apple_num + orange*orange_num) * tax' \
 *              apple=100 apple_num=2 orange=150 orange_num=3 tax=1.1
 *
 * The expression is recorded by tg_parse (tapegrad/expr.h); NAME=VALUE
 * arguments are its variables, recorded first.  Without an expression,
 * at a terminal, it reads statements and commands line by line (repl.c).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tapegrad/expr.h>

#include "demo_support.h"
#include "repl.h"
#include "session.h"

enum { MAX_LIST = 64 };

typedef struct options {
    bool step, check, json, exact, hessian, jacobian;
    const char *outputs[MAX_LIST];
    int noutputs;
    char *jvp[MAX_LIST];   /* NAME=VALUE: the direction, 0 where not given */
    int njvp;
    const char *dot, *html, *at;
    const char *expr;
    char *assign[MAX_LIST];
    int nassign;
} options;

static void usage(FILE *f)
{
    fputs("Usage: tapegrad [OPTION]... EXPRESSION [NAME=VALUE]...\n"
          "       tapegrad                 (at a terminal: statements and commands, line by line)\n"
          "\n"
          "Records EXPRESSION on a tape, runs the backward pass and prints its value and\n"
          "its gradient with respect to every variable.  NAME=VALUE gives a variable;\n"
          "the expression may also define them (\"x = 3; y = x^2 * sin(x)\").  Grammar:\n"
          "numbers, names, + - * / ^ (right-associative, tighter than unary minus),\n"
          "parentheses, calls such as exp(x), atan2(y, x), sigmoid(x), max(a, b),\n"
          "statements \"name = expr\" separated by ';' or newlines.\n"
          "\n"
          "  --step           walk the graph forward, then backward with the chain-rule\n"
          "                   ledger, as the shopping demo does\n"
          "  --check          compare the gradient with central differences of the whole\n"
          "                   expression, and every node's local derivatives with\n"
          "                   tg_check_partials; exit 1 when they disagree\n"
          "  --dot FILE       write the graph: FILE.dot as DOT text, FILE.svg or FILE.png\n"
          "                   drawn by Graphviz\n"
          "  --html FILE      one self-contained page that steps through the graph\n"
          "  --hessian        the Hessian with respect to every variable (tg_hessian)\n"
          "  --jacobian       the Jacobian of the outputs (tg_jacobian)\n"
          "  --output NAME    an output for --jacobian and --jvp: a statement's name;\n"
          "                   repeatable (default: the expression's own output)\n"
          "  --jvp NAME=VALUE a component of the direction for the directional derivative\n"
          "                   of the outputs (tg_jvp); repeatable, 0 where not given\n"
          "  --json           print one JSON object: \"value\", \"gradient\", and\n"
          "                   \"hessian\", \"jacobian\", \"jvp\" when asked for\n"
          "  --at -           read points as CSV from standard input (a header of variable\n"
          "                   names, then values) and print one line per point, replaying\n"
          "                   the recorded tape; points across a recorded branch are marked\n"
          "  --exact          print every digit the doubles hold (2.2000000000000002)\n"
          "  -h, --help       this text\n"
          "  --version        the version\n"
          "\n"
          "An expression that begins with '-' comes after --: tapegrad -- '-x^2' x=3\n"
          "Exit status: 0 done, 1 an error or a failed --check, 2 a usage error.\n", f);
}

/* A NAME=VALUE argument: 1 when it is one (and valid), 0 when it is not of
 * that form, -1 when it is but malformed (said on stderr). */
static int assignment(const char *arg, char *name, size_t len, double *v)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return 0;
    for (const char *p = arg; p < eq; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
              (p > arg && *p >= '0' && *p <= '9')))
            return 0;
    if ((size_t)(eq - arg) >= len) {
        fprintf(stderr, "tapegrad: %s: the name is too long\n", arg);
        return -1;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    char *end;
    errno = 0;
    *v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || errno == ERANGE) {
        fprintf(stderr, "tapegrad: %s: '%s' is not a number\n", arg, eq + 1);
        return -1;
    }
    return 1;
}

static int parse_args(int argc, char **argv, options *o)
{
    enum { O_STEP = 256, O_CHECK, O_JSON, O_EXACT, O_DOT, O_HTML, O_AT, O_VERSION, O_HESSIAN, O_JACOBIAN,
           O_OUTPUT, O_JVP };
    static const struct option longs[] = {
        { "step", no_argument, NULL, O_STEP },     { "check", no_argument, NULL, O_CHECK },
        { "json", no_argument, NULL, O_JSON },     { "exact", no_argument, NULL, O_EXACT },
        { "dot", required_argument, NULL, O_DOT }, { "html", required_argument, NULL, O_HTML },
        { "at", required_argument, NULL, O_AT },   { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, O_VERSION }, { "hessian", no_argument, NULL, O_HESSIAN },
        { "jacobian", no_argument, NULL, O_JACOBIAN }, { "output", required_argument, NULL, O_OUTPUT },
        { "jvp", required_argument, NULL, O_JVP }, { NULL, 0, NULL, 0 },
    };
    int c;
    opterr = 0;
    /* options may follow the expression; one that begins with '-' comes after "--" */
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case O_STEP: o->step = true; break;
        case O_CHECK: o->check = true; break;
        case O_JSON: o->json = true; break;
        case O_EXACT: o->exact = true; break;
        case O_DOT: o->dot = optarg; break;
        case O_HTML: o->html = optarg; break;
        case O_AT:
            if (strcmp(optarg, "-")) {
                fprintf(stderr, "tapegrad: --at takes '-' (standard input), not '%s'\n", optarg);
                return -1;
            }
            o->at = optarg;
            break;
        case O_HESSIAN: o->hessian = true; break;
        case O_JACOBIAN: o->jacobian = true; break;
        case O_OUTPUT:
            if (o->noutputs == MAX_LIST) {
                fprintf(stderr, "tapegrad: at most %d --output\n", MAX_LIST);
                return -1;
            }
            o->outputs[o->noutputs++] = optarg;
            break;
        case O_JVP: {
            char name[128];
            double v;
            if (assignment(optarg, name, sizeof name, &v) <= 0 || o->njvp == MAX_LIST) {
                fprintf(stderr, "tapegrad: --jvp wants NAME=VALUE (at most %d), got '%s'\n", MAX_LIST, optarg);
                return -1;
            }
            o->jvp[o->njvp++] = optarg;
            break;
        }
        case 'h': usage(stdout); exit(0);
        case O_VERSION: printf("tapegrad %s\n", tg_version()); exit(0);
        default:
            if (optopt) fprintf(stderr, "tapegrad: option '%s' needs a value\n", argv[optind - 1]);
            else fprintf(stderr, "tapegrad: unknown option '%s'\n", argv[optind - 1]);
            fprintf(stderr, "Try 'tapegrad --help'.\n");
            return -1;
        }
    }
    for (int i = optind; i < argc; i++) {
        char name[128];
        double v;
        int a = assignment(argv[i], name, sizeof name, &v);
        if (a < 0) return -1;
        if (a == 0 && !o->expr) o->expr = argv[i];
        else if (a == 0) {
            fprintf(stderr, "tapegrad: '%s': one expression only (quote it), then NAME=VALUE\n", argv[i]);
            return -1;
        } else if (o->nassign == MAX_LIST) {
            fprintf(stderr, "tapegrad: at most %d variables on the command line\n", MAX_LIST);
            return -1;
        } else {
            o->assign[o->nassign++] = argv[i];
        }
    }
    return 0;
}

/* The whole of standard input, for an expression piped in. */
static char *read_all(FILE *in)
{
    size_t len = 0, cap = 4096;
    char *s = malloc(cap);
    while (s) {
        len += fread(s + len, 1, cap - len - 1, in);
        if (len < cap - 1) break;
        char *t = realloc(s, cap *= 2);
        if (!t) free(s);
        s = t;
    }
    if (s) s[len] = '\0';
    return s;
}

/* Record the variables and the expression.  0, or 1 with the error said. */
static int record(session *s, const options *o, const char *src)
{
    for (int i = 0; i < o->nassign; i++) {
        char name[128];
        double v;
        assignment(o->assign[i], name, sizeof name, &v);
        tg_var(s->g, name, v);
        if (tg_graph_status(s->g) != TG_OK) {
            fprintf(stderr, "tapegrad: %s: %s\n", o->assign[i], tg_graph_errmsg(s->g));
            return 1;
        }
    }
    s->out = tg_parse(s->g, src);
    if (tg_is_none(s->out)) {
        const char *msg = tg_graph_errmsg(s->g);
        fprintf(stderr, "tapegrad: %s\n", msg);
        const char *unknown = strstr(msg, "unknown name '");
        if (unknown)
            fprintf(stderr, "(give each variable a value: NAME=VALUE after the expression, "
                            "or a statement such as \"%.*s = 1;\")\n",
                    (int)strcspn(unknown + 14, "'"), unknown + 14);
        return 1;
    }
    const char *name = tg_node_name(s->g, s->out);
    s->out_name = name ? name : "f";
    if (tg_is_tensor(s->g, s->out)) {
        fprintf(stderr, "tapegrad: the expression's value is a tensor; a scalar is needed\n");
        return 1;
    }
    if (tg_backward(s->g, s->out) != TG_OK) {
        fprintf(stderr, "tapegrad: %s\n", tg_graph_errmsg(s->g));
        return 1;
    }
    return 0;
}

/* The output files, opened before the work so that an unwritable one is
 * found first, and written whole or not at all. */
typedef struct outputs {
    picture dot;
    outfile html;
} outputs;

static bool open_outputs(outputs *out, const options *o)
{
    if (o->dot && !picture_open(&out->dot, "tapegrad", o->dot)) return false;
    if (o->html && !outfile_open(&out->html, "tapegrad", o->html)) {
        picture_discard(&out->dot);
        return false;
    }
    return true;
}

static void discard_outputs(outputs *out)
{
    picture_discard(&out->dot);
    outfile_discard(&out->html);
}

/* The --jvp direction, one entry per variable; NULL when not asked (or
 * on error, said, with *bad set). */
static double *direction(session *s, const options *o, bool *bad)
{
    *bad = false;
    if (o->njvp == 0) return NULL;
    size_t n = session_vars(s, NULL, 0);
    tg_node *vars = malloc((n ? n : 1) * sizeof *vars);
    double *v = calloc(n ? n : 1, sizeof *v);
    if (!vars || !v) goto fail;
    session_vars(s, vars, n);
    for (int k = 0; k < o->njvp; k++) {
        char name[128];
        double x;
        assignment(o->jvp[k], name, sizeof name, &x);
        size_t i = 0;
        while (i < n && strcmp(tg_node_name(s->g, vars[i]), name)) i++;
        if (i == n) {
            fprintf(stderr, "tapegrad: --jvp %s: no variable of that name\n", o->jvp[k]);
            goto fail;
        }
        v[i] = x;
    }
    free(vars);
    return v;
fail:
    free(vars);
    free(v);
    *bad = true;
    return NULL;
}

static int run(session *s, const options *o, outputs *out)
{
    int rc = 0;
    if (o->at) return run_points(s, stdin, stdout);
    derived d = { 0 };
    bool bad;
    double *v = direction(s, o, &bad);
    if (bad || ((o->hessian || o->jacobian || v) &&
                derive(s, &d, o->hessian, o->jacobian, o->outputs, (size_t)o->noutputs, v) != 0)) {
        free(v);
        derived_free(&d);
        return 1;
    }
    free(v);
    if (o->json) print_json(s, &d, stdout);
    else if (o->step) run_step(s, stdout);
    else print_value_and_gradient(s, stdout);
    if (!o->json) print_derived(s, &d, stdout);
    derived_free(&d);
    if (o->check && !o->json) {
        fputc('\n', stdout);
        rc |= run_check(s, stdout);
    }
    if (o->dot && picture_write(&out->dot, "tapegrad", s->g, stderr) != 0) rc = 1;
    if (o->html && write_html(s, &out->html) != 0) rc = 1;
    return rc;
}

int main(int argc, char **argv)
{
    options o = { 0 };
    if (parse_args(argc, argv, &o) != 0) return 2;
    session s = { .g = tg_graph_new(), .exact = o.exact, .out_name = "f" };
    if (!s.g) {
        fprintf(stderr, "tapegrad: out of memory\n");
        return 1;
    }
    int rc;
    char *piped = NULL;
    if (!o.expr && !o.at && isatty(STDIN_FILENO)) {
        rc = repl(&s);
    } else if (!o.expr && o.at) {
        fprintf(stderr, "tapegrad: --at - reads points from standard input: give the expression as an "
                        "argument\n");
        rc = 2;
    } else {
        outputs out = { 0 };
        const char *src = o.expr;
        if (!src) src = piped = read_all(stdin);
        rc = !src ? 1 : !open_outputs(&out, &o) ? 1 : record(&s, &o, src);
        if (rc == 0) rc = run(&s, &o, &out);
        discard_outputs(&out);
    }
    free(piped);
    tg_graph_free(s.g);
    return rc;
}
