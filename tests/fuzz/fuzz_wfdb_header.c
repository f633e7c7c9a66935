/* fuzz_wfdb_header.c — libFuzzer target for the WFDB header parser and signal decoder: any bytes,
 * no crash, no leak, and an accepted record keeps the reader's promises (bounded size, leads). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/wfdb.h"

/* The input is up to three parts separated by SEP: the record header "r.hea", the bytes of every
 * signal file, then the text of every other header (segments, layouts). */
#define SEP "\n~~~~\n"
#define SEP_LEN 6
typedef struct {
    const uint8_t *part[3];
    size_t len[3];
} parts;

static ecg_code fuzz_read(void *ctx, const char *name, uint64_t offset, size_t max_bytes,
                          uint8_t **data, size_t *len, uint64_t *file_size, ecg_err *err) {
    const parts *p = ctx;
    size_t n = strlen(name);
    int k = n > 4 && strcmp(name + n - 4, ".hea") == 0 ? (strcmp(name, "r.hea") == 0 ? 0 : 2) : 1;
    if (!p->part[k]) return err_set(err, ECG_ENOTFOUND, "%s: no such file", name);
    *file_size = p->len[k];
    size_t avail = offset < p->len[k] ? p->len[k] - (size_t)offset : 0;
    size_t want = avail < max_bytes ? avail : max_bytes;
    *data = malloc(want ? want : 1);
    if (!*data) return err_set(err, ECG_ENOMEM, "oom");
    if (want) memcpy(*data, p->part[k] + offset, want);
    *len = want;
    return ECG_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parts p = {{0}, {0}};
    size_t start = 0;
    for (int k = 0; k < 3 && start <= size; k++) {
        const uint8_t *z = k < 2 ? memmem(data + start, size - start, SEP, SEP_LEN) : NULL;
        size_t end = z ? (size_t)(z - data) : size;
        p.part[k] = data + start;
        p.len[k] = end - start;
        start = end + SEP_LEN;
        if (!z) break;
    }
    wfdb_header h;
    ecg_err err;
    if (wfdb_header_parse(&h, (const char *)p.part[0], p.len[0], "r.hea", &err) == ECG_OK) {
        if (h.n_signals < 0 || h.n_signals > WFDB_MAX_SIGNALS) abort();
        if (!h.n_segments && h.n_signals && !h.signals) abort();
        for (int s = 0; !h.n_segments && s < h.n_signals; s++) {
            const wfdb_signal_spec *sp = &h.signals[s];
            if (sp->spf < 1 || !(sp->gain > 0) || strlen(sp->desc) >= sizeof sp->desc) abort();
        }
        if (h.comments && strlen(h.comments) > p.len[0]) abort();
        wfdb_header_free(&h);
    }
    wfdb_options opt = {(size_t)1 << 16, (int)(size & 1), (wfdb_frame_mode)((size >> 1) & 1)};
    wfdb_source src = {fuzz_read, &p};
    ecg_record r;
    if (wfdb_read_record_from(&r, "r", &src, &opt, &err) == ECG_OK) {
        if (r.n_channels < 1 || r.n_samples > opt.max_samples ||
            (size_t)r.n_channels * r.n_samples > opt.max_samples)
            abort();
        volatile float sink = 0;
        for (size_t i = 0; i < (size_t)r.n_channels * r.n_samples; i++)
            sink += r.signal[i];
        for (int c = 0; c < r.n_channels; c++)
            if (r.channels[c].lead < -1 || r.channels[c].lead >= ECG_N_LEADS ||
                strlen(r.channels[c].name) >= ECG_NAME_MAX)
                abort();
        if (r.comments) (void)strlen(r.comments);
        (void)sink;
        record_free(&r);
    } else if (!err.msg[0]) {
        abort(); /* every refusal says why */
    }
    return 0;
}
