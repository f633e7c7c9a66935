/* record.h — an ECG record in physical units, as every reader returns it, and the mapping of its
 * channels onto the 12 standard leads (I, II, III, aVR, aVL, aVF, V1–V6) the encoder expects. */
#ifndef ECGFM_CORE_RECORD_H
#define ECGFM_CORE_RECORD_H

#include <stddef.h>

#include "core/base/error.h"

#define ECG_N_LEADS 12
#define ECG_NAME_MAX 32

extern const char *const ecg_lead_names[ECG_N_LEADS];

typedef struct {
    char name[ECG_NAME_MAX];  /* as written in the file */
    char units[16];           /* as written in the file ("mV", "uV", ...) */
    int lead;                 /* index into ecg_lead_names, or -1 when not a standard lead */
} ecg_channel;

typedef struct {
    int n_channels;
    size_t n_samples;      /* per channel */
    double fs;             /* samples per second */
    float *signal;         /* [n_channels][n_samples], millivolts; NaN where the file says missing */
    ecg_channel *channels; /* n_channels entries */
    char *comments;        /* free text (header comments, labels), NUL-terminated, may be NULL */
    char record_name[128];
} ecg_record;

/* Map a channel name onto a standard lead index (case and spelling variants: "I", "lead I",
 * "MLII" -> II, "V1", "aVR", "AVR", ...); -1 when it is not one of the 12. */
int record_lead_from_name(const char *name);

/* Allocate signal and channels for n_channels × n_samples (overflow-checked). */
ecg_code record_alloc(ecg_record *r, int n_channels, size_t n_samples, ecg_err *err);
void record_free(ecg_record *r);

/* The 12-lead view: out is [12][n_samples] with absent leads zero, mask[12] = 1 for present leads.
 * When two channels map to the same lead the first wins. Returns the number of leads present. */
int record_to_12lead(const ecg_record *r, float *out, int mask[ECG_N_LEADS]);

#endif
