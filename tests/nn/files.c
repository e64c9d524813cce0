#include "files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapegrad/mnist.h"

#ifndef TAPEGRAD_SOURCE_ROOT
#define TAPEGRAD_SOURCE_ROOT "."
#endif

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
