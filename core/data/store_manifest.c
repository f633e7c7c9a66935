/* store_manifest.c — the dataset store's MANIFEST: the text file listing a dataset's shards, label
 * names and values, parsed strictly (CRC, totals) and rewritten atomically (temp, fsync, rename).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/data/store_impl.h"
#include "core/format/atomic_file.h"

void store_manifest_free(store_manifest *m) {
    free(m->shards);
    free(m->values);
    memset(m, 0, sizeof *m);
}

ecg_code store_manifest_add_shard(store_manifest *m, const char *file, uint64_t records,
                                  uint64_t bytes, ecg_err *err) {
    if (m->n_shards == m->cap_shards) {
        size_t cap = m->cap_shards ? 2 * m->cap_shards : 16;
        manifest_shard *s = realloc(m->shards, cap * sizeof *s);
        if (!s) return err_set(err, ECG_ENOMEM, "manifest: no memory for %zu shards", cap);
        m->shards = s;
        m->cap_shards = cap;
    }
    manifest_shard *s = &m->shards[m->n_shards++];
    snprintf(s->file, sizeof s->file, "%s", file);
    s->records = records;
    s->bytes = bytes;
    return ECG_OK;
}

int store_label_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= LABEL_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_-.", s[i])) return 0;
    return 1;
}

int store_value_text_ok(const char *s) {
    size_t n = strlen(s);
    if (n >= VALUE_TEXT_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 0;
    return 1;
}

ecg_code store_manifest_set_value(store_manifest *m, int k, int32_t v, const char *text,
                                  ecg_err *err) {
    for (size_t i = 0; i < m->n_values; i++)
        if (m->values[i].k == k && m->values[i].v == v) {
            snprintf(m->values[i].text, VALUE_TEXT_MAX, "%s", text);
            return ECG_OK;
        }
    if (m->n_values == m->cap_values) {
        size_t cap = m->cap_values ? 2 * m->cap_values : 16;
        manifest_value *p = realloc(m->values, cap * sizeof *p);
        if (!p) return err_set(err, ECG_ENOMEM, "manifest: no memory for %zu label values", cap);
        m->values = p;
        m->cap_values = cap;
    }
    manifest_value *p = &m->values[m->n_values++];
    p->k = k;
    p->v = v;
    snprintf(p->text, VALUE_TEXT_MAX, "%s", text);
    return ECG_OK;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (!isdigit((unsigned char)*s)) return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return 0;
    *out = v;
    return 1;
}

int store_shard_name_ok(const char *s, unsigned *num) {
    unsigned n;
    int len = 0;
    if (strlen(s) != 17 || sscanf(s, "shard-%6u.ecgs%n", &n, &len) != 1 || len != 17) return 0;
    for (int i = 6; i < 12; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    if (num) *num = n;
    return 1;
}

/* Parse manifest text (len bytes); `where` names it. */
static ecg_code manifest_parse(store_manifest *m, const char *text, size_t len, const char *where,
                               ecg_err *err) {
    memset(m, 0, sizeof *m);
    /* The last line is "crc32c XXXXXXXX\n" over everything before it. */
    const char *crc_line = NULL;
    if (len >= 16 && text[len - 1] == '\n') {
        const char *p = text + len - 1;
        while (p > text && p[-1] != '\n')
            p--;
        crc_line = p;
    }
    unsigned crc_val;
    int used = 0;
    if (!crc_line || strncmp(crc_line, "crc32c ", 7) != 0 ||
        sscanf(crc_line, "crc32c %8x%n", &crc_val, &used) != 1 || crc_line + used != text + len - 1)
        return err_set(err, ECG_EFORMAT, "%s: no crc32c line at the end: truncated manifest",
                       where);
    size_t body = (size_t)(crc_line - text);
    if (store_crc32c(0, text, body) != crc_val)
        return err_set(err, ECG_EFORMAT, "%s: manifest CRC mismatch (corrupted manifest)", where);
    if (memchr(text, 0, body))
        return err_set(err, ECG_EFORMAT, "%s: NUL byte in the manifest", where);
    char *copy = malloc(body + 1);
    if (!copy) return err_set(err, ECG_ENOMEM, "%s: no memory", where);
    memcpy(copy, text, body);
    copy[body] = 0;
    ecg_code rc = ECG_OK;
    int line_no = 0, have_total = 0;
    uint64_t total = 0, sum = 0;
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        if (line_no == 1) {
            int v = 0;
            if (sscanf(line, "ecgfm-store %d", &v) != 1) {
                rc = err_set(err, ECG_EVERSION, "%s: not an ecgfm dataset manifest", where);
                break;
            }
            if (v != STORE_VERSION) {
                rc = err_set(err, ECG_EVERSION,
                             "%s: dataset version %d; this build reads version %d", where, v,
                             STORE_VERSION);
                break;
            }
            continue;
        }
        char key[16] = "", a[64] = "", b[64] = "", c[64] = "";
        int consumed = 0;
        int nf = sscanf(line, "%15s %63s %63s %63s%n", key, a, b, c, &consumed);
        uint64_t x, y;
        if (strcmp(key, "fs") == 0 || strcmp(key, "leads") == 0 || strcmp(key, "labels") == 0) {
            long want = key[0] == 'f' ? STORE_FS : key[1] == 'e' ? ECG_N_LEADS : STORE_N_LABELS;
            if (nf != 2 || !parse_u64(a, &x) || x != (uint64_t)want) {
                rc = err_set(err, ECG_EFORMAT, "%s: line %d: %s must be %ld", where, line_no, key,
                             want);
                break;
            }
        } else if (strcmp(key, "label") == 0) {
            if (nf != 3 || !parse_u64(a, &x) || x >= STORE_N_LABELS || !store_label_name_ok(b)) {
                rc = err_set(err, ECG_EFORMAT, "%s: line %d: bad label line", where, line_no);
                break;
            }
            snprintf(m->label_names[x], LABEL_NAME_MAX, "%s", b);
        } else if (strcmp(key, "value") == 0) {
            /* value <k> <v> <text to end of line> */
            int k, off = 0;
            long v;
            if (sscanf(line, "value %d %ld %n", &k, &v, &off) != 2 || off == 0 || k < 0 ||
                k >= STORE_N_LABELS || v < INT32_MIN || v > INT32_MAX ||
                !store_value_text_ok(line + off)) {
                rc = err_set(err, ECG_EFORMAT, "%s: line %d: bad value line", where, line_no);
                break;
            }
            if ((rc = store_manifest_set_value(m, k, (int32_t)v, line + off, err))) break;
        } else if (strcmp(key, "shard") == 0) {
            if (nf != 4 || !store_shard_name_ok(a, NULL) || !parse_u64(b, &x) ||
                !parse_u64(c, &y) || y < STORE_HEADER_SIZE + STORE_FOOTER_SIZE ||
                m->n_shards >= MANIFEST_MAX_SHARDS) {
                rc = err_set(err, ECG_EFORMAT, "%s: line %d: bad shard line", where, line_no);
                break;
            }
            for (size_t i = 0; i < m->n_shards; i++)
                if (strcmp(m->shards[i].file, a) == 0) {
                    rc = err_set(err, ECG_EFORMAT, "%s: line %d: %s listed twice", where, line_no,
                                 a);
                    break;
                }
            if (rc) break;
            if (x > UINT64_MAX - sum) {
                rc = err_set(err, ECG_EFORMAT, "%s: line %d: record count overflows", where,
                             line_no);
                break;
            }
            sum += x;
            if ((rc = store_manifest_add_shard(m, a, x, y, err))) break;
        } else if (strcmp(key, "records") == 0) {
            if (nf != 2 || !parse_u64(a, &total)) {
                rc = err_set(err, ECG_EFORMAT, "%s: line %d: bad records line", where, line_no);
                break;
            }
            have_total = 1;
        } else {
            rc = err_set(err, ECG_EFORMAT, "%s: line %d: unknown line '%.40s'", where, line_no,
                         line);
            break;
        }
    }
    free(copy);
    if (!rc && line_no == 0) rc = err_set(err, ECG_EFORMAT, "%s: empty manifest", where);
    if (!rc && (!have_total || total != sum))
        rc = err_set(err, ECG_EFORMAT, "%s: records line says %llu, the shards hold %llu", where,
                     (unsigned long long)total, (unsigned long long)sum);
    if (rc) {
        store_manifest_free(m);
        return rc;
    }
    m->records = sum;
    return ECG_OK;
}

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? 2 * b->cap : 4096;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

ecg_code store_path_join(char *out, size_t cap, const char *dir, const char *name, ecg_err *err) {
    int k = snprintf(out, cap, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= cap)
        return err_set(err, ECG_EINVAL, "%s/%s: path too long", dir, name);
    return ECG_OK;
}

ecg_code store_manifest_write(const store_manifest *m, const char *dir, ecg_err *err) {
    strbuf b = {0};
    sb_printf(&b, "ecgfm-store %d\nfs %d\nleads %d\nlabels %d\n", STORE_VERSION, STORE_FS,
              ECG_N_LEADS, STORE_N_LABELS);
    for (int k = 0; k < STORE_N_LABELS; k++)
        if (m->label_names[k][0]) sb_printf(&b, "label %d %s\n", k, m->label_names[k]);
    for (size_t i = 0; i < m->n_values; i++)
        sb_printf(&b, "value %d %ld %s\n", m->values[i].k, (long)m->values[i].v, m->values[i].text);
    for (size_t i = 0; i < m->n_shards; i++)
        sb_printf(&b, "shard %s %llu %llu\n", m->shards[i].file,
                  (unsigned long long)m->shards[i].records, (unsigned long long)m->shards[i].bytes);
    sb_printf(&b, "records %llu\n", (unsigned long long)m->records);
    if (!b.oom) sb_printf(&b, "crc32c %08x\n", store_crc32c(0, b.p, b.n));
    if (b.oom) {
        free(b.p);
        return err_set(err, ECG_ENOMEM, "%s: no memory for the manifest", dir);
    }
    char path[4096];
    ecg_code rc = store_path_join(path, sizeof path, dir, STORE_MANIFEST, err);
    atomic_file af;
    if (!rc) rc = atomic_open(&af, path, err);
    if (!rc) {
        rc = atomic_write(&af, b.p, b.n, err);
        if (rc)
            atomic_abort(&af);
        else
            rc = atomic_commit(&af, err);
    }
    free(b.p);
    return rc;
}

ecg_code store_manifest_read(store_manifest *m, const char *dir, ecg_err *err) {
    memset(m, 0, sizeof *m);
    char path[4096];
    ecg_code rc = store_path_join(path, sizeof path, dir, STORE_MANIFEST, err);
    if (rc) return rc;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set(err, errno == ENOENT ? ECG_ENOTFOUND : ECG_EIO,
                       "%s: cannot open: %s (not a dataset?)", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            if (cap >= MANIFEST_MAX_BYTES) {
                fclose(fp);
                free(buf);
                return err_set(err, ECG_EFORMAT, "%s: manifest larger than %zu bytes", path,
                               MANIFEST_MAX_BYTES);
            }
            cap = cap ? 2 * cap : 4096;
            char *q = realloc(buf, cap);
            if (!q) {
                fclose(fp);
                free(buf);
                return err_set(err, ECG_ENOMEM, "%s: no memory", path);
            }
            buf = q;
        }
        size_t k = fread(buf + n, 1, cap - n, fp);
        n += k;
        if (k == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return err_set(err, ECG_EIO, "%s: read error", path);
    }
    rc = manifest_parse(m, buf ? buf : "", n, path, err);
    free(buf);
    return rc;
}
