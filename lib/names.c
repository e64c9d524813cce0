/* Variable names: a uthash table from name to node, plus the entries in
 * node order so that a rewind pops the dropped ones from the end.  This is
 * the only file that includes uthash. */
#include <string.h>

#include "graph.h"

/* uthash allocates through the graph's allocator (a `G` in scope) and
 * reports failure instead of exiting. */
#define HASH_NONFATAL_OOM 1
#define uthash_malloc(sz) tg__realloc(G, NULL, (sz))
#define uthash_free(ptr, sz) tg__free(G, (ptr))
#define uthash_nonfatal_oom(obj) (oom = 1)
#include <uthash.h>

typedef struct name_entry {
    uint32_t id;
    char *name;
    UT_hash_handle hh;
} name_entry;

struct name_table {
    name_entry *head;         /* the uthash table */
    name_entry **order;       /* entries by increasing id */
    size_t n, cap;
};

static struct name_table *table(tg_graph *G)
{
    if (!G->names) {
        struct name_table *t = tg__realloc(G, NULL, sizeof *t);
        if (!t) return NULL;
        memset(t, 0, sizeof *t);
        G->names = t;
    }
    return G->names;
}

tg_status tg__name_add(tg_graph *G, const char *fn, const char *name, uint32_t id)
{
    struct name_table *t = table(G);
    if (!t || tg__grow(G, (void **)&t->order, &t->cap, t->n + 1, sizeof *t->order) != 0)
        return tg__fail(G, TG_ERR_NOMEM, "%s: out of memory storing name '%s'", fn, name);
    name_entry *e = NULL;
    size_t len = strlen(name);
    HASH_FIND(hh, t->head, name, len, e);
    if (e)
        return tg__fail(G, TG_ERR_NAME, "%s: name '%s' is already node %u", fn, name, (unsigned)e->id);
    e = tg__realloc(G, NULL, sizeof *e);
    char *copy = tg__realloc(G, NULL, len + 1);
    if (!e || !copy) {
        tg__free(G, e);
        tg__free(G, copy);
        return tg__fail(G, TG_ERR_NOMEM, "%s: out of memory storing name '%s'", fn, name);
    }
    memcpy(copy, name, len + 1);
    memset(e, 0, sizeof *e);
    e->id = id;
    e->name = copy;
    int oom = 0;
    HASH_ADD_KEYPTR(hh, t->head, e->name, len, e);
    if (oom) {
        tg__free(G, copy);
        tg__free(G, e);
        return tg__fail(G, TG_ERR_NOMEM, "%s: out of memory storing name '%s'", fn, name);
    }
    t->order[t->n++] = e;
    return TG_OK;
}

uint32_t tg__name_find(const tg_graph *g, const char *name)
{
    if (!g->names || !name) return UINT32_MAX;
    name_entry *e = NULL;
    HASH_FIND(hh, g->names->head, name, strlen(name), e);
    return e ? e->id : UINT32_MAX;
}

const char *tg__name_of(const tg_graph *g, uint32_t id)
{
    const struct name_table *t = g->names;
    if (!t) return NULL;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {  /* entries are in increasing id order */
        size_t mid = lo + (hi - lo) / 2;
        if (t->order[mid]->id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < t->n && t->order[lo]->id == id ? t->order[lo]->name : NULL;
}

static void drop_last(tg_graph *G, struct name_table *t)
{
    name_entry *e = t->order[--t->n];
    HASH_DELETE(hh, t->head, e);
    tg__free(G, e->name);
    tg__free(G, e);
}

void tg__names_rewind(tg_graph *G, size_t mark)
{
    struct name_table *t = G->names;
    if (!t) return;
    while (t->n > 0 && t->order[t->n - 1]->id >= mark) drop_last(G, t);
}

void tg__names_free(tg_graph *G)
{
    struct name_table *t = G->names;
    if (!t) return;
    while (t->n > 0) drop_last(G, t);
    HASH_CLEAR(hh, t->head);
    tg__free(G, t->order);
    tg__free(G, t);
    G->names = NULL;
}

tg_node tg_find(const tg_graph *g, const char *name)
{
    if (!g || !name) return TG_NONE;
    uint32_t id = tg__name_find(g, name);
    return id == UINT32_MAX ? TG_NONE : tg__handle(g, id);
}

const char *tg_node_name(const tg_graph *g, tg_node n)
{
    if (!g || !tg__live(g, n)) return NULL;
    return tg__name_of(g, n.id);
}
