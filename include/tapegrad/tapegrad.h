/*
 * tapegrad — reverse-mode automatic differentiation on a tape.
 *
 * A tg_graph records every operation as it is computed (define-by-run).
 * The order of recording is the tape: tg_backward() sweeps it once in
 * reverse, multiplying each node's local derivative into the upstream
 * gradient (the chain rule), and leaves d out / d node in every node.
 *
 *     tg_graph *g = tg_graph_new();
 *     tg_node x = tg_var(g, "x", 3.0);
 *     tg_node y = tg_mul(g, x, x);            // y = 9
 *     tg_backward(g, y);                      // tg_grad(g, x) == 6
 *     tg_graph_free(g);
 *
 * Ownership: the graph owns every value, gradient, name and tensor.  The
 * caller holds tg_node handles: small values, copied freely, never freed.
 *
 * Handles: a handle names a node of one graph and carries the generation
 * its node was recorded in.  Generations come from one counter shared by
 * the whole process (atomic), so no two graphs, alive or freed, ever hand
 * out the same handle: a handle of another graph is TG_ERR_HANDLE, one
 * whose node a tg_graph_rewind() dropped is TG_ERR_STALE; neither is ever
 * read.  A process has 2^32 - 1 generations in all: a graph takes one when
 * created, and a run of them when its rewinds need more (runs double in
 * length, so a graph that rewinds r times holds fewer than 2r + 2).  When
 * none are left, tg_graph_new returns NULL and tg_graph_rewind fails with
 * TG_ERR_LIMIT, the graph unchanged; one training loop that rewinds every
 * step gets there after about four billion steps.
 *
 * Errors: the first error sticks to the graph (tg_graph_status,
 * tg_graph_errmsg) until tg_graph_clear_error().  Messages name the
 * function and the argument ("tg_mul: b is not a node of this graph").
 *   - Builders (tg_var ... tg_sigmoid_decomposed, and the tensor ones)
 *     record their error and return the empty handle.  Given the empty
 *     handle they return it too, recording TG_ERR_HANDLE ("tg_mul: a is
 *     the empty handle") only when no error is recorded yet, so the first
 *     message is kept and a whole expression is written and checked once.
 *     A builder that fails leaves the tape as it was (size, values, names).
 *   - Calls that return a tg_status (tg_backward, tg_forward, tg_set_value,
 *     tg_graph_rewind, tg_graph_reserve, the group calls, the tensor
 *     setters) record their error and also return it.
 *   - Accessors of a const graph (tg_value, tg_grad, tg_find, tg_node_*,
 *     tg_shape, the tensor getters) record nothing: they return NaN, "",
 *     0, NULL or a status.
 *   - Given a NULL graph, every call returns its failure value (TG_ERR_ARG
 *     for a status) and records nothing.
 * In checking mode a builder whose value is not finite records
 * TG_ERR_DOMAIN naming the node and still returns its handle: the node is
 * on the tape, and later builders keep recording (the first error stands).
 * The library never prints, aborts or exits.
 *
 * Threads: a graph is used by one thread at a time; different graphs share
 * nothing and may be used from different threads at once.
 */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

/* The version of these headers (meson.build's project version; a test
 * keeps them equal). */
#define TG_VERSION_MAJOR 0           /* incompatible changes */
#define TG_VERSION_MINOR 1           /* additions */
#define TG_VERSION_PATCH 0           /* fixes */
#define TG_VERSION_STRING "0.1.0"    /* "MAJOR.MINOR.PATCH" */

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH": the
 * TG_VERSION_STRING it was built with, which may differ from the headers a
 * program was compiled against.  A constant string. */
const char *tg_version(void);

/* ---------------------------------------------------------------- types */

typedef struct tg_graph tg_graph;                      /* opaque */
/* A handle to a node of one graph, passed by value; {0,0} is empty. */
typedef struct tg_node {
    uint32_t id;    /* the node's position on the tape */
    uint32_t gen;   /* the generation it was recorded in */
} tg_node;

/* The empty handle, {0, 0}: a C compound literal, a braced temporary in C++. */
#ifdef __cplusplus
#define TG_NONE (tg_node{0, 0})
#else
#define TG_NONE ((tg_node){0, 0})
#endif

/* What a call that can fail returns; the numbers are part of the ABI. */
typedef enum tg_status {
    TG_OK = 0,          /* success */
    TG_ERR_NOMEM = 1,   /* an allocation failed; the graph is as it was before the call */
    TG_ERR_ARG = 2,     /* an argument is out of its domain (NULL pointer, bad flag, ...) */
    TG_ERR_HANDLE = 3,  /* empty handle where a node is required, or a node of another graph */
    TG_ERR_NAME = 4,    /* duplicate or unknown variable name */
    TG_ERR_SHAPE = 5,   /* tensor shapes do not fit, or a tensor where a scalar is required */
    TG_ERR_DOMAIN = 6,  /* checking mode: a value or gradient is not finite */
    TG_ERR_FORMAT = 7,  /* a file is malformed */
    TG_ERR_IO = 8,      /* a file cannot be opened, read or written */
    TG_ERR_STALE = 9,   /* a handle outlived a rewind, or a replay left a recorded branch */
    TG_ERR_LIMIT = 10,  /* a fixed limit was reached: the process's 2^32 handle generations */
    TG_ERR_CHECK = 11   /* tg_check_partials: a local derivative disagrees with its value */
} tg_status;

/* Short constant text for a status, e.g. "out of memory".  Never NULL. */
const char *tg_status_str(tg_status s);

/* Status and message of a call that has no graph to keep its error on
 * (file readers and writers).  msg is "" when status is TG_OK. */
typedef struct tg_error {
    tg_status status;   /* TG_OK or the failure */
    char msg[512];      /* the message, NUL-terminated */
} tg_error;

/* 1 if n is the empty handle. */
static inline int tg_is_none(tg_node n) { return n.id == 0 && n.gen == 0; }

/* ---------------------------------------------------------------- graph */

/* Optional allocator: every byte a graph owns comes from it.  ctx is passed
 * back unchanged.  realloc(ctx, NULL, n) must behave as malloc; free(ctx,
 * NULL) must do nothing.  A NULL return is an allocation failure: the call
 * that needed it fails with TG_ERR_NOMEM and the graph stays consistent. */
typedef struct tg_allocator {
    void *(*realloc)(void *ctx, void *ptr, size_t size);   /* grow, shrink or allocate */
    void  (*free)(void *ctx, void *ptr);                     /* release */
    void  *ctx;                                              /* the caller's, passed back */
} tg_allocator;

/* The C library's realloc and free, as a tg_allocator. */
tg_allocator tg_default_allocator(void);

/* A new empty graph, or NULL when memory is exhausted. */
tg_graph   *tg_graph_new(void);
/* The same with a caller's allocator (copied; NULL means the C library's). */
tg_graph   *tg_graph_new_with(const tg_allocator *alloc);
void        tg_graph_free(tg_graph *g);                  /* NULL is fine */

tg_status   tg_graph_status(const tg_graph *g);          /* first error; TG_ERR_ARG for NULL */
const char *tg_graph_errmsg(const tg_graph *g);          /* owned by g; "" when TG_OK */
void        tg_graph_clear_error(tg_graph *g);            /* back to TG_OK and "" */

size_t      tg_graph_size(const tg_graph *g);            /* nodes on the tape */
/* A mark is a tape size.  Rewinding to it drops every later node, its name,
 * its tensor storage and its group, and keeps the storage for reuse: a loop
 * that marks, records, sweeps and rewinds allocates nothing after its first
 * pass (its one allocation, a log entry, happens on the first rewind to a
 * new mark).  Handles to dropped nodes become stale.  TG_ERR_ARG if mark >
 * size, TG_ERR_NOMEM or TG_ERR_LIMIT (see Handles above) with the graph
 * unchanged. */
size_t      tg_graph_mark(const tg_graph *g);
tg_status   tg_graph_rewind(tg_graph *g, size_t mark);   /* see tg_graph_mark */
/* Grow the tape to hold n nodes without further allocation. */
tg_status   tg_graph_reserve(tg_graph *g, size_t n);
/* Bytes of tape storage per scalar node: value and gradient (8 + 8), two
 * input indices (4 + 4), the op code (1) and two bits (the backward's
 * "reached" mark, a kinked op's recorded side), rounded up: 26. */
size_t      tg_graph_bytes_per_node(void);

/* Checking mode (off by default): the first non-finite value recorded or
 * replayed, or gradient swept, sets TG_ERR_DOMAIN with a message naming the
 * node and its op, and the call that met it stops there. */
void        tg_graph_set_checking(tg_graph *g, int on);

/* ------------------------------------------------------------- leaves */

/* A differentiable input.  name is copied; NULL means unnamed.  A name
 * already used in g is TG_ERR_NAME. */
tg_node tg_var(tg_graph *g, const char *name, double value);
/* A constant: no gradient flows into it; tg_set_value refuses it. */
tg_node tg_const(tg_graph *g, double value);
/* The node named name, or the empty handle (no error is recorded). */
tg_node tg_find(const tg_graph *g, const char *name);

/* ---------------------------------------------------------------- ops */
/* Each records one node (the composed ones several) and computes its value
 * at once, following IEEE arithmetic (1/0 is inf, log(-1) is NaN).  Every
 * op also accepts tensor nodes (see tapegrad/tensor.h): element by element,
 * with numpy-style broadcasting of scalars, rows and columns. */

tg_node tg_add(tg_graph *g, tg_node a, tg_node b);       /* primitive */
tg_node tg_mul(tg_graph *g, tg_node a, tg_node b);       /* primitive */
tg_node tg_exp(tg_graph *g, tg_node a);                  /* primitive */
tg_node tg_recip(tg_graph *g, tg_node a);                /* primitive: 1/a */
tg_node tg_pow(tg_graph *g, tg_node a, tg_node b);       /* primitive: a^b, both differentiable;
                                                            d/db = a^b ln a: NaN for a < 0, 0 at a = 0 < b */
tg_node tg_powc(tg_graph *g, tg_node a, double k);       /* a^k, k constant */
tg_node tg_log(tg_graph *g, tg_node a);                  /* fused: natural log */
tg_node tg_tanh(tg_graph *g, tg_node a);                 /* fused */
tg_node tg_sigmoid(tg_graph *g, tg_node a);              /* fused: 1/(1+exp(-a)); its local derivative is
                                                            e/(1+e)^2, e = exp(-|a|), equal to y(1-y) but
                                                            with no 1-y that cancels: accurate for every a */
tg_node tg_relu(tg_graph *g, tg_node a);                 /* fused: derivative 0 at a <= 0 */

/* The C math library, each one fused node whose value is the C library's
 * and whose local derivative stays within a few ulps of the true one over
 * the whole double range (see the README's accuracy table).  Outside a
 * function's domain its value and derivative are NaN, as C's. */
tg_node tg_sqrt(tg_graph *g, tg_node a);                 /* d/da = 1/(2 sqrt a): +inf at 0 */
tg_node tg_cbrt(tg_graph *g, tg_node a);                 /* d/da = +inf at 0 */
tg_node tg_sin(tg_graph *g, tg_node a);                  /* sine, a in radians */
tg_node tg_cos(tg_graph *g, tg_node a);                  /* cosine */
tg_node tg_tan(tg_graph *g, tg_node a);                  /* tangent */
tg_node tg_asin(tg_graph *g, tg_node a);                 /* arcsine; d/da = +inf at |a| = 1 */
tg_node tg_acos(tg_graph *g, tg_node a);                 /* arccosine; d/da = -inf at |a| = 1 */
tg_node tg_atan(tg_graph *g, tg_node a);                 /* arctangent */
tg_node tg_sinh(tg_graph *g, tg_node a);                 /* hyperbolic sine */
tg_node tg_cosh(tg_graph *g, tg_node a);                 /* hyperbolic cosine */
tg_node tg_asinh(tg_graph *g, tg_node a);                /* inverse hyperbolic sine */
tg_node tg_acosh(tg_graph *g, tg_node a);                /* inverse hyperbolic cosine, a >= 1 */
tg_node tg_atanh(tg_graph *g, tg_node a);                /* inverse hyperbolic tangent, |a| < 1 */
tg_node tg_expm1(tg_graph *g, tg_node a);                /* exp(a) - 1, exact near 0 */
tg_node tg_log1p(tg_graph *g, tg_node a);                /* log(1 + a), exact near 0 */
tg_node tg_log2(tg_graph *g, tg_node a);                 /* base-2 logarithm */
tg_node tg_log10(tg_graph *g, tg_node a);                /* base-10 logarithm */
tg_node tg_erf(tg_graph *g, tg_node a);                  /* error function */
tg_node tg_erfc(tg_graph *g, tg_node a);                 /* 1 - erf(a), without cancellation */
tg_node tg_softplus(tg_graph *g, tg_node a);             /* log(1 + exp(a)); d/da = sigmoid(a) */
tg_node tg_atan2(tg_graph *g, tg_node y, tg_node x);     /* every quadrant; derivatives NaN at (0, 0) */
tg_node tg_hypot(tg_graph *g, tg_node a, tg_node b);     /* no overflow; derivatives 0 at (0, 0) */
/* Kinks.  Like relu, these record which side of the kink they took, and a
 * replay that crosses it is TG_ERR_STALE naming the node.  At the kink
 * itself the derivative is a documented subgradient. */
tg_node tg_abs(tg_graph *g, tg_node a);                  /* d/da = sign(a), 0 at 0 (as relu'(0) = 0) */
tg_node tg_min(tg_graph *g, tg_node a, tg_node b);       /* kink where a == b: a tie sends the gradient
                                                            to a; a NaN operand gives NaN (unlike fmin) */
tg_node tg_max(tg_graph *g, tg_node a, tg_node b);       /* likewise */

/* Arithmetic beside add and mul, each one fused node. */
tg_node tg_sub(tg_graph *g, tg_node a, tg_node b);       /* a - b */
tg_node tg_div(tg_graph *g, tg_node a, tg_node b);       /* a / b; d/db = -(a/b)/b */
tg_node tg_neg(tg_graph *g, tg_node a);                  /* -a */
/* The book's sigmoid, composed from the calls above so that it appears on
 * the tape as primitives: a * -1, exp, + 1, recip (four nodes).  The
 * constants -1 and 1 are recorded by the first call and shared by later
 * ones while they are alive (a float32 tensor a gets 1 x 1 float32 ones
 * each call). */
tg_node tg_sigmoid_decomposed(tg_graph *g, tg_node a);   /* 1/(1+exp(a*-1)) */

/* ------------------------------------------------------ user-defined ops */

/* A scalar op of the caller's, with arity inputs (1 <= arity <=
 * TG_CUSTOM_MAX_ARITY), defined by its value and its partial derivatives.
 * name is an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters)
 * that is not the name of a built-in op; it is shown in messages, DOT and
 * tg_node_op.  tg_custom copies the struct and the name; ctx stays the
 * caller's, must outlive the nodes that use it, and is the only context
 * the callbacks are called with.  value and partials are required; second
 * (second derivatives, h[j*arity+k] = d2y/dx[j]dx[k]) may be NULL.  A
 * callback returning NaN or inf is IEEE arithmetic like any op's.
 * Supported: recording, replay, backward, checking mode, DOT, inspection,
 * tg_check_partials.  Not supported: tensor inputs (TG_ERR_SHAPE: a
 * custom op is scalar). */
enum { TG_CUSTOM_MAX_ARITY = 8 };
/* A user-defined op, copied by tg_custom (see above). */
typedef struct tg_custom_op {
    const char *name;                                                    /* an identifier */
    size_t arity;                                                        /* inputs, 1 to 8 */
    double (*value)(void *ctx, const double *x);                         /* y = f(x) */
    void   (*partials)(void *ctx, const double *x, double y, double *d);  /* d[k] = dy/dx[k] */
    void   (*second)(void *ctx, const double *x, double y, double *h);    /* may be NULL */
    void  *ctx;                                                          /* the callbacks' */
} tg_custom_op;
/* Record op on inputs x[0 .. op->arity).  A bad op (NULL, a bad name,
 * arity 0 or above the maximum, a NULL value or partials) is TG_ERR_ARG, a
 * name of a built-in op TG_ERR_NAME, bad inputs as for any builder
 * ("tg_custom: x[2] is the empty handle"). */
tg_node tg_custom(tg_graph *g, const tg_custom_op *op, const tg_node *x);
/* Make op known to g by its name, so that tg_parse (tapegrad/expr.h) can
 * call it as name(a, b, ...).  The definition is copied as tg_custom
 * copies it, and kept until the graph is freed (a rewind keeps it).
 * Registering the same definition again is TG_OK; another definition
 * under a registered name is TG_ERR_NAME, a bad op as for tg_custom.
 * Returns the status, also recorded. */
tg_status tg_custom_register(tg_graph *g, const tg_custom_op *op);
/* The registered op named name (g's copy, valid while g lives), or NULL. */
const tg_custom_op *tg_custom_lookup(const tg_graph *g, const char *name);

/* Compare every node's local partials at the current values with central
 * differences of its value (step cbrt(eps) scaled to the input), and return
 * how many disagree by more than rtol relative to the larger of the two
 * (plus the differences' own rounding error).  Nodes within a step of a
 * kink (relu, abs, min, max changing side), and inputs where the value is
 * not finite on both sides, are skipped.  Scalar elementwise and custom
 * nodes and every element of tensor elementwise nodes are checked.  *first
 * gets the first disagreeing node (or the empty handle; first may be NULL),
 * and TG_ERR_CHECK is recorded naming it, its op, the input and both
 * numbers; with no disagreement nothing is recorded.  0 for a NULL graph
 * or a negative or NaN rtol (TG_ERR_ARG recorded). */
size_t tg_check_partials(tg_graph *g, double rtol, tg_node *first);

/* ------------------------------------------------- values and gradients */

double    tg_value(const tg_graph *g, tg_node n);        /* NaN for an empty, dead or tensor handle */
double    tg_grad(const tg_graph *g, tg_node n);         /* d out / d n of the last backward; NaN likewise */

/* Zero every adjoint, seed d out/d out = 1, sweep the tape from out down to
 * the first node.  out must be a scalar node (TG_ERR_SHAPE otherwise).  If
 * a leaf changed since the values were computed (tg_set_value,
 * tg_tensor_set, a write through tg_tensor_data), the tape is replayed
 * first, as tg_forward does, so the gradient is that of one point; a
 * replay error (a flipped branch, in checking mode a non-finite value) is
 * then this call's, in its name.  Refused (TG_ERR_STALE) while the last
 * replay has left a recorded branch, until the tape is re-recorded or
 * replayed back onto its branches. */
tg_status tg_backward(tg_graph *g, tg_node out);

/* Change a variable's value.  The variable changes at once; the nodes
 * computed from it keep their old values (tg_value reads them) until
 * tg_forward, or the next tg_backward, replays the tape.  A constant is
 * TG_ERR_ARG, a tensor TG_ERR_SHAPE. */
tg_status tg_set_value(tg_graph *g, tg_node leaf, double v);
/* Many at once: set variables x[0..n) to v[0..n) as tg_set_value does, all
 * or nothing (every handle is checked first: a bad one, in the message as
 * x[i], leaves every value as it was); and read the gradients of x[0..n)
 * into out as tg_grad does, NaN for a handle it refuses, returning TG_OK
 * or the first such handle's status (TG_ERR_HANDLE, TG_ERR_STALE, or
 * TG_ERR_SHAPE for a tensor; nothing is recorded: the graph is const).
 * NULL arrays with n > 0 are TG_ERR_ARG. */
tg_status tg_set_values(tg_graph *g, size_t n, const tg_node *x, const double *v);
tg_status tg_grads(const tg_graph *g, size_t n, const tg_node *x, double *out);  /* see tg_set_values */
/* Replay: recompute every value along the tape without re-recording.  Where
 * an op's derivative depends on a branch taken when it was recorded (relu's
 * side of 0), a flipped branch gives TG_ERR_STALE naming the node: the tape
 * then no longer describes the function at the new point.  The values are
 * recomputed all the same. */
tg_status tg_forward(tg_graph *g);

/* ------------------------------------ forward mode and second order */

/* Derivatives of the tape as recorded, at its current values (replayed
 * first when a leaf changed, as tg_backward does; refused while a replay
 * has left a flipped branch).  x are variables, scalar or tensor; y any
 * nodes, scalar or tensor (a variable may be both).  Their entries are
 * listed handle by handle, a scalar one entry, a tensor rows*cols
 * row-major: n handles of N entries in x, m handles of M entries in y.  A
 * handle listed twice counts twice (its seeds add up).
 *
 * Every call uses the same local partials as tg_backward; second order adds
 * each op's second partials, and a custom op's `second` callback (a custom
 * node without one between x and y, depending on x with y depending on
 * it, makes tg_hvp and tg_hessian fail with TG_ERR_ARG naming it).  relu, abs, min and max have
 * second derivative 0 away from their kinks.  The gradients a tg_backward
 * left are kept: these calls sweep arrays of their own, sized on the
 * first call and reused, so later calls of the same sizes allocate nothing.
 *
 * Errors, recorded on the graph and returned, in the call's name: an empty,
 * dead or foreign handle (TG_ERR_HANDLE, TG_ERR_STALE), a constant or an
 * op in x (TG_ERR_ARG), a NULL array with a non-zero count or an entry
 * count that overflows (TG_ERR_ARG), a tensor y for tg_hvp and tg_hessian
 * (TG_ERR_SHAPE), no memory (TG_ERR_NOMEM).  Output arrays are written only
 * on success.  Checking mode does not apply: non-finite entries are
 * returned as computed.
 *
 * Float64 tensors only: a float32 tensor (tensor.h) recorded up to the
 * last node of x and y makes every call fail with TG_ERR_ARG before
 * anything is computed, naming the first such node: "tg_jvp: node 1 'A'
 * (tensor var) is float32; forward mode and second order take float64
 * tensors only".  Convert to float64 with tg_convert before recording, or
 * use tg_backward, which takes both dtypes. */

/* Forward mode: jv (M) = J v, the derivative of y along v (N), by one
 * tangent sweep (a few times the cost of a replay). */
tg_status tg_jvp(tg_graph *g, size_t n, const tg_node *x, const double *v,
                 size_t m, const tg_node *y, double *jv);
/* Reverse mode with seeds: wj (N) = w^T J, w (M), by one reverse sweep. */
tg_status tg_vjp(tg_graph *g, size_t m, const tg_node *y, const double *w,
                 size_t n, const tg_node *x, double *wj);
/* The M x N Jacobian dy/dx into jac, row-major: M reverse sweeps when
 * M <= N, else N tangent sweeps. */
tg_status tg_jacobian(tg_graph *g, size_t m, const tg_node *y,
                      size_t n, const tg_node *x, double *jac);
/* Hessian-vector product of a scalar y: hv (N) = H v, by one tangent sweep
 * along v and one reverse sweep carrying the adjoints' tangents (forward
 * over reverse: a few times the cost of a gradient, whatever N). */
tg_status tg_hvp(tg_graph *g, tg_node y, size_t n, const tg_node *x,
                 const double *v, double *hv);
/* The N x N Hessian of a scalar y into hess, row-major, by N Hessian-vector
 * products; each pair (i, j), (j, i) is their mean, so hess is symmetric
 * to the last bit. */
tg_status tg_hessian(tg_graph *g, tg_node y, size_t n, const tg_node *x, double *hess);

/* ------------------------------------------------------- many points */

/* Evaluate the recorded tape at k points.  xs holds k rows of n values, one
 * per scalar variable x[0..n); ys gets the k values of y; grads (NULL:
 * values only) k rows of n gradients dy/dx; flipped (may be NULL) k flags,
 * 1 where that point crossed a branch recorded on the tape (relu, abs, min,
 * max: its numbers are then those of the recorded branches).  The graph's
 * own values and gradients are left as they were; outputs are written only
 * on success.
 *
 * Each point gets, bit for bit, what tg_set_value on x, tg_forward and
 * tg_backward(g, y) give (variables not in x keep their values; a
 * variable listed twice takes its last column).  Points are evaluated
 * LANES at a time side by side, and large batches on several threads.
 * Only nodes up to y are evaluated, so only their branches are flagged.
 * Errors as tg_backward's, in this call's name, plus: a tensor y, a tensor
 * or non-variable in x, or a tensor node before y (TG_ERR_SHAPE or
 * TG_ERR_ARG), NULL arrays with non-zero counts, k * n overflowing
 * (TG_ERR_ARG), no memory for its lanes (TG_ERR_NOMEM; they are kept for the
 * next call). */
tg_status tg_eval_batch(tg_graph *g, tg_node y, size_t n, const tg_node *x,
                        size_t k, const double *xs, double *ys, double *grads,
                        unsigned char *flipped);

/* -------------------------------------------------------- inspection */

/* For stepping through a tape by hand: the node recorded at position i
 * (0 <= i < tg_graph_size), or the empty handle. */
tg_node     tg_node_at(const tg_graph *g, size_t i);
/* The op's name, an identifier ("var", "const", "add", "mul", "exp", ...,
 * "matmul", "softmax_cross_entropy"); a tensor leaf is "var" or "const" too
 * (tg_is_tensor tells).  A constant string; "" on a bad handle. */
const char *tg_node_op(const tg_graph *g, tg_node n);
/* The node's variable name, or NULL.  Owned by g, valid until the node is dropped. */
const char *tg_node_name(const tg_graph *g, tg_node n);
/* How many inputs it has (0 for a leaf, up to TG_CUSTOM_MAX_ARITY for a
 * custom op), and input k of them (the empty handle past the last). */
size_t      tg_node_arity(const tg_graph *g, tg_node n);
tg_node     tg_node_input(const tg_graph *g, tg_node n, size_t k);  /* see tg_node_arity */
/* Its first inputs: writes up to 2 handles to in[] and returns how many
 * (0 for a leaf; a custom op with more inputs gives its first two). */
int         tg_node_inputs(const tg_graph *g, tg_node n, tg_node in[2]);
/* The local derivatives d n / d input[k] at the current values, as the
 * backward sweep uses them; returns how many were written (scalar nodes
 * only; up to 2, a custom op's first two). */
int         tg_node_partials(const tg_graph *g, tg_node n, double d[2]);

/* -------------------------------------------------------- drawing */

/* Nodes recorded between begin and end are drawn in one box with label
 * (the book's "Sigmoid layer").  Groups nest; label is copied. */
tg_status tg_group_begin(tg_graph *g, const char *label);
tg_status tg_group_end(tg_graph *g);                     /* closes the innermost group */

/* Write the graph in Graphviz DOT: one node per tape entry with its op and
 * value, variable names as labels, forward values on the edges and, after a
 * backward, gradients under them. */
tg_status tg_graph_write_dot(tg_graph *g, FILE *f);


/* ------------------------------------------------- the inline fast path */

/* tg_var and tg_const without a name, tg_add, tg_sub, tg_mul, tg_div,
 * tg_neg, tg_recip, tg_exp, tg_tanh and tg_sigmoid are also defined here
 * as inline functions (under macros of the same names), so that a program
 * records them without a call, the way stdio's getc reads a buffer;
 * tg_value and tg_grad likewise read a live scalar node, and tg_graph_mark
 * the tape's size.  When the inputs are live scalar nodes of the current
 * generation (or parameters recorded before the first rewind), the tape
 * has room and checking mode is off, the node is appended in the caller's
 * code; anything else calls the library, which checks, records errors and
 * grows the tape as described above.  The tape
 * and the handles are the same either way, bit for bit, as long as the
 * program's exp and tanh are the C library's (a program built with
 * -ffast-math may get others, which can differ from a replay's in the last
 * bit: define TG_NO_INLINE there).
 *
 * The builders read the first fields of the graph, struct tg__tape_v1: a
 * private layout, not for programs to touch.  Its version is in its name
 * and in the names of the library functions the builders call when they
 * cannot record inline (tg__v1_add, ...): a library with another layout
 * does not define them, so a program compiled against other headers fails
 * to link, or to run its first builder (a new graph's first node is always
 * recorded by the library), instead of misreading a graph.  The public
 * functions stay: &tg_add is the library's tg_add, and defining
 * TG_NO_INLINE before including this header makes every call go to the
 * library. */

/* The fields, also the first ones of the library's graph (lib/engine/graph.h). */
#define TG__TAPE_V1_FIELDS                                                      \
    size_t n;            /* nodes on the tape */                                \
    size_t fast_cap;     /* the tape's capacity, 0 in checking mode */          \
    uint8_t *op;         /* op codes; 0x80 set on a tensor's */                 \
    uint32_t *a, *b;     /* input ids */                                        \
    double *val, *grad;  /* values, adjoints */                                 \
    size_t lead;         /* nodes [0, lead) are leaves */                       \
    size_t ntens;        /* tensor records: 0 when no node is a tensor */       \
    uint32_t gen;        /* the current generation */                           \
    uint32_t gen0;       /* the graph's first generation */                     \
    uint32_t low_mark;   /* nodes below it recorded in gen0 are alive */
struct tg__tape_v1 { TG__TAPE_V1_FIELDS };

/* The op codes the inline builders record (the library checks them). */
enum {
    TG__OP_VAR = 0, TG__OP_CONST = 1, TG__OP_ADD = 2, TG__OP_SUB = 3, TG__OP_MUL = 4,
    TG__OP_DIV = 5, TG__OP_NEG = 6, TG__OP_EXP = 7, TG__OP_RECIP = 8, TG__OP_TANH = 12,
    TG__OP_SIGMOID = 13, TG__OP_TENSOR = 0x80
};

/* The builders of layout 1, for the inline ones: the public ones under
 * their versioned names. */
tg_node tg__v1_leaf(tg_graph *g, unsigned code, const char *name, double value);  /* tg_var, tg_const */
tg_node tg__v1_add(tg_graph *g, tg_node a, tg_node b);    /* tg_add */
tg_node tg__v1_sub(tg_graph *g, tg_node a, tg_node b);    /* tg_sub */
tg_node tg__v1_mul(tg_graph *g, tg_node a, tg_node b);    /* tg_mul */
tg_node tg__v1_div(tg_graph *g, tg_node a, tg_node b);    /* tg_div */
tg_node tg__v1_neg(tg_graph *g, tg_node a, tg_node b);    /* tg_neg(g, a); b is a again */
tg_node tg__v1_recip(tg_graph *g, tg_node a, tg_node b);  /* tg_recip(g, a); b is a again */
tg_node tg__v1_exp(tg_graph *g, tg_node a, tg_node b);    /* tg_exp(g, a); b is a again */
tg_node tg__v1_tanh(tg_graph *g, tg_node a, tg_node b);   /* tg_tanh(g, a); b is a again */
tg_node tg__v1_sigmoid(tg_graph *g, tg_node a, tg_node b);  /* tg_sigmoid(g, a); b is a again */
double tg__v1_value(const tg_graph *g, tg_node n);        /* tg_value */
double tg__v1_grad(const tg_graph *g, tg_node n);         /* tg_grad */
size_t tg__v1_mark(const tg_graph *g);                    /* tg_graph_mark */

/* sigmoid(x), the one definition the library and the inline builder
 * share: 1/(1+e) for x >= 0 and e/(1+e) below, e = exp(-|x|), so that it
 * never overflows; the numerator is selected, not branched to, as the
 * sign of x is seldom predictable. */
static inline double tg__sigmoid_value(double x)
{
    union { double d; uint64_t u; } e, one, num;
    e.d = exp(-fabs(x));
    one.d = 1.0;
    uint64_t pos = (uint64_t)0 - (uint64_t)(x >= 0);  /* all ones for x >= 0 */
    num.u = (one.u & pos) | (e.u & ~pos);
    return num.d / (1.0 + e.d);
}

#if defined(__GNUC__) && !defined(TG_NO_INLINE)

/* Whether h names a live node: the library's own first test. */
static inline int tg__tape_live(const struct tg__tape_v1 *t, tg_node h)
{
    return (h.gen == t->gen && h.id < t->n) || (h.gen == t->gen0 && h.id < t->low_mark);
}

/* Whether op(a, b) can be recorded inline. */
static inline int tg__tape_fits(const struct tg__tape_v1 *t, tg_node a, tg_node b)
{
    return t->n < t->fast_cap && tg__tape_live(t, a) && tg__tape_live(t, b) &&
           (t->ntens == 0 || !((t->op[a.id] | t->op[b.id]) & TG__OP_TENSOR));
}

/* Append a node with room known: every field is loaded before the first
 * store, as a store through op (a char type) could change any of them. */
static inline tg_node tg__tape_push(struct tg__tape_v1 *t, unsigned code, uint32_t a, uint32_t b,
                                    double v)
{
    tg_node h;
    uint8_t *op = t->op;
    uint32_t *as = t->a, *bs = t->b;
    double *val = t->val, *grad = t->grad;
    h.id = (uint32_t)t->n;
    h.gen = t->gen;
    t->n = h.id + 1u;
    as[h.id] = a;
    bs[h.id] = b;
    val[h.id] = v;
    grad[h.id] = 0.0;
    op[h.id] = (uint8_t)code;
    return h;
}

static inline tg_node tg__inline_leaf(tg_graph *g, unsigned code, const char *name, double v)
{
    struct tg__tape_v1 *t = (struct tg__tape_v1 *)(void *)g;
    if (__builtin_expect(g && !name && t->n < t->fast_cap, 1)) {
        tg_node h = tg__tape_push(t, code, 0, 0, v);
        if (h.id == t->lead) t->lead = h.id + 1u;
        return h;
    }
    return tg__v1_leaf(g, code, name, v);
}

/* tg_value and tg_grad: a live node that is not a tensor is read here. */
static inline double tg__inline_value(const tg_graph *g, tg_node n)
{
    const struct tg__tape_v1 *t = (const struct tg__tape_v1 *)(const void *)g;
    if (__builtin_expect(g && tg__tape_live(t, n) && !(t->op[n.id] & TG__OP_TENSOR), 1))
        return t->val[n.id];
    return tg__v1_value(g, n);
}
static inline double tg__inline_grad(const tg_graph *g, tg_node n)
{
    const struct tg__tape_v1 *t = (const struct tg__tape_v1 *)(const void *)g;
    if (__builtin_expect(g && tg__tape_live(t, n) && !(t->op[n.id] & TG__OP_TENSOR), 1))
        return t->grad[n.id];
    return tg__v1_grad(g, n);
}

static inline size_t tg__inline_mark(const tg_graph *g)
{
    return g ? ((const struct tg__tape_v1 *)(const void *)g)->n : tg__v1_mark(g);
}

/* One inline builder: op(a, b) = expr of x = a's value, y = b's. */
#define TG__INLINE_OP(name, code, expr)                                         \
    static inline tg_node tg__inline_##name(tg_graph *g, tg_node a, tg_node b)  \
    {                                                                           \
        struct tg__tape_v1 *t = (struct tg__tape_v1 *)(void *)g;                \
        if (__builtin_expect(g && tg__tape_fits(t, a, b), 1)) {                 \
            double x = t->val[a.id], y = t->val[b.id];                          \
            (void)y;                                                            \
            return tg__tape_push(t, code, a.id, b.id, expr);                    \
        }                                                                       \
        return tg__v1_##name(g, a, b);                                          \
    }
TG__INLINE_OP(add, TG__OP_ADD, x + y)
TG__INLINE_OP(sub, TG__OP_SUB, x - y)
TG__INLINE_OP(mul, TG__OP_MUL, x * y)
TG__INLINE_OP(div, TG__OP_DIV, x / y)
TG__INLINE_OP(neg, TG__OP_NEG, -x)
TG__INLINE_OP(recip, TG__OP_RECIP, 1.0 / x)
TG__INLINE_OP(exp, TG__OP_EXP, exp(x))
TG__INLINE_OP(tanh, TG__OP_TANH, tanh(x))
TG__INLINE_OP(sigmoid, TG__OP_SIGMOID, tg__sigmoid_value(x))
#undef TG__INLINE_OP
/* The unary ones take their operand once (a macro must not repeat it). */
static inline tg_node tg__inline_unary_neg(tg_graph *g, tg_node a) { return tg__inline_neg(g, a, a); }
static inline tg_node tg__inline_unary_recip(tg_graph *g, tg_node a) { return tg__inline_recip(g, a, a); }
static inline tg_node tg__inline_unary_exp(tg_graph *g, tg_node a) { return tg__inline_exp(g, a, a); }
static inline tg_node tg__inline_unary_tanh(tg_graph *g, tg_node a) { return tg__inline_tanh(g, a, a); }
static inline tg_node tg__inline_unary_sigmoid(tg_graph *g, tg_node a) { return tg__inline_sigmoid(g, a, a); }

#define tg_var(g, name, value) tg__inline_leaf((g), TG__OP_VAR, (name), (value))
#define tg_const(g, value)     tg__inline_leaf((g), TG__OP_CONST, NULL, (value))
#define tg_add(g, a, b)        tg__inline_add((g), (a), (b))
#define tg_sub(g, a, b)        tg__inline_sub((g), (a), (b))
#define tg_mul(g, a, b)        tg__inline_mul((g), (a), (b))
#define tg_div(g, a, b)        tg__inline_div((g), (a), (b))
#define tg_neg(g, a)           tg__inline_unary_neg((g), (a))
#define tg_recip(g, a)         tg__inline_unary_recip((g), (a))
#define tg_exp(g, a)           tg__inline_unary_exp((g), (a))
#define tg_tanh(g, a)          tg__inline_unary_tanh((g), (a))
#define tg_sigmoid(g, a)       tg__inline_unary_sigmoid((g), (a))
#define tg_value(g, n)         tg__inline_value((g), (n))
#define tg_grad(g, n)          tg__inline_grad((g), (n))
#define tg_graph_mark(g)       tg__inline_mark((g))
#endif

#ifdef __cplusplus
}
#endif

#include "tensor.h"
#include "expr.h"

#endif
