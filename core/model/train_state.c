/* train_state.c — the training-state file (see train_state.h). Integers are written byte by byte
 * in little-endian order, so the file reads the same on any machine. */
#include "core/model/train_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/format/atomic_file.h"

/* ---- writing: a growable byte buffer, hashed and written in one go ---- */
typedef struct {
    uint8_t *p;
    size_t n, cap;
    int oom;
} bbuf;

static void put(bbuf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->n + n)
            nc *= 2;
        uint8_t *q = realloc(b->p, nc);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q, b->cap = nc;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_u64(bbuf *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 8);
}

static void put_u32(bbuf *b, uint32_t v) {
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 4);
}

static void put_f32(bbuf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(b, u);
}

static void put_f64(bbuf *b, double f) {
    uint64_t u;
    memcpy(&u, &f, 8);
    put_u64(b, u);
}

static void put_f32s(bbuf *b, const float *f, size_t n) {
    for (size_t i = 0; i < n; i++)
        put_f32(b, f[i]);
}

static uint64_t fnv1a(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

ecg_code train_state_save(const char *path, const train_state *ts, const adamw *opt,
                          const param_set *ps, ecg_err *err) {
    if (opt->n < ps->n_floats)
        return err_set(err, ECG_EINVAL, "%s: AdamW holds %zu moments for %zu parameters", path,
                       opt->n, ps->n_floats);
    bbuf b = {0};
    put(&b, TRAIN_STATE_MAGIC, 8);
    put_u32(&b, TRAIN_STATE_VERSION);
    put_u32(&b, (uint32_t)ps->n_views);
    put_u64(&b, (uint64_t)ts->step);
    put_u64(&b, (uint64_t)ts->epoch);
    put_u64(&b, (uint64_t)ts->data_pos);
    put_u64(&b, (uint64_t)ts->bn_batches);
    put_u64(&b, (uint64_t)opt->step);
    for (int i = 0; i < 4; i++)
        put_u64(&b, ts->rng_model.s[i]);
    for (int i = 0; i < 4; i++)
        put_u64(&b, ts->rng_data.s[i]);
    put_f64(&b, opt->cfg.beta1);
    put_f64(&b, opt->cfg.beta2);
    put_f64(&b, opt->cfg.eps);
    put_f32s(&b, opt->cfg.lr_factor, PG_COUNT);
    put_f32s(&b, opt->cfg.weight_decay, PG_COUNT);
    put_u64(&b, ps->n_floats);
    for (int i = 0; i < ps->n_views; i++) {
        const param_view *v = &ps->views[i];
        uint32_t len = (uint32_t)strlen(v->name);
        put_u32(&b, len);
        put(&b, v->name, len);
        put_u64(&b, v->offset);
        put_u64(&b, v->count);
    }
    put_f32s(&b, opt->m, ps->n_floats);
    put_f32s(&b, opt->v, ps->n_floats);
    if (!b.oom) put_u64(&b, fnv1a(b.p, b.n));
    if (b.oom) {
        free(b.p);
        return err_set(err, ECG_ENOMEM, "%s: out of memory building the training state", path);
    }
    atomic_file a;
    ecg_code rc = atomic_open(&a, path, err);
    if (rc == ECG_OK) {
        rc = atomic_write(&a, b.p, b.n, err);
        if (rc == ECG_OK)
            rc = atomic_commit(&a, err);
        else
            atomic_abort(&a);
    }
    free(b.p);
    return rc;
}

/* ---- reading: a bounds-checked cursor over the whole file ---- */
typedef struct {
    const uint8_t *p, *end;
    int short_read;
} rcur;

static void get(rcur *c, void *dst, size_t n) {
    if (c->short_read || (size_t)(c->end - c->p) < n) {
        c->short_read = 1;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, c->p, n);
    c->p += n;
}

static uint64_t get_u64(rcur *c) {
    uint8_t x[8];
    get(c, x, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)x[i] << (8 * i);
    return v;
}

static uint32_t get_u32(rcur *c) {
    uint8_t x[4];
    get(c, x, 4);
    return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

static float get_f32(rcur *c) {
    uint32_t u = get_u32(c);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double get_f64(rcur *c) {
    uint64_t u = get_u64(c);
    double f;
    memcpy(&f, &u, 8);
    return f;
}

static ecg_code read_all(const char *path, uint8_t **out, size_t *len, ecg_err *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return err_set(err, ECG_EIO, "%s: cannot open the training state", path);
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            uint8_t *q = realloc(buf, cap);
            if (!q) {
                free(buf), fclose(fp);
                return err_set(err, ECG_ENOMEM, "%s: out of memory reading", path);
            }
            buf = q;
        }
        size_t r = fread(buf + n, 1, cap - n, fp);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return err_set(err, ECG_EIO, "%s: read error", path);
    }
    *out = buf, *len = n;
    return ECG_OK;
}

ecg_code train_state_load(const char *path, train_state *ts, adamw *opt, const param_set *ps,
                          ecg_err *err) {
    uint8_t *buf = NULL;
    size_t len = 0;
    ecg_code rc = read_all(path, &buf, &len, err);
    if (rc != ECG_OK) return rc;
    rcur c = {buf, buf + len, 0};
    char magic[8];
    get(&c, magic, 8);
    if (c.short_read || memcmp(magic, TRAIN_STATE_MAGIC, 8) != 0) {
        free(buf);
        return err_set(err, ECG_EFORMAT, "%s: not an ecgfm training state (bad magic)", path);
    }
    uint32_t ver = get_u32(&c);
    if (ver != TRAIN_STATE_VERSION) {
        free(buf);
        return err_set(err, ECG_EVERSION,
                       "%s: training state version %u, this build reads %d: restart the job from "
                       "its checkpoint without the training state",
                       path, ver, TRAIN_STATE_VERSION);
    }
    rcur tail = {buf + len - 8, buf + len, 0};
    if (len < 12 + 8 || fnv1a(buf, len - 8) != get_u64(&tail)) {
        free(buf);
        return err_set(err, ECG_EFORMAT, "%s: training state is truncated or corrupt (checksum)",
                       path);
    }
    c = (rcur){buf + 12, buf + len - 8, 0};
    uint32_t n_views = get_u32(&c);
    train_state t;
    t.step = (int64_t)get_u64(&c);
    t.epoch = (int64_t)get_u64(&c);
    t.data_pos = (int64_t)get_u64(&c);
    t.bn_batches = (int64_t)get_u64(&c);
    int64_t adam_step = (int64_t)get_u64(&c);
    for (int i = 0; i < 4; i++)
        t.rng_model.s[i] = get_u64(&c);
    for (int i = 0; i < 4; i++)
        t.rng_data.s[i] = get_u64(&c);
    adamw_config cfg;
    cfg.beta1 = get_f64(&c);
    cfg.beta2 = get_f64(&c);
    cfg.eps = get_f64(&c);
    for (int g = 0; g < PG_COUNT; g++)
        cfg.lr_factor[g] = get_f32(&c);
    for (int g = 0; g < PG_COUNT; g++)
        cfg.weight_decay[g] = get_f32(&c);
    uint64_t n_floats = get_u64(&c);
    if (c.short_read) goto truncated;
    if (n_views != (uint32_t)ps->n_views || n_floats != ps->n_floats) {
        free(buf);
        return err_set(err, ECG_EINVAL,
                       "%s: training state holds %u tensors (%llu floats), the model %d (%zu)",
                       path, n_views, (unsigned long long)n_floats, ps->n_views, ps->n_floats);
    }
    for (int i = 0; i < ps->n_views; i++) {
        const param_view *v = &ps->views[i];
        uint32_t nl = get_u32(&c);
        char name[PARAM_MAX_NAME];
        if (nl >= PARAM_MAX_NAME) goto truncated;
        get(&c, name, nl);
        name[nl] = 0;
        uint64_t off = get_u64(&c), cnt = get_u64(&c);
        if (c.short_read) goto truncated;
        if (strcmp(name, v->name) || off != v->offset || cnt != v->count) {
            free(buf);
            return err_set(
                err, ECG_EINVAL,
                "%s: training state tensor %d is %s (%llu floats), the model has %s (%zu)", path, i,
                name, (unsigned long long)cnt, v->name, v->count);
        }
    }
    if ((size_t)(c.end - c.p) != 2 * 4 * (size_t)n_floats) goto truncated;
    adamw o;
    if ((rc = adamw_init(&o, &cfg, ps, err)) != ECG_OK) {
        free(buf);
        return rc;
    }
    for (size_t i = 0; i < n_floats; i++)
        o.m[i] = get_f32(&c);
    for (size_t i = 0; i < n_floats; i++)
        o.v[i] = get_f32(&c);
    o.step = adam_step;
    free(buf);
    if (opt->m || opt->v) adamw_free(opt);
    *opt = o;
    *ts = t;
    return ECG_OK;
truncated:
    free(buf);
    return err_set(err, ECG_EFORMAT, "%s: training state is truncated or malformed", path);
}
