/* job_finetune.c — the finetune job kind: finetune_run of a stored checkpoint (or a random-init
 * encoder of its config) on a stored task's splits, as `ecgfm finetune`; in mode finetune the
 * trained encoder is kept as a new checkpoint. */
#include "server/job_kind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/finetune_json.h"
#include "api/transfer_request.h"
#include "core/base/threads.h"
#include "core/model/checkpoint.h"
#include "core/transfer/finetune.h"
#include "server/checkpoints.h"
#include "server/cli_common.h"
#include "server/datasets.h"

static void stage(job_ctx *x, const char *what, json_t *extra) {
    json_t *p = json_pack("{s:s, s:s}", "event", "finetune", "stage", what);
    if (p && extra) json_object_update(p, extra);
    json_decref(extra);
    job_progress(x, p, 1);
}

/* The fine-tuned encoder as data_dir/jobs/<id>/finetuned.safetensors and its checkpoints row
 * (the one a previous attempt registered is reused). */
static ecg_code save_encoder(job_ctx *x, encoder *e, const checkpoint_info *from,
                             const dataset_info *task, long long *id, ecg_err *err) {
    char dir[1400], rel[256], path[1700], name[128];
    ecg_code rc = job_dir(x, dir, sizeof dir, err);
    if (rc) return rc;
    snprintf(rel, sizeof rel, "jobs/%lld/finetuned.safetensors", x->id);
    snprintf(path, sizeof path, "%s/%s", x->data_dir, rel);
    snprintf(name, sizeof name, "finetune-job-%lld", x->id);
    checkpoint_info have;
    char why[400];
    if (!job_ref_lookup(x->db, x->data_dir, JOB_REF_CHECKPOINT, "checkpoint", name, &have, why,
                        sizeof why)) {
        *id = have.id;
        return ECG_OK;
    }
    char job[32];
    snprintf(job, sizeof job, "%lld", x->id);
    const char *kv[] = {"ecgfm.finetune.task", task->name, "ecgfm.finetune.from", from->name,
                        "ecgfm.finetune.job",  job};
    rc = checkpoint_save(path, e, kv, 3, err);
    if (!rc)
        rc = checkpoints_register(x->db, x->data_dir, rel, name,
                                  from->objective[0] ? from->objective : NULL, task->id, 0, 0, NAN,
                                  x->id, id, err);
    return rc;
}

static ecg_code finetune_job(job_ctx *x, job_outcome *out, ecg_err *err) {
    const json_t *p = x->params;
    checkpoint_info ck;
    dataset_info task;
    ecg_code rc = job_ref_get(x, "checkpoint", JOB_REF_CHECKPOINT, &ck, err);
    if (!rc) rc = job_ref_get(x, "task", JOB_REF_TASK, &task, err);
    if (rc) return rc;
    ft_opts o;
    ft_opts_default(&o);
    const char *mode = json_string_value(json_object_get(p, "mode"));
    if (mode && (rc = ft_mode_parse(mode, &o.mode, err))) return rc;
    o.epochs = (int)json_integer_value(json_object_get(p, "epochs"));
    o.patience = (int)json_integer_value(json_object_get(p, "patience"));
    o.batch = (int)json_integer_value(json_object_get(p, "batch"));
    o.seed = (uint64_t)json_integer_value(json_object_get(p, "seed"));
    o.lr = (float)json_number_value(json_object_get(p, "lr"));
    o.val_fraction = json_number_value(json_object_get(p, "val_fraction"));
    int random = json_is_true(json_object_get(p, "random"));
    int threads = (int)json_integer_value(json_object_get(p, "threads"));
    threads_set(threads > 0 ? threads : x->threads);

    task_split train = {0}, test = {0};
    stage(x, "reading", json_pack("{s:s}", "task", task.name));
    rc = cli_read_splits(task.train, task.test, &train, &test, err);
    if (rc) return rc;
    rc = transfer_mapping_parse(json_object_get(p, "mapping"), train.n_dims, &o.map, err);
    encoder *e = NULL;
    /* finetune trains the encoder: it needs the backward activations */
    int flags = o.mode == FT_FINETUNE ? 0 : ENC_INFERENCE_ONLY;
    int max_b = o.batch > 32 ? o.batch : 32;
    if (!rc) {
        if (random) {
            struct encoder_config cfg;
            rc = checkpoint_read_config(ck.path, &cfg, err);
            if (!rc) rc = encoder_create(&e, &cfg, max_b, 1, flags, err);
        } else {
            rc = checkpoint_load_encoder(ck.path, max_b, flags, &e, err);
        }
    }
    ft_result r;
    memset(&r, 0, sizeof r);
    int have_r = 0;
    if (!rc && atomic_load(x->cancel)) rc = err_set(err, ECG_EINVAL, "cancelled");
    if (!rc) {
        stage(x, "training",
              json_pack("{s:s, s:I, s:I, s:i}", "mode", ft_mode_name(o.mode), "n_train",
                        (json_int_t)train.n_series, "n_test", (json_int_t)test.n_series, "epochs",
                        o.epochs));
        rc = finetune_run(e, &o, &train, &test, &r, err);
        have_r = !rc;
    }
    /* finetune_run has no cancel hook: a cancel during it takes effect when it returns. */
    if (!rc && atomic_load(x->cancel)) rc = err_set(err, ECG_EINVAL, "cancelled");
    long long new_id = 0;
    if (!rc && o.mode == FT_FINETUNE) {
        stage(x, "saving", NULL);
        rc = save_encoder(x, e, &ck, &task, &new_id, err);
    }
    if (!rc) {
        json_t *j = ft_result_to_json(&o, &r);
        if (j &&
            !json_object_set_new(
                j, "task", json_pack("{s:I, s:s}", "id", (json_int_t)task.id, "name", task.name)) &&
            !json_object_set_new(j, "encoder",
                                 json_string(random ? "random_init" : "checkpoint")) &&
            !json_object_set_new(
                j, "checkpoint",
                json_pack("{s:I, s:s}", "id", (json_int_t)ck.id, "name", ck.name)) &&
            !json_object_set_new(j, "finetuned_checkpoint_id",
                                 new_id ? json_integer(new_id) : json_null())) {
            out->result = j;
            out->event = json_pack("{s:o}", "test_accuracy", job_num(r.test.accuracy));
        } else {
            json_decref(j);
            rc = err_set(err, ECG_ENOMEM, "out of memory");
        }
    }
    if (have_r) ft_result_free(&r);
    encoder_free(e);
    task_split_free(&train);
    task_split_free(&test);
    return job_stopped_or(x, out, rc);
}

const job_kind JOB_KIND_FINETUNE = {"finetune", job_check_checkpoint_task, NULL, finetune_job,
                                    NULL};
