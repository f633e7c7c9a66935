/* encoder_config_json.c — JSON <-> struct encoder_config (see encoder_config_json.h), driven by the
 * field table of core/model/config.c so the JSON keys are the key/value keys. */
#include "api/encoder_config_json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ecg_code apply_field(struct encoder_config *cfg, const enc_field *f, const json_t *v,
                            ecg_err *err) {
    char buf[64];
    switch (f->type) {
    case ENC_FIELD_INT: {
        if (!json_is_integer(v)) return err_set(err, ECG_EINVAL, "%s: must be an integer", f->key);
        json_int_t i = json_integer_value(v);
        if (i < INT_MIN || i > INT_MAX)
            return err_set(err, ECG_EINVAL, "%s: %lld is out of range", f->key, (long long)i);
        snprintf(buf, sizeof buf, "%lld", (long long)i);
        break;
    }
    case ENC_FIELD_FLOAT:
        if (!json_is_number(v)) return err_set(err, ECG_EINVAL, "%s: must be a number", f->key);
        snprintf(buf, sizeof buf, "%.17g", json_number_value(v));
        break;
    case ENC_FIELD_BOOL:
        if (!json_is_boolean(v))
            return err_set(err, ECG_EINVAL, "%s: must be true or false", f->key);
        snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
        break;
    case ENC_FIELD_BACKBONE:
        if (!json_is_string(v))
            return err_set(err, ECG_EINVAL, "%s: must be a string (s4, transformer, cnn)", f->key);
        snprintf(buf, sizeof buf, "%s", json_string_value(v));
        break;
    }
    return encoder_config_set(cfg, f->key, buf, err);
}

ecg_code encoder_config_from_json(struct encoder_config *cfg, const json_t *obj, ecg_err *err) {
    if (!json_is_object(obj))
        return err_set(err, ECG_EINVAL, "encoder config: must be a JSON object");
    enc_backbone bb = ENC_BACKBONE_S4;
    const json_t *v = json_object_get(obj, "backbone");
    if (v) {
        if (!json_is_string(v))
            return err_set(err, ECG_EINVAL, "backbone: must be a string (s4, transformer, cnn)");
        ecg_code rc = encoder_backbone_parse(json_string_value(v), &bb, err);
        if (rc != ECG_OK) return rc;
    }
    struct encoder_config c;
    v = json_object_get(obj, "preset");
    if (!v || (json_is_string(v) && !strcmp(json_string_value(v), "paper"))) {
        encoder_config_default(&c, bb);
    } else if (json_is_string(v) && !strcmp(json_string_value(v), "small")) {
        encoder_config_small(&c, bb);
    } else {
        return err_set(err, ECG_EINVAL, "preset: must be \"paper\" or \"small\"");
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        if (!strcmp(key, "preset")) continue;
        if (!strcmp(key, "name") || !strcmp(key, "description")) {
            if (!json_is_string(val)) return err_set(err, ECG_EINVAL, "%s: must be a string", key);
            continue;
        }
        const enc_field *f = encoder_config_field(key);
        if (!f) return err_set(err, ECG_EINVAL, "%s: unknown encoder config key", key);
        ecg_code rc = apply_field(&c, f, val, err);
        if (rc != ECG_OK) return rc;
    }
    ecg_code rc = encoder_config_validate(&c, err);
    if (rc != ECG_OK) return rc;
    *cfg = c;
    return ECG_OK;
}

ecg_code encoder_config_from_json_text(struct encoder_config *cfg, const char *text, size_t len,
                                       ecg_err *err) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return err_set(err, ECG_EFORMAT, "encoder config: invalid JSON at line %d: %s", je.line,
                       je.text);
    ecg_code rc = encoder_config_from_json(cfg, root, err);
    json_decref(root);
    return rc;
}

ecg_code encoder_config_from_json_file(struct encoder_config *cfg, const char *path, ecg_err *err) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return err_set(err, ECG_EIO, "%s: cannot open", path);
        fclose(f);
        return err_set(err, ECG_EFORMAT, "%s: invalid JSON at line %d: %s", path, je.line, je.text);
    }
    ecg_code rc = encoder_config_from_json(cfg, root, err);
    json_decref(root);
    if (rc != ECG_OK && err) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        err_set(err, rc, "%s: %s", path, msg);
    }
    return rc;
}

json_t *encoder_config_to_json(const struct encoder_config *cfg) {
    json_t *o = json_object();
    if (!o) return NULL;
    int n;
    const enc_field *fields = encoder_config_fields(&n);
    for (int i = 0; i < n; i++) {
        const char *p = (const char *)cfg + fields[i].offset;
        json_t *v = NULL;
        switch (fields[i].type) {
        case ENC_FIELD_INT: v = json_integer(*(const int *)p); break;
        case ENC_FIELD_FLOAT: {
            /* the shortest decimal that reads back as the same float, not float->double noise */
            char buf[32];
            snprintf(buf, sizeof buf, "%.9g", (double)*(const float *)p);
            for (int prec = 6; prec <= 9; prec++) {
                char t[32];
                snprintf(t, sizeof t, "%.*g", prec, (double)*(const float *)p);
                if (strtof(t, NULL) == *(const float *)p) {
                    snprintf(buf, sizeof buf, "%s", t);
                    break;
                }
            }
            v = json_real(strtod(buf, NULL));
            break;
        }
        case ENC_FIELD_BOOL: v = json_boolean(*(const int *)p); break;
        case ENC_FIELD_BACKBONE:
            v = json_string(encoder_backbone_name(*(const enc_backbone *)p));
            break;
        }
        if (!v || json_object_set_new(o, fields[i].key, v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
