/* adamw.h — AdamW exactly as torch.optim.AdamW (decoupled weight decay p -= lr*wd*p, bias-corrected
 * moments, eps outside the square root) over a param_set, with a learning-rate factor per group. */
#ifndef ECGFM_CORE_ADAMW_H
#define ECGFM_CORE_ADAMW_H

#include <stdint.h>

#include "core/base/error.h"
#include "core/model/params.h"

typedef struct {
    double beta1, beta2, eps;     /* double, as Python passes them to torch */
    float weight_decay[PG_COUNT]; /* per group */
    float lr_factor[PG_COUNT];    /* group lr = lr * factor */
} adamw_config;

/* m and v mirror the parameter buffer (same offsets). step counts completed updates; like
 * PyTorch, every parameter shares it. */
typedef struct {
    adamw_config cfg;
    float *m, *v;
    size_t n; /* floats in m and v */
    int64_t step;
} adamw;

/* The paper's recipe: betas (0.9, 0.999), eps 1e-8, weight decay 1e-3 everywhere, lr factors
 * stem 0.01, backbone 0.1, head 1. */
void adamw_config_default(adamw_config *c);

ecg_code adamw_init(adamw *o, const adamw_config *cfg, const param_set *ps, ecg_err *err);
void adamw_free(adamw *o);

/* One update of every trainable parameter with base learning rate lr. Parameters added to ps since
 * init get zero moments first (a head added later). Deterministic: fixed order per element. */
ecg_code adamw_step(adamw *o, param_set *ps, float lr, ecg_err *err);

#endif
