/* objective.c — the objective contract: defaults, validation, names, normalisation, dispatch.
 * Each objective lives in its own file and fills an ssl_ops table (objective_impl.h). */
#include "core/ssl/objective.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ssl/objective_impl.h"

static const char *const names[SSL_COUNT] = {"cpc", "jepa", "data2vec", "dinosr", "hubert"};

/* PTB-XL per-lead statistics in millivolts (SPEC §1), leads I, II, III, aVR, aVL, aVF, V1-V6. */
static const float ptbxl_mean[12] = {-0.00184586f, -0.00130277f, 0.00017031f,  -0.00091313f,
                                     -0.00148835f, -0.00174687f, -0.00077071f, -0.00207407f,
                                     0.00054329f,  0.00155546f,  -0.00114379f, -0.00035649f};
static const float ptbxl_std[12] = {0.16401004f, 0.1647168f,  0.23374124f, 0.33767231f,
                                    0.33362807f, 0.30583013f, 0.2731171f,  0.27554379f,
                                    0.17128962f, 0.14030828f, 0.14606956f, 0.14656108f};

void ssl_config_default(ssl_config *c, ssl_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->cpc_steps_ahead = 14;
    c->cpc_negatives = 128;
    c->mask_prob = 0.065f;
    c->mask_span = 10;
    c->ema_momentum = 0.9996f;
    c->jepa_target_blocks = 4;
    c->jepa_block_len = 64;
    c->jepa_context_min = 0.85f;
    c->jepa_context_max = 1.0f;
    c->jepa_predictor_state = 64;
    c->d2v_top_layers = 2;
    c->dinosr_codebook = 256;
    c->dinosr_codebook_ema = 0.9f;
    c->hubert_k[0] = 128;
    c->hubert_k[1] = 256;
    c->hubert_teacher_temp = 0.07f;
    c->hubert_student_temp = 0.1f;
    c->hubert_sinkhorn_iters = 3;
    c->hubert_proto_ema = 0.99f;
    c->hubert_w_masked = 0.75f;
    c->hubert_w_unmasked = 0.25f;
    c->hubert_entropy = 0.001f;
    c->hubert_warmup_steps = 1000;
}

const char *ssl_kind_name(ssl_kind k) { return k >= 0 && k < SSL_COUNT ? names[k] : "unknown"; }

ecg_code ssl_kind_parse(const char *s, ssl_kind *out, ecg_err *err) {
    for (int k = 0; k < SSL_COUNT; k++)
        if (strcmp(s, names[k]) == 0) {
            *out = (ssl_kind)k;
            return ECG_OK;
        }
    return err_set(err, ECG_EINVAL,
                   "objective \"%s\" is not one of cpc, jepa, data2vec, dinosr, hubert", s);
}

int ssl_encoder_causal(ssl_kind k) { return k == SSL_CPC; }
int ssl_uses_zscore(ssl_kind k) { return k != SSL_CPC; }

void ssl_zscore_ptbxl(float *x, int B, int L) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < 12; c++) {
            float *row = x + ((size_t)b * 12 + c) * L;
            const float mu = ptbxl_mean[c], inv = 1.0f / ptbxl_std[c];
            for (int t = 0; t < L; t++) row[t] = (row[t] - mu) * inv;
        }
}

ecg_code ssl_config_validate(const ssl_config *c, const struct encoder_config *enc, ecg_err *err) {
    if (c->kind < 0 || c->kind >= SSL_COUNT) return err_set(err, ECG_EINVAL, "objective: unknown kind");
    if (enc->in_channels != 12)
        return err_set(err, ECG_EINVAL, "objective: the encoder must take 12 leads, not %d",
                       enc->in_channels);
    if (ssl_encoder_causal(c->kind) != (enc->causal != 0))
        return err_set(err, ECG_EINVAL, "objective %s needs a %s encoder (set causal to %s)",
                       ssl_kind_name(c->kind), ssl_encoder_causal(c->kind) ? "causal" : "bidirectional",
                       ssl_encoder_causal(c->kind) ? "true" : "false");
    int T = encoder_config_tokens(enc);
    if (c->kind == SSL_CPC) {
        if (c->cpc_steps_ahead < 1 || c->cpc_steps_ahead >= T)
            return err_set(err, ECG_EINVAL, "cpc_steps_ahead must be in [1, %d)", T);
        if (c->cpc_negatives < 1 || c->cpc_negatives > T - 1)
            return err_set(err, ECG_EINVAL, "cpc_negatives must be in [1, %d]", T - 1);
    } else {
        if (!(c->mask_prob > 0 && c->mask_prob < 1))
            return err_set(err, ECG_EINVAL, "mask_prob must be in (0, 1)");
        if (c->mask_span < 1 || c->mask_span > T)
            return err_set(err, ECG_EINVAL, "mask_span must be in [1, %d]", T);
        if (!(c->ema_momentum >= 0 && c->ema_momentum <= 1))
            return err_set(err, ECG_EINVAL, "ema_momentum must be in [0, 1]");
    }
    if (c->kind == SSL_JEPA &&
        (c->jepa_target_blocks < 1 || c->jepa_block_len < 1 ||
         c->jepa_target_blocks * c->jepa_block_len >= T || !(c->jepa_context_min > 0) ||
         c->jepa_context_min > c->jepa_context_max || c->jepa_context_max > 1 ||
         c->jepa_predictor_state < 2 || c->jepa_predictor_state % 2))
        return err_set(err, ECG_EINVAL,
                       "jepa: need target blocks x block length < %d tokens, 0 < context_min <= "
                       "context_max <= 1 and an even predictor state", T);
    if (c->kind == SSL_DATA2VEC && (c->d2v_top_layers < 1 || c->d2v_top_layers > enc->n_layers))
        return err_set(err, ECG_EINVAL, "d2v_top_layers must be in [1, %d]", enc->n_layers);
    if (c->kind == SSL_DINOSR && (c->dinosr_codebook < 2 || !(c->dinosr_codebook_ema >= 0 &&
                                                               c->dinosr_codebook_ema < 1)))
        return err_set(err, ECG_EINVAL, "dinosr: codebook >= 2 and codebook_ema in [0, 1)");
    if (c->kind == SSL_HUBERT &&
        (c->hubert_k[0] < 2 || c->hubert_k[1] < 2 || !(c->hubert_teacher_temp > 0) ||
         !(c->hubert_student_temp > 0) || c->hubert_sinkhorn_iters < 1 ||
         !(c->hubert_proto_ema >= 0 && c->hubert_proto_ema < 1) || c->hubert_warmup_steps < 0))
        return err_set(err, ECG_EINVAL,
                       "hubert: clusters >= 2, temperatures > 0, sinkhorn_iters >= 1, proto_ema in "
                       "[0, 1), warmup_steps >= 0");
    return ECG_OK;
}

static const ssl_ops *ops_of(ssl_kind k) {
    switch (k) {
    case SSL_CPC: return &ssl_cpc_ops;
    case SSL_JEPA: return &ssl_jepa_ops;
    case SSL_DATA2VEC: return &ssl_data2vec_ops;
    case SSL_DINOSR: return &ssl_dinosr_ops;
    case SSL_HUBERT: return &ssl_hubert_ops;
    default: return NULL;
    }
}

ecg_code ssl_create(ssl_objective **out, const ssl_config *cfg, encoder *student, uint64_t seed,
                    ecg_err *err) {
    *out = NULL;
    ecg_code rc = ssl_config_validate(cfg, encoder_get_config(student), err);
    if (rc) return rc;
    ssl_objective *o = calloc(1, sizeof *o);
    if (!o) return err_set(err, ECG_ENOMEM, "out of memory for the objective");
    o->ops = ops_of(cfg->kind);
    o->cfg = *cfg;
    o->student = student;
    rng_state base;
    rng_seed(&base, seed);
    o->rng = rng_fork(&base, 0x55a1u + (uint64_t)cfg->kind);
    rc = o->ops->create(o, err);
    if (rc) {
        ssl_free(o);
        return rc;
    }
    *out = o;
    return ECG_OK;
}

void ssl_free(ssl_objective *o) {
    if (!o) return;
    if (o->impl && o->ops->free) o->ops->free(o);
    free(o);
}

ecg_code ssl_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                  ecg_err *err) {
    memset(m, 0, sizeof *m);
    return o->ops->step(o, x, B, train, m, err);
}

void ssl_after_update(ssl_objective *o, int64_t step) {
    if (o->ops->after_update) o->ops->after_update(o, step);
}

int ssl_state_tensors(ssl_objective *o, ssl_state_tensor *out, int max) {
    return o->ops->state_tensors ? o->ops->state_tensors(o, out, max) : 0;
}

rng_state *ssl_rng(ssl_objective *o) { return &o->rng; }

void ssl_metric_add(ssl_metrics *m, const char *name, double value) {
    if (m->n >= SSL_MAX_METRICS) return;
    snprintf(m->m[m->n].name, sizeof m->m[m->n].name, "%s", name);
    m->m[m->n].value = value;
    m->n++;
}
