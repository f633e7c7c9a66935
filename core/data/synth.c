/* synth.c — one record of the synthetic corpus from (config, index): draws the class and the heart,
 * renders the dipole, projects it onto the leads, adds noise, derives the limb leads. */
#include "core/data/synth.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/synth_impl.h"

#define MAX_SAMPLES 100000000.0 /* per channel: 4.8 GB of float32 over 12 leads */

static const char *const class_names[SYNTH_N_CLASSES] = {"sinus", "af", "pvc", "wide_qrs"};

/* Stream tags under the per-record stream, so each part of a record is drawn independently. */
enum { TAG_LABEL = 1, TAG_VITALS, TAG_HEART, TAG_RHYTHM, TAG_FWAVES, TAG_NOISE };

void synth_config_default(synth_config *c) {
    memset(c, 0, sizeof *c);
    c->fs = 240;
    c->seconds = 10;
    for (int k = 0; k < SYNTH_N_CLASSES; k++)
        c->class_weight[k] = 1;
    c->hr_min = 45;
    c->hr_max = 150;
    c->baseline_mv = 0.3;
    c->powerline_mv = 0.05;
    c->powerline_hz = 0;
    c->muscle_mv = 0.03;
    c->motion_mv = 0.5;
    c->motion_prob = 0.1;
    c->seed = 0;
}

const char *synth_class_name(int label) {
    return label >= 0 && label < SYNTH_N_CLASSES ? class_names[label] : NULL;
}

int synth_class_from_name(const char *name) {
    if (!name) return -1;
    for (int k = 0; k < SYNTH_N_CLASSES; k++)
        if (strcmp(name, class_names[k]) == 0) return k;
    return -1;
}

static int in_range(double x, double lo, double hi) {
    return isfinite(x) && x >= lo && x <= hi;
}

ecg_code synth_config_check(const synth_config *c, ecg_err *err) {
    if (!c) return err_set(err, ECG_EINVAL, "synth: no config");
    if (!in_range(c->fs, 50, 20000))
        return err_set(err, ECG_EINVAL, "synth: fs %g Hz outside [50, 20000]", c->fs);
    if (!isfinite(c->seconds) || c->seconds <= 0)
        return err_set(err, ECG_EINVAL, "synth: seconds %g must be positive", c->seconds);
    double samples = round(c->seconds * c->fs);
    if (samples < 1 || samples > MAX_SAMPLES)
        return err_set(err, ECG_EINVAL, "synth: %g s at %g Hz is %.0f samples, not in [1, %.0f]",
                       c->seconds, c->fs, samples, MAX_SAMPLES);
    double total = 0;
    for (int k = 0; k < SYNTH_N_CLASSES; k++) {
        if (!in_range(c->class_weight[k], 0, 1e12))
            return err_set(err, ECG_EINVAL, "synth: class weight %s = %g must be in [0, 1e12]",
                           class_names[k], c->class_weight[k]);
        total += c->class_weight[k];
    }
    if (total <= 0) return err_set(err, ECG_EINVAL, "synth: all class weights are zero");
    if (!in_range(c->hr_min, 20, 250) || !in_range(c->hr_max, c->hr_min, 250))
        return err_set(err, ECG_EINVAL, "synth: heart rate range [%g, %g] bpm not within [20, 250]",
                       c->hr_min, c->hr_max);
    const struct {
        const char *name;
        double v, hi;
    } amps[] = {{"baseline_mv", c->baseline_mv, 10},
                {"powerline_mv", c->powerline_mv, 10},
                {"muscle_mv", c->muscle_mv, 10},
                {"motion_mv", c->motion_mv, 10},
                {"motion_prob", c->motion_prob, 1}};
    for (size_t i = 0; i < sizeof amps / sizeof *amps; i++)
        if (!in_range(amps[i].v, 0, amps[i].hi))
            return err_set(err, ECG_EINVAL, "synth: %s = %g not in [0, %g]", amps[i].name,
                           amps[i].v, amps[i].hi);
    if (c->powerline_hz != 0 && c->powerline_hz != 50 && c->powerline_hz != 60)
        return err_set(err, ECG_EINVAL, "synth: powerline_hz %g is not 50, 60 or 0 (either)",
                       c->powerline_hz);
    double mains = c->powerline_hz == 50 ? 50 : 60;
    if (c->powerline_mv > 0 && c->fs <= 2 * mains)
        return err_set(err, ECG_EINVAL, "synth: %g Hz mains aliases at fs %g Hz (needs > %g)",
                       mains, c->fs, 2 * mains);
    return ECG_OK;
}

static int draw_label(const synth_config *c, rng_state *r) {
    double total = 0;
    for (int k = 0; k < SYNTH_N_CLASSES; k++)
        total += c->class_weight[k];
    double u = (double)rng_uniform(r) * total, cum = 0;
    int last = 0;
    for (int k = 0; k < SYNTH_N_CLASSES; k++) {
        if (c->class_weight[k] <= 0) continue;
        cum += c->class_weight[k];
        last = k;
        if (u < cum) return k;
    }
    return last;
}

/* The 12 leads from I and II: Einthoven (III = II − I) and Goldberger's augmented leads. The
 * halvings are exact, so each identity holds to the bit whatever the compiler contracts. */
static void derive_limb_leads(float *sig, size_t n) {
    const float *l1 = sig, *l2 = sig + n;
    float *l3 = sig + 2 * n, *avr = sig + 3 * n, *avl = sig + 4 * n, *avf = sig + 5 * n;
    for (size_t k = 0; k < n; k++) {
        float a = l1[k], b = l2[k];
        l3[k] = b - a;
        avr[k] = -(a + b) * 0.5f;
        avl[k] = a - b * 0.5f;
        avf[k] = b - a * 0.5f;
    }
}

ecg_code synth_record_info(const synth_config *c, uint64_t index, ecg_record *out, synth_info *info,
                           ecg_err *err) {
    ecg_code rc = synth_config_check(c, err);
    if (rc) return rc;
    if (!out) return err_set(err, ECG_EINVAL, "synth: no output record");
    size_t n = (size_t)round(c->seconds * c->fs);

    rng_state root, rec;
    rng_seed(&root, c->seed);
    rec = rng_fork(&root, index);
    rng_state r_label = rng_fork(&rec, TAG_LABEL), r_vitals = rng_fork(&rec, TAG_VITALS),
              r_heart = rng_fork(&rec, TAG_HEART), r_rhythm = rng_fork(&rec, TAG_RHYTHM),
              r_fwaves = rng_fork(&rec, TAG_FWAVES), r_noise = rng_fork(&rec, TAG_NOISE);

    synth_heart *h = malloc(sizeof *h);
    size_t cap = synth_beats_capacity(c->seconds);
    synth_beat *beats = malloc(cap * sizeof *beats);
    float *work = calloc(3 * n, sizeof *work);
    if (!h || !beats || !work) {
        rc = err_set(err, ECG_ENOMEM, "synth: cannot allocate work space for %zu samples", n);
        goto done;
    }
    rc = record_alloc(out, ECG_N_LEADS, n, err);
    if (rc) goto done;
    memset(out->signal, 0, (size_t)ECG_N_LEADS * n * sizeof *out->signal);

    h->label = draw_label(c, &r_label);
    h->hr = synth_uni(&r_vitals, c->hr_min, c->hr_max);
    h->f_resp = synth_uni(&r_vitals, 0.15, 0.4);
    synth_heart_draw(h, &r_heart);
    int n_ectopic = 0;
    size_t nb = synth_rhythm_beats(h, &r_rhythm, c->seconds, beats, cap, &n_ectopic);

    float *dip[3] = {work, work + n, work + 2 * n};
    synth_render_beats(h, beats, nb, dip, n, c->fs);
    if (h->label == SYNTH_AF) synth_render_fwaves(h, &r_fwaves, dip, n, c->fs);

    float *lead[SYNTH_N_INDEP];
    for (int l = 0; l < SYNTH_N_INDEP; l++) {
        float *x = out->signal + (size_t)synth_indep_lead[l] * n;
        const float p0 = h->proj[l][0], p1 = h->proj[l][1], p2 = h->proj[l][2];
        for (size_t k = 0; k < n; k++)
            x[k] = p0 * dip[0][k] + p1 * dip[1][k] + p2 * dip[2][k];
        lead[l] = x;
    }
    double mains = synth_noise_add(c, &r_noise, h->f_resp, lead, n, work);
    derive_limb_leads(out->signal, n);

    for (int l = 0; l < ECG_N_LEADS; l++) {
        snprintf(out->channels[l].name, sizeof out->channels[l].name, "%s", ecg_lead_names[l]);
        snprintf(out->channels[l].units, sizeof out->channels[l].units, "mV");
        out->channels[l].lead = l;
    }
    out->fs = c->fs;
    snprintf(out->record_name, sizeof out->record_name, "synth_%" PRIu64 "_%" PRIu64, c->seed,
             index);
    char note[192];
    int len = snprintf(note, sizeof note,
                       "synth class=%s label=%d hr=%.1f seed=%" PRIu64 " index=%" PRIu64,
                       class_names[h->label], h->label, h->hr, c->seed, index);
    out->comments = malloc((size_t)len + 1);
    if (!out->comments) {
        record_free(out);
        rc = err_set(err, ECG_ENOMEM, "synth: cannot allocate the record comment");
        goto done;
    }
    memcpy(out->comments, note, (size_t)len + 1);

    if (info) {
        info->label = h->label;
        info->hr_bpm = h->hr;
        info->n_beats = 0;
        for (size_t b = 0; b < nb; b++)
            info->n_beats += beats[b].t >= 0 && beats[b].t < c->seconds;
        info->n_ectopic = n_ectopic;
        info->powerline_hz = mains;
    }
done:
    free(h);
    free(beats);
    free(work);
    return rc;
}

ecg_code synth_record(const synth_config *c, uint64_t index, ecg_record *out, int *label,
                      ecg_err *err) {
    synth_info info;
    ecg_code rc = synth_record_info(c, index, out, &info, err);
    if (rc == ECG_OK && label) *label = info.label;
    return rc;
}
