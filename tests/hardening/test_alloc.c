/*
 * Allocation failure, everywhere.  Each scenario runs once per allocation
 * it makes, the k-th allocation failing, in two modes: that one call
 * fails (a transient shortage), or it and every later one fail (memory is
 * gone).  Every run must end in success or a TG_ERR_NOMEM whose message
 * names the function, leave no block behind, and leave a graph that works
 * once the error is cleared.
 *
 * Graphs allocate through their tg_allocator (the injecting one of
 * tests/common/alloc.c).  The MNIST reader and save/load allocate with malloc; for them
 * malloc is wrapped at link time (wrap_malloc.c), which sees the library's
 * own calls but not zlib's internal ones.
 *
 * Every layer and net call is swept on its own: a call that fails must
 * leave the tape exactly as it was (its size, and node by node the op,
 * every value bit for bit and the name), report TG_ERR_NOMEM in its own
 * name, and run again once the error is cleared with the numbers of a run
 * that never failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <tapegrad/expr.h>
#include <tapegrad/mnist.h>
#include <tapegrad/nn.h>

#include "alloc.h"
#include "hard.h"
#include "runner.h"
#include "scratch.h"
#include "wrap_malloc.h"

enum { MODE_AT, MODE_FROM };
static const char *const mode_names[2] = { "fails alone", "and every later one fail" };

/* ------------------------------------------------------------ helpers */

/* The documented promise of TG_ERR_NOMEM: "the graph is as it was before
 * the call".  Record a builder call and check it. */
#define REC(var, g, expr)                                                          \
    do {                                                                           \
        size_t n0_ = tg_graph_size(g);                                             \
        tg_status s0_ = tg_graph_status(g);                                        \
        (var) = (expr);                                                            \
        after_call((g), #expr, n0_, s0_, (var));                                   \
    } while (0)

static void after_call(tg_graph *g, const char *what, size_t n0, tg_status s0, tg_node got)
{
    tg_status s = tg_graph_status(g);
    if (s0 == TG_OK && s != TG_OK) {
        ck_assert_msg(s == TG_ERR_NOMEM, "%s: status %d (%s): %s", what, (int)s,
                      tg_status_str(s), tg_graph_errmsg(g));
        ck_assert_prefix(tg_graph_errmsg(g), "tg_");
        ck_assert_msg(strstr(tg_graph_errmsg(g), "out of memory") != NULL,
                      "%s: message \"%s\" does not say out of memory", what, tg_graph_errmsg(g));
        ck_assert_msg(tg_is_none(got), "%s: failed but returned a node", what);
        ck_assert_msg(tg_graph_size(g) == n0,
                      "%s failed with TG_ERR_NOMEM (\"%s\") but the tape went from %zu to %zu nodes",
                      what, tg_graph_errmsg(g), n0, tg_graph_size(g));
    }
    if (s0 == TG_OK && s == TG_OK) ck_assert_msg(!tg_is_none(got), "%s: no node and no error", what);
}

static void assert_nomem(tg_graph *g, const char *what)
{
    ck_assert_msg(tg_graph_status(g) == TG_ERR_NOMEM, "%s: status %d: %s", what,
                  (int)tg_graph_status(g), tg_graph_errmsg(g));
    ck_assert_prefix(tg_graph_errmsg(g), "tg_");
}

typedef bool (*scenario)(inj_alloc *a);

/* Run s for k = 1, 2, ... until a run makes fewer than k allocations;
 * returns the number of allocation points swept (both modes). */
static size_t sweep(const char *name, scenario s)
{
    size_t points = 0;
    for (int mode = MODE_AT; mode <= MODE_FROM; mode++) {
        for (size_t k = 1;; k++) {
            ck_assert_msg(k < 100000, "%s: no end to the allocations", name);
            inj_alloc a;
            memset(&a, 0, sizeof a);
            if (mode == MODE_AT) a.fail_at = k;
            else a.fail_from = k;
            bool completed = s(&a);
            ck_assert_msg(a.live == 0, "%s, allocation %zu %s: %ld blocks leaked", name, k,
                          mode_names[mode], a.live);
            ck_assert_msg(a.bad_frees == 0, "%s, allocation %zu %s: %ld bad frees", name, k,
                          mode_names[mode], a.bad_frees);
            if (a.failures == 0) {
                ck_assert_msg(completed, "%s: the run without failure did not complete", name);
                break;
            }
            points++;
        }
    }
    printf("allocation-failure points: %-28s %zu\n", name, points);
    fflush(stdout);
    return points;
}

/* ------------------------------------------------------ the apple graph */

/* Section 5.4-5.5: 2 apples at 100 and 3 oranges at 150 with 10% tax.
 * Names, a group and a DOT drawing, so that every allocating path of the
 * scalar engine is met. */
static bool apple(tg_graph *g)
{
    tg_node apple, apple_num, orange, orange_num, tax, ap, op, all, price;
    REC(apple, g, tg_var(g, "apple", 100.0));
    REC(apple_num, g, tg_var(g, "apple_num", 2.0));
    REC(orange, g, tg_var(g, "orange", 150.0));
    REC(orange_num, g, tg_var(g, "orange_num", 3.0));
    REC(tax, g, tg_var(g, "tax", 1.1));
    if (tg_group_begin(g, "fruit") != TG_OK) assert_nomem(g, "tg_group_begin");
    REC(ap, g, tg_mul(g, apple, apple_num));
    REC(op, g, tg_mul(g, orange, orange_num));
    REC(all, g, tg_add(g, ap, op));
    tg_group_end(g);
    REC(price, g, tg_mul(g, all, tax));
    if (tg_graph_status(g) != TG_OK) {
        assert_nomem(g, "apple graph");
        tg_backward(g, price);   /* runs or refuses; either way the first error stays */
        assert_nomem(g, "backward after the failure");
        return false;
    }
    ck_assert_int_eq(tg_backward(g, price), TG_OK);
    ck_assert_double_eq_tol(tg_value(g, price), 715.0, 1e-9);
    ck_assert_double_eq_tol(tg_grad(g, apple), 2.2, 1e-12);
    ck_assert_double_eq_tol(tg_grad(g, apple_num), 110.0, 1e-9);
    ck_assert_double_eq_tol(tg_grad(g, orange), 3.3, 1e-12);
    ck_assert_double_eq_tol(tg_grad(g, orange_num), 165.0, 1e-9);
    ck_assert_double_eq_tol(tg_grad(g, tax), 650.0, 1e-9);
    ck_assert_uint_eq(tg_find(g, "tax").id, tax.id);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    tg_status s = tg_graph_write_dot(g, f);
    fclose(f);
    if (s != TG_OK) {
        assert_nomem(g, "tg_graph_write_dot");
        return false;
    }
    return true;
}

static bool scenario_apple(inj_alloc *a)
{
    tg_allocator al = inj_use(a);
    tg_graph *g = tg_graph_new_with(&al);
    if (!g) {
        ck_assert_int_eq(a->live, 0);
        return false;
    }
    bool ok = apple(g);
    inj_stop_failing(a);
    tg_graph_clear_error(g);
    assert_graph_works(g, "after the apple graph");
    /* and the apple graph itself, recorded again from scratch */
    ck_assert_int_eq(tg_graph_rewind(g, 0), TG_OK);
    ck_assert_msg(apple(g), "apple graph after recovery: %s", tg_graph_errmsg(g));
    tg_graph_free(g);
    return ok;
}

START_TEST(sweep_apple)
{
    ck_assert_uint_gt(sweep("apple graph, named", scenario_apple), 10);
}
END_TEST

/* ------------------------------------------------------ composed ops */

static bool composed(tg_graph *g)
{
    tg_node x, y, a, b, c, d, f;
    REC(x, g, tg_var(g, "x", 0.75));
    REC(y, g, tg_var(g, "y", -1.5));
    REC(a, g, tg_sub(g, x, y));
    REC(b, g, tg_div(g, a, y));
    REC(c, g, tg_sigmoid_decomposed(g, b));
    REC(d, g, tg_neg(g, c));
    REC(f, g, tg_powc(g, d, 3.0));
    if (tg_graph_status(g) != TG_OK) return false;
    ck_assert_int_eq(tg_backward(g, f), TG_OK);
    double s = 1.0 / (1.0 + exp(-((0.75 + 1.5) / -1.5)));
    ck_assert_double_eq_tol(tg_value(g, f), -s * s * s, 1e-14);
    return true;
}

static bool scenario_composed(inj_alloc *a)
{
    tg_allocator al = inj_use(a);
    /* A tape of exactly the first block's 64 nodes fills, so the sweep
     * reaches the growth of the tape in the middle of a composed op. */
    tg_graph *g = tg_graph_new_with(&al);
    if (!g) return false;
    for (int i = 0; i < 60 && tg_graph_status(g) == TG_OK; i++) tg_const(g, (double)i);
    bool ok = tg_graph_status(g) == TG_OK && composed(g);
    inj_stop_failing(a);
    tg_graph_clear_error(g);
    assert_graph_works(g, "after composed ops");
    tg_graph_free(g);
    return ok;
}

START_TEST(sweep_composed)
{
    ck_assert_uint_gt(sweep("composed ops at a tape growth", scenario_composed), 5);
}
END_TEST

/* ------------------------------------------------ the apple graph as text */

/* The whole program in one tg_parse, on an empty graph: a failure must
 * leave the graph empty, with no name and no node. */
static const char apple_src[] =
    "apple = 100; apple_num = 2; orange = 150; orange_num = 3; tax = 1.1\n"
    "apple_price = apple*apple_num\n"
    "price = (apple_price + orange*orange_num) * tax";

static bool scenario_parse(inj_alloc *a)
{
    tg_allocator al = inj_use(a);
    tg_graph *g = tg_graph_new_with(&al);
    if (!g) return false;
    tg_node price = tg_parse(g, apple_src);
    bool ok = !tg_is_none(price);
    if (!ok) {
        assert_nomem(g, "tg_parse");
        ck_assert_prefix(tg_graph_errmsg(g), "tg_parse: ");
        ck_assert_uint_eq(tg_graph_size(g), 0);
        ck_assert(tg_is_none(tg_find(g, "apple")));
    } else {
        ck_assert_int_eq(tg_backward(g, price), TG_OK);
        ck_assert_double_eq_tol(tg_value(g, price), 715.0, 1e-9);
        ck_assert_double_eq_tol(tg_grad(g, tg_find(g, "orange")), 3.3, 1e-12);
    }
    inj_stop_failing(a);
    tg_graph_clear_error(g);
    assert_graph_works(g, "after tg_parse");
    tg_graph_free(g);
    return ok;
}

START_TEST(sweep_parse)
{
    ck_assert_uint_gt(sweep("apple graph parsed from text", scenario_parse), 10);
}
END_TEST

/* ------------------------------------------- a tensor network, two steps */

typedef struct net_out { double loss[2], dw1[12], db2[3]; } net_out;

/* affine-relu-affine-softmax_cross_entropy on a 4x3 batch, two steps of
 * mark / record / backward / rewind.  A step that fails is retried once
 * after clearing the error and rewinding, as a program would. */
static bool tensor_steps(tg_graph *g, net_out *o, size_t *calls_second, inj_alloc *a)
{
    static const double X[12] = { .1, .2, .3, .4, .5, .6, -.1, -.2, -.3, .9, -.8, .7 };
    static const double W1[12] = { .2, -.1, .3, .1, .05, -.2, .15, .25, -.3, .1, .2, -.05 };
    static const double W2[12] = { .3, -.2, .1, -.1, .2, .3, .25, -.15, .05, .1, -.3, .2 };
    static const double T[12] = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0 };
    const double zero4[4] = { 0 }, b2v[3] = { .01, -.02, .03 };
    tg_node x, w1, b1, w2, b2, t;
    REC(x, g, tg_tensor_const(g, 4, 3, X));
    REC(w1, g, tg_tensor_var(g, "W1", 3, 4, W1));
    REC(b1, g, tg_tensor_var(g, "b1", 1, 4, zero4));
    REC(w2, g, tg_tensor_var(g, "W2", 4, 3, W2));
    REC(b2, g, tg_tensor_var(g, "b2", 1, 3, b2v));
    REC(t, g, tg_tensor_const(g, 4, 3, T));
    if (tg_graph_status(g) != TG_OK) return false;
    size_t mark = tg_graph_mark(g);
    bool clean = true;
    for (int step = 0; step < 2; step++) {
        size_t calls0 = a->calls;
        for (int attempt = 0; attempt < 2; attempt++) {
            tg_node h, r, z, loss;
            REC(h, g, tg_affine(g, x, w1, b1));
            REC(r, g, tg_relu(g, h));
            REC(z, g, tg_affine(g, r, w2, b2));
            REC(loss, g, tg_softmax_cross_entropy(g, z, t));
            tg_status s = tg_backward(g, loss);
            if (s == TG_OK) {
                o->loss[step] = tg_value(g, loss);
                ck_assert_int_eq(tg_tensor_get_grad(g, w1, o->dw1), TG_OK);
                ck_assert_int_eq(tg_tensor_get_grad(g, b2, o->db2), TG_OK);
                /* an SGD step, through the storage pointer */
                double *wv = tg_tensor_data(g, w1);
                const double *dw = tg_tensor_gradp(g, w1);
                for (int i = 0; i < 12; i++) wv[i] -= 0.5 * dw[i];
                /* a rewind may need memory once (its bookkeeping) */
                if (tg_graph_rewind(g, mark) != TG_OK) {
                    assert_nomem(g, "tg_graph_rewind");
                    ck_assert_uint_gt(tg_graph_size(g), mark);   /* untouched */
                    clean = false;
                    tg_graph_clear_error(g);
                    if (tg_graph_rewind(g, mark) != TG_OK) return false;
                }
                break;
            }
            assert_nomem(g, "tensor step");
            clean = false;
            tg_graph_clear_error(g);
            if (tg_graph_rewind(g, mark) != TG_OK || attempt == 1) return false;
        }
        if (step == 1 && calls_second) *calls_second = a->calls - calls0;
    }
    return clean;
}

static net_out tensor_ref;

static bool scenario_tensor(inj_alloc *a)
{
    tg_allocator al = inj_use(a);
    tg_graph *g = tg_graph_new_with(&al);
    if (!g) return false;
    net_out o;
    memset(&o, 0, sizeof o);
    bool clean = tensor_steps(g, &o, NULL, a);
    bool completed = tg_graph_status(g) == TG_OK && o.loss[1] != 0;
    if (completed) {
        /* A step that failed once and was retried gives the same numbers. */
        ck_assert_msg(same_bits(o.loss[0], tensor_ref.loss[0]) && same_bits(o.loss[1], tensor_ref.loss[1]),
                      "losses %.17g %.17g, expected %.17g %.17g", o.loss[0], o.loss[1],
                      tensor_ref.loss[0], tensor_ref.loss[1]);
        ck_assert(memcmp(o.dw1, tensor_ref.dw1, sizeof o.dw1) == 0);
        ck_assert(memcmp(o.db2, tensor_ref.db2, sizeof o.db2) == 0);
    }
    inj_stop_failing(a);
    tg_graph_clear_error(g);
    assert_graph_works(g, "after the tensor steps");
    assert_tensor_graph_works(g, "after the tensor steps");
    tg_graph_free(g);
    return clean;
}

START_TEST(sweep_tensor_steps)
{
    inj_alloc a;
    memset(&a, 0, sizeof a);
    tg_allocator al = inj_use(&a);
    tg_graph *g = tg_graph_new_with(&al);
    size_t second = 99;
    ck_assert(tensor_steps(g, &tensor_ref, &second, &a));
    /* tapegrad.h: after its first pass, a mark/record/sweep/rewind loop
     * allocates nothing. */
    ck_assert_msg(second == 0, "the second step made %zu allocations", second);
    ck_assert(isfinite(tensor_ref.loss[1]) && tensor_ref.loss[1] < tensor_ref.loss[0]);
    tg_graph_free(g);
    ck_assert_int_eq(a.live, 0);
    ck_assert_uint_gt(sweep("tensor network, 2 steps", scenario_tensor), 10);
}
END_TEST

/* ------------------------------------------------------ TwoLayerNet */

static double net_ref[2];

static bool scenario_net(inj_alloc *a)
{
    tg_allocator al = inj_use(a);
    tg_net *net = tg_net_new_with(6, 5, 3, 7, &al);
    if (!net) {
        ck_assert_int_eq(a->live, 0);
        return false;
    }
    double x[4 * 6], t[4 * 3] = { 0 };
    for (int i = 0; i < 24; i++) x[i] = 0.1 * (i % 7) - 0.2;
    for (int i = 0; i < 4; i++) t[i * 3 + i % 3] = 1.0;
    tg_graph *g = tg_net_graph(net);
    bool clean = true;
    double loss[2] = { 0, 0 };
    tg_status s = tg_net_batch(net, x, t, 4);
    for (int step = 0; step < 2 && s == TG_OK; step++) {
        s = tg_net_train_step(net, 0.1, &loss[step]);
    }
    if (s != TG_OK) {
        ck_assert_msg(s == TG_ERR_NOMEM, "net: %s", tg_graph_errmsg(g));
        assert_nomem(g, "net");
        clean = false;
    } else {
        ck_assert(same_bits(loss[0], net_ref[0]) && same_bits(loss[1], net_ref[1]));
    }
    inj_stop_failing(a);
    tg_graph_clear_error(g);
    /* The net trains after the error is cleared. */
    double l;
    ck_assert_int_eq(tg_net_batch(net, x, t, 4), TG_OK);
    ck_assert_int_eq(tg_net_train_step(net, 0.1, &l), TG_OK);
    ck_assert(isfinite(l));
    tg_net_free(net);
    return clean;
}

START_TEST(sweep_net)
{
    tg_net *net = tg_net_new(6, 5, 3, 7);
    double x[4 * 6], t[4 * 3] = { 0 };
    for (int i = 0; i < 24; i++) x[i] = 0.1 * (i % 7) - 0.2;
    for (int i = 0; i < 4; i++) t[i * 3 + i % 3] = 1.0;
    ck_assert_int_eq(tg_net_batch(net, x, t, 4), TG_OK);
    ck_assert_int_eq(tg_net_train_step(net, 0.1, &net_ref[0]), TG_OK);
    ck_assert_int_eq(tg_net_train_step(net, 0.1, &net_ref[1]), TG_OK);
    tg_net_free(net);
    ck_assert_uint_gt(sweep("TwoLayerNet new, batch, 2 steps", scenario_net), 5);
}
END_TEST

/* ------------------------------------------------ the tape, as it was */

/* What a failed call must leave as it was: the tape's size and, node by
 * node, its op, every value and its name, which tg_find maps back to it. */
typedef struct tape_copy {
    size_t size, nvals, cap_vals, text_len, cap_text;
    double *vals;
    char *text;            /* one line a node: "op name" */
} tape_copy;

static void tape_copy_take(tape_copy *c, const tg_graph *g)
{
    memset(c, 0, sizeof *c);
    c->size = tg_graph_size(g);
    for (size_t i = 0; i < c->size; i++) {
        tg_node n = tg_node_at(g, i);
        size_t rows = 1, cols = 1;
        ck_assert_int_eq(tg_shape(g, n, &rows, &cols), TG_OK);
        while (c->nvals + rows * cols > c->cap_vals) {
            c->cap_vals = c->cap_vals ? 2 * c->cap_vals : 256;
            c->vals = realloc(c->vals, c->cap_vals * sizeof *c->vals);
            ck_assert_ptr_nonnull(c->vals);
        }
        if (tg_is_tensor(g, n))
            ck_assert_int_eq(tg_tensor_get(g, n, c->vals + c->nvals), TG_OK);
        else
            c->vals[c->nvals] = tg_value(g, n);
        c->nvals += rows * cols;
        const char *name = tg_node_name(g, n);
        if (name) {
            tg_node back = tg_find(g, name);
            ck_assert_msg(back.id == n.id && back.gen == n.gen, "tg_find(\"%s\") is not node %zu", name, i);
        }
        char line[128];
        int len = snprintf(line, sizeof line, "%s %s\n", tg_node_op(g, n), name ? name : "-");
        ck_assert(len > 0 && (size_t)len < sizeof line);
        while (c->text_len + (size_t)len + 1 > c->cap_text) {
            c->cap_text = c->cap_text ? 2 * c->cap_text : 1024;
            c->text = realloc(c->text, c->cap_text);
            ck_assert_ptr_nonnull(c->text);
        }
        memcpy(c->text + c->text_len, line, (size_t)len + 1);
        c->text_len += (size_t)len;
    }
}

static void tape_copy_free(tape_copy *c)
{
    free(c->vals);
    free(c->text);
}

static void assert_tape_as(const tape_copy *before, const tg_graph *g, const char *what)
{
    tape_copy now;
    tape_copy_take(&now, g);
    ck_assert_msg(now.size == before->size, "%s: the tape went from %zu to %zu nodes", what,
                  before->size, now.size);
    ck_assert_msg(now.text_len == before->text_len &&
                  (now.text_len == 0 || memcmp(now.text, before->text, now.text_len) == 0),
                  "%s: ops or names changed:\n%s---\n%s", what, before->text ? before->text : "",
                  now.text ? now.text : "");
    ck_assert_msg(now.nvals == before->nvals, "%s: %zu values, %zu before", what, now.nvals, before->nvals);
    for (size_t i = 0; i < now.nvals; i++)
        ck_assert_msg(same_bits(now.vals[i], before->vals[i]), "%s: value %zu is %.17g, was %.17g", what,
                      i, now.vals[i], before->vals[i]);
    tape_copy_free(&now);
}

/* The message of a failure in fn's name: "fn: " and then the reason, once. */
static void assert_in_name_of(const char *msg, const char *fn, const char *what)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", fn);
    ck_assert_msg(strncmp(msg, prefix, strlen(prefix)) == 0, "%s: message \"%s\" does not start with \"%s\"",
                  what, msg, prefix);
    ck_assert_msg(strncmp(msg + strlen(prefix), prefix, strlen(prefix)) != 0, "%s: \"%s\" names %s twice",
                  what, msg, fn);
    ck_assert_msg(strstr(msg, "out of memory") != NULL, "%s: \"%s\" does not say out of memory", what, msg);
}

/* ------------------------------------------- layer and net calls, one by one */

enum { NIN = 6, NHID = 5, NOUT = 10, NB = 4, NB2 = 7, NSET = 1500, NWIDE = 400 };
enum { NOUTS = NWIDE * NHID };

static tg_mnist_set call_set;   /* NSET images of 2x3 pixels */

typedef struct net_fx {
    tg_net *net;
    tg_graph *g;
} net_fx;

static void batch_data(double *x, double *t, size_t n)
{
    for (size_t i = 0; i < n * NIN; i++) x[i] = 0.1 * (double)(i % 7) - 0.2;
    for (size_t i = 0; i < n * NOUT; i++) t[i] = 0.0;
    for (size_t i = 0; i < n; i++) t[i * NOUT + (i * 3) % NOUT] = 1.0;
}

/* A net on allocator a with a batch of NB rows and, with extra, nodes of
 * the caller's after the batch (a named scalar and a named tensor).  With
 * wide, a named input of NWIDE rows for tg_affine, whose two results then
 * need more tensor storage than the batch left. */
static tg_dtype sweep_dtype = TG_F64;   /* the nets' dtype: both are swept */

static void fx_setup(net_fx *f, inj_alloc *a, bool extra, bool wide)
{
    tg_allocator al = inj_use(a);
    f->net = tg_net_new_ex(NIN, NHID, NOUT, 7, sweep_dtype, &al);
    ck_assert_ptr_nonnull(f->net);
    f->g = tg_net_graph(f->net);
    double x[NB * NIN], t[NB * NOUT];
    batch_data(x, t, NB);
    ck_assert_int_eq(tg_net_batch(f->net, x, t, NB), TG_OK);
    if (extra) {
        static const double e[4] = { 1.5, -2.0, 0.25, 3.0 };
        tg_var(f->g, "extra", 2.5);
        tg_tensor_var(f->g, "extra_t", 2, 2, e);
        ck_assert_graph_ok(f->g);
    }
    if (wide) {
        tg_node xa = tg_tensor_var_ex(f->g, "xa", NWIDE, NIN, sweep_dtype, NULL);
        double v[NWIDE * NIN];
        for (size_t i = 0; i < NWIDE * NIN; i++) v[i] = 0.01 * (double)(i % 13) - 0.05;
        ck_assert_int_eq(tg_tensor_set(f->g, xa, v), TG_OK);
    }
}

/* A builder's result into out, or the error. */
static tg_status node_out(tg_graph *g, tg_node y, double *out)
{
    tg_status s = tg_graph_status(g);
    ck_assert_msg(tg_is_none(y) == (s != TG_OK), "node %s, status %d: %s",
                  tg_is_none(y) ? "empty" : "recorded", (int)s, tg_graph_errmsg(g));
    if (tg_is_none(y)) return s;
    if (tg_is_tensor(g, y)) return tg_tensor_get(g, y, out);
    out[0] = tg_value(g, y);
    return TG_OK;
}

/* The batch's x and t into out. */
static tg_status batch_out(net_fx *f, tg_status s, double *out)
{
    if (s != TG_OK) return s;
    size_t n = NB2 * NIN;
    ck_assert_int_eq(tg_tensor_get(f->g, tg_net_batch_x(f->net), out), TG_OK);
    ck_assert_int_eq(tg_tensor_get(f->g, tg_net_batch_t(f->net), out + n), TG_OK);
    return TG_OK;
}

static tg_status c_affine(net_fx *f, double *out)
{
    tg_graph *g = f->g;
    return node_out(g, tg_affine(g, tg_find(g, "xa"), tg_find(g, "W1"), tg_find(g, "b1")), out);
}
static tg_status c_predict(net_fx *f, double *out)
{
    return node_out(f->g, tg_net_predict(f->net, tg_net_batch_x(f->net)), out);
}
static tg_status c_loss(net_fx *f, double *out)
{
    return node_out(f->g, tg_net_loss(f->net, tg_net_batch_x(f->net), tg_net_batch_t(f->net)), out);
}
static tg_status c_batch(net_fx *f, double *out)
{
    double x[NB2 * NIN], t[NB2 * NOUT];
    batch_data(x, t, NB2);
    return batch_out(f, tg_net_batch(f->net, x, t, NB2), out);
}
static tg_status c_batch_mnist(net_fx *f, double *out)
{
    size_t idx[NB2];
    for (size_t i = 0; i < NB2; i++) idx[i] = (i * 211) % NSET;
    return batch_out(f, tg_net_batch_mnist(f->net, &call_set, idx, 0, NB2), out);
}
static tg_status c_batch_loss(net_fx *f, double *out) { return tg_net_batch_loss(f->net, out); }
static tg_status c_gradient(net_fx *f, double *out)
{
    tg_status s = tg_net_gradient(f->net, out);
    return s == TG_OK ? tg_net_get_grads(f->net, out + 1) : s;
}
static tg_status c_train_step(net_fx *f, double *out)
{
    tg_status s = tg_net_train_step(f->net, 0.1, out);
    return s == TG_OK ? tg_net_get_params(f->net, out + 1) : s;
}
static tg_status c_numerical(net_fx *f, double *out) { return tg_net_numerical_gradient(f->net, out); }
static tg_status c_gradcheck(net_fx *f, double *out) { return tg_net_gradcheck(f->net, out); }
static tg_status c_accuracy(net_fx *f, double *out) { return tg_net_accuracy(f->net, &call_set, out); }

typedef struct net_call {
    const char *fn;                          /* the name its failures are stated in */
    tg_status (*call)(net_fx *f, double *out);
    size_t nout;                             /* doubles out receives on success */
    bool partial_out;                        /* out may be written part way on failure */
    bool wide;                               /* needs the wide input "xa" */
} net_call;

static const net_call net_calls[] = {
    { "tg_affine", c_affine, NWIDE * NHID, false, true },
    { "tg_net_predict", c_predict, NB * NOUT, false },
    { "tg_net_loss", c_loss, 1, false },
    { "tg_net_batch", c_batch, NB2 * (NIN + NOUT), false },
    { "tg_net_batch_mnist", c_batch_mnist, NB2 * (NIN + NOUT), false },
    { "tg_net_batch_loss", c_batch_loss, 1, false },
    { "tg_net_gradient", c_gradient, 1 + NIN * NHID + NHID + NHID * NOUT + NOUT, false },
    { "tg_net_train_step", c_train_step, 1 + NIN * NHID + NHID + NHID * NOUT + NOUT, false },
    { "tg_net_numerical_gradient", c_numerical, NIN * NHID + NHID + NHID * NOUT + NOUT, true },
    { "tg_net_gradcheck", c_gradcheck, TG_NET_NPARAMS, false },
    { "tg_net_accuracy", c_accuracy, 1, false },
};
enum { NCALLS = sizeof net_calls / sizeof net_calls[0] };

/* Run call c with the k-th allocation after the set-up failing (alone, or
 * with every later one); false once a run met no failure. */
static bool call_run(const net_call *c, bool extra, int mode, size_t k, const double *ref)
{
    const char *what = c->fn;
    inj_alloc a;
    memset(&a, 0, sizeof a);
    net_fx f;
    fx_setup(&f, &a, extra, c->wide);
    tape_copy before;
    tape_copy_take(&before, f.g);
    double out[NOUTS];
    for (size_t i = 0; i < NOUTS; i++) out[i] = -7.25;
    if (mode == MODE_AT) a.fail_at = a.calls + k;
    else a.fail_from = a.calls + k;
    tg_status s = c->call(&f, out);
    inj_stop_failing(&a);
    if (s != TG_OK) {
        ck_assert_msg(s == TG_ERR_NOMEM, "%s, allocation %zu %s: status %d (%s): %s", what, k,
                      mode_names[mode], (int)s, tg_status_str(s), tg_graph_errmsg(f.g));
        ck_assert_int_eq(tg_graph_status(f.g), TG_ERR_NOMEM);
        assert_in_name_of(tg_graph_errmsg(f.g), c->fn, what);
        assert_tape_as(&before, f.g, what);
        if (!c->partial_out)
            for (size_t i = 0; i < c->nout; i++)
                ck_assert_msg(same_bits(out[i], -7.25), "%s failed but wrote out[%zu]", what, i);
        /* once the error is cleared, the call gives what it gives on a net
         * that never failed */
        tg_graph_clear_error(f.g);
        ck_assert_msg(c->call(&f, out) == TG_OK, "%s after the error: %s", what, tg_graph_errmsg(f.g));
    }
    for (size_t i = 0; i < c->nout; i++)
        ck_assert_msg(same_bits(out[i], ref[i]), "%s: out[%zu] is %.17g, a clean run's %.17g", what, i,
                      out[i], ref[i]);
    tape_copy_free(&before);
    tg_net_free(f.net);
    ck_assert_msg(a.live == 0, "%s, allocation %zu %s: %ld blocks leaked", what, k, mode_names[mode], a.live);
    ck_assert_int_eq(a.bad_frees, 0);
    if (a.failures == 0) ck_assert_int_eq(s, TG_OK);
    return a.failures > 0;
}

static void sweep_net_call(int which)
{
    const net_call *c = &net_calls[which];
    call_set = (tg_mnist_set){ NSET, 2, 3, malloc(NSET * 6), malloc(NSET) };
    ck_assert(call_set.images && call_set.labels);
    for (size_t i = 0; i < NSET * 6; i++) call_set.images[i] = (uint8_t)(i * 37 % 251);
    for (size_t i = 0; i < NSET; i++) call_set.labels[i] = (uint8_t)(i * 7 % 10);
    size_t points = 0;
    for (int extra = 0; extra < 2; extra++) {
        double ref[NOUTS];
        inj_alloc a;
        memset(&a, 0, sizeof a);
        net_fx f;
        fx_setup(&f, &a, extra, c->wide);
        ck_assert_msg(c->call(&f, ref) == TG_OK, "%s: %s", c->fn, tg_graph_errmsg(f.g));
        tg_net_free(f.net);
        for (int mode = MODE_AT; mode <= MODE_FROM; mode++)
            for (size_t k = 1; call_run(c, extra, mode, k, ref); k++) {
                ck_assert_msg(k < 100000, "%s: no end to the allocations", c->fn);
                points++;
            }
    }
    printf("allocation-failure points: %-28s %zu\n", c->fn, points);
    fflush(stdout);
    ck_assert_uint_gt(points, 0);
    tg_mnist_set_free(&call_set);
}

START_TEST(sweep_net_calls)
{
    sweep_dtype = TG_F64;
    sweep_net_call(_i);
}
END_TEST

/* The same calls on a float32 net. */
START_TEST(sweep_net_calls_f32)
{
    sweep_dtype = TG_F32;
    sweep_net_call(_i);
}
END_TEST

/* Checking mode: a matmul whose value overflows records TG_ERR_DOMAIN and
 * the add after it still runs.  When that add runs out of memory,
 * tg_affine drops both, and the error it leaves is the memory failure in
 * its own name: the checking message named a node that is gone.  The tape
 * is filled to each size up to 130 first, so that the add meets a growth
 * of the tape or of the tensor storage at one of them. */
START_TEST(sweep_affine_checking)
{
    static const double big[4] = { 1e200, 1e200, 1e200, 1e200 }, zero[2] = { 0, 0 };
    size_t points = 0, domain_then_nomem = 0;
    for (size_t pad = 0; pad <= 130; pad++) {
        for (int mode = MODE_AT; mode <= MODE_FROM; mode++) {
            for (size_t k = 1;; k++) {
                inj_alloc a;
                memset(&a, 0, sizeof a);
                tg_allocator al = inj_use(&a);
                tg_graph *g = tg_graph_new_with(&al);
                ck_assert_ptr_nonnull(g);
                tg_graph_set_checking(g, 1);
                for (size_t i = 0; i < pad; i++) tg_const(g, (double)i);
                tg_node x = tg_tensor_const(g, 2, 2, big);
                tg_node W = tg_tensor_var(g, "W", 2, 2, big);
                tg_node b = tg_tensor_var(g, "b", 1, 2, zero);
                ck_assert_graph_ok(g);
                tape_copy before;
                tape_copy_take(&before, g);
                if (mode == MODE_AT) a.fail_at = a.calls + k;
                else a.fail_from = a.calls + k;
                tg_node y = tg_affine(g, x, W, b);
                inj_stop_failing(&a);
                const char *msg = tg_graph_errmsg(g);
                if (tg_is_none(y)) {
                    ck_assert_msg(tg_graph_status(g) == TG_ERR_NOMEM, "pad %zu: status %d: %s", pad,
                                  (int)tg_graph_status(g), msg);
                    assert_in_name_of(msg, "tg_affine", "tg_affine in checking mode");
                    assert_tape_as(&before, g, "tg_affine in checking mode");
                    if (strcmp(msg, "tg_affine: out of memory") == 0) domain_then_nomem++;
                } else {
                    ck_assert_int_eq(tg_graph_status(g), TG_ERR_DOMAIN);
                    ck_assert_prefix(msg, "tg_matmul: ");
                    ck_assert_uint_eq(tg_graph_size(g), before.size + 2);
                }
                tape_copy_free(&before);
                tg_graph_free(g);
                ck_assert_int_eq(a.live, 0);
                if (a.failures == 0) break;
                points++;
            }
        }
    }
    printf("allocation-failure points: %-28s %zu (%zu after a non-finite value)\n",
           "tg_affine, checking mode", points, domain_then_nomem);
    fflush(stdout);
    ck_assert_uint_gt(domain_then_nomem, 0);
}
END_TEST

/* ------------------------------------------ tg_set_values, tg_grads */

/* Neither allocates: they check every handle, then copy values in or
 * gradients out, and a refusal is recorded in the graph's own message
 * buffer.  With every allocation after the graph's set-up failing they
 * succeed, refuse a bad handle as they otherwise would, and ask the
 * allocator for nothing. */
START_TEST(bulk_calls_allocate_nothing)
{
    enum { N = 100 };
    inj_alloc a;
    memset(&a, 0, sizeof a);
    tg_allocator al = inj_use(&a);
    tg_graph *g = tg_graph_new_with(&al), *ref = tg_graph_new();
    ck_assert_ptr_nonnull(g);
    ck_assert_ptr_nonnull(ref);
    tg_node x[N], xr[N], y = tg_const(g, 0.0), yr = tg_const(ref, 0.0);
    double v[N], out[N];
    for (int i = 0; i < N; i++) {
        x[i] = tg_var(g, NULL, 0.01 * i);
        xr[i] = tg_var(ref, NULL, 0.01 * i);
        v[i] = 0.5 - 0.007 * i;
    }
    for (int i = 0; i + 1 < N; i++) {
        y = tg_add(g, y, tg_mul(g, tg_sin(g, x[i]), x[i + 1]));
        yr = tg_add(ref, yr, tg_mul(ref, tg_sin(ref, xr[i]), xr[i + 1]));
    }
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_graph_ok(g);

    size_t calls = a.calls;
    a.fail_from = calls + 1;
    ck_assert_int_eq(tg_grads(g, N, x, out), TG_OK);
    for (int i = 0; i < N; i++) ck_assert(same_bits(out[i], tg_grad(g, x[i])));
    ck_assert_int_eq(tg_set_values(g, N, x, v), TG_OK);
    for (int i = 0; i < N; i++) ck_assert(same_bits(tg_value(g, x[i]), v[i]));
    tg_node keep = x[N / 2];
    x[N / 2] = TG_NONE;
    ck_assert_int_eq(tg_set_values(g, N, x, out), TG_ERR_HANDLE);
    char want[64];
    snprintf(want, sizeof want, "tg_set_values: x[%d] is the empty handle", N / 2);
    ck_assert_str_eq(tg_graph_errmsg(g), want);
    for (int i = 0; i < N; i++) ck_assert(i == N / 2 || same_bits(tg_value(g, x[i]), v[i]));
    ck_assert_int_eq(tg_grads(g, N, x, out), TG_ERR_HANDLE);
    ck_assert(isnan(out[N / 2]) && !isnan(out[0]) && !isnan(out[N - 1]));
    ck_assert_uint_eq(a.calls, calls);
    ck_assert_uint_eq(a.failures, 0);
    x[N / 2] = keep;

    /* The values set are those of the point where a graph set one by one
     * sweeps to the same gradients. */
    inj_stop_failing(&a);
    tg_graph_clear_error(g);
    for (int i = 0; i < N; i++) ck_assert_int_eq(tg_set_value(ref, xr[i], v[i]), TG_OK);
    ck_assert_int_eq(tg_backward(g, y), TG_OK);
    ck_assert_int_eq(tg_backward(ref, yr), TG_OK);
    ck_assert_int_eq(tg_grads(g, N, x, out), TG_OK);
    for (int i = 0; i < N; i++) ck_assert(same_bits(out[i], tg_grad(ref, xr[i])));
    ck_assert(same_bits(tg_value(g, y), tg_value(ref, yr)));
    tg_graph_free(ref);
    tg_graph_free(g);
    ck_assert_int_eq(a.live, 0);
    ck_assert_int_eq(a.bad_frees, 0);
}
END_TEST

/* --------------------------------------- malloc-based: MNIST, save/load */

static char dir[512];

/* A 3-image 2x2 set, as plain IDX and gzip. */
static void write_mnist_files(void)
{
    static const uint8_t img[16 + 12] = { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                          1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    static const uint8_t lab[8 + 3] = { 0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9 };
    char p[600];
    snprintf(p, sizeof p, "%s/img", dir);
    write_bytes(p, img, sizeof img, 0);
    snprintf(p, sizeof p, "%s/lab", dir);
    write_bytes(p, lab, sizeof lab, 0);
    snprintf(p, sizeof p, "%s/img.gz", dir);
    write_bytes(p, img, sizeof img, 1);
    snprintf(p, sizeof p, "%s/lab.gz", dir);
    write_bytes(p, lab, sizeof lab, 1);
}

/* Sweep over malloc failure points.  call makes only the library call:
 * an assertion allocates (Check reports through a pipe), so checks wait
 * in check() until the wrapper is disarmed. */
typedef struct malloc_case {
    tg_status (*call)(tg_error *err, void *ctx);
    void (*check)(tg_status s, void *ctx);
    void (*cleanup)(void *ctx);    /* frees what a success holds */
} malloc_case;

static size_t sweep_malloc(const char *name, const malloc_case *mc, void *ctx, const char *must_name)
{
    size_t points = 0;
    for (size_t k = 1;; k++) {
        ck_assert_msg(k < 10000, "%s: no end to the allocations", name);
        tg_error err;
        memset(&err, 0x55, sizeof err);
        wrap_arm(k);
        tg_status s = mc->call(&err, ctx);
        wrap_disarm();
        size_t failures = wrap_get()->failures;
        ck_assert_int_eq(err.status, s);
        if (s != TG_OK) {
            ck_assert_msg(s == TG_ERR_NOMEM, "%s, malloc %zu failing: status %d: %s", name, k,
                          (int)s, err.msg);
            ck_assert_msg(strstr(err.msg, must_name) != NULL, "%s: message \"%s\" does not name %s",
                          name, err.msg, must_name);
            ck_assert_msg(strstr(err.msg, "out of memory") != NULL, "%s: \"%s\"", name, err.msg);
            ck_assert_msg(wrap_get()->live == 0, "%s, malloc %zu failing: %ld blocks leaked",
                          name, k, wrap_get()->live);
        } else {
            ck_assert_str_eq(err.msg, "");
        }
        mc->check(s, ctx);
        if (s == TG_OK && mc->cleanup) mc->cleanup(ctx);
        ck_assert_msg(wrap_get()->live == 0, "%s: %ld blocks leaked after cleanup", name,
                      wrap_get()->live);
        if (failures == 0) {
            ck_assert_int_eq(s, TG_OK);
            break;
        }
        points++;
    }
    printf("allocation-failure points: %-28s %zu\n", name, points);
    fflush(stdout);
    return points;
}

typedef struct mnist_ctx { const char *img, *lab; tg_mnist_set set, before; } mnist_ctx;

static tg_status read_set(tg_error *err, void *ctx)
{
    mnist_ctx *c = ctx;
    return tg_mnist_read_set(c->img, c->lab, &c->set, err);
}

static void check_set(tg_status s, void *ctx)
{
    mnist_ctx *c = ctx;
    if (s != TG_OK) {
        ck_assert(memcmp(&c->before, &c->set, sizeof c->set) == 0);  /* unchanged */
    } else {
        ck_assert_uint_eq(c->set.count, 3);
        ck_assert_uint_eq(c->set.images[11], 12);
        ck_assert_uint_eq(c->set.labels[2], 9);
    }
}

static void free_set(void *ctx)
{
    mnist_ctx *c = ctx;
    tg_mnist_set_free(&c->set);
    memset(&c->set, 0xAB, sizeof c->set);
}

START_TEST(sweep_mnist)
{
    scratch_dir(dir, sizeof dir);
    write_mnist_files();
    char img[600], lab[600], imgz[600], labz[600];
    snprintf(img, sizeof img, "%s/img", dir);
    snprintf(lab, sizeof lab, "%s/lab", dir);
    snprintf(imgz, sizeof imgz, "%s/img.gz", dir);
    snprintf(labz, sizeof labz, "%s/lab.gz", dir);
    mnist_ctx c;
    c.img = img;
    c.lab = lab;
    memset(&c.set, 0xAB, sizeof c.set);
    c.before = c.set;
    const malloc_case mc = { read_set, check_set, free_set };
    size_t n = sweep_malloc("MNIST read, plain", &mc, &c, dir);
    c.img = imgz;
    c.lab = labz;
    n += sweep_malloc("MNIST read, gzip", &mc, &c, dir);
    ck_assert_uint_ge(n, 2);
    scratch_remove(dir);
}
END_TEST

typedef struct model_ctx {
    tg_net *net;
    char path[600];
    double saved[32], changed[32];
    tape_copy tape;        /* the net's tape before each call */
} model_ctx;

static tg_status save_model(tg_error *err, void *ctx)
{
    model_ctx *c = ctx;
    return tg_net_save(c->net, c->path, err);
}

static void check_save(tg_status s, void *ctx)
{
    model_ctx *c = ctx;
    assert_tape_as(&c->tape, tg_net_graph(c->net), "tg_net_save");   /* saving reads only */
    /* on failure no file, or an old complete one: never a partial one */
    FILE *f = fopen(c->path, "rb");
    if (s == TG_OK) ck_assert_ptr_nonnull(f);
    if (f) {
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fclose(f);
        ck_assert_int_eq(n, 48 + (long)tg_net_param_count(c->net) * 8 + 4);
    }
}

static tg_status load_model(tg_error *err, void *ctx)
{
    model_ctx *c = ctx;
    return tg_net_load(c->net, c->path, err);
}

static void check_load(tg_status s, void *ctx)
{
    model_ctx *c = ctx;
    double now[32];
    size_t n = tg_net_param_count(c->net);
    ck_assert_int_eq(tg_net_get_params(c->net, now), TG_OK);
    /* on failure exactly as it was; on success the values saved */
    ck_assert(memcmp(now, s == TG_OK ? c->saved : c->changed, n * sizeof *now) == 0);
    if (s != TG_OK) assert_tape_as(&c->tape, tg_net_graph(c->net), "tg_net_load");
    ck_assert_graph_ok(tg_net_graph(c->net));
    double *p = tg_tensor_data(tg_net_graph(c->net), tg_find(tg_net_graph(c->net), "W1"));
    memcpy(p, c->changed, n * sizeof *p);   /* the next run loads into the changed net */
}

START_TEST(sweep_model_io)
{
    scratch_dir(dir, sizeof dir);
    model_ctx c;
    memset(&c, 0, sizeof c);
    c.net = tg_net_new(3, 4, 2, 5);           /* 12 + 4 + 8 + 2 = 26 parameters */
    size_t count = tg_net_param_count(c.net);
    ck_assert_uint_le(count, 32);
    snprintf(c.path, sizeof c.path, "%s/net.tgn", dir);
    ck_assert_int_eq(tg_net_get_params(c.net, c.saved), TG_OK);
    double x[2 * 3] = { .1, .2, .3, .4, .5, .6 }, t[2 * 2] = { 1, 0, 0, 1 };
    ck_assert_int_eq(tg_net_batch(c.net, x, t, 2), TG_OK);
    tg_var(tg_net_graph(c.net), "extra", 1.5);    /* a node of the caller's after the batch */
    tape_copy_take(&c.tape, tg_net_graph(c.net));
    const malloc_case save = { save_model, check_save, NULL };
    size_t n = sweep_malloc("model save", &save, &c, "tg_net_save");
    /* The last run succeeded: the file is there.  Change the net; loading
     * must bring the saved values back, or on failure change nothing. */
    double *p = tg_tensor_data(tg_net_graph(c.net), tg_find(tg_net_graph(c.net), "W1"));
    for (size_t i = 0; i < count; i++) p[i] += 1.0;
    ck_assert_int_eq(tg_net_get_params(c.net, c.changed), TG_OK);
    tape_copy_free(&c.tape);
    tape_copy_take(&c.tape, tg_net_graph(c.net));
    const malloc_case load = { load_model, check_load, NULL };
    n += sweep_malloc("model load", &load, &c, c.path);
    ck_assert_uint_ge(n, 2);
    tape_copy_free(&c.tape);
    tg_net_free(c.net);
    scratch_remove(dir);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("sweeps");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sweep_apple);
    tcase_add_test(tc, sweep_composed);
    tcase_add_test(tc, sweep_parse);
    tcase_add_test(tc, sweep_tensor_steps);
    tcase_add_test(tc, sweep_net);
    tcase_add_loop_test(tc, sweep_net_calls, 0, NCALLS);
    tcase_add_loop_test(tc, sweep_net_calls_f32, 0, NCALLS);
    tcase_add_test(tc, sweep_affine_checking);
    tcase_add_test(tc, bulk_calls_allocate_nothing);
    tcase_add_test(tc, sweep_mnist);
    tcase_add_test(tc, sweep_model_io);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(alloc_suite());
}
