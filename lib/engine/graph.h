/*
 * The graph's storage, shared by the library's files and by no one else.
 *
 * The tape is a struct of arrays indexed by node id: op code, two input
 * ids, value and adjoint (25 bytes a node), and two bit sets.  Each field
 * has one meaning: a and b are the inputs (a unary op repeats a in b, a
 * leaf holds 0 in both); val is a scalar node's value (0 for a tensor,
 * whose numbers live in its tensor record); the op code is the op, with
 * TENSOR_CODE set when the tensor layer computes the node.
 */
#ifndef TG_GRAPH_H
#define TG_GRAPH_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tapegrad/tapegrad.h"
#include "tapegrad/tensor.h"
#include "op.h"

typedef struct tensor_rec {
    uint32_t node;     /* the node it belongs to */
    uint32_t rows, cols;
    uint8_t dtype;     /* tg_dtype: the type of its elements */
    uint8_t flags;     /* matmul: TG_TRANS_* */
    size_t off;        /* first slot in tval / tgrad (see tg__slots) */
    size_t extra;      /* elements owned past rows*cols: a branch op (relu) keeps
                          the sides of its kink it was recorded on (tensor.c) */
} tensor_rec;

/* The arenas tval and tgrad are arrays of doubles; a float32 record's
 * elements are floats packed two to a slot from its off.  The slots that
 * count elements of dtype take: */
static inline size_t tg__slots(uint8_t dtype, size_t count)
{
    return dtype == TG_F32 ? count / 2 + count % 2 : count;
}

typedef struct group_rec {
    uint32_t first, end;  /* nodes [first, end); end == UINT32_MAX while open */
    uint32_t parent;      /* enclosing group + 1, 0 at top level */
    char *label;
    size_t label_cap;
} group_rec;

/* A rewind to `mark` ended generation `gen`.  Kept as a stack of
 * increasing marks: a node recorded in generation e is alive while it lies
 * below the mark of the first entry whose generation is >= e.  This
 * replaces a per-node generation (4 bytes a node) by a few entries per
 * graph. */
typedef struct rewind_rec {
    uint32_t gen, mark;
} rewind_rec;

/* A run of generations taken from the process-wide counter (graph.c):
 * [lo, lo + len).  A graph's runs double in length, so 32 hold every
 * generation a process can hand out. */
typedef struct gen_run {
    uint32_t lo, len;
} gen_run;
enum { GEN_RUNS = 32 };

/* A user-defined op as the graph keeps it: the caller's struct, copied,
 * with its name copied too. */
typedef struct custom_def {
    tg_custom_op op;   /* op.name is `name` */
    char *name;
    bool registered;   /* tg_custom_register: found by name (tg_custom_lookup) */
} custom_def;

/* A custom node: its op and its inputs, cin[in .. in + arity). */
typedef struct custom_rec {
    uint32_t node, def;
    size_t in;
} custom_rec;

struct name_table;

struct tg_graph {
    /* First, the fields the public header's inline builders read and write
     * (struct tg__tape_v1, tapegrad.h): the tape's size n, fast_cap (cap,
     * or 0 to send every builder down its slow path: checking mode), the
     * node arrays op, a, b, val, grad, lead and ntens (below), the current
     * generation gen, the first one gen0 (runs[0].lo) and low_mark (below).
     * A union, so that the library reads them by name. */
    union {
        struct tg__tape_v1 tape;
        struct { TG__TAPE_V1_FIELDS };
    };
    tg_allocator mem;

    /* the tape */
    size_t cap;
    uint64_t *touched;     /* backward: the nodes kernels flowed into, or the path (sweep.c) */
    uint64_t *branch;      /* bit i: the side of its kink a branch op was recorded on */

    /* generations: every handle carries the one its node was recorded in
     * (gen, the current one, is in the tape's fields above) */
    gen_run runs[GEN_RUNS];/* the generations this graph owns, increasing */
    uint32_t nruns;
    rewind_rec *rew;       /* the rewind stack, see rewind_rec */
    size_t nrew, rew_cap;
    /* low_mark, above: the lowest mark ever rewound to (rew[0]), or UINT32_MAX */

    /* lead, above: nodes [0, lead) are all leaves (parameters recorded first) */
    size_t dirty;          /* adjoints [0, dirty) may be non-zero: those a backward left */
    size_t stale_at;       /* 1 + node whose branch a replay flipped, or 0 */
    bool values_old;       /* a leaf changed after nodes computed from it: sweeps replay first */
    uint32_t changed_leaf; /* the lowest leaf changed since, while values_old */

    /* tensors: records in node order, element storage in two arenas */
    tensor_rec *tens;      /* ntens of them (above) */
    size_t tens_cap;
    double *tval, *tgrad;  /* slots; a float32 record's are read as floats */
    size_t ttop, tcap;

    /* user-defined ops: their definitions (kept until the graph is freed),
     * and a record per custom node in node order */
    custom_def *cdefs;
    size_t ncdefs, cdefs_cap;
    custom_rec *crecs;
    size_t ncrecs, crecs_cap;
    uint32_t *cin;
    size_t ncin, cin_cap;

    /* forward mode and second order (deriv.c): the tangents of the values,
     * and a seeded reverse sweep's adjoints and their tangents, in arrays
     * of their own so that the gradients a tg_backward left stay.  Sized
     * on first use and kept: calls of the same sizes allocate nothing. */
    double *dtan, *dadj, *dtadj;   /* a scalar node's, by id */
    uint64_t *dtouched;            /* touched, for the seeded sweeps */
    size_t dcap;                   /* nodes they hold */
    double *ttan, *tadj, *ttadj;   /* a tensor's, at its record's off */
    size_t tdcap;                  /* elements they hold */
    double *dseed;                 /* unit seeds and a column (tg_jacobian, tg_hessian) */
    size_t dscap;
    char *bmem;                    /* tg_eval_batch's lanes (batch.c), bcap bytes */
    size_t bcap;

    /* the constants -1 and 1 that tg_sigmoid_decomposed shares (composed.c) */
    tg_node minus_one, one;

    /* names and groups */
    struct name_table *names;
    group_rec *groups;
    size_t ngroups, groups_cap, open_group;  /* open_group: index + 1, or 0 */

    bool checking;
    tg_status status;
    char errmsg[256];
};

/* ----- memory through the graph's allocator */
tg_allocator tg__std_allocator(void);  /* the C library's */
void *tg__realloc(tg_graph *g, void *p, size_t size);
void  tg__free(tg_graph *g, void *p);
/* Grow *arr (of elem-size items, *cap of them) to hold need; 0 or -1. */
int   tg__grow(tg_graph *g, void **arr, size_t *cap, size_t need, size_t elem);

/* ----- errors: record the first one; returns status for chaining */
tg_status tg__fail(tg_graph *g, tg_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* "node 7 (mul)" or "node 3 'apple' (var)" into buf. */
const char *tg__describe(const tg_graph *g, uint32_t id, char *buf, size_t len);

/* ----- handles */
tg_node tg__handle_old(const tg_graph *g, uint32_t id);
bool tg__live_old(const tg_graph *g, tg_node h);
/* The handle of live node id. */
static inline tg_node tg__handle(const tg_graph *g, uint32_t id)
{
    if (g->nrew == 0 || id >= g->rew[g->nrew - 1].mark) {
        tg_node h = { id, g->gen };
        return h;
    }
    return tg__handle_old(g, id);
}
/* tg__live's common cases, a compare or two and no call: a node of the
 * current generation, or one below every mark ever rewound to (a
 * network's parameters) whose handle carries the graph's first generation.
 * false means "ask tg__live_old". */
static inline bool tg__live_fast(const tg_graph *g, tg_node h)
{
    return (h.gen == g->gen && h.id < g->n) || (h.gen == g->gen0 && h.id < g->low_mark);
}
/* Whether h names a live node of g. */
static inline bool tg__live(const tg_graph *g, tg_node h)
{
    return tg__live_fast(g, h) || tg__live_old(g, h);
}
/* Validate input `arg` of function `fn`: 1 live, 0 empty (TG_ERR_HANDLE
 * recorded unless an error stands already), -1 invalid (error recorded). */
int tg__check_slow(tg_graph *g, const char *fn, const char *arg, tg_node h);
static inline int tg__check(tg_graph *g, const char *fn, const char *arg, tg_node h)
{
    return tg__live(g, h) ? 1 : tg__check_slow(g, fn, arg, h);
}
/* The same without recording (for const accessors). */
tg_status tg__classify(const tg_graph *g, tg_node h);

/* ----- recording: append a node (value computed by the caller) and
 * return its id.  Inline: it is most of the cost of recording. */
/* With room on the tape known. */
static inline uint32_t tg__append(tg_graph *g, uint8_t code, uint32_t a, uint32_t b, double v)
{
    /* Load everything first: a store through op[] (a char type) would
     * otherwise make the compiler reload each field of g. */
    uint32_t id = (uint32_t)g->n;
    uint8_t *ops = g->op;
    uint32_t *as = g->a, *bs = g->b;
    double *vals = g->val, *grads = g->grad;
    g->n = id + 1u;
    as[id] = a;
    bs[id] = b;
    vals[id] = v;
    grads[id] = 0.0;
    ops[id] = code;
    return id;
}
/* Growing the tape when full: UINT32_MAX after recording TG_ERR_NOMEM in
 * fn's name. */
int tg__grow_tape(tg_graph *g, const char *fn);
/* After appending leaf id. */
static inline void tg__leaf_recorded(tg_graph *g, uint32_t id)
{
    if (id == g->lead) g->lead = id + 1u;
}
static inline uint32_t tg__push(tg_graph *g, const char *fn, uint8_t code, uint32_t a, uint32_t b, double v)
{
    if (__builtin_expect(g->n == g->cap, 0) && tg__grow_tape(g, fn) != 0) return UINT32_MAX;
    return tg__append(g, code, a, b, v);
}
/* Drop nodes [mark, n) that were never handed out (a composed op that
 * failed part way): no generation changes and nothing is allocated. */
void tg__truncate(tg_graph *g, size_t mark);
/* Whether any number of node id is not finite: its values, or with
 * grads its adjoints; scalar or tensor. */
bool tg__nonfinite(const tg_graph *g, uint32_t id, bool grads);
/* Checking mode: after computing node id; records TG_ERR_DOMAIN and
 * returns false when a value is not finite. */
bool tg__check_finite(tg_graph *g, const char *fn, uint32_t id);
/* The handle a builder returns for node id (empty for UINT32_MAX, a
 * failed push), after checking mode has looked at its value. */
static inline tg_node tg__finish(tg_graph *g, const char *fn, uint32_t id)
{
    if (id == UINT32_MAX) return TG_NONE;
    if (g->checking) tg__check_finite(g, fn, id);
    return tg__handle(g, id);
}

/* ----- op codes */
static inline tg_op tg__op(const tg_graph *g, uint32_t id)
{
    return (tg_op)(g->op[id] & OP_MASK);
}
static inline const op_info *tg__info(const tg_graph *g, uint32_t id)
{
    return &op_table[g->op[id] & OP_MASK];
}
static inline bool tg__is_leaf(const tg_graph *g, uint32_t id)
{
    return op_table[g->op[id] & OP_MASK].kind == OPK_LEAF;
}
/* Branch bits (graph.h's `branch`). */
static inline void tg__set_branch(tg_graph *g, uint32_t id, bool side)
{
    uint64_t bit = 1ull << (id & 63);
    g->branch[id >> 6] = side ? g->branch[id >> 6] | bit : g->branch[id >> 6] & ~bit;
}
static inline bool tg__branch(const tg_graph *g, uint32_t id)
{
    return g->branch[id >> 6] >> (id & 63) & 1;
}

/* ----- tensors (tensor.c) */
/* Whether node id's value is a tensor (not a scalar computed by a kernel). */
static inline bool tg__is_tensor(const tg_graph *g, uint32_t id)
{
    return (g->op[id] & TENSOR_CODE) && op_table[g->op[id] & OP_MASK].kind != OPK_REDUCE;
}
/* The tensor record of node id, which must have one: a tensor, or the
 * cross-entropy, whose record's elements are its softmax. */
tensor_rec *tg__trec(const tg_graph *g, uint32_t id);
/* Record an elementwise op on tensor operands (b == a for unary). */
tg_node tg__tensor_elementwise(tg_graph *g, const char *fn, tg_op op, uint32_t a, uint32_t b);
/* Whether a and b have one dtype and broadcast together; records
 * TG_ERR_ARG or TG_ERR_SHAPE when not. */
bool tg__shapes_fit(tg_graph *g, const char *fn, uint32_t a, uint32_t b);
/* The kernels, for the sweeps (tensor_kernels.c).  Forward recomputes
 * node id and returns false when a recorded branch (relu) flipped;
 * backward adds its adjoint's contributions into its inputs'. */
bool tg__tensor_forward(tg_graph *g, uint32_t id);
/* A branch op (relu, abs, min, max): record each element's side of its
 * kink, which tg__tensor_forward compares with on replay. */
void tg__tensor_record_sides(tg_graph *g, uint32_t id);
void tg__tensor_backward(tg_graph *g, uint32_t id);
/* Drop tensor records of nodes >= mark. */
void tg__tensor_rewind(tg_graph *g, size_t mark);

/* ----- custom ops (custom.c) */
/* The record of custom node id. */
const custom_rec *tg__crec(const tg_graph *g, uint32_t id);
/* Its value from its inputs' values, and its partials into d[arity]. */
double tg__custom_value(const tg_graph *g, uint32_t id);
void tg__custom_partials(const tg_graph *g, uint32_t id, double *d);
/* The backward step of custom node id: its adjoint times its partials. */
void tg__custom_backward(tg_graph *g, uint32_t id);
void tg__custom_rewind(tg_graph *g, size_t mark);
void tg__custom_free(tg_graph *g);

/* ----- any node's inputs, custom ones included */
static inline uint32_t tg__arity(const tg_graph *g, uint32_t id)
{
    if (__builtin_expect((g->op[id] & OP_MASK) == OP_CUSTOM, 0))
        return g->cdefs[tg__crec(g, id)->def].op.arity;
    return op_table[g->op[id] & OP_MASK].arity;
}
static inline uint32_t tg__input(const tg_graph *g, uint32_t id, uint32_t k)
{
    if (__builtin_expect((g->op[id] & OP_MASK) == OP_CUSTOM, 0))
        return g->cin[tg__crec(g, id)->in + k];
    return k == 0 ? g->a[id] : g->b[id];
}
/* The op's name: its row's, or a custom op's own. */
static inline const char *tg__op_name(const tg_graph *g, uint32_t id)
{
    if ((g->op[id] & OP_MASK) == OP_CUSTOM) return g->cdefs[tg__crec(g, id)->def].name;
    return op_table[g->op[id] & OP_MASK].name;
}

/* ----- forward mode and second order (deriv.c, tensor/tensor_tangents.c) */
/* The reverse sweep from node `from` down to 0, as tg_backward runs it
 * after seeding (sweep.c); touched and the adjoints must be zeroed. */
void tg__sweep(tg_graph *g, uint32_t from);
/* Tensor node id's tangent from its inputs' (dtan, ttan). */
void tg__tensor_tangent(tg_graph *g, uint32_t id);
/* Tensor node id's reverse step with tangents: its adjoint into its
 * inputs' adjoints (grad, tgrad), and the tangent of that into dtadj,
 * ttadj.  touch() of its inputs is the caller's. */
void tg__tensor_backward2(tg_graph *g, uint32_t id);
/* The same for custom node id; false, with nothing done, when its op has
 * no second partials and they would be needed. */
void tg__custom_tangent(tg_graph *g, uint32_t id);
bool tg__custom_backward2(tg_graph *g, uint32_t id);
void tg__deriv_free(tg_graph *g);

/* ----- values that a leaf change left behind (sweep.c) */
/* Leaf id was just given a new value. */
void tg__leaf_changed(tg_graph *g, uint32_t id);
/* Replay if a leaf changed since values were computed; the status of the
 * replay (recorded in fn's name), or TG_OK. */
tg_status tg__refresh(tg_graph *g, const char *fn);

/* ----- names (names.c: the only file that includes uthash) */
tg_status   tg__name_add(tg_graph *g, const char *fn, const char *name, uint32_t id);
uint32_t    tg__name_find(const tg_graph *g, const char *name);  /* UINT32_MAX if none */
const char *tg__name_of(const tg_graph *g, uint32_t id);         /* NULL if none */
void        tg__names_rewind(tg_graph *g, size_t mark);
void        tg__names_free(tg_graph *g);

/* ----- groups (groups.c) */
void tg__groups_rewind(tg_graph *g, size_t mark);
void tg__groups_free(tg_graph *g);

#endif
