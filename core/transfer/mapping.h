/* mapping.h — how a non-ECG series (UCR/UEA task) becomes encoder input: which leads carry it
 * (channel policy), how its length meets the 600-sample window (length policy), and its amplitude.
 */
#ifndef ECGFM_CORE_TRANSFER_MAPPING_H
#define ECGFM_CORE_TRANSFER_MAPPING_H

#include <stddef.h>

#include "core/base/error.h"
#include "core/data/resample.h"
#include "core/data/task.h"

/* Channel policy. LEAD2 and ALL take univariate series only (a multichannel task must use MULTI:
 * map_opts_check says so); MULTI puts channel c on lead c (I, II, III, aVR, ...) and drops
 * channels past the encoder's in_channels (counted in map_series' *dropped so the caller can say
 * so). A univariate series under MULTI sits on lead I. Leads without a channel are zero, as the
 * encoder sees missing leads (SPEC §1). */
typedef enum { MAP_CH_LEAD2 = 0, MAP_CH_ALL = 1, MAP_CH_MULTI = 2 } map_channels;

/* Length policy. RESAMPLE: the whole series resized to one window (in_samples). SLIDE: the series
 * resized to round(length * slide_rate) samples (at least 1) and cut into windows of in_samples
 * every slide_stride samples, the last window aligned to the end so the tail is seen; a resized
 * series shorter than a window gives one window, zero-padded after the series. The caller
 * averages the windows' embeddings. */
typedef enum { MAP_LEN_RESAMPLE = 0, MAP_LEN_SLIDE = 1 } map_length;

/* Amplitude after per-series z-scoring. UNIT keeps unit variance: what the masked objectives
 * (JEPA, data2vec, DinoSR, HuBERT++) train on, since they z-score each lead with PTB-XL
 * statistics. MV multiplies lead l by PTB-XL's standard deviation of that lead (SPEC §1, e.g.
 * 0.1647 for lead II), i.e. gives the series the typical millivolt spread of the lead it sits on:
 * what CPC, trained on raw millivolts, expects. map_amplitude_for_objective gives that reasoning's
 * choice, but the default is UNIT for every objective: on train-split cross-validation the bundled
 * CPC checkpoint's embeddings classified better at UNIT (docs/results/transfer_bundled.md). */
typedef enum { MAP_AMP_UNIT = 0, MAP_AMP_MV = 1 } map_amplitude;

typedef struct {
    map_channels channels;
    map_length length;
    double slide_rate;      /* SLIDE: resized samples per series sample (> 0) */
    int slide_stride;       /* SLIDE: samples between window starts (>= 1) */
    resample_method resize; /* the length-to-length resize (resample_length) */
    map_amplitude amplitude;
} map_opts;

/* Defaults, chosen by 5-fold cross-validation on the train splits of the seven bundled UCR/UEA
 * tasks only (docs/results/transfer_bundled.md): channels ALL, length RESAMPLE, LINEAR resize,
 * UNIT amplitude (also for CPC checkpoints: measured better than MV); slide_rate 4, stride 300.
 * A multichannel task needs MULTI (map_opts_check). */
void map_opts_default(map_opts *o);
ecg_code map_opts_check(const map_opts *o, int n_dims, ecg_err *err);

const char *map_channels_name(map_channels c);   /* "lead2", "all", "multi" */
const char *map_length_name(map_length l);       /* "resample", "slide" */
const char *map_amplitude_name(map_amplitude a); /* "unit", "mv" */
ecg_code map_channels_parse(const char *s, map_channels *out, ecg_err *err);
ecg_code map_length_parse(const char *s, map_length *out, ecg_err *err);
ecg_code map_amplitude_parse(const char *s, map_amplitude *out, ecg_err *err);
/* MV for "cpc" (trained on raw millivolts), UNIT for any other objective or NULL. */
map_amplitude map_amplitude_for_objective(const char *objective);
/* The multiplier applied to lead `lead` after z-scoring. */
float map_lead_scale(map_amplitude a, int lead);

/* Samples of a series of `length` after the resize, and its window count. */
size_t map_resized_length(const map_opts *o, size_t length, int in_samples);
int map_window_count(const map_opts *o, size_t length, int in_samples);
/* Start of window w in the resized series (0 when it is shorter than a window). */
size_t map_window_start(const map_opts *o, size_t resized, int in_samples, int w);

/* Fills a channel of n samples that may hold NaN: interior runs of NaN by linear interpolation
 * between their neighbours, leading and trailing runs with the nearest valid value, an all-NaN
 * channel with zeros. Returns the number of values filled. */
size_t map_fill_missing(float *x, size_t n);

/* Series i of t as encoder windows: out holds map_window_count(o, length[i], in_samples) windows
 * of (in_channels, in_samples), written in full (zeros where no channel goes). Per channel:
 * missing values filled (map_fill_missing), resized (opts->resize), z-scored over the whole
 * resized series (population variance; a constant channel becomes zeros), placed on its leads,
 * multiplied by map_lead_scale. *n_windows gets the count; *dropped (may be NULL) the channels
 * that found no lead. */
ecg_code map_series(const map_opts *o, const task_split *t, int i, int in_channels, int in_samples,
                    float *out, int *n_windows, int *dropped, ecg_err *err);

#endif
