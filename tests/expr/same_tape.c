#include "same_tape.h"

#include <stdio.h>
#include <string.h>

static int same_bits(double x, double y) { return memcmp(&x, &y, sizeof x) == 0; }

const char *tape_difference(const tg_graph *a, const tg_graph *b, char *buf, size_t len)
{
    size_t n = tg_graph_size(a);
    if (n != tg_graph_size(b)) {
        snprintf(buf, len, "%zu nodes against %zu", n, tg_graph_size(b));
        return buf;
    }
    for (size_t i = 0; i < n; i++) {
        tg_node x = tg_node_at(a, i), y = tg_node_at(b, i);
        const char *ox = tg_node_op(a, x), *oy = tg_node_op(b, y);
        if (strcmp(ox, oy)) {
            snprintf(buf, len, "node %zu is %s against %s", i, ox, oy);
            return buf;
        }
        size_t k = tg_node_arity(a, x);
        if (k != tg_node_arity(b, y)) {
            snprintf(buf, len, "node %zu (%s) has %zu inputs against %zu", i, ox, k, tg_node_arity(b, y));
            return buf;
        }
        for (size_t j = 0; j < k; j++)
            if (tg_node_input(a, x, j).id != tg_node_input(b, y, j).id) {
                snprintf(buf, len, "node %zu (%s): input %zu is node %u against %u", i, ox, j,
                         (unsigned)tg_node_input(a, x, j).id, (unsigned)tg_node_input(b, y, j).id);
                return buf;
            }
        if (!same_bits(tg_value(a, x), tg_value(b, y)) || !same_bits(tg_grad(a, x), tg_grad(b, y))) {
            snprintf(buf, len, "node %zu (%s): value %.17g, gradient %.17g against %.17g, %.17g", i, ox,
                     tg_value(a, x), tg_grad(a, x), tg_value(b, y), tg_grad(b, y));
            return buf;
        }
        const char *nx = tg_node_name(a, x), *ny = tg_node_name(b, y);
        if ((nx == NULL) != (ny == NULL) || (nx && strcmp(nx, ny))) {
            snprintf(buf, len, "node %zu (%s) is named %s against %s", i, ox, nx ? nx : "(none)",
                     ny ? ny : "(none)");
            return buf;
        }
    }
    return NULL;
}
