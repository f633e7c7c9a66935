/* mapping.c — a task series as encoder windows: missing values filled, resized, z-scored, placed on
 * leads and scaled (see mapping.h for the policies). */
#include "core/transfer/mapping.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PTB-XL per-lead standard deviations in millivolts (SPEC §1), leads I, II, III, aVR, aVL, aVF,
 * V1-V6. */
static const float ptbxl_std[12] = {0.16401004f, 0.1647168f,  0.23374124f, 0.33767231f,
                                    0.33362807f, 0.30583013f, 0.2731171f,  0.27554379f,
                                    0.17128962f, 0.14030828f, 0.14606956f, 0.14656108f};

void map_opts_default(map_opts *o) {
    memset(o, 0, sizeof *o);
    o->channels = MAP_CH_ALL;
    o->length = MAP_LEN_RESAMPLE;
    o->slide_rate = 4.0;
    o->slide_stride = 300;
    o->resize = RESAMPLE_LINEAR;
    o->amplitude = MAP_AMP_UNIT;
}

ecg_code map_opts_check(const map_opts *o, int n_dims, ecg_err *err) {
    if (o->channels != MAP_CH_LEAD2 && o->channels != MAP_CH_ALL && o->channels != MAP_CH_MULTI)
        return err_set(err, ECG_EINVAL, "mapping: unknown channel policy %d", (int)o->channels);
    if (o->length != MAP_LEN_RESAMPLE && o->length != MAP_LEN_SLIDE)
        return err_set(err, ECG_EINVAL, "mapping: unknown length policy %d", (int)o->length);
    if (o->resize != RESAMPLE_LINEAR && o->resize != RESAMPLE_SINC)
        return err_set(err, ECG_EINVAL, "mapping: unknown resize method %d", (int)o->resize);
    if (o->amplitude != MAP_AMP_UNIT && o->amplitude != MAP_AMP_MV)
        return err_set(err, ECG_EINVAL, "mapping: unknown amplitude %d", (int)o->amplitude);
    if (o->length == MAP_LEN_SLIDE) {
        if (!(o->slide_rate > 0) || !isfinite(o->slide_rate) || o->slide_rate > 1e4)
            return err_set(err, ECG_EINVAL, "mapping: slide_rate must be in (0, 1e4], got %g",
                           o->slide_rate);
        if (o->slide_stride < 1)
            return err_set(err, ECG_EINVAL, "mapping: slide_stride must be >= 1, got %d",
                           o->slide_stride);
    }
    if (n_dims < 1) return err_set(err, ECG_EINVAL, "mapping: the task has no channels");
    if (n_dims > 1 && o->channels != MAP_CH_MULTI)
        return err_set(err, ECG_EINVAL,
                       "mapping: channel policy \"%s\" takes univariate series; this task has %d "
                       "channels (use \"multi\")",
                       map_channels_name(o->channels), n_dims);
    return ECG_OK;
}

const char *map_channels_name(map_channels c) {
    switch (c) {
    case MAP_CH_LEAD2: return "lead2";
    case MAP_CH_ALL: return "all";
    case MAP_CH_MULTI: return "multi";
    }
    return "?";
}

const char *map_length_name(map_length l) {
    return l == MAP_LEN_RESAMPLE ? "resample" : l == MAP_LEN_SLIDE ? "slide" : "?";
}

const char *map_amplitude_name(map_amplitude a) {
    return a == MAP_AMP_UNIT ? "unit" : a == MAP_AMP_MV ? "mv" : "?";
}

ecg_code map_channels_parse(const char *s, map_channels *out, ecg_err *err) {
    for (int c = MAP_CH_LEAD2; c <= MAP_CH_MULTI; c++)
        if (s && strcmp(s, map_channels_name((map_channels)c)) == 0) {
            *out = (map_channels)c;
            return ECG_OK;
        }
    return err_set(err, ECG_EINVAL, "channels must be lead2, all or multi, got \"%s\"", s ? s : "");
}

ecg_code map_length_parse(const char *s, map_length *out, ecg_err *err) {
    for (int l = MAP_LEN_RESAMPLE; l <= MAP_LEN_SLIDE; l++)
        if (s && strcmp(s, map_length_name((map_length)l)) == 0) {
            *out = (map_length)l;
            return ECG_OK;
        }
    return err_set(err, ECG_EINVAL, "length must be resample or slide, got \"%s\"", s ? s : "");
}

ecg_code map_amplitude_parse(const char *s, map_amplitude *out, ecg_err *err) {
    for (int a = MAP_AMP_UNIT; a <= MAP_AMP_MV; a++)
        if (s && strcmp(s, map_amplitude_name((map_amplitude)a)) == 0) {
            *out = (map_amplitude)a;
            return ECG_OK;
        }
    return err_set(err, ECG_EINVAL, "amplitude must be unit or mv, got \"%s\"", s ? s : "");
}

map_amplitude map_amplitude_for_objective(const char *objective) {
    return objective && strcmp(objective, "cpc") == 0 ? MAP_AMP_MV : MAP_AMP_UNIT;
}

float map_lead_scale(map_amplitude a, int lead) {
    if (a != MAP_AMP_MV) return 1.0f;
    return ptbxl_std[lead >= 0 && lead < 12 ? lead : 1];
}

size_t map_resized_length(const map_opts *o, size_t length, int in_samples) {
    if (o->length == MAP_LEN_RESAMPLE) return (size_t)in_samples;
    double m = nearbyint((double)length * o->slide_rate);
    return m < 1 ? 1 : (size_t)m;
}

int map_window_count(const map_opts *o, size_t length, int in_samples) {
    size_t m = map_resized_length(o, length, in_samples), w = (size_t)in_samples;
    if (o->length == MAP_LEN_RESAMPLE || m <= w) return 1;
    size_t s = (size_t)o->slide_stride;
    return (int)(1 + (m - w + s - 1) / s);
}

size_t map_window_start(const map_opts *o, size_t resized, int in_samples, int w) {
    size_t win = (size_t)in_samples;
    if (resized <= win) return 0;
    size_t s = (size_t)w * (size_t)(o->length == MAP_LEN_SLIDE ? o->slide_stride : 0);
    return s < resized - win ? s : resized - win;
}

size_t map_fill_missing(float *x, size_t n) {
    size_t filled = 0, prev = (size_t)-1; /* last valid index */
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i])) continue;
        if (i > 0 && (prev == (size_t)-1 || prev + 1 < i)) {
            size_t from = prev == (size_t)-1 ? 0 : prev + 1;
            for (size_t j = from; j < i; j++) {
                if (prev == (size_t)-1)
                    x[j] = x[i];
                else {
                    double t = (double)(j - prev) / (double)(i - prev);
                    x[j] = (float)((1 - t) * x[prev] + t * x[i]);
                }
                filled++;
            }
        }
        prev = i;
    }
    if (prev == (size_t)-1) {
        for (size_t j = 0; j < n; j++)
            x[j] = 0;
        return n;
    }
    for (size_t j = prev + 1; j < n; j++, filled++)
        x[j] = x[prev];
    return filled;
}

/* Population z-score in place, accumulated in double; a constant channel becomes zeros. */
static void zscore(float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    double mean = s / (double)n, v = 0;
    for (size_t i = 0; i < n; i++)
        v += ((double)x[i] - mean) * ((double)x[i] - mean);
    double sd = sqrt(v / (double)n);
    /* Relative threshold: a series of equal values (up to float rounding) carries no shape. */
    double inv = sd > 1e-6 * (fabs(mean) + 1e-30) && sd > 0 ? 1.0 / sd : 0.0;
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(((double)x[i] - mean) * inv);
}

ecg_code map_series(const map_opts *o, const task_split *t, int i, int in_channels, int in_samples,
                    float *out, int *n_windows, int *dropped, ecg_err *err) {
    ecg_code rc = map_opts_check(o, t->n_dims, err);
    if (rc) return rc;
    if (i < 0 || i >= t->n_series)
        return err_set(err, ECG_EINVAL, "mapping: series %d out of range", i);
    if (in_channels < 1 || in_samples < 1)
        return err_set(err, ECG_EINVAL, "mapping: bad encoder input shape (%d, %d)", in_channels,
                       in_samples);
    size_t len = t->length[i], win = (size_t)in_samples;
    if (len == 0) return err_set(err, ECG_EINVAL, "mapping: series %d is empty", i);
    size_t m = map_resized_length(o, len, in_samples);
    int nw = map_window_count(o, len, in_samples);
    float *raw = malloc(len * sizeof *raw), *res = malloc(m * sizeof *res);
    if (!raw || !res) {
        free(raw);
        free(res);
        return err_set(err, ECG_ENOMEM, "mapping: out of memory for a series of %zu samples", len);
    }
    memset(out, 0, (size_t)nw * (size_t)in_channels * win * sizeof *out);
    int n_drop = 0;
    for (int c = 0; c < t->n_dims && !rc; c++) {
        int lead_lo, lead_hi; /* leads [lo, hi) carry channel c */
        if (o->channels == MAP_CH_LEAD2) {
            lead_lo = in_channels > 1 ? 1 : 0;
            lead_hi = lead_lo + 1;
        } else if (o->channels == MAP_CH_ALL) {
            lead_lo = 0;
            lead_hi = in_channels;
        } else {
            if (c >= in_channels) {
                n_drop++;
                continue;
            }
            lead_lo = c;
            lead_hi = c + 1;
        }
        memcpy(raw, t->values + t->offset[i] + (size_t)c * len, len * sizeof *raw);
        map_fill_missing(raw, len);
        if (m == len)
            memcpy(res, raw, len * sizeof *res);
        else
            rc = resample_length(raw, len, res, m, o->resize, err);
        if (rc) break;
        zscore(res, m);
        for (int w = 0; w < nw; w++) {
            size_t start = map_window_start(o, m, in_samples, w);
            size_t n = m - start < win ? m - start : win;
            for (int l = lead_lo; l < lead_hi; l++) {
                float sc = map_lead_scale(o->amplitude, l);
                float *dst = out + ((size_t)w * (size_t)in_channels + (size_t)l) * win;
                for (size_t k = 0; k < n; k++)
                    dst[k] = sc * res[start + k];
            }
        }
    }
    free(raw);
    free(res);
    if (rc) return rc;
    *n_windows = nw;
    if (dropped) *dropped = n_drop;
    return ECG_OK;
}
