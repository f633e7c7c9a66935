/* synth_rhythm.c — when the beats fall: sinus rhythm with ECGSYN's LF/HF heart-rate variability,
 * i.i.d. irregular AF intervals, premature ventricular beats with compensatory pauses. */
#include <math.h>

#include "core/data/synth_impl.h"

#define TWO_PI 6.283185307179586
#define RR_MIN 0.24 /* 250 bpm */
#define RR_MAX 3.0

/* Beats start this long before the record so that the T waves of earlier beats reach into it. */
#define LEAD_IN 1.5
#define LEAD_OUT 1.0

size_t synth_beats_capacity(double seconds) {
    return (size_t)((seconds + LEAD_IN + LEAD_OUT) / RR_MIN) + 8;
}

static double clamp_rr(double rr) {
    return rr < RR_MIN ? RR_MIN : rr > RR_MAX ? RR_MAX : rr;
}

static void set_gains(const synth_heart *h, rng_state *r, synth_beat *b) {
    double resp = 1 + h->resp_depth * sin(TWO_PI * h->f_resp * b->t + h->resp_phase);
    b->gain_qrs = (float)(resp * (1 + 0.02 * rng_normal(r)));
    b->gain_t = (float)(1 + 0.03 * rng_normal(r));
    b->gain_p = h->label == SYNTH_AF ? 0.0f : (float)(1 + 0.03 * rng_normal(r));
}

/* ECGSYN (McSharry et al. 2003) draws the RR tachogram from a bimodal spectrum: Gaussians at
 * 0.1 Hz (Mayer waves) and the respiratory frequency (RSA, 0.25 Hz in ECGSYN) with 0.01 Hz spread,
 * random phases. Here the same spectrum by random-phase synthesis with frequencies drawn from those
 * Gaussians (a handful of sinusoids per band), evaluated once per beat. */
static size_t sinus_beats(const synth_heart *h, rng_state *r, double seconds, synth_beat *b,
                          size_t max) {
    enum { K = 6 };
    double sd = h->hr * synth_uni(r, 0.01, 0.04); /* bpm */
    double lfhf = synth_uni(r, 0.5, 2.0);
    double a_lf = sqrt(2 * sd * sd * lfhf / (1 + lfhf) / K),
           a_hf = sqrt(2 * sd * sd / (1 + lfhf) / K);
    double f[2 * K], amp[2 * K], ph[2 * K];
    for (int i = 0; i < 2 * K; i++) {
        double centre = i < K ? 0.1 : h->f_resp;
        f[i] = centre + 0.01 * rng_normal(r);
        if (f[i] < 0.02) f[i] = 0.02;
        amp[i] = i < K ? a_lf : a_hf;
        ph[i] = synth_uni(r, 0, TWO_PI);
    }
    double t = -LEAD_IN - synth_uni(r, 0, 1) * 60.0 / h->hr;
    size_t nb = 0;
    while (t < seconds + LEAD_OUT && nb < max) {
        double rate = h->hr;
        for (int i = 0; i < 2 * K; i++)
            rate += amp[i] * cos(TWO_PI * f[i] * t + ph[i]);
        double rr = clamp_rr(60.0 / (rate > 10 ? rate : 10));
        b[nb].t = t;
        b[nb].rr = (float)rr;
        b[nb].kind = SYNTH_BEAT_SINUS;
        set_gains(h, r, &b[nb]);
        nb++;
        t += rr;
    }
    return nb;
}

/* AF: the ventricles follow an irregularly irregular AV-node output, modelled as i.i.d. log-normal
 * RR intervals around the drawn mean rate (coefficient of variation 0.15–0.3). */
static size_t af_beats(const synth_heart *h, rng_state *r, double seconds, synth_beat *b,
                       size_t max) {
    double mean = 60.0 / h->hr, s = synth_uni(r, 0.15, 0.3);
    double t = -LEAD_IN - synth_uni(r, 0, 1) * mean;
    size_t nb = 0;
    while (t < seconds + LEAD_OUT && nb < max) {
        double rr = clamp_rr(mean * exp(s * rng_normal(r) - 0.5 * s * s));
        b[nb].t = t;
        b[nb].rr = (float)rr;
        b[nb].kind = SYNTH_BEAT_SINUS;
        set_gains(h, r, &b[nb]);
        nb++;
        t += rr;
    }
    return nb;
}

static int inside(double t, double seconds) {
    return t >= 0 && t < seconds;
}

/* A PVC replaces sinus beat n: it fires a fixed time after beat n-1 (a unifocal focus has a fixed
 * coupling interval, 0.4–0.6 s kept within 50–72% of the cycle), the sinus impulse that would have
 * made beat n meets refractory ventricles, and beat n+1 arrives on schedule, two cycles after n-1
 * (full compensatory pause). No couplets. */
static void make_pvc(const synth_heart *h, rng_state *r, synth_beat *b, size_t n, double coupling) {
    double rr = b[n].t - b[n - 1].t, c = coupling + 0.01 * rr * rng_normal(r);
    if (c < 0.5 * rr) c = 0.5 * rr;
    if (c > 0.72 * rr) c = 0.72 * rr;
    b[n].t = b[n - 1].t + c;
    b[n].kind = SYNTH_BEAT_PVC;
    set_gains(h, r, &b[n]);
    b[n].gain_p = 0;
}

/* The PVC replacing beat n shows with its pause when beats n-1 and n+1 are well inside the record.
 */
static int visible(const synth_beat *b, size_t n, double seconds) {
    return b[n - 1].t >= 0.35 && b[n + 1].t <= seconds - 0.35;
}

static int convertible(const synth_beat *b, size_t n, double seconds) {
    return b[n - 1].kind == SYNTH_BEAT_SINUS && b[n].kind == SYNTH_BEAT_SINUS &&
           b[n + 1].kind == SYNTH_BEAT_SINUS && visible(b, n, seconds);
}

static int pvc_beats(const synth_heart *h, rng_state *r, double seconds, synth_beat *b, size_t nb) {
    double p = synth_uni(r, 0.08, 0.3), coupling = synth_uni(r, 0.4, 0.6); /* s */
    int shown = 0;
    for (size_t n = 1; n + 1 < nb; n++) {
        if (rng_uniform(r) >= p) continue;
        make_pvc(h, r, b, n, coupling);
        shown |= visible(b, n, seconds);
        n++; /* the next beat is the sinus beat after the pause */
    }
    if (!shown) {
        /* A PVC record must show one PVC with its pause: convert a random sinus beat whose
         * neighbours are sinus beats inside the record (none when the record is too short). */
        size_t eligible = 0;
        for (size_t n = 1; n + 1 < nb; n++)
            eligible += convertible(b, n, seconds);
        if (eligible > 0) {
            uint64_t pick = rng_below(r, eligible);
            for (size_t n = 1; n + 1 < nb; n++)
                if (convertible(b, n, seconds) && pick-- == 0) {
                    make_pvc(h, r, b, n, coupling);
                    break;
                }
        }
    }
    int count = 0;
    for (size_t n = 0; n < nb; n++)
        count += b[n].kind == SYNTH_BEAT_PVC && inside(b[n].t, seconds);
    return count;
}

size_t synth_rhythm_beats(const synth_heart *h, rng_state *r, double seconds, synth_beat *beats,
                          size_t max, int *n_ectopic) {
    size_t nb = h->label == SYNTH_AF ? af_beats(h, r, seconds, beats, max)
                                     : sinus_beats(h, r, seconds, beats, max);
    *n_ectopic = h->label == SYNTH_PVC ? pvc_beats(h, r, seconds, beats, nb) : 0;
    return nb;
}
