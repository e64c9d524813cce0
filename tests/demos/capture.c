#include "capture.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

capture run_demo(const char *program, const char *args, int merge_stderr)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s </dev/null %s", program, args,
             merge_stderr ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot run %s", cmd);
    capture c = { NULL, 0, -1 };
    size_t cap = 0;
    for (;;) {
        if (cap - c.len < 4096) {
            cap = cap ? cap * 2 : 65536;
            c.out = realloc(c.out, cap);
            ck_assert_ptr_nonnull(c.out);
        }
        size_t got = fread(c.out + c.len, 1, cap - c.len - 1, p);
        if (got == 0) break;
        c.len += got;
    }
    c.out[c.len] = '\0';
    int st = pclose(p);
    c.status = st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return c;
}

void capture_free(capture *c)
{
    free(c->out);
    c->out = NULL;
}

double number_after(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p) return NAN;
    p += strlen(key);
    while (*p == ' ') p++;
    char *end;
    double v = strtod(p, &end);
    return end == p ? NAN : v;
}

int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}
