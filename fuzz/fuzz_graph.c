/*
 * libFuzzer harness: the graph API driven by bytes.
 *
 * The input is a program: a header choosing an allocation to fail, then
 * one opcode byte per call (record scalars and small tensors, every op,
 * user-defined ops of 1 to 8 inputs, mark, rewind, set values, replay,
 * backward, checking mode, groups, inspection, DOT, tg_check_partials,
 * tg_jvp, tg_vjp, tg_jacobian, tg_hvp and tg_hessian),
 * its operands read from the following bytes.  Operand
 * handles come from a pool of handles the program received, or are the
 * empty handle, a node of another graph, or forged.
 *
 * Besides the sanitizers, a model of the program checks the library:
 *   - liveness: a handle is live exactly until a rewind below its id;
 *     tg_node_op is "" for dead handles and not for live ones;
 *   - shapes: a builder succeeds or fails with TG_ERR_SHAPE exactly as
 *     the broadcasting and matmul rules say, and the result's shape and
 *     tensor-ness are those the rules give; a user-defined op is scalar
 *     and refuses a tensor input;
 *   - rewind leaves the tape at the mark;
 *   - every block allocated is freed by tg_graph_free;
 *   - after the program, with the error cleared, a small probe graph
 *     recorded on the graph gives bit for bit what a fresh graph gives.
 * A violation aborts, which libFuzzer reports as a crash.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "fuzz_graph: check failed: %s: ", #cond);       \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
            abort();                                                        \
        }                                                                   \
    } while (0)

/* ------------------------------------------------------------ input */

typedef struct input { const uint8_t *p; size_t n, i; } input;

static uint8_t u8(input *in) { return in->i < in->n ? in->p[in->i++] : 0; }
static uint32_t u32(input *in)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v = v << 8 | u8(in);
    return v;
}
static bool more(const input *in) { return in->i < in->n; }

static double value(input *in)
{
    static const double table[] = {
        0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -2.5, 1000.0, -1000.0, 710.0, 1e308, -1e308,
        5e-324, 1e-300, INFINITY, -INFINITY, NAN, 0.1, 100.0,
    };
    uint8_t b = u8(in);
    if (b < 200) return table[b % (sizeof table / sizeof table[0])];
    uint64_t bits = (uint64_t)u32(in) << 32 | u32(in);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static const char *name(input *in)
{
    static const char *const names[] = {
        NULL, NULL, "x", "y", "W1", "b1", "", "a name with spaces & <markup>",
        "a-long-name-that-fills-the-error-message-buffer-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    return names[u8(in) % (sizeof names / sizeof names[0])];
}

/* ------------------------------------------------------------ allocator */

typedef struct alloc_state {
    size_t calls, fail_at;
    bool fail_rest;
    long live;
} alloc_state;

typedef union head { size_t size; max_align_t align; } head;

static void *fz_realloc(void *ctx, void *p, size_t size)
{
    alloc_state *a = ctx;
    a->calls++;
    if (a->fail_at && (a->calls == a->fail_at || (a->fail_rest && a->calls > a->fail_at))) return NULL;
    if (size > ((size_t)1 << 24)) return NULL;   /* a small machine */
    head *h = p ? (head *)p - 1 : NULL;
    head *q = realloc(h, sizeof *q + size);
    if (!q) return NULL;
    if (!p) a->live++;
    q->size = size;
    return q + 1;
}

static void fz_free(void *ctx, void *p)
{
    alloc_state *a = ctx;
    if (!p) return;
    a->live--;
    free((head *)p - 1);
}

/* ------------------------------------------------------------ the model */

typedef struct ent {
    tg_node h;
    bool live;      /* by the model */
    bool known;     /* the model knows this handle (not a foreign one) */
    bool tensor;
    size_t r, c;
} ent;

enum { POOL = 64 };

typedef struct world {
    tg_graph *g, *other;
    ent pool[POOL];
    size_t npool;
    size_t marks[16];
    size_t nmarks;
    tg_node foreign[4];
    bool checking;          /* checking mode is on */
    bool may_fail;          /* an allocation failure is injected */
} world;

static void add(world *w, tg_node h, bool tensor, size_t r, size_t c)
{
    if (tg_is_none(h)) return;
    ent e = { h, true, true, tensor, r, c };
    if (w->npool < POOL) w->pool[w->npool++] = e;
    else w->pool[h.id % POOL] = e;
}

/* An operand: from the pool, or a special handle. */
static ent pick(world *w, input *in)
{
    uint8_t b = u8(in);
    ent e = { TG_NONE, false, true, false, 1, 1 };
    if (b < 0xF0 && w->npool) return w->pool[b % w->npool];
    switch (b & 3) {
    case 0: return e;                                         /* empty */
    case 1: e.h = w->foreign[u8(in) % 4]; e.known = false; return e;
    case 2: e.h = (tg_node){ 0x80000000u | u32(in), u32(in) }; return e;   /* id past any tape */
    default: e.h = (tg_node){ 1u + (u8(in) & 0x3F), 0 }; return e;         /* generation 0 is never issued */
    }
}

static bool is_invalid(const ent *e) { return !tg_is_none(e->h) && !(e->known && e->live); }

static bool fits_broadcast(size_t x, size_t y, size_t *out)
{
    if (x == y || y == 1) *out = x;
    else if (x == 1) *out = y;
    else return false;
    return true;
}

/* The model's verdict on a builder given operands a (and b). */
typedef struct verdict {
    int kind;         /* 0 none in, 1 invalid in, 2 unknown (foreign), 3 fits, 4 shape error */
    bool tensor;
    size_t r, c;
} verdict;

static verdict judge_inputs(const ent *a, const ent *b)
{
    verdict v = { 3, false, 1, 1 };
    const ent *ops[2] = { a, b };
    for (int k = 0; k < 2; k++) {
        const ent *e = ops[k];
        if (!e) continue;
        if (!e->known) v.kind = 2;
    }
    if (v.kind == 2) return v;
    for (int k = 0; k < 2; k++)
        if (ops[k] && is_invalid(ops[k])) { v.kind = 1; return v; }
    for (int k = 0; k < 2; k++)
        if (ops[k] && tg_is_none(ops[k]->h)) { v.kind = 0; return v; }
    return v;
}

/* A custom op's inputs are checked in order, each for its handle and then
 * for being a scalar: the first bad one decides the error. */
static verdict judge_custom(const ent *x, size_t n)
{
    verdict v = { 3, false, 1, 1 };
    for (size_t k = 0; k < n; k++)
        if (!x[k].known) { v.kind = 2; return v; }
    for (size_t k = 0; k < n; k++) {
        if (tg_is_none(x[k].h)) { v.kind = 0; return v; }
        if (is_invalid(&x[k])) { v.kind = 1; return v; }
        if (x[k].tensor) { v.kind = 4; return v; }
    }
    return v;
}

/* The user-defined op: y = sum_k (k + 1) sin(x_k), its arity in ctx. */
static const size_t custom_arity[TG_CUSTOM_MAX_ARITY] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static double custom_value(void *ctx, const double *x)
{
    size_t n = *(const size_t *)ctx;
    CHECK(n >= 1 && n <= TG_CUSTOM_MAX_ARITY, "custom op called with a ctx of arity %zu", n);
    double y = 0.0;
    for (size_t k = 0; k < n; k++) y += (double)(k + 1) * sin(x[k]);
    return y;
}

static void custom_partials(void *ctx, const double *x, double y, double *d)
{
    size_t n = *(const size_t *)ctx;
    (void)y;
    CHECK(n >= 1 && n <= TG_CUSTOM_MAX_ARITY, "custom partials called with a ctx of arity %zu", n);
    for (size_t k = 0; k < n; k++) d[k] = (double)(k + 1) * cos(x[k]);
}

/* ------------------------------------------------ forward mode, second order */

enum { FO_MAX_X = 4, FO_MAX_Y = 3, FO_CAP = 64 * 64 + 64 };
static double fo_out[FO_CAP + 16];
static const uint64_t FO_SENTINEL = 0x7ff4dead5eed0badULL;

static bool fo_untouched(size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (memcmp(&fo_out[i], &FO_SENTINEL, sizeof fo_out[i]) != 0) return false;
    return true;
}

/* Entries of the handles, or SIZE_MAX when one is not a live node of g. */
static size_t fo_entries(tg_graph *g, const tg_node *h, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t r, c;
        if (tg_shape(g, h[i], &r, &c) != TG_OK) return SIZE_MAX;
        total += r * c;
    }
    return total;
}

/* One of tg_jvp, tg_vjp, tg_jacobian, tg_hvp, tg_hessian on handles from
 * the pool: a failure writes nothing and leaves the tape; a success writes
 * exactly its entries, only for live variables in x, and a Hessian is
 * symmetric bit for bit. */
static void fo_call(world *w, input *in, uint8_t op, tg_status before, size_t n0)
{
    tg_graph *g = w->g;
    uint8_t sel = u8(in);
    int which = sel % 5;
    size_t n = 1 + (sel >> 3) % FO_MAX_X, m = 1 + (sel >> 5) % FO_MAX_Y;
    tg_node x[FO_MAX_X], y[FO_MAX_Y];
    for (size_t i = 0; i < n; i++) x[i] = pick(w, in).h;
    for (size_t i = 0; i < m; i++) y[i] = pick(w, in).h;
    double v[FO_CAP];
    for (size_t i = 0; i < 64; i++) v[i] = value(in);
    for (size_t i = 64; i < FO_CAP; i++) v[i] = v[i % 64];
    size_t N = fo_entries(g, x, n), M = fo_entries(g, y, which >= 3 ? 1 : m);
    size_t need = which == 0 ? M : which == 1 || which == 3 ? N : which == 2 ? M * N : N * N;
    if (N == SIZE_MAX || M == SIZE_MAX) need = 0;
    if (need > FO_CAP) return;   /* would need more than the buffer */
    for (size_t i = 0; i < FO_CAP + 16; i++) memcpy(&fo_out[i], &FO_SENTINEL, sizeof fo_out[i]);
    const double *vv = (op & 0x40) ? NULL : v;
    tg_status st = TG_OK;
    switch (which) {
    case 0: st = tg_jvp(g, n, x, vv, m, y, fo_out); break;
    case 1: st = tg_vjp(g, m, y, vv, n, x, fo_out); break;
    case 2: st = tg_jacobian(g, m, y, n, x, fo_out); break;
    case 3: st = tg_hvp(g, y[0], n, x, vv, fo_out); break;
    default: st = tg_hessian(g, y[0], n, x, fo_out); break;
    }
    CHECK(tg_graph_size(g) == n0, "call %d changed the tape", which);
    if (st != TG_OK) {
        CHECK(fo_untouched(0, FO_CAP + 16), "call %d failed with %d and wrote its output", which, (int)st);
        if (before == TG_OK)
            CHECK(tg_graph_status(g) == st, "call %d returned %d, recorded %d", which, (int)st,
                  (int)tg_graph_status(g));
        return;
    }
    CHECK(N != SIZE_MAX && M != SIZE_MAX, "call %d succeeded on a dead handle", which);
    CHECK(vv || which == 2 || which == 4, "call %d succeeded without its vector", which);
    for (size_t i = 0; i < n; i++)
        CHECK(strcmp(tg_node_op(g, x[i]), "var") == 0, "call %d succeeded with a %s in x", which,
              tg_node_op(g, x[i]));
    if (which >= 3) CHECK(!tg_is_tensor(g, y[0]), "call %d succeeded on a tensor output", which);
    CHECK(fo_untouched(need, FO_CAP + 16), "call %d wrote past its %zu entries", which, need);
    if (which == 4)
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < i; j++)
                CHECK(memcmp(&fo_out[i * N + j], &fo_out[j * N + i], sizeof(double)) == 0,
                      "Hessian not symmetric at %zu, %zu", i, j);
}

/* Compare the library's answer to the verdict. */
static void verify(world *w, const char *what, verdict v, tg_status before, size_t n0, tg_node got)
{
    tg_status after = tg_graph_status(w->g);
    if (v.kind == 2) {          /* a foreign operand: no prediction */
        size_t r, c;
        if (!tg_is_none(got) && tg_shape(w->g, got, &r, &c) == TG_OK)
            add(w, got, tg_is_tensor(w->g, got) != 0, r, c);
        return;
    }
    if (tg_is_none(got))      /* "A builder that fails records nothing on the tape." */
        CHECK(tg_graph_size(w->g) == n0, "%s failed but the tape went from %zu to %zu nodes", what, n0,
              tg_graph_size(w->g));
    if (v.kind == 0 || v.kind == 1) {   /* the empty handle is refused like the others */
        CHECK(tg_is_none(got), "%s: an empty or invalid operand gave a node", what);
        if (before == TG_OK)
            CHECK(after == TG_ERR_HANDLE || after == TG_ERR_STALE,
                  "%s: a bad operand recorded %d: %s", what, (int)after, tg_graph_errmsg(w->g));
        return;
    }
    if (v.kind == 4) {
        CHECK(tg_is_none(got), "%s: shapes that do not fit gave a node", what);
        if (before == TG_OK)
            CHECK(after == TG_ERR_SHAPE || after == TG_ERR_NOMEM, "%s: recorded %d: %s", what,
                  (int)after, tg_graph_errmsg(w->g));
        return;
    }
    /* fits: only memory can fail it; in checking mode a composed op may
     * first meet a non-finite value (recorded, and kept as the first
     * error) and then run out of memory */
    if (tg_is_none(got)) {
        CHECK(before != TG_OK || (w->may_fail && (after == TG_ERR_NOMEM || (w->checking && after == TG_ERR_DOMAIN))),
              "%s: fitting operands failed with %d: %s", what, (int)after, tg_graph_errmsg(w->g));
        return;
    }
    size_t r = 0, c = 0;
    CHECK(tg_shape(w->g, got, &r, &c) == TG_OK, "%s: no shape for a new node", what);
    CHECK(r == v.r && c == v.c, "%s: shape %zux%zu, the rules give %zux%zu", what, r, c, v.r, v.c);
    CHECK(tg_is_tensor(w->g, got) == (int)v.tensor, "%s: tensor-ness %d, expected %d", what,
          tg_is_tensor(w->g, got), (int)v.tensor);
    add(w, got, v.tensor, r, c);
}

/* Every handle the model holds: live exactly when the model says so. */
static void check_liveness(world *w)
{
    for (size_t i = 0; i < w->npool; i++) {
        const ent *e = &w->pool[i];
        if (!e->known) continue;
        bool live = tg_node_op(w->g, e->h)[0] != '\0';
        CHECK(live == e->live, "handle {%u,%u}: library says %s, model says %s", e->h.id, e->h.gen,
              live ? "live" : "dead", e->live ? "live" : "dead");
        if (live) {
            size_t r, c;
            CHECK(tg_shape(w->g, e->h, &r, &c) == TG_OK && r == e->r && c == e->c,
                  "handle {%u,%u}: shape changed", e->h.id, e->h.gen);
        }
    }
}

/* ------------------------------------------------------------ the probe */

typedef struct probe { double f, dx, dy; } probe;

static probe run_probe(tg_graph *g)
{
    probe p;
    tg_node x = tg_var(g, NULL, 1.5), y = tg_var(g, NULL, -0.75);
    const double tv[6] = { 1, -2, 3, 0.5, 0.25, -1 };
    tg_node t = tg_tensor_var(g, NULL, 2, 3, tv);
    tg_node s = tg_sum(g, tg_softmax(g, tg_mul(g, t, x)));
    tg_node f = tg_add(g, tg_mul(g, tg_sigmoid(g, tg_sub(g, x, y)), tg_exp(g, tg_div(g, x, y))), s);
    tg_backward(g, f);
    p.f = tg_value(g, f);
    p.dx = tg_grad(g, x);
    p.dy = tg_grad(g, y);
    return p;
}

/* ------------------------------------------------------------ the driver */

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = { data, size, 0 };
    alloc_state as = { 0, 0, false, 0 };
    uint8_t h0 = u8(&in), h1 = u8(&in);
    if (h0 & 0x80) {
        as.fail_at = 1 + (((size_t)(h0 & 0x3F) << 8) | h1);
        as.fail_rest = (h0 & 0x40) != 0;
    }
    if (!devnull) devnull = fopen("/dev/null", "w");

    tg_allocator al = { fz_realloc, fz_free, &as };
    world w;
    memset(&w, 0, sizeof w);
    w.may_fail = as.fail_at != 0;
    w.g = tg_graph_new_with(&al);
    if (!w.g) {
        CHECK(as.live == 0, "leak after a failed tg_graph_new_with");
        return 0;
    }
    w.other = tg_graph_new();
    for (int k = 0; k < 4; k++) w.foreign[k] = tg_var(w.other, NULL, k);

    tg_graph *g = w.g;
    for (int steps = 0; more(&in) && steps < 400; steps++) {
        uint8_t op = u8(&in);
        tg_status before = tg_graph_status(g);
        size_t n0 = tg_graph_size(g);
        switch (op % 26) {
        case 0: {   /* scalar leaves */
            const char *nm = name(&in);
            double v = value(&in);
            tg_node h = (op & 0x20) ? tg_const(g, v) : tg_var(g, nm, v);
            if (!tg_is_none(h)) add(&w, h, false, 1, 1);
            break;
        }
        case 1: {   /* tensor leaves, 1..4 x 1..4 */
            size_t r = 1 + (u8(&in) & 3), c = 1 + (u8(&in) & 3);
            double d[16];
            for (size_t i = 0; i < r * c; i++) d[i] = value(&in);
            const char *nm = name(&in);
            tg_node h = (op & 0x20) ? tg_tensor_const(g, r, c, d)
                                    : tg_tensor_var(g, nm, r, c, (op & 0x40) ? NULL : d);
            if (!tg_is_none(h)) add(&w, h, true, r, c);
            break;
        }
        case 2: {   /* unary */
            ent a = pick(&w, &in);
            verdict v = judge_inputs(&a, NULL);
            v.tensor = a.tensor;
            v.r = a.r;
            v.c = a.c;
            tg_node (*const f[])(tg_graph *, tg_node) = {
                tg_exp, tg_recip, tg_log, tg_tanh, tg_sigmoid, tg_relu, tg_neg, tg_sigmoid_decomposed,
                tg_sqrt, tg_cbrt, tg_sin, tg_cos, tg_tan, tg_asin, tg_acos, tg_atan, tg_sinh, tg_cosh,
                tg_asinh, tg_acosh, tg_atanh, tg_expm1, tg_log1p, tg_log2, tg_log10, tg_erf, tg_erfc,
                tg_softplus, tg_abs };
            uint8_t k = u8(&in) % (sizeof f / sizeof f[0]);
            verify(&w, "unary", v, before, n0, f[k](g, a.h));
            break;
        }
        case 3: {   /* binary, broadcasting */
            ent a = pick(&w, &in), b = pick(&w, &in);
            verdict v = judge_inputs(&a, &b);
            if (v.kind == 3) {
                v.tensor = a.tensor || b.tensor;
                bool ok = fits_broadcast(a.r, b.r, &v.r) && fits_broadcast(a.c, b.c, &v.c);
                if (!ok) v.kind = 4;
            }
            tg_node (*const f[])(tg_graph *, tg_node, tg_node) = { tg_add, tg_mul, tg_pow, tg_sub, tg_div,
                                                                   tg_atan2, tg_hypot, tg_min, tg_max };
            uint8_t k = u8(&in) % (sizeof f / sizeof f[0]);
            verify(&w, "binary", v, before, n0, f[k](g, a.h, b.h));
            break;
        }
        case 4: {   /* powc */
            ent a = pick(&w, &in);
            verdict v = judge_inputs(&a, NULL);
            v.tensor = a.tensor;
            v.r = a.r;
            v.c = a.c;
            verify(&w, "powc", v, before, n0, tg_powc(g, a.h, value(&in)));
            break;
        }
        case 5: {   /* matmul, matmul_ex with any flags */
            ent a = pick(&w, &in), b = pick(&w, &in);
            uint8_t fl = u8(&in);
            unsigned flags = fl & 3;
            bool plain = (fl & 0x80) != 0, bad_flags = (fl & 0x40) != 0;
            if (bad_flags) flags |= 4u << (fl & 7);
            verdict v = judge_inputs(&a, &b);
            if (plain) flags = 0;
            if (v.kind == 3) {
                if (!plain && bad_flags) {
                    tg_node got = tg_matmul_ex(g, a.h, b.h, flags);
                    CHECK(tg_is_none(got), "matmul_ex with flags 0x%x gave a node", flags);
                    if (before == TG_OK) CHECK(tg_graph_status(g) == TG_ERR_ARG, "bad flags: %d", (int)tg_graph_status(g));
                    break;
                }
                size_t m = (flags & TG_TRANS_A) ? a.c : a.r, k1 = (flags & TG_TRANS_A) ? a.r : a.c;
                size_t k2 = (flags & TG_TRANS_B) ? b.c : b.r, n = (flags & TG_TRANS_B) ? b.r : b.c;
                v.tensor = true;
                v.r = m;
                v.c = n;
                if (k1 != k2) v.kind = 4;
            }
            verify(&w, "matmul", v, before, n0, plain ? tg_matmul(g, a.h, b.h) : tg_matmul_ex(g, a.h, b.h, flags));
            break;
        }
        case 6: {   /* sum, mean, softmax */
            ent a = pick(&w, &in);
            verdict v = judge_inputs(&a, NULL);
            uint8_t k = u8(&in) % 3;
            v.tensor = k == 2;
            v.r = k == 2 ? a.r : 1;
            v.c = k == 2 ? a.c : 1;
            tg_node got = k == 0 ? tg_sum(g, a.h) : k == 1 ? tg_mean(g, a.h) : tg_softmax(g, a.h);
            verify(&w, "reduce/softmax", v, before, n0, got);
            break;
        }
        case 7: {   /* softmax cross-entropy */
            ent a = pick(&w, &in), b = pick(&w, &in);
            verdict v = judge_inputs(&a, &b);
            if (v.kind == 3 && (a.r != b.r || a.c != b.c)) v.kind = 4;
            verify(&w, "softmax_cross_entropy", v, before, n0, tg_softmax_cross_entropy(g, a.h, b.h));
            break;
        }
        case 8:     /* mark */
            if (w.nmarks < 16) w.marks[w.nmarks++] = tg_graph_mark(g);
            break;
        case 9: {   /* rewind to a mark, or anywhere */
            size_t m = (op & 0x20) || !w.nmarks ? (size_t)u8(&in) * ((op & 0x40) ? 1 : 1000)
                                                : w.marks[--w.nmarks];
            tg_status s = tg_graph_rewind(g, m);
            if (m > n0) {
                CHECK(s == TG_ERR_ARG, "rewind past the tape gave %d", (int)s);
                CHECK(tg_graph_size(g) == n0, "rewind past the tape changed it");
            } else if (s == TG_OK) {
                CHECK(tg_graph_size(g) == m, "rewind to %zu left %zu nodes", m, tg_graph_size(g));
                for (size_t i = 0; i < w.npool; i++)
                    if (w.pool[i].known && w.pool[i].h.id >= m) w.pool[i].live = false;
                while (w.nmarks && w.marks[w.nmarks - 1] > m) w.nmarks--;
            } else {
                CHECK(s == TG_ERR_NOMEM && w.may_fail, "rewind to %zu failed with %d", m, (int)s);
                CHECK(tg_graph_size(g) == n0, "a failed rewind changed the tape");
            }
            break;
        }
        case 10: {  /* set a scalar */
            ent a = pick(&w, &in);
            tg_set_value(g, a.h, value(&in));
            break;
        }
        case 11: {  /* set a tensor, or write through its storage */
            ent a = pick(&w, &in);
            double d[16];
            for (int i = 0; i < 16; i++) d[i] = value(&in);
            if (op & 0x20) {
                double *p = tg_tensor_data(g, a.h);
                if (p) {
                    CHECK(!a.known || (a.live && a.tensor), "storage for a handle that is not a live tensor");
                    for (size_t i = 0; i < a.r * a.c; i++) p[i] = d[i];
                }
            } else {
                tg_tensor_set(g, a.h, (op & 0x40) ? NULL : d);
            }
            break;
        }
        case 12:
            tg_forward(g);
            break;
        case 13: {
            ent a = pick(&w, &in);
            tg_status s = tg_backward(g, a.h);
            if (s == TG_OK) CHECK(a.known ? (a.live && !a.tensor) : true, "backward accepted a bad out");
            break;
        }
        case 14:
            tg_graph_clear_error(g);
            CHECK(tg_graph_status(g) == TG_OK && tg_graph_errmsg(g)[0] == '\0', "clear_error");
            break;
        case 15:
            tg_graph_set_checking(g, op & 0x20);
            w.checking = (op & 0x20) != 0;
            break;
        case 16:
            if (op & 0x20) tg_group_end(g);
            else tg_group_begin(g, (op & 0x40) ? NULL : "group <&>");
            break;
        case 17: {  /* inspection */
            ent a = pick(&w, &in);
            tg_node ins[2];
            double d[2], buf[16];
            size_t r, c;
            (void)tg_value(g, a.h);
            (void)tg_grad(g, a.h);
            const char *opn = tg_node_op(g, a.h);
            CHECK(opn != NULL, "tg_node_op gave NULL");
            (void)tg_node_name(g, a.h);
            int k = tg_node_inputs(g, a.h, ins);
            for (int j = 0; j < k; j++)
                CHECK(tg_node_op(g, ins[j])[0] != '\0', "an input of a live node is dead");
            size_t ar = tg_node_arity(g, a.h);
            CHECK(ar <= TG_CUSTOM_MAX_ARITY && (size_t)k == (ar < 2 ? ar : 2), "arity %zu, %d inputs", ar, k);
            for (size_t j = 0; j < ar; j++)
                CHECK(tg_node_op(g, tg_node_input(g, a.h, j))[0] != '\0', "input %zu of a live node is dead", j);
            CHECK(tg_is_none(tg_node_input(g, a.h, ar)), "an input past the arity %zu", ar);
            (void)tg_node_partials(g, a.h, d);
            (void)tg_is_tensor(g, a.h);
            if (tg_shape(g, a.h, &r, &c) == TG_OK) {
                CHECK(r * c <= 16, "shape %zux%zu", r, c);
                tg_tensor_get(g, a.h, buf);
                tg_tensor_get_grad(g, a.h, buf);
            }
            (void)tg_tensor_gradp(g, a.h);
            break;
        }
        case 18:
            if (devnull) tg_graph_write_dot(g, devnull);
            break;
        case 19: {
            const char *nm = name(&in);
            tg_node h = tg_find(g, nm);
            if (!tg_is_none(h)) {
                CHECK(tg_node_op(g, h)[0] != '\0', "tg_find gave a dead handle");
                const char *got = tg_node_name(g, h);
                CHECK(got && nm && strcmp(got, nm) == 0, "tg_find(%s) names another node", nm ? nm : "NULL");
            }
            break;
        }
        case 20: {
            size_t i = u8(&in);
            tg_node h = tg_node_at(g, i);
            CHECK(tg_is_none(h) == (i >= tg_graph_size(g)), "tg_node_at(%zu) of %zu", i, tg_graph_size(g));
            if (!tg_is_none(h)) {
                size_t r, c;
                tg_shape(g, h, &r, &c);
                add(&w, h, tg_is_tensor(g, h) != 0, r, c);
            }
            break;
        }
        case 21:
            tg_graph_reserve(g, (size_t)u8(&in) << (op & 0x1F));
            break;
        case 22: {  /* a builder on the other graph's handle pool, for cross-graph traffic */
            ent a = pick(&w, &in);
            (void)tg_exp(w.other, a.h);
            tg_graph_clear_error(w.other);
            break;
        }
        case 23: {  /* a user-defined op of 1 to 8 inputs, or a bad definition */
            uint8_t sel = u8(&in);
            size_t arity = 1 + (sel & 7u);
            ent x[TG_CUSTOM_MAX_ARITY];
            tg_node h[TG_CUSTOM_MAX_ARITY];
            for (size_t k = 0; k < arity; k++) {
                x[k] = pick(&w, &in);
                h[k] = x[k].h;
            }
            tg_custom_op op = { "fz_sum_sin", arity, custom_value, custom_partials, NULL,
                                (void *)&custom_arity[arity - 1] };
            int bad = sel >> 5;    /* 0-4 a good op; 5 a built-in's name, 6 arity 9, 7 no partials */
            if (bad >= 5) {
                if (bad == 5) op.name = "sin";
                if (bad == 6) op.arity = TG_CUSTOM_MAX_ARITY + 1;
                if (bad == 7) op.partials = NULL;
                tg_node got = tg_custom(g, &op, h);
                CHECK(tg_is_none(got), "a bad custom op (%d) gave a node", bad);
                CHECK(tg_graph_size(g) == n0, "a bad custom op grew the tape");
                if (before == TG_OK)
                    CHECK(tg_graph_status(g) == (bad == 5 ? TG_ERR_NAME : TG_ERR_ARG), "bad custom op %d: %d: %s",
                          bad, (int)tg_graph_status(g), tg_graph_errmsg(g));
                break;
            }
            verify(&w, "custom", judge_custom(x, arity), before, n0, tg_custom(g, &op, h));
            break;
        }
        case 24: {  /* tg_check_partials at the current values */
            uint8_t b = u8(&in);
            double rtol = (b & 0x80) ? -1.0 : b == 0x7f ? NAN : ldexp(1.0, -(int)(b & 0x3f));
            tg_node first = { 1, 1 };
            size_t bad = tg_check_partials(g, rtol, &first);
            tg_status after = tg_graph_status(g);
            CHECK(tg_graph_size(g) == n0, "tg_check_partials changed the tape");
            CHECK(tg_is_none(first) == (bad == 0), "%zu disagreements, first {%u,%u}", bad, first.id, first.gen);
            if (!(rtol >= 0)) {
                CHECK(bad == 0 && (before != TG_OK || after == TG_ERR_ARG), "rtol %g: %zu, %d", rtol, bad, (int)after);
            } else if (bad) {
                CHECK(tg_node_op(g, first)[0] != '\0', "the first disagreeing node is dead");
                CHECK(before != TG_OK || after == TG_ERR_CHECK, "%zu disagreements recorded %d", bad, (int)after);
            }
            break;
        }
        case 25:    /* forward mode, Jacobians, second order */
            fo_call(&w, &in, op, before, n0);
            break;
        default:
            break;
        }
        check_liveness(&w);
    }

    /* The graph works after the program: clear, stop failing, probe. */
    as.fail_at = 0;
    tg_graph_clear_error(g);
    tg_graph_set_checking(g, 0);
    while (tg_group_end(g) == TG_OK) {}
    tg_graph_clear_error(g);
    size_t n0 = tg_graph_size(g);
    probe got = run_probe(g);
    if (tg_graph_status(g) == TG_ERR_STALE && (strstr(tg_graph_errmsg(g), "flipped the branch") ||
                                               strstr(tg_graph_errmsg(g), "changed branch"))) {
        /* A replay flipped a kink (relu, abs, min, max): an earlier one, or
         * the one the probe's backward runs first after a leaf changed.
         * Backward is refused until the tape is re-recorded (tapegrad.h).
         * Re-record from scratch. */
        tg_graph_clear_error(g);
        CHECK(tg_graph_rewind(g, 0) == TG_OK, "rewind to 0");
        for (size_t i = 0; i < w.npool; i++) w.pool[i].live = false;
        n0 = 0;
        got = run_probe(g);
    }
    CHECK(tg_graph_status(g) == TG_OK, "probe on the graph: %s", tg_graph_errmsg(g));
    CHECK(tg_graph_rewind(g, n0) == TG_OK, "rewind after the probe");
    tg_graph *fresh = tg_graph_new();
    probe want = run_probe(fresh);
    tg_graph_free(fresh);
    CHECK(memcmp(&got, &want, sizeof got) == 0, "probe: %.17g %.17g %.17g, fresh graph %.17g %.17g %.17g",
          got.f, got.dx, got.dy, want.f, want.dx, want.dy);
    check_liveness(&w);

    tg_graph_free(g);
    tg_graph_free(w.other);
    CHECK(as.live == 0, "%ld blocks leaked", as.live);
    return 0;
}
