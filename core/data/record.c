/* record.c — the ecg_record every reader returns: allocation, the 12-lead view, and the mapping of
 * the many ways files spell lead names ("MLII", "lead I", "AVR", "DII") onto the standard leads. */
#include "core/data/record.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const char *const ecg_lead_names[ECG_N_LEADS] = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                                 "V1", "V2", "V3",  "V4",  "V5",  "V6"};

/* Drop a leading prefix (case already folded) followed by optional separators. */
static const char *skip_prefix(const char *s, const char *prefix) {
    size_t n = strlen(prefix);
    if (strncmp(s, prefix, n) != 0) return s;
    const char *t = s + n;
    while (*t == ' ' || *t == '_' || *t == '-' || *t == ':' || *t == '.')
        t++;
    return *t ? t : s;
}

int record_lead_from_name(const char *name) {
    if (!name) return -1;
    char buf[ECG_NAME_MAX];
    while (*name && isspace((unsigned char)*name))
        name++;
    size_t n = strlen(name);
    while (n > 0 && isspace((unsigned char)name[n - 1]))
        n--;
    if (n == 0 || n >= sizeof buf) return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[n] = 0;
    /* "lead I", "ECG II", "ECG lead V1": the prefixes say nothing about which lead. */
    const char *s = skip_prefix(buf, "ecg");
    s = skip_prefix(s, "lead");
    /* Modified limb leads (MIT-BIH "MLII") are recorded as the limb lead; European "DI..DIII". */
    if (s[0] == 'm' && s[1] == 'l')
        s = skip_prefix(s, "ml");
    else if (s[0] == 'd' && s[1] == 'i')
        s++;
    static const char *const names[ECG_N_LEADS] = {"i",  "ii", "iii", "avr", "avl", "avf",
                                                   "v1", "v2", "v3",  "v4",  "v5",  "v6"};
    for (int k = 0; k < ECG_N_LEADS; k++)
        if (strcmp(s, names[k]) == 0) return k;
    return -1;
}

ecg_code record_alloc(ecg_record *r, int n_channels, size_t n_samples, ecg_err *err) {
    memset(r, 0, sizeof *r);
    if (n_channels < 0)
        return err_set(err, ECG_EINVAL, "record: negative channel count %d", n_channels);
    size_t nc = (size_t)n_channels;
    if (nc && n_samples > SIZE_MAX / sizeof(float) / nc)
        return err_set(err, ECG_ENOMEM, "record: %d channels x %zu samples overflows", n_channels,
                       n_samples);
    size_t total = nc * n_samples;
    r->signal = malloc(total ? total * sizeof(float) : 1);
    r->channels = calloc(nc ? nc : 1, sizeof *r->channels);
    if (!r->signal || !r->channels) {
        record_free(r);
        return err_set(err, ECG_ENOMEM, "record: cannot allocate %d channels x %zu samples",
                       n_channels, n_samples);
    }
    for (size_t i = 0; i < nc; i++)
        r->channels[i].lead = -1;
    r->n_channels = n_channels;
    r->n_samples = n_samples;
    return ECG_OK;
}

void record_free(ecg_record *r) {
    if (!r) return;
    free(r->signal);
    free(r->channels);
    free(r->comments);
    memset(r, 0, sizeof *r);
}

int record_to_12lead(const ecg_record *r, float *out, int mask[ECG_N_LEADS]) {
    int src[ECG_N_LEADS];
    for (int k = 0; k < ECG_N_LEADS; k++)
        src[k] = -1;
    for (int c = 0; c < r->n_channels; c++) {
        int k = r->channels[c].lead;
        if (k >= 0 && k < ECG_N_LEADS && src[k] < 0) src[k] = c;
    }
    int present = 0;
    size_t n = r->n_samples;
    for (int k = 0; k < ECG_N_LEADS; k++) {
        float *dst = out + (size_t)k * n;
        if (src[k] >= 0) {
            memcpy(dst, r->signal + (size_t)src[k] * n, n * sizeof *dst);
            present++;
        } else {
            memset(dst, 0, n * sizeof *dst);
        }
        if (mask) mask[k] = src[k] >= 0;
    }
    return present;
}
