/* plot.h — hand-written SVG line plots for the scaling study: y against N on a log x axis with the
 * random-init point N = 0 at its own tick, interval bars, dashed fitted power laws, a legend. */
#ifndef ECGFM_CORE_STUDY_PLOT_H
#define ECGFM_CORE_STUDY_PLOT_H

#include <stdio.h>

#include "core/base/error.h"

typedef struct {
    char label[160];
    int n;
    const double *x;       /* N (>= 0; 0 is drawn at the separate "0 (random init)" tick) */
    const double *y;       /* mean; NaN points are skipped */
    const double *lo, *hi; /* interval bars, may be NULL or NaN */
    int has_fit;           /* dashed E + A x^-alpha over the positive x range */
    double E, A, alpha;
} plot_series;

typedef struct {
    const char *title, *x_label, *y_label;
    int width, height; /* 0: 820 x 500 */
} plot_opts;

/* A standalone SVG document (XML declaration, svg root with xmlns, viewBox) on f: axes with ticks
 * at every distinct x of the series (labels 64, 3k, 30k, ...), y ticks at round steps, grid, one
 * coloured polyline with markers per series (N > 0 joined; N = 0 a lone marker), interval bars,
 * the fit dashed in the series' colour, and a legend on the right. Each series is a
 * <g class="series" data-label="..."> so tests and scripts can find it. Text is XML-escaped. */
ecg_code plot_svg_write(FILE *f, const plot_opts *o, const plot_series *s, int n_series,
                        ecg_err *err);
/* The same into path (atomically). */
ecg_code plot_svg_save(const char *path, const plot_opts *o, const plot_series *s, int n_series,
                       ecg_err *err);

#endif
