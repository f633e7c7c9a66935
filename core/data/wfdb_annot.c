/* wfdb_annot.c — read WFDB annotation files (MIT format: .atr, .qrs, LUDB's per-lead files) into
 * (sample, type, mnemonic, aux) entries, bounded by the file's own size. */
#include "core/data/wfdb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pseudo-annotation codes (WFDB ecgcodes.h / annot.c). */
enum { A_SKIP = 59, A_NUM = 60, A_SUB = 61, A_CHN = 62, A_AUX = 63 };

/* ecgcodes.h mnemonics; NULL where the code has none. */
static const char *const symbols[50] = {
    [1] = "N",  [2] = "L",  [3] = "R",  [4] = "a",   [5] = "V",  [6] = "F",  [7] = "J",  [8] = "A",
    [9] = "S",  [10] = "E", [11] = "j", [12] = "/",  [13] = "Q", [14] = "~", [16] = "|", [18] = "s",
    [19] = "T", [20] = "*", [21] = "D", [22] = "\"", [23] = "=", [24] = "p", [25] = "B", [26] = "^",
    [27] = "t", [28] = "+", [29] = "u", [30] = "?",  [31] = "!", [32] = "[", [33] = "]", [34] = "e",
    [35] = "n", [36] = "@", [37] = "x", [38] = "f",  [39] = "(", [40] = ")", [41] = "r",
};

const char *wfdb_annot_symbol(int code) {
    if (code < 0 || code >= 50 || !symbols[code]) return "";
    return symbols[code];
}

int wfdb_annot_code(const char *symbol) {
    if (!symbol || !*symbol) return -1;
    for (int k = 1; k < 50; k++)
        if (symbols[k] && strcmp(symbols[k], symbol) == 0) return k;
    return -1;
}

void wfdb_annot_free(wfdb_annotations *a) {
    if (!a) return;
    free(a->items);
    free(a->aux_pool);
    memset(a, 0, sizeof *a);
}

static int sign10(unsigned v) {
    return v >= 512 ? (int)v - 1024 : (int)v;
}

ecg_code wfdb_annot_parse(wfdb_annotations *a, const uint8_t *data, size_t len, const char *where,
                          ecg_err *err) {
    memset(a, 0, sizeof *a);
    if (!where) where = "annotations";
    /* The item arrays grow with what is found (an annotation is 2 bytes on disk but 40 in
     * memory) up to WFDB_MAX_ANNOTATIONS; aux text is bounded by the file itself. */
    size_t n = 0, cap = 0, pool_len = 0;
    wfdb_annotation *items = NULL;
    size_t *aux_at = NULL;
    char *pool = malloc(len + 1);
    ecg_code rc = ECG_OK;
    if (!pool) {
        rc = err_set(err, ECG_ENOMEM, "%s: cannot allocate %zu bytes", where, len + 1);
        goto out;
    }
    if (len > WFDB_MAX_ANNOT_BYTES) {
        rc = err_set(err, ECG_EFORMAT,
                     "%s: %zu bytes, more than the %zu allowed for an annotation "
                     "file",
                     where, len, WFDB_MAX_ANNOT_BYTES);
        goto out;
    }
    int64_t t = 0;
    int num = 0, chan = 0;
    size_t i = 0;
    const int64_t t_max = (int64_t)1 << 62;
    while (i + 2 <= len) {
        unsigned w = data[i] | (unsigned)data[i + 1] << 8;
        size_t at = i;
        i += 2;
        if (w == 0) break; /* end of file */
        unsigned code = w >> 10, step = w & 0x3ff;
        wfdb_annotation *cur = n ? &items[n - 1] : NULL;
        switch (code) {
        case A_SKIP: {
            /* 32-bit interval, high 16-bit word first, each word little-endian (PDP-11 order). */
            if (i + 4 > len) {
                rc = err_set(err, ECG_EFORMAT, "%s: byte %zu: SKIP cut off by the end of the file",
                             where, at);
                goto out;
            }
            uint32_t hi = data[i] | (uint32_t)data[i + 1] << 8;
            uint32_t lo = data[i + 2] | (uint32_t)data[i + 3] << 8;
            i += 4;
            int64_t skip = (int32_t)(hi << 16 | lo);
            t += skip;
            if (t < 0 || t > t_max) {
                rc = err_set(err, ECG_EFORMAT, "%s: byte %zu: SKIP of %lld moves time to %lld",
                             where, at, (long long)skip, (long long)t);
                goto out;
            }
            break;
        }
        case A_NUM:
            num = sign10(step);
            if (cur) cur->num = num;
            break;
        case A_SUB:
            if (cur) cur->subtype = sign10(step);
            break;
        case A_CHN:
            chan = (int)step;
            if (cur) cur->chan = chan;
            break;
        case A_AUX: {
            size_t m = step, padded = m + (m & 1);
            if (i + m > len) {
                rc = err_set(err, ECG_EFORMAT,
                             "%s: byte %zu: aux string of %zu bytes cut off by "
                             "the end of the file",
                             where, at, m);
                goto out;
            }
            if (cur) {
                /* WFDB writes the string with a NUL sometimes counted in its length: keep the text
                 * up to the first NUL. */
                const uint8_t *s = data + i;
                size_t k = 0;
                while (k < m && s[k])
                    k++;
                aux_at[n - 1] = pool_len;
                memcpy(pool + pool_len, s, k);
                pool_len += k;
                pool[pool_len++] = 0;
            }
            i += padded <= len - i ? padded : len - i;
            break;
        }
        default: {
            t += step;
            if (t > t_max) {
                rc = err_set(err, ECG_EFORMAT, "%s: byte %zu: time past 2^62", where, at);
                goto out;
            }
            if (n == cap) {
                if (n == WFDB_MAX_ANNOTATIONS) {
                    rc = err_set(err, ECG_EINVAL, "%s: more than %zu annotations", where,
                                 WFDB_MAX_ANNOTATIONS);
                    goto out;
                }
                size_t nc = cap ? cap * 2 : 256;
                if (nc > WFDB_MAX_ANNOTATIONS) nc = WFDB_MAX_ANNOTATIONS;
                wfdb_annotation *ni = realloc(items, nc * sizeof *ni);
                if (ni) items = ni;
                size_t *na = ni ? realloc(aux_at, nc * sizeof *na) : NULL;
                if (na) aux_at = na;
                if (!ni || !na) {
                    rc = err_set(err, ECG_ENOMEM, "%s: cannot allocate %zu annotations", where, nc);
                    goto out;
                }
                cap = nc;
            }
            wfdb_annotation *x = &items[n];
            aux_at[n] = SIZE_MAX;
            n++;
            memset(x, 0, sizeof *x);
            x->sample = t;
            x->code = (int)code;
            x->num = num;
            x->chan = chan;
            const char *sym = wfdb_annot_symbol((int)code);
            if (*sym)
                snprintf(x->symbol, sizeof x->symbol, "%s", sym);
            else
                snprintf(x->symbol, sizeof x->symbol, "[%u]", code);
            break;
        }
        }
    }
    for (size_t k = 0; k < n; k++)
        items[k].aux = aux_at[k] == SIZE_MAX ? NULL : pool + aux_at[k];
    if (!items) items = calloc(1, sizeof *items); /* an empty list still owns an array */
    if (!items) {
        rc = err_set(err, ECG_ENOMEM, "%s: out of memory", where);
        goto out;
    }
    a->n = n;
    a->items = items;
    a->aux_pool = pool;
    items = NULL;
    pool = NULL;
out:
    free(items);
    free(aux_at);
    free(pool);
    return rc;
}

ecg_code wfdb_annot_read(wfdb_annotations *a, const char *path, ecg_err *err) {
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO, "%s: %s", path,
                       strerror(errno));
    if (fseeko(f, 0, SEEK_END) != 0) {
        fclose(f);
        return err_set(err, ECG_EIO, "%s: cannot seek", path);
    }
    off_t size = ftello(f);
    if (size < 0 || fseeko(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return err_set(err, ECG_EIO, "%s: cannot tell its size", path);
    }
    if ((uint64_t)size > WFDB_MAX_ANNOT_BYTES) {
        fclose(f);
        return err_set(err, ECG_EFORMAT,
                       "%s: %lld bytes, more than the %zu allowed for an "
                       "annotation file",
                       path, (long long)size, WFDB_MAX_ANNOT_BYTES);
    }
    size_t n = (size_t)size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return err_set(err, ECG_ENOMEM, "%s: cannot allocate %zu bytes", path, n);
    }
    size_t got = n ? fread(buf, 1, n, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (bad || got != n) {
        free(buf);
        return err_set(err, ECG_EIO, "%s: read error", path);
    }
    const char *base = strrchr(path, '/');
    ecg_code rc = wfdb_annot_parse(a, buf, n, base ? base + 1 : path, err);
    free(buf);
    return rc;
}
