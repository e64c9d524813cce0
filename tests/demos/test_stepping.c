/*
 * Stepping through the shopping graph at a terminal: the demo runs in a
 * pseudo-terminal, the test answers its pauses as a person would, and
 * checks what was on the screen after each answer.
 *
 * Usage: test_stepping SHOPPING
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runner.h"

static const char *shopping_path;

#define PROMPT "quit > "
#define ERASE "\033[A\r\033[K"

static int count_of_prompts(const char *text)
{
    int n = 0;
    for (const char *p = strstr(text, PROMPT); p; p = strstr(p + 1, PROMPT)) n++;
    return n;
}

typedef struct session {
    pid_t pid;
    int fd;           /* the terminal's master side */
    char screen[1 << 16];
    size_t len;       /* everything shown so far */
    size_t seen;      /* up to where the test has looked */
} session;

static void start(session *s, const char *args)
{
    memset(s, 0, sizeof *s);
    struct winsize ws = { .ws_row = 50, .ws_col = 132 };
    s->pid = forkpty(&s->fd, NULL, NULL, &ws);
    ck_assert_msg(s->pid >= 0, "forkpty: %s", strerror(errno));
    if (s->pid == 0) {
        execl(shopping_path, "shopping", args, (char *)NULL);
        _exit(127);
    }
}

/* Read until `want` appears in what is new since the last call, or the
 * program ends (want NULL: read to the end).  Returns the new text. */
static const char *read_until(session *s, const char *want)
{
    const char *fresh = s->screen + s->seen;
    for (;;) {
        s->screen[s->len] = '\0';
        const char *hit = want ? strstr(fresh, want) : NULL;
        if (hit) {
            s->seen = (size_t)(hit - s->screen) + strlen(want);
            return fresh;
        }
        struct pollfd p = { .fd = s->fd, .events = POLLIN };
        int r = poll(&p, 1, 10000);
        ck_assert_msg(r > 0, "timed out waiting for '%s'; screen so far:\n%s", want ? want : "the end",
                      s->screen);
        ssize_t n = read(s->fd, s->screen + s->len, sizeof s->screen - 1 - s->len);
        if (n <= 0) {   /* EIO once the program has gone */
            s->screen[s->len] = '\0';
            ck_assert_msg(!want, "program ended before '%s'; screen:\n%s", want, s->screen);
            s->seen = s->len;
            return fresh;
        }
        s->len += (size_t)n;
    }
}

static void answer(session *s, const char *keys)
{
    ck_assert_int_eq(write(s->fd, keys, strlen(keys)), (ssize_t)strlen(keys));
}

static int finish(session *s)
{
    int st;
    ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
    close(s->fd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(enter_steps_and_q_quits)
{
    session s;
    start(&s, "--orange");
    /* Before the first answer: the first forward step only. */
    const char *shown = read_until(&s, PROMPT);
    ck_assert_ptr_nonnull(strstr(shown, "Press Enter after each step"));
    ck_assert_ptr_nonnull(strstr(shown, "step 1/9  apple = 100   (variable)"));
    ck_assert_ptr_null(strstr(shown, "step 2/9"));

    answer(&s, "\r");
    shown = read_until(&s, PROMPT);
    ck_assert_ptr_nonnull(strstr(shown, "step 2/9  apple_num = 2   (variable)"));
    ck_assert_ptr_null(strstr(shown, "step 1/9"));
    ck_assert_ptr_null(strstr(shown, "step 3/9"));

    answer(&s, "\r");
    shown = read_until(&s, PROMPT);
    ck_assert_ptr_nonnull(strstr(shown, "step 3/9  orange = 150   (variable)"));
    ck_assert_ptr_null(strstr(shown, "step 4/9"));

    answer(&s, "q\r");
    shown = read_until(&s, NULL);
    ck_assert_ptr_nonnull(strstr(shown, "(quit)"));
    ck_assert_ptr_null(strstr(shown, "step 4/9"));
    ck_assert_ptr_null(strstr(shown, "Gradients"));
    ck_assert_int_eq(finish(&s), 0);
}
END_TEST

START_TEST(stepping_reaches_the_backward_pass)
{
    session s;
    start(&s, "--orange");
    for (int i = 1; i <= 9; i++) {
        read_until(&s, PROMPT);
        answer(&s, "\r");
    }
    /* The first backward step: the output, seeded with 1, and its ledger. */
    const char *shown = read_until(&s, PROMPT);
    ck_assert_ptr_nonnull(strstr(shown, "Backward pass"));
    ck_assert_ptr_nonnull(strstr(shown, "step 1/9  price = all_price x tax"));
    ck_assert_ptr_nonnull(strstr(shown, "d price/d tax = d price/d price (1) x d(all_price x tax)/d tax (650) = 650"));
    ck_assert_ptr_null(strstr(shown, "step 2/9"));

    answer(&s, "\r");
    shown = read_until(&s, PROMPT);
    ck_assert_ptr_nonnull(strstr(shown, "step 2/9  all_price = apple_price + orange_price"));
    ck_assert_ptr_nonnull(strstr(shown, "d price/d orange_price = d price/d all_price (1.1) x d all_price/d orange_price (1) = 1.1"));
    ck_assert_ptr_null(strstr(shown, "step 3/9"));

    answer(&s, "q\r");
    read_until(&s, NULL);
    ck_assert_int_eq(finish(&s), 0);
}
END_TEST

START_TEST(c_runs_to_the_end)
{
    session s;
    start(&s, "--orange");
    read_until(&s, PROMPT);
    answer(&s, "c\r");
    const char *shown = read_until(&s, NULL);
    ck_assert_ptr_null(strstr(shown, PROMPT));
    ck_assert_ptr_nonnull(strstr(shown, "step 9/9  price = all_price x tax = 650 x 1.1 = 715"));
    ck_assert_ptr_nonnull(strstr(shown, "step 9/9  apple is a variable: d price/d apple = 2.2, complete"));
    ck_assert_ptr_nonnull(strstr(shown, "price = 715.  Gradients"));
    ck_assert_int_eq(finish(&s), 0);
}
END_TEST

/* Each answered prompt is taken back (cursor up, clear the line) before
 * the next step prints, so the scrollback shows the steps alone. */
START_TEST(answered_prompts_are_taken_back)
{
    session s;
    start(&s, "--orange");
    read_until(&s, PROMPT);
    for (int i = 2; i <= 3; i++) {
        answer(&s, "\r");
        const char *shown = read_until(&s, PROMPT);
        char step[32];
        snprintf(step, sizeof step, "step %d/9", i);
        const char *erase = strstr(shown, ERASE);
        const char *at = strstr(shown, step);
        ck_assert_msg(erase && at && erase < at, "no erase before '%s' in:\n%s", step, shown);
        ck_assert_int_eq(count_of_prompts(shown), 1);   /* the new one only */
    }
    answer(&s, "q\r");
    read_until(&s, NULL);
    ck_assert_int_eq(finish(&s), 0);
}
END_TEST

/* The backward steps of the five variables only read off their totals:
 * one pause for the run of them, not five. */
START_TEST(a_run_of_leaves_is_one_pause)
{
    session s;
    start(&s, "--orange");
    for (int i = 1; i <= 9 + 4; i++) {   /* nine forward steps, four ops backward */
        read_until(&s, PROMPT);
        answer(&s, "\r");
    }
    const char *shown = read_until(&s, PROMPT);
    for (int i = 5; i <= 9; i++) {
        char step[32];
        snprintf(step, sizeof step, "step %d/9", i);
        ck_assert_msg(strstr(shown, step) != NULL, "'%s' not shown before the pause:\n%s", step, shown);
    }
    ck_assert_ptr_nonnull(strstr(shown, "apple is a variable: d price/d apple = 2.2, complete"));
    ck_assert_ptr_null(strstr(shown, "Gradients"));
    answer(&s, "\r");
    shown = read_until(&s, NULL);
    ck_assert_ptr_nonnull(strstr(shown, "price = 715.  Gradients"));
    ck_assert_int_eq(finish(&s), 0);
}
END_TEST

START_TEST(no_pause_does_not_wait_at_a_terminal)
{
    session s;
    start(&s, "--no-pause");
    const char *shown = read_until(&s, NULL);
    ck_assert_ptr_null(strstr(shown, PROMPT));
    ck_assert_ptr_nonnull(strstr(shown, "price = 220.  Gradients"));
    ck_assert_int_eq(finish(&s), 0);
}
END_TEST

int main(int argc, char **argv)
{
    if (argc != 2 || access(argv[1], X_OK) != 0) {
        fprintf(stderr, "usage: %s SHOPPING (an existing program)\n", argv[0]);
        return 77;
    }
    shopping_path = argv[1];
    Suite *s = suite_create("stepping");
    TCase *tc = tcase_create("pty");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, enter_steps_and_q_quits);
    tcase_add_test(tc, stepping_reaches_the_backward_pass);
    tcase_add_test(tc, c_runs_to_the_end);
    tcase_add_test(tc, answered_prompts_are_taken_back);
    tcase_add_test(tc, a_run_of_leaves_is_one_pause);
    tcase_add_test(tc, no_pause_does_not_wait_at_a_terminal);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
