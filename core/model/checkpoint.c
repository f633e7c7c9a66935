/* checkpoint.c — encoder checkpoints as safetensors (see checkpoint.h).
 * Names come from the param_set views, so the file's tensor list is the model's state_dict. */
#include "core/model/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/encoder_impl.h"

static const char NBT[] = "num_batches_tracked";

/* "x.running_var" -> writes "x.num_batches_tracked" to out; 0 when name is not a running_var. */
static int nbt_name(const char *name, char *out, size_t n) {
    static const char rv[] = "running_var";
    size_t len = strlen(name), k = sizeof rv - 1;
    if (len <= k || strcmp(name + len - k, rv) != 0) return 0;
    int w = snprintf(out, n, "%.*s%s", (int)(len - k), name, NBT);
    return w > 0 && (size_t)w < n;
}

ecg_code checkpoint_save(const char *path, encoder *e, const char *const *extra_kv, int n_extra,
                         ecg_err *err) {
    const param_set *ps = &e->ps;
    int n_nbt = 0;
    char tmp[PARAM_MAX_NAME + 32];
    for (int i = 0; i < ps->n_bviews; i++)
        n_nbt += nbt_name(ps->bviews[i].name, tmp, sizeof tmp);
    const int n = ps->n_views + ps->n_bviews + n_nbt;
    st_entry *ent = calloc((size_t)n, sizeof *ent);
    char(*names)[PARAM_MAX_NAME + 32] = calloc((size_t)(n_nbt ? n_nbt : 1), sizeof *names);
    enc_kv kv[ENC_KV_MAX];
    const int nkv = encoder_config_to_kv(&e->cfg, kv);
    const int n_meta = nkv + 1 + (n_extra > 0 ? n_extra : 0);
    const char **meta = calloc((size_t)(2 * n_meta), sizeof *meta);
    if (!ent || !names || !meta) {
        free(ent), free(names), free(meta);
        return err_set(err, ECG_ENOMEM, "%s: out of memory writing the checkpoint", path);
    }
    const int64_t nbt = e->bn_batches;
    int k = 0, j = 0;
    for (int i = 0; i < ps->n_views; i++, k++) {
        const param_view *v = &ps->views[i];
        ent[k] = (st_entry){
            .name = v->name, .dtype = ST_F32, .ndim = v->ndim, .data = ps->data + v->offset};
        for (int d = 0; d < v->ndim; d++)
            ent[k].shape[d] = v->shape[d];
    }
    for (int i = 0; i < ps->n_bviews; i++) {
        const param_view *v = &ps->bviews[i];
        ent[k] = (st_entry){
            .name = v->name, .dtype = ST_F32, .ndim = v->ndim, .data = ps->buf + v->offset};
        for (int d = 0; d < v->ndim; d++)
            ent[k].shape[d] = v->shape[d];
        k++;
        if (nbt_name(v->name, names[j], sizeof names[j])) {
            ent[k++] = (st_entry){.name = names[j], .dtype = ST_I64, .ndim = 0, .data = &nbt};
            j++;
        }
    }
    char ver[16];
    snprintf(ver, sizeof ver, "%d", CKPT_VERSION);
    int m = 0;
    meta[m++] = CKPT_VERSION_KEY, meta[m++] = ver;
    for (int i = 0; i < nkv; i++)
        meta[m++] = kv[i].key, meta[m++] = kv[i].value;
    for (int i = 0; i < n_extra; i++)
        meta[m++] = extra_kv[2 * i], meta[m++] = extra_kv[2 * i + 1];
    ecg_code rc = st_write_file(path, ent, n, meta, n_meta, err);
    free(ent), free(names), free(meta);
    return rc;
}

ecg_code checkpoint_config_of(const st_file *f, struct encoder_config *cfg, ecg_err *err) {
    const char *ver = st_meta_get(f, CKPT_VERSION_KEY);
    if (ver && strcmp(ver, "1") != 0)
        return err_set(err, ECG_EVERSION,
                       "checkpoint version %s is not supported (this build reads version %d)", ver,
                       CKPT_VERSION);
    const char **kv = calloc((size_t)(2 * (f->n_meta ? f->n_meta : 1)), sizeof *kv);
    if (!kv) return err_set(err, ECG_ENOMEM, "out of memory reading checkpoint metadata");
    for (int i = 0; i < f->n_meta; i++)
        kv[2 * i] = f->meta[i].key, kv[2 * i + 1] = f->meta[i].value;
    ecg_code rc = encoder_config_from_kv(cfg, kv, f->n_meta, err);
    free(kv);
    return rc;
}

ecg_code checkpoint_read_config(const char *path, struct encoder_config *cfg, ecg_err *err) {
    st_file f;
    ecg_code rc = st_read_file(&f, path, err);
    if (rc != ECG_OK) return rc;
    rc = checkpoint_config_of(&f, cfg, err);
    if (rc != ECG_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        err_set(err, rc, "%s: %s", path, msg);
    }
    st_free(&f);
    return rc;
}

static ecg_code load_view(const st_file *f, const char *prefix, const param_view *v, float *dst,
                          int required, ecg_err *err) {
    char name[PARAM_MAX_NAME + 64];
    snprintf(name, sizeof name, "%s%s", prefix, v->name);
    const st_tensor *t = st_find(f, name);
    if (!t) {
        if (!required) return ECG_OK;
        return err_set(err, ECG_ENOTFOUND, "tensor %s is missing", name);
    }
    if (t->dtype != ST_F32)
        return err_set(err, ECG_EFORMAT, "tensor %s is %s, expected F32", name,
                       st_dtype_name(t->dtype));
    int same = t->ndim == v->ndim;
    for (int d = 0; same && d < v->ndim; d++)
        same = t->shape[d] == v->shape[d];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int d = 0; d < v->ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", d ? ", " : "",
                     v->shape[d]);
        for (int d = 0; d < t->ndim && d < ST_MAX_DIMS; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "",
                     (long long)t->shape[d]);
        return err_set(err, ECG_EINVAL, "tensor %s has shape [%s], the model expects [%s]", name,
                       got, want);
    }
    return st_get_f32(f, name, dst, v->count, err);
}

ecg_code checkpoint_load_tensors(const st_file *f, const char *prefix, encoder *e,
                                 int require_heads, ecg_err *err) {
    param_set *ps = &e->ps;
    ecg_code rc;
    for (int i = 0; i < ps->n_views; i++) {
        int required = i < e->n_enc_views || require_heads;
        if ((rc = load_view(f, prefix, &ps->views[i], ps->data + ps->views[i].offset, required,
                            err)))
            return rc;
    }
    for (int i = 0; i < ps->n_bviews; i++)
        if ((rc = load_view(f, prefix, &ps->bviews[i], ps->buf + ps->bviews[i].offset, 1, err)))
            return rc;
    /* num_batches_tracked: all BatchNorms count together; take the first one stored */
    const size_t plen = strlen(prefix);
    for (int i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        size_t len = strlen(t->name);
        if (len < sizeof NBT || strncmp(t->name, prefix, plen) != 0 ||
            strcmp(t->name + len - (sizeof NBT - 1), NBT) != 0)
            continue;
        if (t->dtype != ST_I64 || t->nbytes != 8)
            return err_set(err, ECG_EFORMAT, "tensor %s must be a single I64", t->name);
        int64_t v;
        memcpy(&v, f->payload + t->offset, 8);
        e->bn_batches = v;
        break;
    }
    return ECG_OK;
}

/* Tensors named like encoder tensors that the encoder does not have mean a different model. */
static ecg_code check_extra(const st_file *f, const encoder *e, ecg_err *err) {
    for (int i = 0; i < f->n_tensors; i++) {
        const char *name = f->tensors[i].name;
        if (strncmp(name, "stem.", 5) != 0 && strncmp(name, "backbone.", 9) != 0) continue;
        if (params_find(&e->ps, name) >= 0 || params_find_buffer(&e->ps, name) >= 0) continue;
        size_t len = strlen(name);
        if (len >= sizeof NBT && strcmp(name + len - (sizeof NBT - 1), NBT) == 0) continue;
        return err_set(err, ECG_EINVAL, "tensor %s is not part of this encoder", name);
    }
    return ECG_OK;
}

ecg_code checkpoint_load(const char *path, encoder *e, ecg_err *err) {
    st_file f;
    ecg_code rc = st_read_file(&f, path, err);
    if (rc != ECG_OK) return rc;
    struct encoder_config cfg;
    char diff[256];
    if ((rc = checkpoint_config_of(&f, &cfg, err)) == ECG_OK) {
        if (encoder_config_diff(&cfg, &e->cfg, diff, sizeof diff))
            rc =
                err_set(err, ECG_EINVAL, "checkpoint config differs from the encoder's (%s)", diff);
    }
    if (rc == ECG_OK) rc = check_extra(&f, e, err);
    if (rc == ECG_OK) rc = checkpoint_load_tensors(&f, "", e, 0, err);
    encoder_set_frozen(e, 0); /* the parameters changed (or may have, on failure) */
    if (rc != ECG_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
        err_set(err, rc, "%s: %s", path, msg);
    }
    st_free(&f);
    return rc;
}

ecg_code checkpoint_load_encoder(const char *path, int max_batch, int flags, encoder **out,
                                 ecg_err *err) {
    *out = NULL;
    struct encoder_config cfg;
    ecg_code rc = checkpoint_read_config(path, &cfg, err);
    if (rc != ECG_OK) return rc;
    encoder *e;
    if ((rc = encoder_create(&e, &cfg, max_batch, 0, flags, err)) != ECG_OK) return rc;
    if ((rc = checkpoint_load(path, e, err)) != ECG_OK) {
        encoder_free(e);
        return rc;
    }
    *out = e;
    return ECG_OK;
}
