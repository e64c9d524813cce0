/*
 * The tokens of the expression language (grammar in tapegrad/expr.h).
 * A lexer reads a NUL-terminated string one token at a time and never
 * past its end; it allocates nothing and is copied freely, which is how
 * the parser looks ahead.
 */
#ifndef TG_EXPR_LEXER_H
#define TG_EXPR_LEXER_H

#include <stddef.h>

typedef enum tok_kind {
    TOK_END, TOK_NEWLINE, TOK_SEMI, TOK_NUMBER, TOK_NAME,
    TOK_PLUS, TOK_MINUS, TOK_STAR, TOK_SLASH, TOK_CARET,
    TOK_LPAREN, TOK_RPAREN, TOK_COMMA, TOK_EQUALS,
    TOK_BAD   /* a byte no token starts with, or a malformed number: `why` says which */
} tok_kind;

typedef struct token {
    tok_kind kind;
    const char *text;   /* where it starts in the source */
    size_t len;
    unsigned line, col; /* from 1; col counts bytes */
    double number;      /* TOK_NUMBER */
    const char *why;    /* TOK_BAD */
} token;

typedef struct lexer {
    const char *src;
    size_t pos;
    unsigned line;
    size_t line_start;
} lexer;

void lexer_init(lexer *lx, const char *src);
/* The next token; TOK_END forever once the string is read. */
token lexer_next(lexer *lx);
/* How a token reads in a message: "'*'", "'foo'", "end of input", "a newline". */
void token_describe(const token *t, char *buf, size_t len);

#endif
