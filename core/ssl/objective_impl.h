/* objective_impl.h — what objective.c shares with the objective files (cpc.c, jepa.c, data2vec.c,
 * dinosr.c, hubert.c): the vtable each one fills. Not a public header. */
#ifndef ECGFM_CORE_OBJECTIVE_IMPL_H
#define ECGFM_CORE_OBJECTIVE_IMPL_H

#include "core/ssl/objective.h"

typedef struct {
    /* Fill o->impl (and add head parameters to the student). o->cfg, o->student, o->rng are set. */
    ecg_code (*create)(ssl_objective *o, ecg_err *err);
    ecg_code (*step)(ssl_objective *o, const float *x, int B, int train, ssl_metrics *m,
                     ecg_err *err);
    void (*after_update)(ssl_objective *o, int64_t step); /* may be NULL */
    int (*state_tensors)(ssl_objective *o, ssl_state_tensor *out, int max); /* may be NULL */
    void (*free)(ssl_objective *o);                                         /* frees o->impl */
} ssl_ops;

struct ssl_objective {
    const ssl_ops *ops;
    ssl_config cfg;
    encoder *student;
    rng_state rng; /* masking, negatives sampling: derived from the seed, saved in train state */
    void *impl;
};

extern const ssl_ops ssl_cpc_ops, ssl_jepa_ops, ssl_data2vec_ops, ssl_dinosr_ops, ssl_hubert_ops;

/* Add a metric to m (ignored past SSL_MAX_METRICS). */
void ssl_metric_add(ssl_metrics *m, const char *name, double value);

#endif
