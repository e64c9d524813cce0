/* Scalar twins: the tensor ops rebuilt element by element from scalar
 * nodes, with the same broadcasting, so that a tensor graph and its twin
 * can be differentiated side by side.  The twins use only the scalar
 * engine's public calls. */
#ifndef TWIN_H
#define TWIN_H

#include <stdbool.h>
#include <stddef.h>

#include <tapegrad/tapegrad.h>

/* A rows x cols matrix of scalar nodes, row-major; e is malloc'ed. */
typedef struct smat {
    size_t rows, cols;
    tg_node *e;
} smat;

smat    smat_new(size_t rows, size_t cols);
void    smat_free(smat *m);
tg_node smat_at(smat m, size_t i, size_t j);  /* a 1 x 1 matrix stretches both ways */

smat smat_vars(tg_graph *g, size_t rows, size_t cols, const double *data);
smat smat_consts(tg_graph *g, size_t rows, size_t cols, const double *data);
/* Values or gradients of every element into out (rows*cols). */
void smat_values(const tg_graph *g, smat m, double *out);
void smat_grads(const tg_graph *g, smat m, double *out);

smat    smat_unary(tg_graph *g, tg_node (*f)(tg_graph *, tg_node), smat a);
smat    smat_binary(tg_graph *g, tg_node (*f)(tg_graph *, tg_node, tg_node), smat a, smat b);
smat    smat_powc(tg_graph *g, smat a, double k);
smat    smat_matmul(tg_graph *g, smat a, smat b, unsigned flags);  /* TG_TRANS_* */
smat    smat_softmax(tg_graph *g, smat a);                        /* exp(x) / sum exp(x) */
tg_node smat_sum(tg_graph *g, smat a);
tg_node smat_mean(tg_graph *g, smat a);
tg_node smat_xent(tg_graph *g, smat logits, smat t);              /* -(1/N) sum t log softmax */

/* Check that |got - want| <= tol * max(1, |want|) element by element. */
void expect_close(const double *got, const double *want, size_t n, double tol, const char *what);

#endif
