/* synth_impl.h — what the synthetic-ECG files share: dipole kernels and beat morphologies, the beat
 * list a rhythm produces, and the renderers. Not a public interface (see synth.h). */
#ifndef ECGFM_CORE_SYNTH_IMPL_H
#define ECGFM_CORE_SYNTH_IMPL_H

#include <stddef.h>

#include "core/base/rng.h"
#include "core/data/synth.h"

/* The 8 independent leads the dipole is projected onto; the other 4 limb leads are derived. */
#define SYNTH_N_INDEP 8
extern const int synth_indep_lead[SYNTH_N_INDEP]; /* I, II, V1..V6 as ecg_lead_names indices */

#define SYNTH_MAX_KERNELS 48

enum { SYNTH_WAVE_P, SYNTH_WAVE_QRS, SYNTH_WAVE_T };

/* One Gaussian event of the dipole: a(t) = a · exp(-(t - t_c)^2 / (2 sigma^2)), a along Frank
 * X (left), Y (feet), Z (back). Times are seconds from the R peak at 60 bpm (phase / 2π). */
typedef struct {
    float t, sigma;
    float a[3];
    int wave;
} synth_kernel;

typedef struct {
    int n;
    synth_kernel k[SYNTH_MAX_KERNELS];
} synth_morph;

enum { SYNTH_BEAT_SINUS, SYNTH_BEAT_PVC };

typedef struct {
    double t; /* R peak (ventricular activation), seconds from the record start */
    float rr; /* the sinus cycle the beat belongs to, s (drives the QT scaling) */
    int kind; /* SYNTH_BEAT_* */
    float gain_p, gain_qrs, gain_t;
} synth_beat;

/* Everything drawn for one record's heart, before rendering. */
typedef struct {
    int label;
    double hr;     /* mean rate, bpm */
    double f_resp; /* respiration, Hz (RSA, QRS amplitude modulation, baseline wander) */
    double resp_phase, resp_depth; /* respiratory modulation of the QRS amplitude */
    synth_morph normal;            /* supraventricular beat (P wave dropped in AF) */
    synth_morph ectopic;           /* premature ventricular beat (PVC records) */
    double p_scale;                /* P-wave time scale (PR interval shortens with rate) */
    double t_scale;                /* record factor on the Bazett-like QT scaling */
    float proj[SYNTH_N_INDEP][3];  /* Dower matrix · rotation · scaling */
    /* f-waves (AF): atrial dipole A(t) (u1 Re w + rho u2 Im w), w = z + h2 z^2 + h3 z^3 */
    double f_hz, f_dev, f_mod_hz, f_mod_phase;
    double f_amp, f_am_depth, f_am_hz, f_am_phase;
    double f_h2[2], f_h3[2]; /* complex harmonic weights */
    double f_rho, f_u1[3], f_u2[3];
} synth_heart;

/* synth_dipole.c: morphologies, lead projection, rendering into dipole[3][n]. */
void synth_heart_draw(synth_heart *h, rng_state *r);
void synth_render_beats(const synth_heart *h, const synth_beat *beats, size_t n_beats,
                        float *dip[3], size_t n, double fs);
void synth_gaussian_add(float *x, size_t n, double fs, double c, double sigma, double a);
void synth_render_fwaves(const synth_heart *h, rng_state *r, float *dip[3], size_t n, double fs);

/* synth_rhythm.c: the beat list of a record. Fills at most max beats (enough for rates up to
 * 250 bpm over [-1.5 s, seconds + 1 s]) and returns how many; *n_ectopic counts PVCs inside. */
size_t synth_beats_capacity(double seconds);
size_t synth_rhythm_beats(const synth_heart *h, rng_state *r, double seconds, synth_beat *beats,
                          size_t max, int *n_ectopic);

/* synth_noise.c: adds baseline wander, powerline, muscle noise and electrode-motion bursts to the
 * 8 independent leads. scratch holds 2n floats. Returns the mains frequency used (0 when off). */
double synth_noise_add(const synth_config *c, rng_state *r, double f_resp,
                       float *lead[SYNTH_N_INDEP], size_t n, float *scratch);

/* Small helpers over the shared RNG. */
static inline double synth_uni(rng_state *r, double lo, double hi) {
    return lo + (hi - lo) * (double)rng_uniform(r);
}

#endif
