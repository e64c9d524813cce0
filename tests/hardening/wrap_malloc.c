#include "wrap_malloc.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static bool armed;
static inj_alloc st;

/* The blocks allocated while armed, in an open-addressing set.  Blocks are
 * not tagged in place: a block the C library allocated (strdup) may be
 * freed through the wrapper and must reach free() unchanged. */
enum { SLOTS = 1 << 16 };
#define TOMB ((void *)1)
static void *set[SLOTS];

static size_t slot_of(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 48) & (SLOTS - 1);
}

static void set_add(void *p)
{
    for (size_t i = slot_of(p), k = 0; k < SLOTS; i = (i + 1) & (SLOTS - 1), k++) {
        if (set[i] == NULL || set[i] == TOMB) {
            set[i] = p;
            st.live++;
            return;
        }
    }
    abort();  /* more live blocks than a test should ever hold */
}

static int set_remove(const void *p)
{
    for (size_t i = slot_of(p), k = 0; k < SLOTS; i = (i + 1) & (SLOTS - 1), k++) {
        if (set[i] == NULL) return 0;
        if (set[i] == p) {
            set[i] = TOMB;
            st.live--;
            return 1;
        }
    }
    return 0;
}

void wrap_arm(size_t fail_at)
{
    memset(&st, 0, sizeof st);
    memset(set, 0, sizeof set);
    st.fail_at = fail_at;
    armed = true;
}

void wrap_disarm(void)
{
    armed = false;
}

const inj_alloc *wrap_get(void)
{
    return &st;
}

static bool should_fail(size_t size)
{
    return armed && inj_refuses(&st, size);
}

void *__wrap_malloc(size_t n)
{
    if (should_fail(n)) return NULL;
    void *p = __real_malloc(n);
    if (p && armed) set_add(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
    if (should_fail(n * m)) return NULL;
    void *p = __real_calloc(n, m);
    if (p && armed) set_add(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (!p) return __wrap_malloc(n);
    if (should_fail(n)) return NULL;
    void *q = __real_realloc(p, n);
    if (!q) return NULL;
    if (set_remove(p)) set_add(q);
    return q;
}

void __wrap_free(void *p)
{
    if (!p) return;
    set_remove(p);
    __real_free(p);
}
