/*
 * Running a Check suite, and the asserts on a graph's error that suites of
 * every layer make.
 */
#ifndef TEST_RUNNER_H
#define TEST_RUNNER_H

#include <check.h>

#include <tapegrad/tapegrad.h>

/* Run one suite (fork mode unless CK_FORK=no), print Check's summary, free
 * the suite; the process exit status: EXIT_SUCCESS when no test failed. */
int run_suite(Suite *s);

/* The graph holds exactly this status and message. */
#define ck_assert_graph_error(g, st, msg)                                           \
    do {                                                                            \
        ck_assert_int_eq(tg_graph_status(g), (st));                                 \
        ck_assert_str_eq(tg_graph_errmsg(g), (msg));                                \
    } while (0)

/* The graph holds no error; else the test fails with its status and message. */
#define ck_assert_graph_ok(g)                                                       \
    ck_assert_msg(tg_graph_status(g) == TG_OK, "graph error %d: %s",               \
                  (int)tg_graph_status(g), tg_graph_errmsg(g))

#endif
