/*
 * What the demos' command lines share.  Each program parses its options
 * with getopt_long ("--name value" and "--name=value" alike); these check
 * the values before anything runs, so a bad command line is a message in
 * the program's name and exit status 2, and nothing is written.
 */
#ifndef DEMO_CLI_H
#define DEMO_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit status of a command line that was refused. */
enum { CLI_USAGE = 2 };

/* "PROG (tapegrad) VERSION" on stdout: the library's version. */
void cli_version(const char *prog);

/* After getopt_long returned '?' or ':' (with opterr 0 and a leading ':' in
 * its short options): say what was wrong, in prog's name, on stderr. */
void cli_bad_option(const char *prog, char **argv, int c);

/* Refuse operands: the demos take options only.  false after a message
 * when argv[optind] exists. */
bool cli_no_operands(const char *prog, int argc, char **argv);

/* A finite number (no inf, nan or overflow). */
bool cli_double(const char *prog, const char *opt, const char *s, double *out);
/* An integer in lo..hi, in decimal. */
bool cli_size(const char *prog, const char *opt, const char *s, size_t lo, size_t hi, size_t *out);
/* A file to write: not empty, and not starting with '-', which is far more
 * often the next option taken by mistake than a file name (./-x names
 * such a file). */
bool cli_path(const char *prog, const char *opt, const char *s);

/* Two options that do not go together: the message names both. */
void cli_conflict(const char *prog, const char *opt, const char *other, const char *why);

#endif
