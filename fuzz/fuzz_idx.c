/*
 * libFuzzer harness: the MNIST IDX reader.
 *
 * Input: a mode byte, a 2-byte split point, then the bytes of an images
 * file and of a labels file (split there).  Mode bit 0 gzips the images,
 * bit 1 the labels (a valid gzip stream of fuzzed content; a fuzzed gzip
 * stream arrives unwrapped when the bytes begin with 1f 8b); bit 2 names
 * the files as the distribution does and reads them with tg_mnist_load
 * (both splits) instead of tg_mnist_read_set.  The files are written to a
 * private temporary directory, since the reader takes paths.
 *
 * Checked beyond the sanitizers: an error has status IO or FORMAT (or
 * NOMEM), a message that starts with the path of one of the files, and
 * leaves the output untouched; a success gives sizes whose product the
 * file really held, labels 0-9, and a batch can be formed from it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <tapegrad/mnist.h>

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_idx: check failed: %s: ", #cond);         \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

static char dir[256];

static void put(const char *path, const uint8_t *p, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb6");
        CHECK(f != NULL, "gzopen %s", path);
        if (n) CHECK(gzwrite(f, p, (unsigned)n) == (int)n, "gzwrite");
        CHECK(gzclose(f) == Z_OK, "gzclose");
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL, "fopen %s", path);
        if (n) CHECK(fwrite(p, 1, n, f) == n, "fwrite");
        CHECK(fclose(f) == 0, "fclose");
    }
}

static int starts_with_path(const char *msg, const char *const *paths, int n)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        if (strncmp(msg, paths[i], len) == 0 && msg[len] == ':') return 1;
    }
    return 0;
}

static void check_set(const tg_mnist_set *s, size_t img_bytes_max)
{
    CHECK(s->count > 0 && s->rows > 0 && s->cols > 0, "empty sizes accepted");
    CHECK(s->count <= img_bytes_max && s->rows * s->cols <= img_bytes_max / s->count,
          "sizes %zux%zux%zu exceed the %zu bytes given", s->count, s->rows, s->cols, img_bytes_max);
    unsigned sum = 0;
    for (size_t i = 0; i < s->count * s->rows * s->cols; i++) sum += s->images[i];
    for (size_t i = 0; i < s->count; i++) CHECK(s->labels[i] < 10, "label %u", s->labels[i]);
    size_t d = s->rows * s->cols, n = s->count < 2 ? s->count : 2;
    double *x = malloc(n * d * sizeof *x), t[20];
    CHECK(x != NULL, "malloc");
    CHECK(tg_mnist_batch(s, NULL, 0, n, x, t) == TG_OK, "batch of %zu", n);
    size_t idx[2] = { s->count - 1, 0 };
    CHECK(tg_mnist_batch(s, idx, 0, n, x, t) == TG_OK, "batch by index");
    CHECK(tg_mnist_batch(s, NULL, s->count, 1, x, t) == TG_ERR_ARG, "batch past the end");
    free(x);
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/tapegrad-fuzz-idx-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    }
    uint8_t mode = data[0];
    size_t split = (size_t)data[1] << 8 | data[2];
    const uint8_t *body = data + 3;
    size_t n = size - 3;
    if (split > n) split = n;

    char ip[512], lp[512];
    int named = mode & 4;
    snprintf(ip, sizeof ip, "%s/%s%s", dir, named ? TG_MNIST_TRAIN_IMAGES : "images",
             named && (mode & 1) ? ".gz" : "");
    snprintf(lp, sizeof lp, "%s/%s%s", dir, named ? TG_MNIST_TRAIN_LABELS : "labels",
             named && (mode & 2) ? ".gz" : "");
    put(ip, body, split, mode & 1);
    put(lp, body + split, n - split, mode & 2);

    tg_error err;
    if (!named) {
        tg_mnist_set s;
        memset(&s, 0x5A, sizeof s);
        tg_mnist_set before = s;
        tg_status st = tg_mnist_read_set(ip, lp, &s, &err);
        CHECK(err.status == st, "status %d vs err %d", (int)st, (int)err.status);
        if (st == TG_OK) {
            CHECK(err.msg[0] == '\0', "message on success: %s", err.msg);
            check_set(&s, n);
            tg_mnist_set_free(&s);
            CHECK(s.images == NULL && s.count == 0, "set_free did not zero");
        } else {
            const char *paths[2] = { ip, lp };
            CHECK(st == TG_ERR_FORMAT || st == TG_ERR_IO || st == TG_ERR_NOMEM, "status %d: %s", (int)st, err.msg);
            CHECK(starts_with_path(err.msg, paths, 2), "message does not name a file: %s", err.msg);
            CHECK(memcmp(&s, &before, sizeof s) == 0, "output changed on error");
        }
    } else {
        /* the test split under the distribution's names too: same files */
        char tip[512], tlp[512];
        snprintf(tip, sizeof tip, "%s/%s%s", dir, TG_MNIST_TEST_IMAGES, (mode & 1) ? ".gz" : "");
        snprintf(tlp, sizeof tlp, "%s/%s%s", dir, TG_MNIST_TEST_LABELS, (mode & 2) ? ".gz" : "");
        put(tip, body, split, mode & 1);
        put(tlp, body + split, n - split, mode & 2);
        tg_mnist m;
        memset(&m, 0x5A, sizeof m);
        tg_mnist before = m;
        tg_status st = tg_mnist_load(dir, &m, &err);
        if (st == TG_OK) {
            check_set(&m.train, n);
            check_set(&m.test, n);
            tg_mnist_free(&m);
        } else {
            const char *paths[4] = { ip, lp, tip, tlp };
            CHECK(starts_with_path(err.msg, paths, 4), "message does not name a file: %s", err.msg);
            CHECK(memcmp(&m, &before, sizeof m) == 0, "output changed on error");
        }
        unlink(tip);
        unlink(tlp);
    }
    unlink(ip);
    unlink(lp);
    return 0;
}
