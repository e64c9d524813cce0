/* MNIST files for the nn tests: IDX files written byte by byte, and the
 * real data set when it is there.  Scratch directories and whole-file
 * reads and writes are the common ones (scratch.h). */
#ifndef NN_TEST_FILES_H
#define NN_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* An IDX file of unsigned bytes: magic, then the big-endian dimensions,
 * then the payload, into out (which needs 4 + 4*ndims + payload bytes).
 * Returns the total size. */
size_t idx_bytes(unsigned char *out, uint32_t magic, const uint32_t *dims, int ndims,
                 const unsigned char *payload, size_t payload_len);

/* The directory holding real MNIST, or NULL, having said why on stderr,
 * when it cannot be found (the caller then exits 77): $TAPEGRAD_MNIST when
 * set, else ../shared/data/mnist from the current directory or from the
 * source tree's parent. */
const char *real_mnist_dir(void);

#endif
