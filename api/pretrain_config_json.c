/* pretrain_config_json.c — JSON -> pretrain_config (see pretrain_config_json.h): the objective, the
 * model (file or inline), the optimizer, schedule and loop knobs, and any ssl_config field. */
#include "api/pretrain_config_json.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/encoder_config_json.h"

/* Prefix err's message with "<what>: " (a key path or a file). */
static ecg_code prefix_err(ecg_code rc, ecg_err *err, const char *what) {
    if (rc != ECG_OK && err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        err_set(err, rc, "%s: %s", what, msg);
    }
    return rc;
}

static ecg_code get_i64(const json_t *v, const char *key, int64_t lo, int64_t hi, int64_t *out,
                        ecg_err *err) {
    if (!json_is_integer(v)) return err_set(err, ECG_EINVAL, "%s: must be an integer", key);
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return err_set(err, ECG_EINVAL, "%s: %lld is out of range [%lld, %lld]", key, (long long)i,
                       (long long)lo, (long long)hi);
    *out = (int64_t)i;
    return ECG_OK;
}

static ecg_code get_int(const json_t *v, const char *key, int *out, ecg_err *err) {
    int64_t i = 0;
    ecg_code rc = get_i64(v, key, INT_MIN, INT_MAX, &i, err);
    if (!rc) *out = (int)i;
    return rc;
}

static ecg_code get_num(const json_t *v, const char *key, double *out, ecg_err *err) {
    if (!json_is_number(v)) return err_set(err, ECG_EINVAL, "%s: must be a number", key);
    *out = json_number_value(v);
    return ECG_OK;
}

static ecg_code get_float(const json_t *v, const char *key, float *out, ecg_err *err) {
    double d = 0;
    ecg_code rc = get_num(v, key, &d, err);
    if (!rc) *out = (float)d;
    return rc;
}

/* ---- ssl: every field of ssl_config by name ---- */

typedef enum { F_INT, F_FLOAT, F_INT2 } ftype;
typedef struct {
    const char *key;
    ftype type;
    size_t off;
} ssl_field;

#define SF(name, t)                                                                                \
    { #name, t, offsetof(ssl_config, name) }
static const ssl_field ssl_fields[] = {
    SF(cpc_steps_ahead, F_INT),       SF(cpc_negatives, F_INT),
    SF(mask_prob, F_FLOAT),           SF(mask_span, F_INT),
    SF(ema_momentum, F_FLOAT),        SF(jepa_target_blocks, F_INT),
    SF(jepa_block_len, F_INT),        SF(jepa_context_min, F_FLOAT),
    SF(jepa_context_max, F_FLOAT),    SF(jepa_predictor_state, F_INT),
    SF(d2v_top_layers, F_INT),        SF(dinosr_codebook, F_INT),
    SF(dinosr_codebook_ema, F_FLOAT), SF(hubert_k, F_INT2),
    SF(hubert_teacher_temp, F_FLOAT), SF(hubert_student_temp, F_FLOAT),
    SF(hubert_sinkhorn_iters, F_INT), SF(hubert_proto_ema, F_FLOAT),
    SF(hubert_w_masked, F_FLOAT),     SF(hubert_w_unmasked, F_FLOAT),
    SF(hubert_entropy, F_FLOAT),      SF(hubert_warmup_steps, F_INT),
};
#undef SF

static ecg_code apply_ssl(ssl_config *s, const json_t *obj, ecg_err *err) {
    if (!json_is_object(obj)) return err_set(err, ECG_EINVAL, "ssl: must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        const ssl_field *f = NULL;
        for (size_t i = 0; i < sizeof ssl_fields / sizeof *ssl_fields; i++)
            if (!strcmp(ssl_fields[i].key, key)) f = &ssl_fields[i];
        char path[128];
        snprintf(path, sizeof path, "ssl.%s", key);
        if (!f) return err_set(err, ECG_EINVAL, "%s: unknown key", path);
        char *p = (char *)s + f->off;
        ecg_code rc = ECG_OK;
        if (f->type == F_INT)
            rc = get_int(v, path, (int *)p, err);
        else if (f->type == F_FLOAT)
            rc = get_float(v, path, (float *)p, err);
        else {
            if (!json_is_array(v) || json_array_size(v) != 2)
                return err_set(err, ECG_EINVAL, "%s: must be an array of two integers", path);
            for (int i = 0; i < 2 && !rc; i++)
                rc = get_int(json_array_get(v, (size_t)i), path, (int *)p + i, err);
        }
        if (rc) return rc;
    }
    return ECG_OK;
}

/* ---- optimizer and schedule ---- */

static ecg_code apply_optimizer(pretrain_config *c, const json_t *obj, ecg_err *err) {
    if (!json_is_object(obj)) return err_set(err, ECG_EINVAL, "optimizer: must be an object");
    const char *key;
    json_t *v;
    ecg_code rc = ECG_OK;
    json_object_foreach((json_t *)obj, key, v) {
        if (!strcmp(key, "lr")) {
            rc = get_float(v, "optimizer.lr", &c->sched.lr, err);
        } else if (!strcmp(key, "weight_decay")) {
            float wd;
            rc = get_float(v, "optimizer.weight_decay", &wd, err);
            for (int g = 0; g < PG_COUNT && !rc; g++)
                c->opt.weight_decay[g] = wd;
        } else if (!strcmp(key, "eps")) {
            rc = get_num(v, "optimizer.eps", &c->opt.eps, err);
        } else if (!strcmp(key, "betas")) {
            if (!json_is_array(v) || json_array_size(v) != 2)
                return err_set(err, ECG_EINVAL, "optimizer.betas: must be an array of two numbers");
            rc = get_num(json_array_get(v, 0), "optimizer.betas", &c->opt.beta1, err);
            if (!rc) rc = get_num(json_array_get(v, 1), "optimizer.betas", &c->opt.beta2, err);
        } else if (!strcmp(key, "lr_factor")) {
            if (!json_is_object(v))
                return err_set(err, ECG_EINVAL, "optimizer.lr_factor: must be an object");
            const char *g;
            json_t *gv;
            json_object_foreach(v, g, gv) {
                static const char *const names[PG_COUNT] = {"stem", "backbone", "head"};
                int k = -1;
                for (int i = 0; i < PG_COUNT; i++)
                    if (!strcmp(g, names[i])) k = i;
                char path[128];
                snprintf(path, sizeof path, "optimizer.lr_factor.%s", g);
                if (k < 0)
                    return err_set(err, ECG_EINVAL, "%s: unknown key (stem, backbone, head)", path);
                if ((rc = get_float(gv, path, &c->opt.lr_factor[k], err))) return rc;
            }
        } else {
            return err_set(err, ECG_EINVAL, "optimizer.%s: unknown key", key);
        }
        if (rc) return rc;
    }
    return ECG_OK;
}

static ecg_code apply_schedule(lr_schedule *s, const json_t *obj, ecg_err *err) {
    if (!json_is_object(obj)) return err_set(err, ECG_EINVAL, "schedule: must be an object");
    const char *key;
    json_t *v;
    ecg_code rc = ECG_OK;
    json_object_foreach((json_t *)obj, key, v) {
        if (!strcmp(key, "kind")) {
            if (!json_is_string(v))
                return err_set(err, ECG_EINVAL,
                               "schedule.kind: must be \"constant\" or \"cosine\"");
            rc = prefix_err(schedule_kind_parse(json_string_value(v), &s->kind, err), err,
                            "schedule.kind");
        } else if (!strcmp(key, "warmup_steps")) {
            rc = get_i64(v, "schedule.warmup_steps", 0, INT64_MAX, &s->warmup_steps, err);
        } else if (!strcmp(key, "total_steps")) {
            rc = get_i64(v, "schedule.total_steps", 0, INT64_MAX, &s->total_steps, err);
        } else if (!strcmp(key, "min_lr")) {
            rc = get_float(v, "schedule.min_lr", &s->min_lr, err);
        } else {
            return err_set(err, ECG_EINVAL, "schedule.%s: unknown key", key);
        }
        if (rc) return rc;
    }
    return ECG_OK;
}

/* ---- the whole config ---- */

static ecg_code load_model(struct encoder_config *enc, const json_t *v, const char *base_dir,
                           ecg_err *err) {
    if (json_is_object(v)) return prefix_err(encoder_config_from_json(enc, v, err), err, "model");
    if (!json_is_string(v))
        return err_set(err, ECG_EINVAL, "model: must be a file name or a model config object");
    const char *name = json_string_value(v);
    char path[4096];
    int w = name[0] == '/' || !base_dir || !base_dir[0]
                ? snprintf(path, sizeof path, "%s", name)
                : snprintf(path, sizeof path, "%s/%s", base_dir, name);
    if (w < 0 || (size_t)w >= sizeof path) return err_set(err, ECG_EINVAL, "model: path too long");
    return prefix_err(encoder_config_from_json_file(enc, path, err), err, "model");
}

ecg_code pretrain_config_from_json(pretrain_config *cfg, const json_t *obj, const char *base_dir,
                                   ecg_err *err) {
    if (!json_is_object(obj))
        return err_set(err, ECG_EINVAL, "pretrain config: must be a JSON object");
    const json_t *ov = json_object_get(obj, "objective");
    if (!ov)
        return err_set(err, ECG_EINVAL, "objective: missing (cpc, jepa, data2vec, dinosr, hubert)");
    if (!json_is_string(ov))
        return err_set(err, ECG_EINVAL,
                       "objective: must be a string (cpc, jepa, data2vec, dinosr, hubert)");
    ssl_kind kind;
    ecg_code rc = prefix_err(ssl_kind_parse(json_string_value(ov), &kind, err), err, "objective");
    if (rc) return rc;
    pretrain_config c;
    pretrain_config_default(&c, kind);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        int64_t i64;
        if (!strcmp(key, "objective")) continue;
        if (!strcmp(key, "name") || !strcmp(key, "description")) {
            if (!json_is_string(v)) return err_set(err, ECG_EINVAL, "%s: must be a string", key);
            continue;
        }
        if (!strcmp(key, "model"))
            rc = load_model(&c.enc, v, base_dir, err);
        else if (!strcmp(key, "optimizer"))
            rc = apply_optimizer(&c, v, err);
        else if (!strcmp(key, "schedule"))
            rc = apply_schedule(&c.sched, v, err);
        else if (!strcmp(key, "ssl"))
            rc = apply_ssl(&c.ssl, v, err);
        else if (!strcmp(key, "batch"))
            rc = get_int(v, key, &c.batch, err);
        else if (!strcmp(key, "epochs"))
            rc = get_int(v, key, &c.epochs, err);
        else if (!strcmp(key, "threads"))
            rc = get_int(v, key, &c.threads, err);
        else if (!strcmp(key, "seed") || !strcmp(key, "split_seed")) {
            rc = get_i64(v, key, 0, INT64_MAX, &i64, err);
            if (!rc) *(key[0] == 's' && key[1] == 'e' ? &c.seed : &c.split_seed) = (uint64_t)i64;
        } else if (!strcmp(key, "subset"))
            rc = get_i64(v, key, 0, INT64_MAX, &c.subset, err);
        else if (!strcmp(key, "val_records"))
            rc = get_i64(v, key, 0, INT64_MAX, &c.val_records, err);
        else if (!strcmp(key, "val_every"))
            rc = get_i64(v, key, 0, INT64_MAX, &c.val_every, err);
        else if (!strcmp(key, "checkpoint_every"))
            rc = get_i64(v, key, 0, INT64_MAX, &c.checkpoint_every, err);
        else
            return err_set(err, ECG_EINVAL, "%s: unknown pretrain config key", key);
        if (rc) return rc;
    }
    /* The objective decides the direction of the encoder (SPEC §2: causal S4 for CPC only). */
    c.enc.causal = ssl_encoder_causal(kind);
    if ((rc = pretrain_config_validate(&c, err))) return rc;
    *cfg = c;
    return ECG_OK;
}

ecg_code pretrain_config_from_json_text(pretrain_config *cfg, const char *text, size_t len,
                                        ecg_err *err) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(err, ECG_EFORMAT, "pretrain config: invalid JSON at line %d: %s", je.line,
                       je.text);
    ecg_code rc = pretrain_config_from_json(cfg, root, NULL, err);
    json_decref(root);
    return rc;
}

ecg_code pretrain_config_from_json_file(pretrain_config *cfg, const char *path, ecg_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return err_set(err, ECG_EIO, "%s: cannot open", path);
        fclose(f);
        return err_set(err, ECG_EFORMAT, "%s: invalid JSON at line %d: %s", path, je.line, je.text);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    ecg_code rc = pretrain_config_from_json(cfg, root, dir, err);
    json_decref(root);
    return prefix_err(rc, err, path);
}
