/*
 * The five calls' errors: bad handles as everywhere (TG_ERR_HANDLE,
 * TG_ERR_STALE), a constant or op node where a variable is required
 * (TG_ERR_ARG), a tensor output for tg_hvp and tg_hessian (TG_ERR_SHAPE),
 * NULL arrays with non-zero counts and counts whose sizes overflow
 * (TG_ERR_ARG).  Each is returned and recorded on the graph, the message
 * starts with the function's name, the output array keeps its sentinel,
 * and once the error is cleared the same call with good arguments works.
 * A NULL graph is TG_ERR_ARG and nothing written.  An error standing on
 * the graph from before does not stop the call and is not overwritten.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "runner.h"
#include "second.h"

typedef enum which { JVP, VJP, JACOBIAN, HVP, HESSIAN } which;
static const char *const fn_names[] = { "tg_jvp", "tg_vjp", "tg_jacobian", "tg_hvp", "tg_hessian" };

enum { CAP = 64 };

/* The graph every case starts from. */
typedef struct fx {
    tg_graph *g, *other;
    tg_node a, b, T, c, tc, op, top, foreign, stale;
    tg_node big;             /* a 1000 x 1000 tensor variable */
    tg_node x[2], y[2];      /* good: x = {a, T} (N = 5), y = {op, top} (M = 5) */
    double v[CAP], w[CAP];
    double out[CAP * CAP];
} fx;

static const double T4[4] = { 0.5, -1, 2, 0.25 };

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->g = tg_graph_new();
    f->other = tg_graph_new();
    ck_assert(f->g && f->other);
    tg_graph *g = f->g;
    size_t m = tg_graph_mark(g);
    for (int i = 0; i < 30; i++) tg_var(g, NULL, 1.0);
    f->stale = tg_var(g, NULL, 1.0);      /* id past what is recorded below */
    tg_graph_rewind(g, m);
    f->a = tg_var(g, "a", 0.5);
    f->b = tg_var(g, "b", -1.5);
    f->T = tg_tensor_var(g, "T", 2, 2, T4);
    f->c = tg_const(g, 3.0);
    f->tc = tg_tensor_const(g, 2, 2, T4);
    f->op = tg_add(g, tg_mul(g, tg_mul(g, f->a, f->b), f->a), tg_sum(g, tg_mul(g, f->T, f->T)));
    f->top = tg_exp(g, tg_mul(g, f->T, f->a));
    f->big = tg_tensor_var(g, "big", 1000, 1000, NULL);
    ck_assert_graph_ok(g);
    ck_assert_uint_ge(f->stale.id, tg_graph_size(g));
    for (int i = 0; i < 8; i++) tg_var(f->other, NULL, i);
    f->foreign = tg_node_at(f->other, 2);
    f->x[0] = f->a;
    f->x[1] = f->T;
    f->y[0] = f->op;
    f->y[1] = f->top;
    for (int i = 0; i < CAP; i++) f->v[i] = f->w[i] = 1.0 + i;
}

static void fx_done(fx *f)
{
    tg_graph_free(f->g);
    tg_graph_free(f->other);
}

/* One call's arguments. */
typedef struct args {
    tg_graph *g;
    size_t n, m;
    const tg_node *x, *y;
    tg_node yscalar;
    const double *v, *w;
    double *out;
} args;

static args good_args(fx *f, which k)
{
    args a = { f->g, 2, 2, f->x, f->y, f->op, f->v, f->w, f->out };
    if (k == HVP || k == HESSIAN) a.m = 1;
    return a;
}

static tg_status call(which k, const args *a)
{
    switch (k) {
    case JVP:      return tg_jvp(a->g, a->n, a->x, a->v, a->m, a->y, a->out);
    case VJP:      return tg_vjp(a->g, a->m, a->y, a->w, a->n, a->x, a->out);
    case JACOBIAN: return tg_jacobian(a->g, a->m, a->y, a->n, a->x, a->out);
    case HVP:      return tg_hvp(a->g, a->yscalar, a->n, a->x, a->v, a->out);
    case HESSIAN:  return tg_hessian(a->g, a->yscalar, a->n, a->x, a->out);
    }
    return TG_OK;
}

/* The misuses.  Each edits the good arguments; applies says for which call. */
typedef struct misuse {
    const char *what;
    unsigned applies;   /* bit per which */
    tg_status st;
    void (*edit)(fx *f, args *a, tg_node *xs, tg_node *ys);
} misuse;

#define ALL ((1u << JVP) | (1u << VJP) | (1u << JACOBIAN) | (1u << HVP) | (1u << HESSIAN))
#define WITH_Y_LIST ((1u << JVP) | (1u << VJP) | (1u << JACOBIAN))
#define SCALAR_Y ((1u << HVP) | (1u << HESSIAN))

static void x_with(args *a, tg_node *xs, tg_node h) { xs[0] = a->x[0]; xs[1] = h; a->x = xs; }
static void y_with(args *a, tg_node *ys, tg_node h) { ys[0] = a->y[0]; ys[1] = h; a->y = ys; a->yscalar = h; }

static void e_x_none(fx *f, args *a, tg_node *xs, tg_node *ys)    { (void)f; (void)ys; x_with(a, xs, TG_NONE); }
static void e_x_foreign(fx *f, args *a, tg_node *xs, tg_node *ys) { (void)ys; x_with(a, xs, f->foreign); }
static void e_x_stale(fx *f, args *a, tg_node *xs, tg_node *ys)   { (void)ys; x_with(a, xs, f->stale); }
static void e_x_const(fx *f, args *a, tg_node *xs, tg_node *ys)   { (void)ys; x_with(a, xs, f->c); }
static void e_x_tconst(fx *f, args *a, tg_node *xs, tg_node *ys)  { (void)ys; x_with(a, xs, f->tc); }
static void e_x_op(fx *f, args *a, tg_node *xs, tg_node *ys)      { (void)ys; x_with(a, xs, f->op); }
static void e_x_top(fx *f, args *a, tg_node *xs, tg_node *ys)     { (void)ys; x_with(a, xs, f->top); }
static void e_y_none(fx *f, args *a, tg_node *xs, tg_node *ys)    { (void)f; (void)xs; y_with(a, ys, TG_NONE); }
static void e_y_foreign(fx *f, args *a, tg_node *xs, tg_node *ys) { (void)xs; y_with(a, ys, f->foreign); }
static void e_y_stale(fx *f, args *a, tg_node *xs, tg_node *ys)   { (void)xs; y_with(a, ys, f->stale); }
static void e_y_tensor(fx *f, args *a, tg_node *xs, tg_node *ys)  { (void)xs; y_with(a, ys, f->top); }
static void e_y_tensor_var(fx *f, args *a, tg_node *xs, tg_node *ys) { (void)xs; y_with(a, ys, f->T); }
static void e_x_null(fx *f, args *a, tg_node *xs, tg_node *ys)    { (void)f; (void)xs; (void)ys; a->x = NULL; }
static void e_y_null(fx *f, args *a, tg_node *xs, tg_node *ys)    { (void)f; (void)xs; (void)ys; a->y = NULL; }
static void e_v_null(fx *f, args *a, tg_node *xs, tg_node *ys)    { (void)f; (void)xs; (void)ys; a->v = NULL; }
static void e_w_null(fx *f, args *a, tg_node *xs, tg_node *ys)    { (void)f; (void)xs; (void)ys; a->w = NULL; }
static void e_out_null(fx *f, args *a, tg_node *xs, tg_node *ys)  { (void)f; (void)xs; (void)ys; a->out = NULL; }

/* Entry counts that overflow: a 1000 x 1000 tensor listed 5000 times is
 * N = 5e9 entries, and N x N (or M x N) doubles are past SIZE_MAX.  (A
 * handle listed twice counts twice.) */
enum { REPEAT = 5000 };
static tg_node many[REPEAT];
static void fill_many(tg_node h)
{
    for (int i = 0; i < REPEAT; i++) many[i] = h;
}
static void e_n_square_overflows(fx *f, args *a, tg_node *xs, tg_node *ys)
{
    (void)xs; (void)ys;
    fill_many(f->big);
    a->x = many;
    a->n = REPEAT;
}
static void e_mn_overflows(fx *f, args *a, tg_node *xs, tg_node *ys)
{
    (void)xs; (void)ys;
    fill_many(f->big);
    a->x = many;
    a->y = many;
    a->n = a->m = REPEAT;
}

static const misuse misuses[] = {
    { "x holds the empty handle", ALL, TG_ERR_HANDLE, e_x_none },
    { "x holds a node of another graph", ALL, TG_ERR_HANDLE, e_x_foreign },
    { "x holds a node dropped by a rewind", ALL, TG_ERR_STALE, e_x_stale },
    { "x holds a constant", ALL, TG_ERR_ARG, e_x_const },
    { "x holds a tensor constant", ALL, TG_ERR_ARG, e_x_tconst },
    { "x holds an op node", ALL, TG_ERR_ARG, e_x_op },
    { "x holds a tensor op node", ALL, TG_ERR_ARG, e_x_top },
    { "y is the empty handle", ALL, TG_ERR_HANDLE, e_y_none },
    { "y is a node of another graph", ALL, TG_ERR_HANDLE, e_y_foreign },
    { "y is a node dropped by a rewind", ALL, TG_ERR_STALE, e_y_stale },
    { "y is a tensor op", SCALAR_Y, TG_ERR_SHAPE, e_y_tensor },
    { "y is a tensor variable", SCALAR_Y, TG_ERR_SHAPE, e_y_tensor_var },
    { "x is NULL", ALL, TG_ERR_ARG, e_x_null },
    { "y is NULL", WITH_Y_LIST, TG_ERR_ARG, e_y_null },
    { "v is NULL", (1u << JVP) | (1u << HVP), TG_ERR_ARG, e_v_null },
    { "w is NULL", 1u << VJP, TG_ERR_ARG, e_w_null },
    { "the output is NULL", ALL, TG_ERR_ARG, e_out_null },
    { "N x N doubles overflow", 1u << HESSIAN, TG_ERR_ARG, e_n_square_overflows },
    { "M x N doubles overflow", 1u << JACOBIAN, TG_ERR_ARG, e_mn_overflows },
};
enum { NMISUSES = sizeof misuses / sizeof misuses[0] };

/* Flattened (misuse, call) pairs that apply. */
static struct { int m; which k; } cases[NMISUSES * 5];
static int ncases;

START_TEST(misuse_is_refused)
{
    const misuse *mu = &misuses[cases[_i].m];
    which k = cases[_i].k;
    fx f;
    fx_init(&f);
    args a = good_args(&f, k);
    tg_node xs[2], ys[2];
    mu->edit(&f, &a, xs, ys);
    fill_sentinel(f.out, CAP * CAP);
    size_t size0 = tg_graph_size(f.g);
    tg_status st = call(k, &a);
    char what[160];
    snprintf(what, sizeof what, "%s, %s", fn_names[k], mu->what);
    ck_assert_msg(st == mu->st, "%s: returned %d (%s: \"%s\"), expected %d", what, (int)st, tg_status_str(st),
                  tg_graph_errmsg(f.g), (int)mu->st);
    ck_assert_msg(tg_graph_status(f.g) == st, "%s: recorded %d, returned %d", what, (int)tg_graph_status(f.g),
                  (int)st);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s: ", fn_names[k]);
    ck_assert_msg(strncmp(tg_graph_errmsg(f.g), prefix, strlen(prefix)) == 0 &&
                      strlen(tg_graph_errmsg(f.g)) > strlen(prefix) + 4,
                  "%s: message \"%s\"", what, tg_graph_errmsg(f.g));
    ck_assert_msg(all_sentinel(f.out, CAP * CAP), "%s: the output was written on failure", what);
    ck_assert_uint_eq(tg_graph_size(f.g), size0);
    /* with the error cleared the call works, and the graph too */
    tg_graph_clear_error(f.g);
    args good = good_args(&f, k);
    ck_assert_msg(call(k, &good) == TG_OK, "%s then good arguments: %s", what, tg_graph_errmsg(f.g));
    ck_assert_int_eq(tg_backward(f.g, f.op), TG_OK);
    ck_assert_double_eq(tg_grad(f.g, f.b), 0.25);   /* d (a b a) / db = a^2 */
    fx_done(&f);
}
END_TEST

START_TEST(null_graph)
{
    fx f;
    fx_init(&f);
    for (which k = JVP; k <= HESSIAN; k++) {
        args a = good_args(&f, k);
        a.g = NULL;
        fill_sentinel(f.out, CAP * CAP);
        ck_assert_int_eq(call(k, &a), TG_ERR_ARG);
        ck_assert_msg(all_sentinel(f.out, CAP * CAP), "%s(NULL graph) wrote its output", fn_names[k]);
    }
    ck_assert_graph_ok(f.g);
    fx_done(&f);
}
END_TEST

/* Each call with good arguments writes exactly its N, M, M x N or N x N
 * entries and nothing past them. */
START_TEST(writes_exactly_its_entries)
{
    fx f;
    fx_init(&f);
    const size_t sizes[] = { 5, 5, 25, 5, 25 };   /* M = N = 5 */
    for (which k = JVP; k <= HESSIAN; k++) {
        args a = good_args(&f, k);
        fill_sentinel(f.out, CAP * CAP);
        ck_assert_int_eq(call(k, &a), TG_OK);
        for (size_t i = 0; i < sizes[k]; i++)
            ck_assert_msg(!all_sentinel(&f.out[i], 1), "%s left entry %zu unwritten", fn_names[k], i);
        ck_assert_msg(all_sentinel(f.out + sizes[k], CAP * CAP - sizes[k]), "%s wrote past its %zu entries",
                      fn_names[k], sizes[k]);
    }
    fx_done(&f);
}
END_TEST

/* An error standing from before is the one kept: a call that fails then
 * returns its own status and writes nothing, but does not overwrite the
 * first message. */
START_TEST(first_error_sticks)
{
    fx f;
    fx_init(&f);
    tg_add(f.g, f.a, f.foreign);
    ck_assert_int_eq(tg_graph_status(f.g), TG_ERR_HANDLE);
    char first[512];
    snprintf(first, sizeof first, "%s", tg_graph_errmsg(f.g));
    for (which k = JVP; k <= HESSIAN; k++) {
        args a = good_args(&f, k);
        tg_node xs[2], ys[2];
        e_x_const(&f, &a, xs, ys);
        fill_sentinel(f.out, CAP * CAP);
        ck_assert_int_eq(call(k, &a), TG_ERR_ARG);
        ck_assert_msg(all_sentinel(f.out, CAP * CAP), "%s wrote on failure", fn_names[k]);
        ck_assert_graph_error(f.g, TG_ERR_HANDLE, first);
    }
    fx_done(&f);
}
END_TEST

int main(void)
{
    ncases = 0;
    for (int m = 0; m < NMISUSES; m++)
        for (which k = JVP; k <= HESSIAN; k++)
            if (misuses[m].applies & (1u << k)) {
                cases[ncases].m = m;
                cases[ncases].k = k;
                ncases++;
            }
    Suite *s = suite_create("second-errors");
    TCase *tc = tcase_create("errors");
    tcase_add_loop_test(tc, misuse_is_refused, 0, ncases);
    tcase_add_test(tc, null_graph);
    tcase_add_test(tc, writes_exactly_its_entries);
    tcase_add_test(tc, first_error_sticks);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
