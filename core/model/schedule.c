/* schedule.c — learning-rate schedules (see schedule.h). Computed in double, rounded once. */
#include "core/model/schedule.h"

#include <math.h>
#include <string.h>

ecg_code schedule_validate(const lr_schedule *s, ecg_err *err) {
    if (s->kind != SCHED_CONSTANT && s->kind != SCHED_COSINE)
        return err_set(err, ECG_EINVAL, "schedule: unknown kind %d", (int)s->kind);
    if (!(s->lr >= 0) || !isfinite(s->lr))
        return err_set(err, ECG_EINVAL, "lr: %g must be finite and >= 0", (double)s->lr);
    if (s->warmup_steps < 0)
        return err_set(err, ECG_EINVAL, "warmup_steps: %lld must be >= 0",
                       (long long)s->warmup_steps);
    if (s->kind == SCHED_COSINE) {
        if (!(s->min_lr >= 0 && s->min_lr <= s->lr))
            return err_set(err, ECG_EINVAL, "min_lr: %g must be in [0, lr]", (double)s->min_lr);
        if (s->total_steps <= s->warmup_steps)
            return err_set(err, ECG_EINVAL, "total_steps: %lld must exceed warmup_steps %lld",
                           (long long)s->total_steps, (long long)s->warmup_steps);
    }
    return ECG_OK;
}

float schedule_lr(const lr_schedule *s, int64_t step) {
    if (step < 0) step = 0;
    if (step < s->warmup_steps)
        return (float)((double)s->lr * (double)(step + 1) / (double)s->warmup_steps);
    if (s->kind == SCHED_CONSTANT) return s->lr;
    if (step >= s->total_steps) return s->min_lr;
    double t = (double)(step - s->warmup_steps) / (double)(s->total_steps - s->warmup_steps);
    double c = 0.5 * (1.0 + cos(3.14159265358979323846 * t));
    return (float)(s->min_lr + (s->lr - (double)s->min_lr) * c);
}

const char *schedule_kind_name(sched_kind k) {
    return k == SCHED_COSINE ? "cosine" : k == SCHED_CONSTANT ? "constant" : "unknown";
}

ecg_code schedule_kind_parse(const char *s, sched_kind *out, ecg_err *err) {
    if (!strcmp(s, "constant"))
        *out = SCHED_CONSTANT;
    else if (!strcmp(s, "cosine"))
        *out = SCHED_COSINE;
    else
        return err_set(err, ECG_EINVAL, "schedule: \"%s\" is not constant or cosine", s);
    return ECG_OK;
}
