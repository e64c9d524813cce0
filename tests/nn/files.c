#include "files.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tapegrad/mnist.h"

#ifndef TAPEGRAD_SOURCE_ROOT
#define TAPEGRAD_SOURCE_ROOT "."
#endif


void scratch_dir(char *dir, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    int n = snprintf(dir, len, "%s/tapegrad-nn-XXXXXX", tmp);
    ck_assert_msg(n > 0 && (size_t)n < len, "scratch path too long");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp failed for %s", dir);
}

void scratch_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[4096];
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        remove(path_in(p, sizeof p, dir, e->d_name));
    }
    closedir(d);
    rmdir(dir);
}

const char *path_in(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    ck_assert_msg(n > 0 && (size_t)n < len, "path too long");
    return buf;
}

void write_bytes(const char *path, const void *data, size_t n, int gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot create %s", path);
        ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_msg(f != NULL, "cannot create %s", path);
        ck_assert_uint_eq(fwrite(data, 1, n, f), n);
        ck_assert_int_eq(fclose(f), 0);
    }
}

unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (;;) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        cap *= 2;
        buf = realloc(buf, cap);
        ck_assert_ptr_nonnull(buf);
    }
    fclose(f);
    *n = len;
    return buf;
}

size_t idx_bytes(unsigned char *out, uint32_t magic, const uint32_t *dims, int ndims,
                 const unsigned char *payload, size_t payload_len)
{
    uint32_t words[4] = { magic, 0, 0, 0 };
    for (int k = 0; k < ndims; k++) words[1 + k] = dims[k];
    size_t n = 0;
    for (int k = 0; k < 1 + ndims; k++) {
        out[n++] = (unsigned char)(words[k] >> 24);
        out[n++] = (unsigned char)(words[k] >> 16);
        out[n++] = (unsigned char)(words[k] >> 8);
        out[n++] = (unsigned char)words[k];
    }
    if (payload_len) memcpy(out + n, payload, payload_len);
    return n + payload_len;
}

const char *real_mnist_dir(void)
{
    /* $TAPEGRAD_MNIST alone when it is set; otherwise ../shared/data/mnist
     * from where the test runs, then beside the source tree (meson runs
     * the tests in the build directory). */
    tg_error err;
    const char *env = getenv("TAPEGRAD_MNIST");
    if (env && *env) {
        if (tg_mnist_probe(env, &err) == TG_OK) return env;
        fprintf(stderr, "skipping: $TAPEGRAD_MNIST: %s\n", err.msg);
        return NULL;
    }
    static const char *const places[] = { "../shared/data/mnist",
                                          TAPEGRAD_SOURCE_ROOT "/../shared/data/mnist" };
    for (size_t k = 0; k < sizeof places / sizeof places[0]; k++)
        if (tg_mnist_probe(places[k], &err) == TG_OK) return places[k];
    fprintf(stderr, "skipping: no MNIST in %s nor in %s, and $TAPEGRAD_MNIST is not set\n",
            places[0], places[1]);
    return NULL;
}
