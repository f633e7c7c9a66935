/* schedule.h — learning-rate schedules: constant (the paper's recipe) and cosine decay after a
 * linear warm-up. A pure function of the step, so a resumed job gets the same rates. */
#ifndef ECGFM_CORE_SCHEDULE_H
#define ECGFM_CORE_SCHEDULE_H

#include <stdint.h>

#include "core/base/error.h"

typedef enum { SCHED_CONSTANT = 0, SCHED_COSINE } sched_kind;

typedef struct {
    sched_kind kind;
    float lr;             /* peak / constant rate */
    float min_lr;         /* cosine floor */
    int64_t warmup_steps; /* linear ramp: lr * (step + 1) / warmup_steps for step < warmup_steps */
    int64_t total_steps;  /* cosine: reaches min_lr at step total_steps and stays there */
} lr_schedule;

ecg_code schedule_validate(const lr_schedule *s, ecg_err *err);
/* Learning rate for the update with 0-based index step. Warm-up applies to both kinds. */
float schedule_lr(const lr_schedule *s, int64_t step);
const char *schedule_kind_name(sched_kind k);
ecg_code schedule_kind_parse(const char *s, sched_kind *out, ecg_err *err);

#endif
