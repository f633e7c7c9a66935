/* synth_dipole.c — the cardiac dipole: Sameni's sum-of-Gaussians normal beat, its variants
 * (bundle-branch widening, ectopic focus, f-waves) and the Dower lead projection. */
#include <math.h>
#include <string.h>

#include "core/data/synth_impl.h"

#define TWO_PI 6.283185307179586

const int synth_indep_lead[SYNTH_N_INDEP] = {0, 1, 6, 7, 8, 9, 10, 11};

/* Dower, Machado & Osborne (Clin. Cardiol. 1980): the 12-lead ECG from the Frank vectorcardiogram,
 * rows I, II, V1..V6, columns X (left), Y (feet), Z (back). */
static const double dower[SYNTH_N_INDEP][3] = {
    {0.632, -0.235, 0.059}, {0.235, 1.066, -0.132}, {-0.515, 0.157, -0.917}, {0.044, 0.164, -1.387},
    {0.882, 0.098, -1.277}, {1.213, 0.127, -0.601}, {1.125, 0.127, -0.086},  {0.831, 0.076, 0.230},
};

/* The normal beat of Sameni, Clifford, Jutten & Shamsollahi (EURASIP JASP 2007), as published with
 * the Open-Source ECG Toolbox: per dipole axis, Gaussians at phase theta (rad, R peak at 0) with
 * amplitude alpha (mV) and width b (rad). At 60 bpm one radian of phase is 1/(2π) s. */
typedef struct {
    double theta, alpha, b;
} gauss_param;

static const gauss_param normal_x[] = {
    {-1.09, 0.03, 0.0906}, {-0.83, 0.08, 0.1057}, {-0.19, -0.13, 0.0453}, {-0.07, 0.85, 0.0378},
    {0.0, 1.11, 0.0332},   {0.06, 0.75, 0.0302},  {0.22, 0.06, 0.0378},   {1.2, 0.1, 0.6040},
    {1.42, 0.17, 0.3020},  {1.68, 0.39, 0.1812},  {2.9, 0.03, 0.5},
};
static const gauss_param normal_y[] = {
    {-1.1, 0.035, 0.07},  {-0.9, 0.015, 0.07},  {-0.76, -0.019, 0.04},
    {-0.11, 0.32, 0.055}, {-0.01, 0.51, 0.037}, {0.065, -0.32, 0.0604},
    {0.8, 0.04, 0.45},    {1.58, 0.08, 0.3},    {2.9, 0.014, 0.5},
};
static const gauss_param normal_z[] = {
    {-1.1, -0.03, 0.03},  {-0.93, -0.14, 0.12}, {-0.7, -0.035, 0.04}, {-0.4, 0.045, 0.4},
    {-0.15, -0.4, 0.045}, {0.095, 0.46, 0.05},  {1.05, -0.12, 0.8},   {1.25, -0.2, 0.4},
    {1.55, -0.35, 0.2},   {2.8, -0.035, 0.4},
};

/* Which wave an event belongs to decides how it moves with heart rate and rhythm: atrial events
 * (before the QRS) vanish in AF, QRS events keep their duration, repolarisation follows the QT. */
static int wave_of(double theta) {
    if (theta < -0.35) return SYNTH_WAVE_P;
    if (theta < 0.5) return SYNTH_WAVE_QRS;
    return SYNTH_WAVE_T;
}

static void morph_add(synth_morph *m, double t, double sigma, double ax, double ay, double az,
                      int wave) {
    if (m->n >= SYNTH_MAX_KERNELS) return;
    synth_kernel *k = &m->k[m->n++];
    k->t = (float)t;
    k->sigma = (float)sigma;
    k->a[0] = (float)ax;
    k->a[1] = (float)ay;
    k->a[2] = (float)az;
    k->wave = wave;
}

static void add_axis(synth_morph *m, const gauss_param *g, int count, int axis) {
    for (int i = 0; i < count; i++) {
        double a[3] = {0, 0, 0};
        a[axis] = g[i].alpha;
        morph_add(m, g[i].theta / TWO_PI, g[i].b / TWO_PI, a[0], a[1], a[2], wave_of(g[i].theta));
    }
}

static void normalize3(double v[3]) {
    double s = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (s < 1e-12) {
        v[0] = 1, v[1] = v[2] = 0;
        return;
    }
    v[0] /= s, v[1] /= s, v[2] /= s;
}

/* A unit vector: dir plus an isotropic Gaussian perturbation of size spread. */
static void perturbed_dir(rng_state *r, const double dir[3], double spread, double out[3]) {
    for (int j = 0; j < 3; j++)
        out[j] = dir[j] + spread * rng_normal(r);
    normalize3(out);
}

/* Positions in the normal morphology of the events the bundle-branch variants modify (normal_x is
 * added first): the septal q, the main R and its two flanks on the X axis. */
enum { EV_SEPTAL_Q = 2, EV_R_EARLY = 3, EV_R = 4, EV_R_LATE = 5 };

static void scale_qrs_time(synth_morph *m, double s) {
    for (int i = 0; i < m->n; i++)
        if (m->k[i].wave == SYNTH_WAVE_QRS) {
            m->k[i].t *= (float)s;
            m->k[i].sigma *= (float)s;
        }
}

static void scale_wave(synth_morph *m, int wave, double g) {
    for (int i = 0; i < m->n; i++)
        if (m->k[i].wave == wave)
            for (int j = 0; j < 3; j++)
                m->k[i].a[j] *= (float)g;
}

/* Bundle-branch-like conduction: the whole QRS slows down (widths and spacing of the events scale
 * up) and picks up the notch of its block. LBBB: septum activates from the left (no septal q), the
 * main R splits into an M, forces swing posterior, T turns discordant. RBBB: near-normal start,
 * then a slow terminal right-anterior force (R' in V1, broad S in I and V6). */
static void widen_qrs(synth_morph *m, rng_state *r) {
    if (rng_below(r, 2) == 0) {
        scale_qrs_time(m, synth_uni(r, 1.6, 2.1));
        m->k[EV_SEPTAL_Q].a[0] = (float)(0.13 * synth_uni(r, 0.3, 0.8));
        m->k[EV_R].a[0] *= (float)synth_uni(r, 0.2, 0.45);
        m->k[EV_R_EARLY].a[0] *= 1.3f;
        m->k[EV_R_LATE].a[0] *= 1.3f;
        morph_add(m, synth_uni(r, 0.01, 0.025), synth_uni(r, 0.012, 0.02), 0, 0,
                  synth_uni(r, 0.4, 0.8), SYNTH_WAVE_QRS);
        scale_wave(m, SYNTH_WAVE_T, -synth_uni(r, 0.4, 0.9));
    } else {
        scale_qrs_time(m, synth_uni(r, 1.4, 1.8));
        double dir[3] = {-0.55, 0.1, -0.8}, d[3];
        perturbed_dir(r, dir, 0.15, d);
        double a = synth_uni(r, 0.5, 0.9);
        morph_add(m, synth_uni(r, 0.07, 0.09), synth_uni(r, 0.018, 0.026), a * d[0], a * d[1],
                  a * d[2], SYNTH_WAVE_QRS);
        scale_wave(m, SYNTH_WAVE_T, synth_uni(r, 0.5, 1.0));
    }
}

/* A unifocal ventricular ectopic beat: activation spreads slowly cell to cell from a random focus,
 * so the QRS is wide (three lobes over ~150–190 ms, sigma 16–30 ms), large, its main force roughly
 * opposite the normal QRS axis and turning as the wave spreads; discordant ST-T; no P. */
static void ectopic_beat(synth_morph *m, rng_state *r) {
    m->n = 0;
    double normal_r[3] = {-1.37, -0.41, -0.10}, v[3], v2[3], v3[3];
    normalize3(normal_r);
    perturbed_dir(r, normal_r, 0.45, v);
    perturbed_dir(r, v, 0.5, v2);
    perturbed_dir(r, v2, 0.5, v3);
    double a = 1.45 * synth_uni(r, 1.1, 1.8);
    double a2 = a * synth_uni(r, 0.5, 0.8), a3 = a * synth_uni(r, 0.25, 0.5);
    morph_add(m, -0.025, synth_uni(r, 0.018, 0.026), a * v[0], a * v[1], a * v[2], SYNTH_WAVE_QRS);
    morph_add(m, synth_uni(r, 0.01, 0.025), synth_uni(r, 0.016, 0.024), a2 * v2[0], a2 * v2[1],
              a2 * v2[2], SYNTH_WAVE_QRS);
    morph_add(m, synth_uni(r, 0.045, 0.06), synth_uni(r, 0.02, 0.03), a3 * v3[0], a3 * v3[1],
              a3 * v3[2], SYNTH_WAVE_QRS);
    double at = -a * synth_uni(r, 0.2, 0.35), as = -a * synth_uni(r, 0.05, 0.12);
    morph_add(m, 0.12, 0.05, as * v[0], as * v[1], as * v[2], SYNTH_WAVE_T);
    morph_add(m, synth_uni(r, 0.26, 0.32), synth_uni(r, 0.06, 0.085), at * v[0], at * v[1],
              at * v[2], SYNTH_WAVE_T);
}

/* Orientation and size of the heart in the chest: the Dower matrix applied to a rotated, scaled
 * dipole. Frontal rotation moves the QRS axis over its normal range; the others move the
 * precordial transition and the vertical axis. */
static void draw_projection(synth_heart *h, rng_state *r) {
    double gz = synth_uni(r, -25, 40) * (TWO_PI / 360), gy = synth_uni(r, -20, 20) * (TWO_PI / 360),
           gx = synth_uni(r, -15, 15) * (TWO_PI / 360);
    double cz = cos(gz), sz = sin(gz), cy = cos(gy), sy = sin(gy), cx = cos(gx), sx = sin(gx);
    double rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
    double ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
    double rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
    double t[3][3], rot[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            t[i][j] = 0;
            for (int k = 0; k < 3; k++)
                t[i][j] += ry[i][k] * rx[k][j];
        }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            rot[i][j] = 0;
            for (int k = 0; k < 3; k++)
                rot[i][j] += rz[i][k] * t[k][j];
        }
    double gain = exp(0.25 * rng_normal(r));
    if (gain < 0.55) gain = 0.55;
    if (gain > 1.8) gain = 1.8;
    double lambda[3];
    for (int j = 0; j < 3; j++)
        lambda[j] = gain * synth_uni(r, 0.85, 1.15);
    for (int l = 0; l < SYNTH_N_INDEP; l++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += dower[l][k] * rot[k][j];
            h->proj[l][j] = (float)(s * lambda[j]);
        }
}

/* Fibrillatory waves: a rotating atrial vector at 4–9 Hz whose frequency and amplitude wander
 * slowly; harmonics make the sawtooth look. Strongest in V1 (right, anterior, inferior). */
static void draw_fwaves(synth_heart *h, rng_state *r) {
    h->f_hz = synth_uni(r, 4, 9);
    h->f_dev = synth_uni(r, 0.2, 0.6);
    h->f_mod_hz = synth_uni(r, 0.05, 0.2);
    h->f_mod_phase = synth_uni(r, 0, TWO_PI);
    h->f_amp = synth_uni(r, 0.02, 0.08);
    h->f_am_depth = synth_uni(r, 0, 0.4);
    h->f_am_hz = synth_uni(r, 0.1, 0.5);
    h->f_am_phase = synth_uni(r, 0, TWO_PI);
    double m2 = synth_uni(r, 0.2, 0.45), p2 = synth_uni(r, 0, TWO_PI);
    double m3 = synth_uni(r, 0, 0.2), p3 = synth_uni(r, 0, TWO_PI);
    h->f_h2[0] = m2 * cos(p2), h->f_h2[1] = m2 * sin(p2);
    h->f_h3[0] = m3 * cos(p3), h->f_h3[1] = m3 * sin(p3);
    h->f_rho = synth_uni(r, 0.3, 0.8);
    double dir[3] = {-0.4, 0.35, -0.85};
    normalize3(dir);
    perturbed_dir(r, dir, 0.25, h->f_u1);
    double v[3];
    perturbed_dir(r, (double[3]){0, 1, 0}, 1.0, v);
    double d = v[0] * h->f_u1[0] + v[1] * h->f_u1[1] + v[2] * h->f_u1[2];
    for (int j = 0; j < 3; j++)
        h->f_u2[j] = v[j] - d * h->f_u1[j];
    normalize3(h->f_u2);
}

void synth_heart_draw(synth_heart *h, rng_state *r) {
    synth_morph *m = &h->normal;
    m->n = 0;
    add_axis(m, normal_x, (int)(sizeof normal_x / sizeof *normal_x), 0);
    add_axis(m, normal_y, (int)(sizeof normal_y / sizeof *normal_y), 1);
    add_axis(m, normal_z, (int)(sizeof normal_z / sizeof *normal_z), 2);
    for (int i = 0; i < m->n; i++) {
        float g = (float)synth_uni(r, 0.9, 1.1);
        for (int j = 0; j < 3; j++)
            m->k[i].a[j] *= g;
    }
    scale_wave(m, SYNTH_WAVE_P, synth_uni(r, 0.8, 2.0));
    scale_wave(m, SYNTH_WAVE_T, synth_uni(r, 0.5, 1.2));
    scale_qrs_time(m, synth_uni(r, 0.9, 1.12));
    h->p_scale = synth_uni(r, 0.85, 1.2) * pow(60.0 / h->hr, 0.3);
    h->t_scale = synth_uni(r, 0.95, 1.15);
    h->resp_phase = synth_uni(r, 0, TWO_PI);
    h->resp_depth = synth_uni(r, 0, 0.12);
    draw_projection(h, r);
    h->ectopic.n = 0;
    if (h->label == SYNTH_WIDE_QRS) widen_qrs(m, r);
    if (h->label == SYNTH_PVC) ectopic_beat(&h->ectopic, r);
    if (h->label == SYNTH_AF) {
        scale_wave(m, SYNTH_WAVE_P, 0);
        draw_fwaves(h, r);
    }
}

/* x[k] += a exp(-(k/fs - c)^2 / (2 sigma^2)) over c ± 5 sigma. A Gaussian on a uniform grid obeys
 * g[k+1] = g[k] r[k], r[k+1] = r[k] q with q = exp(-h^2), h = 1/(fs sigma): three exp per event
 * instead of one per sample. */
void synth_gaussian_add(float *x, size_t n, double fs, double c, double sigma, double a) {
    double lo_t = (c - 5 * sigma) * fs, hi_t = (c + 5 * sigma) * fs;
    if (a == 0 || n == 0 || hi_t < 0 || lo_t > (double)n - 1) return;
    size_t lo = lo_t <= 0 ? 0 : (size_t)ceil(lo_t);
    size_t hi = hi_t >= (double)n - 1 ? n - 1 : (size_t)floor(hi_t);
    if (lo > hi) return;
    double h = 1.0 / (fs * sigma), x0 = ((double)lo / fs - c) / sigma;
    double g = a * exp(-0.5 * x0 * x0), ratio = exp(-x0 * h - 0.5 * h * h), q = exp(-h * h);
    for (size_t k = lo; k <= hi; k++) {
        x[k] += (float)g;
        g *= ratio;
        ratio *= q;
    }
}

void synth_render_beats(const synth_heart *h, const synth_beat *beats, size_t n_beats,
                        float *dip[3], size_t n, double fs) {
    for (size_t b = 0; b < n_beats; b++) {
        const synth_beat *bt = &beats[b];
        const synth_morph *m = bt->kind == SYNTH_BEAT_PVC ? &h->ectopic : &h->normal;
        double rr = bt->rr < 0.3f ? 0.3 : bt->rr > 2.0f ? 2.0 : bt->rr;
        double t_scale = h->t_scale * sqrt(rr); /* Bazett: QT ∝ √RR */
        for (int i = 0; i < m->n; i++) {
            const synth_kernel *k = &m->k[i];
            double s, g;
            switch (k->wave) {
            case SYNTH_WAVE_P: s = h->p_scale, g = bt->gain_p; break;
            case SYNTH_WAVE_QRS: s = 1, g = bt->gain_qrs; break;
            default: s = t_scale, g = bt->gain_t; break;
            }
            if (g == 0) continue;
            double a[3] = {g * k->a[0], g * k->a[1], g * k->a[2]};
            for (int j = 0; j < 3; j++)
                synth_gaussian_add(dip[j], n, fs, bt->t + s * k->t, s * k->sigma, a[j]);
        }
    }
}

void synth_render_fwaves(const synth_heart *h, rng_state *r, float *dip[3], size_t n, double fs) {
    enum { BLOCK = 16 };
    double phi = synth_uni(r, 0, TWO_PI), zr = cos(phi), zi = sin(phi);
    double norm = 1.0 / (1.0 + sqrt(h->f_h2[0] * h->f_h2[0] + h->f_h2[1] * h->f_h2[1]) +
                         sqrt(h->f_h3[0] * h->f_h3[0] + h->f_h3[1] * h->f_h3[1]));
    float u1[3], u2[3];
    for (int j = 0; j < 3; j++) {
        u1[j] = (float)h->f_u1[j];
        u2[j] = (float)(h->f_rho * h->f_u2[j]);
    }
    double amp0 = h->f_amp * norm * (1 + h->f_am_depth * sin(h->f_am_phase));
    for (size_t k0 = 0; k0 < n; k0 += BLOCK) {
        size_t k1 = k0 + BLOCK < n ? k0 + BLOCK : n;
        double t1 = (double)k1 / fs, tm = 0.5 * ((double)k0 + k1) / fs;
        double f = h->f_hz + h->f_dev * sin(TWO_PI * h->f_mod_hz * tm + h->f_mod_phase);
        double wr = cos(TWO_PI * f / fs), wi = sin(TWO_PI * f / fs);
        double amp1 =
            h->f_amp * norm * (1 + h->f_am_depth * sin(TWO_PI * h->f_am_hz * t1 + h->f_am_phase));
        double da = (amp1 - amp0) / (double)(k1 - k0), amp = amp0;
        for (size_t k = k0; k < k1; k++) {
            double z2r = zr * zr - zi * zi, z2i = 2 * zr * zi;
            double z3r = z2r * zr - z2i * zi, z3i = z2r * zi + z2i * zr;
            double re =
                zr + h->f_h2[0] * z2r - h->f_h2[1] * z2i + h->f_h3[0] * z3r - h->f_h3[1] * z3i;
            double im =
                zi + h->f_h2[0] * z2i + h->f_h2[1] * z2r + h->f_h3[0] * z3i + h->f_h3[1] * z3r;
            float fr = (float)(amp * re), fi = (float)(amp * im);
            for (int j = 0; j < 3; j++)
                dip[j][k] += u1[j] * fr + u2[j] * fi;
            double t = zr * wr - zi * wi;
            zi = zr * wi + zi * wr;
            zr = t;
            amp += da;
        }
        double s = 1.0 / sqrt(zr * zr + zi * zi); /* keep |z| = 1 over long records */
        zr *= s, zi *= s;
        amp0 = amp1;
    }
}
