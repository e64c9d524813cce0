/*
 * Walking a recorded tape node by node, the way the book draws it: the
 * forward pass with each node's inputs and value, then the backward pass in
 * reverse tape order with every chain-rule product spelled out (a ledger),
 * pausing after each step at a terminal.  Only the public inspection calls
 * are used (tg_node_at, tg_node_op, tg_node_inputs, tg_node_partials,
 * tg_value, tg_grad), so what is shown is what the engine did.  Nothing
 * here parses a command line.
 */
#include "walk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_support.h"

static FILE *stream(const walk *d) { return d->out_file ? d->out_file : stdout; }

static void stepped(walk *d)
{
    if (d->on_step) d->on_step(d, d->ctx);
}

/* ------------------------------------------------------------ numbers */

/* A number for printing; several may be used in one printf. */
const char *walk_num(walk *d, double v)
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

/* Back up over the prompt line and the answer echoed on it, and clear it,
 * so the scrollback holds the steps and not one prompt under each. */
#define ERASE_PROMPT "\033[A\r\033[K"

/* After a step: wait for Enter (next), c (run to the end) or q (quit).
 * Returns false on q. */
static bool pause_step(walk *d)
{
    if (!d->pausing) return true;
    fputs(WALK_PROMPT, stream(d));
    fflush(stream(d));
    char line[64];
    bool answered = fgets(line, sizeof line, stdin) != NULL;
    if (!answered) fputc('\n', stream(d));
    else if (d->erase_prompt) fputs(ERASE_PROMPT, stream(d));
    if (!answered) {   /* end of input: run on */
        d->pausing = false;
        return true;
    }
    if (line[0] == 'q' || line[0] == 'Q') return false;
    if (line[0] == 'c' || line[0] == 'C') d->pausing = false;
    return true;
}

/* ------------------------------------------------------------ the graphs */

void walk_name_node(walk *d, tg_node n, const char *label)
{
    if (n.id < d->label_cap) snprintf(d->label[n.id], sizeof d->label[0], "%s", label);
}


/* Labels for everything the builder did not name. */
void walk_label_rest(walk *d)
{
    for (size_t i = 0; i < d->n; i++) {
        if (d->label[i][0]) continue;
        tg_node n = tg_node_at(d->g, i);
        const char *name = tg_node_name(d->g, n);
        if (name)
            snprintf(d->label[i], sizeof d->label[0], "%s", name);
        else if (!strcmp(tg_node_op(d->g, n), "const"))
            snprintf(d->label[i], sizeof d->label[0], "%s", walk_num(d, tg_value(d->g, n)));
        else
            snprintf(d->label[i], sizeof d->label[0], "t%zu", i);
    }
}

bool walk_is_leaf(const walk *d, tg_node n)
{
    tg_node in[2];
    return tg_node_inputs(d->g, n, in) == 0;
}

/* How the op reads, with its inputs: "apple x apple_num". */
static void expr(const walk *d, tg_node n, char *buf, size_t len)
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
static void expr_values(walk *d, tg_node n, char *buf, size_t len)
{
    tg_node in[2];
    int k = tg_node_inputs(d->g, n, in);
    const char *op = tg_node_op(d->g, n);
    if (k == 2 && (!strcmp(op, "mul") || !strcmp(op, "add")))
        snprintf(buf, len, "%s %s %s", walk_num(d, tg_value(d->g, in[0])),
                 !strcmp(op, "mul") ? "x" : "+", walk_num(d, tg_value(d->g, in[1])));
    else if (k == 2)
        snprintf(buf, len, "%s(%s, %s)", op, walk_num(d, tg_value(d->g, in[0])),
                 walk_num(d, tg_value(d->g, in[1])));
    else if (k == 1)
        snprintf(buf, len, "%s(%s)", op, walk_num(d, tg_value(d->g, in[0])));
    else
        buf[0] = '\0';
}

/* ------------------------------------------------------------ the passes */

bool walk_forward(walk *d)
{
    fprintf(stream(d), "Forward pass, left to right: each node computed from its inputs.\n\n");
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(d->g, i);
        fprintf(stream(d), "  step %zu/%zu  ", i + 1, d->n);
        if (walk_is_leaf(d, n)) {
            fprintf(stream(d), "%s = %s   (%s)\n", d->label[i], walk_num(d, tg_value(d->g, n)),
                   !strcmp(tg_node_op(d->g, n), "var") ? "variable" : "constant");
        } else {
            char e[96], ev[96];
            expr(d, n, e, sizeof e);
            expr_values(d, n, ev, sizeof ev);
            fprintf(stream(d), "%s = %s = %s = %s\n", d->label[i], e, ev, walk_num(d, tg_value(d->g, n)));
        }
        stepped(d);
        if (!pause_step(d)) return false;
    }
    fprintf(stream(d), "\n");
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
bool walk_backward(walk *d)
{
    const char *out = d->label[d->out.id];
    size_t steps = d->out.id + 1;
    double *total = calloc(steps, sizeof *total);
    bool *reached = calloc(steps, sizeof *reached);
    bool quit = false;
    if (!total || !reached) {
        fprintf(stderr, "out of memory\n");
        quit = true;
    }

    fprintf(stream(d), "Backward pass, right to left (reverse tape order): each node multiplies\n"
           "the gradient it received by its local derivatives and passes them on.\n\n");
    if (!quit) {
        total[d->out.id] = 1.0;
        reached[d->out.id] = true;
    }

    for (size_t s = 0; s < steps && !quit; s++) {
        size_t i = d->out.id - s;
        tg_node n = tg_node_at(d->g, i);
        const char *me = d->label[i];
        int pad = fprintf(stream(d), "  step %zu/%zu  ", s + 1, steps);
        if (walk_is_leaf(d, n)) {
            if (!reached[i])
                fprintf(stream(d), "%s: not used by %s, gradient 0\n", me, out);
            else
                fprintf(stream(d), "%s is a %s: d %s/d %s = %s, complete\n", me,
                       !strcmp(tg_node_op(d->g, n), "var") ? "variable" : "constant", out, me,
                       walk_num(d, total[i]));
        } else {
            tg_node in[2];
            double part[2];
            char e[96];
            int k = tg_node_inputs(d->g, n, in);
            tg_node_partials(d->g, n, part);
            expr(d, n, e, sizeof e);
            fprintf(stream(d), "%s = %s", me, e);
            /* At the output, d out/d input would read as its own cause:
             * its local derivative is named by the expression instead. */
            char local[112];
            if (i == d->out.id) {
                fprintf(stream(d), "   (the output: start with d %s/d %s = 1)", out, me);
                snprintf(local, sizeof local, "d(%s)", e);
            } else {
                snprintf(local, sizeof local, "d %s", me);
            }
            fprintf(stream(d), "\n%*s%s:\n", pad, "", op_rule(tg_node_op(d->g, n)));
            for (int j = 0; j < k; j++) {
                uint32_t a = in[j].id;
                double contrib = total[i] * part[j];
                fprintf(stream(d), "%*sd %s/d %s %s d %s/d %s (%s) x %s/d %s (%s) = %s", pad, "",
                       out, d->label[a], reached[a] ? "+=" : "=", out, me, walk_num(d, total[i]),
                       local, d->label[a], walk_num(d, part[j]), walk_num(d, contrib));
                if (reached[a])
                    fprintf(stream(d), ", total %s", walk_num(d, total[a] + contrib));
                fprintf(stream(d), "\n");
                total[a] += contrib;
                reached[a] = true;
            }
        }
        /* A run of leaves is only the totals read off: one pause for all. */
        bool more_leaves = walk_is_leaf(d, n) && s + 1 < steps &&
                           walk_is_leaf(d, tg_node_at(d->g, i - 1));
        stepped(d);
        if (!more_leaves && !pause_step(d)) quit = true;
    }
    free(total);
    free(reached);
    if (quit) return false;
    fprintf(stream(d), "\n");
    return true;
}

void walk_gradients(walk *d)
{
    const char *out = d->label[d->out.id];
    fprintf(stream(d), "%s = %s.  Gradients, d %s/d variable (tg_grad):\n", out,
           walk_num(d, tg_value(d->g, d->out)), out);
    for (size_t i = 0; i < d->n; i++) {
        tg_node n = tg_node_at(d->g, i);
        if (strcmp(tg_node_op(d->g, n), "var")) continue;
        fprintf(stream(d), "  %-12s %s\n", d->label[i], walk_num(d, tg_grad(d->g, n)));
    }
    fprintf(stream(d), "\n");
}
