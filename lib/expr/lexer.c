/* Tokens.  A number's extent is found here, by the grammar's rule, and
 * only then converted by strtod, which must end exactly there: strtod alone
 * would also take hexadecimal, "inf" and "nan", which the language has not. */
#include "lexer.h"

#include <stdio.h>
#include <stdlib.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_name_char(char c) { return is_name_start(c) || is_digit(c); }

void lexer_init(lexer *lx, const char *src)
{
    lx->src = src;
    lx->pos = 0;
    lx->line = 1;
    lx->line_start = 0;
}

static size_t digits(const char *s, size_t i)
{
    while (is_digit(s[i])) i++;
    return i;
}

static void read_number(const char *s, size_t start, token *t)
{
    size_t i = digits(s, start);
    if (s[i] == '.') i = digits(s, i + 1);
    if (s[i] == 'e' || s[i] == 'E') {
        size_t e = i + 1;
        if (s[e] == '+' || s[e] == '-') e++;
        if (!is_digit(s[e])) {
            t->kind = TOK_BAD;
            t->why = "expected digits in the exponent of the number";
            t->len = e - start;
            return;
        }
        i = digits(s, e);
    }
    t->len = i - start;
    char *end;
    t->number = strtod(s + start, &end);
    if (end != s + i) {
        t->kind = TOK_BAD;
        t->why = end > s + i ? "only decimal numbers are read, not" : "the locale's strtod does not read the number";
        if (end > s + i) t->len = (size_t)(end - (s + start));
        return;
    }
    t->kind = TOK_NUMBER;
}

token lexer_next(lexer *lx)
{
    const char *s = lx->src;
    while (s[lx->pos] == ' ' || s[lx->pos] == '\t' || s[lx->pos] == '\r') lx->pos++;
    token t = { 0 };
    t.text = s + lx->pos;
    t.line = lx->line;
    t.col = (unsigned)(lx->pos - lx->line_start + 1);
    t.len = 1;
    char c = s[lx->pos];
    switch (c) {
    case '\0': t.kind = TOK_END; t.len = 0; return t;
    case '\n':
        t.kind = TOK_NEWLINE;
        lx->pos++;
        lx->line++;
        lx->line_start = lx->pos;
        return t;
    case ';': t.kind = TOK_SEMI; break;
    case '+': t.kind = TOK_PLUS; break;
    case '-': t.kind = TOK_MINUS; break;
    case '*': t.kind = TOK_STAR; break;
    case '/': t.kind = TOK_SLASH; break;
    case '^': t.kind = TOK_CARET; break;
    case '(': t.kind = TOK_LPAREN; break;
    case ')': t.kind = TOK_RPAREN; break;
    case ',': t.kind = TOK_COMMA; break;
    case '=': t.kind = TOK_EQUALS; break;
    default:
        if (is_digit(c) || (c == '.' && is_digit(s[lx->pos + 1]))) {
            read_number(s, lx->pos, &t);
        } else if (is_name_start(c)) {
            size_t i = lx->pos + 1;
            while (is_name_char(s[i])) i++;
            t.kind = TOK_NAME;
            t.len = i - lx->pos;
        } else {
            t.kind = TOK_BAD;
            t.why = "unexpected character";
        }
    }
    lx->pos += t.len;
    return t;
}

void token_describe(const token *t, char *buf, size_t len)
{
    enum { SHOWN = 40 };  /* a long name is cut: the message has a size */
    switch (t->kind) {
    case TOK_END: snprintf(buf, len, "end of input"); return;
    case TOK_NEWLINE: snprintf(buf, len, "a newline"); return;
    case TOK_BAD:
        if (t->len == 1 && (unsigned char)t->text[0] < 0x20)
            snprintf(buf, len, "byte 0x%02x", (unsigned char)t->text[0]);
        else if (t->len == 1 && (unsigned char)t->text[0] >= 0x7f)
            snprintf(buf, len, "byte 0x%02x", (unsigned char)t->text[0]);
        else
            snprintf(buf, len, "'%.*s'", (int)(t->len < SHOWN ? t->len : SHOWN), t->text);
        return;
    case TOK_SEMI: case TOK_NUMBER: case TOK_NAME: case TOK_PLUS: case TOK_MINUS:
    case TOK_STAR: case TOK_SLASH: case TOK_CARET: case TOK_LPAREN: case TOK_RPAREN:
    case TOK_COMMA: case TOK_EQUALS:
        snprintf(buf, len, "'%.*s%s'", (int)(t->len < SHOWN ? t->len : SHOWN), t->text,
                 t->len > SHOWN ? "..." : "");
        return;
    }
    snprintf(buf, len, "?");
}
