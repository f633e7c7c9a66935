/* synth.h — a labelled synthetic 12-lead ECG corpus: a 3-D cardiac dipole (Gaussians over the
 * cardiac phase, McSharry 2003 / Sameni 2007) projected onto the leads; rhythm classes; noise. */
#ifndef ECGFM_CORE_SYNTH_H
#define ECGFM_CORE_SYNTH_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/data/record.h"

typedef enum {
    SYNTH_SINUS = 0,    /* sinus rhythm with LF/HF heart-rate variability */
    SYNTH_AF = 1,       /* atrial-fibrillation-like: i.i.d. irregular RR, no P, 4–9 Hz f-waves */
    SYNTH_PVC = 2,      /* sinus with premature ventricular beats and compensatory pauses */
    SYNTH_WIDE_QRS = 3, /* sinus with bundle-branch-like widened, notched QRS */
    SYNTH_N_CLASSES = 4
} synth_class;

/* Noise amplitudes are maxima: each record draws its own amplitude of baseline wander and muscle
 * noise in [0.1, 1] × the maximum, of mains in [0.25, 1] ×, and each motion swing in [0.18, 0.6] ×
 * (swings may overlap), so a corpus spans clean to noisy records. */
typedef struct {
    double fs;                            /* output rate, Hz (default 240, the encoder's rate) */
    double seconds;                       /* record length (default 10) */
    double class_weight[SYNTH_N_CLASSES]; /* relative class proportions, >= 0 (default 1 each) */
    double hr_min, hr_max;                /* mean heart rate drawn uniformly in [min, max] bpm */
    double baseline_mv;  /* baseline wander (respiration + slow drift), peak mV; 0 disables */
    double powerline_mv; /* mains interference, peak mV per lead; 0 disables */
    double powerline_hz; /* 50 or 60, or 0 to draw one of the two per record */
    double muscle_mv;    /* muscle (EMG) noise, RMS mV; 0 disables */
    double motion_mv;    /* electrode-motion bursts, peak mV; 0 disables */
    double motion_prob;  /* chance that a record has motion bursts, in [0, 1] */
    uint64_t seed;
} synth_config;

/* What the generator drew for one record (for labels, dataset stores and tests). */
typedef struct {
    int label;           /* synth_class */
    double hr_bpm;       /* mean rate drawn for the record (the sinus rate for PVC records) */
    int n_beats;         /* beats whose R peak lies inside the record, ectopic ones included */
    int n_ectopic;       /* premature ventricular beats inside the record */
    double powerline_hz; /* mains frequency of the record, 0 when powerline noise is off */
} synth_info;

void synth_config_default(synth_config *c);
ecg_code synth_config_check(const synth_config *c, ecg_err *err);

/* "sinus", "af", "pvc", "wide_qrs"; NULL for an unknown label. */
const char *synth_class_name(int label);
/* The label of a class name, -1 when unknown. */
int synth_class_from_name(const char *name);

/* Record `index` of the corpus described by c: a pure function of (c, index), so records can be
 * generated in any order, in parallel, and any subset regenerated bit for bit. out must be empty
 * (zeroed or freed); it receives 12 channels I, II, III, aVR, aVL, aVF, V1–V6 in millivolts with
 * lead indices set, and a comment "synth class=<name> label=<k> hr=<bpm> seed=<s> index=<i>".
 * III, aVR, aVL, aVF are derived from I and II (Einthoven/Goldberger), so they hold exactly. */
ecg_code synth_record(const synth_config *c, uint64_t index, ecg_record *out, int *label,
                      ecg_err *err);
/* The same record, with what was drawn for it. info may be NULL. */
ecg_code synth_record_info(const synth_config *c, uint64_t index, ecg_record *out, synth_info *info,
                           ecg_err *err);

#endif
