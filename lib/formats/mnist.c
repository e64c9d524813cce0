/* The IDX reader for MNIST.  zlib's gzread reads gzip and plain files
 * alike, so one path serves both; the uncompressed size of a .gz is not
 * known up front, so the payload is read into a buffer that grows with the
 * bytes actually present, never with the count a header claims. */
#define _DEFAULT_SOURCE 1  /* madvise's MADV_HUGEPAGE, beside POSIX */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>

#include "file_error.h"
#include "tapegrad/mnist.h"

enum {
    IDX_IMAGES_MAGIC = 0x00000803,  /* unsigned bytes, 3 dimensions */
    IDX_LABELS_MAGIC = 0x00000801,  /* unsigned bytes, 1 dimension */
};

/* Read up to n bytes; returns how many arrived before the end of the data
 * or an error (which the caller tells apart with stream_error). */
static size_t read_some(gzFile f, uint8_t *dst, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got;
        if (want > (1u << 30)) want = 1u << 30;
        int r = gzread(f, dst + got, (unsigned)want);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* After a short read: TG_OK when the data simply ended, otherwise the
 * error zlib met, as a status and message. */
static tg_status stream_error(gzFile f, const char *path, tg_error *err)
{
    int code = Z_OK;
    const char *what = gzerror(f, &code);
    if (code == Z_OK || code == Z_STREAM_END) return TG_OK;
    /* zlib prefixes its message with the path, which ours already names. */
    size_t plen = strlen(path);
    if (!strncmp(what, path, plen) && what[plen] == ':' && what[plen + 1] == ' ') what += plen + 2;
    if (code == Z_ERRNO)
        return tg__error_set(err, TG_ERR_IO, "%s: read error: %s", path, strerror(errno));
    if (code == Z_MEM_ERROR)
        return tg__error_set(err, TG_ERR_NOMEM, "%s: out of memory decompressing", path);
    if (code == Z_BUF_ERROR)  /* zlib's "unexpected end of file" */
        return tg__error_set(err, TG_ERR_FORMAT, "%s: the gzip stream is cut short (%s)", path, what);
    return tg__error_set(err, TG_ERR_FORMAT, "%s: corrupt gzip data (%s)", path, what);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read one IDX file of unsigned bytes with ndims dimensions (1 or 3).
 * dims[] receives the header's sizes, *data the payload (malloc'd,
 * product of dims bytes). */
static tg_status read_idx(const char *path, uint32_t magic, int ndims,
                          size_t dims[3], uint8_t **data, tg_error *err)
{
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return tg__error_set(err, errno ? TG_ERR_IO : TG_ERR_NOMEM, "%s: cannot open: %s", path,
                         errno ? strerror(errno) : "out of memory");
    gzbuffer(f, 1u << 17);

    tg_status s = TG_OK;
    uint8_t *buf = NULL;
    uint8_t head[16];
    size_t head_len = 4 + 4 * (size_t)ndims;
    /* The magic first, so that a file of the wrong kind is named as such
     * even when it is shorter than the header expected. */
    size_t got = read_some(f, head, 4);
    if (got == 4 && be32(head) == magic) got += read_some(f, head + 4, head_len - 4);
    if (got < 4 || (be32(head) == magic && got < head_len)) {
        s = stream_error(f, path, err);
        if (s == TG_OK)
            s = tg__error_set(err, TG_ERR_FORMAT, "%s: truncated header: %zu of %zu bytes", path, got,
                          head_len);
        goto done;
    }
    uint32_t m = be32(head);
    if (m != magic) {
        const char *hint = "";
        if (m == IDX_IMAGES_MAGIC) hint = " (this is an images file)";
        if (m == IDX_LABELS_MAGIC) hint = " (this is a labels file)";
        s = tg__error_set(err, TG_ERR_FORMAT,
                      "%s: wrong magic number 0x%08x, expected 0x%08x (IDX unsigned bytes, %d %s)%s",
                      path, (unsigned)m, (unsigned)magic, ndims,
                      ndims == 1 ? "dimension" : "dimensions", hint);
        goto done;
    }
    static const char *const dim_names[3] = { "count", "rows", "columns" };
    size_t total = 1;
    for (int k = 0; k < ndims; k++) {
        uint32_t d = be32(head + 4 + 4 * k);
        if (d == 0) {
            s = tg__error_set(err, TG_ERR_FORMAT, "%s: the header's %s is 0", path, dim_names[k]);
            goto done;
        }
        if (total > SIZE_MAX / d) {
            s = tg__error_set(err, TG_ERR_FORMAT,
                          "%s: the header's sizes multiply past what this machine can address",
                          path);
            goto done;
        }
        dims[k] = d;
        total *= d;
    }

    /* Grow with the data present, so that a header claiming billions of
     * images costs a truncation error, not a giant allocation. */
    size_t cap = total < (1u << 20) ? total : (1u << 20);
    size_t have = 0;
    for (;;) {
        uint8_t *p = realloc(buf, cap);
        if (!p) {
            s = tg__error_set(err, TG_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
            goto done;
        }
        buf = p;
        size_t r = read_some(f, buf + have, cap - have);
        have += r;
        if (have < cap) break;
        if (cap == total) break;
        cap = cap > total / 2 ? total : cap * 2;
    }
    if (have < total) {
        s = stream_error(f, path, err);
        if (s == TG_OK)
            s = tg__error_set(err, TG_ERR_FORMAT,
                          "%s: truncated: the header announces %zu bytes of data, the file holds %zu",
                          path, total, have);
        goto done;
    }
    uint8_t extra;
    if (read_some(f, &extra, 1) != 0) {
        s = tg__error_set(err, TG_ERR_FORMAT,
                      "%s: trailing bytes after the %zu bytes of data its header announces", path,
                      total);
        goto done;
    }
    s = stream_error(f, path, err);

done:
    gzclose(f);
    if (s != TG_OK) {
        free(buf);
        return s;
    }
    *data = buf;
    return TG_OK;
}

/* images (n bytes, malloc'd) moved, when they are large, into memory
 * aligned to and advised for transparent huge pages: a random batch reads
 * images scattered over the whole set, and with 4 KiB pages nearly every
 * one costs a TLB miss.  Returns the images' new place, or buf itself when
 * the copy is not worth it or no memory is left for it: this is only
 * advice, never an error. */
static uint8_t *on_huge_pages(uint8_t *buf, size_t n)
{
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)2 << 20;  /* x86-64's; elsewhere a harmless alignment */
    if (n < 4 * huge || n > SIZE_MAX - huge) return buf;
    size_t len = (n + huge - 1) / huge * huge;
    void *p;
    if (posix_memalign(&p, huge, len) != 0) return buf;
    (void)madvise(p, len, MADV_HUGEPAGE);  /* refused where huge pages are off: no matter */
    memcpy(p, buf, n);
    free(buf);
    return p;
#else
    (void)n;
    return buf;
#endif
}

tg_status tg_mnist_read_set(const char *images_path, const char *labels_path,
                            tg_mnist_set *out, tg_error *err)
{
    tg__error_clear(err);
    if (!images_path || !labels_path || !out)
        return tg__error_set(err, TG_ERR_ARG, "tg_mnist_read_set: %s is NULL",
                         !images_path ? "images_path" : !labels_path ? "labels_path" : "out");
    size_t idim[3], ldim[3];
    uint8_t *images = NULL, *labels = NULL;
    tg_status s = read_idx(images_path, IDX_IMAGES_MAGIC, 3, idim, &images, err);
    if (s != TG_OK) return s;
    s = read_idx(labels_path, IDX_LABELS_MAGIC, 1, ldim, &labels, err);
    if (s != TG_OK) {
        free(images);
        return s;
    }
    if (idim[0] != ldim[0]) {
        s = tg__error_set(err, TG_ERR_FORMAT, "%s: %zu labels, but %s holds %zu images", labels_path,
                      ldim[0], images_path, idim[0]);
    } else {
        for (size_t i = 0; i < ldim[0]; i++) {
            if (labels[i] >= TG_MNIST_CLASSES) {
                s = tg__error_set(err, TG_ERR_FORMAT, "%s: label %u at index %zu is outside 0-9",
                              labels_path, (unsigned)labels[i], i);
                break;
            }
        }
    }
    if (s != TG_OK) {
        free(images);
        free(labels);
        return s;
    }
    out->count = idim[0];
    out->rows = idim[1];
    out->cols = idim[2];
    out->images = on_huge_pages(images, idim[0] * idim[1] * idim[2]);
    out->labels = labels;
    return TG_OK;
}

/* 0 when path can be opened for reading, else why not (an errno). */
static int open_error(const char *path)
{
    errno = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        return 0;
    }
    return errno ? errno : EIO;
}

/* Where file name of dir is: dir/name.gz when that can be opened, else
 * dir/name, into path.  Returns 0 when the file chosen can be opened,
 * otherwise why not (a .gz that does not exist is passed over for the
 * bare name's reason; one that exists but cannot be opened is the
 * answer), or -1 when the path does not fit in len bytes. */
static int locate(char *path, size_t len, const char *dir, const char *name)
{
    int n = snprintf(path, len, "%s/%s.gz", dir, name);
    if (n < 0 || (size_t)n >= len) return -1;
    int why = open_error(path);
    if (why != ENOENT) return why;
    path[n - 3] = '\0';
    return open_error(path);
}

static const char *const set_files[4] = { TG_MNIST_TRAIN_IMAGES, TG_MNIST_TRAIN_LABELS,
                                          TG_MNIST_TEST_IMAGES, TG_MNIST_TEST_LABELS };

tg_status tg_mnist_load(const char *dir, tg_mnist *out, tg_error *err)
{
    tg__error_clear(err);
    if (!dir || !out)
        return tg__error_set(err, TG_ERR_ARG, "tg_mnist_load: %s is NULL", !dir ? "dir" : "out");
    /* The paths first: a name too long fails before anything is read.  A
     * file that cannot be opened is left for the reader to report. */
    char path[4][4096];
    for (int k = 0; k < 4; k++)
        if (locate(path[k], sizeof path[k], dir, set_files[k]) < 0)
            return tg__error_set(err, TG_ERR_ARG, "tg_mnist_load: directory name too long: %s", dir);
    tg_mnist d;
    memset(&d, 0, sizeof d);
    tg_status s = tg_mnist_read_set(path[0], path[1], &d.train, err);
    if (s != TG_OK) return s;
    s = tg_mnist_read_set(path[2], path[3], &d.test, err);
    if (s != TG_OK) {
        tg_mnist_set_free(&d.train);
        return s;
    }
    *out = d;
    return TG_OK;
}

tg_status tg_mnist_probe(const char *dir, tg_error *err)
{
    tg__error_clear(err);
    if (!dir) return tg__error_set(err, TG_ERR_ARG, "tg_mnist_probe: dir is NULL");
    char path[4096];
    for (int k = 0; k < 4; k++) {
        int why = locate(path, sizeof path, dir, set_files[k]);
        if (why < 0)
            return tg__error_set(err, TG_ERR_ARG, "tg_mnist_probe: directory name too long: %s", dir);
        if (why == ENOENT)
            return tg__error_set(err, TG_ERR_IO, "%s: no %s[.gz] there", dir, set_files[k]);
        if (why)
            return tg__error_set(err, why == ENOMEM ? TG_ERR_NOMEM : TG_ERR_IO, "%s: cannot open: %s",
                                 path, strerror(why));
    }
    return TG_OK;
}

/* One image's pixels as pixel / 255 into x (doubles) or xf (floats),
 * whichever is not NULL.  Each is one division, which vectorises: in
 * double the quotient itself; in float the quotient rounded once, which
 * for every pixel value 0..255 is also the double quotient rounded to
 * float (tests/nn/test_idx.c checks all 256). */
static inline __attribute__((always_inline)) void pixels_to(const uint8_t *restrict src, size_t d,
                                                            double *restrict x, float *restrict xf)
{
    if (x)
        for (size_t j = 0; j < d; j++) x[j] = src[j] / 255.0;
    if (xf)
        for (size_t j = 0; j < d; j++) xf[j] = src[j] / 255.0f;
}

typedef void pixels_fn(const uint8_t *src, size_t d, double *x, float *xf);

static void pixels_base(const uint8_t *src, size_t d, double *x, float *xf)
{
    pixels_to(src, d, x, xf);
}

/* On x86-64 also compiled for AVX2, picked at run time: the numbers are
 * the same, a division being correctly rounded at any vector width. */
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2"))) static void pixels_avx2(const uint8_t *src, size_t d, double *x,
                                                         float *xf)
{
    pixels_to(src, d, x, xf);
}

static pixels_fn *pick_pixels(void)
{
    return __builtin_cpu_supports("avx2") ? pixels_avx2 : pixels_base;
}
#else
static pixels_fn *pick_pixels(void) { return pixels_base; }
#endif

/* Ask for image k's bytes (d of them) ahead of their use. */
static void prefetch_image(const tg_mnist_set *set, size_t k, size_t d)
{
#if defined(__GNUC__)
    const uint8_t *p = set->images + k * d;
    for (size_t j = 0; j < d; j += 64) __builtin_prefetch(p + j);
    if (d) __builtin_prefetch(p + d - 1);
#else
    (void)set, (void)k, (void)d;
#endif
}

/* tg_mnist_batch into doubles (x, t) or floats (xf, tf): one of each
 * pair is used. */
static tg_status batch(const tg_mnist_set *set, const size_t *idx, size_t first, size_t n,
                       double *x, double *t, float *xf, float *tf)
{
    if (!set || (n && (!set->images || !set->labels))) return TG_ERR_ARG;
    if (idx) {
        for (size_t i = 0; i < n; i++)
            if (idx[i] >= set->count) return TG_ERR_ARG;
    } else if (first > set->count || n > set->count - first) {
        return TG_ERR_ARG;
    }
    size_t d = set->rows * set->cols;
    pixels_fn *convert = pick_pixels();
    /* A random batch reads images scattered over tens of megabytes: the
     * images of the next block of AHEAD are asked for while this block is
     * converted, which hides most of the memory latency and keeps at most
     * two blocks in the cache. */
    enum { AHEAD = 32 };
    bool images = x || xf;
    for (size_t i = 0; images && i < n && i < AHEAD; i++) prefetch_image(set, idx ? idx[i] : first + i, d);
    for (size_t i = 0; i < n; i++) {
        size_t k = idx ? idx[i] : first + i;
        if (images && i % AHEAD == 0)
            for (size_t j = i + AHEAD; j < n && j < i + 2 * AHEAD; j++)
                prefetch_image(set, idx ? idx[j] : first + j, d);
        if (images) convert(set->images + k * d, d, x ? x + i * d : NULL, xf ? xf + i * d : NULL);
        for (int c = 0; c < TG_MNIST_CLASSES; c++) {
            double v = c == set->labels[k] ? 1.0 : 0.0;
            if (t) t[i * TG_MNIST_CLASSES + c] = v;
            if (tf) tf[i * TG_MNIST_CLASSES + c] = (float)v;
        }
    }
    return TG_OK;
}

tg_status tg_mnist_batch(const tg_mnist_set *set, const size_t *idx, size_t first, size_t n,
                         double *x, double *t)
{
    return batch(set, idx, first, n, x, t, NULL, NULL);
}

tg_status tg_mnist_batch_f32(const tg_mnist_set *set, const size_t *idx, size_t first, size_t n,
                             float *x, float *t)
{
    return batch(set, idx, first, n, NULL, NULL, x, t);
}

void tg_mnist_set_free(tg_mnist_set *set)
{
    if (!set) return;
    free(set->images);
    free(set->labels);
    memset(set, 0, sizeof *set);
}

void tg_mnist_free(tg_mnist *data)
{
    if (!data) return;
    tg_mnist_set_free(&data->train);
    tg_mnist_set_free(&data->test);
}
