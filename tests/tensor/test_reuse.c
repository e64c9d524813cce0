/* Tensor storage across training steps (mark, record, sweep, rewind: no
 * allocation after the first pass) and tensor replay (tg_tensor_set +
 * tg_forward + tg_backward gives what re-recording gives). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#include "alloc.h"
#include "rng.h"
#include "runner.h"
#include "twin.h"

enum { N = 8, IN = 6, HID = 5, OUT = 4 };

typedef struct net {
    tg_node w1, b1, w2, b2;
} net;

static net make_net(tg_graph *g, uint64_t seed)
{
    double w1[IN * HID], b1[HID], w2[HID * OUT], b2[OUT];
    rng_fill(&seed, w1, IN * HID, -1, 1);
    rng_fill(&seed, b1, HID, -0.2, 0.2);
    rng_fill(&seed, w2, HID * OUT, -1, 1);
    rng_fill(&seed, b2, OUT, -0.2, 0.2);
    net n = {
        tg_tensor_var(g, "W1", IN, HID, w1), tg_tensor_var(g, "b1", 1, HID, b1),
        tg_tensor_var(g, "W2", HID, OUT, w2), tg_tensor_var(g, "b2", 1, OUT, b2),
    };
    return n;
}

static void make_batch(uint64_t *seed, double *x, double *t)
{
    rng_fill(seed, x, N * IN, -1, 1);
    memset(t, 0, N * OUT * sizeof *t);
    for (int i = 0; i < N; i++) t[i * OUT + (int)rng_uniform(seed, 0, OUT)] = 1;
}

/* The book's TwoLayerNet loss on one batch. */
static tg_node record(tg_graph *g, net n, tg_node x, tg_node t, tg_node (*act)(tg_graph *, tg_node))
{
    tg_node h = act(g, tg_add(g, tg_matmul(g, x, n.w1), n.b1));
    return tg_softmax_cross_entropy(g, tg_add(g, tg_matmul(g, h, n.w2), n.b2), t);
}

static void sgd(tg_graph *g, net n, double lr)
{
    tg_node ps[] = { n.w1, n.b1, n.w2, n.b2 };
    for (int k = 0; k < 4; k++) {
        size_t r, c;
        tg_shape(g, ps[k], &r, &c);
        double *w = tg_tensor_data(g, ps[k]);
        const double *d = tg_tensor_gradp(g, ps[k]);
        for (size_t e = 0; e < r * c; e++) w[e] -= lr * d[e];
    }
}

START_TEST(training_loop_allocates_only_on_first_pass)
{
    inj_alloc cnt = { 0 };
    tg_allocator alloc = inj_use(&cnt);
    tg_graph *g = tg_graph_new_with(&alloc);
    net n = make_net(g, 7);
    size_t mark = tg_graph_mark(g);
    uint64_t seed = 11;
    double x[N * IN], t[N * OUT];
    double first_loss = 0, last_loss = 0;
    const double *first_x = NULL;
    size_t after_first = 0;

    make_batch(&seed, x, t);  /* the same batch each step, so the loss must fall */
    for (int pass = 0; pass < 200; pass++) {
        tg_node X = tg_tensor_const(g, N, IN, x);
        tg_node T = tg_tensor_const(g, N, OUT, t);
        tg_node loss = record(g, n, X, T, tg_relu);
        ck_assert_int_eq(tg_backward(g, loss), TG_OK);
        sgd(g, n, 0.5);
        if (pass == 0) {
            first_loss = tg_value(g, loss);
            first_x = tg_tensor_data(g, X);
        } else {
            ck_assert_ptr_eq(tg_tensor_data(g, X), first_x);  /* same storage reused */
        }
        last_loss = tg_value(g, loss);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        ck_assert_uint_eq(tg_graph_size(g), mark);
        ck_assert(!tg_is_tensor(g, X));  /* dropped */
        if (pass == 0) after_first = cnt.calls;  /* a pass ends with its rewind */
    }
    ck_assert_int_eq(tg_graph_status(g), TG_OK);
    ck_assert_msg(cnt.calls == after_first, "%zu allocations after the first pass",
                  cnt.calls - after_first);
    ck_assert_double_lt(last_loss, 0.5 * first_loss);
    tg_graph_free(g);
}
END_TEST

/* A larger recording after a rewind grows the arenas once, then reuses. */
START_TEST(larger_second_pass_grows_once)
{
    inj_alloc cnt = { 0 };
    tg_allocator alloc = inj_use(&cnt);
    tg_graph *g = tg_graph_new_with(&alloc);
    tg_node w = tg_tensor_var(g, "w", 4, 4, NULL);
    size_t mark = tg_graph_mark(g);
    long counts[6];
    for (int pass = 0; pass < 6; pass++) {
        size_t rows = pass < 3 ? 8 : 512;
        tg_node x = tg_tensor_const(g, rows, 4, NULL);
        tg_node y = tg_sum(g, tg_tanh(g, tg_matmul(g, x, w)));
        ck_assert_int_eq(tg_backward(g, y), TG_OK);
        ck_assert_int_eq(tg_graph_rewind(g, mark), TG_OK);
        counts[pass] = (long)cnt.calls;
    }
    ck_assert_int_eq(counts[2], counts[0]);
    ck_assert_int_gt(counts[3], counts[2]);
    ck_assert_int_eq(counts[5], counts[3]);
    tg_graph_free(g);
}
END_TEST

static void grads_of(tg_graph *g, net n, double *out)
{
    tg_node ps[] = { n.w1, n.b1, n.w2, n.b2 };
    size_t at = 0;
    for (int k = 0; k < 4; k++) {
        size_t r, c;
        tg_shape(g, ps[k], &r, &c);
        ck_assert_int_eq(tg_tensor_get_grad(g, ps[k], out + at), TG_OK);
        at += r * c;
    }
}

enum { NPARAM = IN * HID + HID + HID * OUT + OUT };

/* Replay at a new batch and new weights equals re-recording there. */
static void replay_matches(tg_node (*act)(tg_graph *, tg_node), double step)
{
    uint64_t seed = 5;
    double x1[N * IN], t1[N * OUT], x2[N * IN], t2[N * OUT];
    make_batch(&seed, x1, t1);
    for (int i = 0; i < N * IN; i++) x2[i] = x1[i] * (1 + step) + step;
    memcpy(t2, t1, sizeof t1);
    t2[0] = 1 - t2[0];  /* a different label row, still a valid target */
    t2[1] = 1 - t2[1];

    /* recorded at x1, replayed at x2 with W1 moved */
    tg_graph *g = tg_graph_new();
    net n = make_net(g, 3);
    tg_node X = tg_tensor_var(g, "x", N, IN, x1);
    tg_node T = tg_tensor_const(g, N, OUT, t1);
    tg_node loss = record(g, n, X, T, act);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double w1[IN * HID];
    ck_assert_int_eq(tg_tensor_get(g, n.w1, w1), TG_OK);
    for (int i = 0; i < IN * HID; i++) w1[i] += step * 0.5;
    ck_assert_int_eq(tg_tensor_set(g, X, x2), TG_OK);
    ck_assert_int_eq(tg_tensor_set(g, T, t2), TG_OK);
    ck_assert_int_eq(tg_tensor_set(g, n.w1, w1), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double replayed[NPARAM], dx_replayed[N * IN];
    grads_of(g, n, replayed);
    tg_tensor_get_grad(g, X, dx_replayed);

    /* recorded afresh at x2 */
    tg_graph *h = tg_graph_new();
    net m = make_net(h, 3);
    tg_tensor_set(h, m.w1, w1);
    tg_node X2 = tg_tensor_var(h, "x", N, IN, x2);
    tg_node loss2 = record(h, m, X2, tg_tensor_const(h, N, OUT, t2), act);
    ck_assert_int_eq(tg_backward(h, loss2), TG_OK);
    double fresh[NPARAM], dx_fresh[N * IN];
    grads_of(h, m, fresh);
    tg_tensor_get_grad(h, X2, dx_fresh);

    ck_assert_double_ne(tg_value(g, loss), 0);
    double lr = tg_value(g, loss), lf = tg_value(h, loss2);
    expect_close(&lr, &lf, 1, 1e-14, "replayed loss");
    expect_close(replayed, fresh, NPARAM, 1e-14, "replayed parameter gradients");
    expect_close(dx_replayed, dx_fresh, N * IN, 1e-14, "replayed input gradient");
    tg_graph_free(h);
    tg_graph_free(g);
}

START_TEST(replay_equals_rerecording_sigmoid)
{
    replay_matches(tg_sigmoid, 0.3);
}
END_TEST

START_TEST(replay_equals_rerecording_relu_same_branches)
{
    replay_matches(tg_relu, 1e-9);
}
END_TEST

/* A relu replayed onto other branches is stale, stays stale on a second
 * such replay (compared with the recording, not the last replay), and is
 * valid again once replayed back onto its recorded branches. */
START_TEST(relu_flip_against_recording)
{
    tg_graph *g = tg_graph_new();
    const double x1[4] = { 1, -2, 3, -4 }, x2[4] = { 1, 2, 3, -4 }, x3[4] = { 1, 5, 3, -4 };
    const double x4[4] = { 0.5, -1, 2, -3 };
    tg_node X = tg_tensor_var(g, "x", 2, 2, x1);
    tg_node R = tg_relu(g, X);
    tg_node loss = tg_sum(g, tg_mul(g, R, X));
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);

    ck_assert_int_eq(tg_tensor_set(g, X, x2), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    ck_assert_str_eq(tg_graph_errmsg(g),
                     "tg_forward: node 1 (relu) changed branch since it was recorded; re-record the tape");
    tg_graph_clear_error(g);
    ck_assert_int_eq(tg_backward(g, loss), TG_ERR_STALE);
    tg_graph_clear_error(g);
    /* the values are the new point's all the same */
    double r[4];
    tg_tensor_get(g, R, r);
    const double want_r[4] = { 1, 2, 3, 0 };
    expect_close(r, want_r, 4, 0, "relu after a flipped replay");

    ck_assert_int_eq(tg_tensor_set(g, X, x3), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    tg_graph_clear_error(g);

    ck_assert_int_eq(tg_tensor_set(g, X, x4), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    double dx[4];
    tg_tensor_get_grad(g, X, dx);
    const double want_dx[4] = { 1.0, 0, 4.0, 0 };  /* d sum(relu(x) x) = 2x on x > 0 */
    expect_close(dx, want_dx, 4, 0, "gradient back on the recorded branches");
    ck_assert_double_eq(tg_value(g, loss), 0.25 + 4);
    tg_graph_free(g);
}
END_TEST

/* A relu recorded at exactly 0 (the "off" side) flips when replayed above. */
START_TEST(relu_flip_from_zero)
{
    tg_graph *g = tg_graph_new();
    const double x1[2] = { 0, 1 }, x2[2] = { 1e-300, 1 };
    tg_node X = tg_tensor_var(g, "x", 1, 2, x1);
    tg_node loss = tg_sum(g, tg_relu(g, X));
    (void)loss;
    ck_assert_int_eq(tg_tensor_set(g, X, x2), TG_OK);
    ck_assert_int_eq(tg_forward(g), TG_ERR_STALE);
    tg_graph_free(g);
}
END_TEST

/* Writing a leaf through tg_tensor_data is seen by the next replay. */
START_TEST(data_pointer_writes_replay)
{
    tg_graph *g = tg_graph_new();
    const double a[3] = { 1, 2, 3 };
    tg_node A = tg_tensor_var(g, "a", 1, 3, a);
    tg_node s = tg_mean(g, tg_exp(g, A));
    double *p = tg_tensor_data(g, A);
    ck_assert_ptr_nonnull(p);
    p[0] = 0;
    p[1] = 0;
    p[2] = log(4.0);
    ck_assert_int_eq(tg_forward(g), TG_OK);
    ck_assert_double_eq_tol(tg_value(g, s), 2.0, 1e-15);
    tg_graph_free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tensor reuse and replay");
    TCase *tc = tcase_create("reuse");
    tcase_add_test(tc, training_loop_allocates_only_on_first_pass);
    tcase_add_test(tc, larger_second_pass_grows_once);
    tcase_add_test(tc, replay_equals_rerecording_sigmoid);
    tcase_add_test(tc, replay_equals_rerecording_relu_same_branches);
    tcase_add_test(tc, relu_flip_against_recording);
    tcase_add_test(tc, relu_flip_from_zero);
    tcase_add_test(tc, data_pointer_writes_replay);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
