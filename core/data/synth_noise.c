/* synth_noise.c — the noise of a synthetic ECG: respiratory baseline wander and drift, mains,
 * band-limited muscle noise, electrode-motion bursts; each source from its own stream. */
#include <math.h>
#include <string.h>

#include "core/data/synth_impl.h"

#define TWO_PI 6.283185307179586

/* cos and sin of 2π f k / fs + phase for k < n by rotating a unit phasor (renormalised every
 * 1024 steps), so a sinusoid costs a complex multiply per sample instead of a libm call. */
static void fill_phasor(float *c, float *s, size_t n, double f, double fs, double phase) {
    double zr = cos(phase), zi = sin(phase), wr = cos(TWO_PI * f / fs), wi = sin(TWO_PI * f / fs);
    for (size_t k = 0; k < n; k++) {
        c[k] = (float)zr;
        s[k] = (float)zi;
        double t = zr * wr - zi * wi;
        zi = zr * wi + zi * wr;
        zr = t;
        if ((k & 1023) == 1023) {
            double m = 1.0 / sqrt(zr * zr + zi * zi);
            zr *= m, zi *= m;
        }
    }
}

/* lead += amp cos(ωt + phi) given the phasor of ωt: amp (cos phi · c − sin phi · s). */
static void add_sinusoid(float *x, const float *c, const float *s, size_t n, double amp,
                         double phi) {
    float a = (float)(amp * cos(phi)), b = (float)(-amp * sin(phi));
    for (size_t k = 0; k < n; k++)
        x[k] += a * c[k] + b * s[k];
}

/* Baseline wander: breathing moves the electrodes and the heart (ECGSYN's z0 term), plus slower
 * drift of the electrode–skin interface (0.02–0.12 Hz); each lead mixes them with its own
 * amplitudes and phases. */
static void baseline_wander(const synth_config *c, rng_state *r, double f_resp,
                            float *lead[SYNTH_N_INDEP], size_t n, float *cs, float *sn) {
    enum { NC = 3 };
    static const double share[NC] = {0.4, 0.3, 0.3};
    double amp = c->baseline_mv * synth_uni(r, 0.1, 1.0);
    double f[NC] = {f_resp, synth_uni(r, 0.02, 0.12), synth_uni(r, 0.02, 0.12)};
    double a[NC][SYNTH_N_INDEP], ph[NC][SYNTH_N_INDEP];
    for (int i = 0; i < NC; i++)
        for (int l = 0; l < SYNTH_N_INDEP; l++) {
            a[i][l] = amp * share[i] * synth_uni(r, 0, 1);
            ph[i][l] = synth_uni(r, 0, TWO_PI);
        }
    if (amp == 0) return;
    for (int i = 0; i < NC; i++) {
        fill_phasor(cs, sn, n, f[i], c->fs, 0);
        for (int l = 0; l < SYNTH_N_INDEP; l++)
            add_sinusoid(lead[l], cs, sn, n, a[i][l], ph[i][l]);
    }
}

/* Mains: a fundamental at 50 or 60 Hz leaking into every lead with its own amplitude and phase,
 * and a weaker third harmonic when the sampling rate carries it. */
static double powerline(const synth_config *c, rng_state *r, float *lead[SYNTH_N_INDEP], size_t n,
                        float *cs, float *sn) {
    double f = rng_below(r, 2) ? 60.0 : 50.0;
    if (c->powerline_hz > 0) f = c->powerline_hz;
    double amp = c->powerline_mv * synth_uni(r, 0.25, 1.0), h3 = synth_uni(r, 0, 0.2);
    double a[SYNTH_N_INDEP], ph[SYNTH_N_INDEP], ph3[SYNTH_N_INDEP];
    for (int l = 0; l < SYNTH_N_INDEP; l++) {
        a[l] = amp * synth_uni(r, 0.5, 1.0);
        ph[l] = synth_uni(r, 0, TWO_PI);
        ph3[l] = synth_uni(r, 0, TWO_PI);
    }
    if (amp == 0) return 0;
    fill_phasor(cs, sn, n, f, c->fs, 0);
    for (int l = 0; l < SYNTH_N_INDEP; l++)
        add_sinusoid(lead[l], cs, sn, n, a[l], ph[l]);
    if (3 * f < 0.45 * c->fs) {
        fill_phasor(cs, sn, n, 3 * f, c->fs, 0);
        for (int l = 0; l < SYNTH_N_INDEP; l++)
            add_sinusoid(lead[l], cs, sn, n, h3 * a[l], ph3[l]);
    }
    return f;
}

/* Approximately standard normal from one 64-bit draw: the sum of four 16-bit uniforms
 * (Irwin–Hall), which the band-pass filter that follows makes Gaussian in all but the far tails. */
static inline float fast_normal(rng_state *r) {
    uint64_t u = rng_next_u64(r);
    uint32_t s = (uint32_t)(u & 0xffff) + (uint32_t)((u >> 16) & 0xffff) +
                 (uint32_t)((u >> 32) & 0xffff) + (uint32_t)(u >> 48);
    return ((float)s - 131070.0f) * (1.0f / 37837.23f);
}

typedef struct {
    double b0, b1, b2, a1, a2; /* 2nd-order Butterworth high-pass (bilinear) */
    double lp;                 /* 1st-order low-pass coefficient */
} emg_filter;

static void emg_design(emg_filter *f, double fs) {
    double fc = 20.0, k = tan(M_PI * fc / fs), q = sqrt(2.0), norm = 1.0 / (1 + q * k + k * k);
    f->b0 = norm, f->b1 = -2 * norm, f->b2 = norm;
    f->a1 = 2 * (k * k - 1) * norm;
    f->a2 = (1 - q * k + k * k) * norm;
    double fl = fs * 0.4 < 150 ? fs * 0.4 : 150;
    f->lp = 1 - exp(-TWO_PI * fl / fs);
}

/* Filters white input of unit variance; returns the output's RMS from the impulse response, summed
 * until it has decayed (running on into denormals would cost more than the noise itself). */
static double emg_gain(const emg_filter *f) {
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0, z = 0, e = 0;
    for (int k = 0; k < 1 << 16; k++) {
        double x = k == 0;
        double y = f->b0 * x + f->b1 * x1 + f->b2 * x2 - f->a1 * y1 - f->a2 * y2;
        x2 = x1, x1 = x, y2 = y1, y1 = y;
        z += f->lp * (y - z);
        e += z * z;
        if (k > 8 && fabs(y) + fabs(y2) + fabs(z) < 1e-12) break;
    }
    return sqrt(e);
}

/* Muscle (EMG) noise: Gaussian noise band-limited to 20 Hz – min(150 Hz, 0.4 fs), independent per
 * lead, scaled to the drawn RMS. The filter starts 0.1 s early so no transient shows. The 8 leads
 * run interleaved: one recursion alone is a chain of dependent multiplies; 8 side by side are not.
 */
static void muscle(const synth_config *c, rng_state *r, float *lead[SYNTH_N_INDEP], size_t n) {
    enum { L = SYNTH_N_INDEP };
    double rms = c->muscle_mv * synth_uni(r, 0.1, 1.0);
    double a[L];
    for (int l = 0; l < L; l++)
        a[l] = rms * synth_uni(r, 0.3, 1.0);
    if (rms == 0) return;
    emg_filter f;
    emg_design(&f, c->fs);
    double g = 1.0 / emg_gain(&f);
    size_t warm = (size_t)ceil(0.1 * c->fs);
    rng_state rl[L];
    float scale[L], x1[L] = {0}, x2[L] = {0}, y1[L] = {0}, y2[L] = {0}, z[L] = {0}, x[L];
    for (int l = 0; l < L; l++) {
        rl[l] = rng_fork(r, (uint64_t)l);
        scale[l] = (float)(a[l] * g);
    }
    const float b0 = (float)f.b0, b1 = (float)f.b1, b2 = (float)f.b2, a1 = (float)f.a1,
                a2 = (float)f.a2, lp = (float)f.lp;
    for (size_t k = 0; k < n + warm; k++) {
        for (int l = 0; l < L; l++)
            x[l] = fast_normal(&rl[l]);
#pragma omp simd
        for (int l = 0; l < L; l++) {
            float y = b0 * x[l] + b1 * x1[l] + b2 * x2[l] - a1 * y1[l] - a2 * y2[l];
            x2[l] = x1[l], x1[l] = x[l], y2[l] = y1[l], y1[l] = y;
            z[l] += lp * (y - z[l]);
        }
        if (k >= warm)
            for (int l = 0; l < L; l++)
                lead[l][k - warm] += scale[l] * z[l];
    }
}

/* Electrode motion: a few bursts, each a cluster of smooth Gaussian swings on one electrode (RA,
 * LA, LL or a chest electrode), entering every lead that uses that electrode with the lead's sign:
 * I = LA − RA, II = LL − RA, Vi = Ci − (RA + LA + LL)/3. */
static void electrode_motion(const synth_config *c, rng_state *r, float *lead[SYNTH_N_INDEP],
                             size_t n, float *m) {
    int on = rng_uniform(r) < c->motion_prob && c->motion_mv > 0;
    if (!on) return;
    double seconds = (double)n / c->fs;
    int bursts = 1 + (int)rng_below(r, 2);
    for (int b = 0; b < bursts; b++) {
        int e = (int)rng_below(r, 9);
        double t0 = synth_uni(r, 0, seconds), dur = synth_uni(r, 0.3, 1.5);
        int bumps = 3 + (int)rng_below(r, 4);
        memset(m, 0, n * sizeof *m);
        for (int i = 0; i < bumps; i++) {
            double amp = c->motion_mv * 0.6 * synth_uni(r, 0.3, 1.0) * (rng_below(r, 2) ? 1 : -1);
            synth_gaussian_add(m, n, c->fs, synth_uni(r, t0, t0 + dur), synth_uni(r, 0.03, 0.2),
                               amp);
        }
        /* coefficient of the electrode in I, II, V1..V6 */
        float w[SYNTH_N_INDEP] = {0};
        if (e < 3) {
            w[0] = e == 0 ? -1.0f : e == 1 ? 1.0f : 0.0f;
            w[1] = e == 0 ? -1.0f : e == 2 ? 1.0f : 0.0f;
            for (int l = 2; l < SYNTH_N_INDEP; l++)
                w[l] = -1.0f / 3;
        } else {
            w[2 + e - 3] = 1.0f;
        }
        for (int l = 0; l < SYNTH_N_INDEP; l++) {
            if (w[l] == 0) continue;
            for (size_t k = 0; k < n; k++)
                lead[l][k] += w[l] * m[k];
        }
    }
}

double synth_noise_add(const synth_config *c, rng_state *r, double f_resp,
                       float *lead[SYNTH_N_INDEP], size_t n, float *scratch) {
    /* One stream per source: turning a source off leaves the others' samples unchanged. */
    rng_state rb = rng_fork(r, 1), rp = rng_fork(r, 2), rm = rng_fork(r, 3), re = rng_fork(r, 4);
    float *cs = scratch, *sn = scratch + n;
    baseline_wander(c, &rb, f_resp, lead, n, cs, sn);
    double f = powerline(c, &rp, lead, n, cs, sn);
    muscle(c, &rm, lead, n);
    electrode_motion(c, &re, lead, n, cs);
    return f;
}
