/* transfer_service.h — zero-shot transfer of a stored checkpoint to a stored task dataset as POST
 * /v1/transfer and transfer jobs run it: embeddings, classifiers, baselines, the saved probe. */
#ifndef ECGFM_SERVER_TRANSFER_SERVICE_H
#define ECGFM_SERVER_TRANSFER_SERVICE_H

#include <stdatomic.h>

#include <jansson.h>

#include "core/base/error.h"
#include "server/db.h"

typedef struct {
    const char *checkpoint; /* checkpoints_lookup reference ("default", id, name) */
    const char *task;       /* datasets_lookup reference: a task dataset with train and test */
    /* The request's "mapping" object (channels, length, slide_rate, slide_stride, resize,
     * amplitude; absent keys take the defaults) and "seed"; may be NULL. Validated here. */
    const json_t *mapping;
    unsigned long long seed;
    int save_probe; /* store the fitted linear probe (probes row + file under data_dir/probes/) */
    long long job_id; /* the transfer job, or 0 for a synchronous request */
    int threads;
} transfer_service_request;

/* Runs it. *report (new reference) is api/transfer_json's report plus "checkpoint_id",
 * "task_dataset_id" and, with save_probe, "probe_id". Errors: ECG_ENOTFOUND (checkpoint or task
 * does not exist), ECG_EINVAL (not a task dataset, splits missing, bad mapping: err says which),
 * others from the core. */
ecg_code transfer_service_run(db *d, const char *data_dir, const transfer_service_request *rq,
                              const atomic_int *cancel, json_t **report, ecg_err *err);

#endif
