/*
 * tapegrad nn: the layers of chapter 5 and its TwoLayerNet, as functions
 * that record ops on a graph.  No layer has a backward of its own: a loss
 * recorded through them is trained with tg_backward(g, loss).  The book's
 * layers are
 *
 *     Affine            tg_affine(g, x, W, b)          x W + b, b a 1 x n row
 *     Relu, Sigmoid     tg_relu, tg_sigmoid            (tapegrad.h, elementwise)
 *     SoftmaxWithLoss   tg_softmax_cross_entropy       (tensor.h, fused)
 *
 * TwoLayerNet (section 5.7.2) is Affine -> Relu -> Affine -> SoftmaxWithLoss.
 * It owns a graph whose first four nodes are its parameters, tensor
 * variables named "W1" (input x hidden), "b1" (1 x hidden), "W2" (hidden x
 * output) and "b2" (1 x output): the book's params dictionary is the
 * graph's name table, tg_find(tg_net_graph(net), "W1").  Recorded first,
 * their values form one contiguous block in that order and their gradients
 * another, so SGD, the gradient check and saving are each one loop.  After
 * them come the batch: x (n x input) and one-hot labels t (n x output),
 * two tensor constants refilled in place.  A training step records its
 * forward pass and loss after whatever the tape holds, sweeps it with
 * tg_backward, updates the parameters and drops what it recorded
 * (tg_graph_undo), so it allocates nothing after the first.
 *
 *     tg_net *net = tg_net_new(784, 50, 10, 42);
 *     for (int i = 0; i < 10000; i++) {
 *         ... draw 100 indices into idx ...
 *         tg_net_batch_mnist(net, &data.train, idx, 0, 100);
 *         tg_net_train_step(net, 0.1, &loss);
 *     }
 *     tg_net_accuracy(net, &data.test, &acc);   // about 0.97
 *     tg_net_free(net);
 *
 * Errors: functions that work on the net record the first error on its
 * graph (tg_graph_status(tg_net_graph(net))) and return it.  While an
 * error stands they refuse to run (returning it) and change nothing, until
 * tg_graph_clear_error.  An error met inside a call, such as memory
 * running out or a non-finite value in checking mode, is stated in the
 * name of the function called, before the engine's own message:
 * "tg_net_train_step: tg_matmul: out of memory growing the tape past 30
 * nodes".  A call that fails leaves the tape as it was: the same nodes,
 * values and names (gradients may have been swept part way).  Save and
 * load work on files and report through a tg_error instead, leaving the
 * graph's status alone.
 */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H

#include <stddef.h>
#include <stdint.h>

#include "tapegrad.h"
#include "tensor.h"
#include "mnist.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- layers */

/* Affine: x W + b, with x n x in, W in x out and b a 1 x out row that is
 * added to every row.  Records a matmul and an add, or nothing: a bad
 * handle or shape (TG_ERR_HANDLE, TG_ERR_STALE, TG_ERR_SHAPE: "tg_affine:
 * x is 2x4, W is 3x10") or memory running out part way (TG_ERR_NOMEM:
 * "tg_affine: tg_add: out of memory ...") is an error in tg_affine's name,
 * recorded only when none stands, and the tape is left as it was. */
tg_node tg_affine(tg_graph *g, tg_node x, tg_node W, tg_node b);

/* ------------------------------------------------------ random numbers */

/* A small seeded generator (splitmix64) held by value: no global state,
 * the same seed gives the same numbers on every machine. */
typedef struct tg_rng {
    uint64_t state;    /* advanced by every draw */
    double spare;      /* the second normal of a Box-Muller pair */
    int has_spare;     /* 1 when spare holds one */
} tg_rng;

tg_rng   tg_rng_seed(uint64_t seed);        /* a generator started at seed */
uint64_t tg_rng_next(tg_rng *r);            /* 64 uniform bits */
double   tg_rng_uniform(tg_rng *r);         /* uniform in [0, 1), 53 bits */
double   tg_rng_normal(tg_rng *r);          /* N(0, 1) by Box-Muller */
size_t   tg_rng_below(tg_rng *r, size_t n); /* uniform in 0 .. n-1 (0 when n is 0) */

/* ---------------------------------------------------------- TwoLayerNet */

typedef struct tg_net tg_net;  /* opaque */

enum { TG_NET_NPARAMS = 4 };   /* W1, b1, W2, b2 */

/* A new net: weights 0.01 * N(0,1) drawn from tg_rng_seed(seed), W1 then
 * W2, row by row; biases zero.  NULL when memory is exhausted or a size is
 * 0.  The _with form takes an allocator for the net and its graph (see
 * tg_graph_new_with). */
tg_net *tg_net_new(size_t input, size_t hidden, size_t output, uint64_t seed);
tg_net *tg_net_new_with(size_t input, size_t hidden, size_t output, uint64_t seed,
                        const tg_allocator *alloc);  /* see tg_net_new */
/* A net whose parameters, batch and every tensor it records are of dtype
 * (tensor.h): TG_F64 as tg_net_new_with, or TG_F32, where the same seed
 * draws the same weights rounded to float.  NULL also for a dtype that is
 * neither.  alloc may be NULL.  Everything below works on either dtype:
 * values cross the API as doubles (a float32 net's widened exactly, and
 * rounded to nearest on the way in), losses are doubles.  Except
 * tg_net_hvp, which needs forward mode: on a float32 net it fails with
 * TG_ERR_ARG (tg_hvp's message, see tapegrad.h). */
tg_net *tg_net_new_ex(size_t input, size_t hidden, size_t output, uint64_t seed, tg_dtype dtype,
                      const tg_allocator *alloc);
/* The dtype of the net's parameters; TG_F64 for NULL. */
tg_dtype tg_net_dtype(const tg_net *net);
void    tg_net_free(tg_net *net);                        /* NULL is fine */

/* The graph the net records on; owned by the net. */
tg_graph *tg_net_graph(const tg_net *net);
size_t    tg_net_input_size(const tg_net *net);    /* inputs; 0 for NULL */
size_t    tg_net_hidden_size(const tg_net *net);   /* hidden units; 0 for NULL */
size_t    tg_net_output_size(const tg_net *net);   /* outputs; 0 for NULL */
/* Name of parameter k (0 <= k < TG_NET_NPARAMS): "W1", "b1", "W2", "b2";
 * NULL otherwise. */
const char *tg_net_param_name(int k);
/* Numbers in parameter k, and in all four together. */
size_t    tg_net_param_size(const tg_net *net, int k);
size_t    tg_net_param_count(const tg_net *net);   /* see tg_net_param_size */

/* Copy every parameter value, or every gradient of the last tg_net_gradient,
 * into out (tg_net_param_count doubles, W1 b1 W2 b2, each row-major). */
tg_status tg_net_get_params(const tg_net *net, double *out);
tg_status tg_net_get_grads(const tg_net *net, double *out);   /* see tg_net_get_params */

/* ------------------------------------------- recording (section 5.7.2) */
/* These record on tg_net_graph(net); the caller marks and rewinds.  Like
 * tg_affine they record all their nodes or none, with their errors in
 * their own names ("tg_net_predict: x is 2x3, the net takes 5 inputs"). */

/* predict: the scores (n x output) of inputs x (n x input). */
tg_node tg_net_predict(tg_net *net, tg_node x);
/* loss: softmax-with-loss of predict(x) against one-hot labels t, a scalar. */
tg_node tg_net_loss(tg_net *net, tg_node x, tg_node t);

/* ------------------------------------------------------------ the batch */

/* Make the batch n rows of x (n x input) and one-hot t (n x output),
 * copied.  t may be NULL when only scores are wanted.  A batch of the same
 * size is refilled in place and nothing else changes.  A new size records
 * new batch nodes next to the parameters, dropping the old ones and every
 * node after them with a rewind (handles to them become stale); without
 * the memory for that it fails with TG_ERR_NOMEM, "tg_net_batch: no room
 * for a batch of n rows (...)", and the old batch stays.  TG_ERR_ARG when
 * x is NULL or n is 0. */
tg_status tg_net_batch(tg_net *net, const double *x, const double *t, size_t n);
/* The same from a data set, without an intermediate copy: the images at
 * idx[0..n-1], or the n images from first when idx is NULL (tg_mnist_batch).
 * TG_ERR_SHAPE if the images are not input pixels or output is not 10;
 * TG_ERR_ARG when set is NULL or an image asked for is past it; otherwise
 * as tg_net_batch. */
tg_status tg_net_batch_mnist(tg_net *net, const tg_mnist_set *set, const size_t *idx,
                             size_t first, size_t n);
/* The batch nodes, for recording by hand; the empty handle before the
 * first batch.  They change when the batch size changes. */
tg_node   tg_net_batch_x(const tg_net *net);
tg_node   tg_net_batch_t(const tg_net *net);   /* see tg_net_batch_x */

/* ---------------------------------------------------------- on the batch
 * Each records after whatever the tape holds and drops what it recorded
 * before it returns, so the tape is left as it was, on success and on
 * failure alike (nodes a caller recorded after the batch stay, and are
 * swept by tg_backward with a zero gradient); the parameters change only
 * where said, and outputs are written only on success.  Without a batch
 * set by tg_net_batch or tg_net_batch_mnist since the last tg_net_accuracy,
 * they fail with TG_ERR_ARG ("tg_net_gradient: no batch yet ..."). */

/* loss(x, t) of the batch into *loss. */
tg_status tg_net_batch_loss(tg_net *net, double *loss);
/* gradient: forward, tg_backward; the parameters' gradients are left on
 * the graph (tg_tensor_gradp(g, tg_find(g, "W1")), tg_net_get_grads).
 * *loss receives the loss when loss is not NULL. */
tg_status tg_net_gradient(tg_net *net, double *loss);
/* numerical_gradient: central differences (f(p+h) - f(p-h)) / 2h with
 * h = 1e-4 for every parameter (in a float32 net, 2h is the distance
 * between p+h and p-h as they round to float), into grad (tg_net_param_count doubles, the
 * order of tg_net_get_params).  Two forward passes per parameter: slow by
 * design, for checking.  Each parameter is restored bit for bit, on
 * failure too; grad may then hold the differences of the first few. */
tg_status tg_net_numerical_gradient(tg_net *net, double *grad);
/* Section 5.7.3: mean |backprop - numerical| for each parameter, into
 * diff[TG_NET_NPARAMS].  Its scratch of tg_net_param_count doubles comes
 * from the net's allocator: TG_ERR_NOMEM "tg_net_gradcheck: out of memory
 * for N doubles" without it. */
tg_status tg_net_gradcheck(tg_net *net, double diff[TG_NET_NPARAMS]);
/* The Hessian of the batch loss in all the parameters times v: hv = H v,
 * v and hv tg_net_param_count doubles in the order of tg_net_get_params,
 * exact (tg_hvp: one tangent and one reverse sweep, about three gradients'
 * work).  TG_ERR_ARG when v or hv is NULL; the parameters' gradients are
 * left as they were. */
tg_status tg_net_hvp(tg_net *net, const double *v, double *hv);
/* p -= lr * dp over the parameter block, with the gradients of the last
 * tg_net_gradient. */
tg_status tg_net_sgd(tg_net *net, double lr);
/* gradient then sgd: one training step, with its errors in its own name.
 * On error the parameters are not updated. */
tg_status tg_net_train_step(tg_net *net, double lr, double *loss);

/* accuracy: the fraction of set whose highest score is its label, computed
 * 1000 images at a time, each block a tensor constant recorded after the
 * tape's end and dropped with its scores.  TG_ERR_ARG when accuracy or set
 * is NULL or the set is empty, TG_ERR_SHAPE as tg_net_batch_mnist.  An
 * evaluation uses the batch up: after one that succeeded, set a batch
 * again before the next gradient. */
tg_status tg_net_accuracy(tg_net *net, const tg_mnist_set *set, double *accuracy);

/* ------------------------------------------------------- save and load */
/*
 * File format, all integers and numbers little-endian:
 *   "TGNET\0\0\0"                magic, 8 bytes
 *   u32 version, u32 count (4)     version 1: float64 values, 2: float32
 *   count x { u32 rows, u32 cols }  shapes of W1 b1 W2 b2
 *   the values of W1 b1 W2 b2, row-major: IEEE 754 binary64 (version 1,
 *   8 bytes each) or binary32 (version 2, 4 bytes each)
 *   u32 CRC-32 (zlib's) of every byte before it
 * A net saves in its own dtype.  Either file loads into a net of either
 * dtype: a float32 file into a float64 net exactly, a float64 file into a
 * float32 net with each value rounded to the nearest float.
 */

/* Write the parameters to path.  TG_ERR_IO on a file error. */
tg_status tg_net_save(const tg_net *net, const char *path, tg_error *err);
/* Read parameters saved by tg_net_save.  The file is read whole and
 * checked (magic, version, shapes against this net, size, checksum)
 * before anything is copied: on any error the net is exactly as it was.
 * TG_ERR_IO (cannot read), TG_ERR_FORMAT (truncated, corrupted, not such
 * a file), TG_ERR_SHAPE (saved from a net of other sizes). */
tg_status tg_net_load(tg_net *net, const char *path, tg_error *err);
/* The sizes of the net saved in path, without reading its parameters. */
tg_status tg_net_file_sizes(const char *path, size_t *input, size_t *hidden, size_t *output,
                            tg_error *err);

#ifdef __cplusplus
}
#endif

#endif
