/*
 * The TwoLayerNet's loss: its Hessian-vector product with respect to all
 * four parameters (W1, b1, W2, b2, found by name) against central
 * differences of tg_backward's gradient along v, against the full
 * tg_hessian times v, and after the parameters changed (a replay) against
 * a net recorded at the new parameters.  A 5-4-3 net on 6 rows, weights
 * large enough that relu's pre-activations stay clear of 0 under the
 * differences' steps.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/nn.h"

#include "rng.h"
#include "runner.h"

enum { IN = 5, HID = 4, OUT = 3, ROWS = 6 };
enum { NP = IN * HID + HID + HID * OUT + OUT };   /* 43 */

typedef struct setup {
    tg_net *net;
    tg_graph *g;
    tg_node p[TG_NET_NPARAMS], loss;
} setup;

/* params: NP values in the order W1 b1 W2 b2 */
static setup make(const double *params)
{
    setup s;
    s.net = tg_net_new(IN, HID, OUT, 3);
    ck_assert_ptr_nonnull(s.net);
    s.g = tg_net_graph(s.net);
    uint64_t seed = 77;
    double x[ROWS * IN], t[ROWS * OUT] = { 0 };
    rng_fill(&seed, x, ROWS * IN, -1, 1);
    for (int i = 0; i < ROWS; i++) t[i * OUT + i % OUT] = 1;
    ck_assert_int_eq(tg_net_batch(s.net, x, t, ROWS), TG_OK);
    const double *at = params;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        s.p[k] = tg_find(s.g, tg_net_param_name(k));
        ck_assert(!tg_is_none(s.p[k]));
        ck_assert_int_eq(tg_tensor_set(s.g, s.p[k], at), TG_OK);
        at += tg_net_param_size(s.net, k);
    }
    s.loss = tg_net_loss(s.net, tg_net_batch_x(s.net), tg_net_batch_t(s.net));
    ck_assert_msg(tg_graph_status(s.g) == TG_OK, "%s", tg_graph_errmsg(s.g));
    return s;
}

static void set_params(setup *s, const double *params)
{
    const double *at = params;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        ck_assert_int_eq(tg_tensor_set(s->g, s->p[k], at), TG_OK);
        at += tg_net_param_size(s->net, k);
    }
}

static void gradient(setup *s, double *grad)
{
    ck_assert_msg(tg_backward(s->g, s->loss) == TG_OK, "%s", tg_graph_errmsg(s->g));
    double *at = grad;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        ck_assert_int_eq(tg_tensor_get_grad(s->g, s->p[k], at), TG_OK);
        at += tg_net_param_size(s->net, k);
    }
}

static void params_at(uint64_t seed, double *p)
{
    rng_fill(&seed, p, NP, -1.5, 1.5);
}

START_TEST(net_hvp_against_differences_of_gradients)
{
    double p[NP], v[NP], hv[NP];
    params_at(5, p);
    setup s = make(p);
    ck_assert_int_eq(tg_net_param_count(s.net), NP);
    uint64_t seed = 11;
    for (int trial = 0; trial < 4; trial++) {
        rng_fill(&seed, v, NP, -1, 1);
        ck_assert_msg(tg_hvp(s.g, s.loss, TG_NET_NPARAMS, s.p, v, hv) == TG_OK, "%s", tg_graph_errmsg(s.g));
        const double h = 1e-5;
        double q[NP], gp[NP], gm[NP];
        for (int i = 0; i < NP; i++) q[i] = p[i] + h * v[i];
        set_params(&s, q);
        gradient(&s, gp);
        for (int i = 0; i < NP; i++) q[i] = p[i] - h * v[i];
        set_params(&s, q);
        gradient(&s, gm);
        set_params(&s, p);
        double norm = 0;
        for (int i = 0; i < NP; i++) {
            double d = (gp[i] - gm[i]) / (2 * h);
            ck_assert_msg(fabs(hv[i] - d) <= 1e-7 * fmax(1, fabs(d)), "trial %d: (H v)[%d] = %.17g, differences %.17g",
                          trial, i, hv[i], d);
            norm += fabs(hv[i]);
        }
        ck_assert_double_gt(norm, 1e-2);
    }
    tg_net_free(s.net);
}
END_TEST

START_TEST(net_hvp_is_hessian_times_v)
{
    double p[NP], v[NP], hv[NP];
    params_at(6, p);
    setup s = make(p);
    double *H = malloc(NP * NP * sizeof *H);
    ck_assert_ptr_nonnull(H);
    ck_assert_msg(tg_hessian(s.g, s.loss, TG_NET_NPARAMS, s.p, H) == TG_OK, "%s", tg_graph_errmsg(s.g));
    uint64_t seed = 12;
    rng_fill(&seed, v, NP, -1, 1);
    ck_assert_int_eq(tg_hvp(s.g, s.loss, TG_NET_NPARAMS, s.p, v, hv), TG_OK);
    for (int i = 0; i < NP; i++) {
        long double want = 0, mag = 0;
        for (int j = 0; j < NP; j++) {
            want += (long double)H[i * NP + j] * v[j];
            mag += fabsl((long double)H[i * NP + j] * v[j]);
        }
        ck_assert_msg(fabsl(hv[i] - want) <= 1e-13L * (mag > 1 ? mag : 1), "(H v)[%d] = %.17g, H times v %.20Lg", i,
                      hv[i], want);
    }
    /* W1's block couples to W2's (the chain rule through the hidden layer),
     * and b2's with itself (softmax's curvature) */
    double w1w2 = 0, b2b2 = 0;
    for (int i = 0; i < IN * HID; i++)
        for (int j = IN * HID + HID; j < IN * HID + HID + HID * OUT; j++) w1w2 += fabs(H[i * NP + j]);
    for (int i = NP - OUT; i < NP; i++) b2b2 += fabs(H[i * NP + i]);
    ck_assert_double_gt(w1w2, 1e-3);
    ck_assert_double_gt(b2b2, 1e-3);
    for (int i = 0; i < NP; i++)
        for (int j = 0; j < i; j++)
            ck_assert_msg(memcmp(&H[i * NP + j], &H[j * NP + i], sizeof *H) == 0, "H[%d][%d] != H[%d][%d]", i, j, j,
                          i);
    free(H);
    tg_net_free(s.net);
}
END_TEST

/* New parameters written into the recorded net (the call replays) give
 * what a net recorded at them gives, bit for bit.  The step is small
 * enough that no relu changes side. */
START_TEST(net_hvp_after_replay_equals_rerecord)
{
    double p0[NP], p1[NP], d[NP], v[NP], a[NP], b[NP];
    params_at(7, p0);
    uint64_t seed = 13;
    rng_fill(&seed, v, NP, -1, 1);
    rng_fill(&seed, d, NP, -1, 1);
    for (int i = 0; i < NP; i++) p1[i] = p0[i] + 1e-3 * d[i];
    setup s = make(p0);
    ck_assert_int_eq(tg_hvp(s.g, s.loss, TG_NET_NPARAMS, s.p, v, a), TG_OK);
    set_params(&s, p1);
    ck_assert_msg(tg_hvp(s.g, s.loss, TG_NET_NPARAMS, s.p, v, a) == TG_OK, "%s", tg_graph_errmsg(s.g));
    setup r = make(p1);
    ck_assert_int_eq(tg_hvp(r.g, r.loss, TG_NET_NPARAMS, r.p, v, b), TG_OK);
    ck_assert_msg(memcmp(a, b, sizeof a) == 0, "H v after the replay differs from a fresh recording");
    tg_net_free(r.net);
    tg_net_free(s.net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("net hvp");
    TCase *tc = tcase_create("hvp");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, net_hvp_against_differences_of_gradients);
    tcase_add_test(tc, net_hvp_is_hessian_times_v);
    tcase_add_test(tc, net_hvp_after_replay_equals_rerecord);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
