/*
 * Scratch files for tests that hand the library paths: a private directory
 * per test, files written plain or gzip-compressed, whole files read back.
 * Each helper fails the running test when the file system refuses.
 */
#ifndef TEST_SCRATCH_H
#define TEST_SCRATCH_H

#include <stddef.h>

/* Make a fresh directory under $TMPDIR (or /tmp); its path goes to dir
 * (len bytes, at least 64). */
void scratch_dir(char *dir, size_t len);
/* Remove dir with everything in it; a missing dir is not an error. */
void scratch_remove(const char *dir);

/* "dir/name" into buf (len bytes); returns buf. */
const char *path_in(char *buf, size_t len, const char *dir, const char *name);

/* Write n bytes to path, plain or (gzip nonzero) gzip-compressed at
 * level 6. */
void write_bytes(const char *path, const void *data, size_t n, int gzip);
/* The gzip encoding of data into a malloc'd buffer; *out_n its size. */
unsigned char *gzip_bytes(const void *data, size_t n, size_t *out_n);

/* A whole file into a malloc'd buffer, followed by a NUL that *n does not
 * count, so a text file reads as a string.  free() the result. */
unsigned char *read_bytes(const char *path, size_t *n);
char *read_text(const char *path);

#endif
