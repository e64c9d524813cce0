/*
 * Output files that are complete or absent: written to a temporary file
 * beside the target and renamed over it only once everything is written
 * (and, for a picture, drawn).
 */
#ifndef TOOL_OUTFILE_H
#define TOOL_OUTFILE_H

#include <stdio.h>

#include <tapegrad/tapegrad.h>

typedef struct outfile {
    FILE *f;
    const char *path;
    char *tmp;
} outfile;

/* Open a temporary file for path; on failure says why on stderr and
 * returns -1. */
int outfile_open(outfile *o, const char *path);
/* Close and rename it over path (0), or remove it and say why (-1). */
int outfile_commit(outfile *o);
/* Remove it. */
void outfile_abort(outfile *o);

/* Write g to path: DOT text for .dot or any other extension, a picture
 * drawn by Graphviz's dot for .svg and .png (an error when Graphviz is not
 * installed).  0, or -1 with the reason on stderr. */
int write_dot_file(tg_graph *g, const char *path);

#endif
