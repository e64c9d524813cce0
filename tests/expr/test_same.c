/*
 * tg_parse records the tape the equivalent C calls record.  Random
 * expression trees are printed as text (with the parentheses precedence
 * needs, and some it does not) and built with the C calls the header's
 * table gives for each form; the two tapes must agree node by node, to the
 * bit, in value and in gradient.  A table of hand-written forms checks the
 * precedence rules against C written by hand.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/expr.h>
#include <tapegrad/extend.h>

#include "rng.h"
#include "runner.h"
#include "same_tape.h"

/* ------------------------------------------------------- hand-written */

typedef struct form {
    const char *src;
    tg_node (*build)(tg_graph *g, tg_node x, tg_node y, tg_node z);
} form;

static tg_node f_neg_pow(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)y, (void)z;
    return tg_neg(g, tg_powc(g, x, 2));
}
static tg_node f_pow_neg(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)y, (void)z;
    tg_node two = tg_const(g, 2);
    return tg_pow(g, two, tg_neg(g, x));
}
static tg_node f_right_assoc(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    return tg_pow(g, x, tg_pow(g, y, z));
}
static tg_node f_mul_neg(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)z;
    return tg_mul(g, x, tg_neg(g, y));
}
static tg_node f_sub_neg(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)z;
    return tg_sub(g, x, tg_neg(g, y));
}
static tg_node f_div_neg_pow(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)z;
    return tg_div(g, x, tg_neg(g, tg_powc(g, y, 2)));
}
static tg_node f_left_assoc(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    return tg_sub(g, tg_sub(g, x, y), z);
}
static tg_node f_precedence(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    return tg_add(g, x, tg_div(g, tg_mul(g, y, z), x));
}
static tg_node f_literals(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)y, (void)z;
    tg_node a = tg_const(g, -2.5);
    tg_node b = tg_mul(g, a, x);
    tg_node c = tg_neg(g, tg_powc(g, tg_const(g, 2), 2));
    return tg_add(g, b, tg_powc(g, c, -0.5));
}
static tg_node f_neg_paren(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)y, (void)z;
    tg_node a = tg_neg(g, tg_const(g, 1e-3));
    return tg_pow(g, x, tg_neg(g, a));
}
static tg_node f_calls(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    tg_node a = tg_atan2(g, y, tg_sin(g, x));
    tg_node b = tg_sigmoid_decomposed(g, z);
    return tg_max(g, a, tg_powc(g, b, 3));
}
static tg_node f_unary_plus(tg_graph *g, tg_node x, tg_node y, tg_node z)
{
    (void)z;
    return tg_mul(g, x, tg_neg(g, y));
}

static const form forms[] = {
    { "-x^2", f_neg_pow },
    { "2^-x", f_pow_neg },
    { "x^y^z", f_right_assoc },
    { "x*-y", f_mul_neg },
    { "x - -y", f_sub_neg },
    { "x / -y^2", f_div_neg_pow },
    { "x - y - z", f_left_assoc },
    { "x + y*z/x", f_precedence },
    { "-2.5*x + (-2^2)^-0.5", f_literals },
    { "x^-(-(1e-3))", f_neg_paren },
    { "max(atan2(y, sin(x)), powc(sigmoid_decomposed(z), 3))", f_calls },
    { "+x * +-+y", f_unary_plus },
};

START_TEST(forms_record_what_the_header_says)
{
    const form *f = &forms[_i];
    tg_graph *a = tg_graph_new(), *b = tg_graph_new();
    tg_node xa = tg_var(a, "x", 0.7), ya = tg_var(a, "y", 1.3), za = tg_var(a, "z", -0.4);
    tg_node xb = tg_var(b, "x", 0.7), yb = tg_var(b, "y", 1.3), zb = tg_var(b, "z", -0.4);
    (void)xa, (void)ya, (void)za;
    tg_node pa = tg_parse(a, f->src);
    tg_node pb = f->build(b, xb, yb, zb);
    ck_assert_graph_ok(a);
    ck_assert_graph_ok(b);
    ck_assert_int_eq(tg_backward(a, pa), TG_OK);
    ck_assert_int_eq(tg_backward(b, pb), TG_OK);
    char why[256];
    const char *d = tape_difference(a, b, why, sizeof why);
    ck_assert_msg(d == NULL, "%s: %s", f->src, d);
    tg_graph_free(a);
    tg_graph_free(b);
}
END_TEST

/* ------------------------------------------------------- random trees */

typedef enum kind { NUM, NAME, ADD, SUB, MUL, DIV, POW, NEG, PLUS, CALL } kind;

typedef struct fn1 { const char *name; tg_node (*f)(tg_graph *, tg_node); } fn1;
typedef struct fn2 { const char *name; tg_node (*f)(tg_graph *, tg_node, tg_node); } fn2;
static const fn1 unary_fns[] = {
    { "exp", tg_exp }, { "log", tg_log }, { "sin", tg_sin }, { "tanh", tg_tanh },
    { "sigmoid", tg_sigmoid }, { "relu", tg_relu }, { "sqrt", tg_sqrt }, { "abs", tg_abs },
    { "softplus", tg_softplus }, { "recip", tg_recip }, { "neg", tg_neg },
    { "sigmoid_decomposed", tg_sigmoid_decomposed }, { "erf", tg_erf }, { "log1p", tg_log1p },
};
static const fn2 binary_fns[] = {
    { "atan2", tg_atan2 }, { "hypot", tg_hypot }, { "min", tg_min }, { "max", tg_max },
    { "pow", tg_pow }, { "add", tg_add }, { "mul", tg_mul }, { "sub", tg_sub }, { "div", tg_div },
};
enum { NU = sizeof unary_fns / sizeof unary_fns[0], NB = sizeof binary_fns / sizeof binary_fns[0] };
static const char *const var_names[] = { "x", "y", "z", "w_2" };

typedef struct ast {
    kind k;
    int paren;            /* printed in parentheses */
    double num;           /* NUM */
    int which;            /* NAME: var_names; CALL: < NU unary, else binary */
    struct ast *a, *b;
} ast;

static int prec(const ast *t)
{
    if (t->paren) return 5;
    switch (t->k) {
    case NUM: case NAME: case CALL: return 5;
    case POW: return 4;
    case NEG: case PLUS: return 3;
    case MUL: case DIV: return 2;
    case ADD: case SUB: return 1;
    }
    return 0;
}

/* Give child the parentheses its place needs, and now and then more. */
static ast *placed(uint64_t *rng, ast *child, int min_prec)
{
    if (prec(child) < min_prec || rng_below(rng, 8) == 0) child->paren = 1;
    return child;
}

static ast *gen(uint64_t *rng, int depth)
{
    ast *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    int leaf = depth == 0 || rng_below(rng, 4) == 0;
    t->k = leaf ? (rng_below(rng, 3) ? NAME : NUM) : (kind)(ADD + rng_below(rng, CALL - ADD + 1));
    switch (t->k) {
    case NUM: {
        static const char *const shapes[] = { "%.17g", "%.3f", "%.2e", "%.0f" };
        char buf[64];
        snprintf(buf, sizeof buf, shapes[rng_below(rng, 4)], rng_uniform(rng, 0, 4));
        t->num = strtod(buf, NULL);
        break;
    }
    case NAME: t->which = (int)rng_below(rng, 4); break;
    case ADD: case SUB:
        t->a = placed(rng, gen(rng, depth - 1), 1);
        t->b = placed(rng, gen(rng, depth - 1), 2);
        break;
    case MUL: case DIV:
        t->a = placed(rng, gen(rng, depth - 1), 2);
        t->b = placed(rng, gen(rng, depth - 1), 3);
        break;
    case POW:
        t->a = placed(rng, gen(rng, depth - 1), 5);
        t->b = placed(rng, gen(rng, depth - 1), 3);
        break;
    case NEG: case PLUS:
        t->a = placed(rng, gen(rng, depth - 1), 3);
        break;
    case CALL:
        t->which = (int)rng_below(rng, NU + NB);
        t->a = placed(rng, gen(rng, depth - 1), 1);
        if (t->which >= NU) t->b = placed(rng, gen(rng, depth - 1), 1);
        break;
    }
    return t;
}

static void drop(ast *t)
{
    if (!t) return;
    drop(t->a);
    drop(t->b);
    free(t);
}

typedef struct text { char *s; size_t n, cap; } text;

static void put(text *o, const char *s)
{
    size_t k = strlen(s);
    if (o->n + k + 1 > o->cap) {
        o->cap = 2 * (o->n + k + 1);
        o->s = realloc(o->s, o->cap);
        ck_assert_ptr_nonnull(o->s);
    }
    memcpy(o->s + o->n, s, k + 1);
    o->n += k;
}

static void print(uint64_t *rng, const ast *t, text *o)
{
    static const char *const spaced[] = { [ADD] = " + ", [SUB] = " - ", [MUL] = " * ", [DIV] = " / ", [POW] = " ^ " };
    static const char *const tight[] = { [ADD] = "+", [SUB] = "-", [MUL] = "*", [DIV] = "/", [POW] = "^" };
    char buf[64];
    if (t->paren) put(o, "(");
    switch (t->k) {
    case NUM: snprintf(buf, sizeof buf, "%.17g", t->num); put(o, buf); break;
    case NAME: put(o, var_names[t->which]); break;
    case ADD: case SUB: case MUL: case DIV: case POW:
        print(rng, t->a, o);
        put(o, rng_below(rng, 2) ? spaced[t->k] : tight[t->k]);
        print(rng, t->b, o);
        break;
    case NEG: case PLUS:
        put(o, t->k == NEG ? "-" : "+");
        print(rng, t->a, o);
        break;
    case CALL:
        put(o, t->which < NU ? unary_fns[t->which].name : binary_fns[t->which - NU].name);
        put(o, "(");
        print(rng, t->a, o);
        if (t->b) {
            put(o, rng_below(rng, 2) ? ", " : ",\n  ");
            print(rng, t->b, o);
        }
        put(o, ")");
        break;
    }
    if (t->paren) put(o, ")");
}

/* A number, with any signs before it, not in parentheses: what the parser
 * reads as one signed literal. */
static int literal(const ast *t, double *v)
{
    if (t->paren) return 0;
    if (t->k == NUM) return *v = t->num, 1;
    if ((t->k == NEG || t->k == PLUS) && literal(t->a, v)) {
        if (t->k == NEG) *v = -*v;
        return 1;
    }
    return 0;
}

/* The C calls of the header's table, operands first, left to right. */
static tg_node build(tg_graph *g, const ast *t)
{
    double k;
    switch (t->k) {
    case NUM: return tg_const(g, t->num);
    case NAME: return tg_find(g, var_names[t->which]);
    case NEG:
        if (t->a->k == NUM && !t->a->paren) return tg_const(g, -t->a->num);
        return tg_neg(g, build(g, t->a));
    case PLUS: return build(g, t->a);
    case POW: {
        tg_node a = build(g, t->a);
        if (literal(t->b, &k)) return tg_powc(g, a, k);
        return tg_pow(g, a, build(g, t->b));
    }
    case ADD: case SUB: case MUL: case DIV: {
        tg_node a = build(g, t->a);
        tg_node b = build(g, t->b);
        return t->k == ADD ? tg_add(g, a, b) : t->k == SUB ? tg_sub(g, a, b)
             : t->k == MUL ? tg_mul(g, a, b) : tg_div(g, a, b);
    }
    case CALL: {
        tg_node a = build(g, t->a);
        if (t->which < NU) return unary_fns[t->which].f(g, a);
        tg_node b = build(g, t->b);
        return binary_fns[t->which - NU].f(g, a, b);
    }
    }
    return TG_NONE;
}

static void add_vars(tg_graph *g, const double *v)
{
    for (int i = 0; i < 4; i++) tg_var(g, var_names[i], v[i]);
}

START_TEST(random_expressions_give_the_c_tape_bit_for_bit)
{
    uint64_t rng = 20261123;
    size_t nodes = 0, nonfinite = 0;
    enum { CASES = 3000 };
    for (int c = 0; c < CASES; c++) {
        double v[4];
        rng_fill(&rng, v, 4, -2.0, 3.0);
        ast *t = gen(&rng, 1 + (int)rng_below(&rng, 6));
        tg_graph *a = tg_graph_new(), *b = tg_graph_new();
        add_vars(a, v);
        add_vars(b, v);
        tg_node pb = build(b, t);
        ck_assert_graph_ok(b);
        /* a statement "f = ..." names the node, when one was recorded */
        text src = { 0 };
        double k;
        if (tg_graph_size(b) > 4 && !literal(t, &k) && rng_below(&rng, 3) == 0) {
            put(&src, "f = ");
            ck_assert_int_eq(tg_node_set_name(b, pb, "f"), TG_OK);
        }
        print(&rng, t, &src);
        tg_node pa = tg_parse(a, src.s);
        ck_assert_msg(tg_graph_status(a) == TG_OK, "%s: %s", src.s, tg_graph_errmsg(a));
        ck_assert_uint_eq(pa.id, pb.id);
        tg_backward(a, pa);
        tg_backward(b, pb);
        char why[256];
        const char *d = tape_difference(a, b, why, sizeof why);
        ck_assert_msg(d == NULL, "%s\n  %s", src.s, d);
        nodes += tg_graph_size(a);
        nonfinite += !isfinite(tg_value(a, pa));
        tg_graph_free(a);
        tg_graph_free(b);
        free(src.s);
        drop(t);
    }
    printf("random expressions: %d, %zu nodes, %zu of non-finite value, all bit for bit\n", CASES,
           nodes, nonfinite);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("expr-same");
    TCase *tc = tcase_create("same");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, forms_record_what_the_header_says, 0, sizeof forms / sizeof forms[0]);
    tcase_add_test(tc, random_expressions_give_the_c_tape_bit_for_bit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(suite()); }
