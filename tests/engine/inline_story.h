/*
 * One recording session, compiled twice: once with the public header's
 * inline builders (inline_on.c) and once with every call going to the
 * library (inline_off.c, TG_NO_INLINE).  It writes what each call returned
 * and what the graph said into a log; test_inline.c compares the logs.
 * It visits every way out of the inline path: names, a full tape, old
 * parameters after rewinds, empty, stale and foreign handles, tensors and
 * checking mode.
 */
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "inline_log.h"

static void note(inline_log *log, const tg_graph *g, tg_node h)
{
    if (log->n >= INLINE_LOG_MAX) return;
    inline_entry *e = &log->e[log->n++];
    e->id = h.id;
    e->gen = h.gen ? h.gen - log->gen0 : 0;  /* generations are process-wide */
    e->value = tg_value(g, h);
    e->size = tg_graph_size(g);
    e->status = tg_graph_status(g);
    strncpy(e->msg, tg_graph_errmsg(g), sizeof e->msg - 1);
    e->msg[sizeof e->msg - 1] = '\0';
}

static void note_grads(inline_log *log, const tg_graph *g, const tg_node *x, int n)
{
    for (int i = 0; i < n && log->n < INLINE_LOG_MAX; i++) {
        inline_entry *e = &log->e[log->n++];
        memset(e, 0, sizeof *e);
        e->value = tg_grad(g, x[i]);
    }
}

void STORY(inline_log *log)
{
    log->n = 0;
    tg_graph *g = tg_graph_new(), *other = tg_graph_new();
    /* parameters first, one of them named */
    tg_node p[4];
    p[0] = tg_var(g, "w", 0.75);
    log->gen0 = p[0].gen;
    for (int i = 1; i < 4; i++) p[i] = tg_var(g, NULL, 0.5 * i - 0.3);
    tg_node k = tg_const(g, 2.5);
    for (int i = 0; i < 4; i++) note(log, g, p[i]);
    note(log, g, k);
    size_t mark = tg_graph_mark(g);
    for (int step = 0; step < 3; step++) {
        /* enough nodes to grow the tape several times */
        tg_node acc = tg_const(g, 0.0);
        for (int i = 0; i < 3000; i++) {
            tg_node a = p[i % 4], b = p[(i + 1) % 4];
            tg_node t;
            switch (i % 9) {
            case 0: t = tg_add(g, a, b); break;
            case 1: t = tg_sub(g, a, k); break;
            case 2: t = tg_mul(g, a, b); break;
            case 3: t = tg_div(g, k, b); break;
            case 4: t = tg_neg(g, a); break;
            case 5: t = tg_recip(g, tg_add(g, a, tg_var(g, NULL, 1.0 + step))); break;
            case 6: t = tg_exp(g, tg_mul(g, a, b)); break;
            case 7: t = tg_tanh(g, tg_sub(g, a, b)); break;
            /* both signs, and far out where one side rounds to 0 or 1 */
            default: t = tg_sigmoid(g, tg_mul(g, tg_sub(g, a, b), tg_const(g, (i % 2 ? 4.0 : -90.0) * step))); break;
            }
            acc = tg_add(g, acc, tg_mul(g, t, tg_const(g, 1e-3 * (i % 7))));
            if (i % 97 == 0) note(log, g, acc);
        }
        note(log, g, acc);
        tg_backward(g, acc);
        note_grads(log, g, p, 4);
        tg_graph_rewind(g, mark);
    }

    /* handles no builder may read: each error once, then cleared */
    tg_node stale = tg_add(g, p[0], p[1]);
    tg_graph_rewind(g, mark);
    tg_node bad[3] = { TG_NONE, stale, tg_var(other, NULL, 1.0) };
    for (int i = 0; i < 3; i++) {
        note(log, g, tg_add(g, bad[i], p[0]));
        tg_graph_clear_error(g);
        note(log, g, tg_sub(g, p[0], bad[i]));
        tg_graph_clear_error(g);
        note(log, g, tg_neg(g, bad[i]));
        tg_graph_clear_error(g);
        note(log, g, tg_sigmoid(g, bad[i]));
        tg_graph_clear_error(g);
        note(log, g, tg_div(g, bad[i], bad[i]));
        tg_graph_clear_error(g);
    }
    /* a NULL graph */
    note(log, g, tg_mul(NULL, p[0], p[1]));
    note(log, g, tg_var(NULL, NULL, 1.0));

    /* tensors go to the library, scalars beside them stay inline */
    double m[4] = { 1, -2, 3, 0.5 };
    tg_node M = tg_tensor_var(g, "M", 2, 2, m);
    tg_node y = tg_sum(g, tg_mul(g, tg_add(g, M, p[1]), tg_recip(g, M)));
    note(log, g, y);
    note(log, g, tg_div(g, y, p[2]));
    note(log, g, tg_neg(g, M));
    note(log, g, tg_sigmoid(g, M));

    /* checking mode: every builder checks its value */
    tg_graph_set_checking(g, 1);
    tg_node zero = tg_const(g, 0.0);
    note(log, g, tg_div(g, p[0], zero));
    note(log, g, tg_recip(g, zero));
    tg_graph_clear_error(g);
    tg_graph_set_checking(g, 0);
    note(log, g, tg_recip(g, zero));

    tg_graph_free(other);
    tg_graph_free(g);
}
