/*
 * Hostile files for the IDX reader and the model loader: a small valid
 * file truncated at every byte offset (plain and gzip), every single bit
 * of its header flipped, sizes whose product overflows size_t or that
 * announce far more data than the file holds, corrupt and early-ending
 * gzip streams, a directory, /dev/zero.  Each must give a clear error whose
 * message starts with the file's path, leave the output as it was and hold
 * no memory; ASan (in CI) turns any over-read into a failure.
 *
 * Each test prints how many malformed files it read ("malformed files: N").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tapegrad/mnist.h>
#include <tapegrad/nn.h>

#include "runner.h"
#include "scratch.h"
#include "wrap_malloc.h"

static char dir[512];
static size_t malformed;    /* files read that must be rejected */

static const uint8_t IMG[16 + 12] = { 0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2,
                                      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
static const uint8_t LAB[8 + 3] = { 0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9 };

static void setup(void)
{
    scratch_dir(dir, sizeof dir);
}

/* Each test runs in its own process and reports its own count. */
static void teardown(void)
{
    scratch_remove(dir);
    if (malformed) printf("malformed files: %zu\n", malformed);
    malformed = 0;
    fflush(stdout);
}

static void path_of(char *p, size_t len, const char *name)
{
    snprintf(p, len, "%s/%s", dir, name);
}

/* The message is "<path>: <what>". */
static void assert_names_file(const tg_error *err, const char *path, const char *what)
{
    size_t n = strlen(path);
    ck_assert_msg(strncmp(err->msg, path, n) == 0 && err->msg[n] == ':' && strlen(err->msg) > n + 3,
                  "%s: message \"%s\" does not start with \"%s: \"", what, err->msg, path);
}

/* ------------------------------------------------------------ IDX */

/* Read images and labels; the result must be an error of status want (or,
 * when want is TG_OK, either), naming bad_path, with *out untouched and
 * nothing held.  Returns the status. */
static tg_status read_expect_error(const char *img, const char *lab, const char *bad_path,
                                   tg_status want, const char *what)
{
    tg_mnist_set out;
    memset(&out, 0xAB, sizeof out);
    tg_mnist_set before = out;
    tg_error err;
    wrap_arm(0);
    tg_status s = tg_mnist_read_set(img, lab, &out, &err);
    wrap_disarm();
    malformed++;
    ck_assert_msg(s != TG_OK, "%s: accepted", what);
    ck_assert_int_eq(err.status, s);
    if (want != TG_OK)
        ck_assert_msg(s == want, "%s: status %d (%s), expected %d (%s): %s", what, (int)s,
                      tg_status_str(s), (int)want, tg_status_str(want), err.msg);
    assert_names_file(&err, bad_path, what);
    ck_assert_msg(memcmp(&out, &before, sizeof out) == 0, "%s: output changed on error", what);
    ck_assert_msg(wrap_get()->live == 0, "%s: %ld blocks held after an error", what, wrap_get()->live);
    return s;
}

static void write_pair(const uint8_t *img, size_t ni, const uint8_t *lab, size_t nl, int gz,
                       char *ip, char *lp, size_t len)
{
    path_of(ip, len, gz ? "img.gz" : "img");
    path_of(lp, len, gz ? "lab.gz" : "lab");
    if (gz) {
        write_bytes(ip, img, ni, 1);
        write_bytes(lp, lab, nl, 1);
    } else {
        write_bytes(ip, img, ni, 0);
        write_bytes(lp, lab, nl, 0);
    }
}

START_TEST(idx_valid_file_reads)
{
    char ip[600], lp[600];
    for (int gz = 0; gz < 2; gz++) {
        write_pair(IMG, sizeof IMG, LAB, sizeof LAB, gz, ip, lp, sizeof ip);
        tg_mnist_set s;
        tg_error err;
        ck_assert_int_eq(tg_mnist_read_set(ip, lp, &s, &err), TG_OK);
        ck_assert_str_eq(err.msg, "");
        ck_assert_uint_eq(s.count, 3);
        ck_assert_uint_eq(s.rows, 2);
        ck_assert_uint_eq(s.cols, 2);
        ck_assert(memcmp(s.images, IMG + 16, 12) == 0);
        ck_assert(memcmp(s.labels, LAB + 8, 3) == 0);
        tg_mnist_set_free(&s);
    }
}
END_TEST

/* Cut the plain file at every offset 0 .. size-1. */
START_TEST(idx_truncated_plain)
{
    char ip[600], lp[600], tp[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 0, ip, lp, sizeof ip);
    path_of(tp, sizeof tp, "cut");
    for (size_t n = 0; n < sizeof IMG; n++) {
        write_bytes(tp, IMG, n, 0);
        read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "images cut short");
    }
    for (size_t n = 0; n < sizeof LAB; n++) {
        write_bytes(tp, LAB, n, 0);
        read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "labels cut short");
    }
}
END_TEST

/* The gzip encoding cut at every offset: inside the gzip header, the
 * deflate data and the trailer (whose CRC and length zlib must have seen). */
START_TEST(idx_truncated_gzip)
{
    char ip[600], lp[600], tp[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 1, ip, lp, sizeof ip);
    path_of(tp, sizeof tp, "cut.gz");
    const uint8_t *src[2] = { IMG, LAB };
    size_t srcn[2] = { sizeof IMG, sizeof LAB };
    for (int which = 0; which < 2; which++) {
        size_t zn;
        unsigned char *z = gzip_bytes(src[which], srcn[which], &zn);
        for (size_t n = 0; n < zn; n++) {
            write_bytes(tp, z, n, 0);
            if (which == 0) read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip images cut short");
            else read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "gzip labels cut short");
        }
        free(z);
    }
}
END_TEST

/* Every bit of both headers: each flip changes the magic or a size, and the
 * sizes are exact, so every flipped file is malformed. */
START_TEST(idx_header_bit_flips)
{
    char ip[600], lp[600], tp[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 0, ip, lp, sizeof ip);
    path_of(tp, sizeof tp, "flip");
    uint8_t b[sizeof IMG];
    for (size_t bit = 0; bit < 16 * 8; bit++) {
        memcpy(b, IMG, sizeof IMG);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        write_bytes(tp, b, sizeof IMG, 0);
        read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "images header bit flip");
    }
    for (size_t bit = 0; bit < 8 * 8; bit++) {
        memcpy(b, LAB, sizeof LAB);
        b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        write_bytes(tp, b, sizeof LAB, 0);
        read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "labels header bit flip");
    }
    /* labels outside 0-9 */
    memcpy(b, LAB, sizeof LAB);
    b[9] = 10;
    write_bytes(tp, b, sizeof LAB, 0);
    read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "label 10");
    b[9] = 255;
    write_bytes(tp, b, sizeof LAB, 0);
    read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "label 255");
}
END_TEST

/* Every bit of the gzip encoding.  zlib ignores a few header fields (time,
 * flags for the compressor, OS), so some flips read correctly; any flip
 * that reads must give the original bytes, the CRC and length catching
 * the rest. */
START_TEST(idx_gzip_bit_flips)
{
    char ip[600], lp[600], tp[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 1, ip, lp, sizeof ip);
    path_of(tp, sizeof tp, "flip.gz");
    size_t zn;
    unsigned char *z = gzip_bytes(IMG, sizeof IMG, &zn);
    unsigned char *b = malloc(zn);
    size_t accepted = 0;
    for (size_t bit = 0; bit < zn * 8; bit++) {
        memcpy(b, z, zn);
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        write_bytes(tp, b, zn, 0);
        tg_mnist_set out;
        tg_error err;
        wrap_arm(0);
        tg_status s = tg_mnist_read_set(tp, lp, &out, &err);
        wrap_disarm();
        if (s == TG_OK) {
            /* header fields zlib ignores (time, XFL, OS) and the padding
             * bits after the last deflate code */
            accepted++;
            ck_assert_msg(memcmp(out.images, IMG + 16, 12) == 0, "flip of bit %zu read wrong data", bit);
            tg_mnist_set_free(&out);
        } else {
            malformed++;
            ck_assert_msg(s == TG_ERR_FORMAT, "bit %zu: status %d: %s", bit, (int)s, err.msg);
            assert_names_file(&err, tp, "gzip bit flip");
            ck_assert_int_eq(wrap_get()->live, 0);
        }
    }
    ck_assert_uint_lt(accepted, 7 * 8);
    free(b);
    free(z);
}
END_TEST

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Sizes that overflow size_t when multiplied, and sizes that fit but
 * announce far more data than the file holds: an error, quickly, without
 * an allocation of the announced size. */
START_TEST(idx_huge_counts)
{
    char ip[600], lp[600], tp[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 0, ip, lp, sizeof ip);
    path_of(tp, sizeof tp, "huge");
    const uint32_t sizes[][3] = {
        { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu },   /* 2^96: overflows */
        { 0xFFFFFFFFu, 0xFFFFFFFFu, 2 },             /* 2^65: overflows */
        { 0x10000u, 0x10000u, 0x10000u },            /* exactly 2^48: fits, absent */
        { 0xFFFFFFFFu, 0xFFFFu, 1 },                 /* 2^48: fits, absent */
        { 0xFFFFFFFFu, 1, 1 },
        { 3, 0xFFFFFFFFu, 0xFFFFFFFFu },
        { 0, 2, 2 }, { 3, 0, 2 }, { 3, 2, 0 },       /* zero sizes */
    };
    uint8_t b[sizeof IMG];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memcpy(b, IMG, sizeof IMG);
        put_be32(b + 4, sizes[i][0]);
        put_be32(b + 8, sizes[i][1]);
        put_be32(b + 12, sizes[i][2]);
        write_bytes(tp, b, sizeof IMG, 0);
        read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "huge images header");
        write_bytes(tp, b, sizeof IMG, 1);
        read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "huge images header, gzip");
    }
    memcpy(b, LAB, sizeof LAB);
    put_be32(b + 4, 0xFFFFFFFFu);
    write_bytes(tp, b, sizeof LAB, 0);
    read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "huge label count");
    /* the 2^48 case really did not allocate 2^48 bytes: it finished, and
     * under ASan an allocation that large would have been reported */
}
END_TEST

START_TEST(idx_corrupt_gzip)
{
    char ip[600], lp[600], tp[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 1, ip, lp, sizeof ip);
    path_of(tp, sizeof tp, "bad.gz");
    size_t zn;
    unsigned char *z = gzip_bytes(IMG, sizeof IMG, &zn);
    unsigned char b[256];
    ck_assert_uint_le(zn + 64, sizeof b);

    /* a gzip header followed by bytes that are not deflate data */
    memcpy(b, z, 10);
    memset(b + 10, 0xFF, 30);
    write_bytes(tp, b, 40, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip with garbage deflate data");
    /* only the gzip magic */
    write_bytes(tp, z, 2, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip magic only");
    /* the deflate data zeroed */
    memcpy(b, z, zn);
    memset(b + 10, 0, zn - 18);
    write_bytes(tp, b, zn, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip with zeroed data");
    /* the CRC wrong */
    memcpy(b, z, zn);
    b[zn - 8] ^= 0xFF;
    write_bytes(tp, b, zn, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip with a bad CRC");
    /* the stored length wrong */
    memcpy(b, z, zn);
    b[zn - 4] ^= 0x01;
    write_bytes(tp, b, zn, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip with a bad length");
    /* a valid gzip stream of a payload with a trailing byte */
    uint8_t longer[sizeof IMG + 1];
    memcpy(longer, IMG, sizeof IMG);
    longer[sizeof IMG] = 0;
    write_bytes(tp, longer, sizeof longer, 1);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "gzip payload with trailing byte");
    /* two members whose concatenation is one byte too long */
    size_t z2n;
    unsigned char *z2 = gzip_bytes(longer + sizeof IMG, 1, &z2n);
    memcpy(b, z, zn);
    memcpy(b + zn, z2, z2n);
    write_bytes(tp, b, zn + z2n, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "two gzip members, one byte too many");
    free(z2);
    /* plain payload with a trailing byte */
    write_bytes(tp, longer, sizeof longer, 0);
    read_expect_error(tp, lp, tp, TG_ERR_FORMAT, "plain payload with trailing byte");
    free(z);
}
END_TEST

START_TEST(idx_not_a_regular_file)
{
    char ip[600], lp[600], sub[600], none[600];
    write_pair(IMG, sizeof IMG, LAB, sizeof LAB, 0, ip, lp, sizeof ip);
    path_of(sub, sizeof sub, "a-directory");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    read_expect_error(sub, lp, sub, TG_ERR_IO, "images path is a directory");
    read_expect_error(ip, sub, sub, TG_ERR_IO, "labels path is a directory");
    path_of(none, sizeof none, "no-such-file");
    read_expect_error(none, lp, none, TG_ERR_IO, "images file missing");
    read_expect_error(ip, none, none, TG_ERR_IO, "labels file missing");
    read_expect_error("/dev/null", lp, "/dev/null", TG_ERR_FORMAT, "/dev/null");
    read_expect_error("/dev/zero", lp, "/dev/zero", TG_ERR_FORMAT, "/dev/zero");
    /* the two files swapped: the message says which kind each is */
    tg_status s = read_expect_error(lp, ip, lp, TG_ERR_FORMAT, "labels file given as images");
    (void)s;
    /* count mismatch: 2 labels for 3 images, named by the labels file */
    char tp[600];
    path_of(tp, sizeof tp, "two-labels");
    uint8_t b[sizeof LAB];
    memcpy(b, LAB, sizeof LAB);
    b[7] = 2;
    write_bytes(tp, b, sizeof LAB - 1, 0);
    read_expect_error(ip, tp, tp, TG_ERR_FORMAT, "label count mismatch");
    /* a directory for tg_mnist_load: none of the files there */
    tg_mnist data;
    tg_error err;
    memset(&data, 0x11, sizeof data);
    tg_mnist before = data;
    ck_assert_int_ne(tg_mnist_load(sub, &data, &err), TG_OK);
    ck_assert_msg(strstr(err.msg, sub) != NULL, "\"%s\" does not name %s", err.msg, sub);
    ck_assert(memcmp(&data, &before, sizeof data) == 0);
    malformed++;
}
END_TEST

/* ------------------------------------------------------------ models */

static tg_net *model_net(void)
{
    tg_net *net = tg_net_new(3, 4, 2, 99);   /* 26 parameters: a 260-byte file */
    ck_assert_ptr_nonnull(net);
    return net;
}

/* Load must fail with want (any error when TG_OK), name path, and leave
 * the net's parameters and graph status as they were. */
static void load_expect_error(tg_net *net, const char *path, tg_status want, const char *what)
{
    double before[32], after[32];
    ck_assert_int_eq(tg_net_get_params(net, before), TG_OK);
    tg_error err;
    wrap_arm(0);
    tg_status s = tg_net_load(net, path, &err);
    wrap_disarm();
    malformed++;
    ck_assert_msg(s != TG_OK, "%s: accepted", what);
    ck_assert_int_eq(err.status, s);
    if (want != TG_OK)
        ck_assert_msg(s == want, "%s: status %d (%s), expected %d: %s", what, (int)s,
                      tg_status_str(s), (int)want, err.msg);
    assert_names_file(&err, path, what);
    ck_assert_int_eq(tg_net_get_params(net, after), TG_OK);
    ck_assert_msg(memcmp(before, after, tg_net_param_count(net) * sizeof(double)) == 0,
                  "%s: the net changed", what);
    ck_assert_graph_ok(tg_net_graph(net));
    ck_assert_int_eq(wrap_get()->live, 0);
    /* the sizes reader must not crash either, and agree that it is bad or
     * give the sizes of a header that is fine */
    size_t in = 0, hid = 0, out = 0;
    tg_status s2 = tg_net_file_sizes(path, &in, &hid, &out, &err);
    if (s2 != TG_OK) assert_names_file(&err, path, what);
}

START_TEST(model_round_trip)
{
    char p[600];
    path_of(p, sizeof p, "net.tgn");
    tg_net *a = model_net();
    tg_error err;
    ck_assert_int_eq(tg_net_save(a, p, &err), TG_OK);
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    ck_assert_uint_eq(n, 48 + 26 * 8 + 4);
    free(b);
    tg_net *c = tg_net_new(3, 4, 2, 1);
    ck_assert_int_eq(tg_net_load(c, p, &err), TG_OK);
    double pa[26], pc[26];
    tg_net_get_params(a, pa);
    tg_net_get_params(c, pc);
    ck_assert(memcmp(pa, pc, sizeof pa) == 0);
    size_t in, hid, out;
    ck_assert_int_eq(tg_net_file_sizes(p, &in, &hid, &out, &err), TG_OK);
    ck_assert(in == 3 && hid == 4 && out == 2);
    tg_net_free(a);
    tg_net_free(c);
}
END_TEST

START_TEST(model_truncated_and_flipped)
{
    char p[600], tp[600];
    path_of(p, sizeof p, "net.tgn");
    path_of(tp, sizeof tp, "bad.tgn");
    tg_net *net = model_net();
    tg_error err;
    ck_assert_int_eq(tg_net_save(net, p, &err), TG_OK);
    tg_net *target = tg_net_new(3, 4, 2, 12345);   /* different values */
    size_t n;
    unsigned char *good = read_bytes(p, &n);
    for (size_t k = 0; k < n; k++) {
        write_bytes(tp, good, k, 0);
        load_expect_error(target, tp, TG_ERR_FORMAT, "model cut short");
    }
    /* every bit of the file: CRC-32 sees every single-bit error, and the
     * header's fields are checked before it */
    unsigned char *b = malloc(n + 1);
    for (size_t bit = 0; bit < n * 8; bit++) {
        memcpy(b, good, n);
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        write_bytes(tp, b, n, 0);
        load_expect_error(target, tp, TG_OK, "model bit flip");
    }
    /* one byte too many */
    memcpy(b, good, n);
    b[n] = 0;
    write_bytes(tp, b, n + 1, 0);
    load_expect_error(target, tp, TG_ERR_FORMAT, "model with a trailing byte");
    free(b);
    free(good);
    tg_net_free(net);
    tg_net_free(target);
}
END_TEST

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Headers of consistent TwoLayerNet shapes whose sizes overflow, or fit
 * but announce far more than the file holds. */
START_TEST(model_huge_shapes)
{
    char p[600], tp[600];
    path_of(p, sizeof p, "net.tgn");
    path_of(tp, sizeof tp, "huge.tgn");
    tg_net *net = model_net();
    tg_error err;
    ck_assert_int_eq(tg_net_save(net, p, &err), TG_OK);
    size_t n;
    unsigned char *good = read_bytes(p, &n);
    const uint32_t sizes[][3] = {
        { 0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu },
        { 0xFFFFFFFFu, 0xFFFFFFFFu, 1 },
        { 1, 0xFFFFFFFFu, 0xFFFFFFFFu },
        { 0x100000u, 0x100000u, 2 },       /* 2^40 doubles: fits size_t, absent */
        { 0x10000000u, 0x10u, 0x10u },
        { 3, 4, 0 }, { 0, 4, 2 }, { 3, 0, 2 },
    };
    unsigned char b[1024];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memcpy(b, good, n);
        uint32_t in = sizes[i][0], hid = sizes[i][1], out = sizes[i][2];
        const uint32_t shape[4][2] = { { in, hid }, { 1, hid }, { hid, out }, { 1, out } };
        for (int k = 0; k < 4; k++) {
            put_le32(b + 16 + 8 * k, shape[k][0]);
            put_le32(b + 20 + 8 * k, shape[k][1]);
        }
        write_bytes(tp, b, n, 0);
        load_expect_error(net, tp, TG_ERR_FORMAT, "model with huge shapes");
    }
    free(good);
    tg_net_free(net);
}
END_TEST

START_TEST(model_other_files)
{
    char p[600], sub[600], none[600], tp[600];
    path_of(p, sizeof p, "net.tgn");
    tg_net *net = model_net();
    tg_error err;
    ck_assert_int_eq(tg_net_save(net, p, &err), TG_OK);
    /* saved from a net of other sizes: a shape error naming W1 */
    tg_net *other = tg_net_new(3, 5, 2, 1);
    load_expect_error(other, p, TG_ERR_SHAPE, "model of other sizes");
    tg_net_free(other);
    path_of(sub, sizeof sub, "a-directory");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    load_expect_error(net, sub, TG_ERR_IO, "model path is a directory");
    path_of(none, sizeof none, "no-such-file");
    load_expect_error(net, none, TG_ERR_IO, "model file missing");
    load_expect_error(net, "/dev/null", TG_ERR_FORMAT, "model /dev/null");
    load_expect_error(net, "/dev/zero", TG_ERR_FORMAT, "model /dev/zero");
    /* an IDX file given as a model */
    path_of(tp, sizeof tp, "img");
    write_bytes(tp, IMG, sizeof IMG, 0);
    load_expect_error(net, tp, TG_ERR_FORMAT, "IDX file as a model");

    /* saving where it cannot be written */
    ck_assert_int_eq(tg_net_save(net, sub, &err), TG_ERR_IO);
    assert_names_file(&err, sub, "save to a directory");
    path_of(tp, sizeof tp, "no-such-dir/net.tgn");
    ck_assert_int_eq(tg_net_save(net, tp, &err), TG_ERR_IO);
    assert_names_file(&err, tp, "save into a missing directory");
    if (access("/dev/full", W_OK) == 0) {
        ck_assert_int_eq(tg_net_save(net, "/dev/full", &err), TG_ERR_IO);
        assert_names_file(&err, "/dev/full", "save to a full device");
    }
    tg_net_free(net);
}
END_TEST

static Suite *files_suite(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("idx");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, idx_valid_file_reads);
    tcase_add_test(tc, idx_truncated_plain);
    tcase_add_test(tc, idx_truncated_gzip);
    tcase_add_test(tc, idx_header_bit_flips);
    tcase_add_test(tc, idx_gzip_bit_flips);
    tcase_add_test(tc, idx_huge_counts);
    tcase_add_test(tc, idx_corrupt_gzip);
    tcase_add_test(tc, idx_not_a_regular_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, model_round_trip);
    tcase_add_test(tc, model_truncated_and_flipped);
    tcase_add_test(tc, model_huge_shapes);
    tcase_add_test(tc, model_other_files);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(files_suite());
}
