/*
 * tapegrad expr: record a graph from text.
 *
 *     tg_graph *g = tg_graph_new();
 *     tg_node f = tg_parse(g, "x = 3; y = 2\n"
 *                             "f = x*y + sin(x)");
 *     tg_backward(g, f);        // tg_grad(g, tg_find(g, "x")) == 2 + cos(3)
 *
 * The text is read left to right and each operation is recorded as it is
 * read, exactly as the C calls below record it, so a parsed graph is the
 * same tape as the one a program writes: the same nodes in the same order,
 * the same values and gradients to the bit.
 *
 * Grammar (whitespace is spaces, tabs and carriage returns; a newline is
 * whitespace inside parentheses and ends a statement elsewhere):
 *
 *     source    := statement? ( (';' | newline) statement? )*
 *     statement := name '=' expr | expr
 *     expr      := term ( ('+' | '-') term )*          left-associative
 *     term      := unary ( ('*' | '/') unary )*        left-associative
 *     unary     := ('-' | '+') unary | power
 *     power     := primary ( '^' unary )?              right-associative
 *     primary   := number | name | name '(' expr ( ',' expr )* ')' | '(' expr ')'
 *     name      := [A-Za-z_][A-Za-z0-9_]*
 *     number    := digits ( '.' digits? )? exponent? | '.' digits exponent?
 *     exponent  := ('e' | 'E') ('+' | '-')? digits
 *
 * So `-x^2` is -(x^2), `2^-x` is 2^(-x), `x^y^z` is x^(y^z), and a sign may
 * stand wherever an operand may (`a*-b`, `a - -b`, `x / -y^2`).
 *
 * What each form records (a, b: the nodes of the operands, recorded first,
 * left to right):
 *     number             tg_const(g, number)
 *     -number            tg_const(g, -number): one constant, when the
 *                        number is not raised to a power (-2^2 is -(2^2))
 *     name               nothing: the node tg_find(g, name) finds
 *     a + b, a * b       tg_add(g, a, b), tg_mul(g, a, b)
 *     a - b, a / b       tg_sub(g, a, b), tg_div(g, a, b)
 *     -a, +a             tg_neg(g, a); nothing
 *     a ^ number         tg_powc(g, a, number), also for a signed number
 *                        (x^-2 is tg_powc(g, x, -2)): the exponent is the
 *                        constant tg_powc records, not a tg_const before it
 *     a ^ b              tg_pow(g, a, b) for any other exponent
 *     f(a), f(a, b)      tg_f(g, a), tg_f(g, a, b): every builder of
 *                        tapegrad.h and tensor.h taking nodes, by its name
 *                        without tg_ (add mul exp recip pow log tanh
 *                        sigmoid relu sqrt cbrt sin cos tan asin acos atan
 *                        sinh cosh asinh acosh atanh expm1 log1p log2 log10
 *                        erf erfc softplus abs atan2 hypot min max neg sub
 *                        div sigmoid_decomposed matmul softmax sum mean
 *                        softmax_cross_entropy), and powc(a, number)
 *     f(a, ...)          tg_custom(g, op, x) for an op registered with
 *                        tg_custom_register under the name f
 *     name = number      tg_var(g, "name", number): a variable
 *     name = expr        the expression, its node then named "name"
 *                        (tg_node_set_name): found by tg_find, usable by
 *                        later statements and later calls of tg_parse
 * A function name is read as a function only before '('; otherwise a name
 * is a node, so a variable may be called "sin".
 */
#ifndef TAPEGRAD_EXPR_H
#define TAPEGRAD_EXPR_H

#include "tapegrad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Parentheses, calls and signs nested deeper than this are refused. */
enum { TG_PARSE_MAX_DEPTH = 200 };

/* Parse src and record it on g.  src is an expression or a sequence of
 * statements "name = expr" separated by ';' or newlines, optionally ending
 * in an expression; names refer to nodes already in g (tg_var, tg_find) or
 * defined by an earlier statement, which names the node it defines.
 * Returns the node of the last statement or expression.
 *
 * src is read up to its terminating NUL and no further; it stays the
 * caller's.  On failure the empty handle is returned, the tape is exactly
 * as before the call (nodes, values, names), and the error is recorded as
 * "tg_parse: LINE:COLUMN: what" (both from 1, COLUMN counting bytes):
 *   - TG_ERR_FORMAT: a syntax error, at the token found, with what was
 *     expected ("tg_parse: 1:9: expected ')' to close '(' at 1:4"); no
 *     statement at all; a call with the wrong number of arguments, naming
 *     the function ("tg_parse: 1:1: atan2 takes 2 arguments, got 1");
 *     nesting deeper than TG_PARSE_MAX_DEPTH;
 *   - TG_ERR_NAME: an unknown name or function, where it starts; a
 *     statement naming a node with a name already in g (names are never
 *     redefined: the tape is append-only), or naming no new node ("y = x");
 *   - a builder's own error (a shape that does not fit, out of memory, in
 *     checking mode a non-finite value), its status and message after the
 *     position of the operator or call that recorded it.
 * Numbers are read by strtod: a program that sets LC_NUMERIC to a locale
 * with a decimal comma gets TG_ERR_FORMAT for "1.5".  An error standing on g before the call stays; the parse then fails only
 * when a builder returns the empty handle. */
tg_node tg_parse(tg_graph *g, const char *src);

#ifdef __cplusplus
}
#endif

#endif
