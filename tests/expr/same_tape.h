/*
 * Two tapes compared node by node through the public inspection calls:
 * op, arity, inputs, value and (after a backward of each) gradient, the
 * numbers to the bit.
 */
#ifndef EXPR_SAME_TAPE_H
#define EXPR_SAME_TAPE_H

#include <stddef.h>

#include <tapegrad/tapegrad.h>

/* NULL when a and b are the same tape, else what differs first, in buf. */
const char *tape_difference(const tg_graph *a, const tg_graph *b, char *buf, size_t len);

#endif
