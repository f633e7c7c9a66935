/* safetensors.c — a strict reader and an atomic writer for safetensors files.
 * The header parser accepts exactly the safetensors JSON shape and nothing else. */
#include "core/format/safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/format/atomic_file.h"

#define ST_MAX_TENSORS (1 << 20)

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_I64] = {"I64", 8}, [ST_I32] = {"I32", 4},
    [ST_I16] = {"I16", 2}, [ST_U8] = {"U8", 1},   [ST_BF16] = {"BF16", 2}, [ST_F16] = {"F16", 2},
};

size_t st_dtype_size(st_dtype d) { return dtypes[d].size; }
const char *st_dtype_name(st_dtype d) { return dtypes[d].name; }

/* ---- the header parser ---- */

typedef struct {
    const char *p, *end;
    ecg_err *err;
    const char *what; /* file name or "buffer", for messages */
} cursor;

static ecg_code bad(cursor *c, const char *why) {
    return err_set(c->err, ECG_EFORMAT, "%s: safetensors header: %s", c->what, why);
}

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int expect(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int hexval(char h) {
    if (h >= '0' && h <= '9') return h - '0';
    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
    return -1;
}

static int read_hex4(cursor *c, unsigned *out) {
    if (c->end - c->p < 4) return 0;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(c->p[i]);
        if (h < 0) return 0;
        v = v * 16 + (unsigned)h;
    }
    c->p += 4;
    *out = v;
    return 1;
}

/* A JSON string into a fresh NUL-terminated buffer (UTF-8, escapes decoded; no NUL allowed). */
static ecg_code parse_string(cursor *c, char **out, size_t *out_len) {
    *out = NULL;
    if (!expect(c, '"')) return bad(c, "expected a string");
    const char *start = c->p;
    size_t cap = 0;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\') c->p++;
        if (c->p < c->end) c->p++;
        cap++;
    }
    if (c->p >= c->end) return bad(c, "unterminated string");
    c->p = start;
    char *s = malloc(cap * 4 + 1); /* \uXXXX decodes to at most 4 bytes per escape */
    if (!s) return err_set(c->err, ECG_ENOMEM, "%s: out of memory", c->what);
    size_t n = 0;
    while (*c->p != '"') {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch < 0x20) {
            free(s);
            return bad(c, "control character in string");
        }
        if (ch != '\\') {
            s[n++] = (char)ch;
            continue;
        }
        char e = *c->p++;
        unsigned cp;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u':
            if (!read_hex4(c, &cp)) goto bad_escape;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u') goto bad_escape;
                c->p += 2;
                if (!read_hex4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto bad_escape;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto bad_escape;
            }
            if (cp == 0) goto bad_escape;
            if (cp < 0x80) {
                s[n++] = (char)cp;
            } else if (cp < 0x800) {
                s[n++] = (char)(0xC0 | (cp >> 6));
                s[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                s[n++] = (char)(0xE0 | (cp >> 12));
                s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                s[n++] = (char)(0xF0 | (cp >> 18));
                s[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        default:
            goto bad_escape;
        }
    }
    c->p++; /* closing quote */
    s[n] = 0;
    *out = s;
    if (out_len) *out_len = n;
    return ECG_OK;
bad_escape:
    free(s);
    return bad(c, "bad escape in string");
}

static ecg_code parse_u64(cursor *c, uint64_t *out) {
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return bad(c, "expected a non-negative integer");
    if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9')
        return bad(c, "leading zero in integer");
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p++ - '0');
        if (v > (UINT64_MAX - d) / 10) return bad(c, "integer overflows 64 bits");
        v = v * 10 + d;
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return bad(c, "expected an integer, got a fraction");
    *out = v;
    return ECG_OK;
}

/* [u64, u64, ...] with at most max entries. */
static ecg_code parse_u64_array(cursor *c, uint64_t *vals, int max, int *count) {
    if (!expect(c, '[')) return bad(c, "expected an array");
    *count = 0;
    if (expect(c, ']')) return ECG_OK;
    do {
        if (*count >= max) return bad(c, "array too long");
        ecg_code rc = parse_u64(c, &vals[(*count)++]);
        if (rc) return rc;
    } while (expect(c, ','));
    if (!expect(c, ']')) return bad(c, "expected ']'");
    return ECG_OK;
}

static int dtype_from_name(const char *s, st_dtype *d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(s, dtypes[i].name) == 0) {
            *d = (st_dtype)i;
            return 1;
        }
    return 0;
}

static ecg_code parse_tensor(cursor *c, st_tensor *t, uint64_t off[2]) {
    int have_dtype = 0, have_shape = 0, have_off = 0;
    if (!expect(c, '{')) return bad(c, "tensor entry must be an object");
    if (expect(c, '}')) return bad(c, "empty tensor entry");
    do {
        char *key;
        ecg_code rc = parse_string(c, &key, NULL);
        if (rc) return rc;
        if (!expect(c, ':')) {
            free(key);
            return bad(c, "expected ':'");
        }
        if (strcmp(key, "dtype") == 0 && !have_dtype) {
            char *v;
            rc = parse_string(c, &v, NULL);
            if (!rc && !dtype_from_name(v, &t->dtype)) rc = bad(c, "unsupported dtype");
            free(v);
            have_dtype = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            uint64_t dims[ST_MAX_DIMS];
            rc = parse_u64_array(c, dims, ST_MAX_DIMS, &t->ndim);
            for (int i = 0; !rc && i < t->ndim; i++) {
                if (dims[i] > (uint64_t)INT64_MAX) rc = bad(c, "dimension too large");
                t->shape[i] = (int64_t)dims[i];
            }
            have_shape = 1;
        } else if (strcmp(key, "data_offsets") == 0 && !have_off) {
            int n;
            rc = parse_u64_array(c, off, 2, &n);
            if (!rc && n != 2) rc = bad(c, "data_offsets needs two integers");
            have_off = 1;
        } else {
            rc = bad(c, "unknown or repeated key in tensor entry");
        }
        free(key);
        if (rc) return rc;
    } while (expect(c, ','));
    if (!expect(c, '}')) return bad(c, "expected '}' after tensor entry");
    if (!have_dtype || !have_shape || !have_off)
        return bad(c, "tensor entry needs dtype, shape and data_offsets");
    return ECG_OK;
}

static ecg_code parse_metadata(cursor *c, st_file *f) {
    if (!expect(c, '{')) return bad(c, "__metadata__ must be an object");
    if (expect(c, '}')) return ECG_OK;
    int cap = 0;
    do {
        char *k = NULL, *v = NULL;
        ecg_code rc = parse_string(c, &k, NULL);
        if (!rc && !expect(c, ':')) rc = bad(c, "expected ':'");
        if (!rc) rc = parse_string(c, &v, NULL);
        if (!rc && f->n_meta >= 4096) rc = bad(c, "too many metadata entries");
        if (!rc && f->n_meta == cap) {
            cap = cap ? cap * 2 : 16;
            st_meta *m = realloc(f->meta, (size_t)cap * sizeof *m);
            if (!m) rc = err_set(c->err, ECG_ENOMEM, "%s: out of memory", c->what);
            else f->meta = m;
        }
        if (rc) {
            free(k);
            free(v);
            return rc;
        }
        f->meta[f->n_meta].key = k;
        f->meta[f->n_meta].value = v;
        f->n_meta++;
    } while (expect(c, ','));
    if (!expect(c, '}')) return bad(c, "expected '}' after __metadata__");
    return ECG_OK;
}

static int cmp_offset(const void *a, const void *b) {
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(st_tensor *const *)a)->name, (*(st_tensor *const *)b)->name);
}

/* Offsets must tile the payload exactly, and names must be unique. */
static ecg_code check_layout(cursor *c, st_file *f) {
    if (f->n_tensors == 0) return f->payload_size == 0 ? ECG_OK : bad(c, "data with no tensors");
    st_tensor **idx = malloc((size_t)f->n_tensors * sizeof *idx);
    if (!idx) return err_set(c->err, ECG_ENOMEM, "%s: out of memory", c->what);
    for (int i = 0; i < f->n_tensors; i++) idx[i] = &f->tensors[i];
    ecg_code rc = ECG_OK;
    qsort(idx, (size_t)f->n_tensors, sizeof *idx, cmp_name);
    for (int i = 1; i < f->n_tensors && !rc; i++)
        if (strcmp(idx[i - 1]->name, idx[i]->name) == 0) rc = bad(c, "duplicate tensor name");
    qsort(idx, (size_t)f->n_tensors, sizeof *idx, cmp_offset);
    size_t pos = 0;
    for (int i = 0; i < f->n_tensors && !rc; i++) {
        if (idx[i]->offset != pos) rc = bad(c, "tensor data offsets leave a gap or overlap");
        pos = idx[i]->offset + idx[i]->nbytes;
    }
    if (!rc && pos != f->payload_size) rc = bad(c, "tensor data does not end where the file ends");
    free(idx);
    return rc;
}

static ecg_code parse_header(cursor *c, st_file *f) {
    if (!expect(c, '{')) return bad(c, "header must be a JSON object");
    if (expect(c, '}')) goto done;
    int cap = 0;
    do {
        char *key;
        size_t klen;
        ecg_code rc = parse_string(c, &key, &klen);
        if (rc) return rc;
        if (!expect(c, ':')) rc = bad(c, "expected ':'");
        if (!rc && strcmp(key, "__metadata__") == 0) {
            rc = f->meta ? bad(c, "repeated __metadata__") : parse_metadata(c, f);
            free(key);
            if (rc) return rc;
            continue;
        }
        if (!rc && (klen == 0 || klen >= ST_MAX_NAME)) rc = bad(c, "tensor name empty or too long");
        if (!rc && f->n_tensors >= ST_MAX_TENSORS) rc = bad(c, "too many tensors");
        if (!rc && f->n_tensors == cap) {
            cap = cap ? cap * 2 : 64;
            st_tensor *t = realloc(f->tensors, (size_t)cap * sizeof *t);
            if (!t) rc = err_set(c->err, ECG_ENOMEM, "%s: out of memory", c->what);
            else f->tensors = t;
        }
        if (rc) {
            free(key);
            return rc;
        }
        st_tensor *t = &f->tensors[f->n_tensors];
        memset(t, 0, sizeof *t);
        memcpy(t->name, key, klen + 1);
        free(key);
        uint64_t off[2];
        rc = parse_tensor(c, t, off);
        if (rc) return rc;
        if (off[1] < off[0] || off[1] > f->payload_size) return bad(c, "data_offsets out of range");
        uint64_t numel = 1;
        for (int i = 0; i < t->ndim; i++) {
            uint64_t d = (uint64_t)t->shape[i];
            if (d && numel > UINT64_MAX / d) return bad(c, "tensor size overflows");
            numel *= d;
        }
        uint64_t es = st_dtype_size(t->dtype);
        if (numel > UINT64_MAX / es || numel * es != off[1] - off[0])
            return bad(c, "tensor shape does not match its data_offsets");
        t->offset = (size_t)off[0];
        t->nbytes = (size_t)(off[1] - off[0]);
        f->n_tensors++;
    } while (expect(c, ','));
    if (!expect(c, '}')) return bad(c, "expected '}' at the end of the header");
done:
    skip_ws(c);
    if (c->p != c->end) return bad(c, "trailing bytes after the header object");
    return check_layout(c, f);
}

static ecg_code parse_named(st_file *f, uint8_t *buf, size_t len, const char *what,
                            ecg_err *err) {
    memset(f, 0, sizeof *f);
    f->buf = buf;
    f->size = len;
    cursor c = {NULL, NULL, err, what};
    if (len < 8) {
        st_free(f);
        return err_set(err, ECG_EFORMAT, "%s: file shorter than its 8-byte header length", what);
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
    if (n > ST_MAX_HEADER || n > len - 8) {
        st_free(f);
        return err_set(err, ECG_EFORMAT, "%s: header length %llu exceeds the file or the %u-byte cap",
                       what, (unsigned long long)n, ST_MAX_HEADER);
    }
    c.p = (const char *)buf + 8;
    c.end = c.p + n;
    f->payload = buf + 8 + n;
    f->payload_size = len - 8 - (size_t)n;
    ecg_code rc = parse_header(&c, f);
    if (rc) st_free(f);
    return rc;
}

ecg_code st_parse(st_file *f, uint8_t *buf, size_t len, ecg_err *err) {
    return parse_named(f, buf, len, "safetensors", err);
}

ecg_code st_read_file(st_file *f, const char *path, ecg_err *err) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(err, ECG_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return err_set(err, ECG_EIO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(fp);
        return err_set(err, ECG_ENOMEM, "%s: cannot allocate %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, fp);
    fclose(fp);
    if (got != len) {
        free(buf);
        return err_set(err, ECG_EIO, "%s: short read", path);
    }
    return parse_named(f, buf, len, path, err);
}

void st_free(st_file *f) {
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->meta);
    free(f->tensors);
    free(f->buf);
    memset(f, 0, sizeof *f);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

const char *st_meta_get(const st_file *f, const char *key) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) return f->meta[i].value;
    return NULL;
}

ecg_code st_get_f32(const st_file *f, const char *name, float *dst, size_t count, ecg_err *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) return err_set(err, ECG_ENOTFOUND, "tensor %s not in file", name);
    if (t->dtype != ST_F32) return err_set(err, ECG_EFORMAT, "tensor %s is %s, not F32", name,
                                           st_dtype_name(t->dtype));
    if (t->nbytes != count * sizeof(float))
        return err_set(err, ECG_EFORMAT, "tensor %s has %zu values, expected %zu", name,
                       t->nbytes / sizeof(float), count);
    memcpy(dst, f->payload + t->offset, t->nbytes);
    return ECG_OK;
}

/* ---- the writer ---- */

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} strbuf;

static void sb_putn(strbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_json_string(strbuf *b, const char *s) {
    sb_putn(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            sb_putn(b, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            sb_puts(b, esc);
        } else {
            sb_putn(b, (const char *)&ch, 1);
        }
    }
    sb_putn(b, "\"", 1);
}

ecg_code st_write_file(const char *path, const st_entry *entries, int n, const char *const *meta_kv,
                       int n_meta, ecg_err *err) {
    strbuf h = {0};
    char num[64];
    size_t off = 0;
    sb_puts(&h, "{\"__metadata__\":{\"format\":\"pt\"");
    for (int i = 0; i < n_meta; i++) {
        if (strcmp(meta_kv[2 * i], "format") == 0) continue;
        sb_puts(&h, ",");
        sb_json_string(&h, meta_kv[2 * i]);
        sb_puts(&h, ":");
        sb_json_string(&h, meta_kv[2 * i + 1]);
    }
    sb_puts(&h, "}");
    for (int i = 0; i < n; i++) {
        const st_entry *e = &entries[i];
        if (e->ndim < 0 || e->ndim > ST_MAX_DIMS) {
            free(h.s);
            return err_set(err, ECG_EINVAL, "%s: tensor %s has %d dims", path, e->name, e->ndim);
        }
        size_t bytes = st_dtype_size(e->dtype);
        sb_puts(&h, ",");
        sb_json_string(&h, e->name);
        sb_puts(&h, ":{\"dtype\":\"");
        sb_puts(&h, st_dtype_name(e->dtype));
        sb_puts(&h, "\",\"shape\":[");
        for (int d = 0; d < e->ndim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)e->shape[d]);
            sb_puts(&h, num);
            bytes *= (size_t)e->shape[d];
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", off, off + bytes);
        sb_puts(&h, num);
        off += bytes;
    }
    sb_puts(&h, "}");
    while (!h.oom && h.n % 8) sb_puts(&h, " ");
    if (h.oom) {
        free(h.s);
        return err_set(err, ECG_ENOMEM, "%s: out of memory building the header", path);
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)h.n >> (8 * i));
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (!rc) rc = atomic_write(&a, len8, 8, err);
    if (!rc) rc = atomic_write(&a, h.s, h.n, err);
    for (int i = 0; !rc && i < n; i++) {
        size_t bytes = st_dtype_size(entries[i].dtype);
        for (int d = 0; d < entries[i].ndim; d++) bytes *= (size_t)entries[i].shape[d];
        rc = atomic_write(&a, entries[i].data, bytes, err);
    }
    free(h.s);
    if (rc) {
        atomic_abort(&a);
        return rc;
    }
    return atomic_commit(&a, err);
}
