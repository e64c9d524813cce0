/*
 * The failure-injecting allocator every suite uses, for tg_graph_new_with()
 * and tg_net_new_with().  It fails the allocations a test asks it to fail,
 * refuses requests above a size, and knows every block it handed out.
 */
#ifndef TEST_ALLOC_H
#define TEST_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include <tapegrad/tapegrad.h>

/* Each realloc call is one allocation (a grow as much as a new block).
 * fail_at fails exactly that call (1-based); fail_from fails that call and
 * every later one; 0 disables either.  max_size stands for a machine with
 * little memory, and keeps a sanitizer from seeing huge requests.  Every
 * block carries a header with a tag, so a free of a block this allocator
 * never handed out, or a double free, is counted in bad_frees instead of
 * corrupting the heap.  Zero-initialise one (inj_alloc a = { 0 }), set the
 * plan, and pass inj_use(&a) to the library. */
typedef struct inj_alloc {
    size_t calls;       /* realloc calls so far */
    size_t fail_at;
    size_t fail_from;
    size_t max_size;    /* refuse larger requests without asking the C library; 0: no limit */
    size_t failures;    /* calls refused */
    long live;          /* blocks handed out and not yet freed */
    size_t live_bytes;
    long bad_frees;
} inj_alloc;

tg_allocator inj_use(inj_alloc *a);

/* Count one allocation of size bytes against a's plan: true when the plan
 * (fail_at, fail_from, max_size) refuses it, which is then counted in
 * failures.  For allocators that keep their own blocks (wrap_malloc.c). */
bool inj_refuses(inj_alloc *a, size_t size);

/* Forget the failure plan, keep the counts. */
void inj_stop_failing(inj_alloc *a);

#endif
