/* A program outside the tree that uses the network: built by installed.sh
 * with `pkg-config --cflags --libs tapegrad-nn` against an installed copy.
 * Two training steps of a 3-4-2 TwoLayerNet on two rows. */
#include <stdio.h>

#include <tapegrad/nn.h>

int main(void)
{
    static const double x[6] = { 0.1, 0.2, 0.3, -0.4, 0.5, -0.6 }, t[4] = { 1, 0, 0, 1 };
    tg_net *net = tg_net_new(3, 4, 2, 1);
    if (!net) return 1;
    double first = 0, second = 0;
    tg_status s = tg_net_batch(net, x, t, 2);
    if (s == TG_OK) s = tg_net_train_step(net, 0.5, &first);
    if (s == TG_OK) s = tg_net_train_step(net, 0.5, &second);
    if (s != TG_OK) fprintf(stderr, "%s\n", tg_graph_errmsg(tg_net_graph(net)));
    else printf("loss %.6f then %.6f\n", first, second);
    tg_net_free(net);
    return s != TG_OK || !(second < first);
}
