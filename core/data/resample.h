/* resample.h — signal preparation for the encoder: rational-ratio polyphase resampling designed
 * like scipy.signal.resample_poly, an arbitrary-ratio windowed-sinc path, optional filters, 2.5 s
 * windows. */
#ifndef ECGFM_CORE_RESAMPLE_H
#define ECGFM_CORE_RESAMPLE_H

#include <stddef.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/data/record.h"

/* Largest reduced up or down factor the polyphase path takes; larger ratios (359.7 -> 240 Hz is
 * 800/1199) go through the arbitrary-ratio sinc path: the same filter as a continuous function
 * (tabulated, 2.5e-8 of its peak), evaluated at the exact fractional positions.
 */
#define RESAMPLE_MAX_FACTOR 640
/* Kaiser beta and zero crossings per side of the lowpass, as scipy's default ('kaiser', 5.0), 10.
 */
#define RESAMPLE_KAISER_BETA 5.0
#define RESAMPLE_HALF_ZEROS 10

/* ---- rational ratio: polyphase FIR ------------------------------------------------------------
 */

/* The filter of scipy.signal.resample_poly(x, up, down) with its default window: firwin(2*half+1,
 * 1/max(up,down), window=('kaiser', 5.0)) scaled by up, half = 10*max(up,down), after up/down are
 * reduced by their gcd. Built once, applied to any number of channels. */
typedef struct {
    int up, down; /* reduced */
    int half_len; /* taps either side of the centre, in the upsampled domain */
    double *h;    /* [2*half_len + 1] */
    /* The same taps regrouped by phase r = t mod up, reversed so each output is one contiguous
     * dot product over the input: poly[r * stride + i] = h[r + (len[r] - 1 - i) * up]. */
    double *poly;
    int *poly_len;
    int stride;
} resample_plan;

ecg_code resample_plan_init(resample_plan *p, int up, int down, ecg_err *err);
void resample_plan_free(resample_plan *p);
/* ceil(n_in * up / down), scipy's output length. */
size_t resample_plan_out_len(const resample_plan *p, size_t n_in);
/* y[k] = sum_j x[j] h[half + k*down - j*up], x zero outside [0, n_in) as scipy's default
 * padtype='constant'. y has resample_plan_out_len(p, n_in) entries. Each output is one float sum
 * in increasing j over float taps (relative error ~1e-7, well inside scipy parity). */
void resample_plan_apply(const resample_plan *p, const float *x, size_t n_in, float *y);
/* The same for n_rows rows x[c] -> y[c] (a NULL x[c] is a row of zeros), computed side by side:
 * each row's output is bit-identical to resample_plan_apply on that row alone. */
void resample_plan_apply_rows(const resample_plan *p, const float *const *x, int n_rows,
                              size_t n_in, float *const *y);

/* Reduce fs_out/fs_in to up/down when both rates are multiples of 1/1000 Hz (to 1e-9) and the
 * reduced factors are at most RESAMPLE_MAX_FACTOR; returns 0 otherwise (use the sinc path). */
int resample_ratio(double fs_in, double fs_out, int *up, int *down);

/* ---- arbitrary ratio: windowed-sinc interpolation ---------------------------------------------
 */

typedef enum {
    RESAMPLE_SINC = 0,   /* the resample_poly kernel as a continuous function of time */
    RESAMPLE_LINEAR = 1, /* two-tap linear interpolation, no anti-aliasing */
} resample_method;

/* Output length for a rate change: ceil(n_in * fs_out / fs_in) (equal to the polyphase length). */
size_t resample_out_len(size_t n_in, double fs_in, double fs_out);
/* Rate change of one channel. Uses the polyphase path when resample_ratio() finds a ratio, the
 * sinc path otherwise; both place output k at input time k*fs_in/fs_out and treat x as zero
 * outside the record, as scipy does. y has resample_out_len() entries. */
ecg_code resample_rate(const float *x, size_t n_in, double fs_in, double fs_out, float *y,
                       ecg_err *err);
/* Rate change through the sinc path whatever the ratio (also what resample_rate uses for ratios
 * the polyphase path does not take). */
ecg_code resample_rate_sinc(const float *x, size_t n_in, double fs_in, double fs_out, float *y,
                            ecg_err *err);
/* Length-to-length resize for series without a sampling rate (UCR shapes, spectra): sample
 * centres aligned (output k sits at input position (k + 0.5) * n_in / n_out - 0.5, as
 * torch.nn.functional.interpolate(align_corners=False)). SINC mirrors the series at its ends
 * instead of zero padding, so the ends do not droop; LINEAR clamps. */
ecg_code resample_length(const float *x, size_t n_in, float *y, size_t n_out, resample_method m,
                         ecg_err *err);

/* Every channel of in at fs_out into a new record (record_alloc'd; names, units, comments kept).
 * NaN samples spread over the filter's support: fill them before resampling if that matters. */
ecg_code resample_record(ecg_record *out, const ecg_record *in, double fs_out, ecg_err *err);

/* ---- optional filters (all off unless asked for) ----------------------------------------------
 */

typedef struct {
    double highpass_hz; /* baseline-wander removal: zero-phase 2nd-order Butterworth; 0 = off */
    double notch_hz;    /* powerline notch (50 or 60); 0 = off */
    double notch_q;     /* quality factor of the notch; 0 means 30 */
} resample_filter_opts;

/* Zero-phase filtering as scipy.signal.filtfilt(b, a, x) with its defaults (odd extension of
 * 3*3 = 9 samples, steady-state initial conditions), in double. Rows of x are filtered in place. */
ecg_code resample_highpass(float *x, int n_ch, size_t n, double fs, double fc, ecg_err *err);
ecg_code resample_notch(float *x, int n_ch, size_t n, double fs, double f0, double q, ecg_err *err);
/* Applies what opts asks for (high-pass first); opts NULL or all zero does nothing. */
ecg_code resample_filter(float *x, int n_ch, size_t n, double fs, const resample_filter_opts *o,
                         ecg_err *err);
/* The biquads used above (b[3], a[3] with a[0] = 1), equal to scipy.signal.butter(2, fc,
 * 'highpass', fs=fs) and scipy.signal.iirnotch(f0, q, fs). */
ecg_code resample_design_highpass(double fs, double fc, double b[3], double a[3], ecg_err *err);
ecg_code resample_design_notch(double fs, double f0, double q, double b[3], double a[3],
                               ecg_err *err);

/* ---- windows of a record ----------------------------------------------------------------------
 */

/* Non-overlapping evaluation windows of `win` samples: floor(n / win), the tail dropped; a record
 * shorter than one window still gives one window (zero-padded). 0 when n == 0. */
size_t resample_window_count(size_t n, size_t win);
/* Copy [n_ch][start, start + win) of x ([n_ch][n]) into out ([n_ch][win]); samples past the end
 * are zero. */
void resample_window_extract(const float *x, int n_ch, size_t n, size_t start, size_t win,
                             float *out);
/* One random crop: start uniform in [0, n - win] drawn from r (one rng_below call whenever
 * n >= win), or 0 without a draw when the record is shorter than the window (zero-padded).
 * Returns the start. */
size_t resample_crop_random(const float *x, int n_ch, size_t n, size_t win, rng_state *r,
                            float *out);

#endif
