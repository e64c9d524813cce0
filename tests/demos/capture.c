#include "capture.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

capture run_demo(const char *program, const char *args, int merge_stderr)
{
    return run_demo_in(NULL, program, args, merge_stderr);
}

capture run_demo_in(const char *dir, const char *program, const char *args, int merge_stderr)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s%s%s'%s' %s </dev/null %s", dir ? "cd '" : "", dir ? dir : "",
             dir ? "' && " : "", program, args, merge_stderr ? "2>&1" : "2>/dev/null");
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

/* Brackets balance outside strings, and no bare NaN or inf slipped in. */
void assert_json_shape(const char *s)
{
    int depth = 0;
    bool in_str = false;
    for (const char *p = s; *p; p++) {
        if (in_str) {
            if (*p == '\\') p++;
            else if (*p == '"') in_str = false;
            continue;
        }
        if (*p == '"') in_str = true;
        else if (*p == '{' || *p == '[') depth++;
        else if (*p == '}' || *p == ']') ck_assert_int_ge(--depth, 0);
        else if (!strncmp(p, "nan", 3) || !strncmp(p, "inf", 3) || !strncmp(p, "NaN", 3))
            ck_abort_msg("bare non-number in JSON at: %.40s", p);
    }
    ck_assert(!in_str);
    ck_assert_int_eq(depth, 0);
}
