/*
 * Small pieces the demos share: printing numbers for people, and writing a
 * graph as DOT (rendered to PNG or SVG when Graphviz is installed).
 */
#ifndef DEMO_SUPPORT_H
#define DEMO_SUPPORT_H

#include <stddef.h>
#include <stdio.h>

#include <tapegrad/tapegrad.h>

/* A number as a person writes it: at most 15 significant digits, so the
 * last-bit noise of binary fractions does not show (1.1 * 3 prints "3.3",
 * 100 * 2 * 1.1 prints "220").  Returns buf. */
const char *num_str(char *buf, size_t len, double v);

/* The shortest text that reads back as exactly v (15, 16 or 17 digits):
 * what the double really holds, e.g. "3.3000000000000003".  Returns buf. */
const char *num_exact(char *buf, size_t len, double v);

/* Run `dot -T<format> -o out in`: 0 drawn, 1 Graphviz is not installed,
 * -1 it ran and failed (said on stderr). */
int render_graphviz(const char *format, const char *in, const char *out);

/* Write g as DOT to path.  A path ending in .png, .svg or .pdf writes the
 * DOT text next to it (same name, .dot) and renders it with Graphviz's
 * `dot`; without Graphviz the .dot file stays and a note says how to
 * render it.  What was written is said on `note`, failures on stderr.
 * 0 on success (including "written, not rendered"), -1 on failure. */
int write_graph_picture(tg_graph *g, const char *path, FILE *note);

#endif
