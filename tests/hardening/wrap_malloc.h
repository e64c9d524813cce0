/*
 * malloc, calloc, realloc and free of the test program and the static
 * library linked into it, wrapped (-Wl,--wrap=...) so that a test can fail
 * the k-th allocation made while it is armed and count the blocks still
 * held.  Allocations made inside shared libraries (zlib's own, the C
 * library's) are not seen.
 */
#ifndef WRAP_MALLOC_H
#define WRAP_MALLOC_H

#include <stddef.h>

typedef struct wrap_state {
    int armed;          /* count and fail only while set */
    size_t calls;       /* allocations while armed */
    size_t fail_at;     /* 1-based call to fail; 0 never */
    size_t failures;
    long live;          /* blocks allocated while armed, not yet freed */
} wrap_state;

/* Start counting from zero with the given failure point (0: none). */
void wrap_arm(size_t fail_at);
/* Stop failing and counting; the state stays readable. */
void wrap_disarm(void);
const wrap_state *wrap_get(void);

#endif
