/* TwoLayerNet on the real MNIST: the data set itself, the book's gradient
 * check (section 5.7.3) and a short training run.  Exits 77 (skipped)
 * when the data cannot be found. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/nn.h"

#include "files.h"
#include "runner.h"

static tg_mnist data;

START_TEST(the_data_set)
{
    ck_assert_uint_eq(data.train.count, 60000);
    ck_assert_uint_eq(data.test.count, 10000);
    ck_assert_uint_eq(data.train.rows, 28);
    ck_assert_uint_eq(data.train.cols, 28);
    /* the first digits of each split, as every MNIST reader shows them */
    const uint8_t train_first[5] = { 5, 0, 4, 1, 9 }, test_first[5] = { 7, 2, 1, 0, 4 };
    ck_assert_mem_eq(data.train.labels, train_first, 5);
    ck_assert_mem_eq(data.test.labels, test_first, 5);
    /* 60000 labels spread over ten classes, each between 5421 and 6742 */
    size_t count[10] = { 0 };
    for (size_t i = 0; i < data.train.count; i++) count[data.train.labels[i]]++;
    ck_assert_uint_eq(count[1], 6742);
    ck_assert_uint_eq(count[5], 5421);
}
END_TEST

START_TEST(gradient_check)
{
    /* Section 5.7.3: 3 training images, backprop against central
     * differences; the book prints W1 4.0e-10, b1 2.1e-09, W2 5.2e-09,
     * b2 1.4e-07 (its loss adds 1e-7 inside the log). */
    tg_net *net = tg_net_new(784, 50, 10, 1);
    ck_assert_int_eq(tg_net_batch_mnist(net, &data.train, NULL, 0, 3), TG_OK);
    double diff[TG_NET_NPARAMS];
    ck_assert_int_eq(tg_net_gradcheck(net, diff), TG_OK);
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        fprintf(stderr, "%s: %.1e\n", tg_net_param_name(k), diff[k]);
        ck_assert_double_lt(diff[k], 1e-7);
    }
    /* the gradients compared are not trivially zero */
    double *g = malloc(tg_net_param_count(net) * sizeof *g);
    tg_net_get_grads(net, g);
    double sum = 0;
    for (size_t i = 0; i < tg_net_param_count(net); i++) sum += g[i] * g[i];
    ck_assert_double_gt(sum, 1e-6);
    free(g);
    tg_net_free(net);
}
END_TEST

/* The demo's loop, iters steps of batch 100 at lr 0.1. */
static void train(tg_net *net, size_t iters, uint64_t seed, double *first_loss, double *last_loss)
{
    tg_rng r = tg_rng_seed(seed);
    size_t idx[100];
    double sum_first = 0, sum_last = 0, loss;
    for (size_t i = 0; i < iters; i++) {
        for (int b = 0; b < 100; b++) idx[b] = tg_rng_below(&r, data.train.count);
        ck_assert_int_eq(tg_net_batch_mnist(net, &data.train, idx, 0, 100), TG_OK);
        ck_assert_int_eq(tg_net_train_step(net, 0.1, &loss), TG_OK);
        if (i < 20) sum_first += loss;
        if (i >= iters - 20) sum_last += loss;
    }
    if (first_loss) *first_loss = sum_first / 20;
    if (last_loss) *last_loss = sum_last / 20;
}

START_TEST(short_training_run)
{
    tg_net *net = tg_net_new(784, 50, 10, 1);
    double before, first, last, acc;
    ck_assert_int_eq(tg_net_accuracy(net, &data.test, &before), TG_OK);
    train(net, 300, 2, &first, &last);
    ck_assert_int_eq(tg_net_accuracy(net, &data.test, &acc), TG_OK);
    fprintf(stderr, "300 iterations: loss %.3f -> %.3f, test accuracy %.4f -> %.4f\n", first,
            last, before, acc);
    ck_assert_double_lt(before, 0.25);     /* chance is 0.1 */
    ck_assert_double_gt(acc, 0.80);
    ck_assert_double_lt(last, 0.5 * first);
    tg_net_free(net);
}
END_TEST

START_TEST(same_seed_same_result)
{
    tg_net *a = tg_net_new(784, 50, 10, 3), *b = tg_net_new(784, 50, 10, 3);
    train(a, 50, 4, NULL, NULL);
    train(b, 50, 4, NULL, NULL);
    size_t n = tg_net_param_count(a);
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    tg_net_get_params(a, pa);
    tg_net_get_params(b, pb);
    ck_assert_mem_eq(pa, pb, n * sizeof *pa);
    free(pa);
    free(pb);
    tg_net_free(a);
    tg_net_free(b);
}
END_TEST

/* A float32 net trained briefly reaches what a float64 net does, well
 * over chance; its gradient check passes at float32's resolution; and its
 * batch loss agrees with the float64 net's from the same weights. */
START_TEST(float32_training_run)
{
    tg_net *net = tg_net_new_ex(784, 50, 10, 1, TG_F32, NULL);
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(tg_net_dtype(net), TG_F32);
    double first, last, acc;
    train(net, 300, 2, &first, &last);
    ck_assert_int_eq(tg_net_accuracy(net, &data.test, &acc), TG_OK);
    fprintf(stderr, "float32, 300 iterations: loss %.3f -> %.3f, test accuracy %.4f\n", first, last, acc);
    ck_assert_double_gt(acc, 0.80);
    ck_assert_double_lt(last, 0.5 * first);
    tg_net_free(net);

    /* the same weights (rounded) and batch in float64: losses agree to float32 rounding */
    tg_net *n32 = tg_net_new_ex(784, 50, 10, 5, TG_F32, NULL);
    tg_net *n64 = tg_net_new_ex(784, 50, 10, 5, TG_F64, NULL);
    size_t np = tg_net_param_count(n32);
    double *p = malloc(np * sizeof *p);
    tg_net_get_params(n32, p);
    double *w = tg_tensor_data(tg_net_graph(n64), tg_find(tg_net_graph(n64), "W1"));
    memcpy(w, p, np * sizeof *p);  /* one block in a float64 net */
    double l32, l64, diff[TG_NET_NPARAMS];
    ck_assert_int_eq(tg_net_batch_mnist(n32, &data.train, NULL, 0, 100), TG_OK);
    ck_assert_int_eq(tg_net_batch_mnist(n64, &data.train, NULL, 0, 100), TG_OK);
    ck_assert_int_eq(tg_net_batch_loss(n32, &l32), TG_OK);
    ck_assert_int_eq(tg_net_batch_loss(n64, &l64), TG_OK);
    ck_assert_double_eq_tol(l32, l64, 1e-5 * l64);
    /* section 5.7.3 in float32 on 3 images: the float64 net reaches 1e-7,
     * float32 differences about eps / h */
    ck_assert_int_eq(tg_net_batch_mnist(n32, &data.train, NULL, 0, 3), TG_OK);
    ck_assert_int_eq(tg_net_gradcheck(n32, diff), TG_OK);
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        fprintf(stderr, "float32 %s: %.1e\n", tg_net_param_name(k), diff[k]);
        ck_assert_double_lt(diff[k], 1e-3);
    }
    free(p);
    tg_net_free(n32);
    tg_net_free(n64);
}
END_TEST

int main(void)
{
    const char *dir = real_mnist_dir();
    if (!dir) return 77;
    tg_error err;
    if (tg_mnist_load(dir, &data, &err) != TG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;   /* the data is there but unreadable: a failure, not a skip */
    }
    Suite *s = suite_create("mnist_data");
    TCase *tc = tcase_create("mnist");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, the_data_set);
    tcase_add_test(tc, gradient_check);
    tcase_add_test(tc, short_training_run);
    tcase_add_test(tc, same_seed_same_result);
    tcase_add_test(tc, float32_training_run);
    suite_add_tcase(s, tc);
    int status = run_suite(s);
    tg_mnist_free(&data);
    return status;
}
