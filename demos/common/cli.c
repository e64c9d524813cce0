#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tapegrad/tapegrad.h>

void cli_version(const char *prog)
{
    printf("%s (tapegrad) %s\n", prog, tg_version());
}

void cli_bad_option(const char *prog, char **argv, int c)
{
    /* getopt_long has moved optind past the option it refused. */
    const char *arg = argv[optind - 1];
    if (c == ':')
        fprintf(stderr, "%s: %s needs a value (see --help)\n", prog, arg);
    else if (optopt && arg[0] == '-' && arg[1] != '-')
        fprintf(stderr, "%s: unknown option -%c (see --help)\n", prog, optopt);
    else
        fprintf(stderr, "%s: unknown option %s (see --help)\n", prog, arg);
}

bool cli_no_operands(const char *prog, int argc, char **argv)
{
    if (optind >= argc) return true;
    fprintf(stderr, "%s: unexpected argument '%s': every setting is an option (see --help)\n", prog,
            argv[optind]);
    return false;
}

bool cli_double(const char *prog, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v)) {
        fprintf(stderr, "%s: %s wants a finite number, not '%s'\n", prog, opt, s);
        return false;
    }
    *out = v;
    return true;
}

bool cli_size(const char *prog, const char *opt, const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || *s == '-' || *s == '+' || errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "%s: %s wants a whole number from %zu to %zu, not '%s'\n", prog, opt, lo, hi, s);
        return false;
    }
    *out = (size_t)v;
    return true;
}

bool cli_path(const char *prog, const char *opt, const char *s)
{
    if (!*s) {
        fprintf(stderr, "%s: %s wants a file name, not an empty one\n", prog, opt);
        return false;
    }
    if (*s == '-') {
        fprintf(stderr, "%s: %s wants a file name, not '%s' (a file whose name starts with '-' "
                "is written as ./%s)\n", prog, opt, s, s);
        return false;
    }
    return true;
}

void cli_conflict(const char *prog, const char *opt, const char *other, const char *why)
{
    fprintf(stderr, "%s: %s does not go with %s: %s\n", prog, opt, other, why);
}
