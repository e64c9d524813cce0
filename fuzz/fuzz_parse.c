/*
 * libFuzzer harness: tg_parse on any text.
 *
 * The input's first byte picks checking mode and an allocation to fail;
 * the rest, NUL-terminated in a block of exactly its size (so a read past
 * the end is an ASan report), is parsed on a graph holding variables, a
 * tensor and a registered custom op.  Besides the sanitizers:
 *   - a failed parse leaves the tape exactly as it was (size, values,
 *     names), with a message "tg_parse: LINE:COLUMN: ..." or the NULL/out
 *     of memory ones, and a status the header lists;
 *   - a successful one returns a live node;
 *   - every block allocated is freed by tg_graph_free.
 * A violation aborts, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/expr.h>

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_parse: check failed: %s: ", #cond);       \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* An allocator that fails its fail_at-th call and counts live blocks. */
typedef struct counting { size_t calls, fail_at; long live; } counting;

static void *c_realloc(void *ctx, void *p, size_t n)
{
    counting *c = ctx;
    if (++c->calls == c->fail_at) return NULL;
    void *q = realloc(p, n ? n : 1);
    if (q && !p) c->live++;
    return q;
}
static void c_free(void *ctx, void *p)
{
    counting *c = ctx;
    if (p) c->live--;
    free(p);
}

static double twice_value(void *ctx, const double *x) { (void)ctx; return 2 * x[0] + x[1]; }
static void twice_partials(void *ctx, const double *x, double y, double *d)
{
    (void)ctx, (void)x, (void)y;
    d[0] = 2;
    d[1] = 1;
}
static const tg_custom_op mix = { "mix", 2, twice_value, twice_partials, NULL, NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    counting c = { 0 };
    tg_allocator a = { c_realloc, c_free, &c };
    tg_graph *g = tg_graph_new_with(&a);
    if (!g) return 0;
    tg_var(g, "x", 0.5);
    tg_var(g, "y", -2.0);
    tg_tensor_var(g, "M", 2, 2, NULL);
    tg_custom_register(g, &mix);
    tg_node z = tg_parse(g, "z = x*y");
    CHECK(tg_graph_status(g) == TG_OK, "setup: %s", tg_graph_errmsg(g));
    tg_graph_set_checking(g, data[0] & 1);
    if (data[0] & 2) c.fail_at = c.calls + 1 + (data[0] >> 2);

    char *src = malloc(size);
    if (!src) abort();
    memcpy(src, data + 1, size - 1);
    src[size - 1] = '\0';
    size_t before = tg_graph_size(g);
    double x = tg_value(g, tg_find(g, "x"));
    tg_node r = tg_parse(g, src);
    tg_status st = tg_graph_status(g);
    if (tg_is_none(r)) {
        CHECK(st == TG_ERR_FORMAT || st == TG_ERR_NAME || st == TG_ERR_SHAPE || st == TG_ERR_DOMAIN ||
                  st == TG_ERR_NOMEM,
              "status %d: %s", (int)st, tg_graph_errmsg(g));
        CHECK(!strncmp(tg_graph_errmsg(g), "tg_parse: ", 10), "%s", tg_graph_errmsg(g));
        CHECK(tg_graph_size(g) == before, "the tape went from %zu to %zu", before, tg_graph_size(g));
        CHECK(tg_find(g, "z").id == z.id && tg_value(g, tg_find(g, "x")) == x, "the tape changed");
        for (size_t i = 0; i < before; i++) CHECK(tg_node_op(g, tg_node_at(g, i))[0], "node %zu", i);
    } else {
        CHECK(st == TG_OK, "a node returned with status %d: %s", (int)st, tg_graph_errmsg(g));
        CHECK(r.id < tg_graph_size(g) && tg_node_op(g, r)[0], "node %u is not live", (unsigned)r.id);
    }
    free(src);
    tg_graph_free(g);
    CHECK(c.live == 0, "%ld blocks leaked", c.live);
    return 0;
}
