// A C++11 program on every public header, built by installed.sh against an
// installed copy: the macros and inline functions compile as C++ and the
// calls link.  The apple graph: price 220, d price/d apple 2.2.
#include <cstdio>
#include <cstring>

#include <tapegrad/tapegrad.h>
#include <tapegrad/tensor.h>
#include <tapegrad/extend.h>
#include <tapegrad/mnist.h>
#include <tapegrad/nn.h>

int main()
{
    if (std::strcmp(tg_version(), TG_VERSION_STRING) != 0) {
        std::fprintf(stderr, "library %s, headers %s\n", tg_version(), TG_VERSION_STRING);
        return 1;
    }
    tg_graph *g = tg_graph_new();
    tg_node none = TG_NONE;
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node price = tg_mul(g, tg_mul(g, apple, tg_var(g, "apple_num", 2.0)), tg_var(g, "tax", 1.1));
    tg_backward(g, price);
    const double row[2] = { 1, 2 };
    tg_node t = tg_tensor_var(g, "row", 1, 2, row);
    tg_rng rng = tg_rng_seed(1);
    int ok = tg_is_none(none) && !tg_is_none(price) && tg_is_tensor(g, t) &&
             tg_node_check(g, "main", "apple", apple) == 1 && tg_rng_below(&rng, 10) < 10 &&
             tg_graph_status(g) == TG_OK;
    std::printf("%s %s price %g grad %g\n", TG_VERSION_STRING, ok ? "ok" : "FAILED",
                tg_value(g, price), tg_grad(g, apple));
    tg_graph_free(g);
    return ok ? 0 : 1;
}
