/*
 * All or nothing under allocation failure, for every public builder of
 * tapegrad.h and tensor.h: the k-th allocation from the call on fails (for
 * every k until the call succeeds), and a failed call must leave the tape
 * exactly as it was (its size, every node's value, every name) with
 * TG_ERR_NOMEM recorded; after clearing the error the graph works.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad/expr.h>

#include "helpers.h"
#include "alloc.h"
#include "runner.h"

/* The graph every call is tried on: named scalars, named tensors, and
 * constants up to a full tape, so that the call's first node must grow it. */
typedef struct base {
    tg_node x, y, M, N, P, T, R;
} base;

static const double m6[6] = { 0.5, -1.0, 2.0, 0.25, 1.5, -0.75 };
static const double t6[6] = { 0, 1, 0, 1, 0, 0 };

/* A custom op, registered with the base graph for tg_parse to call. */
static double twice_value(void *ctx, const double *x) { (void)ctx; return 2 * x[0]; }
static void twice_partials(void *ctx, const double *x, double y, double *d) { (void)ctx, (void)x, (void)y; d[0] = 2; }
static const tg_custom_op twice = { "twice", 1, twice_value, twice_partials, NULL, NULL };

static base build_base(tg_graph *g)
{
    base b;
    tg_custom_register(g, &twice);
    b.x = tg_var(g, "x", 0.7);
    b.y = tg_var(g, "y", 1.9);
    b.M = tg_tensor_var(g, "M", 2, 3, m6);
    b.N = tg_tensor_var(g, "N", 2, 3, t6);
    b.P = tg_tensor_var(g, "P", 3, 2, m6);
    b.T = tg_tensor_const(g, 2, 3, t6);
    b.R = tg_tensor_var(g, "R", 1, 3, m6);
    while (tg_graph_size(g) < 64) tg_const(g, (double)tg_graph_size(g));
    return b;
}

typedef tg_node (*call)(tg_graph *g, const base *b);

static tg_node c_var(tg_graph *g, const base *b)     { (void)b; return tg_var(g, "fresh_name", 3.0); }
static tg_node c_const(tg_graph *g, const base *b)   { (void)b; return tg_const(g, 3.0); }
static tg_node c_add(tg_graph *g, const base *b)     { return tg_add(g, b->x, b->y); }
static tg_node c_mul(tg_graph *g, const base *b)     { return tg_mul(g, b->x, b->y); }
static tg_node c_exp(tg_graph *g, const base *b)     { return tg_exp(g, b->x); }
static tg_node c_recip(tg_graph *g, const base *b)   { return tg_recip(g, b->x); }
static tg_node c_pow(tg_graph *g, const base *b)     { return tg_pow(g, b->x, b->y); }
static tg_node c_powc(tg_graph *g, const base *b)    { return tg_powc(g, b->x, 3.0); }
static tg_node c_log(tg_graph *g, const base *b)     { return tg_log(g, b->x); }
static tg_node c_tanh(tg_graph *g, const base *b)    { return tg_tanh(g, b->x); }
static tg_node c_sigmoid(tg_graph *g, const base *b) { return tg_sigmoid(g, b->x); }
static tg_node c_relu(tg_graph *g, const base *b)    { return tg_relu(g, b->x); }
static tg_node c_neg(tg_graph *g, const base *b)     { return tg_neg(g, b->x); }
static tg_node c_sub(tg_graph *g, const base *b)     { return tg_sub(g, b->x, b->y); }
static tg_node c_div(tg_graph *g, const base *b)     { return tg_div(g, b->x, b->y); }
static tg_node c_sigd(tg_graph *g, const base *b)    { return tg_sigmoid_decomposed(g, b->x); }
static tg_node c_tvar(tg_graph *g, const base *b)
{
    (void)b;
    return tg_tensor_var(g, "fresh_tensor", 4, 5, NULL);
}
static tg_node c_tconst(tg_graph *g, const base *b)  { (void)b; return tg_tensor_const(g, 4, 5, NULL); }
static tg_node c_tadd(tg_graph *g, const base *b)    { return tg_add(g, b->M, b->R); }
static tg_node c_tmul(tg_graph *g, const base *b)    { return tg_mul(g, b->M, b->x); }
static tg_node c_trelu(tg_graph *g, const base *b)   { return tg_relu(g, b->M); }
static tg_node c_tsub(tg_graph *g, const base *b)    { return tg_sub(g, b->M, b->N); }
static tg_node c_tdiv(tg_graph *g, const base *b)    { return tg_div(g, b->M, b->y); }
static tg_node c_tsigd(tg_graph *g, const base *b)   { return tg_sigmoid_decomposed(g, b->M); }
static tg_node c_tpowc(tg_graph *g, const base *b)   { return tg_powc(g, b->M, 2.0); }
static tg_node c_matmul(tg_graph *g, const base *b)  { return tg_matmul(g, b->M, b->P); }
static tg_node c_matmul_ex(tg_graph *g, const base *b)
{
    return tg_matmul_ex(g, b->M, b->N, TG_TRANS_B);
}
static tg_node c_sum(tg_graph *g, const base *b)     { return tg_sum(g, b->M); }
static tg_node c_mean(tg_graph *g, const base *b)    { return tg_mean(g, b->M); }
static tg_node c_softmax(tg_graph *g, const base *b) { return tg_softmax(g, b->M); }
static tg_node c_xent(tg_graph *g, const base *b)    { return tg_softmax_cross_entropy(g, b->M, b->T); }

/* A statement name, a variable, composed ops, a tensor op and a custom op
 * called by name: every kind of allocation a parse makes. */
static tg_node c_parse(tg_graph *g, const base *b)
{
    (void)b;
    return tg_parse(g, "f = x*y - exp(y)/2; k = 3\n s = sum(M*k); twice(f^2) + s");
}
static tg_node c_register(tg_graph *g, const base *b)
{
    tg_custom_op thrice = twice;
    thrice.name = "thrice";
    return tg_custom_register(g, &thrice) == TG_OK ? b->x : TG_NONE;
}

static const struct { const char *name; call fn; } calls[] = {
    { "tg_var", c_var },       { "tg_const", c_const },     { "tg_add", c_add },
    { "tg_mul", c_mul },       { "tg_exp", c_exp },         { "tg_recip", c_recip },
    { "tg_pow", c_pow },       { "tg_powc", c_powc },       { "tg_log", c_log },
    { "tg_tanh", c_tanh },     { "tg_sigmoid", c_sigmoid }, { "tg_relu", c_relu },
    { "tg_neg", c_neg },       { "tg_sub", c_sub },         { "tg_div", c_div },
    { "tg_sigmoid_decomposed", c_sigd },
    { "tg_tensor_var", c_tvar }, { "tg_tensor_const", c_tconst },
    { "tg_add", c_tadd },      { "tg_mul", c_tmul },        { "tg_relu", c_trelu },
    { "tg_sub", c_tsub },      { "tg_div", c_tdiv },        { "tg_sigmoid_decomposed", c_tsigd },
    { "tg_powc", c_tpowc },    { "tg_matmul", c_matmul },   { "tg_matmul_ex", c_matmul_ex },
    { "tg_sum", c_sum },       { "tg_mean", c_mean },       { "tg_softmax", c_softmax },
    { "tg_softmax_cross_entropy", c_xent },
    { "tg_custom_register", c_register }, { "tg_parse", c_parse },
};

/* Everything a failed call must leave as it was. */
typedef struct snapshot {
    size_t n;
    double *vals;   /* every node's numbers, scalars and tensors, in order */
    size_t nvals;
    char **names;   /* every node's name or NULL */
} snapshot;

static snapshot take(tg_graph *g)
{
    snapshot s = { tg_graph_size(g), NULL, 0, NULL };
    s.names = calloc(s.n, sizeof *s.names);
    size_t total = 0;
    for (size_t i = 0; i < s.n; i++) {
        size_t r, c;
        ck_assert_int_eq(tg_shape(g, tg_node_at(g, i), &r, &c), TG_OK);
        total += r * c;
    }
    s.vals = malloc(total * sizeof *s.vals);
    ck_assert(s.names && s.vals);
    for (size_t i = 0; i < s.n; i++) {
        tg_node h = tg_node_at(g, i);
        size_t r, c;
        tg_shape(g, h, &r, &c);
        ck_assert_int_eq(tg_tensor_get(g, h, s.vals + s.nvals), TG_OK);
        s.nvals += r * c;
        const char *nm = tg_node_name(g, h);
        s.names[i] = nm ? strdup(nm) : NULL;
    }
    return s;
}

static void drop(snapshot *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->names[i]);
    free(s->names);
    free(s->vals);
}

static void assert_same(const snapshot *a, const snapshot *b, const char *what, size_t k)
{
    ck_assert_msg(a->n == b->n, "%s, allocation %zu failing: the tape went from %zu to %zu nodes",
                  what, k, a->n, b->n);
    ck_assert_msg(a->nvals == b->nvals && memcmp(a->vals, b->vals, a->nvals * sizeof *a->vals) == 0,
                  "%s, allocation %zu failing: values changed", what, k);
    for (size_t i = 0; i < a->n; i++)
        ck_assert_msg((!a->names[i] && !b->names[i]) ||
                          (a->names[i] && b->names[i] && strcmp(a->names[i], b->names[i]) == 0),
                      "%s, allocation %zu failing: node %zu's name changed", what, k, i);
}

START_TEST(every_builder_is_all_or_nothing)
{
    size_t failures = 0;
    for (size_t c = 0; c < sizeof calls / sizeof calls[0]; c++) {
        for (size_t k = 1;; k++) {
            ck_assert_uint_lt(k, 100);
            inj_alloc ca = { 0 };
            tg_allocator al = inj_use(&ca);
            tg_graph *g = tg_graph_new_with(&al);
            ck_assert_ptr_nonnull(g);
            base b = build_base(g);
            ck_assert_graph_ok(g);
            snapshot before = take(g);
            ca.fail_from = ca.calls + k;
            tg_node y = calls[c].fn(g, &b);
            ca.fail_from = 0;
            if (!tg_is_none(y)) {  /* the k-th allocation was past the call's last */
                drop(&before);
                ck_assert_graph_ok(g);
                tg_graph_free(g);
                ck_assert_int_eq(ca.live, 0);
                break;
            }
            failures++;
            ck_assert_int_eq(tg_graph_status(g), TG_ERR_NOMEM);
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s: ", calls[c].name);
            ck_assert_msg(strncmp(tg_graph_errmsg(g), prefix, strlen(prefix)) == 0,
                          "%s failed with \"%s\"", calls[c].name, tg_graph_errmsg(g));
            snapshot after = take(g);
            assert_same(&before, &after, calls[c].name, k);
            drop(&after);
            drop(&before);
            /* and the graph works: the same call now succeeds */
            tg_graph_clear_error(g);
            ck_assert(!tg_is_none(calls[c].fn(g, &b)));
            ck_assert_graph_ok(g);
            tg_graph_free(g);
            ck_assert_int_eq(ca.live, 0);
        }
    }
    printf("builders: %zu allocation failures, each leaving the tape as it was\n", failures);
    ck_assert_uint_ge(failures, 30);
}
END_TEST

START_TEST(rewinding_to_a_mark_again_never_allocates)
{
    /* Fill the rewind log exactly (16 rewinds to increasing marks), then
     * rewind to the last mark again with every allocation failing. */
    inj_alloc ca = { 0 };
    tg_allocator al = inj_use(&ca);
    tg_graph *g = tg_graph_new_with(&al);
    for (int k = 0; k < 16; k++) {
        tg_var(g, NULL, 1.0);
        tg_var(g, NULL, 2.0);
        ck_assert_int_eq(tg_graph_rewind(g, tg_graph_size(g) - 1), TG_OK);
    }
    size_t mark = tg_graph_size(g);
    ca.fail_from = ca.calls + 1;
    for (int k = 0; k < 100; k++) {
        tg_node x = tg_var(g, NULL, 3.0);
        ck_assert(!tg_is_none(x));
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    }
    ck_assert_uint_eq(ca.failures, 0);
    ck_assert_graph_ok(g);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("builders");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_builder_is_all_or_nothing);
    tcase_add_test(tc, rewinding_to_a_mark_again_never_allocates);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
