/* cpc.c — Contrastive Predictive Coding on a causal encoder (SPEC §2): predict stem token z_{t+14}
 * from context token c_t through a bias-free Linear, against 128 same-sequence negatives. */
#include "core/ssl/cpc.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/model/encoder.h"
#include "core/ssl/objective_impl.h"

/* ---- negatives ---- */

void cpc_sample_negatives(int32_t *idx, int B, int T, int k, int K, rng_state *rng) {
    const int P = T - k;
    for (int b = 0; b < B; b++)
        for (int p = 0; p < P; p++) {
            int32_t *row = idx + ((size_t)b * P + p) * K;
            for (int j = 0; j < K; j++) {
                int32_t t = (int32_t)rng_below(rng, (uint64_t)(T - 1));
                row[j] = t >= p + k ? t + 1 : t;
            }
        }
}

/* ---- the loss over token arrays ---- */

void cpc_workspace_free(cpc_workspace *ws) {
    free(ws->pred), free(ws->scores), free(ws->dpred), free(ws->gath);
    free(ws->row_loss), free(ws->row_hit);
    memset(ws, 0, sizeof *ws);
}

ecg_code cpc_workspace_init(cpc_workspace *ws, int T, int d, int k, int K, ecg_err *err) {
    memset(ws, 0, sizeof *ws);
    if (T < 2 || d < 1 || k < 1 || k >= T || K < 1)
        return err_set(err, ECG_EINVAL,
                       "cpc: need T >= 2, d >= 1, 1 <= k < T, K >= 1 (T %d d %d k %d K %d)", T, d,
                       k, K);
    const int P = T - k;
    ws->T = T, ws->d = d, ws->k = k, ws->K = K, ws->P = P;
    ws->pred = malloc((size_t)P * d * sizeof *ws->pred);
    ws->scores = malloc((size_t)P * T * sizeof *ws->scores);
    ws->dpred = malloc((size_t)P * d * sizeof *ws->dpred);
    ws->gath = malloc((size_t)P * (K + 1) * sizeof *ws->gath);
    ws->row_loss = malloc((size_t)P * sizeof *ws->row_loss);
    ws->row_hit = malloc((size_t)P);
    if (!ws->pred || !ws->scores || !ws->dpred || !ws->gath || !ws->row_loss || !ws->row_hit) {
        cpc_workspace_free(ws);
        return err_set(err, ECG_ENOMEM, "out of memory for the CPC workspace");
    }
    return ECG_OK;
}

/* One row: gather the K + 1 candidate scores, log-sum-exp in double, and (grad) turn the score row
 * into d loss / d score in place: softmax minus one-hot, scaled by 1/B, scattered back (duplicate
 * negatives add up, as their copies do in the reference). */
static void row_loss(cpc_workspace *ws, float *row, const int32_t *neg, int p, double *g, int grad,
                     double inv_b) {
    const int K = ws->K, pos = p + ws->k;
    g[0] = row[pos];
    double mx = g[0], mneg = -INFINITY;
    for (int j = 0; j < K; j++) {
        g[1 + j] = row[neg[j]];
        if (g[1 + j] > mneg) mneg = g[1 + j];
    }
    if (mneg > mx) mx = mneg;
    const double s0 = g[0] - mx;
    double sum = 0;
    for (int j = 0; j <= K; j++) {
        g[j] = exp(g[j] - mx);
        sum += g[j];
    }
    ws->row_loss[p] = log(sum) - s0; /* -log softmax_0 */
    ws->row_hit[p] = row[pos] >= mneg;
    if (!grad) return;
    const double scale = inv_b / sum;
    memset(row, 0, (size_t)ws->T * sizeof *row);
    /* values below 1e-30 (against a row total of 1/B) become 0: as float32 they would be
     * subnormal, and subnormals make the backward GEMMs ~3x slower (loss with gradients 1.7 s ->
     * 0.5 s single-threaded at d 512, T 300, batch 32 with saturated softmax rows) */
    const double p0 = g[0] * scale - inv_b;
    row[pos] = fabs(p0) > 1e-30 ? (float)p0 : 0.0f;
    for (int j = 0; j < K; j++) {
        const double q = g[1 + j] * scale;
        if (q > 1e-30) row[neg[j]] += (float)q;
    }
}

double cpc_loss(cpc_workspace *ws, const float *c, const float *z, const float *W,
                const int32_t *idx, int B, float *dW, float *dc, float *dz, long *hits) {
    const int T = ws->T, d = ws->d, K = ws->K, P = ws->P;
    const int grad = dW || dc || dz;
    const double inv_b = 1.0 / B;
    double loss = 0;
    long hit = 0;
    for (int b = 0; b < B; b++) {
        const float *cb = c + (size_t)b * T * d, *zb = z + (size_t)b * T * d;
        const int32_t *ib = idx + (size_t)b * P * K;
        float *S = ws->scores;
        /* pred = c[0:P] W^T; scores against every token of the sequence in one GEMM, then gather:
         * (T / (K + 1)) times the multiply-adds of the gathered dots, at GEMM speed */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, d, d, 1.0f, cb, d, W, d, 0.0f,
                    ws->pred, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, T, d, 1.0f, ws->pred, d, zb, d,
                    0.0f, S, T);
#pragma omp parallel for schedule(static) if ((long)P * K > 4096)
        for (int p = 0; p < P; p++)
            row_loss(ws, S + (size_t)p * T, ib + (size_t)p * K, p, ws->gath + (size_t)p * (K + 1),
                     grad, inv_b);
        double lb = 0;
        for (int p = 0; p < P; p++)
            lb += ws->row_loss[p], hit += ws->row_hit[p];
        loss += lb;
        if (!grad) continue;
        /* S now holds dL/dscores (P, T) */
        if (dz)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, P, 1.0f, S, T, ws->pred, d,
                        0.0f, dz + (size_t)b * T * d, d);
        if (!dW && !dc) continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, d, T, 1.0f, S, T, zb, d, 0.0f,
                    ws->dpred, d);
        if (dW)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, P, 1.0f, ws->dpred, d, cb, d,
                        1.0f, dW, d);
        if (dc) {
            float *dcb = dc + (size_t)b * T * d;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P, d, d, 1.0f, ws->dpred, d, W,
                        d, 0.0f, dcb, d);
            memset(dcb + (size_t)P * d, 0, (size_t)(T - P) * d * sizeof *dcb);
        }
    }
    if (hits) *hits = hit;
    return loss * inv_b;
}

/* ---- the objective ---- */

typedef struct {
    int w_view; /* CPC_HEAD_NAME in the student's param_set */
    int max_batch;
    cpc_workspace ws;
    int32_t *idx;        /* (max_batch, P, K) */
    float *dc, *dz;      /* (max_batch, T, d) */
    uint64_t eval_count; /* validation batches since the last training step */
} cpc_impl;

#define CPC_INIT_TAG 0xc9c0u
#define CPC_EVAL_TAG 0xe7a1c9c0ull

static void cpc_free(ssl_objective *o) {
    cpc_impl *s = o->impl;
    if (!s) return;
    cpc_workspace_free(&s->ws);
    free(s->idx), free(s->dc), free(s->dz);
    free(s);
    o->impl = NULL;
}

static ecg_code cpc_create(ssl_objective *o, ecg_err *err) {
    encoder *e = o->student;
    const int T = encoder_tokens(e), d = encoder_get_config(e)->d_model;
    const int k = o->cfg.cpc_steps_ahead, K = o->cfg.cpc_negatives, Bm = encoder_max_batch(e);
    cpc_impl *s = calloc(1, sizeof *s);
    if (!s) return err_set(err, ECG_ENOMEM, "out of memory for the CPC objective");
    o->impl = s;
    s->max_batch = Bm;
    ecg_code rc = cpc_workspace_init(&s->ws, T, d, k, K, err);
    if (rc) return rc;
    const size_t nt = (size_t)Bm * T * d;
    s->idx = malloc((size_t)Bm * (T - k) * K * sizeof *s->idx);
    s->dc = malloc(nt * sizeof *s->dc);
    s->dz = malloc(nt * sizeof *s->dz);
    if (!s->idx || !s->dc || !s->dz)
        return err_set(err, ECG_ENOMEM, "out of memory for CPC buffers");
    s->w_view = encoder_add_head_param(e, CPC_HEAD_NAME, 2, (int[]){d, d}, err);
    if (s->w_view < 0) return err ? err->code : ECG_EINVAL;
    /* torch.nn.Linear's default init, U(-1/sqrt(d), 1/sqrt(d)), from a stream forked off the
     * objective's so that creating the head does not move the negatives' stream */
    rng_state r = rng_fork(&o->rng, CPC_INIT_TAG);
    float *W = params_data(encoder_params(e), s->w_view);
    const float bound = 1.0f / sqrtf((float)d);
    for (size_t i = 0; i < (size_t)d * d; i++)
        W[i] = bound * (2.0f * rng_uniform(&r) - 1.0f);
    return ECG_OK;
}

ecg_code cpc_step_with(ssl_objective *o, const float *x, int B, int train, const int32_t *idx,
                       ssl_metrics *m, ecg_err *err) {
    cpc_impl *s = o->impl;
    encoder *e = o->student;
    const cpc_workspace *ws = &s->ws;
    memset(m, 0, sizeof *m);
    if (B < 1 || B > s->max_batch)
        return err_set(err, ECG_EINVAL, "cpc: batch %d is outside [1, %d]", B, s->max_batch);
    ecg_code rc = encoder_forward_stem(e, x, B, train ? ENC_TRAIN : ENC_EVAL, err);
    if (!rc) rc = encoder_forward_backbone(e, err);
    if (rc) return rc;
    if (!idx) {
        if (train) {
            cpc_sample_negatives(s->idx, B, ws->T, ws->k, ws->K, &o->rng);
            s->eval_count = 0;
        } else {
            rng_state r = rng_fork(&o->rng, CPC_EVAL_TAG + s->eval_count++);
            cpc_sample_negatives(s->idx, B, ws->T, ws->k, ws->K, &r);
        }
        idx = s->idx;
    }
    param_set *ps = encoder_params(e);
    const float *z = encoder_stem_out(e), *c = encoder_out(e);
    long hits = 0;
    double loss = cpc_loss(&s->ws, c, z, params_data(ps, s->w_view), idx, B,
                           train ? params_grad(ps, s->w_view) : NULL, train ? s->dc : NULL,
                           train ? s->dz : NULL, &hits);
    if (train) {
        /* the stem output feeds the backbone (context path) and is the target itself: its
         * gradient is the backbone's plus dz */
        if (!encoder_backward_backbone(e, s->dc, NULL, err)) return err ? err->code : ECG_EINVAL;
        rc = encoder_backward_stem(e, s->dz, NULL, err);
        if (rc) return rc;
    }
    m->loss = loss;
    ssl_metric_add(m, "cpc_acc", (double)hits / ((double)B * ws->P));
    return ECG_OK;
}

static ecg_code cpc_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                         ecg_err *err) {
    return cpc_step_with(o, x, B, train, NULL, m, err);
}

const ssl_ops ssl_cpc_ops = {
    .create = cpc_create,
    .step = cpc_step,
    .after_update = NULL,
    .state_tensors = NULL,
    .free = cpc_free,
};
