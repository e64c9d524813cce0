#include "files.h"

#include <stdio.h>
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
    static char dir[4096];
    tg_error err;
    if (tg_mnist_find(NULL, TAPEGRAD_SOURCE_ROOT "/../shared/data/mnist", dir, sizeof dir, &err) != TG_OK) {
        fprintf(stderr, "skipping: %s\n", err.msg);
        return NULL;
    }
    return dir;
}
