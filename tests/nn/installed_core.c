/* A program outside the tree that uses the engine and tensors only: built
 * by installed.sh with `pkg-config --cflags --libs tapegrad` against an
 * installed copy.  d/dW sum(relu(x W)) on a 2x2 case: loss 3.5, dW 4 0 6 0. */
#include <stdio.h>

#include <tapegrad/tapegrad.h>
#include <tapegrad/tensor.h>

int main(void)
{
    static const double xv[4] = { 1, 2, 3, 4 }, wv[4] = { 0.5, -1, 0.25, -2 };
    tg_graph *g = tg_graph_new();
    tg_node x = tg_tensor_const(g, 2, 2, xv);
    tg_node W = tg_tensor_var(g, "W", 2, 2, wv);
    tg_node loss = tg_sum(g, tg_relu(g, tg_matmul(g, x, W)));
    tg_backward(g, loss);
    double dW[4] = { 0 };
    tg_tensor_get_grad(g, W, dW);
    int failed = tg_graph_status(g) != TG_OK;
    if (failed) fprintf(stderr, "%s\n", tg_graph_errmsg(g));
    else printf("loss %g dW %g %g %g %g\n", tg_value(g, loss), dW[0], dW[1], dW[2], dW[3]);
    tg_graph_free(g);
    return failed;
}
