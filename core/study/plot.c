/* plot.c — the study's SVG plots, written by hand: log-x axis with a separate N = 0 tick, nice
 * y ticks, polylines, interval bars, dashed fits and a legend; valid standalone XML. */
#include "core/study/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/format/atomic_file.h"

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLOURS (sizeof palette / sizeof *palette)

static void xml_text(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        }
    }
}

static void size_label(double n, char *buf, size_t len) {
    if (n == 0)
        snprintf(buf, len, "0");
    else if (n >= 1e6 && fmod(n, 1e5) == 0)
        snprintf(buf, len, "%gM", n / 1e6);
    else if (n >= 1000 && fmod(n, 100) == 0)
        snprintf(buf, len, "%gk", n / 1000);
    else
        snprintf(buf, len, "%g", n);
}

/* A step of 1, 2 or 5 × 10^k giving about 5 ticks over span. */
static double nice_step(double span) {
    if (!(span > 0)) return 1;
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

typedef struct {
    double left, right, top, bottom; /* plot area in px */
    int has_zero;
    double zero_px, lmin, lmax; /* the zero tick; the log10 range of positive x */
    double ymin, ymax;
} frame;

static double px_x(const frame *fr, double x) {
    if (x <= 0) return fr->zero_px;
    double a = fr->left + (fr->has_zero ? 70 : 10), b = fr->right - 10;
    if (fr->lmax <= fr->lmin) return 0.5 * (a + b);
    return a + (log10(x) - fr->lmin) / (fr->lmax - fr->lmin) * (b - a);
}

static double px_y(const frame *fr, double y) {
    return fr->bottom - (y - fr->ymin) / (fr->ymax - fr->ymin) * (fr->bottom - fr->top);
}

static double fit_at(const plot_series *s, double x) {
    return s->E + s->A * pow(x, -s->alpha);
}

ecg_code plot_svg_write(FILE *f, const plot_opts *o, const plot_series *s, int n_series,
                        ecg_err *err) {
    int W = o && o->width ? o->width : 820, H = o && o->height ? o->height : 500;
    frame fr = {.left = 80, .right = W - 260, .top = 50, .bottom = H - 70};
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    /* distinct x values for ticks */
    int cap = 0;
    for (int i = 0; i < n_series; i++)
        cap += s[i].n;
    double *xs = malloc((size_t)(cap ? cap : 1) * sizeof *xs);
    if (!xs) return err_set(err, ECG_ENOMEM, "plot: out of memory");
    int nx = 0;
    for (int i = 0; i < n_series; i++)
        for (int k = 0; k < s[i].n; k++) {
            double x = s[i].x[k];
            if (!isfinite(x) || x < 0) continue;
            int seen = 0;
            for (int j = 0; j < nx && !seen; j++)
                seen = xs[j] == x;
            if (!seen) xs[nx++] = x;
            if (x == 0)
                fr.has_zero = 1;
            else {
                xmin = fmin(xmin, x);
                xmax = fmax(xmax, x);
            }
            double vals[3] = {s[i].y[k], s[i].lo ? s[i].lo[k] : NAN, s[i].hi ? s[i].hi[k] : NAN};
            for (int v = 0; v < 3; v++)
                if (isfinite(vals[v])) {
                    ymin = fmin(ymin, vals[v]);
                    ymax = fmax(ymax, vals[v]);
                }
        }
    for (int i = 0; i < n_series; i++)
        if (s[i].has_fit && isfinite(xmin))
            for (int k = 0; k <= 40; k++) {
                double x = pow(10, log10(xmin) + (log10(xmax) - log10(xmin)) * k / 40);
                double y = fit_at(&s[i], x);
                if (isfinite(y)) {
                    ymin = fmin(ymin, y);
                    ymax = fmax(ymax, y);
                }
            }
    if (!isfinite(ymin)) ymin = 0, ymax = 1;
    if (ymax - ymin < 1e-12) ymin -= 0.5, ymax += 0.5;
    double step = nice_step(ymax - ymin);
    fr.ymin = floor(ymin / step) * step;
    fr.ymax = ceil(ymax / step) * step;
    if (fr.ymax <= fr.ymin) fr.ymax = fr.ymin + step;
    fr.lmin = isfinite(xmin) ? log10(xmin) : 0;
    fr.lmax = isfinite(xmax) ? log10(xmax) : 1;
    if (fr.lmax - fr.lmin < 1e-9) fr.lmin -= 0.5, fr.lmax += 0.5;
    fr.zero_px = fr.left + 25;

    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%g\" y=\"25\" text-anchor=\"middle\" font-size=\"15\">",
            0.5 * (fr.left + fr.right));
    xml_text(f, o && o->title ? o->title : "");
    fprintf(f, "</text>\n<g class=\"axes\" stroke=\"black\" fill=\"none\">\n");
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>\n", fr.left, fr.bottom, fr.right,
            fr.bottom);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\"/>\n", fr.left, fr.top, fr.left,
            fr.bottom);
    if (fr.has_zero) { /* axis break between the zero tick and the log axis */
        double bx = fr.zero_px + 30;
        fprintf(f, "<path d=\"M %g %g l 6 -10 M %g %g l 6 -10\"/>\n", bx - 6, fr.bottom + 5, bx,
                fr.bottom + 5);
    }
    fprintf(f, "</g>\n<g class=\"ticks\" font-size=\"11\">\n");
    for (int j = 0; j < nx; j++) {
        double px = px_x(&fr, xs[j]);
        char lab[32];
        size_label(xs[j], lab, sizeof lab);
        fprintf(f,
                "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"#ddd\"/>"
                "<line x1=\"%.2f\" y1=\"%g\" x2=\"%.2f\" y2=\"%g\" stroke=\"black\"/>"
                "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n",
                px, fr.top, px, fr.bottom, px, fr.bottom, px, fr.bottom + 5, px, fr.bottom + 18,
                lab);
    }
    if (fr.has_zero)
        fprintf(f,
                "<text x=\"%.2f\" y=\"%g\" text-anchor=\"middle\" font-size=\"10\">(random "
                "init)</text>\n",
                fr.zero_px, fr.bottom + 31);
    /* decimals enough to tell neighbouring ticks apart (1390.5 is not "1390") */
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 10) dec = 10;
    for (int ti = 0;; ti++) {
        double y = fr.ymin + ti * step; /* by index: no drift from repeated adds */
        if (y > fr.ymax + 1e-9 * step) break;
        double py = px_y(&fr, y);
        fprintf(f,
                "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"#eee\"/>"
                "<line x1=\"%g\" y1=\"%.2f\" x2=\"%g\" y2=\"%.2f\" stroke=\"black\"/>"
                "<text x=\"%g\" y=\"%.2f\" text-anchor=\"end\">%.*f</text>\n",
                fr.left, py, fr.right, py, fr.left - 5, py, fr.left, py, fr.left - 8, py + 4, dec,
                fabs(y) < 1e-12 * step ? 0.0 : y);
    }
    fprintf(f, "</g>\n<text x=\"%g\" y=\"%d\" text-anchor=\"middle\">", 0.5 * (fr.left + fr.right),
            H - 20);
    xml_text(f, o && o->x_label ? o->x_label : "");
    fprintf(f,
            "</text>\n<text x=\"20\" y=\"%g\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 20 %g)\">",
            0.5 * (fr.top + fr.bottom), 0.5 * (fr.top + fr.bottom));
    xml_text(f, o && o->y_label ? o->y_label : "");
    fprintf(f, "</text>\n");

    for (int i = 0; i < n_series; i++) {
        const char *col = palette[(size_t)i % N_COLOURS];
        fprintf(f, "<g class=\"series\" data-label=\"");
        xml_text(f, s[i].label);
        fprintf(f, "\" stroke=\"%s\" fill=\"%s\">\n", col, col);
        /* the joined points (N > 0, in the order given) */
        fprintf(f, "<polyline fill=\"none\" stroke-width=\"2\" points=\"");
        for (int k = 0; k < s[i].n; k++)
            if (s[i].x[k] > 0 && isfinite(s[i].y[k]))
                fprintf(f, "%.2f,%.2f ", px_x(&fr, s[i].x[k]), px_y(&fr, s[i].y[k]));
        fprintf(f, "\"/>\n");
        for (int k = 0; k < s[i].n; k++) {
            if (!(s[i].x[k] >= 0) || !isfinite(s[i].y[k])) continue;
            double px = px_x(&fr, s[i].x[k]) + (i - 0.5 * (n_series - 1)) * 3; /* dodge bars */
            double lo = s[i].lo ? s[i].lo[k] : NAN, hi = s[i].hi ? s[i].hi[k] : NAN;
            if (isfinite(lo) && isfinite(hi))
                fprintf(f,
                        "<path class=\"bar\" fill=\"none\" d=\"M %.2f %.2f V %.2f M %.2f %.2f "
                        "h 8 M %.2f %.2f h 8\"/>\n",
                        px, px_y(&fr, lo), px_y(&fr, hi), px - 4, px_y(&fr, lo), px - 4,
                        px_y(&fr, hi));
            fprintf(f, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"/>\n", px, px_y(&fr, s[i].y[k]));
        }
        if (s[i].has_fit && isfinite(xmin)) {
            fprintf(f, "<polyline class=\"fit\" fill=\"none\" stroke-dasharray=\"6 4\" "
                       "stroke-width=\"1.5\" points=\"");
            for (int k = 0; k <= 60; k++) {
                double x = pow(10, fr.lmin + (fr.lmax - fr.lmin) * k / 60);
                if (x < xmin) x = xmin;
                if (x > xmax) x = xmax;
                double y = fit_at(&s[i], x);
                if (isfinite(y)) fprintf(f, "%.2f,%.2f ", px_x(&fr, x), px_y(&fr, y));
            }
            fprintf(f, "\"/>\n");
        }
        fprintf(f, "</g>\n");
    }
    /* legend */
    double lx = fr.right + 20, ly = fr.top + 5;
    fprintf(f, "<g class=\"legend\" font-size=\"11\">\n");
    for (int i = 0; i < n_series; i++) {
        const char *col = palette[(size_t)i % N_COLOURS];
        double y = ly + 20 * i;
        fprintf(f,
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"/>"
                "<text x=\"%g\" y=\"%g\">",
                lx, y, lx + 20, y, col, lx + 26, y + 4);
        xml_text(f, s[i].label);
        fprintf(f, "</text>\n");
    }
    double y = ly + 20 * n_series + 6;
    int any_fit = 0;
    for (int i = 0; i < n_series; i++)
        any_fit |= s[i].has_fit;
    if (any_fit) {
        fprintf(f,
                "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\" "
                "stroke-dasharray=\"6 4\"/><text x=\"%g\" y=\"%g\">fit E + A N^-alpha</text>\n",
                lx, y, lx + 20, y, lx + 26, y + 4);
        y += 20;
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\">bars: 95%% t-interval over seeds</text>\n", lx, y);
    fprintf(f, "</g>\n</svg>\n");
    free(xs);
    if (ferror(f)) return err_set(err, ECG_EIO, "plot: write failed");
    return ECG_OK;
}

ecg_code plot_svg_save(const char *path, const plot_opts *o, const plot_series *s, int n_series,
                       ecg_err *err) {
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (rc) return rc;
    if ((rc = plot_svg_write(a.fp, o, s, n_series, err))) {
        atomic_abort(&a);
        return rc;
    }
    return atomic_commit(&a, err);
}
