/*
 * User-defined ops (tg_custom): recording, replay, the backward sweep,
 * DOT, checking mode, inspection, shared definitions, the caller's ctx,
 * misuse and allocation failure.
 *
 * The op most tests use is a ring of n inputs,
 *     ring(x) = sum_k w_k sin(x_k) x_(k+1),  w_k = k + 1, indices mod n,
 * in which every input meets its neighbour with its own weight, so that
 * inputs passed in another order, or partials written to the wrong slot,
 * change the numbers.  Its callbacks walk the terms; the tests' closed
 * form walks the inputs, and central differences of the recorded function
 * check both.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "helpers.h"
#include "rng.h"
#include "runner.h"

/* ------------------------------------------------------------ the ring */

typedef struct ring_ctx {
    size_t n;        /* the arity, which the callbacks cannot see otherwise */
    int values, partials;
} ring_ctx;

/* The ctx pointers the callbacks were last given. */
static const void *last_value_ctx, *last_partials_ctx;

static double ring_value(void *ctx, const double *x)
{
    ring_ctx *c = ctx;
    last_value_ctx = ctx;
    c->values++;
    double y = 0.0;
    for (size_t k = 0; k < c->n; k++) y += (double)(k + 1) * sin(x[k]) * x[(k + 1) % c->n];
    return y;
}

/* Term k adds to the partials of x_k and of x_(k+1). */
static void ring_partials(void *ctx, const double *x, double y, double *d)
{
    ring_ctx *c = ctx;
    (void)y;
    last_partials_ctx = ctx;
    c->partials++;
    for (size_t k = 0; k < c->n; k++) {
        size_t next = (k + 1) % c->n;
        d[k] += (double)(k + 1) * cos(x[k]) * x[next];
        d[next] += (double)(k + 1) * sin(x[k]);
    }
}

/* The closed form, input by input:
 * d ring/d x_j = w_j cos(x_j) x_(j+1) + w_(j-1) sin(x_(j-1)). */
static double ring_closed(const double *x, size_t n)
{
    long double y = 0;
    for (size_t k = 0; k < n; k++) y += (long double)(k + 1) * sinl(x[k]) * x[(k + 1) % n];
    return (double)y;
}

static double ring_partial_closed(const double *x, size_t n, size_t j)
{
    size_t next = (j + 1) % n, prev = (j + n - 1) % n;
    return (double)((long double)(j + 1) * cosl(x[j]) * x[next] + (long double)(prev + 1) * sinl(x[prev]));
}

static tg_custom_op ring_op(ring_ctx *c, size_t n)
{
    c->n = n;
    tg_custom_op op = { "ring", n, ring_value, ring_partials, NULL, c };
    return op;
}

/* A point of n coordinates, different in each. */
static void ring_point(double *x, size_t n, double shift)
{
    for (size_t k = 0; k < n; k++) x[k] = 0.3 + 0.37 * (double)k - 0.11 * (double)(k * k % 5) + shift;
}

/* The ring of n inputs with its own ctx, and its variables recorded on a
 * graph at the first point.  op.ctx points into the struct: not copied. */
typedef struct ring_case {
    ring_ctx c;
    tg_custom_op op;
    double x0[TG_CUSTOM_MAX_ARITY];
    tg_node x[TG_CUSTOM_MAX_ARITY];
} ring_case;

static void ring_vars(ring_case *rc, tg_graph *g, size_t n)
{
    memset(rc, 0, sizeof *rc);
    rc->op = ring_op(&rc->c, n);
    ring_point(rc->x0, n, 0.0);
    for (size_t k = 0; k < n; k++) rc->x[k] = tg_var(g, NULL, rc->x0[k]);
}

/* f = ring(x) x_0 + exp(ring(x) / 4): the op's output used twice, and
 * one of its inputs reached a second way. */
static tg_node f_of_vars(tg_graph *g, const tg_custom_op *op, const tg_node *x)
{
    tg_node r = tg_custom(g, op, x);
    return tg_add(g, tg_mul(g, r, x[0]), tg_exp(g, tg_mul(g, r, tg_const(g, 0.25))));
}

static tg_node record_f(tg_graph *g, const tg_custom_op *op, const double *x0, tg_node *x)
{
    for (size_t k = 0; k < op->arity; k++) x[k] = tg_var(g, NULL, x0[k]);
    return f_of_vars(g, op, x);
}

/* f at x, recorded afresh (for central differences). */
static double f_at(const double *x, size_t n)
{
    ring_ctx c = { 0 };
    tg_custom_op op = ring_op(&c, n);
    tg_graph *g = tg_graph_new();
    tg_node xs[TG_CUSTOM_MAX_ARITY];
    double v = tg_value(g, record_f(g, &op, x, xs));
    ck_assert_graph_ok(g);
    tg_graph_free(g);
    return v;
}

static size_t f_arity;
static double f_of(const double *x) { return f_at(x, f_arity); }

static const size_t arities[] = { 1, 2, 5, 8 };
enum { NARITIES = sizeof arities / sizeof arities[0] };

START_TEST(a_custom_node_records_its_value_inputs_and_name)
{
    for (size_t a = 0; a < NARITIES; a++) {
        size_t n = arities[a];
        tg_graph *g = tg_graph_new();
        ring_case rc;
        ring_vars(&rc, g, n);
        const double *x0 = rc.x0;
        const tg_node *x = rc.x;
        ring_ctx *c = &rc.c;
        size_t before = tg_graph_size(g);
        tg_node r = tg_custom(g, &rc.op, x);
        ck_assert_graph_ok(g);
        ck_assert(!tg_is_none(r));
        ck_assert_uint_eq(tg_graph_size(g), before + 1);
        ck_assert_int_eq(c->values, 1);
        ck_assert_int_eq(c->partials, 0);
        ck_assert_rel(tg_value(g, r), ring_closed(x0, n), 4e-16 * (double)n, "ring value");
        ck_assert_str_eq(tg_node_op(g, r), "ring");
        ck_assert_ptr_null(tg_node_name(g, r));
        ck_assert(!tg_is_tensor(g, r));

        ck_assert_uint_eq(tg_node_arity(g, r), n);
        for (size_t k = 0; k < n; k++) {
            tg_node in = tg_node_input(g, r, k);
            ck_assert_uint_eq(in.id, x[k].id);
            ck_assert_uint_eq(in.gen, x[k].gen);
        }
        ck_assert(tg_is_none(tg_node_input(g, r, n)));
        ck_assert(tg_is_none(tg_node_input(g, r, TG_CUSTOM_MAX_ARITY)));

        /* the two-slot calls give the first inputs and partials */
        tg_node in2[2];
        double d2[2] = { NAN, NAN };
        int first = n < 2 ? (int)n : 2;
        ck_assert_int_eq(tg_node_inputs(g, r, in2), first);
        ck_assert_int_eq(tg_node_partials(g, r, d2), first);
        for (int k = 0; k < first; k++) {
            ck_assert_uint_eq(in2[k].id, x[k].id);
            ck_assert_rel(d2[k], ring_partial_closed(x0, n, (size_t)k), 1e-15 * (double)n, "partial");
        }
        tg_graph_free(g);
    }
}
END_TEST

/* d f/d x_j = ring_j (x_0 + exp(r/4)/4) + [j = 0] r, with ring_j the closed
 * form above. */
static double f_grad_closed(const double *x, size_t n, size_t j)
{
    double r = ring_closed(x, n);
    double g = ring_partial_closed(x, n, j) * (x[0] + 0.25 * exp(0.25 * r));
    return j == 0 ? g + r : g;
}

START_TEST(backward_gives_the_closed_form_and_central_differences)
{
    for (size_t a = 0; a < NARITIES; a++) {
        size_t n = arities[a];
        tg_graph *g = tg_graph_new();
        ring_case rc;
        ring_vars(&rc, g, n);
        const double *x0 = rc.x0;
        const tg_node *x = rc.x;
        tg_node f = f_of_vars(g, &rc.op, x);
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        ck_assert_int_eq(rc.c.partials, 1);  /* one node, one call */
        f_arity = n;
        for (size_t j = 0; j < n; j++) {
            char what[64];
            snprintf(what, sizeof what, "arity %zu, d f/d x%zu", n, j);
            ck_assert_rel(tg_grad(g, x[j]), f_grad_closed(x0, n, j), 1e-13, what);
            double fd = central_difference(f_of, x0, n, j);
            ck_assert_msg(fabs(tg_grad(g, x[j]) - fd) <= 1e-7 * fmax(1.0, fabs(fd)),
                          "%s: %.17g, central difference %.17g", what, tg_grad(g, x[j]), fd);
        }
        tg_graph_free(g);
    }
}
END_TEST

START_TEST(replay_equals_recording_afresh)
{
    for (size_t a = 0; a < NARITIES; a++) {
        size_t n = arities[a];
        tg_graph *g = tg_graph_new(), *h = tg_graph_new();
        ring_case rc;
        ring_vars(&rc, g, n);
        const double *x0 = rc.x0;
        const tg_node *x = rc.x;
        double x1[TG_CUSTOM_MAX_ARITY];
        ring_point(x1, n, -0.8);
        tg_node hx[TG_CUSTOM_MAX_ARITY];
        tg_node f = f_of_vars(g, &rc.op, x);
        tg_node hf = record_f(h, &rc.op, x1, hx);
        for (size_t k = 0; k < n; k++) ck_assert_int_eq(tg_set_value(g, x[k], x1[k]), TG_OK);
        int before = rc.c.values;
        ck_assert_int_eq(tg_forward(g), TG_OK);
        ck_assert_int_eq(rc.c.values, before + 1);   /* the replay called the op once */
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        ck_assert_int_eq(tg_backward(h, hf), TG_OK);
        double gv = tg_value(g, f), hv = tg_value(h, hf);
        ck_assert_msg(memcmp(&gv, &hv, sizeof gv) == 0, "arity %zu: replayed %.17g, recorded %.17g",
                      n, gv, hv);
        for (size_t k = 0; k < n; k++) {
            double gg = tg_grad(g, x[k]), hg = tg_grad(h, hx[k]);
            ck_assert_msg(memcmp(&gg, &hg, sizeof gg) == 0, "arity %zu, x%zu: replayed %.17g, recorded %.17g",
                          n, k, gg, hg);
        }
        /* and tg_backward alone replays after a change */
        for (size_t k = 0; k < n; k++) ck_assert_int_eq(tg_set_value(g, x[k], x0[k]), TG_OK);
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        ck_assert_rel(tg_grad(g, x[0]), f_grad_closed(x0, n, 0), 1e-13, "gradient after a backward replay");
        tg_graph_free(g);
        tg_graph_free(h);
    }
}
END_TEST

/* The graph as DOT text, in a malloc'd string. */
static char *dot_text(tg_graph *g)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(tg_graph_write_dot(g, f), TG_OK);
    long len = ftell(f);
    ck_assert_int_gt(len, 0);
    rewind(f);
    char *s = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(fread(s, 1, (size_t)len, f), (size_t)len);
    s[len] = '\0';
    fclose(f);
    return s;
}

START_TEST(dot_draws_the_op_under_its_name)
{
    tg_graph *g = tg_graph_new();
    ring_case rc;
    ring_vars(&rc, g, 5);
    const double *x0 = rc.x0;
    tg_node r = tg_custom(g, &rc.op, rc.x);
    ck_assert_uint_eq(r.id, 5);
    char *s = dot_text(g);
    /* its circle shows its name and value, its tooltip names it */
    char want[256];
    snprintf(want, sizeof want, "n5 [shape=circle, margin=0.02, label=<ring<br/><font point-size=\"9\" "
             "color=\"gray35\">%.6g</font>>, tooltip=\"node 5 (ring)\"];", tg_value(g, r));
    ck_assert_msg(strstr(s, want) != NULL, "no '%s' in\n%s", want, s);
    /* an edge from each of its five inputs, and one out */
    for (size_t k = 0; k < 5; k++) {
        snprintf(want, sizeof want, "n%zu -> n5 [label=<%.6g>];", k, x0[k]);
        ck_assert_msg(strstr(s, want) != NULL, "no '%s' in\n%s", want, s);
    }
    ck_assert_int_eq(strstr(s, "n5 -> out5") != NULL, 1);
    free(s);

    /* after a backward, each edge carries what flows back along it: the
     * output's gradient (1) times the local partial */
    ck_assert_int_eq(tg_backward(g, r), TG_OK);
    s = dot_text(g);
    for (size_t k = 0; k < 5; k++) {
        snprintf(want, sizeof want, "n%zu -> n5 [label=<%.6g<br/><font color=\"#c0392b\">%.6g</font>>];",
                 k, x0[k], ring_partial_closed(x0, 5, k));
        ck_assert_msg(strstr(s, want) != NULL, "no '%s' in\n%s", want, s);
    }
    free(s);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ checking mode */

/* recip_op(x) = 1/x, non-finite at 0; its partial -1/x^2 overflows first. */
static double recip_value(void *ctx, const double *x) { (void)ctx; return 1.0 / x[0]; }
static void recip_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx;
    (void)y;
    d[0] = -1.0 / (x[0] * x[0]);
}
static const tg_custom_op recip_op = { "my_recip", 1, recip_value, recip_partials, NULL, NULL };

START_TEST(checking_mode_reports_non_finite_values_naming_the_op)
{
    /* recording */
    tg_graph *g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    tg_node x = tg_var(g, "x", 0.0);
    tg_node y = tg_custom(g, &recip_op, &x);
    ck_assert(!tg_is_none(y));   /* the node is on the tape all the same */
    ck_assert_double_eq(tg_value(g, y), INFINITY);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_custom: node 1 (my_recip) produced a non-finite value");
    tg_graph_free(g);

    /* replay */
    g = tg_graph_new();
    tg_graph_set_checking(g, 1);
    x = tg_var(g, "x", 2.0);
    y = tg_custom(g, &recip_op, &x);
    ck_assert_graph_ok(g);
    ck_assert_double_eq(tg_value(g, y), 0.5);
    ck_assert_int_eq(tg_set_value(g, x, 0.0), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_DOMAIN);
    ck_assert_graph_error(g, TG_ERR_DOMAIN, "tg_forward: node 1 (my_recip) produced a non-finite value");
    tg_graph_clear_error(g);

    /* backward: a finite value whose partial is not */
    ck_assert_int_eq(tg_set_value(g, x, 1e-200), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_DOMAIN);
    ck_assert_graph_error(g, TG_ERR_DOMAIN,
                          "tg_backward: node 1 (my_recip) made the gradient of node 0 'x' (var) non-finite");
    ck_assert_double_eq(tg_value(g, y), 1e200);
    tg_graph_free(g);
}
END_TEST

/* nan_op returns NaN as its value (value) or its partial (partials). */
static double nan_value(void *ctx, const double *x)
{
    return *(const int *)ctx == 0 ? NAN : 2.0 * x[0];
}
static void nan_partials(void *ctx, const double *x, double y, double *d)
{
    (void)x;
    (void)y;
    d[0] = *(const int *)ctx == 1 ? NAN : 2.0;
}

START_TEST(a_callback_returning_nan_is_ieee_arithmetic)
{
    for (int which = 0; which < 2; which++) {
        int mode = which;
        tg_custom_op op = { "nan_op", 1, nan_value, nan_partials, NULL, &mode };
        tg_graph *g = tg_graph_new();
        tg_node x = tg_var(g, "x", 3.0);
        tg_node y = tg_custom(g, &op, &x);
        tg_node z = tg_add(g, y, x);
        ck_assert_graph_ok(g);
        ck_assert_int_eq(tg_backward(g, z), TG_OK);
        ck_assert_graph_ok(g);
        if (which == 0) {  /* NaN value, finite partial: NaN flows forward only */
            ck_assert(isnan(tg_value(g, y)));
            ck_assert(isnan(tg_value(g, z)));
            ck_assert_double_eq(tg_grad(g, x), 3.0);
        } else {           /* NaN partial: NaN flows back only */
            ck_assert_double_eq(tg_value(g, z), 9.0);
            ck_assert(isnan(tg_grad(g, x)));
        }
        ck_assert_int_eq(tg_forward(g), TG_OK);
        tg_graph_free(g);
    }
}
END_TEST

/* ------------------------------------------------------------ sharing, ctx */

START_TEST(a_loop_that_rewinds_shares_one_definition)
{
    inj_alloc ca = { 0 };
    tg_allocator al = inj_use(&ca);
    tg_graph *g = tg_graph_new_with(&al);
    ring_case rc;
    ring_vars(&rc, g, 8);
    const double *x0 = rc.x0;
    const tg_node *x = rc.x;
    const tg_custom_op op = rc.op;
    size_t mark = tg_graph_mark(g);
    size_t calls_after_warmup = 0;
    for (int step = 0; step < 50; step++) {
        if (step == 2) calls_after_warmup = ca.calls;
        tg_node r = tg_custom(g, &op, x);
        tg_node r2 = tg_custom(g, &op, x);   /* the same op twice on one tape */
        tg_node f = tg_mul(g, r, r2);
        ck_assert_int_eq(tg_backward(g, f), TG_OK);
        ck_assert_str_eq(tg_node_op(g, r2), "ring");
        ck_assert_rel(tg_grad(g, x[3]), 2.0 * ring_closed(x0, 8) * ring_partial_closed(x0, 8, 3), 1e-14,
                      "d r^2/d x3");
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    }
    ck_assert_graph_ok(g);
    /* after the first passes, nothing is allocated: not the definition,
     * not its name, not the records of its inputs */
    ck_assert_uint_eq(ca.calls, calls_after_warmup);
    tg_graph_free(g);
    ck_assert_int_eq(ca.live, 0);
}
END_TEST

/* scaled_sin(x) = scale sin x, scale read through ctx at every call. */
typedef struct scale_ctx { double scale; int values, partials; } scale_ctx;

static double scaled_value(void *ctx, const double *x)
{
    scale_ctx *c = ctx;
    last_value_ctx = ctx;
    c->values++;
    return c->scale * sin(x[0]);
}
static void scaled_partials(void *ctx, const double *x, double y, double *d)
{
    scale_ctx *c = ctx;
    (void)y;
    last_partials_ctx = ctx;
    c->partials++;
    d[0] = c->scale * cos(x[0]);
}

/* probe(x) = x, noting the ctx it is given. */
static double probe_value(void *ctx, const double *x)
{
    last_value_ctx = ctx;
    return x[0];
}
static void probe_partials(void *ctx, const double *x, double y, double *d)
{
    (void)x;
    (void)y;
    last_partials_ctx = ctx;
    d[0] = 1.0;
}
static const tg_custom_op probe_op = { "probe", 1, probe_value, probe_partials, NULL, NULL };

START_TEST(callbacks_receive_their_own_ctx_only)
{
    scale_ctx ca = { 2.0, 0, 0 }, cb = { 3.0, 0, 0 };
    /* the same callbacks and name: only ctx tells the two ops apart */
    tg_custom_op opa = { "scaled_sin", 1, scaled_value, scaled_partials, NULL, &ca };
    tg_custom_op opb = { "scaled_sin", 1, scaled_value, scaled_partials, NULL, &cb };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.7);
    tg_node a = tg_custom(g, &opa, &x);
    ck_assert_ptr_eq(last_value_ctx, &ca);
    tg_node b = tg_custom(g, &opb, &x);
    ck_assert_ptr_eq(last_value_ctx, &cb);
    ck_assert_graph_ok(g);
    ck_assert_double_eq(tg_value(g, a), 2.0 * sin(0.7));
    ck_assert_double_eq(tg_value(g, b), 3.0 * sin(0.7));
    ck_assert_int_eq(ca.values, 1);
    ck_assert_int_eq(cb.values, 1);

    /* a sweep from a reaches a's callbacks alone */
    ck_assert_int_eq(tg_backward(g, a), TG_OK);
    ck_assert_ptr_eq(last_partials_ctx, &ca);
    ck_assert_int_eq(ca.partials, 1);
    ck_assert_int_eq(cb.partials, 0);
    ck_assert_double_eq(tg_grad(g, x), 2.0 * cos(0.7));
    ck_assert_int_eq(tg_backward(g, b), TG_OK);
    ck_assert_ptr_eq(last_partials_ctx, &cb);
    ck_assert_int_eq(ca.partials, 1);
    ck_assert_int_eq(cb.partials, 1);
    ck_assert_double_eq(tg_grad(g, x), 3.0 * cos(0.7));

    /* ctx stays the caller's: a change to it shows at the next replay */
    ca.scale = 5.0;
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_ptr_eq(last_value_ctx, &cb);   /* tape order: a, then b */
    ck_assert_int_eq(ca.values, 2);
    ck_assert_int_eq(cb.values, 2);
    ck_assert_double_eq(tg_value(g, a), 5.0 * sin(0.7));
    ck_assert_double_eq(tg_value(g, b), 3.0 * sin(0.7));

    /* a NULL ctx is passed as NULL */
    tg_node y = tg_custom(g, &probe_op, &x);
    ck_assert_ptr_null(last_value_ctx);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_ptr_null(last_partials_ctx);
    ck_assert_double_eq(tg_grad(g, x), 1.0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

static double other_value(void *ctx, const double *x) { (void)ctx; return -x[0]; }

START_TEST(the_struct_and_name_are_copied)
{
    scale_ctx c = { 2.0, 0, 0 };
    char name[16] = "scaled";
    tg_custom_op op = { name, 1, scaled_value, scaled_partials, NULL, &c };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 0.4);
    tg_node y = tg_custom(g, &op, &x);
    /* the caller's struct and name are scribbled over */
    memcpy(name, "XXXXXXX", 8);
    op.value = other_value;
    op.arity = 3;
    ck_assert_str_eq(tg_node_op(g, y), "scaled");
    ck_assert_uint_eq(tg_node_arity(g, y), 1);
    ck_assert_int_eq(tg_set_value(g, x, 0.5), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_double_eq(tg_value(g, y), 2.0 * sin(0.5));
    ck_assert_double_eq(tg_grad(g, x), 2.0 * cos(0.5));
    tg_graph_free(g);
}
END_TEST

START_TEST(a_custom_op_takes_a_reduction_s_scalar)
{
    /* sum(T) is a scalar node computed by a kernel: a custom op may take it */
    static const double t[6] = { 0.1, -0.2, 0.3, 0.05, 0.4, -0.15 };
    scale_ctx c = { 1.5, 0, 0 };
    tg_custom_op op = { "scaled_sin", 1, scaled_value, scaled_partials, NULL, &c };
    tg_graph *g = tg_graph_new();
    tg_node T = tg_tensor_var(g, "T", 2, 3, t);
    tg_node s = tg_sum(g, T);
    tg_node y = tg_custom(g, &op, &s);
    ck_assert_graph_ok(g);
    double sum = 0;
    for (int k = 0; k < 6; k++) sum += t[k];
    ck_assert_double_eq_tol(tg_value(g, y), 1.5 * sin(sum), 1e-15);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    double dt[6];
    ck_assert_int_eq(tg_tensor_get_grad(g, T, dt), TG_OK);
    for (int k = 0; k < 6; k++) ck_assert_double_eq_tol(dt[k], 1.5 * cos(sum), 1e-15);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ misuse */

/* Every value on a scalar tape, and its size. */
typedef struct tape { size_t n; double v[64]; } tape;

static tape tape_of(const tg_graph *g)
{
    tape t = { tg_graph_size(g), { 0 } };
    ck_assert_uint_le(t.n, 64);
    for (size_t i = 0; i < t.n; i++) {
        tg_node h = tg_node_at(g, i);
        t.v[i] = tg_is_tensor(g, h) ? 0.0 : tg_value(g, h);
    }
    return t;
}

static void assert_tape_unchanged(const tape *before, const tg_graph *g, const char *what)
{
    tape after = tape_of(g);
    ck_assert_msg(after.n == before->n, "%s: the tape went from %zu to %zu nodes", what, before->n, after.n);
    ck_assert_msg(memcmp(after.v, before->v, before->n * sizeof *after.v) == 0, "%s: values changed", what);
}

enum { BAD_NONE, BAD_STALE, BAD_FOREIGN, BAD_TENSOR };

typedef struct misuse {
    const char *what;
    const tg_custom_op *op;   /* NULL: op NULL */
    int x_null;               /* pass x = NULL */
    size_t bad_at;            /* input replaced ... */
    int bad;                  /* ... by this kind of handle (-1: none) */
    tg_status status;
    const char *msg;
} misuse;

static scale_ctx misuse_ctx = { 1.0, 0, 0 };
#define OP(nm, ar, v, p) (&(const tg_custom_op){ nm, ar, v, p, NULL, &misuse_ctx })
static const tg_custom_op pair_op = { "pair", 2, scaled_value, scaled_partials, NULL, &misuse_ctx };
#define GOOD2 (&pair_op)
#define LONG63 "a23456789_123456789_123456789_123456789_123456789_123456789_123"

static const misuse misuses[] = {
    { "NULL op", NULL, 0, 0, -1, TG_ERR_ARG, "tg_custom: op is NULL" },
    { "NULL name", OP(NULL, 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op->name is NULL" },
    { "empty name", OP("", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op->name \"\" is not an identifier of at most 63 characters" },
    { "name with a dash", OP("my-op", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op->name \"my-op\" is not an identifier of at most 63 characters" },
    { "name starting with a digit", OP("2x", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op->name \"2x\" is not an identifier of at most 63 characters" },
    { "name with a space", OP("my op", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op->name \"my op\" is not an identifier of at most 63 characters" },
    { "name of 64 characters", OP(LONG63 "4", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op->name \"" LONG63 "...\" is not an identifier of at most 63 characters" },
    { "name of a built-in op", OP("sin", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_NAME,
      "tg_custom: \"sin\" is the name of a built-in op" },
    { "name of a leaf", OP("var", 1, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_NAME,
      "tg_custom: \"var\" is the name of a built-in op" },
    { "name of a tensor op", OP("softmax_cross_entropy", 2, scaled_value, scaled_partials), 0, 0, -1,
      TG_ERR_NAME, "tg_custom: \"softmax_cross_entropy\" is the name of a built-in op" },
    { "arity 0", OP("nullary", 0, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op 'nullary' has arity 0; 1 to 8 are supported" },
    { "arity 9", OP("nonary", 9, scaled_value, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op 'nonary' has arity 9; 1 to 8 are supported" },
    { "NULL value", OP("novalue", 1, NULL, scaled_partials), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op 'novalue' has no value callback" },
    { "NULL partials", OP("nopartials", 1, scaled_value, NULL), 0, 0, -1, TG_ERR_ARG,
      "tg_custom: op 'nopartials' has no partials callback" },
    { "NULL x", GOOD2, 1, 0, -1, TG_ERR_ARG, "tg_custom: x is NULL" },
    { "x[0] empty", GOOD2, 0, 0, BAD_NONE, TG_ERR_HANDLE, "tg_custom: x[0] is the empty handle" },
    { "x[1] empty", GOOD2, 0, 1, BAD_NONE, TG_ERR_HANDLE, "tg_custom: x[1] is the empty handle" },
    { "x[7] empty", OP("wide", 8, scaled_value, scaled_partials), 0, 7, BAD_NONE, TG_ERR_HANDLE,
      "tg_custom: x[7] is the empty handle" },
    { "x[1] stale", GOOD2, 0, 1, BAD_STALE, TG_ERR_STALE,
      "tg_custom: x[1] refers to node 3, dropped by a rewind" },
    { "x[0] of another graph", GOOD2, 0, 0, BAD_FOREIGN, TG_ERR_HANDLE,
      "tg_custom: x[0] is not a node of this graph" },
    { "x[1] a tensor", GOOD2, 0, 1, BAD_TENSOR, TG_ERR_SHAPE,
      "tg_custom: x[1] is a 2x3 tensor; a custom op takes scalars" },
};
#undef OP

START_TEST(misuse_is_refused_naming_the_argument)
{
    const misuse *m = &misuses[_i];
    static const double t6[6] = { 1, 2, 3, 4, 5, 6 };
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    tg_var(other, NULL, 1.0);
    tg_node a = tg_var(g, "a", 0.5), b = tg_var(g, "b", -1.5);
    tg_node T = tg_tensor_var(g, "T", 2, 3, t6);
    (void)T;
    size_t mark = tg_graph_mark(g);            /* 3 */
    tg_node stale = tg_var(g, NULL, 9.0);      /* node 3, dropped below */
    ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    tg_node prod = tg_mul(g, a, b);            /* node 3 again, a new generation */
    ck_assert_graph_ok(g);

    tg_node x[TG_CUSTOM_MAX_ARITY];
    for (size_t k = 0; k < TG_CUSTOM_MAX_ARITY; k++) x[k] = k % 2 ? b : prod;
    if (m->bad >= 0) {
        tg_node bad[] = { [BAD_NONE] = TG_NONE, [BAD_STALE] = stale,
                          [BAD_FOREIGN] = tg_node_at(other, 0), [BAD_TENSOR] = T };
        x[m->bad_at] = bad[m->bad];
    }
    tape before = tape_of(g);
    misuse_ctx.values = 0;
    tg_node y = tg_custom(g, m->op, m->x_null ? NULL : x);
    ck_assert_msg(tg_is_none(y), "%s: gave a node", m->what);
    ck_assert_graph_error(g, m->status, m->msg);
    assert_tape_unchanged(&before, g, m->what);
    ck_assert_int_eq(misuse_ctx.values, 0);   /* a refused op is never called */

    /* the first error sticks: a second misuse does not overwrite it */
    tg_node none[2] = { TG_NONE, TG_NONE };
    ck_assert(tg_is_none(tg_custom(g, GOOD2, none)));
    ck_assert(tg_is_none(tg_custom(g, NULL, x)));
    ck_assert_graph_error(g, m->status, m->msg);

    /* and the graph works on */
    tg_graph_clear_error(g);
    tg_node xs[2] = { a, b };
    tg_node ok = tg_custom(g, GOOD2, xs);
    ck_assert_graph_ok(g);
    ck_assert_double_eq(tg_value(g, ok), sin(0.5));
    ck_assert(tg_is_none(tg_custom(NULL, GOOD2, xs)));
    tg_graph_free(g);
    tg_graph_free(other);
}
END_TEST

START_TEST(a_name_of_63_characters_is_an_identifier)
{
    scale_ctx c = { 1.0, 0, 0 };
    tg_custom_op op = { LONG63, 1, scaled_value, scaled_partials, NULL, &c };
    tg_custom_op under = { "_x9", 1, scaled_value, scaled_partials, NULL, &c };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, NULL, 1.0);
    tg_node y = tg_custom(g, &op, &x);
    ck_assert_graph_ok(g);
    ck_assert_str_eq(tg_node_op(g, y), LONG63);
    ck_assert_str_eq(tg_node_op(g, tg_custom(g, &under, &x)), "_x9");
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------ allocation failure */

/* Three situations: the first custom op on a full tape (a new definition,
 * its name, its records, the tape), a known op whose inputs outgrow their
 * array, and a new definition beside 16 known ones (the array of
 * definitions grows). */
typedef struct alloc_case { const char *what; size_t before_ops; size_t defs; } alloc_case;
static const alloc_case alloc_cases[] = {
    { "first custom op on a full tape", 0, 0 },
    { "third 8-ary node: its inputs' array grows", 2, 0 },
    { "seventeenth definition", 0, 16 },
};

START_TEST(allocation_failure_leaves_the_tape_as_it_was)
{
    const alloc_case *ac = &alloc_cases[_i];
    ring_ctx c = { 0 };
    tg_custom_op op = ring_op(&c, 8);
    scale_ctx sc[16];
    size_t failures = 0;
    for (size_t k = 1;; k++) {
        ck_assert_uint_lt(k, 50);
        inj_alloc ca = { 0 };
        tg_allocator al = inj_use(&ca);
        tg_graph *g = tg_graph_new_with(&al);
        double x0[8];
        ring_point(x0, 8, 0.0);
        tg_node x[8];
        for (size_t j = 0; j < 8; j++) x[j] = tg_var(g, NULL, x0[j]);
        for (size_t j = 0; j < ac->before_ops; j++) tg_custom(g, &op, x);
        for (size_t j = 0; j < ac->defs; j++) {  /* distinct ctx: distinct definitions */
            sc[j] = (scale_ctx){ (double)j, 0, 0 };
            tg_custom_op d = { "scaled_sin", 1, scaled_value, scaled_partials, NULL, &sc[j] };
            tg_custom(g, &d, x);
        }
        while (tg_graph_size(g) < 64) tg_const(g, 1.0);   /* full: the next node grows the tape */
        ck_assert_graph_ok(g);
        tape before = tape_of(g);
        int values = c.values;
        ca.fail_at = ca.calls + k;
        tg_node y = tg_custom(g, &op, x);
        ca.fail_at = 0;
        if (!tg_is_none(y)) {   /* the k-th allocation was past the call's last */
            ck_assert_graph_ok(g);
            ck_assert_rel(tg_value(g, y), ring_closed(x0, 8), 4e-15, "value");
            tg_graph_free(g);
            ck_assert_int_eq(ca.live, 0);
            break;
        }
        failures++;
        char what[128];
        snprintf(what, sizeof what, "%s, allocation %zu failing", ac->what, k);
        ck_assert_int_eq(tg_graph_status(g), TG_ERR_NOMEM);
        const char *msg = tg_graph_errmsg(g);
        ck_assert_msg(strcmp(msg, "tg_custom: out of memory") == 0 ||
                          strcmp(msg, "tg_custom: out of memory growing the tape past 64 nodes") == 0,
                      "%s: \"%s\"", what, msg);
        assert_tape_unchanged(&before, g, what);
        ck_assert_int_eq(c.values, values);   /* not called: nothing was recorded */
        /* the same call now succeeds, and the node sweeps */
        tg_graph_clear_error(g);
        y = tg_custom(g, &op, x);
        ck_assert_graph_ok(g);
        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        ck_assert_rel(tg_grad(g, x[2]), ring_partial_closed(x0, 8, 2), 1e-14, "gradient after a failure");
        tg_graph_free(g);
        ck_assert_int_eq(ca.live, 0);
        ck_assert_int_eq(ca.bad_frees, 0);
    }
    ck_assert_uint_ge(failures, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("custom");
    TCase *tc = tcase_create("custom");
    tcase_add_test(tc, a_custom_node_records_its_value_inputs_and_name);
    tcase_add_test(tc, backward_gives_the_closed_form_and_central_differences);
    tcase_add_test(tc, replay_equals_recording_afresh);
    tcase_add_test(tc, dot_draws_the_op_under_its_name);
    tcase_add_test(tc, checking_mode_reports_non_finite_values_naming_the_op);
    tcase_add_test(tc, a_callback_returning_nan_is_ieee_arithmetic);
    tcase_add_test(tc, a_loop_that_rewinds_shares_one_definition);
    tcase_add_test(tc, callbacks_receive_their_own_ctx_only);
    tcase_add_test(tc, the_struct_and_name_are_copied);
    tcase_add_test(tc, a_custom_op_takes_a_reduction_s_scalar);
    tcase_add_loop_test(tc, misuse_is_refused_naming_the_argument, 0,
                        (int)(sizeof misuses / sizeof misuses[0]));
    tcase_add_test(tc, a_name_of_63_characters_is_an_identifier);
    tcase_add_loop_test(tc, allocation_failure_leaves_the_tape_as_it_was, 0,
                        (int)(sizeof alloc_cases / sizeof alloc_cases[0]));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
