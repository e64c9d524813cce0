/* Where the mnist demo finds the data set: its own search order, built on
 * tg_mnist_probe (the library reads a directory, it does not look for one). */
#ifndef MNIST_DATA_DIR_H
#define MNIST_DATA_DIR_H

#include "tapegrad/mnist.h"

/* The first place that holds the four files (tg_mnist_probe):
 *   1. given, when not NULL (the demo's --data DIR);
 *   2. $TAPEGRAD_MNIST, when set and not empty;
 *   3. ../shared/data/mnist, relative to the current directory;
 *   4. fallback, when not NULL (the same directory beside the source
 *      tree, for a run from elsewhere).
 * A given directory or $TAPEGRAD_MNIST that lacks the files is an error,
 * not a reason to look further.  Returns the directory (given, the
 * variable's value, or one of the two paths; not a copy), or NULL with
 * the error in *err (NULL allowed): tg_mnist_probe's status for a named
 * directory, TG_ERR_IO when no place to look holds the data, with a
 * message that says where it looked and what to do. */
const char *data_dir_find(const char *given, const char *fallback, tg_error *err);

#endif
