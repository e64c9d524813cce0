#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>

/* The header keeps the user block aligned for any type. */
typedef union block_head {
    struct {
        uint64_t tag;
        size_t size;
    } h;
    max_align_t align;
} block_head;

#define TAG_LIVE 0x7461706567726164ull  /* "tapegrad" */
#define TAG_DEAD 0x6465616464656164ull

bool inj_refuses(inj_alloc *a, size_t size)
{
    a->calls++;
    bool planned = (a->fail_at && a->calls == a->fail_at) || (a->fail_from && a->calls >= a->fail_from);
    if (planned || (a->max_size && size > a->max_size)) {
        a->failures++;
        return true;
    }
    return false;
}

static void *inj_realloc(void *ctx, void *p, size_t size)
{
    inj_alloc *a = ctx;
    if (inj_refuses(a, size)) return NULL;
    if (size > SIZE_MAX - sizeof(block_head)) {
        a->failures++;
        return NULL;
    }
    block_head *old = NULL;
    if (p) {
        old = (block_head *)p - 1;
        if (old->h.tag != TAG_LIVE) {  /* realloc of a block we never gave out */
            a->bad_frees++;
            return NULL;
        }
    }
    size_t old_size = old ? old->h.size : 0;
    block_head *b = realloc(old, sizeof *b + (size ? size : 1));
    if (!b) return NULL;
    b->h.tag = TAG_LIVE;
    b->h.size = size;
    if (!p) a->live++;
    a->live_bytes = a->live_bytes - old_size + size;
    return b + 1;
}

static void inj_free(void *ctx, void *p)
{
    inj_alloc *a = ctx;
    if (!p) return;
    block_head *b = (block_head *)p - 1;
    if (b->h.tag != TAG_LIVE) {
        a->bad_frees++;
        return;
    }
    b->h.tag = TAG_DEAD;
    a->live--;
    a->live_bytes -= b->h.size;
    free(b);
}

tg_allocator inj_use(inj_alloc *a)
{
    tg_allocator t = { inj_realloc, inj_free, a };
    return t;
}

void inj_stop_failing(inj_alloc *a)
{
    a->fail_at = 0;
    a->fail_from = 0;
}
