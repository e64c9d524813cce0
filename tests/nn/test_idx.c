/* The IDX reader on small files the tests write themselves: valid files,
 * plain and gzip, and every way a file can be malformed, each with its
 * exact status and message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tapegrad/mnist.h"

#include "files.h"
#include "runner.h"
#include "scratch.h"

enum { N = 5, ROWS = 2, COLS = 3, PIXELS = N * ROWS * COLS };
static const unsigned char labels5[N] = { 3, 0, 9, 1, 7 };

static void pixels(unsigned char *p)
{
    for (int i = 0; i < PIXELS; i++) p[i] = (unsigned char)(i * 37 % 256);
    p[0] = 0;
    p[1] = 255;
}

/* A valid images file and labels file of the 5 images, in dir. */
static void write_pair(const char *dir, const char *img, const char *lab, int gz_img, int gz_lab)
{
    unsigned char buf[256], px[PIXELS];
    char p[512];
    pixels(px);
    uint32_t idims[3] = { N, ROWS, COLS }, ldims[1] = { N };
    size_t n = idx_bytes(buf, 0x803, idims, 3, px, PIXELS);
    write_bytes(path_in(p, sizeof p, dir, img), buf, n, gz_img);
    n = idx_bytes(buf, 0x801, ldims, 1, labels5, N);
    write_bytes(path_in(p, sizeof p, dir, lab), buf, n, gz_lab);
}

/* Read images file `img` with the valid labels "lab" of dir; expect status
 * s and, when msg is not NULL, the message "<dir>/<img>: <msg>". */
static void expect_images(const char *dir, const char *img, tg_status s, const char *msg)
{
    char ip[512], lp[512], want[2048];
    tg_mnist_set set;
    memset(&set, 0xAB, sizeof set);
    tg_mnist_set before = set;
    tg_error err;
    tg_status got = tg_mnist_read_set(path_in(ip, sizeof ip, dir, img),
                                      path_in(lp, sizeof lp, dir, "lab"), &set, &err);
    ck_assert_int_eq(got, s);
    ck_assert_int_eq(err.status, s);
    ck_assert_mem_eq(&set, &before, sizeof set);  /* untouched on failure */
    if (msg) {
        snprintf(want, sizeof want, "%s: %s", ip, msg);
        ck_assert_str_eq(err.msg, want);
    }
}

static void check_set(const tg_mnist_set *set)
{
    unsigned char px[PIXELS];
    pixels(px);
    ck_assert_uint_eq(set->count, N);
    ck_assert_uint_eq(set->rows, ROWS);
    ck_assert_uint_eq(set->cols, COLS);
    ck_assert_mem_eq(set->images, px, PIXELS);
    ck_assert_mem_eq(set->labels, labels5, N);
}

static void read_valid(int gz_img, int gz_lab)
{
    char dir[256], ip[512], lp[512];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", gz_img, gz_lab);
    tg_mnist_set set;
    tg_error err;
    ck_assert_int_eq(tg_mnist_read_set(path_in(ip, sizeof ip, dir, "img"),
                                       path_in(lp, sizeof lp, dir, "lab"), &set, &err), TG_OK);
    ck_assert_int_eq(err.status, TG_OK);
    ck_assert_str_eq(err.msg, "");
    check_set(&set);
    tg_mnist_set_free(&set);
    ck_assert_ptr_null(set.images);
    ck_assert_uint_eq(set.count, 0);
    scratch_remove(dir);
}

START_TEST(valid_plain) { read_valid(0, 0); }
END_TEST

START_TEST(valid_gzip) { read_valid(1, 1); }
END_TEST

START_TEST(valid_mixed) { read_valid(1, 0); }
END_TEST

START_TEST(truncated_plain)
{
    char dir[256], p[512], msg[256];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    unsigned char buf[256], px[PIXELS];
    pixels(px);
    uint32_t dims[3] = { N, ROWS, COLS };
    size_t full = idx_bytes(buf, 0x803, dims, 3, px, PIXELS);
    const size_t cuts[] = { 0, 3, 4, 15, 16, 17, 30, full - 1 };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t cut = cuts[c];
        write_bytes(path_in(p, sizeof p, dir, "cut"), buf, cut, _i);
        if (cut < 16)
            snprintf(msg, sizeof msg, "truncated header: %zu of 16 bytes", cut);
        else
            snprintf(msg, sizeof msg,
                     "truncated: the header announces %d bytes of data, the file holds %zu", PIXELS,
                     cut - 16);
        expect_images(dir, "cut", TG_ERR_FORMAT, msg);
    }
    scratch_remove(dir);
}
END_TEST

START_TEST(gzip_stream_cut)
{
    /* A valid file compressed, then its compressed bytes cut short. */
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 1, 0);
    size_t n;
    unsigned char *gz = read_bytes(path_in(p, sizeof p, dir, "img"), &n);
    write_bytes(path_in(p, sizeof p, dir, "cut"), gz, n - 6, 0);
    expect_images(dir, "cut", TG_ERR_FORMAT, "the gzip stream is cut short (unexpected end of file)");
    free(gz);
    scratch_remove(dir);
}
END_TEST

START_TEST(gzip_corrupt)
{
    /* The stored CRC-32 at the end of the gzip member no longer matches. */
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 1, 0);
    size_t n;
    unsigned char *gz = read_bytes(path_in(p, sizeof p, dir, "img"), &n);
    gz[n - 8] ^= 0x5A;
    write_bytes(path_in(p, sizeof p, dir, "bad"), gz, n, 0);
    expect_images(dir, "bad", TG_ERR_FORMAT, "corrupt gzip data (incorrect data check)");
    free(gz);
    scratch_remove(dir);
}
END_TEST

START_TEST(oversized_counts)
{
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    unsigned char buf[256], px[PIXELS];
    pixels(px);
    /* A count of 2^32 - 1 images of 28x28 with 30 bytes present: an error
     * after reading what is there, not a 3 TB allocation. */
    uint32_t big[3] = { 0xFFFFFFFFu, 28, 28 };
    size_t n = idx_bytes(buf, 0x803, big, 3, px, PIXELS);
    write_bytes(path_in(p, sizeof p, dir, "big"), buf, n, _i);
    char msg[256];
    snprintf(msg, sizeof msg, "truncated: the header announces %zu bytes of data, the file holds %d",
             (size_t)0xFFFFFFFFu * 784u, PIXELS);
    expect_images(dir, "big", TG_ERR_FORMAT, msg);

    uint32_t huge[3] = { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu };
    n = idx_bytes(buf, 0x803, huge, 3, px, PIXELS);
    write_bytes(path_in(p, sizeof p, dir, "huge"), buf, n, _i);
    expect_images(dir, "huge", TG_ERR_FORMAT,
                  "the header's sizes multiply past what this machine can address");
    scratch_remove(dir);
}
END_TEST

START_TEST(zero_dimension)
{
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    unsigned char buf[64];
    uint32_t dims[3] = { N, 0, COLS };
    size_t n = idx_bytes(buf, 0x803, dims, 3, NULL, 0);
    write_bytes(path_in(p, sizeof p, dir, "zero"), buf, n, 0);
    expect_images(dir, "zero", TG_ERR_FORMAT, "the header's rows is 0");
    scratch_remove(dir);
}
END_TEST

START_TEST(wrong_magic)
{
    char dir[256], ip[512], lp[512], want[2048];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    /* labels given as images */
    expect_images(dir, "lab", TG_ERR_FORMAT,
                  "wrong magic number 0x00000801, expected 0x00000803 (IDX unsigned bytes, 3 "
                  "dimensions) (this is a labels file)");
    /* images given as labels */
    tg_mnist_set set;
    tg_error err;
    path_in(ip, sizeof ip, dir, "img");
    ck_assert_int_eq(tg_mnist_read_set(ip, ip, &set, &err), TG_ERR_FORMAT);
    snprintf(want, sizeof want,
             "%s: wrong magic number 0x00000803, expected 0x00000801 (IDX unsigned bytes, 1 "
             "dimension) (this is an images file)", ip);
    ck_assert_str_eq(err.msg, want);
    /* float data (type 0x0D) */
    unsigned char buf[256], px[PIXELS];
    pixels(px);
    uint32_t dims[3] = { N, ROWS, COLS };
    size_t n = idx_bytes(buf, 0x0D03, dims, 3, px, PIXELS);
    write_bytes(path_in(lp, sizeof lp, dir, "float"), buf, n, 0);
    expect_images(dir, "float", TG_ERR_FORMAT,
                  "wrong magic number 0x00000d03, expected 0x00000803 (IDX unsigned bytes, 3 "
                  "dimensions)");
    scratch_remove(dir);
}
END_TEST

START_TEST(trailing_bytes)
{
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    unsigned char buf[256], px[PIXELS + 1];
    pixels(px);
    px[PIXELS] = 1;
    uint32_t dims[3] = { N, ROWS, COLS };
    size_t n = idx_bytes(buf, 0x803, dims, 3, px, PIXELS + 1);
    write_bytes(path_in(p, sizeof p, dir, "long"), buf, n, _i);
    expect_images(dir, "long", TG_ERR_FORMAT,
                  "trailing bytes after the 30 bytes of data its header announces");
    scratch_remove(dir);
}
END_TEST

START_TEST(label_out_of_range)
{
    char dir[256], ip[512], lp[512], want[2048];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    unsigned char buf[64], bad[N] = { 3, 0, 10, 1, 7 };
    uint32_t dims[1] = { N };
    size_t n = idx_bytes(buf, 0x801, dims, 1, bad, N);
    write_bytes(path_in(lp, sizeof lp, dir, "badlab"), buf, n, 1);
    tg_mnist_set set;
    memset(&set, 0, sizeof set);
    tg_error err;
    ck_assert_int_eq(tg_mnist_read_set(path_in(ip, sizeof ip, dir, "img"), lp, &set, &err),
                     TG_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: label 10 at index 2 is outside 0-9", lp);
    ck_assert_str_eq(err.msg, want);
    ck_assert_ptr_null(set.images);
    scratch_remove(dir);
}
END_TEST

START_TEST(count_mismatch)
{
    char dir[256], ip[512], lp[512], want[2048];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    unsigned char buf[64];
    uint32_t dims[1] = { N - 1 };
    size_t n = idx_bytes(buf, 0x801, dims, 1, labels5, N - 1);
    write_bytes(path_in(lp, sizeof lp, dir, "four"), buf, n, 0);
    tg_mnist_set set;
    tg_error err;
    path_in(ip, sizeof ip, dir, "img");
    ck_assert_int_eq(tg_mnist_read_set(ip, lp, &set, &err), TG_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: 4 labels, but %s holds 5 images", lp, ip);
    ck_assert_str_eq(err.msg, want);
    scratch_remove(dir);
}
END_TEST

START_TEST(missing_file)
{
    char dir[256];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, "img", "lab", 0, 0);
    expect_images(dir, "nothing-here", TG_ERR_IO, "cannot open: No such file or directory");
    ck_assert_int_eq(tg_mnist_read_set(NULL, "x", NULL, NULL), TG_ERR_ARG);
    scratch_remove(dir);
}
END_TEST

START_TEST(load_directory)
{
    char dir[256], want[2048];
    scratch_dir(dir, sizeof dir);
    write_pair(dir, TG_MNIST_TRAIN_IMAGES ".gz", TG_MNIST_TRAIN_LABELS, 1, 0);
    write_pair(dir, TG_MNIST_TEST_IMAGES, TG_MNIST_TEST_LABELS ".gz", 0, 1);
    tg_mnist d;
    tg_error err;
    ck_assert_int_eq(tg_mnist_load(dir, &d, &err), TG_OK);
    check_set(&d.train);
    check_set(&d.test);
    tg_mnist_free(&d);

    /* A missing file: an error naming it, and the output untouched. */
    char p[512];
    remove(path_in(p, sizeof p, dir, TG_MNIST_TEST_LABELS ".gz"));
    memset(&d, 0xCD, sizeof d);
    tg_mnist before = d;
    ck_assert_int_eq(tg_mnist_load(dir, &d, &err), TG_ERR_IO);
    snprintf(want, sizeof want, "%s/%s: cannot open: No such file or directory", dir,
             TG_MNIST_TEST_LABELS);
    ck_assert_str_eq(err.msg, want);
    ck_assert_mem_eq(&d, &before, sizeof d);
    scratch_remove(dir);
}
END_TEST

/* Empty files under the four names: tg_mnist_probe only opens them. */
static void touch_set(const char *dir, int with_test)
{
    char p[512];
    write_bytes(path_in(p, sizeof p, dir, TG_MNIST_TRAIN_IMAGES ".gz"), "", 0, 0);
    write_bytes(path_in(p, sizeof p, dir, TG_MNIST_TRAIN_LABELS), "", 0, 0);
    if (!with_test) return;
    write_bytes(path_in(p, sizeof p, dir, TG_MNIST_TEST_IMAGES), "", 0, 0);
    write_bytes(path_in(p, sizeof p, dir, TG_MNIST_TEST_LABELS ".gz"), "", 0, 0);
}

START_TEST(probe_directory)
{
    char data[256], half[256], empty[256], want[2048];
    scratch_dir(data, sizeof data);
    scratch_dir(half, sizeof half);
    scratch_dir(empty, sizeof empty);
    touch_set(data, 1);
    touch_set(half, 0);
    tg_error err;

    /* all four files, .gz or bare */
    memset(&err, 0x55, sizeof err);
    ck_assert_int_eq(tg_mnist_probe(data, &err), TG_OK);
    ck_assert_int_eq(err.status, TG_OK);
    ck_assert_str_eq(err.msg, "");
    ck_assert_int_eq(tg_mnist_probe(data, NULL), TG_OK);

    /* the first file missing is named */
    ck_assert_int_eq(tg_mnist_probe(empty, &err), TG_ERR_IO);
    ck_assert_int_eq(err.status, TG_ERR_IO);
    snprintf(want, sizeof want, "%s: no train-images-idx3-ubyte[.gz] there", empty);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(tg_mnist_probe(half, &err), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: no t10k-images-idx3-ubyte[.gz] there", half);
    ck_assert_str_eq(err.msg, want);

    /* a file that exists and cannot be opened is not "missing": here a
     * "directory" that is a file */
    char file[512];
    write_bytes(path_in(file, sizeof file, empty, "plain"), "x", 1, 0);
    ck_assert_int_eq(tg_mnist_probe(file, &err), TG_ERR_IO);
    snprintf(want, sizeof want, "%s/train-images-idx3-ubyte.gz: cannot open: Not a directory", file);
    ck_assert_str_eq(err.msg, want);

    /* arguments */
    ck_assert_int_eq(tg_mnist_probe(NULL, &err), TG_ERR_ARG);
    ck_assert_str_eq(err.msg, "tg_mnist_probe: dir is NULL");
    char *long_dir = malloc(5000);
    ck_assert_ptr_nonnull(long_dir);
    memset(long_dir, 'd', 4999);
    long_dir[4999] = '\0';
    ck_assert_int_eq(tg_mnist_probe(long_dir, &err), TG_ERR_ARG);
    ck_assert_int_eq(strncmp(err.msg, "tg_mnist_probe: directory name too long: ddd", 44), 0);
    tg_mnist d;
    ck_assert_int_eq(tg_mnist_load(long_dir, &d, &err), TG_ERR_ARG);
    ck_assert_int_eq(strncmp(err.msg, "tg_mnist_load: directory name too long: ddd", 43), 0);
    free(long_dir);
    scratch_remove(data);
    scratch_remove(half);
    scratch_remove(empty);
}
END_TEST

START_TEST(batch_values)
{
    unsigned char px[PIXELS];
    pixels(px);
    unsigned char lab[N];
    memcpy(lab, labels5, N);
    tg_mnist_set set = { N, ROWS, COLS, px, lab };
    double x[3 * ROWS * COLS], t[3 * TG_MNIST_CLASSES];
    size_t idx[3] = { 4, 0, 4 };
    ck_assert_int_eq(tg_mnist_batch(&set, idx, 0, 3, x, t), TG_OK);
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < ROWS * COLS; j++)
            ck_assert_double_eq(x[i * ROWS * COLS + j], px[idx[i] * ROWS * COLS + j] / 255.0);
        for (int c = 0; c < TG_MNIST_CLASSES; c++)
            ck_assert_double_eq(t[i * TG_MNIST_CLASSES + c], c == lab[idx[i]] ? 1.0 : 0.0);
    }
    ck_assert_double_eq(x[ROWS * COLS + 1], 1.0);   /* pixel 255 of image 0 */
    ck_assert_double_eq(x[ROWS * COLS], 0.0);

    /* consecutive images from `first` */
    ck_assert_int_eq(tg_mnist_batch(&set, NULL, 3, 2, x, NULL), TG_OK);
    ck_assert_double_eq(x[0], px[3 * ROWS * COLS] / 255.0);

    /* an index out of range writes nothing */
    for (int i = 0; i < 3 * ROWS * COLS; i++) x[i] = -1.0;
    size_t bad[2] = { 1, N };
    ck_assert_int_eq(tg_mnist_batch(&set, bad, 0, 2, x, t), TG_ERR_ARG);
    ck_assert_int_eq(tg_mnist_batch(&set, NULL, 4, 2, x, t), TG_ERR_ARG);
    for (int i = 0; i < 3 * ROWS * COLS; i++) ck_assert_double_eq(x[i], -1.0);
}
END_TEST

/* Every pixel value gives pixel / 255 in double and that quotient rounded
 * to float, in a batch of images picked out of order and longer than the
 * blocks the reader prefetches. */
START_TEST(batch_every_pixel)
{
    enum { IMAGES = 100, SIDE = 16, D = SIDE * SIDE, B = 70 };
    unsigned char *px = malloc(IMAGES * D), lab[IMAGES];
    double *x = malloc(B * D * sizeof *x), t[B * TG_MNIST_CLASSES];
    float *xf = malloc(B * D * sizeof *xf), tf[B * TG_MNIST_CLASSES];
    ck_assert(px && x && xf);
    for (int i = 0; i < IMAGES; i++) {
        for (int j = 0; j < D; j++) px[i * D + j] = (unsigned char)((i * 7 + j) % 256);
        lab[i] = (unsigned char)(i % TG_MNIST_CLASSES);
    }
    tg_mnist_set set = { IMAGES, SIDE, SIDE, px, lab };
    size_t idx[B];
    for (int i = 0; i < B; i++) idx[i] = (size_t)(i * 37 % IMAGES);
    ck_assert_int_eq(tg_mnist_batch(&set, idx, 0, B, x, t), TG_OK);
    ck_assert_int_eq(tg_mnist_batch_f32(&set, idx, 0, B, xf, tf), TG_OK);
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < D; j++) {
            double want = px[idx[i] * D + j] / 255.0;
            ck_assert(x[i * D + j] == want);
            ck_assert(xf[i * D + j] == (float)want);
        }
        for (int c = 0; c < TG_MNIST_CLASSES; c++) {
            ck_assert(t[i * TG_MNIST_CLASSES + c] == (c == lab[idx[i]]));
            ck_assert(tf[i * TG_MNIST_CLASSES + c] == (c == lab[idx[i]]));
        }
    }
    /* consecutive images, from first */
    ck_assert_int_eq(tg_mnist_batch_f32(&set, NULL, 20, B, xf, NULL), TG_OK);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < D; j++) ck_assert(xf[i * D + j] == (float)(px[(20 + i) * D + j] / 255.0));
    free(px);
    free(x);
    free(xf);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("idx");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, valid_plain);
    tcase_add_test(tc, valid_gzip);
    tcase_add_test(tc, valid_mixed);
    tcase_add_loop_test(tc, truncated_plain, 0, 2);   /* _i: plain, then gzip */
    tcase_add_test(tc, gzip_stream_cut);
    tcase_add_test(tc, gzip_corrupt);
    tcase_add_loop_test(tc, oversized_counts, 0, 2);
    tcase_add_test(tc, zero_dimension);
    tcase_add_test(tc, wrong_magic);
    tcase_add_loop_test(tc, trailing_bytes, 0, 2);
    tcase_add_test(tc, label_out_of_range);
    tcase_add_test(tc, count_mismatch);
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, load_directory);
    tcase_add_test(tc, probe_directory);
    tcase_add_test(tc, batch_values);
    tcase_add_test(tc, batch_every_pixel);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
