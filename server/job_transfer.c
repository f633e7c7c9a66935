/* job_transfer.c — the transfer job kind: zero-shot transfer of a stored checkpoint to a stored
 * task dataset (transfer_service_run), for tasks too large for the synchronous POST /v1/transfer.
 */
#include "server/job_kind.h"

#include "server/checkpoints.h"
#include "server/datasets.h"
#include "server/transfer_service.h"

static ecg_code transfer_job(job_ctx *x, job_outcome *out, ecg_err *err) {
    const json_t *p = x->params;
    transfer_service_request rq = {
        json_string_value(json_object_get(p, "checkpoint")),
        json_string_value(json_object_get(p, "task")),
        json_object_get(p, "mapping"),
        (unsigned long long)json_integer_value(json_object_get(p, "seed")),
        json_is_true(json_object_get(p, "save_probe")),
        x->id,
        x->threads};
    if (!rq.checkpoint || !rq.task)
        return err_set(err, ECG_EINVAL, "stored parameters lack a field");
    job_progress(x,
                 json_pack("{s:s, s:s, s:s}", "event", "transfer", "checkpoint", rq.checkpoint,
                           "task", rq.task),
                 1);
    json_t *report = NULL;
    ecg_code rc = transfer_service_run(x->db, x->data_dir, &rq, x->cancel, &report, err);
    if (rc) {
        json_decref(report);
        return job_stopped_or(x, out, rc);
    }
    if (!report) return err_set(err, ECG_ENOMEM, "out of memory");
    out->result = report;
    return ECG_OK;
}

const job_kind JOB_KIND_TRANSFER = {"transfer", job_check_checkpoint_task, NULL, transfer_job,
                                    NULL};
