/* objective.h — the contract every self-supervised objective (CPC, JEPA, data2vec, DinoSR,
 * HuBERT++; SPEC §2) meets, so that one training loop drives them all the same way. */
#ifndef ECGFM_CORE_OBJECTIVE_H
#define ECGFM_CORE_OBJECTIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/error.h"
#include "core/base/rng.h"
#include "core/model/encoder.h"

typedef enum { SSL_CPC = 0, SSL_JEPA, SSL_DATA2VEC, SSL_DINOSR, SSL_HUBERT, SSL_COUNT } ssl_kind;

/* Every knob of every objective, with the study's defaults from ssl_config_default(). Fields an
 * objective does not use are ignored by it. */
typedef struct {
    ssl_kind kind;
    /* CPC */
    int cpc_steps_ahead;   /* 14: predict stem token z_{t+14} from context c_t */
    int cpc_negatives;     /* 128 negatives from other positions of the same sequence */
    /* masked objectives (data2vec, DinoSR, HuBERT++, JEPA's teacher) */
    float mask_prob;       /* span masking as SPEC §2 states it: start probability and span */
    int mask_span;         /* 10 tokens */
    float ema_momentum;    /* 0.9996: teacher = m * teacher + (1 - m) * student */
    /* JEPA */
    int jepa_target_blocks;    /* 4 */
    int jepa_block_len;        /* 64 tokens */
    float jepa_context_min;    /* 0.85 of tokens ... */
    float jepa_context_max;    /* ... to 1.0, minus the targets */
    int jepa_predictor_state;  /* N = 64 for the predictor's bidirectional S4 layer */
    /* data2vec */
    int d2v_top_layers;        /* 2: mean of the layer-normed outputs of the teacher's last layers */
    /* DinoSR */
    int dinosr_codebook;       /* 256 codewords */
    float dinosr_codebook_ema; /* 0.9 */
    /* HuBERT++ */
    int hubert_k[2];           /* 128 and 256 clusters */
    float hubert_teacher_temp; /* 0.07 after warm-up */
    float hubert_student_temp; /* 0.1 after warm-up */
    int hubert_sinkhorn_iters; /* 3 */
    float hubert_proto_ema;    /* 0.99 */
    float hubert_w_masked;     /* 0.75 */
    float hubert_w_unmasked;   /* 0.25 */
    float hubert_entropy;      /* 0.001 */
    int hubert_warmup_steps;   /* temperatures are annealed to their final values over these */
} ssl_config;

void ssl_config_default(ssl_config *c, ssl_kind kind);
ecg_code ssl_config_validate(const ssl_config *c, const struct encoder_config *enc, ecg_err *err);
const char *ssl_kind_name(ssl_kind k); /* "cpc", "jepa", "data2vec", "dinosr", "hubert" */
ecg_code ssl_kind_parse(const char *s, ssl_kind *out, ecg_err *err);
/* CPC trains a causal encoder on raw millivolts; the others a bidirectional one on z-scored
 * leads. ssl_encoder_causal says which the encoder config must use. */
int ssl_encoder_causal(ssl_kind k);
int ssl_uses_zscore(ssl_kind k);
/* In place, x (B, 12, L): z-score each lead with the fixed PTB-XL statistics of SPEC §1. */
void ssl_zscore_ptbxl(float *x, int B, int L);

#define SSL_MAX_METRICS 8
typedef struct {
    double loss;
    int n;
    struct {
        char name[32]; /* "cpc_acc", "codebook_usage", "cluster_entropy", ... */
        double value;
    } m[SSL_MAX_METRICS];
} ssl_metrics;

/* A piece of objective state that must survive a checkpoint and a resume bit for bit (teacher
 * parameters and BN statistics, codebooks, prototypes, counters stored as floats). The data
 * pointer stays valid until the next ssl_step or ssl_free. */
typedef struct {
    char name[96];
    float *data;
    size_t count;
} ssl_state_tensor;

typedef struct ssl_objective ssl_objective;

/* Create the objective for a student encoder built from the matching config. The objective adds
 * its head parameters to the student's param_set (encoder_add_head_param, group PG_HEAD, so AdamW
 * updates them with lr factor 1) and owns everything else: teacher copy, codebooks, the masking
 * stream (derived from seed). */
ecg_code ssl_create(ssl_objective **out, const ssl_config *cfg, encoder *student, uint64_t seed,
                    ecg_err *err);
void ssl_free(ssl_objective *o);

/* One batch. x is (B, in_channels, in_samples) raw millivolts (the objective normalises as it
 * needs; x is not modified). train != 0: train-mode forward and backward, parameter gradients
 * ACCUMULATE into the student's param_set (the caller zeroes them). train == 0: eval-mode loss and
 * metrics only (validation), nothing updated. Deterministic given the objective's stream. */
ecg_code ssl_step(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m, ecg_err *err);

/* After the optimizer's update number `step` (1-based): EMA teacher, codebooks, prototypes. */
void ssl_after_update(ssl_objective *o, int64_t step);

/* State for checkpoints and resumption, beyond the student's param_set. */
int ssl_state_tensors(ssl_objective *o, ssl_state_tensor *out, int max);
rng_state *ssl_rng(ssl_objective *o);

#endif
