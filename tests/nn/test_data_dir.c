/* The mnist demo's search for the data (demos/mnist/data_dir.c): its
 * order, and that a directory a person named is the only place looked at. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_dir.h"
#include "files.h"
#include "runner.h"
#include "scratch.h"

/* The four files of the set, empty: the search only opens them. */
static void touch_set(const char *dir)
{
    static const char *const names[4] = { TG_MNIST_TRAIN_IMAGES ".gz", TG_MNIST_TRAIN_LABELS ".gz",
                                           TG_MNIST_TEST_IMAGES, TG_MNIST_TEST_LABELS };
    char p[512];
    for (int k = 0; k < 4; k++) write_bytes(path_in(p, sizeof p, dir, names[k]), "", 0, 0);
}

START_TEST(search_order)
{
    char data[256], empty[256], want[2048];
    scratch_dir(data, sizeof data);
    scratch_dir(empty, sizeof empty);
    touch_set(data);
    tg_error err;
    ck_assert_int_eq(unsetenv("TAPEGRAD_MNIST"), 0);

    /* 1. a directory given with --data wins, and a wrong one is an error */
    ck_assert_str_eq(data_dir_find(data, NULL, &err), data);
    ck_assert_ptr_null(data_dir_find(empty, data, &err));
    ck_assert_int_eq(err.status, TG_ERR_IO);
    snprintf(want, sizeof want,
             "MNIST data not found (--data): %s: no train-images-idx3-ubyte[.gz] there", empty);
    ck_assert_str_eq(err.msg, want);

    /* 2. then $TAPEGRAD_MNIST, the same way */
    ck_assert_int_eq(setenv("TAPEGRAD_MNIST", data, 1), 0);
    ck_assert_str_eq(data_dir_find(NULL, NULL, &err), data);
    ck_assert_int_eq(setenv("TAPEGRAD_MNIST", empty, 1), 0);
    ck_assert_ptr_null(data_dir_find(NULL, data, &err));
    ck_assert_int_eq(err.status, TG_ERR_IO);
    snprintf(want, sizeof want,
             "MNIST data not found ($TAPEGRAD_MNIST): %s: no train-images-idx3-ubyte[.gz] there",
             empty);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(setenv("TAPEGRAD_MNIST", "", 1), 0);   /* empty counts as not set */
    ck_assert_str_eq(data_dir_find(NULL, data, &err), data);

    /* 3. then ../shared/data/mnist from the current directory */
    char top[256], shared[512], here[512];
    scratch_dir(top, sizeof top);
    ck_assert_int_eq(unsetenv("TAPEGRAD_MNIST"), 0);
    snprintf(shared, sizeof shared, "%s/shared", top);
    ck_assert_int_eq(mkdir(shared, 0700), 0);
    snprintf(shared, sizeof shared, "%s/shared/data", top);
    ck_assert_int_eq(mkdir(shared, 0700), 0);
    snprintf(shared, sizeof shared, "%s/shared/data/mnist", top);
    ck_assert_int_eq(mkdir(shared, 0700), 0);
    touch_set(shared);
    snprintf(here, sizeof here, "%s/work", top);
    ck_assert_int_eq(mkdir(here, 0700), 0);
    ck_assert_int_eq(chdir(here), 0);
    ck_assert_str_eq(data_dir_find(NULL, data, &err), "../shared/data/mnist");

    /* 4. then the fallback; from a directory whose parent has no shared/ */
    ck_assert_int_eq(chdir(empty), 0);
    ck_assert_str_eq(data_dir_find(NULL, data, &err), data);
    ck_assert_ptr_null(data_dir_find(NULL, empty, &err));
    ck_assert_int_eq(err.status, TG_ERR_IO);
    snprintf(want, sizeof want,
             "MNIST data not found in ../shared/data/mnist (relative to the current directory) "
             "nor in %s; $TAPEGRAD_MNIST is not set; name the directory with --data DIR or "
             "TAPEGRAD_MNIST", empty);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(data_dir_find(NULL, NULL, NULL));   /* err may be NULL */
    ck_assert_ptr_null(data_dir_find(NULL, NULL, &err));
    ck_assert_str_eq(err.msg, "MNIST data not found in ../shared/data/mnist (relative to the "
                              "current directory); $TAPEGRAD_MNIST is not set; name the "
                              "directory with --data DIR or TAPEGRAD_MNIST");
    scratch_remove(data);
    scratch_remove(empty);
    scratch_remove(shared);
    const char *const dirs[] = { "shared/data", "shared", "work" };
    for (int k = 0; k < 3; k++) rmdir(path_in(here, sizeof here, top, dirs[k]));
    scratch_remove(top);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("data_dir");
    TCase *tc = tcase_create("search");
    tcase_add_test(tc, search_order);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
