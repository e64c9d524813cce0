/*
 * malloc, calloc, realloc and free of the test program and the static
 * library linked into it, wrapped (-Wl,--wrap=...) so that a test can fail
 * the k-th allocation made while it is armed and count the blocks still
 * held.  Allocations made inside shared libraries (zlib's own, the C
 * library's) are not seen.  The plan and the counts are those of the tests'
 * allocator (alloc.h), without its tagged blocks.
 */
#ifndef WRAP_MALLOC_H
#define WRAP_MALLOC_H

#include <stddef.h>

#include "alloc.h"

/* Start counting from zero, failing call fail_at (1-based; 0: none). */
void wrap_arm(size_t fail_at);
/* Stop failing and counting; the counts stay readable. */
void wrap_disarm(void);
/* calls, failures, and live: blocks allocated while armed, not yet freed. */
const inj_alloc *wrap_get(void);

#endif
