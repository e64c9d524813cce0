/* Labelled groups of consecutive nodes, drawn as DOT clusters.  Records
 * past ngroups keep their label buffers after a rewind, for reuse. */
#include <string.h>

#include "graph.h"

tg_status tg_group_begin(tg_graph *g, const char *label)
{
    if (!g) return TG_ERR_ARG;
    if (!label) return tg__fail(g, TG_ERR_ARG, "tg_group_begin: label is NULL");
    if (g->n > UINT32_MAX - 1)
        return tg__fail(g, TG_ERR_ARG, "tg_group_begin: the tape is full");
    size_t len = strlen(label);
    size_t had = g->groups_cap;
    if (tg__grow(g, (void **)&g->groups, &g->groups_cap, g->ngroups + 1, sizeof *g->groups) != 0)
        return tg__fail(g, TG_ERR_NOMEM, "tg_group_begin: out of memory");
    if (g->groups_cap > had)  /* new records own no buffer yet */
        memset(g->groups + had, 0, (g->groups_cap - had) * sizeof *g->groups);
    group_rec *slot = &g->groups[g->ngroups];
    if (slot->label_cap < len + 1) {
        char *p = tg__realloc(g, slot->label, len + 1);
        if (!p) return tg__fail(g, TG_ERR_NOMEM, "tg_group_begin: out of memory");
        slot->label = p;
        slot->label_cap = len + 1;
    }
    memcpy(slot->label, label, len + 1);
    group_rec *r = &g->groups[g->ngroups++];
    r->first = (uint32_t)g->n;
    r->end = UINT32_MAX;
    r->parent = (uint32_t)g->open_group;
    g->open_group = g->ngroups;
    return TG_OK;
}

tg_status tg_group_end(tg_graph *g)
{
    if (!g) return TG_ERR_ARG;
    if (!g->open_group) return tg__fail(g, TG_ERR_ARG, "tg_group_end: no group is open");
    group_rec *r = &g->groups[g->open_group - 1];
    r->end = (uint32_t)g->n;
    g->open_group = r->parent;
    return TG_OK;
}

/* Groups begun at or after mark go; a group still spanning mark is cut
 * there (and reopened if it was open). */
void tg__groups_rewind(tg_graph *g, size_t mark)
{
    while (g->ngroups > 0 && g->groups[g->ngroups - 1].first >= mark) {
        group_rec *r = &g->groups[--g->ngroups];
        if (g->open_group > g->ngroups) g->open_group = r->parent;  /* r or a child was open */
    }
    for (size_t i = 0; i < g->ngroups; i++)
        if (g->groups[i].end != UINT32_MAX && g->groups[i].end > mark)
            g->groups[i].end = (uint32_t)mark;
}

void tg__groups_free(tg_graph *g)
{
    for (size_t i = 0; i < g->groups_cap; i++) tg__free(g, g->groups[i].label);
    tg__free(g, g->groups);
    g->groups = NULL;
    g->ngroups = g->groups_cap = g->open_group = 0;
}
