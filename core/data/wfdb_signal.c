/* wfdb_signal.c — decode WFDB signal files (formats 8, 16, 24, 32, 61, 80, 160, 212, 310, 311;
 * multi-frequency frames, skew, byte offsets, multi-segment records) into an ecg_record in mV. */
#include "core/data/wfdb.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NOTES 64

typedef struct {
    const wfdb_source *src;
    wfdb_options opt;
    ecg_err *err;
    char *notes;
    size_t notes_len, notes_cap;
    int n_notes;
    size_t header_bytes; /* read so far for this record, against WFDB_MAX_RECORD_HEADER_BYTES */
} reader;

__attribute__((format(printf, 2, 3))) static void add_note(reader *R, const char *fmt, ...) {
    char line[400];
    int n;
    if (R->n_notes == MAX_NOTES) {
        n = snprintf(line, sizeof line, "wfdb: further notes omitted");
    } else if (R->n_notes > MAX_NOTES) {
        return;
    } else {
        va_list ap;
        va_start(ap, fmt);
        memcpy(line, "wfdb: ", 6);
        n = 6 + vsnprintf(line + 6, sizeof line - 6, fmt, ap);
        va_end(ap);
    }
    R->n_notes++;
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    size_t need = R->notes_len + len + 2;
    if (need > R->notes_cap) {
        size_t cap = R->notes_cap ? R->notes_cap * 2 : 512;
        while (cap < need)
            cap *= 2;
        char *p = realloc(R->notes, cap);
        if (!p) return; /* a note is advice; losing it under memory pressure is acceptable */
        R->notes = p;
        R->notes_cap = cap;
    }
    if (R->notes_len) R->notes[R->notes_len++] = '\n';
    memcpy(R->notes + R->notes_len, line, len);
    R->notes_len += len;
    R->notes[R->notes_len] = 0;
}

/* File names from a header must stay in the record's directory. */
static int plain_name(const char *name) {
    return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && !strchr(name, '/') &&
           !strchr(name, '\\');
}

/* ---- sample formats ---- */

static uint64_t bytes_for(int fmt, uint64_t n) {
    if (n > UINT64_MAX / 4) return UINT64_MAX; /* only reached when describing absurd headers */
    switch (fmt) {
    case 8:
    case 80: return n;
    case 16:
    case 61:
    case 160: return 2 * n;
    case 24: return 3 * n;
    case 32: return 4 * n;
    case 212: return (3 * n + 1) / 2;
    case 310: return 4 * (n / 3) + (n % 3 == 1 ? 2 : n % 3 == 2 ? 4 : 0);
    case 311: return 4 * (n / 3) + (n % 3 == 1 ? 2 : n % 3 == 2 ? 3 : 0);
    }
    return 0;
}

/* The most samples whose bytes fit in b bytes (inverse of bytes_for). */
static uint64_t samples_in(int fmt, uint64_t b) {
    switch (fmt) {
    case 8:
    case 80: return b;
    case 16:
    case 61:
    case 160: return b / 2;
    case 24: return b / 3;
    case 32: return b / 4;
    case 212: return 2 * b / 3;
    case 310: return 3 * (b / 4) + (b % 4 >= 2 ? 1 : 0);
    case 311: return 3 * (b / 4) + (b % 4 == 3 ? 2 : b % 4 == 2 ? 1 : 0);
    }
    return 0;
}

/* The code a format uses for "no sample here" (WFDB_INVALID_SAMPLE at the format's width). */
static int64_t invalid_code(int fmt) {
    switch (fmt) {
    case 80: return -128;
    case 16:
    case 61:
    case 160: return -32768;
    case 24: return -8388608;
    case 32: return INT32_MIN;
    case 212: return -2048;
    case 310:
    case 311: return -512;
    }
    return INT64_MIN; /* format 8 stores differences: no code */
}

static inline uint32_t at(const uint8_t *d, size_t len, size_t i) {
    return i < len ? d[i] : 0;
}

static inline int32_t sext(uint32_t v, int bits) {
    uint32_t m = 1u << (bits - 1);
    return (int32_t)((v ^ m) - m);
}

/* Decode n stream samples (callers guarantee bytes_for(fmt, n) <= len). */
static void decode_stream(int fmt, const uint8_t *d, size_t len, size_t n, int32_t *out) {
    size_t i;
    switch (fmt) {
    case 8:
        for (i = 0; i < n; i++)
            out[i] = (int8_t)d[i];
        break;
    case 80:
        for (i = 0; i < n; i++)
            out[i] = (int32_t)d[i] - 128;
        break;
    case 16:
        for (i = 0; i < n; i++)
            out[i] = (int16_t)(uint16_t)(d[2 * i] | d[2 * i + 1] << 8);
        break;
    case 61:
        for (i = 0; i < n; i++)
            out[i] = (int16_t)(uint16_t)(d[2 * i] << 8 | d[2 * i + 1]);
        break;
    case 160:
        for (i = 0; i < n; i++)
            out[i] = (int32_t)(d[2 * i] | d[2 * i + 1] << 8) - 32768;
        break;
    case 24:
        for (i = 0; i < n; i++)
            out[i] = sext((uint32_t)d[3 * i] | (uint32_t)d[3 * i + 1] << 8 |
                              (uint32_t)d[3 * i + 2] << 16,
                          24);
        break;
    case 32:
        for (i = 0; i < n; i++)
            out[i] = (int32_t)((uint32_t)d[4 * i] | (uint32_t)d[4 * i + 1] << 8 |
                               (uint32_t)d[4 * i + 2] << 16 | (uint32_t)d[4 * i + 3] << 24);
        break;
    case 212:
        /* Two 12-bit samples in three bytes; the middle byte holds both high nibbles. */
        for (i = 0; i < n; i++) {
            size_t b = 3 * (i / 2);
            uint32_t v = i % 2 == 0 ? at(d, len, b) | (at(d, len, b + 1) & 0x0f) << 8
                                    : at(d, len, b + 2) | (at(d, len, b + 1) & 0xf0) << 4;
            out[i] = sext(v, 12);
        }
        break;
    case 310:
        /* Three 10-bit samples in two little-endian 16-bit words: bits 1-10 of each word, the
         * third sample's low five bits in bits 11-15 of the first word, high five in the second. */
        for (i = 0; i < n; i++) {
            size_t b = 4 * (i / 3);
            uint32_t w0 = at(d, len, b) | at(d, len, b + 1) << 8;
            uint32_t w1 = at(d, len, b + 2) | at(d, len, b + 3) << 8;
            uint32_t v = i % 3 == 0   ? (w0 >> 1) & 0x3ff
                         : i % 3 == 1 ? (w1 >> 1) & 0x3ff
                                      : ((w0 >> 11) & 0x1f) | ((w1 >> 11) & 0x1f) << 5;
            out[i] = sext(v, 10);
        }
        break;
    case 311:
        /* Three 10-bit samples in the low 30 bits of a little-endian 32-bit word. */
        for (i = 0; i < n; i++) {
            size_t b = 4 * (i / 3);
            uint32_t w = at(d, len, b) | at(d, len, b + 1) << 8 | at(d, len, b + 2) << 16 |
                         at(d, len, b + 3) << 24;
            out[i] = sext((w >> (10 * (i % 3))) & 0x3ff, 10);
        }
        break;
    }
}

/* Millivolts per unit for voltage units; 1 for anything else (left in its own units). */
static double unit_scale(const char *u) {
    if (!strcasecmp(u, "mV")) return 1;
    if (!strcasecmp(u, "uV") || !strcmp(u, "\xc2\xb5V") || !strcmp(u, "\xb5V")) return 1e-3;
    if (!strcasecmp(u, "nV")) return 1e-6;
    if (!strcmp(u, "V")) return 1e3;
    return 1;
}

/* double to float without the undefined out-of-range conversion (a gain of 1e-300 is legal). */
static inline float to_f(double x) {
    if (x > FLT_MAX) return INFINITY;
    if (x < -FLT_MAX) return -INFINITY;
    return (float)x;
}

static int is_null_signal(const wfdb_signal_spec *s) {
    return s->format == 0 || strcmp(s->file, "~") == 0;
}

static ecg_code read_file(reader *R, const char *name, uint64_t offset, size_t max_bytes,
                          uint8_t **data, size_t *len, uint64_t *size, const char *referrer) {
    *data = NULL;
    *len = 0;
    if (!plain_name(name))
        return err_set(R->err, ECG_EFORMAT,
                       "%s: file name '%s' is not a plain name in the record's directory", referrer,
                       name);
    ecg_code rc = R->src->read(R->src->ctx, name, offset, max_bytes, data, len, size, R->err);
    if (rc == ECG_ENOTFOUND)
        return err_set(R->err, ECG_ENOTFOUND, "%s: file '%s' not found", referrer, name);
    return rc;
}

static ecg_code load_header(reader *R, const char *record_name, wfdb_header *h,
                            const char *referrer) {
    char name[300];
    snprintf(name, sizeof name, "%s.hea", record_name);
    uint8_t *text;
    size_t len;
    uint64_t size;
    ecg_code rc = read_file(R, name, 0, WFDB_MAX_HEADER_BYTES + 1, &text, &len, &size, referrer);
    if (rc) return rc;
    R->header_bytes += len;
    if (R->header_bytes > WFDB_MAX_RECORD_HEADER_BYTES) {
        free(text);
        return err_set(R->err, ECG_EINVAL, "%s: the record's headers add up to more than %zu bytes",
                       name, WFDB_MAX_RECORD_HEADER_BYTES);
    }
    rc = wfdb_header_parse(h, (const char *)text, len, name, R->err);
    free(text);
    return rc;
}

/* a * b into *out unless it overflows or passes cap. */
static int mul_cap(size_t a, size_t b, size_t cap, size_t *out) {
    if (a && b > cap / a) return 0;
    *out = a * b;
    return 1;
}

static void fill_nan(float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = NAN;
}

static void set_channel(ecg_channel *ch, const wfdb_signal_spec *s) {
    size_t n = strlen(s->desc);
    if (n >= sizeof ch->name) n = sizeof ch->name - 1;
    memcpy(ch->name, s->desc, n);
    ch->name[n] = 0;
    snprintf(ch->units, sizeof ch->units, "%s", s->units);
    ch->lead = record_lead_from_name(s->desc);
}

static void note_leads(reader *R, const ecg_record *r) {
    for (int c = 0; c < r->n_channels; c++)
        if (r->channels[c].lead < 0)
            add_note(R, "channel %d '%s' is not one of the 12 standard leads", c,
                     r->channels[c].name);
}

/* Header checks that need the whole signal table: groups of signals sharing a file agree. */
static ecg_code check_groups(reader *R, const wfdb_header *h, const char *hea) {
    for (int i = 1; i < h->n_signals; i++) {
        const wfdb_signal_spec *a = &h->signals[i - 1], *b = &h->signals[i];
        if (is_null_signal(a) || is_null_signal(b) || strcmp(a->file, b->file) != 0) continue;
        if (a->format != b->format)
            return err_set(R->err, ECG_EFORMAT,
                           "%s: line %d: signal in '%s' has format %d but the previous signal in "
                           "the same file has %d",
                           hea, b->line, b->file, b->format, a->format);
        if (b->byte_offset != a->byte_offset && b->byte_offset != 0)
            return err_set(R->err, ECG_EFORMAT,
                           "%s: line %d: byte offset %llu differs from the previous signal's in "
                           "'%s'",
                           hea, b->line, (unsigned long long)b->byte_offset, b->file);
    }
    return ECG_OK;
}

/* Checksum and initial value of one signal against its header line (a note or an error). */
static ecg_code check_signal(reader *R, const wfdb_signal_spec *sp, int s, uint32_t sum,
                             int32_t first_sample, size_t n_frames, const char *file,
                             const char *hea) {
    sum &= 0xffff;
    if (sp->has_checksum && (uint32_t)(sp->checksum & 0xffff) != sum) {
        if (!R->opt.warn_only)
            return err_set(R->err, ECG_EFORMAT,
                           "%s: checksum mismatch for signal %d '%s' (%s line %d): header says "
                           "%lld, samples sum to %u (mod 65536)",
                           file, s, sp->desc, hea, sp->line, (long long)sp->checksum, sum);
        add_note(R, "%s line %d (%s): checksum %lld in the header, samples sum to %u", hea,
                 sp->line, sp->desc, (long long)sp->checksum, sum);
    }
    if (sp->has_init && n_frames > 0 && first_sample != sp->init_value) {
        if (!R->opt.warn_only)
            return err_set(R->err, ECG_EFORMAT,
                           "%s: initial value mismatch for signal %d '%s' (%s line %d): header "
                           "says %d, first sample is %d",
                           file, s, sp->desc, hea, sp->line, sp->init_value, first_sample);
        add_note(R, "%s line %d (%s): initial value %d in the header, first sample %d", hea,
                 sp->line, sp->desc, sp->init_value, first_sample);
    }
    return ECG_OK;
}

/* Two-byte formats with one sample per signal per frame (the common 12-lead case): each signal
 * straight from the file's bytes into its float row, without the int32 copy of the whole group.
 * Same values, checks and order of checks as the general path in decode_group. */
#define DIRECT_LOOP(LOAD)                                                                          \
    do {                                                                                           \
        for (size_t f = 0; f < n_frames; f++) {                                                    \
            const uint8_t *b = d + (f * F + o) * width;                                            \
            sum += (uint32_t)(LOAD);                                                               \
        }                                                                                          \
        first = n_frames ? (int32_t)(LOAD0) : 0;                                                   \
        for (size_t f = 0; f < n_ok; f++) {                                                        \
            const uint8_t *b = d + ((f + skew) * F + o) * width;                                   \
            int32_t v = (LOAD);                                                                    \
            float y =                                                                              \
                clamp ? to_f(((double)v - base) * scale) : (float)(((double)v - base) * scale);    \
            dst[f] = v == bad ? NAN : y;                                                           \
        }                                                                                          \
    } while (0)

/* The same without skew and with at most DIRECT_MAX_F signals, a block of frames at a time:
 * the block is first spread into one int32 row per signal (contiguous loads), then each row is
 * summed and converted with vector instructions. Per sample this is ~3 instructions instead of
 * ~20 for the strided loop above. */
#define DIRECT_MAX_F 32
#define DIRECT_BLOCK 128
#define SPREAD(LOAD)                                                                               \
    do {                                                                                           \
        for (size_t f = 0; f < nb; f++)                                                            \
            for (size_t c = 0; c < F; c++) {                                                       \
                const uint8_t *b = d + ((f0 + f) * F + c) * width;                                 \
                v[c][f] = (LOAD);                                                                  \
            }                                                                                      \
    } while (0)

static ecg_code decode_blocked(reader *R, const wfdb_header *h, int g0, int g1, size_t n_frames,
                               const uint8_t *d, ecg_record *r, const char *hea) {
    int fmt = h->signals[g0].format;
    size_t F = (size_t)(g1 - g0), width = fmt == 80 ? 1 : 2;
    int32_t bad = (int32_t)invalid_code(fmt);
    int32_t v[DIRECT_MAX_F][DIRECT_BLOCK], first[DIRECT_MAX_F] = {0};
    uint32_t sums[DIRECT_MAX_F] = {0};
    double scales[DIRECT_MAX_F], bases[DIRECT_MAX_F];
    int clamps[DIRECT_MAX_F];
    for (size_t c = 0; c < F; c++) {
        const wfdb_signal_spec *sp = &h->signals[g0 + (int)c];
        scales[c] = unit_scale(sp->units) / sp->gain;
        bases[c] = sp->baseline;
        clamps[c] = !((32768.0 + fabs(bases[c])) * fabs(scales[c]) < FLT_MAX);
    }
    for (size_t f0 = 0; f0 < n_frames; f0 += DIRECT_BLOCK) {
        size_t nb = n_frames - f0 < DIRECT_BLOCK ? n_frames - f0 : DIRECT_BLOCK;
        switch (fmt) {
        case 16: SPREAD((int16_t)(uint16_t)(b[0] | b[1] << 8)); break;
        case 61: SPREAD((int16_t)(uint16_t)(b[0] << 8 | b[1])); break;
        case 160: SPREAD((int32_t)(b[0] | b[1] << 8) - 32768); break;
        default: SPREAD((int32_t)b[0] - 128); break; /* 80 */
        }
        if (f0 == 0)
            for (size_t c = 0; c < F; c++)
                first[c] = v[c][0];
        for (size_t c = 0; c < F; c++) {
            const int32_t *vc = v[c];
            float *dst = r->signal + (size_t)(g0 + (int)c) * r->n_samples + f0;
            double scale = scales[c], base = bases[c];
            uint32_t sum = 0;
#pragma omp simd reduction(+ : sum)
            for (size_t f = 0; f < nb; f++)
                sum += (uint32_t)vc[f];
            sums[c] += sum;
            if (clamps[c]) {
                for (size_t f = 0; f < nb; f++)
                    dst[f] = vc[f] == bad ? NAN : to_f(((double)vc[f] - base) * scale);
            } else {
                /* The invalid code becomes NaN by a bit select: a branch here (which the
                 * compiler would make of a ?: on floats) keeps the loop scalar. */
                const uint32_t nan_bits = 0x7fc00000u; /* NAN */
#pragma omp simd
                for (size_t f = 0; f < nb; f++) {
                    float y = (float)(((double)vc[f] - base) * scale);
                    uint32_t yb, m = -(uint32_t)(vc[f] == bad);
                    memcpy(&yb, &y, sizeof yb);
                    yb = (yb & ~m) | (nan_bits & m);
                    memcpy(&dst[f], &yb, sizeof yb);
                }
            }
        }
    }
    for (size_t c = 0; c < F; c++) {
        ecg_code rc = check_signal(R, &h->signals[g0 + (int)c], g0 + (int)c, sums[c], first[c],
                                   n_frames, h->signals[g0].file, hea);
        if (rc) return rc;
    }
    return ECG_OK;
}
#undef SPREAD

static ecg_code decode_direct(reader *R, const wfdb_header *h, int g0, int g1, size_t n_frames,
                              size_t avail_frames, const uint8_t *d, ecg_record *r,
                              const char *hea) {
    int fmt = h->signals[g0].format;
    size_t F = (size_t)(g1 - g0), width = fmt == 80 ? 1 : 2;
    int32_t bad = (int32_t)invalid_code(fmt);
    int skewed = 0;
    for (int s = g0; s < g1; s++)
        skewed |= h->signals[s].skew != 0;
    if (!skewed && F <= DIRECT_MAX_F) return decode_blocked(R, h, g0, g1, n_frames, d, r, hea);
    for (int s = g0; s < g1; s++) {
        const wfdb_signal_spec *sp = &h->signals[s];
        size_t o = (size_t)(s - g0), skew = (size_t)sp->skew;
        size_t n_ok = avail_frames > skew ? avail_frames - skew : 0;
        if (n_ok > n_frames) n_ok = n_frames;
        double scale = unit_scale(sp->units) / sp->gain, base = sp->baseline;
        /* The float conversion cannot overflow when the largest |v - base| times scale fits. */
        int clamp = !((32768.0 + fabs(base)) * fabs(scale) < FLT_MAX);
        float *dst = r->signal + (size_t)s * r->n_samples;
        uint32_t sum = 0;
        int32_t first;
        switch (fmt) {
        case 16:
#define LOAD0 (int16_t)(uint16_t)(d[2 * o] | d[2 * o + 1] << 8)
            DIRECT_LOOP((int16_t)(uint16_t)(b[0] | b[1] << 8));
            break;
#undef LOAD0
        case 61:
#define LOAD0 (int16_t)(uint16_t)(d[2 * o] << 8 | d[2 * o + 1])
            DIRECT_LOOP((int16_t)(uint16_t)(b[0] << 8 | b[1]));
            break;
#undef LOAD0
        case 160:
#define LOAD0 ((int32_t)(d[2 * o] | d[2 * o + 1] << 8) - 32768)
            DIRECT_LOOP((int32_t)(b[0] | b[1] << 8) - 32768);
            break;
#undef LOAD0
        default: /* 80 */
#define LOAD0 ((int32_t)d[o] - 128)
            DIRECT_LOOP((int32_t)b[0] - 128);
            break;
#undef LOAD0
        }
        ecg_code rc = check_signal(R, sp, s, sum, first, n_frames, h->signals[g0].file, hea);
        if (rc) return rc;
        if (n_ok < n_frames) fill_nan(dst + n_ok, n_frames - n_ok);
    }
    return ECG_OK;
}
#undef DIRECT_LOOP

/* Decode one signal group (consecutive signals sharing a file) into r's channels [g0, g1). */
static ecg_code decode_group(reader *R, const wfdb_header *h, int g0, int g1, size_t n_frames,
                             int opf, int max_spf, ecg_record *r, const char *hea) {
    const wfdb_signal_spec *first = &h->signals[g0];
    int fmt = first->format;
    size_t F = 0;
    int max_skew = 0;
    for (int s = g0; s < g1; s++) {
        F += (size_t)h->signals[s].spf;
        if (h->signals[s].skew > max_skew) max_skew = h->signals[s].skew;
    }
    /* Skewed signals read past the record's last frame when the file has those frames. */
    size_t want_frames = n_frames + (size_t)max_skew, want_samples;
    size_t cap = R->opt.max_samples + (size_t)max_skew * F;
    if (!mul_cap(want_frames, F, cap, &want_samples))
        return err_set(R->err, ECG_EINVAL, "%s: '%s' would need more than %zu samples", hea,
                       first->file, R->opt.max_samples);
    uint64_t want_bytes = bytes_for(fmt, want_samples);
    uint8_t *data;
    size_t len;
    uint64_t size;
    char ref[400];
    snprintf(ref, sizeof ref, "%s: line %d", hea, first->line);
    ecg_code rc =
        read_file(R, first->file, first->byte_offset, (size_t)want_bytes, &data, &len, &size, ref);
    if (rc) return rc;
    size_t avail_frames = (size_t)(samples_in(fmt, len) / F);
    if (avail_frames > want_frames) avail_frames = want_frames;
    if (avail_frames < n_frames) {
        free(data);
        return err_set(R->err, ECG_EFORMAT,
                       "%s: truncated: the header (%s) says %zu samples per signal, %llu bytes "
                       "from offset %llu, but the file has %llu bytes",
                       first->file, ref, n_frames,
                       (unsigned long long)bytes_for(fmt, (uint64_t)n_frames * F),
                       (unsigned long long)first->byte_offset, (unsigned long long)size);
    }
    if (opf == 1 && F == (size_t)(g1 - g0) && (fmt == 16 || fmt == 61 || fmt == 80 || fmt == 160)) {
        rc = decode_direct(R, h, g0, g1, n_frames, avail_frames, data, r, hea);
        free(data);
        return rc;
    }
    size_t n_raw = avail_frames * F;
    int32_t *raw = malloc((n_raw ? n_raw : 1) * sizeof *raw);
    if (!raw) {
        free(data);
        return err_set(R->err, ECG_ENOMEM, "%s: cannot allocate %zu samples", first->file, n_raw);
    }
    decode_stream(fmt, data, len, n_raw, raw);
    free(data);

    int64_t bad = invalid_code(fmt);
    size_t o = 0;
    rc = ECG_OK;
    for (int s = g0; s < g1; s++) {
        const wfdb_signal_spec *sp = &h->signals[s];
        size_t spf = (size_t)sp->spf;
        if (fmt == 8) { /* first differences, starting from the initial value */
            uint32_t acc = (uint32_t)sp->init_value; /* wraps like the C library's int sum */
            for (size_t f = 0; f < avail_frames; f++)
                for (size_t j = 0; j < spf; j++) {
                    int32_t *v = &raw[f * F + o + j];
                    acc += (uint32_t)*v;
                    *v = (int32_t)acc;
                }
        }
        /* Checksum and initial value are over the samples as stored (before skew). */
        uint32_t sum = 0;
        for (size_t f = 0; f < n_frames; f++)
            for (size_t j = 0; j < spf; j++)
                sum += (uint32_t)raw[f * F + o + j];
        sum &= 0xffff;
        if (sp->has_checksum && (uint32_t)(sp->checksum & 0xffff) != sum) {
            if (R->opt.warn_only)
                add_note(R, "%s line %d (%s): checksum %lld in the header, samples sum to %u", hea,
                         sp->line, sp->desc, (long long)sp->checksum, sum);
            else {
                rc = err_set(R->err, ECG_EFORMAT,
                             "%s: checksum mismatch for signal %d '%s' (%s line %d): header says "
                             "%lld, samples sum to %u (mod 65536)",
                             first->file, s, sp->desc, hea, sp->line, (long long)sp->checksum, sum);
                break;
            }
        }
        if (sp->has_init && n_frames > 0 && raw[o] != sp->init_value) {
            if (R->opt.warn_only)
                add_note(R, "%s line %d (%s): initial value %d in the header, first sample %d", hea,
                         sp->line, sp->desc, sp->init_value, raw[o]);
            else {
                rc = err_set(R->err, ECG_EFORMAT,
                             "%s: initial value mismatch for signal %d '%s' (%s line %d): header "
                             "says %d, first sample is %d",
                             first->file, s, sp->desc, hea, sp->line, sp->init_value, raw[o]);
                break;
            }
        }
        double scale = unit_scale(sp->units) / sp->gain;
        double base = sp->baseline;
        float *dst = r->signal + (size_t)s * r->n_samples;
        size_t skew = (size_t)sp->skew;
        for (size_t f = 0; f < n_frames; f++) {
            size_t sf = f + skew;
            float *out = dst + f * (size_t)opf;
            if (sf >= avail_frames) {
                fill_nan(out, (size_t)opf);
                continue;
            }
            const int32_t *in = raw + sf * F + o;
            if (opf == 1 && spf > 1) { /* WFDB_FRAMES_AVERAGE */
                double acc = 0;
                size_t k = 0;
                for (size_t j = 0; j < spf; j++)
                    if (in[j] != bad) {
                        acc += in[j];
                        k++;
                    }
                out[0] = k ? to_f((acc / (double)k - base) * scale) : NAN;
            } else {
                for (int p = 0; p < opf; p++) {
                    int32_t v = in[(size_t)p * spf / (size_t)max_spf];
                    out[p] = v == bad ? NAN : to_f(((double)v - base) * scale);
                }
            }
        }
        o += spf;
    }
    free(raw);
    return rc;
}

/* A single-segment record (or one segment of a multi-segment record, whose length the caller
 * has already set from the master header). lead_notes: note channels that are not leads. */
static ecg_code decode_single(reader *R, wfdb_header *h, ecg_record *r, const char *hea,
                              int lead_notes) {
    memset(r, 0, sizeof *r);
    if (h->n_segments)
        return err_set(R->err, ECG_EFORMAT,
                       "%s: a segment of a multi-segment record is itself multi-segment", hea);
    if (h->n_signals == 0) return err_set(R->err, ECG_EFORMAT, "%s: record has no signals", hea);
    ecg_code rc = check_groups(R, h, hea);
    if (rc) return rc;
    int max_spf = 1;
    for (int s = 0; s < h->n_signals; s++)
        if (h->signals[s].spf > max_spf) max_spf = h->signals[s].spf;
    int opf = R->opt.frames == WFDB_FRAMES_AVERAGE ? 1 : max_spf;

    /* Measure every signal file first: a header without a length takes the shortest file's,
     * and a header claiming more samples than its files hold is refused before any
     * allocation, as a format error rather than as "too large". */
    size_t n_frames = h->has_n_samples ? h->n_samples : SIZE_MAX;
    int measured = 0;
    for (int s = 0; s < h->n_signals; s++) {
        const wfdb_signal_spec *sp = &h->signals[s];
        if (is_null_signal(sp)) continue;
        if (s > 0 && !is_null_signal(&h->signals[s - 1]) &&
            strcmp(h->signals[s - 1].file, sp->file) == 0)
            continue;
        size_t F = 0;
        for (int t = s; t < h->n_signals && !is_null_signal(&h->signals[t]) &&
                        strcmp(h->signals[t].file, sp->file) == 0;
             t++)
            F += (size_t)h->signals[t].spf;
        uint8_t *d;
        size_t len;
        uint64_t size;
        char ref[400];
        snprintf(ref, sizeof ref, "%s: line %d", hea, sp->line);
        if ((rc = read_file(R, sp->file, 0, 0, &d, &len, &size, ref))) return rc;
        free(d);
        uint64_t body = size > sp->byte_offset ? size - sp->byte_offset : 0;
        uint64_t fr = samples_in(sp->format, body) / F;
        if (h->has_n_samples && fr < h->n_samples)
            return err_set(
                R->err, ECG_EFORMAT,
                "%s: truncated: the header (%s) says %zu samples per signal, %llu "
                "bytes from offset %llu, but the file has %llu bytes",
                sp->file, ref, h->n_samples,
                (unsigned long long)bytes_for(sp->format, h->n_samples > UINT64_MAX / F
                                                              ? UINT64_MAX
                                                              : (uint64_t)h->n_samples * F),
                (unsigned long long)sp->byte_offset, (unsigned long long)size);
        if (!h->has_n_samples && fr < n_frames)
            n_frames = fr > SIZE_MAX / 8 ? SIZE_MAX / 8 : (size_t)fr;
        measured = 1;
    }
    if (!measured && !h->has_n_samples)
        return err_set(R->err, ECG_EFORMAT,
                       "%s: no sample count and no signal file to measure it from", hea);
    size_t n_out, total;
    if (!mul_cap(n_frames, (size_t)opf, R->opt.max_samples, &n_out) ||
        !mul_cap(n_out, (size_t)h->n_signals, R->opt.max_samples, &total))
        return err_set(R->err, ECG_EINVAL,
                       "%s: %d signals x %zu samples (x%d per frame) is more "
                       "than the %zu samples allowed",
                       hea, h->n_signals, n_frames, opf, R->opt.max_samples);
    if ((rc = record_alloc(r, h->n_signals, n_out, R->err))) return rc;
    for (int s = 0; s < h->n_signals; s++)
        set_channel(&r->channels[s], &h->signals[s]);
    int s = 0;
    while (s < h->n_signals) {
        if (is_null_signal(&h->signals[s])) {
            fill_nan(r->signal + (size_t)s * n_out, n_out);
            s++;
            continue;
        }
        int e = s + 1;
        while (e < h->n_signals && !is_null_signal(&h->signals[e]) &&
               strcmp(h->signals[e].file, h->signals[s].file) == 0)
            e++;
        if ((rc = decode_group(R, h, s, e, n_frames, opf, max_spf, r, hea))) {
            record_free(r);
            return rc;
        }
        s = e;
    }
    r->fs = h->fs * opf;
    snprintf(r->record_name, sizeof r->record_name, "%s", h->name);
    if (lead_notes) note_leads(R, r);
    return ECG_OK;
}

static ecg_code decode_multi(reader *R, wfdb_header *h, ecg_record *r, const char *hea) {
    memset(r, 0, sizeof *r);
    wfdb_header lay = {0};
    ecg_record seg = {0};
    int variable = 0;
    ecg_code rc = ECG_OK;
    char ref[400];
    /* The channels: a layout header (first segment, length 0) or the first real segment. */
    int k = 0;
    if (h->segments[0].n_samples == 0 && strcmp(h->segments[0].name, "~") != 0)
        variable = 1;
    else
        while (k < h->n_segments &&
               (strcmp(h->segments[k].name, "~") == 0 || h->segments[k].n_samples == 0))
            k++;
    if (k == h->n_segments)
        return err_set(R->err, ECG_EFORMAT, "%s: every segment is empty or null", hea);
    snprintf(ref, sizeof ref, "%s: line %d", hea, h->segments[k].line);
    if ((rc = load_header(R, h->segments[k].name, &lay, ref))) return rc;
    if (lay.n_segments) {
        rc = err_set(R->err, ECG_EFORMAT, "%s: segment '%s' is itself multi-segment", hea,
                     h->segments[k].name);
        goto out;
    }
    if (lay.n_signals == 0 || (h->n_signals && lay.n_signals != h->n_signals)) {
        rc = err_set(R->err, ECG_EFORMAT,
                     "%s: the record line says %d signals but %s '%s' has "
                     "%d",
                     hea, h->n_signals, variable ? "layout" : "segment", h->segments[k].name,
                     lay.n_signals);
        goto out;
    }
    int n_ch = lay.n_signals, max_spf = 1;
    for (int s = 0; s < n_ch; s++)
        if (lay.signals[s].spf > max_spf) max_spf = lay.signals[s].spf;
    int opf = R->opt.frames == WFDB_FRAMES_AVERAGE ? 1 : max_spf;
    size_t n_out, total;
    if (!mul_cap(h->n_samples, (size_t)opf, R->opt.max_samples, &n_out) ||
        !mul_cap(n_out, (size_t)n_ch, R->opt.max_samples, &total)) {
        rc = err_set(R->err, ECG_EINVAL,
                     "%s: %d signals x %zu samples (x%d per frame) is more "
                     "than the %zu samples allowed",
                     hea, n_ch, h->n_samples, opf, R->opt.max_samples);
        goto out;
    }
    if ((rc = record_alloc(r, n_ch, n_out, R->err))) goto out;
    fill_nan(r->signal, total);
    for (int s = 0; s < n_ch; s++)
        set_channel(&r->channels[s], &lay.signals[s]);

    size_t at_frame = 0;
    for (int i = 0; i < h->n_segments; i++) {
        const wfdb_segment_spec *g = &h->segments[i];
        size_t start = at_frame;
        at_frame += g->n_samples;
        if (g->n_samples == 0 || strcmp(g->name, "~") == 0) continue;
        wfdb_header sh;
        char hname[300];
        snprintf(hname, sizeof hname, "%s.hea", g->name);
        snprintf(ref, sizeof ref, "%s: line %d", hea, g->line);
        if ((rc = load_header(R, g->name, &sh, ref))) goto out;
        if (sh.has_n_samples && sh.n_samples != g->n_samples) {
            rc = err_set(R->err, ECG_EFORMAT, "%s: %zu samples, but %s says %zu", hname,
                         sh.n_samples, ref, g->n_samples);
            wfdb_header_free(&sh);
            goto out;
        }
        if (fabs(sh.fs - h->fs) > 1e-9 * h->fs) {
            rc = err_set(R->err, ECG_EFORMAT,
                         "%s: sampling frequency %g differs from the "
                         "record's %g",
                         hname, sh.fs, h->fs);
            wfdb_header_free(&sh);
            goto out;
        }
        sh.n_samples = g->n_samples;
        sh.has_n_samples = 1;
        rc = decode_single(R, &sh, &seg, hname, 0);
        wfdb_header_free(&sh);
        if (rc) goto out;
        if (seg.n_samples != g->n_samples * (size_t)opf) {
            rc = err_set(R->err, ECG_EFORMAT,
                         "%s: its samples per frame differ from the "
                         "record's (%d)",
                         hname, max_spf);
            goto out;
        }
        if (!variable && seg.n_channels != n_ch) {
            rc = err_set(R->err, ECG_EFORMAT, "%s: %d signals, but the record has %d", hname,
                         seg.n_channels, n_ch);
            goto out;
        }
        uint8_t used[WFDB_MAX_SIGNALS] = {0};
        for (int c = 0; c < seg.n_channels; c++) {
            int dst = -1;
            if (!variable)
                dst = c;
            else
                for (int t = 0; t < n_ch && dst < 0; t++)
                    if (!used[t] && strcmp(lay.signals[t].desc, seg.channels[c].name) == 0) dst = t;
            if (dst < 0) {
                add_note(R, "segment '%s': signal '%s' is not in the layout, dropped", g->name,
                         seg.channels[c].name);
                continue;
            }
            used[dst] = 1;
            memcpy(r->signal + (size_t)dst * n_out + start * (size_t)opf,
                   seg.signal + (size_t)c * seg.n_samples, seg.n_samples * sizeof(float));
        }
        record_free(&seg);
    }
    r->fs = h->fs * opf;
    snprintf(r->record_name, sizeof r->record_name, "%s", h->name);
    note_leads(R, r);
    /* The layout's comments follow the master's. */
    if (lay.comments) {
        size_t a = h->comments ? strlen(h->comments) : 0, b = strlen(lay.comments);
        char *p = realloc(h->comments, a + b + 2);
        if (!p) {
            rc = err_set(R->err, ECG_ENOMEM, "%s: out of memory", hea);
            goto out;
        }
        if (a) p[a++] = '\n';
        memcpy(p + a, lay.comments, b + 1);
        h->comments = p;
    }
out:
    record_free(&seg);
    wfdb_header_free(&lay);
    if (rc) record_free(r);
    return rc;
}

ecg_code wfdb_read_record_from(ecg_record *r, const char *record_name, const wfdb_source *src,
                               const wfdb_options *opt, ecg_err *err) {
    memset(r, 0, sizeof *r);
    reader R = {src, {0}, err, NULL, 0, 0, 0, 0};
    if (opt) R.opt = *opt;
    if (!R.opt.max_samples) R.opt.max_samples = WFDB_DEFAULT_MAX_SAMPLES;
    if (R.opt.max_samples > SIZE_MAX / 16) R.opt.max_samples = SIZE_MAX / 16;
    wfdb_header h;
    ecg_code rc = load_header(&R, record_name, &h, record_name);
    if (rc) return rc;
    char hea[300];
    snprintf(hea, sizeof hea, "%s.hea", record_name);
    rc = h.n_segments ? decode_multi(&R, &h, r, hea) : decode_single(&R, &h, r, hea, 1);
    if (rc == ECG_OK && (h.comments || R.notes)) {
        size_t a = h.comments ? strlen(h.comments) : 0, b = R.notes ? R.notes_len : 0;
        r->comments = malloc(a + b + 2);
        if (!r->comments) {
            rc = err_set(err, ECG_ENOMEM, "%s: out of memory for comments", hea);
            record_free(r);
        } else {
            size_t n = 0;
            if (a) memcpy(r->comments, h.comments, a), n = a;
            if (a && b) r->comments[n++] = '\n';
            if (b) memcpy(r->comments + n, R.notes, b), n += b;
            r->comments[n] = 0;
        }
    }
    free(R.notes);
    wfdb_header_free(&h);
    return rc;
}

/* ---- sources ---- */

static ecg_code dir_read(void *ctx, const char *name, uint64_t offset, size_t max_bytes,
                         uint8_t **data, size_t *len, uint64_t *file_size, ecg_err *err) {
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", (const char *)ctx, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return err_set(err, ECG_EINVAL, "%s: path too long", name);
    /* O_NONBLOCK so that a FIFO named by a hostile header cannot hang the open. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return err_set(err, ECG_ENOTFOUND, "%s: no such file", path);
        return err_set(err, ECG_EIO, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(err, ECG_EIO, "%s: not a regular file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return err_set(err, ECG_EIO, "%s: %s", path, strerror(errno));
    }
    *file_size = (uint64_t)st.st_size;
    uint64_t avail = *file_size > offset ? *file_size - offset : 0;
    size_t want = avail < max_bytes ? (size_t)avail : max_bytes;
    *data = malloc(want ? want : 1);
    if (!*data) {
        fclose(f);
        return err_set(err, ECG_ENOMEM, "%s: cannot allocate %zu bytes", path, want);
    }
    if (want && fseeko(f, (off_t)offset, SEEK_SET) != 0) {
        fclose(f);
        free(*data);
        *data = NULL;
        return err_set(err, ECG_EIO, "%s: cannot seek to %llu", path, (unsigned long long)offset);
    }
    *len = want ? fread(*data, 1, want, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(*data);
        *data = NULL;
        return err_set(err, ECG_EIO, "%s: read error", path);
    }
    return ECG_OK;
}

wfdb_source wfdb_source_dir(const char *dir) {
    wfdb_source s = {dir_read, (void *)dir};
    return s;
}

typedef struct {
    const wfdb_blob *files;
    int n;
} mem_ctx;

static ecg_code mem_read(void *ctx, const char *name, uint64_t offset, size_t max_bytes,
                         uint8_t **data, size_t *len, uint64_t *file_size, ecg_err *err) {
    const mem_ctx *m = ctx;
    for (int i = 0; i < m->n; i++) {
        if (strcmp(m->files[i].name, name) != 0) continue;
        const wfdb_blob *b = &m->files[i];
        *file_size = b->len;
        size_t avail = offset < b->len ? b->len - (size_t)offset : 0;
        size_t want = avail < max_bytes ? avail : max_bytes;
        *data = malloc(want ? want : 1);
        if (!*data) return err_set(err, ECG_ENOMEM, "%s: cannot allocate %zu bytes", name, want);
        if (want) memcpy(*data, b->data + offset, want);
        *len = want;
        return ECG_OK;
    }
    return err_set(err, ECG_ENOTFOUND, "%s: no such file", name);
}

ecg_code wfdb_read_record_mem(ecg_record *r, const char *record_name, const wfdb_blob *files,
                              int n_files, const wfdb_options *opt, ecg_err *err) {
    mem_ctx m = {files, n_files};
    wfdb_source src = {mem_read, &m};
    return wfdb_read_record_from(r, record_name, &src, opt, err);
}

ecg_code wfdb_read_record(ecg_record *r, const char *path, const wfdb_options *opt, ecg_err *err) {
    memset(r, 0, sizeof *r);
    char dir[4096], name[256];
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dl = slash ? (size_t)(slash - path) : 1;
    if (dl >= sizeof dir) return err_set(err, ECG_EINVAL, "%s: path too long", path);
    if (slash) {
        memcpy(dir, path, dl);
        dir[dl] = 0;
        if (dl == 0) strcpy(dir, "/");
    } else {
        strcpy(dir, ".");
    }
    size_t bl = strlen(base);
    if (bl > 4 && strcmp(base + bl - 4, ".hea") == 0) bl -= 4;
    if (bl == 0 || bl >= sizeof name) return err_set(err, ECG_EINVAL, "%s: bad record path", path);
    memcpy(name, base, bl);
    name[bl] = 0;
    wfdb_source src = wfdb_source_dir(dir);
    return wfdb_read_record_from(r, name, &src, opt, err);
}
