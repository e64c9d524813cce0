/* Training curves as a hand-written SVG file. */
#ifndef MNIST_PLOT_H
#define MNIST_PLOT_H

#include <stddef.h>

/* Accuracies measured after iteration `iter`. */
typedef struct eval_point {
    size_t iter;
    double train, test;
} eval_point;

/* Two panels: the loss of every batch with its moving average, and the
 * train and test accuracy at each evaluation, above a one-line caption.
 * 0 on success, -1 when the file cannot be written (errno set). */
int plot_write_svg(const char *path, const char *caption, const double *loss, size_t iters,
                   const eval_point *evals, size_t nevals);

#endif
