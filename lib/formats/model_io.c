/* Saving and loading a TwoLayerNet's parameters.  The format is in nn.h.
 * Loading reads and checks the whole file before it touches the net, so a
 * bad file leaves the net as it was.  Parameters are reached through the
 * graph's name table, as the book's params dictionary. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "file_error.h"
#include "tapegrad/nn.h"

static const unsigned char file_magic[8] = { 'T', 'G', 'N', 'E', 'T', 0, 0, 0 };
/* The version says how the values are stored: 1 float64, 2 float32 (nn.h). */
enum {
    FILE_VERSION_F64 = 1,
    FILE_VERSION_F32 = 2,
    HEADER_BYTES = 8 + 4 + 4 + TG_NET_NPARAMS * 8,  /* magic, version, count, shapes */
    CRC_BYTES = 4,
};

/* ---------------------------------------------------- little-endian bytes */

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static void put_f64(unsigned char *p, double d)
{
    uint64_t v;
    memcpy(&v, &d, sizeof v);
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static double get_f64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    put_u32(p, v);
}

static float get_f32(const unsigned char *p)
{
    uint32_t v = get_u32(p);
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

/* Bytes per value in a file of dtype. */
static size_t value_bytes(tg_dtype dtype)
{
    return dtype == TG_F32 ? 4 : 8;
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* ---------------------------------------------------------------- save */

tg_status tg_net_save(const tg_net *net, const char *path, tg_error *err)
{
    tg__error_clear(err);
    if (!net || !path)
        return tg__error_set(err, TG_ERR_ARG, "tg_net_save: %s is NULL", !net ? "net" : "path");
    const tg_graph *g = tg_net_graph(net);
    tg_dtype dtype = tg_net_dtype(net);
    size_t count = tg_net_param_count(net), vb = value_bytes(dtype);
    size_t total = HEADER_BYTES + vb * count + CRC_BYTES;
    unsigned char *buf = malloc(total);
    double *values = malloc(count * sizeof *values);
    if (!buf || !values) {
        free(buf);
        free(values);
        return tg__error_set(err, TG_ERR_NOMEM, "tg_net_save: out of memory for %zu bytes", total);
    }
    memcpy(buf, file_magic, sizeof file_magic);
    put_u32(buf + 8, dtype == TG_F32 ? FILE_VERSION_F32 : FILE_VERSION_F64);
    put_u32(buf + 12, TG_NET_NPARAMS);
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        size_t rows = 0, cols = 0;
        tg_shape(g, tg_find(g, tg_net_param_name(k)), &rows, &cols);
        put_u32(buf + 16 + 8 * k, (uint32_t)rows);
        put_u32(buf + 20 + 8 * k, (uint32_t)cols);
    }
    tg_status s = tg_net_get_params(net, values);
    if (s != TG_OK) {
        free(buf);
        free(values);
        return tg__error_set(err, s, "tg_net_save: cannot read the parameters: %s", tg_graph_errmsg(g));
    }
    /* A float32 net's values are floats widened: narrowing is exact. */
    for (size_t i = 0; i < count; i++) {
        if (dtype == TG_F32) put_f32(buf + HEADER_BYTES + 4 * i, (float)values[i]);
        else put_f64(buf + HEADER_BYTES + 8 * i, values[i]);
    }
    free(values);
    put_u32(buf + total - CRC_BYTES, crc_of(buf, total - CRC_BYTES));

    FILE *f = fopen(path, "wb");
    if (!f) {
        s = tg__error_set(err, TG_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    } else {
        size_t w = fwrite(buf, 1, total, f);
        int e = w == total ? 0 : errno;
        if (fclose(f) != 0 && !e) e = errno ? errno : EIO;
        if (w != total || e)
            s = tg__error_set(err, TG_ERR_IO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    }
    free(buf);
    return s;
}

/* ---------------------------------------------------------------- load */

/* The shapes in a header, checked against each other: W1 in x hid, b1 1 x
 * hid, W2 hid x out, b2 1 x out. */
static tg_status parse_header(const unsigned char *h, const char *path, size_t shape[][2],
                              tg_dtype *dtype, tg_error *err)
{
    if (memcmp(h, file_magic, sizeof file_magic) != 0)
        return tg__error_set(err, TG_ERR_FORMAT, "%s: not a tapegrad network file (wrong magic)", path);
    uint32_t version = get_u32(h + 8), count = get_u32(h + 12);
    if (version != FILE_VERSION_F64 && version != FILE_VERSION_F32)
        return tg__error_set(err, TG_ERR_FORMAT, "%s: format version %u, this library reads %d and %d",
                         path, (unsigned)version, FILE_VERSION_F64, FILE_VERSION_F32);
    *dtype = version == FILE_VERSION_F32 ? TG_F32 : TG_F64;
    if (count != TG_NET_NPARAMS)
        return tg__error_set(err, TG_ERR_FORMAT, "%s: %u parameters, a TwoLayerNet has %d", path,
                         (unsigned)count, TG_NET_NPARAMS);
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        shape[k][0] = get_u32(h + 16 + 8 * k);
        shape[k][1] = get_u32(h + 20 + 8 * k);
    }
    if (shape[0][0] == 0 || shape[0][1] == 0 || shape[2][1] == 0 ||
        shape[1][0] != 1 || shape[1][1] != shape[0][1] ||
        shape[2][0] != shape[0][1] || shape[3][0] != 1 || shape[3][1] != shape[2][1])
        return tg__error_set(err, TG_ERR_FORMAT,
                         "%s: the shapes W1 %zux%zu, b1 %zux%zu, W2 %zux%zu, b2 %zux%zu do not make a "
                         "TwoLayerNet", path, shape[0][0], shape[0][1], shape[1][0], shape[1][1],
                         shape[2][0], shape[2][1], shape[3][0], shape[3][1]);
    return TG_OK;
}

/* Read and parse the header of path into h; the open file is left after it. */
static tg_status read_header(FILE *f, const char *path, unsigned char h[HEADER_BYTES],
                             size_t shape[][2], tg_dtype *dtype, tg_error *err)
{
    size_t got = fread(h, 1, HEADER_BYTES, f);
    if (got < HEADER_BYTES) {
        if (ferror(f)) return tg__error_set(err, TG_ERR_IO, "%s: read error: %s", path, strerror(errno));
        if (got < sizeof file_magic || memcmp(h, file_magic, sizeof file_magic) != 0)
            return tg__error_set(err, TG_ERR_FORMAT, "%s: not a tapegrad network file (%s)", path,
                             got < sizeof file_magic ? "too short" : "wrong magic");
        return tg__error_set(err, TG_ERR_FORMAT, "%s: truncated: %zu bytes, the header alone is %d",
                         path, got, HEADER_BYTES);
    }
    return parse_header(h, path, shape, dtype, err);
}

tg_status tg_net_file_sizes(const char *path, size_t *input, size_t *hidden, size_t *output,
                            tg_error *err)
{
    tg__error_clear(err);
    if (!path) return tg__error_set(err, TG_ERR_ARG, "tg_net_file_sizes: path is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return tg__error_set(err, TG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[HEADER_BYTES];
    size_t shape[TG_NET_NPARAMS][2];
    tg_dtype dtype;
    tg_status s = read_header(f, path, h, shape, &dtype, err);
    fclose(f);
    if (s != TG_OK) return s;
    if (input) *input = shape[0][0];
    if (hidden) *hidden = shape[0][1];
    if (output) *output = shape[2][1];
    return TG_OK;
}

tg_status tg_net_load(tg_net *net, const char *path, tg_error *err)
{
    tg__error_clear(err);
    if (!net || !path)
        return tg__error_set(err, TG_ERR_ARG, "tg_net_load: %s is NULL", !net ? "net" : "path");
    FILE *f = fopen(path, "rb");
    if (!f) return tg__error_set(err, TG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char h[HEADER_BYTES];
    size_t shape[TG_NET_NPARAMS][2];
    tg_dtype dtype;
    tg_status s = read_header(f, path, h, shape, &dtype, err);
    if (s != TG_OK) {
        fclose(f);
        return s;
    }

    /* The body the header announces, with no product overflowing. */
    size_t count = 0;
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        if (shape[k][1] && shape[k][0] > SIZE_MAX / 16 / shape[k][1]) {
            fclose(f);
            return tg__error_set(err, TG_ERR_FORMAT, "%s: the header's shapes are too large", path);
        }
        count += shape[k][0] * shape[k][1];
    }
    size_t vb = value_bytes(dtype);
    if (count > (SIZE_MAX - HEADER_BYTES - CRC_BYTES) / vb) {
        fclose(f);
        return tg__error_set(err, TG_ERR_FORMAT, "%s: the header's shapes are too large", path);
    }
    size_t total = HEADER_BYTES + vb * count + CRC_BYTES;

    /* Read at most one byte more than announced, into a buffer that grows
     * with what the file holds rather than with what the header claims. */
    unsigned char *buf = NULL;
    size_t cap = 0, have = HEADER_BYTES, limit = total + 1;
    for (;;) {
        size_t want = cap == 0 ? (limit < (1u << 20) ? limit : (1u << 20))
                               : (cap > limit / 2 ? limit : cap * 2);
        unsigned char *p = realloc(buf, want);
        if (!p) {
            free(buf);
            fclose(f);
            return tg__error_set(err, TG_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, want);
        }
        if (!buf) memcpy(p, h, HEADER_BYTES);
        buf = p;
        cap = want;
        have += fread(buf + have, 1, cap - have, f);
        if (have < cap || cap == limit) break;
    }
    int read_failed = ferror(f);
    fclose(f);
    if (read_failed)
        s = tg__error_set(err, TG_ERR_IO, "%s: read error", path);
    else if (have < total)
        s = tg__error_set(err, TG_ERR_FORMAT, "%s: truncated: %zu bytes, its header announces %zu", path,
                      have, total);
    else if (have > total)
        s = tg__error_set(err, TG_ERR_FORMAT, "%s: trailing bytes after the %zu its header announces",
                      path, total);
    if (s != TG_OK) {
        free(buf);
        return s;
    }

    uint32_t stored = get_u32(buf + total - CRC_BYTES);
    uint32_t computed = crc_of(buf, total - CRC_BYTES);
    if (stored != computed) {
        free(buf);
        return tg__error_set(err, TG_ERR_FORMAT,
                         "%s: checksum mismatch (stored 0x%08x, computed 0x%08x): the file is corrupted",
                         path, (unsigned)stored, (unsigned)computed);
    }

    tg_graph *g = tg_net_graph(net);
    tg_node param[TG_NET_NPARAMS];
    for (int k = 0; k < TG_NET_NPARAMS; k++) {
        const char *name = tg_net_param_name(k);
        size_t rows = 0, cols = 0;
        param[k] = tg_find(g, name);
        tg_shape(g, param[k], &rows, &cols);
        if (rows != shape[k][0] || cols != shape[k][1]) {
            free(buf);
            return tg__error_set(err, TG_ERR_SHAPE, "%s: %s is %zux%zu in the file but %zux%zu in the net",
                             path, name, shape[k][0], shape[k][1], rows, cols);
        }
    }

    double *values = malloc(count * sizeof *values);
    if (!values) {
        free(buf);
        return tg__error_set(err, TG_ERR_NOMEM, "%s: out of memory for %zu parameters", path, count);
    }
    for (size_t i = 0; i < count; i++)
        values[i] = dtype == TG_F32 ? (double)get_f32(buf + HEADER_BYTES + 4 * i)
                                    : get_f64(buf + HEADER_BYTES + 8 * i);
    free(buf);
    /* Every check has passed: only now is the net changed.  tg_tensor_set
     * converts to the net's dtype: a float32 file into a float64 net
     * exactly, a float64 file into a float32 net rounded to nearest. */
    size_t off = 0;
    for (int k = 0; k < TG_NET_NPARAMS && s == TG_OK; k++) {
        s = tg_tensor_set(g, param[k], values + off);
        off += shape[k][0] * shape[k][1];
    }
    free(values);
    if (s != TG_OK)
        return tg__error_set(err, s, "tg_net_load: %s", tg_graph_errmsg(g));
    return TG_OK;
}
