/* Scratch files for the nn tests: a private directory per test, IDX files
 * written byte by byte, and whole-file reads and writes. */
#ifndef NN_TEST_FILES_H
#define NN_TEST_FILES_H

#include <stddef.h>
#include <stdint.h>

/* Make a fresh directory under $TMPDIR (or /tmp); its path goes to dir
 * (at least 64 bytes).  Aborts the test on failure. */
void scratch_dir(char *dir, size_t len);
/* Remove dir and the files in it (no subdirectories). */
void scratch_remove(const char *dir);

/* dir/name into buf. */
const char *path_in(char *buf, size_t len, const char *dir, const char *name);

/* Write n bytes to path, plain or gzip-compressed. */
void write_bytes(const char *path, const void *data, size_t n, int gzip);
/* Read a whole file; *n receives its size.  free() the result. */
unsigned char *read_bytes(const char *path, size_t *n);

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
