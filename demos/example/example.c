/* The book's apple (Deep Learning from Scratch, 5.4.1): a price and its three gradients. */
#include <stdio.h>

#include <tapegrad/tapegrad.h>

int main(void)
{
    tg_graph *g = tg_graph_new();
    tg_node apple = tg_var(g, "apple", 100.0);
    tg_node n     = tg_var(g, "apple_num", 2.0);
    tg_node tax   = tg_var(g, "tax", 1.1);
    tg_node price = tg_mul(g, tg_mul(g, apple, n), tax);
    tg_backward(g, price);
    printf("price %g\n", tg_value(g, price));
    printf("grads %g %g %g\n", tg_grad(g, apple), tg_grad(g, n), tg_grad(g, tax));
    int failed = tg_graph_status(g) != TG_OK;
    if (failed) fprintf(stderr, "%s\n", tg_graph_errmsg(g));
    tg_graph_free(g);
    return failed;
}
