/*
 * Shared by the hardening suites: an allocator that fails on request and
 * knows every block it handed out, a reference computation to show that a
 * graph still works after an error, and file helpers for hostile inputs.
 */
#ifndef HARD_H
#define HARD_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <tapegrad/tapegrad.h>

/* ------------------------------------------------ the injecting allocator */

/* Each realloc call is one allocation (a grow as much as a new block).
 * fail_at fails exactly that call (1-based); fail_from fails that call and
 * every later one; 0 disables either.  max_size stands for a machine with
 * little memory, and keeps a sanitizer from seeing huge requests.  Every block carries a header with a
 * tag, so a free of a block this allocator never handed out, or a double
 * free, is counted in bad_frees instead of corrupting the heap. */
typedef struct inj_alloc {
    size_t calls;       /* realloc calls so far */
    size_t fail_at;
    size_t fail_from;
    size_t max_size;    /* refuse larger requests without asking the C library; 0: no limit */
    size_t failures;    /* calls refused */
    long live;          /* blocks handed out and not yet freed */
    size_t live_bytes;
    long bad_frees;
} inj_alloc;

tg_allocator inj_use(inj_alloc *a);
/* Forget the failure plan, keep the counts. */
void inj_stop_failing(inj_alloc *a);

/* ------------------------------------------- "the graph still works" probe */

/* Record f = (x*y + exp(x/y)) * sigmoid(x - y) with x = 1.5, y = -0.75 on g
 * (after whatever g already holds), backward-sweep it and compare value and
 * both gradients, bit for bit, to the same expression on a fresh graph.
 * Fails the test (naming `what`) when they differ or g records an error.
 * The nodes it records are rewound afterwards. */
void assert_graph_works(tg_graph *g, const char *what);

/* Same on tensors: a 2x3 input through matmul, bias add, relu, softmax
 * cross-entropy, compared bit for bit to a fresh graph. */
void assert_tensor_graph_works(tg_graph *g, const char *what);

/* --------------------------------------------------------------- asserts */

/* The message starts with prefix. */
#define ck_assert_prefix(msg, prefix)                                               \
    do {                                                                            \
        const char *m_ = (msg), *p_ = (prefix);                                     \
        ck_assert_msg(m_ && strncmp(m_, p_, strlen(p_)) == 0,                      \
                      "message \"%s\" does not start with \"%s\"", m_ ? m_ : "(null)", p_); \
    } while (0)

#define ck_assert_graph_ok(g)                                                       \
    ck_assert_msg(tg_graph_status(g) == TG_OK, "graph error %d: %s",               \
                  (int)tg_graph_status(g), tg_graph_errmsg(g))

/* Bitwise equality of doubles (NaN equals NaN of the same bits). */
int same_bits(double a, double b);

/* ----------------------------------------------------------------- files */

/* A fresh private directory under TMPDIR (or /tmp); removed with its
 * files by rm_tree.  Fails the test when it cannot be made. */
void make_temp_dir(char *dir, size_t len);
void rm_tree(const char *dir);
/* Write n bytes to path; plain or gzip-compressed (level 6). */
void write_file(const char *path, const void *data, size_t n);
void write_gz(const char *path, const void *data, size_t n);
/* The gzip encoding of data into a malloc'd buffer; *out_n its size. */
unsigned char *gzip_bytes(const void *data, size_t n, size_t *out_n);

/* Run one suite (fork mode unless CK_FORK=no); the process exit status. */
int run_suite(Suite *s);

#endif
