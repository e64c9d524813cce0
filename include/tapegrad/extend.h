/*
 * tapegrad extend: the small public door for code that builds on the engine
 * (layers, composed ops, file readers), so that such code keeps the
 * engine's contract without reaching into its storage.  tapegrad's own
 * nn/ layer is written on it.
 *
 *     tg_node my_affine(tg_graph *g, tg_node x, tg_node W, tg_node b)
 *     {
 *         if (tg_node_check(g, "my_affine", "x", x) <= 0) return TG_NONE;
 *         ...
 *         size_t mark = tg_graph_size(g);
 *         tg_node y = tg_add(g, tg_matmul(g, x, W), b);
 *         if (tg_is_none(y)) tg_graph_undo(g, mark);   // all or nothing
 *         return y;
 *     }
 */
#ifndef TAPEGRAD_EXTEND_H
#define TAPEGRAD_EXTEND_H

#include <stdarg.h>

#include "tapegrad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Record an error on g in the caller's name, as the engine's own calls do:
 * the message is formatted like printf (start it with the function's name,
 * "my_affine: x is 2x4, W is 3x10") and kept only when no error stands
 * (the first error sticks).  Returns s, for `return tg_graph_fail(...)`.
 * Nothing for a NULL graph. */
tg_status tg_graph_fail(tg_graph *g, tg_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
tg_status tg_graph_failv(tg_graph *g, tg_status s, const char *fmt, va_list ap);  /* the same, with a va_list */

/* Check argument `arg` of function `fn`: 1 when n is a live node of g;
 * 0 for the empty handle (TG_ERR_HANDLE "fn: arg is the empty handle" is
 * recorded unless an error stands already: the empty handle usually
 * carries an earlier failure); -1 for a handle of another graph
 * (TG_ERR_HANDLE) or one dropped by a rewind (TG_ERR_STALE), recorded.
 * -1 for a NULL graph, recording nothing. */
int tg_node_check(tg_graph *g, const char *fn, const char *arg, tg_node n);

/* Drop the nodes recorded from mark on, with their names, tensors and
 * groups, without starting a new generation: for a call that recorded part
 * of its result and then failed.  Only for nodes whose handles have not left
 * that call (a handle kept elsewhere would name whatever is recorded next
 * in its place; tg_graph_rewind is the call for handles that escaped).
 * Never allocates and never fails for mark <= tg_graph_size(g); TG_ERR_ARG
 * (not recorded) otherwise, the graph unchanged. */
tg_status tg_graph_undo(tg_graph *g, size_t mark);

/* Name node n as tg_var names a variable (name copied; tg_find finds it,
 * a rewind that drops n drops the name): for a node recorded after every
 * named node, such as the last one recorded.  TG_ERR_NAME when the name is
 * in use or n has one, TG_ERR_ARG when an older node is named than a node
 * that has a name or name is NULL, bad handles as for any call; recorded
 * and returned, g unchanged. */
tg_status tg_node_set_name(tg_graph *g, tg_node n, const char *name);

#ifdef __cplusplus
}
#endif

#endif
