/*
 * Handles of other graphs are always refused.  Thousands of graphs, each
 * rewound a different number of times, some freed and their memory reused
 * by new graphs: a handle is accepted by its own graph while its node
 * lives, refused as stale once a rewind dropped it, and refused as foreign
 * (TG_ERR_HANDLE) by every other graph, alive or created after it at the
 * same address.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"
#include "runner.h"
#include <tapegrad/extend.h>

enum { GRAPHS = 3000, KEPT = 3 };

typedef struct entry {
    tg_graph *g;
    tg_node live[KEPT];  /* alive in g, with values 1000 * graph + k */
    tg_node dead;        /* dropped by g's last rewind, or empty */
} entry;

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* A graph with a parameter, then `rewinds` mark / record / rewind passes,
 * then two more nodes; one handle of a dropped node kept. */
static void fill(entry *e, int index)
{
    e->g = tg_graph_new();
    ck_assert_ptr_nonnull(e->g);
    tg_graph *g = e->g;
    e->live[0] = tg_var(g, NULL, 1000.0 * index);
    size_t mark = tg_graph_mark(g);
    uint32_t rewinds = rnd(40);
    e->dead = TG_NONE;
    for (uint32_t r = 0; r < rewinds; r++) {
        e->dead = tg_var(g, NULL, -1.0);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
    }
    e->live[1] = tg_var(g, NULL, 1000.0 * index + 1);
    e->live[2] = tg_add(g, e->live[0], e->live[1]);
    ck_assert_double_eq(tg_value(g, e->live[2]), 2000.0 * index + 1);
}

/* h, a node of another graph, is refused by g with its message, and g is
 * left as it was. */
static void assert_foreign(tg_graph *g, tg_node h, const entry *own)
{
    ck_require_msg(isnan(tg_value(g, h)), "a handle {%u, %u} of another graph read %g", h.id, h.gen,
                   tg_value(g, h));
    size_t n = tg_graph_size(g);
    ck_require(tg_is_none(tg_mul(g, own->live[0], h)));
    ck_require_msg(tg_graph_status(g) == TG_ERR_HANDLE &&
                       strcmp(tg_graph_errmsg(g), "tg_mul: b is not a node of this graph") == 0,
                   "handle {%u, %u}: status %d, \"%s\"", h.id, h.gen, (int)tg_graph_status(g),
                   tg_graph_errmsg(g));
    tg_graph_clear_error(g);
    ck_require(tg_graph_size(g) == n);
}

static void assert_own(const entry *e, int index)
{
    for (int k = 0; k < 2; k++)
        ck_require_msg(tg_value(e->g, e->live[k]) == 1000.0 * index + k,
                       "graph %d lost its node %d", index, k);
    if (!tg_is_none(e->dead)) {
        ck_require(isnan(tg_value(e->g, e->dead)));
        ck_require(tg_is_none(tg_exp(e->g, e->dead)));
        ck_require(tg_graph_status(e->g) == TG_ERR_STALE);
        tg_graph_clear_error(e->g);
    }
}

START_TEST(thousands_of_graphs_never_share_a_handle)
{
    entry *e = calloc(GRAPHS, sizeof *e);
    ck_assert_ptr_nonnull(e);
    for (int i = 0; i < GRAPHS; i++) fill(&e[i], i);

    /* Every graph against the handles of 60 others, live and dead. */
    for (int i = 0; i < GRAPHS; i++) {
        assert_own(&e[i], i);
        for (int t = 0; t < 60; t++) {
            int j = (int)rnd(GRAPHS);
            if (j == i) continue;
            for (int k = 0; k < KEPT; k++) assert_foreign(e[i].g, e[j].live[k], &e[i]);
            if (!tg_is_none(e[j].dead)) assert_foreign(e[i].g, e[j].dead, &e[i]);
        }
    }

    /* Free half; new graphs take their memory.  No handle of a freed graph
     * names a node of a new one, and the survivors still refuse them. */
    tg_node freed[GRAPHS / 2][KEPT];
    for (int i = 0; i < GRAPHS / 2; i++) {
        memcpy(freed[i], e[2 * i].live, sizeof freed[i]);
        tg_graph_free(e[2 * i].g);
    }
    for (int i = 0; i < GRAPHS / 2; i++) fill(&e[2 * i], 2 * i);
    for (int i = 0; i < GRAPHS; i++) {
        assert_own(&e[i], i);
        for (int t = 0; t < 40; t++) {
            int j = (int)rnd(GRAPHS / 2);
            if (2 * j == i) continue;
            for (int k = 0; k < KEPT; k++) assert_foreign(e[i].g, freed[j][k], &e[i]);
        }
    }
    for (int i = 0; i < GRAPHS; i++) tg_graph_free(e[i].g);
    free(e);
}
END_TEST

/* An allocator that places each new graph at one fixed block, so that a
 * graph is created exactly where the last one was freed (whatever the C
 * library or a sanitizer would do); the graphs' other storage comes from
 * malloc. */
static _Alignas(64) unsigned char slot[16384];
typedef struct placer { bool fresh; } placer;

static void *place_realloc(void *ctx, void *p, size_t size)
{
    placer *pl = ctx;
    if (!p && pl->fresh && size <= sizeof slot) {
        pl->fresh = false;  /* the first block of a new graph is the graph */
        return slot;
    }
    if ((unsigned char *)p == slot) return NULL;
    return realloc(p, size ? size : 1);
}

static void place_free(void *ctx, void *p)
{
    (void)ctx;
    if ((unsigned char *)p != slot) free(p);
}

START_TEST(a_graph_at_a_freed_graphs_address_refuses_its_handles)
{
    placer pl = { true };
    tg_allocator al = { place_realloc, place_free, &pl };
    for (int round = 0; round < 200; round++) {
        pl.fresh = true;
        tg_graph *a = tg_graph_new_with(&al);
        ck_assert_ptr_eq(a, (void *)slot);
        tg_node x = tg_var(a, "x", 5.0);
        tg_node y = tg_mul(a, x, x);
        for (int r = 0; r < round % 5; r++) tg_graph_rewind(a, 0);
        tg_graph_free(a);
        pl.fresh = true;
        tg_graph *b = tg_graph_new_with(&al);
        ck_assert_ptr_eq(b, (void *)slot);  /* the very same address */
        tg_node z = tg_var(b, "z", 7.0);
        ck_assert(isnan(tg_value(b, x)));
        ck_assert(isnan(tg_value(b, y)));
        ck_assert(tg_is_none(tg_add(b, z, y)));
        ck_assert_graph_error(b, TG_ERR_HANDLE, "tg_add: b is not a node of this graph");
        tg_graph_free(b);
    }
}
END_TEST

START_TEST(undo_drops_a_partial_call_without_a_new_generation)
{
    tg_graph *g = tg_graph_new();
    tg_node x = tg_var(g, "x", 2.0);
    size_t mark = tg_graph_size(g);
    tg_node part = tg_exp(g, x);
    ck_assert(!tg_is_none(part));
    ck_assert_int_eq(tg_graph_undo(g, mark), TG_OK);
    ck_assert_uint_eq(tg_graph_size(g), mark);
    /* x keeps its handle; the next node takes the dropped one's place */
    tg_node y = tg_mul(g, x, x);
    ck_assert_uint_eq(y.gen, x.gen);
    ck_assert_double_eq(tg_value(g, y), 4.0);
    /* past the tape, or below the last rewind's mark, is refused */
    ck_assert_int_eq(tg_graph_undo(g, tg_graph_size(g) + 1), TG_ERR_ARG);
    ck_assert_int_eq(tg_graph_rewind(g, 1), TG_OK);
    ck_assert_int_eq(tg_graph_undo(g, 0), TG_ERR_ARG);
    ck_assert_double_eq(tg_value(g, x), 2.0);
    ck_assert_graph_ok(g);
    ck_assert_int_eq(tg_graph_undo(NULL, 0), TG_ERR_ARG);
    tg_graph_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("handles");
    TCase *tc = tcase_create("foreign");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, thousands_of_graphs_never_share_a_handle);
    tcase_add_test(tc, a_graph_at_a_freed_graphs_address_refuses_its_handles);
    tcase_add_test(tc, undo_drops_a_partial_call_without_a_new_generation);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
