/* Saving and loading: the bytes on disk read back by hand, a round trip,
 * and truncated, corrupted, foreign and wrong-shape files that must leave
 * the net exactly as it was. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "tapegrad/nn.h"

#include "runner.h"
#include "scratch.h"

enum { IN = 6, HID = 4, OUT = 3 };
enum { NP = IN * HID + HID + HID * OUT + OUT, HEADER = 48, TOTAL = HEADER + 8 * NP + 4 };

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static double le_double(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* A net whose biases are not zero, so that every block is tested. */
static tg_net *net_with_seed(size_t hid, uint64_t seed)
{
    tg_net *net = tg_net_new(IN, hid, OUT, seed);
    ck_assert_ptr_nonnull(net);
    tg_graph *g = tg_net_graph(net);
    double *b1 = tg_tensor_data(g, tg_find(g, "b1"));
    for (size_t j = 0; j < hid; j++) b1[j] = 0.25 * (double)j - 1.0 / 3.0;
    return net;
}

START_TEST(file_layout)
{
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    tg_net *net = net_with_seed(HID, 1);
    tg_error err;
    ck_assert_int_eq(tg_net_save(net, path_in(p, sizeof p, dir, "net.tg"), &err), TG_OK);
    ck_assert_str_eq(err.msg, "");
    size_t n;
    unsigned char *b = read_bytes(p, &n);
    ck_assert_uint_eq(n, TOTAL);
    ck_assert_mem_eq(b, "TGNET\0\0\0", 8);
    ck_assert_uint_eq(le32(b + 8), 1);    /* version */
    ck_assert_uint_eq(le32(b + 12), 4);   /* W1 b1 W2 b2 */
    const uint32_t shapes[8] = { IN, HID, 1, HID, HID, OUT, 1, OUT };
    for (int i = 0; i < 8; i++) ck_assert_uint_eq(le32(b + 16 + 4 * i), shapes[i]);
    double params[NP];
    ck_assert_int_eq(tg_net_get_params(net, params), TG_OK);
    for (int i = 0; i < NP; i++) ck_assert_double_eq(le_double(b + HEADER + 8 * i), params[i]);
    ck_assert_uint_eq(le32(b + TOTAL - 4), crc32(0L, b, TOTAL - 4));

    size_t in, hid, out;
    ck_assert_int_eq(tg_net_file_sizes(p, &in, &hid, &out, &err), TG_OK);
    ck_assert_uint_eq(in, IN);
    ck_assert_uint_eq(hid, HID);
    ck_assert_uint_eq(out, OUT);
    free(b);
    tg_net_free(net);
    scratch_remove(dir);
}
END_TEST

START_TEST(round_trip)
{
    char dir[256], p[512];
    scratch_dir(dir, sizeof dir);
    tg_net *a = net_with_seed(HID, 1), *b = tg_net_new(IN, HID, OUT, 2);
    double pa[NP], pb[NP];
    tg_net_get_params(a, pa);
    tg_net_get_params(b, pb);
    ck_assert(memcmp(pa, pb, sizeof pa) != 0);
    tg_error err;
    ck_assert_int_eq(tg_net_save(a, path_in(p, sizeof p, dir, "a.tg"), &err), TG_OK);
    ck_assert_int_eq(tg_net_load(b, p, &err), TG_OK);
    ck_assert_int_eq(err.status, TG_OK);
    tg_net_get_params(b, pb);
    ck_assert_mem_eq(pa, pb, sizeof pa);   /* bit for bit */
    tg_net_free(a);
    tg_net_free(b);
    scratch_remove(dir);
}
END_TEST

/* Load `bytes` from a file into a net and expect status s with message
 * "<path>: <msg>"; the net must come out bit for bit as it went in, with
 * its graph's status untouched. */
static void expect_refused(const char *dir, const unsigned char *bytes, size_t n, tg_status s,
                           const char *msg)
{
    char p[512], want[2048];
    write_bytes(path_in(p, sizeof p, dir, "bad.tg"), bytes, n, 0);
    tg_net *net = net_with_seed(HID, 9);
    double before[NP], after[NP];
    tg_net_get_params(net, before);
    tg_error err;
    ck_assert_int_eq(tg_net_load(net, p, &err), s);
    ck_assert_int_eq(err.status, s);
    snprintf(want, sizeof want, "%s: %s", p, msg);
    ck_assert_str_eq(err.msg, want);
    tg_net_get_params(net, after);
    ck_assert_mem_eq(before, after, sizeof before);
    ck_assert_int_eq(tg_graph_status(tg_net_graph(net)), TG_OK);
    tg_net_free(net);
}

/* The bytes of a saved net of hidden size hid. */
static unsigned char *saved(const char *dir, size_t hid, size_t *n)
{
    char p[512];
    tg_net *net = net_with_seed(hid, 1);
    ck_assert_int_eq(tg_net_save(net, path_in(p, sizeof p, dir, "good.tg"), NULL), TG_OK);
    tg_net_free(net);
    return read_bytes(p, n);
}

START_TEST(truncated)
{
    char dir[256], msg[256];
    scratch_dir(dir, sizeof dir);
    size_t n;
    unsigned char *b = saved(dir, HID, &n);
    const size_t cuts[] = { 0, 5, 8, 20, 47, 48, 100, TOTAL - 4, TOTAL - 1 };
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        size_t cut = cuts[c];
        if (cut < 8)
            snprintf(msg, sizeof msg, "not a tapegrad network file (too short)");
        else if (cut < HEADER)
            snprintf(msg, sizeof msg, "truncated: %zu bytes, the header alone is 48", cut);
        else
            snprintf(msg, sizeof msg, "truncated: %zu bytes, its header announces %d", cut, TOTAL);
        expect_refused(dir, b, cut, TG_ERR_FORMAT, msg);
    }
    free(b);
    scratch_remove(dir);
}
END_TEST

START_TEST(corrupted)
{
    char dir[256], msg[256];
    scratch_dir(dir, sizeof dir);
    size_t n;
    unsigned char *b = saved(dir, HID, &n);
    /* one flipped bit in a weight, then in the stored checksum */
    const size_t at[] = { HEADER + 8 * 7 + 3, TOTAL - 2 };
    for (int k = 0; k < 2; k++) {
        b[at[k]] ^= 0x10;
        snprintf(msg, sizeof msg,
                 "checksum mismatch (stored 0x%08x, computed 0x%08x): the file is corrupted",
                 (unsigned)le32(b + TOTAL - 4), (unsigned)crc32(0L, b, TOTAL - 4));
        expect_refused(dir, b, n, TG_ERR_FORMAT, msg);
        b[at[k]] ^= 0x10;
    }
    /* a byte too many */
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, b, n);
    longer[n] = 0;
    snprintf(msg, sizeof msg, "trailing bytes after the %d its header announces", TOTAL);
    expect_refused(dir, longer, n + 1, TG_ERR_FORMAT, msg);
    free(longer);
    free(b);
    scratch_remove(dir);
}
END_TEST

START_TEST(foreign_files)
{
    char dir[256];
    scratch_dir(dir, sizeof dir);
    size_t n;
    unsigned char *b = saved(dir, HID, &n);
    unsigned char *c = malloc(n);

    memcpy(c, b, n);
    c[0] = 'X';
    expect_refused(dir, c, n, TG_ERR_FORMAT, "not a tapegrad network file (wrong magic)");

    memcpy(c, b, n);
    set_le32(c + 8, 3);
    expect_refused(dir, c, n, TG_ERR_FORMAT, "format version 3, this library reads 1 and 2");

    memcpy(c, b, n);
    set_le32(c + 12, 6);
    expect_refused(dir, c, n, TG_ERR_FORMAT, "6 parameters, a TwoLayerNet has 4");

    memcpy(c, b, n);
    set_le32(c + 24, 2);   /* b1 claims 2 rows */
    expect_refused(dir, c, n, TG_ERR_FORMAT,
                   "the shapes W1 6x4, b1 2x4, W2 4x3, b2 1x3 do not make a TwoLayerNet");

    /* sizes that would overflow, announced by a short file */
    memcpy(c, b, n);
    set_le32(c + 16, 0xFFFFFFFFu);
    set_le32(c + 20, 0xFFFFFFFFu);
    set_le32(c + 28, 0xFFFFFFFFu);
    set_le32(c + 32, 0xFFFFFFFFu);
    expect_refused(dir, c, n, TG_ERR_FORMAT, "the header's shapes are too large");

    free(c);
    free(b);
    scratch_remove(dir);
}
END_TEST

START_TEST(wrong_shape)
{
    char dir[256], p[512], msg[256];
    scratch_dir(dir, sizeof dir);
    size_t n;
    unsigned char *b = saved(dir, 7, &n);   /* a 6-7-3 net into a 6-4-3 one */
    snprintf(msg, sizeof msg, "W1 is 6x7 in the file but 6x4 in the net");
    expect_refused(dir, b, n, TG_ERR_SHAPE, msg);
    size_t hid;
    tg_error err;
    ck_assert_int_eq(tg_net_file_sizes(path_in(p, sizeof p, dir, "good.tg"), NULL, &hid, NULL, &err), TG_OK);
    ck_assert_uint_eq(hid, 7);
    free(b);
    scratch_remove(dir);
}
END_TEST

START_TEST(io_errors)
{
    char dir[256], p[512], want[2048];
    scratch_dir(dir, sizeof dir);
    tg_net *net = net_with_seed(HID, 1);
    tg_error err;
    path_in(p, sizeof p, dir, "missing.tg");
    ck_assert_int_eq(tg_net_load(net, p, &err), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", p);
    ck_assert_str_eq(err.msg, want);
    path_in(p, sizeof p, dir, "no/such/dir.tg");
    ck_assert_int_eq(tg_net_save(net, p, &err), TG_ERR_IO);
    snprintf(want, sizeof want, "%s: cannot create: No such file or directory", p);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(tg_net_save(NULL, p, &err), TG_ERR_ARG);
    ck_assert_str_eq(err.msg, "tg_net_save: net is NULL");
    ck_assert_int_eq(tg_net_load(net, NULL, NULL), TG_ERR_ARG);
    tg_net_free(net);
    scratch_remove(dir);
}
END_TEST

/* Both dtypes round trip, and each file loads into a net of the other:
 * float32 -> float64 exactly, float64 -> float32 rounded to nearest. */
START_TEST(round_trip_dtypes)
{
    char dir[256], p32[512], p64[512];
    scratch_dir(dir, sizeof dir);
    tg_net *a32 = tg_net_new_ex(IN, HID, OUT, 1, TG_F32, NULL);
    tg_net *a64 = net_with_seed(HID, 1);
    double v32[NP], v64[NP], got[NP];
    tg_net_get_params(a32, v32);
    tg_net_get_params(a64, v64);
    tg_error err;
    ck_assert_int_eq(tg_net_save(a32, path_in(p32, sizeof p32, dir, "a32.tg"), &err), TG_OK);
    ck_assert_int_eq(tg_net_save(a64, path_in(p64, sizeof p64, dir, "a64.tg"), &err), TG_OK);
    size_t n;
    unsigned char *b = read_bytes(p32, &n);
    ck_assert_uint_eq(n, HEADER + 4 * NP + 4);
    ck_assert_uint_eq(le32(b + 8), 2);    /* version 2: float32 values */
    for (int i = 0; i < NP; i++) {
        float f;
        uint32_t u = le32(b + HEADER + 4 * i);
        memcpy(&f, &u, sizeof f);
        ck_assert_double_eq((double)f, v32[i]);
    }
    free(b);
    for (int k = 0; k < 4; k++) {
        tg_net *into = tg_net_new_ex(IN, HID, OUT, 9, k / 2 ? TG_F64 : TG_F32, NULL);
        const char *from = k % 2 ? p64 : p32;
        const double *want = k % 2 ? v64 : v32;
        ck_assert_int_eq(tg_net_load(into, from, &err), TG_OK);
        tg_net_get_params(into, got);
        for (int i = 0; i < NP; i++) {
            double w = tg_net_dtype(into) == TG_F32 ? (double)(float)want[i] : want[i];
            ck_assert_double_eq(got[i], w);
        }
        tg_net_free(into);
    }
    tg_net_free(a32);
    tg_net_free(a64);
    scratch_remove(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_io");
    TCase *tc = tcase_create("model_io");
    tcase_add_test(tc, file_layout);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, round_trip_dtypes);
    tcase_add_test(tc, truncated);
    tcase_add_test(tc, corrupted);
    tcase_add_test(tc, foreign_files);
    tcase_add_test(tc, wrong_shape);
    tcase_add_test(tc, io_errors);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
