/*
 * A file a demo writes, created whole or not at all: the writing goes to a
 * temporary file beside it, renamed over the name when complete.  The
 * temporary file is made when the output is opened, before the work, so
 * an unwritable place is found before an hour of training, not after.
 */
#ifndef DEMO_OUTFILE_H
#define DEMO_OUTFILE_H

#include <stdbool.h>

typedef struct outfile {
    const char *path;   /* the name asked for; the caller's */
    char *tmp;          /* path.XXXXXX beside it, where it is written; owned */
} outfile;

/* Check that path can be written (not a directory; its directory exists
 * and takes a new file) by creating the temporary file.  false after a
 * message in prog's name on stderr, with nothing left behind. */
bool outfile_open(outfile *o, const char *prog, const char *path);

/* Rename the finished temporary file to path.  false after a message. */
bool outfile_commit(outfile *o, const char *prog);

/* Remove the temporary file, if any: the output is abandoned.  Also the
 * cleanup after outfile_commit (then a no-op); a zeroed outfile is fine. */
void outfile_discard(outfile *o);

#endif
