/*
 * The stepping page: one self-contained HTML file (script, style and data
 * inline, no network) that draws a graph as the book does and steps
 * through its forward values and gradients with the walk's ledger lines
 * (walk.h), with Next, Back and Play and the arrow keys.
 */
#ifndef DEMO_PAGE_H
#define DEMO_PAGE_H

#include <stdbool.h>

#include <tapegrad/tapegrad.h>

#include "outfile.h"

/* Write the page of g's walk to out, after a tg_backward(g, out), into o
 * (opened by outfile_open) and rename it into place.  out_name labels the
 * output; exact prints every digit.  0, or -1 with o discarded and the
 * reason on stderr in prog's name. */
int page_write(tg_graph *g, tg_node out, const char *out_name, bool exact, outfile *o, const char *prog);

#endif
