/* adamw.c — torch.optim.AdamW's single-tensor path, operation for operation (see adamw.h).
 * Scalars are formed in double as Python does, then rounded to float where torch rounds them. */
#include "core/model/adamw.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void adamw_config_default(adamw_config *c) {
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    for (int g = 0; g < PG_COUNT; g++)
        c->weight_decay[g] = 1e-3f;
    c->lr_factor[PG_STEM] = 0.01f;
    c->lr_factor[PG_BACKBONE] = 0.1f;
    c->lr_factor[PG_HEAD] = 1.0f;
}

static ecg_code ensure(adamw *o, size_t n, ecg_err *err) {
    if (n <= o->n) return ECG_OK;
    float *m = realloc(o->m, n * sizeof *m);
    if (!m) return err_set(err, ECG_ENOMEM, "out of memory for AdamW moments (%zu floats)", n);
    o->m = m;
    float *v = realloc(o->v, n * sizeof *v);
    if (!v) return err_set(err, ECG_ENOMEM, "out of memory for AdamW moments (%zu floats)", n);
    o->v = v;
    memset(o->m + o->n, 0, (n - o->n) * sizeof *m);
    memset(o->v + o->n, 0, (n - o->n) * sizeof *v);
    o->n = n;
    return ECG_OK;
}

ecg_code adamw_init(adamw *o, const adamw_config *cfg, const param_set *ps, ecg_err *err) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    if (!(cfg->beta1 >= 0 && cfg->beta1 < 1 && cfg->beta2 >= 0 && cfg->beta2 < 1 && cfg->eps > 0))
        return err_set(err, ECG_EINVAL, "adamw: betas must be in [0, 1) and eps > 0");
    return ensure(o, ps->n_floats, err);
}

void adamw_free(adamw *o) {
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

ecg_code adamw_step(adamw *o, param_set *ps, float lr, ecg_err *err) {
    ecg_code rc = ensure(o, ps->n_floats, err);
    if (rc != ECG_OK) return rc;
    o->step++;
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2;
    const double bc1 = 1.0 - pow(b1, (double)o->step);
    const double bc2 = 1.0 - pow(b2, (double)o->step);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float one_m_b1 = (float)(1.0 - b1), one_m_b2 = (float)(1.0 - b2);
    const float fb1 = (float)b1, fb2 = (float)b2, eps = (float)o->cfg.eps;
    for (int i = 0; i < ps->n_views; i++) {
        const param_view *pv = &ps->views[i];
        if (!pv->trainable) continue;
        const double glr = (double)lr * o->cfg.lr_factor[pv->group];
        const float decay = (float)(1.0 - glr * o->cfg.weight_decay[pv->group]);
        const float neg_step = (float)(-(glr / bc1));
        float *p = ps->data + pv->offset, *g = ps->grad + pv->offset;
        float *m = o->m + pv->offset, *v = o->v + pv->offset;
        const long cnt = (long)pv->count;
#pragma omp parallel for schedule(static) if (cnt > 65536)
        for (long j = 0; j < cnt; j++) {
            p[j] *= decay;
            m[j] = m[j] * fb1 + one_m_b1 * g[j];
            v[j] = v[j] * fb2 + one_m_b2 * g[j] * g[j]; /* addcmul: (value * t1) * t2 */
            float denom = sqrtf(v[j]) / bc2_sqrt + eps;
            p[j] += neg_step * m[j] / denom; /* addcdiv: (value * t1) / t2 */
        }
    }
    return ECG_OK;
}
