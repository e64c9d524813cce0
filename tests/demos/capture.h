/* Running a demo and keeping what it printed, for the demo tests. */
#ifndef DEMO_CAPTURE_H
#define DEMO_CAPTURE_H

#include <stddef.h>

typedef struct capture {
    char *out;        /* stdout, NUL-terminated; owned */
    size_t len;
    int status;       /* exit code, or -1 if it did not exit normally */
} capture;

/* Run `program args...` (args is one shell-quoted string, may be "") with
 * stdin from /dev/null and stderr discarded (or merged into out when
 * merge_stderr).  Aborts the test on failure to start it. */
capture run_demo(const char *program, const char *args, int merge_stderr);
/* The same run from directory dir (program then needs an absolute path). */
capture run_demo_in(const char *dir, const char *program, const char *args, int merge_stderr);
void capture_free(capture *c);

/* The number after the first occurrence of `key` in text (skipping
 * spaces), or NaN when key is absent or no number follows. */
double number_after(const char *text, const char *key);

/* JSON's shape: brackets balance outside strings, and no bare NaN or inf
 * slipped in (JSON has no such numbers).  Fails the test otherwise. */
void assert_json_shape(const char *s);

/* Occurrences of needle in text. */
int count_of(const char *text, const char *needle);

#endif
