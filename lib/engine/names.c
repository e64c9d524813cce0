/* Variable names: a uthash table from name to node, plus the entries in
 * node order so that a rewind pops the dropped ones from the end.  This is
 * the only file that includes uthash.
 *
 * A rewind keeps what it drops: entries go to a pool with their string
 * buffers, and a hidden entry keyed "" keeps the table from ever emptying
 * (uthash frees its buckets with the last entry), so a loop that records
 * the same names after each rewind allocates nothing after its first pass. */
#include <string.h>

#include <tapegrad/extend.h>

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
    size_t cap;               /* bytes in name */
    struct name_entry *next;  /* in the pool */
    UT_hash_handle hh;
} name_entry;

struct name_table {
    name_entry *head;         /* the uthash table */
    name_entry **order;       /* entries by increasing id */
    size_t n, cap;
    name_entry *pool;         /* dropped entries kept for reuse */
    name_entry keeper;        /* the hidden "" entry */
};

static struct name_table *table(tg_graph *G)
{
    if (G->names) return G->names;
    struct name_table *t = tg__realloc(G, NULL, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->keeper.name = "";
    t->keeper.id = UINT32_MAX;
    int oom = 0;
    HASH_ADD_KEYPTR(hh, t->head, t->keeper.name, 0, &t->keeper);
    if (oom) {
        tg__free(G, t);
        return NULL;
    }
    G->names = t;
    return t;
}

/* An entry whose buffer holds len + 1 bytes: from the pool, or new. */
static name_entry *entry_for(tg_graph *G, struct name_table *t, size_t len)
{
    name_entry *e = t->pool;
    if (e) {
        if (e->cap < len + 1) {
            char *p = tg__realloc(G, e->name, len + 1);
            if (!p) return NULL;
            e->name = p;
            e->cap = len + 1;
        }
        t->pool = e->next;
        return e;
    }
    e = tg__realloc(G, NULL, sizeof *e);
    char *p = tg__realloc(G, NULL, len + 1);
    if (!e || !p) {
        tg__free(G, e);
        tg__free(G, p);
        return NULL;
    }
    memset(e, 0, sizeof *e);
    e->name = p;
    e->cap = len + 1;
    return e;
}

static void to_pool(struct name_table *t, name_entry *e)
{
    e->next = t->pool;
    t->pool = e;
}

tg_status tg__name_add(tg_graph *G, const char *fn, const char *name, uint32_t id)
{
    struct name_table *t = table(G);
    if (!t || tg__grow(G, (void **)&t->order, &t->cap, t->n + 1, sizeof *t->order) != 0)
        return tg__fail(G, TG_ERR_NOMEM, "%s: out of memory storing name '%s'", fn, name);
    size_t len = strlen(name);
    if (len == 0) return tg__fail(G, TG_ERR_NAME, "%s: name is empty", fn);
    name_entry *e = NULL;
    HASH_FIND(hh, t->head, name, len, e);
    if (e)
        return tg__fail(G, TG_ERR_NAME, "%s: name '%s' is already node %u", fn, name, (unsigned)e->id);
    e = entry_for(G, t, len);
    if (!e) return tg__fail(G, TG_ERR_NOMEM, "%s: out of memory storing name '%s'", fn, name);
    memcpy(e->name, name, len + 1);
    e->id = id;
    int oom = 0;
    HASH_ADD_KEYPTR(hh, t->head, e->name, len, e);
    if (oom) {
        to_pool(t, e);
        return tg__fail(G, TG_ERR_NOMEM, "%s: out of memory storing name '%s'", fn, name);
    }
    t->order[t->n++] = e;
    return TG_OK;
}

uint32_t tg__name_find(const tg_graph *g, const char *name)
{
    if (!g->names || !name || !*name) return UINT32_MAX;
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

void tg__names_rewind(tg_graph *G, size_t mark)
{
    struct name_table *t = G->names;
    if (!t) return;
    while (t->n > 0 && t->order[t->n - 1]->id >= mark) {
        name_entry *e = t->order[--t->n];
        HASH_DELETE(hh, t->head, e);
        to_pool(t, e);
    }
}

static void free_entry(tg_graph *G, name_entry *e)
{
    tg__free(G, e->name);
    tg__free(G, e);
}

void tg__names_free(tg_graph *G)
{
    struct name_table *t = G->names;
    if (!t) return;
    HASH_CLEAR(hh, t->head);
    for (size_t i = 0; i < t->n; i++) free_entry(G, t->order[i]);
    while (t->pool) {
        name_entry *e = t->pool;
        t->pool = e->next;
        free_entry(G, e);
    }
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

/* The table keeps entries in id order (a rewind pops them from the end),
 * so only a node after every named one can take a name; the last node
 * recorded always can, unless it has one. */
tg_status tg_node_set_name(tg_graph *g, tg_node n, const char *name)
{
    const char *fn = "tg_node_set_name";
    if (!g) return TG_ERR_ARG;
    int k = tg__check(g, fn, "n", n);
    if (k <= 0) return tg__classify(g, n);
    if (!name) return tg__fail(g, TG_ERR_ARG, "%s: name is NULL", fn);
    const struct name_table *t = g->names;
    if (t && t->n > 0 && t->order[t->n - 1]->id >= n.id) {
        uint32_t last = t->order[t->n - 1]->id;
        if (last == n.id)
            return tg__fail(g, TG_ERR_NAME, "%s: node %u is named '%s' already", fn,
                            (unsigned)n.id, t->order[t->n - 1]->name);
        return tg__fail(g, TG_ERR_ARG, "%s: node %u is older than node %u, which is named; "
                        "only a node recorded after every named one can take a name",
                        fn, (unsigned)n.id, (unsigned)last);
    }
    return tg__name_add(g, fn, name, n.id);
}
