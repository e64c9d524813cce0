/* Training curves as SVG, written by hand: two panels with axes, ticks,
 * grid, axis labels and a legend each.  Plain fprintf keeps the demo free
 * of a plotting dependency. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

enum { WIDTH = 980, HEIGHT = 440, PANEL_W = 380, PANEL_H = 300, TOP = 56 };
static const int panel_x[2] = { 80, 570 };

/* A plot area and the data range it shows. */
typedef struct frame {
    double px, py, pw, ph;       /* pixels: left, top, width, height */
    double x0, x1, y0, y1;       /* data */
} frame;

static double sx(const frame *f, double x) { return f->px + (x - f->x0) / (f->x1 - f->x0) * f->pw; }
static double sy(const frame *f, double y) { return f->py + (f->y1 - y) / (f->y1 - f->y0) * f->ph; }

/* A tick step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double range, int want)
{
    double raw = range / want;
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * p;
}

static void axes(FILE *out, const frame *f, const char *title, const char *xlabel,
                 const char *ylabel)
{
    double xs = nice_step(f->x1 - f->x0, 5), ys = nice_step(f->y1 - f->y0, 5);
    fprintf(out, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='white' stroke='#333'/>\n",
            f->px, f->py, f->pw, f->ph);
    for (double x = ceil(f->x0 / xs) * xs; x <= f->x1 + 1e-9 * xs; x += xs) {
        double X = sx(f, x);
        fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", X, f->py, X,
                f->py + f->ph);
        fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#333'/>\n", X,
                f->py + f->ph, X, f->py + f->ph + 5);
        fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='middle'>%g</text>\n", X,
                f->py + f->ph + 19, x);
    }
    for (double y = ceil(f->y0 / ys - 1e-9) * ys; y <= f->y1 + 1e-9 * ys; y += ys) {
        double Y = sy(f, y);
        fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#ddd'/>\n", f->px, Y,
                f->px + f->pw, Y);
        fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#333'/>\n", f->px - 5,
                Y, f->px, Y);
        fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='end'>%g</text>\n", f->px - 8, Y + 4,
                fabs(y) < 1e-12 ? 0.0 : y);
    }
    fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='15' font-weight='bold'>%s</text>\n",
            f->px + f->pw / 2, f->py - 14, title);
    fprintf(out, "<text x='%.1f' y='%.1f' text-anchor='middle'>%s</text>\n", f->px + f->pw / 2,
            f->py + f->ph + 40, xlabel);
    fprintf(out, "<text transform='translate(%.1f,%.1f) rotate(-90)' text-anchor='middle'>%s</text>\n",
            f->px - 52, f->py + f->ph / 2, ylabel);
}

/* One legend entry per line, in the top-left or top-right corner, as wide
 * as its longest label. */
static void legend(FILE *out, const frame *f, int left, const char *const *labels,
                   const char *const *colors, int n)
{
    size_t longest = 0;
    for (int i = 0; i < n; i++)
        if (strlen(labels[i]) > longest) longest = strlen(labels[i]);
    double w = 52 + 6.8 * (double)longest, h = 10 + 20.0 * n;
    double x = left ? f->px + 10 : f->px + f->pw - w - 10, y = f->py + 10;
    fprintf(out, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='white' stroke='#999'/>\n",
            x, y, w, h);
    for (int i = 0; i < n; i++) {
        double ly = y + 15 + 20.0 * i;
        fprintf(out, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='3'/>\n",
                x + 8, ly, x + 34, ly, colors[i]);
        fprintf(out, "<text x='%.1f' y='%.1f'>%s</text>\n", x + 42, ly + 4, labels[i]);
    }
}

static void polyline_begin(FILE *out, const char *color, double width)
{
    fprintf(out, "<polyline fill='none' stroke='%s' stroke-width='%.1f' points='", color, width);
}

static void loss_panel(FILE *out, const double *loss, size_t iters)
{
    /* The raw batch losses are noisy; a moving average shows the trend. */
    size_t window = iters / 20 ? (iters / 20 < 100 ? iters / 20 : 100) : 1;
    double top = 0.0;
    for (size_t i = 0; i < iters; i++)
        if (isfinite(loss[i]) && loss[i] > top) top = loss[i];
    double step = nice_step(top > 0 ? top : 1.0, 5);
    frame f = { panel_x[0], TOP, PANEL_W, PANEL_H, 0, (double)iters, 0, ceil(top / step) * step };
    if (f.y1 <= 0) f.y1 = 1;
    axes(out, &f, "Training loss", "iteration", "cross-entropy loss");
    size_t stride = iters > 2000 ? iters / 2000 : 1;
    polyline_begin(out, "#9ecae1", 1.0);
    for (size_t i = 0; i < iters; i += stride)
        if (isfinite(loss[i])) fprintf(out, "%.1f,%.1f ", sx(&f, (double)(i + 1)), sy(&f, loss[i]));
    fprintf(out, "'/>\n");
    /* A centred moving average, from prefix sums, so the trend is not
     * shifted to the right of the data it summarises. */
    double *prefix = malloc((iters + 1) * sizeof *prefix);
    if (prefix) {
        prefix[0] = 0.0;
        for (size_t i = 0; i < iters; i++) prefix[i + 1] = prefix[i] + loss[i];
        polyline_begin(out, "#08519c", 2.0);
        for (size_t i = 0; i < iters; i++) {
            if (i % stride != 0 && i + 1 != iters) continue;
            size_t lo = i >= window / 2 ? i - window / 2 : 0;
            size_t hi = i + window / 2 + 1 < iters ? i + window / 2 + 1 : iters;
            double avg = (prefix[hi] - prefix[lo]) / (double)(hi - lo);
            if (isfinite(avg)) fprintf(out, "%.1f,%.1f ", sx(&f, (double)(i + 1)), sy(&f, avg));
        }
        fprintf(out, "'/>\n");
        free(prefix);
    }
    char avg[64];
    snprintf(avg, sizeof avg, "moving average (%zu iterations)", window);
    const char *labels[2] = { "loss of each batch", avg };
    const char *colors[2] = { "#9ecae1", "#08519c" };
    legend(out, &f, 0, labels, colors, 2);
}

static void accuracy_panel(FILE *out, const eval_point *ev, size_t n, size_t iters)
{
    double lo = 1.0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].train < lo) lo = ev[i].train;
        if (ev[i].test < lo) lo = ev[i].test;
    }
    lo = floor((lo - 0.005) * 20.0) / 20.0;  /* a margin, down to a multiple of 0.05 */
    if (lo > 0.95) lo = 0.95;
    if (lo < 0) lo = 0;
    frame f = { panel_x[1], TOP, PANEL_W, PANEL_H, 0, (double)iters, lo, 1.0 };
    axes(out, &f, "Accuracy", "iteration", "accuracy");
    const char *colors[2] = { "#08519c", "#e6550d" };
    for (int s = 0; s < 2; s++) {
        polyline_begin(out, colors[s], 2.0);
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%.1f,%.1f ", sx(&f, (double)ev[i].iter), sy(&f, s ? ev[i].test : ev[i].train));
        fprintf(out, "'/>\n");
        for (size_t i = 0; i < n; i++)
            fprintf(out, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", sx(&f, (double)ev[i].iter),
                    sy(&f, s ? ev[i].test : ev[i].train), colors[s]);
    }
    const char *labels[2] = { "train set", "test set" };
    legend(out, &f, 1, labels, colors, 2);   /* accuracy rises to the right: top left is free */
}

int plot_write_svg(const char *path, const char *caption, const double *loss, size_t iters,
                   const eval_point *evals, size_t nevals)
{
    FILE *out = fopen(path, "w");
    if (!out) return -1;
    fprintf(out, "<?xml version='1.0' encoding='UTF-8'?>\n"
                 "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
                 "viewBox='0 0 %d %d' font-family='sans-serif' font-size='12'>\n"
                 "<rect width='100%%' height='100%%' fill='white'/>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    if (iters > 0) loss_panel(out, loss, iters);
    if (nevals > 0) accuracy_panel(out, evals, nevals, iters ? iters : 1);
    if (caption)
        fprintf(out, "<text x='%d' y='%d' text-anchor='middle' fill='#444'>%s</text>\n", WIDTH / 2,
                HEIGHT - 8, caption);
    fprintf(out, "</svg>\n");
    int bad = ferror(out);
    if (fclose(out) != 0) bad = 1;
    return bad ? -1 : 0;
}
