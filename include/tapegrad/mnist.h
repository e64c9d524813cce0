/*
 * tapegrad MNIST: the four IDX files of the handwritten-digit set, read
 * into memory as bytes, and turned into network input one batch at a time.
 *
 *     tg_error err;
 *     char dir[1024];
 *     tg_mnist data;
 *     if (tg_mnist_find(NULL, NULL, dir, sizeof dir, &err) != TG_OK ||
 *         tg_mnist_load(dir, &data, &err) != TG_OK) {
 *         fprintf(stderr, "%s\n", err.msg);
 *         return 1;
 *     }
 *     ...                                     // data.train.count == 60000
 *     tg_mnist_free(&data);
 *
 * Images stay uint8 until a batch is formed: tg_mnist_batch writes
 * pixel/255 into the caller's doubles and labels as one-hot rows.
 *
 * Errors: these functions work on files, not on a graph, so they report
 * through a tg_error the caller passes (NULL is allowed and ignores the
 * message).  Every message names the file and what is wrong with it, e.g.
 * "t10k-labels-idx1-ubyte.gz: label 12 at index 345 is outside 0-9".  On
 * failure the output structure is left as it was.
 */
#ifndef TAPEGRAD_MNIST_H
#define TAPEGRAD_MNIST_H

#include <stddef.h>
#include <stdint.h>

#include "tapegrad.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TG_MNIST_CLASSES = 10 };

/* One split: count images of rows x cols bytes, row-major, each followed
 * by nothing (the labels are separate).  Owned by the set. */
typedef struct tg_mnist_set {
    size_t count, rows, cols;
    uint8_t *images;   /* count * rows * cols pixels, 0 (white) to 255 */
    uint8_t *labels;   /* count labels, each 0-9 */
} tg_mnist_set;

typedef struct tg_mnist {
    tg_mnist_set train, test;
} tg_mnist;

/* File names as distributed; each is tried with ".gz" first, then bare. */
#define TG_MNIST_TRAIN_IMAGES "train-images-idx3-ubyte"
#define TG_MNIST_TRAIN_LABELS "train-labels-idx1-ubyte"
#define TG_MNIST_TEST_IMAGES  "t10k-images-idx3-ubyte"
#define TG_MNIST_TEST_LABELS  "t10k-labels-idx1-ubyte"

/* Read an images file and its labels file into *out.  Either may be
 * gzip-compressed or plain.  Checked: the magic numbers (0x00000803 for
 * images, 0x00000801 for labels), that the file holds exactly the bytes
 * its header announces (no overflow, nothing read past the end, no
 * trailing bytes), that the counts agree and are not zero, and that every
 * label is 0-9.  TG_ERR_IO when a file cannot be opened or read,
 * TG_ERR_FORMAT when it is malformed, TG_ERR_NOMEM; *out is unchanged
 * then.  On success *out owns its arrays: free with tg_mnist_set_free. */
tg_status tg_mnist_read_set(const char *images_path, const char *labels_path,
                            tg_mnist_set *out, tg_error *err);

/* Read the four files of directory dir into *out (both splits, or none:
 * *out is unchanged on failure). */
tg_status tg_mnist_load(const char *dir, tg_mnist *out, tg_error *err);

/* Find the directory that holds the data, in this order:
 *   1. data_dir, when not NULL (the demo's --data DIR);
 *   2. the environment variable TAPEGRAD_MNIST, when set and not empty;
 *   3. ../shared/data/mnist, relative to the current directory;
 *   4. fallback_dir, when not NULL (e.g. the same path relative to the
 *      source tree, for programs run from a build directory).
 * An explicit data_dir or TAPEGRAD_MNIST that lacks the files is an error,
 * not a reason to look elsewhere.  A directory qualifies when it holds the
 * training images (.gz or bare).  On success the directory is copied into
 * found (TG_ERR_ARG if it does not fit in len bytes); TG_ERR_IO with a
 * message listing every place looked at when none qualifies. */
tg_status tg_mnist_find(const char *data_dir, const char *fallback_dir,
                        char *found, size_t len, tg_error *err);

/* Form a batch of n images: those at idx[0..n-1], or when idx is NULL the
 * n consecutive images from first.  x (n x rows*cols) receives pixel/255,
 * t (n x TG_MNIST_CLASSES) one-hot labels; either may be NULL to skip it.
 * TG_ERR_ARG (nothing written) if an index is out of range or set is
 * NULL. */
tg_status tg_mnist_batch(const tg_mnist_set *set, const size_t *idx, size_t first, size_t n,
                         double *x, double *t);

/* Free the arrays and zero the structure; NULL is fine. */
void tg_mnist_set_free(tg_mnist_set *set);
void tg_mnist_free(tg_mnist *data);

#ifdef __cplusplus
}
#endif

#endif
