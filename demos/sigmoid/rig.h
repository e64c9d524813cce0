/*
 * The sigmoid demo's test rig: one graph holding both forms of sigmoid of
 * the same variable x, replayed at each x (tg_set_value + tg_forward)
 * instead of re-recorded.
 *
 *   x -> sigmoid                                         (fused)
 *   x -> [ x*-1 -> exp -> +1 -> 1/x ]  "Sigmoid layer"   (decomposed)
 *
 * Beside the two, the textbook rule y(1-y) is evaluated literally from the
 * fused node's value, and a reference derivative in long double.
 */
#ifndef SIGMOID_RIG_H
#define SIGMOID_RIG_H

#include <stdbool.h>
#include <stddef.h>

#include <tapegrad/tapegrad.h>

enum form { DECOMPOSED, FUSED, TEXTBOOK, NFORMS };

extern const char *const form_name[NFORMS];

#define MAX_DECOMPOSED 8

typedef struct rig {
    tg_graph *g;
    tg_node x, yd, yf;
    /* The decomposed op nodes in tape order, with readable labels built
     * from the tape itself ("-x", "exp(-x)", "1+exp(-x)", "y"). */
    tg_node ops[MAX_DECOMPOSED];
    char label[MAX_DECOMPOSED][32];
    int nops;
    size_t decomposed_nodes;  /* on the tape, constants included */
    size_t fused_nodes;
} rig;

typedef struct sample {
    double x;
    double y;                /* the fused node's value */
    double d[NFORMS];        /* dy/dx from each form */
    long double ref;         /* reference dy/dx */
} sample;

/* Build the graph; false (with a message on stderr) on failure. */
bool rig_init(rig *r);
void rig_free(rig *r);

/* Point i of `steps` evenly spaced from..to (from itself when steps is 1). */
double grid_x(double from, double to, long steps, long i);

/* Replay the tape at x and sweep backward from each output. */
sample rig_eval(rig *r, double x);

/* The reference: sigmoid'(x) = e/(1+e)^2 with e = exp(-|x|), in long
 * double.  No cancellation and no overflow for any x. */
long double reference_slope(double x);

/* How far got is from ref: |got - ref| / ref, with absolute error below the
 * smallest normal double (where doubles themselves lose digits) measured
 * against DBL_MIN.  NaN when got is not a number. */
double rel_error(double got, long double ref);

/* Distance in doubles between got and ref rounded to double; -1 if got is
 * not a number. */
long long ulps_apart(double got, long double ref);

/* One step of the decomposed backward: node ops[i] receives `upstream`
 * (dL/d node) and sends upstream * local to its non-constant input. */
typedef struct ledger_step {
    int op;                  /* index into rig.ops */
    const char *input_label; /* where the gradient goes */
    char local_rule[24];     /* the local derivative in symbols: "-y^2" */
    double upstream, local, sent;
} ledger_step;

/* The ledger at the current point (after rig_eval), with L = y so dL/dy =
 * 1, in backward order: steps[0] is 1/x.  Sweeps backward from the
 * decomposed output again.  Returns the number of steps. */
int rig_ledger(rig *r, ledger_step steps[MAX_DECOMPOSED]);

#endif
