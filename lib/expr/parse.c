/*
 * tg_parse: recursive descent over the grammar in tapegrad/expr.h,
 * recording each operation as soon as its operands are read, through the
 * public builders only, so the tape is the one the equivalent C calls
 * make.  The recursion is bounded by TG_PARSE_MAX_DEPTH (counted where
 * every nesting passes: unary), and a failure undoes what the parse
 * recorded (tg_graph_undo), so the tape is all or nothing.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <tapegrad/expr.h>
#include <tapegrad/extend.h>

#include "funcs.h"
#include "lexer.h"

enum { NAME_BUF = 256 };

typedef struct parser {
    tg_graph *g;
    lexer lx;
    token tok;          /* the current token */
    int parens;         /* open parentheses: a newline inside them is a space */
    int depth;
    tg_status before;   /* g's status when the parse began */
    bool failed;
    tg_status status;   /* the failure, kept here until the tape is undone */
    char msg[256];
} parser;

/* ------------------------------------------------------------ errors */

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static tg_node fail_at(parser *p, const token *at, tg_status s, const char *fmt, ...)
{
    if (p->failed) return TG_NONE;
    p->failed = true;
    p->status = s;
    int n = snprintf(p->msg, sizeof p->msg, "%u:%u: ", at->line, at->col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->msg + n, sizeof p->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return TG_NONE;
}

static tg_node expected(parser *p, const char *what)
{
    char got[64];
    token_describe(&p->tok, got, sizeof got);
    return fail_at(p, &p->tok, TG_ERR_FORMAT, "expected %s, got %s", what, got);
}

/* A builder's result: its error, if it recorded one, becomes the parse's
 * at the token that called it. */
static tg_node recorded(parser *p, const token *at, tg_node n)
{
    tg_status now = tg_graph_status(p->g);
    if (!tg_is_none(n) && (p->before != TG_OK || now == TG_OK)) return n;
    if (p->before == TG_OK && now != TG_OK)
        return fail_at(p, at, now, "%s", tg_graph_errmsg(p->g));
    return fail_at(p, at, TG_ERR_HANDLE, "a builder failed under an earlier error");
}

/* ------------------------------------------------------------ tokens */

/* A token no rule accepts is an error as soon as it is current. */
static void report_bad(parser *p)
{
    if (p->tok.kind != TOK_BAD) return;
    char got[64];
    token_describe(&p->tok, got, sizeof got);
    fail_at(p, &p->tok, TG_ERR_FORMAT, "%s %s", p->tok.why, got);
}

static void next(parser *p)
{
    do p->tok = lexer_next(&p->lx);
    while (p->tok.kind == TOK_NEWLINE && p->parens > 0);
    report_bad(p);
}

/* The token after the current one, without moving. */
static token peek(const parser *p)
{
    parser q = *p;
    q.failed = true;  /* a bad token ahead is reported when reached */
    next(&q);
    return q.tok;
}

static bool name_of(parser *p, const token *t, char *buf)
{
    if (t->len >= NAME_BUF) {
        fail_at(p, t, TG_ERR_FORMAT, "a name longer than %d characters", NAME_BUF - 1);
        return false;
    }
    memcpy(buf, t->text, t->len);
    buf[t->len] = '\0';
    return true;
}

/* A number with any signs before it, not raised to a power: the value, and
 * the tokens consumed.  False (nothing consumed) for anything else. */
static bool signed_literal(parser *p, double *value)
{
    parser q = *p;
    q.failed = true;
    double sign = 1.0;
    while (q.tok.kind == TOK_PLUS || q.tok.kind == TOK_MINUS) {
        if (q.tok.kind == TOK_MINUS) sign = -sign;
        next(&q);
    }
    if (q.tok.kind != TOK_NUMBER) return false;
    double v = sign * q.tok.number;
    next(&q);
    if (q.tok.kind == TOK_CARET) return false;
    *value = v;
    q.failed = p->failed;
    *p = q;
    report_bad(p);
    return true;
}

/* ------------------------------------------------------------ grammar */

static bool statement_end(tok_kind k)
{
    return k == TOK_END || k == TOK_SEMI || k == TOK_NEWLINE;
}

/* The ')' of the '(' at open; past the end of a statement nothing else
 * can come, so the message does not say what came. */
static bool close_paren(parser *p, const token *open)
{
    if (p->failed) return false;
    if (p->tok.kind != TOK_RPAREN) {
        char what[64];
        snprintf(what, sizeof what, "')' to close '(' at %u:%u", open->line, open->col);
        if (statement_end(p->tok.kind)) fail_at(p, &p->tok, TG_ERR_FORMAT, "expected %s", what);
        else expected(p, what);
        return false;
    }
    p->parens--;
    next(p);
    return true;
}

static tg_node expr(parser *p);
static tg_node unary(parser *p);

static tg_node call(parser *p, const token *fname)
{
    char name[NAME_BUF];
    if (!name_of(p, fname, name)) return TG_NONE;
    const expr_func *f = expr_func_find(fname->text, fname->len);
    const tg_custom_op *op = f ? NULL : tg_custom_lookup(p->g, name);
    bool powc = !strcmp(name, "powc");
    if (!f && !op && !powc) return fail_at(p, fname, TG_ERR_NAME, "unknown function '%s'", name);

    token open = p->tok;
    p->parens++;
    next(p);
    tg_node x[TG_CUSTOM_MAX_ARITY];
    size_t nargs = 0;
    double k = 0.0;
    for (;;) {
        if (powc && nargs == 1) {
            if (!signed_literal(p, &k)) return expected(p, "a number as powc's exponent");
        } else {
            tg_node a = expr(p);
            if (p->failed) return TG_NONE;
            if (nargs < TG_CUSTOM_MAX_ARITY) x[nargs] = a;
        }
        nargs++;
        if (p->tok.kind != TOK_COMMA) break;
        next(p);
    }
    if (!close_paren(p, &open)) return TG_NONE;

    size_t arity = powc ? 2 : f ? f->arity : op->arity;
    if (nargs != arity)
        return fail_at(p, fname, TG_ERR_FORMAT, "%s takes %zu argument%s, got %zu", name, arity,
                       arity == 1 ? "" : "s", nargs);
    if (powc) return recorded(p, fname, tg_powc(p->g, x[0], k));
    if (op) return recorded(p, fname, tg_custom(p->g, op, x));
    return recorded(p, fname, arity == 1 ? f->unary(p->g, x[0]) : f->binary(p->g, x[0], x[1]));
}

static tg_node primary(parser *p)
{
    token t = p->tok;
    switch (t.kind) {
    case TOK_NUMBER:
        next(p);
        return recorded(p, &t, tg_const(p->g, t.number));
    case TOK_NAME: {
        next(p);
        if (p->tok.kind == TOK_LPAREN) return call(p, &t);
        char name[NAME_BUF];
        if (!name_of(p, &t, name)) return TG_NONE;
        tg_node n = tg_find(p->g, name);
        if (tg_is_none(n)) return fail_at(p, &t, TG_ERR_NAME, "unknown name '%s'", name);
        return n;
    }
    case TOK_LPAREN: {
        p->parens++;
        next(p);
        tg_node a = expr(p);
        return close_paren(p, &t) ? a : TG_NONE;
    }
    case TOK_END: case TOK_NEWLINE: case TOK_SEMI: case TOK_PLUS: case TOK_MINUS:
    case TOK_STAR: case TOK_SLASH: case TOK_CARET: case TOK_RPAREN: case TOK_COMMA:
    case TOK_EQUALS: case TOK_BAD:
        break;
    }
    return expected(p, "a number, a name or '('");
}

static tg_node power(parser *p)
{
    tg_node a = primary(p);
    if (p->failed || p->tok.kind != TOK_CARET) return a;
    token caret = p->tok;
    next(p);
    double k;
    if (signed_literal(p, &k)) return recorded(p, &caret, tg_powc(p->g, a, k));
    tg_node b = unary(p);
    if (p->failed) return TG_NONE;
    return recorded(p, &caret, tg_pow(p->g, a, b));
}

static tg_node unary(parser *p)
{
    if (p->failed) return TG_NONE;
    if (p->depth >= TG_PARSE_MAX_DEPTH)
        return fail_at(p, &p->tok, TG_ERR_FORMAT, "nested deeper than %d levels", TG_PARSE_MAX_DEPTH);
    p->depth++;
    tg_node r;
    token sign = p->tok;
    if (sign.kind == TOK_PLUS || sign.kind == TOK_MINUS) {
        next(p);
        token num = p->tok;
        if (sign.kind == TOK_MINUS && num.kind == TOK_NUMBER && peek(p).kind != TOK_CARET) {
            next(p);
            r = recorded(p, &sign, tg_const(p->g, -num.number));
        } else {
            tg_node a = unary(p);
            if (p->failed) r = TG_NONE;
            else r = sign.kind == TOK_PLUS ? a : recorded(p, &sign, tg_neg(p->g, a));
        }
    } else {
        r = power(p);
    }
    p->depth--;
    return r;
}

static tg_node term(parser *p)
{
    tg_node a = unary(p);
    while (!p->failed && (p->tok.kind == TOK_STAR || p->tok.kind == TOK_SLASH)) {
        token op = p->tok;
        next(p);
        tg_node b = unary(p);
        if (p->failed) return TG_NONE;
        a = recorded(p, &op, op.kind == TOK_STAR ? tg_mul(p->g, a, b) : tg_div(p->g, a, b));
    }
    return a;
}

static tg_node expr(parser *p)
{
    tg_node a = term(p);
    while (!p->failed && (p->tok.kind == TOK_PLUS || p->tok.kind == TOK_MINUS)) {
        token op = p->tok;
        next(p);
        tg_node b = term(p);
        if (p->failed) return TG_NONE;
        a = recorded(p, &op, op.kind == TOK_PLUS ? tg_add(p->g, a, b) : tg_sub(p->g, a, b));
    }
    return a;
}

/* name = expr: a number alone makes a variable; anything else names the
 * node the expression recorded last, which is its result. */
static tg_node definition(parser *p)
{
    token t = p->tok;
    char name[NAME_BUF];
    if (!name_of(p, &t, name)) return TG_NONE;
    tg_node old = tg_find(p->g, name);
    if (!tg_is_none(old))
        return fail_at(p, &t, TG_ERR_NAME, "'%s' is already the name of node %u", name, (unsigned)old.id);
    next(p);  /* the name */
    next(p);  /* '=' */
    if (p->failed) return TG_NONE;
    if (statement_end(p->tok.kind)) return expected(p, "an expression after '='");

    double v;
    parser before_literal = *p;
    if (signed_literal(p, &v)) {
        if (statement_end(p->tok.kind)) return recorded(p, &t, tg_var(p->g, name, v));
        *p = before_literal;  /* 3 * x: an expression after all */
    }
    size_t size = tg_graph_size(p->g);
    tg_node a = expr(p);
    if (p->failed) return TG_NONE;
    if (tg_graph_size(p->g) == size)
        return fail_at(p, &t, TG_ERR_NAME, "'%s = ...' records no node to name: the right side is node %u",
                       name, (unsigned)a.id);
    if (tg_node_set_name(p->g, a, name) != TG_OK) return recorded(p, &t, TG_NONE);
    return a;
}

static tg_node statement(parser *p)
{
    tg_node r;
    if (p->tok.kind == TOK_NAME && peek(p).kind == TOK_EQUALS) r = definition(p);
    else r = expr(p);
    if (p->failed) return TG_NONE;
    if (!statement_end(p->tok.kind)) return expected(p, "an operator, ';' or the end of the line");
    return r;
}

tg_node tg_parse(tg_graph *g, const char *src)
{
    if (!g) return TG_NONE;
    if (!src) {
        tg_graph_fail(g, TG_ERR_ARG, "tg_parse: src is NULL");
        return TG_NONE;
    }
    parser p = { .g = g, .before = tg_graph_status(g) };
    size_t mark = tg_graph_size(g);
    lexer_init(&p.lx, src);
    next(&p);
    tg_node last = TG_NONE;
    size_t statements = 0;
    while (!p.failed) {
        while (!p.failed && (p.tok.kind == TOK_SEMI || p.tok.kind == TOK_NEWLINE)) next(&p);
        if (p.failed || p.tok.kind == TOK_END) break;
        last = statement(&p);
        statements++;
    }
    if (!p.failed && statements == 0) fail_at(&p, &p.tok, TG_ERR_FORMAT, "expected a statement, got end of input");
    if (!p.failed) return last;

    tg_graph_undo(g, mark);
    if (p.before == TG_OK) {
        tg_graph_clear_error(g);
        tg_graph_fail(g, p.status, "tg_parse: %s", p.msg);
    }
    return TG_NONE;
}
