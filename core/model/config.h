/* config.h — the encoder's shape and hyper-parameters as one plain struct: presets, validation with
 * messages that name the field, and a flat key/value string form stored in checkpoint metadata. */
#ifndef ECGFM_CORE_CONFIG_H
#define ECGFM_CORE_CONFIG_H

#include <stddef.h>

#include "core/base/error.h"

typedef enum { ENC_BACKBONE_S4 = 0, ENC_BACKBONE_TRANSFORMER, ENC_BACKBONE_CNN } enc_backbone;

/* Every field has a key of the same name in the key/value and JSON forms (see
 * encoder_config_fields). The stem is fixed by the paper: conv in_channels -> d_model (kernel 3,
 * stride 2, pad 1), then stem_layers - 1 convs d_model -> d_model (kernel 1), each without bias ->
 * BatchNorm -> ReLU. */
struct encoder_config {
    enc_backbone backbone;
    int in_channels; /* 12 leads */
    int in_samples;  /* window length: 600 samples = 2.5 s at 240 Hz */
    int d_model;
    int stem_layers; /* 4 in the paper */
    int n_layers;    /* backbone blocks */
    float dropout;   /* S4: after the GLU; Transformer: on both residual branches; CNN: unused */
    int causal;      /* S4: one causal kernel (CPC) instead of two; Transformer: causal mask */
    /* S4 */
    int s4_state; /* N, even: N/2 complex-conjugate modes per channel */
    float s4_dt_min, s4_dt_max;
    int s4_train_A; /* A (log_A_real, A_imag) trainable */
    /* Transformer */
    int n_heads;
    int ff_dim;
    float rope_base;
    /* CNN */
    int cnn_kernel; /* odd, padding kernel/2 keeps the length */
    /* normalisation constants (PyTorch defaults) */
    float bn_momentum;
    float bn_eps;
    float ln_eps;
};

/* Presets: the paper-size encoder of each backbone, and the small CI/CPU-study size (d_model 64,
 * 2 layers, same input and token shapes). */
void encoder_config_default(struct encoder_config *c, enc_backbone b);
void encoder_config_small(struct encoder_config *c, enc_backbone b);

/* Checks ranges and cross-field constraints; the message names the offending key. */
ecg_code encoder_config_validate(const struct encoder_config *c, ecg_err *err);

/* Tokens after the stem (300 for the paper's 600-sample window). */
int encoder_config_tokens(const struct encoder_config *c);

const char *encoder_backbone_name(enc_backbone b);
ecg_code encoder_backbone_parse(const char *s, enc_backbone *out, ecg_err *err);

/* ---- Field table, shared by the key/value form here and the JSON form in api/. ---- */
typedef enum { ENC_FIELD_INT, ENC_FIELD_FLOAT, ENC_FIELD_BOOL, ENC_FIELD_BACKBONE } enc_field_type;
typedef struct {
    const char *key;
    enc_field_type type;
    size_t offset; /* into struct encoder_config */
} enc_field;

const enc_field *encoder_config_fields(int *n);
const enc_field *encoder_config_field(const char *key); /* NULL when unknown */

/* Set one field from its string form ("64", "0.2", "true"/"false"/"1"/"0", "s4"); errors name the
 * key. Range checks are left to encoder_config_validate. */
ecg_code encoder_config_set(struct encoder_config *c, const char *key, const char *value,
                            ecg_err *err);
/* The string form of one field, written to buf (floats with 9 significant digits: exact). */
ecg_code encoder_config_get(const struct encoder_config *c, const char *key, char *buf, size_t n,
                            ecg_err *err);

/* ---- Flat key/value form. Keys carry the prefix below so they sit beside other metadata. ---- */
#define ENC_KV_PREFIX "ecgfm.encoder."
#define ENC_KV_MAX 32
#define ENC_KV_LEN 64
typedef struct {
    char key[ENC_KV_LEN];
    char value[ENC_KV_LEN];
} enc_kv;

/* Fills kv[0..n) with every field; returns n (<= ENC_KV_MAX). */
int encoder_config_to_kv(const struct encoder_config *c, enc_kv kv[ENC_KV_MAX]);
/* Reads a config from alternating key, value strings (2*n entries). Keys without the prefix are
 * ignored; a prefixed key that is unknown, or a missing field, is an error. The result is
 * validated. */
ecg_code encoder_config_from_kv(struct encoder_config *c, const char *const *kv, int n,
                                ecg_err *err);

/* First field that differs, written as "key: a vs b" to buf; returns 0 when equal. */
int encoder_config_diff(const struct encoder_config *a, const struct encoder_config *b, char *buf,
                        size_t n);

#endif
