/* config.c — encoder configuration presets, validation and the key/value form (see config.h).
 * One field table drives parsing, printing and comparison, so a new field is one line here. */
#include "core/model/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(name, type)                                                                              \
    { #name, type, offsetof(struct encoder_config, name) }
static const enc_field fields[] = {
    F(backbone, ENC_FIELD_BACKBONE), F(in_channels, ENC_FIELD_INT),   F(in_samples, ENC_FIELD_INT),
    F(d_model, ENC_FIELD_INT),       F(stem_layers, ENC_FIELD_INT),   F(n_layers, ENC_FIELD_INT),
    F(dropout, ENC_FIELD_FLOAT),     F(causal, ENC_FIELD_BOOL),       F(s4_state, ENC_FIELD_INT),
    F(s4_dt_min, ENC_FIELD_FLOAT),   F(s4_dt_max, ENC_FIELD_FLOAT),   F(s4_train_A, ENC_FIELD_BOOL),
    F(n_heads, ENC_FIELD_INT),       F(ff_dim, ENC_FIELD_INT),        F(rope_base, ENC_FIELD_FLOAT),
    F(cnn_kernel, ENC_FIELD_INT),    F(bn_momentum, ENC_FIELD_FLOAT), F(bn_eps, ENC_FIELD_FLOAT),
    F(ln_eps, ENC_FIELD_FLOAT),
};
#undef F
#define N_FIELDS ((int)(sizeof fields / sizeof fields[0]))
_Static_assert(N_FIELDS <= ENC_KV_MAX, "ENC_KV_MAX too small for the config fields");

void encoder_config_default(struct encoder_config *c, enc_backbone b) {
    memset(c, 0, sizeof *c);
    c->backbone = b;
    c->in_channels = 12;
    c->in_samples = 600;
    c->d_model = 512;
    c->stem_layers = 4;
    c->causal = 0;
    c->s4_state = 8;
    c->s4_dt_min = 1e-3f;
    c->s4_dt_max = 1e-1f;
    c->s4_train_A = 1;
    c->n_heads = 8;
    c->ff_dim = 2048;
    c->rope_base = 10000.0f;
    c->cnn_kernel = 3;
    c->bn_momentum = 0.1f;
    c->bn_eps = 1e-5f;
    c->ln_eps = 1e-5f;
    switch (b) {
    case ENC_BACKBONE_S4:
        c->n_layers = 4;
        c->dropout = 0.2f;
        break;
    case ENC_BACKBONE_TRANSFORMER:
        c->n_layers = 6;
        c->dropout = 0.1f;
        break;
    case ENC_BACKBONE_CNN:
        c->n_layers = 4;
        c->dropout = 0.0f;
        break;
    }
}

void encoder_config_small(struct encoder_config *c, enc_backbone b) {
    encoder_config_default(c, b);
    c->d_model = 64;
    c->n_layers = 2;
    c->n_heads = 4;
    c->ff_dim = 256;
}

int encoder_config_tokens(const struct encoder_config *c) {
    /* conv kernel 3, stride 2, pad 1 */
    return (c->in_samples + 2 * 1 - 3) / 2 + 1;
}

const char *encoder_backbone_name(enc_backbone b) {
    switch (b) {
    case ENC_BACKBONE_S4: return "s4";
    case ENC_BACKBONE_TRANSFORMER: return "transformer";
    case ENC_BACKBONE_CNN: return "cnn";
    }
    return "unknown";
}

ecg_code encoder_backbone_parse(const char *s, enc_backbone *out, ecg_err *err) {
    for (int b = ENC_BACKBONE_S4; b <= ENC_BACKBONE_CNN; b++) {
        if (strcmp(s, encoder_backbone_name((enc_backbone)b)) == 0) {
            *out = (enc_backbone)b;
            return ECG_OK;
        }
    }
    return err_set(err, ECG_EINVAL, "backbone: \"%s\" is not one of s4, transformer, cnn", s);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) return err_set(err, ECG_EINVAL, __VA_ARGS__);                                 \
    } while (0)

ecg_code encoder_config_validate(const struct encoder_config *c, ecg_err *err) {
    CHECK(c->backbone >= ENC_BACKBONE_S4 && c->backbone <= ENC_BACKBONE_CNN,
          "backbone: unknown value %d", (int)c->backbone);
    CHECK(c->in_channels >= 1 && c->in_channels <= 64, "in_channels: %d is outside [1, 64]",
          c->in_channels);
    CHECK(c->in_samples >= 4 && c->in_samples <= 65536, "in_samples: %d is outside [4, 65536]",
          c->in_samples);
    CHECK(c->d_model >= 2 && c->d_model <= 8192, "d_model: %d is outside [2, 8192]", c->d_model);
    CHECK(c->stem_layers >= 1 && c->stem_layers <= 16, "stem_layers: %d is outside [1, 16]",
          c->stem_layers);
    CHECK(c->n_layers >= 0 && c->n_layers <= 64, "n_layers: %d is outside [0, 64]", c->n_layers);
    CHECK(c->dropout >= 0.0f && c->dropout < 1.0f, "dropout: %g is outside [0, 1)",
          (double)c->dropout);
    CHECK(c->causal == 0 || c->causal == 1, "causal: must be true or false");
    CHECK(c->bn_momentum >= 0.0f && c->bn_momentum <= 1.0f, "bn_momentum: %g is outside [0, 1]",
          (double)c->bn_momentum);
    CHECK(c->bn_eps > 0.0f && c->bn_eps < 1.0f, "bn_eps: %g is outside (0, 1)", (double)c->bn_eps);
    CHECK(c->ln_eps > 0.0f && c->ln_eps < 1.0f, "ln_eps: %g is outside (0, 1)", (double)c->ln_eps);
    switch (c->backbone) {
    case ENC_BACKBONE_S4:
        CHECK(c->s4_state >= 2 && c->s4_state <= 1024 && c->s4_state % 2 == 0,
              "s4_state: %d must be even and in [2, 1024]", c->s4_state);
        CHECK(c->s4_dt_min > 0.0f && isfinite(c->s4_dt_min), "s4_dt_min: %g must be > 0",
              (double)c->s4_dt_min);
        CHECK(c->s4_dt_max >= c->s4_dt_min && isfinite(c->s4_dt_max),
              "s4_dt_max: %g must be >= s4_dt_min (%g)", (double)c->s4_dt_max,
              (double)c->s4_dt_min);
        CHECK(c->s4_train_A == 0 || c->s4_train_A == 1, "s4_train_A: must be true or false");
        break;
    case ENC_BACKBONE_TRANSFORMER:
        CHECK(c->n_heads >= 1 && c->n_heads <= c->d_model, "n_heads: %d is outside [1, d_model]",
              c->n_heads);
        CHECK(c->d_model % c->n_heads == 0, "n_heads: d_model %d is not divisible by n_heads %d",
              c->d_model, c->n_heads);
        CHECK(c->rope_base == 0.0f || (c->d_model / c->n_heads) % 2 == 0,
              "n_heads: RoPE needs an even head size, d_model / n_heads = %d",
              c->d_model / c->n_heads);
        CHECK(c->ff_dim >= 1 && c->ff_dim <= 65536, "ff_dim: %d is outside [1, 65536]", c->ff_dim);
        CHECK(c->rope_base == 0.0f || (c->rope_base > 1.0f && isfinite(c->rope_base)),
              "rope_base: %g must be 0 (no RoPE) or > 1", (double)c->rope_base);
        break;
    case ENC_BACKBONE_CNN:
        CHECK(c->cnn_kernel >= 1 && c->cnn_kernel <= 63 && c->cnn_kernel % 2 == 1,
              "cnn_kernel: %d must be odd and in [1, 63]", c->cnn_kernel);
        break;
    }
    return ECG_OK;
}

const enc_field *encoder_config_fields(int *n) {
    if (n) *n = N_FIELDS;
    return fields;
}

const enc_field *encoder_config_field(const char *key) {
    for (int i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].key, key) == 0) return &fields[i];
    return NULL;
}

ecg_code encoder_config_set(struct encoder_config *c, const char *key, const char *value,
                            ecg_err *err) {
    const enc_field *f = encoder_config_field(key);
    if (!f) return err_set(err, ECG_EINVAL, "%s: unknown encoder config key", key);
    char *p = (char *)c + f->offset;
    char *end = NULL;
    errno = 0;
    switch (f->type) {
    case ENC_FIELD_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < -2147483647L || v > 2147483647L)
            return err_set(err, ECG_EINVAL, "%s: \"%s\" is not an integer", key, value);
        *(int *)p = (int)v;
        return ECG_OK;
    }
    case ENC_FIELD_FLOAT: {
        float v = strtof(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return err_set(err, ECG_EINVAL, "%s: \"%s\" is not a finite number", key, value);
        *(float *)p = v;
        return ECG_OK;
    }
    case ENC_FIELD_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1"))
            *(int *)p = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0"))
            *(int *)p = 0;
        else
            return err_set(err, ECG_EINVAL, "%s: \"%s\" is not true or false", key, value);
        return ECG_OK;
    case ENC_FIELD_BACKBONE: return encoder_backbone_parse(value, (enc_backbone *)p, err);
    }
    return err_set(err, ECG_EINVAL, "%s: field of unknown type", key);
}

ecg_code encoder_config_get(const struct encoder_config *c, const char *key, char *buf, size_t n,
                            ecg_err *err) {
    const enc_field *f = encoder_config_field(key);
    if (!f) return err_set(err, ECG_EINVAL, "%s: unknown encoder config key", key);
    const char *p = (const char *)c + f->offset;
    int w = 0;
    switch (f->type) {
    case ENC_FIELD_INT: w = snprintf(buf, n, "%d", *(const int *)p); break;
    case ENC_FIELD_FLOAT: w = snprintf(buf, n, "%.9g", (double)*(const float *)p); break;
    case ENC_FIELD_BOOL: w = snprintf(buf, n, "%s", *(const int *)p ? "true" : "false"); break;
    case ENC_FIELD_BACKBONE:
        w = snprintf(buf, n, "%s", encoder_backbone_name(*(const enc_backbone *)p));
        break;
    }
    if (w < 0 || (size_t)w >= n) return err_set(err, ECG_EINVAL, "%s: value too long", key);
    return ECG_OK;
}

int encoder_config_to_kv(const struct encoder_config *c, enc_kv kv[ENC_KV_MAX]) {
    for (int i = 0; i < N_FIELDS; i++) {
        snprintf(kv[i].key, sizeof kv[i].key, "%s%s", ENC_KV_PREFIX, fields[i].key);
        if (encoder_config_get(c, fields[i].key, kv[i].value, sizeof kv[i].value, NULL) != ECG_OK)
            kv[i].value[0] = 0; /* cannot happen: every value fits in ENC_KV_LEN */
    }
    return N_FIELDS;
}

ecg_code encoder_config_from_kv(struct encoder_config *c, const char *const *kv, int n,
                                ecg_err *err) {
    struct encoder_config tmp;
    encoder_config_default(&tmp, ENC_BACKBONE_S4);
    unsigned char seen[N_FIELDS] = {0};
    const size_t plen = strlen(ENC_KV_PREFIX);
    for (int i = 0; i < n; i++) {
        const char *k = kv[2 * i], *v = kv[2 * i + 1];
        if (!k || !v || strncmp(k, ENC_KV_PREFIX, plen) != 0) continue;
        const enc_field *f = encoder_config_field(k + plen);
        if (!f) return err_set(err, ECG_EFORMAT, "%s: unknown encoder config key", k);
        ecg_code rc = encoder_config_set(&tmp, k + plen, v, err);
        if (rc != ECG_OK) return rc;
        seen[f - fields] = 1;
    }
    for (int i = 0; i < N_FIELDS; i++)
        if (!seen[i])
            return err_set(err, ECG_EFORMAT, "%s%s: missing from the encoder config", ENC_KV_PREFIX,
                           fields[i].key);
    ecg_code rc = encoder_config_validate(&tmp, err);
    if (rc != ECG_OK) return rc;
    *c = tmp;
    return ECG_OK;
}

int encoder_config_diff(const struct encoder_config *a, const struct encoder_config *b, char *buf,
                        size_t n) {
    for (int i = 0; i < N_FIELDS; i++) {
        char va[ENC_KV_LEN], vb[ENC_KV_LEN];
        encoder_config_get(a, fields[i].key, va, sizeof va, NULL);
        encoder_config_get(b, fields[i].key, vb, sizeof vb, NULL);
        if (strcmp(va, vb) != 0) {
            if (buf && n) snprintf(buf, n, "%s: %s vs %s", fields[i].key, va, vb);
            return 1;
        }
    }
    if (buf && n) buf[0] = 0;
    return 0;
}
