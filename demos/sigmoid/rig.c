#include "rig.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

const char *const form_name[NFORMS] = {
    [DECOMPOSED] = "decomposed",
    [FUSED] = "fused",
    [TEXTBOOK] = "textbook y(1-y)",
};

static bool is_const(const tg_graph *g, tg_node n)
{
    return !strcmp(tg_node_op(g, n), "const");
}

/* The input that carries x (the other one, if any, is a constant). */
static int chain_input(const tg_graph *g, tg_node n, tg_node in[2])
{
    int k = tg_node_inputs(g, n, in);
    return k == 2 && is_const(g, in[0]) ? 1 : 0;
}

static int op_index(const rig *r, tg_node n)
{
    for (int i = 0; i < r->nops; i++)
        if (r->ops[i].id == n.id) return i;
    return -1;
}

static const char *label_of(const rig *r, tg_node n)
{
    int i = op_index(r, n);
    return i >= 0 ? r->label[i] : "x";
}

/* Labels read off the tape, as the book writes them: a*-1 is "-a", c+a
 * with a constant c is "c+a", the last node is "y". */
static void label_ops(rig *r)
{
    for (int i = 0; i < r->nops; i++) {
        tg_node n = r->ops[i], in[2];
        int k = tg_node_inputs(r->g, n, in);
        int c = chain_input(r->g, n, in);
        const char *a = label_of(r, in[c]);
        const char *op = tg_node_op(r->g, n);
        char *out = r->label[i];
        size_t len = sizeof r->label[i];
        double kval = k == 2 ? tg_value(r->g, in[1 - c]) : 0;
        if (i == r->nops - 1)
            snprintf(out, len, "y");
        else if (!strcmp(op, "mul") && k == 2 && kval == -1)
            snprintf(out, len, "-%s", a);
        else if (!strcmp(op, "mul") && k == 2)
            snprintf(out, len, "%g*%s", kval, a);
        else if (!strcmp(op, "add") && k == 2)
            snprintf(out, len, "%g+%s", kval, a);
        else if (!strcmp(op, "recip"))
            snprintf(out, len, "1/(%s)", a);
        else
            snprintf(out, len, "%s(%s)", op, a);
    }
}

bool rig_init(rig *r)
{
    memset(r, 0, sizeof *r);
    r->g = tg_graph_new();
    if (!r->g) {
        fprintf(stderr, "sigmoid: out of memory\n");
        return false;
    }
    tg_graph *g = r->g;
    r->x = tg_var(g, "x", 0.0);
    /* The fused node comes first: a backward sweep from it then covers
     * only x and itself, and whatever the decomposed nodes hold at an
     * extreme x cannot leak into its gradient. */
    size_t mark = tg_graph_size(g);
    r->yf = tg_sigmoid(g, r->x);
    r->fused_nodes = tg_graph_size(g) - mark;
    mark = tg_graph_size(g);
    tg_group_begin(g, "Sigmoid layer");
    r->yd = tg_sigmoid_decomposed(g, r->x);
    tg_group_end(g);
    r->decomposed_nodes = tg_graph_size(g) - mark;
    for (size_t i = mark; i < tg_graph_size(g) && r->nops < MAX_DECOMPOSED; i++) {
        tg_node n = tg_node_at(g, i);
        if (!is_const(g, n)) r->ops[r->nops++] = n;
    }
    if (tg_graph_status(g) != TG_OK) {
        fprintf(stderr, "sigmoid: %s\n", tg_graph_errmsg(g));
        return false;
    }
    label_ops(r);
    return true;
}

void rig_free(rig *r)
{
    tg_graph_free(r->g);
    r->g = NULL;
}

double grid_x(double from, double to, long steps, long i)
{
    if (steps <= 1 || i == 0) return from;
    if (i == steps - 1) return to;
    /* Weights, not from + (to - from) * t: to - from overflows for
     * endpoints of opposite sign near the largest double. */
    double t = (double)i / (double)(steps - 1);
    return from * (1.0 - t) + to * t;
}

sample rig_eval(rig *r, double x)
{
    sample s = { .x = x };
    tg_set_value(r->g, r->x, x);
    tg_forward(r->g);
    tg_backward(r->g, r->yd);
    s.d[DECOMPOSED] = tg_grad(r->g, r->x);
    tg_backward(r->g, r->yf);
    s.d[FUSED] = tg_grad(r->g, r->x);
    s.y = tg_value(r->g, r->yf);
    s.d[TEXTBOOK] = s.y * (1.0 - s.y);
    s.ref = reference_slope(x);
    return s;
}

long double reference_slope(double x)
{
    long double e = expl(-fabsl((long double)x));
    return e / ((1.0L + e) * (1.0L + e));
}

double rel_error(double got, long double ref)
{
    if (isnan(got)) return NAN;
    long double scale = fabsl(ref) > (long double)DBL_MIN ? fabsl(ref) : (long double)DBL_MIN;
    return (double)(fabsl((long double)got - ref) / scale);
}

/* Doubles mapped to integers in the same order, adjacent doubles to
 * adjacent integers. */
static int64_t ordered(double v)
{
    int64_t k;
    memcpy(&k, &v, sizeof k);
    return k < 0 ? INT64_MIN - k : k;
}

long long ulps_apart(double got, long double ref)
{
    if (isnan(got)) return -1;
    int64_t a = ordered(got), b = ordered((double)ref);
    return (long long)(a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a);
}

int rig_ledger(rig *r, ledger_step steps[MAX_DECOMPOSED])
{
    int n = 0;
    tg_backward(r->g, r->yd);
    for (int i = r->nops - 1; i >= 0; i--) {
        tg_node node = r->ops[i], in[2];
        double d[2];
        int c = chain_input(r->g, node, in);
        tg_node_partials(r->g, node, d);
        ledger_step *s = &steps[n++];
        s->op = i;
        s->input_label = label_of(r, in[c]);
        s->upstream = tg_grad(r->g, node);
        s->local = d[c];
        s->sent = s->upstream * s->local;
        const char *op = tg_node_op(r->g, node);
        if (!strcmp(op, "recip"))
            snprintf(s->local_rule, sizeof s->local_rule, "-%s^2", r->label[i]);
        else if (!strcmp(op, "exp"))
            snprintf(s->local_rule, sizeof s->local_rule, "%s", r->label[i]);
        else if (!strcmp(op, "add"))
            snprintf(s->local_rule, sizeof s->local_rule, "1");
        else if (!strcmp(op, "mul"))
            snprintf(s->local_rule, sizeof s->local_rule, "%g", tg_value(r->g, in[1 - c]));
        else
            snprintf(s->local_rule, sizeof s->local_rule, "d %s", op);
    }
    return n;
}
