/*
 * tapegrad MNIST: the four IDX files of the handwritten-digit set, read
 * into memory as bytes, and turned into network input one batch at a time.
 *
 *     tg_error err;
 *     tg_mnist data;
 *     if (tg_mnist_load("data/mnist", &data, &err) != TG_OK) {
 *         fprintf(stderr, "%s\n", err.msg);
 *         return 1;
 *     }
 *     ...                                     // data.train.count == 60000
 *     tg_mnist_free(&data);
 *
 * Where the files are is the program's choice, not the library's: the
 * library reads the directory it is given, and tg_mnist_probe tells
 * whether a directory holds the set, so that a program can try the places
 * it knows of in its own order (the mnist demo: its --data DIR, then
 * $TAPEGRAD_MNIST, then ../shared/data/mnist).
 *
 * Images stay uint8 until a batch is formed: tg_mnist_batch writes
 * pixel/255 into the caller's doubles and labels as one-hot rows.
 *
 * Errors: these functions work on files, not on a graph, so they report
 * through a tg_error the caller passes (NULL is allowed and ignores the
 * message).  On success it holds TG_OK and "".  Every message about a file
 * names the file and what is wrong with it, e.g.
 * "t10k-labels-idx1-ubyte.gz: label 12 at index 345 is outside 0-9"; a NULL
 * argument is named with the function, "tg_mnist_load: dir is NULL".  On
 * failure the output structure is left as it was and nothing is held.
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
    size_t count;      /* images */
    size_t rows;       /* pixel rows of each */
    size_t cols;       /* pixel columns of each */
    uint8_t *images;   /* count * rows * cols pixels, 0 (white) to 255 */
    uint8_t *labels;   /* count labels, each 0-9 */
} tg_mnist_set;

/* The data set: its two splits. */
typedef struct tg_mnist {
    tg_mnist_set train;   /* 60000 images in the distributed set */
    tg_mnist_set test;    /* 10000 */
} tg_mnist;

/* File names as distributed; each is tried with ".gz" first, then bare. */
#define TG_MNIST_TRAIN_IMAGES "train-images-idx3-ubyte"
#define TG_MNIST_TRAIN_LABELS "train-labels-idx1-ubyte"   /* see TG_MNIST_TRAIN_IMAGES */
#define TG_MNIST_TEST_IMAGES  "t10k-images-idx3-ubyte"    /* see TG_MNIST_TRAIN_IMAGES */
#define TG_MNIST_TEST_LABELS  "t10k-labels-idx1-ubyte"    /* see TG_MNIST_TRAIN_IMAGES */

/* Read an images file and its labels file into *out.  Either may be
 * gzip-compressed or plain.  Checked: the magic numbers (0x00000803 for
 * images, 0x00000801 for labels), that the file holds exactly the bytes
 * its header announces (no overflow, nothing read past the end, no
 * trailing bytes), that no size in the header is 0, that the counts agree,
 * and that every label is 0-9.  Fails with
 *   TG_ERR_ARG     images_path, labels_path or out is NULL;
 *   TG_ERR_IO      a file cannot be opened or read ("PATH: cannot open: ...");
 *   TG_ERR_FORMAT  a file is malformed, or its gzip stream corrupt or cut short;
 *   TG_ERR_NOMEM   memory ran out (reading or decompressing).
 * *out is unchanged then.  On success *out owns its arrays: free with
 * tg_mnist_set_free. */
tg_status tg_mnist_read_set(const char *images_path, const char *labels_path,
                            tg_mnist_set *out, tg_error *err);

/* Read the four files of directory dir into *out: dir/NAME.gz for each
 * NAME above when it can be opened, else dir/NAME.  Both splits, or none:
 * fails with TG_ERR_ARG when dir or out is NULL or a path would not fit in
 * 4096 bytes ("tg_mnist_load: directory name too long: DIR"), otherwise
 * with tg_mnist_read_set's errors for the first file that fails; *out is
 * unchanged then. */
tg_status tg_mnist_load(const char *dir, tg_mnist *out, tg_error *err);

/* Whether dir holds the set: TG_OK when each of the four files can be
 * opened, .gz or bare, without reading them (tg_mnist_load still checks
 * their contents).  Fails with
 *   TG_ERR_ARG     dir is NULL, or a path would not fit in 4096 bytes;
 *   TG_ERR_IO      a file is missing ("DIR: no train-images-idx3-ubyte[.gz]
 *                  there", naming the first missing one) or cannot be
 *                  opened ("PATH: cannot open: Permission denied");
 *   TG_ERR_NOMEM   memory ran out opening one.
 * Nothing is held either way. */
tg_status tg_mnist_probe(const char *dir, tg_error *err);

/* Form a batch of n images: those at idx[0..n-1], or when idx is NULL the
 * n consecutive images from first.  x (n x rows*cols) receives pixel/255,
 * t (n x TG_MNIST_CLASSES) one-hot labels; either may be NULL to skip it.
 * TG_ERR_ARG, with nothing written, when set is NULL, when n > 0 and the
 * set has no images or labels, or when an image asked for is past the set
 * (first + n past count, or an idx[i] >= count).  There is no message: it
 * has no tg_error to keep one. */
tg_status tg_mnist_batch(const tg_mnist_set *set, const size_t *idx, size_t first, size_t n,
                         double *x, double *t);
/* The same into floats (a float32 network's batch): x[i] is pixel / 255
 * rounded to float. */
tg_status tg_mnist_batch_f32(const tg_mnist_set *set, const size_t *idx, size_t first, size_t n,
                             float *x, float *t);

/* Free the arrays and zero the structure; NULL is fine. */
void tg_mnist_set_free(tg_mnist_set *set);
void tg_mnist_free(tg_mnist *data);   /* both splits */

#ifdef __cplusplus
}
#endif

#endif
