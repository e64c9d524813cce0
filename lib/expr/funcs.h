/*
 * The functions the expression language calls by name: tapegrad's
 * builders that take nodes, each under its C name without tg_.
 */
#ifndef TG_EXPR_FUNCS_H
#define TG_EXPR_FUNCS_H

#include <stddef.h>

#include <tapegrad/tapegrad.h>

typedef struct expr_func {
    const char *name;
    size_t arity;  /* 1 or 2 */
    tg_node (*unary)(tg_graph *g, tg_node a);
    tg_node (*binary)(tg_graph *g, tg_node a, tg_node b);
} expr_func;

/* The built-in function named by the len bytes at name, or NULL. */
const expr_func *expr_func_find(const char *name, size_t len);

/* Every built-in function, for listing them: count in *n. */
const expr_func *expr_funcs(size_t *n);

#endif
