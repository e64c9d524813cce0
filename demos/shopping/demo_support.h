/*
 * Small pieces the demos share: printing numbers for people and for JSON,
 * and writing a graph as DOT (rendered to PNG or SVG when Graphviz is
 * installed).
 */
#ifndef DEMO_SUPPORT_H
#define DEMO_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <tapegrad/tapegrad.h>

#include "outfile.h"

/* A number as a person writes it: at most 15 significant digits, so the
 * last-bit noise of binary fractions does not show (1.1 * 3 prints "3.3",
 * 100 * 2 * 1.1 prints "220").  Returns buf. */
const char *num_str(char *buf, size_t len, double v);

/* The shortest text that reads back as exactly v (15, 16 or 17 digits):
 * what the double really holds, e.g. "3.3000000000000003".  Returns buf. */
const char *num_exact(char *buf, size_t len, double v);

/* A picture of a graph asked for on the command line: DOT text, and for a
 * path ending in .png, .svg or .pdf that picture too, rendered by
 * Graphviz's `dot` from the DOT text kept beside it (same name, .dot).
 * Both files are written whole or not at all (outfile.h). */
typedef struct picture {
    const char *format;   /* "png", "svg", "pdf", or NULL for DOT text alone */
    char *dot_path;       /* owned */
    outfile dot, image;
} picture;

/* Check that the files can be written, before any work: false after a
 * message in prog's name on stderr, nothing left behind. */
bool picture_open(picture *p, const char *prog, const char *path);

/* Write g and render it.  What was written is said on `note`, failures on
 * stderr in prog's name.  Without Graphviz the .dot file is written and a
 * note says how to render it.  0 on success (including "written, not
 * rendered"), -1 on failure, with neither file written.  Frees p. */
int picture_write(picture *p, const char *prog, tg_graph *g, FILE *note);

/* Give up the picture: nothing is written.  Frees p; a zeroed one is fine. */
void picture_discard(picture *p);

/* A number as JSON: the shortest text that reads back exactly, or null
 * for NaN and the infinities, which JSON has no numbers for. */
void json_number(FILE *f, double v);

#endif
